//! Contribution bounding for differential privacy: what one person may add to one table.
//!
//! Bounding must be *stable*: which of a person's records are kept may depend on that person's own
//! records and on the key, never on anyone else's. Then adding or removing one person (or one of
//! their records) changes the bounded table only through that person's bounded contribution, and the
//! sensitivity OpenDP is told holds. Every choice here is therefore a keyed priority of the person's
//! pseudonym and of public codes alone:
//! 1. on each dimension declared one code per person (`per_person = "one"`), the person keeps the
//!    code of highest priority (records with their other codes are dropped);
//! 2. of the person's remaining cells, the `max_cells` of highest priority are kept;
//! 3. each kept cell counts at most `max_records` of the person's records.

use hmac::Mac;
use polars::prelude::*;
use rayon::prelude::*;

use super::{BoundingReport, Bounds};
use crate::ingest::columns;

/// Per person index, a secret 64-bit salt: the first 8 bytes of HMAC(seed, pseudonym). One HMAC per
/// distinct person, in parallel.
#[must_use]
pub fn person_salts(seed: &[u8; 32], pseudonyms: &[u128]) -> Vec<u64> {
    let Ok(mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(seed) else {
        unreachable!("HMAC takes keys of any length")
    };
    pseudonyms
        .par_iter()
        .map(|p| {
            let mut m = mac.clone();
            m.update(&p.to_be_bytes());
            let out = m.finalize().into_bytes();
            let mut first = [0u8; 8];
            first.copy_from_slice(&out[..8]);
            u64::from_be_bytes(first)
        })
        .collect()
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A public tag of codes: table, a step, and the positions of the named dimensions.
fn tag(table: usize, step: u64, codes: &[u32]) -> u64 {
    codes.iter().fold(
        mix((table as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ step),
        |h, &c| mix(h ^ u64::from(c).wrapping_add(0x632b_e59b_d9b4_e019)),
    )
}

/// The keyed priority of each row over the code columns `codes`, for its person's salt.
fn priorities(
    persons: &[u32],
    codes: &[&[u32]],
    salts: &[u64],
    table: usize,
    step: u64,
) -> Vec<u64> {
    let mut row = vec![0u32; codes.len()];
    persons
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            for (slot, c) in row.iter_mut().zip(codes) {
                *slot = c[i];
            }
            mix(salts[p as usize] ^ tag(table, step, &row))
        })
        .collect()
}

/// Bounds each person's contribution to table number `table`. `person_cells` holds one row per
/// (leaf cell, person) with the record count `__times`; `one_per_person[d]` says whether dimension
/// `d` is declared one code per person. The bounded rows come person by person, each person's in
/// the order of their cells' priorities.
///
/// Persons are dense indices (of `salts`), so every per-person choice is an array indexed by
/// person: a few passes over the rows, with no grouping or sorting of millions of rows.
///
/// # Errors
/// Polars errors, and a row without a person or with one outside `salts` (never built so: a DP
/// release has no walk-ins).
pub fn bound(
    person_cells: DataFrame,
    dim_names: &[String],
    one_per_person: &[bool],
    bounds: Bounds,
    salts: &[u64],
    table: usize,
) -> PolarsResult<(DataFrame, BoundingReport)> {
    let mut report = BoundingReport {
        bounds_max_cells: bounds.max_cells,
        bounds_max_records: bounds.max_records,
        removed_cap: u64::from(bounds.max_cells) * u64::from(bounds.max_records),
        ..BoundingReport::default()
    };
    let persons: Vec<u32> = person_cells
        .column(columns::PERSON)?
        .u32()?
        .iter()
        .map(|p| p.filter(|&p| (p as usize) < salts.len()))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            PolarsError::ComputeError("a row to bound has no person of the release".into())
        })?;
    let times: Vec<i64> = person_cells
        .column("__times")?
        .i64()?
        .iter()
        .map(|t| t.unwrap_or(0))
        .collect();
    // Each dimension's codes in one slice (a missing code, never built so, as `u32::MAX`).
    let codes: Vec<Vec<u32>> = dim_names
        .iter()
        .map(|d| {
            let c = person_cells.column(d)?.u32()?;
            Ok(c.iter().map(|v| v.unwrap_or(u32::MAX)).collect())
        })
        .collect::<PolarsResult<_>>()?;
    let codes: Vec<&[u32]> = codes.iter().map(Vec::as_slice).collect();
    let mut all = vec![0i64; salts.len()];
    for (&p, &t) in persons.iter().zip(&times) {
        all[p as usize] += t;
    }

    // 1. One code per person on declared dimensions, one dimension after the other: a row stays
    //    when its code has its person's highest priority among the rows still there.
    let mut alive = vec![true; persons.len()];
    for (d, (codes, &one)) in codes.iter().zip(one_per_person).enumerate() {
        if !one {
            continue;
        }
        let priority = priorities(&persons, &[*codes], salts, table, 1 + d as u64);
        // Priorities are unsigned, so 0 is below or at every one: the maximum needs no flag.
        let mut best = vec![0u64; salts.len()];
        for ((&p, &q), _) in persons
            .iter()
            .zip(&priority)
            .zip(&alive)
            .filter(|(_, a)| **a)
        {
            best[p as usize] = best[p as usize].max(q);
        }
        for ((a, &p), &q) in alive.iter_mut().zip(&persons).zip(&priority) {
            *a &= q == best[p as usize];
        }
    }
    let left: i64 = times
        .iter()
        .zip(&alive)
        .filter(|(_, a)| **a)
        .map(|(t, _)| t)
        .sum();
    report.records_other_codes = u64::try_from(all.iter().sum::<i64>() - left).unwrap_or(0);

    // 2. At most `max_cells` cells per person, by priority of the cell's codes: the rows still
    //    there, bucketed by person (in row order), each person's sorted by priority.
    let priority = priorities(&persons, &codes, salts, table, 0);
    let mut start = vec![0usize; salts.len() + 1];
    for (&p, _) in persons.iter().zip(&alive).filter(|(_, a)| **a) {
        start[p as usize + 1] += 1;
    }
    for i in 0..salts.len() {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; start[salts.len()]];
    for (i, (&p, _)) in persons
        .iter()
        .zip(&alive)
        .enumerate()
        .filter(|(_, (_, a))| **a)
    {
        order[next[p as usize]] = u32::try_from(i).map_err(|_| {
            PolarsError::ComputeError("more (cell, person) pairs than 32 bits index".into())
        })?;
        next[p as usize] += 1;
    }
    let max_cells = bounds.max_cells as usize;
    let mut keep: Vec<IdxSize> = Vec::with_capacity(order.len());
    for window in start.windows(2) {
        let mine = &mut order[window[0]..window[1]];
        mine.sort_unstable_by_key(|&i| priority[i as usize]);
        if mine.len() > max_cells {
            report.persons_over_cells += 1;
            report.cells_dropped += (mine.len() - max_cells) as u64;
        }
        keep.extend(mine.iter().take(max_cells).map(|&i| i as IdxSize));
    }

    // 3. At most `max_records` records per kept cell.
    let cap = i64::from(bounds.max_records);
    let mut kept_records = vec![0i64; salts.len()];
    for &i in &keep {
        let (p, t) = (persons[i as usize] as usize, times[i as usize]);
        report.records_clipped += u64::try_from(t - t.min(cap)).unwrap_or(0);
        kept_records[p] += t.min(cap);
    }
    let kept = person_cells.take(&IdxCa::from_vec("__keep".into(), keep))?;
    let bounded = kept
        .lazy()
        .with_column(
            when(col("__times").gt(lit(cap)))
                .then(lit(cap))
                .otherwise(col("__times"))
                .alias("__times"),
        )
        .collect()?;

    // What each person lost, for the release's noisy estimate of it.
    for (all, kept) in all.into_iter().zip(kept_records) {
        let removed = u64::try_from(all - kept).unwrap_or(0);
        report.persons_cut += u64::from(removed > 0);
        report.records_removed_capped += removed.min(report.removed_cap);
    }
    Ok((bounded, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sum of `__times` over `frame`.
    fn records(frame: &DataFrame) -> PolarsResult<u64> {
        let sum = frame.column("__times")?.i64()?.sum().unwrap_or(0);
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    /// (district, area, person, records) rows.
    type Row = (u32, u32, u32, i64);

    fn frame(rows: &[Row]) -> DataFrame {
        let col = |name: &str, f: fn(&Row) -> u32| {
            Column::new(name.into(), rows.iter().map(f).collect::<Vec<u32>>())
        };
        DataFrame::new_infer_height(vec![
            col("district", |r| r.0),
            col("area", |r| r.1),
            col(columns::PERSON, |r| r.2),
            Column::new(
                "__times".into(),
                rows.iter().map(|r| r.3).collect::<Vec<i64>>(),
            ),
        ])
        .expect("frame")
    }

    fn kept_of(out: &DataFrame, person: u32) -> Vec<(u32, u32, i64)> {
        let d = out.column("district").and_then(|c| c.u32()).expect("d");
        let a = out.column("area").and_then(|c| c.u32()).expect("a");
        let p = out
            .column(columns::PERSON)
            .and_then(|c| c.u32())
            .expect("p");
        let t = out.column("__times").and_then(|c| c.i64()).expect("t");
        let mut v: Vec<(u32, u32, i64)> = (0..out.height())
            .filter(|&i| p.get(i) == Some(person))
            .map(|i| {
                (
                    d.get(i).unwrap_or(0),
                    a.get(i).unwrap_or(0),
                    t.get(i).unwrap_or(0),
                )
            })
            .collect();
        v.sort_unstable();
        v
    }

    const BOUNDS: Bounds = Bounds {
        max_cells: 2,
        max_records: 3,
    };

    #[test]
    fn what_each_person_lost_is_counted_up_to_what_one_person_may_keep() {
        // Person 0 loses 2 records to clipping; person 1 nothing; person 2 loses a cell of 9 and
        // 6 clipped records, 21 in all, counted as 6 (2 cells × 3 records).
        let rows = [
            (0, 0, 0, 5),
            (0, 1, 0, 1),
            (0, 0, 1, 1),
            (0, 0, 2, 9),
            (0, 1, 2, 9),
            (1, 2, 2, 9),
        ];
        let salts = person_salts(&[3; 32], &[11, 22, 33]);
        let dims = ["district".to_owned(), "area".to_owned()];
        let (out, report) =
            bound(frame(&rows), &dims, &[false, false], BOUNDS, &salts, 0).expect("bound");
        assert_eq!(records(&out).expect("sum"), 1 + 3 + 1 + 6);
        assert_eq!(report.removed_cap, 6);
        assert_eq!(report.persons_cut, 2);
        assert_eq!(report.records_removed_capped, 2 + 6);
    }

    /// Person 0 lives in two districts and has five areas; others have many records. What person 0
    /// keeps must not change when another person is added or removed.
    #[test]
    fn a_persons_kept_cells_depend_on_their_own_records_only() {
        let person0 = [
            (0, 0, 0, 5),
            (0, 1, 0, 1),
            (1, 2, 0, 2),
            (1, 3, 0, 7),
            (0, 4, 0, 1),
        ];
        let others: Vec<Row> = (1..40)
            .flat_map(|p| (0..(p % 6)).map(move |a| (p % 3, a, p, i64::from(p % 5 + 1))))
            .collect();
        let salts = person_salts(&[7; 32], &(0..60u128).map(|p| p * 977).collect::<Vec<_>>());
        let one = [true, false];
        let dims = ["district".to_owned(), "area".to_owned()];
        let all: Vec<_> = person0.iter().chain(&others).copied().collect();
        let (out_all, report) = bound(frame(&all), &dims, &one, BOUNDS, &salts, 0).expect("bound");
        let (out_alone, _) = bound(frame(&person0), &dims, &one, BOUNDS, &salts, 0).expect("bound");
        let fewer: Vec<_> = person0.iter().chain(&others[..10]).copied().collect();
        let (out_fewer, _) = bound(frame(&fewer), &dims, &one, BOUNDS, &salts, 0).expect("bound");
        let kept = kept_of(&out_all, 0);
        assert_eq!(kept, kept_of(&out_alone, 0));
        assert_eq!(kept, kept_of(&out_fewer, 0));
        // One district, at most 2 cells, at most 3 records each.
        assert!(kept.len() <= 2 && !kept.is_empty(), "{kept:?}");
        assert!(
            kept.iter().all(|k| k.0 == kept[0].0 && k.2 <= 3),
            "{kept:?}"
        );
        assert!(report.records_other_codes > 0 && report.records_clipped > 0);
        // Another key chooses differently somewhere: the choice is keyed, not fixed.
        let other_salts = person_salts(&[9; 32], &(0..60u128).map(|p| p * 977).collect::<Vec<_>>());
        let (out_other, _) =
            bound(frame(&all), &dims, &one, BOUNDS, &other_salts, 0).expect("bound");
        assert!((0..40).any(|p| kept_of(&out_all, p) != kept_of(&out_other, p)));
    }

    /// Bounding written out person by person, as the module docs state it: the oracle the
    /// column-wise implementation must match row for row and count for count.
    fn bound_by_hand(
        rows: &[Row],
        one: [bool; 2],
        bounds: Bounds,
        salts: &[u64],
        table: usize,
    ) -> (Vec<Row>, BoundingReport) {
        use std::collections::BTreeMap;
        let prio = |person: u32, codes: &[u32], step: u64| {
            mix(salts[person as usize] ^ tag(table, step, codes))
        };
        let mut report = BoundingReport {
            bounds_max_cells: bounds.max_cells,
            bounds_max_records: bounds.max_records,
            removed_cap: u64::from(bounds.max_cells) * u64::from(bounds.max_records),
            ..BoundingReport::default()
        };
        let mut by_person: BTreeMap<u32, Vec<Row>> = BTreeMap::new();
        for r in rows {
            by_person.entry(r.2).or_default().push(*r);
        }
        let mut out = Vec::new();
        for (person, mut mine) in by_person {
            let all: i64 = mine.iter().map(|r| r.3).sum();
            for (d, &one) in one.iter().enumerate() {
                if !one {
                    continue;
                }
                let code = |r: &Row| if d == 0 { r.0 } else { r.1 };
                let best = mine
                    .iter()
                    .max_by_key(|r| prio(person, &[code(r)], 1 + d as u64))
                    .map(code);
                let before: i64 = mine.iter().map(|r| r.3).sum();
                mine.retain(|r| Some(code(r)) == best);
                let after: i64 = mine.iter().map(|r| r.3).sum();
                report.records_other_codes += u64::try_from(before - after).expect("fewer");
            }
            mine.sort_by_key(|r| prio(person, &[r.0, r.1], 0));
            let cells = mine.len();
            let max = bounds.max_cells as usize;
            if cells > max {
                report.persons_over_cells += 1;
                report.cells_dropped += (cells - max) as u64;
                mine.truncate(max);
            }
            let cap = i64::from(bounds.max_records);
            report.records_clipped += mine.iter().map(|r| (r.3 - cap).max(0)).sum::<i64>() as u64;
            let kept: i64 = mine.iter().map(|r| r.3.min(cap)).sum();
            let removed = u64::try_from(all - kept).expect("fewer");
            report.persons_cut += u64::from(removed > 0);
            report.records_removed_capped += removed.min(report.removed_cap);
            out.extend(mine.into_iter().map(|r| (r.0, r.1, r.2, r.3.min(cap))));
        }
        (out, report)
    }

    #[test]
    fn bounding_matches_the_rule_written_out_person_by_person() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        // 2 000 persons, each with up to 12 distinct (district, area) cells of 1 to 9 records.
        let mut rows: Vec<Row> = Vec::new();
        for person in 0..2_000u32 {
            let mut cells = std::collections::BTreeSet::new();
            for _ in 0..rng.random_range(1..=12) {
                cells.insert((rng.random_range(0..9u32), rng.random_range(0..8u32)));
            }
            rows.extend(
                cells
                    .into_iter()
                    .map(|(d, a)| (d, a, person, rng.random_range(1..=9i64))),
            );
        }
        // Rows in no particular order, as a group-by leaves them.
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.random_range(0..=i));
        }
        let salts = person_salts(
            &[4; 32],
            &(0..2_000u128).map(|p| p * 7_919).collect::<Vec<_>>(),
        );
        let dims = ["district".to_owned(), "area".to_owned()];
        for one in [[false, false], [true, false], [true, true]] {
            for (bounds, table) in [
                (BOUNDS, 0),
                (
                    Bounds {
                        max_cells: 5,
                        max_records: 1,
                    },
                    3,
                ),
            ] {
                let (out, report) =
                    bound(frame(&rows), &dims, &one, bounds, &salts, table).expect("bound");
                let (mut expected, expected_report) =
                    bound_by_hand(&rows, one, bounds, &salts, table);
                let mut got: Vec<Row> = (0..2_000)
                    .flat_map(|p| {
                        kept_of(&out, p)
                            .into_iter()
                            .map(move |(d, a, t)| (d, a, p, t))
                    })
                    .collect();
                got.sort_unstable();
                expected.sort_unstable();
                assert_eq!(got.len(), out.height());
                assert_eq!(got, expected, "{one:?} {bounds:?}");
                assert_eq!(format!("{report:?}"), format!("{expected_report:?}"));
                // Every step binds somewhere.
                assert!(report.records_clipped > 0);
                assert!(report.cells_dropped > 0 || one != [false, false]);
                assert_eq!(report.records_other_codes > 0, one[0]);
                // Person by person, in the order of their priorities.
                let persons = out
                    .column(columns::PERSON)
                    .and_then(|c| c.u32())
                    .expect("p");
                assert!(persons.iter().is_sorted());
            }
        }
    }
}
