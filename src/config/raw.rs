//! A serde mirror of the pipeline file. Nothing here is checked beyond its shape: unknown keys are
//! rejected and closed choices are enums, but cross-references (a table naming a source, a field naming
//! a domain) are resolved by [`super::plan`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The whole pipeline file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    pub release: RawRelease,
    #[serde(default)]
    pub pseudonymise: RawPseudonymise,
    pub sources: BTreeMap<String, RawSource>,
    pub domains: BTreeMap<String, RawDomain>,
    #[serde(default)]
    pub tables: BTreeMap<String, RawTable>,
    /// Record-level outputs (`[microdata.NAME]`); a release holds tables or microdata, not both.
    #[serde(default)]
    pub microdata: BTreeMap<String, RawMicrodata>,
    #[serde(default)]
    pub protection: RawProtection,
    pub publish: RawPublish,
    #[serde(default)]
    pub limits: RawLimits,
}

/// `[limits]`: what makes a run stop rather than publish something misleading or exhaust the
/// machine. Every key has a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Largest share of a source's rows that may be quarantined (0 to 1; default 0.2).
    pub max_quarantined_share: Option<f64>,
    /// Largest number of cells of one table, margins included (default 5 000 000).
    pub max_table_cells: Option<u64>,
    /// Largest number of columns in a CSV source (default 2 000).
    pub max_columns: Option<u64>,
    /// Longest CSV line in bytes (default 1 MiB).
    pub max_line_bytes: Option<u64>,
}

/// `[release]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelease {
    pub name: String,
    pub title: Option<Label>,
    pub description: Option<Label>,
    pub period: Option<RawPeriod>,
    /// Who publishes the release (an agency), for open-data portals.
    pub publisher: Option<Label>,
    /// The licence the release is published under.
    pub license: Option<License>,
    /// How often a release of this kind is published.
    pub frequency: Option<Frequency>,
    /// The area the release covers, e.g. a city or county.
    pub spatial: Option<Label>,
    /// Whom users write to about the release.
    pub contact: Option<Contact>,
    /// Search keywords for a portal's catalogue.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A licence, named as portals name it (e.g. `OGDL-Taiwan-1.0`, `CC-BY-4.0`).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct License {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A contact point: an office, not a person's private address.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Update frequency, with the EU publications office's frequency codes that DCAT portals use.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Monthly,
    Quarterly,
    Semiannual,
    Annual,
    Irregular,
    Once,
}

impl Frequency {
    /// The frequency's URI in the EU vocabulary that DCAT-AP uses for `dct:accrualPeriodicity`.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::Monthly => "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
            Self::Quarterly => {
                "http://publications.europa.eu/resource/authority/frequency/QUARTERLY"
            }
            Self::Semiannual => {
                "http://publications.europa.eu/resource/authority/frequency/ANNUAL_2"
            }
            Self::Annual => "http://publications.europa.eu/resource/authority/frequency/ANNUAL",
            Self::Irregular => "http://publications.europa.eu/resource/authority/frequency/IRREG",
            Self::Once => "http://publications.europa.eu/resource/authority/frequency/NEVER",
        }
    }
}

/// A label in both publication languages.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub zh: String,
    pub en: String,
}

/// An inclusive date range written as ISO dates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeriod {
    pub start: String,
    pub end: String,
}

/// `[pseudonymise]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPseudonymise {
    pub key_file: Option<PathBuf>,
    pub key_env: Option<String>,
    pub context: Option<String>,
    #[serde(default)]
    pub invalid_ids: InvalidIds,
}

/// What to do with an identifier whose format or check digit is wrong.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InvalidIds {
    /// Send the row to the quarantine report.
    #[default]
    Quarantine,
    /// Keep the row, pseudonymising the identifier as written; counted in the report.
    Keep,
}

/// `[sources.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub path: PathBuf,
    pub format: Option<SourceFormat>,
    #[serde(default)]
    pub encoding: EncodingChoice,
    /// Excel sources: the sheet to read (default the first).
    pub sheet: Option<String>,
    /// CSV and Excel sources: the row (1-based) of the column names (default 1).
    pub header_row: Option<u32>,
    pub person: RawPerson,
    pub date: Option<RawDate>,
    #[serde(default)]
    pub columns: BTreeMap<String, RawColumn>,
    #[serde(default)]
    pub direct_identifiers: Vec<String>,
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

/// File format of a source.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    Csv,
    Parquet,
    /// An Excel or OpenDocument workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`).
    Excel,
}

impl SourceFormat {
    /// The format's name in messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Parquet => "Parquet",
            Self::Excel => "Excel",
        }
    }
}

/// Declared text encoding of a CSV source.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
pub enum EncodingChoice {
    /// Byte-order mark (UTF-8, UTF-16LE/BE), then strict UTF-8, then Big5/CP950. A byte-order mark
    /// wins over the other declarations too.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "big5")]
    Big5,
    /// Simplified Chinese exports (GBK is its subset); never guessed, since GBK bytes also read
    /// as Big5.
    #[serde(rename = "gb18030", alias = "gbk")]
    Gb18030,
}

/// The column that identifies a person.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    pub column: String,
    pub id_types: Option<Vec<IdType>>,
    /// Values that mean "no identifier" (a sign-in sheet's `無`, `-`, `N/A`); replaces the default
    /// list. A blank cell is always missing.
    pub missing: Option<Vec<String>>,
    /// `true`: a row without an identifier (a walk-in who signed no sheet) counts in person-times
    /// and distinct counts but never in persons, instead of being quarantined. Suppression only.
    #[serde(default)]
    pub walk_ins: bool,
    /// A column holding, on a row, the identifier its person is to be known by (an NIA
    /// cross-walk of a legacy UI number, a new UI number and a later national ID to the first
    /// one): where it holds a valid identifier, the row is that person's.
    pub crosswalk: Option<String>,
}

/// Identifier schemes that can be validated.
#[derive(
    Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum IdType {
    /// Taiwan national ID, `A123456789`.
    TwNational,
    /// Taiwan UI number, legacy `AB12345678` or 2021 `A812345678`.
    TwUi,
    /// Hong Kong Identity Card, `A123456(3)`.
    Hkid,
    /// PRC resident identity card, 18 characters.
    PrcId,
}

/// The service date column.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDate {
    pub column: String,
    #[serde(default)]
    pub format: DateFormat,
}

/// How the date column is written.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DateFormat {
    /// Any form of domain.md §2.1: ROC when the year is at most 200, AD otherwise, Excel serials.
    #[default]
    Auto,
    /// ROC (民國) years only.
    Roc,
    /// Gregorian years only.
    Ad,
}

/// A field's column: a bare header name (a coded field whose name is a domain), or a typed field.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawColumn {
    Coded(String),
    Typed(RawTypedColumn),
}

/// A field that is not coded against a domain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTypedColumn {
    pub column: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// How the field is named in a release's data dictionary (default: its name).
    pub label: Option<Label>,
}

/// Type of a non-coded field.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text used only for distinct counts, such as a session number.
    Text,
    /// A non-negative whole number, such as an attendance count.
    Integer,
    /// A calendar day other than the service date, such as a date of birth; read like the
    /// service date, a blank cell is unknown. Released only generalised (microdata).
    Date,
}

/// `[domains.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDomain {
    pub label: Label,
    pub codes: Vec<RawCode>,
    #[serde(default)]
    pub groups: Vec<RawGroup>,
    pub group_label: Option<Label>,
    pub other: Option<String>,
    #[serde(default)]
    pub unknown: UnknownPolicy,
    /// How many codes of this domain one person can have in a table's period (DP releases only).
    pub per_person: Option<PerPerson>,
}

/// How many codes of a domain one person can have (`[domains.NAME] per_person`), declared by the
/// data owner because differential privacy may not learn it from the data.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PerPerson {
    /// A person has one code (gender, district of residence): contribution bounding keeps one,
    /// person counts add up over the dimension and a person moves one cell of each margin.
    One,
    /// A person can have several codes (service areas, activities): the default, and the safe
    /// assumption when unsure.
    #[default]
    Several,
}

/// One public code of a domain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCode {
    pub code: String,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A parent level of a hierarchy: a code that is the sum of its member codes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub code: String,
    pub zh: String,
    pub en: String,
    pub members: Vec<String>,
}

/// What happens to a value that matches no code of its domain.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownPolicy {
    #[default]
    Quarantine,
    /// Map it to the domain's declared `other` code (counted in the report).
    Other,
}

/// `[tables.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    pub source: String,
    pub title: Option<Label>,
    pub by: Vec<String>,
    pub measures: Vec<RawMeasure>,
    #[serde(default = "yes")]
    pub margins: bool,
    pub period: Option<RawPeriod>,
    pub share_of: Option<String>,
    /// `"report"`: also publish `<table>-report.csv`, the county's summary layout (彙整表).
    #[serde(default)]
    pub layout: Layout,
    /// DP: share of the release's budget, relative to the other tables (default 1).
    pub weight: Option<f64>,
    /// DP: most leaf cells of this table one person may count in.
    pub max_cells_per_person: Option<u32>,
    /// DP: most records one person may add to one cell's person-times.
    pub max_records_per_cell: Option<u32>,
}

fn yes() -> bool {
    true
}

/// What a table counts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawMeasure {
    Simple(SimpleMeasure),
    Distinct {
        distinct: DistinctFields,
        /// How the count is named in the release (default: the fields' names).
        label: Option<Label>,
    },
    Sum {
        sum: String,
        /// How the sum is named in the release (default: "Sum of" the field).
        label: Option<Label>,
    },
}

/// `[microdata.NAME]`: one record-level file of a source's rows, each person under a pseudonym
/// of the data-sharing agreement, fields kept or generalised, k-anonymous over the declared
/// quasi-identifiers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMicrodata {
    pub source: String,
    pub title: Option<Label>,
    /// Field → how it is released: `"keep"`, a generalisation (`"month"`, `"quarter"`,
    /// `"half_year"`, `"year"`, `"age5"`, `"age10"`, `"group"`), or a list of them, finest first,
    /// to choose from. A field not listed is not released.
    pub fields: BTreeMap<String, RawFieldRelease>,
    /// Fields an outsider may know about a person (gender, age, district, origin).
    pub quasi_identifiers: Vec<String>,
    /// Smallest number of persons sharing their quasi-identifiers (default 3).
    pub k: Option<u32>,
    /// A field that must not be inferable from the quasi-identifiers (e.g. the work area).
    pub sensitive: Option<String>,
    /// Distinct values of `sensitive` every class must hold (default 2).
    pub l: Option<u32>,
    /// The data-sharing agreement's context string: pseudonyms are shared by everyone who holds
    /// the key and uses the same context (default `[pseudonymise] context`).
    pub context: Option<String>,
    /// Rows dated in this period (default the release's).
    pub period: Option<RawPeriod>,
    /// The day ages are reckoned at (default the end of the period).
    pub reference_date: Option<String>,
    /// Largest share of persons who may have a quasi-identifier suppressed (default 0.2); a
    /// release that needs more is refused.
    pub max_suppressed_share: Option<f64>,
}

/// How one microdata field is released: one level, or levels to choose from, finest first.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawFieldRelease {
    One(String),
    Choice(Vec<String>),
}

/// How a table is laid out besides its long form.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// The long form only.
    #[default]
    Long,
    /// Also the half-year summary table (彙整表): one row per code of the first dimension (its
    /// groups as subtotals) and of the others but the last, person-times spread over the last
    /// dimension's codes with their total, every other measure at that total.
    Report,
}

/// The field, or fields together, whose distinct values a measure counts: `"session"`, or
/// `["activity", "date"]` for sessions identified by an activity code and its day.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DistinctFields {
    One(String),
    Many(Vec<String>),
}

impl DistinctFields {
    /// The fields in order.
    #[must_use]
    pub fn fields(&self) -> Vec<String> {
        match self {
            Self::One(f) => vec![f.clone()],
            Self::Many(fs) => fs.clone(),
        }
    }
}

/// The two counts every table can make.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SimpleMeasure {
    Persons,
    PersonTimes,
}

/// `nk_dominance = { n = 2, k = 85 }`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDominance {
    pub n: u32,
    pub k: u32,
}

/// `[protection]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProtection {
    #[serde(default)]
    pub method: ProtectionMethod,
    #[serde(default = "default_threshold")]
    pub threshold: u32,
    /// Minimum width of a primary cell's feasibility interval; defaults to the threshold.
    pub protection_level: Option<u32>,
    /// The p% rule for sums: a cell is confidential when the contributions of all but its two
    /// largest contributors add up to less than `p_percent` % of the largest; 0 turns it off.
    pub p_percent: Option<u32>,
    /// The (n,k)-dominance rule for sums: a cell is confidential when its `n` largest contributors
    /// hold more than `k` % of its sum. Off unless given; it adds to the p% rule.
    pub nk_dominance: Option<RawDominance>,
    #[serde(default)]
    pub zeros: Zeros,
    #[serde(default)]
    pub cost: Cost,
    #[serde(default)]
    pub always_suppress: Vec<RawCellRule>,
    #[serde(default)]
    pub always_publish: Vec<RawCellRule>,
    /// Differential privacy (`method = "dp"`): the noise mechanism.
    pub mechanism: Option<Mechanism>,
    /// Pure ε-DP budget of the release (Laplace).
    pub epsilon: Option<f64>,
    /// ρ-zCDP budget of the release (Gaussian).
    pub rho: Option<f64>,
    /// Target 95 % margin of error per cell, from which the scale and the spend follow.
    pub moe95: Option<f64>,
    /// With `moe95`: the most a release may cost (ε for Laplace, ρ for Gaussian) before it is
    /// refused; defaults [`crate::config::plan::DEFAULT_MAX_LOSS_EPSILON`] and `…_RHO`.
    pub max_loss: Option<f64>,
    /// Share of the release's loss spent on estimating what contribution bounding removed (noisy
    /// counts of the persons it cut and of the records it removed); 0 estimates nothing.
    pub bounding_loss_share: Option<f64>,
    /// The dataset whose lifetime budget the release spends.
    pub dataset: Option<String>,
    /// The budget ledger (relative to the pipeline file); `privstat run --ledger` overrides it.
    pub ledger: Option<PathBuf>,
    /// Lifetime cap of the dataset in ε (pure DP; Laplace releases only).
    pub lifetime_epsilon: Option<f64>,
    /// Lifetime cap of the dataset in ρ (zCDP; Laplace releases are charged ε²/2).
    pub lifetime_rho: Option<f64>,
    /// Default for tables: most leaf cells one person may count in.
    pub max_cells_per_person: Option<u32>,
    /// Default for tables: most records one person may add to one cell's person-times.
    pub max_records_per_cell: Option<u32>,
    /// What to do with cells whose noisy person count is below the threshold.
    pub low_counts: Option<LowCounts>,
}

/// Noise distribution of a DP release; both are sampled by OpenDP on integers.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Discrete Laplace, pure ε-DP, L1 sensitivity.
    #[default]
    Laplace,
    /// Discrete Gaussian, ρ-zCDP, L2 sensitivity.
    Gaussian,
}

/// Cells whose noisy person count is below the threshold (post-processing; true counts are never
/// looked at).
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LowCounts {
    /// Published without a mark.
    Publish,
    /// Published with status `low_noisy_count`.
    #[default]
    Flag,
    /// No longer offered (a withheld value is its margin minus its published siblings); kept so
    /// that a pipeline naming it gets an error that says why.
    Withhold,
}

impl Default for RawProtection {
    fn default() -> Self {
        Self {
            method: ProtectionMethod::default(),
            threshold: default_threshold(),
            protection_level: None,
            p_percent: None,
            nk_dominance: None,
            zeros: Zeros::default(),
            cost: Cost::default(),
            always_suppress: Vec::new(),
            always_publish: Vec::new(),
            mechanism: None,
            epsilon: None,
            rho: None,
            moe95: None,
            max_loss: None,
            bounding_loss_share: None,
            dataset: None,
            ledger: None,
            lifetime_epsilon: None,
            lifetime_rho: None,
            max_cells_per_person: None,
            max_records_per_cell: None,
            low_counts: None,
        }
    }
}

fn default_threshold() -> u32 {
    3
}

/// Disclosure-control method.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionMethod {
    /// Cell suppression: primary by the threshold rule, secondary until the LP audit passes.
    #[default]
    #[serde(alias = "threshold")]
    Suppression,
    /// Differential privacy: bounded contributions, OpenDP noise, a lifetime budget.
    #[serde(alias = "differential_privacy")]
    Dp,
}

/// What an empty cell is.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Zeros {
    /// Published; may still be suppressed to protect another cell.
    #[default]
    Publish,
    /// Primary: "nobody in this group" can itself be a disclosure.
    Sensitive,
}

/// Cells chosen by the data owner: in one table or all, every cell whose codes match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCellRule {
    pub table: Option<String>,
    /// Dimension name → code (a leaf, a group or `_T`); dimensions not named match any code.
    #[serde(default)]
    pub cells: BTreeMap<String, String>,
}

/// `[publish]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPublish {
    pub dir: PathBuf,
    /// Where the operator's files go (quarantine report, audit report, run summary); default
    /// `<dir>/.operator/<release>`. Never inside a release.
    pub operator_dir: Option<PathBuf>,
    pub formats: Option<Vec<OutputFormat>>,
    /// Whether CSV files start with a UTF-8 byte-order mark (Excel needs it to read Chinese);
    /// default: yes when any published label is not ASCII.
    pub csv_bom: Option<bool>,
    /// The publisher's own pages (a summary, a methods note) copied into the release: UTF-8
    /// Markdown, text or HTML, listed in the manifest and audited like every other file.
    #[serde(default)]
    pub attachments: Vec<PathBuf>,
}

/// Output file formats.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    Parquet,
    Csv,
    /// One workbook of the release: a sheet per table, the dictionary and the code lists.
    Xlsx,
}

/// What secondary suppression minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cost {
    /// Number of suppressed cells, then the persons they hold.
    #[default]
    Cells,
    /// Persons in suppressed cells, then their number.
    Persons,
}

impl Cost {
    /// The key that orders what `cells` suppressed cells holding `persons` persons cost: smaller
    /// is cheaper.
    #[must_use]
    pub fn key(self, cells: i64, persons: i64) -> (i64, i64) {
        match self {
            Self::Cells => (cells, persons),
            Self::Persons => (persons, cells),
        }
    }
}
