//! DP releases through the real binary: the ledger across runs, `check` spending nothing, and a
//! run killed at any moment leaving a consistent ledger and no partial release.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{TestResult, exit, privstat, seed_pipeline_text, stderr};
use privstat::error::{EXIT_DATA, EXIT_OK};

/// The Kaohsiung DP pipeline with a lifetime cap of `cap` (ε = 1 per release), paths made absolute
/// so it can live in a temporary directory.
fn pipeline_with_cap(dir: &Path, cap: f64) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let text = seed_pipeline_text("kaohsiung-districts-dp")?.replace(
        "lifetime_epsilon = 10.0",
        &format!("lifetime_epsilon = {cap}"),
    );
    assert!(text.contains(&format!("lifetime_epsilon = {cap}")));
    let path = dir.join("kaohsiung-dp.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

fn run(pipeline: &Path, out: &Path, ledger: &Path) -> std::process::Output {
    privstat([
        "run".as_ref(),
        pipeline.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--ledger".as_ref(),
        ledger.as_os_str(),
        "--force".as_ref(),
    ])
}

fn budget(ledger: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let out = privstat([
        "budget".as_ref(),
        "--ledger".as_ref(),
        ledger.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[test]
fn the_ledger_spends_across_runs_and_refuses_the_run_past_the_cap() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_with_cap(dir.path(), 2.5)?;
    let out = dir.path().join("out");
    let ledger = dir.path().join("ledger.jsonl");

    let checked = privstat(["check".as_ref(), pipeline.as_os_str()]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(!ledger.exists(), "check must not touch the ledger");

    for _ in 0..2 {
        let o = run(&pipeline, &out, &ledger);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let standing = budget(&ledger)?;
    let head = standing["ledger_head"].as_str().ok_or("ledger_head")?;
    assert!(head.len() == 64 && head.bytes().all(|b| b.is_ascii_hexdigit()));
    let s = &standing["datasets"][0];
    assert_eq!(s["dataset"], "kaohsiung-nifsc-contacts");
    assert_eq!(s["releases"], 2);
    assert_eq!(s["published"], 2);
    let spent = s["spent"].as_f64().ok_or("spent")?;
    assert!(spent > 1.999 && spent <= 2.0, "{spent}");

    let release = out.join("kaohsiung-districts-dp-2025h1");
    let before = std::fs::read(release.join("manifest.json"))?;
    let refused = run(&pipeline, &out, &ledger);
    assert_eq!(refused.status.code(), exit(EXIT_DATA));
    let message = stderr(&refused);
    assert!(message.contains("lifetime cap"), "{message}");
    assert!(message.contains("no noise was drawn"), "{message}");
    assert_eq!(std::fs::read(release.join("manifest.json"))?, before);
    assert_eq!(
        budget(&ledger)?["datasets"][0]["releases"],
        2,
        "a refused run spends nothing"
    );
    Ok(())
}

#[test]
fn a_dp_release_is_consistent_and_carries_margins_of_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_with_cap(dir.path(), 10.0)?;
    let out = dir.path().join("out");
    let o = run(&pipeline, &out, &dir.path().join("ledger.jsonl"));
    assert!(o.status.success(), "{}", stderr(&o));
    let release = out.join("kaohsiung-districts-dp-2025h1");
    let (header, rows) = super::support::read_csv(&release.join("by_district_gender_area.csv"))?;
    let col = |name: &str| header.get(name).copied().ok_or("column");
    let (d, g, w, m, v, e) = (
        col("district")?,
        col("gender")?,
        col("work_area")?,
        col("measure")?,
        col("value")?,
        col("moe95")?,
    );
    let mut cells = std::collections::HashMap::new();
    for row in &rows {
        let value: i64 = row[v].parse()?;
        let moe: i64 = row[e].parse()?;
        assert!(value >= 0 && moe > 0);
        cells.insert(
            (
                row[d].clone(),
                row[g].clone(),
                row[w].clone(),
                row[m].clone(),
            ),
            value,
        );
    }
    assert_eq!(cells.len(), 10 * 3 * 9 * 2);
    // Every district × gender total is the sum over work areas, for both measures.
    for ((district, gender, area, measure), &total) in &cells {
        if area != "_T" {
            continue;
        }
        let sum: i64 = cells
            .iter()
            .filter(|((d2, g2, a2, m2), _)| {
                d2 == district && g2 == gender && m2 == measure && a2 != "_T"
            })
            .map(|(_, v)| v)
            .sum();
        if measure == "person_times" {
            assert_eq!(sum, total, "{district} {gender} {measure}");
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(release.join("manifest.json"))?)?;
    let dp = &manifest["protection"]["dp"];
    assert_eq!(dp["mechanism"], "laplace");
    assert!(dp["loss"].as_f64().ok_or("loss")? <= 1.0);
    assert!(
        dp["tables"][0]["measures"][0]["sensitivity"]["l1"]
            .as_i64()
            .ok_or("l1")?
            > 0
    );
    Ok(())
}

#[test]
fn a_run_killed_at_any_moment_leaves_a_consistent_ledger_and_no_partial_release() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pipeline = pipeline_with_cap(dir.path(), 100.0)?;
    let ledger = dir.path().join("ledger.jsonl");
    for (i, delay_ms) in [40u64, 120, 200, 280, 360, 450, 600, 900]
        .into_iter()
        .enumerate()
    {
        let out = dir.path().join(format!("out{i}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_privstat"))
            .args([
                "run".as_ref(),
                pipeline.as_os_str(),
                "--out".as_ref(),
                out.as_os_str(),
            ])
            .args(["--ledger".as_ref(), ledger.as_os_str()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let release = out.join("kaohsiung-districts-dp-2025h1");
        if release.exists() {
            // Published whole: the audit passes on it.
            let audit = privstat(["audit".as_ref(), release.as_os_str()]);
            assert!(
                audit.status.success(),
                "killed at {delay_ms} ms: {}",
                stderr(&audit)
            );
        }
        if ledger.exists() {
            // Readable, and every published release was charged.
            let standing = budget(&ledger)?;
            let releases = standing["datasets"][0]["releases"].as_u64().unwrap_or(0);
            let published = (0..=i)
                .filter(|j| {
                    dir.path()
                        .join(format!("out{j}/kaohsiung-districts-dp-2025h1"))
                        .exists()
                })
                .count() as u64;
            assert!(
                releases >= published,
                "{releases} spends for {published} releases"
            );
        } else {
            assert!(!release.exists(), "a release without a ledger entry");
        }
    }
    Ok(())
}

/// A four-dimensional table of 1 350 cells warns before any noise is drawn that its consistency
/// step can take long; the seed's three-dimensional table does not.
#[test]
fn check_warns_of_a_slow_consistency_step_before_anything_is_spent() -> TestResult {
    let dir = tempfile::tempdir()?;
    let seed = seed_pipeline_text("kaohsiung-districts-dp")?
        .replace("ledger = \"../out/", "ledger = \"out/");
    let three = dir.path().join("three.toml");
    std::fs::write(&three, &seed)?;
    let four = dir.path().join("four.toml");
    std::fs::write(
        &four,
        seed.replacen(
            "by = [\"district\", \"gender\", \"work_area\"]",
            "by = [\"district\", \"gender\", \"work_area\", \"mode\"]",
            1,
        ),
    )?;
    let o = privstat(["check", &four.display().to_string()]);
    assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("table by_district_gender_area: 1350 cells in 4 dimensions"),
        "{}",
        stderr(&o)
    );
    let o = privstat(["check", &four.display().to_string(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!(
        json["protection"]["warnings"].as_array().map(Vec::len),
        Some(1),
        "{json}"
    );
    let o = privstat(["check", &three.display().to_string()]);
    assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
    assert!(!stderr(&o).contains("dimensions: making"), "{}", stderr(&o));
    // The seed's small export at ε = 1: noise will dominate most leaf cells, and check says so
    // before anything is spent (143 of 144 persons leaves); at ten times the budget, fewer (99).
    let dominated = |o: &std::process::Output| -> Option<u64> {
        let out = String::from_utf8_lossy(&o.stdout);
        let line = out.lines().find(|l| {
            l.starts_with("table by_district_gender_area: at this budget noise will dominate")
        })?;
        line.split_whitespace().nth(8)?.parse().ok()
    };
    let at_one = dominated(&o).ok_or("no forecast at epsilon 1")?;
    let rich = dir.path().join("rich.toml");
    std::fs::write(
        &rich,
        seed.replacen("epsilon = 1.0 ", "epsilon = 10.0 ", 1)
            .replacen("lifetime_epsilon = 10.0", "lifetime_epsilon = 100.0", 1),
    )?;
    let o = privstat(["check", &rich.display().to_string()]);
    assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
    let at_ten = dominated(&o).unwrap_or(0);
    assert!(at_ten < at_one, "{at_one} then {at_ten}");
    assert!(!dir.path().join("out").exists(), "check wrote nothing");
    Ok(())
}
