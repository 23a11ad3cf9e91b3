//! Every pipeline file in `pipelines/` runs, and its manifest reconciles.

use super::support::{TestResult, privstat, root, stderr};

#[test]
fn every_pipeline_runs_and_reconciles() -> TestResult {
    let mut ran = 0;
    let mut dp_ran = 0;
    for entry in std::fs::read_dir(root().join("pipelines"))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml")
            || path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        let out_dir = tempfile::tempdir()?;
        let ledger = out_dir.path().join("ledger.jsonl");
        let out = privstat([
            "run".as_ref(),
            path.as_os_str(),
            "--out".as_ref(),
            out_dir.path().as_os_str(),
            "--ledger".as_ref(),
            ledger.as_os_str(),
        ]);
        assert!(out.status.success(), "{}: {}", path.display(), stderr(&out));
        let release = std::fs::read_dir(out_dir.path())?
            .filter_map(Result::ok)
            .find(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
            .ok_or("no release directory")?
            .path();
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(release.join("manifest.json"))?)?;
        let dp = manifest["protection"]["method"] == "dp";
        for input in manifest["inputs"].as_array().ok_or("inputs")? {
            if dp {
                // Exact counts are not noisy: a DP manifest withholds them.
                assert!(input.get("rows_read").is_none(), "{}", path.display());
                continue;
            }
            let read = input["rows_read"].as_u64().ok_or("rows_read")?;
            let used = input["rows_used"].as_u64().ok_or("rows_used")?;
            let quarantined = input["rows_quarantined"]
                .as_u64()
                .ok_or("rows_quarantined")?;
            let out_of_period = input["rows_out_of_period"]
                .as_u64()
                .ok_or("rows_out_of_period")?;
            assert_eq!(
                read,
                used + quarantined + out_of_period,
                "{}",
                path.display()
            );
            assert!(used > 0);
        }
        for table in manifest["tables"].as_array().ok_or("tables")? {
            for file in table["files"].as_array().ok_or("files")? {
                let name = file["name"].as_str().ok_or("name")?;
                let sha = privstat::ingest::sha256_file(&release.join(name))?;
                assert_eq!(Some(sha.as_str()), file["sha256"].as_str(), "{name}");
            }
        }
        let release_name = manifest["release"].as_str().ok_or("release")?;
        let operator = out_dir.path().join(".operator").join(release_name);
        for file in ["quarantine.csv", "audit.json", "run.json"] {
            assert!(operator.join(file).exists(), "{}: {file}", path.display());
        }
        assert!(
            manifest.get("quarantine_report").is_none(),
            "the release does not link the operator's files"
        );
        let audit = privstat(["audit".as_ref(), release.as_os_str(), "--json".as_ref()]);
        assert!(
            audit.status.success(),
            "{}: {}",
            path.display(),
            stderr(&audit)
        );
        let report: serde_json::Value = serde_json::from_slice(&audit.stdout)?;
        assert_eq!(report["passed"], true, "{report}");
        assert_eq!(report["exactly_recoverable"], 0);
        assert_eq!(report["under_protected"], 0);
        if dp {
            assert!(ledger.exists(), "{}: no ledger written", path.display());
            assert!(manifest["protection"]["dp"]["ledger_entry"].is_string());
            dp_ran += 1;
        }
        ran += 1;
    }
    assert!(
        ran >= 8,
        "expected the four seed pipelines and their DP variants, ran {ran}"
    );
    assert!(dp_ran >= 4, "expected four DP variants, ran {dp_ran}");
    Ok(())
}
