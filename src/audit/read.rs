//! Reading a release as anyone can: the manifest's public fields and the published files, every
//! value as text.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Deserialize;

/// The fields of `manifest.json` the audit relies on.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub release: String,
    pub protection: Protection,
    pub tables: Vec<Table>,
    #[serde(default)]
    pub microdata: Vec<Microdata>,
    pub files: Vec<File>,
}

/// A record-level output as the manifest declares it.
#[derive(Debug, Deserialize)]
pub struct Microdata {
    pub name: String,
    pub pseudonym: PseudonymColumn,
    pub quasi_identifiers: Vec<String>,
    pub sensitive: Option<String>,
    pub k: u32,
    pub l: Option<u32>,
    pub records: u64,
    pub persons: u64,
    pub fields: Vec<MicrodataField>,
    pub files: Vec<File>,
}

#[derive(Debug, Deserialize)]
pub struct PseudonymColumn {
    pub column: String,
}

#[derive(Debug, Deserialize)]
pub struct MicrodataField {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct Protection {
    #[serde(default)]
    pub method: crate::config::raw::ProtectionMethod,
    pub threshold: u32,
    pub protection_level: u32,
    /// The p% rule for sums, when a table publishes one.
    #[serde(default)]
    pub p_percent: Option<u32>,
    /// The (n,k)-dominance rule for sums, when asked for and a table publishes one.
    #[serde(default)]
    pub nk_dominance: Option<crate::config::plan::Dominance>,
    pub zeros: crate::config::raw::Zeros,
    #[serde(default)]
    pub summary: Summary,
}

#[derive(Debug, Default, Deserialize)]
pub struct Summary {
    #[serde(default)]
    pub published_by_request: usize,
}

#[derive(Debug, Deserialize)]
pub struct Table {
    pub name: String,
    pub population: String,
    pub dimensions: Vec<Dimension>,
    pub measures: Vec<String>,
    pub files: Vec<File>,
}

#[derive(Debug, Deserialize)]
pub struct Dimension {
    pub name: String,
    pub domain: String,
    pub additive_measures: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct File {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// The data dictionary's columns, as `publish` writes them and the audit and report read them.
pub const DICTIONARY_COLUMNS: [&str; 6] = [
    "table",
    "column",
    "type",
    "label_zh",
    "label_en",
    "description",
];

/// The name of a table's summary layout (`layout = "report"`), as `publish` writes it and the
/// report reads it: its CSV file without `.csv`, its workbook sheet, its table in the dictionary.
#[must_use]
pub fn layout_name(table: &str) -> String {
    format!("{table}-report")
}

/// The code lists' columns, as `publish` writes them.
pub const CODELIST_COLUMNS: [&str; 6] = [
    "dimension",
    "code",
    "label_zh",
    "label_en",
    "level",
    "parent",
];

/// A published file as rows of optional text, with its column names: for the small files of a
/// release (tables, dictionary, code lists).
pub struct TextFrame {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl TextFrame {
    /// Reads a CSV (every column as text, a byte-order mark tolerated) or Parquet file.
    ///
    /// # Errors
    /// The reader's message when the file cannot be read.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = TextColumns::read(path)?;
        let rows = (0..text.height)
            .map(|i| {
                text.columns
                    .iter()
                    .map(|ca| ca.get(i).map(str::to_owned))
                    .collect()
            })
            .collect();
        Ok(Self {
            columns: text.names,
            rows,
        })
    }

    /// Index of a column by name.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// A published file as columns of text, each value read in place: for files as long as a register
/// (record-level outputs), where a text per value would cost ten times the file.
pub struct TextColumns {
    pub names: Vec<String>,
    pub columns: Vec<StringChunked>,
    pub height: usize,
}

impl TextColumns {
    /// Reads a CSV (every column as text, a byte-order mark tolerated) or Parquet file.
    ///
    /// # Errors
    /// The reader's message when the file cannot be read.
    pub fn read(path: &Path) -> Result<Self, String> {
        let is_parquet = path.extension().is_some_and(|e| e == "parquet");
        let frame = if is_parquet {
            let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
            ParquetReader::new(file).finish()
        } else {
            let mut bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            if bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes.drain(..3);
            }
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .into_reader_with_file_handle(std::io::Cursor::new(bytes))
                .finish()
        }
        .map_err(|e| crate::scrub::scrub(&e.to_string()))?;
        let names = frame
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let columns = frame
            .columns()
            .iter()
            .map(|c| {
                let s = c
                    .as_materialized_series()
                    .cast(&DataType::String)
                    .map_err(|e| crate::scrub::scrub(&e.to_string()))?;
                s.str()
                    .map(|ca| ca.rechunk().into_owned())
                    .map_err(|e| crate::scrub::scrub(&e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            names,
            columns,
            height: frame.height(),
        })
    }

    /// Index of a column by name.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|c| c == name)
    }
}

/// One code of a code list.
#[derive(Debug, Clone)]
pub struct Code {
    pub code: String,
    pub level: String,
    pub parent: Option<String>,
}

/// `codelists.csv`: per dimension, its codes in order.
///
/// # Errors
/// A message when a column is missing.
pub fn codelists(frame: &TextFrame) -> Result<BTreeMap<String, Vec<Code>>, String> {
    let col = |name: &str| {
        frame
            .column(name)
            .ok_or_else(|| format!("codelists.csv has no column `{name}`"))
    };
    let (dim, code, level, parent) = (
        col("dimension")?,
        col("code")?,
        col("level")?,
        col("parent")?,
    );
    let mut out: BTreeMap<String, Vec<Code>> = BTreeMap::new();
    for row in &frame.rows {
        let text = |i: usize| row[i].clone().unwrap_or_default();
        out.entry(text(dim)).or_default().push(Code {
            code: text(code),
            level: text(level),
            parent: row[parent].clone().filter(|p| !p.is_empty()),
        });
    }
    Ok(out)
}
