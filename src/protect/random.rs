//! Random hierarchical tables of counts with consistent margins, seeded: suppression problems for
//! property tests and benchmarks.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::attacker::system::{AxisTree, Shape, System};

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

/// Per atom, the true value of its first measure: the persons of the one-measure tables built
/// here, and so the cost of suppressing the atom.
#[must_use]
pub fn weights(system: &System, truth: &[i64]) -> Vec<i64> {
    (0..system.atoms())
        .map(|a| truth[system.atom_vars[a][0] as usize])
        .collect()
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

/// A table read from interior counts.
#[derive(Debug)]
pub struct Counts {
    pub system: System,
    pub truth: Vec<i64>,
    /// Per dimension: its name and its codes in axis position order (leaves, groups, `_T`).
    pub axes: Vec<(String, Vec<String>)>,
}

/// A one-measure table from a CSV of interior counts: a header with one column per dimension and
/// a last column of counts, then one row per non-empty interior cell. Every dimension gets a
/// total `_T`; a header `name^1` groups the dimension by the first character of its codes (a
/// hierarchy, as τ-ARGUS's `HIERLEVELS 1 1`).
///
/// # Errors
/// A message naming the line when a row has the wrong number of fields or a count that is not a
/// non-negative integer.
pub fn from_counts(text: &str) -> Result<Counts, String> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .ok_or("empty file: expected a header")?
        .1
        .split(',')
        .collect();
    if header.len() < 2 {
        return Err("line 1: expected dimension columns and a count column".into());
    }
    let d = header.len() - 1;
    let mut rows: Vec<(Vec<&str>, i64)> = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.is_empty()) {
        let f = fields(line, i, d + 1)?;
        let count: i64 =
            f[d].parse().ok().filter(|&c| c >= 0).ok_or_else(|| {
                format!("line {}: the count is not a non-negative integer", i + 1)
            })?;
        rows.push((f[..d].to_vec(), count));
    }
    let to_u32 = |p: usize| u32::try_from(p).expect("small axis");
    let mut axes = Vec::with_capacity(d);
    let mut trees = Vec::with_capacity(d);
    for (i, field) in header[..d].iter().enumerate() {
        let (name, grouped) = match field.strip_suffix("^1") {
            Some(name) => (name, true),
            None => (*field, false),
        };
        let leaves: Vec<String> = rows
            .iter()
            .map(|r| r.0[i].to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let groups: Vec<String> = if grouped {
            leaves
                .iter()
                .filter_map(|c| c.chars().next().map(String::from))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let total = to_u32(leaves.len() + groups.len());
        let mut parent: Vec<Option<u32>> = leaves
            .iter()
            .map(|c| {
                let group = groups.iter().position(|g| c.starts_with(g.as_str()));
                Some(group.map_or(total, |g| to_u32(leaves.len() + g)))
            })
            .collect();
        parent.extend(groups.iter().map(|_| Some(total)));
        parent.push(None);
        let mut codes = leaves;
        codes.extend(groups);
        codes.push("_T".into());
        let mut is_total = vec![false; codes.len()];
        is_total[total as usize] = true;
        trees.push(AxisTree::new(
            name.to_owned(),
            codes.clone(),
            parent,
            is_total,
        ));
        axes.push((name.to_owned(), codes));
    }
    let mut count: std::collections::HashMap<Vec<u32>, i64> = std::collections::HashMap::new();
    for (key, v) in &rows {
        let pos = key
            .iter()
            .zip(&axes)
            .map(|(c, (_, codes))| to_u32(codes.iter().position(|x| x == c).unwrap_or(0)))
            .collect();
        *count.entry(pos).or_insert(0) += v;
    }
    let (system, truth) = with_leaves(trees, |p| count.get(p).copied().unwrap_or(0));
    Ok(Counts {
        system,
        truth,
        axes,
    })
}

/// Another tool's suppression pattern of a table read by [`from_counts`]: a CSV with the
/// dimension columns (`_T` for totals, group codes for groups) and a `status` column, where `U`
/// marks a primary and `M` a secondary cell (τ-ARGUS's codes); other statuses are published.
/// Returns per atom whether it is suppressed, and the number of primary cells.
///
/// # Errors
/// A message naming the line when a row has the wrong number of fields or an unknown code.
pub fn pattern_from_csv(
    system: &System,
    axes: &[(String, Vec<String>)],
    text: &str,
) -> Result<(Vec<bool>, usize), String> {
    let d = axes.len();
    let shape = &system.shapes[0];
    let mut suppressed = vec![false; system.atoms()];
    let mut primary = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.is_empty())
    {
        let f = fields(line, i, d + 1)?;
        if f[d] != "U" && f[d] != "M" {
            continue;
        }
        primary += usize::from(f[d] == "U");
        let mut pos = Vec::with_capacity(d);
        for (c, (name, codes)) in f[..d].iter().zip(axes) {
            let p = codes
                .iter()
                .position(|x| x == c)
                .ok_or_else(|| format!("line {}: `{c}` is not a code of {name}", i + 1))?;
            pos.push(u32::try_from(p).expect("small axis"));
        }
        suppressed[system.atom_of[0][shape.index(&pos)] as usize] = true;
    }
    Ok((suppressed, primary))
}

/// The comma-separated fields of the line at index `i`, which must number `want`.
fn fields(line: &str, i: usize, want: usize) -> Result<Vec<&str>, String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() == want {
        Ok(f)
    } else {
        Err(format!(
            "line {}: expected {want} fields, found {}",
            i + 1,
            f.len()
        ))
    }
}
