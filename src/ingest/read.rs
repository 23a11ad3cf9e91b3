//! One source, read in one streaming pass over a lazy scan of only the mapped columns, each column
//! collected as a categorical of its own (a 4-byte code per row, one dictionary of its distinct raw
//! values); then each dictionary is parsed into values or quarantine reasons, and every row takes
//! its column's parsed value by its code (a gather).
//!
//! So parsing, code lookup and date conversion run once per distinct value, no string column is
//! ever held whole, and no loop touches rows.

pub(crate) mod excel;
mod open;

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::codes::{CodeLookup, Coded};
use super::encoding;
use super::error::IngestError;
use super::quarantine::{QuarantinedRow, Reason};
use super::roc_date::{DateProblem, parse_date};
use super::{IngestedSource, SourceReport, columns};
use crate::config::Limits;
use crate::config::plan::{Domain, Period, Source};
use crate::config::raw::SourceFormat;
use open::{duplicate_headers, regular_file, scan, unreadable};

/// One mapped column: its header in the file, and the field it becomes.
struct Mapped<'a> {
    header: String,
    raw: String,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Person,
    /// The cross-walk identifier: a blank is no cross-walk, not a reason to quarantine.
    Crosswalk,
    Date(crate::config::raw::DateFormat),
    Coded(&'a Domain, &'a crate::config::plan::CodedColumn),
    Text(&'a str),
    Integer(&'a str),
    /// A date-typed field: a blank is unknown (null), not a reason to quarantine the row.
    Day(&'a str),
}

impl Mapped<'_> {
    fn field(&self) -> &str {
        match &self.kind {
            Kind::Person => columns::ID_REF,
            Kind::Crosswalk => columns::CROSSWALK_REF,
            Kind::Date(_) => columns::DATE,
            Kind::Coded(d, _) => &d.name,
            Kind::Text(f) | Kind::Integer(f) | Kind::Day(f) => f,
        }
    }

    fn why(&self) -> String {
        format!("{}__why", self.raw)
    }
}

/// Reads one source into compact typed columns and its quarantined rows.
///
/// # Errors
/// [`IngestError`] when the file cannot be read or lacks a mapped column.
pub fn read_source(
    source: &Source,
    domains: &[Domain],
    scope: Option<Period>,
    limits: &Limits,
    today: NaiveDate,
) -> Result<(IngestedSource, Vec<QuarantinedRow>), IngestError> {
    let file = source.path.as_path();
    regular_file(file)?;
    // The file's hash on one core while the other checks its shape and encoding.
    let (sha256, prepared) = std::thread::scope(|scope| {
        let hash = scope.spawn(|| super::sha256_file(file));
        let prepared = match source.format {
            SourceFormat::Csv => {
                encoding::prepare(file, source.encoding, limits, source.header_row).map(Some)
            }
            SourceFormat::Parquet | SourceFormat::Excel => Ok(None),
        };
        let sha256 = hash
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (sha256, prepared)
    });
    let (sha256, prepared) = (sha256?, prepared?);
    let detected = prepared.as_ref().map(|p| p.encoding);
    let read_path = prepared.as_ref().map_or(file, |p| p.path.as_path());
    let mut native_dates = Vec::new();
    // A sheet's direct identifiers are not read at all, so its headers come with it.
    let mut sheet_headers = None;
    let mut lf = match &source.sheet {
        // Direct identifiers are not even read out of the sheet.
        Some(sheet) if source.format == SourceFormat::Excel => {
            let read = excel::read(file, sheet, source.header_row, &|h| {
                !source.direct_identifiers.iter().any(|d| d == h)
            })?;
            native_dates = read.native_dates;
            sheet_headers = Some(read.headers);
            read.frame.lazy()
        }
        _ => scan(source.format, read_path, source.header_row)
            .map_err(|e| unreadable(file, source.format, &e))?,
    };
    let schema = lf
        .collect_schema()
        .map_err(|e| unreadable(file, source.format, &e))?;
    let available: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let read_as_big5 = detected == Some(encoding::DetectedEncoding::Big5);
    let mut mapped = mapped_columns(source, domains, &available, read_as_big5)?;
    duplicate_headers(
        file,
        &available,
        &mapped.iter().map(|m| m.header.as_str()).collect::<Vec<_>>(),
    )?;
    let polars_err = |e: PolarsError| unreadable(file, source.format, &e);

    // Each mapped column as text under its working name. A native date or timestamp column
    // (Parquet from pandas, R or a database) is read as its calendar day, written ISO.
    let renamed: Vec<Expr> = mapped
        .iter_mut()
        .map(|m| {
            let c = col(m.header.as_str());
            if matches!(m.kind, Kind::Date(_)) && native_dates.contains(&m.header) {
                m.kind = Kind::Date(crate::config::raw::DateFormat::Auto);
            }
            let native = match (&m.kind, schema.get(m.header.as_str())) {
                (Kind::Date(_) | Kind::Day(_), Some(DataType::Date)) => Some(c.clone()),
                (Kind::Date(_) | Kind::Day(_), Some(DataType::Datetime(_, _))) => {
                    Some(c.clone().dt().date())
                }
                _ => None,
            };
            let expr = match native {
                Some(day) => {
                    if matches!(m.kind, Kind::Date(_)) {
                        m.kind = Kind::Date(crate::config::raw::DateFormat::Ad);
                    }
                    day.dt().strftime("%Y-%m-%d")
                }
                None => c.cast(DataType::String),
            };
            expr.alias(m.raw.as_str())
        })
        .collect();

    // One streaming pass: every mapped column as a categorical of its own, so each row keeps a
    // 4-byte code and each column one dictionary of its distinct raw values.
    let mut codes = lf
        .select(
            std::iter::once(col(columns::ROW))
                .chain(renamed.into_iter().map(|e| {
                    let cats = Categories::random("privstat".into(), CategoricalPhysical::U32);
                    e.cast(DataType::from_categories(cats))
                }))
                .collect::<Vec<_>>(),
        )
        .collect_with_engine(Engine::Streaming)
        .map_err(polars_err)?
        .unwrap_single();
    let rows_read = codes.height() as u64;

    // Each column's dictionary is parsed once; rows take their parsed value by their code. A
    // column's codes are dropped once taken, and a note (ambiguous dates, codes mapped to `other`)
    // is counted without being kept, so the rows are held about once at a time.
    let mut person_ids = Vec::new();
    let mut crosswalk_ids = Vec::new();
    let mut notes = Vec::new();
    let mut note_counts: HashMap<String, u64> = HashMap::new();
    let mut keep: Vec<Column> = vec![codes.drop_in_place(columns::ROW).map_err(polars_err)?];
    // The positions of the rows whose mapped fields are all blank so far: such a row is
    // quarantined once, as empty, not once per column. The first column is looked at in full,
    // the others only at the rows still blank.
    let mut empty: Option<IdxCa> = None;
    for m in &mapped {
        let column = codes.drop_in_place(m.raw.as_str()).map_err(polars_err)?;
        let cat = column.cat32().map_err(polars_err)?;
        let mapping = cat.get_mapping();
        let values: Vec<String> = (0..mapping.num_cats_upper_bound())
            .map(|i| {
                u32::try_from(i)
                    .ok()
                    .and_then(|i| mapping.cat_to_str(i))
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        // A missing value takes an extra last entry of the dictionary.
        let missing = u32::try_from(values.len()).unwrap_or(u32::MAX);
        let ids = cat
            .physical()
            .fill_null_with_values(missing)
            .map_err(polars_err)?;
        // The dictionary is copied out and the codes taken: the categorical goes before parsing.
        drop(column);
        if matches!(m.kind, Kind::Crosswalk) {
            crosswalk_ids.clone_from(&values);
        }
        // Per dictionary entry, then the extra last entry of a missing value: blank or not.
        let blank_values: BooleanChunked = values
            .iter()
            .map(|v| super::text::is_blank(v))
            .chain(std::iter::once(true))
            .collect();
        let map = value_map(m, values, today, &mut person_ids, &mut notes).map_err(polars_err)?;
        // A missing value takes the extra last entry: its reason, and no value. A missing
        // identifier of a source that counts walk-ins is a blank identifier instead, which
        // pseudonymisation keeps as a row without a person.
        let walk_in = matches!(m.kind, Kind::Person) && source.walk_ins;
        if walk_in {
            person_ids.push(String::new());
        }
        let blank = u32::try_from(person_ids.len().saturating_sub(1)).unwrap_or(u32::MAX);
        // A value that shows nothing (a quoted `""`, white space, invisible characters) is the
        // empty cell it looks like: missing, with the same reason and walk-in standing.
        let ids = if blank_values
            .iter()
            .take(map.height())
            .any(|b| b == Some(true))
        {
            let to: Vec<u32> = blank_values
                .iter()
                .zip(0..=missing)
                .map(|(b, i)| if b == Some(true) { missing } else { i })
                .collect();
            let to = UInt32Chunked::from_vec(PlSmallStr::EMPTY, to);
            to.take(&ids).map_err(polars_err)?
        } else {
            ids
        };
        empty = Some(match empty {
            None => {
                let height = IdxSize::try_from(ids.len()).unwrap_or(IdxSize::MAX);
                let positions = IdxCa::from_vec(PlSmallStr::EMPTY, (0..height).collect());
                positions
                    .filter(&blank_values.take(&ids).map_err(polars_err)?)
                    .map_err(polars_err)?
            }
            Some(rows) => {
                let codes = ids.take(&rows).map_err(polars_err)?;
                rows.filter(&blank_values.take(&codes).map_err(polars_err)?)
                    .map_err(polars_err)?
            }
        });
        for c in map.columns() {
            let last = if c.name().as_str() == m.why() {
                if walk_in || matches!(m.kind, Kind::Day(_) | Kind::Crosswalk) {
                    AnyValue::Null
                } else {
                    AnyValue::UInt32(u32::from(Reason::MissingValue.code()))
                }
            } else if walk_in && c.name().as_str() == m.field() {
                AnyValue::UInt32(blank)
            } else {
                AnyValue::Null
            };
            let c = c
                .as_materialized_series()
                .extend_constant(last, 1)
                .map_err(polars_err)?;
            let taken = c.take(&ids).map_err(polars_err)?;
            if notes.iter().any(|n| n.as_str() == taken.name().as_str()) {
                let count = taken.sum::<u64>().map_err(polars_err)?;
                note_counts.insert(taken.name().to_string(), count);
            } else {
                keep.push(taken.into_column());
            }
        }
    }
    drop(codes);
    // Their spreadsheet rows, ascending.
    let empty_rows: Vec<u64> = match &empty {
        Some(positions) => keep[0]
            .take(positions)
            .and_then(|rows| rows.cast(&DataType::UInt64))
            .map_err(polars_err)?
            .u64()
            .map_err(polars_err)?
            .into_no_null_iter()
            .collect(),
        None => Vec::new(),
    };
    drop(empty);
    let df = DataFrame::new_infer_height(keep).map_err(polars_err)?;

    let any_bad = mapped
        .iter()
        .fold(lit(false), |acc, m| acc.or(col(m.why()).is_not_null()));
    let bad_mask = df
        .clone()
        .lazy()
        .select([any_bad.alias("__bad")])
        .collect()
        .map_err(polars_err)?
        .column("__bad")
        .and_then(Column::bool)
        .map_err(polars_err)?
        .clone();
    let bad = df
        .select(std::iter::once(columns::ROW.to_owned()).chain(mapped.iter().map(Mapped::why)))
        .and_then(|b| b.filter(&bad_mask))
        .map_err(polars_err)?;
    // The usable rows, one column at a time, each dropped from `df` once filtered.
    let good_mask = !&bad_mask;
    let mut df = df;
    let mut good = std::iter::once(columns::ROW)
        .chain(mapped.iter().map(Mapped::field))
        .map(|name| {
            df.drop_in_place(name)
                .and_then(|c| c.filter(&good_mask))
                .map_err(polars_err)
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|columns| DataFrame::new_infer_height(columns).map_err(polars_err))?;
    drop(df);
    // Rows dated outside every period the source's tables count are not used, and are counted.
    let mut rows_out_of_period = 0;
    if let Some(p) = scope.filter(|_| source.date.is_some()) {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let day = |d: NaiveDate| lit(i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX));
        let date = col(columns::DATE).cast(DataType::Int32);
        let before = good.height();
        good = good
            .lazy()
            .filter(date.clone().gt_eq(day(p.start)).and(date.lt_eq(day(p.end))))
            .collect()
            .map_err(polars_err)?;
        rows_out_of_period = (before - good.height()) as u64;
    }

    let quarantined = quarantined_rows(source, &mapped, &bad, &empty_rows).map_err(polars_err)?;
    let mapped_to_other = mapped
        .iter()
        .filter_map(|m| match m.kind {
            Kind::Coded(d, _) => note_counts
                .get(&format!("{}__other", m.raw))
                .filter(|&&n| n > 0)
                .map(|&n| (d.name.clone(), n)),
            _ => None,
        })
        .collect();
    // The declared direct identifiers the file has (by header, as columns are found): the manifest
    // says those were dropped; the others are reported, since a misspelt name drops nothing.
    let headers = sheet_headers.as_ref().unwrap_or(&available);
    let declared_present: Vec<String> = source
        .direct_identifiers
        .iter()
        .filter(|d| {
            headers
                .iter()
                .any(|h| h == *d || header_key(h) == header_key(d))
        })
        .cloned()
        .collect();
    let report = SourceReport {
        name: source.name.clone(),
        file: file.to_path_buf(),
        sha256,
        encoding: detected,
        person_column: mapped[0].header.clone(),
        rows_read,
        rows_used: 0,
        rows_quarantined: 0,
        rows_empty: 0,
        rows_out_of_period,
        undecodable_bytes: prepared.as_ref().map_or(0, |p| p.undecodable),
        private_use_characters: prepared.as_ref().map_or(0, |p| p.private_use),
        dates_ambiguous: note_counts.get("__date_raw__amb").copied().unwrap_or(0),
        mapped_to_other,
        columns_read: mapped.iter().map(|m| m.header.clone()).collect(),
        columns_not_read: available
            .iter()
            .filter(|a| a.as_str() != columns::ROW && !mapped.iter().any(|m| &m.header == *a))
            .count(),
        direct_identifiers_dropped: declared_present.clone(),
        direct_identifiers_absent: source
            .direct_identifiers
            .iter()
            .filter(|d| !declared_present.contains(d))
            .cloned()
            .collect(),
        ids: super::IdCounts::default(),
    };
    Ok((
        IngestedSource {
            frame: good,
            person_ids,
            crosswalk_ids,
            report,
        },
        quarantined,
    ))
}

/// Finds each configured header among the file's, tolerating a byte-order mark, surrounding white
/// space and full-width forms.
fn mapped_columns<'a>(
    source: &'a Source,
    domains: &'a [Domain],
    available: &[String],
    read_as_big5: bool,
) -> Result<Vec<Mapped<'a>>, IngestError> {
    let lookup = |wanted: &str| {
        available
            .iter()
            .find(|a| a.as_str() == wanted)
            .or_else(|| {
                available
                    .iter()
                    .find(|a| header_key(a) == header_key(wanted))
            })
            .cloned()
    };
    // Without a single configured column, the first row is data, not a header: it is never shown.
    let wanted: Vec<&str> = std::iter::once(source.person_column.as_str())
        .chain(source.crosswalk.iter().map(String::as_str))
        .chain(source.date.iter().map(|d| d.column.as_str()))
        .chain(source.coded.iter().map(|c| c.column.as_str()))
        .chain(source.text.iter().map(|c| c.column.as_str()))
        .chain(source.integer.iter().map(|c| c.column.as_str()))
        .chain(source.dates.iter().map(|c| c.column.as_str()))
        .collect();
    if wanted.iter().all(|w| lookup(w).is_none()) {
        let fields: Vec<&String> = available
            .iter()
            .filter(|a| a.as_str() != columns::ROW)
            .collect();
        // One field holding another separator: say which, by count only (the row may be data).
        let separator = match fields.as_slice() {
            [only] => [("tab", '\t'), ("semicolon", ';'), ("pipe", '|')]
                .into_iter()
                .map(|(name, c)| (name, only.matches(c).count()))
                .find(|&(_, n)| n > 0),
            _ => None,
        };
        return Err(IngestError::NoHeader {
            file: source.path.clone(),
            source_name: source.name.clone(),
            header_row: source.header_row,
            wanted: wanted.len(),
            fields: fields.len(),
            separator,
            read_as_big5,
        });
    }
    let find = |wanted: &str| -> Result<String, IngestError> {
        lookup(wanted).ok_or_else(|| IngestError::MissingColumn {
            file: source.path.clone(),
            source_name: source.name.clone(),
            column: wanted.to_owned(),
            available: available
                .iter()
                .filter(|a| a.as_str() != columns::ROW)
                .cloned()
                .collect(),
            suggestion: crate::config::did_you_mean(wanted, available.iter()),
        })
    };
    let mut mapped = vec![Mapped {
        header: find(&source.person_column)?,
        raw: "__id_raw".into(),
        kind: Kind::Person,
    }];
    if let Some(c) = &source.crosswalk {
        mapped.push(Mapped {
            header: find(c)?,
            raw: "__xid_raw".into(),
            kind: Kind::Crosswalk,
        });
    }
    if let Some(d) = &source.date {
        mapped.push(Mapped {
            header: find(&d.column)?,
            raw: "__date_raw".into(),
            kind: Kind::Date(d.format),
        });
    }
    for (i, c) in source.coded.iter().enumerate() {
        mapped.push(Mapped {
            header: find(&c.column)?,
            raw: format!("__c{i}_raw"),
            kind: Kind::Coded(&domains[c.domain], c),
        });
    }
    for (i, t) in source.text.iter().enumerate() {
        mapped.push(Mapped {
            header: find(&t.column)?,
            raw: format!("__t{i}_raw"),
            kind: Kind::Text(&t.field),
        });
    }
    for (i, t) in source.integer.iter().enumerate() {
        mapped.push(Mapped {
            header: find(&t.column)?,
            raw: format!("__n{i}_raw"),
            kind: Kind::Integer(&t.field),
        });
    }
    for (i, t) in source.dates.iter().enumerate() {
        mapped.push(Mapped {
            header: find(&t.column)?,
            raw: format!("__d{i}_raw"),
            kind: Kind::Day(&t.field),
        });
    }
    Ok(mapped)
}

/// A header as a configured column name is matched against it when not written exactly: folded
/// like a code lookup, without a byte-order mark.
fn header_key(header: &str) -> String {
    super::text::lookup_key(header.trim_start_matches('\u{FEFF}'))
}

/// The quarantine reason of a date that cannot be read.
fn date_reason(problem: DateProblem) -> Reason {
    match problem {
        DateProblem::Unrecognised => Reason::DateUnrecognised,
        DateProblem::Impossible => Reason::DateImpossible,
        DateProblem::OutOfRange => Reason::DateOutOfRange,
    }
}

/// The map from each distinct raw value of one column to its parsed value or quarantine reason.
fn value_map(
    m: &Mapped<'_>,
    values: Vec<String>,
    today: NaiveDate,
    person_ids: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> PolarsResult<DataFrame> {
    let reason = |r: Reason| Some(u32::from(r.code()));
    let (parsed, why): (Series, Vec<Option<u32>>) = match &m.kind {
        Kind::Date(format) => {
            let mut days = Vec::with_capacity(values.len());
            let mut why = Vec::with_capacity(values.len());
            let mut ambiguous = Vec::with_capacity(values.len());
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            for v in &values {
                match parse_date(v, *format, today) {
                    Ok(p) => {
                        days.push(i32::try_from((p.date - epoch).num_days()).ok());
                        why.push(None);
                        ambiguous.push(u32::from(p.ambiguous));
                    }
                    Err(problem) => {
                        days.push(None);
                        why.push(reason(date_reason(problem)));
                        ambiguous.push(0);
                    }
                }
            }
            let note = format!("{}__amb", m.raw);
            notes.push(note.clone());
            let parsed = Series::new(m.field().into(), days).cast(&DataType::Date)?;
            return DataFrame::new_infer_height(vec![
                parsed.into(),
                Series::new(m.why().into(), why).into(),
                Series::new(note.into(), ambiguous).into(),
            ]);
        }
        Kind::Day(_) => {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            let (days, why): (Vec<Option<i32>>, Vec<Option<u32>>) = values
                .iter()
                .map(|v| {
                    if v.trim().is_empty() {
                        return (None, None);
                    }
                    match parse_date(v, crate::config::raw::DateFormat::Auto, today) {
                        Ok(p) => (i32::try_from((p.date - epoch).num_days()).ok(), None),
                        Err(problem) => (None, reason(date_reason(problem))),
                    }
                })
                .unzip();
            (
                Series::new(m.field().into(), days).cast(&DataType::Date)?,
                why,
            )
        }
        Kind::Coded(domain, column) => {
            let lookup = CodeLookup::new(column, domain);
            let mut codes = Vec::with_capacity(values.len());
            let mut why = Vec::with_capacity(values.len());
            let mut other = Vec::with_capacity(values.len());
            for v in &values {
                let (code, w, o) = match lookup.get(v) {
                    Coded::Known(i) => (Some(i), None, 0u32),
                    Coded::Other(i) => (Some(i), None, 1),
                    Coded::Unknown => (None, reason(Reason::UnknownCode), 0),
                };
                codes.push(code);
                why.push(w);
                other.push(o);
            }
            if domain.other.is_some() {
                let note = format!("{}__other", m.raw);
                notes.push(note.clone());
                return DataFrame::new_infer_height(vec![
                    Series::new(m.field().into(), codes).into(),
                    Series::new(m.why().into(), why).into(),
                    Series::new(note.into(), other).into(),
                ]);
            }
            (Series::new(m.field().into(), codes), why)
        }
        // Identifiers become the index of their distinct value (pseudonymisation folds them).
        Kind::Person | Kind::Crosswalk => {
            let index: Vec<Option<u32>> =
                (0..values.len()).map(|i| u32::try_from(i).ok()).collect();
            let why: Vec<Option<u32>> = vec![None; values.len()];
            (Series::new(m.field().into(), index), why)
        }
        // A text field is only counted (distinct sessions), never published: values that differ
        // only as exports write them (`="S01"`, `Ｓ０１`, ` S01`, an invisible character) share the
        // index of the first, and one that shows nothing is missing.
        Kind::Text(_) => {
            let mut first: HashMap<String, u32> = HashMap::with_capacity(values.len());
            let (index, why): (Vec<Option<u32>>, Vec<Option<u32>>) = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let key = super::text::normalise_number(v);
                    if key.is_empty() {
                        return (None, reason(Reason::MissingValue));
                    }
                    let i = u32::try_from(i).unwrap_or(u32::MAX);
                    (Some(*first.entry(key).or_insert(i)), None)
                })
                .unzip();
            (Series::new(m.field().into(), index), why)
        }
        Kind::Integer(_) => {
            let parsed: Vec<Option<i64>> = values
                .iter()
                .map(|v| {
                    let s = super::text::normalise_number(v);
                    (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| s.parse().ok())
                        .flatten()
                })
                .collect();
            let why = parsed
                .iter()
                .map(|p| {
                    if p.is_some() {
                        None
                    } else {
                        reason(Reason::NotAWholeNumber)
                    }
                })
                .collect();
            (Series::new(m.field().into(), parsed), why)
        }
    };
    let frame =
        DataFrame::new_infer_height(vec![parsed.into(), Series::new(m.why().into(), why).into()])?;
    if matches!(m.kind, Kind::Person) {
        *person_ids = values;
    }
    Ok(frame)
}

fn quarantined_rows(
    source: &Source,
    mapped: &[Mapped<'_>],
    bad: &DataFrame,
    empty_rows: &[u64],
) -> PolarsResult<Vec<QuarantinedRow>> {
    let rows = bad.column(columns::ROW)?.cast(&DataType::UInt64)?;
    let rows = rows.u64()?;
    let is_empty = |row: u64| empty_rows.binary_search(&row).is_ok();
    let mut out: Vec<QuarantinedRow> = rows
        .into_no_null_iter()
        .filter(|&row| is_empty(row))
        .map(|row| QuarantinedRow {
            source: source.name.clone(),
            row,
            column: "*".to_owned(),
            reason: Reason::EmptyRow,
        })
        .collect();
    for m in mapped {
        let why = bad.column(m.why().as_str())?.u32()?.clone();
        for (row, code) in rows.iter().zip(why.iter()) {
            if row.is_some_and(is_empty) {
                continue;
            }
            let reason = code
                .and_then(|c| u8::try_from(c).ok())
                .and_then(Reason::from_code);
            if let (Some(row), Some(reason)) = (row, reason) {
                out.push(QuarantinedRow {
                    source: source.name.clone(),
                    row,
                    column: m.header.clone(),
                    reason: if matches!(m.kind, Kind::Person) && reason == Reason::MissingValue {
                        Reason::MissingPersonId
                    } else {
                        reason
                    },
                });
            }
        }
    }
    out.sort_by_key(|r| r.row);
    Ok(out)
}
