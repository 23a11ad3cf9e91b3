//! Stage 5, publish: protected tables → a release directory, all or nothing.
//!
//! `DIR/<release>/` holds, per table, `<table>.parquet` and/or `<table>.csv` in tidy long form (one
//! row per cell and measure), `data-dictionary.csv`, `codelists.csv`, `datapackage.json` (a typed
//! schema of the CSV files) and `manifest.json`. Everything
//! is written into a temporary directory beside the target and renamed into place. Before the
//! rename, the staged release is audited from its files alone ([`crate::audit`]), and a release
//! that fails it is not published.
//!
//! The operator's files go to the operator directory (`DIR/.operator/<release>/` unless
//! `[publish] operator_dir` says otherwise), never into the release nor linked from it:
//! `quarantine.csv` (where each rejected value is and why), `audit.json` and `run.json` (the inputs'
//! exact counts, which a DP manifest withholds) and, when the p% rule withheld a sum,
//! `p-percent.json` (each such sum with the room to rise it needed and the room it got).

mod atomic;
pub mod datapackage;
mod files;
mod frames;
mod layout;
pub mod manifest;
pub mod records;
mod workbook;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Plan;
use crate::config::raw::OutputFormat;
use crate::ingest::{Quarantine, SourceReport};
use crate::protect::Protected;
use crate::pseudonymise::PseudonymMethod;

pub use atomic::{ReleaseLock, prepare, release_dir, write_atomic};

/// Errors while writing a release.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{}: a release of that name exists\n  hint: pass --force to replace it, or change [release] name", path.display())]
    Exists { path: PathBuf },
    #[error(
        "{}: another privstat run is publishing this release\n  hint: wait for it to finish",
        lock.display()
    )]
    Busy { lock: PathBuf },
    #[error(
        "{}: exists but is not a release directory (no manifest.json), so --force will not replace it\n  hint: move it away, or change [release] name or --out",
        path.display()
    )]
    NotARelease { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the release failed its audit ({failures} failures), so nothing was published; the report is {}\n{findings}",
        report.display()
    )]
    Audit {
        report: PathBuf,
        failures: usize,
        findings: String,
    },
    #[error(
        "internal error while writing `{file}`: {message}; this is a bug in privstat, please report it"
    )]
    Frame { file: String, message: String },
}

impl PublishError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    pub release_dir: PathBuf,
    pub quarantine_report: PathBuf,
    /// The audit of the release, run before it was renamed into place.
    pub audit_report: PathBuf,
    pub audit: crate::audit::Report,
    pub manifest: manifest::Manifest,
    /// The inputs' exact counts, for the operator (a DP manifest withholds them).
    #[serde(skip)]
    pub sources: Vec<SourceReport>,
}

/// Everything the release is made of.
pub struct ReleaseInput<'a> {
    pub plan: &'a Plan,
    pub protected: &'a Protected,
    /// What the manifest says about a DP release (none for suppression).
    pub dp: Option<&'a crate::dp::DpReport>,
    pub sources: &'a [SourceReport],
    pub quarantine: &'a Quarantine,
    pub pseudonyms: &'a PseudonymMethod,
    /// Record-level outputs (a release has these or tables, not both).
    pub microdata: &'a [crate::microdata::Shared],
    pub force: bool,
}

/// Writes the release and the quarantine report.
///
/// # Errors
/// [`PublishError::Exists`] when the release exists and `force` is off; I/O errors otherwise. On
/// error nothing is left in place of the release.
pub fn write(input: &ReleaseInput<'_>) -> Result<Published, PublishError> {
    let plan = input.plan;
    let target = release_dir(plan);
    if target.exists() && !input.force {
        return Err(PublishError::Exists { path: target });
    }
    let staging = atomic::Staging::new(&plan.publish.dir, &plan.release.name)?;

    let mut table_entries = Vec::new();
    let mut table_frames = Vec::new();
    for pt in &input.protected.tables {
        let mut df = frames::table_frame(pt).map_err(|e| frame_error(&pt.table.name, &e))?;
        let mut files = Vec::new();
        for format in &plan.publish.formats {
            let name = match format {
                OutputFormat::Parquet => format!("{}.parquet", pt.table.name),
                OutputFormat::Csv => format!("{}.csv", pt.table.name),
                OutputFormat::Xlsx => continue,
            };
            let path = staging.path().join(&name);
            frames::write_frame(&mut df, &path, *format, plan.publish.csv_bom)?;
            files.push(manifest::FileEntry::of(&path, name)?);
        }
        table_entries.push(manifest::TableEntry::new(pt, plan, files));
        table_frames.push(df);
    }
    // Tables with `layout = "report"` also in the county's summary layout.
    let mut layouts: Vec<(String, polars::prelude::DataFrame)> = Vec::new();
    let mut layout_files = Vec::new();
    let mut layout_dictionary = Vec::new();
    for pt in &input.protected.tables {
        let spec = plan.tables.iter().find(|s| s.name == pt.table.name);
        if spec.is_none_or(|s| s.layout != crate::config::raw::Layout::Report) {
            continue;
        }
        let name = layout::name(&pt.table.name);
        let file = format!("{name}.csv");
        let mut df = layout::frame(pt, plan).map_err(|e| frame_error(&file, &e))?;
        let path = staging.path().join(&file);
        frames::write_frame(&mut df, &path, OutputFormat::Csv, plan.publish.csv_bom)?;
        layout_files.push(manifest::FileEntry::of(&path, file)?);
        layout_dictionary.extend(layout::dictionary_rows(pt, &df));
        layouts.push((name, df));
    }

    // Record-level outputs, each in every format, and their risk report.
    let mut microdata_entries = Vec::new();
    let mut microdata_dictionary = Vec::new();
    let mut microdata_files = Vec::new();
    for shared in input.microdata {
        let mut df = shared.frame.clone();
        let mut files = Vec::new();
        for format in &plan.publish.formats {
            let name = match format {
                OutputFormat::Parquet => format!("{}.parquet", shared.name),
                OutputFormat::Csv => format!("{}.csv", shared.name),
                OutputFormat::Xlsx => continue,
            };
            let path = staging.path().join(&name);
            frames::write_frame(&mut df, &path, *format, plan.publish.csv_bom)?;
            files.push(manifest::FileEntry::of(&path, name)?);
        }
        microdata_entries.push(records::MicrodataEntry::new(
            shared,
            plan,
            &input.pseudonyms.key_fingerprint,
            files,
        ));
        microdata_dictionary.extend(records::dictionary_rows(shared, plan));
    }
    if !input.microdata.is_empty() {
        let mut risk =
            frames::text_frame(records::RISK_COLUMNS, &records::risk_rows(input.microdata))
                .map_err(|e| frame_error(records::RISK_REPORT, &e))?;
        let path = staging.path().join(records::RISK_REPORT);
        frames::write_frame(&mut risk, &path, OutputFormat::Csv, plan.publish.csv_bom)?;
        microdata_files.push(manifest::FileEntry::of(&path, records::RISK_REPORT.into())?);
        microdata_dictionary.extend(records::risk_dictionary_rows());
    }

    let mut dictionary_rows = frames::dictionary_rows(input.protected, plan);
    dictionary_rows.extend(layout_dictionary);
    dictionary_rows.extend(microdata_dictionary);
    let mut dictionary = frames::text_frame(frames::DICTIONARY_COLUMNS, &dictionary_rows)
        .map_err(|e| frame_error("data-dictionary.csv", &e))?;
    let dict_path = staging.path().join("data-dictionary.csv");
    frames::write_frame(
        &mut dictionary,
        &dict_path,
        OutputFormat::Csv,
        plan.publish.csv_bom,
    )?;
    let mut codelists = frames::codelists_frame(input.protected, input.microdata, plan)
        .map_err(|e| frame_error("codelists.csv", &e))?;
    let codes_path = staging.path().join("codelists.csv");
    frames::write_frame(
        &mut codelists,
        &codes_path,
        OutputFormat::Csv,
        plan.publish.csv_bom,
    )?;
    let package = datapackage::descriptor(plan, input.protected, input.microdata, &dictionary_rows);
    let package_path = staging.path().join(datapackage::FILE);
    let json =
        serde_json::to_vec_pretty(&package).map_err(|e| frame_error(datapackage::FILE, &e))?;
    atomic::write_synced(&package_path, &json)?;
    let mut other_files = vec![
        manifest::FileEntry::of(&dict_path, "data-dictionary.csv".into())?,
        manifest::FileEntry::of(&codes_path, "codelists.csv".into())?,
        manifest::FileEntry::of(&package_path, datapackage::FILE.into())?,
    ];
    other_files.extend(layout_files);
    other_files.extend(microdata_files);
    if plan.publish.formats.contains(&OutputFormat::Xlsx) {
        let name = format!("{}.xlsx", plan.release.name);
        let path = staging.path().join(&name);
        let mut sheets: Vec<(&str, &polars::prelude::DataFrame)> = input
            .protected
            .tables
            .iter()
            .map(|pt| pt.table.name.as_str())
            .zip(&table_frames)
            .collect();
        sheets.extend(layouts.iter().map(|(n, df)| (n.as_str(), df)));
        sheets.push(("data-dictionary", &dictionary));
        sheets.push(("codelists", &codelists));
        workbook::write(&path, &sheets)?;
        other_files.push(manifest::FileEntry::of(&path, name)?);
    }

    // The publisher's own pages, as they are; the audit checks them like every other file.
    for a in &plan.publish.attachments {
        let path = staging.path().join(&a.name);
        if path.exists() {
            return Err(PublishError::io(
                &a.path,
                std::io::Error::other(format!(
                    "the attachment's name `{}` is taken by a file of the release; rename it",
                    a.name
                )),
            ));
        }
        let bytes = std::fs::read(&a.path).map_err(|e| PublishError::io(&a.path, e))?;
        atomic::write_synced(&path, &bytes)?;
        other_files.push(manifest::FileEntry::of(&path, a.name.clone())?);
    }

    // The report is made from the release's own files, the manifest among them, so that
    // `privstat report` rebuilds it; then the manifest lists it too.
    let manifest_path = staging.path().join("manifest.json");
    let mut manifest = manifest::Manifest::new(input, table_entries, other_files);
    manifest.microdata = microdata_entries;
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| frame_error("manifest.json", &e))?;
    atomic::write_synced(&manifest_path, &json)?;
    let report =
        crate::report::render(staging.path()).map_err(|e| frame_error(crate::report::FILE, &e))?;
    let report_path = staging.path().join(crate::report::FILE);
    atomic::write_synced(&report_path, report.as_bytes())?;
    manifest.files.push(manifest::FileEntry::of(
        &report_path,
        crate::report::FILE.into(),
    )?);
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| frame_error("manifest.json", &e))?;
    atomic::write_synced(&manifest_path, &json)?;

    let operator = &plan.publish.operator_dir;
    create_private_dir(operator)?;
    let quarantine_path = operator.join("quarantine.csv");
    let mut report = frames::quarantine_frame(input.quarantine, input.sources)
        .map_err(|e| frame_error("quarantine report", &e))?;
    let mut bytes = Vec::new();
    frames::write_csv(&mut report, &mut bytes, plan.publish.csv_bom)
        .map_err(|e| frame_error("quarantine report", &e))?;
    write_atomic(&quarantine_path, &bytes)?;
    let json = serde_json::to_vec_pretty(input.sources).map_err(|e| frame_error("run.json", &e))?;
    write_atomic(&operator.join("run.json"), &json)?;
    // Which sums the p% rule withheld, and the room each needed and got: the need tells how large
    // the largest contribution is, so it is the operator's alone. A stale file of an earlier run
    // is removed.
    let dominated_path = operator.join("p-percent.json");
    if input.protected.dominated.is_empty() {
        if dominated_path.exists() {
            std::fs::remove_file(&dominated_path)
                .map_err(|e| PublishError::io(&dominated_path, e))?;
        }
    } else {
        let json = serde_json::to_vec_pretty(&input.protected.dominated)
            .map_err(|e| frame_error("p-percent.json", &e))?;
        write_atomic(&dominated_path, &json)?;
    }

    let mut audit = crate::audit::audit(staging.path(), false);
    audit.directory = target.display().to_string();
    if !audit.passed {
        // The intervals of a release that is not published would give its hidden values away.
        audit.intervals.clear();
    }
    let audit_path = operator.join("audit.json");
    let json = serde_json::to_vec_pretty(&audit).map_err(|e| frame_error("audit report", &e))?;
    write_atomic(&audit_path, &json)?;
    if !audit.passed {
        return Err(PublishError::Audit {
            report: audit_path,
            failures: audit.failures(),
            findings: audit.findings_table(),
        });
    }

    staging.commit(&target, input.force)?;
    Ok(Published {
        release_dir: target,
        quarantine_report: quarantine_path,
        audit_report: audit_path,
        audit,
        manifest,
        sources: input.sources.to_vec(),
    })
}

/// The operator directory, readable by its owner only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), PublishError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| PublishError::io(dir, e))
}

fn frame_error(file: &str, e: &dyn std::fmt::Display) -> PublishError {
    PublishError::Frame {
        file: file.to_owned(),
        message: crate::scrub::scrub(&e.to_string()),
    }
}
