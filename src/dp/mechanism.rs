//! OpenDP measurements: discrete Laplace (pure ε-DP, L1) and discrete Gaussian (ρ-zCDP, L2) on
//! vectors of `i64` counts. Scales are calibrated by OpenDP's binary search against OpenDP's own
//! privacy map, margins of error come from OpenDP's accuracy functions, and losses compose with the
//! output measure's `compose`. Nothing here samples noise itself.

use opendp::accuracy::{
    accuracy_to_discrete_gaussian_scale, accuracy_to_discrete_laplacian_scale,
    discrete_gaussian_scale_to_accuracy, discrete_laplacian_scale_to_accuracy,
};
use opendp::combinators::{CompositionMeasure, make_pureDP_to_zCDP};
use opendp::core::Measurement;
use opendp::domains::{AtomDomain, VectorDomain};
use opendp::error::Fallible;
use opendp::measurements::{make_gaussian, make_laplace};
use opendp::measures::{MaxDivergence, ZeroConcentratedDivergence};
use opendp::metrics::{L1Distance, L2Distance};
use opendp::utilities::binary_search;

use super::Sensitivity;
use crate::config::raw::Mechanism;

/// Significance level of the published margins of error.
pub const ALPHA: f64 = 0.05;

type Counts = VectorDomain<AtomDomain<i64>>;
type LaplaceMeasurement = Measurement<Counts, L1Distance<i64>, MaxDivergence, Vec<i64>>;
type GaussianMeasurement =
    Measurement<Counts, L2Distance<f64>, ZeroConcentratedDivergence, Vec<i64>>;

/// An OpenDP error as text (it never holds data: only parameters).
#[derive(Debug, thiserror::Error)]
#[error("OpenDP: {0}")]
pub struct OpenDpError(pub String);

fn wrap<T>(r: Fallible<T>) -> Result<T, OpenDpError> {
    r.map_err(|e| {
        OpenDpError(format!(
            "{:?}: {}",
            e.variant,
            e.message.unwrap_or_default()
        ))
    })
}

fn laplace(scale: f64) -> Fallible<LaplaceMeasurement> {
    make_laplace(
        VectorDomain::new(AtomDomain::default()),
        L1Distance::default(),
        scale,
        None,
    )
}

fn gaussian(scale: f64) -> Fallible<GaussianMeasurement> {
    make_gaussian(
        VectorDomain::new(AtomDomain::default()),
        L2Distance::default(),
        scale,
        None,
    )
}

/// The privacy loss of one vector measurement at `scale` for `sensitivity`, in the mechanism's own
/// measure (ε for Laplace, ρ for Gaussian).
///
/// # Errors
/// OpenDP's, for a scale it refuses.
pub fn loss(
    mechanism: Mechanism,
    scale: f64,
    sensitivity: Sensitivity,
) -> Result<f64, OpenDpError> {
    match mechanism {
        Mechanism::Laplace => wrap(laplace(scale).and_then(|m| m.map(&sensitivity.l1))),
        Mechanism::Gaussian => wrap(gaussian(scale).and_then(|m| m.map(&sensitivity.l2()))),
    }
}

/// The loss in ρ (zCDP): a Laplace measurement is cast with OpenDP's pure-DP → zCDP conversion.
///
/// # Errors
/// OpenDP's.
pub fn loss_rho(
    mechanism: Mechanism,
    scale: f64,
    sensitivity: Sensitivity,
) -> Result<f64, OpenDpError> {
    match mechanism {
        Mechanism::Laplace => wrap(
            laplace(scale)
                .and_then(make_pureDP_to_zCDP)
                .and_then(|m| m.map(&sensitivity.l1)),
        ),
        Mechanism::Gaussian => loss(mechanism, scale, sensitivity),
    }
}

/// The smallest scale whose loss, by OpenDP's map, is at most `budget`.
///
/// # Errors
/// OpenDP's, when no scale passes.
pub fn calibrate(
    mechanism: Mechanism,
    sensitivity: Sensitivity,
    budget: f64,
) -> Result<f64, OpenDpError> {
    let passes = |scale: &f64| match mechanism {
        Mechanism::Laplace => laplace(*scale)
            .and_then(|m| m.check(&sensitivity.l1, &budget))
            .unwrap_or(false),
        Mechanism::Gaussian => gaussian(*scale)
            .and_then(|m| m.check(&sensitivity.l2(), &budget))
            .unwrap_or(false),
    };
    wrap(binary_search(passes, (Some(0.0), None)))
}

/// The scale whose 95 % margin of error is `moe95`.
///
/// # Errors
/// OpenDP's, for a margin it refuses.
pub fn scale_for_moe(mechanism: Mechanism, moe95: f64) -> Result<f64, OpenDpError> {
    wrap(match mechanism {
        Mechanism::Laplace => accuracy_to_discrete_laplacian_scale(moe95, ALPHA),
        Mechanism::Gaussian => accuracy_to_discrete_gaussian_scale(moe95, ALPHA),
    })
}

/// OpenDP's accuracy at level [`ALPHA`]: `P(|noise| ≥ a) ≤ α`, so `±floor(a)` covers the true
/// value with probability at least 95 %.
///
/// # Errors
/// OpenDP's.
pub fn accuracy(mechanism: Mechanism, scale: f64) -> Result<f64, OpenDpError> {
    wrap(match mechanism {
        Mechanism::Laplace => discrete_laplacian_scale_to_accuracy(scale, ALPHA),
        Mechanism::Gaussian => discrete_gaussian_scale_to_accuracy(scale, ALPHA),
    })
}

/// Composes the losses of a release's measurements (in the mechanism's measure, or in ρ when
/// `as_rho`).
///
/// # Errors
/// OpenDP's, on overflow.
pub fn compose(mechanism: Mechanism, losses: Vec<f64>, as_rho: bool) -> Result<f64, OpenDpError> {
    if as_rho || mechanism == Mechanism::Gaussian {
        wrap(ZeroConcentratedDivergence.compose(losses))
    } else {
        wrap(MaxDivergence.compose(losses))
    }
}

/// Releases `counts` with noise at `scale`, through the same OpenDP measurement whose map was
/// charged.
///
/// # Errors
/// OpenDP's.
pub fn release(
    mechanism: Mechanism,
    scale: f64,
    counts: &Vec<i64>,
) -> Result<Vec<i64>, OpenDpError> {
    #[cfg(test)]
    if NOISE_OFF.with(std::cell::Cell::get) {
        return Ok(counts.clone());
    }
    match mechanism {
        Mechanism::Laplace => wrap(laplace(scale).and_then(|m| m.invoke(counts))),
        Mechanism::Gaussian => wrap(gaussian(scale).and_then(|m| m.invoke(counts))),
    }
}

#[cfg(test)]
thread_local! {
    /// Test-only: when set on a thread, [`release`] returns the counts unchanged, so that neighbour
    /// tests can compare everything a release publishes besides its noisy values. No build outside
    /// the unit tests has it.
    pub(crate) static NOISE_OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(l1: i64, l2_squared: i64) -> Sensitivity {
        Sensitivity { l1, l2_squared }
    }

    #[test]
    fn calibrated_scale_passes_and_a_smaller_one_does_not() {
        for (mechanism, budget) in [(Mechanism::Laplace, 0.5), (Mechanism::Gaussian, 0.125)] {
            let sens = s(12, 40);
            let scale = calibrate(mechanism, sens, budget).expect("calibrates");
            assert!(loss(mechanism, scale, sens).expect("maps") <= budget);
            let smaller = scale * (1.0 - 1e-9);
            assert!(loss(mechanism, smaller, sens).expect("maps") > budget);
        }
        // Laplace: ε = Δ1 / scale, so the scale is Δ1 / ε up to OpenDP's conservative rounding.
        let scale = calibrate(Mechanism::Laplace, s(12, 40), 0.5).expect("calibrates");
        assert!((scale - 24.0).abs() < 1e-6, "{scale}");
    }

    #[test]
    fn pure_dp_is_charged_as_half_epsilon_squared_in_rho() {
        let rho = loss_rho(Mechanism::Laplace, 10.0, s(5, 25)).expect("maps");
        assert!((rho - 0.125).abs() < 1e-9, "{rho}");
    }

    #[test]
    fn composition_adds() {
        let total = compose(Mechanism::Laplace, vec![0.25, 0.5, 0.25], false).expect("adds");
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn moe_and_scale_are_inverse() {
        for mechanism in [Mechanism::Laplace, Mechanism::Gaussian] {
            let scale = scale_for_moe(mechanism, 10.0).expect("scale");
            let moe = accuracy(mechanism, scale).expect("accuracy");
            assert!((10.0 - 1e-9..=11.0).contains(&moe), "{mechanism:?}: {moe}");
        }
    }
}
