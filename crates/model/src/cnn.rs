//! The two-layer CNN with a fixed second layer: config, batches, workspaces,
//! forward pass, loss and the two-GEMM gradient (`docs/theory.md#the-network`).

use gengap_data::{Split, rng};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::activation::relu_pow;
use crate::*;

/// The fixed second-layer scale `s_m`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutputScale {
    /// `s_m = 1/m` (\[C22\], the talk).
    #[default]
    InvM,
    /// `s_m = 1` (\[Z23\]'s restatement).
    One,
    /// Any fixed `s_m > 0`, written `scale = { fixed = 0.5 }`. For example,
    /// a network that sums over filters and averages over `P` patches (Kou et
    /// al.'s script, `torch.mean` over patches) has `s_m = 1/P`.
    Fixed(f64),
}

fn default_m() -> usize {
    10
}
fn default_sigma0() -> f64 {
    0.01
}

/// Model configuration (the `[model]` table of an experiment config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CnnConfig {
    /// Filters per class `m ≥ 1`. Default 10.
    #[serde(default = "default_m")]
    pub m: usize,
    /// The activation. Default ReLU³.
    #[serde(default)]
    pub activation: Activation,
    /// Second-layer scale: `inv_m` (default) or `one`.
    #[serde(default)]
    pub scale: OutputScale,
    /// Initialisation scale `σ₀`: `w ~ N(0, σ₀² I)`. Default 0.01.
    #[serde(default = "default_sigma0")]
    pub sigma0: f64,
    /// The training loss `ℓ` ([`Loss`]): `"logistic"` (default) or `"hinge"`
    /// (not written when logistic, so existing configs serialize as before).
    #[serde(default, skip_serializing_if = "Loss::is_logistic")]
    pub loss: Loss,
}

impl Default for CnnConfig {
    fn default() -> Self {
        CnnConfig {
            m: default_m(),
            activation: Activation::default(),
            scale: OutputScale::InvM,
            sigma0: default_sigma0(),
            loss: Loss::Logistic,
        }
    }
}

impl CnnConfig {
    /// Check `m ≥ 1`, `σ₀ ≥ 0` finite, the activation and (an outside one) the loss.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.m == 0 {
            return Err(invalid("m", self.m, "must be >= 1"));
        }
        if !self.sigma0.is_finite() || self.sigma0 < 0.0 {
            return Err(invalid("sigma0", self.sigma0, "must be finite and >= 0"));
        }
        if let OutputScale::Fixed(s) = self.scale
            && !(s.is_finite() && s > 0.0)
        {
            return Err(invalid("scale.fixed", s, "must be finite and > 0"));
        }
        self.activation.validate()?;
        self.loss.validate()
    }

    /// The numeric value of `s_m`.
    pub fn s_m(&self) -> f64 {
        match self.scale {
            OutputScale::InvM => 1.0 / self.m as f64,
            OutputScale::One => 1.0,
            OutputScale::Fixed(s) => s,
        }
    }

    /// Draw `W⁽⁰⁾` with entries `N(0, σ₀²)`, shape `(2m, d)`, row-major in
    /// the order `(j = +1, r = 1..m), (j = −1, r = 1..m)`.
    pub fn init<T: Real, R: Rng + ?Sized>(&self, d: usize, rng: &mut R) -> Result<Array2<T>, ModelError> {
        self.validate()?;
        Ok(Array2::from_shape_simple_fn((2 * self.m, d), || {
            T::from_f64c(self.sigma0 * rng::standard_normal(rng))
        }))
    }
}

/// PyTorch's default initialisation of a `Conv1d` or `Linear` layer, for a
/// network written as in Kou et al.'s script: every weight and every bias
/// entry is `U(−1/√fan_in, 1/√fan_in)` (`kaiming_uniform_` with `a = √5` has
/// bound `√(2/(1+a²))·√3/√fan_in = 1/√fan_in`; the bias bound is
/// `1/√fan_in`). For a `Conv1d(1, 2m, d, stride = d)` over patches of length
/// `d`, `fan_in = d`. Returns `rows × cols` f64 entries, drawn row by row.
///
/// ```
/// use gengap_model::pytorch_default_init;
/// let w = pytorch_default_init(20, 101, 100, &mut gengap_data::rng::stream(1, 0)).unwrap();
/// assert!(w.iter().all(|v| v.abs() < 0.1));
/// ```
pub fn pytorch_default_init<R: Rng + ?Sized>(
    rows: usize,
    cols: usize,
    fan_in: usize,
    rng: &mut R,
) -> Result<Array2<f64>, ModelError> {
    if fan_in == 0 {
        return Err(invalid("fan_in", fan_in, "must be >= 1"));
    }
    let bound = 1.0 / (fan_in as f64).sqrt();
    Ok(Array2::from_shape_simple_fn((rows, cols), || {
        bound * (2.0 * rng::uniform_open01(rng) - 1.0)
    }))
}

/// The class sign `j` of row `c` of `W_flat`: `+1` for `c < m`, `−1` otherwise.
#[inline(always)]
pub fn class_sign(c: usize, m: usize) -> f64 {
    if c < m { 1.0 } else { -1.0 }
}

/// Inputs in the stacked layout the model computes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<T> {
    /// `X ∈ ℝ^{nP×d}`; row `i·P + p` is patch `p` of sample `i`.
    pub x: Array2<T>,
    /// Labels `y_i ∈ {−1, +1}`.
    pub y: Array1<T>,
    /// Patches per sample `P`.
    pub patches: usize,
}

impl<T: Real> Batch<T> {
    /// Stack a data split, converting to precision `T`.
    pub fn from_split(split: &Split) -> Self {
        Batch {
            x: split.stacked().mapv(T::from_f64c),
            y: split.y.mapv(T::from_f64c),
            patches: split.patches(),
        }
    }
    /// Number of samples `n`.
    pub fn n(&self) -> usize {
        self.y.len()
    }
    /// Patch dimension `d`.
    pub fn d(&self) -> usize {
        self.x.ncols()
    }
}

/// Preallocated buffers for one batch size: `Z`, `∂L/∂Z` (both `nP × 2m`) and `f` (n).
#[derive(Debug, Clone)]
pub struct Workspace<T> {
    /// Pre-activations `Z = X·W_flatᵀ`.
    pub z: Array2<T>,
    /// `∂L/∂Z`, then reused as scratch.
    pub dz: Array2<T>,
    /// Outputs `f(W, x_i)`.
    pub f: Array1<T>,
}

impl<T: Real> Workspace<T> {
    /// Buffers for `n` samples of `patches` patches and `m` filters per class.
    pub fn new(n: usize, patches: usize, m: usize) -> Self {
        Workspace {
            z: Array2::zeros((n * patches, 2 * m)),
            dz: Array2::zeros((n * patches, 2 * m)),
            f: Array1::zeros(n),
        }
    }
    /// Buffers sized for `batch`.
    pub fn for_batch(batch: &Batch<T>, m: usize) -> Self {
        Self::new(batch.n(), batch.patches, m)
    }
}

/// Loss and 0-1 error of a model on a batch. (Non-finite values survive a
/// JSON round trip, as strings; see [`nonfinite`].)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// `(1/n) Σ ℓ(y_i f_i)`.
    #[serde(with = "nonfinite")]
    pub loss: f64,
    /// `(1/n) #{i : y_i f_i ≤ 0}`.
    #[serde(with = "nonfinite")]
    pub error: f64,
}

/// The two-layer CNN evaluator: activation, `m`, `s_m`. Weights are passed in,
/// so optimizers can own them.
#[derive(Debug, Clone)]
pub struct Cnn<T> {
    /// Filters per class.
    pub m: usize,
    /// Compiled activation.
    pub act: ActFn<T>,
    /// The second-layer scale `s_m`.
    pub s_m: T,
    /// The training loss `ℓ`.
    pub loss: Loss,
}

impl<T: Real> Cnn<T> {
    /// Build from a validated config.
    pub fn new(cfg: &CnnConfig) -> Result<Self, ModelError> {
        cfg.validate()?;
        Ok(Cnn {
            m: cfg.m,
            act: cfg.activation.compile(),
            s_m: T::from_f64c(cfg.s_m()),
            loss: cfg.loss.clone(),
        })
    }

    fn check(&self, w: &Array2<T>, batch: &Batch<T>, ws: &Workspace<T>) -> Result<(), ModelError> {
        let shape = |a: &[usize]| format!("{a:?}");
        if batch.patches == 0 || batch.x.nrows() != batch.n() * batch.patches {
            return Err(ModelError::Shape {
                what: "inputs",
                expected: format!("n·P = {} rows with P >= 1", batch.n() * batch.patches.max(1)),
                got: format!("{} rows, P = {}", batch.x.nrows(), batch.patches),
            });
        }
        if w.dim() != (2 * self.m, batch.d()) {
            return Err(ModelError::Shape {
                what: "W",
                expected: shape(&[2 * self.m, batch.d()]),
                got: shape(w.shape()),
            });
        }
        if ws.z.dim() != (batch.x.nrows(), 2 * self.m) || ws.f.len() != batch.n() {
            return Err(ModelError::Shape {
                what: "workspace",
                expected: shape(&[batch.x.nrows(), 2 * self.m]),
                got: shape(ws.z.shape()),
            });
        }
        Ok(())
    }

    /// The elementwise head on precomputed pre-activations `ws.z` (any `n·P × 2m`):
    /// writes `ws.f[i] = s_m Σ_{p,r} j·σ(Z[(i,p),(j,r)])`; with `want_deriv`, also
    /// `ws.dz = j·σ′(Z)`. One fused pass over `Z`.
    fn head(&self, ws: &mut Workspace<T>, patches: usize, want_deriv: bool) {
        // ReLU^q with a small integer q: the powers as constants, so that the
        // compiler unrolls them (the same multiplications as the general path).
        let act = &self.act;
        if let Some(f) = act.outside() {
            let (value, deriv) = (
                |z: T| T::from_f64c(f.value(z.to_f64c())),
                |z: T| T::from_f64c(f.deriv(z.to_f64c())),
            );
            return self.head_with(ws, patches, want_deriv, value, deriv);
        }
        match act.relu_power() {
            Some(1) => self.head_with(
                ws,
                patches,
                want_deriv,
                |z| act.builtin_value(z),
                |z| act.builtin_deriv(z),
            ),
            Some(2) => self.head_with(ws, patches, want_deriv, relu_pow::<T, 2>, |z| {
                act.q() * relu_pow::<T, 1>(z)
            }),
            Some(3) => self.head_with(ws, patches, want_deriv, relu_pow::<T, 3>, |z| {
                act.q() * relu_pow::<T, 2>(z)
            }),
            Some(4) => self.head_with(ws, patches, want_deriv, relu_pow::<T, 4>, |z| {
                act.q() * relu_pow::<T, 3>(z)
            }),
            _ => self.head_with(
                ws,
                patches,
                want_deriv,
                |z| act.builtin_value(z),
                |z| act.builtin_deriv(z),
            ),
        }
    }

    /// The head with `σ` and `σ′` given (see [`Cnn::head`]).
    #[inline(always)]
    fn head_with(
        &self,
        ws: &mut Workspace<T>,
        patches: usize,
        want_deriv: bool,
        value: impl Fn(T) -> T,
        deriv: impl Fn(T) -> T,
    ) {
        let m = self.m;
        let (z, dz, f) = (&ws.z, &mut ws.dz, &mut ws.f);
        let z = z.as_slice().expect("standard layout");
        let dz = dz.as_slice_mut().expect("standard layout");
        let width = 2 * m;
        for (i, fi) in f.iter_mut().enumerate() {
            let mut out = T::zero();
            for p in 0..patches {
                let row = (i * patches + p) * width;
                let zr = &z[row..row + width];
                let mut acc = T::zero();
                if want_deriv {
                    let dzr = &mut dz[row..row + width];
                    for c in 0..m {
                        acc += value(zr[c]);
                        dzr[c] = deriv(zr[c]);
                    }
                    for c in m..width {
                        acc -= value(zr[c]);
                        dzr[c] = -deriv(zr[c]);
                    }
                } else {
                    for c in 0..m {
                        acc += value(zr[c]);
                    }
                    for c in m..width {
                        acc -= value(zr[c]);
                    }
                }
                out += acc;
            }
            *fi = out * self.s_m;
        }
    }

    /// Outputs from precomputed pre-activations: given `ws.z = X·W_flatᵀ`
    /// (computed any way, e.g. by the reduced solver), fill `ws.f` and return
    /// the metrics against `y`.
    pub fn outputs_from_z(&self, ws: &mut Workspace<T>, y: ArrayView1<T>, patches: usize) -> Metrics {
        self.head(ws, patches, false);
        loss_metrics(&self.loss, ws.f.view(), y)
    }

    /// Loss, error and `∂L/∂Z` from precomputed pre-activations `ws.z`:
    /// `ws.dz[(i,p),(j,r)] = g_i · j · s_m · σ′(Z)`, `g_i = ℓ′(y_i f_i) y_i / n`.
    /// `ws.f` is left holding `g_i · s_m`. This is everything between the two GEMMs.
    pub fn grad_from_z(&self, ws: &mut Workspace<T>, y: ArrayView1<T>, patches: usize) -> Metrics {
        self.head(ws, patches, true);
        let n = y.len();
        let inv_n = T::one() / T::from_usize(n).expect("n fits");
        let loss_fn = &self.loss;
        let mut loss = 0.0f64;
        let mut wrong = 0usize;
        for i in 0..n {
            let margin = y[i] * ws.f[i];
            loss += loss_fn.value(margin).to_f64c();
            // A NaN or infinite output is never a correct prediction
            // (`NaN <= 0` is false, so test for `> 0` instead).
            if !(margin > T::zero() && margin.is_finite()) {
                wrong += 1;
            }
            ws.f[i] = loss_fn.deriv(margin) * y[i] * inv_n * self.s_m;
        }
        self.scale_dz(ws, patches);
        Metrics {
            loss: loss / n as f64,
            error: wrong as f64 / n as f64,
        }
    }

    /// [`Cnn::grad_from_z`] for mixed targets (input mixup, Zhang et al. 2018;
    /// Zou, Cao, Li, Gu, ICML 2023): sample `i` is a mixed input
    /// `λ·x_a + (1 − λ)·x_b` whose loss is `λ·ℓ(y_{a,i} f_i) + (1 − λ)·ℓ(y_{b,i} f_i)`,
    /// so `g_i = (λ·ℓ′(y_a f) y_a + (1 − λ)·ℓ′(y_b f) y_b) / n`. The error
    /// counts `y_a f ≤ 0`. With `λ = 1` this is [`Cnn::grad_from_z`] on `y_a`
    /// bit for bit.
    pub fn grad_from_z_mixed(
        &self,
        ws: &mut Workspace<T>,
        y_a: ArrayView1<T>,
        y_b: ArrayView1<T>,
        lambda: T,
        patches: usize,
    ) -> Metrics {
        if lambda == T::one() {
            return self.grad_from_z(ws, y_a, patches);
        }
        self.head(ws, patches, true);
        let n = y_a.len();
        let inv_n = T::one() / T::from_usize(n).expect("n fits");
        let (l, mu) = (&self.loss, T::one() - lambda);
        let mut loss = 0.0f64;
        let mut wrong = 0usize;
        for i in 0..n {
            let (ma, mb) = (y_a[i] * ws.f[i], y_b[i] * ws.f[i]);
            loss += (lambda * l.value(ma) + mu * l.value(mb)).to_f64c();
            if !(ma > T::zero() && ma.is_finite()) {
                wrong += 1;
            }
            ws.f[i] = (lambda * l.deriv(ma) * y_a[i] + mu * l.deriv(mb) * y_b[i]) * inv_n * self.s_m;
        }
        self.scale_dz(ws, patches);
        Metrics {
            loss: loss / n as f64,
            error: wrong as f64 / n as f64,
        }
    }

    /// `dz[(i,p),·] *= ws.f[i]` (the per-sample factor of the gradient).
    fn scale_dz(&self, ws: &mut Workspace<T>, patches: usize) {
        let width = ws.dz.ncols();
        let dz = ws.dz.as_slice_mut().expect("standard layout");
        for (sample, &g) in dz.chunks_exact_mut(patches * width).zip(ws.f.iter()) {
            for v in sample {
                *v *= g;
            }
        }
    }

    /// Outputs `f(W, x_i)` for every sample, written into `ws.f`.
    pub fn forward<'a>(
        &self,
        w: &Array2<T>,
        batch: &Batch<T>,
        ws: &'a mut Workspace<T>,
    ) -> Result<ArrayView1<'a, T>, ModelError> {
        self.check(w, batch, ws)?;
        general_mat_mul(T::one(), &batch.x, &w.t(), T::zero(), &mut ws.z);
        self.head(ws, batch.patches, false);
        Ok(ws.f.view())
    }

    /// Loss and error on `batch`.
    pub fn evaluate(&self, w: &Array2<T>, batch: &Batch<T>, ws: &mut Workspace<T>) -> Result<Metrics, ModelError> {
        self.check(w, batch, ws)?;
        general_mat_mul(T::one(), &batch.x, &w.t(), T::zero(), &mut ws.z);
        Ok(self.outputs_from_z(ws, batch.y.view(), batch.patches))
    }

    /// Training loss `L_S(W)` and its gradient, written into `grad` (shape of `W`).
    /// Returns the metrics at `W` (loss and training error), computed in the same pass.
    ///
    /// Two GEMMs and two fused elementwise passes; allocation-free (all buffers
    /// live in `ws` and `grad`).
    ///
    /// ```
    /// use gengap_data::{DataConfig, Z23Params, rng};
    /// use gengap_model::{Batch, Cnn, CnnConfig, Workspace};
    /// use ndarray::Array2;
    ///
    /// let ds = DataConfig::Z23(Z23Params { d: 20, n: 6, n_test: 10, s: 5, ..Default::default() })
    ///     .generate(&mut rng::stream(3, 0))
    ///     .unwrap();
    /// let cfg = CnnConfig { m: 4, ..Default::default() };
    /// let cnn = Cnn::<f64>::new(&cfg).unwrap();
    /// let w = cfg.init::<f64, _>(20, &mut rng::stream(3, 1)).unwrap();
    /// let batch = Batch::from_split(&ds.train);
    /// let mut ws = Workspace::for_batch(&batch, cfg.m);
    /// let mut grad = Array2::zeros(w.dim());
    /// let at_w = cnn.loss_grad(&w, &batch, &mut ws, &mut grad).unwrap();
    /// // A small step against the gradient lowers the loss.
    /// let w2 = &w - &(&grad * 1e-3);
    /// let after = cnn.evaluate(&w2, &batch, &mut ws).unwrap();
    /// assert!(after.loss < at_w.loss);
    /// ```
    pub fn loss_grad(
        &self,
        w: &Array2<T>,
        batch: &Batch<T>,
        ws: &mut Workspace<T>,
        grad: &mut Array2<T>,
    ) -> Result<Metrics, ModelError> {
        self.loss_grad_with(w, batch, ws, grad, |cnn, ws| {
            cnn.grad_from_z(ws, batch.y.view(), batch.patches)
        })
    }

    /// [`Cnn::loss_grad`] with the labels `labels` in place of `batch.y`
    /// (label-noise GD: the same inputs, flipped labels).
    pub fn loss_grad_labels(
        &self,
        w: &Array2<T>,
        batch: &Batch<T>,
        labels: ArrayView1<T>,
        ws: &mut Workspace<T>,
        grad: &mut Array2<T>,
    ) -> Result<Metrics, ModelError> {
        self.check_labels("labels", batch, labels)?;
        self.loss_grad_with(w, batch, ws, grad, |cnn, ws| cnn.grad_from_z(ws, labels, batch.patches))
    }

    /// [`Cnn::loss_grad`] of the mixup loss ([`Cnn::grad_from_z_mixed`]) on a
    /// batch of mixed inputs `x̃ = λ·x_a + (1 − λ)·x_b` whose `y` holds the
    /// labels `y_a`; `y_b` are the partners' labels.
    pub fn loss_grad_mixed(
        &self,
        w: &Array2<T>,
        mixed: &Batch<T>,
        y_b: ArrayView1<T>,
        lambda: T,
        ws: &mut Workspace<T>,
        grad: &mut Array2<T>,
    ) -> Result<Metrics, ModelError> {
        self.check_labels("partner labels", mixed, y_b)?;
        self.loss_grad_with(w, mixed, ws, grad, |cnn, ws| {
            cnn.grad_from_z_mixed(ws, mixed.y.view(), y_b, lambda, mixed.patches)
        })
    }

    fn check_labels(&self, what: &'static str, batch: &Batch<T>, labels: ArrayView1<T>) -> Result<(), ModelError> {
        if labels.len() != batch.n() {
            return Err(ModelError::Shape {
                what,
                expected: format!("[{}]", batch.n()),
                got: format!("[{}]", labels.len()),
            });
        }
        Ok(())
    }

    /// The two GEMMs around a head that fills `∂L/∂Z` from `Z`.
    fn loss_grad_with(
        &self,
        w: &Array2<T>,
        batch: &Batch<T>,
        ws: &mut Workspace<T>,
        grad: &mut Array2<T>,
        head: impl FnOnce(&Self, &mut Workspace<T>) -> Metrics,
    ) -> Result<Metrics, ModelError> {
        self.check(w, batch, ws)?;
        if grad.dim() != w.dim() {
            return Err(ModelError::Shape {
                what: "grad",
                expected: format!("{:?}", w.shape()),
                got: format!("{:?}", grad.shape()),
            });
        }
        general_mat_mul(T::one(), &batch.x, &w.t(), T::zero(), &mut ws.z);
        let met = head(self, ws);
        general_mat_mul(T::one(), &ws.dz.t(), &batch.x, T::zero(), grad);
        Ok(met)
    }
}

/// Logistic loss and error from outputs `f` and labels `y`
/// ([`loss_metrics`] with [`Loss::Logistic`]).
pub fn metrics_of<T: Real>(f: ArrayView1<T>, y: ArrayView1<T>) -> Metrics {
    loss_metrics(&Loss::Logistic, f, y)
}

/// Mean loss `(1/n) Σ ℓ(y_i f_i)` and error from outputs `f` and labels `y`.
pub fn loss_metrics<T: Real>(loss_fn: &Loss, f: ArrayView1<T>, y: ArrayView1<T>) -> Metrics {
    let n = y.len();
    let mut loss = 0.0;
    let mut wrong = 0usize;
    for (&fi, &yi) in f.iter().zip(y.iter()) {
        let margin = (yi * fi).to_f64c();
        loss += loss_fn.value(margin);
        // A NaN or infinite output counts as an error, never as correct.
        if !(margin > 0.0 && margin.is_finite()) {
            wrong += 1;
        }
    }
    Metrics {
        loss: loss / n as f64,
        error: wrong as f64 / n as f64,
    }
}

/// The filter `w_{j,r}` (`j = ±1`, `r` zero-based) as a row view of `W_flat`.
pub fn filter<T>(w: &Array2<T>, m: usize, j: i32, r: usize) -> ArrayView1<'_, T> {
    let row = if j > 0 { r } else { m + r };
    w.slice(s![row, ..])
}

/// Convert a weight matrix between precisions.
pub fn cast<A: Real, B: Real>(w: ArrayView2<A>) -> Array2<B> {
    w.mapv(|v| B::from_f64c(v.to_f64c()))
}
