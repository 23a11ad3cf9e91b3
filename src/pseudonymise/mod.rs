//! Stage 2, pseudonymise: the distinct raw identifiers of every source → validated, keyed
//! pseudonyms → a dense person index per row. The raw identifiers are dropped here; no later stage can
//! see one.
//!
//! Pseudonym = first 128 bits of HMAC-SHA256(key, `privstat/v1` ‖ 0x1F ‖ context ‖ 0x1F ‖ identifier),
//! where the identifier is in canonical form (NFKC, upper case, no separators). One HMAC is computed
//! per distinct canonical identifier, in parallel. The person index is the rank of the pseudonym, so
//! the same person has the same index in every source of a release.

pub mod hkid;
pub mod key;
pub mod prc_id;
pub mod tw_id;

use hmac::Mac;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::plan::{Pseudonymise, Source};
use crate::config::raw::{IdType, InvalidIds};
use crate::ingest::{
    IdCounts, Ingested, Quarantine, QuarantinedRow, Reason, SourceReport, columns,
    text::normalise_identifier,
};
pub use key::{Key, KeyError};

/// Bits of the HMAC kept in a pseudonym.
pub const PSEUDONYM_BITS: u32 = 128;

/// Sources after pseudonymisation.
#[derive(Debug)]
pub struct Keyed {
    /// In the order of the plan's sources; `__id` is replaced by `__person`.
    pub sources: Vec<KeyedSource>,
    pub quarantine: Quarantine,
    /// Pseudonyms by person index (sorted).
    pub pseudonyms: Vec<u128>,
    /// Per link asked for ([`apply_linked`]): each person's pseudonym under that link's key and
    /// context, by person index.
    pub linkage: Vec<Vec<u128>>,
    pub method: PseudonymMethod,
}

/// A key and context under which every person also gets a pseudonym: a data-sharing agreement's.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub key: &'a Key,
    pub context: &'a str,
}

/// One source's rows, keyed by person.
#[derive(Debug)]
pub struct KeyedSource {
    pub frame: DataFrame,
    pub report: SourceReport,
}

/// How pseudonyms were made, for the manifest. Never the key.
#[derive(Debug, Clone, Serialize)]
pub struct PseudonymMethod {
    pub algorithm: &'static str,
    pub bits: u32,
    pub context: String,
    pub key_fingerprint: String,
    /// False when the key was ephemeral: pseudonyms cannot be linked to any other release.
    pub linkable_across_releases: bool,
    pub invalid_ids: InvalidIds,
    pub note: &'static str,
}

/// Kinds of valid identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    TwNational,
    TwUiLegacy,
    TwUi2021,
    Hkid,
    PrcId,
}

impl IdKind {
    fn id_type(self) -> IdType {
        match self {
            Self::TwNational => IdType::TwNational,
            Self::TwUiLegacy | Self::TwUi2021 => IdType::TwUi,
            Self::Hkid => IdType::Hkid,
            Self::PrcId => IdType::PrcId,
        }
    }
}

/// The outcome of checking one canonical identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid(IdKind),
    Invalid(Reason),
}

/// Classifies a canonical identifier and checks its check digit.
#[must_use]
pub fn classify(id: &str, accepted: &[IdType]) -> Verdict {
    let b = id.as_bytes();
    let kind = if let Some(shape) = tw_id::shape(b) {
        let kind = match shape {
            tw_id::TwShape::National => IdKind::TwNational,
            tw_id::TwShape::UiLegacy => IdKind::TwUiLegacy,
            tw_id::TwShape::Ui2021 => IdKind::TwUi2021,
        };
        (kind, tw_id::check_digit_ok(b))
    } else if hkid::is_shaped(b) {
        (IdKind::Hkid, hkid::check_digit_ok(b))
    } else if prc_id::is_shaped(b) {
        (IdKind::PrcId, prc_id::check_digit_ok(b))
    } else if prc_id::is_first_generation(b) {
        (IdKind::PrcId, true)
    } else if is_excel_number(id) {
        return Verdict::Invalid(Reason::IdExcelDamaged);
    } else {
        return Verdict::Invalid(Reason::IdUnrecognised);
    };
    match kind {
        (k, _) if !accepted.contains(&k.id_type()) => Verdict::Invalid(Reason::IdTypeNotAccepted),
        (k, true) => Verdict::Valid(k),
        (_, false) => Verdict::Invalid(Reason::IdCheckDigit),
    }
}

/// `1.10105E+17` after canonicalisation: digits, `E`, optional `+`, digits.
fn is_excel_number(id: &str) -> bool {
    id.split_once('E').is_some_and(|(mantissa, exponent)| {
        !mantissa.is_empty()
            && mantissa.bytes().all(|b| b.is_ascii_digit())
            && exponent
                .trim_start_matches('+')
                .bytes()
                .all(|b| b.is_ascii_digit())
            && exponent.len() > 1
    })
}

/// A distinct raw identifier after checking: canonical form, rejection reason, kind when valid.
type Checked = (String, Option<Reason>, Option<IdKind>);

/// Canonicalises one distinct raw identifier and checks it against the source's accepted schemes
/// and missing-value tokens.
fn check(raw: &str, source: &Source) -> Checked {
    let id = normalise_identifier(raw);
    if id.is_empty() || source.missing_ids.contains(&id) {
        return (id, Some(Reason::MissingPersonId), None);
    }
    match classify(&id, &source.id_types) {
        Verdict::Valid(kind) => (id, None, Some(kind)),
        Verdict::Invalid(reason) => (id, Some(reason), None),
    }
}

/// Errors of this stage.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymiseError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "internal error while keying source `{source_name}`: {message}; this is a bug in privstat, please report it"
    )]
    Frame {
        source_name: String,
        message: String,
    },
}

/// Pseudonymises every source, quarantining rows whose identifier is missing or (by policy) invalid;
/// every person also gets a pseudonym under each context of `settings.linkage` (same key).
///
/// # Errors
/// [`PseudonymiseError`] only on a broken internal invariant.
pub fn apply(
    ingested: Ingested,
    plan_sources: &[Source],
    settings: &Pseudonymise,
    key: &Key,
) -> Result<Keyed, PseudonymiseError> {
    let links: Vec<Link<'_>> = settings
        .linkage
        .iter()
        .map(|context| Link { key, context })
        .collect();
    apply_linked(ingested, plan_sources, settings, key, &links)
}

/// [`apply`], with a pseudonym of every person under each of `links` (one HMAC per distinct
/// accepted identifier and link).
///
/// # Errors
/// As [`apply`].
pub fn apply_linked(
    ingested: Ingested,
    plan_sources: &[Source],
    settings: &Pseudonymise,
    key: &Key,
    links: &[Link<'_>],
) -> Result<Keyed, PseudonymiseError> {
    let Ingested {
        sources,
        mut quarantine,
    } = ingested;

    // Classify each distinct raw value once; keep canonical forms of accepted ones.
    // Each source's distinct identifiers, and its cross-walk column's, checked the same way.
    let check_all = |raws: &[String], plan_source: &Source| -> Vec<Checked> {
        raws.par_iter().map(|raw| check(raw, plan_source)).collect()
    };
    let checked: Vec<Vec<Checked>> = sources
        .iter()
        .zip(plan_sources)
        .map(|(s, plan_source)| check_all(&s.person_ids, plan_source))
        .collect();
    let crosswalks: Vec<Vec<Checked>> = sources
        .iter()
        .zip(plan_sources)
        .map(|(s, plan_source)| check_all(&s.crosswalk_ids, plan_source))
        .collect();

    let keep_invalid = settings.invalid_ids == InvalidIds::Keep;
    let accepted = |reason: Option<Reason>| {
        reason.is_none() || (keep_invalid && reason != Some(Reason::MissingPersonId))
    };
    // One HMAC per distinct accepted identifier as written (raw values that normalise alike get
    // the same tag); persons are numbered by the rank of their pseudonym.
    let prefix = keyed_context(key, &settings.context);
    let tags: Vec<Vec<Option<u128>>> = checked
        .iter()
        .map(|checks| {
            checks
                .par_iter()
                .map(|(id, reason, _)| accepted(*reason).then(|| tag(&prefix, id)))
                .collect()
        })
        .collect();
    // A cross-walk identifier counts only when valid: it decides whose a row is.
    let crosswalk_tags: Vec<Vec<Option<u128>>> = crosswalks
        .iter()
        .map(|checks| {
            checks
                .par_iter()
                .map(|(id, reason, _)| reason.is_none().then(|| tag(&prefix, id)))
                .collect()
        })
        .collect();
    let mut pseudonyms: Vec<u128> = tags
        .iter()
        .chain(&crosswalk_tags)
        .flatten()
        .flatten()
        .copied()
        .collect();
    pseudonyms.par_sort_unstable();
    pseudonyms.dedup();
    let person_of = |tag: &u128| {
        let rank = pseudonyms
            .binary_search(tag)
            .expect("every tag is in the sorted list");
        u32::try_from(rank).expect("fewer than 2^32 persons")
    };
    // The agreements' pseudonyms, by person index: identifiers that share an internal pseudonym
    // share a canonical form, so they agree under every link too.
    let linkage: Vec<Vec<u128>> = links
        .iter()
        .map(|link| {
            let prefix = keyed_context(link.key, link.context);
            let mut by_person = vec![0u128; pseudonyms.len()];
            let pairs: Vec<(u32, u128)> = checked
                .iter()
                .zip(&tags)
                .chain(crosswalks.iter().zip(&crosswalk_tags))
                .flat_map(|(checks, tags)| checks.iter().zip(tags))
                .filter_map(|((id, _, _), t)| t.map(|t| (id, t)))
                .collect::<Vec<_>>()
                .par_iter()
                .map(|(id, t)| (person_of(t), tag(&prefix, id)))
                .collect();
            for (person, linked) in pairs {
                by_person[person as usize] = linked;
            }
            by_person
        })
        .collect();

    let mut keyed = Vec::with_capacity(sources.len());
    for ((((source, checks), tags), crosswalk), plan_source) in sources
        .into_iter()
        .zip(&checked)
        .zip(&tags)
        .zip(&crosswalk_tags)
        .zip(plan_sources)
    {
        let mut report = source.report;
        report.ids = count_ids(checks, keep_invalid);
        let persons: Vec<Option<u32>> = tags.par_iter().map(|t| t.map(|t| person_of(&t))).collect();
        let crosswalk: Option<Vec<Option<u32>>> = plan_source.crosswalk.as_ref().map(|_| {
            crosswalk
                .par_iter()
                .map(|t| t.map(|t| person_of(&t)))
                .collect()
        });
        // A walk-in's row stays, with no person.
        let walk_in = |reason: Option<Reason>| {
            plan_source.walk_ins && reason == Some(Reason::MissingPersonId)
        };
        let whys: Vec<Option<u32>> = checks
            .iter()
            .map(|(_, reason, _)| {
                reason
                    .filter(|_| !accepted(*reason) && !walk_in(*reason))
                    .map(|r| u32::from(r.code()))
            })
            .collect();
        let frame = key_frame(
            source.frame,
            persons,
            whys,
            crosswalk,
            &mut report,
            &mut quarantine,
        )
        .map_err(|e| PseudonymiseError::Frame {
            source_name: report.name.clone(),
            message: crate::scrub::scrub(&e.to_string()),
        })?;
        // Persons in usable rows only: one whose every row was quarantined is in no table.
        let person = frame.column(columns::PERSON).ok();
        let walk_ins = person.map_or(0, Column::null_count);
        report.ids.distinct_persons = person
            .and_then(|c| c.n_unique().ok())
            .map_or(0, |n| (n - usize::from(walk_ins > 0)) as u64);
        report.ids.walk_in_rows = walk_ins as u64;
        keyed.push(KeyedSource { frame, report });
        // The distinct raw identifiers of this source are dropped here.
        drop(source.person_ids);
    }

    Ok(Keyed {
        sources: keyed,
        quarantine,
        pseudonyms,
        linkage,
        method: PseudonymMethod {
            algorithm: "HMAC-SHA256",
            bits: PSEUDONYM_BITS,
            context: settings.context.clone(),
            key_fingerprint: key.fingerprint(),
            linkable_across_releases: !key.is_ephemeral(),
            invalid_ids: settings.invalid_ids,
            note: "legacy and 2021 UI numbers and a later national ID of one person are different \
                   identifiers and get different pseudonyms unless the source's cross-walk column \
                   (person.crosswalk) maps them to one",
        },
    })
}

/// The HMAC state after `privstat/v1 ␟ context ␟`: every pseudonym of a context starts here.
fn keyed_context(key: &Key, context: &str) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = key.mac();
    mac.update(b"privstat/v1\x1f");
    mac.update(context.as_bytes());
    mac.update(b"\x1f");
    mac
}

/// A canonical identifier's pseudonym: the first 128 bits of
/// HMAC-SHA256(key, `privstat/v1 ␟ context ␟ id`), big-endian.
fn tag(prefix: &hmac::Hmac<sha2::Sha256>, id: &str) -> u128 {
    let mut mac = prefix.clone();
    mac.update(id.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut first = [0u8; 16];
    first.copy_from_slice(&full[..16]);
    u128::from_be_bytes(first)
}

fn count_ids(checks: &[Checked], keep_invalid: bool) -> IdCounts {
    // A value that is empty once canonical (a blank cell, a lone `-`) is no identifier.
    let mut c = IdCounts {
        distinct_values: checks.iter().filter(|(id, ..)| !id.is_empty()).count() as u64,
        ..IdCounts::default()
    };
    for (_, reason, kind) in checks {
        match (kind, reason) {
            (Some(IdKind::TwNational), _) => c.tw_national += 1,
            (Some(IdKind::TwUiLegacy), _) => c.tw_ui_legacy += 1,
            (Some(IdKind::TwUi2021), _) => c.tw_ui_2021 += 1,
            (Some(IdKind::Hkid), _) => c.hkid += 1,
            (Some(IdKind::PrcId), _) => c.prc_id += 1,
            (None, Some(Reason::IdCheckDigit)) => c.invalid_check_digit += 1,
            (None, Some(Reason::IdTypeNotAccepted)) => c.type_not_accepted += 1,
            (None, Some(Reason::IdExcelDamaged)) => c.excel_damaged += 1,
            (None, Some(Reason::IdUnrecognised)) => c.unrecognised += 1,
            _ => {}
        }
        if keep_invalid && kind.is_none() && *reason != Some(Reason::MissingPersonId) {
            c.kept_invalid += 1;
        }
    }
    c
}

/// Replaces `__id` (and `__xid`) by `__person` and moves rows with a rejected identifier to the
/// quarantine. A row whose cross-walk identifier is valid is that identifier's person, whatever
/// its own identifier.
fn key_frame(
    frame: DataFrame,
    persons: Vec<Option<u32>>,
    whys: Vec<Option<u32>>,
    crosswalk: Option<Vec<Option<u32>>>,
    report: &mut SourceReport,
    quarantine: &mut Quarantine,
) -> PolarsResult<DataFrame> {
    // The identifier column holds the index of each row's distinct raw value: a gather.
    let index = frame.column(columns::ID_REF)?.u32()?.clone();
    let mut person = Series::new(columns::PERSON.into(), persons).take(&index)?;
    let mut why = Series::new("__why".into(), whys).take(&index)?;
    let mut joined = frame.drop(columns::ID_REF)?;
    if let Some(crosswalk) = crosswalk {
        let x = joined.column(columns::CROSSWALK_REF)?.u32()?.clone();
        let linked = Series::new("__linked".into(), crosswalk).take(&x)?;
        let from_crosswalk = linked.is_not_null();
        report.ids.crosswalk_rows = from_crosswalk.sum().map_or(0, u64::from);
        person = linked.zip_with(&from_crosswalk, &person)?;
        why = why.zip_with(
            &!&from_crosswalk,
            &Series::full_null("__why".into(), why.len(), why.dtype()),
        )?;
        joined = joined.drop(columns::CROSSWALK_REF)?;
    }
    joined.with_column(person.with_name(columns::PERSON.into()).into_column())?;
    joined.with_column(why.with_name("__why".into()).into_column())?;
    let bad = joined
        .clone()
        .lazy()
        .filter(col("__why").is_not_null())
        .select([col(columns::ROW).cast(DataType::UInt64), col("__why")])
        .collect()?;
    for (row, why) in bad
        .column(columns::ROW)?
        .u64()?
        .iter()
        .zip(bad.column("__why")?.u32()?.iter())
    {
        let reason = why
            .and_then(|c| u8::try_from(c).ok())
            .and_then(Reason::from_code);
        if let (Some(row), Some(reason)) = (row, reason) {
            quarantine.rows.push(QuarantinedRow {
                source: report.name.clone(),
                row,
                column: report.person_column.clone(),
                reason,
            });
        }
    }
    joined
        .lazy()
        .filter(col("__why").is_null())
        .drop(by_name(["__why"], true, false))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [IdType; 4] = [
        IdType::TwNational,
        IdType::TwUi,
        IdType::Hkid,
        IdType::PrcId,
    ];

    #[test]
    fn pseudonyms_are_the_documented_hmac_with_fixed_answers() {
        // Computed apart from privstat (Python's hmac module) with the demo key: a change to the
        // derivation breaks linkage with every earlier release and fails here.
        let key = Key::load(&crate::config::plan::KeySource::File(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys/demo-only.key"),
        ))
        .expect("the demo key loads");
        for (context, id, expected) in [
            (
                "kaohsiung-nifsc/v1",
                "A123456789",
                0xf4c6_e92a_81f8_d427_b8b9_72b1_7971_6b09_u128,
            ),
            (
                "soco/v1",
                "XA0079194",
                0x9594_a2d5_8652_b7c7_0ee2_9b2e_0fc5_7f2f,
            ),
        ] {
            assert_eq!(tag(&keyed_context(&key, context), id), expected, "{id}");
        }
    }

    #[test]
    fn each_scheme_is_recognised_and_checked() {
        assert_eq!(
            classify("E100000005", &ALL),
            Verdict::Valid(IdKind::TwNational)
        );
        assert_eq!(
            classify("EB00000005", &ALL),
            Verdict::Valid(IdKind::TwUiLegacy)
        );
        assert_eq!(
            classify("E990000008", &ALL),
            Verdict::Valid(IdKind::TwUi2021)
        );
        assert_eq!(classify("A1234563", &ALL), Verdict::Valid(IdKind::Hkid));
        assert_eq!(
            classify("11010519491231002X", &ALL),
            Verdict::Valid(IdKind::PrcId)
        );
        assert_eq!(
            classify("E100000006", &ALL),
            Verdict::Invalid(Reason::IdCheckDigit)
        );
        assert_eq!(
            classify("110105E+17", &ALL),
            Verdict::Invalid(Reason::IdExcelDamaged)
        );
        assert_eq!(
            classify("王小明", &ALL),
            Verdict::Invalid(Reason::IdUnrecognised)
        );
        assert_eq!(
            classify("A1234563", &[IdType::TwNational]),
            Verdict::Invalid(Reason::IdTypeNotAccepted)
        );
    }
}
