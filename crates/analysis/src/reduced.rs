//! The exact reduced-space GD solver (`docs/theory.md#reduced-space-recursion`, the talk's "discrete dynamical
//! system of coefficients", \[C22\]).

use gengap_data::{BlockedC22, Dataset, NoiseKind, Split};
use gengap_model::{Cnn, CnnConfig, Metrics, Workspace};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};

use crate::coupling::gram_update;
use crate::{AnalysisError, Basis, Decomposition};

/// A lower-triangular `L` with `L Lᵀ = C` for a symmetric positive
/// semi-definite `C` (Cholesky with zero pivots skipped: rank-deficient
/// covariances, e.g. `m` filters in a smaller span, are allowed).
fn psd_factor(c: &Array2<f64>) -> Array2<f64> {
    let n = c.nrows();
    let scale = (0..n).map(|i| c[[i, i]].abs()).fold(0.0f64, f64::max).max(1e-300);
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut d = c[[j, j]];
        for k in 0..j {
            d -= l[[j, k]] * l[[j, k]];
        }
        if d <= 1e-13 * scale {
            continue; // zero pivot: column j stays 0
        }
        let d = d.sqrt();
        l[[j, j]] = d;
        for i in j + 1..n {
            let mut s = c[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = s / d;
        }
    }
    l
}

/// `x` with `L Lᵀ x = b` for a factor from [`psd_factor`]; the components
/// along zero pivots are set to 0 (a least-squares solution when `C` is
/// singular, e.g. a zero signal vector).
fn psd_solve(l: &Array2<f64>, b: &Array1<f64>) -> Array1<f64> {
    let mut z = forward(l, b);
    let n = z.len();
    for j in (0..n).rev() {
        if l[[j, j]] == 0.0 {
            z[j] = 0.0;
            continue;
        }
        let mut t = z[j];
        for i in j + 1..n {
            t -= l[[i, j]] * z[i];
        }
        z[j] = t / l[[j, j]];
    }
    z
}

/// `L⁻¹ b` by forward substitution, 0 along zero pivots.
fn forward(l: &Array2<f64>, b: &Array1<f64>) -> Array1<f64> {
    let n = b.len();
    let mut z = Array1::<f64>::zeros(n);
    for i in 0..n {
        if l[[i, i]] == 0.0 {
            continue;
        }
        let mut t = b[i];
        for k in 0..i {
            t -= l[[i, k]] * z[k];
        }
        z[i] = t / l[[i, i]];
    }
    z
}

/// Exact GD in the coordinates `W = diag(α)·W⁽⁰⁾ + Θ·S`, where the rows of `S`
/// are `μ` (or `v`) and every training noise vector `ξ_k`.
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
/// read from `I`. The one GEMM, `4mK²` flops, is the coupling of the noise
/// vectors through their Gram matrix, which no exact method avoids.
///
/// This is the recursion of `docs/theory.md#reduced-space-recursion` for `γ`, `ρ̄`, `ρ` (with `γ = j·Θ_{·,0}‖μ‖²`,
/// `ρ = Θ_{·,k}‖ξ_k‖²`), written for any patch structure; the test split is
/// evaluated through the precomputed cross-Gram `X_test·Sᵀ`.
pub struct ReducedGd {
    cnn: Cnn<f64>,
    lr: f64,
    lambda: f64,
    basis: Basis,
    a: SparseRows,
    /// `Iᵀ = S·Wᵀ` (`K × 2m`), updated every step.
    inner_t: Array2<f64>,
    h_test: Array2<f64>,
    p0_test: Array2<f64>,
    y: Array1<f64>,
    y_test: Array1<f64>,
    patches: usize,
    w0: Array2<f64>,
    w0_s: Array2<f64>,
    w0_w0t: Array2<f64>,
    gram: Array2<f64>,
    /// Whether a test split (and the full-space basis and W⁽⁰⁾) is held.
    has_test: bool,
    /// `Θᵀ`: the raw coefficients on the basis rows, stored `(1+N) × 2m` so
    /// that the step's updates run along rows ([`ReducedGd::theta`] is `Θ`).
    theta_t: Array2<f64>,
    /// Coefficient of each `w⁽⁰⁾_{j,r}`.
    pub alpha: Array1<f64>,
    /// Steps taken.
    pub step: u64,
    ws: Workspace<f64>,
    ws_test: Workspace<f64>,
    /// `Γᵀ` (`K × 2m`), the gradient in coordinates, transposed.
    grad_t: Array2<f64>,
    /// Partial sums of the coupling product (`K × 2m`).
    scratch: Array2<f64>,
}

/// The rows of `A` (`X = A·S`) as `(column, value)` lists: at most two
/// entries per patch, so `A·Iᵀ` and `(∂L/∂Z)ᵀ·A` are `O(nP·m)` loops.
#[derive(Debug, Clone)]
struct SparseRows {
    start: Vec<usize>,
    entries: Vec<(usize, f64)>,
}

impl SparseRows {
    fn from_dense(a: &Array2<f64>) -> Self {
        let mut start = vec![0];
        let mut entries = vec![];
        for row in a.rows() {
            entries.extend(row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(k, v)| (k, *v)));
            start.push(entries.len());
        }
        SparseRows { start, entries }
    }

    fn row(&self, r: usize) -> &[(usize, f64)] {
        &self.entries[self.start[r]..self.start[r + 1]]
    }

    /// `max |X − A·S|` over all entries, row by row from the non-zeros
    /// (`O(nnz·d)`; the dense `A·S` would cost `O(rows·K·d)`).
    fn max_residual(&self, x: ArrayView2<f64>, s: ArrayView2<f64>) -> f64 {
        let mut resid = Array1::<f64>::zeros(x.ncols());
        let mut worst = 0.0f64;
        for (r, xr) in x.rows().into_iter().enumerate() {
            resid.assign(&xr);
            for &(k, v) in self.row(r) {
                resid.scaled_add(-v, &s.row(k));
            }
            worst = resid.iter().fold(worst, |m, e| m.max(e.abs()));
        }
        worst
    }

    /// `z = A·Iᵀ`, with `Iᵀ` given (`K × 2m`; both row-major).
    fn times(&self, inner_t: &Array2<f64>, z: &mut Array2<f64>) {
        let w = z.ncols();
        let src = inner_t.as_slice().expect("standard layout");
        let dst = z.as_slice_mut().expect("standard layout");
        for (r, zr) in dst.chunks_exact_mut(w).enumerate() {
            let entries = self.row(r);
            let Some((&(k0, v0), rest)) = entries.split_first() else {
                zr.fill(0.0);
                continue;
            };
            for (o, x) in zr.iter_mut().zip(&src[k0 * w..(k0 + 1) * w]) {
                *o = v0 * x;
            }
            for &(k, v) in rest {
                for (o, x) in zr.iter_mut().zip(&src[k * w..(k + 1) * w]) {
                    *o += v * x;
                }
            }
        }
    }

    /// `Γᵀ = Aᵀ·dz` (`K × 2m`; both row-major).
    fn transpose_times(&self, dz: &Array2<f64>, out: &mut Array2<f64>) {
        let w = dz.ncols();
        let src = dz.as_slice().expect("standard layout");
        let dst = out.as_slice_mut().expect("standard layout");
        dst.fill(0.0);
        for (r, dzr) in src.chunks_exact(w).enumerate() {
            for &(k, v) in self.row(r) {
                for (o, x) in dst[k * w..(k + 1) * w].iter_mut().zip(dzr) {
                    *o += v * x;
                }
            }
        }
    }
}

impl std::fmt::Debug for ReducedGd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReducedGd")
            .field("step", &self.step)
            .field("theta", &self.theta().dim())
            .finish()
    }
}

fn check_setup(cfg: &CnnConfig, lr: f64, lambda: f64) -> Result<Cnn<f64>, AnalysisError> {
    let cnn = Cnn::<f64>::new(cfg)?;
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
    Ok(cnn)
}

/// `A` with `X = A·S` for a split. With one signal row `s₀` (\[C22\],
/// \[Z23\]) the signal patch is `ỹ·s₀` and noise patch `(i,k)` is `ξ_{i,k}`
/// plus its `s₀` component (the \[Z23\] feature noise `−α·y·v`). With
/// several signal rows (XOR data: `u`, `v`) each patch's signal part is
/// solved for in the signal rows' Gram matrix (`x = Σ_k c_k s_k + ξ`).
fn coordinates(split: &Split, signal: ArrayView2<f64>, n_basis: usize) -> Array2<f64> {
    let (n, pp) = (split.n(), split.patches());
    let (k, n_signal) = (pp - 1, signal.nrows());
    let sig_sq = signal.row(0).dot(&signal.row(0));
    let factor = psd_factor(&signal.dot(&signal.t()));
    let signal_part = |v: ArrayView1<f64>| psd_solve(&factor, &signal.dot(&v));
    let mut a = Array2::zeros((n * pp, n_basis));
    for i in 0..n {
        let sp = split.signal_patch[i];
        if n_signal == 1 {
            a[[i * pp + sp, 0]] = split.y_clean[i];
        } else {
            let c = signal_part(split.x.slice(s![i, sp, ..]));
            a.slice_mut(s![i * pp + sp, ..n_signal]).assign(&c);
        }
        for q in 0..k {
            let p = split.noise_patches[[i, q]];
            let row = i * pp + p;
            a[[row, n_signal + i * k + q]] = 1.0;
            let extra = &split.x.slice(s![i, p, ..]) - &split.noise.slice(s![i, q, ..]);
            if n_signal > 1 {
                a.slice_mut(s![row, ..n_signal]).assign(&signal_part(extra.view()));
            } else if sig_sq > 0.0 {
                a[[row, 0]] = extra.dot(&signal.row(0)) / sig_sq;
            }
        }
    }
    a
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
        let cnn = check_setup(cfg, lr, lambda)?;
        let basis = Basis::from_dataset(ds);
        let m2 = 2 * cfg.m;
        if w0.dim() != (m2, basis.d()) {
            return Err(AnalysisError::Shape {
                what: "w0",
                expected: format!("[{m2}, {}]", basis.d()),
                got: format!("{:?}", w0.shape()),
            });
        }
        let kb = basis.s.nrows();
        let x = ds.train.stacked();
        let a = SparseRows::from_dense(&coordinates(&ds.train, basis.s.slice(s![..basis.n_signal, ..]), kb));
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
        let err = a.max_residual(x, basis.s.view());
        if err > 1e-12 * scale {
            return Err(AnalysisError::InvalidParam {
                field: "data",
                value: format!("max |X - A S| = {err:e}"),
                reason: "training patches must lie in span{signal, noise vectors}",
            });
        }
        let xt = ds.test.stacked();
        let h_test = xt.dot(&basis.s.t());
        let p0_test = xt.dot(&w0.t());
        let w0_s = w0.dot(&basis.s.t());
        let w0_w0t = w0.dot(&w0.t());
        let gram = basis.s.dot(&basis.s.t());
        let patches = ds.train.patches();
        Ok(ReducedGd {
            cnn,
            lr,
            lambda,
            a,
            inner_t: w0_s.t().as_standard_layout().into_owned(),
            h_test,
            p0_test,
            y: ds.train.y.clone(),
            y_test: ds.test.y.clone(),
            patches,
            w0: w0.to_owned(),
            w0_s,
            w0_w0t,
            gram,
            has_test: true,
            theta_t: Array2::zeros((kb, m2)),
            alpha: Array1::ones(m2),
            step: 0,
            ws: Workspace::new(ds.train.n(), patches, cfg.m),
            ws_test: Workspace::new(ds.test.n(), patches, cfg.m),
            grad_t: Array2::zeros((kb, m2)),
            scratch: Array2::zeros((kb, m2)),
            basis,
        })
    }

    /// Set up from Gram products alone (\[C22\] data made by
    /// `C22Params::blocked_products`), never holding a `d`-dimensional vector:
    /// this is what makes `d = 10⁶` affordable. With `X = A·S`, the solver's
    /// `H = X·Sᵀ = A·G` and `P₀ = X·W⁽⁰⁾ᵀ = A·(S·W⁽⁰⁾ᵀ)`. There is no test
    /// split: use [`ReducedGd::gaussian_test_error`]; `test_metrics` returns NaN
    /// and `weights` returns `None`.
    pub fn from_blocked(bl: &BlockedC22, cfg: &CnnConfig, lr: f64, lambda: f64) -> Result<Self, AnalysisError> {
        let cnn = check_setup(cfg, lr, lambda)?;
        let (n, m2, k) = (bl.y.len(), 2 * cfg.m, bl.y.len() + 1);
        if bl.gram.dim() != (k, k) || bl.s_w0t.dim() != (k, m2) || bl.w0_w0t.dim() != (m2, m2) {
            return Err(AnalysisError::Shape {
                what: "blocked products",
                expected: format!("gram [{k}, {k}], s_w0t [{k}, {m2}], w0_w0t [{m2}, {m2}]"),
                got: format!("{:?}, {:?}, {:?}", bl.gram.shape(), bl.s_w0t.shape(), bl.w0_w0t.shape()),
            });
        }
        let mut a = Array2::zeros((2 * n, k));
        for i in 0..n {
            let sp = bl.signal_patch[i];
            a[[2 * i + sp, 0]] = bl.y_clean[i];
            a[[2 * i + 1 - sp, 1 + i]] = 1.0;
        }
        let basis = Basis {
            s: Array2::zeros((0, 0)),
            n_signal: 1,
            norm_sq: bl.gram.diag().to_owned(),
            noise_label: bl.y.clone(),
            noise_sample: (0..n).collect(),
            n,
        };
        Ok(ReducedGd {
            cnn,
            lr,
            lambda,
            a: SparseRows::from_dense(&a),
            inner_t: bl.s_w0t.as_standard_layout().into_owned(),
            h_test: Array2::zeros((0, k)),
            p0_test: Array2::zeros((0, m2)),
            y: bl.y.clone(),
            y_test: Array1::zeros(0),
            patches: 2,
            w0: Array2::zeros((0, 0)),
            w0_s: bl.s_w0t.t().to_owned(),
            w0_w0t: bl.w0_w0t.clone(),
            gram: bl.gram.clone(),
            has_test: false,
            theta_t: Array2::zeros((k, m2)),
            alpha: Array1::ones(m2),
            step: 0,
            ws: Workspace::new(n, 2, cfg.m),
            ws_test: Workspace::new(0, 2, cfg.m),
            grad_t: Array2::zeros((k, m2)),
            scratch: Array2::zeros((k, m2)),
            basis,
        })
    }

    /// The raw coefficients `Θ` on the basis rows (`2m × (1+N)`), with
    /// `W = diag(α)·W⁽⁰⁾ + Θ·S`.
    pub fn theta(&self) -> ArrayView2<'_, f64> {
        self.theta_t.t()
    }

    /// The basis `{μ or v, ξ_k}`.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    fn fill_z(z: &mut Array2<f64>, p0: &Array2<f64>, h: &Array2<f64>, theta_t: &Array2<f64>, alpha: &Array1<f64>) {
        z.assign(p0);
        *z *= &alpha.view().insert_axis(Axis(0));
        general_mat_mul(1.0, h, theta_t, 1.0, z);
    }

    /// The training metrics at the current weights, and the gradient in
    /// coordinates for the next [`ReducedGd::apply`]. Allocation-free; no GEMM.
    pub fn loss_grad(&mut self) -> Metrics {
        self.a.times(&self.inner_t, &mut self.ws.z);
        let met = self.cnn.grad_from_z(&mut self.ws, self.y.view(), self.patches);
        self.a.transpose_times(&self.ws.dz, &mut self.grad_t);
        met
    }

    /// The GD step with the gradient `Γ` of the last [`ReducedGd::loss_grad`]:
    /// `Θ ← (1 − ηλ)Θ − η·Γ`, `α ← (1 − ηλ)α`, `I ← (1 − ηλ)I − η·Γ·G_S`.
    /// Allocation-free; one `K × K × 2m` product, by a register-blocked fma
    /// kernel that gives the same bits on every CPU and BLAS kernel.
    pub fn apply(&mut self) {
        let shrink = 1.0 - self.lr * self.lambda;
        if shrink != 1.0 {
            self.theta_t *= shrink;
            self.alpha *= shrink;
        }
        self.theta_t.scaled_add(-self.lr, &self.grad_t);
        // Iᵀ ← (1 − ηλ)·Iᵀ − η·G_S·Γᵀ, in one pass of the coupling kernel.
        gram_update(
            self.gram.view(),
            self.grad_t.view(),
            -self.lr,
            shrink,
            &mut self.inner_t,
            &mut self.scratch,
        );
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
        (self.gram.dot(&self.grad_t) * &self.grad_t).sum().max(0.0).sqrt()
    }

    /// Training metrics at the current weights.
    pub fn train_metrics(&mut self) -> Metrics {
        self.a.times(&self.inner_t, &mut self.ws.z);
        self.cnn.outputs_from_z(&mut self.ws, self.y.view(), self.patches)
    }

    /// Test metrics at the current weights, through the cross-Gram `X_test·Sᵀ`
    /// (NaN when set up by [`ReducedGd::from_blocked`], which has no test split).
    pub fn test_metrics(&mut self) -> Metrics {
        if !self.has_test {
            return Metrics {
                loss: f64::NAN,
                error: f64::NAN,
            };
        }
        Self::fill_z(
            &mut self.ws_test.z,
            &self.p0_test,
            &self.h_test,
            &self.theta_t,
            &self.alpha,
        );
        self.cnn
            .outputs_from_z(&mut self.ws_test, self.y_test.view(), self.patches)
    }

    /// The population test error against *observed* labels that are flipped
    /// with probability `p`, independently of the input, given the error
    /// `clean` against the clean labels (e.g. [`ReducedGd::gaussian_test_error`]):
    /// `p + (1 − 2p)·clean` (`docs/theory.md#population-test-error`). The
    /// best possible value, at `clean = 0`, is `p`.
    ///
    /// ```
    /// use gengap_analysis::ReducedGd;
    /// assert_eq!(ReducedGd::with_label_flips(0.0, 0.1), 0.1);
    /// assert!((ReducedGd::with_label_flips(0.5, 0.1) - 0.5).abs() < 1e-15);
    /// ```
    pub fn with_label_flips(clean: f64, p: f64) -> f64 {
        p + (1.0 - 2.0 * p) * clean
    }

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
    /// [`ReducedGd::with_label_flips`].
    pub fn gaussian_test_error<R: rand::Rng + ?Sized>(&self, sigma_p: f64, samples: usize, rng: &mut R) -> f64 {
        use gengap_data::rng::standard_normal;
        let m2 = self.theta_t.ncols();
        let m = m2 / 2;
        let (l, ws) = self.noise_factor(NoiseKind::Orthogonal, sigma_p);
        let wmu = ws.column(0);
        let act = self.cnn.act;
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
    ///   orthogonal noise ([`ReducedGd::gaussian_test_error`] draws its own normals);
    /// * `σ_p²·W Wᵀ` for isotropic noise `N(0, σ_p² I)`, whose `μ` component
    ///   is independent of the label and therefore just more noise;
    ///
    /// the normals are mapped through a factor `L` of that covariance with one
    /// `samples × 2m × 2m` GEMM. Passing the same normals to every run of a
    /// grid gives common random numbers across it. With label flips, see
    /// [`ReducedGd::with_label_flips`].
    pub fn population_error(
        &self,
        noise: NoiseKind,
        sigma_p: f64,
        normals: ArrayView2<f64>,
    ) -> Result<f64, AnalysisError> {
        self.population_error_for(&[(vec![1.0], 1.0), (vec![-1.0], -1.0)], noise, sigma_p, normals)
    }

    /// [`ReducedGd::population_error`] for any finite set of equally likely
    /// signal patches: `patterns[t] = (c, ỹ)` is the patch `Σ_k c_k s_k` over
    /// the basis's signal rows, with clean label `ỹ`; test point `k` uses
    /// pattern `k mod patterns.len()`. The noise patch is Gaussian, orthogonal
    /// to the whole signal span (`NoiseKind::Orthogonal`) or isotropic. For
    /// XOR data (signal rows `u`, `v`) the patterns are
    /// `±a = ±(u + v)` with `ỹ = +1` and `±b = ±(u − v)` with `ỹ = −1`:
    /// [`xor_patterns`](crate::xor_patterns).
    pub fn population_error_for(
        &self,
        patterns: &[(Vec<f64>, f64)],
        noise: NoiseKind,
        sigma_p: f64,
        normals: ArrayView2<f64>,
    ) -> Result<f64, AnalysisError> {
        let m2 = self.theta_t.ncols();
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
        let (l, ws) = self.noise_factor(noise, sigma_p);
        let mut u = Array2::<f64>::zeros(normals.dim());
        general_mat_mul(1.0, &normals, &l.t(), 0.0, &mut u);
        let (act, s_m) = (self.cnn.act, self.cnn.s_m);
        let sign = |c: usize| if c < m { 1.0 } else { -1.0 };
        // The signal patch's part of f for each pattern.
        let f_signal: Vec<f64> = patterns
            .iter()
            .map(|(coef, _)| {
                (0..m2)
                    .map(|c| {
                        let inner: f64 = coef.iter().enumerate().map(|(k, a)| a * ws[[c, k]]).sum();
                        sign(c) * act.value(inner)
                    })
                    .sum()
            })
            .collect();
        let wrong = u
            .rows()
            .into_iter()
            .enumerate()
            .filter(|(k, row)| {
                let t = k % patterns.len();
                let f_noise: f64 = row.iter().enumerate().map(|(c, &v)| sign(c) * act.value(v)).sum();
                // A NaN or infinite output is an error, never a correct prediction.
                let margin = patterns[t].1 * (f_signal[t] + f_noise) * s_m;
                !(margin > 0.0 && margin.is_finite())
            })
            .count();
        Ok(wrong as f64 / normals.nrows() as f64)
    }

    /// A factor `L` (`L Lᵀ = C`) of the covariance `C` of `⟨w_c, ξ⟩` over the
    /// `2m` filters for a fresh noise patch, and `W Sᵀ` (`2m × K`, its first
    /// columns `⟨w_c, s_k⟩` for the signal rows): `C = σ_p²·W Wᵀ`, minus the
    /// signal span for orthogonal noise (`W S_sigᵀ G_sig⁺ S_sig Wᵀ`; for one
    /// signal row `μ`, `Wμ μᵀWᵀ/‖μ‖²`). All from the Gram matrices, `O(m²n²)`.
    fn noise_factor(&self, noise: NoiseKind, sigma_p: f64) -> (Array2<f64>, Array2<f64>) {
        let m2 = self.theta_t.ncols();
        let ns = self.basis.n_signal;
        // W Sᵀ = α∘(W0 Sᵀ) + Θ G  (2m × K).
        let a = self.alpha.view().insert_axis(Axis(1));
        let mut ws = &self.w0_s * &a;
        general_mat_mul(1.0, &self.theta_t.t(), &self.gram, 1.0, &mut ws);
        // W Wᵀ = (α∘W0)(α∘W0)ᵀ + (α∘W0)(ΘS)ᵀ + (ΘS)(α∘W0)ᵀ + ΘGΘᵀ
        //      = αα∘(W0W0ᵀ) + (α∘W0Sᵀ)Θᵀ + Θ(W Sᵀ)ᵀ.
        let mut wwt = &self.w0_w0t * &(&a * &a.t());
        general_mat_mul(1.0, &(&self.w0_s * &a), &self.theta_t, 1.0, &mut wwt);
        general_mat_mul(1.0, &self.theta_t.t(), &ws.t(), 1.0, &mut wwt);
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

    /// The full-space weights `W = diag(α)·W⁽⁰⁾ + Θ·S` (an `O(m·n·d)`
    /// reconstruction); `None` when set up from Gram products alone.
    pub fn weights(&self) -> Option<Array2<f64>> {
        if !self.has_test {
            return None;
        }
        let mut w = &self.w0 * &self.alpha.view().insert_axis(Axis(1));
        general_mat_mul(1.0, &self.theta_t.t(), &self.basis.s, 1.0, &mut w);
        Some(w)
    }

    /// The decomposition at the current step, exact by construction (residual 0),
    /// with inner products `⟨w_c, s_k⟩ = α_c⟨w⁽⁰⁾_c, s_k⟩ + (Θ·G)_{c,k}` from the Gram matrix.
    pub fn decomposition(&self) -> Decomposition {
        let mut inner = &self.w0_s * &self.alpha.view().insert_axis(Axis(1));
        general_mat_mul(1.0, &self.theta_t.t(), &self.gram, 1.0, &mut inner);
        let m2 = self.theta_t.ncols();
        Decomposition::from_raw(
            &self.basis,
            self.theta_t.t(),
            self.alpha.clone(),
            inner,
            Array1::zeros(m2),
            0.0,
        )
    }
}
