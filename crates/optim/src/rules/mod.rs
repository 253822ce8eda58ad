//! The update rules: [`Rule`] (each rule's parameters, checks and buffers)
//! and one struct, [`Optim`], assembled from shared pieces (decay, momentum
//! buffer, Adam moments, running max, bias correction); the rules differ only
//! in the few lines where their math differs (`docs/theory.md#optimizers`).
//! A new rule is a [`Rule`] variant here, its arms below, and its config in
//! `config/`. The rules proposed to close Adam's generalization gap (RAdam,
//! NAdam, AdaBelief, Lion) are in [`closing`].

pub mod closing;

use serde::{Deserialize, Serialize};

use crate::hyper::{check_pos, check_unit, invalid};
use crate::{Buffers, Hyper, OptState, OptimError, Optimizer, Real, SavedState, WeightDecay};

/// The rule-specific part of an optimizer (its update, `docs/theory.md#optimizers`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `W ← W − η g`.
    Gd,
    /// `b ← μ b + g`, step `b` (or `g + μ b`).
    SgdMomentum {
        /// `μ_b ∈ [0, 1)`.
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
        /// `final_lr > 0`.
        final_lr: f64,
        /// `γ > 0`.
        gamma: f64,
    },
    /// Padam's partial power.
    Padam {
        /// `p`, finite.
        p: f64,
        /// Running max.
        amsgrad: bool,
    },
    /// RAdam's variance rectification (`torch.optim.RAdam`).
    RAdam,
    /// NAdam's Nesterov momentum with momentum decay (`torch.optim.NAdam`).
    NAdam {
        /// `ψ ≥ 0`, the momentum decay.
        momentum_decay: f64,
    },
    /// AdaBelief's belief `S` in place of `V` (`adabelief-pytorch` 0.2, no rectification).
    AdaBelief {
        /// Running max of `S`.
        amsgrad: bool,
    },
    /// Lion's sign of an interpolated momentum (Chen et al. 2023).
    Lion,
}

impl Rule {
    pub(crate) fn validate(&self) -> Result<(), OptimError> {
        match *self {
            Rule::SgdMomentum { momentum, .. } => check_unit("momentum", momentum),
            Rule::AdaBound { final_lr, gamma } => {
                check_pos("final_lr", final_lr)?;
                check_pos("gamma", gamma)
            }
            Rule::Padam { p, .. } if !p.is_finite() => Err(invalid("p", p, "must be finite")),
            Rule::NAdam { momentum_decay } if !(momentum_decay.is_finite() && momentum_decay >= 0.0) => {
                Err(invalid("momentum_decay", momentum_decay, "must be finite and >= 0"))
            }
            _ => Ok(()),
        }
    }

    /// Whether the rule has an `ε` (the adaptive rules; not GD, SGD with
    /// momentum, signGD or Lion).
    pub fn uses_eps(&self) -> bool {
        !matches!(self, Rule::Gd | Rule::SgdMomentum { .. } | Rule::SignGd | Rule::Lion)
    }

    /// The (empty) buffers the rule keeps; they are sized on the first step.
    pub fn buffers<T>(&self) -> Buffers<T> {
        match *self {
            Rule::Gd | Rule::SignGd => Buffers::None,
            Rule::SgdMomentum { .. } | Rule::Lion => Buffers::Momentum { b: vec![] },
            Rule::AdamSeed | Rule::Yogi | Rule::AdaBound { .. } | Rule::RAdam | Rule::NAdam { .. } => {
                Buffers::Adam { m: vec![], v: vec![] }
            }
            Rule::Adam { amsgrad } | Rule::Padam { amsgrad, .. } | Rule::AdaBelief { amsgrad } => {
                if amsgrad {
                    Buffers::AmsGrad {
                        m: vec![],
                        v: vec![],
                        v_max: vec![],
                    }
                } else {
                    Buffers::Adam { m: vec![], v: vec![] }
                }
            }
        }
    }
}

/// Adam's `(M, V, V_max?)` as slices.
type Moments<'a, T> = (&'a mut [T], &'a mut [T], Option<&'a mut [T]>);

/// The single optimizer implementation (see the crate docs for each rule).
/// Built only from a validated [`Hyper`] (through [`crate::OptimConfig::build`]
/// or [`Optim::new`]).
#[derive(Debug, Clone)]
pub struct Optim<T> {
    name: String,
    hyper: Hyper,
    state: OptState<T>,
    /// NAdam's `Π_t = μ₁···μ_t`, a function of `t` alone: kept up to date by
    /// each step and recomputed (in the same order, so bit-identically) when
    /// a state is loaded, so that it is never part of a state that could
    /// disagree with `t`.
    mu_product: f64,
}

impl<T: Real> Optim<T> {
    /// An optimizer from checked hyperparameters, with a fresh state.
    pub fn new(name: &str, hyper: Hyper) -> Self {
        Optim {
            name: name.to_string(),
            hyper,
            state: OptState::new(hyper.rule()),
            mu_product: 1.0,
        }
    }

    /// Size the buffers on the first step; afterwards check their length.
    fn ensure_buffers(&mut self, len: usize) -> Result<(), OptimError> {
        let v0 = T::from_f64c(self.hyper.v0());
        let fresh = self.state.t == 0;
        let size = |buf: &mut Vec<T>, what: &'static str, init: T| {
            if buf.is_empty() && fresh {
                buf.resize(len, init);
                Ok(())
            } else if buf.len() != len {
                Err(OptimError::Length {
                    what,
                    expected: len,
                    got: buf.len(),
                })
            } else {
                Ok(())
            }
        };
        match &mut self.state.buffers {
            Buffers::None => Ok(()),
            Buffers::Momentum { b } => size(b, "state.b", T::zero()),
            Buffers::Adam { m, v } => {
                size(m, "state.m", T::zero())?;
                size(v, "state.v", v0)
            }
            Buffers::AmsGrad { m, v, v_max } => {
                size(m, "state.m", T::zero())?;
                size(v, "state.v", v0)?;
                size(v_max, "state.v_max", T::zero())
            }
        }
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
/// max(V̂, V)` when there is a running max (else `V̂ = V`), then `w ← w − delta(M, V̂)`.
#[inline(always)]
fn adam_loop<T: Real>(
    w: &mut [T],
    grad: &[T],
    (m, v, v_max): Moments<'_, T>,
    (b1, b2): (T, T),
    pre: impl Fn(&mut T, T) -> T,
    delta: impl Fn(T, T) -> T,
) {
    let it = w.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut());
    if let Some(v_max) = v_max {
        for ((((w, &g), m), v), vm) in it.zip(v_max.iter_mut()) {
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

impl<T: Real> Optim<T> {
    /// [`Optim::update`] compiled for AVX2 (see [`gengap_model::simd`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn update_avx2(&mut self, w: &mut [T], grad: &[T]) {
        self.update(w, grad);
    }

    /// The update of step `t = self.state.t` (already advanced; buffers
    /// already sized), one pass over the coordinates.
    #[inline(always)]
    fn update(&mut self, w: &mut [T], grad: &[T]) {
        let h = self.hyper;
        let t = self.state.t;
        let c = |v: f64| T::from_f64c(v);
        let (hlr, betas) = (h.lr(), h.betas());
        let lr = c(hlr);
        let (b1, b2) = (c(betas[0]), c(betas[1]));
        let eps = c(h.eps());
        let bc1 = 1.0 - betas[0].powi(t.min(i32::MAX as u64) as i32);
        let bc2 = 1.0 - betas[1].powi(t.min(i32::MAX as u64) as i32);
        let wd = h.weight_decay();
        let lambda = c(wd.lambda());
        let lr_lambda = c(hlr * wd.lambda());
        // The buffers of the rule's family (their shape is checked by
        // `ensure_buffers`): momentum `b`, or `(M, V, V_max?)`.
        let (mom, mv): (&mut [T], Moments<'_, T>) = match &mut self.state.buffers {
            Buffers::None => (&mut [], (&mut [], &mut [], None)),
            Buffers::Momentum { b } => (b, (&mut [], &mut [], None)),
            Buffers::Adam { m, v } => (&mut [], (m, v, None)),
            Buffers::AmsGrad { m, v, v_max } => (&mut [], (m, v, Some(v_max))),
        };
        match h.rule() {
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
                for ((w, &g), b) in w.iter_mut().zip(grad).zip(mom.iter_mut()) {
                    let g = decay(wd, lambda, lr_lambda, w, g);
                    *b = mu * *b + g;
                    *w -= lr * if nesterov { g + mu * *b } else { *b };
                }
            }
            Rule::AdamSeed => adam_loop(
                w,
                grad,
                mv,
                (b1, b2),
                |w, g| decay(wd, lambda, lr_lambda, w, g),
                |m, v| lr * ratio(m, v.sqrt() + eps),
            ),
            Rule::Adam { .. } => {
                // PyTorch: step_size = lr / bc1; denom = sqrt(V̂)/sqrt(bc2) + eps.
                let step = c(hlr / bc1);
                let inv_sbc2 = c(1.0 / bc2.sqrt());
                adam_loop(
                    w,
                    grad,
                    mv,
                    (b1, b2),
                    |w, g| decay(wd, lambda, lr_lambda, w, g),
                    |m, vh| step * ratio(m, vh.sqrt() * inv_sbc2 + eps),
                )
            }
            Rule::Yogi => {
                let step = c(hlr * bc2.sqrt() / bc1);
                let one_b2 = T::one() - b2;
                let (m, v, _) = mv;
                for (((w, &g), m), v) in w.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
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
                let step = c(hlr * bc2.sqrt() / bc1);
                adam_loop(
                    w,
                    grad,
                    mv,
                    (b1, b2),
                    |w, g| decay(wd, lambda, lr_lambda, w, g),
                    |m, v| (step / (v.sqrt() + eps)).max(lower).min(upper) * m,
                )
            }
            Rule::Padam { p, .. } => {
                let step = c(hlr * bc2.sqrt() / bc1);
                let two_p = c(2.0 * p);
                adam_loop(
                    w,
                    grad,
                    mv,
                    (b1, b2),
                    |w, g| decay(wd, lambda, lr_lambda, w, g),
                    |m, vh| step * ratio(m, (vh.sqrt() + eps).powf(two_p)),
                )
            }
            Rule::RAdam => {
                let pre = |w: &mut T, g: T| decay(wd, lambda, lr_lambda, w, g);
                closing::radam(w, grad, mv, (betas, h.eps(), hlr), t, pre);
            }
            Rule::NAdam { momentum_decay } => {
                let pre = |w: &mut T, g: T| decay(wd, lambda, lr_lambda, w, g);
                let (mu, mu_next) = (
                    closing::nadam_mu(betas[0], momentum_decay, t),
                    closing::nadam_mu(betas[0], momentum_decay, t + 1),
                );
                self.mu_product *= mu;
                closing::nadam(
                    w,
                    grad,
                    mv,
                    (betas, h.eps(), hlr),
                    (mu, mu_next, self.mu_product),
                    bc2,
                    pre,
                );
            }
            Rule::AdaBelief { .. } => {
                let pre = |w: &mut T, g: T| decay(wd, lambda, lr_lambda, w, g);
                closing::adabelief(w, grad, mv, (b1, b2, eps), (hlr / bc1, bc2), pre);
            }
            Rule::Lion => {
                let pre = |w: &mut T, g: T| decay(wd, lambda, lr_lambda, w, g);
                closing::lion(w, grad, mom, (b1, b2, lr), pre);
            }
        }
    }
}

impl<T: Real> Optim<T> {
    /// The current state.
    pub fn state(&self) -> &OptState<T> {
        &self.state
    }

    /// Replace the state, after checking that it fits this rule (see
    /// [`OptState::check`]); on an error the state is unchanged.
    pub fn load_state(&mut self, state: OptState<T>) -> Result<(), OptimError> {
        state.check(self.hyper.rule())?;
        if let Rule::NAdam { momentum_decay } = self.hyper.rule() {
            self.mu_product = closing::nadam_mu_product(self.hyper.betas()[0], momentum_decay, state.t);
        }
        self.state = state;
        Ok(())
    }

    /// The validated hyperparameters.
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }
}

impl<T: Real> Optimizer<T> for Optim<T> {
    fn name(&self) -> &str {
        &self.name
    }

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
        #[cfg(target_arch = "x86_64")]
        if gengap_model::simd::avx2() {
            // SAFETY: the CPU runs AVX2 (checked by `avx2`).
            #[allow(unsafe_code)]
            unsafe {
                self.update_avx2(w, grad)
            };
            return Ok(());
        }
        self.update(w, grad);
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.hyper.lr()
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        self.hyper = self.hyper.with_lr(lr)?;
        Ok(())
    }

    fn eps(&self) -> Option<f64> {
        self.hyper.rule().uses_eps().then(|| self.hyper.eps())
    }

    fn set_eps(&mut self, eps: f64) -> Result<(), OptimError> {
        self.hyper = self.hyper.with_eps(eps)?;
        Ok(())
    }

    fn save_state(&self) -> Result<SavedState, OptimError> {
        SavedState::new(&self.name, &self.state)
    }

    fn restore_state(&mut self, saved: &SavedState) -> Result<(), OptimError> {
        let state = saved.read::<OptState<T>>(&self.name)?;
        self.load_state(state)
    }
}
