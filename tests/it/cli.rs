//! Command-line behaviour: exit codes and messages.

use super::support::{TestResult, exit, privstat, root, stderr};
use privstat::error::{EXIT_DATA, EXIT_USAGE};

#[test]
fn a_misspelt_key_is_a_pipeline_error_with_exit_code_2() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = std::fs::read_to_string(root().join("pipelines/keelung-services.toml"))?
        .replace("[publish]\ndir", "[publish]\nthreshhold = 3\ndir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text)?;
    let out = privstat(["check".as_ref(), bad.as_os_str()]);
    assert_eq!(out.status.code(), exit(EXIT_USAGE));
    let err = stderr(&out);
    assert!(err.contains("threshhold"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
    Ok(())
}

#[test]
fn unknown_dimension_is_reported_with_a_suggestion() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = std::fs::read_to_string(root().join("pipelines/keelung-services.toml"))?.replace(
        "by = [\"agency\", \"work_area\"]",
        "by = [\"agncy\", \"work_area\"]",
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text)?;
    let out = privstat(["check".as_ref(), bad.as_os_str()]);
    assert_eq!(out.status.code(), exit(EXIT_USAGE));
    let err = stderr(&out);
    assert!(
        err.contains("[tables.contacts_by_agency_area.by] unknown dimension `agncy`"),
        "{err}"
    );
    assert!(err.contains("did you mean `agency`?"), "{err}");
    Ok(())
}

#[test]
fn a_missing_column_names_the_file_and_the_columns_it_has() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = std::fs::read_to_string(root().join("pipelines/keelung-services.toml"))?
        .replace("mode = \"服務方式\"", "mode = \"服務方法\"");
    let bad = root().join("pipelines").join(".tmp-missing-column.toml");
    std::fs::write(&bad, text)?;
    let out = privstat(["check".as_ref(), bad.as_os_str()]);
    std::fs::remove_file(&bad)?;
    assert_eq!(out.status.code(), exit(EXIT_DATA));
    let err = stderr(&out);
    assert!(err.contains("keelung_2025h1.csv"), "{err}");
    assert!(err.contains("no column `服務方法`"), "{err}");
    assert!(err.contains("服務方式"), "{err}");
    drop(dir);
    Ok(())
}

#[test]
fn keygen_writes_a_private_key_and_never_overwrites() -> TestResult {
    let dir = tempfile::tempdir()?;
    let key = dir.path().join("k.key");
    let first = privstat(["keygen".as_ref(), "--out".as_ref(), key.as_os_str()]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = std::fs::read_to_string(&key)?;
    assert_eq!(text.trim().len(), 64);
    assert!(
        !String::from_utf8_lossy(&first.stdout).contains(text.trim()),
        "key echoed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);
    }
    let second = privstat(["keygen".as_ref(), "--out".as_ref(), key.as_os_str()]);
    assert_eq!(second.status.code(), exit(EXIT_DATA));
    assert_eq!(std::fs::read_to_string(&key)?, text);
    Ok(())
}

/// `check --json` and `run --json` print one JSON document on standard output, with the same
/// counts as the text and the release, and nothing else there.
#[test]
fn check_and_run_speak_json_on_request() -> TestResult {
    let dir = tempfile::tempdir()?;
    for pipeline in [
        "pipelines/keelung-services.toml",
        "pipelines/keelung-services-dp.toml",
    ] {
        let check = privstat(["check", pipeline, "--json"]);
        assert!(check.status.success(), "{pipeline}: {}", stderr(&check));
        let found: serde_json::Value = serde_json::from_slice(&check.stdout)?;
        let source = &found["sources"][0];
        let read = source["rows_read"].as_u64().ok_or("rows_read")?;
        let parts = ["rows_used", "rows_quarantined", "rows_out_of_period"]
            .iter()
            .map(|k| source[*k].as_u64().unwrap_or(u64::MAX))
            .sum::<u64>();
        assert_eq!(read, parts, "{pipeline}: {found}");
        assert_eq!(found["written"], false);
        let quarantined: u64 = found["quarantine"]
            .as_array()
            .ok_or("quarantine")?
            .iter()
            .filter_map(|q| q["values"].as_u64())
            .sum();
        assert!(quarantined > 0, "{pipeline}: the fixture has messy rows");
        let method = found["protection"]["method"].as_str().ok_or("method")?;
        assert_eq!(method == "dp", pipeline.ends_with("-dp.toml"), "{found}");
    }
    let run = privstat([
        "run".as_ref(),
        "pipelines/keelung-services.toml".as_ref(),
        "--out".as_ref(),
        dir.path().as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let found: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    assert_eq!(found["audit"]["passed"], true, "{found}");
    let release = found["release_dir"].as_str().ok_or("release_dir")?;
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        std::path::Path::new(release).join("manifest.json"),
    )?)?;
    assert_eq!(found["tables"], manifest["tables"]);
    assert_eq!(found["files"], manifest["files"]);
    Ok(())
}

/// Shell completions and the man page come from the command definitions, so they name every
/// subcommand there is.
#[test]
fn completions_and_the_man_page_name_every_subcommand() -> TestResult {
    let subcommands = [
        "run", "check", "budget", "audit", "report", "keygen", "synth",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let out = privstat(["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout)?;
        for s in subcommands {
            assert!(text.contains(s), "{shell} completion lacks {s}");
        }
    }
    let man = privstat(["man"]);
    assert!(man.status.success(), "{}", stderr(&man));
    let text = String::from_utf8(man.stdout)?;
    assert!(text.contains(".TH privstat 1"), "{text}");
    for s in subcommands {
        assert!(
            text.contains(&format!("privstat\\-{s}")),
            "man page lacks {s}"
        );
    }
    Ok(())
}

/// `check` applies the primary rule only unless `--protect` asks for secondary suppression and
/// the audit too; both find the same primary cells, and `--protect` finds what `run` publishes.
#[test]
fn check_is_primary_only_unless_asked_to_protect() -> TestResult {
    let pipeline = "pipelines/soco-members.toml";
    let json = |args: &[&str]| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let out = privstat(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let quick = json(&["check", pipeline, "--json"])?;
    let full = json(&["check", pipeline, "--json", "--protect"])?;
    let (quick, full) = (&quick["protection"], &full["protection"]);
    assert_eq!(quick["secondary_and_audit"], false, "{quick}");
    assert_eq!(full["secondary_and_audit"], true, "{full}");
    assert_eq!(quick["summary"]["primary"], full["summary"]["primary"]);
    assert!(full["summary"]["primary"].as_u64() > Some(0), "{full}");
    assert!(quick["summary"].get("secondary").is_none(), "{quick}");
    assert!(full["summary"]["secondary"].as_u64() > Some(0), "{full}");

    let dir = tempfile::tempdir()?;
    let run = privstat([
        "run".as_ref(),
        pipeline.as_ref(),
        "--out".as_ref(),
        dir.path().as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let ran: serde_json::Value = serde_json::from_slice(&run.stdout)?;
    let release = ran["release_dir"].as_str().ok_or("release_dir")?;
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        std::path::Path::new(release).join("manifest.json"),
    )?)?;
    let published = &manifest["protection"]["summary"];
    for key in ["primary", "secondary", "suppressed_numbers"] {
        assert_eq!(full["summary"][key], published[key], "{key}: {published}");
    }
    Ok(())
}
