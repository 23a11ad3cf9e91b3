//! Differential privacy: the protection of `method = "dp"`.
//!
//! # Privacy
//! - **Unit**: a person (the pseudonym). Tabulation bounds each person's contribution to each table
//!   ([`crate::tabulate::bound`]): one code of each dimension declared one per person, at most
//!   `max_cells_per_person` leaf cells and at most `max_records_per_cell` records in each, every
//!   choice a keyed priority of the person's pseudonym and public codes alone, so that no person's
//!   kept records depend on anyone else's. Rows without a usable person key never reach this stage
//!   (ingest quarantines them).
//! - **Sensitivity** ([`sensitivity`]): from the bounds and the declarations, over every published
//!   cell of a table, margins included. Nothing about the data (not even whether a dimension holds
//!   one code per person) enters a DP release except through noise.
//! - **Mechanism** ([`mechanism`]): OpenDP's discrete Laplace (ε-DP) or discrete Gaussian (ρ-zCDP)
//!   on the `i64` vector of each table measure. The release's budget is split across tables by
//!   weight and equally across a table's measures; each scale is the smallest that OpenDP's privacy
//!   map accepts, and the losses are composed with OpenDP. A `moe95` target is refused when it
//!   would cost more than `max_loss`.
//! - **Budget** ([`ledger`]): the composed loss is charged to the dataset's lifetime cap, and
//!   committed to disk, before any noise is drawn.
//! - **Post-processing** ([`post`]): least squares ([`consistency`]), TopDown projection onto the
//!   relations the truth keeps ([`project`]), integers; low noisy counts may be flagged. None of it
//!   looks at a true count, so none of it costs privacy.
//!
//! `seeds` (tests) checks the guarantee on the seed pipelines the way the definition reads.

mod bounding;
pub mod consistency;
pub mod ledger;
pub mod mechanism;
pub mod post;
pub mod project;
pub mod sensitivity;
mod study;

use bounding::estimate_bounding_loss;
pub use bounding::{bounding, bounding_seed};
pub use post::{MOE95_TEXT, POST_PROCESSING_TEXT};
pub use study::ErrorRow;

use serde::Serialize;

use crate::attacker::CellStatus;
use crate::config::Plan;
use crate::config::plan::{Dp, DpBudget, DpCap, Measure};
use crate::config::raw::{LowCounts, Mechanism};
use crate::protect::{Protected, ProtectedTable, Summary};
use crate::tabulate::Table;
pub use mechanism::OpenDpError;
pub use sensitivity::Sensitivity;

/// How one table measure is released.
#[derive(Debug, Clone, Serialize)]
pub struct MeasurePlan {
    pub measure: String,
    pub sensitivity: Sensitivity,
    /// The noise scale (Laplace `b`; Gaussian σ).
    pub scale: f64,
    /// The loss by OpenDP's map: ε for Laplace, ρ for Gaussian.
    pub loss: f64,
    /// OpenDP's 95 % accuracy of one noisy cell before post-processing, rounded down.
    pub moe95_of_a_measurement: i64,
}

/// How one table is released.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    pub table: String,
    pub weight: f64,
    pub max_cells_per_person: u32,
    pub max_records_per_cell: u32,
    pub measures: Vec<MeasurePlan>,
    /// The noisy estimate of what bounding removed from the table, when the pipeline spends on
    /// it: `persons_cut` (persons who lost a record, sensitivity 1) and `records_removed` (records
    /// removed, each person's counted up to `removed_cap_per_person`, sensitivity that cap).
    pub bounding_loss: Vec<MeasurePlan>,
    /// `max_cells_per_person × max_records_per_cell`: the most records of one person counted in
    /// `records_removed`.
    pub removed_cap_per_person: u64,
}

/// The noisy estimate of what contribution bounding removed from one table.
#[derive(Debug, Clone, Serialize)]
pub struct BoundingLoss {
    pub table: String,
    /// Persons who lost at least one record to the bounds (noisy, at least 0).
    pub persons_cut: i64,
    pub persons_cut_moe95: i64,
    /// Records the bounds removed, each person's counted up to `removed_cap_per_person` (noisy,
    /// at least 0): a lower bound of how far the table's person-times fall short of the export's.
    pub records_removed: i64,
    pub records_removed_moe95: i64,
    pub removed_cap_per_person: u64,
}

/// The accounted plan of a DP release: everything but the noise. Safe to print: it holds no count.
#[derive(Debug, Clone, Serialize)]
pub struct DpPlan {
    pub mechanism: Mechanism,
    /// `"epsilon"` (pure DP) or `"rho"` (zCDP): the unit of `loss`.
    pub loss_measure: &'static str,
    pub budget: String,
    /// All measurements of the release composed by OpenDP.
    pub loss: f64,
    pub dataset: String,
    pub cap: DpCap,
    /// What the release costs the dataset's cap, in the cap's unit.
    pub charged: f64,
    pub low_counts: LowCounts,
    pub low_count_threshold: u32,
    pub tables: Vec<TablePlan>,
}

/// What the manifest says about a DP release.
#[derive(Debug, Clone, Serialize)]
pub struct DpReport {
    #[serde(flatten)]
    pub plan: DpPlan,
    /// Per table, the noisy estimate of what bounding removed (empty when
    /// `bounding_loss_share = 0`).
    pub bounding_loss: Vec<BoundingLoss>,
    pub ledger_entry: Option<String>,
    pub moe95: &'static str,
    pub post_processing: &'static str,
    pub noise_source: &'static str,
}

/// A DP release ready to draw: bounded tables and their plan.
pub struct Prepared {
    /// Bounded true counts. They never leave this module except as noisy values.
    tables: Vec<Table>,
    pub plan: DpPlan,
}

/// Cells (every measure's margins included) from which a four-dimensional table's consistency
/// step is said to be slow: a 1 350-cell table took about 30 s on 2 cores.
pub const LARGE_PROJECTION_CELLS: usize = 1_000;

/// DP failures.
#[derive(Debug, thiserror::Error)]
pub enum DpError {
    #[error("differential privacy: {0}")]
    OpenDp(#[from] OpenDpError),
    #[error(
        "the release would lose {loss:.6} but its budget is {budget}; this is a bug in privstat, please report it"
    )]
    OverBudget { loss: f64, budget: String },
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error(
        "moe95 = {moe95} costs {unit} = {loss:.4} per release, above the ceiling max_loss = {ceiling}\n  hint: ask for a wider margin of error, or raise `max_loss` in [protection] knowingly: every release of the dataset spends this much of its lifetime cap"
    )]
    TargetTooCostly {
        moe95: f64,
        loss: f64,
        unit: &'static str,
        ceiling: f64,
    },
    #[error(
        "method = \"dp\" needs a ledger to account the spend\n  hint: add `ledger = \"…\"` to [protection], or pass --ledger PATH"
    )]
    NoLedger,
}

/// Computes sensitivities, calibrates scales and composes the loss. Draws nothing.
///
/// # Errors
/// [`DpError`] when OpenDP refuses a parameter.
pub fn prepare(tables: Vec<Table>, plan: &Plan) -> Result<Prepared, DpError> {
    let dp = plan
        .protection
        .dp
        .as_ref()
        .ok_or_else(|| OpenDpError("the pipeline is not a DP pipeline".into()))?;
    let total_weight: f64 = dp.tables.iter().map(|t| t.weight).sum();
    let share = dp.bounding_loss_share;
    let mut table_plans = Vec::with_capacity(tables.len());
    let mut losses = Vec::new();
    let mut rho_losses = Vec::new();
    for (table, bounds) in tables.iter().zip(&dp.tables) {
        let mut measures = Vec::with_capacity(table.measures.len());
        #[allow(clippy::cast_precision_loss, reason = "a handful of measures")]
        let per_measure =
            bounds.weight / total_weight / table.measures.len() as f64 * (1.0 - share);
        for measure in &table.measures {
            let sensitivity = sensitivity::of(
                table,
                measure,
                bounds.max_cells_per_person,
                bounds.max_records_per_cell,
            );
            let scale = match dp.budget {
                // A hair under the share, so that the composed loss (which OpenDP rounds up at
                // every addition) stays within the release's budget.
                DpBudget::Epsilon(b) | DpBudget::Rho(b) => {
                    mechanism::calibrate(dp.mechanism, sensitivity, b * per_measure * (1.0 - 1e-9))?
                }
                DpBudget::Moe95(m) => mechanism::scale_for_moe(dp.mechanism, m)?,
            };
            let loss = mechanism::loss(dp.mechanism, scale, sensitivity)?;
            losses.push(loss);
            rho_losses.push(mechanism::loss_rho(dp.mechanism, scale, sensitivity)?);
            let moe = post::moe_of_estimate(dp.mechanism, scale, 1.0, 1.0, 0)?;
            measures.push(MeasurePlan {
                measure: measure.name(),
                sensitivity,
                scale,
                loss,
                moe95_of_a_measurement: moe,
            });
        }
        table_plans.push(TablePlan {
            table: table.name.clone(),
            weight: bounds.weight,
            max_cells_per_person: bounds.max_cells_per_person,
            max_records_per_cell: bounds.max_records_per_cell,
            measures,
            bounding_loss: Vec::new(),
            removed_cap_per_person: u64::from(bounds.max_cells_per_person)
                * u64::from(bounds.max_records_per_cell),
        });
    }
    if share > 0.0 {
        // Two counts per table share `share` of the release; with a moe95 target, `share` of
        // what the tables' target costs in all.
        #[allow(clippy::cast_precision_loss, reason = "a handful of tables")]
        let counts = 2.0 * table_plans.len() as f64;
        let each = match dp.budget {
            DpBudget::Epsilon(b) | DpBudget::Rho(b) => b * share / counts,
            DpBudget::Moe95(_) => {
                let tables_loss = mechanism::compose(dp.mechanism, losses.clone(), false)?;
                tables_loss * share / (1.0 - share) / counts
            }
        };
        for tp in &mut table_plans {
            let cap = i64::try_from(tp.removed_cap_per_person).unwrap_or(i64::MAX);
            for (name, l1) in [("persons_cut", 1), ("records_removed", cap)] {
                let sensitivity = Sensitivity {
                    l1,
                    l2_squared: l1.saturating_mul(l1),
                };
                let scale = mechanism::calibrate(dp.mechanism, sensitivity, each * (1.0 - 1e-9))?;
                let loss = mechanism::loss(dp.mechanism, scale, sensitivity)?;
                losses.push(loss);
                rho_losses.push(mechanism::loss_rho(dp.mechanism, scale, sensitivity)?);
                tp.bounding_loss.push(MeasurePlan {
                    measure: name.to_owned(),
                    sensitivity,
                    scale,
                    loss,
                    moe95_of_a_measurement: post::moe_of_estimate(
                        dp.mechanism,
                        scale,
                        1.0,
                        1.0,
                        0,
                    )?,
                });
            }
        }
    }
    let loss = mechanism::compose(dp.mechanism, losses, false)?;
    let charged = match dp.cap {
        DpCap::Epsilon(_) => loss,
        DpCap::Rho(_) => mechanism::compose(dp.mechanism, rho_losses, true)?,
    };
    let budget = match dp.budget {
        DpBudget::Epsilon(e) => Some((e, format!("ε = {e}"))),
        DpBudget::Rho(r) => Some((r, format!("ρ = {r}"))),
        DpBudget::Moe95(_) => None,
    };
    if let DpBudget::Moe95(m) = dp.budget
        && loss > dp.max_loss
    {
        return Err(DpError::TargetTooCostly {
            moe95: m,
            loss,
            unit: loss_unit(dp.mechanism),
            ceiling: dp.max_loss,
        });
    }
    if let Some((b, text)) = &budget
        && loss > *b
    {
        return Err(DpError::OverBudget {
            loss,
            budget: text.clone(),
        });
    }
    Ok(Prepared {
        tables,
        plan: DpPlan {
            mechanism: dp.mechanism,
            loss_measure: loss_unit(dp.mechanism),
            budget: match dp.budget {
                DpBudget::Moe95(m) => format!("moe95 = {m} per cell"),
                _ => budget.map(|(_, t)| t).unwrap_or_default(),
            },
            loss,
            dataset: dp.dataset.clone(),
            cap: dp.cap,
            charged,
            low_counts: dp.low_counts,
            low_count_threshold: plan.protection.threshold.get(),
            tables: table_plans,
        },
    })
}

/// Per measure of a published table, the leaf cells whose margin of error exceeds their value,
/// when there are any: a statistician should know where noise dominates. Computed from published
/// values and margins alone.
fn noise_dominated_text(table: &Table, moe95: &[Vec<i64>]) -> Option<String> {
    let parts = dominated_leaves(table, moe95);
    let margins = grand_total(table).is_some();
    (!parts.is_empty()).then(|| {
        format!(
            "table {}: noise dominates {} (moe95 above the published value); {}",
            table.name,
            parts.join(" and "),
            if margins {
                "their margins are far more precise"
            } else {
                "the table publishes no margins, which would be far more precise"
            }
        )
    })
}

/// Per measure of `table`, `N of M <measure> leaf cells` whose margin of error `moe95` exceeds
/// their value, for the measures that have any.
fn dominated_leaves(table: &Table, moe95: &[Vec<i64>]) -> Vec<String> {
    let leaves: Vec<usize> = (0..table.len()).filter(|&c| table.is_leaf(c)).collect();
    table
        .measures
        .iter()
        .zip(&table.values)
        .zip(moe95)
        .filter_map(|((m, values), moe)| {
            let noisy = leaves.iter().filter(|&&c| moe[c] > values[c]).count();
            (noisy > 0).then(|| format!("{noisy} of {} {} leaf cells", leaves.len(), m.name()))
        })
        .collect()
}

/// The name of the mechanism's loss: ε for Laplace (pure DP), ρ for Gaussian (zCDP).
fn loss_unit(mechanism: Mechanism) -> &'static str {
    match mechanism {
        Mechanism::Laplace => "epsilon",
        Mechanism::Gaussian => "rho",
    }
}

impl Prepared {
    /// The bounded tables' contribution-bounding reports (for the operator only).
    pub fn bounding(
        &self,
    ) -> impl Iterator<Item = (&str, Option<&crate::tabulate::BoundingReport>)> {
        self.tables
            .iter()
            .map(|t| (t.name.as_str(), t.bounding.as_ref()))
    }

    /// A warning per table whose consistent estimate is a large constrained problem: four
    /// dimensions and at least [`LARGE_PROJECTION_CELLS`] cells. Said by `check` and by `run`
    /// before any noise is drawn.
    #[must_use]
    pub fn slow_projections(&self) -> Vec<String> {
        self.tables
            .iter()
            .filter(|t| t.axes.len() >= 4 && t.len() >= LARGE_PROJECTION_CELLS)
            .map(|t| {
                format!(
                    "table {}: {} cells in {} dimensions: making its noisy values consistent \
                     solves one constrained least-squares problem per level over all of them, which \
                     grows fast with a fourth dimension (on 2 cores a 1 350-cell table took about \
                     30 s, a 5 400-cell one over 12 minutes); fewer codes or three dimensions are \
                     much faster",
                    t.name,
                    t.len(),
                    t.axes.len()
                )
            })
            .collect()
    }

    /// Per table, the leaf cells whose bounded count is below the margin of error their reconciled
    /// estimate will have: where noise will dominate at this budget, said by `check` before
    /// anything is spent. Read from the true counts, so for the operator's eyes only (a release
    /// says the same from its noisy values).
    #[must_use]
    pub fn noise_forecast(&self) -> Vec<String> {
        self.tables
            .iter()
            .zip(&self.plan.tables)
            .filter_map(|(table, tp)| {
                // The margin of error each cell's reconciled estimate will have; one that is no
                // finite count marks nothing, as before any noise is drawn nothing can say more.
                let moe95: Vec<Vec<i64>> = tp
                    .measures
                    .iter()
                    .enumerate()
                    .map(|(m, plan)| {
                        let fit = consistency::fit(
                            &vec![0; table.len()],
                            &post::axis_models(table, m),
                        );
                        (0..table.len())
                            .map(|c| {
                                post::moe_of_estimate(
                                    self.plan.mechanism,
                                    plan.scale,
                                    fit.relative_variance[c],
                                    fit.kurtosis_share[c],
                                    table.axes.len(),
                                )
                                .unwrap_or(i64::MIN)
                            })
                            .collect()
                    })
                    .collect();
                let parts = dominated_leaves(table, &moe95);
                (!parts.is_empty()).then(|| {
                    format!(
                        "table {}: at this budget noise will dominate {} (their bounded count below \
                         the margin of error they will have; counted on the data, for the operator \
                         only)",
                        table.name,
                        parts.join(" and ")
                    )
                })
            })
            .collect()
    }

    /// Draws the noise and post-processes it: the published tables, and what the manifest says
    /// about the release. Call only after the spend is committed.
    ///
    /// # Errors
    /// [`DpError`] when OpenDP fails.
    pub fn release(
        self,
        plan: &Plan,
        ledger_entry: Option<String>,
    ) -> Result<(Protected, DpReport), DpError> {
        let Self {
            tables,
            plan: dp_plan,
        } = self;
        let k = i64::from(dp_plan.low_count_threshold);
        let noisy = draw(&tables, &dp_plan)?;
        let bounding_loss = estimate_bounding_loss(&tables, &dp_plan)?;
        let published = post_process_all(&tables, &noisy, &dp_plan, &populations(&tables, plan))?;
        drop(noisy);
        let mut out = Vec::with_capacity(tables.len());
        let mut summary = Summary::default();
        let mut noise_dominated = Vec::new();
        for (mut table, published) in tables.into_iter().zip(published) {
            let mut moe95 = Vec::with_capacity(published.len());
            for (m, out) in published.into_iter().enumerate() {
                table.values[m] = out.values;
                moe95.push(out.moe95);
            }
            let basis = table
                .measures
                .iter()
                .position(|m| *m == Measure::Persons)
                .unwrap_or(0);
            table.persons = table.values[basis].clone();
            table.rows_in_scope = 0;
            table.bounding = None;
            let status: Vec<CellStatus> = table.values[basis]
                .iter()
                .map(|&v| match dp_plan.low_counts {
                    LowCounts::Flag if v > 0 && v < k => CellStatus::LowNoisyCount,
                    _ => CellStatus::Published,
                })
                .collect();
            noise_dominated.push(noise_dominated_text(&table, &moe95));
            summary.cells += table.len();
            out.push(ProtectedTable {
                table,
                status,
                moe95: Some(moe95),
            });
        }
        let mut warnings = vec![
            "exact counts of rows, quarantined values and identifiers are not published with \
             differential privacy; they are in the operator's output and the quarantine report only"
                .to_owned(),
        ];
        warnings.extend(noise_dominated.into_iter().flatten());
        if out.len() > 1 {
            warnings.push(
                "each table carries its own noise: the persons grand total is the same in every \
                 table of one population (estimated from all of them), but another cell published \
                 by two tables (a shared margin) may differ between them"
                    .to_owned(),
            );
        }
        let protected = Protected {
            tables: out,
            protection: plan.protection.clone(),
            system: None,
            verdicts: Vec::new(),
            summary,
            warnings,
            dominated: Vec::new(),
        };
        let report = DpReport {
            plan: dp_plan,
            bounding_loss,
            ledger_entry,
            moe95: MOE95_TEXT,
            post_processing: POST_PROCESSING_TEXT,
            noise_source: "OpenDP 0.16 discrete samplers (make_laplace / make_gaussian on i64 \
                           vectors), OpenSSL randomness",
        };
        Ok((protected, report))
    }
}

/// Draws the noisy cells of every measure of every table, table by table.
fn draw(tables: &[Table], plan: &DpPlan) -> Result<Vec<Vec<Vec<i64>>>, OpenDpError> {
    tables
        .iter()
        .zip(&plan.tables)
        .map(|(table, tp)| {
            table
                .values
                .iter()
                .zip(&tp.measures)
                .map(|(truth, mp)| mechanism::release(plan.mechanism, mp.scale, truth))
                .collect()
        })
        .collect()
}

/// Per table, the population it counts (source and period), from the pipeline alone.
fn populations(tables: &[Table], plan: &Plan) -> Vec<String> {
    tables.iter().map(|t| t.population(plan)).collect()
}

/// The cell of `table` at the total of every axis, when every axis has one.
fn grand_total(table: &Table) -> Option<usize> {
    let positions: Option<Vec<usize>> = table
        .axes
        .iter()
        .map(|a| {
            a.cells
                .iter()
                .position(|c| c.level == crate::tabulate::Level::Total)
        })
        .collect();
    positions.map(|p| table.index(&p))
}

/// Post-processes the noisy cells of every table of a release. Tables of one population that
/// publish persons and their grand total share it: every person of the population counts in each
/// of them (bounding keeps at least one cell of each person), so the true totals are equal, and
/// the published ones are made equal too — the minimum-variance combination of each table's
/// least-squares estimate, rounded, held by each table's consistency as its coarsest cell. Reads
/// nothing but noisy values and the pipeline.
///
/// # Errors
/// As [`post::post_process`].
fn post_process_all(
    tables: &[Table],
    noisy: &[Vec<Vec<i64>>],
    plan: &DpPlan,
    populations: &[String],
) -> Result<Vec<Vec<post::Published>>, OpenDpError> {
    let persons = |t: &Table| t.measures.iter().position(|m| *m == Measure::Persons);
    let shared: Vec<Option<(usize, usize)>> = tables
        .iter()
        .map(|t| persons(t).zip(grand_total(t)))
        .collect();
    let mut pins: Vec<Option<post::Pin>> = vec![None; tables.len()];
    for (i, population) in populations.iter().enumerate() {
        let group: Vec<usize> = (0..tables.len())
            .filter(|&j| populations[j] == *population && shared[j].is_some())
            .collect();
        if group.len() < 2 || group[0] != i {
            continue;
        }
        let estimates: Vec<post::Estimate> = group
            .iter()
            .filter_map(|&j| {
                let (m, cell) = shared[j]?;
                Some(post::estimate(
                    &tables[j],
                    &noisy[j][m],
                    m,
                    cell,
                    plan.mechanism,
                    plan.tables[j].measures[m].scale,
                ))
            })
            .collect();
        let combined = post::combine(&estimates);
        for &j in &group {
            if let Some((measure, cell)) = shared[j] {
                pins[j] = Some(post::Pin {
                    measure,
                    cell,
                    value: combined.value.round().max(0.0),
                    variance: combined.variance,
                    kurtosis_share: combined.kurtosis_share,
                });
            }
        }
    }
    tables
        .iter()
        .zip(&plan.tables)
        .zip(noisy)
        .zip(pins)
        .map(|(((table, tp), noisy), pin)| {
            let scales: Vec<f64> = tp.measures.iter().map(|mp| mp.scale).collect();
            post::post_process(table, noisy, plan.mechanism, &scales, pin)
        })
        .collect()
}

#[cfg(test)]
mod seeds;
#[cfg(test)]
mod tests;
