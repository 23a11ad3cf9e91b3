//! privstat publishes statistics about the people a service serves without exposing any of them.
//!
//! A pipeline file (see `pipelines/`) drives five stages, each a module:
//! [`ingest`] raw exports → [`pseudonymise`] identifiers → [`tabulate`] persons and person-times over
//! the public key domain → [`protect`] the cells → [`publish`] the release, atomically.

pub mod audit;
pub mod cli;
pub mod config;
pub mod error;
pub mod ingest;
pub mod protect;
pub mod pseudonymise;
pub mod publish;
pub mod scrub;
pub mod synth;
pub mod tabulate;

use chrono::NaiveDate;

pub use config::Plan;
pub use error::Error;

use ingest::{Quarantine, SourceReport};
use protect::Protected;

/// Reports progress of the stages; [`Progress::quiet`] does nothing.
pub struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// A spinner on standard error, drawn only when standard error is a terminal.
    #[must_use]
    pub fn stderr() -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self { bar }
    }

    /// No output.
    #[must_use]
    pub fn quiet() -> Self {
        Self {
            bar: indicatif::ProgressBar::hidden(),
        }
    }

    fn stage(&self, message: &'static str) {
        self.bar.set_message(message);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// What the stages up to protection produced: everything but the written files.
pub struct Analysis {
    pub sources: Vec<SourceReport>,
    pub quarantine: Quarantine,
    pub protected: Protected,
    pub pseudonyms: pseudonymise::PseudonymMethod,
}

/// Runs ingest, pseudonymisation, tabulation and protection, and reconciles row counts.
///
/// # Errors
/// Any stage's error; [`Error::Internal`] if rows do not reconcile.
pub fn analyse(plan: &Plan, progress: &Progress) -> Result<Analysis, Error> {
    let key = pseudonymise::Key::load(&plan.pseudonymise.key)?;
    progress.stage("reading sources");
    let ingested = ingest::read(plan, today())?;
    progress.stage("pseudonymising");
    let keyed = pseudonymise::apply(ingested, &plan.sources, &plan.pseudonymise, &key)?;
    progress.stage("tabulating");
    let tables = tabulate::count(&keyed, plan)?;
    progress.stage("protecting");
    let protected = protect::apply(tables, plan)?;
    let sources = reconcile(&keyed)?;
    Ok(Analysis {
        sources,
        quarantine: keyed.quarantine,
        protected,
        pseudonyms: keyed.method,
    })
}

/// Runs a whole release: [`analyse`], then [`publish::write`].
///
/// # Errors
/// Any stage's error. Nothing is published unless every stage succeeds.
pub fn run(plan: &Plan, force: bool, progress: &Progress) -> Result<publish::Published, Error> {
    let target = publish::release_dir(plan);
    if target.exists() && !force {
        return Err(publish::PublishError::Exists { path: target }.into());
    }
    let analysis = analyse(plan, progress)?;
    progress.stage("publishing");
    Ok(publish::write(&publish::ReleaseInput {
        plan,
        protected: &analysis.protected,
        sources: &analysis.sources,
        quarantine: &analysis.quarantine,
        pseudonyms: &analysis.pseudonyms,
        force,
    })?)
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
            if report.rows_read == report.rows_used + report.rows_quarantined {
                Ok(report)
            } else {
                Err(Error::Internal(format!(
                    "source `{}`: {} rows read but {} used and {} quarantined",
                    report.name, report.rows_read, report.rows_used, report.rows_quarantined
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
