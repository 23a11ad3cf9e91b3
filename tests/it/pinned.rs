//! The seed releases pinned byte for byte: a refactor that moves code must leave every published
//! CSV (tables, data dictionary, code lists) of the four suppression seed pipelines identical.
//! A change that is meant to alter a release updates `tests/it/pinned-releases.txt` with
//! `PRIVSTAT_BLESS=1 cargo test --test it pinned`, and says why in its commit.

use std::fmt::Write as _;

use super::support::{TestResult, privstat, root, stderr};

const SEEDS: [&str; 4] = [
    "kaohsiung-districts",
    "keelung-services",
    "lienchiang-half-year",
    "soco-members",
];

#[test]
fn seed_releases_are_byte_identical_to_the_pinned_hashes() -> TestResult {
    let mut lines = String::new();
    for seed in SEEDS {
        let dir = tempfile::tempdir()?;
        let run = privstat([
            "run".as_ref(),
            format!("pipelines/{seed}.toml").as_ref(),
            "--out".as_ref(),
            dir.path().as_os_str(),
        ]);
        assert!(run.status.success(), "{seed}: {}", stderr(&run));
        let release = std::fs::read_dir(dir.path())?
            .filter_map(Result::ok)
            .find(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
            .ok_or("no release")?
            .path();
        let mut files: Vec<_> = std::fs::read_dir(&release)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("csv"))
            .collect();
        files.sort();
        assert!(files.len() >= 3, "{seed}: {} CSV files", files.len());
        for f in files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
            let _ = writeln!(
                lines,
                "{seed}/{} {}",
                name.unwrap_or_default(),
                privstat::ingest::sha256_file(&f)?
            );
        }
    }
    let pinned = root().join("tests/it/pinned-releases.txt");
    if std::env::var_os("PRIVSTAT_BLESS").is_some() {
        #[allow(
            clippy::disallowed_methods,
            reason = "blessing rewrites the pinned hashes"
        )]
        std::fs::write(&pinned, &lines)?;
    }
    let expected = std::fs::read_to_string(&pinned)?;
    assert_eq!(
        lines, expected,
        "a seed release changed; if that is intended, bless it (see the module docs)"
    );
    Ok(())
}
