//! # gengap-data — the data models of the benign-overfitting and Adam-vs-GD papers
//!
//! Every input has `P` patches of dimension `d`, `x = (x⁽¹⁾, …, x⁽ᴾ⁾)`, and a
//! Rademacher label `y ∈ {−1, +1}`. The models are (`docs/theory.md#data-models`):
//!
//! * [`C22Params`] — Cao, Chen, Belkin, Gu, *Benign Overfitting in Two-layer
//!   CNNs* (NeurIPS 2022): `P = 2`, one patch `y·μ`, one patch
//!   `ξ ~ N(0, σ_p²(I − μμᵀ/‖μ‖²))`, optional label flips.
//!   `SNR = ‖μ‖ / (σ_p √d)`.
//! * [`Z23Params`] — Zou, Cao, Li, Gu, *Understanding the Generalization of
//!   Adam…* (ICLR 2023): a sparse signal `v = ‖v‖e₁`, one patch `y·v`, one
//!   patch `ξ − α·y·v` (feature noise), the rest `ξ`, each `ξ` Gaussian on
//!   `s` random coordinates of `{2, …, d}`.
//! * [`XorParams`] — Meng, Zou, Cao, *Benign Overfitting in Two-Layer ReLU
//!   CNNs for XOR Data* (ICML 2024): the signal patch is `±(u + v)` for clean
//!   label `+1` and `±(u − v)` for `−1`, so no linear classifier works.
//!
//! Generators take an explicit RNG (see [`rng`]) and return a [`Dataset`]:
//! the patches as an `(n, P, d)` tensor, the labels, and every latent part
//! (the signal vector, each `ξ`, which patch is which) for a training split
//! and a fresh test split drawn from the same distribution.
//!
//! Parameters are plain serde structs with `deny_unknown_fields`; call
//! `validate()` (done by the generators) to get a [`DataError`] naming the
//! offending field and value.

pub mod mnist;
pub mod rng;

// Links the system OpenBLAS, which ndarray's `blas` feature calls for GEMM/dot.
use openblas_src as _;

mod blocked;
mod c22;
mod config;
mod dataset;
mod error;
mod foreign;
mod moderate_d;
mod noisy_mnist;
mod user;
mod weak_strong;
mod xor;
mod z23;

pub use blocked::{BlockedC22, GRAM_BLOCK};
pub(crate) use c22::default_n_test;
pub use c22::{C22Params, Direction, NoiseKind};
pub use config::DataConfig;
pub use dataset::{Dataset, ModelKind, Split};
pub use error::{DataError, try_zeros};
pub(crate) use error::{check_finite_nonneg, check_finite_pos, check_sizes, invalid};
pub use foreign::Foreign;
pub use moderate_d::ModerateDParams;
pub use noisy_mnist::NoisyMnistParams;
pub use user::{UserSplit, check_finite, check_labels};
pub use weak_strong::WeakStrongParams;
pub use xor::XorParams;
pub use z23::Z23Params;
pub(crate) use z23::default_patches;

#[cfg(test)]
mod tests;
