//! Contribution bounding as DP sees it: the keyed seed and bounds of every table, and the noisy
//! estimate of what the bounds removed.

use super::*;

/// The keyed seed of contribution bounding: HMAC of the release name under the pseudonymisation
/// key, so that the choice of a person's kept cells is reproducible by the data owner and
/// unpredictable to anyone else.
#[must_use]
pub fn bounding_seed(key: &crate::pseudonymise::Key, release: &str) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = key.mac();
    mac.update(b"privstat/v1\x1fdp-bounding\x1f");
    mac.update(release.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The bounds of every table of a DP plan.
#[must_use]
pub fn bounding(
    dp: &Dp,
    key: &crate::pseudonymise::Key,
    release: &str,
) -> crate::tabulate::Bounding {
    crate::tabulate::Bounding {
        tables: dp
            .tables
            .iter()
            .map(|t| crate::tabulate::Bounds {
                max_cells: t.max_cells_per_person,
                max_records: t.max_records_per_cell,
            })
            .collect(),
        seed: bounding_seed(key, release),
    }
}

/// Per table whose plan spends on it, the noisy estimate of what bounding removed: each count
/// drawn by OpenDP at its own scale, then floored at 0.
pub(super) fn estimate_bounding_loss(
    tables: &[Table],
    plan: &DpPlan,
) -> Result<Vec<BoundingLoss>, OpenDpError> {
    let mut out = Vec::new();
    for (table, tp) in tables.iter().zip(&plan.tables) {
        let (Some(report), [persons, records]) = (&table.bounding, tp.bounding_loss.as_slice())
        else {
            continue;
        };
        let noisy = |mp: &MeasurePlan, exact: u64| -> Result<i64, OpenDpError> {
            let exact = i64::try_from(exact).unwrap_or(i64::MAX);
            let drawn = mechanism::release(plan.mechanism, mp.scale, &vec![exact])?;
            Ok(drawn.first().copied().unwrap_or(0).max(0))
        };
        out.push(BoundingLoss {
            table: table.name.clone(),
            persons_cut: noisy(persons, report.persons_cut)?,
            persons_cut_moe95: persons.moe95_of_a_measurement,
            records_removed: noisy(records, report.records_removed_capped)?,
            records_removed_moe95: records.moe95_of_a_measurement,
            removed_cap_per_person: tp.removed_cap_per_person,
        });
    }
    Ok(out)
}
