use super::*;
use crate::attacker::rules::int_width;
use crate::attacker::system::System;
use crate::attacker::system::tests::{flat, shape};

/// A 2×2 table with margins: a b | a+b ; c d | c+d ; totals.
fn two_by_two() -> System {
    System::new(vec![shape("t", vec![flat("r", 2), flat("c", 2)])])
}

fn publish_all_but(system: &System, values: &[i64], hidden: &[usize]) -> Vec<Option<i64>> {
    let vars = &system.var_of[0][0];
    let mut out = vec![None; system.vars()];
    for (cell, &v) in vars.iter().enumerate() {
        if !hidden.contains(&cell) {
            out[v as usize] = Some(values[cell]);
        }
    }
    out
}

// Cells row-major over (r0, r1, _T) × (c0, c1, _T).
const VALUES: [i64; 9] = [1, 5, 6, 4, 7, 11, 5, 12, 17];

#[test]
fn one_hidden_cell_is_recovered_by_elimination() {
    let s = two_by_two();
    let iv = intervals(
        &s,
        &publish_all_but(&s, &VALUES, &[0]),
        Solver::Microlp,
        None,
        None,
    )
    .expect("consistent");
    assert_eq!(iv.len(), 1);
    assert_eq!((iv[0].lower, iv[0].upper), (1.0, 1.0));
    assert_eq!(iv[0].method, Method::Elimination);
}

#[test]
fn a_hidden_rectangle_leaves_the_interval_of_its_smaller_diagonal() {
    let s = two_by_two();
    for solver in [Solver::Microlp, Solver::Clarabel] {
        let iv = intervals(
            &s,
            &publish_all_but(&s, &VALUES, &[0, 1, 3, 4]),
            solver,
            None,
            None,
        )
        .expect("consistent");
        assert_eq!(iv.len(), 4);
        // a ∈ [0, min(a+b, a+c)] = [0, 5]; b = 6 − a; c = 5 − a; d = 11 − c.
        let bounds: Vec<(f64, f64)> = iv.iter().map(|i| (i.lower, i.upper)).collect();
        assert_eq!(
            bounds,
            [(0.0, 5.0), (1.0, 6.0), (0.0, 5.0), (6.0, 11.0)],
            "{solver:?}"
        );
    }
}

#[test]
fn a_hidden_total_is_unbounded_above_only_when_nothing_pins_it() {
    let s = two_by_two();
    let hidden: Vec<usize> = (0..9).collect();
    let iv = intervals(
        &s,
        &publish_all_but(&s, &VALUES, &hidden),
        Solver::Microlp,
        None,
        None,
    )
    .expect("consistent");
    assert!(iv.iter().all(|i| i.lower == 0.0 && i.upper.is_infinite()));
}

#[test]
fn published_numbers_that_do_not_add_up_are_reported() {
    let s = two_by_two();
    let mut values = VALUES;
    values[2] = 7;
    let err = intervals(
        &s,
        &publish_all_but(&s, &values, &[]),
        Solver::Microlp,
        None,
        None,
    );
    assert!(matches!(err, Err(LpError::Inconsistent)));
}

/// Hides each number with probability `hide`, seeded.
fn hide(truth: &[i64], hide: f64, seed: u64) -> Vec<Option<i64>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    truth
        .iter()
        .map(|&x| (rng.random::<f64>() >= hide).then_some(x))
        .collect()
}

/// A random table (30 % zeros, mean 6) with axes of `(leaves, groups)`, seeded.
fn random_table(axes: &[(usize, usize)], seed: u64) -> (System, Vec<i64>) {
    use crate::protect::random::{Axis, Spec, table};
    table(&Spec {
        axes: axes
            .iter()
            .map(|&(leaves, groups)| Axis { leaves, groups })
            .collect(),
        zero_share: 0.3,
        mean: 6.0,
        seed,
    })
}

/// Asserts that microlp on the reduced form gives the intervals of microlp on the relations
/// as they are; returns how many came from an LP.
fn assert_reduction_exact(s: &System, published: &[Option<i64>], seed: u64) -> usize {
    let reduced = intervals(s, published, Solver::Microlp, None, None).expect("consistent");
    let full = intervals(s, published, Solver::MicrolpFull, None, None).expect("consistent");
    assert_eq!(reduced.len(), full.len());
    for (r, f) in reduced.iter().zip(&full) {
        assert_eq!(r.var, f.var);
        assert!((r.lower - f.lower).abs() < 1e-6, "seed {seed}: {r:?} {f:?}");
        assert!(
            r.upper == f.upper || (r.upper - f.upper).abs() < 1e-6,
            "seed {seed}: {r:?} {f:?}"
        );
    }
    reduced.iter().filter(|i| i.method == Method::Lp).count()
}

/// Per unpublished number, its exact interval and the one the default (witnessed) path gives.
fn exact_and_witnessed(
    s: &System,
    published: &[Option<i64>],
    needs: &[i64],
) -> Vec<(Interval, Interval)> {
    let exact = intervals(s, published, Solver::Microlp, None, None).expect("consistent");
    let fast = intervals(s, published, Solver::Microlp, None, Some(needs)).expect("consistent");
    assert_eq!(exact.len(), fast.len());
    exact
        .into_iter()
        .zip(fast)
        .inspect(|(e, f)| assert_eq!(e.var, f.var))
        .collect()
}

#[test]
fn witnesses_decide_as_the_exact_bounds_do_and_claim_no_more() {
    let mut witnessed = 0;
    for seed in 0..6u64 {
        let (s, truth) = random_table(&[(16, 4), (2, 0), (10, 2)], seed);
        // Hide most numbers: linked components of hundreds, open and narrow intervals.
        let published = hide(&truth, 0.6, seed);
        let needs: Vec<i64> = (0..s.vars()).map(|v| 1 + (v % 4) as i64).collect();
        for (e, f) in exact_and_witnessed(&s, &published, &needs) {
            let need = needs[e.var as usize];
            if f.method == Method::Witnesses {
                witnessed += 1;
                assert!(
                    e.lower <= f.lower && f.upper <= e.upper,
                    "seed {seed}: witnesses {f:?} outside the exact {e:?}"
                );
                assert!(int_width(f.lower, f.upper) >= need);
            } else {
                assert_eq!(e, f, "seed {seed}");
            }
        }
    }
    assert!(witnessed > 100, "only {witnessed} intervals from witnesses");
}

/// The default audit's path on the shape that once passed unchecked numbers: a component large
/// enough for witnesses, its grand total and most margins hidden so that many of its numbers can
/// grow without bound together (the first signed-sum LPs are unbounded both ways and give no
/// witness at all), and narrow numbers among them. Every number the exact bounds fail must fail
/// here too, and every witnessed interval must be a real one inside the exact interval.
#[test]
fn witnesses_over_unbounded_groups_with_a_hidden_total_pass_nothing_the_exact_bounds_fail() {
    use rand::{Rng, SeedableRng};
    let (mut unbounded, mut failing, mut witnessed) = (0, 0, 0);
    for seed in 0..3u64 {
        let (s, truth) = random_table(&[(20, 0), (2, 0), (8, 0)], seed);
        let shape = &s.shapes[0];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut published: Vec<Option<i64>> = truth.iter().copied().map(Some).collect();
        for cell in 0..shape.len() {
            let margin = shape
                .positions(cell)
                .iter()
                .zip(&shape.axes)
                .any(|(&p, a)| p as usize + 1 == a.len());
            let grand_total = cell + 1 == shape.len();
            let share = if margin { 0.9 } else { 0.4 };
            if grand_total || rng.random::<f64>() < share {
                published[s.var_of[0][0][cell] as usize] = None;
            }
        }
        let needs = vec![3i64; s.vars()];
        for (e, f) in exact_and_witnessed(&s, &published, &needs) {
            let (we, wf) = (int_width(e.lower, e.upper), int_width(f.lower, f.upper));
            unbounded += usize::from(e.upper.is_infinite());
            failing += usize::from(we < 3);
            witnessed += usize::from(f.method == Method::Witnesses);
            assert!(
                f.lower <= f.upper && e.lower <= f.lower && f.upper <= e.upper,
                "seed {seed}: {f:?} is not an interval inside the exact {e:?}"
            );
            assert!(
                we >= 3 || wf < 3,
                "seed {seed}: {f:?} passes a need of 3 the exact {e:?} fails"
            );
        }
    }
    assert!(witnessed > 100, "only {witnessed} witnessed intervals");
    assert!(unbounded > 100, "only {unbounded} unbounded numbers");
    assert!(failing > 20, "only {failing} numbers the exact bounds fail");
}

#[test]
fn the_reduced_lp_gives_the_intervals_of_the_full_one() {
    let mut bounded = 0;
    let mut unbounded = false;
    for seed in 0..4u64 {
        let (s, truth) = random_table(&[(6, 2), (2, 0), (5, 0)], seed);
        // Hidden enough that some totals lose every bound.
        let published = hide(&truth, 0.7, seed);
        bounded += assert_reduction_exact(&s, &published, seed);
        unbounded |= intervals(&s, &published, Solver::Microlp, None, None)
            .expect("consistent")
            .iter()
            .any(|i| i.upper.is_infinite());
    }
    assert!(bounded > 100, "only {bounded} intervals by LP");
    assert!(unbounded, "no unbounded maximum compared");
}

#[test]
fn the_reduced_lp_keeps_the_inequalities_of_overlapping_categories() {
    // Persons by district × service where one person can use several services: the
    // service margin is bounded by, not equal to, the sum of its cells.
    let mut sh = shape("t", vec![flat("district", 4), flat("service", 3)]);
    sh.additive = vec![vec![true, false]];
    let s = System::new(vec![sh]);
    let interior = [[6, 1, 4], [5, 7, 2], [9, 8, 6], [4, 5, 7]];
    let row_total = [8, 10, 15, 12];
    let mut truth = vec![0i64; s.vars()];
    for cell in 0..s.shapes[0].len() {
        let p = s.shapes[0].positions(cell);
        let (d, sv) = (p[0] as usize, p[1] as usize);
        truth[s.var_of[0][0][cell] as usize] = match (d < 4, sv < 3) {
            (true, true) => interior[d][sv],
            (true, false) => row_total[d],
            (false, true) => (0..4).map(|r| interior[r][sv]).sum(),
            (false, false) => row_total.iter().sum(),
        };
    }
    assert!(s.relations.iter().any(|r| r.kind == Kind::Le));
    let compared: usize = (0..20u64)
        .map(|seed| assert_reduction_exact(&s, &hide(&truth, 0.5, seed), seed))
        .sum();
    assert!(compared > 50, "only {compared} intervals by LP");
}
