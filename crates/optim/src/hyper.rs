//! Validated hyper-parameters: [`Hyper`] can only be made by [`Hyper::new`]
//! (or by deserializing, which runs the same checks), so an [`crate::Optim`]
//! with a NaN learning rate, `β = 1` or `ε < 0` cannot exist — the pattern of
//! linfa's `ParamGuard`.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Rule};

pub(crate) fn invalid(field: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> OptimError {
    OptimError::InvalidParam {
        field,
        value: format!("{value:?}"),
        reason,
    }
}

pub(crate) fn check_pos(field: &'static str, v: f64) -> Result<(), OptimError> {
    if !v.is_finite() || v <= 0.0 {
        Err(invalid(field, v, "must be finite and > 0"))
    } else {
        Ok(())
    }
}

fn check_nonneg(field: &'static str, v: f64) -> Result<(), OptimError> {
    if !v.is_finite() || v < 0.0 {
        Err(invalid(field, v, "must be finite and >= 0"))
    } else {
        Ok(())
    }
}

pub(crate) fn check_unit(field: &'static str, b: f64) -> Result<(), OptimError> {
    if !(0.0..1.0).contains(&b) {
        Err(invalid(field, b, "must be in [0, 1)"))
    } else {
        Ok(())
    }
}

/// Weight decay, coupled or decoupled; any optimizer takes either kind
/// (`docs/theory.md#optimizers`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum WeightDecay {
    /// No decay.
    #[default]
    None,
    /// Coupled L2: `g ← ∇L + λW`, i.e. the objective `L + (λ/2)‖W‖_F²` (\[Z23\]).
    L2 {
        /// `λ ≥ 0`.
        lambda: f64,
    },
    /// Decoupled: `W ← W − η λ W` before the gradient step (Loshchilov & Hutter 2019).
    Decoupled {
        /// `λ ≥ 0`.
        lambda: f64,
    },
}

impl WeightDecay {
    /// Check `λ` finite and `≥ 0`.
    pub fn validate(&self) -> Result<(), OptimError> {
        match *self {
            WeightDecay::None => Ok(()),
            WeightDecay::L2 { lambda } | WeightDecay::Decoupled { lambda } => {
                check_nonneg("weight_decay.lambda", lambda)
            }
        }
    }

    /// `λ` (0 for none).
    pub fn lambda(&self) -> f64 {
        match *self {
            WeightDecay::None => 0.0,
            WeightDecay::L2 { lambda } | WeightDecay::Decoupled { lambda } => lambda,
        }
    }
}

/// Everything an [`crate::Optim`] needs, checked. Fields are private: build
/// with [`Hyper::new`] (or from an [`crate::OptimConfig`]); read with the accessors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawHyper")]
pub struct Hyper {
    lr: f64,
    betas: [f64; 2],
    eps: f64,
    v0: f64,
    weight_decay: WeightDecay,
    rule: Rule,
}

/// What a [`Hyper`] deserializes through, so that [`Hyper::new`] checks it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHyper {
    lr: f64,
    betas: [f64; 2],
    eps: f64,
    v0: f64,
    weight_decay: WeightDecay,
    rule: Rule,
}

impl TryFrom<RawHyper> for Hyper {
    type Error = OptimError;
    fn try_from(r: RawHyper) -> Result<Self, OptimError> {
        Hyper::new(r.lr, r.betas, r.eps, r.v0, r.weight_decay, r.rule)
    }
}

impl Hyper {
    /// Check and assemble: `η` finite and `> 0`; `β₁, β₂ ∈ [0, 1)`; `ε`
    /// finite and `≥ 0`; `V₀` finite and `≥ 0`; the decay's `λ` finite and
    /// `≥ 0`; the rule's own parameters (momentum in `[0, 1)`, AdaBound's
    /// `final_lr, γ > 0`, Padam's `p` finite). The error names the first bad key.
    ///
    /// ```
    /// use gengap_optim::{Hyper, Rule, WeightDecay};
    /// assert!(Hyper::new(1e-3, [0.9, 0.999], 1e-8, 0.0, WeightDecay::None, Rule::Adam { amsgrad: false }).is_ok());
    /// assert!(Hyper::new(f64::NAN, [0.9, 0.999], 1e-8, 0.0, WeightDecay::None, Rule::Gd).is_err());
    /// assert!(Hyper::new(1e-3, [0.9, 1.0], 1e-8, 0.0, WeightDecay::None, Rule::AdamSeed).is_err());
    /// assert!(Hyper::new(1e-3, [0.9, 0.999], -1.0, 0.0, WeightDecay::None, Rule::AdamSeed).is_err());
    /// ```
    pub fn new(
        lr: f64,
        betas: [f64; 2],
        eps: f64,
        v0: f64,
        weight_decay: WeightDecay,
        rule: Rule,
    ) -> Result<Hyper, OptimError> {
        check_pos("lr", lr)?;
        check_unit("betas[0]", betas[0])?;
        check_unit("betas[1]", betas[1])?;
        check_nonneg("eps", eps)?;
        check_nonneg("v0", v0)?;
        weight_decay.validate()?;
        rule.validate()?;
        Ok(Hyper {
            lr,
            betas,
            eps,
            v0,
            weight_decay,
            rule,
        })
    }

    /// The same, with learning rate `lr` (checked).
    pub fn with_lr(self, lr: f64) -> Result<Hyper, OptimError> {
        check_pos("lr", lr)?;
        Ok(Hyper { lr, ..self })
    }

    /// The same with `ε = eps` (checked: finite and `≥ 0`), e.g. for an ε
    /// schedule; only for a rule that has an ε ([`Rule::uses_eps`]).
    pub fn with_eps(self, eps: f64) -> Result<Hyper, OptimError> {
        if !self.rule.uses_eps() {
            return Err(OptimError::InvalidParam {
                field: "eps",
                value: eps.to_string(),
                reason: "this rule has no ε",
            });
        }
        check_nonneg("eps", eps)?;
        Ok(Hyper { eps, ..self })
    }

    /// `η`.
    pub fn lr(&self) -> f64 {
        self.lr
    }
    /// `(β₁, β₂)` (unused by GD, SGD-M, signGD, which carry `(0, 0)`).
    pub fn betas(&self) -> [f64; 2] {
        self.betas
    }
    /// `ε`.
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// Initial value of `V` (Yogi's `V₀`; 0 otherwise).
    pub fn v0(&self) -> f64 {
        self.v0
    }
    /// The weight decay.
    pub fn weight_decay(&self) -> WeightDecay {
        self.weight_decay
    }
    /// The rule.
    pub fn rule(&self) -> Rule {
        self.rule
    }
}
