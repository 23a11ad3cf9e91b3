//! Excel workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`): one sheet read by calamine into a
//! frame of text columns, every cell written as a CSV export of it would hold it, so that the rest
//! of ingest treats a workbook exactly like its CSV twin.
//!
//! A sheet has at most 1 048 576 rows, so it is read whole; only the mapped columns are kept.

use std::path::Path;

use calamine::{Data, Range, Reader, open_workbook_auto};
use polars::prelude::*;

use crate::config::plan::Sheet;
use crate::ingest::columns;
use crate::ingest::error::IngestError;

/// A sheet's columns as text, and the headers of the columns holding Excel dates.
pub struct SheetFrame {
    pub frame: DataFrame,
    /// Columns with at least one cell stored as an Excel date: written ISO (`YYYY-MM-DD`), so a
    /// date column declared ROC reads them as dates of any calendar.
    pub native_dates: Vec<String>,
    /// Every header of the sheet, read or not.
    pub headers: Vec<String>,
}

/// Reads the sheet's header and the columns `wanted` (by header) as text, with the spreadsheet
/// row number of each record in [`columns::ROW`].
///
/// # Errors
/// [`IngestError::Unreadable`] when the workbook cannot be opened or has no such sheet or header
/// row, [`IngestError::DuplicateColumn`] when two columns share a header.
pub fn read(
    path: &Path,
    sheet: &Sheet,
    header_row: u32,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<SheetFrame, IngestError> {
    let fail = |message: String| IngestError::Unreadable {
        file: path.to_path_buf(),
        format: "Excel",
        message,
    };
    let mut workbook = open_workbook_auto(path).map_err(|_| {
        fail("not an Excel or OpenDocument workbook, or a damaged or encrypted one".into())
    })?;
    let names = workbook.sheet_names();
    let name = match &sheet.name {
        Some(n) if names.contains(n) => n.clone(),
        Some(n) => {
            return Err(fail(format!(
                "has no sheet named `{n}`; its sheets are {}",
                names
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| fail("has no sheet".into()))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|_| fail(format!("sheet `{name}` cannot be read")))?;
    frame(&range, header_row, wanted).map_err(|e| match e {
        SheetError::NoHeader => fail(format!(
            "sheet `{name}` has no header at row {} (set header_row to the row of the column \
             names)",
            header_row
        )),
        SheetError::Duplicate(first, second) => IngestError::DuplicateColumn {
            file: path.to_path_buf(),
            first,
            second,
        },
        SheetError::Frame => fail(format!("sheet `{name}` cannot be converted")),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum SheetError {
    NoHeader,
    /// 1-based column numbers of two columns with one header.
    Duplicate(usize, usize),
    Frame,
}

fn frame(
    range: &Range<Data>,
    header_row: u32,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<SheetFrame, SheetError> {
    let (top, left) = range.start().ok_or(SheetError::NoHeader)?;
    let header_at = header_row.checked_sub(1).ok_or(SheetError::NoHeader)?;
    let skip = header_at.checked_sub(top).ok_or(SheetError::NoHeader)? as usize;
    let mut rows = range.rows().skip(skip);
    let header: Vec<String> = rows
        .next()
        .ok_or(SheetError::NoHeader)?
        .iter()
        .map(|c| text(c).unwrap_or_default().trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(SheetError::NoHeader);
    }
    // A repeated header is refused only where the pipeline reads it, as in a CSV export: sheets
    // often repeat a note or a blank-titled column at their right.
    for (second, name) in header.iter().enumerate() {
        if name.is_empty() || !wanted(name) {
            continue;
        }
        if let Some(first) = header[..second].iter().position(|h| h == name) {
            let column = |i: usize| i + 1 + left as usize;
            return Err(SheetError::Duplicate(column(first), column(second)));
        }
    }
    let keep: Vec<usize> = (0..header.len()).filter(|&i| wanted(&header[i])).collect();
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); keep.len()];
    let mut row_numbers: Vec<u32> = Vec::new();
    let mut dated = vec![false; keep.len()];
    // A row with nothing in it inside the data is kept, as a blank CSV line is (ingest quarantines
    // it once as an empty row); the empty rows below the last record are the sheet's formatting,
    // which a range may reach, and are no rows at all.
    let rows: Vec<&[Data]> = rows.collect();
    let records = rows
        .iter()
        .rposition(|row| !row.iter().all(|c| matches!(c, Data::Empty)))
        .map_or(0, |last| last + 1);
    for (i, row) in rows.into_iter().take(records).enumerate() {
        let number = u32::try_from(i)
            .ok()
            .and_then(|i| i.checked_add(header_row + 1))
            .ok_or(SheetError::Frame)?;
        row_numbers.push(number);
        for ((slot, dated), &c) in values.iter_mut().zip(&mut dated).zip(&keep) {
            let cell = row.get(c);
            *dated |= matches!(cell, Some(Data::DateTime(d)) if !d.is_duration());
            slot.push(cell.and_then(text));
        }
    }
    let mut out: Vec<Column> = vec![Column::new(columns::ROW.into(), row_numbers)];
    for (slot, &c) in values.into_iter().zip(&keep) {
        out.push(Column::new(header[c].as_str().into(), slot));
    }
    let native_dates = keep
        .iter()
        .zip(&dated)
        .filter(|(_, d)| **d)
        .map(|(&c, _)| header[c].clone())
        .collect();
    Ok(SheetFrame {
        frame: DataFrame::new_infer_height(out).map_err(|_| SheetError::Frame)?,
        native_dates,
        headers: header.into_iter().filter(|h| !h.is_empty()).collect(),
    })
}

/// A cell as a CSV export holds it: text as is, whole numbers without a decimal point, dates as
/// their ISO day (a service record's time of day is not counted), an empty or error cell as
/// missing.
fn text(cell: &Data) -> Option<String> {
    match cell {
        Data::Empty | Data::Error(_) => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(number(*f)),
        Data::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.into()),
        Data::DateTime(d) if d.is_duration() => Some(number(d.as_f64())),
        Data::DateTime(d) => {
            let (y, mo, day, ..) = d.to_ymd_hms_milli();
            Some(format!("{y:04}-{mo:02}-{day:02}"))
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
    }
}

/// A number as Excel shows it in General format: whole numbers without `.0`.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "checked whole and below 2^53"
        )]
        let whole = f as i64;
        whole.to_string()
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Range};

    use super::{SheetError, frame, number};

    fn sheet(rows: &[&[Data]]) -> Range<Data> {
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut range = Range::new((0, 0), (rows.len() as u32 - 1, width as u32 - 1));
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                range.set_value((r as u32, c as u32), cell.clone());
            }
        }
        range
    }

    #[test]
    fn cells_read_as_their_csv_export_and_rows_keep_their_sheet_numbers() {
        let s = |t: &str| Data::String(t.into());
        let range = sheet(&[
            &[s("報表"), Data::Empty, Data::Empty],
            &[s("證號"), s("性別"), s("人數")],
            &[s("A123456789"), s("女"), Data::Float(3.0)],
            &[Data::Empty, Data::Empty, Data::Empty],
            &[s("B223456789"), Data::Empty, Data::Float(2.5)],
            &[Data::Empty, Data::Empty, Data::Empty],
        ]);
        let sheet = frame(&range, 2, &|h| h != "性別").expect("frame");
        assert!(sheet.native_dates.is_empty());
        let df = sheet.frame;
        assert_eq!(df.get_column_names(), ["__row", "證號", "人數"]);
        let rows: Vec<u32> = df
            .column("__row")
            .and_then(|c| c.u32().cloned())
            .expect("rows")
            .into_no_null_iter()
            .collect();
        // The blank row inside the data stays (ingest quarantines it as empty); the one below
        // the last record is the sheet's end.
        assert_eq!(rows, [3, 4, 5]);
        let counts: Vec<Option<String>> = df
            .column("人數")
            .and_then(|c| c.str().cloned())
            .expect("text")
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect();
        assert_eq!(counts, [Some("3".to_owned()), None, Some("2.5".to_owned())]);
    }

    #[test]
    fn excel_dates_are_iso_days_and_mark_their_column() {
        let date = |serial: f64| {
            Data::DateTime(calamine::ExcelDateTime::new(
                serial,
                calamine::ExcelDateTimeType::DateTime,
                false,
            ))
        };
        // 45672 is 2025-01-15 in the 1900 date system; .5 is noon.
        let range = sheet(&[
            &[Data::String("日期".into())],
            &[date(45672.0)],
            &[date(45672.5)],
            &[Data::String("114/01/16".into())],
        ]);
        let sheet = frame(&range, 1, &|_| true).expect("frame");
        assert_eq!(sheet.native_dates, ["日期"]);
        let days: Vec<Option<&str>> = sheet
            .frame
            .column("日期")
            .and_then(|c| c.str())
            .expect("text")
            .iter()
            .collect();
        assert_eq!(
            days,
            [Some("2025-01-15"), Some("2025-01-15"), Some("114/01/16")]
        );
    }

    #[test]
    fn a_missing_header_or_a_repeated_one_that_is_read_is_refused() {
        let s = |t: &str| Data::String(t.into());
        let range = sheet(&[&[s("a"), s("b"), s("a")], &[s("1"), s("2"), s("3")]]);
        assert_eq!(
            frame(&range, 1, &|_| true).err(),
            Some(SheetError::Duplicate(1, 3))
        );
        // Unread, the repeated column is no matter.
        let frame_b = frame(&range, 1, &|h| h == "b").expect("reads column b");
        let names: Vec<&str> = frame_b
            .frame
            .get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(names, [crate::ingest::columns::ROW, "b"]);
        assert_eq!(
            frame(&range, 9, &|_| true).err(),
            Some(SheetError::NoHeader)
        );
        assert_eq!(
            frame(&range, 0, &|_| true).err(),
            Some(SheetError::NoHeader)
        );
    }

    #[test]
    fn whole_numbers_lose_their_decimal_point() {
        assert_eq!(number(64000010.0), "64000010");
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(-0.0), "0");
    }
}
