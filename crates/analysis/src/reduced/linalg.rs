//! Small dense factorizations of the reduced engine: a Cholesky factor of a
//! positive semi-definite matrix that skips zero pivots, and its solves.

use ndarray::{Array1, Array2};

/// A lower-triangular `L` with `L Lᵀ = C` for a symmetric positive
/// semi-definite `C` (Cholesky with zero pivots skipped: rank-deficient
/// covariances, e.g. `m` filters in a smaller span, are allowed).
pub(crate) fn psd_factor(c: &Array2<f64>) -> Array2<f64> {
    let n = c.nrows();
    let scale = (0..n).map(|i| c[[i, i]].abs()).fold(0.0f64, f64::max).max(1e-300);
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut d = c[[j, j]];
        for k in 0..j {
            d -= l[[j, k]] * l[[j, k]];
        }
        if d <= 1e-13 * scale {
            continue; // zero pivot: column j stays 0
        }
        let d = d.sqrt();
        l[[j, j]] = d;
        for i in j + 1..n {
            let mut s = c[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = s / d;
        }
    }
    l
}

/// `x` with `L Lᵀ x = b` for a factor from [`psd_factor`]; the components
/// along zero pivots are set to 0 (a least-squares solution when `C` is
/// singular, e.g. a zero signal vector).
pub(crate) fn psd_solve(l: &Array2<f64>, b: &Array1<f64>) -> Array1<f64> {
    let mut z = forward(l, b);
    let n = z.len();
    for j in (0..n).rev() {
        if l[[j, j]] == 0.0 {
            z[j] = 0.0;
            continue;
        }
        let mut t = z[j];
        for i in j + 1..n {
            t -= l[[i, j]] * z[i];
        }
        z[j] = t / l[[j, j]];
    }
    z
}

/// `L⁻¹ b` by forward substitution, 0 along zero pivots.
pub(crate) fn forward(l: &Array2<f64>, b: &Array1<f64>) -> Array1<f64> {
    let n = b.len();
    let mut z = Array1::<f64>::zeros(n);
    for i in 0..n {
        if l[[i, i]] == 0.0 {
            continue;
        }
        let mut t = b[i];
        for k in 0..i {
            t -= l[[i, k]] * z[k];
        }
        z[i] = t / l[[i, i]];
    }
    z
}
