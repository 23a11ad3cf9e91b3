//! The `status` of a published cell.

use serde::Serialize;

/// Status of a published cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    Published,
    /// Below the threshold, or listed by the data owner: value withheld.
    SuppressedPrimary,
    /// Withheld so that primary cells cannot be derived from the others.
    SuppressedSecondary,
    /// DP: published, but the noisy person count is below the threshold (noise dominates it).
    LowNoisyCount,
}

impl CellStatus {
    /// The value of the `status` column.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::SuppressedPrimary => "suppressed_primary",
            Self::SuppressedSecondary => "suppressed_secondary",
            Self::LowNoisyCount => "low_noisy_count",
        }
    }

    /// Parses the `status` column.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Published,
            Self::SuppressedPrimary,
            Self::SuppressedSecondary,
            Self::LowNoisyCount,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// Whether the value is withheld.
    #[must_use]
    pub fn is_suppressed(self) -> bool {
        !matches!(self, Self::Published | Self::LowNoisyCount)
    }

    /// The statuses a release can publish: with noise (`dp`) published or low noisy count,
    /// without it published or suppressed (primary, secondary).
    #[must_use]
    pub fn used_in(dp: bool) -> &'static [Self] {
        if dp {
            &[Self::Published, Self::LowNoisyCount]
        } else {
            &[
                Self::Published,
                Self::SuppressedPrimary,
                Self::SuppressedSecondary,
            ]
        }
    }

    /// The SDMX `OBS_STATUS` and `CONF_STATUS` codes of the status, in a release made with noise
    /// (`dp`) or without: a noisy value is an estimate (`E`), one dominated by noise of low
    /// reliability (`U`); a withheld value is missing (`O`), confidential (`C`) when primary and
    /// secondary confidentiality set by the sender (`D`) otherwise.
    #[must_use]
    pub fn sdmx(self, dp: bool) -> Sdmx {
        let (obs_status, conf_status) = match self {
            Self::Published if dp => ("E", "F"),
            Self::Published => ("A", "F"),
            Self::LowNoisyCount => ("U", "F"),
            Self::SuppressedPrimary => ("O", "C"),
            Self::SuppressedSecondary => ("O", "D"),
        };
        Sdmx {
            obs_status,
            conf_status,
        }
    }
}

/// A status in SDMX's code lists (`CL_OBS_STATUS`, `CL_CONF_STATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sdmx {
    pub obs_status: &'static str,
    pub conf_status: &'static str,
}
