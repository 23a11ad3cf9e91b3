//! One file of a release as the manifest lists it: name, checksum, size and type.

use std::path::Path;

use serde::Serialize;

use super::PublishError;

/// One published file.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
    /// `csv`, `parquet` or `json`.
    pub format: &'static str,
    /// IANA media type.
    pub media_type: &'static str,
    /// Character encoding of a text file (none for Parquet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// Whether a CSV file starts with a UTF-8 byte-order mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_order_mark: Option<bool>,
}

impl FileEntry {
    /// Hashes a written file.
    ///
    /// # Errors
    /// I/O errors.
    pub fn of(path: &Path, name: String) -> Result<Self, PublishError> {
        let sha256 = crate::ingest::sha256_file(path).map_err(|e| PublishError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let bytes = std::fs::metadata(path)
            .map_err(|e| PublishError::io(path, e))?
            .len();
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let (format, media_type, encoding) = match extension.as_str() {
            "csv" => ("csv", "text/csv", Some("utf-8")),
            "parquet" => ("parquet", "application/vnd.apache.parquet", None),
            "json" => ("json", "application/json", Some("utf-8")),
            "html" | "htm" => ("html", "text/html", Some("utf-8")),
            "md" => ("markdown", "text/markdown", Some("utf-8")),
            "txt" => ("text", "text/plain", Some("utf-8")),
            "xlsx" => (
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                None,
            ),
            _ => ("other", "application/octet-stream", None),
        };
        let byte_order_mark = (format == "csv")
            .then(|| {
                let mut head = [0u8; 3];
                let mut file = std::fs::File::open(path).map_err(|e| PublishError::io(path, e))?;
                let read = std::io::Read::read(&mut file, &mut head)
                    .map_err(|e| PublishError::io(path, e))?;
                Ok(read == 3 && head == *b"\xEF\xBB\xBF")
            })
            .transpose()?;
        Ok(Self {
            name,
            sha256,
            bytes,
            format,
            media_type,
            encoding,
            byte_order_mark,
        })
    }
}
