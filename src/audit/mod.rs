//! `privstat audit`: checks a published release from its files alone, as an attacker would.
//!
//! The audit reads `manifest.json`, the code lists, the data dictionary and every table, and
//! - verifies every file's size and sha256 against the manifest, and that no file is unlisted;
//! - checks that every column of every table is in the data dictionary, that every cell of the key
//!   domain is present once per measure, that suppressed cells carry no value, and that tables
//!   sharing a cell publish the same number;
//! - scans every value of every file for identifier-shaped strings (Taiwan ID/UI, HKID, PRC ID,
//!   phone numbers), reporting where and what kind, never the text;
//! - checks the threshold on every published person count;
//! - rebuilds the relations between all published numbers ([`crate::attacker::system`]) from the
//!   code lists and the manifest's additivity, and computes every suppressed number's feasibility
//!   interval ([`crate::attacker::lp`]): none may be exactly recoverable, and every primary count's
//!   interval must hold at least `protection_level` integers beyond its lowest. In large linked
//!   groups a number that witnesses (solutions of the published relations) already show
//!   protected gets that inner interval, marked `witnesses`; every other interval is exact, and
//!   so is every interval with `exact`.
//!
//! Nothing in the report is a value the release does not publish: intervals are what anyone can
//! derive from it.

mod protection;
pub mod read;
mod records;
pub mod scan;
mod tables;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::attacker::CellStatus;
use crate::attacker::lp::{self, Solver};
use crate::attacker::rules::{self, int_width};
use crate::attacker::system::{AxisTree, Rank, Shape, System};
use crate::config::raw::{ProtectionMethod, Zeros};
use protection::{check_intervals, check_threshold};
use read::{Manifest, TextColumns, TextFrame};
use tables::{dictionary_columns, read_table};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The release must not be published as it is.
    Failure,
    /// Worth a look; the release may still be published.
    Warning,
}

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Manifest,
    Checksum,
    UnlistedFile,
    Dictionary,
    Structure,
    Identifier,
    Threshold,
    Protection,
    /// DP releases: margins add up and values are non-negative integers.
    Consistency,
    /// Record-level outputs: pseudonyms, no exact date, k and ℓ.
    Microdata,
}

impl Check {
    fn as_str(self) -> &'static str {
        match self {
            Self::Manifest => "manifest",
            Self::Checksum => "checksum",
            Self::UnlistedFile => "unlisted-file",
            Self::Dictionary => "dictionary",
            Self::Structure => "structure",
            Self::Identifier => "identifier",
            Self::Threshold => "threshold",
            Self::Protection => "protection",
            Self::Consistency => "consistency",
            Self::Microdata => "microdata",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub check: Check,
    pub file: Option<String>,
    /// 1-based line of a text file (the header is line 1), or row of a Parquet file.
    pub line: Option<usize>,
    pub message: String,
}

/// The feasibility interval of one suppressed number.
#[derive(Debug, Clone, Serialize)]
pub struct CellInterval {
    pub table: String,
    /// Dimension → code.
    pub cell: BTreeMap<String, String>,
    pub measure: String,
    pub status: CellStatus,
    pub lower: f64,
    /// `None` when nothing published bounds the number from above.
    pub upper: Option<f64>,
    /// Integers in the interval beyond its lowest; `None` when unbounded.
    pub width: Option<i64>,
    /// The width it must have.
    pub need: i64,
    pub ok: bool,
    /// `lp` or `elimination`: the exact interval; `witnesses`: an inner interval, enough for
    /// the need (the exact one holds it).
    pub method: lp::Method,
}

/// The result of an audit.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub release: Option<String>,
    pub directory: String,
    pub passed: bool,
    pub files_verified: usize,
    pub tables: usize,
    /// Distinct cells of the release (a cell shared by tables counts once).
    pub cells: usize,
    pub suppressed_numbers: usize,
    pub primary_numbers: usize,
    pub exactly_recoverable: usize,
    /// Intervals that are inner bounds from witnesses (see [`CellInterval::method`]).
    pub inner_intervals: usize,
    pub under_protected: usize,
    /// Suppressed numbers with no interval at all: the audit fails on any.
    pub unproven: usize,
    /// The narrowest interval of a primary count, in integers beyond its lowest.
    pub min_primary_width: Option<i64>,
    pub threshold: Option<u32>,
    pub protection_level: Option<u32>,
    /// The p% rule the manifest declares for sums: proven when the release was made, from the
    /// contributions, which are not in the release; here a suppressed sum needs only to be not
    /// exactly recoverable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_percent: Option<u32>,
    /// The (n,k)-dominance rule the manifest declares for sums, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nk_dominance: Option<crate::config::plan::Dominance>,
    pub seconds: f64,
    pub findings: Vec<Finding>,
    pub intervals: Vec<CellInterval>,
    /// Record-level files: k and ℓ as recomputed from each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub microdata: Vec<records::Measured>,
}

/// Findings of one check listed one by one before they are summarised.
const LISTED_PER_CHECK: usize = 20;

impl Report {
    fn new(dir: &Path) -> Self {
        Self {
            release: None,
            directory: dir.display().to_string(),
            passed: false,
            files_verified: 0,
            tables: 0,
            cells: 0,
            suppressed_numbers: 0,
            primary_numbers: 0,
            exactly_recoverable: 0,
            inner_intervals: 0,
            under_protected: 0,
            unproven: 0,
            min_primary_width: None,
            threshold: None,
            protection_level: None,
            p_percent: None,
            nk_dominance: None,
            seconds: 0.0,
            findings: Vec::new(),
            intervals: Vec::new(),
            microdata: Vec::new(),
        }
    }

    fn add(
        &mut self,
        severity: Severity,
        check: Check,
        file: Option<&str>,
        line: Option<usize>,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            check,
            file: file.map(str::to_owned),
            line,
            message,
        });
    }

    fn fail(&mut self, check: Check, file: Option<&str>, line: Option<usize>, message: String) {
        self.add(Severity::Failure, check, file, line, message);
    }

    /// Failures found.
    #[must_use]
    pub fn failures(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Failure)
            .count()
    }

    /// Findings as an aligned text table.
    #[must_use]
    pub fn findings_table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .findings
            .iter()
            .map(|f| {
                let place = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{file}:{line}"),
                    (Some(file), None) => file.clone(),
                    _ => String::new(),
                };
                let severity = match f.severity {
                    Severity::Failure => "FAIL",
                    Severity::Warning => "warn",
                };
                [
                    severity.to_owned(),
                    f.check.as_str().to_owned(),
                    place,
                    f.message.clone(),
                ]
            })
            .collect();
        let header = [
            "severity".to_owned(),
            "check".to_owned(),
            "where".to_owned(),
            "finding".to_owned(),
        ];
        let mut width = [0usize; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in width.iter().zip(row) {
                out.push_str(cell);
                out.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
            out.push_str(&row[3]);
            out.push('\n');
        }
        out
    }
}

/// Audits the release in `dir`; with `exact`, every interval is exact, else a number in a large
/// linked group that witnesses show protected gets an inner interval. Never fails: what cannot be
/// read is a finding.
#[must_use]
pub fn audit(dir: &Path, exact: bool) -> Report {
    let started = std::time::Instant::now();
    let mut report = Report::new(dir);
    if let Some(manifest) = read_manifest(dir, &mut report) {
        report.release = Some(manifest.release.clone());
        report.threshold = Some(manifest.protection.threshold);
        report.protection_level = Some(manifest.protection.protection_level);
        report.p_percent = manifest.protection.p_percent;
        report.nk_dominance = manifest.protection.nk_dominance;
        verify_files(dir, &manifest, &mut report);
        scan_identifiers(dir, &manifest, &mut report);
        check_tables(dir, &manifest, exact, &mut report);
    }
    cap_findings(&mut report);
    report.passed = report.failures() == 0;
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn read_manifest(dir: &Path, report: &mut Report) -> Option<Manifest> {
    let path = dir.join("manifest.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            report.fail(
                Check::Manifest,
                Some("manifest.json"),
                None,
                format!("cannot be read: {e}"),
            );
            return None;
        }
    };
    match serde_json::from_str::<Manifest>(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            report.fail(
                Check::Manifest,
                Some("manifest.json"),
                Some(e.line()),
                format!(
                    "not a privstat manifest: {}",
                    crate::scrub::scrub(&e.to_string())
                ),
            );
            None
        }
    }
}

/// Every file the manifest lists, tables' first.
fn listed_files(manifest: &Manifest) -> Vec<&read::File> {
    manifest
        .tables
        .iter()
        .flat_map(|t| &t.files)
        .chain(manifest.microdata.iter().flat_map(|m| &m.files))
        .chain(&manifest.files)
        .collect()
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name().is_some_and(|f| f == name)
}

fn verify_files(dir: &Path, manifest: &Manifest, report: &mut Report) {
    let listed = listed_files(manifest);
    let mut names: HashSet<&str> = HashSet::new();
    for f in &listed {
        if !is_plain_name(&f.name) {
            report.fail(
                Check::Manifest,
                Some("manifest.json"),
                None,
                format!(
                    "lists `{}`, which is not a file name in the release",
                    f.name
                ),
            );
            continue;
        }
        names.insert(&f.name);
        let path = dir.join(&f.name);
        let bytes = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(_) => {
                report.fail(
                    Check::Checksum,
                    Some(&f.name),
                    None,
                    "listed in the manifest but missing".into(),
                );
                continue;
            }
        };
        match crate::ingest::sha256_file(&path) {
            Ok(sha) if sha == f.sha256 && bytes == f.bytes => report.files_verified += 1,
            Ok(_) => report.fail(
                Check::Checksum,
                Some(&f.name),
                None,
                format!(
                    "sha256 or size differs from the manifest ({bytes} bytes, manifest says {}): \
                     the file was changed after publication",
                    f.bytes
                ),
            ),
            Err(e) => report.fail(Check::Checksum, Some(&f.name), None, e.to_string()),
        }
    }
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut unlisted: Vec<String> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "manifest.json" && !names.contains(n.as_str()))
                .collect();
            unlisted.sort();
            for name in unlisted {
                report.fail(
                    Check::UnlistedFile,
                    Some(&name),
                    None,
                    "in the release but not in the manifest".into(),
                );
            }
        }
        Err(e) => report.fail(Check::Manifest, None, None, e.to_string()),
    }
}

fn scan_identifiers(dir: &Path, manifest: &Manifest, report: &mut Report) {
    let mut files: Vec<String> = listed_files(manifest)
        .into_iter()
        .filter(|f| is_plain_name(&f.name))
        .map(|f| f.name.clone())
        .collect();
    files.push("manifest.json".into());
    // Files the manifest does not list are scanned too: they are in the release all the same.
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut extra: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !files.contains(n))
            .collect();
        extra.sort();
        files.extend(extra);
    }
    for name in files {
        let path = dir.join(&name);
        let mut found: Vec<(usize, scan::Shape)> = Vec::new();
        if name.ends_with(".parquet") {
            let Ok(frame) = TextColumns::read(&path) else {
                continue;
            };
            for c in &frame.names {
                found.extend(scan::shapes_in(c).into_iter().map(|s| (1, s)));
            }
            // Column by column (a register-sized file is never copied into rows), then in the
            // order of the file: row by row, columns in order.
            for values in &frame.columns {
                for (i, value) in values.iter().enumerate() {
                    if let Some(value) = value {
                        found.extend(scan::shapes_in(value).into_iter().map(|s| (i + 2, s)));
                    }
                }
            }
            found.sort_by_key(|&(line, _)| line);
        } else if name.ends_with(".xlsx") {
            // A workbook is compressed: its cells are scanned, sheet after sheet.
            let Ok(lines) = workbook_lines(&path) else {
                continue;
            };
            for (i, line) in lines.iter().enumerate() {
                found.extend(scan::shapes_in(line).into_iter().map(|s| (i + 1, s)));
            }
        } else {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                found.extend(scan::shapes_in(line).into_iter().map(|s| (i + 1, s)));
            }
        }
        for (line, shape) in found {
            report.fail(
                Check::Identifier,
                Some(&name),
                Some(line),
                format!("a value shaped like {}", shape.describe()),
            );
        }
    }
}

/// Every row of every sheet of a workbook as one line of its cells' text.
fn workbook_lines(path: &Path) -> Result<Vec<String>, calamine::Error> {
    use calamine::Reader as _;
    let mut workbook = calamine::open_workbook_auto(path)?;
    let mut lines = Vec::new();
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name)?;
        for row in range.rows() {
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            lines.push(cells.join(","));
        }
    }
    Ok(lines)
}

/// A table's cells as published: `[measure][cell]` → status and value.
type Grid = Vec<Vec<Option<(CellStatus, Option<i64>)>>>;

fn check_tables(dir: &Path, manifest: &Manifest, exact: bool, report: &mut Report) {
    let dictionary = match TextFrame::read(&dir.join("data-dictionary.csv")) {
        Ok(f) => dictionary_columns(&f),
        Err(e) => {
            report.fail(
                Check::Dictionary,
                Some("data-dictionary.csv"),
                None,
                format!("cannot be read: {e}"),
            );
            return;
        }
    };
    let codelists =
        match TextFrame::read(&dir.join("codelists.csv")).and_then(|f| read::codelists(&f)) {
            Ok(c) => c,
            Err(e) => {
                report.fail(
                    Check::Structure,
                    Some("codelists.csv"),
                    None,
                    format!("cannot be read: {e}"),
                );
                return;
            }
        };
    records::check_microdata(dir, manifest, &dictionary, report);
    let mut shapes = Vec::new();
    let mut grids = Vec::new();
    for table in &manifest.tables {
        report.tables += 1;
        if let Some((shape, grid)) = read_table(dir, table, &dictionary, &codelists, report) {
            shapes.push(shape);
            grids.push(grid);
        }
    }
    if manifest.protection.method == ProtectionMethod::Dp {
        // Every cell is noisy: there is no suppressed number to attack, published counts below
        // the threshold are expected, and tables carry independent noise. What a DP release
        // promises is consistency.
        report.cells = shapes.iter().map(Shape::len).sum();
        check_consistency(&shapes, &grids, report);
    } else {
        check_threshold(manifest, &shapes, &grids, report);
        check_intervals(manifest, shapes, &grids, exact, report);
    }
}

/// DP releases: every published value is a non-negative integer and, wherever a measure adds up
/// over a dimension, every margin equals the sum of its children.
fn check_consistency(shapes: &[Shape], grids: &[Grid], report: &mut Report) {
    for (shape, grid) in shapes.iter().zip(grids) {
        let mut negative = 0usize;
        let mut unequal = 0usize;
        let mut first: Option<String> = None;
        for (m, cells) in grid.iter().enumerate() {
            let value = |cell: usize| cells[cell].and_then(|(_, v)| v);
            negative += (0..cells.len())
                .filter(|&c| value(c).is_some_and(|v| v < 0))
                .count();
            for (a, axis) in shape.axes.iter().enumerate() {
                if !shape.additive[m][a] {
                    continue;
                }
                for cell in 0..cells.len() {
                    let mut pos = shape.positions(cell);
                    let kids = &axis.children[pos[a] as usize];
                    if kids.is_empty() {
                        continue;
                    }
                    let Some(parent) = value(cell) else { continue };
                    let mut sum = Some(0i64);
                    for &k in kids {
                        pos[a] = k;
                        sum = sum.zip(value(shape.index(&pos))).map(|(s, v)| s + v);
                    }
                    if let Some(sum) = sum
                        && sum != parent
                    {
                        unequal += 1;
                        if first.is_none() {
                            first = Some(format!(
                                "{} at {}={}",
                                shape.measures[m], axis.domain, axis.codes[pos[a] as usize]
                            ));
                        }
                    }
                }
            }
        }
        if negative > 0 {
            report.fail(
                Check::Consistency,
                Some(&shape.name),
                None,
                format!("{negative} published values are negative"),
            );
        }
        if unequal > 0 {
            report.fail(
                Check::Consistency,
                Some(&shape.name),
                None,
                format!(
                    "{unequal} margins differ from the sum of their cells (first: {})",
                    first.unwrap_or_default()
                ),
            );
        }
    }
}

/// Keeps the first findings of each check and file, and summarises the rest.
fn cap_findings(report: &mut Report) {
    let mut count: HashMap<(Check, Option<String>), usize> = HashMap::new();
    let mut kept = Vec::new();
    let mut dropped: BTreeMap<(&'static str, String), (Severity, Check, usize)> = BTreeMap::new();
    for f in std::mem::take(&mut report.findings) {
        let n = count.entry((f.check, f.file.clone())).or_insert(0);
        *n += 1;
        if *n <= LISTED_PER_CHECK || f.check == Check::Protection || f.check == Check::Structure {
            kept.push(f);
        } else {
            dropped
                .entry((f.check.as_str(), f.file.clone().unwrap_or_default()))
                .or_insert((f.severity, f.check, 0))
                .2 += 1;
        }
    }
    for ((_, file), (severity, check, n)) in dropped {
        kept.push(Finding {
            severity,
            check,
            file: (!file.is_empty()).then_some(file),
            line: None,
            message: format!("… and {n} more like these"),
        });
    }
    report.findings = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_only() {
        assert!(is_plain_name("table.csv"));
        for bad in ["", ".", "..", "../x.csv", "a/b.csv", "/etc/passwd", "a\\b"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
