//! Stage 4, protect: tabulated tables → a status for every cell.
//!
//! # Privacy
//! Primary suppression by the threshold rule: a cell is suppressed when `0 < persons < k`, where
//! `persons` is the number of distinct persons behind the cell (computed from records by
//! [`crate::tabulate`]). Person-times are never below persons, so this one rule covers a persons
//! cell below `k`, a person-times cell below `k`, and a person-times, session or sum cell whose
//! few contacts come from fewer than `k` persons (two visits by one woman on Dongyin are one woman;
//! disclosure-control.md §5.1). Zeros are published (τ-ARGUS and sdcTable default).
//!
//! Primary suppression alone does not protect a table whose margins are published: the suppressed
//! cells can be recomputed from the totals (disclosure-control.md §0). Until secondary suppression
//! exists, every release says so in its manifest ([`Protected::warnings`]).

use serde::Serialize;

use crate::config::plan::Protection;
use crate::tabulate::Table;

/// Status of a published cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    Published,
    /// Below the threshold: value withheld.
    SuppressedPrimary,
}

impl CellStatus {
    /// The value of the `status` column.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::SuppressedPrimary => "suppressed_primary",
        }
    }

    /// Whether the value is withheld.
    #[must_use]
    pub fn is_suppressed(self) -> bool {
        self != Self::Published
    }
}

/// A table with the status of each cell (shared by all its measures).
#[derive(Debug, Clone)]
pub struct ProtectedTable {
    pub table: Table,
    pub status: Vec<CellStatus>,
}

/// All protected tables of a release.
#[derive(Debug, Clone)]
pub struct Protected {
    pub tables: Vec<ProtectedTable>,
    pub protection: Protection,
    /// What the protection does not guarantee, for the manifest.
    pub warnings: Vec<String>,
}

/// Applies the plan's protection to every table.
#[must_use]
pub fn apply(tables: Vec<Table>, protection: &Protection) -> Protected {
    let k = i64::from(protection.threshold.get());
    let tables: Vec<ProtectedTable> = tables
        .into_iter()
        .map(|table| {
            let status = table
                .persons
                .iter()
                .map(|&p| {
                    if p > 0 && p < k {
                        CellStatus::SuppressedPrimary
                    } else {
                        CellStatus::Published
                    }
                })
                .collect();
            ProtectedTable { table, status }
        })
        .collect();
    let any_margins = tables.iter().any(|t| {
        t.table.axes.iter().any(|a| {
            a.cells
                .iter()
                .any(|c| c.level != crate::tabulate::Level::Leaf)
        })
    });
    let any_suppressed = tables
        .iter()
        .any(|t| t.status.iter().any(|s| s.is_suppressed()));
    let mut warnings = Vec::new();
    if any_margins && any_suppressed {
        warnings.push(
            "primary suppression only: with margins published, suppressed cells can be \
             recomputed exactly from the totals; secondary suppression is not applied"
                .to_owned(),
        );
    }
    Protected {
        tables,
        protection: *protection,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::plan::Measure;

    #[test]
    fn cells_with_one_or_two_persons_are_suppressed_whatever_the_measure() {
        let table = Table {
            name: "t".into(),
            title: None,
            axes: Vec::new(),
            measures: vec![Measure::PersonTimes],
            values: vec![vec![0, 9, 2, 3]],
            persons: vec![0, 1, 2, 3],
            rows_in_scope: 14,
            period: None,
            share_of: None,
        };
        let protection = Protection {
            method: crate::config::raw::ProtectionMethod::Threshold,
            threshold: std::num::NonZeroU32::new(3).expect("non-zero"),
        };
        let p = apply(vec![table], &protection);
        assert_eq!(
            p.tables[0].status,
            [
                CellStatus::Published,
                CellStatus::SuppressedPrimary,
                CellStatus::SuppressedPrimary,
                CellStatus::Published
            ]
        );
    }
}
