//! The attacker's view of a release: every number of every table as a variable, and every relation
//! between those numbers that follows from how the tables are built.
//!
//! A number is identified by its *atom* — the population it counts (source and period) and its code
//! on every dimension that is not at the total — and its measure. Two tables of one release that
//! share an atom publish the same number, so their relations meet in one system: an attacker sees
//! the whole release (linked tables).
//!
//! Relations, all homogeneous in the true values:
//! - along each dimension, a parent equals the sum of its children (`_T` over groups and ungrouped
//!   leaves, a group over its members) for measures that are additive over that dimension;
//! - for measures that are not (persons when a person can have several codes, distinct values), the
//!   union bounds: every child ≤ parent ≤ Σ children (domain.md §4.4);
//! - in each atom, persons ≤ person-times and distinct values ≤ person-times.
//!
//! Every variable is also non-negative.

use super::rules::MeasureKind;
use std::collections::{HashMap, HashSet};

/// Whether a code of an axis is a leaf, a group of leaves or the axis total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    Leaf,
    Group,
    Total,
}

/// One dimension as a tree: leaves, groups and the total, each with its parent.
#[derive(Debug, Clone)]
pub struct AxisTree {
    pub domain: String,
    pub codes: Vec<String>,
    pub parent: Vec<Option<u32>>,
    pub children: Vec<Vec<u32>>,
    /// Whether the position is the total, which drops out of the atom.
    pub is_total: Vec<bool>,
}

impl AxisTree {
    /// Builds a tree from each position's code, parent and whether it is the total.
    #[must_use]
    pub fn new(
        domain: String,
        codes: Vec<String>,
        parent: Vec<Option<u32>>,
        is_total: Vec<bool>,
    ) -> Self {
        let mut children = vec![Vec::new(); codes.len()];
        for (child, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[*p as usize].push(u32::try_from(child).expect("small axis"));
            }
        }
        Self {
            domain,
            codes,
            parent,
            children,
            is_total,
        }
    }

    /// The tree of one axis as the protector and the auditor both read it: a code's parent is the
    /// one it declares (a leaf's group), else the total; the total has none. `declared[i]` is the
    /// position of code `i`'s parent, if any (the list may be shorter than the codes).
    ///
    /// # Panics
    /// When an axis has more than `u32::MAX` codes (a code list is far smaller).
    #[must_use]
    pub fn from_ranks(
        domain: String,
        codes: Vec<String>,
        ranks: &[Rank],
        declared: &[Option<u32>],
    ) -> Self {
        let total = ranks
            .iter()
            .position(|&r| r == Rank::Total)
            .map(|p| u32::try_from(p).expect("small axis"));
        let parent = ranks
            .iter()
            .enumerate()
            .map(|(i, rank)| match rank {
                Rank::Leaf | Rank::Group => declared.get(i).copied().flatten().or(total),
                Rank::Total => None,
            })
            .collect();
        let is_total = ranks.iter().map(|&r| r == Rank::Total).collect();
        Self::new(domain, codes, parent, is_total)
    }

    /// Number of positions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the axis has no positions (never for a checked plan).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Leaves at or below a position.
    #[must_use]
    pub fn leaves_under(&self, p: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![p];
        while let Some(n) = stack.pop() {
            let kids = &self.children[n as usize];
            if kids.is_empty() {
                out.push(n);
            } else {
                stack.extend(kids.iter().rev());
            }
        }
        out.sort_unstable();
        out
    }

    /// Leaves of the axis.
    #[must_use]
    pub fn leaves(&self) -> Vec<u32> {
        (0..self.codes.len())
            .filter(|&p| self.children[p].is_empty())
            .map(|p| u32::try_from(p).expect("small axis"))
            .collect()
    }

    /// The position and its ancestors, nearest first.
    pub fn lineage(&self, p: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(p), |&n| self.parent[n as usize])
    }
}

/// One table as an attacker sees it.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    /// Source and period: tables of one population share atoms.
    pub population: String,
    pub axes: Vec<AxisTree>,
    /// Measure names (`persons`, `person_times`, `distinct_<field>`, `sum_<field>`).
    pub measures: Vec<String>,
    /// `[measure][axis]`: whether the measure adds up over the axis.
    pub additive: Vec<Vec<bool>>,
}

impl Shape {
    /// Number of cells.
    #[must_use]
    pub fn len(&self) -> usize {
        self.axes.iter().map(AxisTree::len).product()
    }

    /// Whether the table has no cells.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Axis positions of a cell, last axis fastest.
    #[must_use]
    pub fn positions(&self, mut cell: usize) -> Vec<u32> {
        let mut out = vec![0; self.axes.len()];
        for (slot, axis) in out.iter_mut().zip(&self.axes).rev() {
            *slot = u32::try_from(cell % axis.len()).expect("small axis");
            cell /= axis.len();
        }
        out
    }

    /// Cell of axis positions.
    #[must_use]
    pub fn index(&self, positions: &[u32]) -> usize {
        positions
            .iter()
            .zip(&self.axes)
            .fold(0, |acc, (&p, a)| acc * a.len() + p as usize)
    }
}

/// `Σ coef·x = 0` or `Σ coef·x ≤ 0` over true values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Eq,
    Le,
}

/// One relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    pub kind: Kind,
    /// `(variable, coefficient)`, sorted by variable.
    pub terms: Vec<(u32, i32)>,
}

/// The whole release as variables and relations.
#[derive(Debug, Clone)]
pub struct System {
    pub shapes: Vec<Shape>,
    /// `[table][cell]` → atom.
    pub atom_of: Vec<Vec<u32>>,
    /// `[table][measure][cell]` → variable.
    pub var_of: Vec<Vec<Vec<u32>>>,
    /// Per atom, its `(table, cell)` occurrences, in table order.
    pub atom_cells: Vec<Vec<(u32, u32)>>,
    /// Per atom, its variables.
    pub atom_vars: Vec<Vec<u32>>,
    pub var_atom: Vec<u32>,
    /// Per variable, its measure name.
    pub var_measure: Vec<String>,
    pub relations: Vec<Relation>,
    /// Per variable, the relations it appears in.
    pub var_relations: Vec<Vec<u32>>,
}

impl System {
    /// Builds the system of a release's tables.
    #[must_use]
    pub fn new(shapes: Vec<Shape>) -> Self {
        let mut atom_ids: HashMap<String, u32> = HashMap::new();
        let mut atom_cells: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut atom_of = Vec::with_capacity(shapes.len());
        for (t, shape) in shapes.iter().enumerate() {
            let t = u32::try_from(t).expect("few tables");
            let mut atoms = Vec::with_capacity(shape.len());
            for cell in 0..shape.len() {
                let key = atom_key(shape, &shape.positions(cell));
                let next = u32::try_from(atom_cells.len()).expect("cells fit u32");
                let atom = *atom_ids.entry(key).or_insert(next);
                if atom == next {
                    atom_cells.push(Vec::new());
                }
                atom_cells[atom as usize].push((t, u32::try_from(cell).expect("cells fit u32")));
                atoms.push(atom);
            }
            atom_of.push(atoms);
        }

        let mut var_ids: HashMap<(u32, &str), u32> = HashMap::new();
        let mut atom_vars = vec![Vec::new(); atom_cells.len()];
        let mut var_atom = Vec::new();
        let mut var_measure = Vec::new();
        let mut var_of = Vec::with_capacity(shapes.len());
        for (shape, atoms) in shapes.iter().zip(&atom_of) {
            let mut per_measure = Vec::with_capacity(shape.measures.len());
            for measure in &shape.measures {
                let vars: Vec<u32> = atoms
                    .iter()
                    .map(|&atom| {
                        let next = u32::try_from(var_atom.len()).expect("variables fit u32");
                        let var = *var_ids.entry((atom, measure.as_str())).or_insert(next);
                        if var == next {
                            var_atom.push(atom);
                            var_measure.push(measure.clone());
                            atom_vars[atom as usize].push(var);
                        }
                        var
                    })
                    .collect();
                per_measure.push(vars);
            }
            var_of.push(per_measure);
        }

        let mut relations: HashSet<Relation> = HashSet::new();
        let mut ordered: Vec<Relation> = Vec::new();
        let mut add = |kind: Kind, mut terms: Vec<(u32, i32)>| {
            terms.sort_unstable();
            let r = Relation { kind, terms };
            if relations.insert(r.clone()) {
                ordered.push(r);
            }
        };
        for (t, shape) in shapes.iter().enumerate() {
            for (m, vars) in var_of[t].iter().enumerate() {
                for (a, axis) in shape.axes.iter().enumerate() {
                    let additive = shape.additive[m][a];
                    for cell in 0..shape.len() {
                        let positions = shape.positions(cell);
                        let kids = &axis.children[positions[a] as usize];
                        if kids.is_empty() {
                            continue;
                        }
                        let parent = vars[cell];
                        let mut pos = positions.clone();
                        let children: Vec<u32> = kids
                            .iter()
                            .map(|&k| {
                                pos[a] = k;
                                vars[shape.index(&pos)]
                            })
                            .collect();
                        let mut sum: Vec<(u32, i32)> = vec![(parent, 1)];
                        sum.extend(children.iter().map(|&c| (c, -1)));
                        if additive {
                            add(Kind::Eq, sum);
                        } else {
                            add(Kind::Le, sum);
                            for &c in &children {
                                add(Kind::Le, vec![(c, 1), (parent, -1)]);
                            }
                        }
                    }
                }
            }
        }
        for vars in &atom_vars {
            let times = vars.iter().find(|&&v| {
                MeasureKind::of(&var_measure[v as usize]) == Some(MeasureKind::PersonTimes)
            });
            if let Some(&times) = times {
                for &v in vars {
                    if MeasureKind::of(&var_measure[v as usize])
                        .is_some_and(MeasureKind::within_person_times)
                    {
                        add(Kind::Le, vec![(v, 1), (times, -1)]);
                    }
                }
            }
        }

        let mut var_relations = vec![Vec::new(); var_atom.len()];
        for (r, rel) in ordered.iter().enumerate() {
            for &(v, _) in &rel.terms {
                var_relations[v as usize].push(u32::try_from(r).expect("relations fit u32"));
            }
        }
        Self {
            shapes,
            atom_of,
            var_of,
            atom_cells,
            atom_vars,
            var_atom,
            var_measure,
            relations: ordered,
            var_relations,
        }
    }

    /// The suppressed atoms connected to `atom` (itself included) through relations among
    /// suppressed numbers: the only cells whose intervals can change when `atom` is published.
    #[must_use]
    pub fn linked_atoms(&self, suppressed: &[bool], atom: usize) -> Vec<usize> {
        let hidden = |v: u32| suppressed[self.var_atom[v as usize] as usize];
        let mut seen_var = vec![false; self.vars()];
        let mut seen_rel = vec![false; self.relations.len()];
        let mut seen_atom = vec![false; self.atoms()];
        let mut stack: Vec<u32> = self.atom_vars[atom].clone();
        for &v in &stack {
            seen_var[v as usize] = true;
        }
        while let Some(v) = stack.pop() {
            seen_atom[self.var_atom[v as usize] as usize] = true;
            for &r in &self.var_relations[v as usize] {
                if std::mem::replace(&mut seen_rel[r as usize], true) {
                    continue;
                }
                for &(w, _) in &self.relations[r as usize].terms {
                    if hidden(w) && !std::mem::replace(&mut seen_var[w as usize], true) {
                        stack.push(w);
                    }
                }
            }
        }
        (0..self.atoms()).filter(|&a| seen_atom[a]).collect()
    }

    /// Number of atoms (distinct cells of the release).
    #[must_use]
    pub fn atoms(&self) -> usize {
        self.atom_cells.len()
    }

    /// Number of variables.
    #[must_use]
    pub fn vars(&self) -> usize {
        self.var_atom.len()
    }
}

fn atom_key(shape: &Shape, positions: &[u32]) -> String {
    let mut parts: Vec<(&str, &str)> = shape
        .axes
        .iter()
        .zip(positions)
        .filter(|(axis, p)| !axis.is_total[**p as usize])
        .map(|(axis, p)| (axis.domain.as_str(), axis.codes[*p as usize].as_str()))
        .collect();
    parts.sort_unstable();
    let mut key = shape.population.clone();
    for (d, c) in parts {
        key.push('\u{1f}');
        key.push_str(d);
        key.push('=');
        key.push_str(c);
    }
    key
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_leaf_hangs_under_its_group_else_the_total() {
        let tree = AxisTree::from_ranks(
            "island".into(),
            ["a", "b", "c", "g", "all"].map(String::from).to_vec(),
            &[Rank::Leaf, Rank::Leaf, Rank::Leaf, Rank::Group, Rank::Total],
            &[Some(3), Some(3), None, None, None],
        );
        assert_eq!(tree.parent, [Some(3), Some(3), Some(4), Some(4), None]);
        assert_eq!(tree.children[4], [2, 3]);
        assert_eq!(tree.is_total, [false, false, false, false, true]);
    }

    /// A flat axis of `n` leaves with a total.
    pub fn flat(domain: &str, n: usize) -> AxisTree {
        let total = u32::try_from(n).expect("small");
        let mut codes: Vec<String> = (0..n).map(|i| format!("{domain}{i}")).collect();
        codes.push("_T".into());
        let mut parent = vec![Some(total); n];
        parent.push(None);
        let mut is_total = vec![false; n];
        is_total.push(true);
        AxisTree::new(domain.into(), codes, parent, is_total)
    }

    pub fn shape(name: &str, axes: Vec<AxisTree>) -> Shape {
        let d = axes.len();
        Shape {
            name: name.into(),
            population: "p".into(),
            axes,
            measures: vec!["persons".into()],
            additive: vec![vec![true; d]],
        }
    }

    #[test]
    fn a_two_way_table_has_one_relation_per_margin_cell() {
        let s = System::new(vec![shape("t", vec![flat("a", 3), flat("b", 2)])]);
        assert_eq!(s.atoms(), 12);
        // 3 rows + 1 total row along b, 2 columns + 1 total column along a.
        assert_eq!(s.relations.len(), 4 + 3);
        assert!(s.relations.iter().all(|r| r.kind == Kind::Eq));
    }

    #[test]
    fn tables_sharing_a_margin_share_its_atoms() {
        let s = System::new(vec![
            shape("ab", vec![flat("a", 3), flat("b", 2)]),
            shape("a", vec![flat("a", 3)]),
        ]);
        assert_eq!(s.atoms(), 12);
        // The one-way table's relation is the two-way table's total row: deduplicated.
        assert_eq!(s.relations.len(), 7);
        assert_eq!(s.atom_cells[s.atom_of[1][0] as usize].len(), 2);
    }

    #[test]
    fn non_additive_persons_give_union_bounds() {
        let mut sh = shape("t", vec![flat("a", 2)]);
        sh.additive = vec![vec![false]];
        let s = System::new(vec![sh]);
        assert_eq!(s.relations.len(), 3);
        assert!(s.relations.iter().all(|r| r.kind == Kind::Le));
    }
}
