//! Learning-rate and ε schedules (`[train] lr_schedule`, `eps_schedule`):
//! the rate of step `t` is `η_t = η₀·f(t)` (and `ε_t = ε₀·f(t)`), `η₀` the optimizer's own rate, `t = 0, 1, …` the
//! index of the step about to be taken; the trainer sets it on the
//! optimizer ([`crate::Optimizer::set_learning_rate`]) before each step.
//! Code can give any schedule as a function of `t`
//! ([`crate::Trainer::with_lr_schedule`]; Python: a callable).

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// The factor `f(t)` of `η_t = η₀·f(t)`.
///
/// ```
/// use gengap_train::LrSchedule;
/// let s: LrSchedule = toml::from_str("kind = \"step\"\nevery = 10\ngamma = 0.5").unwrap();
/// assert_eq!((s.factor(9, 100), s.factor(10, 100), s.factor(25, 100)), (1.0, 0.5, 0.25));
/// let c = LrSchedule::Cosine { min_factor: 0.0 };
/// assert!((c.factor(50, 100) - 0.5).abs() < 1e-15 && c.factor(100, 100).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// `f(t) = 1` (default).
    #[default]
    Constant,
    /// `f(t) = 1/(1 + k·t)`, `k ≥ 0` (the `η_t ∝ 1/t` decay of the
    /// implicit-bias analyses).
    InverseTime {
        /// `k`.
        k: f64,
    },
    /// `f(t) = 1/√(1 + t/τ)`, `τ > 0`.
    InverseSqrt {
        /// `τ`, in steps.
        tau: f64,
    },
    /// `f(t) = γ^⌊t/every⌋` (PyTorch's `StepLR`).
    Step {
        /// Steps between two decays (`≥ 1`).
        every: u64,
        /// The decay `γ ∈ (0, 1]`.
        gamma: f64,
    },
    /// `f(t) = m + (1 − m)(1 + cos(π·t/T))/2` over the run's `T = max_steps`
    /// (PyTorch's `CosineAnnealingLR` with `η_min = m·η₀`).
    Cosine {
        /// `m ∈ [0, 1]`.
        min_factor: f64,
    },
}

impl LrSchedule {
    /// Whether this is the constant rate (then not written in a config, so
    /// configs without a schedule serialize, hash and journal as before).
    pub fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }

    /// `f(t)` for a run of `max_steps` steps.
    pub fn factor(&self, t: u64, max_steps: u64) -> f64 {
        let tf = t as f64;
        match *self {
            LrSchedule::Constant => 1.0,
            LrSchedule::InverseTime { k } => 1.0 / (1.0 + k * tf),
            LrSchedule::InverseSqrt { tau } => 1.0 / (1.0 + tf / tau).sqrt(),
            LrSchedule::Step { every, gamma } => gamma.powf((t / every) as f64),
            LrSchedule::Cosine { min_factor } => {
                let x = (tf / max_steps.max(1) as f64).min(1.0);
                min_factor + (1.0 - min_factor) * (1.0 + (std::f64::consts::PI * x).cos()) / 2.0
            }
        }
    }

    /// Check `k ≥ 0`, `τ > 0`, `every ≥ 1`, `γ ∈ (0, 1]`, `m ∈ [0, 1]`, all
    /// finite, naming the keys under `lr_schedule`.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.validate_as(false)
    }

    /// [`LrSchedule::validate`] with the keys under `eps_schedule` (`eps`) or
    /// `lr_schedule`.
    pub fn validate_as(&self, eps: bool) -> Result<(), TrainError> {
        let key = |lr: &'static str, e: &'static str| if eps { e } else { lr };
        let bad = |field, value: String, reason| Err(TrainError::InvalidParam { field, value, reason });
        match *self {
            LrSchedule::InverseTime { k } if !(k.is_finite() && k >= 0.0) => bad(
                key("lr_schedule.k", "eps_schedule.k"),
                k.to_string(),
                "must be finite and >= 0",
            ),
            LrSchedule::InverseSqrt { tau } if !(tau.is_finite() && tau > 0.0) => bad(
                key("lr_schedule.tau", "eps_schedule.tau"),
                tau.to_string(),
                "must be finite and > 0",
            ),
            LrSchedule::Step { every: 0, .. } => bad(
                key("lr_schedule.every", "eps_schedule.every"),
                "0".into(),
                "must be >= 1",
            ),
            LrSchedule::Step { gamma, .. } if !(gamma > 0.0 && gamma <= 1.0) => bad(
                key("lr_schedule.gamma", "eps_schedule.gamma"),
                gamma.to_string(),
                "must be in (0, 1]",
            ),
            LrSchedule::Cosine { min_factor } if !(0.0..=1.0).contains(&min_factor) => bad(
                key("lr_schedule.min_factor", "eps_schedule.min_factor"),
                min_factor.to_string(),
                "must be in [0, 1]",
            ),
            _ => Ok(()),
        }
    }
}
