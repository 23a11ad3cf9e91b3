//! The checked pipeline: every cross-reference resolved to an index, every range checked, every
//! default filled in. After [`Plan::from_raw`] nothing in a plan can be wrong, only the data.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::error::{ConfigError, Problem};
use super::raw::{
    DateFormat, EncodingChoice, FieldKind, IdType, InvalidIds, Label, LowCounts, Mechanism,
    OutputFormat, PerPerson, ProtectionMethod, RawColumn, RawDomain, RawMeasure, RawPeriod,
    RawPipeline, RawSource, RawTable, SimpleMeasure, SourceFormat, UnknownPolicy, Zeros,
};
use super::suggest::did_you_mean;

mod domains;
mod dp;
mod microdata;
mod sources;
mod tables;

pub use microdata::{FieldOrigin, Level, MicrodataField, MicrodataSpec};

/// The code of a total (SDMX `_T`), used for margins.
pub const TOTAL_CODE: &str = "_T";

/// A checked pipeline.
#[derive(Debug)]
pub struct Plan {
    /// The pipeline file as given.
    pub file: PathBuf,
    /// SHA-256 of the pipeline file's bytes, hex.
    pub file_sha256: String,
    pub release: Release,
    pub pseudonymise: Pseudonymise,
    pub sources: Vec<Source>,
    pub domains: Vec<Domain>,
    pub tables: Vec<TableSpec>,
    /// Record-level outputs; when there are any, `tables` is empty.
    pub microdata: Vec<MicrodataSpec>,
    pub protection: Protection,
    pub publish: Publish,
    pub limits: Limits,
}

/// `[limits]`, checked, with `--allow-quarantined-share` applied.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_quarantined_share: f64,
    pub max_table_cells: u64,
    pub max_columns: u64,
    pub max_line_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_quarantined_share: DEFAULT_MAX_QUARANTINED_SHARE,
            max_table_cells: DEFAULT_MAX_TABLE_CELLS,
            max_columns: DEFAULT_MAX_COLUMNS,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// Default [`Limits::max_quarantined_share`].
pub const DEFAULT_MAX_QUARANTINED_SHARE: f64 = 0.2;
/// Default [`Limits::max_table_cells`].
pub const DEFAULT_MAX_TABLE_CELLS: u64 = 5_000_000;
/// Default [`Limits::max_columns`].
pub const DEFAULT_MAX_COLUMNS: u64 = 2_000;
/// Default [`Limits::max_line_bytes`].
pub const DEFAULT_MAX_LINE_BYTES: u64 = 1 << 20;

/// `[release]`, checked.
#[derive(Debug)]
pub struct Release {
    /// A file-name-safe name; the release directory is `publish.dir/<name>`.
    pub name: String,
    pub title: Option<Label>,
    pub description: Option<Label>,
    /// Default reporting period of every table.
    pub period: Option<Period>,
    /// What open-data portals ask for; all optional.
    pub portal: Portal,
}

/// `[release]`'s keys for open-data portals.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Portal {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<crate::config::raw::License>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<crate::config::raw::Frequency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spatial: Option<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<crate::config::raw::Contact>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

/// An inclusive range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// Where the pseudonymisation key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file holding the key as hex (as written by `privstat keygen`).
    File(PathBuf),
    /// An environment variable holding the key as hex.
    Env(String),
    /// No key configured: a random key for this run only; pseudonyms are not linkable.
    Ephemeral,
}

/// `[pseudonymise]`, checked.
#[derive(Debug)]
pub struct Pseudonymise {
    pub key: KeySource,
    /// Domain-separation string mixed into every pseudonym.
    pub context: String,
    pub invalid_ids: InvalidIds,
    /// The distinct contexts of the microdata outputs' agreements, each person pseudonymised
    /// under every one of them too.
    pub linkage: Vec<String>,
}

/// One input export.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    pub path: PathBuf,
    pub format: SourceFormat,
    pub encoding: EncodingChoice,
    /// Excel sources: which sheet, and the row of its header.
    pub sheet: Option<Sheet>,
    /// Row (1-based) of the column names in a CSV file or a sheet; rows above it (a title, an
    /// export date) are not read, and data follows it.
    pub header_row: u32,
    /// Header of the person identifier column.
    pub person_column: String,
    /// Identifier schemes accepted in the person column.
    pub id_types: Vec<IdType>,
    /// Values of the person column that mean no identifier, normalised as identifiers are.
    pub missing_ids: Vec<String>,
    /// Whether rows without an identifier are counted as walk-ins (no person) instead of
    /// quarantined.
    pub walk_ins: bool,
    /// The cross-walk column: the identifier a row's person is known by, when it holds one.
    pub crosswalk: Option<String>,
    pub date: Option<DateColumn>,
    pub coded: Vec<CodedColumn>,
    pub text: Vec<NamedColumn>,
    pub integer: Vec<NamedColumn>,
    /// Calendar days other than the service date (a date of birth).
    pub dates: Vec<NamedColumn>,
    /// Headers declared as direct identifiers: never read.
    pub direct_identifiers: Vec<String>,
}

/// Where an Excel source's table is in its workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The sheet's name; the first sheet when none.
    pub name: Option<String>,
}

/// The service date column of a source.
#[derive(Debug)]
pub struct DateColumn {
    pub column: String,
    pub format: DateFormat,
}

/// A column whose values are codes of a domain.
#[derive(Debug)]
pub struct CodedColumn {
    /// Index into [`Plan::domains`]; the field's name is the domain's name.
    pub domain: usize,
    pub column: String,
    /// Source value → code of the domain, applied before the domain's own codes and aliases.
    pub values: BTreeMap<String, String>,
}

/// A non-coded field.
#[derive(Debug)]
pub struct NamedColumn {
    pub field: String,
    pub column: String,
    pub label: Option<Label>,
}

/// The public list of codes of one dimension.
#[derive(Debug)]
pub struct Domain {
    pub name: String,
    pub label: Label,
    /// Leaf codes, in publication order.
    pub codes: Vec<Code>,
    /// Parent codes, each the sum of its members (leaf indices).
    pub groups: Vec<Group>,
    pub group_label: Option<Label>,
    /// Index of the leaf code that unknown values are mapped to, when `unknown = "other"`.
    pub other: Option<usize>,
    pub unknown: UnknownPolicy,
    /// Declared: one code per person (DP releases bound to it); `Several` unless declared.
    pub per_person: PerPerson,
}

/// A leaf code.
#[derive(Debug)]
pub struct Code {
    pub code: String,
    pub label: Label,
    pub aliases: Vec<String>,
}

/// A parent code.
#[derive(Debug)]
pub struct Group {
    pub code: String,
    pub label: Label,
    pub members: Vec<usize>,
}

/// A table to publish.
#[derive(Debug)]
pub struct TableSpec {
    pub name: String,
    pub title: Option<Label>,
    /// Index into [`Plan::sources`].
    pub source: usize,
    /// Indices into [`Plan::domains`], in column order.
    pub dims: Vec<usize>,
    pub measures: Vec<Measure>,
    /// Whether totals (`_T`) and group codes are published.
    pub margins: bool,
    pub period: Option<Period>,
    /// Position in `dims` of the dimension whose total is the denominator of a published share.
    pub share_of: Option<usize>,
    pub layout: crate::config::raw::Layout,
}

/// The name of the service day among a `distinct` measure's fields.
pub const DATE_FIELD: &str = "date";

/// What a table counts in each cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// Distinct persons (人).
    Persons,
    /// Records, one per contact or attendance (人次).
    PersonTimes,
    /// Distinct values of a text field, or of several fields together (`date` is the service
    /// day), e.g. sessions (場次) as distinct (activity code, day).
    Distinct {
        fields: Vec<String>,
        label: Option<Label>,
    },
    /// Sum of an integer field, e.g. training hours.
    Sum { field: String, label: Option<Label> },
}

impl Measure {
    /// The value of the `measure` column in published tables.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Persons => "persons".to_owned(),
            Self::PersonTimes => "person_times".to_owned(),
            Self::Distinct { fields, .. } => format!("distinct_{}", fields.join("_")),
            Self::Sum { field, .. } => format!("sum_{field}"),
        }
    }

    /// Bilingual description for the data dictionary.
    #[must_use]
    pub fn label(&self) -> Label {
        match self {
            Self::Persons => Label {
                zh: "人數（期間內不重複人數）".into(),
                en: "Persons (distinct persons in the period)".into(),
            },
            Self::PersonTimes => Label {
                zh: "人次".into(),
                en: "Person-times (records)".into(),
            },
            Self::Distinct {
                label: Some(label), ..
            } => label.clone(),
            Self::Distinct { fields, .. } => Label {
                zh: format!("{} 不重複數（如場次）", fields.join("+")),
                en: format!("Distinct values of {} (e.g. sessions)", fields.join(" + ")),
            },
            Self::Sum {
                label: Some(label), ..
            } => label.clone(),
            Self::Sum { field, .. } => Label {
                zh: format!("{field} 合計"),
                en: format!("Sum of {field}"),
            },
        }
    }
}

/// `[protection]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Protection {
    pub method: ProtectionMethod,
    /// Cells with `0 < persons < threshold` are primary, whatever the measure.
    pub threshold: NonZeroU32,
    /// Minimum width of a primary cell's feasibility interval, in persons (and person-times).
    pub level: u32,
    /// The p% rule for sums (0: off): a cell whose sum's contributions beyond its two largest
    /// persons' add up to less than `p_percent` % of the largest is primary, and its sum's interval
    /// must hold what the rule asks ([`crate::protect::p_percent_need`]).
    pub p_percent: u32,
    /// The (n,k)-dominance rule for sums, if asked for: a cell whose `n` largest persons hold more
    /// than `k` % of its sum is primary, and its sum's interval must hold what the rule asks
    /// ([`crate::protect::dominance_need`]).
    pub dominance: Option<Dominance>,
    pub zeros: Zeros,
    pub cost: super::raw::Cost,
    pub always_suppress: Vec<CellRule>,
    pub always_publish: Vec<CellRule>,
    /// Set exactly when `method = "dp"`.
    pub dp: Option<Dp>,
}

/// Differential-privacy settings, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Dp {
    pub mechanism: Mechanism,
    pub budget: DpBudget,
    pub dataset: String,
    /// `None` only when the pipeline names no ledger; `run` then needs `--ledger`.
    pub ledger: Option<PathBuf>,
    pub cap: DpCap,
    pub low_counts: LowCounts,
    /// With a `moe95` budget, the most the release may cost (in the mechanism's loss) before it
    /// is refused.
    pub max_loss: f64,
    /// Share of the release's loss spent on the noisy estimate of what bounding removed
    /// (`bounding_loss_share`, default [`DEFAULT_BOUNDING_LOSS_SHARE`]); 0 spends nothing on it.
    pub bounding_loss_share: f64,
    /// One per table of [`Plan::tables`], in order.
    pub tables: Vec<DpTable>,
}

/// Default share of a DP release's loss spent on estimating what bounding removed.
pub const DEFAULT_BOUNDING_LOSS_SHARE: f64 = 0.05;
/// Largest `bounding_loss_share`: the tables keep at least half of the budget.
pub const MAX_BOUNDING_LOSS_SHARE: f64 = 0.5;

/// Default ceiling of what a `moe95` target may cost a Laplace release, in ε.
pub const DEFAULT_MAX_LOSS_EPSILON: f64 = 1.0;
/// Default ceiling of what a `moe95` target may cost a Gaussian release, in ρ.
pub const DEFAULT_MAX_LOSS_RHO: f64 = 0.5;

/// How much a release may spend, before it is split across tables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DpBudget {
    /// Pure ε-DP (Laplace).
    Epsilon(f64),
    /// ρ-zCDP (Gaussian).
    Rho(f64),
    /// A target 95 % margin of error per cell; the spend follows from it.
    Moe95(f64),
}

/// A dataset's lifetime cap.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpCap {
    Epsilon(f64),
    Rho(f64),
}

/// Contribution bounds and budget weight of one table.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DpTable {
    pub weight: f64,
    pub max_cells_per_person: u32,
    pub max_records_per_cell: u32,
}

/// Default most leaf cells one person may count in, per table.
pub const DEFAULT_MAX_CELLS: u32 = 4;
/// Default most records one person may add to one cell.
pub const DEFAULT_MAX_RECORDS: u32 = 4;

/// Person-column values that mean "no identifier" unless `person.missing` says otherwise.
pub const DEFAULT_MISSING_IDS: &[&str] = &[
    "無",
    "无",
    "無資料",
    "不詳",
    "未提供",
    "未填",
    "N/A",
    "NA",
    "NULL",
    "NONE",
    "NIL",
    "?",
    "/",
];

/// Longest release, table or source name (names become file names).
pub const MAX_NAME_LEN: usize = 100;
/// Largest `threshold`: a threshold is a small count of persons.
pub const MAX_THRESHOLD: u64 = 1_000;
/// The (n,k)-dominance rule: the `n` largest contributions may hold at most `k` % of a sum. The
/// manifest writes it, and the audit reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dominance {
    pub n: u32,
    pub k: u32,
}

/// Largest `n` of the (n,k)-dominance rule.
pub const MAX_DOMINANCE_N: u32 = 10;

/// Default `p_percent` of the p% rule for sums.
pub const DEFAULT_P_PERCENT: u32 = 10;

/// Largest `protection_level`.
pub const MAX_PROTECTION_LEVEL: u64 = 100_000;
/// Largest `max_cells_per_person` and `max_records_per_cell`.
pub const MAX_CONTRIBUTION_BOUND: u64 = 10_000;
/// Largest per-release budget (`epsilon`, `rho`, `max_loss`): beyond it a release is not private
/// in any useful sense, and the noise samplers' arithmetic is not meant for it.
pub const MAX_RELEASE_LOSS: f64 = 100.0;
/// Largest lifetime cap.
pub const MAX_LIFETIME_LOSS: f64 = 10_000.0;
/// Largest `moe95` target and table `weight`.
pub const MAX_TARGET: f64 = 1e9;

/// A set of cells named by the data owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellRule {
    /// `None`: every table that has all the named dimensions.
    pub table: Option<String>,
    /// `(dimension, code)` pairs a cell must all match.
    pub cells: Vec<(String, String)>,
}

impl CellRule {
    /// Whether the rule names the cell at `codes` (one `(dimension, code)` per axis) of `table`.
    #[must_use]
    pub fn matches(&self, table: &str, codes: &[(&str, &str)]) -> bool {
        self.table.as_deref().is_none_or(|t| t == table)
            && self
                .cells
                .iter()
                .all(|(d, c)| codes.iter().any(|(dd, cc)| dd == d && cc == c))
    }
}

/// `[publish]`, checked.
#[derive(Debug)]
pub struct Publish {
    pub dir: PathBuf,
    /// The operator's files for this release (quarantine report, audit report, run summary): row
    /// numbers and exact counts that are not for publication.
    pub operator_dir: PathBuf,
    pub formats: Vec<OutputFormat>,
    pub csv_bom: bool,
    /// The publisher's own pages, copied into the release under their file names.
    pub attachments: Vec<Attachment>,
}

/// A file of the publisher's own published beside the tables (`[publish] attachments`).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub path: PathBuf,
    /// Its file name, which it keeps in the release.
    pub name: String,
}

/// Extensions of attachments: text the audit reads whole for identifiers.
pub const ATTACHMENT_EXTENSIONS: [&str; 4] = ["md", "txt", "html", "htm"];

/// Largest attachment, in bytes.
pub const MAX_ATTACHMENT_BYTES: u64 = 5 * 1024 * 1024;

/// Whether any label a release publishes (titles, code and measure labels) is not ASCII, so that
/// its CSV files need a byte-order mark for Excel to read them as UTF-8.
fn publishes_non_ascii(release: &Release, domains: &[Domain], tables: &[TableSpec]) -> bool {
    let label = |l: &Label| !l.zh.is_ascii() || !l.en.is_ascii();
    release.title.as_ref().is_some_and(label)
        || tables.iter().any(|t| {
            t.title.as_ref().is_some_and(label)
                || t.measures.iter().any(|m| label(&m.label()))
                || t.dims.iter().any(|&d| {
                    let d = &domains[d];
                    label(&d.label)
                        || d.codes.iter().any(|c| label(&c.label))
                        || d.groups.iter().any(|g| label(&g.label))
                })
        })
}

/// Command-line overrides applied before checking.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--out DIR`.
    pub out: Option<PathBuf>,
    /// `--source NAME=PATH`, paths relative to the working directory.
    pub sources: Vec<(String, PathBuf)>,
    /// `--ledger PATH`, relative to the working directory.
    pub ledger: Option<PathBuf>,
    /// `--allow-quarantined-share SHARE`: replaces `[limits] max_quarantined_share`.
    pub max_quarantined_share: Option<f64>,
}

impl Plan {
    /// Checks a parsed pipeline file, reporting every problem found at once.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] listing each problem with its key path.
    pub fn from_raw(
        raw: RawPipeline,
        file: &Path,
        file_sha256: String,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut problems = Vec::new();
        let mut check = Checker {
            problems: &mut problems,
        };

        let release = check.release(&raw.release);
        let pseudonymise = check.pseudonymise(&raw.pseudonymise, &base);
        let (domains, domain_index) = check.domains(&raw.domains);

        for (name, _) in &overrides.sources {
            if !raw.sources.contains_key(name) {
                check.push(
                    "--source",
                    format!("no source named `{name}` in the pipeline file"),
                    did_you_mean(name, raw.sources.keys()),
                );
            }
        }
        let source_names: Vec<&String> = raw.sources.keys().collect();
        let sources: Vec<Source> = raw
            .sources
            .iter()
            .map(|(name, source)| {
                let path = overrides
                    .sources
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or_else(|| base.join(&source.path), |(_, p)| p.clone());
                check.source(name, source, path, &domains, &domain_index)
            })
            .collect();
        if sources.is_empty() {
            check.push("sources", "at least one source is required".into(), None);
        }

        let tables: Vec<TableSpec> = raw
            .tables
            .iter()
            .filter_map(|(name, table)| {
                check.table(name, table, &source_names, &sources, &domain_index)
            })
            .collect();
        let microdata: Vec<MicrodataSpec> = raw
            .microdata
            .iter()
            .filter_map(|(name, m)| {
                check.microdata(
                    name,
                    m,
                    &microdata::Around {
                        source_names: &source_names,
                        sources: &sources,
                        domains: &domains,
                        period: release.period,
                        pseudonymise: &pseudonymise,
                    },
                )
            })
            .collect();
        if raw.tables.is_empty() && raw.microdata.is_empty() {
            check.push(
                "tables",
                "at least one table (or microdata output) is required".into(),
                None,
            );
        }
        if !raw.tables.is_empty() && !raw.microdata.is_empty() {
            check.push(
                "microdata",
                "a release holds tables or microdata, not both: the records would let anyone \
                 recount every suppressed cell of the tables"
                    .into(),
                Some("publish the microdata from a pipeline file of its own".into()),
            );
        }

        let limits = check.limits(&raw.limits, overrides);
        for t in &tables {
            check.table_size(t, &domains, limits.max_table_cells);
        }
        let mut protection = check.protection(&raw, &domains, &domain_index, &tables);
        protection.dp = check.dp(&raw, &base, overrides, &tables);
        let mut pseudonymise = pseudonymise;
        for m in &microdata {
            if !pseudonymise.linkage.contains(&m.context) {
                pseudonymise.linkage.push(m.context.clone());
            }
        }
        if protection.dp.is_some() && !microdata.is_empty() {
            check.push(
                "protection.method",
                "microdata is protected by k-anonymity, not by differential privacy".into(),
                Some("remove method = \"dp\" from the microdata pipeline".into()),
            );
        }
        let dir = overrides
            .out
            .clone()
            .unwrap_or_else(|| base.join(&raw.publish.dir));
        let publish = Publish {
            operator_dir: raw.publish.operator_dir.as_ref().map_or_else(
                || dir.join(".operator").join(&release.name),
                |d| base.join(d).join(&release.name),
            ),
            dir,
            formats: check.formats(raw.publish.formats.as_deref(), !raw.microdata.is_empty()),
            csv_bom: raw
                .publish
                .csv_bom
                .unwrap_or_else(|| publishes_non_ascii(&release, &domains, &tables)),
            attachments: check.attachments(&raw.publish.attachments, &base, &release, &tables),
        };

        if problems.is_empty() {
            Ok(Self {
                file: file.to_path_buf(),
                file_sha256,
                release,
                pseudonymise,
                sources,
                domains,
                tables,
                microdata,
                protection,
                publish,
                limits,
            })
        } else {
            Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                problems,
            })
        }
    }
}

struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    /// `[publish] attachments`: regular UTF-8 text files of a kind the audit scans, small, each
    /// with a file name no generated file of the release has.
    fn attachments(
        &mut self,
        paths: &[PathBuf],
        base: &Path,
        release: &Release,
        tables: &[TableSpec],
    ) -> Vec<Attachment> {
        let mut reserved: Vec<String> = [
            "manifest.json",
            "data-dictionary.csv",
            "codelists.csv",
            "datapackage.json",
            "report.html",
        ]
        .map(String::from)
        .to_vec();
        reserved.push(format!("{}.xlsx", release.name));
        let mut out: Vec<Attachment> = Vec::with_capacity(paths.len());
        for (i, p) in paths.iter().enumerate() {
            let key = format!("publish.attachments[{i}]");
            let path = base.join(p);
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                self.push(&key, format!("{}: no file name", p.display()), None);
                continue;
            };
            let extension = Path::new(&name)
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if !ATTACHMENT_EXTENSIONS.contains(&extension.as_str()) {
                self.push(
                    &key,
                    format!(
                        "{}: attachments are Markdown, text or HTML (.{}), which the audit reads whole for identifiers",
                        p.display(),
                        ATTACHMENT_EXTENSIONS.join(", .")
                    ),
                    Some("attach the page as Markdown or HTML".into()),
                );
                continue;
            }
            let stem = name.split('.').next().unwrap_or_default();
            if name.contains(['#', '?', '%']) {
                self.push(
                    &key,
                    format!("`{name}`: a file name with # ? or % cannot be linked from the report"),
                    Some("rename the attachment".into()),
                );
                continue;
            }
            if name.starts_with('.')
                || reserved.contains(&name)
                || tables
                    .iter()
                    .any(|t| stem == t.name || stem.starts_with(&format!("{}-", t.name)))
                || out.iter().any(|a| a.name == name)
            {
                self.push(
                    &key,
                    format!(
                        "`{name}` is the name of another file of the release (or starts with a table's name)"
                    ),
                    Some("rename the attachment".into()),
                );
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() && m.len() <= MAX_ATTACHMENT_BYTES => {}
                Ok(m) if m.is_file() => {
                    self.push(
                        &key,
                        format!(
                            "{}: {} bytes, more than the {MAX_ATTACHMENT_BYTES} an attachment may have",
                            p.display(),
                            m.len()
                        ),
                        None,
                    );
                    continue;
                }
                Ok(_) => {
                    self.push(&key, format!("{}: not a regular file", p.display()), None);
                    continue;
                }
                Err(e) => {
                    self.push(&key, format!("{}: {e}", path.display()), None);
                    continue;
                }
            }
            match std::fs::read(&path) {
                Ok(bytes) if std::str::from_utf8(&bytes).is_ok() => {}
                Ok(_) => {
                    self.push(
                        &key,
                        format!("{}: not UTF-8 text", p.display()),
                        Some("save the page as UTF-8".into()),
                    );
                    continue;
                }
                Err(e) => {
                    self.push(&key, format!("{}: {e}", path.display()), None);
                    continue;
                }
            }
            out.push(Attachment { path, name });
        }
        out
    }

    fn push(&mut self, key: &str, message: String, hint: Option<String>) {
        self.problems.push(Problem {
            key: key.to_owned(),
            message,
            hint,
        });
    }

    /// One problem, with the same message and hint, for each key under `section` that is given.
    fn reject_given(
        &mut self,
        section: &str,
        keys: &[(&str, bool)],
        message: &str,
        hint: Option<&str>,
    ) {
        for &(key, given) in keys {
            if given {
                self.push(
                    &format!("{section}.{key}"),
                    message.to_owned(),
                    hint.map(str::to_owned),
                );
            }
        }
    }

    /// Field and domain names become column names: lower-case ASCII, digits and `_`, starting with a
    /// letter, so they can never collide with privstat's internal `__` columns.
    fn field_name(&mut self, key: &str, name: &str) {
        let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            self.push(
                key,
                format!("`{name}` cannot be a field name"),
                Some("use lower-case ASCII letters, digits and `_`, starting with a letter".into()),
            );
        }
    }

    /// Names that become paths (the release directory, a table's files) are one plain file name:
    /// ASCII letters, digits, `-`, `_` and `.`, not starting with `.`, at most 100 characters; so no
    /// separator, no `..`, no absolute path can take a write outside the release.
    fn file_name(&mut self, key: &str, name: &str, what: &str) {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            self.push(
                key,
                format!(
                    "`{}` cannot be used as {what}",
                    name.escape_debug().take(MAX_NAME_LEN).collect::<String>()
                ),
                Some(format!(
                    "use at most {MAX_NAME_LEN} ASCII letters, digits, `-`, `_` and `.`, not \
                     starting with `.` (no `/`, `\\` or `..`)"
                )),
            );
        }
    }

    /// A whole-number key within its allowed range.
    fn in_range(&mut self, key: &str, v: u64, range: std::ops::RangeInclusive<u64>, why: &str) {
        if !range.contains(&v) {
            self.push(
                key,
                format!(
                    "= {v} is outside the allowed range {}..={}",
                    range.start(),
                    range.end()
                ),
                Some(why.to_owned()),
            );
        }
    }
}
