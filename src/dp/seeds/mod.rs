//! The DP guarantee and the honesty of the numbers, tested on the four seed DP pipelines in
//! process (`pipelines/*-dp.toml` on their fixtures).
//!
//! - **Neighbours**, read as the definition: for one person `p` of each export, the datasets `D`,
//!   `D − p` (every record of `p` removed), `D + r` (one more record of `p`) and `D ↦ p` (`p` moved
//!   to another district or island). Under add/remove-one-person neighbouring, `D − p` is a
//!   neighbour of each of the others, so every bounded table measure of it differs from theirs by
//!   at most the declared L1 and squared L2 sensitivity; and releases drawn with the noise switched
//!   off (a test-only hook) differ in nothing but their values and what follows from them.
//! - **Margins of error** cover the bounded truth in at least 93 % of (release, cell) pairs for
//!   every level pattern (leaves, each kind of margin, the grand total) of every table measure, over
//!   500 releases (where a pattern has too few cells for that to be sure, 4 standard errors below
//!   95 %), and the mean error of every pattern is within a fifth of its margin of error
//!   (no margin is biased the way a sum of clamped cells is). Cells whose truth stands clear of
//!   their margin are covered at least 90 % in every pattern where they are common. Patterns
//!   covered above 97.5 % (cells near zero, which non-negativity and the relations pin) are
//!   printed, not failed: where noise dominates, a published value cannot tell a zero cell from a
//!   large one, so a margin that covers the large cells over-covers the zeros, and one narrowed to
//!   the zeros leaves the large cells uncovered (measured; see `coverage`).
//! - **Consistency keeps what least squares gains**: every grand total's mean squared error stays
//!   within its least-squares variance, and every release keeps every relation the truth keeps,
//!   the equal persons totals of tables of one population among them.
//!   No margin's mean squared error exceeds its raw measurement's by more than chance allows
//!   (five standard errors of a mean of 500 squares); any above it at all is printed.

mod coverage;
mod neighbours;

use std::path::{Path, PathBuf};

use super::Prepared;
use crate::config::Plan;
use crate::config::plan::{KeySource, Overrides};

/// A seed DP pipeline and how to make neighbours of its export.
struct Seed {
    pipeline: &'static str,
    /// Header of the identifier column.
    id: &'static str,
    /// Header of a column declared one code per person, to move a person along.
    moved: &'static str,
    big5: bool,
}

const SEEDS: [Seed; 4] = [
    Seed {
        pipeline: "kaohsiung-districts-dp.toml",
        id: "身分證號",
        moved: "居住區",
        big5: false,
    },
    Seed {
        pipeline: "keelung-services-dp.toml",
        id: "證號",
        moved: "行政區",
        big5: false,
    },
    Seed {
        pipeline: "lienchiang-half-year-dp.toml",
        id: "身分證號",
        moved: "島別",
        big5: true,
    },
    Seed {
        pipeline: "soco-members-dp.toml",
        id: "Member HKID",
        moved: "District",
        big5: false,
    },
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(seed: &Seed, source: Option<&Path>, out: &Path) -> Plan {
    let file = root().join("pipelines").join(seed.pipeline);
    let mut overrides = Overrides {
        out: Some(out.to_path_buf()),
        ledger: Some(out.join("ledger.jsonl")),
        ..Overrides::default()
    };
    let mut plan = crate::config::load(&file, &overrides).expect("seed pipeline loads");
    if let Some(path) = source {
        overrides.sources = vec![(plan.sources[0].name.clone(), path.to_path_buf())];
        plan = crate::config::load(&file, &overrides).expect("seed pipeline loads");
    }
    // Neighbours are compared under one key: a pipeline without one would draw a fresh key (and so
    // a fresh bounding choice) per run, which is DP too, but not comparable run to run.
    if matches!(plan.pseudonymise.key, KeySource::Ephemeral) {
        plan.pseudonymise.key = KeySource::File(root().join("fixtures/keys/demo-only.key"));
    }
    plan
}

/// What publishing needs besides the protected tables.
struct Context {
    sources: Vec<crate::ingest::SourceReport>,
    quarantine: crate::ingest::Quarantine,
    pseudonyms: crate::pseudonymise::PseudonymMethod,
}

fn prepare(plan: &Plan) -> (Prepared, Context) {
    let analysis = crate::analyse(plan, &crate::Progress::quiet()).expect("analyses");
    let crate::Protection::Dp(prepared) = analysis.protection else {
        panic!("a DP pipeline")
    };
    let context = Context {
        sources: analysis.sources,
        quarantine: analysis.quarantine,
        pseudonyms: analysis.pseudonyms,
    };
    (prepared, context)
}
