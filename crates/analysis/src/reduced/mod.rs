//! The exact reduced-space engine (`docs/theory.md#reduced-space-recursion`,
//! the talk's "discrete dynamical system of coefficients", \[C22\];
//! `docs/theory.md#span-preserving-algorithms`).
//!
//! Every algorithm whose update is a combination of `W`, `W⁽⁰⁾` and
//! gradients keeps each filter in `span{w⁽⁰⁾_c} + span{signal, training
//! noise vectors}`, and runs exactly in that span:
//!
//! * [`SpanProblem`]: the fixed data (patch coordinates `A`, Gram matrix
//!   `G_S`, initial inner products, test cross-Gram) and the exact pieces —
//!   the gradient in coordinates on any rows with any labels or mixed pairs,
//!   inner products and norms of directions, metrics, weights, decomposition;
//! * [`SpanPoint`] (the weights in coordinates, with `I = W·Sᵀ`) and
//!   [`SpanDirection`] (a gradient, a momentum buffer, a perturbation), with
//!   the moves `W ← β·W + a·D`;
//! * the population test error ([`SpanProblem::population_error`]);
//! * [`ReducedGd`], full-batch GD with L2 decay from these pieces.
//!
//! The algorithms (SGD, momentum, SAM, label-noise GD, mixup) and the trait
//! through which outside code writes its own are in `gengap-train`
//! (`SpanAlgorithm`), next to the driver that runs them.

pub(crate) mod linalg;
mod point;
mod population;
mod problem;
mod sparse;

use gengap_data::{BlockedC22, Dataset, NoiseKind};
use gengap_model::{CnnConfig, Metrics};
use ndarray::{Array1, Array2, ArrayView2};

pub use point::{SpanDirection, SpanPoint, SpanWorkspace, Targets};
pub(crate) use population::monte_carlo_error;
pub use population::with_label_flips;
pub use problem::SpanProblem;

use crate::{AnalysisError, Basis, Decomposition};

/// Exact full-batch GD with L2 decay `λ` in the coordinates
/// `W = diag(α)·W⁽⁰⁾ + Θ·S`, where the rows of `S` are `μ` (or `v`) and every
/// training noise vector `ξ_k` ([`SpanProblem`]).
///
/// Every input patch is a fixed combination of the basis, `X = A·S`, and `A`
/// is sparse: a signal patch is `y_i·μ` (one entry), a noise patch is its own
/// `ξ` plus, for \[Z23\]'s feature noise, a multiple of `v` (two entries). So
/// the solver keeps the inner products `I = W·Sᵀ` (`2m × K`, `K = 1 + N`) and
/// the Gram matrix `G_S = S·Sᵀ` (computed once, the only `O(d)` work):
///
/// ```text
/// Z   = A·Iᵀ                                    (nP × 2m: ≤ 2 terms per entry, no GEMM)
/// ∂L/∂Z from the model's fused head            (g_i = ℓ′(y_i f_i) y_i / n)
/// Γ   = (∂L/∂Z)ᵀ·A                              (2m × K: sparse, no GEMM)
/// Θ ← (1 − ηλ)·Θ − η·Γ,  α ← (1 − ηλ)·α        (the GD step on W, in coordinates)
/// I ← (1 − ηλ)·I − η·Γ·G_S                      (one 2m × K × K product per step)
/// ```
///
/// In particular the signal rows cost nothing: `⟨w, y_iμ⟩ = y_i⟨w, μ⟩` is
/// read from `I`. The one product, `4mK²` flops, is the coupling of the noise
/// vectors through their Gram matrix, which no exact method avoids.
///
/// This is the recursion of `docs/theory.md#reduced-space-recursion` for `γ`, `ρ̄`, `ρ` (with `γ = j·Θ_{·,0}‖μ‖²`,
/// `ρ = Θ_{·,k}‖ξ_k‖²`), written for any patch structure; the test split is
/// evaluated through the precomputed cross-Gram `X_test·Sᵀ`. Every other
/// span-preserving algorithm is `gengap_train::SpanTrainer`.
pub struct ReducedGd {
    problem: SpanProblem,
    point: SpanPoint,
    grad: SpanDirection,
    ws: SpanWorkspace,
    lr: f64,
    lambda: f64,
    /// Steps taken.
    pub step: u64,
}

impl std::fmt::Debug for ReducedGd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReducedGd")
            .field("step", &self.step)
            .field("theta", &self.theta().dim())
            .finish()
    }
}

fn check_rates(lr: f64, lambda: f64) -> Result<(), AnalysisError> {
    if !lr.is_finite() || lr <= 0.0 {
        return Err(AnalysisError::InvalidParam {
            field: "lr",
            value: lr.to_string(),
            reason: "must be finite and > 0",
        });
    }
    if !lambda.is_finite() || lambda < 0.0 {
        return Err(AnalysisError::InvalidParam {
            field: "lambda",
            value: lambda.to_string(),
            reason: "must be finite and >= 0",
        });
    }
    Ok(())
}

impl ReducedGd {
    /// Set up from a data set, the model config, `W⁽⁰⁾` (`2m × d`), the GD
    /// step `η` and the L2 decay `λ` (0 for none).
    ///
    /// Checks that every training patch lies in the span (`‖X − A·S‖` at
    /// round-off); the one-time products cost `O(n·P·(n+m)·d)`.
    ///
    /// ```
    /// use gengap_analysis::ReducedGd;
    /// use gengap_data::{C22Params, DataConfig, rng};
    /// use gengap_model::CnnConfig;
    ///
    /// let ds = DataConfig::C22(C22Params { d: 200, n: 10, n_test: 10, mu_norm: 6.0, ..Default::default() })
    ///     .generate(&mut rng::stream(9, 0))
    ///     .unwrap();
    /// let cfg = CnnConfig { m: 3, ..Default::default() };
    /// let w0 = cfg.init::<f64, _>(200, &mut rng::stream(9, 1)).unwrap();
    /// let mut gd = ReducedGd::new(&ds, &cfg, w0.view(), 0.5, 0.0).unwrap();
    /// let before = gd.train_metrics().loss;
    /// for _ in 0..50 {
    ///     gd.step();
    /// }
    /// assert!(gd.train_metrics().loss < before);
    /// ```
    pub fn new(
        ds: &Dataset,
        cfg: &CnnConfig,
        w0: ArrayView2<f64>,
        lr: f64,
        lambda: f64,
    ) -> Result<Self, AnalysisError> {
        cfg.validate()?;
        check_rates(lr, lambda)?;
        Ok(Self::on(SpanProblem::new(ds, cfg, w0)?, lr, lambda))
    }

    /// Set up from Gram products alone ([`SpanProblem::from_blocked`]): no
    /// test split; use [`ReducedGd::gaussian_test_error`]; `test_metrics`
    /// returns NaN and `weights` returns `None`.
    pub fn from_blocked(bl: &BlockedC22, cfg: &CnnConfig, lr: f64, lambda: f64) -> Result<Self, AnalysisError> {
        cfg.validate()?;
        check_rates(lr, lambda)?;
        Ok(Self::on(SpanProblem::from_blocked(bl, cfg)?, lr, lambda))
    }

    fn on(problem: SpanProblem, lr: f64, lambda: f64) -> Self {
        ReducedGd {
            point: problem.start(),
            grad: problem.zero_direction(),
            ws: problem.workspace(),
            problem,
            lr,
            lambda,
            step: 0,
        }
    }

    /// The problem's data and pieces.
    pub fn problem(&self) -> &SpanProblem {
        &self.problem
    }

    /// The current point (weights in coordinates).
    pub fn point(&self) -> &SpanPoint {
        &self.point
    }

    /// The coefficient `α_c` of each `w⁽⁰⁾_c`.
    pub fn alpha(&self) -> &Array1<f64> {
        &self.point.alpha
    }

    /// The raw coefficients `Θ` on the basis rows (`2m × (1+N)`), with
    /// `W = diag(α)·W⁽⁰⁾ + Θ·S`.
    pub fn theta(&self) -> ArrayView2<'_, f64> {
        self.point.theta()
    }

    /// The basis `{μ or v, ξ_k}`.
    pub fn basis(&self) -> &Basis {
        self.problem.basis()
    }

    /// The training metrics at the current weights, and the gradient in
    /// coordinates for the next [`ReducedGd::apply`]. Allocation-free; no GEMM.
    pub fn loss_grad(&mut self) -> Metrics {
        self.problem
            .gradient(&self.point, Targets::all(), &mut self.ws, &mut self.grad)
            .expect("the whole training set is a valid target")
    }

    /// The GD step with the gradient `Γ` of the last [`ReducedGd::loss_grad`]:
    /// `Θ ← (1 − ηλ)Θ − η·Γ`, `α ← (1 − ηλ)α`, `I ← (1 − ηλ)I − η·Γ·G_S`.
    /// Allocation-free; one `K × K × 2m` product, by a register-blocked fma
    /// kernel that gives the same bits on every CPU and BLAS kernel.
    pub fn apply(&mut self) {
        let shrink = 1.0 - self.lr * self.lambda;
        self.point
            .shrink_add(&self.problem, shrink, -self.lr, &self.grad, &mut self.ws.scratch);
        self.step += 1;
    }

    /// One GD step ([`ReducedGd::loss_grad`], then [`ReducedGd::apply`]);
    /// returns the training metrics at the weights before the step. A run to
    /// a stopping rule is `gengap_train::drive` on this solver.
    pub fn step(&mut self) -> Metrics {
        let met = self.loss_grad();
        self.apply();
        met
    }

    /// `‖∇L_S(W)‖_F` of the last [`ReducedGd::loss_grad`], in full space:
    /// the gradient is `Γ·S`, so `‖Γ·S‖²_F = Σ_c γ_cᵀ (S Sᵀ) γ_c`.
    pub fn grad_norm(&self) -> f64 {
        self.problem.grad_norm(&self.grad)
    }

    /// Training metrics at the current weights.
    pub fn train_metrics(&mut self) -> Metrics {
        self.problem.metrics(&self.point, &mut self.ws)
    }

    /// Test metrics at the current weights, through the cross-Gram `X_test·Sᵀ`
    /// (NaN when set up by [`ReducedGd::from_blocked`], which has no test split).
    pub fn test_metrics(&mut self) -> Metrics {
        self.problem.test_metrics(&self.point, &mut self.ws)
    }

    /// [`with_label_flips`]: `p + (1 − 2p)·clean`.
    ///
    /// ```
    /// use gengap_analysis::ReducedGd;
    /// assert_eq!(ReducedGd::with_label_flips(0.0, 0.1), 0.1);
    /// ```
    pub fn with_label_flips(clean: f64, p: f64) -> f64 {
        with_label_flips(clean, p)
    }

    /// [`SpanProblem::gaussian_test_error`] at the current weights.
    pub fn gaussian_test_error<R: rand::Rng + ?Sized>(&self, sigma_p: f64, samples: usize, rng: &mut R) -> f64 {
        self.problem.gaussian_test_error(&self.point, sigma_p, samples, rng)
    }

    /// [`SpanProblem::population_error`] at the current weights.
    pub fn population_error(
        &self,
        noise: NoiseKind,
        sigma_p: f64,
        normals: ArrayView2<f64>,
    ) -> Result<f64, AnalysisError> {
        self.problem.population_error(&self.point, noise, sigma_p, normals)
    }

    /// [`SpanProblem::population_error_for`] at the current weights.
    pub fn population_error_for(
        &self,
        patterns: &[(Vec<f64>, f64)],
        noise: NoiseKind,
        sigma_p: f64,
        normals: ArrayView2<f64>,
    ) -> Result<f64, AnalysisError> {
        self.problem
            .population_error_for(&self.point, patterns, noise, sigma_p, normals)
    }

    /// The full-space weights `W = diag(α)·W⁽⁰⁾ + Θ·S` (an `O(m·n·d)`
    /// reconstruction); `None` when set up from Gram products alone.
    pub fn weights(&self) -> Option<Array2<f64>> {
        self.problem.weights(&self.point)
    }

    /// The decomposition at the current step, exact by construction (residual 0).
    pub fn decomposition(&self) -> Decomposition {
        self.problem.decomposition(&self.point)
    }
}
