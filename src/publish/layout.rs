//! `<table>-report.csv`: a table in the county's half-year summary layout (彙整表), from its
//! protected values: one row per code of the first dimension (each group as a subtotal row before
//! its members, the total last) crossed with the codes of the other dimensions but the last;
//! person-times spread over the last dimension's codes (女 / 男) with their total (合計), every
//! other measure (場次, 人數) at that total. A withheld value is `×` (primary) or `⊗` (secondary).
//!
//! A presentation of the long table, not a second source of numbers: the audit checks the long
//! form, and this file holds nothing the long form does not.

use polars::prelude::*;

use crate::attacker::CellStatus;
use crate::config::Plan;
use crate::config::plan::Measure;
use crate::protect::ProtectedTable;
use crate::tabulate::{Level, Table};

pub use crate::audit::read::layout_name as name;

/// The summary layout's frame: text columns, headers in Chinese as the county's report has them.
/// The table has at least two dimensions and its margins (checked with the plan).
pub fn frame(pt: &ProtectedTable, plan: &Plan) -> PolarsResult<DataFrame> {
    let t = &pt.table;
    let k = t.axes.len();
    let spread = &t.axes[k - 1];
    let spread_total = position(spread, Level::Total);
    let spread_leaves: Vec<usize> = (0..spread.cells.len())
        .filter(|&p| spread.cells[p].level == Level::Leaf)
        .collect();

    // Header: the first dimension's group label and its own, then the other row dimensions.
    let first = &t.axes[0];
    let has_groups = first.cells.iter().any(|c| c.level == Level::Group);
    let domain = |a: &crate::tabulate::Axis| &plan.domains[a.domain];
    let mut names: Vec<String> = Vec::new();
    if has_groups {
        names.push(
            domain(first)
                .group_label
                .as_ref()
                .map_or_else(|| "組別".to_owned(), |l| l.zh.clone()),
        );
    }
    names.extend(t.axes[..k - 1].iter().map(|a| domain(a).label.zh.clone()));
    let mut columns: Vec<(usize, Option<usize>)> = Vec::new(); // (measure, spread position)
    for (m, measure) in t.measures.iter().enumerate() {
        let label = short_label(measure);
        if *measure == Measure::PersonTimes {
            for &p in &spread_leaves {
                names.push(format!("{label}_{}", spread.cells[p].label.zh));
                columns.push((m, Some(p)));
            }
            names.push(format!("{label}_合計"));
        } else {
            names.push(label);
        }
        columns.push((m, spread_total));
    }

    let mut rows: Vec<Vec<String>> = Vec::new();
    for p0 in first_axis_order(first) {
        let level = first.cells[p0].level;
        let group_label = match level {
            Level::Group | Level::Total => first.cells[p0].label.zh.clone(),
            Level::Leaf => first.group_of[p0]
                .map(|g| first.cells[g as usize].label.zh.clone())
                .unwrap_or_default(),
        };
        // Detail rows for a leaf: each combination of the other row dimensions' leaves that
        // holds anything; a group or the total: one row at the other dimensions' totals.
        let combos: Vec<Vec<usize>> = if level == Level::Leaf {
            let mut combos: Vec<Vec<usize>> = vec![vec![p0]];
            for axis in &t.axes[1..k - 1] {
                let leaves: Vec<usize> = (0..axis.cells.len())
                    .filter(|&p| axis.cells[p].level == Level::Leaf)
                    .collect();
                combos = combos
                    .into_iter()
                    .flat_map(|c| {
                        leaves.iter().map(move |&p| {
                            let mut c = c.clone();
                            c.push(p);
                            c
                        })
                    })
                    .collect();
            }
            // With no other row dimension the measure's one row stands, zeros and all.
            if k > 2 {
                combos.retain(|c| holds_anything(pt, c, spread_total));
            }
            combos
        } else {
            let mut c = vec![p0];
            c.extend(
                t.axes[1..k - 1]
                    .iter()
                    .filter_map(|a| position(a, Level::Total)),
            );
            vec![c]
        };
        for combo in combos {
            let mut row = Vec::with_capacity(names.len());
            if has_groups {
                row.push(group_label.clone());
            }
            for (a, &p) in combo.iter().enumerate() {
                let cell = &t.axes[a].cells[p];
                row.push(if a == 0 && level == Level::Group {
                    String::new()
                } else {
                    cell.label.zh.clone()
                });
            }
            for &(m, sp) in &columns {
                let Some(sp) = sp else {
                    row.push(String::new());
                    continue;
                };
                let mut positions = combo.clone();
                positions.push(sp);
                row.push(shown(pt, t, m, t.index(&positions)));
            }
            rows.push(row);
        }
    }
    let series: Vec<Column> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Column::new(
                name.as_str().into(),
                rows.iter().map(|r| r[i].as_str()).collect::<Vec<_>>(),
            )
        })
        .collect();
    DataFrame::new_infer_height(series)
}

/// The data dictionary's rows for the layout file of `pt`, as `frame` names its columns.
#[must_use]
pub fn dictionary_rows(pt: &ProtectedTable, frame: &DataFrame) -> Vec<[String; 6]> {
    let file = name(&pt.table.name);
    frame
        .get_column_names()
        .iter()
        .map(|name| {
            [
                file.clone(),
                name.to_string(),
                "string".into(),
                name.to_string(),
                name.to_string(),
                format!(
                    "summary layout (彙整表) of table {}: labels, or the published value; × \
                     withheld (primary), ⊗ withheld (secondary)",
                    pt.table.name
                ),
            ]
        })
        .collect()
}

fn position(axis: &crate::tabulate::Axis, level: Level) -> Option<usize> {
    axis.cells.iter().position(|c| c.level == level)
}

/// Groups each followed by their members, then leaves of no group, then the total.
fn first_axis_order(axis: &crate::tabulate::Axis) -> Vec<usize> {
    let mut out = Vec::new();
    for (g, cell) in axis.cells.iter().enumerate() {
        if cell.level != Level::Group {
            continue;
        }
        out.push(g);
        let g = u32::try_from(g).unwrap_or(u32::MAX);
        out.extend((0..axis.group_of.len()).filter(|&l| axis.group_of[l] == Some(g)));
    }
    out.extend((0..axis.group_of.len()).filter(|&l| axis.group_of[l].is_none()));
    out.extend(position(axis, Level::Total));
    out
}

fn holds_anything(pt: &ProtectedTable, combo: &[usize], spread_total: Option<usize>) -> bool {
    let Some(sp) = spread_total else {
        return true;
    };
    let mut positions = combo.to_vec();
    positions.push(sp);
    let cell = pt.table.index(&positions);
    pt.status[cell].is_suppressed() || pt.table.values.iter().any(|v| v[cell] != 0)
}

fn shown(pt: &ProtectedTable, t: &Table, m: usize, cell: usize) -> String {
    match pt.status[cell] {
        CellStatus::SuppressedPrimary => "×".into(),
        CellStatus::SuppressedSecondary => "⊗".into(),
        CellStatus::Published | CellStatus::LowNoisyCount => t.values[m][cell].to_string(),
    }
}

/// The measure as the county's report heads its column.
fn short_label(measure: &Measure) -> String {
    match measure {
        Measure::Persons => "人數".into(),
        Measure::PersonTimes => "人次".into(),
        other => other.label().zh,
    }
}
