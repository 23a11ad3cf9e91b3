//! The real-valued table closest to the least-squares estimate that keeps every relation the true
//! table keeps: non-negativity, parent = Σ children over an axis where the measure adds up, child ≤
//! parent ≤ Σ children where it does not, and persons ≤ person-times cell by cell.
//!
//! The least-squares estimate is unbiased but may break those relations (negative cells, persons
//! above person-times). Clamping them one cell at a time and summing would push every margin up by
//! what its cells were pushed (a men's total over many near-zero cells far above the truth). Here
//! all measures of a table are projected together, by quadratic programmes solved by clarabel,
//!
//! minimise Σ_{c of one level} (z_c − f_c)² / Var(f_c)   subject to the relations,
//!
//! taken level by level from the coarsest cells to the finest, as in the US Census TopDown
//! algorithm: first the grand totals are set as close to their own estimates as the relations
//! allow (with every finer cell free), then held — within a third of their standard deviation
//! ([`HELD_WITHIN_SD`]) — while the cells one level finer are set, and so on down to the leaves. A
//! margin is therefore never the sum of its cells' corrections: lifting negative leaves to zero
//! moves their siblings, and their total by a bounded share at most. Within a level, a cell moves
//! in inverse proportion to how precisely it is known. It reads nothing but noisy values.

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};

use super::consistency::{AxisModel, decode, strides};

/// One measure of a table going into the projection.
pub struct MeasureInput<'a> {
    /// The least-squares estimate of every cell.
    pub fitted: &'a [f64],
    /// Variance of each cell's estimate, in counts squared.
    pub variance: Vec<f64>,
    /// The measure's axes, as in [`super::consistency`].
    pub models: &'a [AxisModel],
}

/// Rows of `A z ≤ b` (or `= b`) as triplets.
#[derive(Default)]
struct Rows {
    i: Vec<usize>,
    j: Vec<usize>,
    v: Vec<f64>,
    n: usize,
}

impl Rows {
    fn push(&mut self, terms: &[(usize, f64)]) {
        for &(j, v) in terms {
            self.i.push(self.n);
            self.j.push(j);
            self.v.push(v);
        }
        self.n += 1;
    }
}

/// Whether `z` keeps every relation within `tolerance`.
fn keeps(z: &[f64], eq: &Rows, le: &Rows, tolerance: f64) -> bool {
    let residuals = |rows: &Rows| {
        let mut r = vec![0.0; rows.n];
        for ((&i, &j), &v) in rows.i.iter().zip(&rows.j).zip(&rows.v) {
            r[i] += v * z[j];
        }
        r
    };
    residuals(eq).iter().all(|r| r.abs() <= tolerance)
        && residuals(le).iter().all(|&r| r <= tolerance)
}

/// How far, in standard deviations of its estimate, a cell set at a coarser stage may still move
/// while finer cells are set. Held exactly, a margin over one large cell and many near-zero ones
/// hands the whole lift of the near-zero cells (non-negativity) to the large cell, whose error then
/// exceeds its raw measurement's (1.5× on Lienchiang's measure groups by agency); free, margins
/// over many near-zero cells climb with them (the bias TopDown exists to stop). A third of a
/// standard deviation shares the lift and bounds what a margin can drift by at a sixth of its
/// 95 % margin of error.
pub const HELD_WITHIN_SD: f64 = 0.3;

/// Projects the measures of one table, a cell set at a coarser stage held within `held_within_sd`
/// standard deviations of its value ([`HELD_WITHIN_SD`] in releases). `persons_times` names the (persons, person-times) measures
/// when the table has both; `pinned` holds cells `(measure, cell, value)` whose value is already
/// decided (a total estimated from several tables), which the projection holds as a coarsest
/// level. Returns one real-valued vector per measure; where the estimate already keeps every
/// relation it is returned unchanged, and where the solver fails (never seen) the estimate is
/// returned and the integer stage still enforces the relations.
#[must_use]
pub fn project(
    measures: &[MeasureInput<'_>],
    persons_times: Option<(usize, usize)>,
    pinned: &[(usize, usize, f64)],
    held_within_sd: f64,
) -> Vec<Vec<f64>> {
    let offsets: Vec<usize> = measures
        .iter()
        .scan(0, |at, m| {
            let here = *at;
            *at += m.fitted.len();
            Some(here)
        })
        .collect();
    let n: usize = measures.iter().map(|m| m.fitted.len()).sum();
    let mut f: Vec<f64> = measures
        .iter()
        .flat_map(|m| m.fitted.iter().copied())
        .collect();
    for &(m, c, value) in pinned {
        f[offsets[m] + c] = value;
    }
    let (mut eq, mut le) = (Rows::default(), Rows::default());
    for (m, input) in measures.iter().enumerate() {
        relations(input.models, offsets[m], &mut eq, &mut le);
    }
    // Both hold for sums once they hold where every additive axis is at a leaf.
    if let Some((p, t)) = persons_times {
        for c in base_cells(measures[p].models) {
            le.push(&[(offsets[p] + c, 1.0), (offsets[t] + c, -1.0)]);
        }
    }
    for (m, input) in measures.iter().enumerate() {
        for c in base_cells(input.models) {
            le.push(&[(offsets[m] + c, -1.0)]);
        }
    }
    let scale = f.iter().fold(1.0f64, |acc, v| acc.max(v.abs()));
    if keeps(&f, &eq, &le, 1e-9 * scale) {
        return split(f, measures);
    }
    // Weights 1 / variance, normalised so the largest is 1.
    let variance: Vec<f64> = measures
        .iter()
        .flat_map(|m| m.variance.iter().copied())
        .collect();
    let least = variance
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let weight: Vec<f64> = variance
        .iter()
        .map(|&v| if v > 0.0 { least / v } else { 1.0 })
        .collect();
    let rank: Vec<usize> = measures.iter().flat_map(|m| ranks(m.models)).collect();
    let target: Vec<f64> = f.iter().map(|v| v / scale).collect();
    // How far a set cell may still move while finer cells are set; a grand total or a pinned
    // cell, not at all.
    let band: Vec<f64> = variance
        .iter()
        .zip(&rank)
        .map(|(v, &r)| {
            if r == 0 {
                0.0
            } else {
                held_within_sd * v.max(0.0).sqrt() / scale
            }
        })
        .collect();
    let mut held: Vec<Option<Held>> = vec![None; n];
    for &(m, c, value) in pinned {
        held[offsets[m] + c] = Some(Held {
            value: value / scale,
            within: 0.0,
        });
    }
    let mut solved: Option<Vec<f64>> = None;
    for stage in 0..=rank.iter().copied().max().unwrap_or(0) {
        if !rank.contains(&stage) {
            continue;
        }
        let Some(z) = solve(&target, &weight, &rank, stage, &held, &eq, &le) else {
            break;
        };
        for (j, slot) in held.iter_mut().enumerate() {
            if rank[j] == stage && slot.is_none() {
                *slot = Some(Held {
                    value: z[j],
                    within: band[j],
                });
            }
        }
        solved = Some(z);
    }
    match solved {
        Some(z) => split(z.iter().map(|x| x * scale).collect(), measures),
        None => split(f, measures),
    }
}

/// The cells of a measure at leaf positions of every additive axis (any position of the others):
/// the cells every other cell is a sum of.
fn base_cells(models: &[AxisModel]) -> Vec<usize> {
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let cells: usize = shape.iter().product();
    let mut pos = vec![0usize; shape.len()];
    (0..cells)
        .filter(|&c| {
            decode(c, &shape, &mut pos);
            pos.iter()
                .zip(models)
                .all(|(&p, m)| !m.additive || m.tree[p].is_empty())
        })
        .collect()
}

/// Per cell of a measure, how fine it is: the sum over axes of its position's depth in the axis's
/// hierarchy (total 0, its children 1, …). Coarse cells are fixed first.
fn ranks(models: &[AxisModel]) -> Vec<usize> {
    let depths: Vec<Vec<usize>> = models
        .iter()
        .map(|m| {
            let mut depth = vec![0usize; m.tree.len()];
            // Parents come after their children, so walking backwards sets a parent first.
            for p in (0..m.tree.len()).rev() {
                for &k in &m.tree[p] {
                    depth[k] = depth[p] + 1;
                }
            }
            depth
        })
        .collect();
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let cells: usize = shape.iter().product();
    let mut pos = vec![0usize; shape.len()];
    (0..cells)
        .map(|c| {
            decode(c, &shape, &mut pos);
            pos.iter().zip(&depths).map(|(&p, d)| d[p]).sum()
        })
        .collect()
}

/// A cell set at an earlier stage (or pinned): its value, and how far it may still move.
#[derive(Debug, Clone, Copy)]
struct Held {
    value: f64,
    within: f64,
}

/// One stage: the cells of rank `stage` as close to their targets as the relations allow, with
/// coarser cells `held` (exactly where `within` is 0) and finer cells free. `None` when the solver
/// does not succeed.
fn solve(
    target: &[f64],
    weight: &[f64],
    rank: &[usize],
    stage: usize,
    held: &[Option<Held>],
    eq: &Rows,
    le: &Rows,
) -> Option<Vec<f64>> {
    let n = target.len();
    let here: Vec<usize> = (0..n).filter(|&j| rank[j] == stage).collect();
    // ½ zᵀ P z + qᵀ z with P = 2W, q = −2Wt over this stage's cells.
    let p = CscMatrix::new_from_triplets(
        n,
        n,
        here.clone(),
        here.clone(),
        here.iter().map(|&j| 2.0 * weight[j]).collect(),
    );
    let mut q = vec![0.0; n];
    for &j in &here {
        q[j] = -2.0 * weight[j] * target[j];
    }
    let (mut i, mut jj, mut v, mut b) = (eq.i.clone(), eq.j.clone(), eq.v.clone(), vec![0.0; eq.n]);
    let mut rows = eq.n;
    // A banded cell: z ≤ value + band and −z ≤ −(value − band).
    let mut banded = Rows::default();
    let mut banded_b = Vec::new();
    for (j, h) in held.iter().enumerate() {
        let Some(Held { value, within }) = *h else {
            continue;
        };
        if within > 0.0 {
            banded.push(&[(j, 1.0)]);
            banded_b.push(value + within);
            banded.push(&[(j, -1.0)]);
            banded_b.push(within - value);
        } else {
            i.push(rows);
            jj.push(j);
            v.push(1.0);
            b.push(value);
            rows += 1;
        }
    }
    let n_eq = rows;
    i.extend(le.i.iter().map(|r| r + n_eq));
    jj.extend(&le.j);
    v.extend(&le.v);
    b.extend(std::iter::repeat_n(0.0, le.n));
    i.extend(banded.i.iter().map(|r| r + n_eq + le.n));
    jj.extend(&banded.j);
    v.extend(&banded.v);
    b.extend(banded_b);
    let n_le = le.n + banded.n;
    let a = CscMatrix::new_from_triplets(n_eq + n_le, n, i, jj, v);
    let cones: Vec<SupportedConeT<f64>> = [
        (n_eq > 0).then_some(SupportedConeT::ZeroConeT(n_eq)),
        Some(SupportedConeT::NonnegativeConeT(n_le)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .tol_gap_abs(1e-9)
        .tol_gap_rel(1e-9)
        .tol_feas(1e-9)
        .build()
        .ok()?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings).ok()?;
    solver.solve();
    matches!(
        solver.solution.status,
        SolverStatus::Solved | SolverStatus::AlmostSolved
    )
    .then(|| solver.solution.x.clone())
}

fn split(all: Vec<f64>, measures: &[MeasureInput<'_>]) -> Vec<Vec<f64>> {
    let mut rest = all.as_slice();
    measures
        .iter()
        .map(|m| {
            let (head, tail) = rest.split_at(m.fitted.len());
            rest = tail;
            head.to_vec()
        })
        .collect()
}

/// The relations of one measure's cells (variables from `offset`): each cell at a parent position
/// of an additive axis equals the sum of its children on the first such axis (which, cell by cell,
/// makes it the sum of its leaves, so no relation is stated twice); over a non-additive axis, each
/// child ≤ parent ≤ Σ children.
fn relations(models: &[AxisModel], offset: usize, eq: &mut Rows, le: &mut Rows) {
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let strides = strides(&shape);
    let cells: usize = shape.iter().product();
    let mut pos = vec![0usize; shape.len()];
    for c in 0..cells {
        decode(c, &shape, &mut pos);
        let child = |a: usize, k: usize| offset + c - pos[a] * strides[a] + k * strides[a];
        if let Some(a) =
            (0..models.len()).find(|&a| models[a].additive && !models[a].tree[pos[a]].is_empty())
        {
            let mut terms = vec![(offset + c, 1.0)];
            terms.extend(models[a].tree[pos[a]].iter().map(|&k| (child(a, k), -1.0)));
            eq.push(&terms);
        }
        for (a, m) in models.iter().enumerate() {
            if m.additive || m.tree[pos[a]].is_empty() {
                continue;
            }
            let kids = &m.tree[pos[a]];
            for &k in kids {
                le.push(&[(child(a, k), 1.0), (offset + c, -1.0)]);
            }
            let mut terms = vec![(offset + c, 1.0)];
            terms.extend(kids.iter().map(|&k| (child(a, k), -1.0)));
            le.push(&terms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dp::consistency::Node;

    fn flat(leaves: usize, additive: bool) -> AxisModel {
        let mut nodes = vec![Node::Leaf; leaves];
        nodes.push(Node::Total);
        let groups = vec![None; leaves];
        if additive {
            AxisModel::additive(&nodes, &groups)
        } else {
            AxisModel::separate(&nodes, &groups)
        }
    }

    /// Six leaves in a group, a seventh beside it, and the total: the group (σ = 10) agrees with
    /// its leaves, one large, two small and three below zero.
    fn grouped() -> ([AxisModel; 1], Vec<f64>, Vec<f64>) {
        let mut nodes = vec![Node::Leaf; 7];
        nodes.extend([Node::Group, Node::Total]);
        let mut groups = vec![Some(7); 6];
        groups.push(None);
        let fitted = vec![100.0, 10.0, 10.0, -10.0, -10.0, -10.0, 50.0, 100.0, 150.0];
        let mut variance = vec![400.0; 7];
        variance.extend([100.0, 25.0]);
        ([AxisModel::additive(&nodes, &groups)], fitted, variance)
    }

    #[test]
    fn a_held_margin_shares_the_lift_of_near_zero_cells_within_its_band() {
        let (models, fitted, variance) = grouped();
        let out = project(
            &[MeasureInput {
                fitted: &fitted,
                variance,
                models: &models,
            }],
            None,
            &[],
            HELD_WITHIN_SD,
        );
        let z = &out[0];
        assert!(z.iter().all(|&v| v >= -1e-6), "{z:?}");
        assert!((z[..6].iter().sum::<f64>() - z[7]).abs() < 1e-5, "{z:?}");
        // The grand total is held exactly.
        assert!((z[7] + z[6] - 150.0).abs() < 1e-5, "{z:?}");
        assert!((z[8] - 150.0).abs() < 1e-5, "{z:?}");
        // Held exactly at 100, the group would hand the 30 lifted onto its negative leaves to its
        // positive ones (λ = 6.67: 93.33, 3.33, 3.33). Held within 0.3 σ = 3, it takes 3 of it
        // (from the leaf beside it, which may move 6): λ = 5.67, the large leaf 94.33.
        assert!((z[7] - 103.0).abs() < 1e-4, "{z:?}");
        assert!((z[0] - (100.0 - 17.0 / 3.0)).abs() < 1e-4, "{z:?}");
    }

    #[test]
    fn a_pinned_margin_is_held_exactly() {
        let (models, fitted, variance) = grouped();
        let out = project(
            &[MeasureInput {
                fitted: &fitted,
                variance,
                models: &models,
            }],
            None,
            &[(0, 7, 100.0)],
            HELD_WITHIN_SD,
        );
        let z = &out[0];
        assert!((z[7] - 100.0).abs() < 1e-5, "{z:?}");
        assert!((z[0] - (100.0 - 20.0 / 3.0)).abs() < 1e-4, "{z:?}");
    }

    #[test]
    fn a_negative_cell_is_lifted_at_the_expense_of_imprecise_cells_not_the_total() {
        // Three leaves and their total; the total is known four times better.
        let models = [flat(3, true)];
        let fitted = [-4.0, 10.0, 20.0, 26.0];
        let out = project(
            &[MeasureInput {
                fitted: &fitted,
                variance: vec![1.0, 1.0, 1.0, 0.25],
                models: &models,
            }],
            None,
            &[],
            HELD_WITHIN_SD,
        );
        let z = &out[0];
        assert!(z.iter().all(|&v| v >= -1e-7), "{z:?}");
        assert!((z[0] + z[1] + z[2] - z[3]).abs() < 1e-6, "{z:?}");
        // The total moves far less than the 4 units the negative leaf was lifted.
        assert!((z[3] - 26.0).abs() < 1.0, "{z:?}");
    }

    #[test]
    fn persons_stay_within_person_times_and_their_union_bounds() {
        // Persons over an axis where a person can have several codes: total between the largest
        // leaf and the sum; the estimate breaks both and persons > person-times in a leaf.
        let persons = [flat(2, false)];
        let times = [flat(2, true)];
        let p = [5.0, 3.0, 9.5];
        let t = [4.0, 6.0, 10.0];
        let out = project(
            &[
                MeasureInput {
                    fitted: &p,
                    variance: vec![1.0; 3],
                    models: &persons,
                },
                MeasureInput {
                    fitted: &t,
                    variance: vec![1.0, 1.0, 0.5],
                    models: &times,
                },
            ],
            Some((0, 1)),
            &[],
            HELD_WITHIN_SD,
        );
        let (p, t) = (&out[0], &out[1]);
        let eps = 1e-6;
        for c in 0..3 {
            assert!(p[c] <= t[c] + eps, "{p:?} {t:?}");
        }
        assert!(
            p[2] <= p[0] + p[1] + eps && p[2] + eps >= p[0].max(p[1]),
            "{p:?}"
        );
        assert!((t[0] + t[1] - t[2]).abs() < eps, "{t:?}");
    }

    #[test]
    fn an_estimate_that_keeps_the_relations_is_returned_as_it_is() {
        let models = [flat(2, true)];
        let fitted = [1.5, 2.5, 4.0];
        let out = project(
            &[MeasureInput {
                fitted: &fitted,
                variance: vec![1.0; 3],
                models: &models,
            }],
            None,
            &[],
            HELD_WITHIN_SD,
        );
        assert_eq!(out[0], fitted.to_vec());
    }
}
