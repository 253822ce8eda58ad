//! [`TrainConfig`]: when to stop, when to record, what to record, in which precision.

use serde::{Deserialize, Serialize};

use crate::{AlgorithmConfig, LrSchedule, MiniBatch, Schedule, Stop, TrainError};

/// When to stop and how often to record (the `[train]` table of a config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Maximum number of steps (`1 ≤ max_steps ≤` [`MAX_STEPS`]).
    pub max_steps: u64,
    /// Stop once the training loss is ≤ this (optional, > 0).
    #[serde(default)]
    pub target_loss: Option<f64>,
    /// Stop once the training error is ≤ this (optional, in `[0, 1]`; `0`:
    /// at interpolation, every training point on the right side). Not
    /// written when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_error: Option<f64>,
    /// When to record ([`Schedule`]: `{ every = k }`, `{ log_spaced = k }`
    /// or `"end"`; the first and last steps are always recorded). Default every 10 steps.
    #[serde(default)]
    pub record: Schedule,
    /// Record the signal–noise decomposition summaries (costs a GEMM with the basis). Default false.
    #[serde(default)]
    pub decompose: bool,
    /// Record the network's normalized margin `min_i y_i f(W, x_i) / ‖W‖_F^q`
    /// ([`crate::Record::normalized_margin`]; a homogeneous activation only,
    /// costs one forward pass per record). Default false (and then not
    /// written, so configs without it serialize, hash and journal as before).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub margin: bool,
    /// Arithmetic of the weights, gradients and optimizer state: `f64`
    /// (default) or `f32` (1.3–1.6× faster per step at paper sizes, see
    /// docs/performance.md). The decomposition (always in f64) then sees f32
    /// round-off: the relative residual of a GD run is ~1e-6 instead of
    /// ~1e-15 (tested), still far below Adam's ~0.5.
    #[serde(default)]
    pub precision: Precision,
    /// Mini-batch training: `{ size = B, drop_last = false }` (see
    /// [`crate::MiniBatch`]); absent: full batch. A step is one optimizer
    /// step on one batch; the recorded metrics are the whole training set's.
    #[serde(default)]
    pub batch: Option<MiniBatch>,
    /// How a step's gradient is formed ([`AlgorithmConfig`]): `{ kind =
    /// "plain" }` (default), `{ kind = "sam", rho = 0.05 }`,
    /// `{ kind = "label_noise_gd", p = 0.2 }`, `{ kind = "mixup", alpha = 1.0 }`.
    /// (Not written when plain, so plain configs serialize, hash and journal
    /// as before.)
    #[serde(default, skip_serializing_if = "AlgorithmConfig::is_plain")]
    pub algorithm: AlgorithmConfig,
    /// The learning-rate schedule ([`LrSchedule`]): `η_t = η₀·f(t)`.
    /// Default constant (and then not written). Full-space training only:
    /// the reduced engine refuses another.
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub lr_schedule: LrSchedule,
    /// The ε schedule of an adaptive optimizer, `ε_t = ε₀·f(t)` with the
    /// same factors ([`LrSchedule`]; e.g. `{ kind = "inverse_sqrt", tau = 1 }`
    /// for `ε₀/√(1 + t)`). Default constant (not written). Refused for an
    /// optimizer without ε.
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub eps_schedule: LrSchedule,
}

/// The most steps one run may be asked for: `10⁹`. The smallest step here
/// (the reduced engine at the quick sizes) takes about a microsecond, so
/// `10⁹` steps are a quarter of an hour of one core at the very least and
/// days at paper sizes; the largest committed config asks for `10⁶`. A
/// count above it (`10¹²`, `10¹⁴`) is a typo, refused when the config is
/// read instead of running until killed (`docs/reproducibility.md`).
pub const MAX_STEPS: u64 = 1_000_000_000;

/// Floating-point precision of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 64-bit.
    #[default]
    F64,
    /// 32-bit.
    F32,
}

impl Default for TrainConfig {
    /// 1000 steps, no loss target, a record every 10 steps, no
    /// decomposition, no margin, f64.
    fn default() -> Self {
        TrainConfig {
            max_steps: 1000,
            target_loss: None,
            target_error: None,
            record: Schedule::default(),
            decompose: false,
            margin: false,
            precision: Precision::default(),
            batch: None,
            algorithm: AlgorithmConfig::Plain,
            lr_schedule: LrSchedule::Constant,
            eps_schedule: LrSchedule::Constant,
        }
    }
}

impl TrainConfig {
    /// `max_steps` steps, the rest default.
    pub fn steps(max_steps: u64) -> Self {
        TrainConfig {
            max_steps,
            ..Default::default()
        }
    }

    /// Check ranges.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.max_steps == 0 || self.max_steps > MAX_STEPS {
            return Err(TrainError::InvalidParam {
                field: "max_steps",
                value: self.max_steps.to_string(),
                reason: "must be in [1, 1e9] (gengap_train::MAX_STEPS)",
            });
        }
        if !self.record.is_valid() {
            return Err(TrainError::InvalidParam {
                field: "record",
                value: format!("{:?}", self.record),
                reason: "the schedule's step count must be >= 1",
            });
        }
        if let Some(t) = self.target_loss
            && (!t.is_finite() || t <= 0.0)
        {
            return Err(TrainError::InvalidParam {
                field: "target_loss",
                value: t.to_string(),
                reason: "must be finite and > 0",
            });
        }
        if let Some(t) = self.target_error
            && !(0.0..=1.0).contains(&t)
        {
            return Err(TrainError::InvalidParam {
                field: "target_error",
                value: t.to_string(),
                reason: "must be in [0, 1]",
            });
        }
        if let Some(mb) = self.batch {
            mb.validate(usize::MAX)?;
        }
        self.lr_schedule.validate()?;
        self.eps_schedule.validate_as(true)?;
        self.algorithm.validate()
    }

    /// [`TrainConfig::validate`], and the batch size against the `n` training
    /// samples it will see (`1 ≤ B ≤ n`).
    pub fn validate_for(&self, n: usize) -> Result<(), TrainError> {
        self.validate()?;
        match self.batch {
            Some(mb) => mb.validate(n),
            None => Ok(()),
        }
    }
}

impl TrainConfig {
    /// The stopping rule.
    pub fn stop(&self) -> Stop {
        Stop {
            max_steps: self.max_steps,
            target_loss: self.target_loss,
            target_error: self.target_error,
        }
    }
}
