//! [`SpanProblem`]: the fixed part of an exact reduced-space run — the
//! coordinates `A` of every training patch, the Gram matrix `G_S = S·Sᵀ`,
//! the initial inner products and the test cross-Gram — and the exact pieces
//! every span-preserving algorithm is written from
//! (`docs/theory.md#span-preserving-algorithms`).

use gengap_data::{BlockedC22, Dataset};
use gengap_model::{Cnn, CnnConfig, Metrics, Workspace};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, s};

use super::sparse::{SparseRows, coordinates};
use super::{SpanDirection, SpanPoint, SpanWorkspace, Targets};
use crate::coupling::gram_update;
use crate::{AnalysisError, Basis, Decomposition};

/// The data of a reduced-space run, in the basis `S` whose rows are the
/// signal vector(s) and every training noise vector (`K` rows), for weights
/// `W = diag(α)·W⁽⁰⁾ + Θ·S` ([`SpanPoint`]).
///
/// Every training patch is a fixed combination of the basis, `X = A·S`,
/// with `A` sparse, so every quantity of training is exact from
/// `I = W·Sᵀ` (`2m × K`) and `G_S`:
///
/// * pre-activations `Z = A·Iᵀ` ([`SpanProblem::gradient`] and
///   [`SpanProblem::metrics`], any subset of rows, any labels, mixed pairs);
/// * the gradient in coordinates `Γ = (∂L/∂Z)ᵀ·A` (`∇L = Γ·S`);
/// * inner products of any direction `D = diag(a)·W⁽⁰⁾ + B·S` with the basis,
///   `D·Sᵀ = diag(a)·W⁽⁰⁾Sᵀ + B·G_S` ([`SpanProblem::inner_of`]), and its
///   squared Frobenius norm ([`SpanProblem::norm_sq`]);
/// * the test metrics through `X_test·Sᵀ` and `X_test·W⁽⁰⁾ᵀ`.
///
/// Only [`SpanProblem::new`] and [`SpanProblem::from_blocked`] touch
/// `d`-dimensional vectors.
pub struct SpanProblem {
    pub(crate) cnn: Cnn<f64>,
    pub(crate) basis: Basis,
    pub(crate) a: SparseRows,
    pub(crate) h_test: Array2<f64>,
    pub(crate) p0_test: Array2<f64>,
    pub(crate) y: Array1<f64>,
    pub(crate) y_test: Array1<f64>,
    pub(crate) patches: usize,
    pub(crate) w0: Array2<f64>,
    /// `W⁽⁰⁾·Sᵀ` (`2m × K`).
    pub(crate) w0_s: Array2<f64>,
    /// `W⁽⁰⁾·W⁽⁰⁾ᵀ` (`2m × 2m`).
    pub(crate) w0_w0t: Array2<f64>,
    /// `G_S = S·Sᵀ` (`K × K`).
    pub(crate) gram: Array2<f64>,
    /// Whether a test split (and the full-space basis and W⁽⁰⁾) is held.
    pub(crate) has_test: bool,
    /// `0..n`, the rows of a whole-set target with other labels or mixed pairs.
    pub(crate) all_rows: Vec<usize>,
}

impl std::fmt::Debug for SpanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanProblem")
            .field("n", &self.n())
            .field("basis_rows", &self.basis_rows())
            .field("width", &self.width())
            .finish()
    }
}

impl SpanProblem {
    /// Set up from a data set, the model config and `W⁽⁰⁾` (`2m × d`).
    ///
    /// Checks that the data set has its latent parts (user data built by
    /// `Dataset::from_arrays` without them is refused by name) and that
    /// every training patch lies in the span (`‖X − A·S‖` at round-off,
    /// else [`AnalysisError::InvalidParam`] naming `data`); any patch count
    /// works, one included. The one-time products cost `O(n·P·(n+m)·d)`.
    pub fn new(ds: &Dataset, cfg: &CnnConfig, w0: ArrayView2<f64>) -> Result<Self, AnalysisError> {
        if !ds.has_latents() {
            return Err(AnalysisError::InvalidParam {
                field: "data",
                value: "a data set without latent parts (no signal vector, no noise vectors)".into(),
                reason: "the reduced engine works in span{signal, noise vectors}: give them to Dataset::from_arrays (signal, and each split's noise and signal_patch), or train in full space",
            });
        }
        let cnn = Cnn::<f64>::new(cfg)?;
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
        let (err, row) = a.worst_residual(x, basis.s.view());
        if err > 1e-12 * scale {
            let (pp, k) = (ds.train.patches(), ds.train.noise.len_of(ndarray::Axis(1)));
            return Err(AnalysisError::InvalidParam {
                field: "data",
                value: format!(
                    "patch {} of training sample {} is off the span by {err:e} (max |X - A S|; {pp} patches and {k} noise vectors per sample)",
                    row % pp,
                    row / pp
                ),
                reason: "training patches must lie in span{signal, noise vectors}: give each sample's noise vectors as `noise` with `noise_patches` naming the patch each lies in (for one-patch data x_i = y_i·μ + ξ_i: one noise vector per sample, in patch 0, the signal patch)",
            });
        }
        let xt = ds.test.stacked();
        Ok(SpanProblem {
            cnn,
            a,
            h_test: xt.dot(&basis.s.t()),
            p0_test: xt.dot(&w0.t()),
            y: ds.train.y.clone(),
            y_test: ds.test.y.clone(),
            patches: ds.train.patches(),
            w0: w0.to_owned(),
            w0_s: w0.dot(&basis.s.t()),
            w0_w0t: w0.dot(&w0.t()),
            gram: basis.s.dot(&basis.s.t()),
            has_test: true,
            all_rows: (0..ds.train.n()).collect(),
            basis,
        })
    }

    /// Set up from Gram products alone (\[C22\] data made by
    /// `C22Params::blocked_products`), never holding a `d`-dimensional vector:
    /// this is what makes `d = 10⁶` affordable. With `X = A·S`, `H = X·Sᵀ = A·G`
    /// and `P₀ = X·W⁽⁰⁾ᵀ = A·(S·W⁽⁰⁾ᵀ)`. There is no test split: the test
    /// metrics are NaN and [`SpanProblem::weights`] is `None`.
    pub fn from_blocked(bl: &BlockedC22, cfg: &CnnConfig) -> Result<Self, AnalysisError> {
        let cnn = Cnn::<f64>::new(cfg)?;
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
        Ok(SpanProblem {
            cnn,
            a: SparseRows::from_dense(&a),
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
            all_rows: (0..n).collect(),
            basis,
        })
    }

    /// The training samples `n`.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// The basis rows `K` (signal rows plus noise vectors).
    pub fn basis_rows(&self) -> usize {
        self.gram.nrows()
    }

    /// The filters `2m` (rows of `W`).
    pub fn width(&self) -> usize {
        self.w0_s.nrows()
    }

    /// Patches per sample `P`.
    pub fn patches(&self) -> usize {
        self.patches
    }

    /// The training labels `y` (as observed).
    pub fn labels(&self) -> ArrayView1<'_, f64> {
        self.y.view()
    }

    /// The model (activation, loss, `s_m`).
    pub fn cnn(&self) -> &Cnn<f64> {
        &self.cnn
    }

    /// The basis `{μ or v, ξ_k}`.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }

    /// `G_S = S·Sᵀ` (`K × K`).
    pub fn gram(&self) -> ArrayView2<'_, f64> {
        self.gram.view()
    }

    /// Whether a test split is held (not for [`SpanProblem::from_blocked`]).
    pub fn has_test(&self) -> bool {
        self.has_test
    }

    /// The starting point `W = W⁽⁰⁾` (`α = 1`, `Θ = 0`, `I = W⁽⁰⁾Sᵀ`).
    pub fn start(&self) -> SpanPoint {
        let (k, m2) = (self.basis_rows(), self.width());
        SpanPoint {
            alpha: Array1::ones(m2),
            theta_t: Array2::zeros((k, m2)),
            inner_t: self.w0_s.t().as_standard_layout().into_owned(),
        }
    }

    /// The zero direction, shaped for this problem.
    pub fn zero_direction(&self) -> SpanDirection {
        SpanDirection {
            alpha: Array1::zeros(self.width()),
            theta_t: Array2::zeros((self.basis_rows(), self.width())),
        }
    }

    /// Buffers for the pieces ([`SpanWorkspace`]), sized for the whole
    /// training set; batches of other sizes get their buffers on first use.
    pub fn workspace(&self) -> SpanWorkspace {
        let (k, m2, m) = (self.basis_rows(), self.width(), self.width() / 2);
        SpanWorkspace {
            all: Workspace::new(self.n(), self.patches, m),
            test: Workspace::new(self.y_test.len(), self.patches, m),
            batches: vec![],
            scratch: Array2::zeros((k, m2)),
            inner: Array2::zeros((k, m2)),
        }
    }

    fn check_point(&self, point: &SpanPoint) {
        assert_eq!(
            point.theta_t.dim(),
            (self.basis_rows(), self.width()),
            "a SpanPoint of another problem"
        );
    }

    /// Training metrics `L_S`, error at `point` (all samples, observed labels).
    /// Allocation-free; `O(nP·m)`.
    pub fn metrics(&self, point: &SpanPoint, ws: &mut SpanWorkspace) -> Metrics {
        self.check_point(point);
        self.a.times(&point.inner_t, &mut ws.all.z);
        self.cnn.outputs_from_z(&mut ws.all, self.y.view(), self.patches)
    }

    /// Test metrics at `point` through the cross-Gram `X_test·Sᵀ` (NaN when
    /// set up by [`SpanProblem::from_blocked`]).
    pub fn test_metrics(&self, point: &SpanPoint, ws: &mut SpanWorkspace) -> Metrics {
        if !self.has_test {
            return Metrics {
                loss: f64::NAN,
                error: f64::NAN,
            };
        }
        let z = &mut ws.test.z;
        z.assign(&self.p0_test);
        *z *= &point.alpha.view().insert_axis(Axis(0));
        general_mat_mul(1.0, &self.h_test, &point.theta_t, 1.0, z);
        self.cnn.outputs_from_z(&mut ws.test, self.y_test.view(), self.patches)
    }

    /// The gradient of the mean loss over the samples and labels of
    /// `targets` at `point`, in coordinates: `out = Γ` with `∇L = Γ·S`
    /// (its `α` part is 0: a loss gradient never has a `W⁽⁰⁾` component).
    /// Returns the loss and error of those samples at `point`.
    ///
    /// * [`Targets::all`]: `L_S` itself (the plain GD gradient);
    /// * [`Targets::rows`]: a mini-batch `(1/B) Σ_{i∈rows} ℓ(y_i f_i)`;
    /// * [`Targets::with_labels`]: the same samples with other labels
    ///   (label-noise GD);
    /// * [`Targets::mixup`]: the mixed inputs `λ·x_i + (1−λ)·x_{π(i)}` (their
    ///   pre-activations are `λ·z_i + (1−λ)·z_{π(i)}`, since `Z` is linear in
    ///   `x`) with the mixed loss of [`gengap_model::Cnn::grad_from_z_mixed`].
    ///
    /// Allocation-free once the batch size has been seen; `O(B·P·m)`.
    pub fn gradient(
        &self,
        point: &SpanPoint,
        targets: Targets<'_>,
        ws: &mut SpanWorkspace,
        out: &mut SpanDirection,
    ) -> Result<Metrics, AnalysisError> {
        self.check_point(point);
        targets.check(self.n())?;
        // λ = 1 mixes nothing: the plain gradient, bit for bit.
        let targets = Targets {
            mix: targets.mix.filter(|&(_, lambda)| lambda != 1.0),
            ..targets
        };
        out.alpha.fill(0.0);
        let (p, w) = (self.patches, self.width());
        if targets.rows.is_none() && targets.labels.is_none() && targets.mix.is_none() {
            // The whole set with its labels: the plain GD path.
            self.a.times(&point.inner_t, &mut ws.all.z);
            let met = self.cnn.grad_from_z(&mut ws.all, self.y.view(), p);
            self.a.transpose_times(&ws.all.dz, &mut out.theta_t);
            return Ok(met);
        }
        let rows = targets.rows.unwrap_or(&self.all_rows);
        let b = rows.len();
        let buf = ws.batch(b, p, w / 2);
        let src = point.inner_t.as_slice().expect("standard layout");
        {
            let z = buf.ws.z.as_slice_mut().expect("standard layout");
            for (bi, &i) in rows.iter().enumerate() {
                for q in 0..p {
                    let zr = &mut z[(bi * p + q) * w..(bi * p + q + 1) * w];
                    self.a.row_times(i * p + q, src, zr);
                    if let Some((partners, lambda)) = targets.mix {
                        let j = rows[partners[bi]];
                        let zb = &mut buf.row[..w];
                        self.a.row_times(j * p + q, src, zb);
                        for (o, x) in zr.iter_mut().zip(zb.iter()) {
                            *o = lambda * *o + (1.0 - lambda) * x;
                        }
                    }
                }
                buf.ya[bi] = targets.labels.map_or(self.y[i], |l| l[bi]);
            }
        }
        let met = if let Some((partners, lambda)) = targets.mix {
            for bi in 0..b {
                buf.yb[bi] = buf.ya[partners[bi]];
            }
            self.cnn
                .grad_from_z_mixed(&mut buf.ws, buf.ya.view(), buf.yb.view(), lambda, p)
        } else {
            self.cnn.grad_from_z(&mut buf.ws, buf.ya.view(), p)
        };
        let dz = buf.ws.dz.as_slice().expect("standard layout");
        let dst = out.theta_t.as_slice_mut().expect("standard layout");
        dst.fill(0.0);
        for (bi, &i) in rows.iter().enumerate() {
            for q in 0..p {
                let dzr = &dz[(bi * p + q) * w..(bi * p + q + 1) * w];
                match targets.mix {
                    None => self.a.row_accumulate(i * p + q, 1.0, dzr, dst),
                    Some((partners, lambda)) => {
                        self.a.row_accumulate(i * p + q, lambda, dzr, dst);
                        self.a
                            .row_accumulate(rows[partners[bi]] * p + q, 1.0 - lambda, dzr, dst);
                    }
                }
            }
        }
        Ok(met)
    }

    /// `out = D·Sᵀ` transposed (`K × 2m`): the inner products
    /// `⟨D_c, s_k⟩ = a_c·⟨w⁽⁰⁾_c, s_k⟩ + (G_S·b_c)_k` of a direction
    /// `D = diag(a)·W⁽⁰⁾ + B·S` with the basis. One `K × K × 2m` product by
    /// the coupling kernel; allocation-free.
    pub fn inner_of(&self, dir: &SpanDirection, out: &mut Array2<f64>, scratch: &mut Array2<f64>) {
        gram_update(self.gram.view(), dir.theta_t.view(), 1.0, 0.0, out, scratch);
        add_w0_part(&self.w0_s, &dir.alpha, 1.0, out);
    }

    /// `‖D‖²_F` of a direction `D = diag(a)·W⁽⁰⁾ + B·S`, given its inner
    /// products `inner = D·Sᵀ` (transposed, from [`SpanProblem::inner_of`]):
    ///
    /// `‖D_c‖² = a_c²·‖w⁽⁰⁾_c‖² + a_c·⟨w⁽⁰⁾_c, b_c·S⟩ + ⟨b_c·S, D_c⟩`
    ///
    /// For a gradient (`a = 0`) this is `tr(Γ·G_S·Γᵀ)`. `O(K·m)`.
    pub fn norm_sq(&self, dir: &SpanDirection, inner: &Array2<f64>) -> f64 {
        let (k, m2) = (self.basis_rows(), self.width());
        let mut total = 0.0;
        for c in 0..m2 {
            let a = dir.alpha[c];
            let mut along_s = 0.0;
            let mut cross = 0.0;
            for kk in 0..k {
                let b = dir.theta_t[[kk, c]];
                along_s += b * inner[[kk, c]];
                if a != 0.0 {
                    cross += b * self.w0_s[[c, kk]];
                }
            }
            total += a * a * self.w0_w0t[[c, c]] + a * cross + along_s;
        }
        total.max(0.0)
    }

    /// `‖Γ·S‖_F` of a loss gradient `Γ` (a direction with no `W⁽⁰⁾` part):
    /// `‖Γ·S‖²_F = Σ_c γ_cᵀ (S Sᵀ) γ_c` (allocates; for records, not steps).
    pub fn grad_norm(&self, g: &SpanDirection) -> f64 {
        let g = &g.theta_t;
        (self.gram.dot(g) * g).sum().max(0.0).sqrt()
    }

    /// The full-space weights `W = diag(α)·W⁽⁰⁾ + Θ·S` of `point` (an
    /// `O(m·n·d)` reconstruction); `None` when set up from Gram products alone.
    pub fn weights(&self, point: &SpanPoint) -> Option<Array2<f64>> {
        if !self.has_test {
            return None;
        }
        let mut w = &self.w0 * &point.alpha.view().insert_axis(Axis(1));
        general_mat_mul(1.0, &point.theta_t.t(), &self.basis.s, 1.0, &mut w);
        Some(w)
    }

    /// The full-space direction `diag(a)·W⁽⁰⁾ + B·S` (for tests and
    /// diagnostics); `None` when set up from Gram products alone.
    pub fn direction_weights(&self, dir: &SpanDirection) -> Option<Array2<f64>> {
        if !self.has_test {
            return None;
        }
        let mut w = &self.w0 * &dir.alpha.view().insert_axis(Axis(1));
        general_mat_mul(1.0, &dir.theta_t.t(), &self.basis.s, 1.0, &mut w);
        Some(w)
    }

    /// `W·Sᵀ` at `point` (`2m × K`), from the Gram matrix.
    pub(crate) fn w_s(&self, point: &SpanPoint) -> Array2<f64> {
        let mut inner = &self.w0_s * &point.alpha.view().insert_axis(Axis(1));
        general_mat_mul(1.0, &point.theta_t.t(), &self.gram, 1.0, &mut inner);
        inner
    }

    /// The decomposition at `point`, exact by construction (residual 0), with
    /// inner products `⟨w_c, s_k⟩ = α_c⟨w⁽⁰⁾_c, s_k⟩ + (Θ·G)_{c,k}` from the Gram matrix.
    pub fn decomposition(&self, point: &SpanPoint) -> Decomposition {
        let m2 = self.width();
        Decomposition::from_raw(
            &self.basis,
            point.theta_t.t(),
            point.alpha.clone(),
            self.w_s(point),
            Array1::zeros(m2),
            0.0,
        )
    }
}

/// `out[k, c] += a·α_c·(W⁽⁰⁾Sᵀ)[c, k]` for the non-zero `α_c`.
pub(crate) fn add_w0_part(w0_s: &Array2<f64>, alpha: &Array1<f64>, a: f64, out: &mut Array2<f64>) {
    for (c, &ac) in alpha.iter().enumerate() {
        if ac != 0.0 {
            let f = a * ac;
            for (o, &v) in out.column_mut(c).iter_mut().zip(w0_s.row(c)) {
                *o += f * v;
            }
        }
    }
}
