//! Record-level sharing: linkable pseudonyms, k-anonymity and ℓ-diversity recomputed here from
//! the published files, no identifier in any output, re-keying.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use hmac::Mac;

use crate::support::{
    TestResult, privstat, publish, read_csv, root, seed_pipeline_text, stderr, texts_under,
};

const PIPELINE: &str = "pipelines/keelung-sharing.toml";
const AGREEMENT: &str = "keelung-ifsc/sharing-agreement-2025/v1";
const QUASI: [&str; 4] = ["gender", "birth_date", "district", "origin"];

/// The documented pseudonym, computed apart from privstat: the first 128 bits of
/// HMAC-SHA256(key, `privstat/v1` 0x1F context 0x1F identifier), as 32 hex digits.
fn pseudonym(key_hex: &str, context: &str, id: &str) -> String {
    let key: Vec<u8> = (0..key_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&key_hex[i..i + 2], 16).expect("hex key"))
        .collect();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(format!("privstat/v1\x1f{context}\x1f{id}").as_bytes());
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The rows of a published microdata CSV as maps from column to value.
fn records(path: &Path) -> Result<Vec<HashMap<String, String>>, Box<dyn std::error::Error>> {
    let (header, rows) = read_csv(path)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            header
                .iter()
                .map(|(name, &i)| (name.clone(), row[i].clone()))
                .collect()
        })
        .collect())
}

/// What an outsider computes from the file, written apart from privstat: per class of persons
/// (their set of quasi-identifier combinations) its persons and the sensitive values each holds.
struct Classes {
    persons: usize,
    records: usize,
    sizes: Vec<usize>,
    /// Classes with fewer than two distinct work areas, or one that every person holds.
    not_diverse: usize,
}

fn classes(rows: &[HashMap<String, String>]) -> Classes {
    let mut profiles: BTreeMap<&str, (BTreeSet<Vec<&str>>, BTreeSet<&str>)> = BTreeMap::new();
    for r in rows {
        let entry = profiles.entry(r["pseudonym"].as_str()).or_default();
        entry
            .0
            .insert(QUASI.iter().map(|q| r[*q].as_str()).collect());
        entry.1.insert(r["work_area"].as_str());
    }
    let mut by_profile: BTreeMap<&BTreeSet<Vec<&str>>, Vec<&BTreeSet<&str>>> = BTreeMap::new();
    for (combos, areas) in profiles.values() {
        by_profile.entry(combos).or_default().push(areas);
    }
    let not_diverse = by_profile
        .values()
        .filter(|persons| {
            let all: BTreeSet<&str> = persons.iter().flat_map(|a| a.iter().copied()).collect();
            all.len() < 2 || all.iter().any(|v| persons.iter().all(|a| a.contains(v)))
        })
        .count();
    Classes {
        persons: profiles.len(),
        records: rows.len(),
        sizes: by_profile.values().map(Vec::len).collect(),
        not_diverse,
    }
}

/// The published figure of `measure` (and `field`) in the risk report.
fn reported(dir: &Path, measure: &str, field: &str) -> Result<String, Box<dyn std::error::Error>> {
    let (h, rows) = read_csv(&dir.join("risk-report.csv"))?;
    rows.iter()
        .find(|r| r[h["measure"]] == measure && r[h["field"]] == field)
        .map(|r| r[h["published"]].clone())
        .ok_or_else(|| format!("no {measure} {field} in the risk report").into())
}

/// The pipeline as a copy `dir/name` with `replace` applied, its path.
fn copy(
    dir: &Path,
    name: &str,
    replace: &[(&str, &str)],
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let mut text = seed_pipeline_text("keelung-sharing")?;
    for (from, to) in replace {
        assert!(text.contains(from), "the pipeline has `{from}`");
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The demo key's path as the copied pipelines name it.
fn demo_key() -> String {
    format!("{}/fixtures/keys/demo-only.key", root().display())
}

const ANY_SHARE: (&str, &str) = ("k = 3\n", "k = 3\nmax_suppressed_share = 1.0\n");

#[test]
fn the_keelung_fixture_is_shared_k_anonymous_without_any_identifier() -> TestResult {
    let out = tempfile::tempdir()?;
    let dir = publish(PIPELINE, out.path(), None)?;
    let rows = records(&dir.join("case_records.csv"))?;
    let c = classes(&rows);
    assert!(
        c.sizes.iter().all(|&n| n >= 3),
        "a class below 3: {:?}",
        c.sizes
    );
    assert_eq!(c.not_diverse, 0);
    // The report's published figures are the file's.
    assert_eq!(reported(&dir, "records", "")?, c.records.to_string());
    assert_eq!(reported(&dir, "persons", "")?, c.persons.to_string());
    assert_eq!(reported(&dir, "classes", "")?, c.sizes.len().to_string());
    assert_eq!(
        reported(&dir, "smallest_class", "")?,
        c.sizes.iter().min().ok_or("no class")?.to_string()
    );
    assert_eq!(reported(&dir, "unique_persons", "")?, "0");
    for q in QUASI {
        let suppressed: BTreeSet<&str> = rows
            .iter()
            .filter(|r| r[q] == "*")
            .map(|r| r["pseudonym"].as_str())
            .collect();
        let records = rows.iter().filter(|r| r[q] == "*").count();
        assert_eq!(
            reported(&dir, "suppressed_persons", q)?,
            suppressed.len().to_string(),
            "{q}"
        );
        assert_eq!(
            reported(&dir, "suppressed_records", q)?,
            records.to_string(),
            "{q}"
        );
    }
    // The Parquet file holds the same records.
    let parquet: Vec<String> = {
        use polars::prelude::*;
        let df =
            ParquetReader::new(std::fs::File::open(dir.join("case_records.parquet"))?).finish()?;
        assert_eq!(df.height(), rows.len());
        let s = df.column("pseudonym")?.str()?.clone();
        s.iter().flatten().map(str::to_owned).collect()
    };
    let csv: Vec<String> = rows.iter().map(|r| r["pseudonym"].clone()).collect();
    assert_eq!(parquet, csv);
    // Ages are bands, dates months: no exact day anywhere.
    assert!(
        rows.iter().all(|r| r["date"].len() == 7),
        "dates are months"
    );
    assert!(
        rows.iter().all(|r| r["birth_date"] == "*"
            || r["birth_date"].is_empty()
            || r["birth_date"].contains('-') && r["birth_date"].len() == 5),
        "ages are bands"
    );

    // No identifier, name, phone or date of birth of the export is in any file, the operator's
    // included.
    let (h, source) = read_csv(&root().join("fixtures/keelung_cases_2025h1.csv"))?;
    let mut texts = Vec::new();
    texts_under(out.path(), &mut texts)?;
    let all = texts.join("\n");
    for column in ["證號", "姓名", "電話", "出生日期"] {
        for row in &source {
            let v = row[h[column]].trim();
            // Names are three characters; the other fields longer (shorter ones would match
            // codes and counts by chance).
            let long_enough = if column == "姓名" { 3 } else { 6 };
            if v.chars().count() >= long_enough {
                assert!(!all.contains(v), "a value of {column} is in the output");
            }
        }
    }
    let audit = privstat(["audit".as_ref(), dir.as_os_str()]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    Ok(())
}

#[test]
fn pseudonyms_link_two_centres_under_one_key_and_context_and_nothing_else() -> TestResult {
    let tmp = tempfile::tempdir()?;
    // A clean export (every identifier valid and written canonically), split between two centres
    // that share clients.
    let export = tmp.path().join("cases.csv");
    let made = privstat(
        [
            "synth",
            "--profile",
            "keelung-cases",
            "--rows",
            "900",
            "--seed",
            "23",
            "--messiness",
            "0",
            "--out",
        ]
        .map(std::ffi::OsString::from)
        .into_iter()
        .chain([export.clone().into_os_string()]),
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let text = std::fs::read_to_string(&export)?;
    let lines: Vec<&str> = text.lines().collect();
    let (header, body) = (lines[0], &lines[1..]);
    let a = tmp.path().join("a.csv");
    let b = tmp.path().join("b.csv");
    std::fs::write(&a, format!("{header}\n{}\n", body[..600].join("\n")))?;
    std::fs::write(&b, format!("{header}\n{}\n", body[300..].join("\n")))?;
    let key_hex = std::fs::read_to_string(root().join("fixtures/keys/demo-only.key"))?;
    let key_hex = key_hex.trim();

    let pipeline = copy(tmp.path(), "sharing.toml", &[ANY_SHARE])?;
    let run = |pipeline: &Path,
               source: &Path,
               out: &str|
     -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        let o = privstat([
            "run".as_ref(),
            pipeline.as_os_str(),
            "--out".as_ref(),
            tmp.path().join(out).as_os_str(),
            "--source".as_ref(),
            format!("cases={}", source.display()).as_ref(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = records(
            &tmp.path()
                .join(out)
                .join("keelung-sharing-2025h1/case_records.csv"),
        )?;
        Ok(rows.into_iter().map(|r| r["pseudonym"].clone()).collect())
    };
    let in_period = |rows: &[&str]| -> BTreeSet<String> {
        rows.iter()
            .filter(|l| l.starts_with("114/0"))
            .map(|l| pseudonym(key_hex, AGREEMENT, l.split(',').nth(1).unwrap_or_default()))
            .collect()
    };
    let first = run(&pipeline, &a, "a1")?;
    let again = run(&pipeline, &a, "a2")?;
    let other = run(&pipeline, &b, "b")?;
    assert_eq!(first, again, "the same run gives the same pseudonyms");
    // Each centre's pseudonyms are exactly the documented HMAC of its clients' identifiers.
    assert_eq!(first, in_period(&body[..600]));
    assert_eq!(other, in_period(&body[300..]));
    let shared: BTreeSet<_> = first.intersection(&other).collect();
    let both = in_period(&body[300..600]);
    assert!(both.len() > 50, "the two centres share clients");
    assert!(
        both.iter().all(|p| shared.contains(p)),
        "a shared client has one pseudonym"
    );

    // Another context, or another key: nothing in common.
    let elsewhere = copy(
        tmp.path(),
        "elsewhere.toml",
        &[ANY_SHARE, (AGREEMENT, "another-agreement/v1")],
    )?;
    let c = run(&elsewhere, &a, "c")?;
    assert_eq!(c.len(), first.len());
    assert!(c.is_disjoint(&first), "another context links nothing");
    let key = tmp.path().join("other.key");
    assert!(
        privstat(["keygen".as_ref(), "--out".as_ref(), key.as_os_str()])
            .status
            .success()
    );
    let other_key = copy(
        tmp.path(),
        "other-key.toml",
        &[ANY_SHARE, (&demo_key(), &key.display().to_string())],
    )?;
    let d = run(&other_key, &a, "d")?;
    assert!(d.is_disjoint(&first), "another key links nothing");
    Ok(())
}

#[test]
fn rekeying_maps_every_old_pseudonym_to_the_new_one_and_nothing_else() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let old = publish(PIPELINE, &tmp.path().join("old"), None)?;
    let key = tmp.path().join("new.key");
    assert!(
        privstat(["keygen".as_ref(), "--out".as_ref(), key.as_os_str()])
            .status
            .success()
    );
    let map = tmp.path().join("map.csv");
    let o = privstat([
        "rekey".as_ref(),
        PIPELINE.as_ref(),
        "--to-key-file".as_ref(),
        key.as_os_str(),
        "--out".as_ref(),
        map.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The same pipeline under the new key.
    let pipeline = copy(
        tmp.path(),
        "new.toml",
        &[(&demo_key(), &key.display().to_string())],
    )?;
    let new = publish(
        &pipeline.display().to_string(),
        &tmp.path().join("new"),
        None,
    )?;
    let set = |dir: &Path| -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        Ok(records(&dir.join("case_records.csv"))?
            .into_iter()
            .map(|r| r["pseudonym"].clone())
            .collect())
    };
    let (before, after) = (set(&old)?, set(&new)?);
    let (h, pairs) = read_csv(&map)?;
    let from: BTreeSet<String> = pairs
        .iter()
        .map(|p| p[h["old_pseudonym"]].clone())
        .collect();
    let to: BTreeSet<String> = pairs
        .iter()
        .map(|p| p[h["new_pseudonym"]].clone())
        .collect();
    assert_eq!(pairs.len(), before.len(), "one pair per person");
    assert_eq!(from, before, "every old pseudonym, and nothing else");
    assert_eq!(to, after, "onto the new release's pseudonyms");
    // Never overwrites.
    let again = privstat([
        "rekey".as_ref(),
        PIPELINE.as_ref(),
        "--to-key-file".as_ref(),
        key.as_os_str(),
        "--out".as_ref(),
        map.as_os_str(),
    ]);
    assert!(!again.status.success());
    Ok(())
}

#[test]
fn a_k_that_cannot_be_reached_is_refused_naming_the_quasi_identifiers() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let pipeline = copy(
        tmp.path(),
        "strict.toml",
        &[("k = 3\n", "k = 40\nmax_suppressed_share = 0.05\n")],
    )?;
    let o = privstat(["run".as_ref(), pipeline.as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("k = 40"), "{e}");
    for q in QUASI {
        assert!(e.contains(&format!("without {q}")), "{e}");
    }
    assert!(!tmp.path().join("out/keelung-sharing-2025h1").exists());
    Ok(())
}

#[test]
fn a_tampered_file_fails_the_audit_on_k_even_with_its_hash_fixed() -> TestResult {
    use sha2::Digest;
    let tmp = tempfile::tempdir()?;
    let dir = publish(PIPELINE, tmp.path(), None)?;
    // Give one person a district of their own, and fix the manifest's hash so that only the
    // recomputed k can catch it.
    let path = dir.join("case_records.csv");
    let text = std::fs::read_to_string(&path)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].trim_start_matches('\u{feff}').split(',').collect();
    let district = header
        .iter()
        .position(|c| *c == "district")
        .ok_or("no district")?;
    let target = lines[1].split(',').next().ok_or("no pseudonym")?.to_owned();
    for line in lines.iter_mut().skip(1) {
        if line.starts_with(&target) {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells[district] = "10017999";
            *line = cells.join(",");
        }
    }
    let tampered = format!("{}\n", lines.join("\n"));
    std::fs::write(&path, &tampered)?;
    std::fs::remove_file(dir.join("case_records.parquet"))?;
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)?;
    let files = manifest["microdata"][0]["files"]
        .as_array_mut()
        .ok_or("no files")?;
    files.retain(|f| f["name"] == "case_records.csv");
    files[0]["sha256"] =
        serde_json::json!(format!("{:x}", sha2::Sha256::digest(tampered.as_bytes())));
    files[0]["bytes"] = serde_json::json!(tampered.len());
    std::fs::write(&manifest_path, serde_json::to_vec_pretty(&manifest)?)?;
    let o = privstat(["audit".as_ref(), dir.as_os_str()]);
    assert!(!o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("not 3-anonymous"), "{text}");
    Ok(())
}

#[test]
fn the_audit_reads_every_record_of_both_files_and_names_the_line_of_what_it_finds() -> TestResult {
    use polars::prelude::*;
    let tmp = tempfile::tempdir()?;
    let dir = publish(PIPELINE, tmp.path(), None)?;
    // The last record of the CSV gets an ID for a pseudonym and an exact date for an origin; the
    // last of the Parquet file an ID for a pseudonym. Hashes are left: the checksums fail too.
    let csv = dir.join("case_records.csv");
    let text = std::fs::read_to_string(&csv)?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].trim_start_matches('\u{feff}').split(',').collect();
    let origin = header
        .iter()
        .position(|c| *c == "origin")
        .ok_or("no origin")?;
    let last = lines.len();
    let mut cells: Vec<String> = lines[last - 1].split(',').map(str::to_owned).collect();
    cells[0] = "A123456789".into();
    cells[origin] = "2025-03-14".into();
    lines[last - 1] = cells.join(",");
    std::fs::write(&csv, format!("{}\n", lines.join("\n")))?;
    let parquet = dir.join("case_records.parquet");
    let mut frame = ParquetReader::new(std::fs::File::open(&parquet)?).finish()?;
    let first = frame.get_column_names()[0].clone();
    let mut values: Vec<Option<String>> = frame
        .column(first.as_str())?
        .str()?
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect();
    let rows = values.len();
    values[rows - 1] = Some("A123456789".into());
    frame.replace(first.as_str(), Column::new(first.clone(), values))?;
    ParquetWriter::new(std::fs::File::create(&parquet)?).finish(&mut frame)?;
    assert_eq!(rows + 1, last, "both files hold every record");

    let o = privstat(["audit".as_ref(), dir.as_os_str(), "--json".as_ref()]);
    assert!(!o.status.success());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("A123456789"));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let found: BTreeSet<(String, String, u64)> = report["findings"]
        .as_array()
        .ok_or("no findings")?
        .iter()
        .filter(|f| f["line"].is_u64())
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_owned(),
                f["file"].as_str().unwrap_or_default().to_owned(),
                f["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let line = u64::try_from(last)?;
    for (check, file) in [
        ("identifier", "case_records.csv"),
        ("microdata", "case_records.csv"),
        ("identifier", "case_records.parquet"),
        ("microdata", "case_records.parquet"),
    ] {
        assert!(
            found.contains(&(check.into(), file.into(), line)),
            "no {check} finding at {file}:{line} in {found:?}"
        );
    }
    let dated = report["findings"]
        .as_array()
        .ok_or("no findings")?
        .iter()
        .any(|f| {
            f["file"] == "case_records.csv"
                && f["line"] == line
                && f["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("`origin` holds an exact date"))
        });
    assert!(dated, "{report}");
    Ok(())
}

#[test]
fn a_crosswalk_column_links_a_persons_legacy_ui_new_ui_and_national_id() -> TestResult {
    let tmp = tempfile::tempdir()?;
    // One woman under a legacy UI number, then a 2021 UI number, then a national ID, the
    // export's cross-walk column giving her first identifier; and another client.
    std::fs::write(
        tmp.path().join("cases.csv"),
        "日期,證號,原證號,性別\n\
         114/01/05,AB23456789,,女\n\
         114/02/05,A900207177,AB23456789,女\n\
         114/03/05,A123456789,ab23456789,女\n\
         114/03/06,E100000005,,女\n\
         114/03/07,A800000014,A800000000,男\n",
    )?;
    let pipeline = |crosswalk: &str| {
        format!(
            "[release]\nname = \"x\"\nperiod = {{ start = \"2025-01-01\", end = \"2025-06-30\" }}\n\n\
             [sources.cases]\npath = \"cases.csv\"\nperson = {{ column = \"證號\"{crosswalk} }}\n\
             date = {{ column = \"日期\" }}\n\n[sources.cases.columns]\ngender = \"性別\"\n\n\
             [domains.gender]\nlabel = {{ zh = \"性別\", en = \"Gender\" }}\n\
             codes = [{{ code = \"F\", zh = \"女\", en = \"Female\" }}, {{ code = \"M\", zh = \"男\", en = \"Male\" }}]\n\n\
             [tables.t]\nsource = \"cases\"\nby = [\"gender\"]\nmeasures = [\"persons\"]\n\n\
             [publish]\ndir = \"out\"\n"
        )
    };
    let persons =
        |text: String, name: &str| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
            let path = tmp.path().join(name);
            std::fs::write(&path, text)?;
            let o = privstat(["check".as_ref(), path.as_os_str(), "--json".as_ref()]);
            assert!(o.status.success(), "{}", stderr(&o));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
            Ok(v["sources"][0]["ids"].clone())
        };
    let with = persons(pipeline(", crosswalk = \"原證號\""), "with.toml")?;
    let without = persons(pipeline(""), "without.toml")?;
    assert_eq!(without["distinct_persons"], 5, "{without}");
    assert_eq!(with["distinct_persons"], 3, "{with}");
    // The two rows linked by a valid cross-walk identifier; the invalid one is ignored, so that
    // row stays its own identifier's.
    assert_eq!(with["crosswalk_rows"], 2, "{with}");
    Ok(())
}

#[test]
fn a_sensitive_field_released_grouped_is_diverse_in_its_groups() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let pipeline = copy(
        tmp.path(),
        "grouped.toml",
        &[
            ("work_area = \"keep\"", "work_area = \"group\""),
            (
                "{ code = \"awareness\", zh = \"落實觀念宣導\", en = \"Promotion of awareness\" },\n]",
                "{ code = \"awareness\", zh = \"落實觀念宣導\", en = \"Promotion of awareness\" },\n]\n\
                 groups = [{ code = \"FAMILY\", zh = \"家庭\", en = \"Family\", members = [\"childcare\", \"safety\"] }]",
            ),
        ],
    )?;
    let dir = publish(
        &pipeline.display().to_string(),
        &tmp.path().join("out"),
        None,
    )?;
    let rows = records(&dir.join("case_records.csv"))?;
    assert!(rows.iter().any(|r| r["work_area"] == "FAMILY"));
    assert!(
        rows.iter()
            .all(|r| r["work_area"] != "safety" && r["work_area"] != "childcare")
    );
    let c = classes(&rows);
    assert!(c.sizes.iter().all(|&n| n >= 3));
    assert_eq!(c.not_diverse, 0, "diverse in the values as published");
    Ok(())
}
