//! Post-processing of a noisy table into non-negative integers whose margins add up.
//!
//! Every cell of a table (leaves, groups, totals) is measured with the same noise, so the
//! least-squares estimate of the leaves is `x̂ = (SᵀS)⁻¹Sᵀy`, where `S` maps leaves to all cells.
//! Because the cells are the cross product of the axes, `S = S₁ ⊗ … ⊗ S_d` and the estimate is one
//! small matrix per axis applied along that axis: exact, and linear in the table's size. The
//! fitted values `Sx̂` of the margins use every measurement below them, so a total is far more
//! accurate than the sum of its noisy cells; its variance is `σ²·Π_a h_a`, with `h_a` the diagonal
//! of axis `a`'s hat matrix.
//!
//! Then, as in the US Census TopDown algorithm, integers are fixed from the top: each root cell is
//! rounded (at least 0), and each parent's integer is shared among its children closest to their
//! fitted values (projection onto the simplex, then largest-remainder rounding), one axis at a time,
//! down to the leaves. Published margins are the sums of the published leaves.
//!
//! An axis over which the measure does not add up (persons with several codes, domain.md §4.4) is
//! not reconciled: each of its positions is its own root.

pub use relations::{cover_persons, keep_relations};

/// How one axis enters the reconciliation.
#[derive(Debug, Clone)]
pub struct AxisModel {
    /// Rows: positions of the axis; columns: the axis's leaves. `S_a`.
    aggregate: Vec<Vec<f64>>,
    /// `(S_aᵀS_a)⁻¹S_aᵀ`: leaves × positions.
    projector: Vec<Vec<f64>>,
    /// Diagonal of the hat matrix `H_a = S_a(S_aᵀS_a)⁻¹S_aᵀ`, per position (`Σ_j H_pj²`, since
    /// `H_a` is a symmetric projection).
    pub hat: Vec<f64>,
    /// `Σ_j H_pj⁴` per position: how concentrated the estimate's weights are.
    pub fourth: Vec<f64>,
    /// Per position, its children (empty for leaves); roots have no parent.
    children: Vec<Vec<usize>>,
    /// Positions with no parent.
    roots: Vec<usize>,
    /// Per leaf (column of `aggregate`), its position.
    leaf_position: Vec<usize>,
    /// The axis's hierarchy whatever the measure: per position, its children (a group's members;
    /// the total's groups and ungrouped leaves). Children come before their parent.
    pub tree: Vec<Vec<usize>>,
    /// Whether the measure adds up over the axis (parent = Σ children); otherwise each child ≤
    /// parent ≤ Σ children.
    pub additive: bool,
}

/// One position on an axis as the reconciliation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Leaf,
    /// A group with its leaf members.
    Group,
    Total,
}

impl AxisModel {
    /// An axis whose measure adds up: `nodes[p]` is position `p`'s kind, `group_of[leaf]` the
    /// position of the leaf's group. Leaves come first, as in a tabulated axis.
    #[must_use]
    pub fn additive(nodes: &[Node], group_of: &[Option<u32>]) -> Self {
        let leaves: Vec<usize> = (0..nodes.len())
            .filter(|&p| nodes[p] == Node::Leaf)
            .collect();
        let total = nodes.iter().position(|&n| n == Node::Total);
        let mut aggregate = vec![vec![0.0; leaves.len()]; nodes.len()];
        for (j, &p) in leaves.iter().enumerate() {
            aggregate[p][j] = 1.0;
            if let Some(t) = total {
                aggregate[t][j] = 1.0;
            }
            if let Some(g) = group_of.get(j).copied().flatten() {
                aggregate[g as usize][j] = 1.0;
            }
        }
        let children = hierarchy(nodes, group_of);
        let roots = match total {
            Some(t) => vec![t],
            None => leaves.clone(),
        };
        let mut model = Self::finish(aggregate, children.clone(), roots, leaves);
        model.tree = children;
        model
    }

    /// An axis over which the measure does not add up: every position stands alone in the least
    /// squares and the integers, and the hierarchy of `nodes` gives its inequalities.
    #[must_use]
    pub fn separate(nodes: &[Node], group_of: &[Option<u32>]) -> Self {
        let mut model = Self::standalone(nodes.len());
        model.tree = hierarchy(nodes, group_of);
        model.additive = false;
        model
    }

    /// Every position its own root, with no hierarchy (positions that are not a code list's).
    #[must_use]
    pub fn standalone(positions: usize) -> Self {
        let aggregate = (0..positions)
            .map(|p| {
                (0..positions)
                    .map(|q| f64::from(u8::from(p == q)))
                    .collect()
            })
            .collect();
        Self::finish(
            aggregate,
            vec![Vec::new(); positions],
            (0..positions).collect(),
            (0..positions).collect(),
        )
    }

    fn finish(
        aggregate: Vec<Vec<f64>>,
        children: Vec<Vec<usize>>,
        roots: Vec<usize>,
        leaf_position: Vec<usize>,
    ) -> Self {
        let n = leaf_position.len();
        // SᵀS is symmetric positive definite (every leaf has its own row).
        let mut gram = vec![vec![0.0; n]; n];
        for row in &aggregate {
            for i in 0..n {
                if row[i] != 0.0 {
                    for j in 0..n {
                        gram[i][j] += row[i] * row[j];
                    }
                }
            }
        }
        let inverse = invert_spd(&gram);
        let projector: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                aggregate
                    .iter()
                    .map(|row| (0..n).map(|k| inverse[i][k] * row[k]).sum())
                    .collect()
            })
            .collect();
        let positions = aggregate.len();
        let h =
            |p: usize, q: usize| -> f64 { (0..n).map(|k| aggregate[p][k] * projector[k][q]).sum() };
        let hat = (0..positions).map(|p| h(p, p)).collect();
        let fourth = (0..positions)
            .map(|p| (0..positions).map(|q| h(p, q).powi(4)).sum())
            .collect();
        let tree = vec![Vec::new(); positions];
        Self {
            aggregate,
            projector,
            hat,
            fourth,
            children,
            roots,
            leaf_position,
            tree,
            additive: true,
        }
    }

    pub(crate) fn positions(&self) -> usize {
        self.aggregate.len()
    }

    fn leaves(&self) -> usize {
        self.leaf_position.len()
    }
}

/// Per position of an axis, its children: a group's members, and the total's groups and ungrouped
/// leaves (`group_of[leaf]` is the position of the leaf's group). Leaves come first.
fn hierarchy(nodes: &[Node], group_of: &[Option<u32>]) -> Vec<Vec<usize>> {
    let total = nodes.iter().position(|&n| n == Node::Total);
    let mut children = vec![Vec::new(); nodes.len()];
    let leaves = (0..nodes.len()).filter(|&p| nodes[p] == Node::Leaf);
    for (j, p) in leaves.enumerate() {
        match (group_of.get(j).copied().flatten(), total) {
            (Some(g), _) => children[g as usize].push(p),
            (None, Some(t)) => children[t].push(p),
            (None, None) => {}
        }
    }
    if let Some(t) = total {
        children[t].extend((0..nodes.len()).filter(|&p| nodes[p] == Node::Group));
        children[t].sort_unstable();
    }
    children
}

/// Inverse of a small symmetric positive definite matrix by Gauss–Jordan elimination.
fn invert_spd(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut r = row.clone();
            r.extend((0..n).map(|j| f64::from(u8::from(i == j))));
            r
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))
            .unwrap_or(col);
        m.swap(col, pivot);
        let d = m[col][col];
        for v in &mut m[col] {
            *v /= d;
        }
        let pivot_row = m[col].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col];
                if f != 0.0 {
                    for (x, p) in row.iter_mut().zip(&pivot_row) {
                        *x -= f * p;
                    }
                }
            }
        }
    }
    m.into_iter().map(|row| row[n..].to_vec()).collect()
}

/// Applies `matrix` (rows × `shape[axis]`) along `axis` of a row-major tensor.
fn along(
    data: &[f64],
    shape: &[usize],
    axis: usize,
    matrix: &[Vec<f64>],
) -> (Vec<f64>, Vec<usize>) {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    let rows = matrix.len();
    let mut out = vec![0.0; outer * rows * inner];
    for o in 0..outer {
        for (r, row) in matrix.iter().enumerate() {
            for (k, &w) in row.iter().enumerate().take(n) {
                if w == 0.0 {
                    continue;
                }
                let src = (o * n + k) * inner;
                let dst = (o * rows + r) * inner;
                for i in 0..inner {
                    out[dst + i] += w * data[src + i];
                }
            }
        }
    }
    let mut new_shape = shape.to_vec();
    new_shape[axis] = rows;
    (out, new_shape)
}

/// The least-squares estimate of every cell of a measure, with its relative variance.
#[derive(Debug, Clone)]
pub struct Fit {
    /// `Sx̂`: fitted values of every cell, margins included (unbiased, real-valued).
    pub fitted: Vec<f64>,
    /// `Var(estimate) / Var(noise of one measurement)`, per cell: 1 for a cell that nothing else
    /// informs, less where margins and cells inform each other.
    pub relative_variance: Vec<f64>,
    /// `Σw⁴ / (Σw²)²` of each cell's estimate weights: the share of one measurement's excess
    /// kurtosis that the estimate keeps (1 for a single measurement, → 0 as it averages many).
    pub kurtosis_share: Vec<f64>,
}

/// Least squares over the noisy cells `noisy` of a table whose axes are `models` (row-major, last
/// axis fastest).
#[must_use]
pub fn fit(noisy: &[i64], models: &[AxisModel]) -> Fit {
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    #[allow(
        clippy::cast_precision_loss,
        reason = "noisy counts are far below 2^52"
    )]
    let mut x: Vec<f64> = noisy.iter().map(|&v| v as f64).collect();
    let mut s = shape.clone();
    for (a, m) in models.iter().enumerate() {
        (x, s) = along(&x, &s, a, &m.projector);
    }
    let mut fitted = x;
    for (a, m) in models.iter().enumerate() {
        (fitted, s) = along(&fitted, &s, a, &m.aggregate);
    }
    debug_assert_eq!(s, shape);
    let n_cells: usize = shape.iter().product();
    let strides = strides(&shape);
    let mut relative_variance = vec![1.0; n_cells];
    let mut kurtosis_share = vec![1.0; n_cells];
    let positions: Vec<Vec<usize>> = shape.iter().map(|&n| (0..n).collect()).collect();
    for_each(&positions, |pos| {
        let i = index(pos, &strides);
        let h: f64 = pos.iter().zip(models).map(|(&p, m)| m.hat[p]).product();
        let q: f64 = pos.iter().zip(models).map(|(&p, m)| m.fourth[p]).product();
        relative_variance[i] = h;
        kurtosis_share[i] = if h > 0.0 { q / (h * h) } else { 1.0 };
    });
    Fit {
        fitted,
        relative_variance,
        kurtosis_share,
    }
}

pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    (0..shape.len())
        .map(|a| shape[a + 1..].iter().product())
        .collect()
}

fn index(pos: &[usize], strides: &[usize]) -> usize {
    pos.iter().zip(strides).map(|(p, s)| p * s).sum()
}

/// The positions of cell `c` of a row-major tensor of `shape`, written into `pos`.
pub(crate) fn decode(mut c: usize, shape: &[usize], pos: &mut [usize]) {
    for (slot, &n) in pos.iter_mut().zip(shape).rev() {
        *slot = c % n;
        c /= n;
    }
}

/// Non-negative integers close to `targets` (real values that already satisfy the measure's
/// relations), from the top down as in the US Census TopDown algorithm: each root cell is rounded,
/// and each parent's integer is shared among its children closest to their targets, one axis at a
/// time; every other cell is then the sum of its leaves.
#[must_use]
pub fn integers(targets: &[f64], models: &[AxisModel]) -> Vec<i64> {
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let n_cells: usize = shape.iter().product();
    let mut fixed: Vec<Option<i64>> = vec![None; n_cells];
    let strides = strides(&shape);
    let index = |pos: &[usize]| index(pos, &strides);
    // Roots on every axis.
    for_each(
        &models.iter().map(|m| m.roots.clone()).collect::<Vec<_>>(),
        |pos| {
            let i = index(pos);
            #[allow(
                clippy::cast_possible_truncation,
                reason = "rounded noisy counts fit in i64"
            )]
            let v = targets[i].round().max(0.0) as i64;
            fixed[i] = Some(v);
        },
    );
    for a in 0..models.len() {
        // Axes before `a` are final (leaves), axes after are at their roots; refine `a` from its
        // roots down.
        let mut frontier: Vec<usize> = models[a].roots.clone();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for &parent in &frontier {
                let kids = &models[a].children[parent];
                if kids.is_empty() {
                    continue;
                }
                next.extend(kids.iter().copied());
                let sets: Vec<Vec<usize>> = models
                    .iter()
                    .enumerate()
                    .map(|(b, m)| match b.cmp(&a) {
                        std::cmp::Ordering::Less => m.leaf_position.clone(),
                        std::cmp::Ordering::Equal => vec![parent],
                        std::cmp::Ordering::Greater => m.roots.clone(),
                    })
                    .collect();
                for_each(&sets, |pos| {
                    let p = index(pos);
                    let total = fixed[p].unwrap_or(0);
                    let mut child_pos = pos.to_vec();
                    let child_targets: Vec<f64> = kids
                        .iter()
                        .map(|&k| {
                            child_pos[a] = k;
                            targets[index(&child_pos)]
                        })
                        .collect();
                    for (&k, v) in kids.iter().zip(allocate(total, &child_targets)) {
                        child_pos[a] = k;
                        fixed[index(&child_pos)] = Some(v);
                    }
                });
            }
            frontier = next;
        }
    }
    let base: Vec<i64> = fixed.into_iter().map(|v| v.unwrap_or(0)).collect();
    sum_up(&base, models)
}

/// Every cell as the sum of its cells at leaf positions of the additive axes (`values` holds the
/// whole table; only those cells are read).
fn sum_up(values: &[i64], models: &[AxisModel]) -> Vec<i64> {
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let strides = strides(&shape);
    let leaf_sets: Vec<Vec<usize>> = models.iter().map(|m| m.leaf_position.clone()).collect();
    let mut leaves = Vec::with_capacity(models.iter().map(AxisModel::leaves).product());
    for_each(&leaf_sets, |pos| {
        #[allow(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
        leaves.push(values[index(pos, &strides)] as f64);
    });
    let mut out = leaves;
    let mut s: Vec<usize> = models.iter().map(AxisModel::leaves).collect();
    for (a, m) in models.iter().enumerate() {
        (out, s) = along(&out, &s, a, &m.aggregate);
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "sums of integers stay integers"
    )]
    out.into_iter().map(|v| v.round() as i64).collect()
}

/// Calls `f` with every combination of one position from each set, last set fastest.
fn for_each(sets: &[Vec<usize>], mut f: impl FnMut(&[usize])) {
    if sets.iter().any(Vec::is_empty) {
        return;
    }
    let mut at = vec![0usize; sets.len()];
    let mut pos: Vec<usize> = sets.iter().map(|s| s[0]).collect();
    loop {
        f(&pos);
        let mut axis = sets.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            at[axis] += 1;
            if at[axis] < sets[axis].len() {
                pos[axis] = sets[axis][at[axis]];
                break;
            }
            at[axis] = 0;
            pos[axis] = sets[axis][0];
        }
    }
}

/// Shares `total` among children closest (least squares) to `targets`, each at least 0: the
/// projection onto the simplex, then largest-remainder rounding (ties to the first child).
#[must_use]
pub fn allocate(total: i64, targets: &[f64]) -> Vec<i64> {
    if targets.is_empty() {
        return Vec::new();
    }
    if total <= 0 {
        return vec![0; targets.len()];
    }
    #[allow(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    let t = total as f64;
    let mut sorted: Vec<f64> = targets.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let mut cumulative = 0.0;
    let mut tau = 0.0;
    for (i, &v) in sorted.iter().enumerate() {
        cumulative += v;
        #[allow(clippy::cast_precision_loss, reason = "few children")]
        let candidate = (cumulative - t) / (i + 1) as f64;
        if v - candidate > 0.0 {
            tau = candidate;
        }
    }
    let projected: Vec<f64> = targets.iter().map(|&v| (v - tau).max(0.0)).collect();
    #[allow(clippy::cast_possible_truncation, reason = "parts of an i64 total")]
    let mut out: Vec<i64> = projected.iter().map(|&v| v.floor() as i64).collect();
    let mut rest = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = projected[a] - projected[a].floor();
        let fb = projected[b] - projected[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let mut i = 0;
    while rest > 0 {
        out[order[i % order.len()]] += 1;
        rest -= 1;
        i += 1;
    }
    while rest < 0 {
        // Only reachable through float error: take back from the largest.
        let j = (0..out.len()).max_by_key(|&j| out[j]).unwrap_or(0);
        out[j] -= 1;
        rest += 1;
    }
    out
}

mod relations;
#[cfg(test)]
mod tests;
