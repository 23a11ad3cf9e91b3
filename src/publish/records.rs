//! The record-level parts of a release: each microdata output's files, its rows of the data
//! dictionary, `risk-report.csv` and its manifest entry.

use serde::Serialize;

use super::files::FileEntry;
use crate::attacker::risk::Risk;
use crate::config::Plan;
use crate::config::plan::{FieldOrigin, Level};
use crate::microdata::{PSEUDONYM_COLUMN, Role, SUPPRESSED_TEXT, Shared, SharedField};

/// The risk report's file name.
pub const RISK_REPORT: &str = "risk-report.csv";

/// The risk report's columns.
pub const RISK_COLUMNS: [&str; 5] = ["output", "measure", "field", "before", "published"];

/// One microdata output in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct MicrodataEntry {
    pub name: String,
    pub title: Option<crate::config::raw::Label>,
    pub source: String,
    pub period: Option<[String; 2]>,
    /// The day ages are reckoned at.
    pub reference_date: Option<String>,
    pub pseudonym: PseudonymEntry,
    pub quasi_identifiers: Vec<String>,
    pub sensitive: Option<String>,
    pub k: u32,
    /// ℓ, with a sensitive field.
    pub l: Option<u32>,
    /// The value written for a suppressed quasi-identifier.
    pub suppressed_value: &'static str,
    pub max_suppressed_share: f64,
    pub records: u64,
    pub persons: u64,
    /// Classes, k and ℓ as published (recomputable from the files: `privstat audit`).
    pub published: Risk,
    pub persons_suppressed: u64,
    pub records_suppressed: u64,
    pub information_loss: f64,
    pub fields: Vec<SharedField>,
    pub method: &'static str,
    pub files: Vec<FileEntry>,
}

/// How a microdata output's persons are named.
#[derive(Debug, Clone, Serialize)]
pub struct PseudonymEntry {
    pub column: &'static str,
    pub algorithm: &'static str,
    pub bits: u32,
    /// The data-sharing agreement's context: pseudonyms agree across releases made with the same
    /// key and context.
    pub context: String,
    /// HMAC of a fixed label under the key: equal fingerprints, same key; the key cannot be
    /// recovered from it.
    pub key_fingerprint: String,
    pub note: &'static str,
}

impl MicrodataEntry {
    /// Describes one output and its files.
    #[must_use]
    pub fn new(shared: &Shared, plan: &Plan, key_fingerprint: &str, files: Vec<FileEntry>) -> Self {
        let spec = plan.microdata.iter().find(|m| m.name == shared.name);
        let named = |role: Role| -> Vec<String> {
            shared
                .fields
                .iter()
                .filter(|f| f.role == role)
                .map(|f| f.name.clone())
                .collect()
        };
        Self {
            name: shared.name.clone(),
            title: shared.title.clone(),
            source: spec.map_or_else(String::new, |s| plan.sources[s.source].name.clone()),
            period: spec
                .and_then(|s| s.period)
                .map(|p| [p.start.to_string(), p.end.to_string()]),
            reference_date: spec.and_then(|s| s.reference).map(|d| d.to_string()),
            pseudonym: PseudonymEntry {
                column: PSEUDONYM_COLUMN,
                algorithm: "HMAC-SHA256",
                bits: crate::pseudonymise::PSEUDONYM_BITS,
                context: shared.context.clone(),
                key_fingerprint: key_fingerprint.to_owned(),
                note: "the same person has the same pseudonym in every release made with this key \
                       and context, by any party that holds them; without the key a pseudonym \
                       cannot be computed or reversed. Legacy and 2021 UI numbers and a later \
                       national ID of one person are different identifiers, so different \
                       pseudonyms, unless the source's cross-walk column (person.crosswalk) \
                       maps them to one",
            },
            quasi_identifiers: named(Role::QuasiIdentifier),
            sensitive: named(Role::Sensitive).into_iter().next(),
            k: shared.k,
            l: shared.l,
            suppressed_value: SUPPRESSED_TEXT,
            max_suppressed_share: spec.map_or(0.0, |s| s.max_suppressed_share),
            records: shared.published.records,
            persons: shared.published.persons,
            published: shared.published.clone(),
            persons_suppressed: shared.persons_suppressed,
            records_suppressed: shared.records_suppressed,
            information_loss: shared.loss,
            fields: shared.fields.clone(),
            method: "k-anonymity over persons (a person's records are linked by the pseudonym, \
                     so a class is the persons with one set of quasi-identifier combinations), \
                     with ℓ-diversity of the sensitive field over persons (at least ℓ distinct \
                     values, none held by every person of a class); reached by choosing, among the \
                     allowed levels, the generalisation that with local suppression of a \
                     person's values on all of their records loses least (1 per suppressed \
                     value, i/n per value at the i-th of n allowed levels)",
            files,
        }
    }
}

/// The data dictionary's rows for one output's columns.
#[must_use]
pub fn dictionary_rows(shared: &Shared, plan: &Plan) -> Vec<[String; 6]> {
    let mut rows = vec![[
        shared.name.clone(),
        PSEUDONYM_COLUMN.to_owned(),
        "string".to_owned(),
        "個案代碼（假名）".to_owned(),
        "Pseudonym".to_owned(),
        format!(
            "the person's pseudonym under the data-sharing agreement (context `{}`): 32 \
             hexadecimal digits, the same on every record of the person and in every release \
             made with the agreement's key and context",
            shared.context
        ),
    ]];
    // The output's declaration: its fields' origins, its source (typed fields' labels), its
    // reference day.
    let output = plan.microdata.iter().find(|m| m.name == shared.name);
    let source = output.map(|m| &plan.sources[m.source]);
    let reference = output
        .and_then(|m| m.reference)
        .map_or_else(String::new, |d| d.to_string());
    for f in &shared.fields {
        let spec = output.and_then(|m| m.fields.iter().find(|x| x.name == f.name));
        let domain = spec.and_then(|s| match s.origin {
            FieldOrigin::Coded(d) => Some(&plan.domains[d]),
            _ => None,
        });
        let declared = source.and_then(|s| {
            s.dates
                .iter()
                .chain(&s.integer)
                .find(|c| c.field == f.name)
                .and_then(|c| c.label.clone())
        });
        let is_service_date = spec.is_some_and(|s| s.origin == FieldOrigin::ServiceDate);
        let (zh, en) = match (domain, declared) {
            (Some(d), _) => (d.label.zh.clone(), d.label.en.clone()),
            (None, Some(l)) => (l.zh, l.en),
            (None, None) if is_service_date => ("服務日期".to_owned(), "Service date".to_owned()),
            (None, None) => (f.name.clone(), f.name.clone()),
        };
        let what = match (f.level, domain) {
            (Level::Keep, Some(d)) => format!("code of {} (see codelists.csv)", d.name),
            (Level::Group, Some(d)) => format!(
                "code of {}, a member of a group written as the group's code (see codelists.csv)",
                d.name
            ),
            (Level::Keep, None) => "whole number".to_owned(),
            (Level::Month, _) => "month, YYYY-MM".to_owned(),
            (Level::Quarter, _) => "quarter, YYYY-Qn".to_owned(),
            (Level::HalfYear, _) => "half year, YYYY-Hn".to_owned(),
            (Level::Year, _) => "year, YYYY".to_owned(),
            (Level::Age5 | Level::Age10, _) => format!(
                "age in completed years at {reference}, in bands of {} (`35-39`); empty when unknown",
                if f.level == Level::Age5 { 5 } else { 10 }
            ),
            (Level::Group, None) => "group".to_owned(),
        };
        let role = match f.role {
            Role::QuasiIdentifier => format!(
                "; a quasi-identifier: `{SUPPRESSED_TEXT}` where it is suppressed for k-anonymity"
            ),
            Role::Sensitive => "; the sensitive field (ℓ-diversity)".to_owned(),
            Role::Other => String::new(),
        };
        rows.push([
            shared.name.clone(),
            f.name.clone(),
            f.kind.to_owned(),
            zh,
            en,
            format!("{what}{role}"),
        ]);
    }
    rows
}

/// The risk report's own rows in the data dictionary.
#[must_use]
pub fn risk_dictionary_rows() -> Vec<[String; 6]> {
    let file = RISK_REPORT.trim_end_matches(".csv");
    [
        (
            "output",
            "輸出",
            "Output",
            "the microdata output the row is about",
        ),
        (
            "measure",
            "指標",
            "Measure",
            "records, persons, classes (distinct quasi-identifier profiles of persons), \
             smallest_class (k achieved), persons_below_k, records_below_k, unique_persons, \
             classes_below_l, smallest_l; per field: level, suppressed_persons, \
             suppressed_records",
        ),
        (
            "field",
            "欄位",
            "Field",
            "the field of a per-field row; empty otherwise",
        ),
        (
            "before",
            "保護前",
            "Before protection",
            "at the finest allowed levels with nothing suppressed",
        ),
        ("published", "公布", "Published", "as published"),
    ]
    .iter()
    .map(|(c, zh, en, d)| {
        [
            file.to_owned(),
            (*c).to_owned(),
            "string".to_owned(),
            (*zh).to_owned(),
            (*en).to_owned(),
            (*d).to_owned(),
        ]
    })
    .collect()
}

/// The risk report's rows: per output, its measures before and as published, and per field its
/// level and suppression.
#[must_use]
pub fn risk_rows(outputs: &[Shared]) -> Vec<[String; 5]> {
    let mut rows = Vec::new();
    for s in outputs {
        let mut add = |measure: &str, field: &str, before: String, published: String| {
            rows.push([
                s.name.clone(),
                measure.to_owned(),
                field.to_owned(),
                before,
                published,
            ]);
        };
        let (b, p) = (&s.before, &s.published);
        for (measure, before, published) in [
            ("records", b.records, p.records),
            ("persons", b.persons, p.persons),
            ("classes", b.classes, p.classes),
            ("smallest_class", b.smallest_class, p.smallest_class),
            ("persons_below_k", b.persons_below_k, p.persons_below_k),
            ("records_below_k", b.records_below_k, p.records_below_k),
            ("unique_persons", b.unique_persons, p.unique_persons),
        ] {
            add(measure, "", before.to_string(), published.to_string());
        }
        if s.l.is_some() {
            add(
                "classes_below_l",
                "",
                b.classes_below_l.to_string(),
                p.classes_below_l.to_string(),
            );
            let text = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
            add("smallest_l", "", text(b.smallest_l), text(p.smallest_l));
        }
        for f in &s.fields {
            add(
                "level",
                &f.name,
                f.allowed.first().map_or("", |l| l.name()).to_owned(),
                f.level.name().to_owned(),
            );
            if f.role == Role::QuasiIdentifier {
                add(
                    "suppressed_persons",
                    &f.name,
                    "0".into(),
                    f.suppressed_persons.to_string(),
                );
                add(
                    "suppressed_records",
                    &f.name,
                    "0".into(),
                    f.suppressed_records.to_string(),
                );
            }
        }
    }
    rows
}
