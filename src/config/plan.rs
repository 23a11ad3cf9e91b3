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

mod dp;

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
}

/// One input export.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    pub path: PathBuf,
    pub format: SourceFormat,
    pub encoding: EncodingChoice,
    /// Header of the person identifier column.
    pub person_column: String,
    /// Identifier schemes accepted in the person column.
    pub id_types: Vec<IdType>,
    /// Values of the person column that mean no identifier, normalised as identifiers are.
    pub missing_ids: Vec<String>,
    pub date: Option<DateColumn>,
    pub coded: Vec<CodedColumn>,
    pub text: Vec<NamedColumn>,
    pub integer: Vec<NamedColumn>,
    /// Headers declared as direct identifiers: never read.
    pub direct_identifiers: Vec<String>,
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
}

/// What a table counts in each cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// Distinct persons (人).
    Persons,
    /// Records, one per contact or attendance (人次).
    PersonTimes,
    /// Distinct values of a text field, e.g. sessions (場次).
    Distinct(String),
    /// Sum of an integer field.
    Sum(String),
}

impl Measure {
    /// The value of the `measure` column in published tables.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Persons => "persons".to_owned(),
            Self::PersonTimes => "person_times".to_owned(),
            Self::Distinct(field) => format!("distinct_{field}"),
            Self::Sum(field) => format!("sum_{field}"),
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
            Self::Distinct(field) => Label {
                zh: format!("{field} 不重複數（如場次）"),
                en: format!("Distinct values of {field} (e.g. sessions)"),
            },
            Self::Sum(field) => Label {
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
        if raw.tables.is_empty() {
            check.push("tables", "at least one table is required".into(), None);
        }

        let limits = check.limits(&raw.limits, overrides);
        for t in &tables {
            check.table_size(t, &domains, limits.max_table_cells);
        }
        let mut protection = check.protection(&raw, &domains, &domain_index, &tables);
        protection.dp = check.dp(&raw, &base, overrides, &tables);
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
            formats: check.formats(raw.publish.formats.as_deref()),
            csv_bom: raw.publish.csv_bom,
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

    fn limits(&mut self, raw: &super::raw::RawLimits, overrides: &Overrides) -> Limits {
        let share = overrides
            .max_quarantined_share
            .or(raw.max_quarantined_share)
            .unwrap_or(DEFAULT_MAX_QUARANTINED_SHARE);
        if !(0.0..=1.0).contains(&share) {
            self.push(
                if overrides.max_quarantined_share.is_some() {
                    "--allow-quarantined-share"
                } else {
                    "limits.max_quarantined_share"
                },
                format!("= {share:?} is not a share between 0 and 1"),
                Some("e.g. 0.2 stops a run when more than a fifth of a source's rows are quarantined".into()),
            );
        }
        let mut bounded = |key: &str, v: Option<u64>, default: u64, max: u64| {
            let v = v.unwrap_or(default);
            self.in_range(
                key,
                v,
                1..=max,
                "raise it only as far as the machine allows",
            );
            v.max(1)
        };
        Limits {
            max_quarantined_share: share,
            max_table_cells: bounded(
                "limits.max_table_cells",
                raw.max_table_cells,
                DEFAULT_MAX_TABLE_CELLS,
                1_000_000_000,
            ),
            max_columns: bounded(
                "limits.max_columns",
                raw.max_columns,
                DEFAULT_MAX_COLUMNS,
                100_000,
            ),
            max_line_bytes: bounded(
                "limits.max_line_bytes",
                raw.max_line_bytes,
                DEFAULT_MAX_LINE_BYTES,
                1 << 30,
            ),
        }
    }

    /// A table's cells (every code, group and total of each dimension, crossed) are counted before
    /// anything is allocated for them.
    fn table_size(&mut self, t: &TableSpec, domains: &[Domain], cap: u64) {
        let sizes: Vec<u64> = t
            .dims
            .iter()
            .map(|&d| {
                let d = &domains[d];
                (d.codes.len() + d.groups.len()) as u64 + u64::from(t.margins)
            })
            .collect();
        let cells = sizes
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .unwrap_or(u64::MAX);
        if cells > cap {
            self.push(
                &format!("tables.{}.by", t.name),
                format!(
                    "crosses to {cells} cells ({}), more than limits.max_table_cells = {cap}",
                    sizes
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(" × ")
                ),
                Some("drop a dimension, group codes, or raise [limits] max_table_cells".into()),
            );
        }
    }

    fn release(&mut self, raw: &super::raw::RawRelease) -> Release {
        self.file_name("release.name", &raw.name, "a directory name");
        Release {
            name: raw.name.clone(),
            title: raw.title.clone(),
            description: raw.description.clone(),
            period: raw
                .period
                .as_ref()
                .and_then(|p| self.period("release.period", p)),
        }
    }

    fn period(&mut self, key: &str, raw: &RawPeriod) -> Option<Period> {
        let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        match (parse(&raw.start), parse(&raw.end)) {
            (Some(start), Some(end)) if start <= end => Some(Period { start, end }),
            (Some(_), Some(_)) => {
                self.push(key, "start is after end".into(), None);
                None
            }
            _ => {
                self.push(
                    key,
                    format!(
                        "start = \"{}\", end = \"{}\" are not both ISO dates",
                        raw.start, raw.end
                    ),
                    Some("write dates as YYYY-MM-DD, e.g. start = \"2021-01-01\"".into()),
                );
                None
            }
        }
    }

    fn pseudonymise(&mut self, raw: &super::raw::RawPseudonymise, base: &Path) -> Pseudonymise {
        let key = match (&raw.key_file, &raw.key_env) {
            (Some(_), Some(_)) => {
                self.push(
                    "pseudonymise",
                    "key_file and key_env are both set".into(),
                    Some("choose one source for the key".into()),
                );
                KeySource::Ephemeral
            }
            (Some(file), None) => KeySource::File(base.join(file)),
            (None, Some(var)) => KeySource::Env(var.clone()),
            (None, None) => KeySource::Ephemeral,
        };
        let context = match (&raw.context, &key) {
            (Some(c), _) if c.trim().is_empty() => {
                self.push("pseudonymise.context", "must not be empty".into(), None);
                String::new()
            }
            (Some(c), _) => c.clone(),
            (None, KeySource::Ephemeral) => "ephemeral".to_owned(),
            (None, _) => {
                self.push(
                    "pseudonymise.context",
                    "is required when a key is configured".into(),
                    Some(
                        "pseudonyms are linkable only under the same key and context; \
                         name the dataset, e.g. context = \"kaohsiung-nifsc/v1\""
                            .into(),
                    ),
                );
                String::new()
            }
        };
        Pseudonymise {
            key,
            context,
            invalid_ids: raw.invalid_ids,
        }
    }

    fn domains(
        &mut self,
        raw: &BTreeMap<String, RawDomain>,
    ) -> (Vec<Domain>, BTreeMap<String, usize>) {
        let mut domains = Vec::new();
        let mut index = BTreeMap::new();
        for (name, d) in raw {
            let key = format!("domains.{name}");
            self.field_name(&key, name);
            if d.codes.is_empty() {
                self.push(&key, "has no codes".into(), None);
            }
            let mut seen = HashSet::new();
            for c in &d.codes {
                if c.code == TOTAL_CODE || c.code.trim().is_empty() {
                    self.push(
                        &format!("{key}.codes"),
                        format!("`{}` cannot be a code", c.code),
                        Some(format!("`{TOTAL_CODE}` is reserved for totals")),
                    );
                }
                if !seen.insert(c.code.clone()) {
                    self.push(
                        &format!("{key}.codes"),
                        format!("code `{}` appears twice", c.code),
                        None,
                    );
                }
            }
            let position = |code: &str| d.codes.iter().position(|c| c.code == code);
            let mut in_group = vec![false; d.codes.len()];
            let mut groups = Vec::new();
            for g in &d.groups {
                if !seen.insert(g.code.clone()) || g.code == TOTAL_CODE {
                    self.push(
                        &format!("{key}.groups"),
                        format!("group code `{}` is already a code", g.code),
                        None,
                    );
                }
                let mut members = Vec::new();
                for m in &g.members {
                    match position(m) {
                        Some(i) if in_group[i] => self.push(
                            &format!("{key}.groups"),
                            format!("code `{m}` is a member of two groups"),
                            Some("each code belongs to at most one group".into()),
                        ),
                        Some(i) => {
                            in_group[i] = true;
                            members.push(i);
                        }
                        None => self.push(
                            &format!("{key}.groups"),
                            format!("group `{}` names unknown member `{m}`", g.code),
                            did_you_mean(m, d.codes.iter().map(|c| &c.code)),
                        ),
                    }
                }
                groups.push(Group {
                    code: g.code.clone(),
                    label: Label {
                        zh: g.zh.clone(),
                        en: g.en.clone(),
                    },
                    members,
                });
            }
            let other = d.other.as_ref().and_then(|o| {
                let p = position(o);
                if p.is_none() {
                    self.push(
                        &format!("{key}.other"),
                        format!("`{o}` is not one of the domain's codes"),
                        None,
                    );
                }
                p
            });
            if d.unknown == UnknownPolicy::Other && other.is_none() && d.other.is_none() {
                self.push(
                    &format!("{key}.unknown"),
                    "is \"other\" but no `other` code is declared".into(),
                    Some("add other = \"<code>\" naming the catch-all code".into()),
                );
            }
            index.insert(name.clone(), domains.len());
            domains.push(Domain {
                name: name.clone(),
                label: d.label.clone(),
                codes: d
                    .codes
                    .iter()
                    .map(|c| Code {
                        code: c.code.clone(),
                        label: Label {
                            zh: c.zh.clone(),
                            en: c.en.clone(),
                        },
                        aliases: c.aliases.clone(),
                    })
                    .collect(),
                groups,
                group_label: d.group_label.clone(),
                other,
                unknown: d.unknown,
                per_person: d.per_person.unwrap_or_default(),
            });
        }
        (domains, index)
    }

    fn source(
        &mut self,
        name: &str,
        raw: &RawSource,
        path: PathBuf,
        domains: &[Domain],
        domain_index: &BTreeMap<String, usize>,
    ) -> Source {
        let key = format!("sources.{name}");
        self.file_name(&key, name, "a source name");
        let format = raw.format.or_else(|| {
            match path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
            {
                Some(e) if e == "csv" || e == "txt" => Some(SourceFormat::Csv),
                Some(e) if e == "parquet" => Some(SourceFormat::Parquet),
                _ => None,
            }
        });
        let format = format.unwrap_or_else(|| {
            self.push(
                &format!("{key}.format"),
                "cannot be told from the file name".into(),
                Some("add format = \"csv\" or format = \"parquet\"".into()),
            );
            SourceFormat::Csv
        });
        if format == SourceFormat::Parquet && raw.encoding != EncodingChoice::Auto {
            self.push(
                &format!("{key}.encoding"),
                "applies to CSV sources only".into(),
                None,
            );
        }

        let mut coded = Vec::new();
        let mut text = Vec::new();
        let mut integer = Vec::new();
        let mut used: Vec<&str> = vec![raw.person.column.as_str()];
        if let Some(d) = &raw.date {
            used.push(&d.column);
        }
        for (field, column) in &raw.columns {
            match (column, domain_index.get(field)) {
                (RawColumn::Coded(column), Some(&domain)) => {
                    used.push(column);
                    coded.push(CodedColumn {
                        domain,
                        column: column.clone(),
                        values: BTreeMap::new(),
                    });
                }
                (RawColumn::Coded(_), None) => self.push(
                    &format!("{key}.columns.{field}"),
                    format!("`{field}` is not a domain"),
                    did_you_mean(field, domain_index.keys()).or_else(|| {
                        Some(format!(
                            "declare a domain [domains.{field}], or a typed field: \
                             {field} = {{ column = \"...\", type = \"text\" }}"
                        ))
                    }),
                ),
                (RawColumn::Typed(t), Some(_)) => self.push(
                    &format!("{key}.columns.{field}"),
                    format!("`{field}` is a domain, so its column is coded, not typed"),
                    Some(format!("write {field} = \"{}\"", t.column)),
                ),
                (RawColumn::Typed(t), None) => {
                    self.field_name(&format!("{key}.columns.{field}"), field);
                    used.push(&t.column);
                    let named = NamedColumn {
                        field: field.clone(),
                        column: t.column.clone(),
                    };
                    match t.kind {
                        FieldKind::Text => text.push(named),
                        FieldKind::Integer => integer.push(named),
                    }
                }
            }
        }
        let mut once = HashSet::new();
        for column in &used {
            if !once.insert(*column) {
                self.push(
                    &key,
                    format!("column `{column}` is used by two fields"),
                    None,
                );
            }
        }
        for column in &raw.direct_identifiers {
            if used.contains(&column.as_str()) {
                self.push(
                    &format!("{key}.direct_identifiers"),
                    format!("`{column}` is declared a direct identifier but is also mapped"),
                    Some("direct identifiers are never read; remove one of the two".into()),
                );
            }
        }
        for (field, map) in &raw.values {
            let Some(c) = coded
                .iter_mut()
                .find(|c| domains.get(c.domain).is_some_and(|d| &d.name == field))
            else {
                self.push(
                    &format!("{key}.values.{field}"),
                    format!("`{field}` is not a coded column of this source"),
                    did_you_mean(field, raw.columns.keys()),
                );
                continue;
            };
            let domain = &domains[c.domain];
            for (from, to) in map {
                if !domain.codes.iter().any(|code| &code.code == to) {
                    self.push(
                        &format!("{key}.values.{field}"),
                        format!("`{from}` maps to `{to}`, which is not a code of domain {field}"),
                        did_you_mean(to, domain.codes.iter().map(|c| &c.code)),
                    );
                }
            }
            c.values.clone_from(map);
        }
        let id_types = raw.person.id_types.clone().unwrap_or_else(|| {
            vec![
                IdType::TwNational,
                IdType::TwUi,
                IdType::Hkid,
                IdType::PrcId,
            ]
        });
        if id_types.is_empty() {
            self.push(
                &format!("{key}.person.id_types"),
                "is empty".into(),
                Some("list at least one of tw_national, tw_ui, hkid, prc_id".into()),
            );
        }
        Source {
            name: name.to_owned(),
            path,
            format,
            encoding: raw.encoding,
            person_column: raw.person.column.clone(),
            missing_ids: match &raw.person.missing {
                Some(tokens) => tokens.iter().map(String::as_str).collect::<Vec<_>>(),
                None => DEFAULT_MISSING_IDS.to_vec(),
            }
            .into_iter()
            .map(crate::text::normalise_identifier)
            .filter(|t| !t.is_empty())
            .collect(),
            id_types,
            date: raw.date.as_ref().map(|d| DateColumn {
                column: d.column.clone(),
                format: d.format,
            }),
            coded,
            text,
            integer,
            direct_identifiers: raw.direct_identifiers.clone(),
        }
    }

    fn table(
        &mut self,
        name: &str,
        raw: &RawTable,
        source_names: &[&String],
        sources: &[Source],
        domain_index: &BTreeMap<String, usize>,
    ) -> Option<TableSpec> {
        let key = format!("tables.{name}");
        self.file_name(&key, name, "a table name (it names the table's files)");
        let Some(source) = source_names.iter().position(|s| *s == &raw.source) else {
            self.push(
                &format!("{key}.source"),
                format!("no source named `{}`", raw.source),
                did_you_mean(&raw.source, source_names.iter().copied()),
            );
            return None;
        };
        let src = &sources[source];
        let mut dims = Vec::new();
        for dim in &raw.by {
            match domain_index.get(dim) {
                Some(&d) if src.coded.iter().any(|c| c.domain == d) => {
                    if dims.contains(&d) {
                        self.push(&format!("{key}.by"), format!("`{dim}` appears twice"), None);
                    }
                    dims.push(d);
                }
                Some(_) => self.push(
                    &format!("{key}.by"),
                    format!("source `{}` has no column for `{dim}`", raw.source),
                    Some(format!("map one under [sources.{}.columns]", raw.source)),
                ),
                None => self.push(
                    &format!("{key}.by"),
                    format!("unknown dimension `{dim}`"),
                    did_you_mean(dim, domain_index.keys()),
                ),
            }
        }
        if raw.by.is_empty() || raw.by.len() > 4 {
            self.push(
                &format!("{key}.by"),
                format!("has {} dimensions; tables have 1 to 4", raw.by.len()),
                None,
            );
        }
        let mut measures = Vec::new();
        for m in &raw.measures {
            let measure = match m {
                RawMeasure::Simple(SimpleMeasure::Persons) => Measure::Persons,
                RawMeasure::Simple(SimpleMeasure::PersonTimes) => Measure::PersonTimes,
                RawMeasure::Distinct { distinct } => {
                    if !src.text.iter().any(|t| &t.field == distinct) {
                        self.push(
                            &format!("{key}.measures"),
                            format!("`{distinct}` is not a text field of source `{}`", src.name),
                            did_you_mean(distinct, src.text.iter().map(|t| &t.field)),
                        );
                    }
                    Measure::Distinct(distinct.clone())
                }
                RawMeasure::Sum { sum } => {
                    if !src.integer.iter().any(|t| &t.field == sum) {
                        self.push(
                            &format!("{key}.measures"),
                            format!("`{sum}` is not an integer field of source `{}`", src.name),
                            did_you_mean(sum, src.integer.iter().map(|t| &t.field)),
                        );
                    }
                    Measure::Sum(sum.clone())
                }
            };
            if measures.contains(&measure) {
                self.push(
                    &format!("{key}.measures"),
                    format!("`{}` appears twice", measure.name()),
                    None,
                );
            }
            measures.push(measure);
        }
        if measures.is_empty() {
            self.push(
                &format!("{key}.measures"),
                "is empty".into(),
                Some("e.g. measures = [\"persons\", \"person_times\"]".into()),
            );
        }
        let period = raw
            .period
            .as_ref()
            .and_then(|p| self.period(&format!("{key}.period"), p));
        if raw.period.is_some() && src.date.is_none() {
            self.push(
                &format!("{key}.period"),
                format!("source `{}` has no date column to filter on", src.name),
                Some(format!("add [sources.{}.date]", src.name)),
            );
        }
        let share_of = raw.share_of.as_ref().and_then(|s| {
            let found = domain_index
                .get(s)
                .and_then(|d| dims.iter().position(|x| x == d));
            if found.is_none() {
                self.push(
                    &format!("{key}.share_of"),
                    format!("`{s}` is not one of this table's dimensions"),
                    did_you_mean(s, raw.by.iter()),
                );
            }
            if !raw.margins {
                self.push(
                    &format!("{key}.share_of"),
                    "needs margins = true: the denominator is the total".into(),
                    None,
                );
            }
            found
        });
        Some(TableSpec {
            name: name.to_owned(),
            title: raw.title.clone(),
            source,
            dims,
            measures,
            margins: raw.margins,
            period,
            share_of,
        })
    }

    fn protection(
        &mut self,
        raw: &RawPipeline,
        domains: &[Domain],
        domain_index: &BTreeMap<String, usize>,
        tables: &[TableSpec],
    ) -> Protection {
        let p = &raw.protection;
        let threshold = p.threshold;
        if threshold < 2 {
            self.push(
                "protection.threshold",
                format!("= {threshold} suppresses nothing"),
                Some("the usual floor is 3 (fewer than 3 units is confidential)".into()),
            );
        }
        self.in_range(
            "protection.threshold",
            u64::from(threshold),
            2..=MAX_THRESHOLD,
            "thresholds are small counts; the usual one is 3",
        );
        let level = p.protection_level.unwrap_or(threshold);
        if level > 0 && p.protection_level.is_some() {
            self.in_range(
                "protection.protection_level",
                u64::from(level),
                1..=MAX_PROTECTION_LEVEL,
                "a protection level is a width in persons, usually the threshold or a little more",
            );
        }
        if level == 0 {
            self.push(
                "protection.protection_level",
                "= 0 would accept exactly recoverable cells".into(),
                Some("leave it out to use the threshold".into()),
            );
        }
        let mut rules = |key: &str, raw_rules: &[crate::config::raw::RawCellRule]| {
            raw_rules
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    self.cell_rule(
                        &format!("protection.{key}[{i}]"),
                        r,
                        domains,
                        domain_index,
                        tables,
                    )
                })
                .collect::<Vec<_>>()
        };
        let always_suppress = rules("always_suppress", &p.always_suppress);
        let always_publish = rules("always_publish", &p.always_publish);
        Protection {
            method: p.method,
            threshold: NonZeroU32::new(threshold.max(2)).expect("max(2) is non-zero"),
            level: level.max(1),
            zeros: p.zeros,
            cost: p.cost,
            always_suppress,
            always_publish,
            dp: None,
        }
    }

    fn cell_rule(
        &mut self,
        key: &str,
        raw: &crate::config::raw::RawCellRule,
        domains: &[Domain],
        domain_index: &BTreeMap<String, usize>,
        tables: &[TableSpec],
    ) -> CellRule {
        let table = raw.table.as_ref().and_then(|name| {
            let found = tables.iter().find(|t| &t.name == name);
            if found.is_none() {
                let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
                self.push(
                    &format!("{key}.table"),
                    format!("`{name}` is not a table of this pipeline"),
                    super::suggest::did_you_mean(name, names.iter().copied()),
                );
            }
            found
        });
        for (dim, code) in &raw.cells {
            let Some(&d) = domain_index.get(dim) else {
                self.push(
                    &format!("{key}.cells.{dim}"),
                    format!("`{dim}` is not a domain"),
                    super::suggest::did_you_mean(dim, domain_index.keys().map(String::as_str)),
                );
                continue;
            };
            if let Some(t) = table
                && !t.dims.contains(&d)
            {
                self.push(
                    &format!("{key}.cells.{dim}"),
                    format!("table `{}` has no dimension `{dim}`", t.name),
                    None,
                );
            }
            let domain = &domains[d];
            let known = code == TOTAL_CODE
                || domain.codes.iter().any(|c| &c.code == code)
                || domain.groups.iter().any(|g| &g.code == code);
            if !known {
                let codes = domain
                    .codes
                    .iter()
                    .map(|c| c.code.as_str())
                    .chain(domain.groups.iter().map(|g| g.code.as_str()));
                self.push(
                    &format!("{key}.cells.{dim}"),
                    format!("`{code}` is not a code of `{dim}`"),
                    super::suggest::did_you_mean(code, codes),
                );
            }
        }
        CellRule {
            table: raw.table.clone(),
            cells: raw
                .cells
                .iter()
                .map(|(d, c)| (d.clone(), c.clone()))
                .collect(),
        }
    }

    fn formats(&mut self, raw: Option<&[OutputFormat]>) -> Vec<OutputFormat> {
        let formats: BTreeSet<OutputFormat> = raw
            .map_or_else(
                || vec![OutputFormat::Parquet, OutputFormat::Csv],
                <[OutputFormat]>::to_vec,
            )
            .into_iter()
            .collect();
        if formats.is_empty() {
            self.push("publish.formats", "is empty".into(), None);
        }
        formats.into_iter().collect()
    }
}
