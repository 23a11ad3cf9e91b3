//! Secondary suppression of a table given as interior counts, for comparisons with other tools.
//!
//! Input: a CSV with one column per dimension and a last column of counts (header first), one row
//! per interior cell. Each dimension gets a total; a cell is primary when 0 < count < 3. Prints the
//! primary and secondary counts, the time, and the exact audit.
//!
//!     cargo run --release --example suppress_counts -- counts.csv
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    reason = "a command-line example"
)]

use std::collections::{BTreeSet, HashMap};

use privstat::protect::random::with_leaves;
use privstat::protect::system::AxisTree;
use privstat::protect::{Cost, Problem, Solver, lp, suppress};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: suppress_counts COUNTS.csv");
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
    let codes: Vec<Vec<String>> = (0..d)
        .map(|i| {
            rows.iter()
                .map(|r| r.0[i].clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .collect();
    let axes: Vec<AxisTree> = codes
        .iter()
        .zip(&header)
        .map(|(c, name)| {
            let n = c.len();
            let mut all = c.clone();
            all.push("_T".into());
            let total = u32::try_from(n).unwrap();
            let mut parent = vec![Some(total); n];
            parent.push(None);
            let mut is_total = vec![false; n];
            is_total.push(true);
            AxisTree::new((*name).to_owned(), all, parent, is_total)
        })
        .collect();
    let count: HashMap<Vec<u32>, i64> = rows
        .iter()
        .map(|(k, v)| {
            let pos = k
                .iter()
                .zip(&codes)
                .map(|(c, list)| u32::try_from(list.binary_search(c).unwrap()).unwrap())
                .collect();
            (pos, *v)
        })
        .collect();
    let (system, truth) = with_leaves(axes, |p| count.get(p).copied().unwrap_or(0));
    let weight: Vec<i64> = (0..system.atoms())
        .map(|a| truth[system.atom_vars[a][0] as usize])
        .collect();
    let sensitive: Vec<bool> = weight.iter().map(|&p| p > 0 && p < 3).collect();
    let frozen = vec![false; system.atoms()];
    let started = std::time::Instant::now();
    let solution = suppress(&Problem {
        system: &system,
        truth: &truth,
        weight: &weight,
        sensitive: &sensitive,
        frozen: &frozen,
        level: 3,
        cost: Cost::Cells,
    })
    .unwrap();
    let elapsed = started.elapsed();
    let primary = sensitive.iter().filter(|&&s| s).count();
    let suppressed = solution.suppressed.iter().filter(|&&s| s).count();
    let published: Vec<Option<i64>> = (0..system.vars())
        .map(|v| (!solution.suppressed[system.var_atom[v] as usize]).then_some(truth[v]))
        .collect();
    let intervals = lp::intervals(&system, &published, Solver::Microlp, None).unwrap();
    let narrowest = intervals
        .iter()
        .filter(|i| sensitive[system.var_atom[i.var as usize] as usize])
        .map(|i| i.upper - i.lower)
        .fold(f64::INFINITY, f64::min);
    println!(
        "cells {} primary {primary} secondary {} time {:.3}s narrowest-primary-interval {narrowest}",
        system.atoms(),
        suppressed - primary,
        elapsed.as_secs_f64()
    );
}
