//! # gengap-model — the two-layer CNN with a fixed second layer
//!
//! The network of Cao et al. (NeurIPS 2022, \[C22\]) and Zou et al. (ICLR 2023,
//! \[Z23\]), `docs/theory.md#the-network`. Weights `W ∈ ℝ^{2×m×d}` hold filters `w_{j,r}` for
//! `j ∈ {+1, −1}`, `r = 1..m`; the second layer is fixed:
//!
//! ```text
//! F_j(W, x) = s_m · Σ_{r=1..m} Σ_{p=1..P} σ(⟨w_{j,r}, x⁽ᵖ⁾⟩),   f(W, x) = F_{+1}(W, x) − F_{−1}(W, x)
//! ```
//!
//! with `s_m = 1/m` (\[C22\], default) or `1` (\[Z23\]'s restatement), and the
//! activations of [`Activation`]. The training loss is the logistic loss
//! `L_S(W) = (1/n) Σ_i ℓ(y_i f(W, x_i))`, `ℓ(z) = log(1 + e^{−z})`.
//!
//! ## The gradient is two GEMMs
//!
//! All patches of all samples are stacked into `X ∈ ℝ^{nP×d}` (see [`Batch`]);
//! `W` is stored flat as `W_flat ∈ ℝ^{2m×d}`, rows `0..m` the `j = +1` filters
//! and rows `m..2m` the `j = −1` filters. Then
//!
//! ```text
//! Z  = X · W_flatᵀ                                   (nP × 2m, GEMM 1)
//! g_i = ℓ′(y_i f_i) · y_i / n
//! ∂L/∂Z[(i,p),(j,r)] = g_i · j · s_m · σ′(Z[(i,p),(j,r)])
//! ∇W_flat = (∂L/∂Z)ᵀ · X                            (2m × d, GEMM 2)
//! ```
//!
//! and the elementwise work between the two GEMMs is fused into two passes
//! over `Z`. [`Workspace`] owns every buffer, so a step allocates nothing.
//! The scalar type is generic ([`Real`]: `f32` or `f64`).

use std::fmt::{Debug, Display};

use gengap_data::{Split, rng};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, LinalgScalar, ScalarOperand, s};
use num_traits::{Float, FromPrimitive, ToPrimitive};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The floating-point types the model (and the optimizers) run in: `f32` and `f64`.
pub trait Real:
    Float
    + FromPrimitive
    + ToPrimitive
    + LinalgScalar
    + ScalarOperand
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + Serialize
    + for<'de> Deserialize<'de>
    + 'static
{
    /// Convert from `f64` (rounding for `f32`).
    fn from_f64c(v: f64) -> Self;
    /// Convert to `f64` (exact).
    fn to_f64c(self) -> f64;
    /// The name used in result files: `"f32"` or `"f64"`.
    const NAME: &'static str;
}

impl Real for f32 {
    fn from_f64c(v: f64) -> Self {
        v as f32
    }
    fn to_f64c(self) -> f64 {
        self as f64
    }
    const NAME: &'static str = "f32";
}

impl Real for f64 {
    fn from_f64c(v: f64) -> Self {
        v
    }
    fn to_f64c(self) -> f64 {
        self
    }
    const NAME: &'static str = "f64";
}

/// Errors of the model crate, carrying the offending values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A configuration value is out of range.
    #[error("invalid model parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// The config key.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The valid range.
        reason: &'static str,
    },
    /// Array shapes do not fit together.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// The expected shape.
        expected: String,
        /// The shape given.
        got: String,
    },
}

fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> ModelError {
    ModelError::InvalidParam {
        field,
        value: value.to_string(),
        reason,
    }
}

/// The activation σ of the first layer (`docs/theory.md#the-network`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Activation {
    /// Polynomial ReLU `σ(z) = max(z, 0)^q`, `q ≥ 1` (\[C22\] uses `q > 2`; default `q = 3`).
    ReluPow {
        /// The exponent `q ≥ 1`.
        q: f64,
    },
    /// Huberized ReLU (\[Z23\]-style smoothing):
    /// `σ(z) = 0` for `z < 0`, `z^q/(q h^{q−1})` for `0 ≤ z ≤ h`, `z − (q−1)h/q` for `z > h`.
    HuberRelu {
        /// The exponent `q ≥ 1` of the polynomial piece.
        q: f64,
        /// The knot `h > 0`.
        h: f64,
    },
    /// Plain ReLU `σ(z) = max(z, 0)` (ReLU^q with `q = 1`).
    Relu,
}

impl Default for Activation {
    fn default() -> Self {
        Activation::ReluPow { q: 3.0 }
    }
}

impl Activation {
    /// Check `q ≥ 1` and `h > 0`, both finite.
    pub fn validate(&self) -> Result<(), ModelError> {
        let (q, h) = match *self {
            Activation::ReluPow { q } => (q, 1.0),
            Activation::HuberRelu { q, h } => (q, h),
            Activation::Relu => (1.0, 1.0),
        };
        if !q.is_finite() || q < 1.0 {
            return Err(invalid("activation.q", q, "must be finite and >= 1"));
        }
        if !h.is_finite() || h <= 0.0 {
            return Err(invalid("activation.h", h, "must be finite and > 0"));
        }
        Ok(())
    }

    /// The exponent `q` (1 for ReLU).
    pub fn q(&self) -> f64 {
        match *self {
            Activation::ReluPow { q } | Activation::HuberRelu { q, .. } => q,
            Activation::Relu => 1.0,
        }
    }

    /// Compile to a fast evaluator in precision `T`.
    pub fn compile<T: Real>(&self) -> ActFn<T> {
        let q = self.q();
        let qi = if q.fract() == 0.0 && q <= 16.0 {
            Some(q as i32)
        } else {
            None
        };
        let h = match *self {
            Activation::HuberRelu { h, .. } => h,
            _ => f64::INFINITY,
        };
        ActFn {
            huber: matches!(self, Activation::HuberRelu { .. }),
            q: T::from_f64c(q),
            qi,
            h: T::from_f64c(h),
            inv_q_hq1: T::from_f64c(1.0 / (q * h.powf(q - 1.0))),
            inv_hq1: T::from_f64c(1.0 / h.powf(q - 1.0)),
            shift: T::from_f64c((q - 1.0) * h / q),
        }
    }
}

/// A compiled activation: σ and σ′ in precision `T`, with integer powers fast-pathed.
#[derive(Debug, Clone, Copy)]
pub struct ActFn<T> {
    huber: bool,
    q: T,
    qi: Option<i32>,
    h: T,
    inv_q_hq1: T,
    inv_hq1: T,
    shift: T,
}

impl<T: Real> ActFn<T> {
    #[inline(always)]
    fn pow(&self, z: T, k: i32) -> T {
        match self.qi {
            Some(q) => z.powi(q - 1 + k),
            None => z.powf(self.q - T::one() + T::from_f64c(k as f64)),
        }
    }

    /// `σ(z)`.
    #[inline(always)]
    pub fn value(&self, z: T) -> T {
        if z <= T::zero() {
            T::zero()
        } else if !self.huber {
            self.pow(z, 1)
        } else if z <= self.h {
            self.pow(z, 1) * self.inv_q_hq1
        } else {
            z - self.shift
        }
    }

    /// `σ′(z)` (the right derivative at the kink `z = 0` of plain ReLU is taken as 0).
    #[inline(always)]
    pub fn deriv(&self, z: T) -> T {
        if z <= T::zero() {
            T::zero()
        } else if !self.huber {
            self.q * self.pow(z, 0)
        } else if z <= self.h {
            self.pow(z, 0) * self.inv_hq1
        } else {
            T::one()
        }
    }
}

/// The fixed second-layer scale `s_m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutputScale {
    /// `s_m = 1/m` (\[C22\], the talk).
    #[default]
    InvM,
    /// `s_m = 1` (\[Z23\]'s restatement).
    One,
}

/// Logistic loss `ℓ(z) = log(1 + e^{−z})`, computed stably as
/// `max(−z, 0) + log1p(e^{−|z|})` (finite for any finite `z`).
#[inline(always)]
pub fn logistic<T: Real>(z: T) -> T {
    (-z).max(T::zero()) + (-z.abs()).exp().ln_1p()
}

/// `ℓ′(z) = −1/(1 + e^{z})`, computed without overflow.
#[inline(always)]
pub fn logistic_deriv<T: Real>(z: T) -> T {
    if z >= T::zero() {
        let e = (-z).exp();
        -e / (T::one() + e)
    } else {
        -T::one() / (T::one() + z.exp())
    }
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
}

impl Default for CnnConfig {
    fn default() -> Self {
        CnnConfig {
            m: default_m(),
            activation: Activation::default(),
            scale: OutputScale::InvM,
            sigma0: default_sigma0(),
        }
    }
}

impl CnnConfig {
    /// Check `m ≥ 1`, `σ₀ ≥ 0` finite, and the activation.
    pub fn validate(&self) -> Result<(), ModelError> {
        if self.m == 0 {
            return Err(invalid("m", self.m, "must be >= 1"));
        }
        if !self.sigma0.is_finite() || self.sigma0 < 0.0 {
            return Err(invalid("sigma0", self.sigma0, "must be finite and >= 0"));
        }
        self.activation.validate()
    }

    /// The numeric value of `s_m`.
    pub fn s_m(&self) -> f64 {
        match self.scale {
            OutputScale::InvM => 1.0 / self.m as f64,
            OutputScale::One => 1.0,
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
#[derive(Debug, Clone, Copy)]
pub struct Cnn<T> {
    /// Filters per class.
    pub m: usize,
    /// Compiled activation.
    pub act: ActFn<T>,
    /// The second-layer scale `s_m`.
    pub s_m: T,
}

impl<T: Real> Cnn<T> {
    /// Build from a validated config.
    pub fn new(cfg: &CnnConfig) -> Result<Self, ModelError> {
        cfg.validate()?;
        Ok(Cnn {
            m: cfg.m,
            act: cfg.activation.compile(),
            s_m: T::from_f64c(cfg.s_m()),
        })
    }

    fn check(&self, w: &Array2<T>, batch: &Batch<T>, ws: &Workspace<T>) -> Result<(), ModelError> {
        let shape = |a: &[usize]| format!("{a:?}");
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
        let m = self.m;
        let act = self.act;
        ws.f.fill(T::zero());
        for (row, (zr, mut dzr)) in ws.z.rows().into_iter().zip(ws.dz.rows_mut()).enumerate() {
            let zr = zr.as_slice().expect("standard layout");
            let mut acc = T::zero();
            if want_deriv {
                let dzr = dzr.as_slice_mut().expect("standard layout");
                for c in 0..m {
                    acc += act.value(zr[c]);
                    dzr[c] = act.deriv(zr[c]);
                }
                for c in m..2 * m {
                    acc -= act.value(zr[c]);
                    dzr[c] = -act.deriv(zr[c]);
                }
            } else {
                for c in 0..m {
                    acc += act.value(zr[c]);
                }
                for c in m..2 * m {
                    acc -= act.value(zr[c]);
                }
            }
            ws.f[row / patches] += acc;
        }
        ws.f.mapv_inplace(|v| v * self.s_m);
    }

    /// Outputs from precomputed pre-activations: given `ws.z = X·W_flatᵀ`
    /// (computed any way, e.g. by the reduced solver), fill `ws.f` and return
    /// the metrics against `y`.
    pub fn outputs_from_z(&self, ws: &mut Workspace<T>, y: ArrayView1<T>, patches: usize) -> Metrics {
        self.head(ws, patches, false);
        metrics_of(ws.f.view(), y)
    }

    /// Loss, error and `∂L/∂Z` from precomputed pre-activations `ws.z`:
    /// `ws.dz[(i,p),(j,r)] = g_i · j · s_m · σ′(Z)`, `g_i = ℓ′(y_i f_i) y_i / n`.
    /// `ws.f` is left holding `g_i · s_m`. This is everything between the two GEMMs.
    pub fn grad_from_z(&self, ws: &mut Workspace<T>, y: ArrayView1<T>, patches: usize) -> Metrics {
        self.head(ws, patches, true);
        let n = y.len();
        let inv_n = T::one() / T::from_usize(n).expect("n fits");
        let mut loss = 0.0f64;
        let mut wrong = 0usize;
        for i in 0..n {
            let margin = y[i] * ws.f[i];
            loss += logistic(margin).to_f64c();
            // A NaN or infinite output is never a correct prediction
            // (`NaN <= 0` is false, so test for `> 0` instead).
            if !(margin > T::zero() && margin.is_finite()) {
                wrong += 1;
            }
            ws.f[i] = logistic_deriv(margin) * y[i] * inv_n * self.s_m;
        }
        for (row, mut dzr) in ws.dz.rows_mut().into_iter().enumerate() {
            let g = ws.f[row / patches];
            dzr.mapv_inplace(|v| v * g);
        }
        Metrics {
            loss: loss / n as f64,
            error: wrong as f64 / n as f64,
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
    pub fn loss_grad(
        &self,
        w: &Array2<T>,
        batch: &Batch<T>,
        ws: &mut Workspace<T>,
        grad: &mut Array2<T>,
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
        let met = self.grad_from_z(ws, batch.y.view(), batch.patches);
        general_mat_mul(T::one(), &ws.dz.t(), &batch.x, T::zero(), grad);
        Ok(met)
    }
}

/// Serde for `f64` fields that may be NaN or infinite (JSON has no such
/// numbers): finite values as numbers, the others as the strings `"NaN"`,
/// `"inf"`, `"-inf"`. Use with `#[serde(with = "gengap_model::nonfinite")]`.
pub mod nonfinite {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    /// Deserialize.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum V {
            N(f64),
            S(String),
        }
        match V::deserialize(d)? {
            V::N(x) => Ok(x),
            V::S(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!("not a number: {other:?}"))),
            },
        }
    }
}

#[allow(unsafe_code)]
unsafe extern "C" {
    fn openblas_set_num_threads(num_threads: std::ffi::c_int);
}

/// Set the number of OpenBLAS threads for this process (the GEMMs of the
/// model). Environment variables such as `OPENBLAS_NUM_THREADS` are read when
/// the library loads, before `main`, so changing them at run time has no
/// effect; this calls `openblas_set_num_threads` instead.
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, i32::MAX as usize) as std::ffi::c_int;
    // SAFETY: a plain setter of OpenBLAS's global thread count; it takes an
    // int by value and is safe to call at any time outside a BLAS call.
    #[allow(unsafe_code)]
    unsafe {
        openblas_set_num_threads(n)
    }
}

/// Loss and error from outputs `f` and labels `y`.
pub fn metrics_of<T: Real>(f: ArrayView1<T>, y: ArrayView1<T>) -> Metrics {
    let n = y.len();
    let mut loss = 0.0;
    let mut wrong = 0usize;
    for (&fi, &yi) in f.iter().zip(y.iter()) {
        let margin = (yi * fi).to_f64c();
        loss += logistic(margin);
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

#[cfg(test)]
mod tests {
    use super::*;
    use gengap_data::{C22Params, Z23Params};

    fn toy_batch(seed: u64) -> Batch<f64> {
        let p = Z23Params {
            d: 7,
            n: 5,
            n_test: 1,
            v_norm: 1.0,
            sigma_p: 0.8,
            s: 6,
            alpha: 0.3,
            patches: 3,
        };
        Batch::from_split(&p.generate(&mut rng::seeded(seed)).unwrap().train)
    }

    fn loss_at(cnn: &Cnn<f64>, w: &Array2<f64>, b: &Batch<f64>) -> f64 {
        let mut ws = Workspace::for_batch(b, cnn.m);
        cnn.evaluate(w, b, &mut ws).unwrap().loss
    }

    fn fd_check(act: Activation, scale: OutputScale, w: Array2<f64>, b: &Batch<f64>) {
        let cfg = CnnConfig {
            m: w.nrows() / 2,
            activation: act,
            scale,
            sigma0: 0.5,
        };
        let cnn = Cnn::<f64>::new(&cfg).unwrap();
        let mut ws = Workspace::for_batch(b, cnn.m);
        let mut g = Array2::zeros(w.dim());
        let met = cnn.loss_grad(&w, b, &mut ws, &mut g).unwrap();
        assert!((met.loss - loss_at(&cnn, &w, b)).abs() < 1e-14);
        let mut fd = Array2::<f64>::zeros(w.dim());
        let h = 1e-6;
        for idx in 0..w.len() {
            let (r, c) = (idx / w.ncols(), idx % w.ncols());
            let mut wp = w.clone();
            wp[[r, c]] += h;
            let mut wm = w.clone();
            wm[[r, c]] -= h;
            fd[[r, c]] = (loss_at(&cnn, &wp, b) - loss_at(&cnn, &wm, b)) / (2.0 * h);
        }
        let err = (&fd - &g).mapv(|v| v * v).sum().sqrt() / g.mapv(|v| v * v).sum().sqrt();
        assert!(g.iter().any(|v| v.abs() > 1e-6), "gradient should not vanish");
        assert!(err < 1e-6, "{act:?}: relative FD error {err}");
    }

    #[test]
    fn gradient_matches_finite_differences_for_every_activation() {
        let b = toy_batch(11);
        for (act, scale) in [
            (Activation::ReluPow { q: 3.0 }, OutputScale::InvM),
            (Activation::ReluPow { q: 4.0 }, OutputScale::One),
            (Activation::ReluPow { q: 2.5 }, OutputScale::InvM),
            (Activation::HuberRelu { q: 3.0, h: 0.3 }, OutputScale::One),
            (Activation::Relu, OutputScale::InvM),
        ] {
            let w = CnnConfig {
                m: 4,
                sigma0: 0.7,
                ..Default::default()
            }
            .init::<f64, _>(7, &mut rng::seeded(5))
            .unwrap();
            fd_check(act, scale, w, &b);
        }
    }

    #[test]
    fn gradient_matches_fd_near_the_huber_knot() {
        let b = toy_batch(12);
        let w = CnnConfig {
            m: 3,
            sigma0: 0.7,
            ..Default::default()
        }
        .init::<f64, _>(7, &mut rng::seeded(6))
        .unwrap();
        // Put the knot h within 1e-3 of an actual pre-activation, on either side.
        let z = b.x.dot(&w.t());
        let zpos = z.iter().copied().filter(|v| *v > 0.1).fold(f64::INFINITY, f64::min);
        for h in [zpos + 1e-3, zpos - 1e-3] {
            fd_check(Activation::HuberRelu { q: 3.0, h }, OutputScale::InvM, w.clone(), &b);
        }
    }

    #[test]
    fn huber_is_c1_at_the_knot() {
        let a = Activation::HuberRelu { q: 3.0, h: 0.5 }.compile::<f64>();
        let (l, r) = (0.5 - 1e-9, 0.5 + 1e-9);
        assert!((a.value(l) - a.value(r)).abs() < 1e-8);
        assert!((a.deriv(l) - a.deriv(r)).abs() < 1e-7);
        assert!((a.value(0.5) - 0.5 / 3.0).abs() < 1e-15); // h^q/(q h^{q-1}) = h/q
    }

    #[test]
    fn non_finite_outputs_are_errors_not_correct_predictions() {
        let y = ndarray::arr1(&[1.0f64, -1.0, 1.0, -1.0, 1.0]);
        let f = ndarray::arr1(&[f64::NAN, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0]);
        let m = metrics_of(f.view(), y.view());
        assert_eq!(m.error, 4.0 / 5.0, "only the finite correct output counts as correct");
        let all_nan = ndarray::Array1::<f32>::from_elem(4, f32::NAN);
        let y32 = ndarray::arr1(&[1.0f32, -1.0, 1.0, -1.0]);
        assert_eq!(metrics_of(all_nan.view(), y32.view()).error, 1.0);
    }

    #[test]
    fn loss_is_finite_at_huge_margins() {
        for z in [1e3f64, -1e3, 1e6, -1e6] {
            assert!(logistic(z).is_finite() && logistic_deriv(z).is_finite());
        }
        assert!((logistic(-1e3f64) - 1e3).abs() < 1e-9);
        assert!(logistic(1e3f64) >= 0.0 && logistic(1e3f64) < 1e-300);
        assert!((logistic_deriv(-1e3f64) + 1.0).abs() < 1e-15);
        assert!((logistic(0.0f64) - 2f64.ln()).abs() < 1e-15);
        assert!((logistic_deriv(0.0f64) + 0.5).abs() < 1e-15);
        assert!(logistic(-1e3f32).is_finite());
        // Whole model at margins of ±1e3: ReLU, s_m = 1, a planted filter.
        let x = ndarray::array![[1.0, 0.0], [0.0, 1.0]];
        let b = Batch {
            x,
            y: ndarray::array![1.0],
            patches: 2,
        };
        let cfg = CnnConfig {
            m: 1,
            activation: Activation::Relu,
            scale: OutputScale::One,
            sigma0: 0.0,
        };
        let cnn = Cnn::<f64>::new(&cfg).unwrap();
        let mut ws = Workspace::for_batch(&b, 1);
        for sign in [1.0, -1.0] {
            let w = ndarray::array![[1e3 * (sign + 1.0) / 2.0, 0.0], [1e3 * (1.0 - sign) / 2.0, 0.0]];
            let mut g = Array2::zeros(w.dim());
            let met = cnn.loss_grad(&w, &b, &mut ws, &mut g).unwrap();
            assert_eq!(ws.f.len(), 1);
            assert!(met.loss.is_finite() && g.iter().all(|v| v.is_finite()));
            if sign < 0.0 {
                assert!((met.loss - 1e3).abs() < 1e-9 && met.error == 1.0);
            } else {
                assert!(met.loss < 1e-300 && met.error == 0.0);
            }
        }
    }

    #[test]
    fn planted_weights_give_the_known_output() {
        // d = 3, P = 2, m = 2, ReLU^3, s_m = 1/2.
        // x = ((1, 2, 0), (0, −1, 3)).
        // w_{+1,1} = (1, 0, 0): ⟨·,x1⟩=1, ⟨·,x2⟩=0  → 1
        // w_{+1,2} = (0, 0, 1): 0, 3                → 27
        // w_{−1,1} = (0, 1, 0): 2, −1               → 8
        // w_{−1,2} = (−1, 0, 0): −1, 0              → 0
        // f = (1 + 27 − 8 − 0)/2 = 10.
        let x = ndarray::array![[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]];
        let w = ndarray::array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]];
        let b = Batch {
            x,
            y: ndarray::array![-1.0],
            patches: 2,
        };
        let cnn = Cnn::<f64>::new(&CnnConfig {
            m: 2,
            ..Default::default()
        })
        .unwrap();
        let mut ws = Workspace::for_batch(&b, 2);
        assert_eq!(cnn.forward(&w, &b, &mut ws).unwrap()[0], 10.0);
        let met = cnn.evaluate(&w, &b, &mut ws).unwrap();
        assert_eq!(met.error, 1.0);
        assert!((met.loss - logistic(-10.0)).abs() < 1e-15);
        // The same in f32.
        let cnn32 = Cnn::<f32>::new(&CnnConfig {
            m: 2,
            ..Default::default()
        })
        .unwrap();
        let b32 = Batch {
            x: b.x.mapv(|v| v as f32),
            y: ndarray::array![-1.0f32],
            patches: 2,
        };
        let mut ws32 = Workspace::for_batch(&b32, 2);
        assert_eq!(cnn32.forward(&cast(w.view()), &b32, &mut ws32).unwrap()[0], 10.0f32);
    }

    #[test]
    fn f32_gradient_agrees_with_f64() {
        let p = C22Params {
            d: 40,
            n: 6,
            n_test: 1,
            mu_norm: 2.0,
            sigma_p: 0.3,
            ..serde_default_c22()
        };
        let split = p.generate(&mut rng::seeded(2)).unwrap().train;
        let cfg = CnnConfig {
            m: 3,
            sigma0: 0.3,
            ..Default::default()
        };
        let w = cfg.init::<f64, _>(40, &mut rng::seeded(3)).unwrap();
        let (b64, b32) = (Batch::<f64>::from_split(&split), Batch::<f32>::from_split(&split));
        let (c64, c32) = (Cnn::<f64>::new(&cfg).unwrap(), Cnn::<f32>::new(&cfg).unwrap());
        let mut g64 = Array2::zeros(w.dim());
        let mut g32 = Array2::<f32>::zeros(w.dim());
        c64.loss_grad(&w, &b64, &mut Workspace::for_batch(&b64, 3), &mut g64)
            .unwrap();
        c32.loss_grad(&cast(w.view()), &b32, &mut Workspace::for_batch(&b32, 3), &mut g32)
            .unwrap();
        let diff = (&g64 - &cast::<f32, f64>(g32.view())).mapv(f64::abs).sum() / g64.mapv(f64::abs).sum();
        assert!(diff < 1e-5, "{diff}");
    }

    fn serde_default_c22() -> C22Params {
        toml::from_str("d = 2\nn = 1\nmu_norm = 1.0\nsigma_p = 1.0").unwrap()
    }

    #[test]
    fn shape_errors_and_invalid_config() {
        let b = toy_batch(1);
        let cnn = Cnn::<f64>::new(&CnnConfig {
            m: 2,
            ..Default::default()
        })
        .unwrap();
        let mut ws = Workspace::for_batch(&b, 2);
        let bad = Array2::zeros((4, 3));
        assert!(matches!(
            cnn.evaluate(&bad, &b, &mut ws),
            Err(ModelError::Shape { what: "W", .. })
        ));
        assert!(
            Cnn::<f64>::new(&CnnConfig {
                m: 0,
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            Cnn::<f64>::new(&CnnConfig {
                sigma0: f64::NAN,
                ..Default::default()
            })
            .is_err()
        );
        assert!(Activation::ReluPow { q: 0.5 }.validate().is_err());
        assert!(Activation::HuberRelu { q: 3.0, h: 0.0 }.validate().is_err());
        let e =
            toml::from_str::<CnnConfig>("m = 3\nactivation = { kind = \"relu_pow\", q = 3.0, h = 1.0 }").unwrap_err();
        assert!(e.to_string().contains('h'), "{e}");
        assert!(toml::from_str::<CnnConfig>("mm = 3").is_err());
    }
}
