//! `<release>.xlsx`: every table on a sheet of its own, then the data dictionary and the code
//! lists, for readers who open a release in Excel. Codes are text cells (leading zeros kept),
//! counts are numbers, a suppressed value is an empty cell, the period is a date cell.

use std::path::Path;

use polars::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use super::PublishError;

/// Rows one sheet holds, the header included.
const MAX_ROWS: usize = 1_048_576;

/// Longest sheet name Excel accepts.
const MAX_SHEET_NAME: usize = 31;

/// Writes the workbook: one sheet per `(name, frame)`, in order, synced to disk.
///
/// # Errors
/// [`PublishError::Frame`] when a frame has more rows than a sheet holds or a cell cannot be
/// written; I/O errors.
pub fn write(path: &Path, sheets: &[(&str, &DataFrame)]) -> Result<(), PublishError> {
    let file = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let fail = |message: String| PublishError::Frame {
        file: file.clone(),
        message,
    };
    let mut workbook = Workbook::new();
    let mut names: Vec<String> = Vec::new();
    for (name, df) in sheets {
        if df.height() >= MAX_ROWS {
            return Err(fail(format!(
                "`{name}` has {} rows, more than an Excel sheet holds: leave \"xlsx\" out of \
                 [publish] formats for this release (CSV and Parquet hold any size)",
                df.height()
            )));
        }
        let sheet_name = sheet_name(name, &names);
        names.push(sheet_name.clone());
        fill(workbook.add_worksheet(), &sheet_name, df)
            .map_err(|e| fail(format!("sheet `{sheet_name}`: {e}")))?;
    }
    let bytes = workbook.save_to_buffer().map_err(|e| fail(e.to_string()))?;
    super::atomic::write_synced(path, &bytes)
}

fn fill(
    sheet: &mut rust_xlsxwriter::Worksheet,
    name: &str,
    df: &DataFrame,
) -> Result<(), XlsxError> {
    sheet.set_name(name)?;
    let header = Format::new().set_bold();
    let day = Format::new().set_num_format("yyyy-mm-dd");
    for (c, column) in df.columns().iter().enumerate() {
        let c = u16::try_from(c).map_err(|_| XlsxError::ParameterError("columns".into()))?;
        sheet.write_string_with_format(0, c, column.name().as_str(), &header)?;
        let series = column.as_materialized_series();
        let at = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
        match series.dtype() {
            DataType::Int64 => {
                for (i, v) in series.i64().map_err(polars_error)?.iter().enumerate() {
                    if let Some(v) = v {
                        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^53")]
                        sheet.write_number(at(i), c, v as f64)?;
                    }
                }
            }
            DataType::Float64 => {
                for (i, v) in series.f64().map_err(polars_error)?.iter().enumerate() {
                    if let Some(v) = v {
                        sheet.write_number(at(i), c, v)?;
                    }
                }
            }
            DataType::Date => {
                let epoch = chrono::NaiveDate::default(); // 1970-01-01, Arrow's day zero
                for (i, v) in series
                    .date()
                    .map_err(polars_error)?
                    .physical()
                    .iter()
                    .enumerate()
                {
                    let Some(date) = v.and_then(|d| {
                        epoch.checked_add_signed(chrono::Duration::days(i64::from(d)))
                    }) else {
                        continue;
                    };
                    use chrono::Datelike as _;
                    let excel = ExcelDateTime::from_ymd(
                        u16::try_from(date.year()).unwrap_or(1900),
                        u8::try_from(date.month()).unwrap_or(1),
                        u8::try_from(date.day()).unwrap_or(1),
                    )?;
                    sheet.write_datetime_with_format(at(i), c, &excel, &day)?;
                }
            }
            _ => {
                let text = series.cast(&DataType::String).map_err(polars_error)?;
                for (i, v) in text.str().map_err(polars_error)?.iter().enumerate() {
                    if let Some(v) = v {
                        sheet.write_string(at(i), c, v)?;
                    }
                }
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    Ok(())
}

fn polars_error(e: PolarsError) -> XlsxError {
    XlsxError::ParameterError(crate::scrub::scrub(&e.to_string()))
}

/// A sheet name Excel accepts (at most 31 characters, none of `[]:*?/\`), unique in `taken`.
fn sheet_name(name: &str, taken: &[String]) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("~{n}")
        };
        let keep = MAX_SHEET_NAME - suffix.chars().count();
        let candidate: String = clean.chars().take(keep).chain(suffix.chars()).collect();
        if !taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate)) {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::sheet_name;

    #[test]
    fn sheet_names_are_short_clean_and_unique() {
        let long = "persons_by_district_gender_service_and_mode";
        let first = sheet_name(long, &[]);
        assert_eq!(first.chars().count(), 31);
        let second = sheet_name(long, std::slice::from_ref(&first));
        assert_eq!(second.chars().count(), 31);
        assert!(second.ends_with("~2"), "{second}");
        assert_eq!(sheet_name("a/b", &[]), "a_b");
    }
}
