//! 500 releases of each seed pipeline: coverage and bias of the margins of error per level pattern,
//! the precision of totals, and the relations every release keeps.

use std::collections::BTreeMap;

use super::{SEEDS, Seed, load, prepare};
use crate::config::plan::Measure;
use crate::dp::post::{self, noise_variance};
use crate::tabulate::{Level, Table};

/// Per cell of a table, its level pattern: each axis's level, e.g. `leaf×total×leaf`.
fn patterns(table: &Table) -> Vec<String> {
    (0..table.len())
        .map(|c| {
            table
                .positions(c)
                .iter()
                .zip(&table.axes)
                .map(|(&p, a)| match a.cells[p].level {
                    Level::Leaf => "leaf",
                    Level::Group => "group",
                    Level::Total => "total",
                })
                .collect::<Vec<_>>()
                .join("×")
        })
        .collect()
}

/// What 500 releases of one seed pipeline show, per (table, measure, level pattern).
#[derive(Default)]
struct Tally {
    pairs: usize,
    covered: usize,
    /// The same over cells whose truth lies beyond their `moe95` from zero, which
    /// non-negativity does not pin.
    inner_pairs: usize,
    inner_covered: usize,
    /// Σ (published − truth), Σ moe95, for the bias per pattern.
    error: f64,
    moe: f64,
    /// Σ (published − truth) of each release, whose spread gives the bias its standard error
    /// (the cells of one release share its noise, so they are not independent).
    per_release: Vec<f64>,
}

const RELEASES: usize = 500;

/// Per population that two or more tables count persons of, with their grand totals: `(table,
/// measure, cell)` of each of those totals.
fn shared_totals(
    tables: &[Table],
    populations: &[String],
) -> BTreeMap<String, Vec<(usize, usize, usize)>> {
    let mut out: BTreeMap<String, Vec<(usize, usize, usize)>> = BTreeMap::new();
    for (t, (table, population)) in tables.iter().zip(populations).enumerate() {
        let m = table.measures.iter().position(|m| *m == Measure::Persons);
        if let Some((m, c)) = m.zip(crate::dp::grand_total(table)) {
            out.entry(population.clone()).or_default().push((t, m, c));
        }
    }
    out.retain(|_, cells| cells.len() > 1);
    out
}

/// The truth of a relation check: what every release must keep.
fn keeps_relations(table: &Table, values: &[Vec<i64>]) {
    let p = table.measures.iter().position(|m| *m == Measure::Persons);
    let t = table
        .measures
        .iter()
        .position(|m| *m == Measure::PersonTimes);
    for v in values {
        assert!(
            v.iter().all(|&x| x >= 0),
            "{}: a negative value",
            table.name
        );
    }
    if let (Some(p), Some(t)) = (p, t) {
        assert!(
            values[p].iter().zip(&values[t]).all(|(p, t)| p <= t),
            "{}: persons above person-times",
            table.name
        );
    }
    for (m, v) in values.iter().enumerate() {
        for c in 0..table.len() {
            let pos = table.positions(c);
            for (a, axis) in table.axes.iter().enumerate() {
                let children: Vec<usize> = match axis.cells[pos[a]].level {
                    Level::Leaf => continue,
                    Level::Group => axis
                        .group_of
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| **g == u32::try_from(pos[a]).ok())
                        .map(|(k, _)| k)
                        .collect(),
                    Level::Total => (0..axis.cells.len() - 1)
                        .filter(|&k| {
                            axis.cells[k].level == Level::Group
                                || (axis.cells[k].level == Level::Leaf
                                    && axis.group_of[k].is_none())
                        })
                        .collect(),
                };
                let kids: Vec<i64> = children
                    .iter()
                    .map(|&k| {
                        let mut q = pos.clone();
                        q[a] = k;
                        v[table.index(&q)]
                    })
                    .collect();
                let sum: i64 = kids.iter().sum();
                if table.additive[m][a] {
                    assert_eq!(v[c], sum, "{}: a margin is not its sum", table.name);
                } else {
                    let most = kids.iter().copied().max().unwrap_or(0);
                    assert!(
                        most <= v[c] && v[c] <= sum,
                        "{}: a non-additive margin outside [largest child, Σ children]",
                        table.name
                    );
                }
            }
        }
    }
}

fn coverage_of(seed: &Seed) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = load(seed, None, dir.path());
    let (prepared, _) = prepare(&plan);
    let mechanism = prepared.plan.mechanism;
    let mut tallies: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    // Per margin cell: Σ squared error of the published value; per table measure: of the total.
    let mut margin_sq: BTreeMap<(usize, usize, usize), f64> = BTreeMap::new();
    let mut leaves_sum_sq: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let table_patterns: Vec<Vec<String>> = prepared.tables.iter().map(patterns).collect();
    let table_leaves: Vec<Vec<bool>> = prepared
        .tables
        .iter()
        .map(|table| (0..table.len()).map(|c| table.is_leaf(c)).collect())
        .collect();
    let populations = crate::dp::populations(&prepared.tables, &plan);
    let totals = shared_totals(&prepared.tables, &populations);
    for cells in totals.values() {
        let truth: Vec<i64> = cells
            .iter()
            .map(|&(t, m, c)| prepared.tables[t].values[m][c])
            .collect();
        assert!(
            truth.windows(2).all(|w| w[0] == w[1]),
            "{}: bounded persons totals of one population differ: {truth:?}",
            seed.pipeline
        );
    }
    for release in 0..RELEASES {
        let noisy_all = crate::dp::draw(&prepared.tables, &prepared.plan).expect("draws");
        let out_all =
            crate::dp::post_process_all(&prepared.tables, &noisy_all, &prepared.plan, &populations)
                .expect("post");
        for (population, cells) in &totals {
            let published: Vec<i64> = cells
                .iter()
                .map(|&(t, m, c)| out_all[t][m].values[c])
                .collect();
            assert!(
                published.windows(2).all(|w| w[0] == w[1]),
                "{}: published persons totals of {population} differ: {published:?}",
                seed.pipeline
            );
        }
        for (t, ((table, tp), (noisy, out))) in prepared
            .tables
            .iter()
            .zip(&prepared.plan.tables)
            .zip(noisy_all.iter().zip(out_all))
            .enumerate()
        {
            keeps_relations(
                table,
                &out.iter().map(|o| o.values.clone()).collect::<Vec<_>>(),
            );
            let (pattern, leaf) = (&table_patterns[t], &table_leaves[t]);
            for (m, o) in out.iter().enumerate() {
                let truth = &table.values[m];
                let mut leaf_sum = 0i64;
                let mut leaf_truth = 0i64;
                for c in 0..table.len() {
                    let error = o.values[c] - truth[c];
                    let key = (
                        table.name.clone(),
                        tp.measures[m].measure.clone(),
                        pattern[c].clone(),
                    );
                    let tally = tallies.entry(key).or_default();
                    tally.pairs += 1;
                    tally.covered += usize::from(error.abs() <= o.moe95[c]);
                    if truth[c] > o.moe95[c] {
                        tally.inner_pairs += 1;
                        tally.inner_covered += usize::from(error.abs() <= o.moe95[c]);
                    }
                    if tally.per_release.len() <= release {
                        tally.per_release.push(0.0);
                    }
                    #[allow(clippy::cast_precision_loss, reason = "small counts")]
                    {
                        tally.per_release[release] += error as f64;
                        tally.error += error as f64;
                        tally.moe += o.moe95[c] as f64;
                        if !leaf[c] {
                            *margin_sq.entry((t, m, c)).or_default() += (error * error) as f64;
                        }
                    }
                    if leaf[c] {
                        leaf_sum += noisy[m][c];
                        leaf_truth += truth[c];
                    }
                }
                #[allow(clippy::cast_precision_loss, reason = "small counts")]
                {
                    *leaves_sum_sq.entry((t, m)).or_default() +=
                        ((leaf_sum - leaf_truth) * (leaf_sum - leaf_truth)) as f64;
                }
            }
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "test sizes")]
    let n = RELEASES as f64;
    let mut failures = Vec::new();
    for ((table, measure, pattern), tally) in &tallies {
        #[allow(clippy::cast_precision_loss, reason = "test sizes")]
        let rate = tally.covered as f64 / tally.pairs as f64;
        let bias = tally.error / tally.moe.max(1.0);
        let standard_error =
            standard_deviation(&tally.per_release) / n.sqrt() / (tally.moe / n).max(1.0);
        let over = if rate > 0.975 {
            " (wider than needed)"
        } else {
            ""
        };
        #[allow(clippy::cast_precision_loss, reason = "test sizes")]
        let inner = tally.inner_covered as f64 / tally.inner_pairs.max(1) as f64;
        eprintln!(
            "{} {table}.{measure} {pattern}: coverage {rate:.3}{over} over {} pairs, mean error / \
             moe95 {bias:+.3} (standard error {standard_error:.3}); away from zero {inner:.3} over {} \
             pairs",
            seed.pipeline, tally.pairs, tally.inner_pairs
        );
        // 93 %, or 4 standard errors of a 95 % coverage below it where a pattern has few cells
        // (one cell over 500 releases: 1 %, floor 91.1 %). The binomial tail of one cell at 95 %
        // reaches that floor once in 7 700 runs; the 20 or so such patterns of the four seeds,
        // about once in 400. At 3.5 standard errors it was once in 2 100 per pattern, and CI
        // met it: SoCO's grand total covered 0.914 once, after 0.954 twice.
        #[allow(clippy::cast_precision_loss, reason = "test sizes")]
        let floor = 0.93f64.min(0.95 - 4.0 * (0.95 * 0.05 / tally.pairs as f64).sqrt());
        if rate < floor {
            failures.push(format!("{table}.{measure} {pattern}: coverage {rate:.3}"));
        }
        // Cells whose count stands clear of zero (truth above its margin) are the ones a reader
        // acts on, and a margin narrowed to fit a pattern of mostly near-zero cells leaves them
        // uncovered: margins narrowed per pattern to 96 % of the errors of 10 replicate releases
        // drawn around the published tables brought 20 more patterns under 97.5 %, but covered
        // cells whose truth exceeds the narrowed margin 37–54 % among the noise-dominated leaves,
        // and cells at least a quarter of their least-squares margin 71–89 % in 11 patterns. So
        // such cells keep at least 90 % wherever they make 500 pairs or more (the lowest seen with
        // the least-squares margins is 0.930, Lienchiang's measure groups by agency).
        if tally.inner_pairs >= RELEASES && inner < 0.90 {
            failures.push(format!(
                "{table}.{measure} {pattern}: cells clear of zero covered {inner:.3}"
            ));
        }
        // A relation the truth sits on truncates the estimate on one side, which biases it by up
        // to E[min(X, 0)] / moe95 of its noise X: 1 / (2 ln 20) = 0.17 for Laplace, 0.20 for
        // Gaussian. Beyond 0.2 is damage (a margin summed from clamped cells was +1.4). The
        // printed standard error (from the spread of the 500 releases' errors; 0.02 for a grand
        // total, 0.005 for Lienchiang's margins over agencies at -0.15) shows no pattern near it
        // by chance.
        if bias.abs() > 0.2 {
            failures.push(format!(
                "{table}.{measure} {pattern}: mean error / moe95 {bias:+.3} (standard error \
                 {standard_error:.3})"
            ));
        }
    }
    // A mean of 500 squared errors has a standard error of √(κ / 500) of its mean, κ the excess
    // of the fourth moment (5 for Laplace noise, 2 for Gaussian): 10 % and 6 %. A margin fails
    // when its error is five of them above its raw measurement's, which chance does not reach over
    // a few hundred margins: this catches gross damage only (Lienchiang's measure groups by
    // agency at 1.36–1.53× before held margins got their band pass it); the paired test in
    // `dp::tests` measures that case precisely.
    let excess = match mechanism {
        crate::config::raw::Mechanism::Laplace => 5.0f64,
        crate::config::raw::Mechanism::Gaussian => 2.0,
    };
    let tolerance = 1.0 + 5.0 * (excess / n).sqrt();
    for (&(t, m, c), &sq) in &margin_sq {
        let raw = noise_variance(mechanism, prepared.plan.tables[t].measures[m].scale);
        if sq / n > raw {
            let text = format!(
                "{}.{} cell {c}: published margin's mean squared error {:.1} above its raw \
                 measurement's {raw:.1}",
                prepared.tables[t].name,
                prepared.plan.tables[t].measures[m].measure,
                sq / n
            );
            eprintln!("{} {text}", seed.pipeline);
            if sq / n > tolerance * raw {
                failures.push(text);
            }
        }
    }
    for (&(t, m), &sq) in &leaves_sum_sq {
        let table = &prepared.tables[t];
        let Some(total) = crate::dp::grand_total(table) else {
            continue;
        };
        let published = margin_sq.get(&(t, m, total)).copied().unwrap_or(0.0) / n;
        let scale = prepared.plan.tables[t].measures[m].scale;
        let models = post::axis_models(table, m);
        let h =
            crate::dp::consistency::fit(&vec![0; table.len()], &models).relative_variance[total];
        let least_squares = h * noise_variance(mechanism, scale);
        let measure = &prepared.plan.tables[t].measures[m].measure;
        eprintln!(
            "{} {}.{measure} grand total: mean squared error {published:.1}, least squares \
             {least_squares:.1}, sum of noisy leaves {:.1} ({:.1}× the error)",
            seed.pipeline,
            table.name,
            sq / n,
            (sq / n / published.max(1e-9)).sqrt()
        );
        // The grand total keeps its least-squares precision. A mean square of 500 Laplace errors
        // has a standard error of 10 % (√(5/500)); 35 % is 3.5 of them.
        if published > 1.35 * least_squares {
            failures.push(format!(
                "{}.{measure}: grand total's mean squared error {published:.1} above its least \
                 squares variance {least_squares:.1}",
                table.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}: {failures:#?}", seed.pipeline);
}

/// The sample standard deviation of `values`.
fn standard_deviation(values: &[f64]) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "test sizes")]
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[test]
fn kaohsiung_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[0]);
}

#[test]
fn keelung_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[1]);
}

#[test]
fn lienchiang_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[2]);
}

#[test]
fn soco_margins_of_error_never_under_cover_and_totals_keep_their_precision() {
    coverage_of(&SEEDS[3]);
}
