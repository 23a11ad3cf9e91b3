//! Pipeline-file parsing and checking from arbitrary bytes: never panics; every problem is an error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use privstat::config::{self, Overrides};

fuzz_target!(|data: &[u8]| {
    let _ = config::from_bytes(
        data,
        Path::new("/nonexistent/fuzz.toml"),
        &Overrides::default(),
    );
});
