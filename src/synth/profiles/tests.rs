use rand::SeedableRng;

use super::*;

#[test]
fn generated_identifiers_pass_their_check_digits() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for serial in 1..500 {
        let id = tw_id_for(
            b'S',
            serial,
            serial % 3 != 0,
            (serial % 10) as usize,
            &mut rng,
        );
        assert!(tw_id::check_digit_ok(id.as_bytes()), "{id}");
        let hk = hkid_for(serial, &mut rng);
        assert!(hkid::check_digit_ok(hk.as_bytes()), "{hk}");
    }
}

#[test]
fn the_same_seed_draws_the_same_rows() {
    let draw = || {
        let mut g = Generator::new(Profile::Kaohsiung, ChaCha8Rng::seed_from_u64(3), 0.1);
        (0..50)
            .flat_map(|_| g.next_person_rows(100))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(), draw());
}
