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
    let raw = raw_pipeline(text).map_err(|message| ConfigError::Syntax {
        file: file.to_path_buf(),
        message,
    })?;
    Plan::from_raw(raw, file, sha, overrides)
}

/// Deserialises a pipeline file, reporting every unknown key at once, each with the nearest known
/// key, rather than one per run: an unknown `key = value` line is read again as the key it most
/// likely means (or blanked when none is near; line numbers kept). Any other error ends the
/// search, and is reported only when no unknown key was (it may follow from a guess). An unknown
/// table header ends it too: the keys under it would land in the table before and be misreported.
fn raw_pipeline(text: &str) -> Result<raw::RawPipeline, String> {
    let mut text = text.to_owned();
    let mut messages: Vec<String> = Vec::new();
    // Each round removes one line, so the file's line count bounds the rounds.
    for _ in 0..=text.lines().count() {
        let e = match toml::from_str::<raw::RawPipeline>(&text) {
            Ok(raw) if messages.is_empty() => return Ok(raw),
            Ok(_) => break,
            Err(e) => e,
        };
        let mut message = e.to_string().trim_end().to_owned();
        let Some((name, expected)) = unknown_field(e.message()) else {
            if messages.is_empty() {
                messages.push(message);
            }
            break;
        };
        let nearest = suggest::nearest(&name, &expected);
        if let Some(near) = &nearest {
            message.push_str(&format!("\n  hint: did you mean `{near}`?"));
        }
        messages.push(message);
        let Some(span) = e.span() else { break };
        let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
        let end = text[span.start..]
            .find('\n')
            .map_or(text.len(), |i| span.start + i);
        let line = &text[start..end];
        if line.trim_start().starts_with('[') || toml::from_str::<toml::Table>(line).is_err() {
            break;
        }
        let replacement = match &nearest {
            Some(near) if span.end <= end => {
                format!("{}{near}{}", &text[start..span.start], &text[span.end..end])
            }
            _ => String::new(),
        };
        text.replace_range(start..end, &replacement);
    }
    Err(messages.join("\n"))
}

/// The name and the expected names of serde's "unknown field `x`, expected one of `a`, `b`".
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((name.to_owned(), expected))
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

#[cfg(test)]
mod tests {
    use super::raw_pipeline;

    #[test]
    fn every_unknown_key_is_reported_at_once_with_the_nearest_name() {
        let seed = include_str!("../../pipelines/keelung-services.toml");
        let misspelt = seed
            .replacen("title = {", "titel = {", 1)
            .replacen("direct_identifiers = [", "direct_identifers = [", 1)
            .replacen("dir = \"../out\"", "dri = \"../out\"", 1);
        let message = raw_pipeline(&misspelt).expect_err("refused");
        for (wrong, right) in [
            ("titel", "title"),
            ("direct_identifers", "direct_identifiers"),
            ("dri", "dir"),
        ] {
            assert!(
                message.contains(&format!("unknown field `{wrong}`"))
                    && message.contains(&format!("did you mean `{right}`?")),
                "{wrong}: {message}"
            );
        }
        // Line numbers are those of the file as written.
        let line = seed
            .lines()
            .position(|l| l.starts_with("dir = "))
            .expect("a dir line")
            + 1;
        assert!(message.contains(&format!("line {line}")), "{message}");
        assert!(raw_pipeline(seed).is_ok());
    }

    #[test]
    fn an_unknown_table_stops_the_search_instead_of_misreporting_its_keys() {
        let seed = include_str!("../../pipelines/keelung-services.toml");
        let misspelt = seed.replacen("[sources.contacts.columns]", "[sources.contacts.colums]", 1);
        let message = raw_pipeline(&misspelt).expect_err("refused");
        assert_eq!(message.matches("unknown field").count(), 1, "{message}");
        assert!(message.contains("did you mean `columns`?"), "{message}");
    }
}
