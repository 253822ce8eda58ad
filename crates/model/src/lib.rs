//! # gengap-model — the two-layer CNN with a fixed second layer
//!
//! The network of Cao et al. (NeurIPS 2022, \[C22\]) and Zou et al. (ICLR 2023,
//! \[Z23\]), `docs/theory.md#the-network`. Weights `W ∈ ℝ^{2×m×d}` hold filters `w_{j,r}` for
//! `j ∈ {+1, −1}`, `r = 1..m`; the second layer is fixed:
//!
//! ```text
//! F_j(W, x) = s_m · Σ_{r=1..m} Σ_{p=1..P} σ(⟨w_{j,r}, x⁽ᵖ⁾⟩),   f(W, x) = F_{+1}(W, x) − F_{−1}(W, x)
//! ```
//!
//! with `s_m = 1/m` (\[C22\], default) or `1` (\[Z23\]'s restatement), and the
//! activations of [`Activation`]. The training loss is
//! `L_S(W) = (1/n) Σ_i ℓ(y_i f(W, x_i))` with the logistic loss
//! `ℓ(z) = log(1 + e^{−z})` (default) or the hinge loss `max(0, 1 − z)` ([`Loss`]).
//!
//! ## The gradient is two GEMMs
//!
//! All patches of all samples are stacked into `X ∈ ℝ^{nP×d}` (see [`Batch`]);
//! `W` is stored flat as `W_flat ∈ ℝ^{2m×d}`, rows `0..m` the `j = +1` filters
//! and rows `m..2m` the `j = −1` filters. Then
//!
//! ```text
//! Z  = X · W_flatᵀ                                   (nP × 2m, GEMM 1)
//! g_i = ℓ′(y_i f_i) · y_i / n
//! ∂L/∂Z[(i,p),(j,r)] = g_i · j · s_m · σ′(Z[(i,p),(j,r)])
//! ∇W_flat = (∂L/∂Z)ᵀ · X                            (2m × d, GEMM 2)
//! ```
//!
//! and the elementwise work between the two GEMMs is fused into two passes
//! over `Z`. [`Workspace`] owns every buffer, so a step allocates nothing.
//! The scalar type is generic ([`Real`]: `f32` or `f64`).

mod activation;
mod blas;
mod cnn;
mod error;
mod linear;
mod loss;
pub mod nonfinite;
mod real;
pub mod simd;

pub use activation::*;
pub use blas::{
    BlasError, BlasInfo, Kernel, KernelChoice, KernelPolicy, POLICY_ENV, blas_kernel, cpu_kernels, select_kernel,
    select_kernel_from_env, set_blas_threads,
};
pub use cnn::*;
pub use error::ModelError;
pub(crate) use error::invalid;
pub use gengap_data::Foreign;
pub use linear::LinearData;
pub use loss::{Loss, LossFn, OutsideLoss};
pub use real::Real;

#[cfg(test)]
mod linear_tests;
#[cfg(test)]
mod tests;
