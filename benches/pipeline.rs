//! Ingest, pseudonymisation, tabulation and protection of a generated Kaohsiung export, through the
//! bundled pipeline. Sizes: `PRIVSTAT_BENCH_ROWS` (default 200 000). Run with `cargo bench`.
#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark harness")]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use privstat::config::{self, Overrides};
use privstat::synth::{self, OutputEncoding, Profile, Spec};

fn pipeline(c: &mut Criterion) {
    let rows: u64 = std::env::var("PRIVSTAT_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("contacts.csv");
    synth::write(
        &Spec {
            profile: Profile::Kaohsiung,
            rows,
            seed: 1,
            encoding: OutputEncoding::Utf8Bom,
            messiness: 0.08,
        },
        &export,
    )
    .unwrap();
    let plan = config::load(
        Path::new("pipelines/kaohsiung-districts.toml"),
        &Overrides {
            out: Some(dir.path().join("out")),
            sources: vec![("contacts".into(), export)],
            ledger: None,
            ..Overrides::default()
        },
    )
    .unwrap();
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.bench_function(format!("analyse kaohsiung {rows} rows"), |b| {
        b.iter(|| privstat::analyse(&plan, &privstat::Progress::quiet()).unwrap());
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
