//! Named constructors, one per optimizer: `Padam::new(PadamConfig { .. })`.

use crate::config::*;
use crate::{Optim, OptimError, Real};

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
named!(
    /// RAdam (Liu et al. 2020): Adam's step rectified by `r_t` once `ρ_t > 5`, momentum SGD before.
    RAdam, RAdamConfig, Radam);
named!(
    /// NAdam (Dozat 2016): Adam with Nesterov momentum and momentum decay `ψ`.
    NAdam, NAdamConfig, Nadam);
named!(
    /// AdaBelief (Zhuang et al. 2020): Adam with the belief `S = EMA((g − M)²) + ε` for `V`.
    AdaBelief, AdaBeliefConfig, Adabelief);
named!(
    /// Lion (Chen et al. 2023): `W ← W − η sign(β₁M + (1−β₁)g)`, then `M ← β₂M + (1−β₂)g`.
    Lion, LionConfig, Lion);
