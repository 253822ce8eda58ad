//! The population test error of the weights at a [`SpanPoint`]
//! (`docs/theory.md#population-test-error`): exact up to Monte Carlo over the
//! `2m`-dimensional Gaussian of a fresh noise patch's inner products, from
//! the Gram matrices alone, so independent of `d`.

use gengap_data::NoiseKind;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};

use super::linalg::{forward, psd_factor};
use super::{SpanPoint, SpanProblem};
use crate::AnalysisError;

/// The population test error against *observed* labels that are flipped
/// with probability `p`, independently of the input, given the error
/// `clean` against the clean labels (e.g. [`SpanProblem::gaussian_test_error`]):
/// `p + (1 − 2p)·clean` (`docs/theory.md#population-test-error`). The
/// best possible value, at `clean = 0`, is `p`.
///
/// ```
/// use gengap_analysis::with_label_flips;
/// assert_eq!(with_label_flips(0.0, 0.1), 0.1);
/// assert!((with_label_flips(0.5, 0.1) - 0.5).abs() < 1e-15);
/// ```
pub fn with_label_flips(clean: f64, p: f64) -> f64 {
    p + (1.0 - 2.0 * p) * clean
}

impl SpanProblem {
    /// The exact population test error for the \[C22\] model with orthogonal
    /// noise (`docs/theory.md#population-test-error`), by Monte Carlo over the noise only: for a fresh
    /// `x = (yμ, ξ)`, `⟨w_{j,r}, ξ⟩` is a Gaussian vector over `(j, r)` with
    /// covariance `σ_p² W_⊥W_⊥ᵀ` (`W_⊥` = W projected orthogonally to μ), so
    ///
    /// `err = ½ P(f(yμ=+μ) ≤ 0) + ½ P(f(yμ=−μ) ≥ 0)`
    ///
    /// is estimated with `samples` draws of that `2m`-dimensional Gaussian
    /// (independent of `d`). `W Wᵀ` comes from the Gram matrices, at `O(m²n²)`.
    /// This is the error against the *clean* label; with label flips, see
    /// [`with_label_flips`].
    pub fn gaussian_test_error<R: rand::Rng + ?Sized>(
        &self,
        point: &SpanPoint,
        sigma_p: f64,
        samples: usize,
        rng: &mut R,
    ) -> f64 {
        use gengap_data::rng::standard_normal;
        let m2 = point.theta_t.ncols();
        let m = m2 / 2;
        let (l, ws) = self.noise_factor(point, NoiseKind::Orthogonal, sigma_p);
        let wmu = ws.column(0);
        let act = &self.cnn.act;
        let s_m = self.cnn.s_m;
        let mut wrong = 0usize;
        let mut z = Array1::<f64>::zeros(m2);
        let mut u = Array1::<f64>::zeros(m2);
        for k in 0..samples {
            for v in z.iter_mut() {
                *v = standard_normal(rng);
            }
            u.assign(&l.dot(&z));
            let y = if k % 2 == 0 { 1.0 } else { -1.0 };
            let mut f = 0.0;
            for c in 0..m2 {
                let j = if c < m { 1.0 } else { -1.0 };
                f += j * (act.value(y * wmu[c]) + act.value(u[c]));
            }
            // A NaN or infinite output is an error, never a correct prediction.
            let margin = y * f * s_m;
            if !(margin > 0.0 && margin.is_finite()) {
                wrong += 1;
            }
        }
        wrong as f64 / samples as f64
    }

    /// The exact population test error against the clean label for either
    /// noise kind of the \[C22\] model (`docs/theory.md#population-test-error`),
    /// by Monte Carlo over the noise patch, from standard normals drawn by the
    /// caller (`normals`: `samples × 2m`; row `k` is a test point of clean
    /// label `+1` for even `k`, `−1` for odd `k`). A fresh point is `(ỹμ, ξ)`,
    /// so `⟨w_{j,r}, ξ⟩` is Gaussian over `(j, r)` with covariance
    ///
    /// * `σ_p²·W_⊥W_⊥ᵀ`, `W_⊥` = `W` projected orthogonally to `μ`, for
    ///   orthogonal noise ([`SpanProblem::gaussian_test_error`] draws its own normals);
    /// * `σ_p²·W Wᵀ` for isotropic noise `N(0, σ_p² I)`, whose `μ` component
    ///   is independent of the label and therefore just more noise;
    ///
    /// the normals are mapped through a factor `L` of that covariance with one
    /// `samples × 2m × 2m` GEMM. Passing the same normals to every run of a
    /// grid gives common random numbers across it. With label flips, see
    /// [`with_label_flips`].
    pub fn population_error(
        &self,
        point: &SpanPoint,
        noise: NoiseKind,
        sigma_p: f64,
        normals: ArrayView2<f64>,
    ) -> Result<f64, AnalysisError> {
        self.population_error_for(point, &[(vec![1.0], 1.0), (vec![-1.0], -1.0)], noise, sigma_p, normals)
    }

    /// [`SpanProblem::population_error`] for any finite set of equally likely
    /// signal patches: `patterns[t] = (c, ỹ)` is the patch `Σ_k c_k s_k` over
    /// the basis's signal rows, with clean label `ỹ`; test point `k` uses
    /// pattern `k mod patterns.len()`. The noise patch is Gaussian, orthogonal
    /// to the whole signal span (`NoiseKind::Orthogonal`) or isotropic. For
    /// XOR data (signal rows `u`, `v`) the patterns are
    /// `±a = ±(u + v)` with `ỹ = +1` and `±b = ±(u − v)` with `ỹ = −1`:
    /// [`xor_patterns`](crate::xor_patterns).
    pub fn population_error_for(
        &self,
        point: &SpanPoint,
        patterns: &[(Vec<f64>, f64)],
        noise: NoiseKind,
        sigma_p: f64,
        normals: ArrayView2<f64>,
    ) -> Result<f64, AnalysisError> {
        let m2 = point.theta_t.ncols();
        if normals.ncols() != m2 || normals.nrows() == 0 {
            return Err(AnalysisError::Shape {
                what: "normals",
                expected: format!("[samples >= 1, {m2}]"),
                got: format!("{:?}", normals.shape()),
            });
        }
        let ns = self.basis.n_signal;
        if patterns.is_empty() || patterns.iter().any(|(c, y)| c.len() != ns || y.abs() != 1.0) {
            return Err(AnalysisError::Shape {
                what: "signal patterns",
                expected: format!("at least one ({ns} coefficients, label ±1)"),
                got: format!("{patterns:?}"),
            });
        }
        let m = m2 / 2;
        let (l, ws) = self.noise_factor(point, noise, sigma_p);
        let mut u = Array2::<f64>::zeros(normals.dim());
        general_mat_mul(1.0, &normals, &l.t(), 0.0, &mut u);
        let act = &self.cnn.act;
        let sign = |c: usize| if c < m { 1.0 } else { -1.0 };
        // The signal patch's part of f for each pattern.
        let f_signal: Vec<(f64, f64)> = patterns
            .iter()
            .map(|(coef, y)| {
                let f = (0..m2)
                    .map(|c| {
                        let inner: f64 = coef.iter().enumerate().map(|(k, a)| a * ws[[c, k]]).sum();
                        sign(c) * act.value(inner)
                    })
                    .sum();
                (f, *y)
            })
            .collect();
        Ok(monte_carlo_error(&u, &f_signal, act, self.cnn.s_m))
    }

    /// A factor `L` (`L Lᵀ = C`) of the covariance `C` of `⟨w_c, ξ⟩` over the
    /// `2m` filters for a fresh noise patch, and `W Sᵀ` (`2m × K`, its first
    /// columns `⟨w_c, s_k⟩` for the signal rows): `C = σ_p²·W Wᵀ`, minus the
    /// signal span for orthogonal noise (`W S_sigᵀ G_sig⁺ S_sig Wᵀ`; for one
    /// signal row `μ`, `Wμ μᵀWᵀ/‖μ‖²`). All from the Gram matrices, `O(m²n²)`.
    fn noise_factor(&self, point: &SpanPoint, noise: NoiseKind, sigma_p: f64) -> (Array2<f64>, Array2<f64>) {
        let m2 = point.theta_t.ncols();
        let ns = self.basis.n_signal;
        // W Sᵀ = α∘(W0 Sᵀ) + Θ G  (2m × K).
        let a = point.alpha.view().insert_axis(Axis(1));
        let mut ws = &self.w0_s * &a;
        general_mat_mul(1.0, &point.theta_t.t(), &self.gram, 1.0, &mut ws);
        // W Wᵀ = (α∘W0)(α∘W0)ᵀ + (α∘W0)(ΘS)ᵀ + (ΘS)(α∘W0)ᵀ + ΘGΘᵀ
        //      = αα∘(W0W0ᵀ) + (α∘W0Sᵀ)Θᵀ + Θ(W Sᵀ)ᵀ.
        let mut wwt = &self.w0_w0t * &(&a * &a.t());
        general_mat_mul(1.0, &(&self.w0_s * &a), &point.theta_t, 1.0, &mut wwt);
        general_mat_mul(1.0, &point.theta_t.t(), &ws.t(), 1.0, &mut wwt);
        let mu_sq = self.gram[[0, 0]];
        let wmu = ws.column(0);
        // The part of W Wᵀ along the signal span (none for isotropic noise;
        // at μ = 0 there is none to remove).
        let along = if noise == NoiseKind::Isotropic {
            None
        } else if ns > 1 {
            let l = psd_factor(&self.gram.slice(s![..ns, ..ns]).to_owned());
            let y: Vec<Array1<f64>> = (0..m2)
                .map(|c| forward(&l, &ws.slice(s![c, ..ns]).to_owned()))
                .collect();
            Some(Array2::from_shape_fn((m2, m2), |(i, j)| y[i].dot(&y[j])))
        } else if mu_sq > 0.0 {
            Some(Array2::from_shape_fn((m2, m2), |(i, j)| wmu[i] * wmu[j] / mu_sq))
        } else {
            None
        };
        let mut cov = wwt;
        for i in 0..m2 {
            for j in 0..m2 {
                let along = along.as_ref().map_or(0.0, |p| p[[i, j]]);
                cov[[i, j]] = sigma_p * sigma_p * (0.5 * (cov[[i, j]] + cov[[j, i]]) - along);
            }
        }
        (psd_factor(&cov), ws)
    }
}

/// The Monte-Carlo error count shared by the reduced and the full-space
/// population errors: row `k` of `u` holds the noise patch's pre-activations
/// `⟨w_c, ξ⟩` of test point `k`, whose signal patch is pattern
/// `k mod f_signal.len()`, given as (its part of `F_{+1} − F_{−1}` before
/// `s_m`, its clean label). A NaN or infinite output is an error, never a
/// correct prediction.
pub(crate) fn monte_carlo_error(
    u: &Array2<f64>,
    f_signal: &[(f64, f64)],
    act: &gengap_model::ActFn<f64>,
    s_m: f64,
) -> f64 {
    let m = u.ncols() / 2;
    let sign = |c: usize| if c < m { 1.0 } else { -1.0 };
    let wrong = u
        .rows()
        .into_iter()
        .enumerate()
        .filter(|(k, row)| {
            let (f_sig, y) = f_signal[k % f_signal.len()];
            let f_noise: f64 = row.iter().enumerate().map(|(c, &v)| sign(c) * act.value(v)).sum();
            let margin = y * (f_sig + f_noise) * s_m;
            !(margin > 0.0 && margin.is_finite())
        })
        .count();
    wrong as f64 / u.nrows() as f64
}
