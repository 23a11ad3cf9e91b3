//! The attacker's view of a suppressed release, shared by the protector (which must defeat it) and
//! the auditor (which checks that it was defeated). It knows no plan and no file: only what a
//! release shows.
//!
//! - [`status`]: what each published cell says of itself (published, or withheld and why);
//! - [`system`]: the release as atoms (distinct cells), variables (their numbers) and the linear
//!   relations between them that any reader can state (margins, linked tables);
//! - [`lp`]: the feasibility interval of every withheld number, as the Fischetti–Salazar attacker
//!   computes it from everything published;
//! - [`risk`]: the outsider's view of record-level data linked by pseudonyms: classes of persons
//!   by their quasi-identifier profiles, k, ℓ and sample uniques;
//! - [`rules`]: what protector and auditor must agree on — which cells are primary, how many
//!   integers a withheld number's interval must hold, and how an interval's integers are counted.

pub mod lp;
pub mod risk;
pub mod rules;
pub mod status;
pub mod system;

pub use status::CellStatus;

/// Whether `PRIVSTAT_TRACE` is set: the protector and the attacker then print their search's
/// timings and sizes to standard error (counts and durations only, never a value).
#[must_use]
pub fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("PRIVSTAT_TRACE").is_some())
}
