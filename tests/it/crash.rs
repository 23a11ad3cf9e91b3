//! SIGKILL at every moment of a `--force` run over an existing DP release: the release under its
//! name is always the old one or the new one, whole; nothing left beside it is taken for a
//! release and the next run cleans it; the ledger stays readable and charges each run at most once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{TestResult, exit, privstat, root, seed_pipeline_text, stderr};
use privstat::error::EXIT_DATA;

const RELEASE: &str = "keelung-services-dp-2025h1";

fn ledger_events(ledger: &Path) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    if !ledger.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(ledger)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

/// Every file the manifest lists is there with its hash.
fn whole(release: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(release.join("manifest.json"))?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes)?;
    let mut files: Vec<&serde_json::Value> = manifest["files"]
        .as_array()
        .ok_or("files")?
        .iter()
        .collect();
    for t in manifest["tables"].as_array().ok_or("tables")? {
        files.extend(t["files"].as_array().ok_or("table files")?);
    }
    assert!(files.len() >= 4);
    for f in files {
        let name = f["name"].as_str().ok_or("name")?;
        let sha = privstat::ingest::sha256_file(&release.join(name))?;
        assert_eq!(Some(sha.as_str()), f["sha256"].as_str(), "{name}");
    }
    Ok(privstat::ingest::sha256_file(
        &release.join("manifest.json"),
    )?)
}

fn leftovers(out: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    Ok(std::fs::read_dir(out)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|n| n.contains(".staging-") || n.contains(".replaced-"))
        .collect())
}

#[test]
fn a_force_run_killed_at_any_moment_leaves_the_old_or_the_new_release() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = seed_pipeline_text("keelung-services-dp")?
        .replace("lifetime_rho = 5.0", "lifetime_rho = 1000.0");
    assert!(text.contains("lifetime_rho = 1000.0"));
    let pipeline = dir.path().join("keelung-dp.toml");
    #[allow(clippy::disallowed_methods, reason = "the test writes its pipeline")]
    std::fs::write(&pipeline, text)?;
    let out = dir.path().join("out");
    let ledger = dir.path().join("ledger.jsonl");
    let args = |force: bool| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "run".into(),
            pipeline.clone().into(),
            "--out".into(),
            out.clone().into(),
            "--ledger".into(),
            ledger.clone().into(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let started = Instant::now();
    let first = privstat(args(false));
    assert!(first.status.success(), "{}", stderr(&first));
    let span = started.elapsed().as_millis() as u64 + 100;
    let release = out.join(RELEASE);

    let (mut before_spend, mut spent_unpublished, mut published, mut runs) = (0, 0, 0, 1usize);
    let kills = 36u64;
    for k in 0..kills {
        let before_events = ledger_events(&ledger)?.len();
        let before_manifest = whole(&release)?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_privstat"))
            .current_dir(root())
            .args(args(true))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        runs += 1;
        // Over one and a half times the first run's span: later runs on a loaded machine are
        // slower than the first, and some kills must land after publishing.
        std::thread::sleep(Duration::from_millis(span * 3 * k / (2 * kills)));
        let _ = child.kill();
        let _ = child.wait();

        // The name always holds a whole release: the old one or the new one.
        assert!(release.is_dir(), "kill {k}: no release under its name");
        let manifest = whole(&release)?;
        let events = ledger_events(&ledger)?;
        let new: Vec<&str> = events[before_events..]
            .iter()
            .filter_map(|e| e["event"].as_str())
            .collect();
        match (new.as_slice(), manifest == before_manifest) {
            ([], true) => before_spend += 1,
            (["spend"] | ["spend", "abandoned"], true) => spent_unpublished += 1,
            (["spend"] | ["spend", "published"], false) => published += 1,
            (other, same) => panic!("kill {k}: ledger {other:?}, release replaced: {}", !same),
        }
        for name in leftovers(&out)? {
            assert!(name.starts_with('.'), "{name} could be taken for a release");
        }
        if k % 12 == 11 {
            let audit = privstat(["audit".as_ref(), release.as_os_str()]);
            assert!(audit.status.success(), "kill {k}: {}", stderr(&audit));
        }
    }
    println!(
        "{kills} kills: {before_spend} before the spend, {spent_unpublished} after it, {published} after publishing"
    );
    assert!(before_spend > 0, "no kill landed before the spend");
    assert!(
        spent_unpublished > 0,
        "no kill landed between spend and publish"
    );
    assert!(published > 0, "no kill landed after publishing");

    // A clean run afterwards cleans what the kills left and publishes.
    let last = privstat(args(true));
    runs += 1;
    assert!(last.status.success(), "{}", stderr(&last));
    assert_eq!(leftovers(&out)?, Vec::<String>::new());
    whole(&release)?;

    // The ledger is readable, every run charged at most once, and each release published once.
    let budget = privstat(["budget".as_ref(), "--ledger".as_ref(), ledger.as_os_str()]);
    assert!(budget.status.success(), "{}", stderr(&budget));
    let events = ledger_events(&ledger)?;
    let spends: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "spend")
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(
        spends.len() <= runs,
        "{} spends for {runs} runs",
        spends.len()
    );
    let ids: BTreeSet<&str> = spends.iter().copied().collect();
    assert_eq!(ids.len(), spends.len(), "a spend id charged twice");
    let mut outcomes = BTreeSet::new();
    for e in events.iter().filter(|e| e["event"] != "spend") {
        let id = e["id"].as_str().ok_or("id")?;
        assert!(ids.contains(id), "an outcome without its spend");
        assert!(outcomes.insert(id), "two outcomes for one spend");
    }
    Ok(())
}

#[test]
fn a_second_run_of_a_release_in_progress_is_refused_and_a_bad_out_spends_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out)?;
    // Another run holds the release's lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(format!(".{RELEASE}.lock")))?;
    lock.lock()?;
    let ledger = dir.path().join("ledger.jsonl");
    let run = |out: &Path| {
        privstat([
            "run".as_ref(),
            "pipelines/keelung-services-dp.toml".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--ledger".as_ref(),
            ledger.as_os_str(),
        ])
    };
    let busy = run(&out);
    assert_eq!(busy.status.code(), exit(EXIT_DATA), "{}", stderr(&busy));
    assert!(stderr(&busy).contains("another privstat run is publishing this release"));
    assert!(!ledger.exists(), "a refused run spent nothing");
    drop(lock);

    // An output directory that cannot be made is found before any budget is spent.
    let file = dir.path().join("a-file");
    #[allow(
        clippy::disallowed_methods,
        reason = "the test makes a file to write under"
    )]
    std::fs::write(&file, b"x")?;
    let bad = run(&file.join("out"));
    assert_eq!(bad.status.code(), exit(EXIT_DATA), "{}", stderr(&bad));
    assert!(!ledger.exists(), "a bad --out spent nothing");

    // --force over something that is not a release is refused, before spending.
    #[allow(
        clippy::disallowed_methods,
        reason = "the test puts a file where the release goes"
    )]
    std::fs::write(out.join(RELEASE), b"not a release")?;
    let mut args = vec![
        "run".into(),
        std::ffi::OsString::from("pipelines/keelung-services-dp.toml"),
    ];
    args.extend(["--out".into(), out.clone().into_os_string()]);
    args.extend([
        "--ledger".into(),
        ledger.clone().into_os_string(),
        "--force".into(),
    ]);
    let not_release = privstat(&args);
    assert_eq!(not_release.status.code(), exit(EXIT_DATA));
    assert!(stderr(&not_release).contains("is not a release directory"));
    assert!(!ledger.exists(), "nothing was spent");
    assert_eq!(std::fs::read(out.join(RELEASE))?, b"not a release");
    Ok(())
}
