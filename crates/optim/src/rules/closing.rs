//! The updates of the optimizers proposed to train like Adam and generalize
//! like SGD (`docs/theory.md#optimizers`): RAdam, NAdam, AdaBelief and Lion.
//! Each function is one rule's loop over the coordinates, with `pre` the
//! weight-decay piece (`g ← g + λw`, or `w ← w − ηλw` before the step).

use super::{Moments, moments, ratio, sign};
use crate::Real;

/// RAdam (Liu et al. 2020, in the form of `torch.optim.RAdam`): Adam's
/// moments, `M̂ = M/(1−β₁ᵗ)`, `ρ_∞ = 2/(1−β₂) − 1`,
/// `ρ_t = ρ_∞ − 2tβ₂ᵗ/(1−β₂ᵗ)`; if `ρ_t > 5`,
/// `W ← W − η·M̂·r_t·√(1−β₂ᵗ)/(√V + ε)` with
/// `r_t = √((ρ_t−4)(ρ_t−2)ρ_∞ / ((ρ_∞−4)(ρ_∞−2)ρ_t))`; else `W ← W − η·M̂`
/// (un-adapted momentum while the variance estimate is unreliable).
#[inline(always)]
pub(super) fn radam<T: Real>(
    w: &mut [T],
    grad: &[T],
    (m, v, _): Moments<'_, T>,
    (betas, eps, lr): ([f64; 2], f64, f64),
    t: u64,
    pre: impl Fn(&mut T, T) -> T,
) {
    let c = |x: f64| T::from_f64c(x);
    let (b1, b2) = (c(betas[0]), c(betas[1]));
    let ti = t.min(i32::MAX as u64) as i32;
    let bc1 = 1.0 - betas[0].powi(ti);
    let b2t = betas[1].powi(ti);
    let bc2 = 1.0 - b2t;
    let rho_inf = 2.0 / (1.0 - betas[1]) - 1.0;
    let rho_t = rho_inf - 2.0 * t as f64 * b2t / bc2;
    let it = w.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut());
    if rho_t > 5.0 {
        let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt();
        let step = c(lr * rect * bc2.sqrt() / bc1);
        let eps = c(eps);
        for (((w, &g), m), v) in it {
            let g = pre(w, g);
            moments(b1, b2, m, v, g);
            *w -= step * ratio(*m, v.sqrt() + eps);
        }
    } else {
        let step = c(lr / bc1);
        for (((w, &g), m), v) in it {
            let g = pre(w, g);
            moments(b1, b2, m, v, g);
            *w -= step * *m;
        }
    }
}

/// NAdam's momentum coefficient `μ_t = β₁(1 − ½·0.96^{tψ})` (Dozat 2016, as in
/// `torch.optim.NAdam`).
pub(super) fn nadam_mu(b1: f64, psi: f64, t: u64) -> f64 {
    b1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * psi))
}

/// `Π_t = μ₁···μ_t`, multiplied in step order (as the steps accumulate it).
pub(super) fn nadam_mu_product(b1: f64, psi: f64, t: u64) -> f64 {
    (1..=t).fold(1.0, |p, i| p * nadam_mu(b1, psi, i))
}

/// NAdam (`torch.optim.NAdam`): Adam's moments, `D = √(V/(1−β₂ᵗ)) + ε`,
/// `W ← W − η(1−μ_t)/(1−Π_t)·g/D − η·μ_{t+1}/(1−Π_t·μ_{t+1})·M/D`.
#[inline(always)]
pub(super) fn nadam<T: Real>(
    w: &mut [T],
    grad: &[T],
    (m, v, _): Moments<'_, T>,
    (betas, eps, lr): ([f64; 2], f64, f64),
    (mu, mu_next, mu_product): (f64, f64, f64),
    bc2: f64,
    pre: impl Fn(&mut T, T) -> T,
) {
    let c = |x: f64| T::from_f64c(x);
    let (b1, b2) = (c(betas[0]), c(betas[1]));
    let (eps, inv_bc2) = (c(eps), c(1.0 / bc2));
    let coef_g = c(lr * (1.0 - mu) / (1.0 - mu_product));
    let coef_m = c(lr * mu_next / (1.0 - mu_product * mu_next));
    for (((w, &g), m), v) in w.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = pre(w, g);
        moments(b1, b2, m, v, g);
        let d = (*v * inv_bc2).sqrt() + eps;
        *w -= coef_g * ratio(g, d) + coef_m * ratio(*m, d);
    }
}

/// AdaBelief (Zhuang et al. 2020, as `adabelief-pytorch` 0.2 with
/// `rectify = False`): `M ← β₁M + (1−β₁)g`, `S ← β₂S + (1−β₂)(g − M)²`, then
/// `S ← S + ε` (kept in the state, as the package does), with AMSGrad
/// `S_max ← max(S_max, S)`; `D = √Ŝ/√(1−β₂ᵗ) + ε`; `W ← W − (η/(1−β₁ᵗ))·M/D`.
#[inline(always)]
pub(super) fn adabelief<T: Real>(
    w: &mut [T],
    grad: &[T],
    (m, s, s_max): Moments<'_, T>,
    (b1, b2, eps): (T, T, T),
    (step, bc2): (f64, f64),
    pre: impl Fn(&mut T, T) -> T,
) {
    let step = T::from_f64c(step);
    let inv_sbc2 = T::from_f64c(1.0 / bc2.sqrt());
    let one = T::one();
    let it = w.iter_mut().zip(grad).zip(m.iter_mut()).zip(s.iter_mut());
    let belief = |m: &mut T, s: &mut T, g: T| {
        *m = b1 * *m + (one - b1) * g;
        let r = g - *m;
        *s = b2 * *s + (one - b2) * r * r + eps;
    };
    match s_max {
        Some(s_max) => {
            for ((((w, &g), m), s), sm) in it.zip(s_max.iter_mut()) {
                let g = pre(w, g);
                belief(m, s, g);
                *sm = sm.max(*s);
                *w -= step * ratio(*m, sm.sqrt() * inv_sbc2 + eps);
            }
        }
        None => {
            for (((w, &g), m), s) in it {
                let g = pre(w, g);
                belief(m, s, g);
                *w -= step * ratio(*m, s.sqrt() * inv_sbc2 + eps);
            }
        }
    }
}

/// Lion (Chen et al. 2023, Algorithm 2): `c = β₁M + (1−β₁)g`, `W ← W − η·sign(c)`
/// (after the decoupled decay `W ← W − ηλW`), then `M ← β₂M + (1−β₂)g`; `sign(0) = 0`.
#[inline(always)]
pub(super) fn lion<T: Real>(
    w: &mut [T],
    grad: &[T],
    m: &mut [T],
    (b1, b2, lr): (T, T, T),
    pre: impl Fn(&mut T, T) -> T,
) {
    let one = T::one();
    for ((w, &g), m) in w.iter_mut().zip(grad).zip(m.iter_mut()) {
        let g = pre(w, g);
        let c = b1 * *m + (one - b1) * g;
        *w -= lr * sign(c);
        *m = b2 * *m + (one - b2) * g;
    }
}
