//! The linear classifier `f(x) = ⟨w, x⟩` on flattened inputs
//! (`docs/theory.md#the-linear-model`), beside the CNN: the model of the
//! implicit-bias theorems (Soudry et al. 2018; Zhang, Zou, Cao 2024) and of
//! the talk's noisy-MNIST slides.
//!
//! A sample `x ∈ ℝ^{P×d}` is flattened row by row into `ℝ^D`, `D = P·d`
//! (patch `p`, coordinate `k` at index `p·d + k`). The training loss is
//! `L(w) = (1/n) Σ_i ℓ(y_i⟨w, x_i⟩)` with any [`Loss`], and
//!
//! ```text
//! ∇L(w) = (1/n) Σ_i ℓ′(y_i⟨w, x_i⟩) · y_i · x_i.
//! ```
//!
//! Both products are loops in a fixed order, vectorized across independent
//! outputs only (`X` is kept row-major for the gradient and transposed for
//! the outputs), so every entry is one chain of multiply-adds in index
//! order: the bits do not depend on the CPU, the SIMD width or a BLAS.
//! [`LinearData::loss_grad`] allocates nothing.

use gengap_data::Split;
use ndarray::ArrayView2;

use crate::{Loss, Metrics, ModelError, Real, invalid};

/// A data set for the linear model: `n` flattened points of dimension `D`
/// and their labels, validated (labels `±1`, finite inputs).
#[derive(Debug, Clone)]
pub struct LinearData<T> {
    n: usize,
    d: usize,
    /// `X`, row-major `n × D`.
    x: Vec<T>,
    /// `Xᵀ`, row-major `D × n`.
    xt: Vec<T>,
    y: Vec<T>,
}

impl<T: Real> LinearData<T> {
    /// From points as the rows of `x` (`n × D`) and labels `y`.
    ///
    /// ```
    /// use gengap_model::{LinearData, Loss};
    /// use ndarray::array;
    ///
    /// let data = LinearData::<f64>::new(array![[1.0, 2.0], [0.5, -1.0]].view(), &[1.0, -1.0]).unwrap();
    /// let (mut margins, mut grad) = (vec![0.0; 2], vec![0.0; 2]);
    /// let met = data.loss_grad(&Loss::Logistic, &[0.0, 0.0], &mut margins, &mut grad);
    /// assert!((met.loss - 2f64.ln()).abs() < 1e-15);
    /// // ∇L(0) = −(1/2n) Σ y_i x_i = −(1/4)·((1, 2) − (0.5, −1)).
    /// assert!((grad[0] + 0.125).abs() < 1e-15 && (grad[1] + 0.75).abs() < 1e-15);
    /// ```
    pub fn new(x: ArrayView2<f64>, y: &[f64]) -> Result<Self, ModelError> {
        let (n, d) = x.dim();
        if y.len() != n {
            return Err(ModelError::Shape {
                what: "linear-model labels",
                expected: format!("{n} (one per row of x)"),
                got: y.len().to_string(),
            });
        }
        if n == 0 || d == 0 {
            return Err(invalid(
                "x",
                format!("{n} x {d}"),
                "needs at least one point and one coordinate",
            ));
        }
        if let Some(v) = y.iter().find(|v| **v != 1.0 && **v != -1.0) {
            return Err(invalid("y", v, "labels must be +1 or -1"));
        }
        if let Some(v) = x.iter().find(|v| !v.is_finite()) {
            return Err(invalid("x", v, "inputs must be finite"));
        }
        let mut xs = Vec::with_capacity(n * d);
        let mut xt = vec![T::zero(); n * d];
        for (i, row) in x.outer_iter().enumerate() {
            for (k, v) in row.iter().enumerate() {
                let v = T::from_f64c(*v);
                xs.push(v);
                xt[k * n + i] = v;
            }
        }
        Ok(LinearData {
            n,
            d,
            x: xs,
            xt,
            y: y.iter().map(|v| T::from_f64c(*v)).collect(),
        })
    }

    /// A split's samples flattened (`D = P·d`, patch-major) with their observed labels.
    pub fn from_split(split: &Split) -> Result<Self, ModelError> {
        let (n, p, d) = split.x.dim();
        let flat = split
            .x
            .view()
            .into_shape_with_order((n, p * d))
            .map_err(|e| ModelError::Shape {
                what: "flattened split",
                expected: format!("[{n}, {}]", p * d),
                got: e.to_string(),
            })?;
        Self::new(flat, split.y.as_slice().expect("labels are contiguous"))
    }

    /// Points `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Dimension `D`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The labels.
    pub fn labels(&self) -> &[T] {
        &self.y
    }

    /// `X` as an `n × D` view.
    pub fn points(&self) -> ArrayView2<'_, T> {
        ArrayView2::from_shape((self.n, self.d), &self.x).expect("n x D")
    }

    fn check(&self, w: &[T], margins: &[T]) {
        assert_eq!(w.len(), self.d, "w has length D");
        assert_eq!(margins.len(), self.n, "margins has length n");
    }

    /// `margins_i = y_i⟨w, x_i⟩`; each `⟨w, x_i⟩` summed over `k = 0..D` in order.
    ///
    /// # Panics
    /// If `w.len() ≠ D` or `margins.len() ≠ n`.
    pub fn margins(&self, w: &[T], margins: &mut [T]) {
        self.check(w, margins);
        let n = self.n;
        margins.fill(T::zero());
        for (k, &wk) in w.iter().enumerate() {
            let col = &self.xt[k * n..(k + 1) * n];
            for (z, &x) in margins.iter_mut().zip(col) {
                *z += x * wk;
            }
        }
        for (z, &y) in margins.iter_mut().zip(&self.y) {
            *z *= y;
        }
    }

    /// Loss and error at `w` (`margins` is scratch of length `n`). A
    /// non-finite margin has a NaN loss and counts as an error ([`Loss::value`]).
    pub fn metrics(&self, loss: &Loss, w: &[T], margins: &mut [T]) -> Metrics {
        self.margins(w, margins);
        metrics_of_margins(loss, margins)
    }

    /// Loss and error at `w`, and `grad = ∇L(w)`, each `grad_k` summed over
    /// `i = 0..n` in order. Allocates nothing.
    ///
    /// # Panics
    /// If a buffer has the wrong length.
    pub fn loss_grad(&self, loss: &Loss, w: &[T], margins: &mut [T], grad: &mut [T]) -> Metrics {
        assert_eq!(grad.len(), self.d, "grad has length D");
        self.margins(w, margins);
        let met = metrics_of_margins(loss, margins);
        let inv_n = T::one() / T::from_usize(self.n).expect("n fits");
        grad.fill(T::zero());
        for (i, row) in self.x.chunks_exact(self.d).enumerate() {
            let c = loss.deriv(margins[i]) * self.y[i] * inv_n;
            for (g, &x) in grad.iter_mut().zip(row) {
                *g += c * x;
            }
        }
        met
    }
}

fn metrics_of_margins<T: Real>(loss: &Loss, margins: &[T]) -> Metrics {
    let mut total = 0.0;
    let mut wrong = 0usize;
    for &m in margins {
        total += loss.value(m).to_f64c();
        if !(m > T::zero() && m.is_finite()) {
            wrong += 1;
        }
    }
    let n = margins.len() as f64;
    Metrics {
        loss: total / n,
        error: wrong as f64 / n,
    }
}
