//! Identifier-shaped strings: what must never appear in a release.
//!
//! A match is reported by file, line and kind, never by its text.

use std::sync::LazyLock;

use regex::Regex;

/// Kinds of identifier a value can look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Taiwan national ID or resident certificate (UI) number: a letter, 1/2/8/9/A–D, 8 digits.
    TaiwanId,
    /// Hong Kong identity card: one or two letters, six digits, a check character.
    Hkid,
    /// PRC resident identity number: 17 digits and a check character.
    PrcId,
    /// A Taiwan or Hong Kong phone number.
    Phone,
}

impl Shape {
    /// What the shape is, for a finding.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::TaiwanId => "a Taiwan ID / resident certificate number",
            Self::Hkid => "a Hong Kong identity card number",
            Self::PrcId => "a PRC resident identity number",
            Self::Phone => "a phone number",
        }
    }
}

/// Patterns bounded by anything but an ASCII letter or digit, so that codes and hashes, which are
/// runs of letters and digits, do not match in their middle.
static PATTERNS: LazyLock<Vec<(Shape, Regex)>> = LazyLock::new(|| {
    let bounded = |p: &str| {
        Regex::new(&format!("(?:^|[^0-9A-Za-z])(?:{p})(?:[^0-9A-Za-z]|$)"))
            .expect("identifier patterns are valid")
    };
    vec![
        (Shape::TaiwanId, bounded("[A-Za-z][12ABCD89][0-9]{8}")),
        (Shape::Hkid, bounded(r"[A-Z]{1,2}[0-9]{6}\(?[0-9A]\)?")),
        (Shape::PrcId, bounded("[1-9][0-9]{16}[0-9Xx]")),
        (
            Shape::Phone,
            bounded(
                r"(?:\+?886[- ]?|0)9[0-9]{2}[- ]?[0-9]{3}[- ]?[0-9]{3}|(?:\+?886[- ]?\(?|\(?0)[2-8][0-9]?\)?[- ][0-9]{3,4}[- ]?[0-9]{4}|\(0[2-8][0-9]?\)[0-9]{3,4}-?[0-9]{4}|\+?852[- ]?[2-9][0-9]{3}[- ]?[0-9]{4}",
            ),
        ),
    ]
});

/// The identifier shapes found in a piece of text.
pub fn shapes_in(text: &str) -> Vec<Shape> {
    PATTERNS
        .iter()
        .filter(|(_, re)| re.is_match(text))
        .map(|(s, _)| *s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_found_inside_text_and_fields() {
        assert_eq!(shapes_in("x,A123456789,3"), vec![Shape::TaiwanId]);
        assert_eq!(shapes_in("UI AC01234567 here"), vec![Shape::TaiwanId]);
        assert_eq!(shapes_in("\"K123456(3)\""), vec![Shape::Hkid]);
        assert_eq!(shapes_in("11010519491231002X"), vec![Shape::PrcId]);
        for phone in [
            "0912-345-678",
            "0912345678",
            "+886 912 345 678",
            "(07)331-2345",
            "07-3312345",
            "02 2345 6789",
            "+852 9123 4567",
        ] {
            assert_eq!(shapes_in(phone), vec![Shape::Phone], "{phone}");
        }
    }

    #[test]
    fn codes_counts_dates_and_hashes_are_not_identifiers() {
        for clean in [
            "64000010,新興區,Xinxing District,persons,12,published",
            "10017010",
            "2025-01-01..2025-06-30",
            "\"sha256\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
            "2026-11-22T10:00:00Z",
            "_T,總計,Total,person_times,3000,published",
            "1234567",
        ] {
            assert!(shapes_in(clean).is_empty(), "{clean}");
        }
    }
}
