//! `manifest.json`: what a release is made of and how it was protected, enough to verify every file
//! and to reproduce the run. Never a key, an identifier or a raw value.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::ReleaseInput;
pub use super::files::FileEntry;
use crate::attacker::CellStatus;
use crate::config::Plan;
use crate::config::raw::{Label, ProtectionMethod};
use crate::ingest::{IdCounts, Reason};
use crate::protect::ProtectedTable;
use crate::pseudonymise::PseudonymMethod;

/// The manifest of one release.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub release: String,
    pub title: Option<Label>,
    pub description: Option<Label>,
    pub privstat_version: &'static str,
    pub created_at: String,
    pub pipeline: PipelineEntry,
    pub inputs: Vec<InputEntry>,
    pub pseudonymisation: PseudonymMethod,
    pub protection: ProtectionEntry,
    pub tables: Vec<TableEntry>,
    /// Record-level outputs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub microdata: Vec<super::records::MicrodataEntry>,
    pub files: Vec<FileEntry>,
    /// What an open-data portal's catalogue asks for.
    pub metadata: PortalMetadata,
}

/// A release's catalogue entry for open-data portals (DCAT terms in comments): all from the
/// pipeline file and the code lists, nothing from the data.
#[derive(Debug, Clone, Serialize)]
pub struct PortalMetadata {
    /// `[release]`'s publisher, licence, frequency, spatial coverage, contact and keywords.
    #[serde(flatten)]
    pub portal: crate::config::plan::Portal,
    /// `dct:accrualPeriodicity`: the EU frequency vocabulary's URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_uri: Option<&'static str>,
    /// `dct:temporal`: first and last day covered (ISO 8601), from the declared periods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporal: Option<[String; 2]>,
    /// `dct:language`, as BCP 47 tags.
    pub languages: [&'static str; 2],
    /// Each value of the `status` column with its SDMX `OBS_STATUS` and `CONF_STATUS`.
    pub status_codes: Vec<StatusCode>,
}

/// One value of the `status` column.
#[derive(Debug, Clone, Serialize)]
pub struct StatusCode {
    pub status: &'static str,
    #[serde(flatten)]
    pub sdmx: crate::attacker::status::Sdmx,
}

impl PortalMetadata {
    fn new(plan: &Plan, dp: bool) -> Self {
        let periods: Vec<_> = plan.tables.iter().map(|t| t.period).collect();
        let temporal = plan
            .release
            .period
            .or_else(|| {
                let declared: Option<Vec<_>> = periods.into_iter().collect();
                let declared = declared?;
                Some(crate::config::plan::Period {
                    start: declared.iter().map(|p| p.start).min()?,
                    end: declared.iter().map(|p| p.end).max()?,
                })
            })
            .map(|p| [p.start.to_string(), p.end.to_string()]);
        Self {
            portal: plan.release.portal.clone(),
            frequency_uri: plan
                .release
                .portal
                .frequency
                .map(crate::config::raw::Frequency::uri),
            temporal,
            languages: ["zh-Hant-TW", "en"],
            status_codes: CellStatus::used_in(dp)
                .iter()
                .map(|s| StatusCode {
                    status: s.as_str(),
                    sdmx: s.sdmx(dp),
                })
                .collect(),
        }
    }
}

/// The pipeline file.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineEntry {
    pub file: String,
    pub sha256: String,
}

/// One input file, reconciled: `rows_read = rows_used + rows_quarantined + rows_out_of_period`.
#[derive(Debug, Clone, Serialize)]
pub struct InputEntry {
    pub source: String,
    pub file: String,
    /// The input's SHA-256 and detected encoding. A DP release leaves both out: they are exact
    /// functions of the data (one added record changes the hash), so they are not noisy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<crate::ingest::encoding::DetectedEncoding>,
    /// Exact counts of the input. A DP release withholds them (they are not noisy, so publishing
    /// them would spend privacy that is not accounted); the operator sees them in `run`'s output.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub counts: Option<InputCounts>,
    pub direct_identifiers_dropped: Vec<String>,
}

/// The exact counts of one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputCounts {
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_quarantined: u64,
    /// Usable rows dated outside the tables' periods.
    pub rows_out_of_period: u64,
    /// Quarantined values per column of the input, by reason.
    pub quarantined_values: BTreeMap<String, BTreeMap<Reason, u64>>,
    pub undecodable_bytes: u64,
    pub private_use_characters: u64,
    pub dates_ambiguous: u64,
    pub mapped_to_other: BTreeMap<String, u64>,
    pub identifiers: IdCounts,
}

/// Protection settings and what they do not guarantee.
#[derive(Debug, Clone, Serialize)]
pub struct ProtectionEntry {
    pub method: ProtectionMethod,
    pub threshold: u32,
    pub rule: &'static str,
    pub zeros: crate::config::raw::Zeros,
    /// Minimum width of every primary cell's feasibility interval, in integers beyond its lowest.
    pub protection_level: u32,
    /// The p% rule for sums (suppression releases that publish a sum; 0: off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_percent: Option<u32>,
    /// The (n,k)-dominance rule for sums, when asked for and a table publishes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nk_dominance: Option<crate::config::plan::Dominance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_suppression: Option<&'static str>,
    pub cost: crate::protect::Cost,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<&'static str>,
    pub summary: crate::protect::Summary,
    pub warnings: Vec<String>,
    /// Differential privacy: mechanism, sensitivities, scales, losses and the ledger entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<crate::dp::DpReport>,
}

/// One published table.
#[derive(Debug, Clone, Serialize)]
pub struct TableEntry {
    pub name: String,
    pub title: Option<Label>,
    pub source: String,
    /// Source and period: tables of one population share cells, and the audit links them.
    pub population: String,
    pub dimensions: Vec<DimensionEntry>,
    pub measures: Vec<String>,
    pub period: Option<[String; 2]>,
    /// Withheld in DP releases (an exact count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_in_scope: Option<u64>,
    pub cells: usize,
    pub rows: usize,
    pub cells_by_status: BTreeMap<CellStatus, usize>,
    pub share_of: Option<String>,
    pub files: Vec<FileEntry>,
}

/// One dimension of a table.
#[derive(Debug, Clone, Serialize)]
pub struct DimensionEntry {
    pub name: String,
    /// The code list (`codelists.csv`, column `dimension`).
    pub domain: String,
    pub codes: usize,
    pub groups: usize,
    pub margins: bool,
    /// Whether each person has at most one code of this dimension in scope, so that person counts
    /// add up over it. When false, Σ cells ≥ total for persons.
    pub persons_additive: bool,
    /// Measures whose cells add up to their margins over this dimension; for the others, each
    /// cell ≤ its margin ≤ the sum of the cells.
    pub additive_measures: Vec<String>,
}

impl TableEntry {
    /// Describes a protected table and its files.
    #[must_use]
    pub fn new(pt: &ProtectedTable, plan: &Plan, files: Vec<FileEntry>) -> Self {
        let t = &pt.table;
        let spec = plan.tables.iter().find(|s| s.name == t.name);
        let mut cells_by_status = BTreeMap::new();
        for s in &pt.status {
            *cells_by_status.entry(*s).or_insert(0) += 1;
        }
        Self {
            name: t.name.clone(),
            title: t.title.clone(),
            source: spec.map_or_else(String::new, |s| plan.sources[s.source].name.clone()),
            population: t.population(plan),
            dimensions: t
                .axes
                .iter()
                .enumerate()
                .map(|(i, a)| DimensionEntry {
                    name: a.name.clone(),
                    domain: plan.domains[a.domain].name.clone(),
                    codes: plan.domains[a.domain].codes.len(),
                    groups: a
                        .cells
                        .iter()
                        .filter(|c| c.level == crate::tabulate::Level::Group)
                        .count(),
                    margins: a
                        .cells
                        .iter()
                        .any(|c| c.level == crate::tabulate::Level::Total),
                    persons_additive: a.persons_additive,
                    additive_measures: t
                        .measures
                        .iter()
                        .zip(&t.additive)
                        .filter(|(_, add)| add[i])
                        .map(|(m, _)| m.name())
                        .collect(),
                })
                .collect(),
            measures: t
                .measures
                .iter()
                .map(crate::config::plan::Measure::name)
                .collect(),
            period: t.period.map(|p| [p.start.to_string(), p.end.to_string()]),
            rows_in_scope: plan.protection.dp.is_none().then_some(t.rows_in_scope),
            cells: t.len(),
            rows: t.len() * t.measures.len(),
            cells_by_status,
            share_of: t.share_of.map(|a| t.axes[a].name.clone()),
            files,
        }
    }
}

impl Manifest {
    /// Assembles the manifest.
    #[must_use]
    pub fn new(input: &ReleaseInput<'_>, tables: Vec<TableEntry>, files: Vec<FileEntry>) -> Self {
        let plan = input.plan;
        let file_name = |p: &Path| {
            p.file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
        };
        let dp = input.dp;
        let inputs = input
            .sources
            .iter()
            .map(|s| {
                let mut by_column: BTreeMap<String, BTreeMap<Reason, u64>> = BTreeMap::new();
                for r in input.quarantine.rows.iter().filter(|r| r.source == s.name) {
                    *by_column
                        .entry(r.column.clone())
                        .or_default()
                        .entry(r.reason)
                        .or_insert(0) += 1;
                }
                InputEntry {
                    source: s.name.clone(),
                    file: file_name(&s.file),
                    sha256: dp.is_none().then(|| s.sha256.clone()),
                    encoding: s.encoding.filter(|_| dp.is_none()),
                    counts: dp.is_none().then(|| InputCounts {
                        rows_read: s.rows_read,
                        rows_used: s.rows_used,
                        rows_quarantined: s.rows_quarantined,
                        rows_out_of_period: s.rows_out_of_period,
                        quarantined_values: by_column,
                        undecodable_bytes: s.undecodable_bytes,
                        private_use_characters: s.private_use_characters,
                        dates_ambiguous: s.dates_ambiguous,
                        mapped_to_other: s.mapped_to_other.clone(),
                        identifiers: s.ids.clone(),
                    }),
                    direct_identifiers_dropped: s.direct_identifiers_dropped.clone(),
                }
            })
            .collect();
        Self {
            release: plan.release.name.clone(),
            title: plan.release.title.clone(),
            description: plan.release.description.clone(),
            privstat_version: env!("CARGO_PKG_VERSION"),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            pipeline: PipelineEntry {
                file: file_name(&plan.file),
                sha256: plan.file_sha256.clone(),
            },
            inputs,
            pseudonymisation: input.pseudonyms.clone(),
            protection: ProtectionEntry {
                method: input.protected.protection.method,
                threshold: input.protected.protection.threshold.get(),
                rule: if !input.microdata.is_empty() {
                    "no table: a record-level release, protected by k-anonymity and ℓ-diversity \
                     over persons (see microdata)"
                } else if dp.is_some() {
                    "every cell is published with noise; with low_counts = flag, a cell whose \
                     published (noisy) person count is between 1 and threshold - 1 is marked \
                     low_noisy_count, which looks at no true count"
                } else {
                    "a cell is suppressed when 0 < distinct persons behind it < threshold, \
                     for every measure, or when always_suppress lists it, or (the p% rule, \
                     for a table that publishes a sum) when the contributions of all but the \
                     two largest persons add up to less than p_percent % of the largest; \
                     the interval of such a sum then holds at least ceil(p_percent % of the \
                     largest - the rest) integers beyond its lowest; with nk_dominance, also \
                     when its n largest persons hold more than k % of it, its interval then \
                     rising at least ceil(100 x their sum / k - the sum); both proven when the \
                     release is made (the contributions are not in the release, so privstat \
                     audit checks only that no sum is exactly recoverable)"
                },
                zeros: input.protected.protection.zeros,
                protection_level: input.protected.protection.level,
                p_percent: (dp.is_none() && input.protected.publishes_sums())
                    .then_some(input.protected.protection.p_percent),
                nk_dominance: input
                    .protected
                    .protection
                    .dominance
                    .filter(|_| dp.is_none() && input.protected.publishes_sums()),
                secondary_suppression: (dp.is_none() && input.microdata.is_empty()).then_some(
                    "cheapest perturbations (LP) of every sensitive number over all \
                     tables of the release together, re-routed until they settle, \
                     repaired until the audit passes, then pruned while every suppressed \
                     number keeps a proof; above 4 000 linked numbers the LPs cover a box \
                     around each number and nothing is pruned; certified hypercubes where no \
                     move exists; releases of at most 1 000 numbers are protected in four \
                     fixed orders of the sensitive numbers and the pattern with fewest \
                     suppressed cells is kept",
                ),
                cost: input.protected.protection.cost,
                audit: (dp.is_none() && input.microdata.is_empty()).then_some(
                    "Fischetti-Salazar attacker LP over every relation of the release \
                     (margins, hierarchies, linked tables, union bounds of non-additive \
                     persons, persons <= person-times) with non-negativity; in linked \
                     groups of 224 or more suppressed numbers, a number whose values among \
                     solutions of the published relations already span its need keeps that \
                     inner interval (method witnesses), every other interval is exact",
                ),
                summary: input.protected.summary.clone(),
                warnings: input.protected.warnings.clone(),
                dp: dp.cloned(),
            },
            tables,
            microdata: Vec::new(),
            files,
            metadata: PortalMetadata::new(plan, dp.is_some()),
        }
    }
}
