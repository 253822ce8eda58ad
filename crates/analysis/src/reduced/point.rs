//! The state of a reduced-space run: a point [`SpanPoint`] (the weights in
//! coordinates, with their inner products with the basis), a
//! [`SpanDirection`] (a gradient, a momentum buffer, a perturbation), the
//! buffers of the pieces ([`SpanWorkspace`]) and which samples and labels a
//! gradient is taken on ([`Targets`]).

use gengap_model::Workspace;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::SpanProblem;
use super::problem::add_w0_part;
use crate::AnalysisError;
use crate::coupling::gram_update;

/// Weights in the coordinates of a [`SpanProblem`]:
/// `W = diag(α)·W⁽⁰⁾ + Θ·S`, kept together with `I = W·Sᵀ`, from which the
/// pre-activations of every training patch are exact (`Z = A·Iᵀ`).
///
/// Made by [`SpanProblem::start`]; moved only by the methods below, which
/// keep `I` consistent with `(α, Θ)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanPoint {
    pub(crate) alpha: Array1<f64>,
    /// `Θᵀ` (`K × 2m`), so that updates run along rows.
    pub(crate) theta_t: Array2<f64>,
    /// `Iᵀ = S·Wᵀ` (`K × 2m`).
    pub(crate) inner_t: Array2<f64>,
}

impl SpanPoint {
    /// The coefficient `α_c` of each `w⁽⁰⁾_c`.
    pub fn alpha(&self) -> ArrayView1<'_, f64> {
        self.alpha.view()
    }

    /// The coefficients `Θ` on the basis rows (`2m × K`).
    pub fn theta(&self) -> ArrayView2<'_, f64> {
        self.theta_t.t()
    }

    /// The inner products `I = W·Sᵀ` (`2m × K`).
    pub fn inner(&self) -> ArrayView2<'_, f64> {
        self.inner_t.t()
    }

    /// Whether every coordinate and inner product is finite.
    pub fn is_finite(&self) -> bool {
        self.alpha
            .iter()
            .chain(&self.theta_t)
            .chain(&self.inner_t)
            .all(|v| v.is_finite())
    }

    /// Whether the sum of the squares of every coordinate and inner product
    /// is finite: the point is in floating-point range, so its norms and
    /// every quadratic quantity of it (a population error) can be computed.
    /// (False for a point that [`SpanPoint::is_finite`] accepts with entries
    /// beyond ~1e154.)
    pub fn in_range(&self) -> bool {
        self.alpha
            .iter()
            .chain(&self.theta_t)
            .chain(&self.inner_t)
            .fold(0.0f64, |a, v| a + v * v)
            .is_finite()
    }

    /// `self ← other` (same problem), allocation-free.
    pub fn assign(&mut self, other: &SpanPoint) {
        self.alpha.assign(&other.alpha);
        self.theta_t.assign(&other.theta_t);
        self.inner_t.assign(&other.inner_t);
    }

    /// `W ← s·W` (decoupled weight decay `s = 1 − ηλ`): `α`, `Θ` and `I` scale.
    pub fn scale(&mut self, s: f64) {
        if s != 1.0 {
            self.theta_t *= s;
            self.alpha *= s;
            self.inner_t *= s;
        }
    }

    /// `W ← β·W + a·D` for a direction `D = diag(δα)·W⁽⁰⁾ + B·S`:
    /// `α ← βα + a·δα`, `Θ ← βΘ + a·B`, `I ← β·I + a·(δα∘W⁽⁰⁾Sᵀ + B·G_S)`.
    /// One `K × K × 2m` product (the coupling kernel, the same bits on every
    /// CPU); allocation-free. `scratch` is [`SpanWorkspace::scratch`].
    ///
    /// With `β = 1 − ηλ`, `a = −η` and `D = Γ` this is the GD step with L2
    /// decay in its shrink form, the one [`crate::ReducedGd`] takes.
    pub fn shrink_add(
        &mut self,
        problem: &SpanProblem,
        beta: f64,
        a: f64,
        dir: &SpanDirection,
        scratch: &mut Array2<f64>,
    ) {
        if beta != 1.0 {
            self.theta_t *= beta;
            self.alpha *= beta;
        }
        self.theta_t.scaled_add(a, &dir.theta_t);
        if dir.alpha.iter().any(|&v| v != 0.0) {
            self.alpha.scaled_add(a, &dir.alpha);
        }
        gram_update(
            problem.gram.view(),
            dir.theta_t.view(),
            a,
            beta,
            &mut self.inner_t,
            scratch,
        );
        add_w0_part(&problem.w0_s, &dir.alpha, a, &mut self.inner_t);
    }

    /// `W ← W + a·D` ([`SpanPoint::shrink_add`] with `β = 1`).
    pub fn add(&mut self, problem: &SpanProblem, a: f64, dir: &SpanDirection, scratch: &mut Array2<f64>) {
        self.shrink_add(problem, 1.0, a, dir, scratch);
    }

    /// `W ← W + a·D` when `D·Sᵀ` is already known (`inner`, transposed, from
    /// [`SpanProblem::inner_of`]): no product at all, `O(K·m)`. SAM's ascent
    /// step uses it, since the norm of the gradient needed `Γ·G_S` anyway.
    pub fn add_known(&mut self, a: f64, dir: &SpanDirection, inner: &Array2<f64>) {
        self.theta_t.scaled_add(a, &dir.theta_t);
        self.alpha.scaled_add(a, &dir.alpha);
        self.inner_t.scaled_add(a, inner);
    }
}

/// A direction in the coordinates of a [`SpanProblem`]:
/// `D = diag(a)·W⁽⁰⁾ + B·S` — a gradient (`a = 0`), a momentum buffer, the
/// weights themselves (L2 decay), an ascent step. Made by
/// [`SpanProblem::zero_direction`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpanDirection {
    pub(crate) alpha: Array1<f64>,
    /// `Bᵀ` (`K × 2m`).
    pub(crate) theta_t: Array2<f64>,
}

impl SpanDirection {
    /// The coefficient `a_c` on each `w⁽⁰⁾_c`.
    pub fn alpha(&self) -> ArrayView1<'_, f64> {
        self.alpha.view()
    }

    /// `a`, writable (shape fixed).
    pub fn alpha_mut(&mut self) -> ArrayViewMut1<'_, f64> {
        self.alpha.view_mut()
    }

    /// The coefficients `B` on the basis rows (`2m × K`).
    pub fn theta(&self) -> ArrayView2<'_, f64> {
        self.theta_t.t()
    }

    /// `Bᵀ` (`K × 2m`), writable (shape fixed).
    pub fn theta_t_mut(&mut self) -> ArrayViewMut2<'_, f64> {
        self.theta_t.view_mut()
    }

    /// `D ← s·D`.
    pub fn scale(&mut self, s: f64) {
        self.alpha *= s;
        self.theta_t *= s;
    }

    /// `D ← other`.
    pub fn assign(&mut self, other: &SpanDirection) {
        self.alpha.assign(&other.alpha);
        self.theta_t.assign(&other.theta_t);
    }

    /// `D ← D + a·other`.
    pub fn add(&mut self, a: f64, other: &SpanDirection) {
        self.alpha.scaled_add(a, &other.alpha);
        self.theta_t.scaled_add(a, &other.theta_t);
    }

    /// `D ← D + a·W` for a point `W` (L2 decay adds `λ·W` to a gradient).
    pub fn add_point(&mut self, a: f64, point: &SpanPoint) {
        self.alpha.scaled_add(a, &point.alpha);
        self.theta_t.scaled_add(a, &point.theta_t);
    }

    /// Whether every coefficient is finite.
    pub fn is_finite(&self) -> bool {
        self.alpha.iter().chain(&self.theta_t).all(|v| v.is_finite())
    }
}

/// Which samples a gradient is taken on, with which labels
/// ([`SpanProblem::gradient`]). Built with [`Targets::all`] and the methods below.
#[derive(Debug, Clone, Copy, Default)]
pub struct Targets<'a> {
    pub(crate) rows: Option<&'a [usize]>,
    pub(crate) labels: Option<&'a [f64]>,
    pub(crate) mix: Option<(&'a [usize], f64)>,
}

impl<'a> Targets<'a> {
    /// Every training sample with its observed label.
    pub fn all() -> Self {
        Targets::default()
    }

    /// The samples `rows` (a mini-batch, in the batch's order).
    pub fn rows(mut self, rows: &'a [usize]) -> Self {
        self.rows = Some(rows);
        self
    }

    /// Labels `±1` for the selected samples, in their order (label-noise GD).
    pub fn with_labels(mut self, labels: &'a [f64]) -> Self {
        self.labels = Some(labels);
        self
    }

    /// Input mixup: selected sample `b` is mixed with selected sample
    /// `partners[b]` as `λ·x_b + (1 − λ)·x_{partners[b]}` (positions within
    /// the selection, e.g. a permutation of it).
    pub fn mixup(mut self, partners: &'a [usize], lambda: f64) -> Self {
        self.mix = Some((partners, lambda));
        self
    }

    pub(crate) fn check(&self, n: usize) -> Result<(), AnalysisError> {
        let len = self.rows.map_or(n, <[usize]>::len);
        let bad = |what: &'static str, got: String| {
            Err(AnalysisError::Shape {
                what,
                expected: format!("{len} entries, each in range"),
                got,
            })
        };
        if len == 0 {
            return bad("targets", "no samples".into());
        }
        if let Some(r) = self.rows
            && r.iter().any(|&i| i >= n)
        {
            return bad("target rows", format!("a row >= n = {n}"));
        }
        if let Some(l) = self.labels
            && l.len() != len
        {
            return bad("target labels", format!("{} labels", l.len()));
        }
        if let Some((p, lambda)) = self.mix {
            if p.len() != len || p.iter().any(|&j| j >= len) {
                return bad("mixup partners", format!("{} partners", p.len()));
            }
            if !(0.0..=1.0).contains(&lambda) {
                return Err(AnalysisError::InvalidParam {
                    field: "mixup lambda",
                    value: lambda.to_string(),
                    reason: "must be in [0, 1]",
                });
            }
        }
        Ok(())
    }
}

/// The buffers of one batch size.
#[derive(Debug, Clone)]
pub(crate) struct BatchBuffers {
    pub(crate) ws: Workspace<f64>,
    pub(crate) ya: Array1<f64>,
    pub(crate) yb: Array1<f64>,
    /// One patch's pre-activations (a mixup partner's).
    pub(crate) row: Vec<f64>,
}

/// The buffers of the pieces: workspaces for the whole training set, the
/// test split and each batch size seen (made on first use, then reused), and
/// two `K × 2m` matrices for products. From [`SpanProblem::workspace`].
#[derive(Debug, Clone)]
pub struct SpanWorkspace {
    pub(crate) all: Workspace<f64>,
    pub(crate) test: Workspace<f64>,
    pub(crate) batches: Vec<(usize, BatchBuffers)>,
    /// The coupling kernel's scratch (`K × 2m`).
    pub scratch: Array2<f64>,
    /// A `K × 2m` buffer for inner products `D·Sᵀ` ([`SpanProblem::inner_of`]).
    pub inner: Array2<f64>,
}

impl SpanWorkspace {
    pub(crate) fn batch(&mut self, b: usize, patches: usize, m: usize) -> &mut BatchBuffers {
        let at = match self.batches.iter().position(|(s, _)| *s == b) {
            Some(at) => at,
            None => {
                self.batches.push((
                    b,
                    BatchBuffers {
                        ws: Workspace::new(b, patches, m),
                        ya: Array1::zeros(b),
                        yb: Array1::zeros(b),
                        row: vec![0.0; 2 * m],
                    },
                ));
                self.batches.len() - 1
            }
        };
        &mut self.batches[at].1
    }

    /// `(inner, scratch)`, both `K × 2m`, borrowed together.
    pub fn buffers(&mut self) -> (&mut Array2<f64>, &mut Array2<f64>) {
        (&mut self.inner, &mut self.scratch)
    }
}
