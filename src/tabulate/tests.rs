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
