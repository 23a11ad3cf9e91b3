//! Taiwan national ID (國民身分證統一編號) and UI number (統一證號), legacy and 2021 formats.
//! One mod-10 check: the letter expands to two digits, weights 1,9,8,7,6,5,4,3,2,1,1 (domain.md §1.1–1.2).

/// The two-digit value of an area letter; the order is irregular (I, O, W, Z sit apart).
fn letter_value(c: u8) -> Option<u32> {
    const ORDER: &[u8; 26] = b"ABCDEFGHJKLMNPQRSTUVXYWZIO";
    ORDER
        .iter()
        .position(|&l| l == c)
        .and_then(|p| u32::try_from(p).ok())
        .map(|p| p + 10)
}

/// Shape of a Taiwanese identifier, before its check digit is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwShape {
    /// `[A-Z][12]\d{8}`.
    National,
    /// `[A-Z][A-D]\d{8}`, valid until 2030-12-31.
    UiLegacy,
    /// `[A-Z][89]\d{8}`, issued from 2021-01-02.
    Ui2021,
}

/// The shape of a normalised (upper-case, no separators) string, if it is Taiwanese.
#[must_use]
pub fn shape(id: &[u8]) -> Option<TwShape> {
    if id.len() != 10 || !id[0].is_ascii_uppercase() || !id[2..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    match id[1] {
        b'1' | b'2' => Some(TwShape::National),
        b'A'..=b'D' => Some(TwShape::UiLegacy),
        b'8' | b'9' => Some(TwShape::Ui2021),
        _ => None,
    }
}

/// Whether the check digit of a shaped identifier is right.
#[must_use]
pub fn check_digit_ok(id: &[u8]) -> bool {
    let (Some(shape), Some(area)) = (shape(id), letter_value(id[0])) else {
        return false;
    };
    let second = match shape {
        TwShape::UiLegacy => letter_value(id[1]).map_or(0, |v| v % 10),
        TwShape::National | TwShape::Ui2021 => u32::from(id[1] - b'0'),
    };
    let mut digits = [0u32; 11];
    digits[0] = area / 10;
    digits[1] = area % 10;
    digits[2] = second;
    for (d, &b) in digits[3..].iter_mut().zip(&id[2..]) {
        *d = u32::from(b - b'0');
    }
    const WEIGHTS: [u32; 11] = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1];
    digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_ids_from_the_domain_reference_validate() {
        for id in [
            "A123456789",
            "F131104093",
            "O158238845",
            "N116247806",
            "L122544270",
            "C180661564",
            "Y123456788",
            "N213456789",
            "E100000005",
            "C200000005",
            "Z200000004",
            "Y200000002",
        ] {
            assert_eq!(shape(id.as_bytes()), Some(TwShape::National), "{id}");
            assert!(check_digit_ok(id.as_bytes()), "{id} should be valid");
        }
    }

    #[test]
    fn wrong_national_check_digits_are_caught() {
        for id in ["A123456788", "Z123456789", "B287654321"] {
            assert!(!check_digit_ok(id.as_bytes()), "{id} should be invalid");
        }
    }

    #[test]
    fn legacy_and_2021_ui_numbers_validate() {
        for id in [
            "AB23456789",
            "AA00000009",
            "AC03095424",
            "BD01300667",
            "CC00151114",
            "HD02717288",
            "TD00251124",
            "AD30196818",
            "EB00000005",
            "ED00000009",
        ] {
            assert_eq!(shape(id.as_bytes()), Some(TwShape::UiLegacy), "{id}");
            assert!(check_digit_ok(id.as_bytes()), "{id} should be valid");
        }
        for id in [
            "A800000014",
            "A900207177",
            "A870000015",
            "A880000018",
            "A930196810",
            "E990000008",
            "E980000005",
            "E900000001",
            "C810000000",
        ] {
            assert_eq!(shape(id.as_bytes()), Some(TwShape::Ui2021), "{id}");
            assert!(check_digit_ok(id.as_bytes()), "{id} should be valid");
        }
        for id in ["A800000000", "F931104091", "AC12345678"] {
            assert!(!check_digit_ok(id.as_bytes()), "{id} should be invalid");
        }
    }

    #[test]
    fn single_digit_errors_are_caught_unless_an_even_weight_meets_a_change_of_five() {
        // A change δ at a position of weight w goes unseen exactly when w·δ ≡ 0 (mod 10): weights
        // 6, 4, 2 miss δ = ±5 and weight 5 misses every even δ, a known blind spot of the scheme.
        let id = b"E100000005";
        for pos in 2..10 {
            for d in b'0'..=b'9' {
                if d == id[pos] {
                    continue;
                }
                let mut bad = *id;
                bad[pos] = d;
                let weight = [7u32, 6, 5, 4, 3, 2, 1, 1][pos - 2];
                let blind = (weight * u32::from(d.abs_diff(id[pos]))).is_multiple_of(10);
                assert_eq!(
                    check_digit_ok(&bad),
                    blind,
                    "{}",
                    String::from_utf8_lossy(&bad)
                );
            }
        }
    }

    #[test]
    fn other_shapes_are_not_taiwanese() {
        for id in [
            "A12345678",
            "1123456789",
            "AE12345678",
            "A323456789",
            "a123456789",
        ] {
            assert_eq!(shape(id.as_bytes()), None, "{id}");
        }
    }
}
