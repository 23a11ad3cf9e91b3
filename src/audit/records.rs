//! Record-level outputs, from their files alone: the columns the manifest and the dictionary
//! declare, one well-formed pseudonym per record, no exact date, and the k and ℓ the manifest
//! promises, recomputed over persons ([`crate::attacker::risk`]).

use std::sync::LazyLock;

use regex::Regex;

use super::*;
use crate::attacker::risk::{Interner, Records, measure};

/// One record-level file as the audit measured it.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub file: String,
    pub k: u32,
    pub l: Option<u32>,
    #[serde(flatten)]
    pub risk: crate::attacker::risk::Risk,
}

/// A full calendar day, ISO or ROC (`2025-03-14`, `114/03/14`, `1985年3月2日`).
static EXACT_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:\d{4}-\d{1,2}-\d{1,2}|\d{2,4}[/.]\d{1,2}[/.]\d{1,2}|\d{2,4}年\d{1,2}月\d{1,2}日)",
    )
    .expect("the date pattern is valid")
});

pub(super) fn check_microdata(
    dir: &Path,
    manifest: &Manifest,
    dictionary: &HashMap<String, HashSet<String>>,
    report: &mut Report,
) {
    for m in &manifest.microdata {
        let declared: Vec<&str> = std::iter::once(m.pseudonym.column.as_str())
            .chain(m.fields.iter().map(|f| f.name.as_str()))
            .collect();
        for f in m.files.iter().filter(|f| is_plain_name(&f.name)) {
            let name = f.name.as_str();
            let frame = match TextColumns::read(&dir.join(name)) {
                Ok(frame) => frame,
                Err(e) => {
                    report.fail(
                        Check::Microdata,
                        Some(name),
                        None,
                        format!("cannot be read: {e}"),
                    );
                    continue;
                }
            };
            if frame
                .names
                .iter()
                .map(String::as_str)
                .ne(declared.iter().copied())
            {
                report.fail(
                    Check::Structure,
                    Some(name),
                    Some(1),
                    format!(
                        "columns are `{}`, the manifest declares `{}`",
                        frame.names.join(","),
                        declared.join(",")
                    ),
                );
                continue;
            }
            for c in &frame.names {
                if !dictionary.get(&m.name).is_some_and(|cols| cols.contains(c)) {
                    report.fail(
                        Check::Dictionary,
                        Some(name),
                        Some(1),
                        format!("column `{c}` is not in the data dictionary"),
                    );
                }
            }
            if frame.height as u64 != m.records {
                report.fail(
                    Check::Microdata,
                    Some(name),
                    None,
                    format!("{} records, the manifest says {}", frame.height, m.records),
                );
            }
            for (i, pseudonym) in frame.columns[0].iter().enumerate() {
                let pseudonym = pseudonym.unwrap_or("");
                if pseudonym.len() != 32
                    || !pseudonym
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    report.fail(
                        Check::Microdata,
                        Some(name),
                        Some(i + 2),
                        "the pseudonym is not 32 lower-case hexadecimal digits".into(),
                    );
                }
            }
            for (column, values) in frame.names.iter().zip(&frame.columns).skip(1) {
                for (i, value) in values.iter().enumerate() {
                    if value.is_some_and(|v| EXACT_DATE.is_match(v)) {
                        report.fail(
                            Check::Microdata,
                            Some(name),
                            Some(i + 2),
                            format!("column `{column}` holds an exact date"),
                        );
                    }
                }
            }
            check_anonymity(m, &frame, name, report);
        }
    }
}

/// k and ℓ over persons, as the manifest promises them.
fn check_anonymity(m: &read::Microdata, frame: &TextColumns, name: &str, report: &mut Report) {
    let column = |field: &str| frame.column(field);
    let ids = |c: usize| -> Vec<u32> {
        let mut interner = Interner::default();
        frame.columns[c].iter().map(|v| interner.id(v)).collect()
    };
    let mut quasi = Vec::new();
    for q in &m.quasi_identifiers {
        let Some(c) = column(q) else {
            report.fail(
                Check::Microdata,
                Some(name),
                None,
                format!("quasi-identifier `{q}` is not a column"),
            );
            return;
        };
        quasi.push(ids(c));
    }
    let sensitive = match &m.sensitive {
        Some(s) => {
            let Some(c) = column(s) else {
                report.fail(
                    Check::Microdata,
                    Some(name),
                    None,
                    format!("sensitive field `{s}` is not a column"),
                );
                return;
            };
            Some(ids(c))
        }
        None => None,
    };
    let person = ids(0);
    let l = m.l.filter(|_| sensitive.is_some()).unwrap_or(1);
    let risk = measure(
        &Records {
            person: &person,
            quasi: &quasi,
            sensitive: sensitive.as_deref(),
            weight: None,
        },
        u64::from(m.k),
        u64::from(l),
    );
    if risk.persons > 0 && risk.smallest_class < u64::from(m.k) {
        report.fail(
            Check::Microdata,
            Some(name),
            None,
            format!(
                "not {}-anonymous: {} persons ({} records) are in classes smaller than {} (the smallest holds {})",
                m.k, risk.persons_below_k, risk.records_below_k, m.k, risk.smallest_class
            ),
        );
    }
    if risk.classes_below_l > 0 {
        report.fail(
            Check::Microdata,
            Some(name),
            None,
            format!(
                "not {l}-diverse: {} classes hold fewer than {l} distinct values of `{}`, or one that every person of the class has",
                risk.classes_below_l,
                m.sensitive.as_deref().unwrap_or_default()
            ),
        );
    }
    report.microdata.push(Measured {
        file: name.to_owned(),
        k: m.k,
        l: m.l,
        risk: risk.clone(),
    });
    if risk.persons != m.persons {
        report.fail(
            Check::Microdata,
            Some(name),
            None,
            format!("{} persons, the manifest says {}", risk.persons, m.persons),
        );
    }
}
