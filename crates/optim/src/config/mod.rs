//! Optimizer configs: one struct per rule family, the [`OptimConfig`] enum
//! selected by `name = "…"` in a TOML table (unknown keys rejected), short
//! constructors and `Default`s with the documented defaults.
//!
//! Adding a built-in optimizer touches three places:
//! 1. `config/`: its config struct (here or in [`closing`], with a
//!    [`RuleConfig`] impl and a `Default`) and one entry of the
//!    `optimizers!` list below, which gives it its variant of
//!    [`OptimConfig`], its `name`, its named constructor ([`named`]) and its
//!    resolution into [`Hyper`];
//! 2. `rules/`: its [`Rule`] variant, in the same `impl` its buffer family
//!    and parameter checks, and its lines of the update (compiled once
//!    plainly and once for AVX2 from the same code);
//! 3. the table of the crate docs (`lib.rs`) and `docs/theory.md#optimizers`.
//!
//! The crate root re-exports the config module and the named constructors
//! whole, and the Python package reads [`OptimConfig`], so nothing else
//! names it.

use serde::{Deserialize, Serialize};

pub mod closing;
pub use closing::{AdaBeliefConfig, LionConfig, NAdamConfig, RAdamConfig};

use crate::{Hyper, Optim, OptimError, Real, Rule, WeightDecay};

/// Where a config keeps its learning rate and weight decay: the only place
/// [`OptimConfig::lr`], [`OptimConfig::with_lr`] and
/// [`OptimConfig::with_weight_decay`] read or write them.
#[derive(Debug)]
pub struct Knobs<'a> {
    /// `η`.
    pub lr: &'a mut f64,
    /// The decay: any kind, or (AdamW) the `λ` of its built-in decoupled decay.
    pub decay: DecayKnob<'a>,
}

/// See [`Knobs::decay`].
#[derive(Debug)]
pub enum DecayKnob<'a> {
    /// A [`WeightDecay`] of either kind.
    Any(&'a mut WeightDecay),
    /// The `λ` of a decay that is decoupled by definition (AdamW).
    Decoupled(&'a mut f64),
}

/// What every config struct provides.
pub trait RuleConfig {
    /// Its learning rate and weight decay.
    fn knobs(&mut self) -> Knobs<'_>;
}

macro_rules! knobs_impl {
    ($($t:ty),*) => {$(
        impl RuleConfig for $t {
            fn knobs(&mut self) -> Knobs<'_> {
                Knobs { lr: &mut self.lr, decay: DecayKnob::Any(&mut self.weight_decay) }
            }
        }
    )*};
}

pub(crate) fn betas_default() -> [f64; 2] {
    [0.9, 0.999]
}
pub(crate) fn eps_default() -> f64 {
    1e-8
}
pub(crate) fn lr_adam() -> f64 {
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

use knobs_impl as knobs;

knobs!(
    GdConfig,
    SgdMomentumConfig,
    AdamConfig,
    YogiConfig,
    AdaBoundConfig,
    PadamConfig
);

impl RuleConfig for AdamWConfig {
    fn knobs(&mut self) -> Knobs<'_> {
        Knobs {
            lr: &mut self.lr,
            decay: DecayKnob::Decoupled(&mut self.weight_decay),
        }
    }
}

impl Default for AdamConfig {
    /// `η = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-8`, no decay.
    fn default() -> Self {
        AdamConfig {
            lr: lr_adam(),
            betas: betas_default(),
            eps: eps_default(),
            weight_decay: WeightDecay::None,
        }
    }
}

impl Default for AdamWConfig {
    /// `η = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-8`, `λ = 1e-2`.
    fn default() -> Self {
        AdamWConfig {
            lr: lr_adam(),
            betas: betas_default(),
            eps: eps_default(),
            weight_decay: adamw_wd(),
        }
    }
}

impl Default for YogiConfig {
    /// `η = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-3`, `V₀ = 1e-6`, no decay.
    fn default() -> Self {
        YogiConfig {
            lr: lr_adam(),
            betas: betas_default(),
            eps: yogi_eps(),
            v0: yogi_v0(),
            weight_decay: WeightDecay::None,
        }
    }
}

impl Default for AdaBoundConfig {
    /// `η = 1e-3`, `β = (0.9, 0.999)`, `ε = 1e-8`, `final_lr = 0.1`, `γ = 1e-3`, no decay.
    fn default() -> Self {
        AdaBoundConfig {
            lr: lr_adam(),
            betas: betas_default(),
            eps: eps_default(),
            final_lr: final_lr_default(),
            gamma: gamma_default(),
            weight_decay: WeightDecay::None,
        }
    }
}

impl Default for PadamConfig {
    /// The paper's: `η = 0.1`, `β = (0.9, 0.999)`, `ε = 1e-8`, `p = 1/8`,
    /// running max on, no decay.
    fn default() -> Self {
        PadamConfig {
            lr: lr_padam(),
            betas: betas_default(),
            eps: eps_default(),
            p: padam_p(),
            amsgrad: true,
            weight_decay: WeightDecay::None,
        }
    }
}

fn hyper(lr: f64, betas: [f64; 2], eps: f64, v0: f64, wd: WeightDecay, rule: Rule) -> Result<Hyper, OptimError> {
    Hyper::new(lr, betas, eps, v0, wd, rule)
}

fn plain(lr: f64, wd: WeightDecay, rule: Rule) -> Result<Hyper, OptimError> {
    hyper(lr, [0.0, 0.0], 0.0, 0.0, wd, rule)
}

fn adam_like(c: &AdamConfig, rule: Rule) -> Result<Hyper, OptimError> {
    hyper(c.lr, c.betas, c.eps, 0.0, c.weight_decay, rule)
}

/// The list of optimizers: `Variant(Config) = "name" | "alias"… => |config| its Hyper`.
/// It generates [`OptimConfig`] (one variant per entry, read and written
/// under its `name`), its dispatch, [`OptimConfig::NAMES`] and the named
/// constructors of [`crate::named`] (`Padam::new(PadamConfig { .. })`), so
/// each optimizer is named once, and with one spelling: the variant, the
/// named constructor and (by convention) its config struct and [`Rule`]
/// variant share the identifier.
macro_rules! optimizers {
    ($( $(#[doc = $doc:literal])* $variant:ident($cfg:ty) = $name:literal $(| $alias:literal)* => $resolve:expr ),* $(,)?) => {
        /// Any optimizer, selected by `name = "…"` in a TOML table; unknown keys are rejected.
        ///
        /// ```
        /// use gengap_optim::{OptimConfig, Optimizer};
        /// let cfg: OptimConfig = toml::from_str("name = \"padam\"\nlr = 0.05\np = 0.25").unwrap();
        /// assert_eq!(cfg, OptimConfig::padam(0.05, 0.25));
        /// let mut opt = cfg.build::<f64>().unwrap();
        /// let mut w = vec![1.0, -1.0];
        /// opt.step(&mut w, &[0.5, -0.5]).unwrap();
        /// assert!(w[0] < 1.0 && w[1] > -1.0);
        /// ```
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "name")]
        pub enum OptimConfig {
            $( $(#[doc = $doc])* #[serde(rename = $name $(, alias = $alias)*)] $variant($cfg), )*
        }

        impl OptimConfig {
            /// Every built-in optimizer's `name` (its aliases aside).
            pub const NAMES: &[&str] = &[$( $name ),*];

            /// The config's `name`.
            pub fn name(&self) -> &'static str {
                match self { $( OptimConfig::$variant(_) => $name, )* }
            }

            /// Its learning rate and weight decay (the one place they are kept).
            pub fn knobs(&mut self) -> Knobs<'_> {
                match self { $( OptimConfig::$variant(c) => c.knobs(), )* }
            }

            /// Validate and flatten into [`Hyper`].
            pub fn resolve(&self) -> Result<Hyper, OptimError> {
                match self { $( OptimConfig::$variant(c) => ($resolve)(c), )* }
            }
        }

        /// Named constructors, one per optimizer: `Padam::new(PadamConfig { .. })`
        /// validates the config and builds the optimizer in precision `T`.
        pub mod named {
            use super::*;
            $(
                $(#[doc = $doc])*
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;
                impl $variant {
                    /// Validate `cfg` and build the optimizer in precision `T`.
                    #[allow(clippy::new_ret_no_self)]
                    pub fn new<T: Real>(cfg: $cfg) -> Result<Optim<T>, OptimError> {
                        OptimConfig::$variant(cfg).build()
                    }
                }
            )*
        }
    };
}

optimizers! {
    /// Gradient descent `W ← W − η g`.
    Gd(GdConfig) = "gd" => |c: &GdConfig| plain(c.lr, c.weight_decay, Rule::Gd),
    /// SGD with momentum (PyTorch form): `b ← μ b + g; W ← W − η b`.
    SgdMomentum(SgdMomentumConfig) = "sgd_momentum" | "sgdm" => |c: &SgdMomentumConfig| plain(
        c.lr,
        c.weight_decay,
        Rule::SgdMomentum { momentum: c.momentum, nesterov: c.nesterov },
    ),
    /// signGD `W ← W − η sign(g)` (the small-η limit of Adam, \[Z23\]).
    SignGd(GdConfig) = "sign_gd" => |c: &GdConfig| plain(c.lr, c.weight_decay, Rule::SignGd),
    /// Adam, seed form of the talk (no bias correction): `W ← W − η M/(√V + ε)`.
    AdamSeed(AdamConfig) = "adam_seed" => |c: &AdamConfig| adam_like(c, Rule::AdamSeed),
    /// Adam (Kingma & Ba 2015), PyTorch form: `W ← W − η (M/bc1)/(√(V/bc2) + ε)`.
    Adam(AdamConfig) = "adam" => |c: &AdamConfig| adam_like(c, Rule::Adam { amsgrad: false }),
    /// AMSGrad (Reddi, Kale & Kumar 2018), as `torch.optim.Adam(amsgrad=True)`.
    AmsGrad(AdamConfig) = "amsgrad" => |c: &AdamConfig| adam_like(c, Rule::Adam { amsgrad: true }),
    /// AdamW (Loshchilov & Hutter 2019): `W ← W − ηλW`, then the Adam step.
    AdamW(AdamWConfig) = "adamw" => |c: &AdamWConfig| hyper(
        c.lr,
        c.betas,
        c.eps,
        0.0,
        WeightDecay::Decoupled { lambda: c.weight_decay },
        Rule::Adam { amsgrad: false },
    ),
    /// Yogi (Zaheer et al. 2018): `V ← V − (1−β₂) sign(V − g²) g²`.
    Yogi(YogiConfig) = "yogi" => |c: &YogiConfig| hyper(c.lr, c.betas, c.eps, c.v0, c.weight_decay, Rule::Yogi),
    /// AdaBound (Luo et al. 2019): Adam's step clipped into `[η_l(t), η_u(t)]`.
    AdaBound(AdaBoundConfig) = "adabound" => |c: &AdaBoundConfig| hyper(
        c.lr,
        c.betas,
        c.eps,
        0.0,
        c.weight_decay,
        Rule::AdaBound { final_lr: c.final_lr, gamma: c.gamma },
    ),
    /// Padam (Chen et al. 2020, \[P20\]): `W ← W − η (√bc2/bc1) M/(√V̂ + ε)^{2p}`.
    Padam(PadamConfig) = "padam" => |c: &PadamConfig| hyper(
        c.lr,
        c.betas,
        c.eps,
        0.0,
        c.weight_decay,
        Rule::Padam { p: c.p, amsgrad: c.amsgrad },
    ),
    /// RAdam (Liu et al. 2020): Adam's step rectified by `r_t` once `ρ_t > 5`, momentum SGD before.
    RAdam(RAdamConfig) = "radam" => |c: &RAdamConfig| hyper(c.lr, c.betas, c.eps, 0.0, c.weight_decay, Rule::RAdam),
    /// NAdam (Dozat 2016): Adam with Nesterov momentum and momentum decay `ψ`.
    NAdam(NAdamConfig) = "nadam" => |c: &NAdamConfig| hyper(
        c.lr,
        c.betas,
        c.eps,
        0.0,
        c.weight_decay,
        Rule::NAdam { momentum_decay: c.momentum_decay },
    ),
    /// AdaBelief (Zhuang et al. 2020): Adam with the belief `S = EMA((g − M)²) + ε` for `V`.
    AdaBelief(AdaBeliefConfig) = "adabelief" => |c: &AdaBeliefConfig| hyper(
        c.lr,
        c.betas,
        c.eps,
        0.0,
        c.weight_decay,
        Rule::AdaBelief { amsgrad: c.amsgrad },
    ),
    /// Lion (Chen et al. 2023): `W ← W − η sign(β₁M + (1−β₁)g)`, then `M ← β₂M + (1−β₂)g`.
    Lion(LionConfig) = "lion" => |c: &LionConfig| hyper(
        c.lr,
        c.betas,
        0.0,
        0.0,
        WeightDecay::Decoupled { lambda: c.weight_decay },
        Rule::Lion,
    ),
}

impl OptimConfig {
    /// Gradient descent with step `lr`.
    pub fn gd(lr: f64) -> Self {
        OptimConfig::Gd(GdConfig {
            lr,
            weight_decay: WeightDecay::None,
        })
    }

    /// signGD with step `lr`.
    pub fn sign_gd(lr: f64) -> Self {
        OptimConfig::SignGd(GdConfig {
            lr,
            weight_decay: WeightDecay::None,
        })
    }

    /// SGD with momentum `momentum` (PyTorch form, not Nesterov).
    pub fn sgd_momentum(lr: f64, momentum: f64) -> Self {
        OptimConfig::SgdMomentum(SgdMomentumConfig {
            lr,
            momentum,
            nesterov: false,
            weight_decay: WeightDecay::None,
        })
    }

    /// Adam (PyTorch form) with the default `β`, `ε`.
    pub fn adam(lr: f64) -> Self {
        OptimConfig::Adam(AdamConfig {
            lr,
            ..Default::default()
        })
    }

    /// Adam in the talk's seed form (no bias correction).
    pub fn adam_seed(lr: f64) -> Self {
        OptimConfig::AdamSeed(AdamConfig {
            lr,
            ..Default::default()
        })
    }

    /// AMSGrad with the default `β`, `ε`.
    pub fn amsgrad(lr: f64) -> Self {
        OptimConfig::AmsGrad(AdamConfig {
            lr,
            ..Default::default()
        })
    }

    /// AdamW with decoupled decay `lambda`.
    pub fn adamw(lr: f64, lambda: f64) -> Self {
        OptimConfig::AdamW(AdamWConfig {
            lr,
            weight_decay: lambda,
            ..Default::default()
        })
    }

    /// Yogi with the default `β`, `ε`, `V₀`.
    pub fn yogi(lr: f64) -> Self {
        OptimConfig::Yogi(YogiConfig {
            lr,
            ..Default::default()
        })
    }

    /// AdaBound with bounds converging to `final_lr`.
    pub fn adabound(lr: f64, final_lr: f64) -> Self {
        OptimConfig::AdaBound(AdaBoundConfig {
            lr,
            final_lr,
            ..Default::default()
        })
    }

    /// Padam with exponent `p` (running max on, default `β`, `ε`).
    pub fn padam(lr: f64, p: f64) -> Self {
        OptimConfig::Padam(PadamConfig {
            lr,
            p,
            ..Default::default()
        })
    }

    /// The learning rate `η`.
    pub fn lr(&self) -> f64 {
        *self.clone().knobs().lr
    }

    /// The same optimizer with learning rate `lr`.
    pub fn with_lr(&self, lr: f64) -> OptimConfig {
        let mut c = self.clone();
        *c.knobs().lr = lr;
        c
    }

    /// The same optimizer with its weight decay replaced by `wd` (for AdamW,
    /// whose decay is decoupled by definition, `λ` of `wd` is its decoupled decay).
    pub fn with_weight_decay(&self, wd: WeightDecay) -> OptimConfig {
        let mut c = self.clone();
        match c.knobs().decay {
            DecayKnob::Any(d) => *d = wd,
            DecayKnob::Decoupled(l) => *l = wd.lambda(),
        }
        c
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

    /// Validate, then build the optimizer in precision `T`.
    pub fn build<T: Real>(&self) -> Result<Optim<T>, OptimError> {
        Ok(Optim::new(self.name(), self.resolve()?))
    }
}
