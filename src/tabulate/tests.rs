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
    let packed = sort(by_packed_key(&frame, key, &dims, &[9, 2], aggs()).expect("groups"));
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
