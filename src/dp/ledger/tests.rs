#![allow(
    clippy::disallowed_methods,
    reason = "tests damage the ledger on purpose"
)]

use super::*;
use crate::config::raw::Mechanism;

fn charge(release: &str, charged: f64, cap: DpCap) -> Charge<'_> {
    Charge {
        dataset: "kaohsiung-contacts",
        release,
        mechanism: Mechanism::Laplace,
        loss: charged,
        charged,
        cap,
        pipeline_sha256: "abc",
    }
}

fn spend(l: &Ledger, release: &str, charged: f64) -> Result<String, LedgerError> {
    l.reserve(&charge(release, charged, DpCap::Epsilon(2.0)))
}

#[test]
fn refuses_the_release_that_would_cross_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = Ledger::at(&dir.path().join("ledger.jsonl"));
    let a = spend(&l, "2025h1", 1.0).expect("first fits");
    l.record(&a, Ok("sha")).expect("records");
    spend(&l, "2025h2", 0.75).expect("second fits");
    let err = spend(&l, "2026h1", 0.5).expect_err("third passes the cap");
    assert!(matches!(err, LedgerError::OverCap { .. }), "{err}");
    let s = l
        .standing("kaohsiung-contacts", DpCap::Epsilon(2.0))
        .expect("reads");
    assert!((s.spent - 1.75).abs() < 1e-12 && (s.remaining - 0.25).abs() < 1e-12);
    assert_eq!((s.releases, s.published), (2, 1));
    // The refused release left no entry.
    assert_eq!(l.entries().expect("reads").len(), 3);
}

#[test]
fn a_cap_cannot_be_restated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = Ledger::at(&dir.path().join("ledger.jsonl"));
    spend(&l, "a", 1.0).expect("fits");
    let err = l
        .reserve(&charge("b", 1.0, DpCap::Epsilon(9.0)))
        .expect_err("raised cap");
    assert!(matches!(err, LedgerError::CapMismatch { .. }));
}

#[test]
fn a_torn_last_line_is_cut_off_and_a_damaged_one_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.jsonl");
    let l = Ledger::at(&path);
    spend(&l, "a", 1.0).expect("fits");
    let mut f = OpenOptions::new().append(true).open(&path).expect("opens");
    f.write_all(b"{\"event\":\"spend\",\"id\":\"b")
        .expect("writes");
    drop(f);
    spend(&l, "c", 0.5).expect("the torn line is dropped, not counted");
    let s = l
        .standing("kaohsiung-contacts", DpCap::Epsilon(2.0))
        .expect("reads");
    assert!((s.spent - 1.5).abs() < 1e-12);
    std::fs::write(&path, "garbage\n").expect("writes");
    assert!(matches!(
        spend(&l, "d", 0.1),
        Err(LedgerError::Corrupt { line: 1, .. })
    ));
}

#[test]
fn an_edited_removed_or_negative_entry_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.jsonl");
    let l = Ledger::at(&path);
    for r in ["a", "b", "c"] {
        spend(&l, r, 0.5).expect("fits");
    }
    let head = l.standings_and_head().expect("reads").1;
    assert_ne!(head, GENESIS);
    let text = std::fs::read_to_string(&path).expect("reads");
    let lines: Vec<&str> = text.lines().collect();
    let damaged = |lines: &[String]| {
        std::fs::write(&path, lines.join("\n") + "\n").expect("writes");
        match spend(&l, "d", 0.1) {
            Err(LedgerError::Corrupt { line, message, .. }) => (line, message),
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    // The first spend lowered from 0.5 to 0.1: the next line no longer chains to it.
    let edited: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if i == 0 {
                x.replace("\"charged\":0.5", "\"charged\":0.1")
            } else {
                (*x).to_owned()
            }
        })
        .collect();
    assert_ne!(edited[0], lines[0]);
    assert_eq!(damaged(&edited).0, 2);
    // The second entry removed.
    let removed: Vec<String> = [lines[0], lines[2]]
        .iter()
        .map(|x| (*x).to_owned())
        .collect();
    assert_eq!(damaged(&removed).0, 2);
    // A negative spend appended with a correct link: it would raise what remains.
    let mut negative: Vec<String> = lines.iter().map(|x| (*x).to_owned()).collect();
    negative.push(
        lines[2]
            .replace("\"charged\":0.5", "\"charged\":-100.0")
            .replace("\"loss\":0.5", "\"loss\":-100.0")
            .split("\"prev\":")
            .next()
            .expect("has prev")
            .to_owned()
            + &format!("\"prev\":\"{head}\"}}"),
    );
    let (line, message) = damaged(&negative);
    assert_eq!(line, 4);
    assert!(message.contains("positive finite"), "{message}");
    // The untouched ledger is still accepted.
    std::fs::write(&path, &text).expect("writes");
    spend(&l, "d", 0.1).expect("fits");
}

#[test]
fn concurrent_runs_cannot_both_spend_the_last_of_the_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.jsonl");
    let ok: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                s.spawn(move || spend(&Ledger::at(&path), &format!("r{i}"), 0.5).is_ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap_or(false)))
            .sum()
    });
    assert_eq!(ok, 4, "cap 2.0 holds exactly four spends of 0.5");
    assert_eq!(Ledger::at(&path).entries().expect("reads").len(), 4);
}
