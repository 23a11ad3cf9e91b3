//! Stage 3, tabulate: keyed rows → one dense [`Table`] per table of the plan, with every cell of the
//! public key domain present (zeros included) and, when margins are on, every group code and total
//! (`_T`) of every dimension.
//!
//! Invariant: a person count is computed from records for every cell it is published for, margins
//! included; it is never the sum of finer cells, because persons are not additive over periods or
//! over categories a person can have several of (domain.md §4.4). Person-times and sums are
//! additive, and computing them the same way keeps them exactly equal to the sum of their cells.

pub mod bound;

use polars::prelude::*;

use crate::config::Plan;
use crate::config::plan::{DATE_FIELD, Domain, Measure, Period, TOTAL_CODE, TableSpec};
use crate::config::raw::{Label, PerPerson};
use crate::ingest::columns;
use crate::pseudonymise::Keyed;

/// The level of a code on one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Leaf,
    Group,
    Total,
}

/// One position on an axis.
#[derive(Debug, Clone)]
pub struct AxisCell {
    pub code: String,
    pub label: Label,
    pub level: Level,
}

/// One dimension of a table: its leaves, then its groups, then its total.
#[derive(Debug, Clone)]
pub struct Axis {
    /// Index into the plan's domains.
    pub domain: usize,
    pub name: String,
    pub cells: Vec<AxisCell>,
    /// Per leaf, the axis position of its group, if any.
    pub group_of: Vec<Option<u32>>,
    /// Whether every person has at most one leaf of this dimension in the table's scope, so that
    /// person counts add up over it: read from the data for suppression, declared
    /// (`per_person = "one"`) and enforced by bounding for differential privacy.
    pub persons_additive: bool,
}

/// A tabulated table: values per measure over the cross product of its axes, last axis fastest.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub title: Option<Label>,
    pub axes: Vec<Axis>,
    pub measures: Vec<Measure>,
    /// `values[m][cell]`.
    pub values: Vec<Vec<i64>>,
    /// Distinct persons behind each cell, whatever the measures are.
    pub persons: Vec<i64>,
    /// `[measure][axis]`: whether the measure adds up over the axis. Person-times and sums always
    /// do; persons and distinct values only when no person (value) has two codes of the axis.
    pub additive: Vec<Vec<bool>>,
    pub rows_in_scope: u64,
    pub period: Option<Period>,
    /// Position of the axis whose total is a share's denominator.
    pub share_of: Option<usize>,
    /// What contribution bounding removed (DP releases only). For the operator: exact counts are
    /// never published in a DP release.
    pub bounding: Option<BoundingReport>,
    /// `[measure]`: for a sum under the p% or the (n,k)-dominance rule, per cell the two largest
    /// contributions of single persons and the sum of the `n` largest (0 without the dominance
    /// rule); a person's contribution to a margin is the sum of theirs to the cells under it, 0
    /// where there is none. Never published: the rules' input.
    pub largest: Vec<Option<Vec<[i64; 3]>>>,
}

/// Per-person contribution bounds of one table, for differential privacy.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most leaf cells one person may count in.
    pub max_cells: u32,
    /// Most records one person may add to one cell.
    pub max_records: u32,
}

/// Contribution bounding of a DP release: the bounds per table and the keyed seed that chooses
/// which of a person's codes and cells are kept ([`bound`]).
#[derive(Clone)]
pub struct Bounding {
    /// One per table of the plan, in order.
    pub tables: Vec<Bounds>,
    /// Derived from the pseudonymisation key and the release name.
    pub seed: [u8; 32],
}

/// What bounding removed from one table.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct BoundingReport {
    pub bounds_max_cells: u32,
    pub bounds_max_records: u32,
    /// Records dropped because they carried a person's other code of a dimension declared one
    /// code per person.
    pub records_other_codes: u64,
    /// Persons who had more cells than allowed.
    pub persons_over_cells: u64,
    /// (person, cell) pairs dropped by the keyed-random choice.
    pub cells_dropped: u64,
    /// Records beyond `max_records` in a kept cell.
    pub records_clipped: u64,
    /// Persons who lost at least one record to any of the bounds.
    pub persons_cut: u64,
    /// Records the bounds removed, each person's counted up to [`Self::removed_cap`]: a person's
    /// share of this changes by at most the cap, so it can be released with noise.
    pub records_removed_capped: u64,
    /// The most records of one person counted in [`Self::records_removed_capped`]: what one
    /// person may keep (`max_cells × max_records`).
    pub removed_cap: u64,
}

impl Table {
    /// The population the table counts, as a key: its source (from the pipeline) and period.
    /// Tables of one population share persons, cells and margins.
    #[must_use]
    pub fn population(&self, plan: &Plan) -> String {
        let source = plan
            .tables
            .iter()
            .find(|s| s.name == self.name)
            .map_or("", |s| plan.sources[s.source].name.as_str());
        population_key(source, self.period.map(|p| (p.start, p.end)))
    }

    /// Number of cells.
    #[must_use]
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.cells.len()).product()
    }

    /// Whether the table has no cells (never true for a checked plan).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Axis positions of a cell index.
    #[must_use]
    pub fn positions(&self, mut cell: usize) -> Vec<usize> {
        let mut out = vec![0; self.axes.len()];
        for (slot, axis) in out.iter_mut().zip(&self.axes).rev() {
            *slot = cell % axis.cells.len();
            cell /= axis.cells.len();
        }
        out
    }

    /// Whether a cell is at leaf level on every axis.
    #[must_use]
    pub fn is_leaf(&self, cell: usize) -> bool {
        self.positions(cell)
            .iter()
            .zip(&self.axes)
            .all(|(&p, a)| a.cells[p].level == Level::Leaf)
    }

    /// Cell index of axis positions.
    #[must_use]
    pub fn index(&self, positions: &[usize]) -> usize {
        positions
            .iter()
            .zip(&self.axes)
            .fold(0, |acc, (p, a)| acc * a.cells.len() + p)
    }
}

/// Errors of this stage: only broken invariants, since the plan and ingest checked everything.
#[derive(Debug, thiserror::Error)]
#[error(
    "internal error while tabulating `{table}`: {message}; this is a bug in privstat, please report it"
)]
pub struct TabulateError {
    pub table: String,
    pub message: String,
}

/// Tabulates every table of the plan.
///
/// # Errors
/// [`TabulateError`] on a broken internal invariant.
pub fn count(
    keyed: &Keyed,
    plan: &Plan,
    bounding: Option<&Bounding>,
) -> Result<Vec<Table>, TabulateError> {
    let salts = bounding.map(|b| bound::person_salts(&b.seed, &keyed.pseudonyms));
    plan.tables
        .iter()
        .enumerate()
        .map(|(t, spec)| {
            let bounds = bounding.zip(salts.as_deref()).map(|(b, salts)| Bounder {
                bounds: b.tables[t],
                salts,
                table: t,
            });
            count_table(&keyed.sources[spec.source].frame, spec, plan, bounds).map_err(|e| {
                TabulateError {
                    table: spec.name.clone(),
                    message: crate::scrub::scrub(&e.to_string()),
                }
            })
        })
        .collect()
}

fn axis(domain_index: usize, domain: &Domain, margins: bool) -> Axis {
    let leaves = domain.codes.iter().map(|c| AxisCell {
        code: c.code.clone(),
        label: c.label.clone(),
        level: Level::Leaf,
    });
    let mut cells: Vec<AxisCell> = leaves.collect();
    let mut group_of = vec![None; domain.codes.len()];
    if margins {
        for g in &domain.groups {
            let position = u32::try_from(cells.len()).expect("small axis");
            for &m in &g.members {
                group_of[m] = Some(position);
            }
            cells.push(AxisCell {
                code: g.code.clone(),
                label: g.label.clone(),
                level: Level::Group,
            });
        }
        cells.push(AxisCell {
            code: TOTAL_CODE.to_owned(),
            label: Label {
                zh: "總計".into(),
                en: "Total".into(),
            },
            level: Level::Total,
        });
    }
    Axis {
        domain: domain_index,
        name: domain.name.clone(),
        cells,
        group_of,
        persons_additive: true,
    }
}

/// What bounds one table of a DP release.
struct Bounder<'a> {
    bounds: Bounds,
    /// Per person index, the keyed salt of [`bound::person_salts`].
    salts: &'a [u64],
    table: usize,
}

fn count_table(
    frame: &DataFrame,
    spec: &TableSpec,
    plan: &Plan,
    bounder: Option<Bounder<'_>>,
) -> PolarsResult<Table> {
    let mut axes: Vec<Axis> = spec
        .dims
        .iter()
        .map(|&d| axis(d, &plan.domains[d], spec.margins))
        .collect();
    let period = spec.period.or(plan.release.period);
    let mut lf = frame.clone().lazy();
    if let Some(p) = period {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let day = |d: chrono::NaiveDate| {
            lit(i32::try_from((d - epoch).num_days()).expect("date within i32 days"))
        };
        let date = col(columns::DATE).cast(DataType::Int32);
        lf = lf.filter(date.clone().gt_eq(day(p.start)).and(date.lt_eq(day(p.end))));
    }
    let dim_names: Vec<String> = axes.iter().map(|a| a.name.clone()).collect();
    // Each distinct measure's (leaf cell, value) pairs, its value being one field or several.
    let distinct_keys: Vec<Vec<String>> = spec
        .measures
        .iter()
        .map(|m| match m {
            Measure::Distinct { fields, .. } => fields
                .iter()
                .map(|f| {
                    if f == DATE_FIELD {
                        columns::DATE.to_owned()
                    } else {
                        f.clone()
                    }
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    // The columns this table counts by: dimensions, person, and each sum's and distinct measure's.
    let mut needed: Vec<&str> = dim_names.iter().map(String::as_str).collect();
    needed.push(columns::PERSON);
    for (m, keys) in spec.measures.iter().zip(&distinct_keys) {
        if let Measure::Sum { field: f, .. } = m {
            needed.push(f.as_str());
        }
        needed.extend(keys.iter().map(String::as_str));
    }
    let mut seen = std::collections::HashSet::new();
    needed.retain(|n| seen.insert(*n));
    let scoped_lf = lf.select(needed.iter().map(|n| col(*n)).collect::<Vec<_>>());
    // The period's rows are copied out only when a distinct measure counts its own pairs from them;
    // the (cell, person) pairs stream out of the frame.
    let scoped = if distinct_keys.iter().any(|k| !k.is_empty()) {
        Some(scoped_lf.clone().collect()?)
    } else {
        None
    };

    // Distinct (cell, person) pairs with their record counts and sums; distinct-value measures need
    // their own (cell, value) pairs.
    let mut person_aggs = vec![len().cast(DataType::Int64).alias("__times")];
    for m in &spec.measures {
        if let Measure::Sum { field: f, .. } = m {
            person_aggs.push(
                col(f.as_str())
                    .sum()
                    .cast(DataType::Int64)
                    .alias(f.as_str()),
            );
        }
    }
    let keys: Vec<Expr> = dim_names
        .iter()
        .map(|n| col(n.as_str()))
        .chain(std::iter::once(col(columns::PERSON)))
        .collect();
    let sizes: Vec<usize> = spec
        .dims
        .iter()
        .map(|&d| plan.domains[d].codes.len())
        .collect();
    let person_cells = match packed_key(frame, &dim_names, &sizes) {
        Some(key) => by_packed_key(scoped_lf, key, &dim_names, &sizes, person_aggs)?,
        None => scoped_lf
            .group_by(keys)
            .agg(person_aggs)
            .collect_with_engine(Engine::Streaming)?
            .unwrap_single(),
    };
    // Every row in scope is in one (cell, person) pair's count.
    let rows_in_scope = person_cells
        .column("__times")?
        .i64()?
        .sum()
        .map_or(0, |n| u64::try_from(n).unwrap_or(0));
    let (person_cells, bounding) = match &bounder {
        Some(b) => {
            // Differential privacy: additivity is declared, never read from the data (a flag that
            // one added record could flip would be published without noise), and bounding makes
            // the declaration true.
            let one: Vec<bool> = spec
                .dims
                .iter()
                .map(|&d| plan.domains[d].per_person == PerPerson::One)
                .collect();
            for (axis, &one) in axes.iter_mut().zip(&one) {
                axis.persons_additive = one;
            }
            let (frame, report) =
                bound::bound(person_cells, &dim_names, &one, b.bounds, b.salts, b.table)?;
            (frame, Some(report))
        }
        None => {
            let one = one_code_per_key(&person_cells, &[columns::PERSON.to_owned()], &dim_names)?;
            for (axis, one) in axes.iter_mut().zip(one) {
                axis.persons_additive = one;
            }
            (person_cells, None)
        }
    };

    let n_cells: usize = axes.iter().map(|a| a.cells.len()).product();
    let mut values = vec![vec![0i64; n_cells]; spec.measures.len()];
    let mut persons = vec![0i64; n_cells];
    let distinct_frames: Vec<Option<DataFrame>> = distinct_keys
        .iter()
        .map(|keys| {
            if keys.is_empty() {
                return Ok(None);
            }
            let scoped = scoped.as_ref().ok_or_else(|| {
                PolarsError::ComputeError("a distinct measure without its rows".into())
            })?;
            distinct_rows(scoped.clone().lazy(), &dim_names, keys)
                .collect()
                .map(Some)
        })
        .collect::<PolarsResult<_>>()?;

    let mut additive = Vec::with_capacity(spec.measures.len());
    for (m, measure) in spec.measures.iter().enumerate() {
        additive.push(match (measure, &distinct_frames[m]) {
            (Measure::Persons, _) => axes.iter().map(|a| a.persons_additive).collect(),
            (Measure::Distinct { .. }, Some(frame)) => {
                one_code_per_key(frame, &distinct_keys[m], &dim_names)?
            }
            _ => vec![true; axes.len()],
        });
    }

    let mut table = Table {
        name: spec.name.clone(),
        title: spec.title.clone(),
        axes,
        measures: spec.measures.clone(),
        values: Vec::new(),
        persons: Vec::new(),
        additive,
        rows_in_scope,
        period,
        share_of: spec.share_of,
        bounding,
        largest: Vec::new(),
    };
    // The rules for sums need each cell's largest contributions (suppression only: a DP release
    // bounds contributions instead).
    let dominance_n = plan.protection.dominance.map(|d| d.n);
    let p_rule = bounder.is_none()
        && plan.protection.method == crate::config::raw::ProtectionMethod::Suppression
        && (plan.protection.p_percent > 0 || dominance_n.is_some());
    let mut largest: Vec<Option<Vec<[i64; 3]>>> = spec
        .measures
        .iter()
        .map(|m| (p_rule && matches!(m, Measure::Sum { .. })).then(|| vec![[0; 3]; n_cells]))
        .collect();

    let p_sums = largest.iter().any(Option::is_some);
    let sums: Vec<&str> = spec
        .measures
        .iter()
        .filter_map(|m| match m {
            Measure::Sum { field: f, .. } => Some(f.as_str()),
            _ => None,
        })
        .collect();
    let sum_of = |name: &str| col(name).sum().cast(DataType::Int64).alias(name);
    for levels in level_combinations(&table.axes) {
        let (lf, pos_names) = map_levels(person_cells.clone().lazy(), &table.axes, &levels)?;
        let (lf, persons_of_cell) = if p_sums {
            // Under the p% rule, each person's record count and sums per cell at these levels
            // first: a cell's persons are then its rows, and each sum's two largest contributions
            // the largest and the next after sorting.
            let by_person: Vec<Expr> = pos_names
                .iter()
                .map(|p| col(p.as_str()))
                .chain(std::iter::once(col(columns::PERSON)))
                .collect();
            let mut person_aggs = vec![sum_of("__times")];
            person_aggs.extend(sums.iter().map(|f| sum_of(f)));
            let lf = lf.group_by(by_person).agg(person_aggs);
            (lf, col(columns::PERSON).is_not_null().sum())
        } else {
            (lf, col(columns::PERSON).drop_nulls().n_unique())
        };
        let mut aggs = vec![
            persons_of_cell.cast(DataType::Int64).alias("__persons"),
            sum_of("__times"),
        ];
        for f in &sums {
            aggs.push(sum_of(f));
            if p_sums {
                aggs.push(col(*f).max().alias(format!("__x1_{f}")));
                aggs.push(
                    col(*f)
                        .sort(SortOptions::default().with_order_descending(true))
                        .slice(lit(1), lit(1))
                        .first()
                        .alias(format!("__x2_{f}")),
                );
                if let Some(n) = dominance_n {
                    aggs.push(
                        col(*f)
                            .sort(SortOptions::default().with_order_descending(true))
                            .head(Some(n as usize))
                            .sum()
                            .cast(DataType::Int64)
                            .alias(format!("__xn_{f}")),
                    );
                }
            }
        }
        let agg = aggregate(lf, &pos_names, aggs)?;
        let cells = cell_indices(&table, &agg, &pos_names, &levels)?;
        let persons_col = agg.column("__persons")?.i64()?.clone();
        let times_col = agg.column("__times")?.i64()?.clone();
        for (i, &cell) in cells.iter().enumerate() {
            let p = persons_col.get(i).unwrap_or(0);
            persons[cell] = p;
            for (m, measure) in spec.measures.iter().enumerate() {
                values[m][cell] = match measure {
                    Measure::Persons => p,
                    Measure::PersonTimes => times_col.get(i).unwrap_or(0),
                    Measure::Sum { field: f, .. } => {
                        agg.column(f.as_str())?.i64()?.get(i).unwrap_or(0)
                    }
                    Measure::Distinct { .. } => continue,
                };
            }
        }
        for (m, measure) in spec.measures.iter().enumerate() {
            let (Some(top), Measure::Sum { field: f, .. }) = (&mut largest[m], measure) else {
                continue;
            };
            let x1 = agg.column(&format!("__x1_{f}"))?.i64()?;
            let x2 = agg.column(&format!("__x2_{f}"))?.i64()?;
            let xn = match dominance_n {
                Some(_) => Some(agg.column(&format!("__xn_{f}"))?.i64()?.clone()),
                None => None,
            };
            for (i, &cell) in cells.iter().enumerate() {
                let top_n = xn.as_ref().and_then(|x| x.get(i)).unwrap_or(0);
                top[cell] = [x1.get(i).unwrap_or(0), x2.get(i).unwrap_or(0), top_n];
            }
        }
        for (m, keys) in distinct_keys.iter().enumerate() {
            let Some(frame) = &distinct_frames[m] else {
                continue;
            };
            // Distinct (cell, value) pairs at these levels, then how many per cell.
            let (lf, pos_names) = map_levels(frame.clone().lazy(), &table.axes, &levels)?;
            let lf = distinct_rows(lf, &pos_names, keys);
            let agg = aggregate(
                lf,
                &pos_names,
                vec![len().cast(DataType::Int64).alias("__distinct")],
            )?;
            let cells = cell_indices(&table, &agg, &pos_names, &levels)?;
            let col_ = agg.column("__distinct")?.i64()?.clone();
            for (i, &cell) in cells.iter().enumerate() {
                values[m][cell] = col_.get(i).unwrap_or(0);
            }
        }
    }
    table.values = values;
    table.persons = persons;
    table.largest = largest;
    Ok(table)
}

/// The distinct rows of `cells` and `keys` together: each (cell, value) pair of a distinct measure
/// once.
fn distinct_rows(lf: LazyFrame, cells: &[String], keys: &[String]) -> LazyFrame {
    lf.select(
        cells
            .iter()
            .chain(keys)
            .map(|n| col(n.as_str()))
            .collect::<Vec<_>>(),
    )
    .unique(None, UniqueKeepStrategy::Any)
}

/// The (cell, person) pair as one `u64`, codes of each dimension in mixed radix above the person's
/// 32 bits, when every dimension is a column of non-null `u32` codes below its size and the cells
/// fit in 32 bits: one integer key hashes far faster than several.
fn packed_key(frame: &DataFrame, dims: &[String], sizes: &[usize]) -> Option<Expr> {
    let cells = sizes
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(u64::try_from(n).ok()?))?;
    if cells > u64::from(u32::MAX) {
        return None;
    }
    // `bound` None for the person, whose index has no bound but its type.
    let fits = |name: &str, bound: Option<usize>| {
        frame.column(name).ok().is_some_and(|c| {
            c.dtype() == &DataType::UInt32
                && c.null_count() == 0
                && bound.is_none_or(|n| {
                    c.u32()
                        .ok()
                        .and_then(|ca| ca.max())
                        .is_none_or(|m| (m as usize) < n)
                })
        })
    };
    let all_fit =
        dims.iter().zip(sizes).all(|(d, &n)| fits(d, Some(n))) && fits(columns::PERSON, None);
    if !all_fit {
        return None;
    }
    let cell = dims.iter().zip(sizes).fold(lit(0u64), |acc, (d, &n)| {
        acc * lit(n as u64) + col(d.as_str()).cast(DataType::UInt64)
    });
    Some(cell * lit(1u64 << 32) + col(columns::PERSON).cast(DataType::UInt64))
}

/// Groups rows by their packed (cell, person) key and unpacks it into the dimension and person
/// columns, in the order a group-by on those columns gives.
fn by_packed_key(
    lf: LazyFrame,
    key: Expr,
    dims: &[String],
    sizes: &[usize],
    aggs: Vec<Expr>,
) -> PolarsResult<DataFrame> {
    let k = || col("__key");
    // Codes from the last dimension up: each sits above the product of the sizes after it.
    let mut below = 1u64 << 32;
    let mut unpacked: Vec<Expr> = dims
        .iter()
        .zip(sizes)
        .rev()
        .map(|(d, &n)| {
            let n = n as u64;
            let code = ((k() / lit(below)) % lit(n))
                .cast(DataType::UInt32)
                .alias(d.as_str());
            below *= n;
            code
        })
        .collect();
    unpacked.reverse();
    unpacked.push(
        (k() % lit(1u64 << 32))
            .cast(DataType::UInt32)
            .alias(columns::PERSON),
    );
    let mut grouped = lf.group_by([key.alias("__key")]).agg(aggs);
    // Then the aggregates, under the names they were given.
    let schema = grouped.collect_schema()?;
    unpacked.extend(
        schema
            .iter_names()
            .filter(|n| n.as_str() != "__key")
            .map(|n| col(n.clone())),
    );
    Ok(grouped
        .select(unpacked)
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single())
}

/// The population a table counts: its source and period.
#[must_use]
pub fn population_key(
    source: &str,
    period: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> String {
    match period {
        Some((start, end)) => format!("{source}|{start}..{end}"),
        None => format!("{source}|all"),
    }
}

/// For each dimension of `dims`, whether no value of the `keys` together (none of them null)
/// appears under two of its codes in `frame` (a missing code counting as one more code).
fn one_code_per_key(
    frame: &DataFrame,
    keys: &[String],
    dims: &[String],
) -> PolarsResult<Vec<bool>> {
    if dims.is_empty() {
        return Ok(Vec::new());
    }
    let u32_column = |name: &str| {
        frame
            .column(name)
            .is_ok_and(|c| c.dtype() == &DataType::UInt32)
    };
    if let [key] = keys
        && u32_column(key)
        && dims.iter().all(|d| u32_column(d))
    {
        // One key of `u32` codes (a person): distinct keys against distinct (key, code) pairs,
        // each pair packed into one integer, so no group-by over millions of persons is needed.
        let present = col(key.as_str()).is_not_null();
        let key = || col(key.as_str()).cast(DataType::UInt64);
        let mut counts = vec![
            key()
                .filter(present.clone())
                .n_unique()
                .cast(DataType::Int64)
                .alias("__keys"),
        ];
        counts.extend(dims.iter().enumerate().map(|(i, d)| {
            let code = col(d.as_str())
                .fill_null(lit(u32::MAX))
                .cast(DataType::UInt64);
            (key() * lit(1u64 << 32) + code)
                .filter(present.clone())
                .n_unique()
                .cast(DataType::Int64)
                .alias(format!("__pairs{i}"))
        }));
        let counted = frame.clone().lazy().select(counts).collect()?;
        let count = |name: &str| -> PolarsResult<i64> {
            Ok(counted.column(name)?.i64()?.get(0).unwrap_or(0))
        };
        let persons = count("__keys")?;
        return (0..dims.len())
            .map(|i| Ok(count(&format!("__pairs{i}"))? <= persons))
            .collect();
    }
    let not_null = keys
        .iter()
        .map(|k| col(k.as_str()).is_not_null())
        .reduce(Expr::and)
        .unwrap_or_else(|| lit(true));
    // Otherwise one group-by over the keys, counting each dimension's distinct codes per key.
    let most = frame
        .clone()
        .lazy()
        .filter(not_null)
        .group_by(keys.iter().map(|k| col(k.as_str())).collect::<Vec<_>>())
        .agg(
            dims.iter()
                .enumerate()
                .map(|(i, d)| col(d.as_str()).n_unique().alias(format!("__codes{i}")))
                .collect::<Vec<_>>(),
        )
        .select(
            (0..dims.len())
                .map(|i| col(format!("__codes{i}")).max().cast(DataType::Int64))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    (0..dims.len())
        .map(|i| {
            Ok(most
                .column(&format!("__codes{i}"))?
                .i64()?
                .get(0)
                .unwrap_or(0)
                <= 1)
        })
        .collect()
}

/// Every combination of levels to aggregate at: leaves only without margins; otherwise each axis at
/// leaf, group (if it has groups) and total.
pub fn level_combinations(axes: &[Axis]) -> Vec<Vec<Level>> {
    let mut combos: Vec<Vec<Level>> = vec![Vec::new()];
    for axis in axes {
        let mut options = vec![Level::Leaf];
        if axis.cells.iter().any(|c| c.level == Level::Group) {
            options.push(Level::Group);
        }
        if axis.cells.iter().any(|c| c.level == Level::Total) {
            options.push(Level::Total);
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                options.iter().map(move |&l| {
                    let mut next = c.clone();
                    next.push(l);
                    next
                })
            })
            .collect();
    }
    combos
}

/// Adds a `__pos{i}` column per non-total axis holding the axis position at the chosen level; rows
/// whose leaf belongs to no group are dropped at the group level.
fn map_levels(
    mut lf: LazyFrame,
    axes: &[Axis],
    levels: &[Level],
) -> PolarsResult<(LazyFrame, Vec<String>)> {
    let mut pos_names = Vec::new();
    for (i, (axis, level)) in axes.iter().zip(levels).enumerate() {
        let pos = format!("__pos{i}");
        match level {
            Level::Leaf => lf = lf.with_column(col(axis.name.as_str()).alias(pos.as_str())),
            Level::Group => {
                let (leaves, groups): (Vec<u32>, Vec<u32>) = axis
                    .group_of
                    .iter()
                    .zip(0u32..)
                    .filter_map(|(g, leaf)| g.map(|g| (leaf, g)))
                    .unzip();
                let map = DataFrame::new_infer_height(vec![
                    Series::new(axis.name.as_str().into(), leaves).into(),
                    Series::new(pos.as_str().into(), groups).into(),
                ])?;
                lf = lf.join(
                    map.lazy(),
                    [col(axis.name.as_str())],
                    [col(axis.name.as_str())],
                    JoinArgs::new(JoinType::Inner),
                );
            }
            Level::Total => continue,
        }
        pos_names.push(pos);
    }
    Ok((lf, pos_names))
}

fn aggregate(lf: LazyFrame, pos_names: &[String], aggs: Vec<Expr>) -> PolarsResult<DataFrame> {
    if pos_names.is_empty() {
        lf.select(aggs).collect()
    } else {
        lf.group_by(
            pos_names
                .iter()
                .map(|p| col(p.as_str()))
                .collect::<Vec<_>>(),
        )
        .agg(aggs)
        .collect()
    }
}

/// Cell index of each aggregated row.
fn cell_indices(
    table: &Table,
    agg: &DataFrame,
    pos_names: &[String],
    levels: &[Level],
) -> PolarsResult<Vec<usize>> {
    let pos_cols: Vec<UInt32Chunked> = pos_names
        .iter()
        .map(|p| agg.column(p.as_str()).and_then(|c| c.u32().cloned()))
        .collect::<PolarsResult<_>>()?;
    let mut out = Vec::with_capacity(agg.height());
    for row in 0..agg.height() {
        let mut next = pos_cols.iter();
        let positions: Vec<usize> = table
            .axes
            .iter()
            .zip(levels)
            .map(|(axis, level)| match level {
                Level::Total => axis.cells.len() - 1,
                Level::Leaf | Level::Group => next
                    .next()
                    .and_then(|c| c.get(row))
                    .map_or(0, |p| p as usize),
            })
            .collect();
        out.push(table.index(&positions));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
