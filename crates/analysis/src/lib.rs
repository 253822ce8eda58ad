//! # gengap-analysis — signal learning vs noise memorization
//!
//! `docs/theory.md#signal-noise-decomposition`, after Cao et al. (NeurIPS 2022, \[C22\], "proof sketch") and Zou et
//! al. (ICLR 2023, \[Z23\]). Under GD without weight decay every filter stays in
//! `w⁽⁰⁾ + span{μ, ξ_1, …, ξ_n}`:
//!
//! ```text
//! w_{j,r}⁽ᵗ⁾ = w_{j,r}⁽⁰⁾ + j·γ_{j,r}·‖μ‖⁻²·μ + Σ_i ρ̄_{j,r,i}·‖ξ_i‖⁻²·ξ_i + Σ_i ρ_{j,r,i}·‖ξ_i‖⁻²·ξ_i
//! ```
//!
//! with `γ` the signal learning, `ρ̄ ≥ 0` (samples with `y_i = j`) and `ρ ≤ 0`
//! (samples with `y_i = −j`) the noise memorization.
//!
//! * [`Decomposer`] finds the coefficients of any `W` (GD, Adam, with decay) by
//!   least squares on `{w⁽⁰⁾_{j,r}, μ or v, every noise vector}`, factorizing
//!   the small Gram matrices once per data set, and reports the coefficient of
//!   `w⁽⁰⁾` and the relative residual `‖w − proj(w)‖/‖w − w⁽⁰⁾‖` — ≈ 0 for GD,
//!   clearly positive for Adam, whose entrywise steps leave the span.
//! * [`SpanProblem`], [`SpanPoint`], [`SpanDirection`] are the exact
//!   reduced-space engine's state and pieces (gradient in coordinates on any
//!   rows and labels, norms, moves), from which every span-preserving
//!   algorithm is written (`gengap_train::SpanAlgorithm`,
//!   `docs/theory.md#span-preserving-algorithms`); [`ReducedGd`] is the exact
//!   reduced-space GD solver ("the discrete dynamical system of
//!   coefficients") built from them: it iterates the coefficients from the
//!   Gram matrix of `{μ, ξ_i}` and the initial inner products, at `O(m·n²)`
//!   per step instead of `O(m·n·d)`, and agrees with full-space GD to round-off.
//! * [`coupling`] is the solver's one dense product per step, `G_S·Γᵀ`, as a
//!   register-blocked fma kernel whose bits do not depend on the CPU or BLAS.
//! * [`boundary`] reads a phase boundary off a grid of test errors and fits
//!   its power law.

pub mod boundary;
pub mod coupling;
mod decompose;
pub mod margin;
mod population;
mod reduced;

pub use decompose::{Basis, Decomposer, Decomposition, Summary};
pub use population::{GaussianPatch, population_error_full};
pub use reduced::{ReducedGd, SpanDirection, SpanPoint, SpanProblem, SpanWorkspace, Targets, with_label_flips};

/// The four equally likely signal patches of XOR data in the basis rows
/// `(u, v)`, with their clean labels: `±a = ±(u + v)` (label `+1`) and
/// `±b = ±(u − v)` (label `−1`), for [`ReducedGd::population_error_for`].
pub fn xor_patterns() -> [(Vec<f64>, f64); 4] {
    [
        (vec![1.0, 1.0], 1.0),
        (vec![-1.0, -1.0], 1.0),
        (vec![1.0, -1.0], -1.0),
        (vec![-1.0, 1.0], -1.0),
    ]
}

/// Errors of the analysis crate.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The basis vectors are linearly dependent (e.g. more noise vectors than dimensions).
    #[error("the basis Gram matrix is singular ({k} vectors in dimension {d}): {source}")]
    Singular {
        /// Number of basis vectors.
        k: usize,
        /// Dimension.
        d: usize,
        /// The LAPACK error.
        source: ndarray_linalg::error::LinalgError,
    },
    /// Shapes do not fit.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// What.
        what: &'static str,
        /// Expected shape.
        expected: String,
        /// Given shape.
        got: String,
    },
    /// An invalid parameter.
    #[error("invalid parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// Name.
        field: &'static str,
        /// Value.
        value: String,
        /// Valid range.
        reason: &'static str,
    },
    /// A model error (bad config).
    #[error(transparent)]
    Model(#[from] gengap_model::ModelError),
    /// No linear classifier puts every point on its side (the max-margin
    /// programs are infeasible).
    #[error("the {n} points in dimension {d} are not linearly separable")]
    NotSeparable {
        /// Points.
        n: usize,
        /// Dimension.
        d: usize,
    },
    /// The conic solver stopped without a solution.
    #[error("the {norm} max-margin solver stopped without a solution: {status}")]
    Solver {
        /// The norm of the program (`l1`, `l2`, `linf`).
        norm: &'static str,
        /// Clarabel's status.
        status: String,
    },
    /// An error of code outside gengap: a downstream analysis (see [`gengap_data::Foreign`]).
    #[error(transparent)]
    Other(#[from] gengap_data::Foreign),
}
