//! Every seed release loads as researchers load it: pandas (Parquet with filters, CSV typed from
//! `datapackage.json`), pyarrow datasets, polars, DuckDB, and the Frictionless validator
//! (`tests/loaders.py`).
//!
//! The Python environment is `PRIVSTAT_PYTHON` (`.ci/run` makes one with the loaders installed).
//! Without it the test says so and checks nothing, except under CI (`CI` set), where it fails.

use std::path::PathBuf;
use std::process::Command;

use super::support::{TestResult, privstat, root, stderr};

fn python() -> Option<PathBuf> {
    match std::env::var_os("PRIVSTAT_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "PRIVSTAT_PYTHON is not set: .ci/run makes the loaders' Python environment"
            );
            eprintln!(
                "loaders not checked: set PRIVSTAT_PYTHON to a Python with pandas, pyarrow, \
                 polars, duckdb and frictionless (see .ci/run)"
            );
            None
        }
    }
}

#[test]
fn seed_releases_load_in_pandas_pyarrow_polars_duckdb_and_validate() -> TestResult {
    let Some(python) = python() else {
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let mut releases = Vec::new();
    for seed in [
        "kaohsiung-districts",
        "keelung-services",
        "lienchiang-half-year",
        "soco-members",
        "kaohsiung-districts-dp",
        "lienchiang-half-year-dp",
    ] {
        let out = dir.path().join(seed);
        let run = privstat([
            "run".as_ref(),
            format!("pipelines/{seed}.toml").as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--ledger".as_ref(),
            dir.path().join(format!("{seed}.jsonl")).as_os_str(),
        ]);
        assert!(run.status.success(), "{seed}: {}", stderr(&run));
        let release = std::fs::read_dir(&out)?
            .filter_map(Result::ok)
            .find(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
            .ok_or("no release")?
            .path();
        releases.push(release);
    }
    let load = Command::new(&python)
        .arg(root().join("tests/loaders.py"))
        .args(&releases)
        .output()?;
    let stdout = String::from_utf8_lossy(&load.stdout);
    assert!(
        load.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&load.stderr)
    );
    assert!(
        stdout.contains(&format!("{} releases loaded", releases.len())),
        "{stdout}"
    );
    Ok(())
}
