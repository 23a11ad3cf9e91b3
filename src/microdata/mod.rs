//! Record-level releases (`[microdata.NAME]`): a source's records in its period, each under the
//! pseudonym of a data-sharing agreement, the released fields kept or generalised, and the
//! quasi-identifiers made k-anonymous (and the sensitive field ℓ-diverse) over persons by
//! [`anonymise`], measured by [`crate::attacker::risk`] before and after.
//!
//! No identifier, name or exact date ever reaches the output: fields are only those the plan
//! lists (direct identifiers are refused there and never read), dates leave as a month or
//! coarser, dates of birth as age bands. Rows are sorted by their released values, so the
//! source's order (which could betray the order of entry) is not published either.

pub mod anonymise;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use crate::attacker::risk::{self, Interner, Records, Risk};
use crate::config::Plan;
use crate::config::plan::{Domain, FieldOrigin, Level, MicrodataField, MicrodataSpec};
use crate::ingest::columns;
use crate::pseudonymise::Keyed;
use anonymise::{Axis, Population, Targets};

/// The value written for a suppressed quasi-identifier.
pub const SUPPRESSED_TEXT: &str = "*";
/// The column of the agreement's pseudonym.
pub const PSEUDONYM_COLUMN: &str = "pseudonym";

/// Generalised group codes are numbered from here, leaf codes below.
const GROUP_BASE: i64 = 1 << 40;

/// One record-level output, ready to publish.
#[derive(Debug)]
pub struct Shared {
    pub name: String,
    pub title: Option<crate::config::raw::Label>,
    /// `pseudonym`, then the released fields in the plan's order.
    pub frame: DataFrame,
    pub fields: Vec<SharedField>,
    pub k: u32,
    /// ℓ, when there is a sensitive field.
    pub l: Option<u32>,
    pub context: String,
    /// With the finest levels and nothing suppressed.
    pub before: Risk,
    /// As published.
    pub published: Risk,
    pub persons_suppressed: u64,
    pub records_suppressed: u64,
    /// The search's information loss (see [`anonymise`]).
    pub loss: f64,
}

/// What a released field is and how it was released.
#[derive(Debug, Clone, Serialize)]
pub struct SharedField {
    pub name: String,
    pub role: Role,
    pub level: Level,
    /// The levels it was allowed, finest first.
    pub allowed: Vec<Level>,
    /// Persons, and their records, whose value is suppressed.
    pub suppressed_persons: u64,
    pub suppressed_records: u64,
    /// The domain of a coded field (its codes are in `codelists.csv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `string` or `integer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// A released field's part in the risk measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    QuasiIdentifier,
    Sensitive,
    Other,
}

/// Why a microdata output cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum MicrodataError {
    #[error(
        "microdata `{output}`: k = {k}{} cannot be reached by suppressing values of at most {:.0} % of persons ({}); persons below k with every quasi-identifier at its coarsest allowed level: {unsafe_coarsest}, and leaving one out: {without}\n  hint: coarsen or drop the quasi-identifier whose absence leaves fewest persons below k, or raise max_suppressed_share",
        l.map_or_else(String::new, |l| format!(" with ℓ = {l}")),
        max_share * 100.0,
        if *best_share >= 1.0 { "no choice of levels reaches it at all".to_owned() } else { format!("the best choice of levels needs {:.1} %", best_share * 100.0) }
    )]
    Unreachable {
        output: String,
        k: u32,
        l: Option<u32>,
        max_share: f64,
        best_share: f64,
        unsafe_coarsest: u64,
        /// `field: persons` per quasi-identifier.
        without: String,
    },
    #[error("microdata `{output}`: no record of source `{source_name}` is in its period")]
    NoRecords { output: String, source_name: String },
    #[error(
        "internal error while making microdata `{output}`: {message}; this is a bug in privstat, please report it"
    )]
    Internal { output: String, message: String },
}

/// Makes every microdata output of the plan.
///
/// # Errors
/// [`MicrodataError`].
pub fn build_all(keyed: &Keyed, plan: &Plan) -> Result<Vec<Shared>, MicrodataError> {
    plan.microdata
        .iter()
        .map(|spec| build(keyed, plan, spec))
        .collect()
}

/// The records an output releases: its source's rows with a person, in its period.
fn records_of(keyed: &Keyed, plan: &Plan, spec: &MicrodataSpec) -> PolarsResult<DataFrame> {
    let source = &keyed.sources[spec.source];
    let mut lf = source
        .frame
        .clone()
        .lazy()
        .filter(col(columns::PERSON).is_not_null());
    if let (Some(p), true) = (spec.period, plan.sources[spec.source].date.is_some()) {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let day = |d: NaiveDate| lit(i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX));
        let date = col(columns::DATE).cast(DataType::Int32);
        lf = lf.filter(date.clone().gt_eq(day(p.start)).and(date.lt_eq(day(p.end))));
    }
    lf.collect()
}

/// The person indices of an output's records, sorted.
///
/// # Errors
/// [`MicrodataError::Internal`] on a broken frame.
pub fn persons(
    keyed: &Keyed,
    plan: &Plan,
    spec: &MicrodataSpec,
) -> Result<Vec<u32>, MicrodataError> {
    let internal = |e: &dyn std::fmt::Display| MicrodataError::Internal {
        output: spec.name.clone(),
        message: crate::scrub::scrub(&e.to_string()),
    };
    let records = records_of(keyed, plan, spec).map_err(|e| internal(&e))?;
    let mut persons: Vec<u32> = records
        .column(columns::PERSON)
        .and_then(|c| c.u32().map(|c| c.into_no_null_iter().collect()))
        .map_err(|e| internal(&e))?;
    persons.sort_unstable();
    persons.dedup();
    Ok(persons)
}

/// Makes one microdata output.
///
/// # Errors
/// [`MicrodataError`].
pub fn build(keyed: &Keyed, plan: &Plan, spec: &MicrodataSpec) -> Result<Shared, MicrodataError> {
    let internal = |e: &dyn std::fmt::Display| MicrodataError::Internal {
        output: spec.name.clone(),
        message: crate::scrub::scrub(&e.to_string()),
    };
    let records = records_of(keyed, plan, spec).map_err(|e| internal(&e))?;
    if records.height() == 0 {
        return Err(MicrodataError::NoRecords {
            output: spec.name.clone(),
            source_name: plan.sources[spec.source].name.clone(),
        });
    }

    let quasi = &spec.fields[..spec.quasi];
    let sensitive = spec.sensitive.map(|s| &spec.fields[s]);
    let generalisers: Vec<Vec<Generaliser<'_>>> = quasi
        .iter()
        .map(|f| {
            f.levels
                .iter()
                .map(|&level| generaliser(f, level, spec.reference, &plan.domains))
                .collect()
        })
        .collect();

    // The distinct (person, quasi-identifiers, sensitive value) rows and how many records each is.
    let mut keys: Vec<Expr> = vec![col(columns::PERSON)];
    keys.extend(quasi.iter().map(|f| col(column_of(f, &plan.domains))));
    if let Some(s) = sensitive {
        keys.push(col(column_of(s, &plan.domains)).alias("__sensitive"));
    }
    // Grouped on the compact columns as they are; widened only once distinct.
    let mut widened: Vec<Expr> = vec![col(columns::PERSON), col("__n")];
    widened.extend(
        quasi
            .iter()
            .map(|f| col(column_of(f, &plan.domains)).cast(DataType::Int64)),
    );
    if sensitive.is_some() {
        widened.push(col("__sensitive").cast(DataType::Int64));
    }
    let distinct = records
        .clone()
        .lazy()
        .group_by(keys)
        .agg([len().cast(DataType::UInt64).alias("__n")])
        .select(widened)
        .collect()
        .map_err(|e| internal(&e))?;
    let person_ids: Vec<u32> = distinct
        .column(columns::PERSON)
        .and_then(|c| c.u32().map(|c| c.into_no_null_iter().collect()))
        .map_err(|e| internal(&e))?;
    let raw_quasi: Vec<Vec<Option<i64>>> = quasi
        .iter()
        .map(|f| {
            distinct
                .column(column_of(f, &plan.domains))
                .and_then(|c| c.i64().map(|c| c.iter().collect()))
        })
        .collect::<PolarsResult<_>>()
        .map_err(|e| internal(&e))?;
    // The sensitive value as it is released (a group when it is released grouped), as an id.
    let raw_sensitive: Option<Vec<u32>> = sensitive
        .map(|f| {
            let g = generaliser(f, f.levels[0], spec.reference, &plan.domains);
            let mut ids: HashMap<Option<i64>, u32> = HashMap::new();
            distinct.column("__sensitive").and_then(|c| {
                c.i64().map(|c| {
                    c.iter()
                        .map(|v| {
                            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                            *ids.entry(g(v)).or_insert(next)
                        })
                        .collect()
                })
            })
        })
        .transpose()
        .map_err(|e| internal(&e))?;
    let weights: Vec<u64> = distinct
        .column("__n")
        .and_then(|c| c.u64().map(|c| c.into_no_null_iter().collect()))
        .map_err(|e| internal(&e))?;

    // Each quasi-identifier's distinct raw values get ids, and each allowed level maps them to
    // dense codes (computed once per distinct value, not per person).
    let q = quasi.len();
    let mut raw_ids: Vec<Vec<u32>> = Vec::with_capacity(q);
    let mut axes: Vec<Axis> = Vec::with_capacity(q);
    for (column, levels) in raw_quasi.iter().zip(&generalisers) {
        let mut values: Vec<Option<i64>> = column.clone();
        values.sort_unstable();
        values.dedup();
        let id_of: HashMap<Option<i64>, u32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        raw_ids.push(column.iter().map(|v| id_of[v]).collect());
        axes.push(Axis {
            levels: levels
                .iter()
                .map(|g| {
                    let mut codes: HashMap<Option<i64>, u32> = HashMap::new();
                    values
                        .iter()
                        .map(|v| {
                            let next = u32::try_from(codes.len()).unwrap_or(u32::MAX);
                            *codes.entry(g(*v)).or_insert(next)
                        })
                        .collect()
                })
                .collect(),
        });
    }

    // Persons numbered densely in order of their index; their rows gathered, flat.
    let mut order: Vec<u32> = person_ids.clone();
    order.sort_unstable();
    order.dedup();
    let slot: HashMap<u32, usize> = order.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut rows: Vec<usize> = (0..person_ids.len()).collect();
    rows.sort_by_key(|&r| slot[&person_ids[r]]);
    let mut population = Population {
        q,
        raw: Vec::with_capacity(rows.len() * q),
        start: Vec::with_capacity(order.len() + 1),
        sensitive: Vec::new(),
        sensitive_start: Vec::with_capacity(order.len() + 1),
    };
    let mut records_of = vec![0u64; order.len()];
    let mut at = 0;
    for (s, records) in records_of.iter_mut().enumerate() {
        population.start.push(population.raw.len() / q.max(1));
        population.sensitive_start.push(population.sensitive.len());
        let first = population.sensitive.len();
        while at < rows.len() && slot[&person_ids[rows[at]]] == s {
            let r = rows[at];
            population.raw.extend(raw_ids.iter().map(|ids| ids[r]));
            if let Some(v) = &raw_sensitive {
                population.sensitive.push(v[r]);
            }
            *records += weights[r];
            at += 1;
        }
        population.sensitive[first..].sort_unstable();
        let mut kept = first;
        for i in first..population.sensitive.len() {
            if i == first || population.sensitive[i] != population.sensitive[kept - 1] {
                population.sensitive[kept] = population.sensitive[i];
                kept += 1;
            }
        }
        population.sensitive.truncate(kept);
    }
    population.start.push(population.raw.len() / q.max(1));
    population.sensitive_start.push(population.sensitive.len());

    let targets = Targets {
        k: u64::from(spec.k),
        l: if sensitive.is_some() {
            u64::from(spec.l)
        } else {
            1
        },
        max_suppressed_share: spec.max_suppressed_share,
    };
    let before = {
        let mut interners: Vec<HashMap<Option<i64>, u32>> = vec![HashMap::new(); quasi.len()];
        let quasi_ids: Vec<Vec<u32>> = raw_quasi
            .iter()
            .zip(&generalisers)
            .zip(&mut interners)
            .map(|((column, levels), ids)| {
                column
                    .iter()
                    .map(|v| {
                        let g = (levels[0])(*v);
                        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                        *ids.entry(g).or_insert(next)
                    })
                    .collect()
            })
            .collect();
        risk::measure(
            &Records {
                person: &person_ids,
                quasi: &quasi_ids,
                sensitive: raw_sensitive.as_deref(),
                weight: Some(&weights),
            },
            targets.k,
            targets.l,
        )
    };
    drop(raw_ids);
    let decision = anonymise::search(&population, &axes, targets).map_err(|u| {
        MicrodataError::Unreachable {
            output: spec.name.clone(),
            k: spec.k,
            l: sensitive.map(|_| spec.l),
            max_share: spec.max_suppressed_share,
            best_share: u.best_share,
            unsafe_coarsest: u.unsafe_coarsest,
            without: quasi
                .iter()
                .zip(&u.unsafe_without)
                .map(|(f, n)| format!("{n} without {}", f.name))
                .collect::<Vec<_>>()
                .join(", "),
        }
    })?;

    // Each person's suppression, by person index, for a gather by row.
    let persons_total = keyed.pseudonyms.len();
    let link = plan
        .pseudonymise
        .linkage
        .iter()
        .position(|c| c == &spec.context)
        .and_then(|i| keyed.linkage.get(i))
        .ok_or_else(|| internal(&"no pseudonyms under the output's context"))?;
    let mut fields = Vec::with_capacity(spec.fields.len());
    let person_index = records
        .column(columns::PERSON)
        .and_then(|c| c.u32().cloned())
        .map_err(|e| internal(&e))?;
    let pseudonyms: Vec<String> = link.iter().map(|t| format!("{t:032x}")).collect();
    let mut out: Vec<Column> = vec![
        Series::new(PSEUDONYM_COLUMN.into(), pseudonyms)
            .take(&person_index)
            .map_err(|e| internal(&e))?
            .into_column(),
    ];
    for (j, f) in spec.fields.iter().enumerate() {
        let level_index = if j < spec.quasi {
            decision.levels[j]
        } else {
            0
        };
        let level = f.levels[level_index];
        let role = if j < spec.quasi {
            Role::QuasiIdentifier
        } else if spec.sensitive == Some(j) {
            Role::Sensitive
        } else {
            Role::Other
        };
        let source_column = column_of(f, &plan.domains);
        let (mut suppressed_persons, mut suppressed_records) = (0, 0);
        let integer = f.origin == FieldOrigin::Integer && role != Role::QuasiIdentifier;
        let column = if integer {
            records
                .column(source_column)
                .map_err(|e| internal(&e))?
                .clone()
                .with_name(f.name.as_str().into())
        } else {
            // Each person's suppression of this field, by person index, gathered by row.
            let mask = if j < spec.quasi {
                let bit = 1u32 << j;
                let mut by_person = vec![false; persons_total];
                for (s, &p) in order.iter().enumerate() {
                    if decision.masks[s] & bit != 0 {
                        by_person[p as usize] = true;
                        suppressed_persons += 1;
                        suppressed_records += records_of[s];
                    }
                }
                Some(
                    BooleanChunked::from_slice("__mask".into(), &by_person)
                        .take(&person_index)
                        .map_err(|e| internal(&e))?,
                )
            } else {
                None
            };
            let g = generaliser(f, level, spec.reference, &plan.domains);
            labelled(&records, source_column, mask, &|v| {
                g(v).map(|id| label(f, level, id, &plan.domains))
            })
            .map_err(|e| internal(&e))?
            .with_name(f.name.as_str().into())
            .into_column()
        };
        out.push(column);
        fields.push(SharedField {
            name: f.name.clone(),
            role,
            level,
            allowed: f.levels.clone(),
            suppressed_persons,
            suppressed_records,
            domain: match f.origin {
                FieldOrigin::Coded(d) => Some(plan.domains[d].name.clone()),
                _ => None,
            },
            kind: if integer { "integer" } else { "string" },
        });
    }
    drop(records);
    let names: Vec<PlSmallStr> = out.iter().map(|c| c.name().clone()).collect();
    let frame = DataFrame::new_infer_height(out)
        .and_then(|df| df.sort(names, SortMultipleOptions::default().with_nulls_last(true)))
        .map_err(|e| internal(&e))?;

    let published =
        measure_frame(&frame, &fields, targets.k, targets.l).map_err(|e| internal(&e))?;
    if published.smallest_class < targets.k || published.classes_below_l > 0 {
        return Err(internal(&format!(
            "the released records have a class of {} persons and {} classes below ℓ",
            published.smallest_class, published.classes_below_l
        )));
    }
    let persons_suppressed = decision.masks.iter().filter(|&&m| m != 0).count() as u64;
    let records_suppressed = decision
        .masks
        .iter()
        .zip(&records_of)
        .filter(|(m, _)| **m != 0)
        .map(|(_, r)| r)
        .sum();
    Ok(Shared {
        name: spec.name.clone(),
        title: spec.title.clone(),
        frame,
        fields,
        k: spec.k,
        l: sensitive.map(|_| spec.l),
        context: spec.context.clone(),
        before,
        published,
        persons_suppressed,
        records_suppressed,
        loss: decision.loss,
    })
}

/// A field's released text per record: each distinct raw value labelled once, records taking
/// theirs by a gather on the value's offset from the smallest (or, for a wide range of whole
/// numbers, by a join), `*` where `mask` is set.
fn labelled(
    records: &DataFrame,
    column: &str,
    mask: Option<BooleanChunked>,
    label_of: &dyn Fn(Option<i64>) -> Option<String>,
) -> PolarsResult<Series> {
    let raw = records.column(column)?.cast(&DataType::Int64)?;
    let distinct = raw.unique()?;
    let distinct: Vec<Option<i64>> = distinct.i64()?.iter().collect();
    let present: Vec<i64> = distinct.iter().flatten().copied().collect();
    let (low, high) = (
        present.iter().min().copied().unwrap_or(0),
        present.iter().max().copied().unwrap_or(0),
    );
    let span = usize::try_from(high - low).ok().filter(|&s| s < 1 << 22);
    let texts = match span {
        Some(span) => {
            // Labels by offset from the smallest value; the last two slots are `*` and missing.
            let mut labels: Vec<Option<String>> = vec![None; span + 3];
            for &v in &present {
                labels[usize::try_from(v - low).unwrap_or(0)] = label_of(Some(v));
            }
            labels[span + 1] = Some(SUPPRESSED_TEXT.to_owned());
            labels[span + 2] = label_of(None);
            let star = u32::try_from(span + 1).unwrap_or(u32::MAX);
            let missing = star + 1;
            let offsets = raw.i64()?;
            let index: UInt32Chunked = match &mask {
                Some(mask) => offsets
                    .iter()
                    .zip(mask.iter())
                    .map(|(v, m)| {
                        Some(if m == Some(true) {
                            star
                        } else {
                            v.map_or(missing, |v| u32::try_from(v - low).unwrap_or(missing))
                        })
                    })
                    .collect(),
                None => offsets
                    .iter()
                    .map(|v| Some(v.map_or(missing, |v| u32::try_from(v - low).unwrap_or(missing))))
                    .collect(),
            };
            Series::new("__label".into(), labels).take(&index)?
        }
        None => {
            let labels: Vec<Option<String>> = distinct.iter().map(|v| label_of(*v)).collect();
            let lookup = DataFrame::new_infer_height(vec![
                Series::new("__key".into(), distinct).into(),
                Series::new("__label".into(), labels).into(),
            ])?;
            let rows = raw.len();
            let mut frame = DataFrame::new_infer_height(vec![raw.with_name("__key".into())])?;
            if let Some(mask) = &mask {
                frame.with_column(mask.clone().with_name("__mask".into()).into_column())?;
            } else {
                frame.with_column(Column::new("__mask".into(), vec![false; rows]))?;
            }
            let mut args = JoinArgs::new(JoinType::Left);
            args.maintain_order = MaintainOrderJoin::Left;
            frame
                .lazy()
                .join(lookup.lazy(), [col("__key")], [col("__key")], args)
                .select([when(col("__mask"))
                    .then(lit(SUPPRESSED_TEXT))
                    .otherwise(col("__label"))
                    .alias("__label")])
                .collect()?
                .column("__label")?
                .as_materialized_series()
                .clone()
        }
    };
    Ok(texts)
}

/// The risk of a released frame, read as an outsider reads it: every value as text.
///
/// # Errors
/// A column is missing.
pub fn measure_frame(
    frame: &DataFrame,
    fields: &[SharedField],
    k: u64,
    l: u64,
) -> PolarsResult<Risk> {
    // Each column's values interned as they are read: no copy of the text.
    let ids = |name: &str| -> PolarsResult<Vec<u32>> {
        let c = frame.column(name)?.cast(&DataType::String)?;
        let mut interner = Interner::default();
        Ok(c.str()?.iter().map(|v| interner.id(v)).collect())
    };
    let person = ids(PSEUDONYM_COLUMN)?;
    let quasi: Vec<Vec<u32>> = fields
        .iter()
        .filter(|f| f.role == Role::QuasiIdentifier)
        .map(|f| ids(&f.name))
        .collect::<PolarsResult<_>>()?;
    let sensitive = fields
        .iter()
        .find(|f| f.role == Role::Sensitive)
        .map(|f| ids(&f.name))
        .transpose()?;
    Ok(risk::measure(
        &Records {
            person: &person,
            quasi: &quasi,
            sensitive: sensitive.as_deref(),
            weight: None,
        },
        k,
        l,
    ))
}

/// The working column a field's values are in.
fn column_of<'a>(f: &'a MicrodataField, domains: &'a [Domain]) -> &'a str {
    match f.origin {
        FieldOrigin::ServiceDate => columns::DATE,
        FieldOrigin::Coded(d) => &domains[d].name,
        FieldOrigin::Day | FieldOrigin::Text | FieldOrigin::Integer => &f.name,
    }
}

type Generaliser<'a> = Box<dyn Fn(Option<i64>) -> Option<i64> + Sync + Send + 'a>;

/// Maps a field's raw value (days since 1970 for dates, the leaf index for codes) to its value at
/// `level`, as a number that [`label`] writes out.
fn generaliser<'a>(
    f: &MicrodataField,
    level: Level,
    reference: Option<NaiveDate>,
    domains: &'a [Domain],
) -> Generaliser<'a> {
    let day = |days: i64| {
        NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::TimeDelta::try_days(days)?))
    };
    match (level, &f.origin) {
        (Level::Month, _) => {
            Box::new(move |v| day(v?).map(|d| i64::from(d.year()) * 12 + i64::from(d.month0())))
        }
        (Level::Quarter, _) => {
            Box::new(move |v| day(v?).map(|d| i64::from(d.year()) * 4 + i64::from(d.month0() / 3)))
        }
        (Level::HalfYear, _) => {
            Box::new(move |v| day(v?).map(|d| i64::from(d.year()) * 2 + i64::from(d.month0() / 6)))
        }
        (Level::Year, _) => Box::new(move |v| day(v?).map(|d| i64::from(d.year()))),
        (Level::Age5 | Level::Age10, _) => {
            let width = if level == Level::Age5 { 5 } else { 10 };
            Box::new(move |v| {
                let born = day(v?)?;
                let at = reference?;
                let mut age = i64::from(at.year()) - i64::from(born.year());
                if (at.month(), at.day()) < (born.month(), born.day()) {
                    age -= 1;
                }
                (age >= 0).then_some(age / width * width)
            })
        }
        (Level::Group, FieldOrigin::Coded(d)) => {
            let domain = &domains[*d];
            let mut parent: Vec<i64> = (0..domain.codes.len()).map(|i| i as i64).collect();
            for (g, group) in domain.groups.iter().enumerate().rev() {
                for &m in &group.members {
                    if let Some(p) = parent.get_mut(m) {
                        *p = GROUP_BASE + g as i64;
                    }
                }
            }
            Box::new(move |v| {
                let v = v?;
                usize::try_from(v)
                    .ok()
                    .and_then(|i| parent.get(i).copied())
                    .or(Some(v))
            })
        }
        _ => Box::new(|v| v),
    }
}

/// How a generalised value is written.
fn label(f: &MicrodataField, level: Level, id: i64, domains: &[Domain]) -> String {
    match (level, &f.origin) {
        (Level::Month, _) => format!("{:04}-{:02}", id.div_euclid(12), id.rem_euclid(12) + 1),
        (Level::Quarter, _) => format!("{}-Q{}", id.div_euclid(4), id.rem_euclid(4) + 1),
        (Level::HalfYear, _) => format!("{}-H{}", id.div_euclid(2), id.rem_euclid(2) + 1),
        (Level::Year, _) => id.to_string(),
        (Level::Age5, _) => format!("{id}-{}", id + 4),
        (Level::Age10, _) => format!("{id}-{}", id + 9),
        (_, FieldOrigin::Coded(d)) => {
            let domain = &domains[*d];
            if id >= GROUP_BASE {
                usize::try_from(id - GROUP_BASE)
                    .ok()
                    .and_then(|g| domain.groups.get(g))
                    .map_or_else(String::new, |g| g.code.clone())
            } else {
                usize::try_from(id)
                    .ok()
                    .and_then(|i| domain.codes.get(i))
                    .map_or_else(String::new, |c| c.code.clone())
            }
        }
        _ => id.to_string(),
    }
}
