//! The one-way flow of the pipeline, checked over the source: a module of `src/` may name
//! (`crate::…`) only modules of earlier stages, and never one of the pairs kept apart ([`APART`]:
//! `audit` never names `protect`). Run it alone with
//! `cargo test --test it imports`.
//!
//! Test-only modules (declared under `#[cfg(test)]`, with their children, and `mod tests { … }`
//! blocks) are left out:
//! a test may drive later stages to check an earlier one. Comments are left out too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages, earliest first.
const ORDER: [&str; 16] = [
    "text",
    "scrub",
    "config",
    "ingest",
    "pseudonymise",
    "tabulate",
    "attacker",
    "protect",
    "dp",
    "microdata",
    "audit",
    "report",
    "publish",
    "error",
    "synth",
    "cli",
];

/// Imports allowed by the order but against the design, as (from, to): the auditor checks a release
/// from its files through the attacker's view, never through the protector's code (an auditor that
/// shares the protector's bugs passes them); the attacker's view knows no plan, file or table.
const APART: [(&str, &str); 7] = [
    ("audit", "protect"),
    ("audit", "microdata"),
    ("attacker", "config"),
    ("attacker", "ingest"),
    ("attacker", "pseudonymise"),
    ("attacker", "tabulate"),
    ("attacker", "scrub"),
];

/// Imports against the flow that are known and still to be removed, as (from, to): none left. The
/// test fails when one is added, and also when one of these is gone (so the list only shrinks).
const KNOWN: [(&str, &str); 0] = [];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module names that follow `#[cfg(test)]` as `mod NAME;` in `text`.
fn test_only_modules(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut after_cfg = false;
    for line in text.lines().map(str::trim) {
        if line == "#[cfg(test)]" {
            after_cfg = true;
            continue;
        }
        if after_cfg && let Some(name) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';'))
        {
            out.push(name.to_owned());
        }
        after_cfg = false;
    }
    out
}

/// Every `crate::NAME` a line of code names.
fn named_modules(line: &str) -> impl Iterator<Item = &str> {
    line.match_indices("crate::").filter_map(move |(i, m)| {
        let rest = &line[i + m.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

#[test]
fn no_module_imports_a_later_stage() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut test_only = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("UTF-8 source");
        // A child of `a/mod.rs` (or `lib.rs`) lives in `a/`; a child of `a/b.rs` in `a/b/`.
        let parent = file.parent().expect("a parent");
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let dir = if ["mod", "lib", "main"].contains(&stem) {
            parent.to_path_buf()
        } else {
            parent.join(stem)
        };
        for name in test_only_modules(&text) {
            test_only.insert(dir.join(format!("{name}.rs")));
            // The module's own directory: `name/mod.rs` and every child of the module.
            test_only.insert(dir.join(name));
        }
    }
    let rank: BTreeMap<&str, usize> = ORDER.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut apart: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let Some(first) = relative.components().next() else {
            continue;
        };
        let top = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if ["lib", "main"].contains(&top.as_str()) || test_only.iter().any(|t| file.starts_with(t))
        {
            continue;
        }
        let Some(&from) = rank.get(top.as_str()) else {
            unplaced.insert(top);
            continue;
        };
        let text = std::fs::read_to_string(file).expect("UTF-8 source");
        let code = text
            .find("#[cfg(test)]\nmod tests {")
            .map_or(text.as_str(), |at| &text[..at]);
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for name in named_modules(line) {
                if APART.contains(&(top.as_str(), name)) {
                    apart
                        .entry((top.clone(), name.to_owned()))
                        .or_default()
                        .insert(relative.display().to_string());
                }
                if let Some(&to) = rank.get(name)
                    && to > from
                {
                    found
                        .entry((top.clone(), name.to_owned()))
                        .or_default()
                        .insert(relative.display().to_string());
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules with no stage in ORDER: {unplaced:?}"
    );
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert!(apart.is_empty(), "imports kept apart by design: {apart:#?}");
    let new: Vec<_> = found.iter().filter(|(k, _)| !known.contains(*k)).collect();
    assert!(new.is_empty(), "imports of a later stage: {new:#?}");
    let gone: Vec<_> = known.iter().filter(|k| !found.contains_key(*k)).collect();
    assert!(
        gone.is_empty(),
        "no longer imported, remove from KNOWN: {gone:?}"
    );
}
