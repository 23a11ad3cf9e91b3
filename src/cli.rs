//! The command line: `run`, `check`, `audit`, `keygen` and `synth`. Results go to standard output, progress
//! and errors to standard error.
#![allow(
    clippy::print_stdout,
    reason = "this module writes the command's results"
)]

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::attacker::CellStatus;
use crate::config::{self, Overrides};
use crate::dp::ledger::amount_text;
use crate::error::Error;
use crate::{Progress, synth};

/// Writes a line of results to standard output. A closed pipe (`privstat check … | head`) ends the
/// output quietly instead of panicking as `println!` would.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Publish statistics about the people a service serves without exposing any of them.
#[derive(Debug, Parser)]
#[command(name = "privstat", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline file end to end and publish the release.
    Run {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
        /// Publish into DIR instead of the pipeline's [publish] dir.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Read source NAME from PATH instead of the pipeline's path (repeatable).
        #[arg(long = "source", value_name = "NAME=PATH", value_parser = parse_source)]
        sources: Vec<(String, PathBuf)>,
        /// Replace an existing release of the same name.
        #[arg(long)]
        force: bool,
        /// DP releases: the budget ledger to charge, instead of the pipeline's `ledger`.
        #[arg(long, value_name = "PATH")]
        ledger: Option<PathBuf>,
        /// Allow up to SHARE (0 to 1) of a source's rows to be quarantined, replacing
        /// `[limits] max_quarantined_share` (default 0.2).
        #[arg(long, value_name = "SHARE")]
        allow_quarantined_share: Option<f64>,
        /// Print the summary as JSON on standard output (progress stays on standard error).
        #[arg(long)]
        json: bool,
    },
    /// List the privacy budget spent and left per dataset in a ledger.
    Budget {
        /// The ledger file (JSON lines, as `privstat run` writes it).
        #[arg(long, value_name = "PATH")]
        ledger: PathBuf,
        /// Print the standings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a pipeline file and its inputs, print the plan and the quarantine, write nothing.
    Check {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
        /// Read source NAME from PATH instead of the pipeline's path (repeatable).
        #[arg(long = "source", value_name = "NAME=PATH", value_parser = parse_source)]
        sources: Vec<(String, PathBuf)>,
        /// Allow up to SHARE (0 to 1) of a source's rows to be quarantined, replacing
        /// `[limits] max_quarantined_share` (default 0.2).
        #[arg(long, value_name = "SHARE")]
        allow_quarantined_share: Option<f64>,
        /// Print the findings as JSON on standard output (progress stays on standard error).
        #[arg(long)]
        json: bool,
        /// Also run secondary suppression and the LP audit, as `run` would (seconds on large
        /// linked tables); by default `check` applies the primary rule only.
        #[arg(long)]
        protect: bool,
    },
    /// Audit a published release from its files alone; exit non-zero on any failure.
    Audit {
        /// The release directory (holding manifest.json).
        release_dir: PathBuf,
        /// Print the full report as JSON (findings and every suppressed number's interval).
        #[arg(long)]
        json: bool,
        /// Compute every interval exactly. By default a number in a large linked group that
        /// solutions of the published relations already show protected gets that inner
        /// interval, which decides pass or fail the same way in a fraction of the time.
        #[arg(long)]
        exact: bool,
    },
    /// Rebuild a release's report.html from its files (the same bytes `run` published).
    Report {
        /// The release directory (holding manifest.json).
        release_dir: PathBuf,
        /// Where to write the page; standard output when not given. Never inside a release.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a shell completion script (e.g. `privstat completions bash > /etc/bash_completion.d/privstat`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; e.g. `privstat man > privstat.1 && man ./privstat.1`).
    Man,
    /// Write a new random pseudonymisation key (32 bytes, hex) readable only by its owner.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Map a microdata output's pseudonyms under the pipeline's key to those under a new key:
    /// run by the holder of the raw data when an agreement's key is rotated; the map
    /// (old_pseudonym,new_pseudonym, one row per person of the output) goes to the recipients,
    /// never an identifier.
    Rekey {
        /// The pipeline file that made the release.
        pipeline: PathBuf,
        /// The microdata output (default: the pipeline's only one).
        #[arg(long)]
        output: Option<String>,
        /// The new key's file (from `privstat keygen`).
        #[arg(long, value_name = "FILE", conflicts_with = "to_key_env")]
        to_key_file: Option<PathBuf>,
        /// An environment variable holding the new key.
        #[arg(long, value_name = "VAR")]
        to_key_env: Option<String>,
        /// The new context (default: the output's context, unchanged).
        #[arg(long)]
        to_context: Option<String>,
        /// Where to write the map (CSV); an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace a source's file for this run: NAME=PATH (repeatable).
        #[arg(long = "source", value_name = "NAME=PATH", value_parser = parse_source)]
        sources: Vec<(String, PathBuf)>,
    },
    /// Write a synthetic export for tests and benchmarks (seeded, deterministic).
    Synth {
        /// Which kind of export to imitate.
        #[arg(long, value_enum)]
        profile: synth::Profile,
        /// Number of data rows.
        #[arg(long, default_value_t = 3000)]
        rows: u64,
        /// Random seed; the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Text encoding of the file.
        #[arg(long, value_enum, default_value_t = synth::OutputEncoding::Utf8)]
        encoding: synth::OutputEncoding,
        /// Share of rows with injected messiness (0 to 1).
        #[arg(long, default_value_t = 0.08)]
        messiness: f64,
        /// Output file (CSV).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

fn parse_source(s: &str) -> Result<(String, PathBuf), String> {
    s.split_once('=')
        .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        .map(|(n, p)| (n.to_owned(), PathBuf::from(p)))
        .ok_or_else(|| format!("`{s}` is not NAME=PATH"))
}

/// Executes a parsed command line.
///
/// # Errors
/// Whatever the command fails with.
pub fn execute(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run {
            pipeline,
            out,
            sources,
            force,
            ledger,
            allow_quarantined_share,
            json,
        } => {
            let plan = config::load(
                &pipeline,
                &Overrides {
                    out,
                    sources,
                    ledger,
                    max_quarantined_share: allow_quarantined_share,
                },
            )?;
            warn_about_key(&plan);
            let published = crate::run(&plan, force, &Progress::stderr())?;
            let m = &published.manifest;
            if json {
                let summary = serde_json::json!({
                    "release_dir": published.release_dir,
                    "sources": published.sources,
                    "tables": m.tables,
                    "microdata": m.microdata,
                    "protection": m.protection,
                    "files": m.files,
                    "audit": {
                        "passed": published.audit.passed,
                        "suppressed_numbers": published.audit.suppressed_numbers,
                        "exactly_recoverable": published.audit.exactly_recoverable,
                        "min_primary_width": published.audit.min_primary_width,
                        "report": published.audit_report,
                    },
                    "quarantine_report": published.quarantine_report,
                });
                let text = serde_json::to_string_pretty(&summary)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                say!("{text}");
                return Ok(());
            }
            say!("published {}", published.release_dir.display());
            for input in &published.sources {
                say!(
                    "  source {}: {} rows read = {} used + {} quarantined + {} out of period",
                    input.name,
                    input.rows_read,
                    input.rows_used,
                    input.rows_quarantined,
                    input.rows_out_of_period
                );
            }
            for t in &m.tables {
                let statuses: Vec<String> = t
                    .cells_by_status
                    .iter()
                    .map(|(s, n)| format!("{n} {}", s.as_str()))
                    .collect();
                say!(
                    "  table {}: {} cells ({})",
                    t.name,
                    t.cells,
                    statuses.join(", ")
                );
            }
            if let Some(dp) = &m.protection.dp {
                say_dp_plan(&dp.plan, "  ");
                for b in &dp.bounding_loss {
                    say!(
                        "  table {}: bounding removed about {} ± {} records (each person's counted up to {}) of about {} ± {} persons (noisy, published)",
                        b.table,
                        b.records_removed,
                        b.records_removed_moe95,
                        b.removed_cap_per_person,
                        b.persons_cut,
                        b.persons_cut_moe95
                    );
                }
                if let Some(id) = &dp.ledger_entry {
                    say!("  ledger entry {id}");
                }
            } else if m.microdata.is_empty() {
                say_protection(&m.protection.summary);
            }
            for d in &m.microdata {
                say!(
                    "  microdata {}: {} records of {} persons, k = {} (smallest class {}){}; values of {} persons ({} records) suppressed; pseudonyms under context `{}`, key fingerprint {}",
                    d.name,
                    d.records,
                    d.persons,
                    d.k,
                    d.published.smallest_class,
                    d.l.map_or_else(String::new, |l| format!(", ℓ = {l}")),
                    d.persons_suppressed,
                    d.records_suppressed,
                    d.pseudonym.context,
                    d.pseudonym.key_fingerprint
                );
            }
            for w in &m.protection.warnings {
                eprintln!("warning: {w}");
            }
            if !m.microdata.is_empty() {
                say!(
                    "  audit: passed (checksums, dictionary, structure, identifiers, pseudonyms, no exact date, k and ℓ recomputed from the files); report {}",
                    published.audit_report.display()
                );
            } else if m.protection.dp.is_some() {
                say!(
                    "  audit: passed (checksums, dictionary, structure, identifiers, consistency: margins add up, values non-negative); report {}",
                    published.audit_report.display()
                );
            } else {
                say!(
                    "  audit: passed ({} suppressed numbers, {} exactly recoverable, narrowest primary interval {}); report {}",
                    published.audit.suppressed_numbers,
                    published.audit.exactly_recoverable,
                    published
                        .audit
                        .min_primary_width
                        .map_or_else(|| "-".to_owned(), |w| w.to_string()),
                    published.audit_report.display()
                );
            }
            say!(
                "  quarantine report: {}",
                published.quarantine_report.display()
            );
            Ok(())
        }
        Command::Audit {
            release_dir,
            json,
            exact,
        } => {
            if !release_dir.join("manifest.json").is_file() {
                return Err(Error::Usage(format!(
                    "{}: not a release directory (no manifest.json)",
                    release_dir.display()
                )));
            }
            let report = crate::audit::audit(&release_dir, exact);
            if json {
                let text = serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                say!("{text}");
            } else {
                print_audit(&report);
            }
            if report.passed {
                Ok(())
            } else {
                Err(Error::AuditFailed(report.failures()))
            }
        }
        Command::Check {
            pipeline,
            sources,
            allow_quarantined_share,
            json,
            protect,
        } => {
            let plan = config::load(
                &pipeline,
                &Overrides {
                    out: None,
                    sources,
                    ledger: None,
                    max_quarantined_share: allow_quarantined_share,
                },
            )?;
            warn_about_key(&plan);
            let depth = if protect {
                crate::Depth::Complete
            } else {
                crate::Depth::Primary
            };
            let progress = Progress::stderr();
            let intake = crate::intake(&plan, &progress)?;
            if let Err(refusal) = intake.refusal(&plan) {
                // `check` is where a refused source is diagnosed: every reason first, then the
                // refusal itself as the error.
                drop(progress);
                if json {
                    let text = serde_json::to_string_pretty(&serde_json::json!({
                        "pipeline": plan.file,
                        "release": plan.release.name,
                        "sources": intake.sources,
                        "quarantine": quarantine_json(intake.quarantine()),
                        "refused": refusal.to_string(),
                        "written": false,
                    }))
                    .map_err(|e| Error::Internal(e.to_string()))?;
                    say!("{text}");
                } else {
                    print_intake(&plan, &intake.sources, intake.quarantine());
                }
                return Err(refusal);
            }
            let analysis = crate::analyse_intake(&plan, intake, &progress, depth)?;
            if json {
                let text = serde_json::to_string_pretty(&check_json(&plan, &analysis))
                    .map_err(|e| Error::Internal(e.to_string()))?;
                say!("{text}");
            } else {
                print_check(&plan, &analysis);
            }
            Ok(())
        }
        Command::Budget { ledger, json } => {
            if !ledger.is_file() {
                return Err(Error::Usage(format!(
                    "{}: no ledger there (a ledger is created by the first DP release)",
                    ledger.display()
                )));
            }
            let book = crate::dp::ledger::Ledger::at(&ledger);
            let (standings, head) = book
                .standings_and_head()
                .map_err(crate::dp::DpError::from)?;
            if json {
                let text = serde_json::to_string_pretty(&serde_json::json!({
                    "ledger_head": head,
                    "datasets": standings,
                }))
                .map_err(|e| Error::Internal(e.to_string()))?;
                say!("{text}");
            } else {
                say!("ledger {} (chain head {head})", ledger.display());
                say!("dataset\tcap\tspent\tremaining\treleases\tpublished\tlast release");
                for s in standings {
                    say!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        s.dataset,
                        crate::dp::ledger::cap_text(s.cap),
                        amount_text(s.spent),
                        amount_text(s.remaining),
                        s.releases,
                        s.published,
                        s.last_release.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        Command::Report { release_dir, out } => {
            if !release_dir.join("manifest.json").is_file() {
                return Err(Error::Usage(format!(
                    "{}: not a release directory (no manifest.json)",
                    release_dir.display()
                )));
            }
            let page = crate::report::render(&release_dir)?;
            match out {
                Some(out) => {
                    // A file written into a release would fail its audit (unlisted).
                    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
                    let inside = parent
                        .and_then(|p| p.canonicalize().ok())
                        .zip(release_dir.canonicalize().ok())
                        .is_some_and(|(p, r)| p.starts_with(r));
                    if inside {
                        return Err(Error::Usage(format!(
                            "{}: is inside the release, whose files the manifest lists; write the page elsewhere",
                            out.display()
                        )));
                    }
                    crate::publish::write_atomic(&out, page.as_bytes())?;
                    say!("wrote {} ({} bytes)", out.display(), page.len());
                }
                None => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().lock().write_all(page.as_bytes());
                }
            }
            Ok(())
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, "privstat", &mut out);
            use std::io::Write as _;
            let _ = std::io::stdout().lock().write_all(&out);
            Ok(())
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map_err(|e| Error::Internal(e.to_string()))?;
            use std::io::Write as _;
            let _ = std::io::stdout().lock().write_all(&out);
            Ok(())
        }
        Command::Keygen { out } => {
            crate::pseudonymise::key::write_new_key(&out)?;
            say!(
                "wrote a new key to {} (mode 0600); keep it secret and backed up",
                out.display()
            );
            Ok(())
        }
        Command::Rekey {
            pipeline,
            output,
            to_key_file,
            to_key_env,
            to_context,
            out,
            sources,
        } => {
            let plan = config::load(
                &pipeline,
                &Overrides {
                    out: None,
                    sources,
                    ledger: None,
                    max_quarantined_share: None,
                },
            )?;
            warn_about_key(&plan);
            let output = match (output, plan.microdata.as_slice()) {
                (Some(o), _) => o,
                (None, [only]) => only.name.clone(),
                (None, []) => {
                    return Err(Error::Usage(format!(
                        "{}: has no microdata output to re-key",
                        pipeline.display()
                    )));
                }
                (None, _) => {
                    return Err(Error::Usage(
                        "the pipeline has several microdata outputs: choose one with --output"
                            .into(),
                    ));
                }
            };
            let to = match (to_key_file, to_key_env) {
                (Some(f), None) => config::plan::KeySource::File(f),
                (None, Some(v)) => config::plan::KeySource::Env(v),
                _ => {
                    return Err(Error::Usage(
                        "give the new key with --to-key-file FILE or --to-key-env VAR".into(),
                    ));
                }
            };
            if out.exists() {
                return Err(Error::Usage(format!(
                    "{}: exists; privstat rekey never overwrites a map",
                    out.display()
                )));
            }
            let new_key = crate::pseudonymise::Key::load(&to)?;
            let old_key = crate::pseudonymise::Key::load(&plan.pseudonymise.key)?;
            let spec = plan
                .microdata
                .iter()
                .find(|m| m.name == output)
                .map(|m| m.context.clone());
            let context = to_context.or(spec).unwrap_or_default();
            if context.trim().is_empty() {
                return Err(Error::Usage("--to-context must not be empty".into()));
            }
            let map = crate::rekey_map(&plan, &output, &new_key, &context)?;
            let mut text = String::from("old_pseudonym,new_pseudonym\n");
            for (old, new) in &map {
                text.push_str(&format!("{old:032x},{new:032x}\n"));
            }
            crate::publish::write_atomic(&out, text.as_bytes())?;
            say!(
                "wrote {} pairs to {}: key {} → key {}, context `{}`; give it only to the parties of the agreement",
                map.len(),
                out.display(),
                old_key.fingerprint(),
                new_key.fingerprint(),
                context
            );
            Ok(())
        }
        Command::Synth {
            profile,
            rows,
            seed,
            encoding,
            messiness,
            out,
        } => {
            let written = synth::write(
                &synth::Spec {
                    profile,
                    rows,
                    seed,
                    encoding,
                    messiness,
                },
                &out,
            )?;
            say!("wrote {written} rows to {}", out.display());
            Ok(())
        }
    }
}

fn warn_about_key(plan: &config::Plan) {
    if let config::plan::KeySource::File(path) = &plan.pseudonymise.key
        && crate::pseudonymise::key::readable_by_others(path)
    {
        eprintln!(
            "warning: {}: the key file is readable by other users; run chmod 600 on it",
            path.display()
        );
    }
}

/// The quarantine's reasons per source and column, as JSON.
fn quarantine_json(quarantine: &crate::ingest::Quarantine) -> serde_json::Value {
    let reasons: Vec<serde_json::Value> = quarantine
        .summary()
        .into_iter()
        .map(|(source, column, reason, values, first_row)| {
            serde_json::json!({
                "source": source,
                "column": column,
                "reason": reason,
                "description": reason.describe(),
                "values": values,
                "first_row": first_row,
            })
        })
        .collect();
    reasons.into()
}

/// What `check` finds, as JSON: the same facts as its text, nothing written, no noise drawn.
fn check_json(plan: &config::Plan, analysis: &crate::Analysis) -> serde_json::Value {
    let protection = match &analysis.protection {
        crate::Protection::Suppressed(protected) | crate::Protection::PrimaryOnly(protected) => {
            let complete = matches!(analysis.protection, crate::Protection::Suppressed(_));
            let tables: Vec<serde_json::Value> = protected
                .tables
                .iter()
                .map(|pt| {
                    let count = |s: CellStatus| pt.status.iter().filter(|&&x| x == s).count();
                    let mut table = serde_json::json!({
                        "name": pt.table.name,
                        "cells": pt.table.len(),
                        "measures": pt.table.measures.len(),
                        "rows_in_scope": pt.table.rows_in_scope,
                        "suppressed_primary": count(CellStatus::SuppressedPrimary),
                    });
                    if complete {
                        table["suppressed_secondary"] =
                            count(CellStatus::SuppressedSecondary).into();
                    }
                    table
                })
                .collect();
            let s = &protected.summary;
            let summary = if complete {
                serde_json::json!(s)
            } else {
                serde_json::json!({
                    "cells": s.cells,
                    "primary": s.primary,
                    "primary_by_request": s.primary_by_request,
                })
            };
            serde_json::json!({
                "method": "suppression",
                "secondary_and_audit": complete,
                "tables": tables,
                "summary": summary,
                "warnings": protected.warnings,
            })
        }
        crate::Protection::Microdata(outputs) => {
            let outputs: Vec<serde_json::Value> = outputs
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name,
                        "k": m.k,
                        "l": m.l,
                        "fields": m.fields,
                        "before": m.before,
                        "published": m.published,
                        "persons_suppressed": m.persons_suppressed,
                        "records_suppressed": m.records_suppressed,
                        "information_loss": m.loss,
                    })
                })
                .collect();
            serde_json::json!({ "method": "microdata", "outputs": outputs })
        }
        crate::Protection::Dp(prepared) => {
            let bounding: Vec<serde_json::Value> = prepared
                .bounding()
                .map(|(table, b)| serde_json::json!({ "table": table, "bounding": b }))
                .collect();
            let ledger = plan.protection.dp.as_ref().and_then(|dp| {
                let path = dp.ledger.as_ref()?;
                crate::dp::ledger::Ledger::at(path)
                    .standing(&dp.dataset, dp.cap)
                    .ok()
                    .map(|s| serde_json::json!({ "ledger": path, "standing": s }))
            });
            serde_json::json!({
                "method": "dp",
                "plan": prepared.plan,
                "warnings": prepared.slow_projections(),
                "noise_forecast": prepared.noise_forecast(),
                "bounding": bounding,
                "ledger": ledger,
                "noise_drawn": false,
                "budget_spent": false,
            })
        }
    };
    serde_json::json!({
        "pipeline": plan.file,
        "release": plan.release.name,
        "sources": analysis.sources,
        "quarantine": quarantine_json(&analysis.quarantine),
        "protection": protection,
        "written": false,
    })
}

/// That the pipeline is valid; rows read, usable, quarantined and out of period per source; and
/// the quarantine's reasons.
fn print_intake(
    plan: &config::Plan,
    sources: &[crate::ingest::SourceReport],
    quarantine: &crate::ingest::Quarantine,
) {
    say!(
        "pipeline {} is valid: release `{}`",
        plan.file.display(),
        plan.release.name
    );
    for s in sources {
        let encoding = s
            .encoding
            .map_or("parquet", crate::ingest::encoding::DetectedEncoding::name);
        say!(
            "source {} ({}, {encoding}): {} rows read = {} usable + {} quarantined + {} out of period",
            s.name,
            s.file.display(),
            s.rows_read,
            s.rows_used,
            s.rows_quarantined,
            s.rows_out_of_period
        );
        say!(
            "  identifiers: {} distinct values, {} persons; {} wrong check digit, {} unrecognised, {} type not accepted, {} spreadsheet-damaged",
            s.ids.distinct_values,
            s.ids.distinct_persons,
            s.ids.invalid_check_digit,
            s.ids.unrecognised,
            s.ids.type_not_accepted,
            s.ids.excel_damaged
        );
        if !s.direct_identifiers_absent.is_empty() {
            say!(
                "  direct identifiers declared but not in the file (a misspelt name? only mapped columns are ever read): {}",
                s.direct_identifiers_absent.join(", ")
            );
        }
        if s.ids.walk_in_rows > 0 {
            say!(
                "  {} walk-in rows (no identifier): counted in person-times and distinct counts, never in persons",
                s.ids.walk_in_rows
            );
        }
        if s.undecodable_bytes + s.private_use_characters + s.dates_ambiguous > 0 {
            say!(
                "  {} undecodable bytes, {} user-defined (造字) characters, {} six-digit dates read as ROC",
                s.undecodable_bytes,
                s.private_use_characters,
                s.dates_ambiguous
            );
        }
        for (domain, n) in &s.mapped_to_other {
            say!("  {n} rows mapped to the `other` code of {domain}");
        }
    }
    let summary = quarantine.summary();
    if summary.is_empty() {
        say!("quarantine: none");
    } else {
        say!("quarantine (source, column, reason: values, first row):");
        for (source, column, reason, n, first) in summary {
            say!(
                "  {source}, {column}, {}: {n}, first at row {first}",
                reason.describe()
            );
        }
    }
}

fn print_check(plan: &config::Plan, analysis: &crate::Analysis) {
    print_intake(plan, &analysis.sources, &analysis.quarantine);
    match &analysis.protection {
        crate::Protection::Suppressed(protected) | crate::Protection::PrimaryOnly(protected) => {
            let complete = matches!(analysis.protection, crate::Protection::Suppressed(_));
            for pt in &protected.tables {
                let t = &pt.table;
                let count = |s: CellStatus| pt.status.iter().filter(|&&x| x == s).count();
                let secondary = if complete {
                    format!(", {} secondary", count(CellStatus::SuppressedSecondary))
                } else {
                    String::new()
                };
                say!(
                    "table {}: {} cells × {} measures from {} rows in scope; {} suppressed primary{secondary}",
                    t.name,
                    t.len(),
                    t.measures.len(),
                    t.rows_in_scope,
                    count(CellStatus::SuppressedPrimary),
                );
            }
            if complete {
                say_protection(&protected.summary);
            } else {
                let s = &protected.summary;
                say!(
                    "protection: {} distinct cells, {}; secondary suppression and the audit not run (`check --protect` runs them as `run` does)",
                    s.cells,
                    primary_text(s)
                );
            }
            for w in &protected.warnings {
                eprintln!("warning: {w}");
            }
        }
        crate::Protection::Microdata(outputs) => {
            for m in outputs {
                say_microdata(m);
            }
        }
        crate::Protection::Dp(prepared) => {
            for warning in prepared.slow_projections() {
                eprintln!("warning: {warning}");
            }
            for line in prepared.noise_forecast() {
                say!("{line}");
            }
            for (table, b) in prepared.bounding() {
                if let Some(b) = b {
                    say!(
                        "table {table}: bounding to one code per person on declared dimensions dropped {} records; to {} cells × {} records per person dropped {} (person, cell) pairs of {} persons and clipped {} records; {} persons lost records (operator's eyes only: the release has noisy estimates at most)",
                        b.records_other_codes,
                        b.bounds_max_cells,
                        b.bounds_max_records,
                        b.cells_dropped,
                        b.persons_over_cells,
                        b.records_clipped,
                        b.persons_cut
                    );
                }
            }
            say_dp_plan(&prepared.plan, "");
            if let Some(dp) = &plan.protection.dp {
                match &dp.ledger {
                    Some(path) => {
                        match crate::dp::ledger::Ledger::at(path).standing(&dp.dataset, dp.cap) {
                            Ok(s) => say!(
                                "ledger {}: dataset `{}` has spent {} of {}, {} left; this release would charge {}{}",
                                path.display(),
                                s.dataset,
                                amount_text(s.spent),
                                crate::dp::ledger::cap_text(s.cap),
                                amount_text(s.remaining),
                                amount_text(prepared.plan.charged),
                                if prepared.plan.charged > s.remaining {
                                    " — run would refuse it"
                                } else {
                                    ""
                                }
                            ),
                            Err(e) => say!("ledger: {e}"),
                        }
                    }
                    None => say!("ledger: none named; `run` needs --ledger PATH"),
                }
            }
            say!("no noise was drawn and no budget spent");
        }
    }
    say!("nothing was written");
}

/// One microdata output: what it holds, the k and ℓ it reaches, and what that cost.
fn say_microdata(m: &crate::microdata::Shared) {
    let (b, p) = (&m.before, &m.published);
    say!(
        "microdata {}: {} records of {} persons; k = {} reached (smallest class {} persons, {} classes){}",
        m.name,
        p.records,
        p.persons,
        m.k,
        p.smallest_class,
        p.classes,
        m.l.map_or_else(String::new, |l| format!(
            ", ℓ = {l} reached (fewest distinct sensitive values in a class: {})",
            p.smallest_l.unwrap_or(0)
        ))
    );
    say!(
        "  before protection: {} persons in classes below k ({} of them unique), {} classes not ℓ-diverse",
        b.persons_below_k,
        b.unique_persons,
        b.classes_below_l
    );
    let levels: Vec<String> = m
        .fields
        .iter()
        .map(|f| format!("{} {}", f.name, f.level.name()))
        .collect();
    say!("  levels: {}", levels.join(", "));
    let suppressed: Vec<String> = m
        .fields
        .iter()
        .filter(|f| f.role == crate::microdata::Role::QuasiIdentifier)
        .map(|f| format!("{} {}", f.name, f.suppressed_persons))
        .collect();
    say!(
        "  suppressed: values of {} persons ({} records): {}",
        m.persons_suppressed,
        m.records_suppressed,
        suppressed.join(", ")
    );
}

fn say_dp_plan(p: &crate::dp::DpPlan, indent: &str) {
    say!(
        "{indent}differential privacy: {:?} mechanism, budget {}, release loss {} = {} (OpenDP composition), charged {} to dataset `{}`",
        p.mechanism,
        p.budget,
        p.loss_measure,
        amount_text(p.loss),
        amount_text(p.charged),
        p.dataset
    );
    for t in &p.tables {
        for m in &t.measures {
            say!(
                "{indent}  {}.{}: ≤ {} cells × {} records per person, sensitivity L1 {} / L2 {:.3}, scale {:.3}, {} {}, moe95 of one noisy cell ±{}",
                t.table,
                m.measure,
                t.max_cells_per_person,
                t.max_records_per_cell,
                m.sensitivity.l1,
                m.sensitivity.l2(),
                m.scale,
                p.loss_measure,
                amount_text(m.loss),
                m.moe95_of_a_measurement
            );
        }
        for m in &t.bounding_loss {
            say!(
                "{indent}  {}: what bounding removed, {} (each person's records counted up to {}): sensitivity L1 {}, scale {:.3}, {} {}, moe95 ±{}",
                t.table,
                m.measure,
                t.removed_cap_per_person,
                m.sensitivity.l1,
                m.scale,
                p.loss_measure,
                amount_text(m.loss),
                m.moe95_of_a_measurement
            );
        }
    }
}

/// `N primary (M by request)`, with the cells the rules on sums made primary when there are any.
fn primary_text(s: &crate::protect::Summary) -> String {
    let mut rule = String::new();
    if s.primary_by_p_percent > 0 {
        rule.push_str(&format!(
            ", {} by the p% rule on sums",
            s.primary_by_p_percent
        ));
    }
    if s.primary_by_dominance > 0 {
        rule.push_str(&format!(
            ", {} by the (n,k)-dominance rule on sums",
            s.primary_by_dominance
        ));
    }
    format!(
        "{} primary ({} by request{rule})",
        s.primary, s.primary_by_request
    )
}

fn say_protection(s: &crate::protect::Summary) {
    say!(
        "protection: {} distinct cells, {}, {} secondary ({} persons withheld); audit: {} suppressed numbers, {} exactly recoverable, {} under-protected, narrowest primary interval {}",
        s.cells,
        primary_text(s),
        s.secondary,
        s.secondary_persons,
        s.suppressed_numbers,
        s.exactly_recoverable,
        s.under_protected,
        s.min_primary_width
            .map_or_else(|| "-".to_owned(), |w| w.to_string())
    );
}

fn print_audit(r: &crate::audit::Report) {
    say!(
        "audit of release `{}` in {}: {}",
        r.release.as_deref().unwrap_or("?"),
        r.directory,
        if r.passed { "PASSED" } else { "FAILED" }
    );
    say!(
        "  {} files match the manifest's sha256; {} {}, {} distinct cells",
        r.files_verified,
        r.tables,
        if r.tables == 1 { "table" } else { "tables" },
        r.cells
    );
    if r.tables > 0 || r.microdata.is_empty() {
        say!(
            "  {} suppressed numbers ({} primary): {} exactly recoverable, {} under-protected, {} unproven; narrowest primary interval {} (protection level {}, threshold {})",
            r.suppressed_numbers,
            r.primary_numbers,
            r.exactly_recoverable,
            r.under_protected,
            r.unproven,
            r.min_primary_width
                .map_or_else(|| "-".to_owned(), |w| w.to_string()),
            r.protection_level
                .map_or_else(|| "?".to_owned(), |w| w.to_string()),
            r.threshold
                .map_or_else(|| "?".to_owned(), |w| w.to_string()),
        );
    }
    let mut rules = Vec::new();
    if let Some(p) = r.p_percent.filter(|&p| p > 0) {
        rules.push(format!("the p% rule (p = {p})"));
    }
    if let Some(d) = r.nk_dominance {
        rules.push(format!(
            "the (n,k)-dominance rule (n = {}, k = {})",
            d.n, d.k
        ));
    }
    if !rules.is_empty() {
        say!(
            "  sums: {} proven when the release was made; contributions are not in the release, so here a suppressed sum is only checked not to be exactly recoverable",
            if rules.len() == 1 {
                format!("{} was", rules[0])
            } else {
                format!("{} were", rules.join(" and "))
            }
        );
    }
    for m in &r.microdata {
        say!(
            "  {}: {} records of {} persons in {} classes; smallest class {} (k = {}){}",
            m.file,
            m.risk.records,
            m.risk.persons,
            m.risk.classes,
            m.risk.smallest_class,
            m.k,
            m.l.map_or_else(String::new, |l| format!(
                ", {} classes below ℓ = {l}",
                m.risk.classes_below_l
            ))
        );
    }
    if r.inner_intervals > 0 {
        say!(
            "  {} intervals are inner bounds from witnesses, wide enough for their need (--exact for exact bounds)",
            r.inner_intervals
        );
    }
    if r.findings.is_empty() {
        say!("  no findings");
    } else {
        for line in r.findings_table().lines() {
            say!("  {line}");
        }
    }
}
