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

#[test]
fn walk_ins_crowd_the_booths_and_volunteers_log_their_courses_hours() {
    let mut g = Generator::new(Profile::KeelungEvents, ChaCha8Rng::seed_from_u64(5), 0.0);
    let header = g.header();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (id, phone, kind) = (col("證號"), col("電話"), col("活動類型"));
    let rows: Vec<Vec<String>> = (0..600).flat_map(|_| g.next_person_rows(100)).collect();
    let walk_in_share = |k: &str| {
        let of_kind: Vec<&Vec<String>> = rows.iter().filter(|r| r[kind] == k).collect();
        let walk_ins = of_kind.iter().filter(|r| r[id].is_empty()).count();
        walk_ins as f64 / of_kind.len() as f64
    };
    assert!(
        walk_in_share("設攤宣導") > 2.0 * walk_in_share("社區講座"),
        "booths {} lectures {}",
        walk_in_share("設攤宣導"),
        walk_in_share("社區講座")
    );
    for r in &rows {
        if r[id].is_empty() {
            assert!(r[phone].is_empty(), "a walk-in leaves no phone");
        } else {
            assert!(tw_id::check_digit_ok(r[id].as_bytes()), "{}", r[id]);
        }
    }

    let mut g = Generator::new(
        Profile::KeelungVolunteers,
        ChaCha8Rng::seed_from_u64(5),
        0.0,
    );
    let header = g.header();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (course, hours) = (col("課程名稱"), col("時數"));
    for r in (0..100).flat_map(|_| g.next_person_rows(100)) {
        let expected = match r[course].as_str() {
            "志願服務基礎訓練" | "志願服務特殊訓練" => "6",
            "通譯人員培訓" | "多元文化講師培訓" => "3",
            "志工在職訓練" => "2",
            other => panic!("unknown course {other}"),
        };
        assert_eq!(r[hours], expected);
    }
}
