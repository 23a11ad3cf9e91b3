//! `privstat audit` on a published release, untouched and tampered with.

use std::path::{Path, PathBuf};

use super::support::{TestResult, exit, privstat, root, stderr};
use privstat::error::{EXIT_DATA, EXIT_USAGE};

fn publish(out: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let run = privstat([
        "run".as_ref(),
        root().join("pipelines/soco-members.toml").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    Ok(out.join("soco-members-2025"))
}

fn audit(release: &Path) -> (bool, serde_json::Value) {
    audit_with(release, &[])
}

fn audit_with(release: &Path, flags: &[&str]) -> (bool, serde_json::Value) {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["audit".as_ref(), release.as_os_str(), "--json".as_ref()];
    args.extend(flags.iter().map(std::ffi::OsStr::new));
    let out = privstat(args);
    let report = serde_json::from_slice(&out.stdout).expect("the report is JSON");
    (out.status.success(), report)
}

fn checks(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|x| x["severity"] == "failure")
                .map(|x| x["check"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_published_release_passes_and_its_suppressed_cells_keep_their_intervals() -> TestResult {
    let dir = tempfile::tempdir()?;
    let release = publish(dir.path())?;
    let (ok, report) = audit(&release);
    assert!(ok, "{report}");
    assert!(report["suppressed_numbers"].as_u64() > Some(0));
    for i in report["intervals"].as_array().ok_or("intervals")? {
        assert_eq!(i["ok"], true, "{i}");
        let need = if i["status"] == "suppressed_primary" {
            3
        } else {
            1
        };
        assert!(i["width"].as_i64().is_none_or(|w| w >= need), "{i}");
    }
    // `--exact` bounds every number by LP; any inner interval from witnesses lies within.
    let (ok, exact) = audit_with(&release, &["--exact"]);
    assert!(ok, "{exact}");
    assert_eq!(exact["inner_intervals"], 0);
    let fast = report["intervals"].as_array().ok_or("intervals")?;
    let exact = exact["intervals"].as_array().ok_or("intervals")?;
    assert_eq!(fast.len(), exact.len());
    for (f, e) in fast.iter().zip(exact) {
        assert_eq!((&f["table"], &f["cell"]), (&e["table"], &e["cell"]));
        assert!(e["method"] == "lp" || e["method"] == "elimination", "{e}");
        if f["method"] == "witnesses" {
            assert!(e["lower"].as_f64() <= f["lower"].as_f64(), "{f} {e}");
            assert!(e["upper"].is_null() || e["upper"].as_f64() >= f["upper"].as_f64());
        } else {
            assert_eq!(f, e);
        }
    }
    // The human table says so too.
    let text = privstat(["audit".as_ref(), release.as_os_str()]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("PASSED"));
    Ok(())
}

#[test]
fn a_revealed_value_a_changed_file_and_a_stray_identifier_all_fail() -> TestResult {
    let dir = tempfile::tempdir()?;
    let release = publish(dir.path())?;
    let csv = release.join("members_by_district_gender_support.csv");
    let text = std::fs::read_to_string(&csv)?;
    // Put a value back into the first suppressed row.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let row = lines
        .iter()
        .position(|l| l.contains(",suppressed_primary"))
        .ok_or("no suppressed row")?;
    lines[row] = lines[row].replace(",,suppressed_primary", ",1,suppressed_primary");
    std::fs::write(&csv, lines.join("\n") + "\n")?;
    std::fs::write(
        release.join("notes.txt"),
        "called back A123456789 on 0912-345-678\n",
    )?;

    let out = privstat(["audit".as_ref(), release.as_os_str()]);
    assert_eq!(out.status.code(), exit(EXIT_DATA), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("FAILED"));
    assert!(
        !shown.contains("A123456789") && !shown.contains("0912"),
        "{shown}"
    );

    let (ok, report) = audit(&release);
    assert!(!ok);
    let failed = checks(&report);
    for check in ["checksum", "structure", "unlisted_file", "identifier"] {
        assert!(
            failed.iter().any(|c| c == check),
            "{check} not in {failed:?}"
        );
    }
    Ok(())
}

#[test]
fn a_directory_without_a_manifest_is_a_usage_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = privstat(["audit".as_ref(), dir.path().as_os_str()]);
    assert_eq!(out.status.code(), exit(EXIT_USAGE));
    assert!(stderr(&out).contains("manifest.json"));
    Ok(())
}
