//! The per-sample losses `ℓ` of the margin `z = y·f(W, x)`
//! (`docs/theory.md#loss-and-gradient`): the logistic loss of \[C22\] and
//! \[Z23\], and the hinge loss of Karhadkar et al. (NeurIPS 2024).

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
}

impl Loss {
    /// `ℓ(z)`.
    #[inline(always)]
    pub fn value<T: Real>(self, z: T) -> T {
        match self {
            Loss::Logistic => logistic(z),
            Loss::Hinge => (T::one() - z).max(T::zero()),
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
        }
    }
}
