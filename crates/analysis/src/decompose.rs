//! The least-squares signal–noise decomposition (`docs/theory.md#signal-noise-decomposition`).

use gengap_data::Dataset;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip, s};
use ndarray_linalg::cholesky::{CholeskyFactorized, FactorizeC, SolveC, UPLO};
use serde::{Deserialize, Serialize};

use crate::AnalysisError;

/// The shared part of the basis: the signal vector and every training noise vector.
#[derive(Debug, Clone)]
pub struct Basis {
    /// Rows: `s_0 = μ` (or `v`), then any further signal-span rows (noisy
    /// MNIST: the training digits but one), then the noise vectors `ξ_k`,
    /// `k = 0..N`; shape `(n_signal + N, d)`.
    pub s: Array2<f64>,
    /// Number of leading signal rows (1 for the synthetic models).
    pub n_signal: usize,
    /// `‖s_k‖²` for each row.
    pub norm_sq: Array1<f64>,
    /// Label `y_i` of the sample that owns noise vector `k` (length `N`).
    pub noise_label: Array1<f64>,
    /// Sample index of noise vector `k`.
    pub noise_sample: Vec<usize>,
    /// Number of training samples.
    pub n: usize,
}

impl Basis {
    /// `{μ or v} ∪ {extra signal rows} ∪ {ξ_{i,k}}` from a data set's
    /// training split (`N = n·(P−1)`).
    pub fn from_dataset(ds: &Dataset) -> Self {
        let noise = ds.train.noise_stacked();
        let (n, k) = (ds.train.n(), ds.train.noise.len_of(Axis(1)));
        let extra = ds.extra_signal.as_ref().map_or(0, |e| e.nrows());
        let n_signal = 1 + extra;
        let mut s = Array2::zeros((n_signal + noise.nrows(), noise.ncols()));
        s.row_mut(0).assign(&ds.signal);
        if let Some(e) = &ds.extra_signal {
            s.slice_mut(s![1..n_signal, ..]).assign(e);
        }
        s.slice_mut(s![n_signal.., ..]).assign(&noise);
        let norm_sq = s.rows().into_iter().map(|r| r.dot(&r)).collect();
        let noise_sample: Vec<usize> = (0..n * k).map(|q| q / k).collect();
        let noise_label = noise_sample.iter().map(|&i| ds.train.y[i]).collect();
        Basis {
            s,
            n_signal,
            norm_sq,
            noise_label,
            noise_sample,
            n,
        }
    }
    /// Number of noise vectors `N`.
    pub fn n_noise(&self) -> usize {
        self.norm_sq.len() - self.n_signal
    }
    /// Dimension `d`.
    pub fn d(&self) -> usize {
        self.s.ncols()
    }
}

/// Coefficients of every filter (rows `c = 0..2m`: `j = +1` filters, then `j = −1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decomposition {
    /// Signal learning `γ_{j,r}` (length `2m`): coefficient of `j·μ/‖μ‖²`.
    pub gamma: Array1<f64>,
    /// Noise memorization `ρ̄_{j,r,k}` (`2m × N`): coefficient of `ξ_k/‖ξ_k‖²` where `y_k = j`, else 0.
    pub rho_bar: Array2<f64>,
    /// Noise memorization `ρ_{j,r,k}` (`2m × N`): coefficient of `ξ_k/‖ξ_k‖²` where `y_k = −j`, else 0.
    pub rho: Array2<f64>,
    /// Coefficient of `w⁽⁰⁾_{j,r}` (1 under GD without decay; shrinks with decay).
    pub coef_w0: Array1<f64>,
    /// Per-filter relative residual `‖w − proj(w)‖ / ‖w − w⁽⁰⁾‖`.
    pub residual: Array1<f64>,
    /// Whole-`W` relative residual `‖W − proj(W)‖_F / ‖W − W⁽⁰⁾‖_F`.
    pub residual_total: f64,
    /// `⟨w_{j,r}, s_k⟩` for every filter and basis row (`2m × (n_signal + N)`), for the summaries.
    pub inner: Array2<f64>,
}

/// Per-step summaries (`docs/theory.md#signal-noise-decomposition`), as recorded by the training loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `max_{j,r} γ_{j,r}`.
    pub max_gamma: f64,
    /// `max_{j,r,i} ρ̄_{j,r,i}`.
    pub max_rho_bar: f64,
    /// `min_{j,r,i} ρ_{j,r,i}`.
    pub min_rho: f64,
    /// `‖W − proj(W)‖_F / ‖W − W⁽⁰⁾‖_F`.
    pub residual: f64,
    /// `max_{j,r} ⟨w_{j,r}, j·v⟩` (\[Z23\]'s signal learning).
    pub signal_inner: f64,
    /// `min_i max_r ⟨w_{y_i,r}, ξ_i⟩` (\[Z23\]'s noise memorization; min over every noise vector).
    pub noise_inner: f64,
    /// Mean coefficient of `w⁽⁰⁾`.
    pub mean_coef_w0: f64,
}

impl Summary {
    /// Every summary NaN: the record of weights that are not finite (a
    /// diverged run), which have no decomposition.
    pub fn nan() -> Self {
        let nan = f64::NAN;
        Summary {
            max_gamma: nan,
            max_rho_bar: nan,
            min_rho: nan,
            residual: nan,
            signal_inner: nan,
            noise_inner: nan,
            mean_coef_w0: nan,
        }
    }
}

impl Decomposition {
    /// The summaries of `docs/theory.md#signal-noise-decomposition`.
    pub fn summary(&self, basis: &Basis) -> Summary {
        let m2 = self.gamma.len();
        let m = m2 / 2;
        let max = |a: &Array2<f64>| a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let signal_inner = (0..m2)
            .map(|c| if c < m { self.inner[[c, 0]] } else { -self.inner[[c, 0]] })
            .fold(f64::NEG_INFINITY, f64::max);
        let noise_inner = (0..basis.n_noise())
            .map(|k| {
                let rows = if basis.noise_label[k] > 0.0 { 0..m } else { m..m2 };
                rows.map(|c| self.inner[[c, basis.n_signal + k]])
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .fold(f64::INFINITY, f64::min);
        Summary {
            max_gamma: self.gamma.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            max_rho_bar: max(&self.rho_bar),
            min_rho: self.rho.iter().copied().fold(f64::INFINITY, f64::min),
            residual: self.residual_total,
            signal_inner,
            noise_inner,
            mean_coef_w0: self.coef_w0.mean().unwrap_or(0.0),
        }
    }
}

/// Projects weights onto `{w⁽⁰⁾_{j,r}} ∪ basis`, with one Cholesky factor per
/// filter computed once (the basis is normalized to unit rows first, so the
/// Gram matrices are well conditioned).
pub struct Decomposer {
    basis: Basis,
    /// Unit-norm basis rows `s_k/‖s_k‖`.
    s_unit: Array2<f64>,
    inv_norm: Array1<f64>,
    w0: Array2<f64>,
    w0_norm: Array1<f64>,
    chol: Vec<CholeskyFactorized<ndarray::OwnedRepr<f64>>>,
    m: usize,
}

impl std::fmt::Debug for Decomposer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decomposer")
            .field("m", &self.m)
            .field("k", &self.s_unit.nrows())
            .finish()
    }
}

impl Decomposer {
    /// Factorize the Gram matrix of `{s_k} ∪ {w⁽⁰⁾_c}` for each filter `c`.
    ///
    /// ```
    /// use gengap_analysis::{Basis, Decomposer};
    /// use gengap_data::{C22Params, DataConfig, rng};
    /// use gengap_model::CnnConfig;
    ///
    /// let ds = DataConfig::C22(C22Params { d: 60, n: 8, n_test: 10, mu_norm: 4.0, ..Default::default() })
    ///     .generate(&mut rng::stream(5, 0))
    ///     .unwrap();
    /// let cfg = CnnConfig { m: 2, ..Default::default() };
    /// let w0 = cfg.init::<f64, _>(60, &mut rng::stream(5, 1)).unwrap();
    /// let dec = Decomposer::new(Basis::from_dataset(&ds), w0.view()).unwrap();
    /// // Plant W = W⁽⁰⁾ + 0.3·μ/‖μ‖² in filter 0 (a `j = +1` filter): γ₀ = 0.3.
    /// let mu = &ds.signal;
    /// let mut w = w0.clone();
    /// let mu2 = mu.dot(mu);
    /// w.row_mut(0).scaled_add(0.3 / mu2, mu);
    /// let d = dec.decompose(w.view()).unwrap();
    /// assert!((d.gamma[0] - 0.3).abs() < 1e-9 && d.gamma[1].abs() < 1e-9);
    /// assert!(d.residual_total < 1e-9);
    /// ```
    pub fn new(basis: Basis, w0: ArrayView2<f64>) -> Result<Self, AnalysisError> {
        let (m2, d) = w0.dim();
        if d != basis.d() || m2 % 2 != 0 {
            return Err(AnalysisError::Shape {
                what: "w0",
                expected: format!("[2m, {}]", basis.d()),
                got: format!("{:?}", w0.shape()),
            });
        }
        let inv_norm = basis.norm_sq.mapv(|v| if v > 0.0 { 1.0 / v.sqrt() } else { 0.0 });
        let k = basis.s.nrows();
        if inv_norm.iter().any(|&v| v == 0.0) {
            return Err(AnalysisError::InvalidParam {
                field: "basis",
                value: "a zero vector".into(),
                reason: "the signal and every noise vector must be nonzero",
            });
        }
        let s_unit = &basis.s * &inv_norm.view().insert_axis(Axis(1));
        let w0_norm: Array1<f64> = w0.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
        let g_s = s_unit.dot(&s_unit.t());
        let cross = s_unit.dot(&w0.t()); // (k, 2m)
        let mut chol = Vec::with_capacity(m2);
        for c in 0..m2 {
            let mut g = Array2::zeros((k + 1, k + 1));
            g.slice_mut(s![..k, ..k]).assign(&g_s);
            let col = cross.column(c).mapv(|v| v / w0_norm[c]);
            g.slice_mut(s![..k, k]).assign(&col);
            g.slice_mut(s![k, ..k]).assign(&col);
            g[[k, k]] = 1.0;
            chol.push(
                g.factorizec(UPLO::Lower)
                    .map_err(|e| AnalysisError::Singular { k: k + 1, d, source: e })?,
            );
        }
        Ok(Decomposer {
            basis,
            s_unit,
            inv_norm,
            w0: w0.to_owned(),
            w0_norm,
            chol,
            m: m2 / 2,
        })
    }

    /// The shared basis.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    /// Decompose `W` (shape `2m × d`).
    pub fn decompose(&self, w: ArrayView2<f64>) -> Result<Decomposition, AnalysisError> {
        if w.dim() != self.w0.dim() {
            return Err(AnalysisError::Shape {
                what: "W",
                expected: format!("{:?}", self.w0.shape()),
                got: format!("{:?}", w.shape()),
            });
        }
        let (m2, k) = (w.nrows(), self.s_unit.nrows());
        let inner_unit = self.s_unit.dot(&w.t()); // (k, 2m): ⟨ŝ_k, w_c⟩
        let mut theta = Array2::<f64>::zeros((m2, k)); // raw coefficients on s_k
        let mut coef_w0 = Array1::<f64>::zeros(m2);
        for c in 0..m2 {
            let mut rhs = Array1::zeros(k + 1);
            rhs.slice_mut(s![..k]).assign(&inner_unit.column(c));
            rhs[k] = self.w0.row(c).dot(&w.row(c)) / self.w0_norm[c];
            let sol = self.chol[c].solvec(&rhs).map_err(|e| AnalysisError::Singular {
                k: k + 1,
                d: w.ncols(),
                source: e,
            })?;
            for q in 0..k {
                theta[[c, q]] = sol[q] * self.inv_norm[q];
            }
            coef_w0[c] = sol[k] / self.w0_norm[c];
        }
        // Residual, computed explicitly: R = W − Θ·S − diag(α)·W0.
        let mut r = w.to_owned();
        general_mat_mul(-1.0, &theta, &self.basis.s, 1.0, &mut r);
        r.scaled_add(-1.0, &(&self.w0 * &coef_w0.view().insert_axis(Axis(1))));
        let dw = &w - &self.w0;
        let row_norm = |a: &Array2<f64>| a.rows().into_iter().map(|x| x.dot(&x)).collect::<Array1<f64>>();
        let (rn, dn) = (row_norm(&r), row_norm(&dw));
        // At W = W⁽⁰⁾ (e.g. step 0) the residual is defined as 0: nothing has moved.
        let rel = |r: f64, d: f64| if d == 0.0 { 0.0 } else { (r / d).sqrt() };
        let residual = Zip::from(&rn).and(&dn).map_collect(|&r, &d| rel(r, d));
        let residual_total = rel(rn.sum(), dn.sum());
        let norm = self.basis.norm_sq.mapv(f64::sqrt);
        let inner = (&inner_unit * &norm.view().insert_axis(Axis(1))).reversed_axes();
        Ok(Decomposition::from_raw(
            &self.basis,
            theta.view(),
            coef_w0,
            inner.to_owned(),
            residual,
            residual_total,
        ))
    }
}

impl Decomposition {
    /// Convert raw coefficients `W = diag(α)·W⁽⁰⁾ + Θ·S` (`Θ`: `2m × (n_signal+N)` on the
    /// basis rows `s_k`) into the paper's `γ`, `ρ̄`, `ρ`: `γ_c = j·Θ_{c,0}·‖μ‖²`,
    /// `ρ_{c,k} = Θ_{c,n_signal+k}·‖ξ_k‖²`, split by whether `y_k = j`.
    pub fn from_raw(
        basis: &Basis,
        theta: ArrayView2<f64>,
        coef_w0: Array1<f64>,
        inner: Array2<f64>,
        residual: Array1<f64>,
        residual_total: f64,
    ) -> Self {
        let m2 = theta.nrows();
        let (m, n_noise) = (m2 / 2, basis.n_noise());
        let mut gamma = Array1::zeros(m2);
        let mut rho_bar = Array2::zeros((m2, n_noise));
        let mut rho = Array2::zeros((m2, n_noise));
        for c in 0..m2 {
            let j = if c < m { 1.0 } else { -1.0 };
            gamma[c] = j * theta[[c, 0]] * basis.norm_sq[0];
            for q in 0..n_noise {
                let v = theta[[c, basis.n_signal + q]] * basis.norm_sq[basis.n_signal + q];
                if basis.noise_label[q] == j {
                    rho_bar[[c, q]] = v;
                } else {
                    rho[[c, q]] = v;
                }
            }
        }
        Decomposition {
            gamma,
            rho_bar,
            rho,
            coef_w0,
            residual,
            residual_total,
            inner,
        }
    }
}
