//! Every seed release loads as researchers load it: pandas (Parquet with filters, CSV typed from
//! `datapackage.json`), pyarrow datasets, polars, DuckDB, and the Frictionless validator
//! (`tests/loaders.py`).
//!
//! The Python environment is `PRIVSTAT_PYTHON` (`.ci/run` makes one with the loaders installed).
//! Without it the test says so and checks nothing, except under CI (`CI` set), where it fails.

use std::path::PathBuf;
use std::process::Command;

use super::support::{TestResult, publish, root};

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
        "keelung-sharing",
        "kaohsiung-districts-dp",
        "lienchiang-half-year-dp",
    ] {
        let ledger = dir.path().join(format!("{seed}.jsonl"));
        releases.push(publish(
            &format!("pipelines/{seed}.toml"),
            &dir.path().join(seed),
            Some(&ledger),
        )?);
    }
    let load = Command::new(&python)
        .arg(root().join("tests/loaders.py"))
        .args(&releases)
        .output()
        .map_err(|e| {
            format!(
                "PRIVSTAT_PYTHON={} cannot be run ({e}): .ci/run makes the environment",
                python.display()
            )
        })?;
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
