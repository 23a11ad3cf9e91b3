//! privstat publishes statistics about the people a service serves without exposing any of them.
//!
//! A pipeline file (see `pipelines/`) drives five stages, each a module:
//! [`ingest`] raw exports → [`pseudonymise`] identifiers → [`tabulate`] persons and person-times over
//! the public key domain → [`protect`] the cells → [`publish`] the release, atomically. A release of
//! record-level outputs goes from [`pseudonymise`] to [`microdata`] (k-anonymous and ℓ-diverse
//! over persons, under a data-sharing agreement's pseudonyms) and then to [`publish`].

pub mod attacker;
pub mod audit;
pub mod cli;
pub mod config;
pub mod dp;
pub mod error;
pub mod ingest;
pub mod microdata;
pub mod protect;
pub mod pseudonymise;
pub mod publish;
pub mod report;
pub mod scrub;
pub mod synth;
pub mod tabulate;
pub mod text;

use chrono::NaiveDate;

pub use config::Plan;
pub use error::Error;

use ingest::{Quarantine, SourceReport};
use protect::Protected;

/// Reports progress of the stages; [`Progress::quiet`] does nothing.
pub struct Progress {
    bar: indicatif::ProgressBar,
    /// With `PRIVSTAT_TIMINGS` set: the current stage and when it began, to print each stage's
    /// wall time and memory on standard error (for benchmarks; no data is printed).
    timings: Option<std::sync::Mutex<(&'static str, std::time::Instant)>>,
    /// Whether warnings are printed (standard error, terminal or not).
    warns: bool,
}

impl Progress {
    /// A spinner on standard error naming the stage, its step and the time spent, drawn only
    /// when standard error is a terminal.
    #[must_use]
    pub fn stderr() -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} [{prefix}] {msg} ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let timings = std::env::var_os("PRIVSTAT_TIMINGS")
            .map(|_| std::sync::Mutex::new(("starting", std::time::Instant::now())));
        Self {
            bar,
            timings,
            warns: true,
        }
    }

    /// No output.
    #[must_use]
    pub fn quiet() -> Self {
        Self {
            bar: indicatif::ProgressBar::hidden(),
            timings: None,
            warns: false,
        }
    }

    fn stage(&self, message: &'static str) {
        let step = STAGES
            .iter()
            .position(|s| *s == message)
            .map_or(0, |i| i + 1);
        self.bar.set_prefix(format!("{step}/{}", STAGES.len()));
        self.bar.set_message(message);
        self.time(message);
    }

    /// Prints a warning above the spinner (nothing when quiet).
    fn warn(&self, text: &str) {
        if self.warns {
            self.bar.suspend(|| eprintln!("warning: {text}"));
        }
    }

    /// Says more about the current stage (its input's size, say) without starting another.
    fn detail(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Prints how long the stage that ends took and the process's memory now and at its peak.
    fn time(&self, next: &'static str) {
        let Some(timings) = &self.timings else {
            return;
        };
        let Ok(mut current) = timings.lock() else {
            return;
        };
        let (stage, began) = *current;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let mib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |kib| kib / 1024)
        };
        eprintln!(
            "timing: {stage}: {:.2} s; rss {} MiB (anonymous {} MiB, file-backed {} MiB), peak {} MiB",
            began.elapsed().as_secs_f64(),
            mib("VmRSS:"),
            mib("RssAnon:"),
            mib("RssFile:"),
            mib("VmHWM:")
        );
        *current = (next, std::time::Instant::now());
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.time("done");
        self.bar.finish_and_clear();
    }
}

/// The stages a run goes through, in order, as the progress display names them.
const STAGES: [&str; 6] = [
    "reading sources",
    "pseudonymising",
    "tabulating",
    "protecting",
    "drawing noise",
    "publishing",
];

/// What the stages up to protection produced: everything but the written files.
pub struct Analysis {
    pub sources: Vec<SourceReport>,
    pub quarantine: Quarantine,
    pub protection: Protection,
    pub pseudonyms: pseudonymise::PseudonymMethod,
}

/// The protection stage's result.
pub enum Protection {
    /// Suppression is done: statuses and audit verdicts.
    Suppressed(Box<Protected>),
    /// The primary rule alone ([`Depth::Primary`]): no secondary suppression, no audit; for
    /// `check`, never published.
    PrimaryOnly(Box<Protected>),
    /// DP is accounted but no noise is drawn: [`run`] commits the spend first.
    Dp(dp::Prepared),
    /// Record-level outputs, made k-anonymous; no table.
    Microdata(Vec<microdata::Shared>),
}

/// How far suppression goes in [`analyse_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Primary, secondary suppression and the LP audit: what `run` publishes.
    Complete,
    /// The primary rule alone: what `check` reports unless asked for more.
    Primary,
}

/// Runs ingest, pseudonymisation, tabulation and protection, and reconciles row counts.
///
/// # Errors
/// Any stage's error; [`Error::Internal`] if rows do not reconcile.
pub fn analyse(plan: &Plan, progress: &Progress) -> Result<Analysis, Error> {
    analyse_to(plan, progress, Depth::Complete)
}

/// [`analyse`], with suppression taken to `depth` (DP releases are prepared the same either way).
///
/// # Errors
/// As [`analyse`].
pub fn analyse_to(plan: &Plan, progress: &Progress, depth: Depth) -> Result<Analysis, Error> {
    analyse_intake(plan, intake(plan, progress)?, progress, depth)
}

/// What the sources gave, read and pseudonymised, before anything is counted: enough for `check`
/// to show why rows were quarantined even when the run would refuse them.
pub struct Intake {
    key: pseudonymise::Key,
    keyed: pseudonymise::Keyed,
    /// Rows read, used, quarantined and out of period per source; they reconcile.
    pub sources: Vec<SourceReport>,
}

impl Intake {
    /// The quarantined rows' reasons, per source and column.
    #[must_use]
    pub fn quarantine(&self) -> &Quarantine {
        &self.keyed.quarantine
    }

    /// Why a release of these sources would mislead, if it would: a source with no usable row, or
    /// with more of its rows quarantined than `[limits] max_quarantined_share` allows.
    ///
    /// # Errors
    /// [`ingest::IngestError::NoUsableRows`] or [`ingest::IngestError::TooManyQuarantined`].
    pub fn refusal(&self, plan: &Plan) -> Result<(), Error> {
        refuse_misleading(plan, &self.sources, &self.keyed.quarantine)
    }
}

/// Reads and pseudonymises every source and reconciles its row counts.
///
/// # Errors
/// Any stage's error; [`Error::Internal`] if rows do not reconcile.
pub fn intake(plan: &Plan, progress: &Progress) -> Result<Intake, Error> {
    let key = pseudonymise::Key::load(&plan.pseudonymise.key)?;
    progress.stage("reading sources");
    let bytes: u64 = plan
        .sources
        .iter()
        .filter_map(|s| std::fs::metadata(&s.path).ok())
        .map(|m| m.len())
        .sum();
    #[allow(clippy::cast_precision_loss, reason = "a size to show")]
    progress.detail(format!(
        "reading sources ({} file{}, {:.1} MB)",
        plan.sources.len(),
        if plan.sources.len() == 1 { "" } else { "s" },
        bytes as f64 / 1e6
    ));
    let ingested = ingest::read(plan, today())?;
    progress.stage("pseudonymising");
    let keyed = pseudonymise::apply(ingested, &plan.sources, &plan.pseudonymise, &key)?;
    let sources = reconcile(&keyed)?;
    Ok(Intake {
        key,
        keyed,
        sources,
    })
}

/// The stages after [`intake`]: refuses misleading sources, then tabulates and protects to `depth`.
///
/// # Errors
/// [`Intake::refusal`]'s, or any later stage's error.
pub fn analyse_intake(
    plan: &Plan,
    intake: Intake,
    progress: &Progress,
    depth: Depth,
) -> Result<Analysis, Error> {
    intake.refusal(plan)?;
    let Intake {
        key,
        keyed,
        sources,
    } = intake;
    if !plan.microdata.is_empty() {
        progress.stage("protecting");
        let shared = microdata::build_all(&keyed, plan)?;
        return Ok(Analysis {
            sources,
            quarantine: keyed.quarantine,
            protection: Protection::Microdata(shared),
            pseudonyms: keyed.method,
        });
    }
    progress.stage("tabulating");
    let bounding = plan
        .protection
        .dp
        .as_ref()
        .map(|dp| dp::bounding(dp, &key, &plan.release.name));
    let tables = tabulate::count(&keyed, plan, bounding.as_ref())?;
    refuse_empty_tables(plan, &tables)?;
    progress.stage("protecting");
    let protection = if plan.protection.dp.is_some() {
        Protection::Dp(dp::prepare(tables, plan)?)
    } else if depth == Depth::Primary {
        Protection::PrimaryOnly(Box::new(protect::primary_only(tables, plan)?))
    } else {
        Protection::Suppressed(Box::new(protect::apply(tables, plan)?))
    };
    Ok(Analysis {
        sources,
        quarantine: keyed.quarantine,
        protection,
        pseudonyms: keyed.method,
    })
}

/// Runs a whole release: [`analyse`], then [`publish::write`].
///
/// # Errors
/// Any stage's error. Nothing is published unless every stage succeeds.
pub fn run(plan: &Plan, force: bool, progress: &Progress) -> Result<publish::Published, Error> {
    // The output is checked and locked before anything is read or spent.
    let _lock = publish::prepare(plan, force)?;
    let ledger = match &plan.protection.dp {
        Some(dp) => Some(dp::ledger::Ledger::at(
            dp.ledger.as_deref().ok_or(dp::DpError::NoLedger)?,
        )),
        None => None,
    };
    let analysis = analyse(plan, progress)?;
    let mut shared = Vec::new();
    let (protected, report, entry) = match analysis.protection {
        Protection::Suppressed(p) => (*p, None, None),
        Protection::Microdata(outputs) => {
            shared = outputs;
            (protect::Protected::none(plan), None, None)
        }
        Protection::PrimaryOnly(_) => {
            return Err(Error::Internal(
                "a release protected by the primary rule alone cannot be published".into(),
            ));
        }
        Protection::Dp(prepared) => {
            for warning in prepared.slow_projections() {
                progress.warn(&warning);
            }
            let ledger = ledger.as_ref().ok_or(dp::DpError::NoLedger)?;
            // The spend is on disk before any noise exists.
            let p = &prepared.plan;
            let id = ledger
                .reserve(&dp::ledger::Charge {
                    dataset: &p.dataset,
                    release: &plan.release.name,
                    mechanism: p.mechanism,
                    loss: p.loss,
                    charged: p.charged,
                    cap: p.cap,
                    pipeline_sha256: &plan.file_sha256,
                })
                .map_err(dp::DpError::from)?;
            progress.stage("drawing noise");
            match prepared.release(plan, Some(id.clone())) {
                Ok((protected, report)) => (protected, Some(report), Some((ledger, id))),
                Err(e) => {
                    abandon(ledger, &id, &e.to_string());
                    return Err(e.into());
                }
            }
        }
    };
    progress.stage("publishing");
    let published = publish::write(&publish::ReleaseInput {
        plan,
        protected: &protected,
        dp: report.as_ref(),
        sources: &analysis.sources,
        quarantine: &analysis.quarantine,
        pseudonyms: &analysis.pseudonyms,
        microdata: &shared,
        force,
    });
    if let Some((ledger, id)) = entry {
        match &published {
            Ok(p) => {
                let sha = ingest::sha256_file(&p.release_dir.join("manifest.json"))
                    .unwrap_or_else(|_| "unreadable".to_owned());
                ledger.record(&id, Ok(&sha)).map_err(dp::DpError::from)?;
            }
            Err(e) => abandon(ledger, &id, &e.to_string()),
        }
    }
    Ok(published?)
}

/// The map from every pseudonym of a microdata output under the pipeline's key and the output's
/// context to the same person's pseudonym under `to` and `to_context`, sorted by the old one.
///
/// A pseudonym is a keyed hash of the identifier, so only the holder of the raw data can re-key:
/// this reads the sources again, computes both pseudonyms of each person of the output (its
/// period, its source) and nothing else, and never returns an identifier. Recipients of earlier
/// releases join the map on the old pseudonym to carry their records over to the new key.
///
/// # Errors
/// [`Error::Usage`] when the plan has no such output; any stage's error.
pub fn rekey_map(
    plan: &Plan,
    output: &str,
    to: &pseudonymise::Key,
    to_context: &str,
) -> Result<Vec<(u128, u128)>, Error> {
    let spec = plan
        .microdata
        .iter()
        .find(|m| m.name == output)
        .ok_or_else(|| {
            Error::Usage(format!(
                "the pipeline has no microdata output `{output}`{}",
                config::did_you_mean(output, plan.microdata.iter().map(|m| &m.name))
                    .map_or_else(String::new, |h| format!("; {h}"))
            ))
        })?;
    let key = pseudonymise::Key::load(&plan.pseudonymise.key)?;
    let ingested = ingest::read(plan, today())?;
    let links = [
        pseudonymise::Link {
            key: &key,
            context: &spec.context,
        },
        pseudonymise::Link {
            key: to,
            context: to_context,
        },
    ];
    let keyed =
        pseudonymise::apply_linked(ingested, &plan.sources, &plan.pseudonymise, &key, &links)?;
    let persons = microdata::persons(&keyed, plan, spec)?;
    let mut map: Vec<(u128, u128)> = persons
        .into_iter()
        .map(|p| (keyed.linkage[0][p as usize], keyed.linkage[1][p as usize]))
        .collect();
    map.sort_unstable();
    Ok(map)
}

/// Records that a spent release published nothing. The spend stands either way; failing to write
/// this line only loses the reason.
fn abandon(ledger: &dp::ledger::Ledger, id: &str, reason: &str) {
    if let Err(e) = ledger.record(id, Err(&scrub::scrub(reason))) {
        eprintln!("warning: {e}");
    }
}

/// Stops a run with a table that no usable row falls in (a period set to the wrong year): its
/// zeros would look like a count.
fn refuse_empty_tables(plan: &Plan, tables: &[tabulate::Table]) -> Result<(), Error> {
    for (spec, table) in plan.tables.iter().zip(tables) {
        if let (0, Some(p)) = (table.rows_in_scope, table.period) {
            let source = &plan.sources[spec.source];
            return Err(ingest::IngestError::EmptyTable {
                file: source.path.clone(),
                table: table.name.clone(),
                source_name: source.name.clone(),
                start: p.start,
                end: p.end,
            }
            .into());
        }
    }
    Ok(())
}

/// Stops a run whose numbers would mislead: a source with no usable row, or with more of its rows
/// quarantined than the limit allows (a date column nobody could read, identifiers mangled by a
/// spreadsheet), would otherwise publish a table of zeros that looks official.
fn refuse_misleading(
    plan: &Plan,
    sources: &[SourceReport],
    quarantine: &Quarantine,
) -> Result<(), Error> {
    for (source, report) in plan.sources.iter().zip(sources) {
        if report.rows_used == 0 {
            return Err(ingest::IngestError::NoUsableRows {
                file: source.path.clone(),
                source_name: report.name.clone(),
                read: report.rows_read,
                quarantined: report.rows_quarantined,
                empty: report.rows_empty,
                out_of_period: report.rows_out_of_period,
            }
            .into());
        }
        // Empty rows carry nothing to count: a share of the rows that do.
        let (quarantined, read) = (
            report.rows_quarantined.saturating_sub(report.rows_empty),
            report.rows_read.saturating_sub(report.rows_empty),
        );
        let share = quarantined as f64 / read.max(1) as f64;
        if share > plan.limits.max_quarantined_share {
            // Summarised only for the message: a run that goes on never pays for it.
            let summary = quarantine.summary();
            let mut reasons: Vec<_> = summary
                .iter()
                .filter(|r| r.0 == report.name && r.2 != ingest::quarantine::Reason::EmptyRow)
                .collect();
            reasons.sort_by_key(|r| std::cmp::Reverse(r.3));
            return Err(ingest::IngestError::TooManyQuarantined {
                file: source.path.clone(),
                source_name: report.name.clone(),
                read,
                quarantined,
                empty: report.rows_empty,
                limit: plan.limits.max_quarantined_share,
                reasons: reasons
                    .iter()
                    .take(3)
                    .map(|(_, column, reason, n, first)| {
                        format!(
                            "{column}: {} ({n} rows, first row {first})",
                            reason.describe()
                        )
                    })
                    .collect(),
            }
            .into());
        }
    }
    Ok(())
}

/// Fills in rows used and quarantined per source and checks `read = used + quarantined`.
fn reconcile(keyed: &pseudonymise::Keyed) -> Result<Vec<SourceReport>, Error> {
    keyed
        .sources
        .iter()
        .map(|s| {
            let mut report = s.report.clone();
            report.rows_used = s.frame.height() as u64;
            report.rows_quarantined = keyed.quarantine.rows_of(&report.name);
            report.rows_empty = keyed.quarantine.empty_rows_of(&report.name);
            if report.rows_read
                == report.rows_used + report.rows_quarantined + report.rows_out_of_period
            {
                Ok(report)
            } else {
                Err(Error::Internal(format!(
                    "source `{}`: {} rows read but {} used, {} quarantined and {} out of period",
                    report.name,
                    report.rows_read,
                    report.rows_used,
                    report.rows_quarantined,
                    report.rows_out_of_period
                )))
            }
        })
        .collect()
}

/// Today's date in local time, bounding ROC years in dates.
#[must_use]
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}
