//! The per-sample losses `ℓ` of the margin `z = y·f(W, x)`
//! (`docs/theory.md#loss-and-gradient`): the logistic loss of \[C22\] and
//! \[Z23\], the hinge loss of Karhadkar et al. (NeurIPS 2024) and the square loss.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ModelError, Real, logistic, logistic_deriv};

/// A per-sample loss `ℓ` of the margin `z = y·f(W, x)` with its derivative
/// `ℓ′`, in f64: the interface an outside loss implements (the built-in
/// [`Loss`]es implement it too). Used as [`Loss::outside`], it trains
/// wherever a built-in loss does (the CNN, both spaces of the trainer, the
/// linear model).
///
/// ```
/// use gengap_model::{CnnConfig, Loss, LossFn};
///
/// /// The smoothed hinge `ℓ(z) = log(1 + e^{β(1−z)})/β`.
/// #[derive(Debug)]
/// struct SoftHinge { beta: f64 }
///
/// impl LossFn for SoftHinge {
///     fn name(&self) -> &str { "soft_hinge" }
///     fn value(&self, z: f64) -> f64 {
///         let u = self.beta * (1.0 - z);
///         (u.max(0.0) + (-u.abs()).exp().ln_1p()) / self.beta
///     }
///     fn deriv(&self, z: f64) -> f64 { -1.0 / (1.0 + (-self.beta * (1.0 - z)).exp()) }
/// }
///
/// let loss = SoftHinge { beta: 5.0 };
/// let h = 1e-6;
/// assert!(((loss.value(0.4 + h) - loss.value(0.4 - h)) / (2.0 * h) - loss.deriv(0.4)).abs() < 1e-8);
/// let model = CnnConfig { loss: Loss::outside(loss), ..Default::default() };
/// assert_eq!(model.loss.name(), "soft_hinge");
/// ```
pub trait LossFn: fmt::Debug + Send + Sync {
    /// Its name, for records and errors.
    fn name(&self) -> &str;
    /// `ℓ(z)` at a finite margin `z` (a non-finite margin has a NaN loss
    /// whatever `ℓ` says; see [`Loss::value`]).
    fn value(&self, z: f64) -> f64;
    /// `ℓ′(z)`.
    fn deriv(&self, z: f64) -> f64;
    /// Check its parameters. Default: nothing to check.
    fn validate(&self) -> Result<(), ModelError> {
        Ok(())
    }
}

/// A loss written outside the crates, shared (cheap to clone); equal when
/// the same value. Serializes as its name (`{ outside = { name = "…" } }`);
/// set in code, not read from a config.
#[derive(Clone)]
pub struct OutsideLoss(Arc<dyn LossFn>);

impl OutsideLoss {
    /// Share `f`.
    pub fn new(f: impl LossFn + 'static) -> Self {
        OutsideLoss(Arc::new(f))
    }

    /// The loss.
    pub fn get(&self) -> &dyn LossFn {
        &*self.0
    }
}

impl fmt::Debug for OutsideLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq for OutsideLoss {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OutsideLoss {}

#[derive(Serialize)]
struct Named<'a> {
    name: &'a str,
}

impl Serialize for OutsideLoss {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Named { name: self.0.name() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for OutsideLoss {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "an outside loss is set in code (`Loss::outside(..)`), not read from a config",
        ))
    }
}

/// The training loss `ℓ` of the margin (the `loss` key of `[model]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `ℓ(z) = log(1 + e^{−z})`, `ℓ′(z) = −1/(1 + e^{z})` (default).
    #[default]
    Logistic,
    /// `ℓ(z) = max(0, 1 − z)`, with the subgradient `ℓ′(z) = −1` for
    /// `z < 1` and `0` for `z ≥ 1` (Karhadkar, Kou, Gu, Gu, Montúfar,
    /// NeurIPS 2024, "Benign overfitting in leaky ReLU networks with
    /// moderate input dimension", §2).
    Hinge,
    /// `ℓ(z) = (1 − z)²/2`, `ℓ′(z) = z − 1`: the square loss `(y − f)²/2`
    /// for labels `y = ±1`. Its minimum is at margin 1, so a step that is
    /// too large overshoots it and the margin oscillates around 1 (the
    /// regime of Lu, Wu, Yang, Zou, ICLR 2024, whose oscillation condition
    /// `|y·f − 1| ≥ δ` is stated at margin 1).
    Square,
    /// A loss written outside the crates ([`LossFn`]).
    Outside(OutsideLoss),
}

impl Loss {
    /// An outside loss.
    pub fn outside(f: impl LossFn + 'static) -> Self {
        Loss::Outside(OutsideLoss::new(f))
    }

    /// Check an outside loss's parameters (the built-in ones have none).
    pub fn validate(&self) -> Result<(), ModelError> {
        match self {
            Loss::Outside(f) => f.get().validate(),
            _ => Ok(()),
        }
    }

    /// `ℓ(z)`; NaN for a margin that is not finite. An output that
    /// overflowed to ±inf (or is NaN) has no loss: a logistic `ℓ(+inf) = 0`
    /// would otherwise read as a perfect fit, so the mean loss is NaN and
    /// the driver marks the run diverged (`docs/reproducibility.md`).
    #[inline(always)]
    pub fn value<T: Real>(&self, z: T) -> T {
        if !z.is_finite() {
            return T::nan();
        }
        match self {
            Loss::Outside(f) => T::from_f64c(f.get().value(z.to_f64c())),
            Loss::Logistic => logistic(z),
            Loss::Hinge => (T::one() - z).max(T::zero()),
            Loss::Square => {
                let e = T::one() - z;
                e * e / T::from_f64c(2.0)
            }
        }
    }

    /// `ℓ′(z)` (the subgradient above at the hinge's kink).
    #[inline(always)]
    pub fn deriv<T: Real>(&self, z: T) -> T {
        match self {
            Loss::Outside(f) => T::from_f64c(f.get().deriv(z.to_f64c())),
            Loss::Logistic => logistic_deriv(z),
            Loss::Hinge => {
                if z < T::one() {
                    -T::one()
                } else {
                    T::zero()
                }
            }
            Loss::Square => z - T::one(),
        }
    }

    /// Whether this is the logistic loss (the default).
    pub fn is_logistic(&self) -> bool {
        *self == Loss::Logistic
    }

    /// The config name, or the outside loss's name.
    pub fn name(&self) -> &str {
        match self {
            Loss::Logistic => "logistic",
            Loss::Hinge => "hinge",
            Loss::Square => "square",
            Loss::Outside(f) => f.get().name(),
        }
    }
}

/// The built-in losses as [`LossFn`]s.
impl LossFn for Loss {
    fn name(&self) -> &str {
        Loss::name(self)
    }

    fn value(&self, z: f64) -> f64 {
        Loss::value(self, z)
    }

    fn deriv(&self, z: f64) -> f64 {
        Loss::deriv(self, z)
    }

    fn validate(&self) -> Result<(), ModelError> {
        Loss::validate(self)
    }
}
