//! The pattern search: which secondary cells to suppress, given the moves each sensitive number
//! can be hidden by.

use super::*;

/// Chooses secondary cells, on the release, values and costs the moves search.
pub(super) struct Pattern<'a> {
    /// Per atom, how many times its surroundings were suppressed wholesale.
    pub(super) escalation: Vec<usize>,
    pub(super) moves: &'a moves::Moves<'a>,
}

impl Pattern<'_> {
    pub(super) fn search<'s>(&'s self, suppressed: &'s [bool]) -> secondary::Search<'s> {
        secondary::Search {
            system: self.moves.system,
            truth: self.moves.truth,
            suppressed,
            frozen: self.moves.frozen,
            weight: self.moves.weight,
            cost: self.moves.cost,
        }
    }

    /// Protects `atom`, whose variables need the given widths: nothing to do when a hypercube of
    /// suppressed cells already proves it; else the cheapest perturbations up and down of every
    /// variable (their widths add up); else, for tables too large for that, a certified
    /// hypercube or sum of hypercubes in one of its tables; else escalation.
    pub(super) fn protect(&mut self, suppressed: &mut [bool], atom: usize, needs: &[(u32, i64)]) {
        let need = needs.iter().map(|n| n.1).max().unwrap_or(1);
        let up_need = needs
            .iter()
            .map(|n| self.moves.up_need(n.0))
            .max()
            .unwrap_or(0);
        let occurrences = self.moves.system.atom_cells[atom].clone();
        let search = self.search(suppressed);
        for &(t, cell) in &occurrences {
            if search
                .hypercube(t as usize, cell as usize, (need, up_need), true, 8)
                .is_some()
            {
                return;
            }
        }
        if let Some(atoms) = self.route(suppressed, needs) {
            for a in atoms {
                suppressed[a as usize] = true;
            }
            return;
        }
        let search = self.search(suppressed);
        let found = occurrences
            .iter()
            .find_map(|&(t, cell)| {
                search.hypercube(t as usize, cell as usize, (need, up_need), false, 64)
            })
            .or_else(|| {
                occurrences.iter().find_map(|&(t, cell)| {
                    search.hypercube_sum(t as usize, cell as usize, (need, up_need), 64)
                })
            });
        match found {
            Some(cert) => {
                for (a, _) in cert.atoms {
                    suppressed[a as usize] = true;
                }
            }
            None => {
                self.escalate(suppressed, atom);
            }
        }
    }

    /// The atoms that moves giving each variable its room touch, suppressed ones included: for
    /// each variable a move up by `need − d` and a move down by `d` (never below zero), whichever
    /// `d` opens fewest cells (then fewest persons); in windows `d = 0` when it can. `None` when
    /// no move can be found.
    pub(super) fn route(&self, suppressed: &[bool], needs: &[(u32, i64)]) -> Option<Vec<u32>> {
        let mut trial = suppressed.to_vec();
        let mut route: Vec<u32> = Vec::new();
        for &(v, need) in needs {
            let mut best: Option<((i64, i64), Vec<u32>)> = None;
            for down in 0..=self.moves.down_room(v).min(need) {
                // In windows, where every LP counts, a move up alone when there is one.
                if down > 0 && best.is_some() && self.moves.windowed() {
                    break;
                }
                let Some(atoms) = self.split(&mut trial, v, need - down, down) else {
                    continue;
                };
                let key = self.opening(&trial, &atoms);
                if best.as_ref().is_none_or(|(k, _)| key < *k) {
                    best = Some((key, atoms));
                }
            }
            for a in best?.1 {
                trial[a as usize] = true;
                route.push(a);
            }
        }
        route.sort_unstable();
        route.dedup();
        Some(route)
    }

    /// The atoms a move of `v` up by `up` and a move down by `down` touch; `trial` is as it was
    /// on return.
    pub(super) fn split(&self, trial: &mut [bool], v: u32, up: i64, down: i64) -> Option<Vec<u32>> {
        let mut route = Vec::new();
        let mut marked = Vec::new();
        let mut found = true;
        for step in [up, -down] {
            if step == 0 {
                continue;
            }
            let Some(atoms) = self.moves.cheapest(trial, v, step) else {
                found = false;
                break;
            };
            for a in atoms {
                if !std::mem::replace(&mut trial[a as usize], true) {
                    marked.push(a);
                }
                route.push(a);
            }
        }
        for a in marked {
            trial[a as usize] = false;
        }
        route.sort_unstable();
        route.dedup();
        found.then_some(route)
    }

    /// What a route adds to a pattern, as the cost's key of its new cells and their persons.
    pub(super) fn opening(&self, suppressed: &[bool], route: &[u32]) -> (i64, i64) {
        let new = route.iter().filter(|&&a| !suppressed[a as usize]);
        let (cells, persons) = new.fold((0, 0), |(c, p), &a| {
            (c + 1, p + self.moves.weight[a as usize])
        });
        self.moves.cost.key(cells, persons)
    }

    /// Protects every sensitive atom by moves, then re-routes each atom's moves in turn with the
    /// cells of the others free, until no route changes (at most `passes` rounds): the first
    /// routes were chosen without knowing what later atoms would open. A re-routed atom may lean
    /// on cells another atom later leaves, so a last pass routes each atom once more against the
    /// whole pattern, adding only, where the pattern holds no proof for it.
    ///
    /// Atoms go in batches of `batch`, each batch's routes found in parallel against the pattern
    /// before it; a batch takes atoms spread evenly over the order, so that atoms close in the
    /// tables fall in consecutive batches and see each other's cells. With `batch` 1 every atom
    /// sees every route before it.
    /// Returns, per atom, whether it was routed: atoms that no move can protect are left to the
    /// hypercubes.
    pub(super) fn route_all(
        &self,
        suppressed: &mut [bool],
        needs: &[(usize, Vec<(u32, i64)>)],
        passes: usize,
        batch: usize,
    ) -> Vec<bool> {
        let trace = crate::attacker::tracing();
        let started = std::time::Instant::now();
        let base = suppressed.to_vec();
        let n_batches = needs.len().div_ceil(batch.max(1)).max(1);
        let batches: Vec<Vec<usize>> = (0..n_batches)
            .map(|k| (k..needs.len()).step_by(n_batches).collect())
            .collect();
        let mut routes: Vec<Option<Vec<u32>>> = vec![None; needs.len()];
        for members in &batches {
            let state: &[bool] = suppressed;
            let found: Vec<Option<Vec<u32>>> = members
                .par_iter()
                .map(|&i| self.route(state, &needs[i].1))
                .collect();
            for (&i, r) in members.iter().zip(found) {
                for &a in r.iter().flatten() {
                    suppressed[a as usize] = true;
                }
                routes[i] = r;
            }
        }
        // How many routes hold each atom.
        let mut held = vec![0u32; suppressed.len()];
        for &a in routes.iter().flatten().flatten() {
            held[a as usize] += 1;
        }
        for pass in 0..passes {
            if trace {
                eprintln!("{:?} re-route pass {pass}", started.elapsed());
            }
            let mut changed = false;
            for members in &batches {
                let held_now: &[u32] = &held;
                let next: Vec<Option<Vec<u32>>> = members
                    .par_iter()
                    .map(|&i| {
                        let current = routes[i].as_ref()?;
                        let mut others: Vec<bool> = base
                            .iter()
                            .zip(held_now)
                            .map(|(&b, &h)| b || h > 0)
                            .collect();
                        for &a in current {
                            others[a as usize] = base[a as usize] || held_now[a as usize] > 1;
                        }
                        let mut next = self.route(&others, &needs[i].1)?;
                        next.retain(|&a| !others[a as usize]);
                        (&next != current).then_some(next)
                    })
                    .collect();
                for (&i, next) in members.iter().zip(next) {
                    let Some(next) = next else { continue };
                    for &a in routes[i].iter().flatten() {
                        held[a as usize] -= 1;
                    }
                    for &a in &next {
                        held[a as usize] += 1;
                    }
                    routes[i] = Some(next);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for (s, (&b, &h)) in suppressed.iter_mut().zip(base.iter().zip(&held)) {
            *s = b || h > 0;
        }
        // Close the pattern: every atom's route must lie in the final pattern. An atom the pattern
        // already proves needs nothing; the others are routed once more against everything,
        // adding only.
        let state: &[bool] = suppressed;
        let proven: Vec<bool> = needs
            .par_iter()
            .zip(&routes)
            .map(|((_, n), r)| r.is_none() || self.prove(state, n).is_some())
            .collect();
        if trace {
            eprintln!(
                "{:?} closing: {} of {} need a route",
                started.elapsed(),
                proven.iter().filter(|&&p| !p).count(),
                needs.len()
            );
        }
        for ((_, n), _) in needs.iter().zip(&proven).filter(|(_, p)| !**p) {
            for a in self.route(suppressed, n).into_iter().flatten() {
                suppressed[a as usize] = true;
            }
        }
        let mut routed = vec![false; suppressed.len()];
        for ((a, _), r) in needs.iter().zip(&routes) {
            routed[*a] = r.is_some();
        }
        routed
    }

    /// A proof that the pattern gives each variable its room: the atoms of moves among suppressed
    /// cells only, up by `need − d` and down by `d` for the first `d` that works (half the need
    /// first). `None` when the pattern does not protect the atom.
    pub(super) fn prove(&self, suppressed: &[bool], needs: &[(u32, i64)]) -> Option<Vec<u32>> {
        let mut proof = Vec::new();
        for &(v, need) in needs {
            proof.extend(self.moves.prove(suppressed, v, need)?.1);
        }
        proof.sort_unstable();
        proof.dedup();
        Some(proof)
    }

    /// Releases secondary cells, most persons first, while every suppressed atom keeps a proof
    /// among the cells still suppressed: releasing a cell only re-proves the atoms whose proof
    /// used it. An atom with no proof to start from (nor a hypercube certificate) keeps every cell
    /// linked to it.
    pub(super) fn prune(&self, prover: &Prover<'_>, suppressed: &mut [bool], sensitive: &[bool]) {
        let n_atoms = suppressed.len();
        let held: Vec<usize> = (0..n_atoms).filter(|&a| suppressed[a]).collect();
        let first: Vec<Option<Vec<u32>>> = held
            .par_iter()
            .map(|&a| {
                self.prove(suppressed, &prover.needs_of_atom(a))
                    .or_else(|| {
                        let cert = prover.certificates[a].as_ref()?;
                        let mut atoms: Vec<u32> = cert.atoms.iter().map(|&(x, _)| x).collect();
                        atoms.sort_unstable();
                        Some(atoms)
                    })
            })
            .collect();
        // An atom without a proof (its proof lies beyond the windows searched) keeps every cell
        // linked to it suppressed: only those can change its interval.
        let mut pinned = vec![false; n_atoms];
        for (&a, p) in held.iter().zip(&first) {
            if p.is_none() && !pinned[a] {
                for b in self.moves.system.linked_atoms(suppressed, a) {
                    pinned[b] = true;
                }
            }
        }
        if crate::attacker::tracing() {
            eprintln!(
                "prune: {} of {} suppressed have no proof, pinning {}",
                first.iter().filter(|p| p.is_none()).count(),
                held.len(),
                pinned.iter().filter(|&&p| p).count()
            );
        }
        let mut proofs: Vec<Option<Vec<u32>>> = vec![None; n_atoms];
        // Per atom, the atoms whose proof uses it.
        let mut users: Vec<Vec<u32>> = vec![Vec::new(); n_atoms];
        for (&a, p) in held.iter().zip(first) {
            let au = u32::try_from(a).expect("atoms fit u32");
            for &x in p.iter().flatten() {
                users[x as usize].push(au);
            }
            proofs[a] = p;
        }
        let mut order: Vec<usize> = held
            .into_iter()
            .filter(|&a| !sensitive[a] && !pinned[a])
            .collect();
        order.sort_by_key(|&a| (std::cmp::Reverse(self.moves.weight[a]), a));
        for c in order {
            let cu = u32::try_from(c).expect("atoms fit u32");
            suppressed[c] = false;
            let mut affected: Vec<usize> = users[c]
                .iter()
                .map(|&b| b as usize)
                .filter(|&b| {
                    b != c
                        && suppressed[b]
                        && proofs[b]
                            .as_ref()
                            .is_some_and(|p| p.binary_search(&cu).is_ok())
                })
                .collect();
            affected.sort_unstable();
            affected.dedup();
            let state: &[bool] = suppressed;
            let renewed: Option<Vec<Vec<u32>>> = affected
                .par_iter()
                .map(|&b| self.prove(state, &prover.needs_of_atom(b)))
                .collect();
            match renewed {
                Some(list) => {
                    for (&b, p) in affected.iter().zip(list) {
                        let bu = u32::try_from(b).expect("atoms fit u32");
                        for &x in &p {
                            users[x as usize].push(bu);
                        }
                        proofs[b] = Some(p);
                    }
                    proofs[c] = None;
                }
                None => suppressed[c] = true,
            }
        }
    }

    /// Suppresses the block of cells under the atom's next ancestor on every dimension of its
    /// first table; returns whether anything new was suppressed.
    pub(super) fn escalate(&mut self, suppressed: &mut [bool], atom: usize) -> bool {
        let Some(&(t, cell)) = self.moves.system.atom_cells[atom].first() else {
            return false;
        };
        let shape = &self.moves.system.shapes[t as usize];
        let target = shape.positions(cell as usize);
        loop {
            self.escalation[atom] += 1;
            let level = self.escalation[atom];
            let tops: Vec<u32> = shape
                .axes
                .iter()
                .zip(&target)
                .map(|(axis, &p)| axis.lineage(p).take(level + 1).last().unwrap_or(p))
                .collect();
            let blocks: Vec<Vec<u32>> = shape
                .axes
                .iter()
                .zip(&tops)
                .map(|(axis, &top)| subtree(axis, top))
                .collect();
            let mut grew = false;
            for c in 0..shape.len() {
                let pos = shape.positions(c);
                if pos.iter().zip(&blocks).all(|(p, b)| b.contains(p)) {
                    let a = self.moves.system.atom_of[t as usize][c] as usize;
                    if !suppressed[a] && !self.moves.frozen[a] {
                        suppressed[a] = true;
                        grew = true;
                    }
                }
            }
            let at_top = shape
                .axes
                .iter()
                .zip(&tops)
                .all(|(axis, &top)| axis.parent[top as usize].is_none());
            if grew || at_top {
                return grew;
            }
        }
    }
}

/// A position and every position below it.
fn subtree(axis: &AxisTree, top: u32) -> Vec<u32> {
    (0..axis.len())
        .map(|p| u32::try_from(p).expect("small axis"))
        .filter(|&p| axis.lineage(p).any(|n| n == top))
        .collect()
}
