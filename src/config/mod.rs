//! The pipeline file: [`raw`] mirrors the TOML, [`plan`] checks it into a [`Plan`] that later stages
//! trust. `privstat check` runs this layer and the ingest counts, and writes nothing.

pub mod error;
pub mod plan;
pub mod raw;
mod suggest;

use std::path::Path;

use sha2::{Digest, Sha256};

pub use error::{ConfigError, Problem};
pub use plan::{Limits, Overrides, Plan};
pub use suggest::did_you_mean;

/// Reads, parses and checks a pipeline file.
///
/// # Errors
/// [`ConfigError`] when the file cannot be read, is not a pipeline file, or its values do not fit.
pub fn load(file: &Path, overrides: &Overrides) -> Result<Plan, ConfigError> {
    let bytes = std::fs::read(file).map_err(|source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    from_bytes(&bytes, file, overrides)
}

/// Parses and checks the bytes of a pipeline file read from `file` (paths in it are relative to
/// `file`'s directory).
///
/// # Errors
/// [`ConfigError`] when the bytes are not a pipeline file or its values do not fit.
pub fn from_bytes(bytes: &[u8], file: &Path, overrides: &Overrides) -> Result<Plan, ConfigError> {
    let sha = hex(&Sha256::digest(bytes));
    let text = std::str::from_utf8(bytes).map_err(|_| ConfigError::Syntax {
        file: file.to_path_buf(),
        message: "the pipeline file is not UTF-8".into(),
    })?;
    let raw: raw::RawPipeline = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        file: file.to_path_buf(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    Plan::from_raw(raw, file, sha, overrides)
}

/// Lower-case hex of bytes.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
