//! Configs of the optimizers proposed to close Adam's generalization gap
//! (`docs/theory.md#optimizers`), with the defaults of their reference
//! implementations.

use serde::{Deserialize, Serialize};

use super::{DecayKnob, Knobs, RuleConfig, betas_default, eps_default, lr_adam};
use crate::WeightDecay;

fn lr_nadam() -> f64 {
    2e-3
}
fn momentum_decay_default() -> f64 {
    4e-3
}
fn eps_adabelief() -> f64 {
    1e-16
}
fn lr_lion() -> f64 {
    1e-4
}
fn betas_lion() -> [f64; 2] {
    [0.9, 0.99]
}

/// RAdam (Liu et al. 2020), as `torch.optim.RAdam`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RAdamConfig {
    /// Learning rate `η > 0`. Default 1e-3.
    #[serde(default = "lr_adam")]
    pub lr: f64,
    /// `(β₁, β₂)`, each in `[0, 1)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`. Default 1e-8.
    #[serde(default = "eps_default")]
    pub eps: f64,
    /// Weight decay (default none; PyTorch's `weight_decay` is `l2`, with
    /// `decoupled_weight_decay = True` it is `decoupled`).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// NAdam (Dozat 2016), as `torch.optim.NAdam`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NAdamConfig {
    /// Learning rate `η > 0`. Default 2e-3.
    #[serde(default = "lr_nadam")]
    pub lr: f64,
    /// `(β₁, β₂)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`. Default 1e-8.
    #[serde(default = "eps_default")]
    pub eps: f64,
    /// Momentum decay `ψ ≥ 0`. Default 0.004.
    #[serde(default = "momentum_decay_default")]
    pub momentum_decay: f64,
    /// Weight decay (default none).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// AdaBelief (Zhuang et al. 2020), as `adabelief-pytorch` 0.2 with `rectify = False`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaBeliefConfig {
    /// Learning rate `η > 0`. Default 1e-3.
    #[serde(default = "lr_adam")]
    pub lr: f64,
    /// `(β₁, β₂)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`, added to `S` every step and to the denominator. Default 1e-16.
    #[serde(default = "eps_adabelief")]
    pub eps: f64,
    /// Running max of `S`. Default false.
    #[serde(default)]
    pub amsgrad: bool,
    /// Weight decay (default none; the package's `weight_decouple = True`
    /// is `decoupled`, `False` is `l2`).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// Lion (Chen et al. 2023): decoupled decay by definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LionConfig {
    /// Learning rate `η > 0`. Default 1e-4 (the paper advises 3–10× below AdamW's).
    #[serde(default = "lr_lion")]
    pub lr: f64,
    /// `(β₁, β₂)`, each in `[0, 1)`. Default `(0.9, 0.99)`.
    #[serde(default = "betas_lion")]
    pub betas: [f64; 2],
    /// Decoupled decay `λ ≥ 0`. Default 0.
    #[serde(default)]
    pub weight_decay: f64,
}

super::knobs!(RAdamConfig, NAdamConfig, AdaBeliefConfig);

impl RuleConfig for LionConfig {
    fn knobs(&mut self) -> Knobs<'_> {
        Knobs {
            lr: &mut self.lr,
            decay: DecayKnob::Decoupled(&mut self.weight_decay),
        }
    }
}

impl Default for RAdamConfig {
    /// `η = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-8`, no decay.
    fn default() -> Self {
        RAdamConfig {
            lr: lr_adam(),
            betas: betas_default(),
            eps: eps_default(),
            weight_decay: WeightDecay::None,
        }
    }
}

impl Default for NAdamConfig {
    /// `η = 2e-3`, `β = (0.9, 0.999)`, `ε = 1e-8`, `ψ = 0.004`, no decay.
    fn default() -> Self {
        NAdamConfig {
            lr: lr_nadam(),
            betas: betas_default(),
            eps: eps_default(),
            momentum_decay: momentum_decay_default(),
            weight_decay: WeightDecay::None,
        }
    }
}

impl Default for AdaBeliefConfig {
    /// `η = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-16`, no running max, no decay.
    fn default() -> Self {
        AdaBeliefConfig {
            lr: lr_adam(),
            betas: betas_default(),
            eps: eps_adabelief(),
            amsgrad: false,
            weight_decay: WeightDecay::None,
        }
    }
}

impl Default for LionConfig {
    /// `η = 1e-4`, `β = (0.9, 0.99)`, `λ = 0`.
    fn default() -> Self {
        LionConfig {
            lr: lr_lion(),
            betas: betas_lion(),
            weight_decay: 0.0,
        }
    }
}
