//! Secondary suppression and the attacker's audit on a hierarchical table of about 100 000 cells:
//! 150 districts in 12 groups × gender × 24 services in 6 groups × 6 modes, all with margins.
//! `PRIVSTAT_BENCH_DISTRICTS` scales the first dimension: the default 3 gives 2 604 cells; 150 gives
//! 106 113, the scale the suppression must reach (see ARCHITECTURE.md, "Limits"). Run with
//! `cargo bench --bench suppression`.
#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark harness")]

use criterion::{Criterion, criterion_group, criterion_main};
use privstat::attacker::lp::{self, Solver};
use privstat::protect::random;
use privstat::protect::{Cost, Problem, suppress};

fn suppression(c: &mut Criterion) {
    let districts: usize = std::env::var("PRIVSTAT_BENCH_DISTRICTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let spec = random::benchmark(districts);
    let (system, truth) = random::table(&spec);
    let weight = random::weights(&system, &truth);
    let sensitive: Vec<bool> = weight.iter().map(|&p| p > 0 && p < 3).collect();
    let frozen = vec![false; system.atoms()];
    let problem = Problem {
        system: &system,
        truth: &truth,
        weight: &weight,
        sensitive: &sensitive,
        frozen: &frozen,
        level: 3,
        needs: &[],
        cost: Cost::Cells,
    };
    let started = std::time::Instant::now();
    let solution = suppress(&problem).unwrap();
    let published: Vec<Option<i64>> = (0..system.vars())
        .map(|v| (!solution.suppressed[system.var_atom[v] as usize]).then_some(truth[v]))
        .collect();
    let suppress_time = started.elapsed();
    let audited = std::time::Instant::now();
    // The audit `privstat audit` runs: witnesses first, exact bounds where they fall short.
    let needs: Vec<i64> = (0..system.vars())
        .map(|v| {
            if sensitive[system.var_atom[v] as usize] {
                3
            } else {
                1
            }
        })
        .collect();
    let audit = || lp::intervals(&system, &published, Solver::Microlp, None, Some(&needs)).unwrap();
    let intervals = audit();
    eprintln!(
        "{} cells, {} primary, {} suppressed in {suppress_time:?}; audit of {} numbers in {:?}",
        system.atoms(),
        sensitive.iter().filter(|&&s| s).count(),
        solution.suppressed.iter().filter(|&&s| s).count(),
        intervals.len(),
        audited.elapsed()
    );

    let mut group = c.benchmark_group("suppression");
    group.sample_size(10);
    group.bench_function(format!("suppress {} cells", system.atoms()), |b| {
        b.iter(|| suppress(&problem).unwrap());
    });
    group.bench_function(format!("audit {} cells", system.atoms()), |b| {
        b.iter(audit);
    });
    group.finish();
}

criterion_group!(benches, suppression);
criterion_main!(benches);
