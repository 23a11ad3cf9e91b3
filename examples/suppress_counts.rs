//! Secondary suppression of a table given as interior counts, for comparisons with other tools.
//!
//! Input: a CSV with one column per dimension and a last column of counts (header first), one row
//! per interior cell. Each dimension gets a total; a header `name^1` makes the dimension
//! hierarchical, grouped by the first character of its codes. A cell is primary when
//! `0 < count < 3`. For each protection level in `LEVELS` (default `2,3`) prints privstat's
//! primary and secondary counts, its time and the narrowest primary interval of the exact audit.
//!
//! Further arguments are suppression patterns of the same table by another tool: a CSV with the
//! dimension columns (`_T` for totals, group codes for groups) and a `status` column (τ-ARGUS:
//! `U` primary, `M` secondary). Each pattern is audited with privstat's LP: narrowest primary
//! interval, primary cells under each level, and exactly recoverable cells.
//!
//! `--random DISTRICTS` instead of a CSV takes the table of `benches/suppression.rs`.
//!
//!     cargo run --release --example suppress_counts -- counts.csv [pattern.csv ...]
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a command-line example"
)]

use std::collections::{BTreeSet, HashMap};

use privstat::protect::random::{self, with_leaves};
use privstat::protect::system::{AxisTree, System};
use privstat::protect::{Cost, Problem, Solver, int_width, lp, suppress};

struct Table {
    system: System,
    truth: Vec<i64>,
    /// Per dimension: its name and its codes in axis position order.
    axes: Vec<(String, Vec<String>)>,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: suppress_counts COUNTS.csv|--random DISTRICTS [PATTERN.csv ...]");
    let table = if path == "--random" {
        let districts = args
            .next()
            .and_then(|s| s.parse().ok())
            .expect("--random DISTRICTS");
        let (system, truth) = random::table(&random::benchmark(districts));
        Table {
            system,
            truth,
            axes: Vec::new(),
        }
    } else {
        read_counts(&path)
    };
    let Table { system, truth, .. } = &table;
    let weight: Vec<i64> = (0..system.atoms())
        .map(|a| truth[system.atom_vars[a][0] as usize])
        .collect();
    let sensitive: Vec<bool> = weight.iter().map(|&p| p > 0 && p < 3).collect();
    let primary = sensitive.iter().filter(|&&s| s).count();
    let frozen = vec![false; system.atoms()];
    let levels: Vec<i64> = std::env::var("LEVELS")
        .unwrap_or_else(|_| "2,3".into())
        .split(',')
        .map(|s| s.trim().parse().expect("LEVELS: comma-separated integers"))
        .collect();
    println!("{path}: {} cells, {primary} primary", system.atoms());
    for &level in &levels {
        let started = std::time::Instant::now();
        let solution = suppress(&Problem {
            system,
            truth,
            weight: &weight,
            sensitive: &sensitive,
            frozen: &frozen,
            level,
            cost: Cost::Cells,
        })
        .unwrap();
        let elapsed = started.elapsed();
        let audit = audit(&table, &solution.suppressed, &sensitive, &levels);
        println!(
            "  privstat level {level}: secondary {} in {:.3}s; {audit}",
            solution.suppressed.iter().filter(|&&s| s).count() - primary,
            elapsed.as_secs_f64()
        );
    }
    for pattern in args {
        let (suppressed, tool_primary) = read_pattern(&table, &pattern);
        let secondary = suppressed.iter().filter(|&&s| s).count() - tool_primary;
        let audit = audit(&table, &suppressed, &sensitive, &levels);
        println!("  {pattern}: primary {tool_primary} secondary {secondary}; {audit}");
    }
}

/// The exact audit of a pattern: narrowest primary interval, primary cells under each level,
/// exactly recoverable cells.
fn audit(table: &Table, suppressed: &[bool], sensitive: &[bool], levels: &[i64]) -> String {
    let Table { system, truth, .. } = table;
    let published: Vec<Option<i64>> = (0..system.vars())
        .map(|v| (!suppressed[system.var_atom[v] as usize]).then_some(truth[v]))
        .collect();
    let intervals = lp::intervals(system, &published, Solver::Microlp, None).unwrap();
    let widths: Vec<i64> = intervals
        .iter()
        .filter(|i| sensitive[system.var_atom[i.var as usize] as usize])
        .map(|i| int_width(i.lower, i.upper))
        .collect();
    let exact = intervals
        .iter()
        .filter(|i| int_width(i.lower, i.upper) < 1)
        .count();
    let under: Vec<String> = levels
        .iter()
        .map(|&l| {
            format!(
                "{} primary under level {l}",
                widths.iter().filter(|&&w| w < l).count()
            )
        })
        .collect();
    format!(
        "audit: narrowest primary interval {}, {}, {exact} exactly recoverable",
        widths.iter().min().map_or("-".into(), ToString::to_string),
        under.join(", ")
    )
}

fn read_counts(path: &str) -> Table {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let d = header.len() - 1;
    let rows: Vec<(Vec<String>, i64)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[..d].iter().map(|s| (*s).to_owned()).collect(),
                f[d].parse().unwrap(),
            )
        })
        .collect();
    let mut axes = Vec::with_capacity(d);
    let mut trees = Vec::with_capacity(d);
    for (i, field) in header[..d].iter().enumerate() {
        let (name, grouped) = match field.strip_suffix("^1") {
            Some(name) => (name, true),
            None => (*field, false),
        };
        let leaves: Vec<String> = rows
            .iter()
            .map(|r| r.0[i].clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let groups: Vec<String> = if grouped {
            leaves
                .iter()
                .map(|c| c[..1].to_owned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let total = u32::try_from(leaves.len() + groups.len()).unwrap();
        let mut parent: Vec<Option<u32>> = leaves
            .iter()
            .map(|c| {
                Some(
                    groups
                        .iter()
                        .position(|g| c.starts_with(g.as_str()))
                        .map_or(total, |g| u32::try_from(leaves.len() + g).unwrap()),
                )
            })
            .collect();
        parent.extend(groups.iter().map(|_| Some(total)));
        parent.push(None);
        let mut codes = leaves.clone();
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
    let count: HashMap<Vec<u32>, i64> = rows
        .iter()
        .map(|(k, v)| {
            let pos = k
                .iter()
                .zip(&axes)
                .map(|(c, (_, codes))| {
                    u32::try_from(codes.iter().position(|x| x == c).unwrap()).unwrap()
                })
                .collect();
            (pos, *v)
        })
        .collect();
    let (system, truth) = with_leaves(trees, |p| count.get(p).copied().unwrap_or(0));
    Table {
        system,
        truth,
        axes,
    }
}

/// Per atom whether the pattern suppresses it, and how many cells it marks primary.
fn read_pattern(table: &Table, path: &str) -> (Vec<bool>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let d = table.axes.len();
    assert_eq!(
        header.len(),
        d + 1,
        "{path}: one column per dimension and a status"
    );
    let shape = &table.system.shapes[0];
    let mut suppressed = vec![false; table.system.atoms()];
    let mut primary = 0;
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let status = f[d];
        if status != "U" && status != "M" {
            continue;
        }
        primary += usize::from(status == "U");
        let pos: Vec<u32> = f[..d]
            .iter()
            .zip(&table.axes)
            .map(|(c, (name, codes))| {
                let p = codes
                    .iter()
                    .position(|x| x == c)
                    .unwrap_or_else(|| panic!("{path}: unknown code {c} of {name}"));
                u32::try_from(p).unwrap()
            })
            .collect();
        suppressed[table.system.atom_of[0][shape.index(&pos)] as usize] = true;
    }
    (suppressed, primary)
}
