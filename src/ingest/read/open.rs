//! Opening a source: a regular file, scanned lazily with a row index, whose reader errors are
//! described by their kind and whose repeated headers are refused.

use std::path::Path;

use polars::prelude::*;

use crate::config::raw::SourceFormat;
use crate::ingest::columns;
use crate::ingest::error::IngestError;

/// A lazy scan of `path` with the row index [`columns::ROW`]: a CSV record's spreadsheet row
/// (its header at `header_row`, records above it skipped), a Parquet record's number.
pub(super) fn scan(format: SourceFormat, path: &Path, header_row: u32) -> PolarsResult<LazyFrame> {
    let pl_path = PlRefPath::try_from_path(path)?;
    match format {
        SourceFormat::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_skip_rows(header_row.saturating_sub(1) as usize)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
            .with_row_index(Some(RowIndex {
                name: columns::ROW.into(),
                offset: header_row.saturating_add(1),
            }))
            .finish(),
        SourceFormat::Excel => Err(PolarsError::InvalidOperation(
            "a workbook is read by read::excel, not scanned".into(),
        )),
        SourceFormat::Parquet => LazyFrame::scan_parquet(
            pl_path,
            ScanArgsParquet {
                row_index: Some(RowIndex {
                    name: columns::ROW.into(),
                    offset: 1,
                }),
                ..ScanArgsParquet::default()
            },
        ),
    }
}

/// A reader's error, described by its kind only: CSV and Parquet readers quote the records they
/// fail on, and those hold names and identifiers, so their text never reaches a message.
pub(super) fn unreadable(file: &Path, format: SourceFormat, e: &PolarsError) -> IngestError {
    let text = e.to_string().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    let message = match format {
        SourceFormat::Csv if has(&["more fields", "fields than"]) => {
            "a row has more fields than the header (an unquoted comma or a stray quote)"
        }
        SourceFormat::Csv if has(&["quote"]) => "a quoted field is not closed",
        SourceFormat::Csv if has(&["utf-8", "utf8"]) => "the text is not valid UTF-8",
        SourceFormat::Csv if has(&["empty"]) => "the file has no header row",
        SourceFormat::Parquet if has(&["magic", "footer", "eof", "out of spec", "thrift"]) => {
            "not a Parquet file, or a damaged or truncated one"
        }
        _ if has(&["cast", "conversion", "could not parse", "schema"]) => {
            "a column's values do not fit its type"
        }
        _ if has(&["no such file"]) => "the file does not exist",
        _ if has(&["permission"]) => "permission denied",
        _ => "the reader stopped on the file's contents",
    };
    IngestError::Unreadable {
        file: file.to_path_buf(),
        format: format.name(),
        message: message.to_owned(),
    }
}

/// A source must be a regular file: a device, pipe or directory would hang or mislead the reader.
pub(super) fn regular_file(file: &Path) -> Result<(), IngestError> {
    let meta = std::fs::metadata(file).map_err(|e| IngestError::io(file, e))?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let kind = if kind.is_dir() {
        "a directory"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt as _;
            if kind.is_fifo() {
                "a named pipe"
            } else if kind.is_char_device() || kind.is_block_device() {
                "a device"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "not a file"
            }
        }
        #[cfg(not(unix))]
        {
            "not a file"
        }
    };
    Err(IngestError::NotAFile {
        file: file.to_path_buf(),
        kind,
    })
}

/// The CSV reader renames a repeated header `X` to `X_duplicated_N`; a repeated header of a column
/// the pipeline reads is an error, named by column positions (the names may be data when the file
/// has no header row). Repeats among columns never read, such as the blank headers of the empty
/// columns a spreadsheet leaves at the right, are no one's concern.
pub(super) fn duplicate_headers(
    file: &Path,
    available: &[String],
    read: &[&str],
) -> Result<(), IngestError> {
    for (second, name) in available.iter().enumerate() {
        let Some((base, n)) = name.rsplit_once("_duplicated_") else {
            continue;
        };
        if !read.contains(&base) {
            continue;
        }
        if n.parse::<u32>().is_err() {
            continue;
        }
        if let Some(first) = available.iter().position(|a| a == base) {
            // Column numbers are 1-based and skip the row index privstat adds in front.
            return Err(IngestError::DuplicateColumn {
                file: file.to_path_buf(),
                first: first.max(1),
                second: second.max(1),
            });
        }
    }
    Ok(())
}
