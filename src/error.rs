//! `privstat::Error`: each stage's error folded into one, and the process exit codes.
//!
//! Expected errors (bad pipeline file, unreadable input, an existing release) say where and what to
//! do; [`Error::Internal`] is for broken invariants only and asks for a bug report.

use crate::config::ConfigError;
use crate::ingest::IngestError;
use crate::protect::ProtectError;
use crate::pseudonymise::{KeyError, PseudonymiseError};
use crate::publish::PublishError;
use crate::tabulate::TabulateError;

/// Success.
pub const EXIT_OK: u8 = 0;
/// A data or runtime error: unreadable input, bad key, write failure, existing release.
pub const EXIT_DATA: u8 = 1;
/// A usage or pipeline-file error: fix the command line or the TOML.
pub const EXIT_USAGE: u8 = 2;

/// Any error privstat reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Pseudonymise(#[from] PseudonymiseError),
    #[error(transparent)]
    Tabulate(#[from] TabulateError),
    #[error(transparent)]
    Protect(#[from] ProtectError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Dp(#[from] crate::dp::DpError),
    #[error(transparent)]
    Microdata(#[from] crate::microdata::MicrodataError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("{0}")]
    Synth(String),
    #[error("{0}")]
    Usage(String),
    #[error("the release failed its audit: {0} failures (listed above)")]
    AuditFailed(usize),
    #[error("internal error: {0}; this is a bug in privstat, please report it")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_)
            | Self::Usage(_)
            | Self::Dp(crate::dp::DpError::NoLedger | crate::dp::DpError::TargetTooCostly { .. }) => {
                EXIT_USAGE
            }
            _ => EXIT_DATA,
        }
    }
}
