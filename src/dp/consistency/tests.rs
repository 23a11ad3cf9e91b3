use super::*;

/// Least squares then integers, as for a measure whose estimate keeps its relations.
fn reconcile(noisy: &[i64], models: &[AxisModel]) -> (Vec<i64>, Fit) {
    let fit = fit(noisy, models);
    (integers(&fit.fitted, models), fit)
}

/// 3 leaves with a total, as tabulated: positions 0..3 leaves, 3 total.
fn flat(leaves: usize) -> AxisModel {
    let mut nodes = vec![Node::Leaf; leaves];
    nodes.push(Node::Total);
    AxisModel::additive(&nodes, &vec![None; leaves])
}

fn separate(leaves: usize) -> AxisModel {
    let mut nodes = vec![Node::Leaf; leaves];
    nodes.push(Node::Total);
    AxisModel::separate(&nodes, &vec![None; leaves])
}

#[test]
fn persons_relations_are_mended_by_the_children_and_the_totals_stay() {
    // Persons by district (adds up) × service (a person may use several): cells d * 4 + s,
    // district total at d = 2, service total at s = 3. District 0's services sum to 6 under
    // their total of 10; district 1 has a service of 5 above its total of 4.
    let models = [flat(2), separate(3)];
    let mut persons = vec![2, 3, 1, 10, 5, 1, 0, 4, 0, 0, 0, 0];
    keep_relations(&mut persons, &models);
    let cell = |d: usize, s: usize| persons[d * 4 + s];
    for d in 0..2 {
        let kids = [cell(d, 0), cell(d, 1), cell(d, 2)];
        let (most, sum) = (*kids.iter().max().unwrap_or(&0), kids.iter().sum::<i64>());
        assert!(most <= cell(d, 3) && cell(d, 3) <= sum, "{persons:?}");
    }
    // The service totals were held, so the grand total is theirs; the rest was summed again.
    assert_eq!(
        (cell(0, 3), cell(1, 3), cell(2, 3)),
        (10, 4, 14),
        "{persons:?}"
    );
    assert_eq!(cell(1, 0), 4, "{persons:?}");
    for s in 0..3 {
        assert_eq!(cell(2, s), cell(0, s) + cell(1, s), "{persons:?}");
    }
}

#[test]
fn person_times_cover_persons_and_keep_their_totals() {
    // 2 × 2 leaves with margins, cells r * 3 + c. Leaf (0, 0) has 3 persons but 2 contacts.
    let models = [flat(2), flat(2)];
    let persons = vec![3, 1, 4, 0, 2, 2, 3, 3, 6];
    let mut times = vec![2, 4, 6, 1, 2, 3, 3, 6, 9];
    cover_persons(&mut times, &persons, &models);
    assert!(persons.iter().zip(&times).all(|(p, t)| p <= t), "{times:?}");
    // The unit came from the sibling with contacts to spare: row 0 and the total keep theirs.
    assert_eq!(times, vec![3, 3, 6, 1, 2, 3, 4, 5, 9]);
}

#[test]
fn allocation_preserves_the_parent_and_stays_non_negative() {
    assert_eq!(allocate(10, &[2.6, 3.2, 4.2]), vec![3, 3, 4]);
    assert_eq!(allocate(3, &[-5.0, 1.0, 2.0]), vec![0, 1, 2]);
    assert_eq!(allocate(0, &[4.0, 5.0]), vec![0, 0]);
    let out = allocate(7, &[-1.0, -2.0, -3.0]);
    assert_eq!(out.iter().sum::<i64>(), 7);
    assert!(out.iter().all(|&v| v >= 0));
}

#[test]
fn consistent_input_is_returned_unchanged() {
    // 2 × 3 with margins: leaves [[1,2,3],[4,5,6]].
    let models = [flat(2), flat(3)];
    let leaves = [[1, 2, 3], [4, 5, 6]];
    let mut y = vec![0i64; 3 * 4];
    for r in 0..3 {
        for c in 0..4 {
            let rows: Vec<usize> = if r == 2 { vec![0, 1] } else { vec![r] };
            let cols: Vec<usize> = if c == 3 { vec![0, 1, 2] } else { vec![c] };
            y[r * 4 + c] = rows
                .iter()
                .flat_map(|&i| cols.iter().map(move |&j| leaves[i][j]))
                .sum();
        }
    }
    let (values, _) = reconcile(&y, &models);
    assert_eq!(values, y);
}

#[test]
fn margins_add_up_after_reconciling_noise() {
    let nodes = [
        Node::Leaf,
        Node::Leaf,
        Node::Leaf,
        Node::Leaf,
        Node::Group,
        Node::Total,
    ];
    let models = [
        AxisModel::additive(&nodes, &[Some(4), Some(4), None, Some(4)]),
        flat(2),
    ];
    let noisy = vec![3, -2, 1, 7, 0, 5, 9, 4, 2, 11, 30, 20, 1, 0, 1, 13, 12, 40];
    let (values, out) = reconcile(&noisy, &models);
    let v = |r: usize, c: usize| values[r * 3 + c];
    for r in 0..6 {
        assert_eq!(v(r, 2), v(r, 0) + v(r, 1), "row {r}");
    }
    for c in 0..3 {
        assert_eq!(v(4, c), v(0, c) + v(1, c) + v(3, c));
        assert_eq!(v(5, c), v(0, c) + v(1, c) + v(2, c) + v(3, c));
    }
    assert!(values.iter().all(|&x| x >= 0));
    // The grand total is informed by every cell: its variance is below a leaf's and well
    // below one measurement's.
    let (total, leaf) = (out.relative_variance[17], out.relative_variance[0]);
    assert!(total < 0.5 && total < leaf, "{total} vs {leaf}");
    assert!(
        out.relative_variance
            .iter()
            .all(|&h| h > 0.0 && h <= 1.0 + 1e-12)
    );
}

#[test]
fn separate_axes_are_left_alone() {
    let models = [AxisModel::standalone(3)];
    let (values, out) = reconcile(&[5, -3, 2], &models);
    assert_eq!(values, vec![5, 0, 2]);
    assert_eq!(out.relative_variance, vec![1.0; 3]);
}
