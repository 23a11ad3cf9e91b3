//! Stage 1, ingest: raw exports (CSV in UTF-8, UTF-8 with BOM or Big5; Parquet) → compact typed
//! columns per source, plus a quarantine of the rows that cannot be used.
//!
//! Invariant: no row leaves ingest untyped, and none is dropped without a reason; per source,
//! `rows_read = rows kept + rows quarantined`. Only the mapped columns are ever read, so direct
//! identifiers (names, phones, addresses) never enter the process. The person column leaves as an
//! index into the list of its distinct raw values, which only [`crate::pseudonymise`] reads.

pub mod codes;
pub mod encoding;
pub mod error;
pub mod quarantine;
mod read;
pub mod roc_date;
pub use crate::text;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::DataFrame;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use error::IngestError;
pub use quarantine::{Quarantine, QuarantinedRow, Reason};

use crate::config::Plan;
use encoding::DetectedEncoding;

/// Names of the internal columns of an ingested frame. Fields keep their own names.
pub mod columns {
    /// Row number in the source file (`UInt32`).
    pub const ROW: &str = "__row";
    /// Index into [`super::IngestedSource::person_ids`] (`UInt32`).
    pub const ID_REF: &str = "__id";
    /// Service date (`Date`).
    pub const DATE: &str = "__date";
    /// Person index after pseudonymisation (`UInt32`).
    pub const PERSON: &str = "__person";
    /// Index into [`super::IngestedSource::crosswalk_ids`] (`UInt32`, null when blank).
    pub const CROSSWALK_REF: &str = "__xid";
}

/// Everything ingest produced.
#[derive(Debug)]
pub struct Ingested {
    /// In the order of [`Plan::sources`].
    pub sources: Vec<IngestedSource>,
    pub quarantine: Quarantine,
}

/// One source's usable rows.
#[derive(Debug)]
pub struct IngestedSource {
    /// Columns: `__row`, `__id`, `__date` (when the source has a date), one `UInt32` column per
    /// coded field (leaf index in its domain) and text field (index of the distinct value), one
    /// `Int64` column per integer field.
    pub frame: DataFrame,
    /// Distinct raw person identifiers; `__id` indexes this. Emptied by pseudonymisation.
    pub person_ids: Vec<String>,
    /// Distinct raw values of the cross-walk column, when the source has one; `__xid` indexes it.
    pub crosswalk_ids: Vec<String>,
    pub report: SourceReport,
}

/// Counts for the manifest and for `privstat check`.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub file: PathBuf,
    pub sha256: String,
    /// `None` for Parquet.
    pub encoding: Option<DetectedEncoding>,
    /// Header of the person identifier column.
    pub person_column: String,
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_quarantined: u64,
    /// Of the quarantined rows, those whose every field read is blank: not counted against
    /// `[limits] max_quarantined_share`.
    pub rows_empty: u64,
    /// Usable rows dated outside every period the source's tables count.
    pub rows_out_of_period: u64,
    pub undecodable_bytes: u64,
    pub private_use_characters: u64,
    /// Rows whose date was a six-digit form, read as ROC `YYMMDD`.
    pub dates_ambiguous: u64,
    /// Rows whose value was unknown and mapped to the domain's `other` code, per domain.
    pub mapped_to_other: BTreeMap<String, u64>,
    pub columns_read: Vec<String>,
    /// Columns present in the file but never read.
    pub columns_not_read: usize,
    pub direct_identifiers_dropped: Vec<String>,
    /// Declared direct identifiers that are no column of the file (a misspelt name?). Only
    /// mapped columns are ever read, so nothing is read either way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub direct_identifiers_absent: Vec<String>,
    /// Identifier checks, filled in by pseudonymisation.
    pub ids: IdCounts,
}

/// Distinct identifiers by outcome of validation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdCounts {
    pub distinct_values: u64,
    pub distinct_persons: u64,
    pub tw_national: u64,
    pub tw_ui_legacy: u64,
    pub tw_ui_2021: u64,
    pub hkid: u64,
    pub prc_id: u64,
    pub invalid_check_digit: u64,
    pub unrecognised: u64,
    pub type_not_accepted: u64,
    pub excel_damaged: u64,
    /// Invalid identifiers kept because `invalid_ids = "keep"`.
    pub kept_invalid: u64,
    /// Rows without an identifier counted as walk-ins (`person.walk_ins = true`).
    pub walk_in_rows: u64,
    /// Rows counted as the person of their cross-walk identifier (`person.crosswalk`).
    #[serde(skip_serializing_if = "is_zero")]
    pub crosswalk_rows: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Reads every source of the plan.
///
/// # Errors
/// [`IngestError`] when a file cannot be read or lacks a mapped column.
pub fn read(plan: &Plan, today: NaiveDate) -> Result<Ingested, IngestError> {
    let mut sources = Vec::with_capacity(plan.sources.len());
    let mut quarantine = Quarantine::default();
    encoding::sweep_stale();
    for (i, source) in plan.sources.iter().enumerate() {
        let (ingested, rows) =
            read::read_source(source, &plan.domains, scope(plan, i), &plan.limits, today)?;
        quarantine.rows.extend(rows);
        sources.push(ingested);
    }
    Ok(Ingested {
        sources,
        quarantine,
    })
}

/// The days a source's rows can count in: from the earliest start to the latest end of the periods
/// of the tables that read it (a table without a period takes the release's). `None` when some
/// table counts every date.
fn scope(plan: &Plan, source: usize) -> Option<crate::config::plan::Period> {
    let mut span: Option<crate::config::plan::Period> = None;
    let periods = plan
        .tables
        .iter()
        .filter(|t| t.source == source)
        .map(|t| t.period)
        .chain(
            plan.microdata
                .iter()
                .filter(|m| m.source == source)
                .map(|m| m.period),
        );
    for period in periods {
        let p = period.or(plan.release.period)?;
        span = Some(match span {
            None => p,
            Some(s) => crate::config::plan::Period {
                start: s.start.min(p.start),
                end: s.end.max(p.end),
            },
        });
    }
    span
}

/// SHA-256 of a file, hex, streamed.
///
/// # Errors
/// [`IngestError::Io`] when the file cannot be read.
pub fn sha256_file(path: &Path) -> Result<String, IngestError> {
    let mut file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| IngestError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::config::hex(&hasher.finalize()))
}
