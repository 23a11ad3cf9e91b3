//! Stage 4, protect: tabulated tables → a status for every cell, proven by an LP audit.
//!
//! # Privacy
//! - **Primary**: a cell is suppressed when `0 < persons < k`, where `persons` is the number of
//!   distinct persons behind the cell, whatever the measure (two visits by one woman on Dongyin are
//!   one woman); with `zeros = "sensitive"` empty cells too; and every cell the data owner lists in
//!   `always_suppress`. Cells in `always_publish` are never suppressed, and the manifest says so.
//! - **Secondary** ([`moves`], [`secondary`]): primary suppression alone protects nothing when
//!   margins are published (disclosure-control.md §0), so further cells are suppressed across all
//!   tables of the release together (linked tables share cells). Each sensitive number gets the
//!   cheapest perturbations up and down that keep every relation of the release — found by LP,
//!   with cells already suppressed free — and the routes are re-chosen in turn until they settle.
//!   In linked tables of more than [`moves::WHOLE_GROUP_VARS`] numbers each LP covers only a box
//!   of cells around the number, numbers are routed in parallel batches, and cells that no move
//!   can protect get a certified hypercube.
//! - **Audit** ([`lp`]): for every suppressed number, the interval an attacker can derive from all
//!   published numbers and all relations of the release. Every primary cell's interval must hold at
//!   least `protection_level` integers beyond its lowest (for counts; sums only need two), and no
//!   suppressed number may be exactly recoverable (fewer than two integers in its interval). Failures
//!   are repaired by more suppression until the audit passes; then superfluous secondary cells are
//!   released again, most costly first, as long as every suppressed number keeps a proof (a
//!   perturbation among the cells still suppressed); not in large tables, where the repair audit
//!   also takes such proofs before it asks the LP.

pub mod moves;
pub mod random;
pub mod secondary;
#[cfg(test)]
mod tests;

use rayon::prelude::*;
use serde::Serialize;

use crate::attacker::CellStatus;
use crate::attacker::lp::{self, Method, Solver};
use crate::attacker::rules::{self, Rank, int_width};
use crate::attacker::system::{AxisTree, Shape, System};
use crate::config::Plan;
use crate::config::plan::{CellRule, Protection};
pub use crate::config::raw::Cost;
use crate::config::raw::Zeros;
use crate::tabulate::{Level, Table};

/// A table with the status of each cell (shared by all its measures).
#[derive(Debug, Clone)]
pub struct ProtectedTable {
    pub table: Table,
    pub status: Vec<CellStatus>,
    /// DP: `[measure][cell]` 95 % margins of error of the published values.
    pub moe95: Option<Vec<Vec<i64>>>,
}

/// The audit verdict on one suppressed number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    pub var: u32,
    pub lower: f64,
    /// `None` when unbounded.
    pub upper: Option<f64>,
    /// Integers the interval must hold beyond its lowest.
    pub need: i64,
    pub method: Method,
    pub ok: bool,
}

/// Counts and information loss of one release's suppression.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Distinct cells of the release (a cell shared by linked tables counts once).
    pub cells: usize,
    pub primary: usize,
    /// Of the primary cells, those listed in `always_suppress`.
    pub primary_by_request: usize,
    pub secondary: usize,
    /// Cells below the threshold published because `always_publish` lists them.
    pub published_by_request: usize,
    /// Persons in secondary cells (the information lost to protect the primary ones).
    pub secondary_persons: i64,
    pub suppressed_numbers: usize,
    pub exactly_recoverable: usize,
    pub under_protected: usize,
    pub min_primary_width: Option<i64>,
    pub lp_intervals: usize,
    pub eliminated: usize,
}

/// All protected tables of a release.
#[derive(Debug, Clone)]
pub struct Protected {
    pub tables: Vec<ProtectedTable>,
    pub protection: Protection,
    /// The relation system of suppression (none in DP releases).
    pub system: Option<System>,
    pub verdicts: Vec<Verdict>,
    pub summary: Summary,
    /// What the protection does not guarantee, for the manifest.
    pub warnings: Vec<String>,
}

/// Why a release could not be protected.
#[derive(Debug, thiserror::Error)]
pub enum ProtectError {
    #[error("the suppression audit could not run: {0}")]
    Audit(#[from] lp::LpError),
    #[error(
        "{0} suppressed numbers stay under-protected after repair (cells in `always_publish` may leave no way to protect them)\n  hint: remove cells from `always_publish`, or lower `protection_level`"
    )]
    Unprotectable(usize),
}

/// Rounds of re-routing every sensitive cell's moves.
const REROUTE_PASSES: usize = 4;

/// Rounds of re-routing, and atoms routed in parallel, when moves are searched in windows (large
/// linked tables, see [`moves::WHOLE_GROUP_VARS`]).
const REROUTE_PASSES_WINDOWED: usize = 2;
const ROUTE_BATCH_WINDOWED: usize = 32;

/// Applies the plan's protection to every table of the release.
///
/// # Errors
/// [`ProtectError`] when the audit cannot run or the cells cannot be protected.
pub fn apply(tables: Vec<Table>, plan: &Plan) -> Result<Protected, ProtectError> {
    let protection = plan.protection.clone();
    let shapes: Vec<Shape> = tables.iter().map(|t| shape_of(t, plan)).collect();
    let system = System::new(shapes);
    let mut truth = vec![0i64; system.vars()];
    for (t, table) in tables.iter().enumerate() {
        for (m, vars) in system.var_of[t].iter().enumerate() {
            for (cell, &v) in vars.iter().enumerate() {
                truth[v as usize] = table.values[m][cell];
            }
        }
    }
    let n_atoms = system.atoms();
    let mut weight = vec![0i64; n_atoms];
    let mut primary = vec![false; n_atoms];
    let mut requested = vec![false; n_atoms];
    let mut frozen = vec![false; n_atoms];
    let k = i64::from(protection.threshold.get());
    for (t, table) in tables.iter().enumerate() {
        for cell in 0..table.len() {
            let atom = system.atom_of[t][cell] as usize;
            let p = table.persons[cell];
            weight[atom] = p;
            let small = rules::is_primary(p, k, protection.zeros == Zeros::Sensitive);
            let codes = cell_codes(table, cell);
            if matches_any(&protection.always_suppress, &table.name, &codes) {
                requested[atom] = true;
            }
            if matches_any(&protection.always_publish, &table.name, &codes) {
                frozen[atom] = true;
            }
            primary[atom] |= small;
        }
    }
    let mut summary = Summary {
        cells: n_atoms,
        ..Summary::default()
    };
    let mut sensitive = vec![false; n_atoms];
    for a in 0..n_atoms {
        if frozen[a] {
            summary.published_by_request += usize::from(primary[a] || requested[a]);
        } else if primary[a] || requested[a] {
            sensitive[a] = true;
            summary.primary += 1;
            summary.primary_by_request += usize::from(requested[a] && !primary[a]);
        }
    }

    let Solution {
        suppressed,
        verdicts,
    } = suppress(&Problem {
        system: &system,
        truth: &truth,
        weight: &weight,
        sensitive: &sensitive,
        frozen: &frozen,
        level: i64::from(protection.level),
        cost: protection.cost,
    })?;

    let mut tables_out = Vec::with_capacity(tables.len());
    for (t, table) in tables.into_iter().enumerate() {
        let status = system.atom_of[t]
            .iter()
            .map(|&a| {
                let a = a as usize;
                if sensitive[a] {
                    CellStatus::SuppressedPrimary
                } else if suppressed[a] {
                    CellStatus::SuppressedSecondary
                } else {
                    CellStatus::Published
                }
            })
            .collect();
        tables_out.push(ProtectedTable {
            table,
            status,
            moe95: None,
        });
    }
    for a in 0..n_atoms {
        if suppressed[a] && !sensitive[a] {
            summary.secondary += 1;
            summary.secondary_persons += weight[a];
        }
    }
    fill_audit_summary(&mut summary, &verdicts);
    let mut warnings = Vec::new();
    if summary.published_by_request > 0 {
        warnings.push(format!(
            "{} cells below the threshold are published because `always_publish` lists them",
            summary.published_by_request
        ));
    }
    Ok(Protected {
        tables: tables_out,
        protection,
        system: Some(system),
        verdicts,
        summary,
        warnings,
    })
}

/// A suppression problem: the release's relations, true values, and per atom its persons, whether
/// it is sensitive (primary) and whether it must stay published.
pub struct Problem<'a> {
    pub system: &'a System,
    /// True value of every variable.
    pub truth: &'a [i64],
    /// Per atom, its persons (the cost of suppressing it).
    pub weight: &'a [i64],
    pub sensitive: &'a [bool],
    pub frozen: &'a [bool],
    /// Integers a sensitive count's interval must hold beyond its lowest.
    pub level: i64,
    pub cost: Cost,
}

/// A suppression pattern with the audit that proves it.
#[derive(Debug, Clone)]
pub struct Solution {
    /// Per atom.
    pub suppressed: Vec<bool>,
    /// One per suppressed number.
    pub verdicts: Vec<Verdict>,
}

/// Chooses secondary suppressions for the sensitive atoms: cheapest moves for each, re-routed
/// until they settle (a certified hypercube, or sum of hypercubes, where the tables are too large
/// for move LPs), then repair rounds until the audit passes, then release of secondary cells that
/// are not needed, most persons first. Deterministic.
///
/// The routes depend on the order in which the sensitive atoms are taken. Releases of at most
/// `MULTI_START_VARS` numbers are therefore protected `STARTS` times, in table order and in
/// shuffled orders with fixed seeds (in parallel), and the pattern that suppresses fewest cells
/// (then fewest persons; the other way round with `cost = "persons"`) is kept, the earliest on a
/// tie.
///
/// # Errors
/// [`ProtectError`] when the audit cannot run or some cell cannot be protected.
pub fn suppress(problem: &Problem<'_>) -> Result<Solution, ProtectError> {
    if problem.system.vars() > MULTI_START_VARS {
        return suppress_in_order(problem, None);
    }
    let key = |s: &Solution| {
        let (cells, persons) = s
            .suppressed
            .iter()
            .zip(problem.weight)
            .filter(|(s, _)| **s)
            .fold((0i64, 0i64), |(c, p), (_, &w)| (c + 1, p + w));
        problem.cost.key(cells, persons)
    };
    let starts: Vec<Result<Solution, ProtectError>> = (0..STARTS)
        .into_par_iter()
        .map(|k| suppress_in_order(problem, (k > 0).then_some(k)))
        .collect();
    // The best pattern, the earliest on a tie; the first error when every order failed.
    starts
        .into_iter()
        .reduce(|kept, next| match (kept, next) {
            (Ok(kept), Ok(next)) => Ok(if key(&next) < key(&kept) { next } else { kept }),
            (Err(_), Ok(next)) => Ok(next),
            (kept, _) => kept,
        })
        .unwrap_or_else(|| suppress_in_order(problem, None))
}

/// Orders of the sensitive atoms tried for small releases (see [`suppress`]).
const STARTS: u64 = 4;

/// Releases of at most this many numbers are protected in several orders (see [`suppress`]).
const MULTI_START_VARS: usize = 1_000;

/// [`suppress`] with the sensitive atoms in table order, or shuffled with the seed.
fn suppress_in_order(
    problem: &Problem<'_>,
    shuffle: Option<u64>,
) -> Result<Solution, ProtectError> {
    let Problem {
        system,
        truth,
        weight,
        sensitive,
        frozen,
        level,
        cost,
    } = *problem;
    let n_atoms = system.atoms();
    let mut suppressed = sensitive.to_vec();
    let moves = moves::Moves::new(system, truth, weight, frozen, cost);
    let mut pattern = Pattern {
        escalation: vec![0; n_atoms],
        moves: &moves,
    };
    let mut prover = Prover {
        system,
        truth,
        weight,
        sensitive,
        level,
        certificates: vec![None; n_atoms],
    };
    let trace = std::env::var_os("PRIVSTAT_TRACE").is_some();
    // First pass: cheapest moves for every sensitive cell, re-routed until they settle; then a
    // certified hypercube for each cell not yet protected (tables too large for the LP).
    let mut needs: Vec<(usize, Vec<(u32, i64)>)> = (0..n_atoms)
        .filter(|&a| sensitive[a])
        .map(|a| (a, prover.needs_of_atom(a)))
        .collect();
    if let Some(seed) = shuffle {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        needs.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    }
    let started = std::time::Instant::now();
    let windowed = moves.windowed().then_some(&moves);
    let (passes, batch) = if windowed.is_some() {
        (REROUTE_PASSES_WINDOWED, ROUTE_BATCH_WINDOWED)
    } else {
        (REROUTE_PASSES, 1)
    };
    let routed = pattern.route_all(&mut suppressed, &needs, passes, batch);
    if trace {
        eprintln!(
            "{:?} routed {} of {} sensitive: {} suppressed",
            started.elapsed(),
            routed.iter().filter(|&&r| r).count(),
            needs.len(),
            suppressed.iter().filter(|&&s| s).count()
        );
    }
    for (a, needs) in needs.iter().filter(|(a, _)| !routed[*a]) {
        pattern.protect(&mut suppressed, *a, needs);
    }
    if trace {
        eprintln!(
            "{:?} cubes: {} suppressed",
            started.elapsed(),
            suppressed.iter().filter(|&&s| s).count()
        );
    }
    // Repair until every suppressed cell is proven protected.
    let mut rounds = 0;
    let passed = loop {
        let atoms: Vec<usize> = (0..n_atoms).filter(|&a| suppressed[a]).collect();
        let verdicts = prover.audit(&suppressed, &atoms, windowed)?;
        let failing = failing_atoms(system, &verdicts);
        if trace {
            eprintln!(
                "{:?} round {rounds}: {} suppressed, {} numbers, {} by LP, {} failing cells",
                started.elapsed(),
                atoms.len(),
                verdicts.len(),
                verdicts
                    .iter()
                    .filter(|v| v.method != Method::Certificate)
                    .count(),
                failing.len()
            );
        }
        if failing.is_empty() {
            break verdicts;
        }
        rounds += 1;
        if rounds > 64 {
            return Err(ProtectError::Unprotectable(failing.len()));
        }
        let before = suppressed.iter().filter(|&&s| s).count();
        for &a in &failing {
            pattern.protect(&mut suppressed, a, &prover.needs_of_atom(a));
        }
        if suppressed.iter().filter(|&&s| s).count() == before {
            let mut grew = false;
            for &a in &failing {
                grew |= pattern.escalate(&mut suppressed, a);
            }
            if !grew {
                return Err(ProtectError::Unprotectable(failing.len()));
            }
        }
    };
    // Release secondary cells that turn out not to be needed, most persons first, while every
    // suppressed cell keeps a proof; then audit again. Not in windows: there a released cell's
    // dependants rarely find another proof within their boxes, and each try costs LPs (on the
    // benchmark table, 32 of 1 061 cells released for 7 s at 4 557 cells, 34 of 2 128 for 21 s at
    // 9 114), so the last round's audit stands.
    let verdicts = if windowed.is_none() {
        pattern.prune(&prover, &mut suppressed, sensitive);
        if trace {
            eprintln!(
                "{:?} pruned to {} suppressed",
                started.elapsed(),
                suppressed.iter().filter(|&&s| s).count()
            );
        }
        let atoms: Vec<usize> = (0..n_atoms).filter(|&a| suppressed[a]).collect();
        prover.audit(&suppressed, &atoms, windowed)?
    } else {
        passed
    };
    let under = verdicts.iter().filter(|v| !v.ok).count();
    if under > 0 {
        return Err(ProtectError::Unprotectable(under));
    }

    Ok(Solution {
        suppressed,
        verdicts,
    })
}

/// Fills the audit counts of a summary from verdicts.
pub fn fill_audit_summary(summary: &mut Summary, verdicts: &[Verdict]) {
    summary.suppressed_numbers = verdicts.len();
    summary.exactly_recoverable = verdicts.iter().filter(|v| v.is_exact()).count();
    summary.under_protected = verdicts.iter().filter(|v| !v.ok).count();
    summary.min_primary_width = verdicts
        .iter()
        .filter(|v| v.need > 1)
        .map(Verdict::width)
        .min();
    summary.lp_intervals = verdicts.iter().filter(|v| v.method == Method::Lp).count();
    summary.eliminated = verdicts
        .iter()
        .filter(|v| v.method == Method::Elimination)
        .count();
}

impl Verdict {
    /// Integers in the interval beyond its lowest (`i64::MAX` when unbounded).
    #[must_use]
    pub fn width(&self) -> i64 {
        int_width(self.lower, self.upper.unwrap_or(f64::INFINITY))
    }

    /// Whether the interval holds a single integer.
    #[must_use]
    pub fn is_exact(&self) -> bool {
        self.width() < 1
    }
}

/// Verdicts on every suppressed number, given what is published.
///
/// # Errors
/// [`lp::LpError`] from the interval computation.
pub fn verdicts(
    system: &System,
    published: &[Option<i64>],
    focus: Option<&[u32]>,
    need: impl Fn(usize) -> i64,
) -> Result<Vec<Verdict>, lp::LpError> {
    let needs: Vec<i64> = (0..system.vars()).map(need).collect();
    let intervals = lp::intervals(system, published, Solver::default(), focus, Some(&needs))?;
    Ok(intervals
        .into_iter()
        .map(|i| {
            let upper = (!i.upper.is_infinite()).then_some(i.upper);
            let need = needs[i.var as usize];
            let width = int_width(i.lower, i.upper);
            Verdict {
                var: i.var,
                lower: i.lower,
                upper,
                need,
                method: i.method,
                ok: width >= need,
            }
        })
        .collect())
}

fn failing_atoms(system: &System, verdicts: &[Verdict]) -> Vec<usize> {
    let mut atoms: Vec<usize> = verdicts
        .iter()
        .filter(|v| !v.ok)
        .map(|v| system.var_atom[v.var as usize] as usize)
        .collect();
    atoms.sort_unstable();
    atoms.dedup();
    atoms
}

/// Proves suppressed cells protected: by a certificate when one exists among the suppressed
/// cells, else by the LP.
struct Prover<'a> {
    system: &'a System,
    truth: &'a [i64],
    weight: &'a [i64],
    sensitive: &'a [bool],
    level: i64,
    /// Per atom, the certificate that last proved it, if any.
    certificates: Vec<Option<secondary::Certificate>>,
}

impl Prover<'_> {
    fn need_of_var(&self, v: usize) -> i64 {
        let atom = self.system.var_atom[v] as usize;
        rules::need(
            self.sensitive[atom],
            &self.system.var_measure[v],
            self.level,
        )
    }

    fn need_of_atom(&self, a: usize) -> i64 {
        self.system.atom_vars[a]
            .iter()
            .map(|&v| self.need_of_var(v as usize))
            .max()
            .unwrap_or(1)
    }

    /// Each variable of the atom with the integers its interval must hold beyond its lowest.
    fn needs_of_atom(&self, a: usize) -> Vec<(u32, i64)> {
        self.system.atom_vars[a]
            .iter()
            .map(|&v| (v, self.need_of_var(v as usize)))
            .collect()
    }

    /// Verdicts on the variables of `atoms` (all suppressed); when the LP has to run, also on
    /// every exactly recoverable number.
    /// With `moves` (large tables), a number no hypercube proves is proven by moves among
    /// suppressed cells before the LP is asked: its verdict then holds the interval the moves
    /// prove, which the attacker's is at least as wide as.
    fn audit(
        &mut self,
        suppressed: &[bool],
        atoms: &[usize],
        moves: Option<&moves::Moves<'_>>,
    ) -> Result<Vec<Verdict>, lp::LpError> {
        let sys = self.system;
        let search = secondary::Search {
            system: sys,
            truth: self.truth,
            suppressed,
            frozen: suppressed,
            weight: self.weight,
            cost: Cost::Cells,
        };
        let found: Vec<Option<secondary::Certificate>> = atoms
            .par_iter()
            .map(|&a| {
                let need = self.need_of_atom(a);
                sys.atom_cells[a].iter().find_map(|&(t, cell)| {
                    search.hypercube(t as usize, cell as usize, need, true, 8)
                })
            })
            .collect();
        let proofs: Vec<Option<Vec<(u32, i64)>>> = match moves {
            Some(moves) => atoms
                .par_iter()
                .zip(&found)
                .map(|(&a, cert)| {
                    if cert.is_some() {
                        return None;
                    }
                    sys.atom_vars[a]
                        .iter()
                        .map(|&v| {
                            let need = self.need_of_var(v as usize);
                            moves.prove(suppressed, v, need).map(|(down, _)| (v, down))
                        })
                        .collect()
                })
                .collect(),
            None => vec![None; atoms.len()],
        };
        let mut out = Vec::new();
        let mut uncertified = Vec::new();
        for ((&a, cert), proof) in atoms.iter().zip(found).zip(proofs) {
            if let Some(proof) = proof {
                for (v, down) in proof {
                    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                    let (x, down) = (self.truth[v as usize] as f64, down as f64);
                    let need = self.need_of_var(v as usize);
                    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                    out.push(Verdict {
                        var: v,
                        lower: x - down,
                        upper: Some(x - down + need as f64),
                        need,
                        method: Method::Certificate,
                        ok: true,
                    });
                }
                self.certificates[a] = None;
                continue;
            }
            match &cert {
                Some(c) => {
                    for &v in &sys.atom_vars[a] {
                        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                        let x = self.truth[v as usize] as f64;
                        out.push(Verdict {
                            var: v,
                            lower: x + c.lower,
                            upper: c.upper.is_finite().then_some(x + c.upper),
                            need: self.need_of_var(v as usize),
                            method: Method::Certificate,
                            ok: true,
                        });
                    }
                }
                None => uncertified.extend(sys.atom_vars[a].iter().copied()),
            }
            self.certificates[a] = cert;
        }
        if uncertified.is_empty() {
            // A certificate stays valid while its cells stay suppressed, so nothing else can
            // have become recoverable.
            out.sort_by_key(|v| v.var);
            return Ok(out);
        }
        let published: Vec<Option<i64>> = (0..sys.vars())
            .map(|v| (!suppressed[sys.var_atom[v] as usize]).then_some(self.truth[v]))
            .collect();
        let certified: std::collections::HashSet<u32> = out.iter().map(|v| v.var).collect();
        let lp = verdicts(sys, &published, Some(&uncertified), |v| self.need_of_var(v))?;
        out.extend(lp.into_iter().filter(|v| !certified.contains(&v.var)));
        out.sort_by_key(|v| v.var);
        Ok(out)
    }
}

/// Chooses secondary cells, on the release, values and costs the moves search.
struct Pattern<'a> {
    /// Per atom, how many times its surroundings were suppressed wholesale.
    escalation: Vec<usize>,
    moves: &'a moves::Moves<'a>,
}

impl Pattern<'_> {
    fn search<'s>(&'s self, suppressed: &'s [bool]) -> secondary::Search<'s> {
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
    fn protect(&mut self, suppressed: &mut [bool], atom: usize, needs: &[(u32, i64)]) {
        let need = needs.iter().map(|n| n.1).max().unwrap_or(1);
        let occurrences = self.moves.system.atom_cells[atom].clone();
        let search = self.search(suppressed);
        for &(t, cell) in &occurrences {
            if search
                .hypercube(t as usize, cell as usize, need, true, 8)
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
            .find_map(|&(t, cell)| search.hypercube(t as usize, cell as usize, need, false, 64))
            .or_else(|| {
                occurrences.iter().find_map(|&(t, cell)| {
                    search.hypercube_sum(t as usize, cell as usize, need, 64)
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
    fn route(&self, suppressed: &[bool], needs: &[(u32, i64)]) -> Option<Vec<u32>> {
        let mut trial = suppressed.to_vec();
        let mut route: Vec<u32> = Vec::new();
        for &(v, need) in needs {
            let mut best: Option<((i64, i64), Vec<u32>)> = None;
            for down in 0..=self.moves.truth[v as usize].min(need) {
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
    fn split(&self, trial: &mut [bool], v: u32, up: i64, down: i64) -> Option<Vec<u32>> {
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
    fn opening(&self, suppressed: &[bool], route: &[u32]) -> (i64, i64) {
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
    fn route_all(
        &self,
        suppressed: &mut [bool],
        needs: &[(usize, Vec<(u32, i64)>)],
        passes: usize,
        batch: usize,
    ) -> Vec<bool> {
        let trace = std::env::var_os("PRIVSTAT_TRACE").is_some();
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
    fn prove(&self, suppressed: &[bool], needs: &[(u32, i64)]) -> Option<Vec<u32>> {
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
    fn prune(&self, prover: &Prover<'_>, suppressed: &mut [bool], sensitive: &[bool]) {
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
        if std::env::var_os("PRIVSTAT_TRACE").is_some() {
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
    fn escalate(&mut self, suppressed: &mut [bool], atom: usize) -> bool {
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

fn cell_codes(table: &Table, cell: usize) -> Vec<(&str, &str)> {
    table
        .positions(cell)
        .into_iter()
        .zip(&table.axes)
        .map(|(p, axis)| (axis.name.as_str(), axis.cells[p].code.as_str()))
        .collect()
}

fn matches_any(rules: &[CellRule], table: &str, codes: &[(&str, &str)]) -> bool {
    rules.iter().any(|r| r.matches(table, codes))
}

/// The attacker's view of a tabulated table.
fn shape_of(table: &Table, plan: &Plan) -> Shape {
    Shape {
        name: table.name.clone(),
        population: table.population(plan),
        axes: table
            .axes
            .iter()
            .map(|axis| {
                let ranks: Vec<Rank> = axis
                    .cells
                    .iter()
                    .map(|c| match c.level {
                        Level::Leaf => Rank::Leaf,
                        Level::Group => Rank::Group,
                        Level::Total => Rank::Total,
                    })
                    .collect();
                rules::axis_tree(
                    axis.name.clone(),
                    axis.cells.iter().map(|c| c.code.clone()).collect(),
                    &ranks,
                    &axis.group_of,
                )
            })
            .collect(),
        measures: table
            .measures
            .iter()
            .map(crate::config::plan::Measure::name)
            .collect(),
        additive: table.additive.clone(),
    }
}
