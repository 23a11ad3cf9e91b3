//! Feasibility intervals of suppressed numbers: the Fischetti–Salazar attacker, who knows every
//! published number and every relation of the release and computes, for each suppressed number, the
//! smallest and largest value consistent with them and with non-negativity.
//!
//! Exactly recoverable numbers are found first by elimination (an equality with one unknown left,
//! or one whose unknowns share a sign and whose published part leaves nothing for them), which needs
//! no LP. The remaining unknowns fall apart into independent components (unknowns linked through a
//! relation). Each component's LP is reduced once (equalities of two unknowns substituted away,
//! about half the relations of a table) and solved twice per unknown, components and unknowns in
//! parallel. When the caller says what width each number needs, large components first look for
//! witnesses: a few solutions under signed-sum objectives move every number at once, and a
//! number whose witnessed span already holds its need keeps that inner interval. Results are in
//! input order whatever the thread count.

use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, variable};
use rayon::prelude::*;

use super::system::{Kind, System};
use reduced::Reduced;

/// How an interval was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Solved exactly from an equality: the number is exactly recoverable.
    Elimination,
    /// Minimum and maximum of a linear program.
    Lp,
    /// The smallest and largest values the number takes among solutions of the published
    /// relations (vertices found by LPs with varied objectives): the interval holds at least
    /// this, which already gives the number the protection it needs.
    Witnesses,
    /// A perturbation of suppressed cells that keeps every published number (see
    /// [`super::secondary`]): the interval is at least this wide.
    Certificate,
}

/// The interval of one suppressed variable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub var: u32,
    pub lower: f64,
    /// `f64::INFINITY` when unbounded.
    pub upper: f64,
    pub method: Method,
}

impl Interval {
    /// Upper minus lower.
    #[must_use]
    pub fn width(&self) -> f64 {
        self.upper - self.lower
    }
}

/// The LP solver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// Simplex, pure Rust: exact vertices on integer data.
    #[default]
    Microlp,
    /// Interior point, pure Rust: results rounded to 1e-6.
    Clarabel,
    /// microlp through good_lp on the relations as they are: a cross-check of the reduction.
    #[cfg(test)]
    MicrolpFull,
}

/// Why intervals could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum LpError {
    #[error(
        "the published numbers contradict the relations between them (table margins do not add up)"
    )]
    Inconsistent,
    #[error("the LP solver failed: {0}")]
    Solver(String),
}

const TOL: f64 = 1e-6;

/// Components look for witnesses when their numbers to bound times their unknowns reach this (an
/// exact bound's LP grows with the component): 224 numbers hidden together, or 25 to bound in a
/// component of 2 000. Smaller ones get exact bounds, which are cheap there.
const WITNESS_WORK: usize = 50_000;

/// Random witness rounds stop when a round (two LPs) settles fewer numbers than this: exact
/// bounds (two LPs a number) then cost about as much.
const WITNESS_GAIN: usize = 2;

/// Intervals of every unpublished variable (`published[v] == None`), in variable order; with
/// `focus`, only of the exactly recoverable ones and of the focus variables.
///
/// With `needs` (per variable, the integers its interval must hold beyond its lowest), a
/// component with many numbers to bound first looks for witnesses: solutions of the published
/// relations under a few varied objectives, each moving every number at once. A number whose
/// witnesses already span its need gets that inner interval ([`Method::Witnesses`]); the others
/// get exact bounds. Without `needs` every interval is exact.
///
/// # Errors
/// [`LpError::Inconsistent`] when the published values violate a relation; [`LpError::Solver`]
/// when the solver fails.
pub fn intervals(
    system: &System,
    published: &[Option<i64>],
    solver: Solver,
    focus: Option<&[u32]>,
    needs: Option<&[i64]>,
) -> Result<Vec<Interval>, LpError> {
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let mut value: Vec<Option<f64>> = published.iter().map(|v| v.map(|x| x as f64)).collect();
    let n_rel = system.relations.len();
    let mut residual = vec![0.0f64; n_rel];
    let mut unknown = vec![0u32; n_rel];
    for (r, rel) in system.relations.iter().enumerate() {
        for &(v, c) in &rel.terms {
            match value[v as usize] {
                Some(x) => residual[r] -= f64::from(c) * x,
                None => unknown[r] += 1,
            }
        }
    }
    let mut eliminated = vec![false; value.len()];
    let mut queue: Vec<u32> = (0..n_rel)
        .filter(|&r| system.relations[r].kind == Kind::Eq)
        .map(|r| u32::try_from(r).expect("relations fit u32"))
        .collect();
    queue.reverse();
    while let Some(r) = queue.pop() {
        let rel = &system.relations[r as usize];
        if rel.kind != Kind::Eq || unknown[r as usize] == 0 {
            continue;
        }
        let unknowns: Vec<(u32, i32)> = rel
            .terms
            .iter()
            .copied()
            .filter(|&(v, _)| value[v as usize].is_none())
            .collect();
        let res = residual[r as usize];
        let solved: Vec<(u32, f64)> = if unknowns.len() == 1 {
            vec![(unknowns[0].0, res / f64::from(unknowns[0].1))]
        } else if res.abs() < TOL
            && (unknowns.iter().all(|&(_, c)| c > 0) || unknowns.iter().all(|&(_, c)| c < 0))
        {
            unknowns.iter().map(|&(v, _)| (v, 0.0)).collect()
        } else {
            continue;
        };
        for (v, x) in solved {
            if x < -TOL {
                return Err(LpError::Inconsistent);
            }
            value[v as usize] = Some(x);
            eliminated[v as usize] = true;
            for &rr in &system.var_relations[v as usize] {
                let c = system.relations[rr as usize]
                    .terms
                    .iter()
                    .find(|t| t.0 == v)
                    .map_or(0, |t| t.1);
                residual[rr as usize] -= f64::from(c) * x;
                unknown[rr as usize] -= 1;
                queue.push(rr);
            }
        }
    }
    for (r, rel) in system.relations.iter().enumerate() {
        if unknown[r] == 0 {
            let violated = match rel.kind {
                Kind::Eq => residual[r].abs() > TOL,
                Kind::Le => residual[r] < -TOL,
            };
            if violated {
                return Err(LpError::Inconsistent);
            }
        }
    }

    // Components of the remaining unknowns.
    let n = value.len();
    let mut parent: Vec<u32> = (0..n)
        .map(|v| u32::try_from(v).expect("vars fit u32"))
        .collect();
    for (r, rel) in system.relations.iter().enumerate() {
        if unknown[r] < 2 {
            continue;
        }
        let mut first = None;
        for &(v, _) in &rel.terms {
            if value[v as usize].is_none() {
                match first {
                    None => first = Some(v),
                    Some(f) => union(&mut parent, f, v),
                }
            }
        }
    }
    let mut members: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (v, x) in value.iter().enumerate() {
        if x.is_none() {
            let v = u32::try_from(v).expect("vars fit u32");
            members.entry(find(&mut parent, v)).or_default().push(v);
        }
    }
    let mut rels_of: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for (r, rel) in system.relations.iter().enumerate() {
        if unknown[r] == 0 {
            continue;
        }
        let v = rel
            .terms
            .iter()
            .find(|t| value[t.0 as usize].is_none())
            .map(|t| t.0);
        if let Some(v) = v {
            rels_of
                .entry(find(&mut parent, v))
                .or_default()
                .push(u32::try_from(r).expect("relations fit u32"));
        }
    }
    let wanted: Option<std::collections::BTreeSet<u32>> =
        focus.map(|f| f.iter().copied().collect());
    let components: Vec<Component> = members
        .into_iter()
        .map(|(root, vars)| Component {
            relations: rels_of.remove(&root).unwrap_or_default(),
            vars,
        })
        .collect();

    let targets: Vec<Vec<usize>> = components
        .iter()
        .map(|comp| {
            (0..comp.vars.len())
                .filter(|&i| wanted.as_ref().is_none_or(|w| w.contains(&comp.vars[i])))
                .collect()
        })
        .collect();
    let started = std::time::Instant::now();
    // microlp solves each component with numbers to bound in its reduced form, built once.
    let reduced: Vec<Option<Reduced>> = components
        .par_iter()
        .zip(&targets)
        .map(|(comp, targets)| {
            (solver == Solver::Microlp && !targets.is_empty())
                .then(|| Reduced::new(comp, system, &value, &residual))
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    // Large components look for witnesses; the others get exact bounds, a fresh LP each.
    let witnessed = |c: usize| {
        needs.is_some()
            && solver == Solver::Microlp
            && targets[c].len() > 1
            && targets[c].len() * components[c].vars.len() >= WITNESS_WORK
    };
    let mut out: Vec<Interval> = Vec::new();
    if let Some(needs) = needs {
        let found: Vec<Result<Vec<Interval>, LpError>> = (0..components.len())
            .into_par_iter()
            .filter(|&c| witnessed(c))
            .map(|c| match &reduced[c] {
                Some(r) => components[c].witness(r, &targets[c], needs),
                None => Err(LpError::Solver("no reduced LP".into())),
            })
            .collect();
        for f in found {
            out.extend(f?);
        }
    }
    let witness_time = started.elapsed();
    let tasks: Vec<(usize, usize)> = (0..components.len())
        .filter(|&c| !witnessed(c))
        .flat_map(|c| targets[c].iter().map(move |&i| (c, i)))
        .collect();
    let lp: Vec<Result<Interval, LpError>> = tasks
        .par_iter()
        .map(|&(c, i)| {
            let comp = &components[c];
            let bound = |maximise: bool| {
                let found = match &reduced[c] {
                    Some(r) => r.optimum(i, maximise),
                    None => comp.solve_full(system, &value, &residual, i, maximise, solver),
                };
                bound_of(found, maximise)
            };
            let (lower, upper) = (bound(false)?, bound(true)?);
            Ok(Interval {
                var: comp.vars[i],
                lower,
                upper,
                method: Method::Lp,
            })
        })
        .collect();
    if crate::attacker::tracing() {
        let largest = components.iter().map(|c| c.vars.len()).max().unwrap_or(0);
        eprintln!(
            "intervals: {} components (largest {largest}), {} in witnessed components in {witness_time:?}, {} exact in {:?}",
            components.len(),
            out.len(),
            tasks.len(),
            started.elapsed() - witness_time
        );
    }
    for (v, p) in published.iter().enumerate() {
        if p.is_none() && eliminated[v] {
            let x = value[v].unwrap_or(0.0);
            out.push(Interval {
                var: u32::try_from(v).expect("vars fit u32"),
                lower: x,
                upper: x,
                method: Method::Elimination,
            });
        }
    }
    for r in lp {
        out.push(r?);
    }
    out.sort_by_key(|i| i.var);
    Ok(out)
}

struct Component {
    vars: Vec<u32>,
    relations: Vec<u32>,
}

impl Component {
    /// The unknowns of relation `r` that are in this component, with their coefficients.
    fn terms<'s>(
        &'s self,
        system: &'s System,
        value: &'s [Option<f64>],
        r: u32,
    ) -> impl Iterator<Item = (usize, f64)> + 's {
        system.relations[r as usize]
            .terms
            .iter()
            .filter(|&&(v, _)| value[v as usize].is_none())
            .filter_map(|&(v, c)| Some((self.vars.binary_search(&v).ok()?, f64::from(c))))
    }

    /// Intervals of the targets from witnesses: solutions of the component's relations, each of
    /// which shows values every number can take.
    ///
    /// Each round draws a pseudo-random sign for each open target (seeded by the component and
    /// round, so every run is the same), then maximises and minimises that signed sum side by
    /// side: every open target is pushed up in one solution and down in the other. A target is
    /// settled once the span of its values over all solutions holds its need, and gets that
    /// inner interval ([`Method::Witnesses`]). When a round settles fewer than `WITNESS_GAIN`
    /// targets, each target still open is bounded exactly ([`Method::Lp`]), in order, and the
    /// two solutions of its bounds settle what they can of the rest.
    fn witness(
        &self,
        reduced: &Reduced,
        targets: &[usize],
        needs: &[i64],
    ) -> Result<Vec<Interval>, LpError> {
        use rand::{Rng, SeedableRng};
        let n = self.vars.len();
        let mut low = vec![f64::INFINITY; n];
        let mut high = vec![f64::NEG_INFINITY; n];
        let mut exact = vec![false; n];
        let mut open: Vec<usize> = targets.to_vec();
        let mut random = true;
        for round in 0u64.. {
            let objectives: [Vec<f64>; 2] = if random {
                let mut rng =
                    rand_chacha::ChaCha8Rng::seed_from_u64((u64::from(self.vars[0]) << 24) ^ round);
                let mut up = vec![0.0; n];
                for &i in &open {
                    up[i] = if rng.random::<bool>() { 1.0 } else { -1.0 };
                }
                let down = up.iter().map(|c| -c).collect();
                [up, down]
            } else {
                let mut up = vec![0.0; n];
                up[open[0]] = 1.0;
                let mut down = vec![0.0; n];
                down[open[0]] = -1.0;
                [up, down]
            };
            let points: Vec<Result<Vec<f64>, Failure>> = objectives
                .par_iter()
                .map(|objective| reduced.vertex(objective))
                .collect();
            let targeted = !random;
            for (j, point) in points.into_iter().enumerate() {
                match point {
                    Ok(point) => {
                        for (i, &x) in point.iter().enumerate() {
                            let x = snap(x);
                            low[i] = low[i].min(x);
                            high[i] = high[i].max(x);
                        }
                    }
                    // Only a maximum can grow without bound. One target: its maximum is
                    // unbounded. Random signs: bound the open targets one by one.
                    Err(Failure::Unbounded) if j == 0 && targeted => {
                        high[open[0]] = f64::INFINITY;
                    }
                    Err(Failure::Unbounded) => random = false,
                    Err(Failure::Infeasible) => return Err(LpError::Inconsistent),
                    Err(Failure::Other(e)) => return Err(LpError::Solver(e)),
                }
            }
            let before = open.len();
            if targeted {
                exact[open[0]] = true;
            }
            open.retain(|&i| {
                !exact[i] && super::rules::int_width(low[i], high[i]) < needs[self.vars[i] as usize]
            });
            if open.is_empty() {
                break;
            }
            random &= before - open.len() >= WITNESS_GAIN;
        }
        Ok(targets
            .iter()
            .map(|&i| Interval {
                var: self.vars[i],
                lower: low[i],
                upper: high[i],
                method: if exact[i] {
                    Method::Lp
                } else {
                    Method::Witnesses
                },
            })
            .collect())
    }

    /// The relations as they are, through good_lp: clarabel (or, in tests, microlp).
    fn solve_full(
        &self,
        system: &System,
        value: &[Option<f64>],
        residual: &[f64],
        target: usize,
        maximise: bool,
        solver: Solver,
    ) -> Result<f64, Failure> {
        let mut problem = ProblemVariables::new();
        let xs: Vec<Variable> = self
            .vars
            .iter()
            .map(|_| problem.add(variable().min(0)))
            .collect();
        let objective: Expression = xs[target].into();
        let constraints: Vec<good_lp::Constraint> = self
            .relations
            .iter()
            .map(|&r| {
                let mut e = Expression::default();
                for (i, c) in self.terms(system, value, r) {
                    e.add_mul(c, xs[i]);
                }
                match system.relations[r as usize].kind {
                    Kind::Eq => e.eq(residual[r as usize]),
                    Kind::Le => e.leq(residual[r as usize]),
                }
            })
            .collect();
        let unsolved = if maximise {
            problem.maximise(objective)
        } else {
            problem.minimise(objective)
        };
        let solved = match solver {
            #[cfg(test)]
            Solver::MicrolpFull => unsolved
                .using(good_lp::microlp)
                .with_all(constraints)
                .solve()
                .map(|s| s.value(xs[target])),
            _ => unsolved
                .using(good_lp::clarabel)
                .with_all(constraints)
                .solve()
                .map(|s| s.value(xs[target])),
        };
        match solved {
            Ok(x) => Ok(x),
            Err(good_lp::ResolutionError::Unbounded) => Err(Failure::Unbounded),
            Err(good_lp::ResolutionError::Infeasible) => Err(Failure::Infeasible),
            Err(e) => Err(Failure::Other(e.to_string())),
        }
    }
}

/// How one LP failed.
enum Failure {
    Infeasible,
    Unbounded,
    Other(String),
}

/// A minimum or maximum from a solver's result: rounded, infinity when a maximum is unbounded.
fn bound_of(found: Result<f64, Failure>, maximise: bool) -> Result<f64, LpError> {
    match found {
        Ok(x) => Ok(snap(x)),
        Err(Failure::Unbounded) if maximise => Ok(f64::INFINITY),
        Err(Failure::Infeasible) => Err(LpError::Inconsistent),
        Err(Failure::Unbounded) => Err(LpError::Solver("unbounded minimum".into())),
        Err(Failure::Other(e)) => Err(LpError::Solver(e)),
    }
}

/// Rounds solver noise: to the nearest integer within 1e-6, else to 1e-6.
fn snap(x: f64) -> f64 {
    let r = x.round();
    if (x - r).abs() < TOL {
        r
    } else {
        (x / TOL).round() * TOL
    }
}

/// Union-find: the root of `v`, halving the path.
pub(crate) fn find(parent: &mut [u32], mut v: u32) -> u32 {
    while parent[v as usize] != v {
        let p = parent[v as usize];
        parent[v as usize] = parent[p as usize];
        v = p;
    }
    v
}

/// Union-find: joins the sets of `a` and `b` under the smaller root.
pub(crate) fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
    }
}

mod reduced;
#[cfg(test)]
mod tests;
