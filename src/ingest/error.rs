//! Errors that stop ingest. A bad *row* is not one of them: it goes to the quarantine.

use std::path::{Path, PathBuf};

/// A source that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: line {line} is not UTF-8 ({bad} bad byte sequence(s) in the file, {valid} characters \
         decode as UTF-8)\n  hint: {}",
        file.display(),
        if valid > &(8 * bad) {
            "the file is UTF-8 with damaged bytes (a cut or corrupted character); repair those \
             bytes, or set encoding = \"big5\" if it really is Big5"
        } else {
            "set encoding = \"auto\" (or \"big5\") for this source"
        }
    )]
    NotUtf8 {
        file: PathBuf,
        line: u64,
        bad: u64,
        valid: u64,
    },
    #[error("{}: line {line}: {problem}", file.display())]
    Malformed {
        file: PathBuf,
        line: u64,
        problem: String,
    },
    #[error(
        "{}: is not a regular file ({kind})\n  hint: a source must be a file on disk, not a \
         device, pipe or directory",
        file.display()
    )]
    NotAFile { file: PathBuf, kind: &'static str },
    #[error(
        "{}: columns {first} and {second} have the same header\n  hint: rename one in the export; \
         privstat will not guess which one is meant",
        file.display()
    )]
    DuplicateColumn {
        file: PathBuf,
        first: usize,
        second: usize,
    },
    #[error(
        "{}: source `{source_name}`: none of its {wanted} configured columns is in {} ({fields} \
         fields), so that row does not look like a header\n  hint: {}{}",
        file.display(),
        if *header_row == 1 { "the file's first row".to_owned() } else { format!("row {header_row}") },
        match separator {
            Some((name, count)) => format!(
                "the first row has no comma but {count} {name}(s): the file looks \
                 {name}-separated{}; export it as CSV, comma-separated",
                match *name {
                    "tab" => " (as Excel's \"Unicode Text\" is)",
                    "semicolon" => " (as Excel writes CSV where the comma is the decimal mark)",
                    _ => "",
                }
            ),
            None if *header_row == 1 => "the file must start with a header row naming its \
                columns, or set header_row to the row that names them when a title or an export \
                date comes first (the row is never shown, as it may be data)"
                .to_owned(),
            None => "set header_row to the row that names the columns (the row is never shown, \
                     as it may be data)"
                .to_owned(),
        },
        if *read_as_big5 {
            "\n  hint: the file is not UTF-8 and was read as Big5; an export in Simplified Chinese \
             is GBK or GB18030: set encoding = \"gb18030\" for this source, or save it as UTF-8"
        } else {
            ""
        }
    )]
    NoHeader {
        file: PathBuf,
        source_name: String,
        /// The row where the header was looked for (1-based).
        header_row: u32,
        wanted: usize,
        fields: usize,
        /// When the first row is one field holding another separator: its name and count.
        separator: Option<(&'static str, usize)>,
        /// Whether the file, not UTF-8, was read as Big5 (as a GBK export would be).
        read_as_big5: bool,
    },
    #[error(
        "{}: source `{source_name}`: {quarantined} of {read} rows ({:.1} %) are quarantined{}, \
         more than the limit of {:.1} %\n  top reasons: {}\n  hint: fix the export or the \
         mapping (see `privstat check`); to publish anyway, raise [limits] max_quarantined_share \
         or pass --allow-quarantined-share",
        file.display(),
        100.0 * *quarantined as f64 / (*read).max(1) as f64,
        if *empty > 0 { format!(" (besides {empty} empty rows)") } else { String::new() },
        100.0 * limit,
        reasons.join("; ")
    )]
    TooManyQuarantined {
        file: PathBuf,
        source_name: String,
        /// Rows read and quarantined, both without the empty rows.
        read: u64,
        quarantined: u64,
        empty: u64,
        limit: f64,
        /// "column: reason (count, first row N)".
        reasons: Vec<String>,
    },
    #[error(
        "{}: source `{source_name}` has no usable row: {read} rows read, {quarantined} quarantined, \
         {out_of_period} out of the tables' periods\n  hint: {}",
        file.display(),
        if *read == *empty {
            "the file has a header but no data (blank rows at most)"
        } else if *out_of_period >= *quarantined {
            "check that the export covers the release's period"
        } else {
            "run `privstat check` to see why rows are quarantined"
        }
    )]
    NoUsableRows {
        file: PathBuf,
        source_name: String,
        read: u64,
        quarantined: u64,
        /// Of the quarantined rows, those with every field read blank.
        empty: u64,
        out_of_period: u64,
    },
    #[error(
        "{}: table `{table}` has no usable row of source `{source_name}` dated {start} to {end}, \
         so it would publish only zeros\n  hint: check the table's period (or the release's) \
         against the dates the export covers (`privstat check` counts the source's rows out of \
         every table's period)",
        file.display()
    )]
    EmptyTable {
        file: PathBuf,
        table: String,
        source_name: String,
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    },
    #[error(
        "{}: source `{source_name}` has no column `{column}`{}\n  hint: the file's columns are: {}",
        file.display(),
        suggestion.as_deref().map(|s| format!(" ({s})")).unwrap_or_default(),
        available.join(", ")
    )]
    MissingColumn {
        file: PathBuf,
        source_name: String,
        column: String,
        /// Only from a real header: at least one configured column was found in it.
        available: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("{}: cannot read as {format}: {message}", file.display())]
    Unreadable {
        file: PathBuf,
        format: &'static str,
        /// What kind of problem, never the reader's own text (which quotes data).
        message: String,
    },
}

impl IngestError {
    pub(crate) fn io(file: &Path, source: std::io::Error) -> Self {
        Self::Io {
            file: file.to_path_buf(),
            source,
        }
    }
}
