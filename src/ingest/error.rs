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
    #[error("{}: line {line} is not UTF-8\n  hint: set encoding = \"auto\" (or \"big5\") for this source", file.display())]
    NotUtf8 { file: PathBuf, line: u64 },
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
        available: Vec<String>,
        suggestion: Option<String>,
    },
    #[error("{}: cannot read as {format}: {message}", file.display())]
    Unreadable {
        file: PathBuf,
        format: &'static str,
        /// The reader's message with identifier-shaped strings masked.
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
