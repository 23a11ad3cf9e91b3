//! The reduced LP of one component (see [`Reduced`]).

use super::*;

/// A component's LP for microlp, smaller: each equality of exactly two unknowns with unit
/// coefficients (a cell and its total, or the two hidden cells of a margin) is solved for one of
/// them, so that every unknown is `sign · X + offset` of a root `X`. Non-negativity of the
/// unknowns becomes bounds on the roots, and the other relations are rewritten over the roots.
/// In tables about half the relations of a component are such pairs.
pub(super) struct Reduced {
    /// Per unknown of the component: its root, sign and offset.
    map: Vec<(usize, f64, f64)>,
    /// Per root: its bounds.
    bounds: Vec<(f64, f64)>,
    /// The remaining relations over the roots.
    rows: Vec<Row>,
}

impl Reduced {
    /// # Errors
    /// [`LpError::Inconsistent`] when the substitutions show the published values contradict
    /// the relations.
    pub(super) fn new(
        comp: &Component,
        system: &System,
        value: &[Option<f64>],
        residual: &[f64],
    ) -> Result<Self, LpError> {
        let n = comp.vars.len();
        // Per unknown: (class, sign, offset) with x = sign · X_class + offset.
        let mut map: Vec<(usize, f64, f64)> = (0..n).map(|i| (i, 1.0, 0.0)).collect();
        let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let mut pair = vec![false; comp.relations.len()];
        for (k, &r) in comp.relations.iter().enumerate() {
            if system.relations[r as usize].kind != Kind::Eq {
                continue;
            }
            let mut terms = comp.terms(system, value, r);
            let (Some((i, ci)), Some((j, cj)), None) = (terms.next(), terms.next(), terms.next())
            else {
                continue;
            };
            if ci.abs() != 1.0 || cj.abs() != 1.0 {
                continue;
            }
            // ci·(si·P + oi) + cj·(sj·Q + oj) = r.
            let ((p, si, oi), (q, sj, oj)) = (map[i], map[j]);
            if p == q {
                continue;
            }
            let rest = residual[r as usize] - ci * oi - cj * oj;
            // Q = a·P + b, or P = a·Q + b with the same a and b' when merging the other way.
            let a = -ci * si * cj * sj;
            let b = cj * sj * rest;
            let (from, into, a, b) = if members[q].len() <= members[p].len() {
                (q, p, a, b)
            } else {
                (p, q, a, -a * b)
            };
            for &m in &std::mem::take(&mut members[from]) {
                let (_, s, o) = map[m];
                map[m] = (into, s * a, s * b + o);
                members[into].push(m);
            }
            pair[k] = true;
        }
        // Number the roots; their bounds from non-negativity of their members.
        let mut root_index = vec![usize::MAX; n];
        let mut bounds: Vec<(f64, f64)> = Vec::new();
        for (c, m) in members.iter().enumerate() {
            if m.is_empty() {
                continue;
            }
            root_index[c] = bounds.len();
            let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
            for &i in m {
                let (_, s, o) = map[i];
                if s > 0.0 {
                    lo = lo.max(-o);
                } else {
                    hi = hi.min(o);
                }
            }
            if lo > hi + TOL {
                return Err(LpError::Inconsistent);
            }
            bounds.push((lo, hi.max(lo)));
        }
        for entry in &mut map {
            entry.0 = root_index[entry.0];
        }
        let mut rows = Vec::new();
        for (k, &r) in comp.relations.iter().enumerate() {
            if pair[k] {
                continue;
            }
            let mut rhs = residual[r as usize];
            let mut terms: Vec<(usize, f64)> = Vec::new();
            for (i, c) in comp.terms(system, value, r) {
                let (root, s, o) = map[i];
                rhs -= c * o;
                terms.push((root, c * s));
            }
            terms.sort_unstable_by_key(|t| t.0);
            terms.dedup_by(|next, kept| {
                let same = next.0 == kept.0;
                if same {
                    kept.1 += next.1;
                }
                same
            });
            terms.retain(|t| t.1 != 0.0);
            let kind = system.relations[r as usize].kind;
            if terms.is_empty() {
                let holds = match kind {
                    Kind::Eq => rhs.abs() <= TOL,
                    Kind::Le => rhs >= -TOL,
                };
                if !holds {
                    return Err(LpError::Inconsistent);
                }
                continue;
            }
            let op = match kind {
                Kind::Eq => microlp::ComparisonOp::Eq,
                Kind::Le => microlp::ComparisonOp::Le,
            };
            rows.push((terms, op, rhs));
        }
        Ok(Self { map, bounds, rows })
    }

    /// A solution maximising `objective` (one coefficient per unknown of the component), as the
    /// values of the unknowns.
    pub(super) fn vertex(&self, objective: &[f64]) -> Result<Vec<f64>, Failure> {
        let mut weight = vec![0.0; self.bounds.len()];
        for (&(root, s, _), &c) in self.map.iter().zip(objective) {
            weight[root] += c * s;
        }
        let mut problem = microlp::Problem::new(microlp::OptimizationDirection::Maximize);
        let xs: Vec<microlp::Variable> = weight
            .iter()
            .zip(&self.bounds)
            .map(|(&w, &b)| problem.add_var(w, b))
            .collect();
        let mut terms: Vec<(microlp::Variable, f64)> = Vec::new();
        for (row, op, rhs) in &self.rows {
            terms.clear();
            terms.extend(row.iter().map(|&(root, c)| (xs[root], c)));
            problem.add_constraint(terms.as_slice(), *op, *rhs);
        }
        match problem.solve() {
            Ok(outcome) => outcome
                .into_solution()
                .map(|s| {
                    self.map
                        .iter()
                        .map(|&(root, sign, offset)| sign * s.var_value(xs[root]) + offset)
                        .collect()
                })
                .map_err(|_| Failure::Other("the LP solve was interrupted".into())),
            Err(microlp::Error::Infeasible) => Err(Failure::Infeasible),
            Err(microlp::Error::Unbounded) => Err(Failure::Unbounded),
            Err(e) => Err(Failure::Other(e.to_string())),
        }
    }

    /// The minimum or maximum of unknown `target`.
    pub(super) fn optimum(&self, target: usize, maximise: bool) -> Result<f64, Failure> {
        let mut objective = vec![0.0; self.map.len()];
        objective[target] = if maximise { 1.0 } else { -1.0 };
        self.vertex(&objective).map(|x| x[target])
    }
}

/// A relation over roots: `(root, coefficient)` terms, comparison, right-hand side.
type Row = (Vec<(usize, f64)>, microlp::ComparisonOp, f64);
