use super::*;

#[test]
fn level_combinations_cover_every_margin() {
    let axis = |groups: bool| Axis {
        domain: 0,
        name: "d".into(),
        cells: [Level::Leaf, Level::Leaf]
            .into_iter()
            .chain(groups.then_some(Level::Group))
            .chain([Level::Total])
            .map(|level| AxisCell {
                code: String::new(),
                label: Label {
                    zh: String::new(),
                    en: String::new(),
                },
                level,
            })
            .collect(),
        group_of: vec![None, None],
        persons_additive: true,
    };
    assert_eq!(level_combinations(&[axis(false), axis(true)]).len(), 2 * 3);
    assert_eq!(
        level_combinations(&[axis(false), axis(false), axis(false), axis(false)]).len(),
        16
    );
}

#[test]
fn a_packed_key_groups_as_the_columns_do_and_only_when_codes_fit() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let n = 5_000;
    let column = |name: &str, values: Vec<u32>| Column::new(name.into(), values);
    let frame = DataFrame::new_infer_height(vec![
        column("a", (0..n).map(|_| rng.random_range(0..9)).collect()),
        column("b", (0..n).map(|_| rng.random_range(0..2)).collect()),
        column(
            columns::PERSON,
            (0..n)
                .map(|_| rng.random_range(0..800) * 5_000_000)
                .collect(),
        ),
        Column::new(
            "hours".into(),
            (0..n).map(|i| i64::from(i % 7)).collect::<Vec<_>>(),
        ),
    ])
    .expect("frame");
    let dims = ["a".to_owned(), "b".to_owned()];
    let aggs = || {
        vec![
            len().cast(DataType::Int64).alias("__times"),
            col("hours").sum().cast(DataType::Int64).alias("hours"),
        ]
    };
    let key = packed_key(&frame, &dims, &[9, 2]).expect("codes fit");
    let sort = |df: DataFrame| {
        df.sort(["a", "b", columns::PERSON], SortMultipleOptions::default())
            .expect("sorts")
    };
    let packed =
        sort(by_packed_key(frame.clone().lazy(), key, &dims, &[9, 2], aggs()).expect("groups"));
    let plain = sort(
        frame
            .clone()
            .lazy()
            .group_by([col("a"), col("b"), col(columns::PERSON)])
            .agg(aggs())
            .collect()
            .expect("groups"),
    );
    assert!(packed.height() > 1_000);
    assert!(packed.equals(&plain), "{packed}\n{plain}");
    // A code at or above its dimension's size, or a cell count past 32 bits: no packing.
    assert!(packed_key(&frame, &dims, &[8, 2]).is_none());
    assert!(packed_key(&frame, &dims, &[70_000, 70_000]).is_none());
}

#[test]
fn one_code_per_key_agrees_with_counting_codes_per_key() {
    use std::collections::{HashMap, HashSet};

    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let n = 4_000;
    // Persons 0..1 500 (some missing); "one" holds one code per person, "few" one per person but
    // person 777, "many" several for most; "gaps" one code or none for each, but person 5.
    // The first rows: person 777 twice (its two "few" codes), person 5 twice (a "gaps" code and none).
    let persons: Vec<Option<u32>> = [Some(777), Some(777), Some(5), Some(5)]
        .into_iter()
        .chain((4..n).map(|_| rng.random_bool(0.95).then(|| rng.random_range(0..1_500u32))))
        .collect();
    let one: Vec<u32> = persons.iter().map(|p| p.map_or(0, |p| p % 9)).collect();
    let few: Vec<u32> = persons
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            Some(777) => u32::try_from(i % 2).expect("small"),
            Some(p) => p % 5,
            None => 3,
        })
        .collect();
    let many: Vec<u32> = (0..n).map(|_| rng.random_range(0..8)).collect();
    // A missing code counts as a code of its own: person 5 has code 1 and no code.
    let gaps: Vec<Option<u32>> = persons
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            Some(5) if i % 2 == 0 => None,
            Some(5) => Some(1),
            Some(p) if p % 3 == 0 => None,
            Some(p) => Some(p % 4),
            None => None,
        })
        .collect();
    let frame = DataFrame::new_infer_height(vec![
        Column::new(columns::PERSON.into(), persons.clone()),
        Column::new("one".into(), one.clone()),
        Column::new("few".into(), few.clone()),
        Column::new("many".into(), many.clone()),
        Column::new("gaps".into(), gaps.clone()),
        Column::new(
            "day".into(),
            (0..n).map(|i| i64::from(i % 3)).collect::<Vec<_>>(),
        ),
    ])
    .expect("frame");
    let dims: Vec<String> = ["one", "few", "many", "gaps"].map(String::from).to_vec();
    // Directly: each key's set of codes.
    let direct = |key: &dyn Fn(usize) -> Option<(u32, i64)>| -> Vec<bool> {
        let codes: [Vec<Option<u32>>; 4] = [
            one.iter().copied().map(Some).collect(),
            few.iter().copied().map(Some).collect(),
            many.iter().copied().map(Some).collect(),
            gaps.clone(),
        ];
        codes
            .iter()
            .map(|column| {
                let mut seen: HashMap<(u32, i64), HashSet<Option<u32>>> = HashMap::new();
                for (i, code) in column.iter().enumerate() {
                    if let Some(k) = key(i) {
                        seen.entry(k).or_default().insert(*code);
                    }
                }
                seen.values().all(|s| s.len() <= 1)
            })
            .collect()
    };
    let by_person = direct(&|i| persons[i].map(|p| (p, 0)));
    assert_eq!(by_person, [true, false, false, false]);
    assert_eq!(
        one_code_per_key(&frame, &[columns::PERSON.to_owned()], &dims).expect("counts"),
        by_person
    );
    // Two keys (a person and a day) take the general path.
    let by_person_day = direct(&|i| persons[i].map(|p| (p, i64::try_from(i % 3).expect("small"))));
    assert_eq!(
        one_code_per_key(
            &frame,
            &[columns::PERSON.to_owned(), "day".to_owned()],
            &dims
        )
        .expect("counts"),
        by_person_day
    );
    assert!(by_person_day[0] && !by_person_day[2]);
}
