//! Every pipeline file in `pipelines/` runs, and its manifest reconciles.

use std::collections::BTreeMap;

use super::support::{TestResult, privstat, publish, read_csv, root, seed_pipeline_text, stderr};

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

/// Sessions counted as distinct (activity code, day): a class held on two days is two sessions,
/// at every level, and a distinct count over one field still counts codes.
#[test]
fn distinct_over_several_fields_counts_each_combination_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ids = [
        "A123456789",
        "B120000007",
        "C100000001",
        "D100000005",
        "E100000009",
        "F100000004",
        "G100000008",
    ];
    // The code as exports write it: Excel's text form, full width, padded, with a zero-width
    // space; each is the code itself. A code that shows nothing is missing, not a session.
    let rows = [
        ("A", "A", "114/01/10", 0),
        ("A", "\"=\"\"A\"\"\"", "114/01/10", 1),
        ("A", "Ａ", "114/01/10", 2),
        ("A", " A ", "114/02/10", 0),
        ("A", "A\u{200B}", "114/02/10", 3),
        ("B", "B", "114/01/10", 4),
        ("B", "'B", "114/01/10", 5),
        ("B", "B", "114/01/10", 6),
        ("B", "B", "114/01/11", 4),
        ("B", " \u{3000}", "114/01/12", 5),
    ];
    let mut csv = String::from("課程,課程代碼,日期,證號\n");
    for (activity, code, day, id) in rows {
        csv.push_str(&format!("{activity},{code},{day},{}\n", ids[id]));
    }
    std::fs::write(dir.path().join("classes.csv"), csv)?;
    std::fs::write(
        dir.path().join("classes.toml"),
        r#"
[release]
name = "classes"
period = { start = "2025-01-01", end = "2025-06-30" }

[pseudonymise]
invalid_ids = "keep"

[sources.classes]
path = "classes.csv"
person = { column = "證號" }
date = { column = "日期", format = "roc" }

[sources.classes.columns]
activity = "課程"
code = { column = "課程代碼", type = "text" }

[domains.activity]
label = { zh = "課程", en = "Class" }
codes = [
  { code = "A", zh = "甲班", en = "Class A" },
  { code = "B", zh = "乙班", en = "Class B" },
]

[tables.sessions]
source = "classes"
by = ["activity"]
measures = [
  { distinct = ["code", "date"], label = { zh = "場次", en = "Sessions" } },
  { distinct = "code" },
  "persons",
]

[publish]
dir = "out"
formats = ["csv"]
"#,
    )?;
    let run = privstat(["run".as_ref(), dir.path().join("classes.toml").as_os_str()]);
    assert!(run.status.success(), "{}", stderr(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("10 rows read = 9 used + 1 quarantined + 0 out of period"),
        "{stdout}"
    );
    let (header, rows) = read_csv(&dir.path().join("out/classes/sessions.csv"))?;
    let value = |activity: &str, measure: &str| {
        rows.iter()
            .find(|r| r[header["activity"]] == activity && r[header["measure"]] == measure)
            .map(|r| r[header["value"]].clone())
    };
    for (activity, sessions, codes, persons) in [
        ("A", "2", "1", "4"),
        ("B", "2", "1", "3"),
        ("_T", "4", "2", "7"),
    ] {
        assert_eq!(
            value(activity, "distinct_code_date").as_deref(),
            Some(sessions),
            "{activity}"
        );
        assert_eq!(
            value(activity, "distinct_code").as_deref(),
            Some(codes),
            "{activity}"
        );
        assert_eq!(
            value(activity, "persons").as_deref(),
            Some(persons),
            "{activity}"
        );
    }
    let (dh, dictionary) = read_csv(&dir.path().join("out/classes/data-dictionary.csv"))?;
    let measure = dictionary
        .iter()
        .find(|r| r[dh["column"]] == "measure")
        .ok_or("no measure entry")?;
    assert!(
        measure[dh["description"]].contains("distinct_code_date = Sessions / 場次"),
        "{}",
        measure[dh["description"]]
    );
    Ok(())
}

/// Walk-ins (rows without an identifier, `person.walk_ins = true`) count in person-times and
/// sessions, never in persons; every other row is counted as without them; DP refuses them.
#[test]
fn walk_ins_add_person_times_but_no_person_and_dp_refuses_them() -> TestResult {
    let dir = tempfile::tempdir()?;
    let release = |pipeline: &str| {
        publish(
            &format!("pipelines/{pipeline}.toml"),
            &dir.path().join(pipeline),
            None,
        )
    };
    let without = release("lienchiang-half-year")?;
    let with = release("lienchiang-half-year-walk-ins")?;
    let manifest =
        |dir: &std::path::Path| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
            Ok(serde_json::from_str(&std::fs::read_to_string(
                dir.join("manifest.json"),
            )?)?)
        };
    let (m0, m1) = (manifest(&without)?, manifest(&with)?);
    let (i0, i1) = (&m0["inputs"][0], &m1["inputs"][0]);
    let walk_ins = i1["identifiers"]["walk_in_rows"]
        .as_u64()
        .ok_or("walk_in_rows")?;
    assert!(walk_ins > 0, "the fixture has rows without an identifier");
    assert_eq!(i0["identifiers"]["walk_in_rows"], 0);
    assert_eq!(
        i1["rows_used"].as_u64(),
        i0["rows_used"].as_u64().map(|u| u + walk_ins)
    );
    assert_eq!(
        i1["rows_quarantined"].as_u64(),
        i0["rows_quarantined"].as_u64().map(|q| q - walk_ins)
    );
    assert_eq!(
        i1["identifiers"]["distinct_persons"],
        i0["identifiers"]["distinct_persons"]
    );
    assert_eq!(
        i1["quarantined_values"]["身分證號"].get("missing_person_id"),
        None,
        "{}",
        i1["quarantined_values"]
    );
    let grand = |dir: &std::path::Path, measure: &str| -> Result<i64, Box<dyn std::error::Error>> {
        let (h, rows) = read_csv(&dir.join("half_year_summary.csv"))?;
        let row = rows
            .iter()
            .find(|r| {
                ["care_measure", "agency", "gender"]
                    .iter()
                    .all(|d| r[h[*d]] == "_T")
                    && r[h["measure"]] == measure
            })
            .ok_or("no grand total")?;
        Ok(row[h["value"]].parse()?)
    };
    let walk_ins = i64::try_from(walk_ins)?;
    assert_eq!(
        grand(&with, "person_times")?,
        grand(&without, "person_times")? + walk_ins
    );
    assert_eq!(grand(&with, "persons")?, grand(&without, "persons")?);
    assert!(grand(&with, "distinct_session_date")? >= grand(&without, "distinct_session_date")?);

    // The DP pipeline of the same export, with walk-ins, is refused before anything is read.
    let text = seed_pipeline_text("lienchiang-half-year-dp")?.replace(
        "id_types = [\"tw_national\", \"tw_ui\"] }",
        "id_types = [\"tw_national\", \"tw_ui\"], walk_ins = true }",
    );
    assert!(text.contains("walk_ins = true"));
    let pipeline = dir.path().join("walk-ins-dp.toml");
    std::fs::write(&pipeline, text)?;
    let check = privstat(["check".as_ref(), pipeline.as_os_str()]);
    let err = stderr(&check);
    assert_eq!(check.status.code(), Some(2), "{err}");
    assert!(
        err.contains("walk_ins") && err.contains("no identity"),
        "{err}"
    );
    Ok(())
}

/// Keelung's volunteers and multicultural events, read back from the release: every usable row is
/// in the grand totals (walk-ins in attendances, never in persons), training hours are the
/// courses' 2 to 6 hours per attendance, and every cell keeps persons ≤ attendances and events ≤
/// sessions.
#[test]
fn keelung_volunteers_and_events_count_every_usable_row_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let release = publish("pipelines/keelung-services.toml", dir.path(), None)?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(release.join("manifest.json"))?)?;
    let input = |source: &str| {
        manifest["inputs"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["source"] == source))
            .cloned()
            .ok_or_else(|| format!("no input {source}"))
    };
    let (events, volunteers) = (input("events")?, input("volunteers")?);
    let walk_ins = events["identifiers"]["walk_in_rows"]
        .as_i64()
        .ok_or("walk_in_rows")?;
    assert!(walk_ins > 100, "booths draw walk-ins: {walk_ins}");
    assert_eq!(volunteers["identifiers"]["walk_in_rows"], 0);
    assert!(
        volunteers["quarantined_values"]["時數"]["not_a_whole_number"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "hours written with a unit are quarantined: {}",
        volunteers["quarantined_values"]
    );

    // Per table: (cell codes) → measure → value, published cells only.
    type Cells = BTreeMap<Vec<String>, BTreeMap<String, i64>>;
    let cells = |table: &str, dims: &[&str]| -> Result<Cells, Box<dyn std::error::Error>> {
        let (h, rows) = read_csv(&release.join(format!("{table}.csv")))?;
        let mut out = Cells::new();
        for r in rows.iter().filter(|r| r[h["status"]] == "published") {
            let key: Vec<String> = dims.iter().map(|d| r[h[*d]].clone()).collect();
            out.entry(key)
                .or_default()
                .insert(r[h["measure"]].clone(), r[h["value"]].parse()?);
        }
        Ok(out)
    };
    let total = |n: usize| vec!["_T".to_owned(); n];

    let ev = cells("events_by_district_type", &["district", "event_type"])?;
    let grand = &ev[&total(2)];
    assert_eq!(Some(grand["person_times"]), events["rows_used"].as_i64());
    assert_eq!(
        Some(grand["persons"]),
        events["identifiers"]["distinct_persons"].as_i64()
    );
    assert!(grand["persons"] < grand["person_times"] - walk_ins);
    assert!((1..=48).contains(&grand["distinct_event"]), "{grand:?}");
    for (key, m) in &ev {
        assert!(m["persons"] <= m["person_times"], "{key:?}: {m:?}");
        assert!(
            m["distinct_event"] <= m["distinct_event_date"],
            "{key:?}: {m:?}"
        );
        assert!(
            m["distinct_event_date"] <= m["person_times"],
            "{key:?}: {m:?}"
        );
    }

    let vol = cells("volunteers_by_gender_origin", &["gender", "origin"])?;
    let grand = &vol[&total(2)];
    assert_eq!(
        Some(grand["person_times"]),
        volunteers["rows_used"].as_i64()
    );
    assert_eq!(
        Some(grand["persons"]),
        volunteers["identifiers"]["distinct_persons"].as_i64()
    );
    for (key, m) in &vol {
        let (times, hours) = (m["person_times"], m["sum_hours"]);
        assert!(
            2 * times <= hours && hours <= 6 * times,
            "{key:?}: {times} attendances, {hours} hours"
        );
        assert!(m["persons"] <= times, "{key:?}: {m:?}");
    }
    // Few men volunteer: the small cells are suppressed, and their hours with them.
    let (h, rows) = read_csv(&release.join("volunteers_by_gender_origin.csv"))?;
    assert!(rows.iter().any(|r| r[h["gender"]] == "M"
        && r[h["measure"]] == "sum_hours"
        && r[h["status"]] == "suppressed_primary"
        && r[h["value"]].is_empty()));
    Ok(())
}
