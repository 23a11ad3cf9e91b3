//! Secondary suppression of a table given as interior counts, for comparisons with other tools.
//!
//! Input: a CSV with one column per dimension and a last column of counts (header first), one row
//! per interior cell. Each dimension gets a total; a header `name^1` makes the dimension
//! hierarchical, grouped by the first character of its codes. A cell is primary when
//! `0 < count < 3`. For each protection level in `LEVELS` (default `2,3`) prints privstat's
//! primary and secondary counts, its time, and the narrowest primary interval of the audit with
//! the audit's time. The audit is the one `privstat audit` runs, for the largest level: numbers
//! that witnesses show protected get inner intervals ("at least"), the others exact ones; the
//! counts under each level are exact. `EXACT=1` computes every interval exactly.
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

use std::io::Write;

use privstat::attacker::lp::{self, Solver};
use privstat::attacker::rules::int_width;
use privstat::attacker::system::System;
use privstat::protect::random;
use privstat::protect::{Cost, Problem, suppress};

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
    let weight = random::weights(system, truth);
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
            needs: &[],
            cost: Cost::Cells,
        })
        .unwrap();
        print!(
            "  privstat level {level}: secondary {} in {:.3}s; ",
            solution.suppressed.iter().filter(|&&s| s).count() - primary,
            started.elapsed().as_secs_f64()
        );
        std::io::stdout().flush().unwrap();
        let started = std::time::Instant::now();
        let audit = audit(&table, &solution.suppressed, &sensitive, &levels);
        println!("{audit} ({:.3}s)", started.elapsed().as_secs_f64());
    }
    for pattern in args {
        let (suppressed, tool_primary) = read_pattern(&table, &pattern);
        let secondary = suppressed.iter().filter(|&&s| s).count() - tool_primary;
        let audit = audit(&table, &suppressed, &sensitive, &levels);
        println!("  {pattern}: primary {tool_primary} secondary {secondary}; {audit}");
    }
}

/// The audit of a pattern: narrowest primary interval, primary cells under each level, exactly
/// recoverable cells.
fn audit(table: &Table, suppressed: &[bool], sensitive: &[bool], levels: &[i64]) -> String {
    let Table { system, truth, .. } = table;
    let published: Vec<Option<i64>> = (0..system.vars())
        .map(|v| (!suppressed[system.var_atom[v] as usize]).then_some(truth[v]))
        .collect();
    let top = levels.iter().copied().max().unwrap_or(1);
    let needs: Vec<i64> = (0..system.vars())
        .map(|v| {
            if sensitive[system.var_atom[v] as usize] {
                top
            } else {
                1
            }
        })
        .collect();
    let exact_only = std::env::var_os("EXACT").is_some_and(|e| e == "1");
    let intervals = lp::intervals(
        system,
        &published,
        Solver::Microlp,
        None,
        (!exact_only).then_some(needs.as_slice()),
    )
    .unwrap();
    // Widths of primary numbers, with whether each is exact or an inner bound.
    let widths: Vec<(i64, bool)> = intervals
        .iter()
        .filter(|i| sensitive[system.var_atom[i.var as usize] as usize])
        .map(|i| {
            (
                int_width(i.lower, i.upper),
                i.method == lp::Method::Witnesses,
            )
        })
        .collect();
    // The narrowest is exact unless an inner bound is narrower than every exact width.
    let narrowest = widths.iter().min().map_or("-".into(), |&(w, inner)| {
        if inner && !widths.iter().any(|&(x, i)| !i && x == w) {
            format!("at least {w}")
        } else {
            w.to_string()
        }
    });
    let exact = intervals
        .iter()
        .filter(|i| int_width(i.lower, i.upper) < 1)
        .count();
    let under: Vec<String> = levels
        .iter()
        .map(|&l| {
            format!(
                "{} primary under level {l}",
                widths.iter().filter(|&&(w, _)| w < l).count()
            )
        })
        .collect();
    format!(
        "audit: narrowest primary interval {narrowest}, {}, {exact} exactly recoverable",
        under.join(", ")
    )
}

fn read_counts(path: &str) -> Table {
    let text = std::fs::read_to_string(path).unwrap();
    let counts = random::from_counts(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    Table {
        system: counts.system,
        truth: counts.truth,
        axes: counts.axes,
    }
}

/// Per atom whether the pattern suppresses it, and how many cells it marks primary.
fn read_pattern(table: &Table, path: &str) -> (Vec<bool>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    random::pattern_from_csv(&table.system, &table.axes, &text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}
