//! [`Real`]: the float types (f32, f64) every numerical piece is generic over.

use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive, ToPrimitive};
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
