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
pub const SUPPRESSED: i64 = i64::MIN;
/// A missing value in a profile.
pub const MISSING: i64 = i64::MIN + 1;

/// The persons of one output as the search sees them.
pub struct Population {
    /// Per person, the distinct combinations of raw quasi-identifier values.
    pub combinations: Vec<Vec<Vec<Option<i64>>>>,
    /// Per person, the distinct sensitive values (empty without a sensitive field).
    pub sensitive: Vec<Vec<u32>>,
}

/// What the search may do with one quasi-identifier.
pub struct Axis<'a> {
    /// Allowed levels, finest first: each maps a raw value to its generalised value.
    pub levels: Vec<&'a (dyn Fn(Option<i64>) -> Option<i64> + Sync)>,
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
    axes: &[Axis<'_>],
    targets: Targets,
) -> Result<Decision, Unreachable> {
    let nodes = lattice(axes);
    let persons = population.combinations.len();
    let tried: Vec<Tried> = nodes
        .into_par_iter()
        .map(|node| {
            let profiles = generalise(population, axes, &node);
            let masks = suppress(&profiles, population, axes.len(), targets);
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
        group(&profiles, &everyone, mask)
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
fn lattice(axes: &[Axis<'_>]) -> Vec<Vec<usize>> {
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

/// Each person's combinations at a node's levels, deduplicated.
fn generalise(population: &Population, axes: &[Axis<'_>], node: &[usize]) -> Vec<Vec<Vec<i64>>> {
    population
        .combinations
        .iter()
        .map(|combos| {
            let mut out: Vec<Vec<i64>> = combos
                .iter()
                .map(|c| {
                    c.iter()
                        .zip(axes.iter().zip(node))
                        .map(|(v, (a, &i))| (a.levels[i])(*v).unwrap_or(MISSING))
                        .collect()
                })
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}

/// The persons grouped by profile with the `mask`'s quasi-identifiers suppressed.
fn group(
    profiles: &[Vec<Vec<i64>>],
    persons: &[usize],
    mask: u32,
) -> HashMap<Vec<Vec<i64>>, Vec<usize>> {
    let mut groups: HashMap<Vec<Vec<i64>>, Vec<usize>> = HashMap::new();
    for &p in persons {
        let mut profile: Vec<Vec<i64>> = profiles[p]
            .iter()
            .map(|c| {
                c.iter()
                    .enumerate()
                    .map(|(j, &v)| if mask & (1 << j) != 0 { SUPPRESSED } else { v })
                    .collect()
            })
            .collect();
        profile.sort_unstable();
        profile.dedup();
        groups.entry(profile).or_default().push(p);
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
        for &v in &population.sensitive[p] {
            *holders.entry(v).or_insert(0) += 1;
        }
    }
    diverse(&holders, persons.len() as u64, targets.l)
}

/// Suppression patterns in the order they are tried: fewer quasi-identifiers first; among as
/// many, those with more distinct values first (suppressing them merges the most).
fn patterns(profiles: &[Vec<Vec<i64>>], q: usize) -> Vec<u32> {
    let distinct: Vec<usize> = (0..q)
        .map(|j| {
            let mut values: Vec<i64> = profiles.iter().flatten().map(|c| c[j]).collect();
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
    profiles: &[Vec<Vec<i64>>],
    population: &Population,
    q: usize,
    targets: Targets,
) -> Option<Vec<u32>> {
    let everyone: Vec<usize> = (0..profiles.len()).collect();
    let mut masks = vec![0u32; profiles.len()];
    let mut classes: Vec<Vec<usize>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for g in group(profiles, &everyone, 0).into_values() {
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
        let mut groups: Vec<Vec<usize>> = group(profiles, &open, mask).into_values().collect();
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

fn loss(masks: &[u32], axes: &[Axis<'_>], node: &[usize]) -> f64 {
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

    fn keep(v: Option<i64>) -> Option<i64> {
        v
    }
    fn tens(v: Option<i64>) -> Option<i64> {
        v.map(|x| x / 10)
    }

    fn population(rows: &[(i64, i64, u32)]) -> Population {
        Population {
            combinations: rows
                .iter()
                .map(|&(a, b, _)| vec![vec![Some(a), Some(b)]])
                .collect(),
            sensitive: rows.iter().map(|&(_, _, s)| vec![s]).collect(),
        }
    }

    #[test]
    fn a_lone_person_is_suppressed_on_the_identifying_value_only() {
        // Three persons share (1, 10); (1, 77) and (1, 78) are alone, and merge into a class of
        // two when their second value is suppressed.
        let pop = population(&[(1, 10, 0), (1, 10, 1), (1, 10, 0), (1, 77, 0), (1, 78, 1)]);
        let axes = [
            Axis {
                levels: vec![&keep],
            },
            Axis {
                levels: vec![&keep],
            },
        ];
        let d = search(
            &pop,
            &axes,
            Targets {
                k: 2,
                l: 1,
                max_suppressed_share: 1.0,
            },
        )
        .expect("reachable");
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
        let axes = [
            Axis {
                levels: vec![&keep, &tens],
            },
            Axis {
                levels: vec![&keep],
            },
        ];
        let d = search(
            &pop,
            &axes,
            Targets {
                k: 3,
                l: 2,
                max_suppressed_share: 0.5,
            },
        )
        .expect("reachable");
        assert_eq!(d.levels, vec![1, 0]);
        assert!(d.masks.iter().all(|&m| m == 0));
    }

    #[test]
    fn too_few_persons_cannot_reach_k_and_the_culprit_is_named() {
        let pop = population(&[(1, 10, 0), (2, 10, 1)]);
        let axes = [
            Axis {
                levels: vec![&keep],
            },
            Axis {
                levels: vec![&keep],
            },
        ];
        let e = search(
            &pop,
            &axes,
            Targets {
                k: 3,
                l: 1,
                max_suppressed_share: 1.0,
            },
        )
        .expect_err("two persons cannot make a class of three");
        assert_eq!(e.unsafe_coarsest, 2);
        assert_eq!(e.unsafe_without, vec![2, 2]);
    }

    #[test]
    fn a_homogeneous_class_is_not_released_as_it_is() {
        // Three persons share everything and all hold sensitive value 5: not 2-diverse, so they
        // merge with the others by suppressing the second value.
        let pop = population(&[
            (1, 10, 5),
            (1, 10, 5),
            (1, 10, 5),
            (1, 20, 1),
            (1, 20, 2),
            (1, 20, 3),
        ]);
        let axes = [
            Axis {
                levels: vec![&keep],
            },
            Axis {
                levels: vec![&keep],
            },
        ];
        let d = search(
            &pop,
            &axes,
            Targets {
                k: 3,
                l: 2,
                max_suppressed_share: 1.0,
            },
        )
        .expect("reachable");
        assert!(d.masks[..3].iter().all(|&m| m != 0), "{:?}", d.masks);
    }
}
