//! k-anonymity by generalisation and local suppression, chosen to lose the least.
//!
//! Every combination of the quasi-identifiers' allowed levels (a node of the generalisation
//! lattice) is tried. At each node, persons whose class (see [`crate::attacker::risk`]) is below k or not
//! ℓ-diverse have values suppressed: for suppression patterns in order of cost (one
//! quasi-identifier first, the one with most distinct values first, then two, …), the open
//! persons are grouped by their profile with the pattern's values replaced by `*`, and every
//! group that is safe (at least k persons, ℓ-diverse) is released so. What is left after every
//! value is suppressed borrows persons, fully suppressed, from the largest classes that can spare
//! them. Suppression works per person: a person's suppressed value is suppressed on every record
//! of theirs, since the records are linked.
//!
//! The loss of a node is, summed over persons and quasi-identifiers, 1 for a suppressed value and
//! `i / n` for a value released at the `i`-th of its `n` allowed levels (0 at the finest). The
//! node of least loss whose suppression stays within the allowed share of persons is chosen.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::attacker::risk::diverse;

/// A suppressed value in a profile.
const SUPPRESSED: u32 = u32::MAX;

/// The persons of one output as the search sees them, flat: person `p`'s combinations of raw
/// quasi-identifier value ids are `raw[start[p] * q .. start[p + 1] * q]`, `q` ids each, and its
/// distinct sensitive values `sensitive[sensitive_start[p] .. sensitive_start[p + 1]]`.
pub struct Population {
    pub q: usize,
    pub raw: Vec<u32>,
    pub start: Vec<usize>,
    pub sensitive: Vec<u32>,
    pub sensitive_start: Vec<usize>,
}

impl Population {
    fn persons(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    fn sensitive_of(&self, p: usize) -> &[u32] {
        &self.sensitive[self.sensitive_start[p]..self.sensitive_start[p + 1]]
    }
}

/// What the search may do with one quasi-identifier: per allowed level, finest first, the
/// generalised code of each raw value id.
pub struct Axis {
    pub levels: Vec<Vec<u32>>,
}

/// The chosen way to release.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Per quasi-identifier, the index of its chosen level.
    pub levels: Vec<usize>,
    /// Per person, the quasi-identifiers suppressed (bit `j` for the `j`-th).
    pub masks: Vec<u32>,
    pub loss: f64,
}

/// The targets.
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub k: u64,
    pub l: u64,
    /// Largest share of persons with a suppressed value.
    pub max_suppressed_share: f64,
}

/// Why no node reaches the targets.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// The smallest share of persons with a suppressed value over all nodes (1 when even full
    /// suppression cannot reach k, e.g. fewer than k persons).
    pub best_share: f64,
    /// Persons below k (or not ℓ-diverse) at the coarsest node with nothing suppressed.
    pub unsafe_coarsest: u64,
    /// Per quasi-identifier: persons below k at the coarsest node when that one is left out.
    pub unsafe_without: Vec<u64>,
}

/// A node of the lattice, with its suppression and loss when it reaches the targets.
type Tried = (Vec<usize>, Option<(Vec<u32>, f64)>);

/// Finds the node of least loss and its suppression.
///
/// # Errors
/// [`Unreachable`] when no node reaches k and ℓ within the allowed suppression.
pub fn search(
    population: &Population,
    axes: &[Axis],
    targets: Targets,
) -> Result<Decision, Unreachable> {
    let nodes = lattice(axes);
    let persons = population.persons();
    let tried: Vec<Tried> = nodes
        .into_par_iter()
        .map(|node| {
            let profiles = generalise(population, axes, &node);
            let masks = suppress(&profiles, population, population.q, targets);
            let scored = masks.map(|m| {
                let loss = loss(&m, axes, &node);
                (m, loss)
            });
            (node, scored)
        })
        .collect();
    let share = |m: &[u32]| {
        #[allow(clippy::cast_precision_loss, reason = "a share")]
        let s = m.iter().filter(|&&x| x != 0).count() as f64 / persons.max(1) as f64;
        s
    };
    let best = tried
        .iter()
        .filter_map(|(node, scored)| scored.as_ref().map(|(m, loss)| (node, m, *loss)))
        .filter(|(_, m, _)| share(m) <= targets.max_suppressed_share)
        .min_by(|a, b| a.2.total_cmp(&b.2).then_with(|| a.0.cmp(b.0)));
    if let Some((node, masks, loss)) = best {
        return Ok(Decision {
            levels: node.clone(),
            masks: masks.clone(),
            loss,
        });
    }
    let best_share = tried
        .iter()
        .filter_map(|(_, scored)| scored.as_ref().map(|(m, _)| share(m)))
        .min_by(f64::total_cmp)
        .unwrap_or(1.0);
    let coarsest: Vec<usize> = axes.iter().map(|a| a.levels.len() - 1).collect();
    let profiles = generalise(population, axes, &coarsest);
    let unsafe_with = |mask: u32| -> u64 {
        let everyone: Vec<usize> = (0..persons).collect();
        group(&profiles, &everyone, mask, population.q)
            .into_values()
            .filter(|g| !safe(g, population, targets))
            .map(|g| g.len() as u64)
            .sum()
    };
    Err(Unreachable {
        best_share,
        unsafe_coarsest: unsafe_with(0),
        unsafe_without: (0..axes.len()).map(|j| unsafe_with(1 << j)).collect(),
    })
}

/// Every combination of level indices, finest first.
fn lattice(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut nodes = vec![Vec::new()];
    for a in axes {
        nodes = nodes
            .into_iter()
            .flat_map(|n| {
                (0..a.levels.len()).map(move |i| {
                    let mut m = n.clone();
                    m.push(i);
                    m
                })
            })
            .collect();
    }
    nodes
}

/// A person's profile: their combinations, `q` codes each, sorted and deduplicated, flat.
type Profile = Vec<u32>;

/// Sorts the `q`-code combinations of a flat profile and removes repeats.
fn normalise(mut flat: Vec<u32>, q: usize) -> Profile {
    if flat.len() <= q || q == 0 {
        return flat;
    }
    let mut combos: Vec<&[u32]> = flat.chunks(q).collect();
    combos.sort_unstable();
    combos.dedup();
    let sorted: Vec<u32> = combos.concat();
    flat.clear();
    flat.extend(sorted);
    flat
}

/// Each person's profile at a node's levels.
fn generalise(population: &Population, axes: &[Axis], node: &[usize]) -> Vec<Profile> {
    let q = population.q;
    (0..population.persons())
        .map(|p| {
            let raw = &population.raw[population.start[p] * q..population.start[p + 1] * q];
            let flat: Vec<u32> = raw
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let j = i % q;
                    axes[j].levels[node[j]][v as usize]
                })
                .collect();
            normalise(flat, q)
        })
        .collect()
}

/// The persons grouped by profile with the `mask`'s quasi-identifiers suppressed.
fn group(
    profiles: &[Profile],
    persons: &[usize],
    mask: u32,
    q: usize,
) -> HashMap<Profile, Vec<usize>> {
    let mut groups: HashMap<Profile, Vec<usize>> = HashMap::new();
    for &p in persons {
        let key = if mask == 0 {
            profiles[p].clone()
        } else {
            let flat: Vec<u32> = profiles[p]
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if mask & (1 << (i % q)) != 0 {
                        SUPPRESSED
                    } else {
                        v
                    }
                })
                .collect();
            normalise(flat, q)
        };
        groups.entry(key).or_default().push(p);
    }
    groups
}

/// Whether a group of persons is a safe class: at least k of them, ℓ-diverse.
fn safe(persons: &[usize], population: &Population, targets: Targets) -> bool {
    if (persons.len() as u64) < targets.k {
        return false;
    }
    if targets.l <= 1 {
        return true;
    }
    let mut holders: HashMap<u32, u64> = HashMap::new();
    for &p in persons {
        for &v in population.sensitive_of(p) {
            *holders.entry(v).or_insert(0) += 1;
        }
    }
    diverse(&holders, persons.len() as u64, targets.l)
}

/// Suppression patterns in the order they are tried: fewer quasi-identifiers first; among as
/// many, those with more distinct values first (suppressing them merges the most).
fn patterns(profiles: &[Profile], q: usize) -> Vec<u32> {
    let distinct: Vec<usize> = (0..q)
        .map(|j| {
            let mut values: Vec<u32> = profiles
                .iter()
                .flat_map(|p| p.iter().skip(j).step_by(q).copied())
                .collect();
            values.sort_unstable();
            values.dedup();
            values.len()
        })
        .collect();
    let mut masks: Vec<u32> = (1..(1u32 << q)).collect();
    masks.sort_by_key(|&m| {
        let spread: usize = (0..q)
            .filter(|j| m & (1 << j) != 0)
            .map(|j| distinct[j])
            .sum();
        (m.count_ones(), std::cmp::Reverse(spread), m)
    });
    masks
}

/// Per person, the quasi-identifiers to suppress so that every class is safe; `None` when even
/// full suppression and borrowing cannot make it.
fn suppress(
    profiles: &[Profile],
    population: &Population,
    q: usize,
    targets: Targets,
) -> Option<Vec<u32>> {
    let everyone: Vec<usize> = (0..profiles.len()).collect();
    let mut masks = vec![0u32; profiles.len()];
    let mut classes: Vec<Vec<usize>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for g in group(profiles, &everyone, 0, q).into_values() {
        if safe(&g, population, targets) {
            classes.push(g);
        } else {
            open.extend(g);
        }
    }
    for mask in patterns(profiles, q) {
        if open.is_empty() {
            break;
        }
        let mut still = Vec::new();
        let mut groups: Vec<Vec<usize>> = group(profiles, &open, mask, q).into_values().collect();
        groups.sort_unstable();
        for g in groups {
            if safe(&g, population, targets) {
                for &p in &g {
                    masks[p] = mask;
                }
                classes.push(g);
            } else {
                still.extend(g);
            }
        }
        open = still;
    }
    if open.is_empty() {
        return Some(masks);
    }
    // The fully suppressed remainder borrows persons from the classes that can spare them, else
    // takes in the smallest class whole.
    let full = (1u32 << q) - 1;
    open.sort_unstable();
    while !safe(&open, population, targets) {
        classes.sort_by_key(|c| (std::cmp::Reverse(c.len()), c.first().copied()));
        let spare = classes
            .iter()
            .position(|c| c.len() > 1 && safe(&c[..c.len() - 1], population, targets));
        match spare {
            Some(i) => open.extend(classes[i].pop()),
            None => open.extend(classes.pop()?),
        }
    }
    for &p in &open {
        masks[p] = full;
    }
    Some(masks)
}

fn loss(masks: &[u32], axes: &[Axis], node: &[usize]) -> f64 {
    masks
        .iter()
        .map(|&m| {
            axes.iter()
                .zip(node)
                .enumerate()
                .map(|(j, (a, &i))| {
                    if m & (1 << j) != 0 {
                        1.0
                    } else {
                        #[allow(clippy::cast_precision_loss, reason = "level counts are small")]
                        let l = i as f64 / a.levels.len() as f64;
                        l
                    }
                })
                .sum::<f64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Persons with one combination of two quasi-identifiers each (raw ids) and one sensitive
    /// value.
    fn population(rows: &[(u32, u32, u32)]) -> Population {
        Population {
            q: 2,
            raw: rows.iter().flat_map(|&(a, b, _)| [a, b]).collect(),
            start: (0..=rows.len()).collect(),
            sensitive: rows.iter().map(|&(_, _, s)| s).collect(),
            sensitive_start: (0..=rows.len()).collect(),
        }
    }

    /// Keeps raw ids below `n` as they are.
    fn keep(n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    /// Two quasi-identifiers, each released as it is.
    fn kept_pair() -> [Axis; 2] {
        [
            Axis {
                levels: vec![keep(100)],
            },
            Axis {
                levels: vec![keep(100)],
            },
        ]
    }

    fn targets(k: u64, l: u64, max_suppressed_share: f64) -> Targets {
        Targets {
            k,
            l,
            max_suppressed_share,
        }
    }

    #[test]
    fn a_lone_person_is_suppressed_on_the_identifying_value_only() {
        // Three persons share (1, 10); (1, 77) and (1, 78) are alone, and merge into a class of
        // two when their second value is suppressed.
        let pop = population(&[(1, 10, 0), (1, 10, 1), (1, 10, 0), (1, 77, 0), (1, 78, 1)]);
        let axes = kept_pair();
        let d = search(&pop, &axes, targets(2, 1, 1.0)).expect("reachable");
        assert_eq!(d.masks, vec![0, 0, 0, 0b10, 0b10]);
        assert!((d.loss - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_coarser_level_wins_when_it_loses_less_than_suppression() {
        // Ages 31..=36 are all unique; in tens they are one class.
        let pop = population(&[
            (31, 1, 0),
            (32, 1, 1),
            (33, 1, 0),
            (34, 1, 1),
            (35, 1, 0),
            (36, 1, 1),
        ]);
        let tens: Vec<u32> = (0..100).map(|v| v / 10).collect();
        let axes = [
            Axis {
                levels: vec![keep(100), tens],
            },
            Axis {
                levels: vec![keep(100)],
            },
        ];
        let d = search(&pop, &axes, targets(3, 2, 0.5)).expect("reachable");
        assert_eq!(d.levels, vec![1, 0]);
        assert!(d.masks.iter().all(|&m| m == 0));
    }

    #[test]
    fn too_few_persons_cannot_reach_k_and_the_culprit_is_named() {
        let pop = population(&[(1, 10, 0), (2, 10, 1)]);
        let axes = kept_pair();
        let e = search(&pop, &axes, targets(3, 1, 1.0))
            .expect_err("two persons cannot make a class of three");
        assert_eq!(e.unsafe_coarsest, 2);
        assert_eq!(e.unsafe_without, vec![2, 2]);
    }

    #[test]
    fn a_homogeneous_class_is_not_released_as_it_is() {
        // Three persons share everything and all hold sensitive value 5: not 2-diverse, so they
        // are suppressed into one class with the others.
        let pop = population(&[
            (1, 10, 5),
            (1, 10, 5),
            (1, 10, 5),
            (1, 20, 1),
            (1, 20, 2),
            (1, 20, 3),
        ]);
        let axes = kept_pair();
        let d = search(&pop, &axes, targets(3, 2, 1.0)).expect("reachable");
        assert!(d.masks[..3].iter().all(|&m| m != 0), "{:?}", d.masks);
    }

    #[test]
    fn a_person_with_two_combinations_is_matched_on_both() {
        // Persons 0 and 1 moved between districts 10 and 20; person 2 stayed in 10, person 3 in
        // 20. Each district has three persons' records, but the profiles {10, 20}, {10} and {20}
        // hold two, one and one persons: below k = 3, so values are suppressed.
        let pop = Population {
            q: 1,
            raw: vec![10, 20, 10, 20, 10, 20],
            start: vec![0, 2, 4, 5, 6],
            sensitive: vec![],
            sensitive_start: vec![0, 0, 0, 0, 0],
        };
        let axes = [Axis {
            levels: vec![keep(100)],
        }];
        let d = search(&pop, &axes, targets(3, 1, 1.0)).expect("reachable");
        assert!(d.masks.iter().all(|&m| m != 0), "{:?}", d.masks);
    }
}
