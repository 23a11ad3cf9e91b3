//! The error of a DP release measured over repeated draws, for benchmarks on synthetic data.

use serde::Serialize;

use super::{DpError, Prepared, grand_total, mechanism, post};
use crate::config::raw::Mechanism;

/// Error of one table measure over repeated draws ([`Prepared::error_study`]).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub table: String,
    pub measure: String,
    pub scale: f64,
    /// `E|noise|` of the mechanism at this scale.
    pub theoretical_mae: f64,
    /// Mean absolute error of the raw noisy cells, all cells / leaves / the grand total.
    pub raw: [f64; 3],
    /// The same after least squares and integer allocation.
    pub consistent: [f64; 3],
}

impl Prepared {
    /// For benchmarks on synthetic data only: draws `draws` releases of every table measure without
    /// charging any ledger and compares them with the bounded true counts. Never run it on real
    /// data: its output is not differentially private.
    ///
    /// # Errors
    /// OpenDP's.
    pub fn error_study(&self, draws: usize) -> Result<Vec<ErrorRow>, DpError> {
        let mut rows = Vec::new();
        for (table, tp) in self.tables.iter().zip(&self.plan.tables) {
            let leaves: Vec<bool> = (0..table.len()).map(|c| table.is_leaf(c)).collect();
            let total = grand_total(table);
            let scales: Vec<f64> = tp.measures.iter().map(|mp| mp.scale).collect();
            let mut raw = vec![[0.0f64; 3]; scales.len()];
            let mut fit = vec![[0.0f64; 3]; scales.len()];
            let mut counts = [0.0f64; 3];
            for _ in 0..draws {
                let noisy = table
                    .values
                    .iter()
                    .zip(&scales)
                    .map(|(truth, &scale)| mechanism::release(self.plan.mechanism, scale, truth))
                    .collect::<Result<Vec<_>, _>>()?;
                let out = post::post_process(table, &noisy, self.plan.mechanism, &scales, None)?;
                for (m, truth) in table.values.iter().enumerate() {
                    let noisy = &noisy[m];
                    let (raw, fit) = (&mut raw[m], &mut fit[m]);
                    let counts = &mut counts;
                    for c in 0..truth.len() {
                        #[allow(clippy::cast_precision_loss, reason = "small errors")]
                        let (e_raw, e_fit) = (
                            (noisy[c] - truth[c]).abs() as f64,
                            (out[m].values[c] - truth[c]).abs() as f64,
                        );
                        for (slot, on) in
                            [true, leaves[c], Some(c) == total].into_iter().enumerate()
                        {
                            if on {
                                raw[slot] += e_raw;
                                fit[slot] += e_fit;
                                if m == 0 {
                                    counts[slot] += 1.0;
                                }
                            }
                        }
                    }
                }
            }
            for (m, mp) in tp.measures.iter().enumerate() {
                let theoretical = match self.plan.mechanism {
                    Mechanism::Laplace => {
                        let p = (-1.0 / mp.scale).exp();
                        2.0 * p / (1.0 - p * p)
                    }
                    Mechanism::Gaussian => mp.scale * (2.0 / std::f64::consts::PI).sqrt(),
                };
                rows.push(ErrorRow {
                    table: table.name.clone(),
                    measure: mp.measure.clone(),
                    scale: mp.scale,
                    theoretical_mae: theoretical,
                    raw: [0, 1, 2].map(|i| raw[m][i] / counts[i].max(1.0)),
                    consistent: [0, 1, 2].map(|i| fit[m][i] / counts[i].max(1.0)),
                });
            }
        }
        Ok(rows)
    }
}
