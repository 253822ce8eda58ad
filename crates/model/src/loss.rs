//! The per-sample losses `ℓ` of the margin `z = y·f(W, x)`
//! (`docs/theory.md#loss-and-gradient`): the logistic loss of \[C22\] and
//! \[Z23\], the hinge loss of Karhadkar et al. (NeurIPS 2024) and the square loss.

use serde::{Deserialize, Serialize};

use crate::{Real, logistic, logistic_deriv};

/// The training loss `ℓ` of the margin (the `loss` key of `[model]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
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
}

impl Loss {
    /// `ℓ(z)`; NaN for a margin that is not finite. An output that
    /// overflowed to ±inf (or is NaN) has no loss: a logistic `ℓ(+inf) = 0`
    /// would otherwise read as a perfect fit, so the mean loss is NaN and
    /// the driver marks the run diverged (`docs/reproducibility.md`).
    #[inline(always)]
    pub fn value<T: Real>(self, z: T) -> T {
        if !z.is_finite() {
            return T::nan();
        }
        match self {
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
    pub fn deriv<T: Real>(self, z: T) -> T {
        match self {
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

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Logistic => "logistic",
            Loss::Hinge => "hinge",
            Loss::Square => "square",
        }
    }
}
