//! Hong Kong Identity Card numbers: one or two letters, six digits, a check character 0–9 or A
//! (mod 11, a one-letter body padded with a space worth 36; domain.md §1.4).

/// Whether a normalised string (brackets removed, e.g. `A1234563`) has the HKID shape.
#[must_use]
pub fn is_shaped(id: &[u8]) -> bool {
    let letters = id.iter().take_while(|b| b.is_ascii_uppercase()).count();
    (letters == 1 || letters == 2)
        && id.len() == letters + 7
        && id[letters..letters + 6].iter().all(u8::is_ascii_digit)
        && matches!(id[letters + 6], b'0'..=b'9' | b'A')
}

/// Whether the check character of a shaped HKID is right.
#[must_use]
pub fn check_digit_ok(id: &[u8]) -> bool {
    if !is_shaped(id) {
        return false;
    }
    let (body, check) = id.split_at(id.len() - 1);
    let mut padded = [b' '; 8];
    padded[8 - body.len()..].copy_from_slice(body);
    let value = |b: u8| match b {
        b' ' => 36,
        b'A'..=b'Z' => u32::from(b - b'A') + 10,
        _ => u32::from(b - b'0'),
    };
    let sum: u32 = padded
        .iter()
        .zip((2..=9).rev())
        .map(|(&b, w)| value(b) * w)
        .sum();
    let expected = match sum % 11 {
        0 => b'0',
        1 => b'A',
        r => b'0' + u8::try_from(11 - r).expect("11 - r is a single digit"),
    };
    check[0] == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors_validate() {
        for id in [
            "G123456A",
            "A5555550",
            "C5678909",
            "AB9876543",
            "WX1234569",
            "CA1823611",
            "A1234563",
            "A0000003",
            "K0000000",
            "XA0000008",
        ] {
            assert!(is_shaped(id.as_bytes()), "{id}");
            assert!(check_digit_ok(id.as_bytes()), "{id} should be valid");
        }
    }

    #[test]
    fn wrong_check_characters_are_caught() {
        for id in ["C5678908", "Z1234567", "A1234560"] {
            assert!(!check_digit_ok(id.as_bytes()), "{id} should be invalid");
        }
        assert!(
            check_digit_ok(b"Z1234561"),
            "the forum example's true check is 1"
        );
    }

    #[test]
    fn shapes_outside_hkid_are_rejected() {
        for id in ["A123456", "ABC1234563", "A12345B3", "A1234567890"] {
            assert!(!is_shaped(id.as_bytes()), "{id}");
        }
    }
}
