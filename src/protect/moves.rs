//! Secondary suppression by the cheapest perturbation: to give a sensitive number room to move by
//! `step`, find the change `z` of all numbers of its linked tables that keeps every relation of the
//! release (`a + z` still adds up, still meets the union bounds of non-additive persons, still
//! non-negative), moves the number by exactly `step`, leaves cells that must stay published alone,
//! and costs least, where a unit of change costs nothing in a cell already suppressed and about one
//! cell (or its persons, with `cost = "persons"`) elsewhere. The cells `z` touches are suppressed.
//!
//! This is the linear-programming heuristic of the cell-suppression literature (Kelly, Golden and
//! Assad; the sequential step of Fischetti and Salazar's method). Its solution is itself the proof:
//! once every cell it touches is suppressed, `a + z` is a table the attacker cannot tell from the
//! true one, so the number's interval reaches `a + step`. Unlike a hypercube it may take any shape
//! the relations allow — a path through a hierarchy, across linked tables, through cells other
//! sensitive numbers already opened — which is where the savings come from.
//!
//! One LP per move, over the linked tables of the number only. Above [`WHOLE_GROUP_VARS`] linked
//! numbers, over a box around it instead: on every dimension its position, its parent and a few
//! siblings and children (suppressed ones first), then every sibling, then the whole lineage to the
//! total; a move found in a box is a move of the release, since every number outside it stays put.
//! The LP solver is deterministic, so the pattern is too.

use microlp::{ComparisonOp, OptimizationDirection, Problem, Variable};

use crate::attacker::lp::{find, union};
use crate::attacker::system::{Kind, System};
use crate::config::raw::Cost;

/// Numbers of linked tables up to which a move is searched over all of them; above, over windows
/// around the number (any move found in a window is a move of the whole release, since numbers
/// outside it stay as they are).
pub const WHOLE_GROUP_VARS: usize = 4_000;

/// The boxes tried in turn around a number of large linked tables: siblings kept per dimension,
/// and whether the box climbs to the total.
const BOXES: [(usize, bool); 3] = [(3, false), (usize::MAX, false), (2, true)];

/// Relation hops from the number of the windows tried in turn: two reach the rectangles through
/// it, more reach paths through hierarchies.
const WINDOW_HOPS: [usize; 3] = [2, 3, 4];

/// Numbers a window beyond the boxes may hold.
const WINDOW_VARS: usize = 3_000;

/// The cheapest-perturbation search over one release.
pub struct Moves<'a> {
    pub(super) system: &'a System,
    pub(super) truth: &'a [i64],
    pub(super) weight: &'a [i64],
    pub(super) frozen: &'a [bool],
    pub(super) cost: Cost,
    /// Per variable, its group of linked variables.
    group_of: Vec<u32>,
    /// Per group, its variables (ascending) and the relations among them.
    groups: Vec<(Vec<u32>, Vec<u32>)>,
    /// The largest weight of any atom, to scale tie-breaks.
    max_weight: i64,
    /// Whether some group is searched in windows.
    windowed: bool,
    /// Per variable, the room a dominated sum must have to rise ([`super::p_percent_need`]);
    /// empty when no sum is dominated. Such a number is only ever moved up.
    up: &'a [i64],
}

impl<'a> Moves<'a> {
    /// Splits the release into groups of linked numbers.
    #[must_use]
    pub fn new(
        system: &'a System,
        truth: &'a [i64],
        weight: &'a [i64],
        frozen: &'a [bool],
        cost: Cost,
    ) -> Self {
        let n = system.vars();
        let mut parent: Vec<u32> = (0..n)
            .map(|v| u32::try_from(v).expect("vars fit u32"))
            .collect();
        for rel in &system.relations {
            if let Some(&(first, _)) = rel.terms.first() {
                for &(v, _) in &rel.terms[1..] {
                    union(&mut parent, first, v);
                }
            }
        }
        let mut index_of_root = vec![u32::MAX; n];
        let mut groups: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        let mut group_of = vec![0u32; n];
        for (v, group) in group_of.iter_mut().enumerate() {
            let v = u32::try_from(v).expect("vars fit u32");
            let root = find(&mut parent, v) as usize;
            if index_of_root[root] == u32::MAX {
                index_of_root[root] = u32::try_from(groups.len()).expect("groups fit u32");
                groups.push((Vec::new(), Vec::new()));
            }
            *group = index_of_root[root];
            groups[index_of_root[root] as usize].0.push(v);
        }
        for (r, rel) in system.relations.iter().enumerate() {
            if let Some(&(v, _)) = rel.terms.first() {
                groups[group_of[v as usize] as usize]
                    .1
                    .push(u32::try_from(r).expect("relations fit u32"));
            }
        }
        Self {
            system,
            truth,
            weight,
            frozen,
            cost,
            group_of,
            max_weight: weight.iter().copied().max().unwrap_or(0),
            windowed: groups.iter().any(|g| g.0.len() > WHOLE_GROUP_VARS),
            groups,
            up: &[],
        }
    }

    /// The same, with the room each dominated sum must have to rise (per variable, 0 for none).
    #[must_use]
    pub fn with_up(self, up: &'a [i64]) -> Self {
        Self { up, ..self }
    }

    /// The room `var` must have to rise (0: none asked).
    #[must_use]
    pub fn up_need(&self, var: u32) -> i64 {
        self.up.get(var as usize).copied().unwrap_or(0)
    }

    /// The most `var` may be moved down by a proof or a route: its value (never below zero), or
    /// nothing for a dominated sum, whose protection is room to rise.
    #[must_use]
    pub fn down_room(&self, var: u32) -> i64 {
        if self.up_need(var) > 0 {
            0
        } else {
            self.truth[var as usize]
        }
    }

    /// Whether some linked tables are searched in windows: too large for one LP per move.
    #[must_use]
    pub fn windowed(&self) -> bool {
        self.windowed
    }

    /// The atoms the cheapest perturbation moving `var` by exactly `step` touches, suppressed ones
    /// included (the move is a proof only while all of them stay suppressed); `None` when no
    /// perturbation can (cells that must stay published block every way). In linked tables of
    /// more than [`WHOLE_GROUP_VARS`] numbers, the cheapest within the first window around `var`
    /// that has one.
    #[must_use]
    pub fn cheapest(&self, suppressed: &[bool], var: u32, step: i64) -> Option<Vec<u32>> {
        let (vars, relations) = &self.groups[self.group_of[var as usize] as usize];
        if vars.len() <= WHOLE_GROUP_VARS {
            return self.solve(suppressed, var, step, false, vars, relations);
        }
        let open = |atom: usize| !self.frozen[atom] || suppressed[atom];
        let boxes = BOXES
            .iter()
            .map(|&shape| self.box_window(suppressed, var, shape, step, open));
        let hops = WINDOW_HOPS
            .iter()
            .map_while(|&hops| self.window(var, Some(hops), WINDOW_VARS, open));
        self.first_move(suppressed, var, step, false, boxes.chain(hops))
    }

    /// The move LP over each window in turn (one equal to the window before it is skipped), until
    /// one finds a move.
    fn first_move(
        &self,
        suppressed: &[bool],
        var: u32,
        step: i64,
        within: bool,
        windows: impl Iterator<Item = Vec<u32>>,
    ) -> Option<Vec<u32>> {
        let mut previous: Option<Vec<u32>> = None;
        for window in windows {
            if previous.as_ref() == Some(&window) {
                continue;
            }
            let relations = self.relations_of(&window);
            let found = self.solve(suppressed, var, step, within, &window, &relations);
            if found.is_some() {
                return found;
            }
            previous = Some(window);
        }
        None
    }

    /// The variables of the box of cells around `var`'s atom in its first table: on every
    /// dimension its position, its parent, and up to `siblings` of its siblings and of its
    /// children — those already suppressed first, then those that can take a step down, then
    /// those of fewest persons — restricted to the atoms `open` admits; ascending.
    fn box_window(
        &self,
        suppressed: &[bool],
        var: u32,
        (siblings, climb): (usize, bool),
        step: i64,
        open: impl Fn(usize) -> bool,
    ) -> Vec<u32> {
        let sys = self.system;
        let atom = sys.var_atom[var as usize] as usize;
        let Some(&(t, cell)) = sys.atom_cells[atom].first() else {
            return vec![var];
        };
        let shape = &sys.shapes[t as usize];
        let atoms = &sys.atom_of[t as usize];
        let target = shape.positions(cell as usize);
        let per_axis: Vec<Vec<u32>> = shape
            .axes
            .iter()
            .enumerate()
            .map(|(a, axis)| {
                let p = target[a];
                let rank = |list: &[u32], except: u32| -> Vec<u32> {
                    let mut line = target.clone();
                    let mut keyed: Vec<((bool, bool, i64), u32)> = list
                        .iter()
                        .filter(|&&s| s != except)
                        .map(|&s| {
                            line[a] = s;
                            let x = atoms[shape.index(&line)] as usize;
                            let value = self.truth[sys.atom_vars[x][0] as usize];
                            ((!suppressed[x], value < step.abs(), self.weight[x]), s)
                        })
                        .collect();
                    keyed.sort_unstable();
                    keyed.into_iter().take(siblings).map(|(_, s)| s).collect()
                };
                let mut keep = vec![p];
                keep.extend(rank(&axis.children[p as usize], p));
                let mut child = p;
                while let Some(q) = axis.parent[child as usize] {
                    keep.push(q);
                    let others = rank(&axis.children[q as usize], child);
                    if child != p {
                        for &o in &others {
                            keep.extend(rank(&axis.children[o as usize], p));
                        }
                    }
                    keep.extend(others);
                    if !climb {
                        break;
                    }
                    child = q;
                }
                keep.sort_unstable();
                keep.dedup();
                keep
            })
            .collect();
        let mut vars = Vec::new();
        let mut choice = vec![0usize; per_axis.len()];
        let mut pos = target.clone();
        'cells: loop {
            for (slot, (list, &c)) in pos.iter_mut().zip(per_axis.iter().zip(&choice)) {
                *slot = list[c];
            }
            let x = atoms[shape.index(&pos)] as usize;
            if open(x) {
                vars.extend(sys.atom_vars[x].iter().copied());
            }
            for (c, list) in choice.iter_mut().zip(&per_axis) {
                *c += 1;
                if *c < list.len() {
                    continue 'cells;
                }
                *c = 0;
            }
            break;
        }
        vars.push(var);
        vars.sort_unstable();
        vars.dedup();
        vars
    }

    /// The atoms of a perturbation moving `var` by exactly `step` among suppressed cells only,
    /// touching as little as it can: a proof that the pattern gives `var` that room. `None` when
    /// the suppressed cells allow no such move. In linked tables of more than [`WHOLE_GROUP_VARS`]
    /// numbers, only moves within the boxes around `var` are searched: a `None` there proves
    /// nothing.
    #[must_use]
    pub fn within(&self, suppressed: &[bool], var: u32, step: i64) -> Option<Vec<u32>> {
        if self.groups[self.group_of[var as usize] as usize].0.len() > WHOLE_GROUP_VARS {
            let open = |atom: usize| suppressed[atom];
            let boxes = BOXES
                .iter()
                .map(|&shape| self.box_window(suppressed, var, shape, step, open));
            return self.first_move(suppressed, var, step, true, boxes);
        }
        // Numbers not linked to `var` through suppressed ones cannot help: the LP over the
        // linked ones is the whole search.
        let linked = self.window(var, None, usize::MAX, |atom| suppressed[atom])?;
        let relations = self.relations_of(&linked);
        self.solve(suppressed, var, step, true, &linked, &relations)
    }

    /// A proof that the pattern gives `var` room for `need` integers beyond its lowest: moves among
    /// suppressed cells only, up by `need − d` and down by `d`, for the first `d` that works (half
    /// the need first; in windows only `d = 0` and the largest `d`). The `d` and the atoms the
    /// moves touch; `None` when there is none.
    #[must_use]
    pub fn prove(&self, suppressed: &[bool], var: u32, need: i64) -> Option<(i64, Vec<u32>)> {
        let most = self.down_room(var).min(need);
        let splits: Vec<i64> = if self.windowed() {
            // Routes in windows move up alone where they can; and every failed split costs LPs
            // in several windows: the move up alone, then the widest move down.
            let mut ends = vec![0, most];
            ends.dedup();
            ends
        } else {
            let half = most.min(need / 2);
            std::iter::once(half)
                .chain((0..=most).filter(|&d| d != half))
                .collect()
        };
        splits.into_iter().find_map(|down| {
            let mut atoms = Vec::new();
            for step in [need - down, -down] {
                if step != 0 {
                    atoms.extend(self.within(suppressed, var, step)?);
                }
            }
            Some((down, atoms))
        })
    }

    /// The variables reachable from `var` in at most `hops` relations (all, with `None`) through
    /// variables of atoms `open` admits, ascending; `None` beyond `cap` of them.
    fn window(
        &self,
        var: u32,
        hops: Option<usize>,
        cap: usize,
        open: impl Fn(usize) -> bool,
    ) -> Option<Vec<u32>> {
        let sys = self.system;
        let mut seen: std::collections::HashSet<u32> = std::collections::HashSet::from([var]);
        let mut frontier = vec![var];
        let mut hop = 0;
        while !frontier.is_empty() && hops.is_none_or(|h| hop < h) {
            hop += 1;
            let mut next = Vec::new();
            for &v in &frontier {
                for &r in &sys.var_relations[v as usize] {
                    for &(w, _) in &sys.relations[r as usize].terms {
                        if open(sys.var_atom[w as usize] as usize) && seen.insert(w) {
                            next.push(w);
                        }
                    }
                }
            }
            if seen.len() > cap {
                return None;
            }
            frontier = next;
        }
        let mut window: Vec<u32> = seen.into_iter().collect();
        window.sort_unstable();
        Some(window)
    }

    /// The relations any of `vars` appears in, ascending.
    fn relations_of(&self, vars: &[u32]) -> Vec<u32> {
        let mut relations: Vec<u32> = vars
            .iter()
            .flat_map(|&v| self.system.var_relations[v as usize].iter().copied())
            .collect();
        relations.sort_unstable();
        relations.dedup();
        relations
    }

    /// The move LP over `vars` (ascending, `var` among them) and the `relations` they appear in;
    /// every other number stays as it is.
    fn solve(
        &self,
        suppressed: &[bool],
        var: u32,
        step: i64,
        within: bool,
        vars: &[u32],
        relations: &[u32],
    ) -> Option<Vec<u32>> {
        let sys = self.system;
        let mut problem = Problem::new(OptimizationDirection::Minimize);
        // Per variable of the window: its up and down parts, absent when it must stay as it is.
        let parts: Vec<Option<(Variable, Variable)>> = vars
            .iter()
            .map(|&v| {
                let atom = sys.var_atom[v as usize] as usize;
                let fixed = if within {
                    !suppressed[atom]
                } else {
                    self.frozen[atom] && !suppressed[atom]
                };
                if fixed && v != var {
                    return None;
                }
                let cost = if v == var {
                    0.0
                } else if within {
                    1.0
                } else if suppressed[atom] {
                    0.0
                } else {
                    self.unit_cost(atom)
                };
                #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let down_room = self.truth[v as usize] as f64;
                Some((
                    problem.add_var(cost, (0.0, f64::INFINITY)),
                    problem.add_var(cost, (0.0, down_room)),
                ))
            })
            .collect();
        let part = |v: u32| vars.binary_search(&v).ok().and_then(|i| parts[i]);
        let mut terms: Vec<(Variable, f64)> = Vec::new();
        for &r in relations {
            let rel = &sys.relations[r as usize];
            terms.clear();
            let mut slack = 0i64;
            for &(v, c) in &rel.terms {
                slack -= i64::from(c) * self.truth[v as usize];
                if let Some((up, down)) = part(v) {
                    terms.push((up, f64::from(c)));
                    terms.push((down, -f64::from(c)));
                }
            }
            if terms.is_empty() {
                continue;
            }
            #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
            let (op, rhs) = match rel.kind {
                Kind::Eq => (ComparisonOp::Eq, 0.0),
                Kind::Le => (ComparisonOp::Le, slack as f64),
            };
            problem.add_constraint(terms.as_slice(), op, rhs);
        }
        let (up, down) = part(var)?;
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        problem.add_constraint([(up, 1.0), (down, -1.0)], ComparisonOp::Eq, step as f64);
        let solution = problem.solve().ok()?.into_solution().ok()?;
        let mut touched: Vec<u32> = vars
            .iter()
            .zip(&parts)
            .filter_map(|(&v, part)| {
                let (up, down) = (*part)?;
                let moved = (solution.var_value(up) - solution.var_value(down)).abs() > 1e-7;
                moved.then_some(sys.var_atom[v as usize])
            })
            .collect();
        touched.sort_unstable();
        touched.dedup();
        Some(touched)
    }

    /// What a unit of change costs in an unsuppressed atom: about one cell, or its persons,
    /// with the other as a tie-break.
    fn unit_cost(&self, atom: usize) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        let (w, max) = (self.weight[atom] as f64, self.max_weight as f64 + 1.0);
        match self.cost {
            Cost::Cells => 1.0 + 0.1 * w / max,
            Cost::Persons => w + 0.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::random;
    use super::*;

    /// A 3×3 table with margins; cell (r0, c0) holds 1, every other interior cell 5.
    fn table() -> random::Counts {
        let mut csv = String::from("r,c,count\n");
        for r in 0..3 {
            for c in 0..3 {
                let n = if r == 0 && c == 0 { 1 } else { 5 };
                csv.push_str(&format!("r{r},c{c},{n}\n"));
            }
        }
        random::from_counts(&csv).expect("counts")
    }

    /// The atom of the cell at row `r` and column `c` (3 is the total).
    fn atom(t: &random::Counts, r: u32, c: u32) -> u32 {
        t.system.atom_of[0][t.system.shapes[0].index(&[r, c])]
    }

    /// The variable of cell (r0, c0), and a pattern that suppresses only it.
    fn target_alone(t: &random::Counts) -> (u32, Vec<bool>) {
        let target = atom(t, 0, 0);
        let mut suppressed = vec![false; t.system.atoms()];
        suppressed[target as usize] = true;
        (t.system.atom_vars[target as usize][0], suppressed)
    }

    #[test]
    fn the_cheapest_move_of_an_interior_cell_is_a_rectangle_of_interior_cells() {
        let t = table();
        let n = t.system.atoms();
        let weight = random::weights(&t.system, &t.truth);
        let frozen = vec![false; n];
        let moves = Moves::new(&t.system, &t.truth, &weight, &frozen, Cost::Cells);
        let (var, mut suppressed) = target_alone(&t);
        let touched = moves.cheapest(&suppressed, var, 2).expect("a move exists");
        assert_eq!(touched.len(), 4, "{touched:?}");
        let interior: Vec<u32> = (0..3)
            .flat_map(|r| (0..3).map(move |c| (r, c)))
            .map(|(r, c)| atom(&t, r, c))
            .collect();
        assert!(touched.iter().all(|a| interior.contains(a)), "{touched:?}");
        // The pattern with only the target suppressed gives it no room; with the rectangle it
        // does, and a move up by more than the rectangle's smaller diagonal allows is refused.
        assert!(moves.within(&suppressed, var, 2).is_none());
        for &a in &touched {
            suppressed[a as usize] = true;
        }
        assert!(moves.within(&suppressed, var, 2).is_some());
        assert!(moves.within(&suppressed, var, -1).is_some());
        assert!(moves.within(&suppressed, var, 6).is_none());
        // Cells already suppressed are free: another move of the target reuses them.
        let again = moves.cheapest(&suppressed, var, 3).expect("a move exists");
        assert!(again.iter().all(|&a| suppressed[a as usize]), "{again:?}");
    }

    #[test]
    fn cells_that_must_stay_published_are_never_moved() {
        let t = table();
        let n = t.system.atoms();
        let weight = random::weights(&t.system, &t.truth);
        let mut frozen = vec![false; n];
        // The other cells of row 0 stay published: the move has to go through the margins.
        frozen[atom(&t, 0, 1) as usize] = true;
        frozen[atom(&t, 0, 2) as usize] = true;
        let moves = Moves::new(&t.system, &t.truth, &weight, &frozen, Cost::Cells);
        let (var, suppressed) = target_alone(&t);
        let touched = moves.cheapest(&suppressed, var, 2).expect("a move exists");
        assert!(touched.iter().all(|&a| !frozen[a as usize]), "{touched:?}");
        assert!(
            touched.contains(&atom(&t, 0, 3)),
            "the row total moves: {touched:?}"
        );
        // With the whole row and its total frozen, nothing can move the cell.
        frozen[atom(&t, 0, 3) as usize] = true;
        let moves = Moves::new(&t.system, &t.truth, &weight, &frozen, Cost::Cells);
        assert!(moves.cheapest(&suppressed, var, 2).is_none());
    }
}
