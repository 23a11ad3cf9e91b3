//! The one-pass encoding and shape scan over arbitrary bytes, with small limits: never panics, and
//! its counts agree with the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privstat::config::Limits;
use privstat::ingest::encoding::{ScanError, scan_reader};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_columns: 64,
        max_line_bytes: 512,
        ..Limits::default()
    };
    match scan_reader(&mut &data[..], &limits) {
        Ok(shape) => {
            let lf = data.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(shape.lf, lf);
            assert_eq!(shape.utf8_invalid == 0, std::str::from_utf8(data).is_ok());
            assert!(shape.header_fields <= 64);
        }
        Err(ScanError::Limit { line, .. }) => assert!(line >= 1),
        Err(ScanError::Io(e)) => panic!("reading a slice cannot fail: {e}"),
    }
});
