//! The population test error of full-space weights on a two-patch model
//! with an isotropic Gaussian noise patch (`docs/theory.md#population-test-error`):
//! the same Monte Carlo over the `2m`-dimensional Gaussian of the noise
//! patch's pre-activations as the reduced engine's
//! [`SpanProblem::population_error`](crate::SpanProblem::population_error),
//! for weights that are not in a span (another initialisation, a bias
//! coordinate, f32 training).

use gengap_model::{Cnn, CnnConfig};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, s};

use crate::AnalysisError;
use crate::reduced::linalg::psd_factor;
use crate::reduced::monte_carlo_error;

/// The noise patch of a fresh test point: `ξ = c + σ_p·(g, 0)`, with `g ~
/// N(0, I)` on the first `noisy` coordinates and the fixed vector `c` (for
/// example `(0, …, 0, 1)`, the constant coordinate of a bias,
/// [`gengap_data::Split::with_constant_coordinate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianPatch {
    /// The fixed part `c` (length `d`, the weights' width).
    pub mean: Array1<f64>,
    /// The noise scale `σ_p`.
    pub sigma_p: f64,
    /// The number of leading coordinates that carry noise.
    pub noisy: usize,
}

/// The population test error, against the clean label, of the network with
/// weights `w` (`2m × d`) on test points with one signal patch, drawn from
/// the equally likely `patterns` (`(x_s, ỹ)`: the patch and its clean label),
/// and one noise patch drawn from `noise`:
///
/// `err = (1/T)·Σ_t P(ỹ_t·f(W, (x_t, ξ)) ≤ 0)`,
///
/// where `⟨w_c, ξ⟩ = ⟨w_c, c⟩ + u_c` and `u ~ N(0, σ_p²·W_N W_Nᵀ)`
/// (`W_N` = the noisy columns of `W`). It is estimated from standard normals
/// drawn by the caller (`normals`: `samples × 2m`; row `k` uses pattern
/// `k mod T`) through a factor of that covariance, so it costs `O(m²d)` plus
/// one `samples × 2m × 2m` GEMM, whatever `d`. For the \[C22\] model with
/// isotropic noise and no constant coordinate, this is the reduced engine's
/// [`SpanProblem::population_error`](crate::SpanProblem::population_error)
/// computed from `W` itself (a test checks the two agree). With label flips
/// see [`with_label_flips`](crate::with_label_flips).
///
/// ```
/// use gengap_analysis::{GaussianPatch, population_error_full};
/// use gengap_model::CnnConfig;
/// use ndarray::{Array1, Array2};
/// let model = CnnConfig { m: 1, activation: gengap_model::Activation::Relu, ..Default::default() };
/// // One filter per sign: w₊ = e₁, w₋ = −e₁; the signal patch ±e₁ decides.
/// let mut w = Array2::zeros((2, 3));
/// w[[0, 0]] = 1.0;
/// w[[1, 0]] = -1.0;
/// let e1 = Array1::from(vec![1.0, 0.0, 0.0]);
/// let patterns = [(e1.clone(), 1.0), (-e1, -1.0)];
/// let noise = GaussianPatch { mean: Array1::zeros(3), sigma_p: 0.0, noisy: 3 };
/// let normals = Array2::from_elem((10, 2), 0.5);
/// assert_eq!(population_error_full(w.view(), &model, &patterns, &noise, normals.view()).unwrap(), 0.0);
/// ```
pub fn population_error_full(
    w: ArrayView2<f64>,
    model: &CnnConfig,
    patterns: &[(Array1<f64>, f64)],
    noise: &GaussianPatch,
    normals: ArrayView2<f64>,
) -> Result<f64, AnalysisError> {
    let (m2, d) = w.dim();
    let shape = |what: &'static str, expected: String, got: String| Err(AnalysisError::Shape { what, expected, got });
    if m2 != 2 * model.m {
        return shape("w", format!("[{}, d]", 2 * model.m), format!("{:?}", w.shape()));
    }
    if normals.ncols() != m2 || normals.nrows() == 0 {
        return shape(
            "normals",
            format!("[samples >= 1, {m2}]"),
            format!("{:?}", normals.shape()),
        );
    }
    if noise.mean.len() != d || noise.noisy > d {
        return shape(
            "noise patch",
            format!("a mean of length {d} and at most {d} noisy coordinates"),
            format!("mean {}, noisy {}", noise.mean.len(), noise.noisy),
        );
    }
    if patterns.is_empty() || patterns.iter().any(|(x, y)| x.len() != d || y.abs() != 1.0) {
        return shape(
            "signal patterns",
            format!("at least one (a patch of length {d}, label ±1)"),
            format!("{} patterns", patterns.len()),
        );
    }
    let cnn = Cnn::<f64>::new(model)?;
    let sign = |c: usize| if c < model.m { 1.0 } else { -1.0 };
    let wn = w.slice(s![.., ..noise.noisy]);
    let mut cov = wn.dot(&wn.t());
    cov.mapv_inplace(|v| v * noise.sigma_p * noise.sigma_p);
    let l = psd_factor(&cov);
    let mut u = Array2::<f64>::zeros(normals.dim());
    general_mat_mul(1.0, &normals, &l.t(), 0.0, &mut u);
    let offset = w.dot(&noise.mean);
    for mut row in u.rows_mut() {
        row += &offset;
    }
    let f_signal: Vec<(f64, f64)> = patterns
        .iter()
        .map(|(x, y)| {
            let z = w.dot(x);
            ((0..m2).map(|c| sign(c) * cnn.act.value(z[c])).sum(), *y)
        })
        .collect();
    Ok(monte_carlo_error(&u, &f_signal, &cnn.act, cnn.s_m))
}
