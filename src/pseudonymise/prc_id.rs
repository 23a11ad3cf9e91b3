//! PRC resident identity card numbers (GB 11643): 17 digits and an ISO 7064 MOD 11-2 check
//! character; first-generation 15-digit numbers carry no check (domain.md §1.5).

/// Whether a normalised string is an 18-character PRC number (check character may be `X`).
#[must_use]
pub fn is_shaped(id: &[u8]) -> bool {
    id.len() == 18
        && id[..17].iter().all(u8::is_ascii_digit)
        && matches!(id[17], b'0'..=b'9' | b'X')
}

/// Whether a string is a 15-digit first-generation number, which has no check digit.
#[must_use]
pub fn is_first_generation(id: &[u8]) -> bool {
    id.len() == 15 && id.iter().all(u8::is_ascii_digit)
}

/// Whether the check character of an 18-character number is right.
#[must_use]
pub fn check_digit_ok(id: &[u8]) -> bool {
    if !is_shaped(id) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECKS: &[u8; 11] = b"10X98765432";
    let sum: u32 = id[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(&b, w)| u32::from(b - b'0') * w)
        .sum();
    id[17] == CHECKS[(sum % 11) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors_validate() {
        for id in [
            "11010519491231002X",
            "360426199101010071",
            "440524188001010014",
        ] {
            assert!(check_digit_ok(id.as_bytes()), "{id}");
        }
    }

    #[test]
    fn weights_are_powers_of_two_mod_11() {
        let weights: Vec<u32> = (1..=17).map(|i| (1u32 << (18 - i)) % 11).collect();
        assert_eq!(
            weights,
            [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        );
    }

    #[test]
    fn wrong_check_characters_are_caught() {
        for id in [
            "110105194912310021",
            "360426199101010070",
            "44052418800101001X",
        ] {
            assert!(!check_digit_ok(id.as_bytes()), "{id}");
        }
        assert!(is_first_generation(b"110105491231002"));
    }
}
