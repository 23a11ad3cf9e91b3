//! Identifier normalisation and validation: never panics; a valid identifier is valid in its
//! normalised form too, and normalisation is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privstat::config::raw::IdType;
use privstat::text::normalise_identifier;
use privstat::pseudonymise::{Verdict, classify};

const ALL: [IdType; 4] = [
    IdType::TwNational,
    IdType::TwUi,
    IdType::Hkid,
    IdType::PrcId,
];

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let id = normalise_identifier(&raw);
    assert_eq!(normalise_identifier(&id), id, "normalisation is idempotent");
    if let Verdict::Valid(kind) = classify(&id, &ALL) {
        assert!(matches!(classify(&id, &ALL), Verdict::Valid(k) if k == kind));
        assert!(id.is_ascii(), "a valid identifier is ASCII once normalised");
    }
    for accepted in ALL {
        let _ = classify(&id, &[accepted]);
    }
});
