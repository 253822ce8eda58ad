//! The activations σ and the logistic loss ℓ (`docs/theory.md#the-network`, `#loss-and-gradient`).
//!
//! The built-in activations are the variants of [`Activation`]; one written
//! outside the crates implements [`ActivationFn`] and is used as
//! [`Activation::outside`]: the CNN, the full-space trainer and the reduced
//! engine then evaluate it wherever they evaluate a built-in one.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::*;

/// An activation `σ` with its derivative `σ′`, in f64: the interface an
/// outside activation implements (the built-in [`Activation`]s implement it
/// too). In a network of precision `T` the argument is widened to f64 and
/// the result rounded to `T`.
///
/// A smoothed leaky ReLU from outside, its derivative checked by central
/// differences, trained through the CNN:
///
/// ```
/// use gengap_model::{Activation, ActivationFn, CnnConfig};
///
/// /// `σ(z) = s·z + (1 − s)·softplus_β(z)`, `softplus_β(z) = log(1 + e^{βz})/β`.
/// #[derive(Debug)]
/// struct SmoothLeaky { s: f64, beta: f64 }
///
/// impl ActivationFn for SmoothLeaky {
///     fn name(&self) -> &str { "smooth_leaky_relu" }
///     fn value(&self, z: f64) -> f64 {
///         let bz = self.beta * z;
///         self.s * z + (1.0 - self.s) * (bz.max(0.0) + (-bz.abs()).exp().ln_1p()) / self.beta
///     }
///     fn deriv(&self, z: f64) -> f64 {
///         self.s + (1.0 - self.s) / (1.0 + (-self.beta * z).exp())
///     }
/// }
///
/// let act = SmoothLeaky { s: 0.1, beta: 4.0 };
/// for z in [-3.0, -0.2, 0.0, 0.3, 2.5] {
///     let h = 1e-6;
///     let fd = (act.value(z + h) - act.value(z - h)) / (2.0 * h);
///     assert!((fd - act.deriv(z)).abs() < 1e-8, "z = {z}");
/// }
/// let model = CnnConfig { m: 3, activation: Activation::outside(act), ..Default::default() };
/// assert!(model.validate().is_ok());
/// ```
pub trait ActivationFn: fmt::Debug + Send + Sync {
    /// Its name, for records and errors.
    fn name(&self) -> &str;
    /// `σ(z)`.
    fn value(&self, z: f64) -> f64;
    /// `σ′(z)`.
    fn deriv(&self, z: f64) -> f64;
    /// The degree `q` of positive homogeneity `σ(c·z) = c^q·σ(z)`, `c > 0`,
    /// if it has one (the normalized margin needs it). Default: none.
    fn homogeneity(&self) -> Option<f64> {
        None
    }
    /// Check its parameters. Default: nothing to check.
    fn validate(&self) -> Result<(), ModelError> {
        Ok(())
    }
}

/// An activation written outside the crates, shared (cheap to clone). Two
/// are equal when they are the same value. It serializes as its name
/// (`{ kind = "outside", name = "…" }`, so a record says what ran) and is
/// set in code: a config that names it cannot be read back into it.
#[derive(Clone)]
pub struct OutsideActivation(Arc<dyn ActivationFn>);

impl OutsideActivation {
    /// Share `f`.
    pub fn new(f: impl ActivationFn + 'static) -> Self {
        OutsideActivation(Arc::new(f))
    }

    /// The activation.
    pub fn get(&self) -> &dyn ActivationFn {
        &*self.0
    }
}

impl fmt::Debug for OutsideActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq for OutsideActivation {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

impl Serialize for OutsideActivation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Named { name: self.0.name() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for OutsideActivation {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "an outside activation is set in code (`Activation::outside(..)`), not read from a config",
        ))
    }
}

/// The activation σ of the first layer (`docs/theory.md#the-network`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Leaky ReLU `σ(z) = max(z, s·z)` with slope `s ∈ [0, 1]` below 0
    /// (`s = 0` is [`Activation::Relu`], `s = 1` is [`Activation::Linear`]);
    /// `σ′(z) = 1` for `z > 0` and `s` for `z ≤ 0`.
    LeakyRelu {
        /// The slope `s ∈ [0, 1]` on the negative half-line.
        slope: f64,
    },
    /// The identity `σ(z) = z`: the network is then linear in `x`, the
    /// baseline that cannot fit XOR-type data (`docs/theory.md#xor-data`).
    Linear,
    /// An activation written outside the crates ([`ActivationFn`]).
    Outside(OutsideActivation),
}

impl Default for Activation {
    fn default() -> Self {
        Activation::ReluPow { q: 3.0 }
    }
}

impl Activation {
    /// An outside activation.
    pub fn outside(f: impl ActivationFn + 'static) -> Self {
        Activation::Outside(OutsideActivation::new(f))
    }

    /// Check `q ≥ 1` and `h > 0`, both finite, and a leaky slope in `[0, 1]`
    /// (an outside activation checks itself).
    pub fn validate(&self) -> Result<(), ModelError> {
        let (q, h) = match *self {
            Activation::Outside(ref f) => return f.get().validate(),
            Activation::ReluPow { q } => (q, 1.0),
            Activation::HuberRelu { q, h } => (q, h),
            Activation::Relu | Activation::Linear => (1.0, 1.0),
            Activation::LeakyRelu { slope } => {
                if !(0.0..=1.0).contains(&slope) {
                    return Err(invalid("activation.slope", slope, "must be in [0, 1]"));
                }
                (1.0, 1.0)
            }
        };
        if !q.is_finite() || q < 1.0 {
            return Err(invalid("activation.q", q, "must be finite and >= 1"));
        }
        if !h.is_finite() || h <= 0.0 {
            return Err(invalid("activation.h", h, "must be finite and > 0"));
        }
        Ok(())
    }

    /// The exponent `q` (1 for ReLU, leaky ReLU, the identity and an
    /// outside activation, which has no exponent).
    pub fn q(&self) -> f64 {
        match *self {
            Activation::ReluPow { q } | Activation::HuberRelu { q, .. } => q,
            Activation::Relu | Activation::LeakyRelu { .. } | Activation::Linear | Activation::Outside(_) => 1.0,
        }
    }

    /// The config name (`kind`), or the outside activation's name.
    pub fn name(&self) -> &str {
        match self {
            Activation::ReluPow { .. } => "relu_pow",
            Activation::HuberRelu { .. } => "huber_relu",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Linear => "linear",
            Activation::Outside(f) => f.get().name(),
        }
    }

    /// The degree `q` of positive homogeneity, `σ(c·z) = c^q·σ(z)` for
    /// `c > 0`, so that the network is homogeneous in `W`,
    /// `f(c·W, x) = c^q·f(W, x)`: `q` for ReLU^q, 1 for ReLU, leaky ReLU and
    /// the identity; `None` for the Huberized ReLU (not homogeneous).
    pub fn homogeneity(&self) -> Option<f64> {
        match *self {
            Activation::ReluPow { q } => Some(q),
            Activation::Relu | Activation::LeakyRelu { .. } | Activation::Linear => Some(1.0),
            Activation::HuberRelu { .. } => None,
            Activation::Outside(ref f) => f.get().homogeneity(),
        }
    }

    /// The slope on the negative half-line: `s` for leaky ReLU, 1 for the
    /// identity, `None` for the ReLU family (slope 0 there).
    fn leak(&self) -> Option<f64> {
        match *self {
            Activation::LeakyRelu { slope } => Some(slope),
            Activation::Linear => Some(1.0),
            _ => None,
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
            outside: match self {
                Activation::Outside(f) => Some(f.0.clone()),
                _ => None,
            },
            leak: self.leak().map(T::from_f64c),
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

/// `z^e` for `e ≥ 0` by binary powering, inlined: the same multiplications
/// in the same order as the runtime's `powi` (`__powidf2`: `r = 1`; for each
/// bit of `e` from the lowest, `r *= z` if set, then `z *= z`), so the same
/// bits, without a library call per element.
#[inline(always)]
pub(crate) fn ipow<T: Real>(mut z: T, mut e: i32) -> T {
    let mut r = T::one();
    loop {
        if e & 1 == 1 {
            r *= z;
        }
        e /= 2;
        if e == 0 {
            return r;
        }
        z *= z;
    }
}

/// `z` if `z > 0` or NaN, else `+0`: ReLU written as a select (no branch).
#[inline(always)]
fn positive_part<T: Real>(z: T) -> T {
    if z <= T::zero() { T::zero() } else { z }
}

/// `max(z, 0)^E` with a constant `E ≥ 1` (NaN stays NaN): [`ActFn::value`]
/// of ReLU^E, unrolled.
#[inline(always)]
pub(crate) fn relu_pow<T: Real, const E: i32>(z: T) -> T {
    ipow(positive_part(z), E)
}

/// The built-in activations as [`ActivationFn`]s (evaluated in f64, as
/// [`ActFn`] evaluates them).
impl ActivationFn for Activation {
    fn name(&self) -> &str {
        Activation::name(self)
    }

    fn value(&self, z: f64) -> f64 {
        self.compile::<f64>().value(z)
    }

    fn deriv(&self, z: f64) -> f64 {
        self.compile::<f64>().deriv(z)
    }

    fn homogeneity(&self) -> Option<f64> {
        Activation::homogeneity(self)
    }

    fn validate(&self) -> Result<(), ModelError> {
        Activation::validate(self)
    }
}

/// A compiled activation: σ and σ′ in precision `T`, with integer powers fast-pathed.
#[derive(Debug, Clone)]
pub struct ActFn<T> {
    /// An outside activation (then the fields below are unused).
    outside: Option<Arc<dyn ActivationFn>>,
    /// `Some(s)`: the piecewise-linear `max(z, s·z)` (leaky ReLU, identity).
    leak: Option<T>,
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
            Some(q) => ipow(z, q - 1 + k),
            None => z.powf(self.q - T::one() + T::from_f64c(k as f64)),
        }
    }

    /// The outside activation, if it is one.
    pub(crate) fn outside(&self) -> Option<&dyn ActivationFn> {
        self.outside.as_deref()
    }

    /// `Some(q)` for plain ReLU^q with an integer `q ≤ 16`.
    pub(crate) fn relu_power(&self) -> Option<i32> {
        if self.outside.is_some() || self.huber || self.leak.is_some() {
            None
        } else {
            self.qi
        }
    }

    /// The exponent `q` in precision `T`.
    pub(crate) fn q(&self) -> T {
        self.q
    }

    /// `σ(z)`.
    #[inline(always)]
    pub fn value(&self, z: T) -> T {
        match &self.outside {
            Some(f) => T::from_f64c(f.value(z.to_f64c())),
            None => self.builtin_value(z),
        }
    }

    /// `σ′(z)` (at the kink `z = 0` of plain and leaky ReLU the left
    /// derivative, 0 or `s`, is taken).
    #[inline(always)]
    pub fn deriv(&self, z: T) -> T {
        match &self.outside {
            Some(f) => T::from_f64c(f.deriv(z.to_f64c())),
            None => self.builtin_deriv(z),
        }
    }

    /// `σ(z)` of a built-in activation.
    #[inline(always)]
    pub(crate) fn builtin_value(&self, z: T) -> T {
        if let Some(s) = self.leak {
            // `z > 0` is false for NaN, and `s·NaN` is NaN: NaN stays NaN.
            return if z > T::zero() { z } else { s * z };
        }
        if let (false, Some(q)) = (self.huber, self.qi) {
            // Branch-free ReLU^q (a select, then multiplications): the same
            // value as below for every z, NaN included (`NaN <= 0` is false).
            return ipow(positive_part(z), q);
        }
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

    /// `σ′(z)` of a built-in activation.
    #[inline(always)]
    pub(crate) fn builtin_deriv(&self, z: T) -> T {
        if let Some(s) = self.leak {
            return if z > T::zero() { T::one() } else { s };
        }
        if let (false, Some(q)) = (self.huber, self.qi) {
            // Branch-free, as in `value`; q = 1 is the step 1{z > 0} (1 for NaN, as below).
            return if q == 1 {
                if z <= T::zero() { T::zero() } else { T::one() }
            } else {
                self.q * ipow(positive_part(z), q - 1)
            };
        }
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
