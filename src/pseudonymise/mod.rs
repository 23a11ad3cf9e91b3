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

/// A distinct raw identifier after checking: whether it is blank once canonical, its rejection
/// reason, its kind when valid. The canonical form itself is not kept: it is hashed where it is
/// made ([`tags_of`]), so the distinct identifiers are held once, as read.
#[derive(Debug, Clone, Copy)]
struct Checked {
    blank: bool,
    reason: Option<Reason>,
    kind: Option<IdKind>,
}

/// Canonicalises one distinct raw identifier and checks it against the source's accepted schemes
/// and missing-value tokens: the canonical form and the verdict.
fn check(raw: &str, source: &Source) -> (String, Checked) {
    let id = normalise_identifier(raw);
    let blank = id.is_empty();
    let checked = |reason, kind| Checked {
        blank,
        reason,
        kind,
    };
    if blank || source.missing_ids.contains(&id) {
        return (id, checked(Some(Reason::MissingPersonId), None));
    }
    match classify(&id, &source.id_types) {
        Verdict::Valid(kind) => (id, checked(None, Some(kind))),
        Verdict::Invalid(reason) => (id, checked(Some(reason), None)),
    }
}

/// The distinct identifiers of one column, checked and tagged ([`tags_of`]).
struct Tagged {
    checked: Vec<Checked>,
    /// Each one's pseudonym, when accepted.
    tags: Vec<Option<u128>>,
    /// Per link, each one's pseudonym under it, when accepted.
    linked: Vec<Vec<Option<u128>>>,
}

/// Checks every distinct raw identifier of `raws` and, where `accepted` takes its verdict, tags
/// its canonical form under `prefix` and under each of `links`. One pass, in parallel; the
/// canonical forms live one at a time.
fn tags_of(
    raws: &[String],
    source: &Source,
    prefix: &hmac::Hmac<sha2::Sha256>,
    links: &[hmac::Hmac<sha2::Sha256>],
    accepted: impl Fn(Option<Reason>) -> bool + Sync,
) -> Tagged {
    let (checked, tags): (Vec<Checked>, Vec<Option<u128>>) = raws
        .par_iter()
        .map(|raw| {
            let (id, checked) = check(raw, source);
            (checked, accepted(checked.reason).then(|| tag(prefix, &id)))
        })
        .unzip();
    // A link tags the same canonical forms again: only pipelines that share data pay for it.
    let linked = links
        .iter()
        .map(|link| {
            raws.par_iter()
                .zip(&tags)
                .map(|(raw, t)| t.map(|_| tag(link, &check(raw, source).0)))
                .collect()
        })
        .collect();
    Tagged {
        checked,
        tags,
        linked,
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
        mut sources,
        mut quarantine,
    } = ingested;

    let keep_invalid = settings.invalid_ids == InvalidIds::Keep;
    let accepted = |reason: Option<Reason>| {
        reason.is_none() || (keep_invalid && reason != Some(Reason::MissingPersonId))
    };
    // One HMAC per distinct accepted identifier as written (raw values that normalise alike get
    // the same tag), and one per link; persons are numbered by the rank of their pseudonym. Each
    // source's distinct identifiers, and its cross-walk column's (which counts only when valid:
    // it decides whose a row is), are checked and tagged in one pass and dropped once tagged.
    let prefix = keyed_context(key, &settings.context);
    let link_prefixes: Vec<_> = links
        .iter()
        .map(|link| keyed_context(link.key, link.context))
        .collect();
    let mut checked = Vec::with_capacity(sources.len());
    let mut tags = Vec::with_capacity(sources.len());
    let mut crosswalk_tags = Vec::with_capacity(sources.len());
    // Per source, per link: the tags under the link of its identifiers, then its cross-walk's.
    let mut linked: Vec<[Vec<Vec<Option<u128>>>; 2]> = Vec::with_capacity(sources.len());
    for (source, plan_source) in sources.iter_mut().zip(plan_sources) {
        let raws = std::mem::take(&mut source.person_ids);
        let ids = tags_of(&raws, plan_source, &prefix, &link_prefixes, accepted);
        drop(raws);
        let raws = std::mem::take(&mut source.crosswalk_ids);
        let crosswalk = tags_of(&raws, plan_source, &prefix, &link_prefixes, |r| r.is_none());
        drop(raws);
        checked.push(ids.checked);
        tags.push(ids.tags);
        crosswalk_tags.push(crosswalk.tags);
        linked.push([ids.linked, crosswalk.linked]);
    }
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
    let linkage: Vec<Vec<u128>> = (0..links.len())
        .map(|l| {
            let mut by_person = vec![0u128; pseudonyms.len()];
            for ((t, x), [lt, lx]) in tags.iter().zip(&crosswalk_tags).zip(&linked) {
                for (tags, under_link) in [(t, &lt[l]), (x, &lx[l])] {
                    for (t, u) in tags.iter().zip(under_link) {
                        if let (Some(t), Some(u)) = (t, u) {
                            by_person[person_of(t) as usize] = *u;
                        }
                    }
                }
            }
            by_person
        })
        .collect();
    drop(linked);

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
            .map(|c| {
                c.reason
                    .filter(|_| !accepted(c.reason) && !walk_in(c.reason))
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
        distinct_values: checks.iter().filter(|c| !c.blank).count() as u64,
        ..IdCounts::default()
    };
    for &Checked { reason, kind, .. } in checks {
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
        if keep_invalid && kind.is_none() && reason != Some(Reason::MissingPersonId) {
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
