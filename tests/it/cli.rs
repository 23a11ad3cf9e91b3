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
