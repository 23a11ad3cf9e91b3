//! ROC, AD and Excel date parsing: never panics, and every accepted date is no later than a year
//! after today.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use privstat::config::raw::DateFormat;
use privstat::ingest::roc_date::parse_date;

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let today = NaiveDate::from_ymd_opt(2026, 12, 5).expect("valid");
    for format in [DateFormat::Auto, DateFormat::Roc, DateFormat::Ad] {
        if let Ok(p) = parse_date(&raw, format, today) {
            assert!(p.date <= today + chrono::Days::new(366));
        }
    }
});
