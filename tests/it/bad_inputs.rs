//! The bad-input corpus (`fixtures/bad/`, described in its README): every file has one case here
//! with its exact outcome (exit code, the message or the reconciled row counts), and no case may
//! print, publish or leave in the operator's files any identifier, name or phone of the corpus.

use std::collections::BTreeSet;

use crate::support::{TestResult, exit, privstat, root, stderr, texts_under};
use privstat::error::{EXIT_DATA, EXIT_OK, EXIT_USAGE};

/// What a corpus file must do.
enum Outcome {
    /// Exit 0 with `read = used + quarantined + out_of_period`.
    Publishes(u64, u64, u64, u64),
    /// Exit 1 (data) with this in the message.
    Refused(&'static str),
    /// Exit 2 (pipeline file) with this in the message.
    BadPipeline(&'static str),
}

use Outcome::{BadPipeline, Publishes, Refused};

/// Which pipeline reads a data file: the SoCO-shaped corpus pipeline, or the Taiwan-shaped one.
const SOCO: &str = "fixtures/bad/pipeline_clean.toml";
const TW: &str = "fixtures/bad/pipeline_tw.toml";

const CASES: &[(&str, Outcome)] = &[
    (
        "all_out_of_period.csv",
        Refused("has no usable row: 40 rows read, 1 quarantined, 39 out of the tables' periods"),
    ),
    ("big5.csv", Publishes(40, 39, 1, 0)),
    ("blank_header_columns.csv", Publishes(40, 39, 1, 0)),
    ("bom_in_middle.csv", Publishes(40, 39, 1, 0)),
    ("bom_utf8.csv", Publishes(40, 39, 1, 0)),
    ("clean.csv", Publishes(40, 39, 1, 0)),
    ("cr_only.csv", Refused("line 1: lines end in CR alone")),
    ("crlf.csv", Publishes(40, 39, 1, 0)),
    ("damaged_ad_dates.csv", Publishes(40, 33, 6, 1)),
    ("damaged_roc_dates.csv", Publishes(60, 49, 8, 3)),
    (
        "duplicate_header.csv",
        Refused("columns 3 and 4 have the same header"),
    ),
    (
        "empty.csv",
        Refused("cannot read as CSV: the file has no header row"),
    ),
    (
        "epsilon_huge.toml",
        BadPipeline("[protection.epsilon] = 1e300 must be a positive number, at most 100.0"),
    ),
    ("excel_text_ids.csv", Publishes(40, 39, 1, 0)),
    ("fullwidth_and_lowercase_ids.csv", Publishes(40, 39, 1, 0)),
    ("header_only.csv", Refused("has no usable row: 0 rows read")),
    (
        "huge_cross_product.toml",
        BadPipeline(
            "crosses to 64481201 cells (401 × 401 × 401), more than limits.max_table_cells = 5000000",
        ),
    ),
    (
        "long_line.csv",
        Refused("line 2: the line is longer than 1048576 bytes"),
    ),
    (
        "many_columns.csv",
        Refused("line 1: the header has more than 2000 columns"),
    ),
    (
        "missing_column.csv",
        Refused(
            "has no column `Support`\n  hint: the file's columns are: Member HKID, Name, Phone, Gender, District, Date",
        ),
    ),
    (
        "missing_source_file.toml",
        Refused("no-such-export.csv: No such file or directory"),
    ),
    ("mixed_line_ends.csv", Publishes(40, 39, 1, 0)),
    (
        "mostly_invalid_ids.csv",
        Refused(
            "32 of 40 rows (80.0 %) are quarantined, more than the limit of 20.0 %\n  top reasons: Member HKID: the identifier's check digit is wrong (31 rows, first row 3)",
        ),
    ),
    (
        "negative_threshold.toml",
        BadPipeline("invalid value: integer `-1`, expected u32"),
    ),
    (
        "no_header.csv",
        Refused("none of its 5 configured columns is in the file's first row (7 fields)"),
    ),
    (
        "not_parquet.parquet",
        Refused("cannot read as Parquet: not a Parquet file, or a damaged or truncated one"),
    ),
    ("nul_bytes.csv", Publishes(40, 38, 2, 0)),
    (
        "p_percent_over_100.toml",
        BadPipeline("[protection.p_percent] = 150 is outside the allowed range 0..=100"),
    ),
    ("parquet_date32.parquet", Publishes(40, 39, 1, 0)),
    ("parquet_timestamp_ns.parquet", Publishes(40, 39, 1, 0)),
    ("parquet_timestamp_tz.parquet", Publishes(40, 39, 1, 0)),
    ("parquet_timestamp_us.parquet", Publishes(40, 39, 1, 0)),
    (
        "parquet_wrong_types.parquet",
        Refused("has no usable row: 40 rows read, 40 quarantined"),
    ),
    ("pipeline_clean.toml", Publishes(40, 39, 1, 0)),
    ("pipeline_tw.toml", Publishes(60, 49, 8, 3)),
    ("prc_ids_damaged_by_excel.csv", Publishes(40, 36, 4, 0)),
    (
        "protection_level_huge.toml",
        BadPipeline(
            "[protection.protection_level] = 2147483647 is outside the allowed range 1..=100000",
        ),
    ),
    (
        "quarantine_share_over_one.toml",
        BadPipeline("[limits.max_quarantined_share] = 2.0 is not a share between 0 and 1"),
    ),
    ("quoted_empty_fields.csv", Publishes(40, 34, 6, 0)),
    ("quoted_fields.csv", Publishes(40, 39, 1, 0)),
    (
        "release_name_traversal.toml",
        BadPipeline("`../escaped` cannot be used as a directory name"),
    ),
    (
        "semicolon_delimiter.csv",
        Refused(
            "none of its 5 configured columns is in the file's first row (1 fields), so that row \
             does not look like a header\n  hint: the first row has no comma but 6 \
             semicolon(s): the file looks semicolon-separated",
        ),
    ),
    ("some_out_of_period.csv", Publishes(40, 33, 1, 6)),
    (
        "source_is_directory.toml",
        Refused("is not a regular file (a directory)"),
    ),
    (
        "sep_line.csv",
        Refused("line 1: this is Excel's `sep=` line, not the header; set header_row = 2"),
    ),
    (
        "stray_byte_utf8.csv",
        Refused(
            "line 22 is not UTF-8 (1 bad byte sequence(s) in the file, 120 characters decode as UTF-8)",
        ),
    ),
    (
        "syntax_error.toml",
        BadPipeline("unclosed table, expected `]`"),
    ),
    (
        "table_name_absolute.toml",
        BadPipeline("`/tmp/privstat-escaped` cannot be used as a table name"),
    ),
    (
        "table_name_traversal.toml",
        BadPipeline("`../../escaped` cannot be used as a table name"),
    ),
    (
        "threshold_huge.toml",
        BadPipeline("[protection.threshold] = 4000000000 is outside the allowed range 2..=1000"),
    ),
    (
        "truncated.parquet",
        Refused("cannot read as Parquet: not a Parquet file, or a damaged or truncated one"),
    ),
    (
        "title_rows.csv",
        Refused(
            "set header_row to the row that names them when a title or an export date comes first",
        ),
    ),
    ("trailing_blank_rows.csv", Publishes(103, 39, 64, 0)),
    ("truncated_big5.csv", Publishes(40, 38, 2, 0)),
    ("truncated_mid_record.csv", Publishes(31, 30, 1, 0)),
    (
        "truncated_utf8.csv",
        Refused(
            "line 41 is not UTF-8 (1 bad byte sequence(s) in the file, 127 characters decode as UTF-8)\n  hint: the file is UTF-8 with damaged bytes",
        ),
    ),
    (
        "table_period_empty.toml",
        Refused(
            "table `members_by_gender_2024` has no usable row of source `members` dated 2024-01-01 to 2024-12-31, so it would publish only zeros",
        ),
    ),
    ("tw_ids_damaged_by_excel.csv", Publishes(60, 53, 6, 1)),
    (
        "unbalanced_quote.csv",
        Refused("line 9: a quoted field opens here and never closes"),
    ),
    (
        "unknown_codes.csv",
        Refused("has no usable row: 40 rows read, 40 quarantined"),
    ),
    ("unknown_columns.csv", Publishes(40, 39, 1, 0)),
    ("unknown_key.toml", BadPipeline("unknown field `thresold`")),
    (
        "unquoted_comma.csv",
        Refused("line 14: this row has 8 fields but the header has 7"),
    ),
    (
        "utf16_tab_separated.csv",
        Refused("the first row has no comma but 6 tab(s): the file looks tab-separated"),
    ),
    ("utf16le_bom.csv", Publishes(40, 39, 1, 0)),
    ("walk_in_tokens.csv", Publishes(40, 35, 5, 0)),
];

/// Files of the corpus that are not cases.
const NOT_CASES: &[&str] = &["README.md", "secrets.txt"];

#[test]
fn every_corpus_file_has_a_case_and_every_case_a_file() -> TestResult {
    let dir = root().join("fixtures/bad");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    let cases: BTreeSet<String> = CASES.iter().map(|(f, _)| (*f).to_owned()).collect();
    let expected: BTreeSet<String> = cases
        .iter()
        .cloned()
        .chain(NOT_CASES.iter().map(|f| (*f).to_owned()))
        .collect();
    assert_eq!(
        files, expected,
        "a corpus file without a case, or a case without a file"
    );
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    Ok(())
}

/// Every form in which a secret could leak: as written, normalised as privstat normalises
/// identifiers, and its digits alone when it has eight or more.
fn secret_forms() -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(root().join("fixtures/bad/secrets.txt"))?;
    let mut forms = BTreeSet::new();
    for s in text
        .lines()
        .map(str::trim)
        .filter(|s| s.chars().count() >= 2)
    {
        forms.insert(s.to_owned());
        let n = privstat::ingest::text::normalise_identifier(s);
        if n.chars().count() >= 4 {
            forms.insert(n);
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 8 {
            forms.insert(digits);
        }
    }
    let key = std::fs::read_to_string(root().join("fixtures/keys/demo-only.key"))?;
    forms.insert(key.trim().to_lowercase());
    forms.insert(key.trim().to_uppercase());
    Ok(forms)
}

#[test]
fn every_corpus_file_has_its_exact_outcome_and_leaks_nothing() -> TestResult {
    let secrets = secret_forms()?;
    assert!(secrets.len() > 150, "{} secret forms", secrets.len());
    // The scan finds what it looks for: the corpus's own inputs are full of secrets.
    let mut inputs = Vec::new();
    texts_under(&root().join("fixtures/bad"), &mut inputs)?;
    let found = secrets
        .iter()
        .filter(|s| inputs.iter().any(|t| t.contains(s.as_str())))
        .count();
    assert!(
        found > 150,
        "the scan found only {found} secrets in the inputs"
    );
    let mut failures = Vec::new();
    let mut slowest = (0.0, "");
    for (file, outcome) in CASES {
        let out = tempfile::tempdir()?;
        let path = format!("fixtures/bad/{file}");
        let mut args: Vec<String> = vec!["run".into()];
        if file.ends_with(".toml") {
            args.push(path.clone());
        } else {
            let (pipeline, source) = if file.starts_with("damaged_roc") || file.starts_with("tw_") {
                (TW, "contacts")
            } else {
                (SOCO, "members")
            };
            args.extend([
                pipeline.into(),
                "--source".into(),
                format!("{source}={path}"),
            ]);
        }
        args.extend(["--out".into(), out.path().display().to_string()]);
        args.extend([
            "--ledger".into(),
            out.path().join("ledger.jsonl").display().to_string(),
        ]);
        let started = std::time::Instant::now();
        let o = privstat(&args);
        let seconds = started.elapsed().as_secs_f64();
        if seconds > slowest.0 {
            slowest = (seconds, file);
        }
        let (err, stdout) = (stderr(&o), String::from_utf8_lossy(&o.stdout).into_owned());
        let code = o.status.code();
        let ok = match outcome {
            Publishes(read, used, quarantined, out_of_period) => {
                let line = format!(
                    "{read} rows read = {used} used + {quarantined} quarantined + {out_of_period} out of period"
                );
                code == exit(EXIT_OK) && stdout.contains(&line)
            }
            Refused(message) => code == exit(EXIT_DATA) && err.contains(message),
            BadPipeline(message) => code == exit(EXIT_USAGE) && err.contains(message),
        };
        if !ok {
            failures.push(format!("{file}: exit {code:?}\n{stdout}{err}"));
        }
        if !matches!(outcome, Publishes(..)) {
            assert!(
                !out.path().join("bad-input-corpus").exists(),
                "{file}: a refused run published"
            );
        }
        let mut texts = vec![err, stdout];
        texts_under(out.path(), &mut texts)?;
        for text in &texts {
            for s in &secrets {
                if text.contains(s.as_str()) {
                    failures.push(format!(
                        "{file}: a secret of {} characters leaked",
                        s.chars().count()
                    ));
                }
            }
        }
    }
    println!("slowest corpus case: {} in {:.2} s", slowest.1, slowest.0);
    // The names that point outside the output directory wrote nothing anywhere.
    for escaped in [
        root().join("escaped.csv"),
        root().join("../escaped.csv"),
        std::path::PathBuf::from("/tmp/privstat-escaped.csv"),
    ] {
        assert!(!escaped.exists(), "{}", escaped.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_device_or_a_pipe_as_source_is_refused_at_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("export.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success());
    let zero = dir.path().join("zero.csv");
    std::os::unix::fs::symlink("/dev/zero", &zero)?;
    for (source, kind) in [
        (zero.display().to_string(), "a device"),
        (fifo.display().to_string(), "a named pipe"),
    ] {
        let started = std::time::Instant::now();
        let o = privstat(["check", SOCO, "--source", &format!("members={source}")]);
        assert_eq!(o.status.code(), exit(EXIT_DATA), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("is not a regular file ({kind})")),
            "{}",
            stderr(&o)
        );
        // Refused before anything reads it: a pipe with no writer would block a reader forever.
        assert!(started.elapsed().as_secs() < 30);
    }
    Ok(())
}

/// `check` is where a refused source is diagnosed: it prints every quarantine reason, then exits
/// with the refusal `run` would give, in text and in JSON.
#[test]
fn check_shows_why_rows_were_quarantined_before_refusing_them() -> TestResult {
    let source = "members=fixtures/bad/mostly_invalid_ids.csv";
    let o = privstat(["check", SOCO, "--source", source]);
    assert_eq!(o.status.code(), exit(EXIT_DATA), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("40 rows read = 8 usable + 32 quarantined + 0 out of period"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "members, Member HKID, the identifier's check digit is wrong: 31, first at row 3"
        ),
        "{stdout}"
    );
    assert!(
        stderr(&o).contains("32 of 40 rows (80.0 %) are quarantined, more than the limit"),
        "{}",
        stderr(&o)
    );

    let o = privstat(["check", SOCO, "--source", source, "--json"]);
    assert_eq!(o.status.code(), exit(EXIT_DATA), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    assert_eq!(json["sources"][0]["rows_quarantined"], 32, "{json}");
    let check_digits = json["quarantine"]
        .as_array()
        .and_then(|q| q.iter().find(|r| r["reason"] == "id_check_digit"));
    assert_eq!(
        check_digits.map(|r| &r["values"]),
        Some(&31.into()),
        "{json}"
    );
    assert!(
        json["refused"]
            .as_str()
            .is_some_and(|r| r.contains("more than the limit of 20.0 %")),
        "{json}"
    );
    // Within the limit, the same source is checked through to its tables.
    let o = privstat([
        "check",
        SOCO,
        "--source",
        source,
        "--allow-quarantined-share",
        "0.9",
    ]);
    assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("table "));
    Ok(())
}

/// A spreadsheet's export with a blank line and 62 rows of bare commas below the data: each is
/// quarantined once as empty, and they do not count against the quarantine limit.
#[test]
fn empty_rows_are_quarantined_once_each_and_not_counted_against_the_limit() -> TestResult {
    let o = privstat([
        "check",
        SOCO,
        "--source",
        "members=fixtures/bad/trailing_blank_rows.csv",
        "--json",
    ]);
    assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let source = &json["sources"][0];
    assert_eq!(source["rows_read"], 103, "{json}");
    assert_eq!(source["rows_quarantined"], 64, "{json}");
    assert_eq!(source["rows_empty"], 63, "{json}");
    let reasons = json["quarantine"].as_array().ok_or("no quarantine")?;
    let empty: Vec<_> = reasons
        .iter()
        .filter(|r| r["reason"] == "empty_row")
        .collect();
    assert_eq!(empty.len(), 1, "{json}");
    assert_eq!(empty[0]["column"], "*");
    assert_eq!(empty[0]["values"], 63);
    assert_eq!(empty[0]["first_row"], 22, "the blank line after 20 records");
    // No empty row is also reported as a missing identifier or an empty cell.
    assert!(
        reasons
            .iter()
            .all(|r| r["reason"] == "empty_row" || r["values"].as_u64() < Some(5)),
        "{json}"
    );
    Ok(())
}

/// The same export with a title and an export date above its header, read with `header_row = 3`
/// (and with Excel's `sep=` line above it, `header_row = 2`): the same counts as the clean file,
/// and quarantined rows named by their rows in the file.
#[test]
fn a_csv_header_below_title_rows_is_read_from_header_row() -> TestResult {
    let dir = tempfile::tempdir()?;
    let corpus = root().join("fixtures/bad");
    let text = std::fs::read_to_string(corpus.join("pipeline_clean.toml"))?;
    let with_source = |file: &str, header_row: u32| {
        let source = format!(
            "path = {:?}\nheader_row = {header_row}\n",
            corpus.join(file).display().to_string()
        );
        text.replacen("path = \"clean.csv\"\n", &source, 1)
    };
    let mut rows = Vec::new();
    for (file, header_row) in [("clean.csv", 1), ("title_rows.csv", 3), ("sep_line.csv", 2)] {
        let pipeline = dir.path().join(format!("{file}.toml"));
        std::fs::write(&pipeline, with_source(file, header_row))?;
        let o = privstat(["check", &pipeline.display().to_string(), "--json"]);
        assert_eq!(o.status.code(), exit(EXIT_OK), "{file}: {}", stderr(&o));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout)?;
        assert_eq!(json["sources"][0]["rows_read"], 40, "{file}: {json}");
        assert_eq!(json["sources"][0]["rows_used"], 39, "{file}: {json}");
        let first = json["quarantine"][0]["first_row"]
            .as_u64()
            .ok_or("no quarantine")?;
        rows.push(first - u64::from(header_row));
    }
    assert_eq!(rows[0], rows[1], "rows counted from the header: {rows:?}");
    assert_eq!(rows[0], rows[2], "rows counted from the header: {rows:?}");

    // header_row means nothing to a Parquet file, which names its columns.
    let pipeline = dir.path().join("parquet.toml");
    std::fs::write(&pipeline, with_source("parquet_date32.parquet", 2))?;
    let o = privstat(["check", &pipeline.display().to_string()]);
    assert_eq!(o.status.code(), exit(EXIT_USAGE), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("applies to CSV and Excel sources only"),
        "{}",
        stderr(&o)
    );
    Ok(())
}

/// Every field quoted, as web systems export, with `""`, a space and an ideographic space in five
/// rows: each reads as the empty cell it shows (missing value, missing identifier), exactly as
/// the same export unquoted does, not as an unknown code, an unreadable date or an identifier.
#[test]
fn a_quoted_empty_field_is_the_empty_cell_it_shows() -> TestResult {
    let quoted = "fixtures/bad/quoted_empty_fields.csv";
    let dir = tempfile::tempdir()?;
    let bare = dir.path().join("bare.csv");
    let text = std::fs::read_to_string(root().join(quoted))?.replace('"', "");
    std::fs::write(&bare, text)?;
    let check = |file: &str| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let o = privstat([
            "check",
            SOCO,
            "--source",
            &format!("members={file}"),
            "--json",
        ]);
        assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
        Ok(serde_json::from_slice(&o.stdout)?)
    };
    let (q, b) = (check(quoted)?, check(&bare.display().to_string())?);
    assert_eq!(q["quarantine"], b["quarantine"], "{q}\n{b}");
    let reasons = q["quarantine"].as_array().ok_or("no quarantine")?;
    let empty = |column: &str| {
        reasons
            .iter()
            .any(|r| r["column"] == column && r["reason"] == "missing_value")
    };
    assert!(
        ["Date", "District", "Gender", "Support"]
            .iter()
            .all(|c| empty(c)),
        "{q}"
    );
    for key in ["rows_read", "rows_quarantined"] {
        assert_eq!(q["sources"][0][key], b["sources"][0][key], "{key}");
    }
    assert_eq!(
        q["sources"][0]["ids"]["distinct_values"], 32,
        "the blank identifier is no value: {q}"
    );
    Ok(())
}

/// A Taiwan export saved as GB18030 (as a Simplified-Chinese system writes): read as Big5 by
/// `auto`, its header is unreadable, and the refusal names the encoding to declare; declared,
/// it publishes exactly as its UTF-8 original does.
#[test]
fn a_gb18030_export_is_refused_with_its_encoding_then_read_when_declared() -> TestResult {
    let dir = tempfile::tempdir()?;
    let original = root().join("fixtures/bad/damaged_roc_dates.csv");
    let text = std::fs::read_to_string(&original)?;
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    let gb = dir.path().join("gb18030.csv");
    std::fs::write(&gb, &bytes)?;
    let pipeline = std::fs::read_to_string(root().join(TW))?
        .replace("../keys/", &format!("{}/fixtures/keys/", root().display()));
    let run = |encoding: &str, file: &std::path::Path| {
        let toml = dir.path().join(format!("{encoding}.toml"));
        std::fs::write(
            &toml,
            pipeline.replace("encoding = \"auto\"", &format!("encoding = \"{encoding}\"")),
        )?;
        let source = format!("contacts={}", file.display());
        Ok::<_, std::io::Error>(privstat([
            "check".as_ref(),
            toml.as_os_str(),
            "--source".as_ref(),
            source.as_ref(),
        ]))
    };
    let auto = run("auto", &gb)?;
    assert_eq!(auto.status.code(), exit(EXIT_DATA), "{}", stderr(&auto));
    assert!(
        stderr(&auto).contains("read as Big5; an export in Simplified Chinese is GBK or GB18030: set encoding = \"gb18030\""),
        "{}",
        stderr(&auto)
    );
    let declared = run("gb18030", &gb)?;
    let utf8 = run("auto", &original)?;
    assert_eq!(
        declared.status.code(),
        exit(EXIT_OK),
        "{}",
        stderr(&declared)
    );
    let counts = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip(1)
            .map(|l| {
                l.replace(&gb.display().to_string(), "F")
                    .replace(&original.display().to_string(), "F")
            })
            .map(|l| l.replace("gb18030)", "ENC)").replace("utf8-bom)", "ENC)"))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&declared), counts(&utf8));
    Ok(())
}

/// A misspelt direct identifier drops nothing (only mapped columns are read either way): the
/// manifest's list names only the columns the file has, and `check` names the one it lacks.
#[test]
fn a_direct_identifier_the_file_lacks_is_named_and_not_claimed_dropped() -> TestResult {
    let dir = tempfile::tempdir()?;
    let pipeline = dir.path().join("misspelt.toml");
    std::fs::write(
        &pipeline,
        std::fs::read_to_string(root().join(SOCO))?.replace(
            "direct_identifiers = [\"Name\", \"Phone\"]",
            "direct_identifiers = [\"Name\", \"Phone\", \"Nmae\"]",
        ),
    )?;
    let source = format!(
        "members={}",
        root().join("fixtures/bad/clean.csv").display()
    );
    let check = |json: bool| {
        let mut args = vec![
            "check".to_owned(),
            pipeline.display().to_string(),
            "--source".to_owned(),
            source.clone(),
        ];
        if json {
            args.push("--json".to_owned());
        }
        privstat(&args)
    };
    let o = check(false);
    assert_eq!(o.status.code(), exit(EXIT_OK), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("direct identifiers declared but not in the file (a misspelt name? only mapped columns are ever read): Nmae"),
        "{stdout}"
    );
    let json: serde_json::Value = serde_json::from_slice(&check(true).stdout)?;
    let s = &json["sources"][0];
    assert_eq!(
        s["direct_identifiers_dropped"],
        serde_json::json!(["Name", "Phone"]),
        "{s}"
    );
    assert_eq!(
        s["direct_identifiers_absent"],
        serde_json::json!(["Nmae"]),
        "{s}"
    );
    Ok(())
}
