//! The prover of a suppression pattern: a verdict on every suppressed number, by a certificate
//! (a perturbation among suppressed cells) when one exists, else by the attacker's LP.

use super::*;

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

pub(super) fn failing_atoms(system: &System, verdicts: &[Verdict]) -> Vec<usize> {
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
pub(super) struct Prover<'a> {
    pub(super) system: &'a System,
    pub(super) truth: &'a [i64],
    pub(super) weight: &'a [i64],
    pub(super) sensitive: &'a [bool],
    pub(super) level: i64,
    /// Per variable, what more its interval must hold ([`super::Problem::needs`]).
    pub(super) needs: &'a [i64],
    /// Per atom, the certificate that last proved it, if any.
    pub(super) certificates: Vec<Option<secondary::Certificate>>,
}

impl Prover<'_> {
    pub(super) fn need_of_var(&self, v: usize) -> i64 {
        let atom = self.system.var_atom[v] as usize;
        rules::need(
            self.sensitive[atom],
            &self.system.var_measure[v],
            self.level,
        )
        .max(self.up_need_of_var(v))
    }

    /// The room a dominated sum must have to rise (0: none asked).
    pub(super) fn up_need_of_var(&self, v: usize) -> i64 {
        self.needs.get(v).copied().unwrap_or(0)
    }

    /// The largest of `of` over the atom's variables, `none` for an atom without any.
    fn most_of_atom(&self, a: usize, of: impl Fn(usize) -> i64, none: i64) -> i64 {
        self.system.atom_vars[a]
            .iter()
            .map(|&v| of(v as usize))
            .max()
            .unwrap_or(none)
    }

    pub(super) fn up_need_of_atom(&self, a: usize) -> i64 {
        self.most_of_atom(a, |v| self.up_need_of_var(v), 0)
    }

    pub(super) fn need_of_atom(&self, a: usize) -> i64 {
        self.most_of_atom(a, |v| self.need_of_var(v), 1)
    }

    /// Each variable of the atom with the integers its interval must hold beyond its lowest.
    pub(super) fn needs_of_atom(&self, a: usize) -> Vec<(u32, i64)> {
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
    pub(super) fn audit(
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
                let need = (self.need_of_atom(a), self.up_need_of_atom(a));
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
        // A dominated sum's exact upper bound is what decides: no inner interval stands for it.
        let lp = verdicts(sys, &published, Some(&uncertified), |v| {
            if self.up_need_of_var(v) > 0 {
                i64::MAX
            } else {
                self.need_of_var(v)
            }
        })?;
        out.extend(
            lp.into_iter()
                .filter(|v| !certified.contains(&v.var))
                .map(|mut verdict| {
                    let v = verdict.var as usize;
                    let up = self.up_need_of_var(v);
                    if up > 0 {
                        #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                        let x = self.truth[v] as f64;
                        verdict.need = self.need_of_var(v);
                        verdict.ok = verdict
                            .upper
                            .is_none_or(|u| super::rules::int_width(x, u) >= up);
                    }
                    verdict
                }),
        );
        out.sort_by_key(|v| v.var);
        Ok(out)
    }
}
