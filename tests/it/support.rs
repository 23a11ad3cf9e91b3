//! Running the binary and reading what it wrote.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `privstat` with arguments from the project root.
pub fn privstat<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_privstat"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the privstat binary runs")
}

/// Runs `pipeline` (a path from the project root) publishing into `out`, charging `ledger` when
/// given, asserts that it succeeded, and returns the release directory it wrote.
pub fn publish(
    pipeline: &str,
    out: &Path,
    ledger: Option<&Path>,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let mut args: Vec<std::ffi::OsString> =
        vec!["run".into(), pipeline.into(), "--out".into(), out.into()];
    if let Some(ledger) = ledger {
        args.extend(["--ledger".into(), ledger.into()]);
    }
    let run = privstat(args);
    assert!(run.status.success(), "{pipeline}: {}", stderr(&run));
    Ok(std::fs::read_dir(out)?
        .filter_map(Result::ok)
        .find(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .ok_or("no release")?
        .path())
}

/// The text of seed pipeline `pipelines/{name}.toml` as it reads from another directory: fixture
/// paths made absolute, and `[publish] dir` relative to the copy (`out`), for tests that edit a
/// copy in a temporary directory.
pub fn seed_pipeline_text(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    let fixtures = root().join("fixtures");
    Ok(
        std::fs::read_to_string(root().join("pipelines").join(format!("{name}.toml")))?
            .replace("\"../fixtures", &format!("\"{}", fixtures.display()))
            .replace("dir = \"../out\"", "dir = \"out\""),
    )
}

/// The process status of an exit code of `privstat::error` (`EXIT_OK`, `EXIT_DATA`, `EXIT_USAGE`).
pub fn exit(code: u8) -> Option<i32> {
    Some(i32::from(code))
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Column index by header, and rows of text.
pub type Csv = (HashMap<String, usize>, Vec<Vec<String>>);

/// Reads a published CSV (with or without a BOM), every column as text, empty for null.
pub fn read_csv(path: &Path) -> Result<Csv, Box<dyn std::error::Error>> {
    use polars::prelude::*;
    let df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))?
        .finish()?;
    let header = df
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name().trim_start_matches('\u{FEFF}').to_owned(), i))
        .collect();
    let columns: Vec<Vec<String>> = df
        .columns()
        .iter()
        .map(|c| {
            c.str()
                .map(|s| s.iter().map(|v| v.unwrap_or("").to_owned()).collect())
                .unwrap_or_default()
        })
        .collect();
    let rows = (0..df.height())
        .map(|r| columns.iter().map(|c| c[r].clone()).collect())
        .collect();
    Ok((header, rows))
}

/// Every file under `out` as text, Parquet read back (a damaged one as its bytes); nothing when
/// `out` does not exist.
pub fn texts_under(out: &Path, texts: &mut Vec<String>) -> TestResult {
    if !out.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        if path.is_dir() {
            texts_under(&path, texts)?;
        } else if path.extension().and_then(|e| e.to_str()) == Some("parquet") {
            use polars::prelude::*;
            match ParquetReader::new(std::fs::File::open(&path)?).finish() {
                Ok(df) => {
                    for c in df.columns() {
                        if let Ok(s) = c.cast(&DataType::String) {
                            texts.extend(s.str()?.iter().flatten().map(str::to_owned));
                        }
                    }
                }
                // A damaged corpus input: its bytes, as text.
                Err(_) => texts.push(String::from_utf8_lossy(&std::fs::read(&path)?).into_owned()),
            }
        } else {
            texts.push(String::from_utf8_lossy(&std::fs::read(&path)?).into_owned());
        }
    }
    Ok(())
}
