//! Normalisation of single values. NFKC and separator stripping are for identifier, number and date
//! fields only (domain.md §1.7): names and labels are never rewritten. Code lookups compare a folded
//! key, but the published labels come from the domain, never from the data.

use unicode_normalization::UnicodeNormalization;

/// Characters that show nothing: zero-width spaces and joiners, the word joiner, a byte-order mark
/// inside text, the soft hyphen, and bidirectional marks. Web forms and copied text leave them in
/// exports, where `三民區` followed by U+200B looks like `三民區` to anyone reading it.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// The value inside Excel's text-forcing forms: `="0912345678"` (a formula that yields text, as web
/// systems export identifiers and codes so that Excel keeps their leading zeros) and a leading `'`.
fn excel_text(raw: &str) -> &str {
    let mut value = raw.trim();
    loop {
        let inner = value
            .strip_prefix("=\"")
            .and_then(|rest| rest.strip_suffix('"'))
            .filter(|inner| !inner.contains('"'))
            .or_else(|| value.strip_prefix('\''));
        match inner {
            Some(inner) => value = inner.trim(),
            None => return value,
        }
    }
}

/// Whether a value shows nothing: empty, white space and invisible characters only, also inside
/// Excel's text forms (`=""`, a lone `'`), as web systems write every empty cell of an export.
#[must_use]
pub fn is_blank(raw: &str) -> bool {
    let shows_nothing = |s: &str| s.chars().all(|c| c.is_whitespace() || invisible(c));
    shows_nothing(raw)
        || (raw.contains(['=', '\''])
            && shows_nothing(excel_text(
                &raw.chars().filter(|c| !invisible(*c)).collect::<String>(),
            )))
}

/// Canonical form of an identifier: unwrapped from Excel's text forms (`="…"`, a leading `'`), NFKC
/// (full-width → ASCII, U+3000 → space), upper case, and no spaces, invisible characters, hyphens,
/// dots or brackets (`A123456（3）` → `A1234563`). Dropping a separator or changing
/// case can leave a non-normalised string (a combining mark meeting a new base), so the steps repeat
/// until the form is stable: the canonical form of a canonical form is itself.
#[must_use]
pub fn normalise_identifier(raw: &str) -> String {
    // Unwrapped last, so that a form the folding reveals (`=-""` → `=""`) is unwrapped too.
    let step = |s: &str| -> String {
        let folded: String = s
            .nfkc()
            .filter(|c| {
                !(c.is_whitespace()
                    || invisible(*c)
                    || matches!(
                        c,
                        '-' | '‐' | '‑' | '–' | '—' | '－' | '.' | '(' | ')' | '[' | ']'
                    ))
            })
            .flat_map(char::to_uppercase)
            .collect();
        excel_text(&folded).to_owned()
    };
    let mut form = step(raw);
    // ASCII is always stable; other text settles within a few rounds.
    for _ in 0..8 {
        if form.is_ascii() {
            break;
        }
        let next = step(&form);
        if next == form {
            break;
        }
        form = next;
    }
    form
}

/// Form of a number or date field: unwrapped from Excel's text forms, NFKC, without invisible
/// characters, trimmed; inner punctuation kept.
#[must_use]
pub fn normalise_number(raw: &str) -> String {
    let folded: String = raw.nfkc().filter(|c| !invisible(*c)).collect();
    excel_text(&folded).to_owned()
}

/// Key under which a coded value is looked up: a number's form ([`normalise_number`]) without white
/// space, ASCII upper case, and 臺 for 台
/// (the official form of place names).
#[must_use]
pub fn lookup_key(raw: &str) -> String {
    normalise_number(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            if c == '台' {
                '臺'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `identifiers` fuzz target: dropping `]`/`[` between a letter and combining
    /// marks left a string whose NFKC differs, so normalising twice changed it.
    #[test]
    fn the_canonical_form_of_a_canonical_form_is_itself() {
        let raw =
            String::from_utf8_lossy(&[0xe0, 0x49, 0x5d, 0x5b, 0xcd, 0x84, 0x03, 0x4a, 0x49, 0x03])
                .into_owned();
        let once = super::normalise_identifier(&raw);
        assert_eq!(super::normalise_identifier(&once), once);
        assert_eq!(
            super::normalise_identifier("ｅ１２３ ４５６-７８９"),
            "E123456789"
        );
    }

    #[test]
    fn full_width_and_separators_fold_into_the_canonical_identifier() {
        assert_eq!(normalise_identifier("Ａ１２３４５６７８９"), "A123456789");
        assert_eq!(normalise_identifier(" a-123 456 789 "), "A123456789");
        assert_eq!(normalise_identifier("A123456（3）"), "A1234563");
        assert_eq!(normalise_identifier("A123456　(3)"), "A1234563");
        assert_eq!(
            normalise_identifier("０９１２－３４５－６７８"),
            "0912345678"
        );
    }

    #[test]
    fn lookup_keys_fold_tai_and_width_but_not_meaning() {
        assert_eq!(lookup_key("台北市 "), "臺北市");
        assert_eq!(lookup_key("ｆ"), "F");
        assert_ne!(lookup_key("三民區"), lookup_key("三民鄉"));
    }

    /// Exported for Excel as text: a formula yielding the text, or a leading apostrophe.
    #[test]
    fn excel_text_forms_are_unwrapped() {
        assert_eq!(normalise_identifier("=\"A123456789\""), "A123456789");
        assert_eq!(normalise_identifier(" 'A123456789"), "A123456789");
        assert_eq!(normalise_number("=\"0912345678\""), "0912345678");
        assert_eq!(normalise_number("'114/01/05"), "114/01/05");
        assert_eq!(lookup_key("=\"三民區\""), lookup_key("三民區"));
        assert_eq!(normalise_identifier("''''''''''''A123456789"), "A123456789");
        assert_eq!(normalise_number("\u{200B}=\"0912\""), "0912");
        // Found by the `identifiers` fuzz target: folding `=-""` revealed `=""`, which the
        // second normalisation unwrapped.
        for raw in ["=-\"\"", "-'A", "=\"'A\"", "\u{200B}'A", "'= \"A\""] {
            let once = normalise_identifier(raw);
            assert_eq!(normalise_identifier(&once), once, "{raw:?}");
        }
        // An empty cell in Excel's text forms shows nothing.
        for blank in ["=\"\"", "'", " = ", "=\" \u{200B}\"", "''"] {
            assert_eq!(is_blank(blank), blank != " = ", "{blank:?}");
        }
        assert!(!is_blank("=\"0\"") && !is_blank("'0"));
        // Not a text form: an unbalanced or inner quote is left as it is.
        assert_eq!(normalise_number("=\"0912"), "=\"0912");
        assert_eq!(normalise_number("=\"a\"b\""), "=\"a\"b\"");
    }

    /// Copied from a web page: a zero-width space after a district, a byte-order mark before a
    /// code, a soft hyphen inside an identifier, a bidirectional mark before a date.
    #[test]
    fn invisible_characters_fold_away_like_white_space() {
        assert_eq!(lookup_key("三民區\u{200B}"), lookup_key("三民區"));
        assert_eq!(lookup_key("\u{FEFF}F"), "F");
        assert_eq!(normalise_identifier("A12345\u{00AD}6789"), "A123456789");
        assert_eq!(normalise_identifier("\u{2060}K118785(6)"), "K1187856");
        assert_eq!(normalise_number("\u{200E}114/01/05\u{200B}"), "114/01/05");
        assert_eq!(normalise_number("1\u{200D}2"), "12");
        assert!(is_blank(" \u{3000}\u{200B}\t"));
        assert!(!is_blank(" F "));
        // Visible text is untouched.
        assert_eq!(lookup_key("三民區"), "三民區");
    }

    #[test]
    fn numbers_keep_their_punctuation() {
        assert_eq!(normalise_number(" １１０/０５/０６ "), "110/05/06");
    }
}
