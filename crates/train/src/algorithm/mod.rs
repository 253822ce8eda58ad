//! The training algorithms beyond plain (mini-batch) gradient steps: how the
//! gradient a step takes is formed — at a perturbed point (SAM), with
//! flipped labels (label-noise GD), on mixed inputs (mixup) — in both spaces
//! (`docs/theory.md#span-preserving-algorithms`).
//!
//! * [`AlgorithmConfig`] is the `[train] algorithm` table, shared by the
//!   full-space trainer and the reduced engine;
//! * [`full`]: the public full-space trait [`StepGradient`] (any number of
//!   gradient evaluations per step, SAM's two included) and the built-in
//!   rules, which the [`crate::Trainer`] hands to any optimizer;
//! * [`span`]: the public reduced-space trait [`SpanAlgorithm`], the
//!   span-preserving update rules ([`SpanUpdate`]: GD and SGD with momentum
//!   or Nesterov, L2 or decoupled decay) and the built-in algorithms
//!   ([`SpanSgd`]), run exactly by [`crate::SpanTrainer`].
//!
//! The per-step draws of the stochastic rules ([`flip_labels`],
//! [`mixup_pairs`]) are one function each, so both spaces draw the same
//! values from the same stream.

pub mod full;
pub mod span;

use gengap_data::rng;
use serde::{Deserialize, Serialize};

use crate::TrainError;
pub use full::{GradientOracle, StepGradient};
pub use span::{SpanAlgorithm, SpanSgd, SpanStep, SpanUpdate};

fn yes() -> bool {
    true
}

/// How a step's gradient is formed (the `algorithm` key of `[train]`); the
/// optimizer then steps on it. Default: the plain gradient.
///
/// ```
/// use gengap_train::{AlgorithmConfig, TrainConfig};
///
/// let cfg: TrainConfig = toml::from_str("max_steps = 10\nalgorithm = { kind = \"sam\", rho = 0.05 }").unwrap();
/// assert_eq!(cfg.algorithm, AlgorithmConfig::Sam { rho: 0.05, normalized: true });
/// let bad: TrainConfig = toml::from_str("max_steps = 10\nalgorithm = { kind = \"mixup\", alpha = -1.0 }").unwrap();
/// assert!(bad.validate().unwrap_err().to_string().contains("algorithm.alpha"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlgorithmConfig {
    /// The loss gradient on the step's samples (full batch or mini-batch).
    #[default]
    Plain,
    /// Sharpness-aware minimization (Foret, Kleiner, Mobahi, Neyshabur, ICLR
    /// 2021): the gradient at the ascent point `W + ε`, with
    /// `ε = ρ·g/‖g‖_F` (`normalized`, Foret et al.'s form, the one Chen,
    /// Zhang, Kou, Chen, Hsieh, Gu (NeurIPS 2023) analyse on this model) or
    /// `ε = ρ·g` (un-normalized), `g` the loss gradient on the step's samples
    /// at `W`. Two gradient evaluations per step.
    Sam {
        /// The radius `ρ ≥ 0` (`0`: plain gradient).
        rho: f64,
        /// `ε = ρ·g/‖g‖_F` (default) or `ρ·g`.
        #[serde(default = "yes")]
        normalized: bool,
    },
    /// Label-noise GD (Huang, Han, Song, Chen, Wu, Zou, Suzuki, arXiv
    /// 2510.17526): every step flips each of its samples' labels
    /// independently with probability `p`, drawn from the run's stream, and
    /// takes the loss gradient with those labels.
    LabelNoiseGd {
        /// The flip probability `p ∈ [0, 1]` (`0`: plain gradient).
        p: f64,
    },
    /// Input mixup (Zhang, Cissé, Dauphin, Lopez-Paz, ICLR 2018; on this
    /// model Zou, Cao, Li, Gu, ICML 2023): every step draws
    /// `λ ~ Beta(α, α)` and a uniformly random pairing `π` of its samples
    /// and takes the gradient of `λ·ℓ(y_i f(x̃_i)) + (1 − λ)·ℓ(y_{π(i)} f(x̃_i))`
    /// at `x̃_i = λ·x_i + (1 − λ)·x_{π(i)}`, patch by patch.
    Mixup {
        /// The Beta parameter `α > 0`.
        alpha: f64,
    },
}

impl AlgorithmConfig {
    /// Check `ρ ≥ 0`, `p ∈ [0, 1]`, `α > 0`, all finite.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field, value: f64, reason| {
            Err(TrainError::InvalidParam {
                field,
                value: value.to_string(),
                reason,
            })
        };
        match *self {
            AlgorithmConfig::Plain => Ok(()),
            AlgorithmConfig::Sam { rho, .. } if !(rho.is_finite() && rho >= 0.0) => {
                bad("algorithm.rho", rho, "must be finite and >= 0")
            }
            AlgorithmConfig::LabelNoiseGd { p } if !(0.0..=1.0).contains(&p) => {
                bad("algorithm.p", p, "must be in [0, 1]")
            }
            AlgorithmConfig::Mixup { alpha } if !(alpha.is_finite() && alpha > 0.0) => {
                bad("algorithm.alpha", alpha, "must be finite and > 0")
            }
            _ => Ok(()),
        }
    }

    /// Whether this is the plain gradient.
    pub fn is_plain(&self) -> bool {
        *self == AlgorithmConfig::Plain
    }

    /// Whether a step draws from the run's stream (label-noise GD, mixup).
    pub fn needs_stream(&self) -> bool {
        matches!(
            self,
            AlgorithmConfig::LabelNoiseGd { .. } | AlgorithmConfig::Mixup { .. }
        )
    }

    /// The config name (`plain`, `sam`, `label_noise_gd`, `mixup`).
    pub fn name(&self) -> &'static str {
        match self {
            AlgorithmConfig::Plain => "plain",
            AlgorithmConfig::Sam { .. } => "sam",
            AlgorithmConfig::LabelNoiseGd { .. } => "label_noise_gd",
            AlgorithmConfig::Mixup { .. } => "mixup",
        }
    }
}

/// SAM's ascent scale `s` with `ε = s·g`: `ρ/‖g‖_F` (normalized; 0 at
/// `g = 0`, where there is no ascent direction) or `ρ`. Both spaces use it.
pub fn sam_scale(rho: f64, normalized: bool, grad_norm: f64) -> f64 {
    if !normalized {
        rho
    } else if grad_norm > 0.0 {
        rho / grad_norm
    } else {
        0.0
    }
}

/// Label-noise GD's draw: each label of `labels` (`±1`, in the step's sample
/// order) is negated independently with probability `p`, one Bernoulli draw
/// per label, in order. Both spaces call this, so they flip the same labels.
pub fn flip_labels<R: rand::Rng + ?Sized, T: std::ops::Neg<Output = T> + Copy>(rng: &mut R, p: f64, labels: &mut [T]) {
    for y in labels {
        if rng::bernoulli(rng, p) {
            *y = -*y;
        }
    }
}

/// Mixup's draw for a step of `b` samples: `λ ~ Beta(α, α)`, then a uniformly
/// random permutation `π` of `0..b` written into `partners` (sample `k` is
/// mixed with sample `π(k)` of the same step; Zhang et al.'s shuffled batch).
/// Returns `λ`.
pub fn mixup_pairs<R: rand::Rng + ?Sized>(rng: &mut R, alpha: f64, b: usize, partners: &mut Vec<usize>) -> f64 {
    let lambda = rng::beta_symmetric(rng, alpha);
    rng::permutation_into(rng, partners, b);
    lambda
}
