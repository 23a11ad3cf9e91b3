//! Re-identification risk of record-level data whose records are linked by a pseudonym.
//!
//! An outsider who knows a person's quasi-identifiers looks for her records. Because every record
//! of one person carries the same pseudonym, what he matches is the person's *profile*: the set of
//! quasi-identifier combinations over all her records (one combination when they do not change).
//! An equivalence class is the persons with one profile, and its size is counted in persons, not
//! records. A suppressed value (`*`) and a missing one are values of their own here, as an
//! outsider reads the file: that only makes classes smaller than a reading where `*` matches
//! anything, so k counted this way is a lower bound.
//!
//! ℓ-diversity is counted over persons too: a class is ℓ-diverse when its records hold at least ℓ
//! distinct values of the sensitive field and, for ℓ ≥ 2, no value is held by every person of the
//! class (else it would be inferred with certainty about each of them).

use std::collections::HashMap;

use serde::Serialize;

/// Risk measures of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Risk {
    pub records: u64,
    pub persons: u64,
    /// Equivalence classes (distinct profiles).
    pub classes: u64,
    /// Persons in the smallest class: the k the file achieves.
    pub smallest_class: u64,
    pub persons_below_k: u64,
    pub records_below_k: u64,
    /// Persons alone in their class (sample uniques).
    pub unique_persons: u64,
    /// Classes that are not ℓ-diverse (none without a sensitive field).
    pub classes_below_l: u64,
    /// The fewest distinct sensitive values in a class (none without a sensitive field).
    pub smallest_l: Option<u64>,
}

/// One record as the measure sees it: its person, its quasi-identifier values and its sensitive
/// value, each value an id (equal ids, equal values).
pub struct Records<'a> {
    pub person: &'a [u32],
    /// `quasi[j][record]`.
    pub quasi: &'a [Vec<u32>],
    pub sensitive: Option<&'a [u32]>,
    /// How many records each row stands for (one each when `None`).
    pub weight: Option<&'a [u64]>,
}

/// Measures classes, k and ℓ of `records` against the targets `k` and `l`.
#[must_use]
pub fn measure(records: &Records<'_>, k: u64, l: u64) -> Risk {
    let n = records.person.len();
    let q = records.quasi.len();
    // Records person by person; each person's profile is the sorted set of their combinations
    // (flat, `q` ids each), and only distinct profiles are kept, as classes.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by_key(|&r| records.person[r]);
    let mut classes: HashMap<Vec<u32>, Class> = HashMap::new();
    let mut at = 0;
    while at < n {
        let person = records.person[order[at]];
        let mut combinations: Vec<Vec<u32>> = Vec::new();
        let mut sensitive: Vec<u32> = Vec::new();
        let mut weight = 0;
        while at < n && records.person[order[at]] == person {
            let r = order[at];
            combinations.push(records.quasi.iter().map(|column| column[r]).collect());
            if let Some(s) = records.sensitive {
                sensitive.push(s[r]);
            }
            weight += records.weight.map_or(1, |w| w[r]);
            at += 1;
        }
        combinations.sort_unstable();
        combinations.dedup();
        sensitive.sort_unstable();
        sensitive.dedup();
        let mut profile = Vec::with_capacity(combinations.len() * q);
        for c in combinations {
            profile.extend(c);
        }
        let class = classes.entry(profile).or_default();
        class.persons += 1;
        class.records += weight;
        for v in sensitive {
            *class.holders.entry(v).or_insert(0) += 1;
        }
    }
    let mut risk = Risk {
        records: records.weight.map_or(n as u64, |w| w.iter().sum()),
        persons: classes.values().map(|c| c.persons).sum(),
        classes: classes.len() as u64,
        smallest_class: classes.values().map(|c| c.persons).min().unwrap_or(0),
        ..Risk::default()
    };
    for c in classes.values() {
        if c.persons < k {
            risk.persons_below_k += c.persons;
            risk.records_below_k += c.records;
        }
        if c.persons == 1 {
            risk.unique_persons += 1;
        }
        if records.sensitive.is_some() {
            let distinct = c.holders.len() as u64;
            risk.smallest_l = Some(risk.smallest_l.map_or(distinct, |s| s.min(distinct)));
            if !diverse(&c.holders, c.persons, l) {
                risk.classes_below_l += 1;
            }
        }
    }
    risk
}

/// Whether a class of `persons` whose sensitive values are held by `holders` (value → persons
/// holding it) is ℓ-diverse.
#[must_use]
pub fn diverse<V>(holders: &HashMap<V, u64>, persons: u64, l: u64) -> bool {
    holders.len() as u64 >= l && (l < 2 || holders.values().all(|&h| h < persons))
}

#[derive(Default)]
struct Class {
    persons: u64,
    records: u64,
    holders: HashMap<u32, u64>,
}

/// Gives each distinct text an id, in order of first appearance.
#[derive(Default)]
pub struct Interner {
    ids: HashMap<String, u32>,
}

impl Interner {
    /// The id of `value` (`None`, a missing value, is the empty text).
    pub fn id(&mut self, value: Option<&str>) -> u32 {
        let value = value.unwrap_or("");
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.insert(value.to_owned(), id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_counted_in_persons_over_their_profiles() {
        // Persons 0 and 1 share (F, 30-34) on all their records; person 2 has two combinations
        // (she moved district), so her profile is her own, though each combination is shared.
        let person = [0, 0, 1, 2, 2, 3];
        let gender = vec![0, 0, 0, 0, 0, 0];
        let district = vec![5, 5, 5, 5, 6, 6];
        let area = [1, 2, 1, 1, 1, 1];
        let risk = measure(
            &Records {
                person: &person,
                quasi: &[gender, district],
                sensitive: Some(&area),
                weight: None,
            },
            2,
            2,
        );
        assert_eq!(risk.persons, 4);
        assert_eq!(risk.records, 6);
        assert_eq!(risk.classes, 3);
        assert_eq!(risk.smallest_class, 1);
        assert_eq!(risk.unique_persons, 2);
        assert_eq!(risk.persons_below_k, 2);
        assert_eq!(risk.records_below_k, 3);
        // Class {0, 1}: values {1, 2}, but value 1 is held by both persons: inferred.
        assert_eq!(risk.classes_below_l, 3);
        assert_eq!(risk.smallest_l, Some(1));
    }

    #[test]
    fn a_value_every_person_holds_is_not_diverse() {
        let both: HashMap<u32, u64> = [(1, 3), (2, 1)].into_iter().collect();
        assert!(!diverse(&both, 3, 2));
        let spread: HashMap<u32, u64> = [(1, 2), (2, 1)].into_iter().collect();
        assert!(diverse(&spread, 3, 2));
        assert!(!diverse(&spread, 3, 3));
        assert!(diverse(&both, 3, 1));
    }
}
