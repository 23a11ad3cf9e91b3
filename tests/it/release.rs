//! What a release contains: counts recomputed independently from the export, every cell of the key
//! domain, totals, no identifiers, refusal to overwrite, Big5 = UTF-8.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::support::{
    TestResult, exit, privstat, publish, read_csv, root, seed_pipeline_text, stderr, texts_under,
};
use privstat::error::EXIT_DATA;

const DISTRICTS: [(&str, &str); 9] = [
    ("鹽埕區", "64000010"),
    ("鼓山區", "64000020"),
    ("三民區", "64000050"),
    ("新興區", "64000060"),
    ("前金區", "64000070"),
    ("苓雅區", "64000080"),
    ("前鎮區", "64000090"),
    ("旗津區", "64000100"),
    ("小港區", "64000110"),
];
const AREAS: [(&str, &str); 8] = [
    ("生活適應輔導", "life"),
    ("醫療生育保健", "health"),
    ("保障就業權益", "employment"),
    ("提升教育文化", "education"),
    ("協助子女教養", "childcare"),
    ("人身安全保護", "safety"),
    ("健全法令制度", "legal"),
    ("落實觀念宣導", "awareness"),
];

type Key = (String, String, String);

/// Persons and person-times per cell, margins included, counted straight from a clean export.
fn count_independently(csv: &str) -> (HashMap<Key, BTreeSet<String>>, HashMap<Key, i64>) {
    let mut persons: HashMap<Key, BTreeSet<String>> = HashMap::new();
    let mut times: HashMap<Key, i64> = HashMap::new();
    for line in csv.trim_start_matches('\u{FEFF}').lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        // 服務日期 is "YYY/MM/DD" in a clean export; the period is 114/01/01–114/06/30.
        let (year, month) = (&f[0][..3], &f[0][4..6]);
        if year != "114" || month > "06" {
            continue;
        }
        let district = DISTRICTS
            .iter()
            .find(|d| d.0 == f[7])
            .map(|d| d.1)
            .expect("known district");
        let gender = if f[3] == "女" { "F" } else { "M" };
        let area = AREAS
            .iter()
            .find(|a| a.0 == f[8])
            .map(|a| a.1)
            .expect("known area");
        for d in [district, "_T"] {
            for g in [gender, "_T"] {
                for a in [area, "_T"] {
                    let key = (d.to_owned(), g.to_owned(), a.to_owned());
                    persons
                        .entry(key.clone())
                        .or_default()
                        .insert(f[1].to_owned());
                    *times.entry(key).or_default() += 1;
                }
            }
        }
    }
    (persons, times)
}

#[test]
fn published_counts_equal_counts_made_independently_from_the_export() -> TestResult {
    let dir = tempfile::tempdir()?;
    let export = dir.path().join("clean.csv");
    let synth = privstat(
        [
            "synth",
            "--profile",
            "kaohsiung",
            "--rows",
            "4000",
            "--seed",
            "5",
            "--messiness",
            "0",
            "--encoding",
            "utf-8-bom",
            "--out",
        ]
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([export.as_os_str()]),
    );
    assert!(synth.status.success(), "{}", stderr(&synth));
    let out_dir = dir.path().join("out");
    let source = format!("contacts={}", export.display());
    let run = privstat([
        "run".as_ref(),
        "pipelines/kaohsiung-districts.toml".as_ref(),
        "--source".as_ref(),
        source.as_ref(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));

    let (persons, times) = count_independently(&std::fs::read_to_string(&export)?);
    // The manifest's distinct persons are the persons of usable rows: the grand total.
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(
        out_dir.join("kaohsiung-districts-2025h1/manifest.json"),
    )?)?;
    let all = ("_T".to_owned(), "_T".to_owned(), "_T".to_owned());
    assert_eq!(
        manifest["inputs"][0]["identifiers"]["distinct_persons"].as_u64(),
        Some(persons.get(&all).map_or(0, BTreeSet::len) as u64)
    );
    let (h, rows) =
        read_csv(&out_dir.join("kaohsiung-districts-2025h1/by_district_gender_area.csv"))?;
    assert_eq!(
        rows.len(),
        10 * 3 * 9 * 2,
        "every cell of the key domain, zeros and margins included"
    );
    let mut checked = BTreeMap::new();
    for r in &rows {
        let key = (
            r[h["district"]].clone(),
            r[h["gender"]].clone(),
            r[h["work_area"]].clone(),
        );
        let truth = match r[h["measure"]].as_str() {
            "persons" => persons.get(&key).map_or(0, |s| s.len() as i64),
            "person_times" => times.get(&key).copied().unwrap_or(0),
            m => panic!("unexpected measure {m}"),
        };
        let n_persons = persons.get(&key).map_or(0, BTreeSet::len);
        match r[h["status"]].as_str() {
            "published" => {
                assert_eq!(
                    r[h["value"]].parse::<i64>()?,
                    truth,
                    "{key:?} {}",
                    r[h["measure"]]
                );
                assert!(
                    n_persons == 0 || n_persons >= 3,
                    "{key:?} published with {n_persons} persons"
                );
            }
            "suppressed_primary" => {
                assert_eq!(r[h["value"]], "", "suppressed value must be empty");
                assert!(
                    (1..3).contains(&n_persons),
                    "{key:?} suppressed with {n_persons} persons"
                );
            }
            "suppressed_secondary" => {
                assert_eq!(r[h["value"]], "", "suppressed value must be empty");
                assert!(
                    n_persons == 0 || n_persons >= 3,
                    "{key:?} secondary with {n_persons} persons: it should be primary"
                );
            }
            s => panic!("unexpected status {s}"),
        }
        *checked.entry(r[h["status"]].clone()).or_insert(0) += 1;
    }
    assert!(checked["published"] > 300, "{checked:?}");
    assert!(
        rows.iter().any(|r| r[h["value"]] == "0"),
        "zero cells are published"
    );
    // The grand total of persons counts each person once, not once per cell.
    let total = rows
        .iter()
        .find(|r| {
            r[h["district"]] == "_T"
                && r[h["gender"]] == "_T"
                && r[h["work_area"]] == "_T"
                && r[h["measure"]] == "persons"
        })
        .ok_or("grand total row")?;
    let all = persons
        .get(&("_T".into(), "_T".into(), "_T".into()))
        .map_or(0, BTreeSet::len);
    assert_eq!(total[h["value"]].parse::<usize>()?, all);
    let sum_of_areas: usize = AREAS
        .iter()
        .map(|a| {
            persons
                .get(&("_T".into(), "_T".into(), a.1.into()))
                .map_or(0, BTreeSet::len)
        })
        .sum();
    assert!(
        sum_of_areas > all,
        "persons are not additive over work areas"
    );
    Ok(())
}

/// Every identifier, name and phone of a pipeline's export, in every form a leak could take: as
/// written, normalised as identifiers are, and digits alone when eight or more.
fn secrets_of(pipeline: &str) -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
    let plan = privstat::config::load(
        &root().join(pipeline),
        &privstat::config::Overrides::default(),
    )?;
    let mut secrets = BTreeSet::new();
    for source in &plan.sources {
        let utf8 = privstat::ingest::encoding::prepare(
            &source.path,
            source.encoding,
            &privstat::config::Limits::default(),
            1,
        )?;
        let (h, rows) = read_csv(&utf8.path)?;
        let columns: Vec<usize> = std::iter::once(&source.person_column)
            .chain(&source.direct_identifiers)
            .filter_map(|c| h.get(c.as_str()).copied())
            .collect();
        assert_eq!(
            columns.len(),
            1 + source.direct_identifiers.len(),
            "{pipeline}"
        );
        for r in &rows {
            for &c in &columns {
                let v = r[c].trim();
                if v.chars().count() >= 3 {
                    secrets.insert(v.to_owned());
                    secrets.insert(privstat::text::normalise_identifier(v));
                }
                let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                if digits.len() >= 8 {
                    secrets.insert(digits);
                }
            }
        }
    }
    secrets.retain(|s| s.chars().count() >= 3);
    Ok(secrets)
}

#[test]
fn no_identifier_name_or_phone_reaches_any_seed_release_or_its_output() -> TestResult {
    let key = std::fs::read_to_string(root().join("fixtures/keys/demo-only.key"))?;
    let mut scanned = 0;
    let pipelines = [
        "kaohsiung-districts",
        "keelung-services",
        "lienchiang-half-year",
        "soco-members",
    ]
    .iter()
    .flat_map(|seed| [format!("{seed}.toml"), format!("{seed}-dp.toml")])
    .chain(["bench-contacts.toml".to_owned()]);
    for name in pipelines {
        let pipeline = format!("pipelines/{name}");
        let mut secrets = secrets_of(&pipeline)?;
        assert!(
            secrets.len() > 1000,
            "{pipeline}: {} secrets",
            secrets.len()
        );
        secrets.insert(key.trim().to_lowercase());
        secrets.insert(key.trim().to_uppercase());
        let dir = tempfile::tempdir()?;
        let ledger = dir.path().join("ledger.jsonl");
        let run = privstat([
            "run".as_ref(),
            pipeline.as_ref(),
            "--out".as_ref(),
            dir.path().join("out").as_os_str(),
            "--ledger".as_ref(),
            ledger.as_os_str(),
        ]);
        assert!(run.status.success(), "{pipeline}: {}", stderr(&run));
        let check = privstat(["check", pipeline.as_str()]);
        assert!(check.status.success(), "{pipeline}: {}", stderr(&check));
        let mut texts = vec![
            stderr(&run),
            String::from_utf8_lossy(&run.stdout).into_owned(),
            stderr(&check),
            String::from_utf8_lossy(&check.stdout).into_owned(),
        ];
        texts_under(dir.path(), &mut texts)?;
        for text in &texts {
            for s in &secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "{pipeline}: a raw value of {} characters leaked",
                    s.chars().count()
                );
            }
        }
        scanned += texts.len();
    }
    assert!(scanned > 50, "{scanned} outputs scanned");
    Ok(())
}

#[test]
fn a_second_run_refuses_to_overwrite_without_force() -> TestResult {
    let dir = tempfile::tempdir()?;
    let args = |force: bool| {
        let mut a = vec![
            "run".into(),
            "pipelines/keelung-services.toml".into(),
            "--out".into(),
            dir.path().as_os_str().to_owned(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let first = privstat(args(false));
    assert!(first.status.success(), "{}", stderr(&first));
    let manifest = dir.path().join("keelung-services-2025h1/manifest.json");
    let before = std::fs::read(&manifest)?;
    let second = privstat(args(false));
    assert_eq!(second.status.code(), exit(EXIT_DATA));
    assert!(
        stderr(&second).contains("a release of that name exists"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::read(&manifest)?,
        before,
        "the existing release is untouched"
    );
    let forced = privstat(args(true));
    assert!(forced.status.success(), "{}", stderr(&forced));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.contains(".staging-") || name.contains(".replaced-")
        })
        .collect();
    assert!(leftovers.is_empty(), "no staging directory is left behind");
    Ok(())
}

#[test]
fn a_big5_export_gives_the_same_tables_as_its_utf8_twin() -> TestResult {
    let dir = tempfile::tempdir()?;
    let run = |source: &str, out: &str| {
        let out_dir = dir.path().join(out);
        let source = format!("attendance={}", root().join(source).display());
        let o = privstat([
            "run".as_ref(),
            "pipelines/lienchiang-half-year.toml".as_ref(),
            "--source".as_ref(),
            source.as_ref(),
            "--out".as_ref(),
            out_dir.as_os_str(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        out_dir.join("lienchiang-2021h1")
    };
    let big5 = run("fixtures/lienchiang_2021h1_big5.csv", "big5");
    let utf8 = run("fixtures/lienchiang_2021h1_utf8.csv", "utf8");
    for table in [
        "measures_by_agency",
        "person_times_by_measure_gender",
        "persons_by_island_gender",
    ] {
        let a = std::fs::read(big5.join(format!("{table}.csv")))?;
        let b = std::fs::read(utf8.join(format!("{table}.csv")))?;
        assert_eq!(a, b, "{table}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(big5.join("manifest.json"))?)?;
    assert_eq!(manifest["inputs"][0]["encoding"], "big5");
    Ok(())
}

/// What loaders and portals rely on, checked without them: each table's first rows are its grand
/// totals, every row carries the declared period, `datapackage.json` describes exactly the
/// columns each CSV has, the manifest gives every file's format and encoding, and CSVs of Chinese
/// labels start with a byte-order mark by default.
#[test]
fn releases_are_typed_dated_and_described_for_loaders_and_portals() -> TestResult {
    let dir = tempfile::tempdir()?;
    // keelung-services does not set csv_bom: the default decides.
    let run = privstat([
        "run".as_ref(),
        "pipelines/keelung-services.toml".as_ref(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let release = dir.path().join("keelung-services-2025h1");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json"))?)?;
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("datapackage.json"))?)?;
    let resources = package["resources"].as_array().ok_or("no resources")?;
    for table in manifest["tables"].as_array().ok_or("no tables")? {
        let name = table["name"].as_str().ok_or("table name")?;
        let csv = release.join(format!("{name}.csv"));
        assert!(
            std::fs::read(&csv)?.starts_with(b"\xEF\xBB\xBF"),
            "{name}: no BOM"
        );
        let (header, rows) = read_csv(&csv)?;
        let dims: Vec<&str> = table["dimensions"]
            .as_array()
            .ok_or("dimensions")?
            .iter()
            .filter_map(|d| d["name"].as_str())
            .collect();
        for d in &dims {
            assert_eq!(rows[0][header[*d]], "_T", "{name}: first row's {d}");
        }
        for row in &rows {
            assert_eq!(row[header["period_start"]], "2025-01-01", "{name}");
            assert_eq!(row[header["period_end"]], "2025-06-30", "{name}");
        }
        let resource = resources
            .iter()
            .find(|r| r["path"] == format!("{name}.csv"))
            .ok_or("no resource for the table")?;
        let mut described: Vec<(&str, &str)> = resource["schema"]["fields"]
            .as_array()
            .ok_or("fields")?
            .iter()
            .filter_map(|f| Some((f["name"].as_str()?, f["type"].as_str()?)))
            .collect();
        let mut columns: Vec<(&String, &usize)> = header.iter().collect();
        columns.sort_by_key(|(_, i)| **i);
        let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            described.iter().map(|f| f.0).collect::<Vec<_>>(),
            names,
            "{name}: datapackage fields"
        );
        described.retain(|f| f.0 == "value" || f.0 == "period_start");
        assert_eq!(described, [("value", "integer"), ("period_start", "date")]);
        for file in table["files"].as_array().ok_or("files")? {
            let (format, media) = (file["format"].as_str(), file["media_type"].as_str());
            match file["name"].as_str() {
                Some(n) if n.ends_with(".csv") => {
                    assert_eq!((format, media), (Some("csv"), Some("text/csv")));
                    assert_eq!(file["encoding"], "utf-8");
                    assert_eq!(file["byte_order_mark"], true);
                }
                _ => assert_eq!(format, Some("parquet")),
            }
        }
    }
    assert_eq!(manifest["metadata"]["temporal"][0], "2025-01-01");
    let statuses = manifest["metadata"]["status_codes"]
        .as_array()
        .ok_or("status codes")?;
    assert!(
        statuses
            .iter()
            .any(|s| s["status"] == "suppressed_secondary" && s["conf_status"] == "D"),
        "{statuses:?}"
    );
    Ok(())
}

/// The county's summary layout (彙整表) of Lienchiang's half-year table: person-times by gender
/// add up to their total on every row, each key work area's subtotal is the sum of its measures,
/// and the grand total row is the long table's grand total.
#[test]
fn the_half_year_summary_layout_adds_up_and_agrees_with_the_long_table() -> TestResult {
    let dir = tempfile::tempdir()?;
    let release = publish("pipelines/lienchiang-half-year.toml", dir.path(), None)?;
    let (h, rows) = read_csv(&release.join("half_year_summary-report.csv"))?;
    for column in [
        "重點工作",
        "措施",
        "主辦單位",
        "場次",
        "人次_女",
        "人次_男",
        "人次_合計",
        "人數",
    ] {
        assert!(h.contains_key(column), "no column {column}: {h:?}");
    }
    let n = |r: &Vec<String>, c: &str| -> i64 { r[h[c]].parse().unwrap_or(-1) };
    let mut subtotal: Option<(String, i64, i64)> = None; // group, person-times, sessions
    let (mut times, mut sessions) = (0i64, 0i64);
    let mut groups = 0;
    for r in &rows {
        assert_eq!(
            n(r, "人次_女") + n(r, "人次_男"),
            n(r, "人次_合計"),
            "{r:?}"
        );
        if r[h["措施"]].is_empty() || r[h["措施"]] == "總計" {
            if let Some((g, t, s)) = subtotal.take() {
                assert_eq!((times, sessions), (t, s), "subtotal of {g}");
                groups += 1;
            }
            subtotal = Some((r[h["重點工作"]].clone(), n(r, "人次_合計"), n(r, "場次")));
            (times, sessions) = (0, 0);
        } else {
            times += n(r, "人次_合計");
            sessions += n(r, "場次");
        }
    }
    assert!(groups >= 8, "{groups} key work areas checked");
    let last = rows.last().ok_or("no rows")?;
    assert_eq!(last[h["重點工作"]], "總計");
    let (lh, long) = read_csv(&release.join("half_year_summary.csv"))?;
    let grand = |measure: &str| {
        long.iter()
            .find(|r| {
                ["care_measure", "agency", "gender"]
                    .iter()
                    .all(|d| r[lh[*d]] == "_T")
                    && r[lh["measure"]] == measure
            })
            .map(|r| r[lh["value"]].parse::<i64>().unwrap_or(-1))
    };
    assert_eq!(Some(n(last, "人次_合計")), grand("person_times"));
    assert_eq!(Some(n(last, "人數")), grand("persons"));
    assert_eq!(Some(n(last, "場次")), grand("distinct_session_date"));
    let audit = privstat(["audit".as_ref(), release.as_os_str()]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    Ok(())
}

/// The publisher's own page goes into the release as it is, listed in the manifest and audited:
/// the release passes `audit`, a page holding an identifier-shaped value fails the run, and a page
/// the audit could not read (a PDF) or named like a generated file is a pipeline error.
#[test]
fn an_attached_page_is_published_listed_and_audited() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = seed_pipeline_text("soco-members")?;
    let pipeline = |attachment: &str| -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
        let path = dir.path().join("soco.toml");
        let text = text.replace(
            "[publish]\n",
            &format!("[publish]\nattachments = [\"{attachment}\"]\n"),
        );
        assert!(
            text.contains("attachments"),
            "the pipeline has a [publish] section"
        );
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let page =
        "# 2025 年會員服務摘要\n\n會員人數依地區、性別及支援類別分列；人數少於 3 人之格不公布。\n";
    std::fs::write(dir.path().join("summary.md"), page)?;
    let release = publish(
        pipeline("summary.md")?.to_str().ok_or("path")?,
        &dir.path().join("out"),
        None,
    )?;
    assert_eq!(std::fs::read_to_string(release.join("summary.md"))?, page);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(release.join("manifest.json"))?)?;
    let entry = manifest["files"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "summary.md"))
        .ok_or("summary.md is not listed")?;
    assert_eq!(entry["media_type"], "text/markdown", "{entry}");
    assert_eq!(
        entry["sha256"].as_str(),
        Some(privstat::ingest::sha256_file(&release.join("summary.md"))?.as_str())
    );
    let audit = privstat(["audit".as_ref(), release.as_os_str()]);
    assert!(audit.status.success(), "{}", stderr(&audit));

    // An HKID-shaped value in the page: the run's audit refuses the release.
    std::fs::write(
        dir.path().join("contact.md"),
        "Enquiries: member K123456(9) at the Sham Shui Po office\n",
    )?;
    let run = privstat([
        "run".as_ref(),
        pipeline("contact.md")?.as_os_str(),
        "--out".as_ref(),
        dir.path().join("out2").as_os_str(),
    ]);
    let err = stderr(&run);
    assert!(
        !run.status.success(),
        "a page with an identifier was published"
    );
    assert!(err.contains("contact.md"), "{err}");
    assert!(
        !err.contains("K123456"),
        "the error repeats the value: {err}"
    );
    assert!(!dir.path().join("out2/soco-members-2025").exists());

    for (name, why) in [("summary.pdf", "Markdown"), ("report.html", "another file")] {
        std::fs::write(dir.path().join(name), "x")?;
        let check = privstat(["check".as_ref(), pipeline(name)?.as_os_str()]);
        assert_eq!(check.status.code(), Some(2), "{name}");
        assert!(stderr(&check).contains(why), "{name}: {}", stderr(&check));
    }
    Ok(())
}

/// A valid Taiwan national ID: `A`, then `digits` (eight), then the check digit.
fn taiwan_id(digits: &str) -> String {
    // A counts as 10: its digits 1 and 0 weigh 1 and 9; the eight digits 8 down to 1.
    let sum: u32 = 1 + digits
        .bytes()
        .zip((1..=8).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum::<u32>();
    format!("A{digits}{}", (10 - sum % 10) % 10)
}

/// Volunteers' training hours by gender and origin: women from Vietnam are four, one of whom
/// trained 100 of their 105 hours; every other cell's hours are spread.
fn dominated_hours(
    dir: &Path,
    p_percent: Option<u32>,
    extra: &str,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let cells: [(&str, &str, &[u32]); 4] = [
        ("女", "越南", &[100, 2, 2, 1]),
        ("女", "印尼", &[10, 9, 8, 7, 6]),
        ("男", "越南", &[5, 5, 5, 5]),
        ("男", "印尼", &[6, 5, 4, 3]),
    ];
    let mut csv = String::from("日期,證號,性別,原屬國籍,時數\n");
    let mut n = 0;
    for (gender, origin, hours) in cells {
        for h in hours {
            n += 1;
            let id = taiwan_id(&format!("{}{n:07}", if gender == "女" { 2 } else { 1 }));
            csv.push_str(&format!(
                "114/03/{:02},{id},{gender},{origin},{h}\n",
                1 + n % 28
            ));
        }
    }
    std::fs::write(dir.join("volunteers.csv"), csv)?;
    let rule = p_percent
        .map(|p| format!("p_percent = {p}\n"))
        .unwrap_or_default()
        + extra;
    let pipeline = format!(
        "[release]\nname = \"hours\"\nperiod = {{ start = \"2025-01-01\", end = \"2025-06-30\" }}\n\n\
         [sources.volunteers]\npath = \"volunteers.csv\"\nperson = {{ column = \"證號\" }}\n\
         date = {{ column = \"日期\" }}\n\n[sources.volunteers.columns]\ngender = \"性別\"\n\
         origin = \"原屬國籍\"\nhours = {{ column = \"時數\", type = \"integer\" }}\n\n\
         [domains.gender]\nlabel = {{ zh = \"性別\", en = \"Gender\" }}\n\
         codes = [{{ code = \"F\", zh = \"女\", en = \"Female\" }}, {{ code = \"M\", zh = \"男\", en = \"Male\" }}]\n\n\
         [domains.origin]\nlabel = {{ zh = \"原屬國籍\", en = \"Origin\" }}\n\
         codes = [{{ code = \"VN\", zh = \"越南\", en = \"Vietnam\" }}, {{ code = \"ID\", zh = \"印尼\", en = \"Indonesia\" }}]\n\n\
         [tables.hours]\nsource = \"volunteers\"\nby = [\"gender\", \"origin\"]\n\
         measures = [\"persons\", {{ sum = \"hours\" }}]\n\n[protection]\n{rule}\n[publish]\ndir = \"out\"\n"
    );
    let path = dir.join("hours.toml");
    std::fs::write(&path, pipeline)?;
    let out = dir.join("out");
    let run = privstat([
        "run".as_ref(),
        path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    Ok(out.join("hours"))
}

/// `(gender, origin, measure)` → (value, status) of the published table.
type Cells = BTreeMap<(String, String, String), (String, String)>;

fn hours_cells(release: &Path) -> Result<Cells, Box<dyn std::error::Error>> {
    let (header, rows) = read_csv(&release.join("hours.csv"))?;
    let at = |name: &str| header.get(name).copied().ok_or(format!("no {name}"));
    let (g, o, m, v, s) = (
        at("gender")?,
        at("origin")?,
        at("measure")?,
        at("value")?,
        at("status")?,
    );
    Ok(rows
        .iter()
        .map(|r| {
            (
                (r[g].clone(), r[o].clone(), r[m].clone()),
                (r[v].clone(), r[s].clone()),
            )
        })
        .collect())
}

#[test]
fn a_sum_one_person_dominates_is_suppressed_by_the_p_percent_rule_and_kept_out_of_reach()
-> TestResult {
    let tmp = tempfile::tempdir()?;
    let release = dominated_hours(tmp.path(), None, "")?;
    let cells = hours_cells(&release)?;
    // Four women from Vietnam pass the threshold of 3, but one trained 100 of their 105 hours:
    // the second (2 hours), knowing her own, would put the first's at 103 at most, within 3 %.
    // The whole cell is withheld, its persons with its hours.
    for measure in ["persons", "sum_hours"] {
        let (value, status) = &cells[&("F".into(), "VN".into(), measure.into())];
        assert_eq!(
            (value.as_str(), status.as_str()),
            ("", "suppressed_primary"),
            "{measure}"
        );
    }
    // Indonesian women's hours are spread: the rule asks nothing of them.
    assert!(
        cells
            .iter()
            .filter(|(_, (_, s))| s == "suppressed_primary")
            .all(|((g, o, _), _)| g == "F" && o == "VN"),
        "{cells:?}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json"))?)?;
    assert_eq!(manifest["protection"]["p_percent"], 10, "{manifest}");
    assert_eq!(manifest["protection"]["summary"]["primary_by_p_percent"], 1);
    assert_eq!(manifest["protection"]["summary"]["under_protected"], 0);
    // What an attacker derives from the published table: the hours lie in an interval at least
    // ⌈10 % of 100 − 3⌉ = 7 hours wide (3: what all but the two largest trained), so that no
    // one estimates the largest to within 10 %.
    let audit = tmp.path().join("out/.operator/hours/audit.json");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(audit)?)?;
    // The audit says it takes the rule on trust: the contributions are not in the release.
    assert_eq!(report["p_percent"], 10, "{report}");
    let hours = report["intervals"]
        .as_array()
        .ok_or("no intervals")?
        .iter()
        .find(|i| {
            i["measure"] == "sum_hours" && i["cell"]["gender"] == "F" && i["cell"]["origin"] == "VN"
        })
        .ok_or("no interval for the dominated hours")?;
    assert!(hours["width"].as_i64().is_none_or(|w| w >= 7), "{hours}");
    // The operator learns which sums the rule withheld and the room each got; the release does not.
    let operator = tmp.path().join("out/.operator/hours/p-percent.json");
    let dominated: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(operator)?)?;
    let entry = dominated
        .as_array()
        .ok_or("a list")?
        .iter()
        .find(|d| d["cell"]["gender"] == "F" && d["cell"]["origin"] == "VN")
        .ok_or("the dominated hours are listed")?;
    assert_eq!(
        (
            &entry["measure"],
            &entry["persons"],
            &entry["value"],
            &entry["room_needed"]
        ),
        (
            &serde_json::json!("sum_hours"),
            &serde_json::json!(4),
            &serde_json::json!(105),
            &serde_json::json!(7)
        ),
        "{entry}"
    );
    assert!(
        entry["room_proven"].is_null() || entry["room_proven"].as_f64() >= Some(7.0),
        "{entry}"
    );
    let mut published = Vec::new();
    texts_under(&release, &mut published)?;
    assert!(!published.iter().any(|t| t.contains("room_needed")));

    // With the rule off, the cell is published as the threshold alone allows.
    let off = tempfile::tempdir()?;
    let release = dominated_hours(off.path(), Some(0), "")?;
    let cells = hours_cells(&release)?;
    assert_eq!(
        cells[&("F".into(), "VN".into(), "sum_hours".into())],
        ("105".to_owned(), "published".to_owned())
    );
    // And the release says what it gave up.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json"))?)?;
    assert_eq!(manifest["protection"]["p_percent"], 0);
    let warnings = manifest["protection"]["warnings"].to_string();
    assert!(warnings.contains("p_percent = 0"), "{warnings}");
    Ok(())
}

/// The same hours under the (n,k)-dominance rule alone (p% off), n = 2, k = 85: the two largest
/// Vietnamese women trained 102 of 105 hours (97 %), so the cell is withheld and its hours must
/// be able to rise to 120 (⌈100 × 102 / 85⌉), where the two would hold 85 %. Every other cell's
/// two largest hold at most 84 % (the Vietnamese total: 105 of 125).
#[test]
fn a_sum_whose_largest_contributors_hold_more_than_k_percent_is_withheld_by_the_dominance_rule()
-> TestResult {
    let tmp = tempfile::tempdir()?;
    let release = dominated_hours(tmp.path(), Some(0), "nk_dominance = { n = 2, k = 85 }\n")?;
    let cells = hours_cells(&release)?;
    let withheld: Vec<_> = cells
        .iter()
        .filter(|(_, (_, s))| s == "suppressed_primary")
        .map(|((g, o, m), _)| (g.as_str(), o.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        withheld,
        [("F", "VN", "persons"), ("F", "VN", "sum_hours")],
        "{cells:?}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json"))?)?;
    let protection = &manifest["protection"];
    assert_eq!(
        protection["nk_dominance"],
        serde_json::json!({ "n": 2, "k": 85 })
    );
    assert_eq!(
        protection["summary"]["primary_by_dominance"], 1,
        "{protection}"
    );
    assert_eq!(
        protection["summary"]["primary_by_p_percent"], 0,
        "{protection}"
    );
    assert_eq!(protection["summary"]["under_protected"], 0, "{protection}");
    assert!(
        !protection["warnings"].to_string().contains("p_percent = 0"),
        "the dominance rule protects the sums: {protection}"
    );
    let operator = tmp.path().join("out/.operator/hours/p-percent.json");
    let dominated: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(operator)?)?;
    let entries = dominated.as_array().ok_or("a list")?;
    assert_eq!(entries.len(), 1, "{dominated}");
    assert_eq!(entries[0]["room_needed"], 15, "{dominated}");
    assert!(
        entries[0]["room_proven"].is_null() || entries[0]["room_proven"].as_f64() >= Some(15.0),
        "{dominated}"
    );
    let audit = tmp.path().join("out/.operator/hours/audit.json");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(audit)?)?;
    assert_eq!(report["nk_dominance"]["k"], 85, "{report}");
    let dictionary = std::fs::read_to_string(release.join("data-dictionary.csv"))?;
    assert!(
        dictionary.contains(
            "a sum whose 2 largest persons hold more than 85 % of it ((n,k)-dominance rule)"
        ),
        "{dictionary}"
    );
    Ok(())
}
