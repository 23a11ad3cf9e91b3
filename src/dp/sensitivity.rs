//! How far one person can move a published table, from the contribution bounds.
//!
//! A table publishes every level combination of its axes (leaves, groups, totals). After bounding,
//! a person counts in at most `c` leaf cells with at most `r` records each, and on every axis
//! declared one code per person ([`Axis::persons_additive`] in a DP table) in one code only. Such an
//! axis therefore multiplies nothing: only the other axes (`S`) spread a person over cells, so a
//! person holds at most `c' = min(c, Π_S leaves)` leaf cells. Adding or removing the person then
//! changes, at each level combination `L` with `n_L` cells over `S` of which one holds at most
//! `m_L` leaves over `S`:
//! - persons: at most `min(c', n_L)` cells, each by exactly 1 (also where persons do not add up: a
//!   margin counts a person once);
//! - person-times: cells whose changes total at most `c'·r`, each by at most `r·min(c', m_L)`.
//!
//! Summed over the level combinations this gives the L1 sensitivity and the squared L2
//! sensitivity of the table's vector of cells, margins included. Nothing here reads a count.

use crate::config::plan::Measure;
use crate::tabulate::{Axis, Level, Table, level_combinations};

/// Sensitivities of one measure of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sensitivity {
    /// L1 distance between neighbouring tables (an integer: counts move by whole units).
    pub l1: i64,
    /// Squared L2 distance (an integer, so the square root is taken once, rounded up).
    pub l2_squared: i64,
}

impl Sensitivity {
    /// The L2 sensitivity, rounded up to the next float when the root is not exact.
    #[must_use]
    pub fn l2(&self) -> f64 {
        #[allow(
            clippy::cast_precision_loss,
            reason = "sensitivities are far below 2^52"
        )]
        let root = (self.l2_squared as f64).sqrt();
        #[allow(
            clippy::cast_possible_truncation,
            reason = "an exact root is a small integer"
        )]
        let exact = {
            let r = root as i64;
            r * r == self.l2_squared
        };
        if exact { root } else { root.next_up() }
    }
}

/// Cells at a level of an axis, and the most leaves under one of them.
fn level_size(axis: &Axis, level: Level) -> (i64, i64) {
    let leaves = axis.cells.iter().filter(|c| c.level == Level::Leaf).count();
    let count = |l: Level| axis.cells.iter().filter(|c| c.level == l).count();
    let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match level {
        Level::Leaf => (as_i64(leaves), 1),
        Level::Group => {
            let mut sizes = vec![0usize; axis.cells.len()];
            for g in axis.group_of.iter().flatten() {
                sizes[*g as usize] += 1;
            }
            (
                as_i64(count(Level::Group)),
                as_i64(sizes.into_iter().max().unwrap_or(0)),
            )
        }
        Level::Total => (1, as_i64(leaves)),
    }
}

/// The sensitivity of one measure of a table under per-person bounds `max_cells` × `max_records`.
#[must_use]
pub fn of(table: &Table, measure: &Measure, max_cells: u32, max_records: u32) -> Sensitivity {
    of_axes(&table.axes, measure, max_cells, max_records)
}

/// [`of`] from the axes alone.
#[must_use]
pub fn of_axes(axes: &[Axis], measure: &Measure, max_cells: u32, max_records: u32) -> Sensitivity {
    let r = i64::from(max_records);
    // An axis with one code per person spreads a person over one position at every level.
    let spread = |a: &Axis, l: Level| {
        if a.persons_additive {
            (1, 1)
        } else {
            level_size(a, l)
        }
    };
    let leaves = axes
        .iter()
        .map(|a| spread(a, Level::Leaf).0)
        .fold(1i64, i64::saturating_mul);
    let c = i64::from(max_cells).min(leaves);
    let mut out = Sensitivity {
        l1: 0,
        l2_squared: 0,
    };
    for levels in level_combinations(axes) {
        let (n, m) = axes
            .iter()
            .zip(&levels)
            .map(|(a, &l)| spread(a, l))
            .fold((1i64, 1i64), |(n, m), (an, am)| {
                (n.saturating_mul(an), m.saturating_mul(am))
            });
        match measure {
            Measure::Persons => {
                let cells = c.min(n);
                out.l1 += cells;
                out.l2_squared += cells;
            }
            _ => {
                out.l1 += c * r;
                // The largest sum of squares of cell changes totalling c·r, each at most k·r.
                let k = c.min(m).max(1);
                let full = c / k;
                let rest = c - full * k;
                out.l2_squared += full * (k * r).pow(2) + (rest * r).pow(2);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::Label;
    use crate::tabulate::AxisCell;

    fn axis(leaves: usize, groups: &[&[u32]], margins: bool) -> Axis {
        let label = || Label {
            zh: String::new(),
            en: String::new(),
        };
        let mut cells: Vec<AxisCell> = (0..leaves)
            .map(|i| AxisCell {
                code: format!("L{i}"),
                label: label(),
                level: Level::Leaf,
            })
            .collect();
        let mut group_of = vec![None; leaves];
        if margins {
            for (g, members) in groups.iter().enumerate() {
                let position = u32::try_from(cells.len()).expect("small");
                for &m in *members {
                    group_of[m as usize] = Some(position);
                }
                cells.push(AxisCell {
                    code: format!("G{g}"),
                    label: label(),
                    level: Level::Group,
                });
            }
            cells.push(AxisCell {
                code: "_T".into(),
                label: label(),
                level: Level::Total,
            });
        }
        Axis {
            domain: 0,
            name: "d".into(),
            cells,
            group_of,
            persons_additive: false,
        }
    }

    #[test]
    fn one_cell_one_record_moves_every_level_once() {
        // 9 districts × 2 genders with margins: 4 level combinations; one person, one cell.
        let axes = [axis(9, &[], true), axis(2, &[], true)];
        let s = of_axes(&axes, &Measure::Persons, 1, 1);
        assert_eq!(
            s,
            Sensitivity {
                l1: 4,
                l2_squared: 4
            }
        );
        let s = of_axes(&axes, &Measure::PersonTimes, 1, 1);
        assert_eq!(
            s,
            Sensitivity {
                l1: 4,
                l2_squared: 4
            }
        );
    }

    #[test]
    fn bounds_multiply_person_times_and_saturate_persons() {
        // 8 work areas with margins, a person in up to 3 areas with up to 5 records each.
        let axes = [axis(8, &[], true)];
        let persons = of_axes(&axes, &Measure::Persons, 3, 5);
        // leaves: 3 cells; total: 1 cell.
        assert_eq!(
            persons,
            Sensitivity {
                l1: 4,
                l2_squared: 4
            }
        );
        let times = of_axes(&axes, &Measure::PersonTimes, 3, 5);
        // leaves: 3 cells of 5 (L1 15, L2² 75); total: one cell of 15 (L1 15, L2² 225).
        assert_eq!(
            times,
            Sensitivity {
                l1: 30,
                l2_squared: 300
            }
        );
        assert!((times.l2() - 300f64.sqrt()).abs() < 1e-12 && times.l2() >= 300f64.sqrt());
    }

    #[test]
    fn groups_hold_at_most_their_size() {
        // 6 islands in groups of 2 and 4; a person in 3 islands, 1 record each.
        let axes = [axis(6, &[&[0, 1], &[2, 3, 4, 5]], true)];
        let times = of_axes(&axes, &Measure::PersonTimes, 3, 1);
        // leaves: 3 cells of 1 (9 → L2² 3); groups: k = min(3, 4) = 3, one cell of 3 (L2² 9);
        // total: one cell of 3 (L2² 9).
        assert_eq!(
            times,
            Sensitivity {
                l1: 9,
                l2_squared: 21
            }
        );
        let persons = of_axes(&axes, &Measure::Persons, 3, 1);
        assert_eq!(
            persons,
            Sensitivity {
                l1: 3 + 2 + 1,
                l2_squared: 6
            }
        );
    }

    #[test]
    fn one_code_per_person_axes_spread_nobody() {
        // Kaohsiung's headline table: 9 districts (one per person) × 2 genders (one per person)
        // × 8 work areas (several), totals on each, 3 cells × 4 records per person.
        let one = |mut a: Axis| {
            a.persons_additive = true;
            a
        };
        let several = [axis(9, &[], true), axis(2, &[], true), axis(8, &[], true)];
        let declared = [
            one(axis(9, &[], true)),
            one(axis(2, &[], true)),
            axis(8, &[], true),
        ];
        assert_eq!(of_axes(&several, &Measure::Persons, 3, 4).l1, 21);
        // Four level combinations with work areas at leaf (3 cells each), four at total (1).
        assert_eq!(of_axes(&declared, &Measure::Persons, 3, 4).l1, 4 * 3 + 4);
        // Person-times: 12 records per level combination either way; on declared axes a margin
        // over work areas takes all 12 at once.
        let times = of_axes(&declared, &Measure::PersonTimes, 3, 4);
        assert_eq!(times.l1, 8 * 12);
        assert_eq!(times.l2_squared, 4 * (3 * 16) + 4 * 144);
        // Every axis one per person: a person is one leaf cell, whatever max_cells says.
        let all_one = [one(axis(9, &[], true)), one(axis(2, &[], true))];
        assert_eq!(of_axes(&all_one, &Measure::Persons, 3, 4).l1, 4);
        assert_eq!(of_axes(&all_one, &Measure::PersonTimes, 3, 4).l1, 4 * 4);
    }

    #[test]
    fn exact_roots_are_not_rounded_up() {
        let s = Sensitivity {
            l1: 0,
            l2_squared: 16,
        };
        assert!((s.l2() - 4.0).abs() < f64::EPSILON);
    }
}
