//! # gengap-optim — the optimizers of the adaptive-vs-GD generalization question
//!
//! Every update rule of `docs/theory.md#optimizers`, right to the last term, for parameters in
//! `f32` or `f64`. Notation: `g_t` is the gradient at step `t = 1, 2, …`; all
//! operations are entrywise; `bc1 = 1 − β₁ᵗ`, `bc2 = 1 − β₂ᵗ`.
//!
//! | name (`name = …`) | update | paper |
//! |---|---|---|
//! | `gd` | `W ← W − η g` | — |
//! | `sgd_momentum` | `b ← μ b + g;  W ← W − η b` (Nesterov: `W ← W − η (g + μ b)`) | PyTorch `torch.optim.SGD` |
//! | `sign_gd` | `W ← W − η sign(g)` | — |
//! | `adam_seed` | `M ← β₁M + (1−β₁)g;  V ← β₂V + (1−β₂)g²;  W ← W − η M/(√V + ε)` (no bias correction) | the talk / \[Z23\] |
//! | `adam` | same moments; `W ← W − η (M/bc1)/(√(V/bc2) + ε)` | Kingma & Ba 2015 |
//! | `amsgrad` | `V_max ← max(V_max, V)`; `W ← W − η (M/bc1)/(√(V_max/bc2) + ε)` | Reddi, Kale & Kumar 2018 |
//! | `adamw` | `W ← W − ηλW`, then the `adam` step | Loshchilov & Hutter 2019 |
//! | `yogi` | `V ← V − (1−β₂) sign(V − g²) g²`, `V₀ = 1e-6`; `W ← W − η (√bc2/bc1) M/(√V + ε)` | Zaheer et al. 2018 |
//! | `adabound` | `W ← W − clip(η√bc2/bc1 / (√V + ε), η_l(t), η_u(t)) · M` | Luo et al. 2019 |
//! | `padam` | `W ← W − η (√bc2/bc1) M / (√V̂ + ε)^{2p}`, `V̂ = V_max` if amsgrad | Chen et al. 2020 (\[P20\]) |
//!
//! Weight decay ([`WeightDecay`]) is a separate piece that any optimizer
//! takes: **L2** (coupled, `g ← g + λW`, the objective `L + (λ/2)‖W‖²`, \[Z23\]'s
//! "proper regularization") or **decoupled** (`W ← W − ηλW` before the step,
//! as in AdamW).
//!
//! All optimizers are one struct, [`Optim`], assembled from shared pieces
//! (decay, momentum buffer, Adam moments, running max, bias correction); the
//! rules differ only in the few lines where their math differs. Its state
//! ([`OptState`]) is public and serde-serializable, and a restored state
//! continues bit-identically. Build one from a TOML table via [`OptimConfig`],
//! or with a named constructor such as [`Padam::new`].

use serde::{Deserialize, Serialize};

pub use gengap_model::Real;

/// Errors of the optim crate, naming the offending key and value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimError {
    /// A hyperparameter is out of range.
    #[error("invalid optimizer parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// The config key.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The valid range.
        reason: &'static str,
    },
    /// Parameter, gradient or state lengths disagree.
    #[error("length mismatch in {what}: expected {expected}, got {got}")]
    Length {
        /// Which buffer.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Given length.
        got: usize,
    },
}

fn invalid(field: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> OptimError {
    OptimError::InvalidParam {
        field,
        value: format!("{value:?}"),
        reason,
    }
}

fn check_lr(lr: f64) -> Result<(), OptimError> {
    if !lr.is_finite() || lr <= 0.0 {
        Err(invalid("lr", lr, "must be finite and > 0"))
    } else {
        Ok(())
    }
}

fn check_unit(field: &'static str, b: f64) -> Result<(), OptimError> {
    if !(0.0..1.0).contains(&b) {
        Err(invalid(field, b, "must be in [0, 1)"))
    } else {
        Ok(())
    }
}

fn check_eps(eps: f64) -> Result<(), OptimError> {
    if !eps.is_finite() || eps < 0.0 {
        Err(invalid("eps", eps, "must be finite and >= 0"))
    } else {
        Ok(())
    }
}

fn check_betas(b: [f64; 2]) -> Result<(), OptimError> {
    check_unit("betas[0]", b[0])?;
    check_unit("betas[1]", b[1])
}

/// Weight decay, coupled or decoupled; any optimizer takes either kind.
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
    fn validate(&self) -> Result<(), OptimError> {
        match *self {
            WeightDecay::L2 { lambda } | WeightDecay::Decoupled { lambda } if !lambda.is_finite() || lambda < 0.0 => {
                Err(invalid("weight_decay.lambda", lambda, "must be finite and >= 0"))
            }
            _ => Ok(()),
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

fn betas_default() -> [f64; 2] {
    [0.9, 0.999]
}
fn eps_default() -> f64 {
    1e-8
}
fn lr_adam() -> f64 {
    1e-3
}
fn momentum_default() -> f64 {
    0.9
}
fn true_() -> bool {
    true
}
fn yogi_eps() -> f64 {
    1e-3
}
fn yogi_v0() -> f64 {
    1e-6
}
fn final_lr_default() -> f64 {
    0.1
}
fn gamma_default() -> f64 {
    1e-3
}
fn adamw_wd() -> f64 {
    1e-2
}
fn padam_p() -> f64 {
    0.125
}
fn lr_padam() -> f64 {
    0.1
}

/// GD and signGD: `lr` (required) and `weight_decay`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GdConfig {
    /// Learning rate `η > 0`.
    pub lr: f64,
    /// Weight decay (default none).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// SGD with momentum, PyTorch form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgdMomentumConfig {
    /// Learning rate `η > 0`.
    pub lr: f64,
    /// Momentum `μ_b ∈ [0, 1)`. Default 0.9.
    #[serde(default = "momentum_default")]
    pub momentum: f64,
    /// Nesterov: step along `g + μ_b b`. Default false.
    #[serde(default)]
    pub nesterov: bool,
    /// Weight decay (default none).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// Adam (seed or PyTorch form) and AMSGrad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate `η > 0`. Default 1e-3.
    #[serde(default = "lr_adam")]
    pub lr: f64,
    /// `(β₁, β₂)`, each in `[0, 1)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`. Default 1e-8.
    #[serde(default = "eps_default")]
    pub eps: f64,
    /// Weight decay (default none; PyTorch's `weight_decay` is `l2`).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// AdamW: the Adam (PyTorch form) step with decoupled decay `λ` (default 1e-2, as in PyTorch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamWConfig {
    /// Learning rate `η > 0`. Default 1e-3.
    #[serde(default = "lr_adam")]
    pub lr: f64,
    /// `(β₁, β₂)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`. Default 1e-8.
    #[serde(default = "eps_default")]
    pub eps: f64,
    /// Decoupled decay `λ ≥ 0`. Default 1e-2.
    #[serde(default = "adamw_wd")]
    pub weight_decay: f64,
}

/// Yogi (Zaheer et al. 2018).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YogiConfig {
    /// Learning rate `η > 0`. Default 1e-3.
    #[serde(default = "lr_adam")]
    pub lr: f64,
    /// `(β₁, β₂)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`. Default 1e-3.
    #[serde(default = "yogi_eps")]
    pub eps: f64,
    /// Initial second moment `V₀ ≥ 0`. Default 1e-6.
    #[serde(default = "yogi_v0")]
    pub v0: f64,
    /// Weight decay (default none).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// AdaBound (Luo et al. 2019).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaBoundConfig {
    /// Learning rate `η > 0`. Default 1e-3.
    #[serde(default = "lr_adam")]
    pub lr: f64,
    /// `(β₁, β₂)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`. Default 1e-8.
    #[serde(default = "eps_default")]
    pub eps: f64,
    /// The SGD learning rate the bounds converge to. Default 0.1.
    #[serde(default = "final_lr_default")]
    pub final_lr: f64,
    /// Convergence speed of the bounds `γ > 0`. Default 1e-3.
    #[serde(default = "gamma_default")]
    pub gamma: f64,
    /// Weight decay (default none).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// Padam (\[P20\], official form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadamConfig {
    /// Learning rate `η > 0`. Default 0.1 (the paper's).
    #[serde(default = "lr_padam")]
    pub lr: f64,
    /// `(β₁, β₂)`. Default `(0.9, 0.999)`.
    #[serde(default = "betas_default")]
    pub betas: [f64; 2],
    /// `ε ≥ 0`, inside the power. Default 1e-8.
    #[serde(default = "eps_default")]
    pub eps: f64,
    /// Partial-adaptivity exponent `p` (any finite real; `p < 0` warns). Default 1/8.
    #[serde(default = "padam_p")]
    pub p: f64,
    /// Use the running max `V_max` (AMSGrad-style). Default true.
    #[serde(default = "true_")]
    pub amsgrad: bool,
    /// Weight decay (default none; the official code's is `l2`).
    #[serde(default)]
    pub weight_decay: WeightDecay,
}

/// Any optimizer, selected by `name = "…"` in a TOML table; unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum OptimConfig {
    /// Gradient descent.
    Gd(GdConfig),
    /// SGD with momentum (PyTorch form).
    #[serde(alias = "sgdm")]
    SgdMomentum(SgdMomentumConfig),
    /// Sign gradient descent.
    SignGd(GdConfig),
    /// Adam in the talk's seed form (no bias correction).
    AdamSeed(AdamConfig),
    /// Adam, PyTorch form.
    Adam(AdamConfig),
    /// AMSGrad, as `torch.optim.Adam(amsgrad=True)`.
    Amsgrad(AdamConfig),
    /// AdamW, as `torch.optim.AdamW`.
    Adamw(AdamWConfig),
    /// Yogi.
    Yogi(YogiConfig),
    /// AdaBound.
    Adabound(AdaBoundConfig),
    /// Padam.
    Padam(PadamConfig),
}

/// The rule-specific part of an optimizer, resolved from its config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `W ← W − η g`.
    Gd,
    /// `b ← μ b + g`, step `b` (or `g + μ b`).
    SgdMomentum {
        /// `μ_b`.
        momentum: f64,
        /// Nesterov variant.
        nesterov: bool,
    },
    /// `W ← W − η sign(g)`.
    SignGd,
    /// Adam without bias correction.
    AdamSeed,
    /// Adam with bias correction (PyTorch); `amsgrad` uses the running max.
    Adam {
        /// AMSGrad.
        amsgrad: bool,
    },
    /// Yogi's additive second moment.
    Yogi,
    /// AdaBound's clipped step.
    AdaBound {
        /// `final_lr`.
        final_lr: f64,
        /// `γ`.
        gamma: f64,
    },
    /// Padam's partial power.
    Padam {
        /// `p`.
        p: f64,
        /// Running max.
        amsgrad: bool,
    },
}

/// Everything an [`Optim`] needs, in one flat, resolved form.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// `η`.
    pub lr: f64,
    /// `(β₁, β₂)` (unused by GD, SGD-M, signGD).
    pub betas: [f64; 2],
    /// `ε`.
    pub eps: f64,
    /// Initial value of `V` (Yogi's `V₀`; 0 otherwise).
    pub v0: f64,
    /// Weight decay.
    pub weight_decay: WeightDecay,
    /// The rule.
    pub rule: Rule,
}

impl OptimConfig {
    /// The config's `name`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimConfig::Gd(_) => "gd",
            OptimConfig::SgdMomentum(_) => "sgd_momentum",
            OptimConfig::SignGd(_) => "sign_gd",
            OptimConfig::AdamSeed(_) => "adam_seed",
            OptimConfig::Adam(_) => "adam",
            OptimConfig::Amsgrad(_) => "amsgrad",
            OptimConfig::Adamw(_) => "adamw",
            OptimConfig::Yogi(_) => "yogi",
            OptimConfig::Adabound(_) => "adabound",
            OptimConfig::Padam(_) => "padam",
        }
    }

    /// The same optimizer with its weight decay replaced by `wd` (for AdamW,
    /// whose decay is decoupled by definition, `λ` of `wd` is used as its decoupled decay).
    pub fn with_weight_decay(&self, wd: WeightDecay) -> OptimConfig {
        let mut c = self.clone();
        match &mut c {
            OptimConfig::Gd(x) | OptimConfig::SignGd(x) => x.weight_decay = wd,
            OptimConfig::SgdMomentum(x) => x.weight_decay = wd,
            OptimConfig::AdamSeed(x) | OptimConfig::Adam(x) | OptimConfig::Amsgrad(x) => x.weight_decay = wd,
            OptimConfig::Adamw(x) => x.weight_decay = wd.lambda(),
            OptimConfig::Yogi(x) => x.weight_decay = wd,
            OptimConfig::Adabound(x) => x.weight_decay = wd,
            OptimConfig::Padam(x) => x.weight_decay = wd,
        }
        c
    }

    /// The learning rate `η`.
    pub fn lr(&self) -> f64 {
        match self {
            OptimConfig::Gd(x) | OptimConfig::SignGd(x) => x.lr,
            OptimConfig::SgdMomentum(x) => x.lr,
            OptimConfig::AdamSeed(x) | OptimConfig::Adam(x) | OptimConfig::Amsgrad(x) => x.lr,
            OptimConfig::Adamw(x) => x.lr,
            OptimConfig::Yogi(x) => x.lr,
            OptimConfig::Adabound(x) => x.lr,
            OptimConfig::Padam(x) => x.lr,
        }
    }

    /// The same optimizer with learning rate `lr`.
    pub fn with_lr(&self, lr: f64) -> OptimConfig {
        let mut c = self.clone();
        match &mut c {
            OptimConfig::Gd(x) | OptimConfig::SignGd(x) => x.lr = lr,
            OptimConfig::SgdMomentum(x) => x.lr = lr,
            OptimConfig::AdamSeed(x) | OptimConfig::Adam(x) | OptimConfig::Amsgrad(x) => x.lr = lr,
            OptimConfig::Adamw(x) => x.lr = lr,
            OptimConfig::Yogi(x) => x.lr = lr,
            OptimConfig::Adabound(x) => x.lr = lr,
            OptimConfig::Padam(x) => x.lr = lr,
        }
        c
    }

    /// Validate and flatten into [`Hyper`].
    pub fn resolve(&self) -> Result<Hyper, OptimError> {
        let h = match self.clone() {
            OptimConfig::Gd(c) | OptimConfig::SignGd(c) => Hyper {
                lr: c.lr,
                betas: [0.0, 0.0],
                eps: 0.0,
                v0: 0.0,
                weight_decay: c.weight_decay,
                rule: if matches!(self, OptimConfig::Gd(_)) {
                    Rule::Gd
                } else {
                    Rule::SignGd
                },
            },
            OptimConfig::SgdMomentum(c) => {
                check_unit("momentum", c.momentum)?;
                Hyper {
                    lr: c.lr,
                    betas: [0.0, 0.0],
                    eps: 0.0,
                    v0: 0.0,
                    weight_decay: c.weight_decay,
                    rule: Rule::SgdMomentum {
                        momentum: c.momentum,
                        nesterov: c.nesterov,
                    },
                }
            }
            OptimConfig::AdamSeed(c) | OptimConfig::Adam(c) | OptimConfig::Amsgrad(c) => Hyper {
                lr: c.lr,
                betas: c.betas,
                eps: c.eps,
                v0: 0.0,
                weight_decay: c.weight_decay,
                rule: match self {
                    OptimConfig::AdamSeed(_) => Rule::AdamSeed,
                    OptimConfig::Adam(_) => Rule::Adam { amsgrad: false },
                    _ => Rule::Adam { amsgrad: true },
                },
            },
            OptimConfig::Adamw(c) => Hyper {
                lr: c.lr,
                betas: c.betas,
                eps: c.eps,
                v0: 0.0,
                weight_decay: WeightDecay::Decoupled { lambda: c.weight_decay },
                rule: Rule::Adam { amsgrad: false },
            },
            OptimConfig::Yogi(c) => {
                if !c.v0.is_finite() || c.v0 < 0.0 {
                    return Err(invalid("v0", c.v0, "must be finite and >= 0"));
                }
                Hyper {
                    lr: c.lr,
                    betas: c.betas,
                    eps: c.eps,
                    v0: c.v0,
                    weight_decay: c.weight_decay,
                    rule: Rule::Yogi,
                }
            }
            OptimConfig::Adabound(c) => {
                if !c.final_lr.is_finite() || c.final_lr <= 0.0 {
                    return Err(invalid("final_lr", c.final_lr, "must be finite and > 0"));
                }
                if !c.gamma.is_finite() || c.gamma <= 0.0 {
                    return Err(invalid("gamma", c.gamma, "must be finite and > 0"));
                }
                Hyper {
                    lr: c.lr,
                    betas: c.betas,
                    eps: c.eps,
                    v0: 0.0,
                    weight_decay: c.weight_decay,
                    rule: Rule::AdaBound {
                        final_lr: c.final_lr,
                        gamma: c.gamma,
                    },
                }
            }
            OptimConfig::Padam(c) => {
                if !c.p.is_finite() {
                    return Err(invalid("p", c.p, "must be finite"));
                }
                Hyper {
                    lr: c.lr,
                    betas: c.betas,
                    eps: c.eps,
                    v0: 0.0,
                    weight_decay: c.weight_decay,
                    rule: Rule::Padam {
                        p: c.p,
                        amsgrad: c.amsgrad,
                    },
                }
            }
        };
        check_lr(h.lr)?;
        check_betas(h.betas)?;
        check_eps(h.eps)?;
        if let WeightDecay::Decoupled { lambda } = h.weight_decay
            && let OptimConfig::Adamw(_) = self
            && (!lambda.is_finite() || lambda < 0.0)
        {
            return Err(invalid("weight_decay", lambda, "must be finite and >= 0"));
        }
        h.weight_decay.validate()?;
        Ok(h)
    }

    /// Non-fatal remarks on the config (Padam with `p < 0` is an extrapolation
    /// beyond SGD-momentum: allowed, but flagged).
    pub fn warnings(&self) -> Vec<String> {
        match self {
            OptimConfig::Padam(c) if c.p < 0.0 => vec![format!(
                "padam p = {} < 0 extrapolates beyond SGD-momentum (p = 0): the step grows where V is large",
                c.p
            )],
            _ => vec![],
        }
    }

    /// Build the optimizer in precision `T`.
    pub fn build<T: Real>(&self) -> Result<Optim<T>, OptimError> {
        Ok(Optim::from_hyper(self.name(), self.resolve()?))
    }
}

/// The explicit optimizer state: step count and every moment buffer.
///
/// Buffers a rule does not use stay empty. Serializing this (e.g. with
/// serde_json, which round-trips floats exactly) and restoring it with
/// [`Optimizer::load_state`] continues a run bit-identically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Real"))]
pub struct OptState<T> {
    /// Steps taken, `t`.
    pub t: u64,
    /// Momentum buffer `b` (SGD-M) or first moment `M`.
    pub m: Vec<T>,
    /// Second moment `V`.
    pub v: Vec<T>,
    /// Running max `V_max` (AMSGrad, Padam with amsgrad).
    pub v_max: Vec<T>,
}

impl<T> Default for OptState<T> {
    fn default() -> Self {
        OptState {
            t: 0,
            m: vec![],
            v: vec![],
            v_max: vec![],
        }
    }
}

/// The common interface of all optimizers.
pub trait Optimizer<T: Real> {
    /// One step: update `w` in place from the gradient `grad` (same length).
    /// Buffers are sized on the first call; later calls allocate nothing.
    fn step(&mut self, w: &mut [T], grad: &[T]) -> Result<(), OptimError>;
    /// The current state.
    fn state(&self) -> &OptState<T>;
    /// Replace the state (lengths are checked against the rule's needs on the next step).
    fn load_state(&mut self, state: OptState<T>);
    /// The resolved hyperparameters.
    fn hyper(&self) -> &Hyper;
    /// The optimizer's config name.
    fn name(&self) -> &str;
}

/// The single optimizer implementation (see the crate docs for each rule).
#[derive(Debug, Clone)]
pub struct Optim<T> {
    name: String,
    hyper: Hyper,
    state: OptState<T>,
}

impl<T: Real> Optim<T> {
    /// An optimizer from resolved hyperparameters, with empty state.
    pub fn from_hyper(name: &str, hyper: Hyper) -> Self {
        Optim {
            name: name.to_string(),
            hyper,
            state: OptState::default(),
        }
    }

    fn needs(&self) -> (bool, bool, bool) {
        match self.hyper.rule {
            Rule::Gd | Rule::SignGd => (false, false, false),
            Rule::SgdMomentum { .. } => (true, false, false),
            Rule::AdamSeed | Rule::Yogi | Rule::AdaBound { .. } => (true, true, false),
            Rule::Adam { amsgrad } | Rule::Padam { amsgrad, .. } => (true, true, amsgrad),
        }
    }

    fn ensure_buffers(&mut self, len: usize) -> Result<(), OptimError> {
        let (m, v, vm) = self.needs();
        let v0 = T::from_f64c(self.hyper.v0);
        for (need, buf, what, init) in [
            (m, &mut self.state.m, "state.m", T::zero()),
            (v, &mut self.state.v, "state.v", v0),
            (vm, &mut self.state.v_max, "state.v_max", T::zero()),
        ] {
            if !need {
                continue;
            }
            if buf.is_empty() && self.state.t == 0 {
                buf.resize(len, init);
            } else if buf.len() != len {
                return Err(OptimError::Length {
                    what,
                    expected: len,
                    got: buf.len(),
                });
            }
        }
        Ok(())
    }
}

/// Piece: coupled or decoupled decay on one coordinate. Returns the gradient to use.
#[inline(always)]
fn decay<T: Real>(wd: WeightDecay, lambda: T, lr_lambda: T, w: &mut T, g: T) -> T {
    match wd {
        WeightDecay::None => g,
        WeightDecay::L2 { .. } => g + lambda * *w,
        WeightDecay::Decoupled { .. } => {
            *w -= lr_lambda * *w;
            g
        }
    }
}

/// Piece: the Adam moment updates `M ← β₁M + (1−β₁)g`, `V ← β₂V + (1−β₂)g²`.
#[inline(always)]
fn moments<T: Real>(b1: T, b2: T, m: &mut T, v: &mut T, g: T) {
    *m = b1 * *m + (T::one() - b1) * g;
    *v = b2 * *v + (T::one() - b2) * g * g;
}

/// Piece: `num / den`, with the convention `x/0 = x` — reachable only with
/// `ε = 0` while `V = 0`, i.e. before any nonzero gradient, when `num = M = 0`
/// as well, so it gives `0/0 = 0`. Branch-free, so the loops vectorize.
#[inline(always)]
fn ratio<T: Real>(num: T, den: T) -> T {
    num / if den == T::zero() { T::one() } else { den }
}

/// Piece: the loop shared by every rule with Adam moments. For each
/// coordinate: `g ← pre(w, g)` (weight decay), the moment updates, `V̂ =
/// max(V̂, V)` when `amsgrad` (else `V̂ = V`), then `w ← w − delta(M, V̂)`.
#[inline(always)]
fn adam_loop<T: Real>(
    w: &mut [T],
    grad: &[T],
    st: &mut OptState<T>,
    amsgrad: bool,
    (b1, b2): (T, T),
    pre: impl Fn(&mut T, T) -> T,
    delta: impl Fn(T, T) -> T,
) {
    let it = w.iter_mut().zip(grad).zip(st.m.iter_mut()).zip(st.v.iter_mut());
    if amsgrad {
        for ((((w, &g), m), v), vm) in it.zip(st.v_max.iter_mut()) {
            let g = pre(w, g);
            moments(b1, b2, m, v, g);
            *vm = vm.max(*v);
            *w -= delta(*m, *vm);
        }
    } else {
        for (((w, &g), m), v) in it {
            let g = pre(w, g);
            moments(b1, b2, m, v, g);
            *w -= delta(*m, *v);
        }
    }
}

fn sign<T: Real>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

impl<T: Real> Optimizer<T> for Optim<T> {
    fn step(&mut self, w: &mut [T], grad: &[T]) -> Result<(), OptimError> {
        if w.len() != grad.len() {
            return Err(OptimError::Length {
                what: "grad",
                expected: w.len(),
                got: grad.len(),
            });
        }
        self.ensure_buffers(w.len())?;
        self.state.t += 1;
        let h = self.hyper;
        let t = self.state.t;
        let c = |v: f64| T::from_f64c(v);
        let lr = c(h.lr);
        let (b1, b2) = (c(h.betas[0]), c(h.betas[1]));
        let eps = c(h.eps);
        let bc1 = 1.0 - h.betas[0].powi(t.min(i32::MAX as u64) as i32);
        let bc2 = 1.0 - h.betas[1].powi(t.min(i32::MAX as u64) as i32);
        let wd = h.weight_decay;
        let lambda = c(wd.lambda());
        let lr_lambda = c(h.lr * wd.lambda());
        let st = &mut self.state;
        match h.rule {
            Rule::Gd => {
                for (w, &g) in w.iter_mut().zip(grad) {
                    let g = decay(wd, lambda, lr_lambda, w, g);
                    *w -= lr * g;
                }
            }
            Rule::SignGd => {
                for (w, &g) in w.iter_mut().zip(grad) {
                    let g = decay(wd, lambda, lr_lambda, w, g);
                    *w -= lr * sign(g);
                }
            }
            Rule::SgdMomentum { momentum, nesterov } => {
                let mu = c(momentum);
                for ((w, &g), b) in w.iter_mut().zip(grad).zip(st.m.iter_mut()) {
                    let g = decay(wd, lambda, lr_lambda, w, g);
                    *b = mu * *b + g;
                    *w -= lr * if nesterov { g + mu * *b } else { *b };
                }
            }
            Rule::AdamSeed => adam_loop(
                w,
                grad,
                st,
                false,
                (b1, b2),
                |w, g| decay(wd, lambda, lr_lambda, w, g),
                |m, v| lr * ratio(m, v.sqrt() + eps),
            ),
            Rule::Adam { amsgrad } => {
                // PyTorch: step_size = lr / bc1; denom = sqrt(V̂)/sqrt(bc2) + eps.
                let step = c(h.lr / bc1);
                let inv_sbc2 = c(1.0 / bc2.sqrt());
                adam_loop(
                    w,
                    grad,
                    st,
                    amsgrad,
                    (b1, b2),
                    |w, g| decay(wd, lambda, lr_lambda, w, g),
                    |m, vh| step * ratio(m, vh.sqrt() * inv_sbc2 + eps),
                )
            }
            Rule::Yogi => {
                let step = c(h.lr * bc2.sqrt() / bc1);
                let one_b2 = T::one() - b2;
                for (((w, &g), m), v) in w.iter_mut().zip(grad).zip(st.m.iter_mut()).zip(st.v.iter_mut()) {
                    let g = decay(wd, lambda, lr_lambda, w, g);
                    *m = b1 * *m + (T::one() - b1) * g;
                    let g2 = g * g;
                    *v -= one_b2 * sign(*v - g2) * g2;
                    *w -= step * ratio(*m, v.sqrt() + eps);
                }
            }
            Rule::AdaBound { final_lr, gamma } => {
                let tf = t as f64;
                let lower = c(final_lr * (1.0 - 1.0 / (gamma * tf + 1.0)));
                let upper = c(final_lr * (1.0 + 1.0 / (gamma * tf)));
                let step = c(h.lr * bc2.sqrt() / bc1);
                adam_loop(
                    w,
                    grad,
                    st,
                    false,
                    (b1, b2),
                    |w, g| decay(wd, lambda, lr_lambda, w, g),
                    |m, v| (step / (v.sqrt() + eps)).max(lower).min(upper) * m,
                )
            }
            Rule::Padam { p, amsgrad } => {
                let step = c(h.lr * bc2.sqrt() / bc1);
                let two_p = c(2.0 * p);
                adam_loop(
                    w,
                    grad,
                    st,
                    amsgrad,
                    (b1, b2),
                    |w, g| decay(wd, lambda, lr_lambda, w, g),
                    |m, vh| step * ratio(m, (vh.sqrt() + eps).powf(two_p)),
                )
            }
        }
        Ok(())
    }

    fn state(&self) -> &OptState<T> {
        &self.state
    }

    fn load_state(&mut self, state: OptState<T>) {
        self.state = state;
    }

    fn hyper(&self) -> &Hyper {
        &self.hyper
    }

    fn name(&self) -> &str {
        &self.name
    }
}

macro_rules! named {
    ($(#[$doc:meta])* $ty:ident, $cfg:ty, $variant:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;
        impl $ty {
            /// Validate `cfg` and build the optimizer in precision `T`.
            #[allow(clippy::new_ret_no_self)]
            pub fn new<T: Real>(cfg: $cfg) -> Result<Optim<T>, OptimError> {
                OptimConfig::$variant(cfg).build()
            }
        }
    };
}

named!(
    /// Gradient descent `W ← W − η g`.
    Gd, GdConfig, Gd);
named!(
    /// SGD with momentum (PyTorch form): `b ← μ b + g; W ← W − η b`.
    SgdMomentum, SgdMomentumConfig, SgdMomentum);
named!(
    /// signGD `W ← W − η sign(g)` (the small-η limit of Adam, \[Z23\]).
    SignGd, GdConfig, SignGd);
named!(
    /// Adam, seed form of the talk (no bias correction): `W ← W − η M/(√V + ε)`.
    AdamSeed, AdamConfig, AdamSeed);
named!(
    /// Adam (Kingma & Ba 2015), PyTorch form: `W ← W − η (M/bc1)/(√(V/bc2) + ε)`.
    Adam, AdamConfig, Adam);
named!(
    /// AMSGrad (Reddi, Kale & Kumar 2018), as `torch.optim.Adam(amsgrad=True)`.
    AmsGrad, AdamConfig, Amsgrad);
named!(
    /// AdamW (Loshchilov & Hutter 2019): `W ← W − ηλW`, then the Adam step.
    AdamW, AdamWConfig, Adamw);
named!(
    /// Yogi (Zaheer et al. 2018): `V ← V − (1−β₂) sign(V − g²) g²`.
    Yogi, YogiConfig, Yogi);
named!(
    /// AdaBound (Luo et al. 2019): Adam's step clipped into `[η_l(t), η_u(t)]`.
    AdaBound, AdaBoundConfig, Adabound);
named!(
    /// Padam (Chen et al. 2020, \[P20\]): `W ← W − η (√bc2/bc1) M/(√V̂ + ε)^{2p}`.
    Padam, PadamConfig, Padam);

#[cfg(test)]
mod tests;
