//! Post-processing of one table's noisy measures into what is published: least squares
//! ([`consistency::fit`]), the projection onto the relations the truth keeps ([`project`]),
//! integers from the top down ([`consistency::integers`]) with the person relations kept
//! ([`consistency::keep_relations`], [`consistency::cover_persons`]), and each cell's 95 % margin
//! of error; a cell estimated outside its table (a persons grand total shared by several tables,
//! [`combine`]) enters as a [`Pin`]. It reads nothing but noisy values and public structure, so
//! it costs no privacy.

use super::consistency::{self, AxisModel, Node};
use super::mechanism::{self, OpenDpError};
use super::project::{self, MeasureInput};
use crate::config::plan::Measure;
use crate::config::raw::Mechanism;
use crate::tabulate::{Level, Table};

/// One published measure.
#[derive(Debug, Clone)]
pub struct Published {
    pub values: Vec<i64>,
    pub moe95: Vec<i64>,
}

/// The axes of measure `measure` of `table` as post-processing sees them.
#[must_use]
pub fn axis_models(table: &Table, measure: usize) -> Vec<AxisModel> {
    table
        .axes
        .iter()
        .enumerate()
        .map(|(a, axis)| {
            let nodes: Vec<Node> = axis
                .cells
                .iter()
                .map(|c| match c.level {
                    Level::Leaf => Node::Leaf,
                    Level::Group => Node::Group,
                    Level::Total => Node::Total,
                })
                .collect();
            let has_margins = nodes.contains(&Node::Total);
            if !has_margins {
                AxisModel::standalone(nodes.len())
            } else if table.additive[measure][a] {
                AxisModel::additive(&nodes, &axis.group_of)
            } else {
                AxisModel::separate(&nodes, &axis.group_of)
            }
        })
        .collect()
}

/// Variance of one draw of the mechanism's noise at `scale` (discrete Laplace exactly; the discrete
/// Gaussian's is σ² to far better than a unit at the scales used).
#[must_use]
pub fn noise_variance(mechanism: Mechanism, scale: f64) -> f64 {
    match mechanism {
        Mechanism::Laplace => {
            let p = (-1.0 / scale).exp();
            2.0 * p / (1.0 - p).powi(2)
        }
        Mechanism::Gaussian => scale * scale,
    }
}

/// A cell whose estimate was decided outside its table: the persons grand total of a population,
/// estimated from every table that publishes it ([`combine`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pin {
    pub measure: usize,
    pub cell: usize,
    /// The combined estimate, real-valued.
    pub value: f64,
    /// Its variance, in counts squared.
    pub variance: f64,
    /// The share of one measurement's excess kurtosis it keeps (see [`consistency::Fit`]).
    pub kurtosis_share: f64,
}

/// One table's least-squares estimate of a cell: value, variance (counts squared) and kurtosis
/// share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub variance: f64,
    pub kurtosis_share: f64,
}

/// The minimum-variance combination of independent unbiased estimates of one count: weights in
/// inverse proportion to their variances. Its kurtosis share is that of the weighted sum of the
/// noises behind it, `Σ aᵢ⁴ kᵢ vᵢ² / (Σ aᵢ² vᵢ)²`.
#[must_use]
pub fn combine(estimates: &[Estimate]) -> Estimate {
    let precision: f64 = estimates.iter().map(|e| 1.0 / e.variance).sum();
    let weights: Vec<f64> = estimates
        .iter()
        .map(|e| 1.0 / e.variance / precision)
        .collect();
    let value = estimates
        .iter()
        .zip(&weights)
        .map(|(e, a)| a * e.value)
        .sum();
    let variance: f64 = estimates
        .iter()
        .zip(&weights)
        .map(|(e, a)| a * a * e.variance)
        .sum();
    let fourth: f64 = estimates
        .iter()
        .zip(&weights)
        .map(|(e, a)| a.powi(4) * e.kurtosis_share * e.variance * e.variance)
        .sum();
    Estimate {
        value,
        variance,
        kurtosis_share: fourth / (variance * variance),
    }
}

/// Post-processes `noisy[m]`, the noisy cells of each measure of `table` drawn at `scales[m]`,
/// with `pin` (if any) holding one cell at an estimate made outside the table.
///
/// # Errors
/// OpenDP's accuracy, or a margin of error that is not a finite integer (a budget far too small).
pub fn post_process(
    table: &Table,
    noisy: &[Vec<i64>],
    mechanism: Mechanism,
    scales: &[f64],
    pin: Option<Pin>,
) -> Result<Vec<Published>, OpenDpError> {
    let models: Vec<Vec<AxisModel>> = (0..table.measures.len())
        .map(|m| axis_models(table, m))
        .collect();
    let position = |m: &Measure| table.measures.iter().position(|x| x == m);
    reconcile(
        noisy,
        &models,
        position(&Measure::Persons),
        position(&Measure::PersonTimes),
        mechanism,
        scales,
        pin,
    )
}

/// The least-squares estimate of cell `cell` of measure `measure` of `table` from its noisy cells.
#[must_use]
pub fn estimate(
    table: &Table,
    noisy: &[i64],
    measure: usize,
    cell: usize,
    mechanism: Mechanism,
    scale: f64,
) -> Estimate {
    let fit = consistency::fit(noisy, &axis_models(table, measure));
    Estimate {
        value: fit.fitted[cell],
        variance: fit.relative_variance[cell] * noise_variance(mechanism, scale),
        kurtosis_share: fit.kurtosis_share[cell],
    }
}

/// [`post_process`] from the measures' axis models: `persons` and `times` name the measures of
/// those kinds, if any.
///
/// # Errors
/// As [`post_process`].
pub fn reconcile(
    noisy: &[Vec<i64>],
    models: &[Vec<AxisModel>],
    persons: Option<usize>,
    times: Option<usize>,
    mechanism: Mechanism,
    scales: &[f64],
    pin: Option<Pin>,
) -> Result<Vec<Published>, OpenDpError> {
    let mut fits: Vec<consistency::Fit> = noisy
        .iter()
        .zip(models)
        .map(|(y, models)| consistency::fit(y, models))
        .collect();
    // The pinned cell enters as its combined estimate, with the combination's precision.
    if let Some(pin) = pin {
        let fit = &mut fits[pin.measure];
        fit.fitted[pin.cell] = pin.value;
        fit.relative_variance[pin.cell] =
            pin.variance / noise_variance(mechanism, scales[pin.measure]);
        fit.kurtosis_share[pin.cell] = pin.kurtosis_share;
    }
    let inputs: Vec<MeasureInput<'_>> = fits
        .iter()
        .zip(models)
        .zip(scales)
        .map(|((fit, models), &scale)| MeasureInput {
            fitted: &fit.fitted,
            variance: fit
                .relative_variance
                .iter()
                .map(|h| h * noise_variance(mechanism, scale))
                .collect(),
            models,
        })
        .collect();
    let pair = persons.zip(times);
    let pinned: Vec<(usize, usize, f64)> = pin
        .map(|p| (p.measure, p.cell, p.value))
        .into_iter()
        .collect();
    let projected = project::project(&inputs, pair, &pinned, project::HELD_WITHIN_SD);
    let mut values: Vec<Vec<i64>> = projected
        .iter()
        .zip(models)
        .map(|(z, models)| consistency::integers(z, models))
        .collect();
    if let Some(p) = persons {
        consistency::keep_relations(&mut values[p], &models[p]);
        if let Some(t) = times {
            let persons = values[p].clone();
            consistency::cover_persons(&mut values[t], &persons, &models[t]);
        }
    }
    let axes = models.first().map_or(0, Vec::len);
    values
        .into_iter()
        .zip(&fits)
        .zip(scales)
        .map(|((values, fit), &scale)| {
            let moe95 = fit
                .relative_variance
                .iter()
                .zip(&fit.kurtosis_share)
                .map(|(&h, &k)| moe_of_estimate(mechanism, scale, h, k, axes))
                .collect::<Result<_, _>>()?;
            Ok(Published { values, moe95 })
        })
        .collect()
}

/// The published margin of error of an estimate whose variance is `relative_variance` times one
/// measurement's and whose weights keep `kurtosis_share` of one measurement's excess kurtosis,
/// published as an integer after up to `axes` rounding steps.
///
/// A cell nothing else informs gets OpenDP's accuracy exactly. A reconciled cell is a weighted sum
/// of independent noises: its 95 % quantile is the normal one corrected by Cornish–Fisher for the
/// kurtosis it keeps (discrete Laplace noise has excess kurtosis 3, Gaussian 0), with the exact
/// variance of the discrete noise plus that of the rounding (a uniform unit per axis).
///
/// # Errors
/// OpenDP's, or [`OpenDpError`] when the margin is not a finite integer.
pub fn moe_of_estimate(
    mechanism: Mechanism,
    scale: f64,
    relative_variance: f64,
    kurtosis_share: f64,
    axes: usize,
) -> Result<i64, OpenDpError> {
    let moe = if relative_variance >= 1.0 - 1e-9 {
        mechanism::accuracy(mechanism, scale)?.floor()
    } else {
        let kurtosis = match mechanism {
            Mechanism::Laplace => 3.0,
            Mechanism::Gaussian => 0.0,
        };
        let z = 1.959_963_984_540_054_f64;
        let z = z + (z.powi(3) - 3.0 * z) / 24.0 * kurtosis * kurtosis_share.clamp(0.0, 1.0);
        #[allow(clippy::cast_precision_loss, reason = "a handful of axes")]
        let rounding = axes as f64 / 12.0;
        let variance = noise_variance(mechanism, scale) * relative_variance.max(0.0) + rounding;
        (z * variance.sqrt()).round()
    };
    // Counts are far below 2^53; a margin past it means noise that swamps any count.
    if moe.is_finite() && (0.0..9.0e15).contains(&moe) {
        #[allow(clippy::cast_possible_truncation, reason = "checked to be below 2^53")]
        Ok(moe as i64)
    } else {
        Err(OpenDpError(format!(
            "the 95 % margin of error at noise scale {scale} is not a finite count: the budget is \
             far too small for any useful release"
        )))
    }
}

/// How `moe95` is computed and what it covers, for the manifest and the dictionary.
pub const MOE95_TEXT: &str = "95 % margin of error of the published value around the bounded \
    count: the count after contribution bounding (each person in at most max_cells_per_person \
    cells of a table, one code of each dimension declared one per person, at most \
    max_records_per_cell records per cell; see the manifest), not the count of every record of the \
    export, which is higher where persons exceed the bounds (the manifest's bounding_loss estimates \
    by how much, with noise). For a cell that nothing else informs, \
    OpenDP's accuracy (alpha = 0.05) of the mechanism at the scale used; for a cell reconciled \
    with its margins, the exact standard deviation of its least-squares estimate (with the \
    variance of integer rounding) times the normal 95 % quantile corrected (Cornish-Fisher) for \
    the kurtosis of the noise it keeps. Checked by simulation per level pattern: at least 93 % \
    coverage everywhere; cells near zero, which non-negativity pins, and cells tied by a margin \
    to siblings pinned at zero are covered more often (the margin is conservative there)";

/// How values are post-processed, for the manifest.
pub const POST_PROCESSING_TEXT: &str = "least squares over every cell and margin of a table \
    measure (Kronecker-structured, exact); then, level by level from the grand totals down to the \
    leaves (TopDown), the cells of each level as close to their estimates (weighted by precision) \
    as every relation the true table keeps allows, with coarser levels held within 0.3 of their \
    standard deviation: non-negativity, \
    margin = sum of cells where the measure adds up, cell <= margin <= sum of cells for persons \
    over a dimension where one person can have several codes, persons <= person-times (quadratic \
    programmes, clarabel); then integers from the totals down (largest remainder), the person \
    relations kept by moving finer cells under held coarser ones. Tables of one population that \
    publish persons with a grand total share it: estimated once from every such table (each \
    least-squares estimate weighted by its precision), rounded and held as their coarsest cell. \
    Reads noisy values only";

#[cfg(test)]
mod tests {
    use super::{Estimate, combine};

    #[test]
    fn independent_estimates_combine_by_their_precision() {
        let e = |value, variance| Estimate {
            value,
            variance,
            kurtosis_share: 1.0,
        };
        let c = combine(&[e(10.0, 1.0), e(20.0, 4.0)]);
        // Weights 0.8 and 0.2: variance 0.64 + 0.16; kurtosis (0.8⁴ + 0.2⁴ · 16) / 0.8².
        assert!((c.value - 12.0).abs() < 1e-12, "{c:?}");
        assert!((c.variance - 0.8).abs() < 1e-12, "{c:?}");
        assert!((c.kurtosis_share - 0.68).abs() < 1e-12, "{c:?}");
        assert_eq!(combine(&[e(7.0, 2.0)]), e(7.0, 2.0));
    }
}
