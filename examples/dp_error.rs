//! Mean absolute error of DP releases against the (bounded) true counts, with and without the
//! consistency post-processing, next to the mechanism's theoretical error, on a pipeline's
//! synthetic fixture. Spends no ledger budget and is not private: synthetic data only.
//!
//! ```text
//! cargo run --release --example dp_error -- pipelines/kaohsiung-districts-dp.toml [EPSILON_PER_TABLE] [DRAWS]
//! ```
#![allow(clippy::print_stdout, reason = "a report")]

use std::path::PathBuf;

use privstat::config::{self, Overrides, plan::DpBudget};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pipeline = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "pipelines/kaohsiung-districts-dp.toml".into()),
    );
    let per_table: f64 = args.next().map_or(Ok(1.0), |a| a.parse())?;
    let draws: usize = args.next().map_or(Ok(200), |a| a.parse())?;
    let mut plan = config::load(&pipeline, &Overrides::default())?;
    let dp = plan.protection.dp.as_mut().ok_or("not a DP pipeline")?;
    // ε (or ρ) per table: equal weights, the release's budget = per-table budget × tables.
    #[allow(clippy::cast_precision_loss, reason = "a handful of tables")]
    let tables = dp.tables.len() as f64;
    for t in &mut dp.tables {
        t.weight = 1.0;
    }
    dp.budget = match dp.budget {
        DpBudget::Rho(_) => DpBudget::Rho(per_table * tables),
        _ => DpBudget::Epsilon(per_table * tables),
    };
    let analysis = privstat::analyse(&plan, &privstat::Progress::quiet())?;
    let privstat::Protection::Dp(prepared) = analysis.protection else {
        return Err("not a DP pipeline".into());
    };
    println!(
        "{} at {per_table} per table, {draws} draws: mean absolute error (all cells / leaves / grand total)",
        pipeline.display()
    );
    println!("table\tmeasure\tscale\ttheoretical\traw\tconsistent");
    for r in prepared.error_study(draws)? {
        println!(
            "{}\t{}\t{:.2}\t{:.2}\t{:.2} / {:.2} / {:.2}\t{:.2} / {:.2} / {:.2}",
            r.table,
            r.measure,
            r.scale,
            r.theoretical_mae,
            r.raw[0],
            r.raw[1],
            r.raw[2],
            r.consistent[0],
            r.consistent[1],
            r.consistent[2]
        );
    }
    Ok(())
}
