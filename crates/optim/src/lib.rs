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
//! | `radam` | Adam's moments; `ρ_t = ρ_∞ − 2tβ₂ᵗ/bc2`, `ρ_∞ = 2/(1−β₂) − 1`; if `ρ_t > 5`: `W ← W − η r_t (M/bc1) √bc2/(√V + ε)`, `r_t = √((ρ_t−4)(ρ_t−2)ρ_∞/((ρ_∞−4)(ρ_∞−2)ρ_t))`; else `W ← W − η M/bc1` | Liu et al. 2020 (`torch.optim.RAdam`) |
//! | `nadam` | Adam's moments; `μ_t = β₁(1 − ½·0.96^{tψ})`, `Π_t = μ₁···μ_t`, `D = √(V/bc2) + ε`; `W ← W − η(1−μ_t)/(1−Π_t)·g/D − η μ_{t+1}/(1−Π_t μ_{t+1})·M/D` | Dozat 2016 (`torch.optim.NAdam`) |
//! | `adabelief` | `M ← β₁M + (1−β₁)g`; `S ← β₂S + (1−β₂)(g−M)² + ε` (stored); `W ← W − (η/bc1) M/(√Ŝ/√bc2 + ε)`, `Ŝ = max(S_max, S)` if amsgrad | Zhuang et al. 2020 (`adabelief-pytorch` 0.2) |
//! | `lion` | `W ← W − ηλW`; `W ← W − η sign(β₁M + (1−β₁)g)`; then `M ← β₂M + (1−β₂)g` | Chen et al. 2023 |
//!
//! Weight decay ([`WeightDecay`]) is a separate piece that any optimizer
//! takes: **L2** (coupled, `g ← g + λW`, the objective `L + (λ/2)‖W‖²`, \[Z23\]'s
//! "proper regularization") or **decoupled** (`W ← W − ηλW` before the step,
//! as in AdamW).
//!
//! All optimizers are one struct, [`Optim`], assembled from shared pieces
//! (decay, momentum buffer, Adam moments, running max, bias correction); the
//! rules differ only in the few lines where their math differs. An [`Optim`]
//! exists only with validated hyper-parameters ([`Hyper`] has private fields
//! and one checked constructor); its state ([`OptState`]) has one shape per
//! rule family ([`Buffers`]), is serde-serializable, is checked when loaded,
//! and a restored state continues bit-identically.
//!
//! Each step is one pass over the coordinates, allocating nothing. On CPUs
//! with AVX2 the pass runs in a copy of the same code compiled for AVX2
//! ([`gengap_model::simd`]); it performs the same operations in the same
//! order, so the results are bit-identical either way.
//!
//! Modules: [`config`] (the TOML configs, [`OptimConfig`], short
//! constructors), [`hyper`] (validated hyper-parameters, [`WeightDecay`]),
//! [`state`] (per-rule state), [`rules`] ([`Rule`] and the updates).
//!
//! ```
//! use gengap_optim::{OptimConfig, Optimizer};
//! let mut adam = OptimConfig::adam(1e-3).build::<f64>().unwrap();
//! let mut w = vec![0.5, -0.5];
//! adam.step(&mut w, &[1.0, -2.0]).unwrap();
//! // Adam's first step moves every coordinate by ≈ η, whatever the gradient's size.
//! assert!((w[0] - (0.5 - 1e-3)).abs() < 1e-9 && (w[1] - (-0.5 + 1e-3)).abs() < 1e-9);
//! // An invalid optimizer cannot be built.
//! assert!(OptimConfig::adam(f64::NAN).build::<f64>().is_err());
//! ```

pub mod config;
pub mod hyper;
pub mod optimizer;
pub mod rules;
pub mod state;

pub use config::named::*;
pub use config::*;
pub use gengap_model::Real;
pub use hyper::{Hyper, WeightDecay};
pub use optimizer::{OptimChoice, Optimizer, OptimizerSpec, SavedState};
pub use rules::{Optim, Rule};
pub use state::{BufferName, Buffers, OptState};

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
    /// A state that cannot belong to this optimizer (wrong buffer family,
    /// `t` inconsistent with the buffers, a negative second moment).
    #[error("optimizer state does not fit: {reason}")]
    State {
        /// Why.
        reason: String,
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
    /// An error of code outside gengap: a downstream optimizer (see [`gengap_model::Foreign`]).
    #[error(transparent)]
    Other(#[from] gengap_model::Foreign),
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_closing;
#[cfg(test)]
mod tests_simd;
