//! Secondary suppression by hypercubes, each proven on the whole release before it is chosen.
//!
//! To protect a cell, choose on every dimension a *balanced move*: a signed set of positions whose
//! weights keep every parent equal to the sum of its children (the cell's leaf +1 and a leaf
//! elsewhere −1, with their lineages up to the common ancestor; or one lineage up to `_T`). The
//! tensor product of one move per dimension is a hypercube of cells whose values can all move
//! together by ±t without changing any published number of the table. Candidates are ranked by
//! cost (cells newly suppressed, then their persons, or the reverse) and the cheapest whose
//! perturbation range is wide enough *on the whole release* — every relation of every linked
//! table, the union bounds of non-additive persons and non-negativity, computed from the true
//! values — is suppressed. That range is a certificate: the attacker's LP interval of the cell is
//! at least as wide.
//!
//! Everything iterates in cell order and breaks ties by position: the same input gives the same
//! pattern on every run and every machine.

use crate::config::raw::Cost;
use std::collections::HashMap;

use crate::attacker::system::{AxisTree, Kind, System};

/// The state secondary suppression works on.
pub struct Search<'a> {
    pub system: &'a System,
    /// True value of every variable.
    pub truth: &'a [i64],
    /// Per atom, whether it is suppressed.
    pub suppressed: &'a [bool],
    /// Per atom, whether it may never be suppressed.
    pub frozen: &'a [bool],
    /// Per atom, its persons (the cost of suppressing it).
    pub weight: &'a [i64],
    pub cost: Cost,
}

/// A perturbation direction: atoms with weights ±1, and the range of its step.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    pub atoms: Vec<(u32, i32)>,
    pub lower: f64,
    pub upper: f64,
}

impl Certificate {
    /// Integer steps the direction can take, minus one: the integers a weight-1 atom can take
    /// beyond its lowest.
    #[must_use]
    pub fn width(&self) -> i64 {
        #[allow(clippy::cast_possible_truncation, reason = "bounded by counts")]
        let w = (self.upper.min(1e15).floor() - self.lower.max(-1e15).ceil()) as i64;
        w
    }

    /// The weight of `atom` in the direction (0 when it does not move).
    fn weight(&self, atom: u32) -> f64 {
        self.atoms
            .iter()
            .find(|e| e.0 == atom)
            .map_or(0.0, |e| f64::from(e.1))
    }

    /// Integers `atom` can rise by along the direction (its weight times the step), from where it is.
    #[must_use]
    pub fn up_width(&self, atom: u32) -> i64 {
        let k = self.weight(atom);
        let up = if k > 0.0 {
            k * self.upper
        } else {
            k * self.lower
        };
        #[allow(clippy::cast_possible_truncation, reason = "bounded by counts")]
        let w = up.clamp(0.0, 1e15).floor() as i64;
        w
    }

    /// Integers `atom` can take beyond its lowest along the direction (its weight times the step).
    #[must_use]
    pub fn target_width(&self, atom: u32) -> i64 {
        let k = self.weight(atom).abs();
        #[allow(clippy::cast_possible_truncation, reason = "bounded by counts")]
        let w = ((k * self.upper).min(1e15).floor() - (k * self.lower).max(-1e15).ceil()) as i64;
        w
    }
}

/// The sum of two directions, zero weights dropped, in atom order.
fn merge(a: &[(u32, i32)], b: &[(u32, i32)]) -> Vec<(u32, i32)> {
    let mut sum: std::collections::BTreeMap<u32, i32> = std::collections::BTreeMap::new();
    for &(atom, w) in a.iter().chain(b) {
        *sum.entry(atom).or_insert(0) += w;
    }
    sum.into_iter().filter(|e| e.1 != 0).collect()
}

impl Search<'_> {
    /// The `tries` cheapest hypercubes through `atom`'s cell in `table`, certified on the whole
    /// release, cheapest first; `only_suppressed` restricts them to cells already suppressed.
    #[must_use]
    pub fn hypercubes(
        &self,
        table: usize,
        cell: usize,
        only_suppressed: bool,
        tries: usize,
    ) -> Vec<Certificate> {
        let shape = &self.system.shapes[table];
        let atoms = &self.system.atom_of[table];
        let target = shape.positions(cell);
        let d = shape.axes.len();
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "small positive numbers"
        )]
        let keep = ((2048f64).powf(1.0 / d as f64).floor() as usize).max(2);
        let mut per_axis: Vec<Vec<Vec<(u32, i32)>>> = Vec::with_capacity(d);
        for (a, axis) in shape.axes.iter().enumerate() {
            let mut moves: Vec<(MoveScore, Vec<(u32, i32)>)> = axis_moves(axis, target[a])
                .into_iter()
                .filter_map(|m| {
                    let mut line = target.clone();
                    let mut open = 0usize;
                    let mut smallest = i64::MAX;
                    for &(p, w) in &m {
                        if p == target[a] {
                            continue;
                        }
                        line[a] = p;
                        let atom = atoms[shape.index(&line)] as usize;
                        if !self.suppressed[atom] {
                            if only_suppressed || self.frozen[atom] {
                                return None;
                            }
                            open += 1;
                        }
                        if w < 0 {
                            smallest = smallest.min(self.weight[atom]);
                        }
                    }
                    Some((
                        MoveScore {
                            open,
                            size: m.len(),
                            smallest: std::cmp::Reverse(smallest),
                        },
                        m,
                    ))
                })
                .collect();
            moves.sort_by_key(|x| x.0);
            moves.truncate(keep);
            if moves.is_empty() {
                return Vec::new();
            }
            per_axis.push(moves.into_iter().map(|(_, m)| m).collect());
        }

        let mut candidates: Vec<((i64, i64), Vec<usize>)> = Vec::new();
        let mut choice = vec![0usize; d];
        'combos: loop {
            let corners = corners(&per_axis, &choice);
            let mut cells = 0i64;
            let mut persons = 0i64;
            let mut feasible = true;
            for (pos, _) in &corners {
                let atom = atoms[shape.index(pos)] as usize;
                if !self.suppressed[atom] {
                    if only_suppressed || self.frozen[atom] {
                        feasible = false;
                        break;
                    }
                    cells += 1;
                    persons += self.weight[atom];
                }
            }
            if feasible {
                candidates.push((self.cost.key(cells, persons), choice.clone()));
            }
            // Next combination, last axis fastest.
            for a in (0..d).rev() {
                choice[a] += 1;
                if choice[a] < per_axis[a].len() {
                    continue 'combos;
                }
                choice[a] = 0;
            }
            break;
        }
        candidates.sort_by_key(|x| x.0);
        candidates
            .into_iter()
            .take(tries)
            .filter_map(|(_, choice)| {
                let direction = corners(&per_axis, &choice)
                    .into_iter()
                    .map(|(pos, w)| (atoms[shape.index(&pos)], w))
                    .collect();
                self.certify(direction)
            })
            .collect()
    }

    /// The cheapest hypercube through `atom`'s cell in `table` that gives the atom at least `need`
    /// and room to rise by `up_need` (a dominated sum, [`super::p_percent_need`]; 0 for none),
    /// among at most `tries` certified candidates; `only_suppressed` restricts it to cells already
    /// suppressed (a proof that the current pattern protects the atom).
    #[must_use]
    pub fn hypercube(
        &self,
        table: usize,
        cell: usize,
        (need, up_need): (i64, i64),
        only_suppressed: bool,
        tries: usize,
    ) -> Option<Certificate> {
        let atom = self.system.atom_of[table][cell];
        self.hypercubes(table, cell, only_suppressed, tries)
            .into_iter()
            .find(|c| c.width() >= need && (up_need == 0 || c.up_width(atom) >= up_need))
    }

    /// When no single hypercube is wide enough: the sum of several, cheapest first, each kept only
    /// if it widens the atom's range, until the range reaches `need`. Suppressing every cell of
    /// the sum lets the atom move by its weight times the step, so the ranges add up.
    #[must_use]
    pub fn hypercube_sum(
        &self,
        table: usize,
        cell: usize,
        (need, up_need): (i64, i64),
        tries: usize,
    ) -> Option<Certificate> {
        let atom = self.system.atom_of[table][cell];
        let mut sum: Option<(Certificate, i64)> = None;
        for cube in self.hypercubes(table, cell, false, tries) {
            let next = match &sum {
                None => Some(cube),
                Some((acc, _)) => self.certify(merge(&acc.atoms, &cube.atoms)),
            };
            let Some(next) = next else {
                continue;
            };
            // Room to rise is what a dominated sum needs; room either way what others need.
            let width = if up_need > 0 {
                next.up_width(atom).min(next.target_width(atom))
            } else {
                next.target_width(atom)
            };
            if sum.as_ref().is_none_or(|(_, w)| width > *w) {
                sum = Some((next, width));
                if width >= need.max(up_need) {
                    return sum.map(|(c, _)| c);
                }
            }
        }
        None
    }

    /// The range of `t` for which moving each atom by `weight·t` keeps every relation of the
    /// release and non-negativity; `None` if the direction breaks an equality.
    #[must_use]
    pub fn certify(&self, atoms: Vec<(u32, i32)>) -> Option<Certificate> {
        let sys = self.system;
        let mut weight: HashMap<u32, i32> = HashMap::new();
        let (mut lower, mut upper) = (f64::NEG_INFINITY, f64::INFINITY);
        for &(atom, w) in &atoms {
            for &v in &sys.atom_vars[atom as usize] {
                weight.insert(v, w);
                #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let x = self.truth[v as usize] as f64;
                if w > 0 {
                    lower = lower.max(-x / f64::from(w));
                } else {
                    upper = upper.min(x / f64::from(-w));
                }
            }
        }
        let mut touched: Vec<u32> = weight
            .keys()
            .flat_map(|&v| sys.var_relations[v as usize].iter().copied())
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for r in touched {
            let rel = &sys.relations[r as usize];
            let mut s = 0i64;
            let mut slack = 0i64;
            for &(v, c) in &rel.terms {
                s += i64::from(c) * i64::from(weight.get(&v).copied().unwrap_or(0));
                slack -= i64::from(c) * self.truth[v as usize];
            }
            match rel.kind {
                Kind::Eq if s != 0 => return None,
                Kind::Eq => {}
                Kind::Le => {
                    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                    let (s, slack) = (s as f64, slack as f64);
                    if s > 0.0 {
                        upper = upper.min(slack / s);
                    } else if s < 0.0 {
                        lower = lower.max(slack / s);
                    }
                }
            }
        }
        Some(Certificate {
            atoms,
            lower,
            upper,
        })
    }
}

/// The cells of the hypercube that takes move `choice[a]` on each axis `a`, with their signs.
fn corners(per_axis: &[Vec<Vec<(u32, i32)>>], choice: &[usize]) -> Vec<(Vec<u32>, i32)> {
    let mut corners: Vec<(Vec<u32>, i32)> = vec![(Vec::with_capacity(choice.len()), 1)];
    for (moves, &c) in per_axis.iter().zip(choice) {
        corners = corners
            .into_iter()
            .flat_map(|(pos, w)| {
                moves[c].iter().map(move |&(p, pw)| {
                    let mut next = pos.clone();
                    next.push(p);
                    (next, w * pw)
                })
            })
            .collect();
    }
    corners
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MoveScore {
    open: usize,
    size: usize,
    smallest: std::cmp::Reverse<i64>,
}

/// Every minimal balanced move through position `p` with weight +1.
fn axis_moves(axis: &AxisTree, p: u32) -> Vec<Vec<(u32, i32)>> {
    let pu = p as usize;
    if axis.parent[pu].is_none() && axis.children[pu].is_empty() {
        return vec![vec![(p, 1)]];
    }
    let under = axis.leaves_under(p);
    let outside: Vec<u32> = axis
        .leaves()
        .into_iter()
        .filter(|l| under.binary_search(l).is_err())
        .collect();
    let mut out = Vec::new();
    for &l in &under {
        for q in std::iter::once(None).chain(outside.iter().copied().map(Some)) {
            let mut w: Vec<(u32, i32)> = axis.lineage(l).map(|n| (n, 1)).collect();
            if let Some(q) = q {
                for n in axis.lineage(q) {
                    match w.iter_mut().find(|e| e.0 == n) {
                        Some(e) => e.1 -= 1,
                        None => w.push((n, -1)),
                    }
                }
            }
            w.retain(|e| e.1 != 0);
            w.sort_unstable();
            out.push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attacker::system::tests::{flat, shape};

    #[test]
    fn moves_through_a_leaf_pair_it_with_a_sibling_or_climb_to_the_total() {
        let axis = flat("a", 3);
        let moves = axis_moves(&axis, 0);
        assert!(moves.contains(&vec![(0, 1), (1, -1)]));
        assert!(moves.contains(&vec![(0, 1), (3, 1)]));
        assert_eq!(moves.len(), 3);
        // Through the total: down to any leaf.
        assert_eq!(axis_moves(&axis, 3).len(), 3);
    }

    #[test]
    fn a_rectangle_protects_a_small_cell_of_a_two_way_table() {
        // 3×3 leaves with margins; cell (0,0) = 1, everything else large enough.
        let sys = System::new(vec![shape("t", vec![flat("r", 3), flat("c", 3)])]);
        let s = &sys.shapes[0];
        let mut truth = vec![0i64; sys.vars()];
        for cell in 0..s.len() {
            let pos = s.positions(cell);
            let leaf = |p: u32| if p == 3 { 3 } else { 1 };
            let v = if cell == 0 {
                1
            } else {
                i64::from(leaf(pos[0]) * leaf(pos[1])) * 5
            };
            truth[sys.var_of[0][0][cell] as usize] = v;
        }
        // Make margins consistent.
        for r in 0..4u32 {
            for c in 0..4u32 {
                if r == 3 || c == 3 {
                    let mut sum = 0;
                    for rr in 0..3u32 {
                        for cc in 0..3u32 {
                            if (r == 3 || rr == r) && (c == 3 || cc == c) {
                                sum += truth[sys.var_of[0][0][s.index(&[rr, cc])] as usize];
                            }
                        }
                    }
                    truth[sys.var_of[0][0][s.index(&[r, c])] as usize] = sum;
                }
            }
        }
        let mut suppressed = vec![false; sys.atoms()];
        suppressed[0] = true;
        let weight = super::super::random::weights(&sys, &truth);
        let search = Search {
            system: &sys,
            truth: &truth,
            suppressed: &suppressed,
            frozen: &vec![false; sys.atoms()],
            weight: &weight,
            cost: Cost::Cells,
        };
        let cert = search
            .hypercube(0, 0, (3, 0), false, 16)
            .expect("a rectangle exists");
        assert_eq!(cert.atoms.len(), 4, "{cert:?}");
        assert!(cert.width() >= 3);
        assert!(search.hypercube(0, 0, (3, 0), true, 16).is_none());
    }
}
