//! Rows that cannot be used, each with where it is and why. Raw values are never kept here: the
//! report names the file, row and column so that the data owner can look the value up.

use serde::Serialize;

/// Why a row was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MissingValue,
    UnknownCode,
    DateUnrecognised,
    DateImpossible,
    DateOutOfRange,
    NotAWholeNumber,
    MissingPersonId,
    IdUnrecognised,
    IdCheckDigit,
    IdTypeNotAccepted,
    IdExcelDamaged,
    /// Every field the pipeline reads is blank: one entry for the row, under column `*`.
    EmptyRow,
}

impl Reason {
    const ALL: [Self; 12] = [
        Self::MissingValue,
        Self::UnknownCode,
        Self::DateUnrecognised,
        Self::DateImpossible,
        Self::DateOutOfRange,
        Self::NotAWholeNumber,
        Self::MissingPersonId,
        Self::IdUnrecognised,
        Self::IdCheckDigit,
        Self::IdTypeNotAccepted,
        Self::IdExcelDamaged,
        Self::EmptyRow,
    ];

    /// Compact code used inside data frames.
    #[must_use]
    pub fn code(self) -> u8 {
        Self::ALL
            .iter()
            .position(|&r| r == self)
            .and_then(|p| u8::try_from(p).ok())
            .expect("every reason is in ALL")
    }

    /// The reason behind a compact code.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// What was expected, for the report.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::MissingValue => "the cell is empty",
            Self::UnknownCode => {
                "not a code, label or alias of the field's domain, nor in the source's value map"
            }
            Self::DateUnrecognised => "not a date in any known form (ROC, AD or Excel serial)",
            Self::DateImpossible => "a date form, but no such day",
            Self::DateOutOfRange => "a date outside the allowed calendar or beyond next year",
            Self::NotAWholeNumber => "not a non-negative whole number",
            Self::MissingPersonId => {
                "no person identifier, so the row cannot be counted as a person"
            }
            Self::IdUnrecognised => "the identifier has no known format (TW ID/UI, HKID, PRC ID)",
            Self::IdCheckDigit => "the identifier's check digit is wrong",
            Self::IdTypeNotAccepted => "the identifier's type is not in the source's id_types",
            Self::IdExcelDamaged => "the identifier was turned into a number by a spreadsheet",
            Self::EmptyRow => {
                "every field read is blank (a blank line, or a row of separators as spreadsheets \
                 leave below the data); not counted against max_quarantined_share"
            }
        }
    }
}

/// One quarantined value of a row. A row with two bad values appears twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantinedRow {
    pub source: String,
    /// Spreadsheet row number for CSV (the header is row 1); 1-based record number for Parquet.
    pub row: u64,
    pub column: String,
    pub reason: Reason,
}

/// Every quarantined value of a release.
#[derive(Debug, Default, Clone)]
pub struct Quarantine {
    pub rows: Vec<QuarantinedRow>,
}

impl Quarantine {
    /// Distinct rows of one source that were quarantined.
    #[must_use]
    pub fn rows_of(&self, source: &str) -> u64 {
        let mut rows: Vec<u64> = self
            .rows
            .iter()
            .filter(|r| r.source == source)
            .map(|r| r.row)
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows.len() as u64
    }

    /// Rows of one source quarantined as empty ([`Reason::EmptyRow`]).
    #[must_use]
    pub fn empty_rows_of(&self, source: &str) -> u64 {
        self.rows
            .iter()
            .filter(|r| r.source == source && r.reason == Reason::EmptyRow)
            .count() as u64
    }

    /// Counts per (source, column, reason), with the first row of each, in a stable order.
    #[must_use]
    pub fn summary(&self) -> Vec<(String, String, Reason, u64, u64)> {
        let mut map: std::collections::BTreeMap<(String, String, Reason), (u64, u64)> =
            std::collections::BTreeMap::new();
        for r in &self.rows {
            let e = map
                .entry((r.source.clone(), r.column.clone(), r.reason))
                .or_insert((0, u64::MAX));
            e.0 += 1;
            e.1 = e.1.min(r.row);
        }
        map.into_iter()
            .map(|((s, c, r), (n, first))| (s, c, r, n, first))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(r));
        }
        assert_eq!(Reason::from_code(200), None);
    }
}
