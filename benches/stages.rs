//! Each stage of a release on its own, so that a regression shows where it is: ingest (MB/s of a
//! UTF-8, a Big5 and a Parquet copy of one export), pseudonymisation (rows/s, one HMAC per distinct
//! identifier), tabulation without and with DP contribution bounding, protection of the seed
//! fixture's tables (secondary suppression and the LP audit) and the floor of the whole job: polars reading only the mapped
//! columns of the CSV plus one HMAC-SHA256 per distinct identifier.
//!
//! The export is the Kaohsiung synth profile through `pipelines/kaohsiung-districts.toml` (and its
//! DP twin for bounding). Size: `PRIVSTAT_BENCH_ROWS` (default 500 000). Run with
//! `cargo bench --bench stages` (one group: `cargo bench --bench stages -- floor`).
#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark harness")]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hmac::Mac;
use polars::prelude::*;
use privstat::config::{self, Overrides, Plan};
use privstat::synth::{self, OutputEncoding, Profile, Spec};
use privstat::{dp, ingest, protect, pseudonymise, tabulate};

fn rows() -> u64 {
    std::env::var("PRIVSTAT_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000)
}

fn export(dir: &Path, name: &str, encoding: OutputEncoding) -> PathBuf {
    let path = dir.join(name);
    synth::write(
        &Spec {
            profile: Profile::Kaohsiung,
            rows: rows(),
            seed: 1,
            encoding,
            messiness: 0.08,
        },
        &path,
    )
    .unwrap();
    path
}

/// The UTF-8 export as Parquet, every column text, as a system exporting Parquet writes it.
fn parquet_copy(csv: &Path, out: &Path) -> PathBuf {
    let mut frame = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(std::fs::File::open(csv).unwrap())
        .finish()
        .unwrap();
    let path = out.join("contacts.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    path
}

fn plan(pipeline: &str, source: &Path, out: &Path) -> Plan {
    config::load(
        Path::new(pipeline),
        &Overrides {
            out: Some(out.join("out")),
            sources: vec![("contacts".into(), source.to_path_buf())],
            ledger: Some(out.join("ledger.jsonl")),
            ..Overrides::default()
        },
    )
    .unwrap()
}

fn stages(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let utf8 = export(dir.path(), "contacts.csv", OutputEncoding::Utf8);
    let big5 = export(dir.path(), "contacts_big5.csv", OutputEncoding::Big5);
    let parquet = parquet_copy(&utf8, dir.path());
    let n = rows();
    let today = privstat::today();
    let suppression = plan("pipelines/kaohsiung-districts.toml", &utf8, dir.path());
    let dp_plan = plan("pipelines/kaohsiung-districts-dp.toml", &utf8, dir.path());
    let key = pseudonymise::Key::load(&suppression.pseudonymise.key).unwrap();

    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    for (name, file) in [("utf-8", &utf8), ("big5", &big5), ("parquet", &parquet)] {
        let plan = plan("pipelines/kaohsiung-districts.toml", file, dir.path());
        group.throughput(Throughput::Bytes(std::fs::metadata(file).unwrap().len()));
        group.bench_function(format!("{name} {n} rows"), |b| {
            b.iter(|| ingest::read(&plan, today).unwrap());
        });
    }
    group.finish();

    let ingest = || ingest::read(&suppression, today).unwrap();
    let keyed = || {
        pseudonymise::apply(
            ingest(),
            &suppression.sources,
            &suppression.pseudonymise,
            &key,
        )
        .unwrap()
    };
    let mut group = c.benchmark_group("stages");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n));
    group.bench_function(format!("pseudonymise {n} rows"), |b| {
        b.iter_batched(
            ingest,
            |ingested| {
                pseudonymise::apply(
                    ingested,
                    &suppression.sources,
                    &suppression.pseudonymise,
                    &key,
                )
                .unwrap()
            },
            BatchSize::PerIteration,
        );
    });
    let k = keyed();
    group.bench_function(format!("tabulate {n} rows"), |b| {
        b.iter(|| tabulate::count(&k, &suppression, None).unwrap());
    });
    let dp_key = pseudonymise::Key::load(&dp_plan.pseudonymise.key).unwrap();
    let dp_keyed = pseudonymise::apply(
        ingest::read(&dp_plan, today).unwrap(),
        &dp_plan.sources,
        &dp_plan.pseudonymise,
        &dp_key,
    )
    .unwrap();
    let bounds = dp::bounding(
        dp_plan.protection.dp.as_ref().unwrap(),
        &dp_key,
        &dp_plan.release.name,
    );
    group.bench_function(format!("tabulate with bounding {n} rows"), |b| {
        b.iter(|| tabulate::count(&dp_keyed, &dp_plan, Some(&bounds)).unwrap());
    });
    group.finish();

    // Protection works on the tables, not the rows: the seed fixture's tables, whose small cells
    // need secondary suppression (large exports leave few cells below the threshold).
    let fixture = config::load(
        Path::new("pipelines/kaohsiung-districts.toml"),
        &Overrides {
            out: Some(dir.path().join("out")),
            ledger: None,
            ..Overrides::default()
        },
    )
    .unwrap();
    let fixture_keyed = pseudonymise::apply(
        ingest::read(&fixture, today).unwrap(),
        &fixture.sources,
        &fixture.pseudonymise,
        &key,
    )
    .unwrap();
    let mut group = c.benchmark_group("protect");
    group.sample_size(10);
    group.bench_function(
        "kaohsiung seed tables (secondary suppression and audit)",
        |b| {
            b.iter_batched(
                || tabulate::count(&fixture_keyed, &fixture, None).unwrap(),
                |tables| protect::apply(tables, &fixture).unwrap(),
                BatchSize::PerIteration,
            );
        },
    );
    group.finish();

    // The floor: the mapped columns read by polars, one HMAC per distinct identifier.
    let mut group = c.benchmark_group("floor");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(std::fs::metadata(&utf8).unwrap().len()));
    group.bench_function(
        format!("read mapped columns + HMAC per person {n} rows"),
        |b| {
            b.iter(|| {
                let frame = LazyCsvReader::new(PlRefPath::try_from_path(&utf8).unwrap())
                    .with_infer_schema_length(Some(0))
                    .finish()
                    .unwrap()
                    .select([
                        col("服務日期"),
                        col("身分證號"),
                        col("居住區"),
                        col("性別"),
                        col("服務項目"),
                        col("服務方式"),
                        col("國籍"),
                    ])
                    .collect()
                    .unwrap();
                let ids = frame.column("身分證號").unwrap().unique().unwrap();
                let mut tags = 0u64;
                for id in ids.str().unwrap().iter().flatten() {
                    let mut mac = key.mac();
                    mac.update(id.as_bytes());
                    tags ^= u64::from(mac.finalize().into_bytes()[0]);
                }
                black_box((frame.height(), tags))
            });
        },
    );
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
