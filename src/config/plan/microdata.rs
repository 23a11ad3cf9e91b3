//! `[microdata.NAME]`, checked: the fields a record-level output releases and how, its
//! quasi-identifiers, k and ℓ, and the data-sharing agreement's context.

use super::*;
use crate::config::raw::{RawFieldRelease, RawMicrodata};

/// How one field is released: as it is, or coarser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The value itself (codes, text, whole numbers; never a date).
    Keep,
    /// A date as its month, `2025-03`.
    Month,
    /// A date as its quarter, `2025-Q1`.
    Quarter,
    /// A date as its half year, `2025-H1`.
    HalfYear,
    /// A date as its year, `2025`.
    Year,
    /// A date of birth as the 5-year band of the age at the reference date, `35-39`.
    Age5,
    /// A date of birth as the 10-year band of the age, `30-39`.
    Age10,
    /// A code as its group in the domain (`[domains.X] groups`); a code in no group stays.
    Group,
}

impl Level {
    const ALL: [Self; 8] = [
        Self::Keep,
        Self::Month,
        Self::Quarter,
        Self::HalfYear,
        Self::Year,
        Self::Age5,
        Self::Age10,
        Self::Group,
    ];

    /// The level's name in the pipeline file and the manifest.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Keep => "keep",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::HalfYear => "half_year",
            Self::Year => "year",
            Self::Age5 => "age5",
            Self::Age10 => "age10",
            Self::Group => "group",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// Where a microdata field's values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldOrigin {
    /// The source's service date.
    ServiceDate,
    /// A date-typed field (a date of birth).
    Day,
    /// A coded field: index into [`Plan::domains`].
    Coded(usize),
    /// A text field.
    Text,
    /// A whole-number field.
    Integer,
}

/// One released field.
#[derive(Debug, Clone)]
pub struct MicrodataField {
    pub name: String,
    pub origin: FieldOrigin,
    /// The levels it may be released at, finest first; protection picks one.
    pub levels: Vec<Level>,
}

/// A record-level output.
#[derive(Debug, Clone)]
pub struct MicrodataSpec {
    pub name: String,
    pub title: Option<Label>,
    /// Index into [`Plan::sources`].
    pub source: usize,
    pub period: Option<Period>,
    /// The day ages are reckoned at.
    pub reference: Option<NaiveDate>,
    /// Quasi-identifiers first (in their declared order), then the sensitive field, then the rest.
    pub fields: Vec<MicrodataField>,
    /// The first `quasi` fields are the quasi-identifiers.
    pub quasi: usize,
    /// Index into `fields` of the sensitive field.
    pub sensitive: Option<usize>,
    pub k: u32,
    pub l: u32,
    /// Largest share of persons with a suppressed value.
    pub max_suppressed_share: f64,
    /// The agreement's context string, mixed into every pseudonym of this output.
    pub context: String,
}

/// Default smallest class.
pub const DEFAULT_K: u32 = 3;
/// Default distinct sensitive values per class.
pub const DEFAULT_L: u32 = 2;
/// Largest `k`.
pub const MAX_K: u64 = 1_000;
/// Default largest share of persons with a suppressed value.
pub const DEFAULT_MAX_SUPPRESSED_SHARE: f64 = 0.2;
/// Most quasi-identifiers (suppression tries every subset of them).
pub const MAX_QUASI: usize = 8;
/// Most combinations of allowed levels of the quasi-identifiers.
pub const MAX_NODES: usize = 256;

/// What the microdata checker needs from the rest of the plan.
pub(super) struct Around<'a> {
    pub source_names: &'a [&'a String],
    pub sources: &'a [Source],
    pub domains: &'a [Domain],
    pub period: Option<Period>,
    pub pseudonymise: &'a Pseudonymise,
}

impl Checker<'_> {
    pub(super) fn microdata(
        &mut self,
        name: &str,
        raw: &RawMicrodata,
        around: &Around<'_>,
    ) -> Option<MicrodataSpec> {
        let key = format!("microdata.{name}");
        self.file_name(&key, name, "a microdata output name");
        let Some(source) = around.source_names.iter().position(|s| **s == raw.source) else {
            self.push(
                &format!("{key}.source"),
                format!("no source named `{}`", raw.source),
                did_you_mean(&raw.source, around.source_names.iter().copied()),
            );
            return None;
        };
        let src = around.sources.get(source)?;
        if src.walk_ins {
            self.push(
                &format!("{key}.source"),
                format!(
                    "source `{}` counts walk-ins, who have no identifier and so no pseudonym",
                    raw.source
                ),
                Some("share a source whose every record names its person".into()),
            );
        }
        if around.pseudonymise.key == KeySource::Ephemeral {
            self.push(
                "pseudonymise",
                "microdata needs a key shared under the data-sharing agreement: without one, \
                 pseudonyms are drawn for this run only and link to nothing"
                    .into(),
                Some(
                    "make a key with `privstat keygen --out FILE` and set key_file or key_env"
                        .into(),
                ),
            );
        }
        let period = raw
            .period
            .as_ref()
            .and_then(|p| self.period(&format!("{key}.period"), p))
            .or(around.period);
        let reference = match &raw.reference_date {
            Some(d) => {
                let day = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
                if day.is_none() {
                    self.push(
                        &format!("{key}.reference_date"),
                        format!("`{d}` is not an ISO date"),
                        Some("e.g. reference_date = \"2025-06-30\"".into()),
                    );
                }
                day
            }
            None => period.map(|p| p.end),
        };

        let origin_of = |field: &str| -> Option<FieldOrigin> {
            if field == DATE_FIELD {
                return src.date.as_ref().map(|_| FieldOrigin::ServiceDate);
            }
            if let Some(c) = src
                .coded
                .iter()
                .find(|c| around.domains[c.domain].name == field)
            {
                return Some(FieldOrigin::Coded(c.domain));
            }
            let named = |list: &[NamedColumn]| list.iter().any(|c| c.field == field);
            if named(&src.dates) {
                Some(FieldOrigin::Day)
            } else if named(&src.text) {
                Some(FieldOrigin::Text)
            } else if named(&src.integer) {
                Some(FieldOrigin::Integer)
            } else {
                None
            }
        };
        let fields_of_source: Vec<String> = src
            .coded
            .iter()
            .map(|c| around.domains[c.domain].name.clone())
            .chain(src.dates.iter().map(|c| c.field.clone()))
            .chain(src.text.iter().map(|c| c.field.clone()))
            .chain(src.integer.iter().map(|c| c.field.clone()))
            .chain(src.date.iter().map(|_| DATE_FIELD.to_owned()))
            .collect();

        // Quasi-identifiers first, then the sensitive field, then the rest.
        let mut order: Vec<&String> = Vec::new();
        for q in &raw.quasi_identifiers {
            if !raw.fields.contains_key(q) {
                self.push(
                    &format!("{key}.quasi_identifiers"),
                    format!("`{q}` is not among the released fields"),
                    Some(format!("release it in [{key}.fields], or remove it")),
                );
            } else if order.contains(&q) {
                self.push(
                    &format!("{key}.quasi_identifiers"),
                    format!("`{q}` is listed twice"),
                    None,
                );
            } else {
                order.push(q);
            }
        }
        if raw.quasi_identifiers.is_empty() {
            self.push(
                &format!("{key}.quasi_identifiers"),
                "is empty".into(),
                Some(
                    "list what an outsider may know about a person, e.g. \
                     [\"gender\", \"birth_date\", \"district\", \"origin\"]"
                        .into(),
                ),
            );
        }
        let quasi = order.len();
        if quasi > MAX_QUASI {
            self.push(
                &format!("{key}.quasi_identifiers"),
                format!("{quasi} quasi-identifiers; at most {MAX_QUASI} are supported"),
                Some("fewer, coarser quasi-identifiers protect better and lose less".into()),
            );
        }
        if let Some(s) = &raw.sensitive {
            if !raw.fields.contains_key(s) {
                self.push(
                    &format!("{key}.sensitive"),
                    format!("`{s}` is not among the released fields"),
                    None,
                );
            } else if order.contains(&s) {
                self.push(
                    &format!("{key}.sensitive"),
                    format!("`{s}` is also a quasi-identifier"),
                    Some("a sensitive field is what must not be inferred from them".into()),
                );
            } else {
                order.push(s);
            }
        }
        for f in raw.fields.keys() {
            if !order.contains(&f) {
                order.push(f);
            }
        }

        let mut fields = Vec::with_capacity(order.len());
        for field in order {
            let fkey = format!("{key}.fields.{field}");
            let is_direct = src
                .direct_identifiers
                .iter()
                .chain(std::iter::once(&src.person_column))
                .any(|d| d == field);
            if is_direct || matches!(field.as_str(), "person" | "pseudonym") {
                self.push(
                    &fkey,
                    format!(
                        "`{field}` is the person's identifier or a direct identifier; it is never released"
                    ),
                    Some(
                        "every record carries the agreement's pseudonym in the `pseudonym` column instead"
                            .into(),
                    ),
                );
                continue;
            }
            let Some(origin) = origin_of(field) else {
                self.push(
                    &fkey,
                    format!("`{field}` is not a field of source `{}`", raw.source),
                    did_you_mean(field, fields_of_source.iter()),
                );
                continue;
            };
            let given = match &raw.fields[field] {
                RawFieldRelease::One(l) => vec![l.clone()],
                RawFieldRelease::Choice(ls) => ls.clone(),
            };
            if given.is_empty() {
                self.push(&fkey, "lists no level".into(), None);
                continue;
            }
            let mut levels = Vec::with_capacity(given.len());
            for l in &given {
                let Some(level) = Level::parse(l) else {
                    self.push(
                        &fkey,
                        format!("`{l}` is not a level"),
                        did_you_mean(l, Level::ALL.iter().map(|l| l.name())),
                    );
                    continue;
                };
                if let Some(why) = level_problem(&origin, level, around.domains) {
                    self.push(&fkey, format!("`{l}`: {why}"), None);
                    continue;
                }
                if levels.contains(&level) {
                    self.push(&fkey, format!("`{l}` is listed twice"), None);
                    continue;
                }
                levels.push(level);
            }
            if matches!(levels.first(), Some(Level::Age5 | Level::Age10)) && reference.is_none() {
                self.push(
                    &fkey,
                    "ages need a reference day".into(),
                    Some(format!(
                        "give [{key}] period, reference_date, or [release] period"
                    )),
                );
            }
            fields.push(MicrodataField {
                name: field.clone(),
                origin,
                levels,
            });
        }
        let nodes = fields
            .iter()
            .take(quasi)
            .try_fold(1usize, |n, f| n.checked_mul(f.levels.len().max(1)))
            .unwrap_or(usize::MAX);
        if nodes > MAX_NODES {
            self.push(
                &format!("{key}.fields"),
                format!(
                    "the quasi-identifiers' allowed levels combine {nodes} ways; at most {MAX_NODES} are tried"
                ),
                Some("allow fewer levels per quasi-identifier".into()),
            );
        }
        let share = raw
            .max_suppressed_share
            .unwrap_or(DEFAULT_MAX_SUPPRESSED_SHARE);
        if !(0.0..=1.0).contains(&share) {
            self.push(
                &format!("{key}.max_suppressed_share"),
                format!("= {share:?} is not a share between 0 and 1"),
                None,
            );
        }
        let k = raw.k.unwrap_or(DEFAULT_K);
        self.in_range(
            &format!("{key}.k"),
            u64::from(k),
            2..=MAX_K,
            "k is the smallest number of persons who share their quasi-identifiers",
        );
        let l = raw.l.unwrap_or(DEFAULT_L);
        if raw.l.is_some() && raw.sensitive.is_none() {
            self.push(
                &format!("{key}.l"),
                "needs a sensitive field".into(),
                Some("add sensitive = \"work_area\" (the field that must not be inferred)".into()),
            );
        }
        self.in_range(
            &format!("{key}.l"),
            u64::from(l),
            1..=u64::from(k.max(1)),
            "l distinct sensitive values in a class of at least k persons",
        );
        let context = raw
            .context
            .clone()
            .unwrap_or_else(|| around.pseudonymise.context.clone());
        if context.trim().is_empty() {
            self.push(&format!("{key}.context"), "must not be empty".into(), None);
        }
        let sensitive = raw
            .sensitive
            .as_ref()
            .and_then(|s| fields.iter().position(|f| &f.name == s));
        Some(MicrodataSpec {
            name: name.to_owned(),
            title: raw.title.clone(),
            source,
            period,
            reference,
            quasi: quasi.min(fields.len()),
            fields,
            sensitive,
            k,
            l,
            max_suppressed_share: share.clamp(0.0, 1.0),
            context,
        })
    }
}

/// Why a field of this origin cannot be released at this level.
fn level_problem(origin: &FieldOrigin, level: Level, domains: &[Domain]) -> Option<String> {
    let date_levels = "month, quarter, half_year or year";
    match (origin, level) {
        (FieldOrigin::ServiceDate | FieldOrigin::Day, Level::Keep) => Some(format!(
            "an exact date is never released in microdata; choose {date_levels}{}",
            if *origin == FieldOrigin::Day {
                " (age5 or age10 for a date of birth)"
            } else {
                ""
            }
        )),
        (
            FieldOrigin::ServiceDate | FieldOrigin::Day,
            Level::Month | Level::Quarter | Level::HalfYear | Level::Year,
        )
        | (FieldOrigin::Day, Level::Age5 | Level::Age10)
        | (FieldOrigin::Coded(_) | FieldOrigin::Integer, Level::Keep) => None,
        (FieldOrigin::Text, _) => Some(
            "a text field is read only to count its distinct values; free text is never released"
                .into(),
        ),
        (FieldOrigin::ServiceDate, Level::Age5 | Level::Age10) => {
            Some("ages are reckoned from a date of birth, not the service date".into())
        }
        (FieldOrigin::Coded(d), Level::Group) if domains[*d].groups.is_empty() => {
            Some(format!("domain `{}` declares no groups", domains[*d].name))
        }
        (FieldOrigin::Coded(_), Level::Group) => None,
        (FieldOrigin::ServiceDate | FieldOrigin::Day, Level::Group) => {
            Some(format!("a date is generalised to {date_levels}"))
        }
        (FieldOrigin::Coded(_) | FieldOrigin::Integer, _) => {
            Some("applies to dates; codes are kept or grouped, numbers kept".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Plan;
    use crate::config::plan::Overrides;

    /// The sharing seed pipeline with `replace` applied.
    fn checked(replace: &[(&str, &str)]) -> Result<Plan, String> {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines")
            .join("keelung-sharing.toml");
        let mut text = std::fs::read_to_string(&file).expect("seed pipeline");
        for (from, to) in replace {
            assert!(text.contains(from), "the seed has `{from}`");
            text = text.replace(from, to);
        }
        crate::config::from_bytes(text.as_bytes(), &file, &Overrides::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_sharing_seed_is_checked_into_quasi_identifiers_first() -> Result<(), String> {
        let plan = checked(&[])?;
        let m = &plan.microdata[0];
        let names: Vec<&str> = m.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names[..5],
            ["gender", "birth_date", "district", "origin", "work_area"]
        );
        assert_eq!((m.quasi, m.sensitive, m.k, m.l), (4, Some(4), 3, 2));
        assert_eq!(
            m.reference.map(|d| d.to_string()).as_deref(),
            Some("2025-06-30")
        );
        assert_eq!(plan.pseudonymise.linkage, vec![m.context.clone()]);
        Ok(())
    }

    #[test]
    fn identifiers_exact_dates_free_text_and_mixed_releases_are_refused() {
        for (replace, expected) in [
            (
                ("gender = \"keep\"", "\"姓名\" = \"keep\""),
                "never released",
            ),
            (("gender = \"keep\"", "person = \"keep\""), "never released"),
            (
                ("date = \"month\"", "date = \"keep\""),
                "an exact date is never released",
            ),
            (
                (
                    "birth_date = [\"age5\", \"age10\"]",
                    "birth_date = \"keep\"",
                ),
                "exact date",
            ),
            (
                ("date = \"month\"", "date = \"age5\""),
                "ages are reckoned from a date of birth",
            ),
            (
                ("gender = \"keep\"", "gender = \"group\""),
                "declares no groups",
            ),
            (("mode = \"keep\"", "mode = \"month\""), "applies to dates"),
            (("k = 3", "k = 1"), "outside the allowed range"),
            (("l = 2", "l = 4"), "outside the allowed range"),
            (
                ("key_file = \"../fixtures/keys/demo-only.key\"", ""),
                "needs a key shared under the data-sharing agreement",
            ),
            (
                (
                    "[publish]",
                    "[protection]\nmethod = \"dp\"\nepsilon = 1.0\ndataset = \"cases\"\nlifetime_epsilon = 10.0\n\n[publish]",
                ),
                "not by differential privacy",
            ),
            (
                (
                    "[publish]",
                    "[tables.t]\nsource = \"cases\"\nby = [\"gender\"]\nmeasures = [\"persons\"]\n\n[publish]",
                ),
                "tables or microdata, not both",
            ),
            (
                (
                    "formats = [\"parquet\", \"csv\"]",
                    "formats = [\"csv\", \"xlsx\"]",
                ),
                "xlsx",
            ),
            (
                (
                    "\"district\", \"origin\"]",
                    "\"district\", \"nationality\"]",
                ),
                "not among the released fields",
            ),
        ] {
            let err = checked(&[replace]).expect_err(expected);
            assert!(err.contains(expected), "{replace:?}: {err}");
        }
    }

    #[test]
    fn a_text_field_is_never_released() {
        let err = checked(&[
            (
                "mode = \"服務方式\"",
                "mode = \"服務方式\"\nnote = { column = \"電話\", type = \"text\" }",
            ),
            (
                "direct_identifiers = [\"姓名\", \"電話\"]",
                "direct_identifiers = [\"姓名\"]",
            ),
            ("mode = \"keep\"", "mode = \"keep\"\nnote = \"keep\""),
        ])
        .expect_err("free text");
        assert!(err.contains("free text is never released"), "{err}");
    }
}
