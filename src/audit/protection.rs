//! The protection checks of an audit: no published person count under the threshold, and the
//! attacker's interval of every withheld number wide enough.

use super::*;
use crate::attacker::rules::MeasureKind;

pub(super) fn check_threshold(
    manifest: &Manifest,
    shapes: &[Shape],
    grids: &[Grid],
    report: &mut Report,
) {
    let k = i64::from(manifest.protection.threshold);
    let zeros_sensitive = manifest.protection.zeros == Zeros::Sensitive;
    let mut below = 0usize;
    let mut first: Option<String> = None;
    for (shape, grid) in shapes.iter().zip(grids) {
        let Some(m) = shape
            .measures
            .iter()
            .position(|x| MeasureKind::of(x) == Some(MeasureKind::Persons))
        else {
            continue;
        };
        for cell in grid[m].iter().flatten() {
            if let (CellStatus::Published, Some(v)) = *cell
                && rules::is_primary(v, k, zeros_sensitive)
            {
                below += 1;
                first.get_or_insert_with(|| shape.name.clone());
            }
        }
    }
    if below == 0 {
        return;
    }
    let file = first.map(|t| format!("{t} (and others)"));
    let requested = manifest.protection.summary.published_by_request;
    if below <= requested {
        report.add(
            Severity::Warning,
            Check::Threshold,
            file.as_deref(),
            None,
            format!(
                "{below} published person counts are below the threshold {k}; the manifest says \
                 the data owner asked for {requested} (always_publish)"
            ),
        );
    } else {
        report.fail(
            Check::Threshold,
            file.as_deref(),
            None,
            format!("{below} published person counts are below the threshold {k}"),
        );
    }
}

pub(super) fn check_intervals(
    manifest: &Manifest,
    shapes: Vec<Shape>,
    grids: &[Grid],
    exact: bool,
    report: &mut Report,
) {
    if shapes.is_empty() {
        return;
    }
    let system = System::new(shapes);
    report.cells = system.atoms();
    let mut published: Vec<Option<i64>> = vec![None; system.vars()];
    let mut primary = vec![false; system.vars()];
    let mut seen: Vec<Option<(CellStatus, Option<i64>)>> = vec![None; system.vars()];
    let mut conflicts = BTreeSet::new();
    for (t, grid) in grids.iter().enumerate() {
        for (m, cells) in grid.iter().enumerate() {
            for (cell, entry) in cells.iter().enumerate() {
                let Some((status, value)) = *entry else {
                    continue;
                };
                let v = system.var_of[t][m][cell] as usize;
                if let Some((s0, v0)) = seen[v]
                    && (s0 != status || v0 != value)
                {
                    conflicts.insert(system.shapes[t].name.clone());
                }
                seen[v] = Some((status, value));
                if value.is_some() {
                    published[v] = value;
                }
                primary[v] |= status == CellStatus::SuppressedPrimary;
            }
        }
    }
    for table in conflicts {
        report.fail(
            Check::Structure,
            Some(&table),
            None,
            "a cell it shares with another table of the release has another value or status there"
                .into(),
        );
    }
    let level = i64::from(manifest.protection.protection_level);
    let need = |v: usize| rules::need(primary[v], &system.var_measure[v], level);
    let needs: Vec<i64> = (0..system.vars()).map(need).collect();
    let intervals = match lp::intervals(
        &system,
        &published,
        Solver::Microlp,
        None,
        (!exact).then_some(needs.as_slice()),
    ) {
        Ok(i) => i,
        Err(e) => {
            report.fail(Check::Protection, None, None, e.to_string());
            return;
        }
    };
    // A suppressed number the computation gave no interval for is unproven, never passed.
    let mut bounded = vec![false; system.vars()];
    for i in &intervals {
        bounded[i.var as usize] = true;
    }
    let unproven = (0..system.vars())
        .filter(|&v| published[v].is_none() && !bounded[v])
        .count();
    report.unproven = unproven;
    if unproven > 0 {
        report.fail(
            Check::Protection,
            None,
            None,
            format!(
                "{unproven} suppressed numbers have no interval: the attacker's LP proved nothing \
                 about them, so the audit cannot say they are protected"
            ),
        );
    }
    report.suppressed_numbers = intervals.len() + unproven;
    let mut listed = 0usize;
    for i in intervals {
        let v = i.var as usize;
        let need = needs[v];
        let width = int_width(i.lower, i.upper);
        if i.method == lp::Method::Witnesses {
            report.inner_intervals += 1;
        }
        let ok = width >= need;
        let atom = system.var_atom[v] as usize;
        let (t, cell) = system.atom_cells[atom][0];
        let shape = &system.shapes[t as usize];
        let codes: BTreeMap<String, String> = shape
            .axes
            .iter()
            .zip(shape.positions(cell as usize))
            .map(|(a, p)| (a.domain.clone(), a.codes[p as usize].clone()))
            .collect();
        let status = seen[v].map_or(CellStatus::SuppressedSecondary, |(s, _)| s);
        if primary[v] {
            report.primary_numbers += 1;
            if rules::is_count(&system.var_measure[v]) {
                report.min_primary_width =
                    Some(report.min_primary_width.map_or(width, |w| w.min(width)));
            }
        }
        if width == i64::MIN {
            report.unproven += 1;
        } else if width < 1 {
            report.exactly_recoverable += 1;
        }
        if !ok {
            report.under_protected += 1;
            listed += 1;
            if listed <= LISTED_PER_CHECK {
                let cell_text: Vec<String> =
                    codes.iter().map(|(d, c)| format!("{d}={c}")).collect();
                report.fail(
                    Check::Protection,
                    Some(&shape.name),
                    None,
                    format!(
                        "{} of {} ({}): {}, needs {} integers beyond its lowest",
                        system.var_measure[v],
                        cell_text.join(", "),
                        status.as_str(),
                        if width == i64::MIN {
                            "no proven interval (the attacker's LP failed)".to_owned()
                        } else if width < 1 {
                            "exactly recoverable".to_owned()
                        } else {
                            format!("interval holds only {width}")
                        },
                        need
                    ),
                );
            }
        }
        report.intervals.push(CellInterval {
            table: shape.name.clone(),
            cell: codes,
            measure: system.var_measure[v].clone(),
            status,
            lower: i.lower,
            upper: i.upper.is_finite().then_some(i.upper),
            width: (width != i64::MAX).then_some(width),
            need,
            ok,
            method: i.method,
        });
    }
    if listed > LISTED_PER_CHECK {
        report.fail(
            Check::Protection,
            None,
            None,
            format!(
                "… and {} more under-protected numbers (all in the JSON report)",
                listed - LISTED_PER_CHECK
            ),
        );
    }
}
