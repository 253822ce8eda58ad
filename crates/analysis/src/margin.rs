//! Max-margin linear separators and the margins of any linear classifier
//! (`docs/theory.md#implicit-bias-and-max-margin-separators`).
//!
//! For data `(x_i, y_i)`, `x_i ∈ ℝ^D`, `y_i ∈ {±1}`, the normalized
//! `ℓ_p` margin of `w ≠ 0` is
//!
//! ```text
//! γ_p(w) = min_i y_i⟨w, x_i⟩ / ‖w‖_p
//! ```
//!
//! and the `ℓ_p` max-margin separator maximizes it; equivalently it solves
//! `min ‖w‖_p s.t. y_i⟨w, x_i⟩ ≥ 1`, whose value `‖ŵ‖_p = 1/γ_p*`:
//!
//! * `ℓ2`: the quadratic program `min ½‖w‖₂²` — the limit direction of GD on
//!   the logistic loss (Soudry, Hoffer, Nacson, Gunasekar, Srebro, JMLR 2018,
//!   Theorem 3);
//! * `ℓ∞`: the linear program `min t s.t. y_i⟨w, x_i⟩ ≥ 1, −t ≤ w_k ≤ t` —
//!   the limit of sign descent (steepest descent in `ℓ∞`, Gunasekar, Lee,
//!   Soudry, Srebro, ICML 2018) and of Adam with a decaying learning rate
//!   (Zhang, Zou, Cao, NeurIPS 2024);
//! * `ℓ1`: the linear program `min Σ_k u_k s.t. y_i⟨w, x_i⟩ ≥ 1, −u ≤ w ≤ u`
//!   (steepest descent in `ℓ1`, i.e. greedy coordinate descent).
//!
//! Each is solved by Clarabel (Goulart & Chen, an interior-point solver for
//! conic programs, pure Rust: `min ½xᵀPx + qᵀx s.t. Ax + s = b, s ≥ 0`).
//! [`MaxMargin::kkt`] recomputes the optimality conditions from the data
//! alone, so a solution is never trusted on the solver's word. The data are
//! separable iff the `ℓ∞` program is feasible ([`separable`]).

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, SupportedConeT,
};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// The norm of a margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginNorm {
    /// `‖w‖₁ = Σ_k |w_k|`.
    L1,
    /// `‖w‖₂`.
    L2,
    /// `‖w‖_∞ = max_k |w_k|`.
    Linf,
}

impl MarginNorm {
    /// All three, in the order of result files.
    pub const ALL: [MarginNorm; 3] = [MarginNorm::L2, MarginNorm::Linf, MarginNorm::L1];

    /// `‖w‖_p`.
    pub fn norm(self, w: &[f64]) -> f64 {
        match self {
            MarginNorm::L1 => w.iter().map(|v| v.abs()).sum(),
            MarginNorm::L2 => w.iter().map(|v| v * v).sum::<f64>().sqrt(),
            MarginNorm::Linf => w.iter().fold(0.0, |a, v| a.max(v.abs())),
        }
    }

    /// The dual norm `‖·‖_q`, `1/p + 1/q = 1`.
    pub fn dual(self) -> MarginNorm {
        match self {
            MarginNorm::L1 => MarginNorm::Linf,
            MarginNorm::L2 => MarginNorm::L2,
            MarginNorm::Linf => MarginNorm::L1,
        }
    }

    /// The name in result files: `l1`, `l2`, `linf`.
    pub fn name(self) -> &'static str {
        match self {
            MarginNorm::L1 => "l1",
            MarginNorm::L2 => "l2",
            MarginNorm::Linf => "linf",
        }
    }
}

/// The margins `y_i⟨w, x_i⟩` of every row of `x`.
fn margins<'a>(w: &'a [f64], x: ArrayView2<'a, f64>, y: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
    (0..x.nrows()).map(move |i| y[i] * x.row(i).iter().zip(w).map(|(a, b)| a * b).sum::<f64>())
}

/// `min_i y_i⟨w, x_i⟩` (the unnormalized margin; rows of `x` are the points).
pub fn min_margin(w: &[f64], x: ArrayView2<f64>, y: &[f64]) -> f64 {
    smallest(margins(w, x, y))
}

/// The smallest of `margins`, NaN if any is NaN (`f64::min` would skip it, so
/// an overflowed run would read as a finite margin); `+inf` for none.
pub fn smallest(margins: impl IntoIterator<Item = f64>) -> f64 {
    margins.into_iter().fold(f64::INFINITY, |a, m| {
        if a.is_nan() || m.is_nan() { f64::NAN } else { a.min(m) }
    })
}

/// `γ_p(w) = min_i y_i⟨w, x_i⟩ / ‖w‖_p`; NaN for `w = 0` or a non-finite `w`.
pub fn normalized_margin(w: &[f64], x: ArrayView2<f64>, y: &[f64], norm: MarginNorm) -> f64 {
    normalize(min_margin(w, x, y), w, norm)
}

/// `min_margin / ‖w‖_p` for a smallest margin already computed (e.g. by
/// `gengap_model::LinearData::margins`); NaN for `w = 0` or a non-finite `w`.
pub fn normalize(min_margin: f64, w: &[f64], norm: MarginNorm) -> f64 {
    let n = norm.norm(w);
    if !(n.is_finite() && n > 0.0) {
        return f64::NAN;
    }
    min_margin / n
}

/// `⟨a, b⟩ / (‖a‖₂‖b‖₂)`; NaN if either is zero.
pub fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(p, q)| p * q).sum();
    dot / (MarginNorm::L2.norm(a) * MarginNorm::L2.norm(b))
}

/// A max-margin separator and the solver's dual certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaxMargin {
    /// The norm.
    pub norm: MarginNorm,
    /// `ŵ = argmin ‖w‖_p s.t. y_i⟨w, x_i⟩ ≥ 1` (so its smallest margin is 1).
    pub w: Vec<f64>,
    /// The max margin `γ_p* = 1/‖ŵ‖_p`.
    pub margin: f64,
    /// The multipliers `z_i ≥ 0` of the margin constraints (`z_i > 0` only
    /// on support vectors).
    pub dual: Vec<f64>,
    /// Interior-point iterations.
    pub iterations: u32,
}

/// The optimality conditions of a [`MaxMargin`], recomputed from the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Kkt {
    /// Primal feasibility: `max_i (1 − y_i⟨ŵ, x_i⟩)₊`.
    pub primal: f64,
    /// Dual feasibility: `max(max_i (−z_i)₊, ‖Σ_i z_i y_i x_i‖_q − s)₊`,
    /// where the dual of `min ‖w‖_p` asks `‖Σ z_i y_i x_i‖_q ≤ 1` for
    /// `p ∈ {1, ∞}` (`s = 1`); for `ℓ2` it is stationarity instead,
    /// `‖ŵ − Σ_i z_i y_i x_i‖₂ / ‖ŵ‖₂`.
    pub dual: f64,
    /// Complementary slackness: `max_i z_i·|y_i⟨ŵ, x_i⟩ − 1|`.
    pub complementarity: f64,
    /// Relative duality gap `|primal − dual| / max(1, |primal|)`, with the
    /// primal `‖ŵ‖_p` (`½‖ŵ‖₂²` for `ℓ2`) and the dual `Σ z_i`
    /// (`Σ z_i − ½‖Σ z_i y_i x_i‖₂²` for `ℓ2`).
    pub gap: f64,
}

impl Kkt {
    /// The largest of the four residuals.
    pub fn worst(&self) -> f64 {
        self.primal.max(self.dual).max(self.complementarity).max(self.gap)
    }
}

fn check_data(x: ArrayView2<f64>, y: &[f64]) -> Result<(), AnalysisError> {
    if x.nrows() != y.len() {
        return Err(AnalysisError::Shape {
            what: "max-margin labels",
            expected: format!("{} labels (one per row of x)", x.nrows()),
            got: format!("{}", y.len()),
        });
    }
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(AnalysisError::InvalidParam {
            field: "x",
            value: format!("{:?}", x.shape()),
            reason: "needs at least one point and one coordinate",
        });
    }
    if let Some(v) = y.iter().find(|v| **v != 1.0 && **v != -1.0) {
        return Err(AnalysisError::InvalidParam {
            field: "y",
            value: v.to_string(),
            reason: "labels must be +1 or -1",
        });
    }
    if let Some(v) = x.iter().find(|v| !v.is_finite()) {
        return Err(AnalysisError::InvalidParam {
            field: "x",
            value: v.to_string(),
            reason: "must be finite",
        });
    }
    Ok(())
}

/// Solve the `norm` max-margin problem on the rows of `x` with labels `y`.
/// Errors: [`AnalysisError::NotSeparable`] if no `w` has every margin
/// positive; [`AnalysisError::Solver`] if Clarabel stops short of a solution.
///
/// ```
/// use gengap_analysis::margin::{MarginNorm, max_margin};
/// use ndarray::array;
///
/// // Two points on the axes with opposite labels: ŵ = (1, −1) for every norm.
/// let x = array![[1.0, 0.0], [0.0, 1.0]];
/// let s = max_margin(x.view(), &[1.0, -1.0], MarginNorm::L2).unwrap();
/// assert!((s.w[0] - 1.0).abs() < 1e-7 && (s.w[1] + 1.0).abs() < 1e-7);
/// assert!((s.margin - 0.5f64.sqrt()).abs() < 1e-7);
/// assert!(s.kkt(x.view(), &[1.0, -1.0]).worst() < 1e-7);
/// ```
pub fn max_margin(x: ArrayView2<f64>, y: &[f64], norm: MarginNorm) -> Result<MaxMargin, AnalysisError> {
    check_data(x, y)?;
    let (n, d) = x.dim();
    // Columns of A: the D coordinates of w, then (ℓ∞) t or (ℓ1) u_1..u_D.
    let extra = match norm {
        MarginNorm::L2 => 0,
        MarginNorm::Linf => 1,
        MarginNorm::L1 => d,
    };
    let cols = d + extra;
    let box_rows = if norm == MarginNorm::L2 { 0 } else { 2 * d };
    let rows = n + box_rows;
    let mut colptr = Vec::with_capacity(cols + 1);
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    colptr.push(0);
    for k in 0..d {
        // Margin rows: −y_i x_ik w ≤ −1.
        for i in 0..n {
            let v = x[[i, k]];
            if v != 0.0 {
                rowval.push(i);
                nzval.push(-y[i] * v);
            }
        }
        if box_rows > 0 {
            // w_k − (t | u_k) ≤ 0 and −w_k − (t | u_k) ≤ 0.
            rowval.extend([n + k, n + d + k]);
            nzval.extend([1.0, -1.0]);
        }
        colptr.push(rowval.len());
    }
    match norm {
        MarginNorm::L2 => {}
        MarginNorm::Linf => {
            for r in n..rows {
                rowval.push(r);
                nzval.push(-1.0);
            }
            colptr.push(rowval.len());
        }
        MarginNorm::L1 => {
            for k in 0..d {
                rowval.extend([n + k, n + d + k]);
                nzval.extend([-1.0, -1.0]);
                colptr.push(rowval.len());
            }
        }
    }
    let a = CscMatrix::new(rows, cols, colptr, rowval, nzval);
    let p = if norm == MarginNorm::L2 {
        CscMatrix::new(d, d, (0..=d).collect(), (0..d).collect(), vec![1.0; d])
    } else {
        CscMatrix::zeros((cols, cols))
    };
    let mut q = vec![0.0; cols];
    q[d..].fill(1.0);
    let mut b = vec![0.0; rows];
    b[..n].fill(-1.0);
    let cones: [SupportedConeT<f64>; 1] = [NonnegativeConeT(rows)];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .max_iter(200)
        .tol_gap_abs(1e-10)
        .tol_gap_rel(1e-10)
        .tol_feas(1e-10)
        .build()
        .map_err(|e| AnalysisError::Solver {
            norm: norm.name(),
            status: format!("settings: {e}"),
        })?;
    let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings).map_err(|e| AnalysisError::Solver {
        norm: norm.name(),
        status: format!("setup: {e}"),
    })?;
    solver.solve();
    let sol = &solver.solution;
    match sol.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {}
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            return Err(AnalysisError::NotSeparable { n, d });
        }
        s => {
            return Err(AnalysisError::Solver {
                norm: norm.name(),
                status: format!("{s:?}"),
            });
        }
    }
    let w = sol.x[..d].to_vec();
    let wn = norm.norm(&w);
    Ok(MaxMargin {
        norm,
        margin: 1.0 / wn,
        dual: sol.z[..n].to_vec(),
        iterations: sol.iterations,
        w,
    })
}

/// Whether some `w` has `y_i⟨w, x_i⟩ > 0` for every row (the `ℓ∞` program is feasible).
pub fn separable(x: ArrayView2<f64>, y: &[f64]) -> Result<bool, AnalysisError> {
    match max_margin(x, y, MarginNorm::Linf) {
        Ok(_) => Ok(true),
        Err(AnalysisError::NotSeparable { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

impl MaxMargin {
    /// `ŵ/‖ŵ‖₂`.
    pub fn direction(&self) -> Vec<f64> {
        let n = MarginNorm::L2.norm(&self.w);
        self.w.iter().map(|v| v / n).collect()
    }

    /// The support vectors: the points whose multiplier exceeds `tol · max_i z_i`.
    pub fn support(&self, tol: f64) -> Vec<usize> {
        let zmax = self.dual.iter().fold(0.0f64, |a, b| a.max(*b));
        (0..self.dual.len()).filter(|&i| self.dual[i] > tol * zmax).collect()
    }

    /// The KKT residuals of this solution on the data it was solved for.
    pub fn kkt(&self, x: ArrayView2<f64>, y: &[f64]) -> Kkt {
        let margins: Vec<f64> = margins(&self.w, x, y).collect();
        let primal = margins.iter().fold(0.0f64, |a, m| a.max(1.0 - m));
        let complementarity = margins
            .iter()
            .zip(&self.dual)
            .fold(0.0f64, |a, (m, z)| a.max(z.abs() * (m - 1.0).abs()));
        // u = Σ z_i y_i x_i.
        let mut u = vec![0.0; self.w.len()];
        for ((xi, &yi), &zi) in x.outer_iter().zip(y).zip(&self.dual) {
            for (uk, xk) in u.iter_mut().zip(xi) {
                *uk += zi * yi * xk;
            }
        }
        let neg = self.dual.iter().fold(0.0f64, |a, z| a.max(-z));
        let zsum: f64 = self.dual.iter().sum();
        let (dual, p_obj, d_obj) = match self.norm {
            MarginNorm::L2 => {
                let wn = MarginNorm::L2.norm(&self.w);
                let diff: Vec<f64> = self.w.iter().zip(&u).map(|(a, b)| a - b).collect();
                let un = MarginNorm::L2.norm(&u);
                (
                    neg.max(MarginNorm::L2.norm(&diff) / wn),
                    0.5 * wn * wn,
                    zsum - 0.5 * un * un,
                )
            }
            p => (neg.max(p.dual().norm(&u) - 1.0), p.norm(&self.w), zsum),
        };
        Kkt {
            primal,
            dual: dual.max(0.0),
            complementarity,
            gap: (p_obj - d_obj).abs() / p_obj.abs().max(1.0),
        }
    }
}

#[cfg(test)]
#[path = "margin_tests.rs"]
mod tests;
