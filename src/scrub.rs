//! Masks identifier-shaped strings in text that may reach a message: a run of letters and digits
//! with five or more digits (IDs, phones, dates of birth) becomes `[redacted]`. Used on messages of
//! third-party readers, which may quote the data they failed on.

/// The text with every identifier-shaped run masked.
#[must_use]
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 5 {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() && (c.is_ascii() || !c.is_alphabetic())
            || matches!(c, '(' | ')' | '-')
        {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn identifiers_and_phones_are_masked_but_prose_is_not() {
        assert_eq!(
            scrub("could not parse 'E100000005' at row 12"),
            "could not parse '[redacted]' at row 12"
        );
        assert_eq!(scrub("phone 0912-345-678 here"), "phone [redacted] here");
        assert_eq!(scrub("A123456(3)"), "[redacted]");
        assert_eq!(
            scrub("found 3 columns, expected 12"),
            "found 3 columns, expected 12"
        );
    }
}
