//! Person relations kept in integers: persons between their largest child and the sum of their
//! children where persons do not add up, and person-times at least persons.

use super::*;

/// Makes integer person counts keep the relations the truth keeps where integer allocation may
/// have broken them by a unit: over an axis where persons do not add up, each child ≤ parent ≤ Σ
/// children. As TopDown holds coarser cells, children move and parents stay, from the coarsest
/// level down (a cell's level is the sum of its depths on those axes): a cell above one of its
/// parents comes down to it, and a parent whose children sum to less than it has the children
/// furthest below it raised a unit at a time, each no higher than its lowest parent. The cells at
/// the totals of those axes never move, so every margin over the additive axes keeps its value,
/// the grand total included. Should a level leave a relation broken (children with no room left),
/// a last pass clamps each parent into its children's range, children first. The additive margins
/// are summed again at the end.
pub fn keep_relations(persons: &mut Vec<i64>, models: &[AxisModel]) {
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let strides = strides(&shape);
    let separate: Vec<usize> = (0..models.len())
        .filter(|&a| !models[a].additive && models[a].tree.iter().any(|k| !k.is_empty()))
        .collect();
    if separate.is_empty() {
        *persons = sum_up(persons, models);
        return;
    }
    let positions: Vec<Vec<usize>> = shape
        .iter()
        .zip(models)
        .map(|(&n, m)| {
            if m.additive {
                m.leaf_position.clone()
            } else {
                (0..n).collect()
            }
        })
        .collect();
    // Per axis position: its parent and depth (parents come after their children).
    let parent_and_depth: Vec<(Vec<Option<usize>>, Vec<usize>)> = models
        .iter()
        .map(|m| {
            let mut parent = vec![None; m.tree.len()];
            let mut depth = vec![0usize; m.tree.len()];
            for p in (0..m.tree.len()).rev() {
                for &k in &m.tree[p] {
                    parent[k] = Some(p);
                    depth[k] = depth[p] + 1;
                }
            }
            (parent, depth)
        })
        .collect();
    let mut levels: Vec<Vec<Vec<usize>>> = Vec::new();
    for_each(&positions, |pos| {
        let level: usize = separate
            .iter()
            .map(|&a| parent_and_depth[a].1[pos[a]])
            .sum();
        if levels.len() <= level {
            levels.resize(level + 1, Vec::new());
        }
        levels[level].push(pos.to_vec());
    });
    let at = |pos: &[usize], a: usize, k: usize| {
        index(pos, &strides) + k * strides[a] - pos[a] * strides[a]
    };
    // The lowest value of a cell's parents on the separate axes.
    let cap = |persons: &[i64], pos: &[usize]| {
        separate
            .iter()
            .filter_map(|&a| parent_and_depth[a].0[pos[a]].map(|p| persons[at(pos, a, p)]))
            .min()
            .unwrap_or(i64::MAX)
    };
    for level in 1..levels.len() {
        for pos in &levels[level] {
            let i = index(pos, &strides);
            persons[i] = persons[i].min(cap(persons, pos));
        }
        for pos in &levels[level - 1] {
            let value = persons[index(pos, &strides)];
            for &a in &separate {
                let kids = &models[a].tree[pos[a]];
                if kids.is_empty() {
                    continue;
                }
                let mut child = pos.clone();
                let mut short = value - kids.iter().map(|&k| persons[at(pos, a, k)]).sum::<i64>();
                while short > 0 {
                    // The child furthest below the parent that still has room (first of equals).
                    let next = kids
                        .iter()
                        .filter(|&&k| {
                            child[a] = k;
                            persons[at(pos, a, k)] < cap(persons, &child)
                        })
                        .min_by_key(|&&k| persons[at(pos, a, k)]);
                    let Some(&k) = next else { break };
                    persons[at(pos, a, k)] += 1;
                    short -= 1;
                }
            }
        }
    }
    // Whatever a level could not mend: each parent into its children's range, children first
    // (row-major order visits a cell's children on a separate axis, lower positions, first).
    for_each(&positions, |pos| {
        let i = index(pos, &strides);
        let mut lo = 0i64;
        let mut hi = i64::MAX;
        for &a in &separate {
            let kids = &models[a].tree[pos[a]];
            if kids.is_empty() {
                continue;
            }
            let values = kids.iter().map(|&k| persons[at(pos, a, k)]);
            lo = lo.max(values.clone().max().unwrap_or(0));
            hi = hi.min(values.fold(0i64, i64::saturating_add));
        }
        persons[i] = persons[i].clamp(lo, hi.max(lo));
    });
    *persons = sum_up(persons, models);
}

/// Makes integer person-times at least the persons of each cell, where integer allocation left a
/// leaf's persons a unit above its person-times: such a leaf of `times` is raised to `persons`,
/// and as many units are taken back from its siblings that have person-times to spare (on the
/// last axis first, then the axes before it; the sibling with most spare first), so that the
/// margins over that axis, the grand total among them, keep their values and no margin drifts up. The margins are then summed again.
/// Given persons that keep their own relations ([`keep_relations`]), every margin keeps persons ≤
/// person-times too (a persons margin is at most the sum of its children, a person-times margin
/// exactly that sum). Persons are left as they are, so that a total estimated from several tables
/// stays what it was.
pub fn cover_persons(times: &mut Vec<i64>, persons: &[i64], models: &[AxisModel]) {
    let Some(last) = models.len().checked_sub(1) else {
        return;
    };
    let shape: Vec<usize> = models.iter().map(AxisModel::positions).collect();
    let strides = strides(&shape);
    let leaves: Vec<Vec<usize>> = models.iter().map(|m| m.leaf_position.clone()).collect();
    let mut raised = false;
    for_each(&leaves, |pos| {
        let i = index(pos, &strides);
        let mut owed = persons[i] - times[i];
        if owed <= 0 {
            return;
        }
        times[i] = persons[i];
        raised = true;
        for a in (0..=last).rev() {
            let sibling = |k: usize| i + k * strides[a] - pos[a] * strides[a];
            while owed > 0 {
                let spare = leaves[a]
                    .iter()
                    .map(|&k| sibling(k))
                    .filter(|&j| times[j] > persons[j])
                    .max_by_key(|&j| (times[j] - persons[j], std::cmp::Reverse(j)));
                let Some(j) = spare else { break };
                times[j] -= 1;
                owed -= 1;
            }
        }
    });
    if raised {
        *times = sum_up(times, models);
    }
}
