//! The `[protection]` keys of `method = "dp"` and the DP keys of tables, checked: budget,
//! mechanism, dataset cap and ledger, contribution bounds, the share spent on bounding loss, and
//! what a DP release does with low counts.

use super::*;

impl Checker<'_> {
    /// `[protection]` keys of `method = "dp"`, and the DP keys of tables; `None` for suppression
    /// (after complaining about any DP key given).
    pub(super) fn dp(
        &mut self,
        raw: &RawPipeline,
        base: &Path,
        overrides: &Overrides,
        tables: &[TableSpec],
    ) -> Option<Dp> {
        let p = &raw.protection;
        let dp_keys = [
            ("mechanism", p.mechanism.is_some()),
            ("epsilon", p.epsilon.is_some()),
            ("rho", p.rho.is_some()),
            ("moe95", p.moe95.is_some()),
            ("max_loss", p.max_loss.is_some()),
            ("bounding_loss_share", p.bounding_loss_share.is_some()),
            ("dataset", p.dataset.is_some()),
            ("ledger", p.ledger.is_some()),
            ("lifetime_epsilon", p.lifetime_epsilon.is_some()),
            ("lifetime_rho", p.lifetime_rho.is_some()),
            ("max_cells_per_person", p.max_cells_per_person.is_some()),
            ("max_records_per_cell", p.max_records_per_cell.is_some()),
            ("low_counts", p.low_counts.is_some()),
        ];
        if p.method != ProtectionMethod::Dp {
            self.reject_given(
                "protection",
                &dp_keys,
                "is only used with method = \"dp\"",
                Some("set `method = \"dp\"`, or remove the key"),
            );
            for (name, t) in &raw.tables {
                self.reject_given(
                    &format!("tables.{name}"),
                    &[
                        ("weight", t.weight.is_some()),
                        ("max_cells_per_person", t.max_cells_per_person.is_some()),
                        ("max_records_per_cell", t.max_records_per_cell.is_some()),
                    ],
                    "is only used with protection.method = \"dp\"",
                    None,
                );
            }
            for (name, d) in &raw.domains {
                self.reject_given(
                    &format!("domains.{name}"),
                    &[("per_person", d.per_person.is_some())],
                    "is only used with protection.method = \"dp\" (suppression reads from the \
                     data whether person counts add up over a dimension)",
                    None,
                );
            }
            return None;
        }
        let suppression_only = [
            ("protection_level", p.protection_level.is_some()),
            ("p_percent", p.p_percent.is_some()),
            ("nk_dominance", p.nk_dominance.is_some()),
            ("zeros", p.zeros != Zeros::default()),
            ("cost", p.cost != crate::config::raw::Cost::default()),
            ("always_suppress", !p.always_suppress.is_empty()),
            ("always_publish", !p.always_publish.is_empty()),
        ];
        self.reject_given(
            "protection",
            &suppression_only,
            "is a suppression setting and has no effect with method = \"dp\"",
            Some("remove it; in DP mode every cell is published with noise"),
        );
        let mechanism = p.mechanism.unwrap_or_default();
        let mut positive = |key: &str, v: f64, max: f64| {
            if !(v.is_finite() && v > 0.0 && v <= max) {
                self.push(
                    &format!("protection.{key}"),
                    format!("= {v:?} must be a positive number, at most {max:?}"),
                    None,
                );
            }
        };
        for (key, v, max) in [
            ("epsilon", p.epsilon, MAX_RELEASE_LOSS),
            ("rho", p.rho, MAX_RELEASE_LOSS),
            ("moe95", p.moe95, MAX_TARGET),
            ("max_loss", p.max_loss, MAX_RELEASE_LOSS),
            ("lifetime_epsilon", p.lifetime_epsilon, MAX_LIFETIME_LOSS),
            ("lifetime_rho", p.lifetime_rho, MAX_LIFETIME_LOSS),
        ] {
            if let Some(v) = v {
                positive(key, v, max);
            }
        }
        let budget = match (mechanism, p.epsilon, p.rho, p.moe95) {
            (Mechanism::Laplace, Some(e), None, None) => DpBudget::Epsilon(e),
            (Mechanism::Gaussian, None, Some(r), None) => DpBudget::Rho(r),
            (_, None, None, Some(m)) => DpBudget::Moe95(m),
            (Mechanism::Laplace, None, Some(_), _) => {
                self.push(
                    "protection.rho",
                    "is the budget of the Gaussian mechanism".into(),
                    Some("use `epsilon` with mechanism = \"laplace\", or set mechanism = \"gaussian\"".into()),
                );
                return None;
            }
            (Mechanism::Gaussian, Some(_), None, _) => {
                self.push(
                    "protection.epsilon",
                    "is the budget of the Laplace mechanism".into(),
                    Some(
                        "use `rho` with mechanism = \"gaussian\", or set mechanism = \"laplace\""
                            .into(),
                    ),
                );
                return None;
            }
            (_, None, None, None) => {
                self.push(
                    "protection",
                    "method = \"dp\" needs a budget".into(),
                    Some(match mechanism {
                        Mechanism::Laplace => "add `epsilon = 1.0` (or `moe95 = 10` to derive it from a target margin of error)".into(),
                        Mechanism::Gaussian => "add `rho = 0.5` (or `moe95 = 10` to derive it from a target margin of error)".into(),
                    }),
                );
                return None;
            }
            _ => {
                self.push(
                    "protection",
                    "give one budget: `epsilon`, `rho` or `moe95`".into(),
                    None,
                );
                return None;
            }
        };
        if p.max_loss.is_some() && !matches!(budget, DpBudget::Moe95(_)) {
            self.push(
                "protection.max_loss",
                "is only used with a `moe95` budget (an `epsilon` or `rho` budget is its own \
                 ceiling)"
                    .into(),
                None,
            );
        }
        let dataset = match &p.dataset {
            Some(d) if !d.trim().is_empty() => d.trim().to_owned(),
            _ => {
                self.push(
                    "protection.dataset",
                    "is required with method = \"dp\": the lifetime budget belongs to a dataset"
                        .into(),
                    Some("e.g. dataset = \"kaohsiung-nifsc-contacts\"".into()),
                );
                String::new()
            }
        };
        let cap = match (p.lifetime_epsilon, p.lifetime_rho, mechanism) {
            (Some(e), None, Mechanism::Laplace) => DpCap::Epsilon(e),
            (None, Some(r), _) => DpCap::Rho(r),
            (Some(_), None, Mechanism::Gaussian) => {
                self.push(
                    "protection.lifetime_epsilon",
                    "cannot cap a Gaussian (zCDP) release: zCDP does not imply pure ε-DP".into(),
                    Some("state the cap as `lifetime_rho`".into()),
                );
                DpCap::Rho(0.0)
            }
            (None, None, _) => {
                self.push(
                    "protection",
                    "method = \"dp\" needs the dataset's lifetime cap".into(),
                    Some("add `lifetime_epsilon = 4.0` (or `lifetime_rho`)".into()),
                );
                DpCap::Epsilon(0.0)
            }
            (Some(_), Some(_), _) => {
                self.push(
                    "protection",
                    "give one lifetime cap: `lifetime_epsilon` or `lifetime_rho`".into(),
                    None,
                );
                DpCap::Epsilon(0.0)
            }
        };
        let bound = |key: &str, v: Option<u32>, default: u32, this: &mut Self| {
            let v = v.unwrap_or(default);
            if v == 0 {
                this.push(key, "= 0 would drop every record".into(), None);
            } else {
                this.in_range(
                    key,
                    u64::from(v),
                    1..=MAX_CONTRIBUTION_BOUND,
                    "the bound multiplies the noise; a person's contributions are a handful",
                );
            }
            v.max(1)
        };
        let max_cells = bound(
            "protection.max_cells_per_person",
            p.max_cells_per_person,
            DEFAULT_MAX_CELLS,
            self,
        );
        let max_records = bound(
            "protection.max_records_per_cell",
            p.max_records_per_cell,
            DEFAULT_MAX_RECORDS,
            self,
        );
        for (name, source) in &raw.sources {
            if source.person.walk_ins {
                self.push(
                    &format!("sources.{name}.person.walk_ins"),
                    "cannot be used with method = \"dp\": a walk-in has no identity, so no bound \
                     on one person's records holds for them, and the guarantee would not either"
                        .into(),
                    Some("publish walk-ins with method = \"suppression\"".into()),
                );
            }
        }
        let mut dp_tables = Vec::with_capacity(tables.len());
        for spec in tables {
            let Some(t) = raw.tables.get(&spec.name) else {
                continue;
            };
            for (i, m) in spec.measures.iter().enumerate() {
                if !matches!(m, Measure::Persons | Measure::PersonTimes) {
                    self.push(
                        &format!("tables.{}.measures[{i}]", spec.name),
                        format!(
                            "`{}` cannot be published with method = \"dp\": the privacy unit is a \
                             person, and only persons and person-times are bounded per person",
                            m.name()
                        ),
                        Some(
                            "use measures = [\"persons\", \"person_times\"] in DP releases".into(),
                        ),
                    );
                }
            }
            let weight = t.weight.unwrap_or(1.0);
            if !(weight.is_finite() && weight > 0.0 && weight <= MAX_TARGET) {
                self.push(
                    &format!("tables.{}.weight", spec.name),
                    format!("= {weight:?} must be a positive number, at most {MAX_TARGET:?}"),
                    None,
                );
            }
            dp_tables.push(DpTable {
                weight,
                max_cells_per_person: bound(
                    &format!("tables.{}.max_cells_per_person", spec.name),
                    t.max_cells_per_person,
                    max_cells,
                    self,
                ),
                max_records_per_cell: bound(
                    &format!("tables.{}.max_records_per_cell", spec.name),
                    t.max_records_per_cell,
                    max_records,
                    self,
                ),
            });
        }
        let bounding_loss_share = p.bounding_loss_share.unwrap_or(DEFAULT_BOUNDING_LOSS_SHARE);
        if !(bounding_loss_share.is_finite()
            && (0.0..=MAX_BOUNDING_LOSS_SHARE).contains(&bounding_loss_share))
        {
            self.push(
                "protection.bounding_loss_share",
                format!(
                    "= {bounding_loss_share:?} must be a share from 0 to \
                     {MAX_BOUNDING_LOSS_SHARE:?} of the release's loss"
                ),
                Some(
                    "0 publishes no estimate of what contribution bounding removed; the default \
                     0.05 spends 5 % of the release on it"
                        .into(),
                ),
            );
        }
        Some(Dp {
            mechanism,
            budget,
            dataset,
            ledger: overrides
                .ledger
                .clone()
                .or_else(|| p.ledger.as_ref().map(|l| base.join(l))),
            cap,
            low_counts: self.low_counts(p.low_counts),
            max_loss: p.max_loss.unwrap_or(match mechanism {
                Mechanism::Laplace => DEFAULT_MAX_LOSS_EPSILON,
                Mechanism::Gaussian => DEFAULT_MAX_LOSS_RHO,
            }),
            bounding_loss_share,
            tables: dp_tables,
        })
    }

    fn low_counts(&mut self, given: Option<LowCounts>) -> LowCounts {
        match given.unwrap_or_default() {
            LowCounts::Withhold => {
                self.push(
                    "protection.low_counts",
                    "= \"withhold\" is no longer offered: a withheld noisy count is its margin \
                     minus its published siblings, so withholding it hides nothing"
                        .into(),
                    Some(
                        "use \"flag\" (status low_noisy_count) or \"publish\"; moe95 says how \
                         uncertain every value is"
                            .into(),
                    ),
                );
                LowCounts::Flag
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Plan;
    use crate::config::plan::{
        DEFAULT_BOUNDING_LOSS_SHARE, DEFAULT_MAX_LOSS_EPSILON, DpBudget, Overrides,
    };

    /// A seed pipeline with `extra` lines added to its `[protection]` and `replace` applied.
    fn checked(seed: &str, extra: &str, replace: (&str, &str)) -> Result<Plan, String> {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pipelines")
            .join(seed);
        let text = std::fs::read_to_string(&file).expect("seed pipeline");
        let text = text
            .replace("[protection]\n", &format!("[protection]\n{extra}\n"))
            .replace(replace.0, replace.1);
        crate::config::from_bytes(text.as_bytes(), &file, &Overrides::default())
            .map_err(|e| e.to_string())
    }

    const DP: &str = "kaohsiung-districts-dp.toml";

    #[test]
    fn a_dp_pipeline_gets_its_budget_bounds_and_defaults() {
        let plan = checked(DP, "", ("", "")).expect("checks");
        let dp = plan.protection.dp.expect("a DP plan");
        assert_eq!(dp.budget, DpBudget::Epsilon(1.0));
        assert!((dp.bounding_loss_share - DEFAULT_BOUNDING_LOSS_SHARE).abs() < 1e-12);
        assert!((dp.max_loss - DEFAULT_MAX_LOSS_EPSILON).abs() < 1e-12);
        assert_eq!(dp.tables.len(), plan.tables.len());
        assert!(
            dp.tables
                .iter()
                .all(|t| t.max_cells_per_person == 3 && t.max_records_per_cell == 4)
        );
    }

    #[test]
    fn the_bounding_loss_share_is_a_share_up_to_a_half() {
        for bad in ["0.7", "-0.1", "nan"] {
            let err = checked(DP, &format!("bounding_loss_share = {bad}"), ("", ""))
                .expect_err("refused");
            assert!(err.contains("protection.bounding_loss_share"), "{err}");
        }
        let plan = checked(DP, "bounding_loss_share = 0", ("", "")).expect("0 is allowed");
        assert_eq!(plan.protection.dp.map(|d| d.bounding_loss_share), Some(0.0));
    }

    #[test]
    fn withholding_low_counts_is_refused_with_its_reason() {
        let err = checked(
            DP,
            "",
            ("low_counts = \"flag\"", "low_counts = \"withhold\""),
        )
        .expect_err("refused");
        assert!(err.contains("protection.low_counts"), "{err}");
        assert!(err.contains("margin minus its published siblings"), "{err}");
    }

    #[test]
    fn a_ceiling_without_a_moe95_target_is_refused() {
        let err = checked(DP, "max_loss = 2.0", ("", "")).expect_err("refused");
        assert!(err.contains("protection.max_loss"), "{err}");
    }

    #[test]
    fn dp_keys_in_a_suppression_pipeline_are_refused() {
        let err = checked(
            "kaohsiung-districts.toml",
            "epsilon = 1.0\nbounding_loss_share = 0.1",
            ("", ""),
        )
        .expect_err("refused");
        assert!(err.contains("protection.epsilon"), "{err}");
        assert!(err.contains("protection.bounding_loss_share"), "{err}");
    }
}
