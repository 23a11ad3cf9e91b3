//! CSV ingest from bytes through the corpus pipeline: never panics, and a source that is read
//! reconciles (rows read = rows kept + rows quarantined + rows out of period).
#![no_main]

use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use privstat::config::{self, Overrides};

fn pipeline() -> &'static [u8] {
    static TEXT: OnceLock<Vec<u8>> = OnceLock::new();
    TEXT.get_or_init(|| {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/bad/pipeline_clean.toml"
        ))
        .expect("the corpus pipeline is readable")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::Builder::new().suffix(".csv").tempfile() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    let overrides = Overrides {
        sources: vec![("members".into(), file.path().to_path_buf())],
        ..Overrides::default()
    };
    let here = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/bad/pipeline_clean.toml"
    ));
    let plan =
        config::from_bytes(pipeline(), here, &overrides).expect("the corpus pipeline is valid");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).expect("valid");
    if let Ok(ingested) = privstat::ingest::read(&plan, today) {
        for s in &ingested.sources {
            let quarantined = ingested.quarantine.rows_of(&s.report.name);
            assert_eq!(
                s.report.rows_read,
                s.frame.height() as u64 + quarantined + s.report.rows_out_of_period
            );
        }
    }
});
