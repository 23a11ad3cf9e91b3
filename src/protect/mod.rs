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
mod pattern;
mod prover;
pub mod random;
pub mod secondary;
#[cfg(test)]
mod tests;

use rayon::prelude::*;
use serde::Serialize;

use crate::attacker::CellStatus;
use crate::attacker::lp::{self, Method, Solver};
use crate::attacker::rules::{self, int_width};
use crate::attacker::system::{AxisTree, Rank, Shape, System};
use crate::config::Plan;
use crate::config::plan::{CellRule, Protection};
pub use crate::config::raw::Cost;
use crate::config::raw::Zeros;
use crate::tabulate::{Level, Table};
use pattern::Pattern;
use prover::{Prover, failing_atoms};
pub use prover::{Verdict, fill_audit_summary, verdicts};

/// A table with the status of each cell (shared by all its measures).
#[derive(Debug, Clone)]
pub struct ProtectedTable {
    pub table: Table,
    pub status: Vec<CellStatus>,
    /// DP: `[measure][cell]` 95 % margins of error of the published values.
    pub moe95: Option<Vec<Vec<i64>>>,
}

/// Counts and information loss of one release's suppression.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Distinct cells of the release (a cell shared by linked tables counts once).
    pub cells: usize,
    pub primary: usize,
    /// Of the primary cells, those listed in `always_suppress`.
    pub primary_by_request: usize,
    /// Of the primary cells, those with persons at or above the threshold whose sum fails the p%
    /// rule (one person's contribution could be estimated too closely by another's).
    pub primary_by_p_percent: usize,
    /// Of the primary cells, those with persons at or above the threshold whose sum only the
    /// (n,k)-dominance rule finds dominated (its `n` largest persons hold more than `k` % of it).
    /// Written only when there are any (the rule is off unless asked for).
    #[serde(skip_serializing_if = "is_zero")]
    pub primary_by_dominance: usize,
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
    /// The sums the p% rule found dominated, for the operator only.
    pub dominated: Vec<DominatedSum>,
}

/// A sum the p% rule found dominated, with the room to rise it needed and the room the release
/// leaves it. For the operator's directory only: the need tells how large the largest
/// contribution is.
#[derive(Debug, Clone, Serialize)]
pub struct DominatedSum {
    pub table: String,
    /// Dimension → code.
    pub cell: std::collections::BTreeMap<String, String>,
    pub measure: String,
    pub persons: i64,
    pub value: i64,
    pub room_needed: i64,
    /// How far the sum can rise within what the release lets an attacker derive, as the audit
    /// when the release was made found it; `None` when nothing bounds it (or it was not audited:
    /// `check` without `--protect`, or a cell published because `always_publish` lists it).
    pub room_proven: Option<f64>,
}

/// Whether some table publishes a sum (which the p% rule protects).
fn publishes_sums(tables: &[ProtectedTable]) -> bool {
    tables.iter().any(|t| {
        t.table
            .measures
            .iter()
            .any(|m| matches!(m, crate::config::plan::Measure::Sum { .. }))
    })
}

impl Protected {
    /// Whether some table publishes a sum (which the p% rule protects).
    #[must_use]
    pub fn publishes_sums(&self) -> bool {
        publishes_sums(&self.tables)
    }

    /// No table at all: what a record-level release carries in place of protected tables.
    #[must_use]
    pub fn none(plan: &Plan) -> Self {
        Self {
            tables: Vec::new(),
            protection: plan.protection.clone(),
            system: None,
            verdicts: Vec::new(),
            summary: Summary::default(),
            warnings: Vec::new(),
            dominated: Vec::new(),
        }
    }
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
    protect(tables, plan, true)
}

/// The primary rule alone: which cells are sensitive, with no secondary suppression and no audit
/// (`privstat check` without `--protect`, in milliseconds). Never publishable: the margins would
/// give the primary cells back.
///
/// # Errors
/// None in practice (no audit runs); the signature is [`apply`]'s.
pub fn primary_only(tables: Vec<Table>, plan: &Plan) -> Result<Protected, ProtectError> {
    protect(tables, plan, false)
}

fn protect(tables: Vec<Table>, plan: &Plan, secondary: bool) -> Result<Protected, ProtectError> {
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
    // Per variable, what the p% rule asks of a dominated sum's interval (0: nothing).
    let mut needs = vec![0i64; system.vars()];
    let mut dominated = vec![false; n_atoms];
    // Atoms the dominance rule alone made primary (the p% rule did not).
    let mut by_dominance = vec![false; n_atoms];
    let k = i64::from(protection.threshold.get());
    for (t, table) in tables.iter().enumerate() {
        for (m, top) in table.largest.iter().enumerate() {
            let Some(top) = top else { continue };
            for (cell, &[x1, x2, top_n]) in top.iter().enumerate() {
                let total = table.values[m][cell];
                let p_need = p_percent_need(protection.p_percent, total, x1, x2);
                let nk_need = protection
                    .dominance
                    .map_or(0, |d| dominance_need(d.k, total, top_n));
                by_dominance[system.atom_of[t][cell] as usize] |= nk_need > 0 && p_need == 0;
                let need = p_need.max(nk_need);
                if need > 0 {
                    needs[system.var_of[t][m][cell] as usize] = need;
                    dominated[system.atom_of[t][cell] as usize] = true;
                }
            }
        }
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
    let mut by_p_percent = vec![false; n_atoms];
    for a in 0..n_atoms {
        by_dominance[a] &= !primary[a];
        by_p_percent[a] = dominated[a] && !primary[a] && !by_dominance[a];
        primary[a] |= dominated[a];
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
            summary.primary_by_p_percent += usize::from(by_p_percent[a]);
            summary.primary_by_dominance += usize::from(by_dominance[a]);
        }
    }

    let Solution {
        suppressed,
        verdicts,
    } = if secondary {
        suppress(&Problem {
            system: &system,
            truth: &truth,
            weight: &weight,
            sensitive: &sensitive,
            frozen: &frozen,
            level: i64::from(protection.level),
            needs: &needs,
            cost: protection.cost,
        })?
    } else {
        Solution {
            suppressed: sensitive.clone(),
            verdicts: Vec::new(),
        }
    };

    let upper: std::collections::HashMap<u32, Option<f64>> =
        verdicts.iter().map(|v| (v.var, v.upper)).collect();
    let mut dominated_sums = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        for (m, top) in table.largest.iter().enumerate() {
            if top.is_none() {
                continue;
            }
            for cell in 0..table.len() {
                let var = system.var_of[t][m][cell];
                let need = needs[var as usize];
                if need == 0 {
                    continue;
                }
                let value = table.values[m][cell];
                #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                let room_proven = upper.get(&var).copied().flatten().map(|u| u - value as f64);
                dominated_sums.push(DominatedSum {
                    table: table.name.clone(),
                    cell: cell_codes(table, cell)
                        .into_iter()
                        .map(|(d, c)| (d.to_owned(), c.to_owned()))
                        .collect(),
                    measure: table.measures[m].name(),
                    persons: table.persons[cell],
                    value,
                    room_needed: need,
                    room_proven,
                });
            }
        }
    }
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
    if publishes_sums(&tables_out) && protection.p_percent == 0 && protection.dominance.is_none() {
        warnings.push(
            "p_percent = 0: sums are protected by the persons threshold alone; where one person's \
             share of a sum dominates it, another contributor can estimate that share closely"
                .to_owned(),
        );
    }
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
        dominated: dominated_sums,
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
    /// Per variable, the room its value must have to *rise* within what the attacker can derive,
    /// whatever `level` asks: a sum the p% rule finds dominated ([`p_percent_need`]). Such a
    /// number is only ever moved up. Empty, or 0 for a variable, asks nothing more.
    pub needs: &'a [i64],
    pub cost: Cost,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the (n,k)-dominance rule asks of a sum `total` whose `n` largest contributions add up to
/// `top_n`: none (0) when they hold at most `k` % of it, else the room the sum must have to rise
/// above `total` so that they could hold as little as `k` %: `⌈100·top_n/k − total⌉` (the rule's
/// upper protection level). Contributions of zero or less dominate nothing.
#[must_use]
pub fn dominance_need(k: u32, total: i64, top_n: i64) -> i64 {
    if k == 0 || top_n <= 0 {
        return 0;
    }
    let short = 100 * i128::from(top_n) - i128::from(k) * i128::from(total);
    if short <= 0 {
        return 0;
    }
    let k = i128::from(k);
    i64::try_from((short + k - 1) / k).unwrap_or(i64::MAX)
}

/// What the p% rule asks of a sum `total` whose two largest contributions are `x1 ≥ x2`: none (0)
/// when the other contributions add up to at least `p` % of the largest, else the room the sum must
/// have to rise above `total` so that the second-largest contributor, who knows their own share
/// and that the rest is at least 0, cannot bound the largest from above within `p` % of it:
/// `⌈p·x1/100 − (total − x1 − x2)⌉` (the rule's upper protection level, with q = 100).
/// Contributions of zero or less dominate nothing.
#[must_use]
pub fn p_percent_need(p: u32, total: i64, x1: i64, x2: i64) -> i64 {
    if p == 0 || x1 <= 0 {
        return 0;
    }
    let rest = i128::from(total) - i128::from(x1) - i128::from(x2);
    let short = i128::from(p) * i128::from(x1) - 100 * rest;
    if short <= 0 {
        return 0;
    }
    i64::try_from((short + 99) / 100).unwrap_or(i64::MAX)
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
        needs,
        cost,
    } = *problem;
    let n_atoms = system.atoms();
    let mut suppressed = sensitive.to_vec();
    let moves = moves::Moves::new(system, truth, weight, frozen, cost).with_up(needs);
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
        needs,
        certificates: vec![None; n_atoms],
    };
    let trace = crate::attacker::tracing();
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
                AxisTree::from_ranks(
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
