//! Post-processing of one table's noisy measures into what is published: least squares
//! ([`consistency::fit`]), the projection onto the relations the truth keeps ([`project`]),
//! integers from the top down ([`consistency::integers`]) with the person relations kept
//! ([`consistency::keep_relations`]), and each cell's 95 % margin of error. It reads nothing but
//! noisy values and public structure, so it costs no privacy.

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

/// Post-processes `noisy[m]`, the noisy cells of each measure of `table` drawn at `scales[m]`.
///
/// # Errors
/// OpenDP's accuracy, or a margin of error that is not a finite integer (a budget far too small).
pub fn post_process(
    table: &Table,
    noisy: &[Vec<i64>],
    mechanism: Mechanism,
    scales: &[f64],
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
    )
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
) -> Result<Vec<Published>, OpenDpError> {
    let fits: Vec<consistency::Fit> = noisy
        .iter()
        .zip(models)
        .map(|(y, models)| consistency::fit(y, models))
        .collect();
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
    let projected = project::project(&inputs, pair);
    let mut values: Vec<Vec<i64>> = projected
        .iter()
        .zip(models)
        .map(|(z, models)| consistency::integers(z, models))
        .collect();
    if let Some(p) = persons {
        let times = times.map(|t| values[t].clone());
        consistency::keep_relations(&mut values[p], times.as_deref(), &models[p]);
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
