//! Random hierarchical tables of counts with consistent margins, seeded: suppression problems for
//! property tests and benchmarks.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::system::{AxisTree, Shape, System};

/// One dimension: `leaves` codes, grouped into `groups` consecutive groups (none when 0), and a
/// total.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    pub leaves: usize,
    pub groups: usize,
}

/// A random table.
#[derive(Debug, Clone)]
pub struct Spec {
    pub axes: Vec<Axis>,
    /// Share of interior cells that are zero.
    pub zero_share: f64,
    /// Mean of the non-zero interior cells (exponential, at least 1).
    pub mean: f64,
    pub seed: u64,
}

/// The benchmark table: `districts` districts in `districts / 12` groups × 2 genders × 24 services
/// in 6 groups × 6 contact modes, 30 % empty, mean 25. Three districts give 2 604 cells; 150 give
/// 106 113.
#[must_use]
pub fn benchmark(districts: usize) -> Spec {
    let axis = |leaves, groups| Axis { leaves, groups };
    Spec {
        axes: vec![
            axis(districts, districts / 12),
            axis(2, 0),
            axis(24, 6),
            axis(6, 0),
        ],
        zero_share: 0.3,
        mean: 25.0,
        seed: 1,
    }
}

/// The axis tree: leaves, then groups, then the total.
#[must_use]
pub fn axis_tree(name: &str, axis: Axis) -> AxisTree {
    let Axis { leaves, groups } = axis;
    let to_u32 = |p: usize| u32::try_from(p).expect("small axis");
    let total = leaves + groups;
    let mut codes: Vec<String> = (0..leaves).map(|i| format!("{name}{i}")).collect();
    codes.extend((0..groups).map(|g| format!("{name}_g{g}")));
    codes.push("_T".into());
    let mut parent: Vec<Option<u32>> = (0..leaves)
        .map(|i| {
            if groups == 0 {
                Some(to_u32(total))
            } else {
                Some(to_u32(leaves + (i * groups / leaves)))
            }
        })
        .collect();
    parent.extend((0..groups).map(|_| Some(to_u32(total))));
    parent.push(None);
    let mut is_total = vec![false; total];
    is_total.push(true);
    AxisTree::new(name.into(), codes, parent, is_total)
}

/// A one-measure (`persons`, additive) table as a system, with its true values.
#[must_use]
pub fn table(spec: &Spec) -> (System, Vec<i64>) {
    let axes: Vec<AxisTree> = spec
        .axes
        .iter()
        .enumerate()
        .map(|(i, &a)| axis_tree(&format!("d{i}"), a))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    with_leaves(axes, |_| {
        if rng.random::<f64>() < spec.zero_share {
            return 0;
        }
        let u: f64 = rng.random::<f64>().max(1e-12);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a small positive count by construction"
        )]
        let v = (-spec.mean * u.ln()).floor() as i64 + 1;
        v
    })
}

/// A one-measure (`persons`, additive) table from the value of each interior cell (given its
/// positions, in cell order), margins summed.
#[must_use]
pub fn with_leaves(axes: Vec<AxisTree>, mut leaf: impl FnMut(&[u32]) -> i64) -> (System, Vec<i64>) {
    let d = axes.len();
    let shape = Shape {
        name: "t".into(),
        population: "p".into(),
        axes,
        measures: vec!["persons".into()],
        additive: vec![vec![true; d]],
    };
    let mut values = vec![0i64; shape.len()];
    for cell in 0..shape.len() {
        let pos = shape.positions(cell);
        let interior = pos
            .iter()
            .zip(&shape.axes)
            .all(|(&p, a)| a.children[p as usize].is_empty());
        if !interior {
            continue;
        }
        let v = leaf(&pos);
        if v == 0 {
            continue;
        }
        // Add the cell to every cell above it: the product of its lineages.
        let mut targets: Vec<Vec<u32>> = vec![Vec::new()];
        for (a, &p) in shape.axes.iter().zip(&pos) {
            targets = targets
                .into_iter()
                .flat_map(|t| {
                    a.lineage(p).map(move |n| {
                        let mut next = t.clone();
                        next.push(n);
                        next
                    })
                })
                .collect();
        }
        for t in targets {
            values[shape.index(&t)] += v;
        }
    }
    let system = System::new(vec![shape]);
    let mut truth = vec![0i64; system.vars()];
    for (cell, &v) in values.iter().enumerate() {
        truth[system.var_of[0][0][cell] as usize] = v;
    }
    (system, truth)
}
