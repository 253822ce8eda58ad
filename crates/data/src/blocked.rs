//! Blocked Gram products of the \[C22\] model: what the reduced-space solver needs at
//! `d = 10⁶` without holding the data (`docs/theory.md#reduced-space-recursion`).

use ndarray::{Array1, Array2, s};
use rand::Rng;

use crate::*;

/// What the reduced-space solver needs of a \[C22\] training set and an
/// initialisation, computed without ever holding the `n × d` data: the Gram
/// matrix of `S = [μ; ξ_1; …; ξ_n]`, `S·W⁽⁰⁾ᵀ` and `W⁽⁰⁾W⁽⁰⁾ᵀ`, plus the labels
/// and which patch carries the signal. See [`C22Params::blocked_products`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlockedC22 {
    /// Observed labels `y_i` (flipped with probability `p_flip`).
    pub y: Array1<f64>,
    /// Clean labels `ỹ_i`: the signal patch is `ỹ_i·μ`.
    pub y_clean: Array1<f64>,
    /// Index (0 or 1) of each sample's signal patch.
    pub signal_patch: Vec<usize>,
    /// `S Sᵀ`, `(n+1) × (n+1)`; row/column 0 is μ.
    pub gram: Array2<f64>,
    /// `S W⁽⁰⁾ᵀ`, `(n+1) × 2m`.
    pub s_w0t: Array2<f64>,
    /// `W⁽⁰⁾ W⁽⁰⁾ᵀ`, `2m × 2m`.
    pub w0_w0t: Array2<f64>,
}

/// Column-block width of [`C22Params::blocked_products`]. Fixed, because the
/// random streams are laid out per block: results depend on the seed only.
pub const GRAM_BLOCK: usize = 16_384;

impl C22Params {
    /// The Gram products of a training set and of `W⁽⁰⁾ ~ N(0, σ₀²)` (`rows`
    /// filters), accumulated over column blocks of [`GRAM_BLOCK`]
    /// coordinates, so memory is `O((n + rows)·block + n²)` whatever `d` is.
    ///
    /// Needs `μ = ‖μ‖·e₁` (`direction = "e1"`); noise may be orthogonal
    /// (coordinate 0 of ξ is 0) or isotropic. The draws: per sample the clean
    /// label, the patch order and (only when `p_flip > 0`) the flip, from `rng`;
    /// then block `b` of the noise from `stream(s, 2b)` and of `W⁽⁰⁾` from
    /// `stream(s, 2b + 1)`, with `s` one `u64` from `rng` — a different
    /// stream layout from [`C22Params::generate`], so the two give different
    /// (equally distributed) data sets for the same seed.
    pub fn blocked_products<R: Rng + ?Sized>(
        &self,
        sigma0: f64,
        rows: usize,
        rng: &mut R,
    ) -> Result<BlockedC22, DataError> {
        self.validate()?;
        if self.direction != Direction::E1 {
            return Err(invalid(
                "direction",
                "random_unit",
                "blocked products need direction = \"e1\"",
            ));
        }
        if !sigma0.is_finite() || sigma0 < 0.0 {
            return Err(invalid("sigma0", sigma0, "must be finite and >= 0"));
        }
        let (n, d) = (self.n, self.d);
        let (mut y, mut y_clean) = (Array1::zeros(n), Array1::zeros(n));
        let mut signal_patch = Vec::with_capacity(n);
        for i in 0..n {
            y_clean[i] = rng::rademacher(rng);
            signal_patch.push(rng::uniform_index(rng, 2));
            let flipped = self.p_flip > 0.0 && rng::bernoulli(rng, self.p_flip);
            y[i] = if flipped { -y_clean[i] } else { y_clean[i] };
        }
        let sub = rng.next_u64();
        let k = n + 1;
        let mut gram = Array2::<f64>::zeros((k, k));
        let mut s_w0t = Array2::<f64>::zeros((k, rows));
        let mut w0_w0t = Array2::<f64>::zeros((rows, rows));
        let mut sb = Array2::<f64>::zeros((k, GRAM_BLOCK));
        let mut wb = Array2::<f64>::zeros((rows, GRAM_BLOCK));
        for (b, c0) in (0..d).step_by(GRAM_BLOCK).enumerate() {
            let width = GRAM_BLOCK.min(d - c0);
            let mut nr = rng::stream(sub, 2 * b as u64);
            let mut wr = rng::stream(sub, 2 * b as u64 + 1);
            sb.fill(0.0);
            if c0 == 0 {
                sb[[0, 0]] = self.mu_norm;
            }
            for i in 0..n {
                for c in 0..width {
                    let v = self.sigma_p * rng::standard_normal(&mut nr);
                    // Orthogonal noise has no e₁ component; the draw is still made, so
                    // both noise kinds consume the same stream.
                    sb[[1 + i, c]] = if c0 + c == 0 && self.noise == NoiseKind::Orthogonal {
                        0.0
                    } else {
                        v
                    };
                }
            }
            for r in 0..rows {
                for c in 0..width {
                    wb[[r, c]] = sigma0 * rng::standard_normal(&mut wr);
                }
            }
            let (sv, wv) = (sb.slice(s![.., ..width]), wb.slice(s![.., ..width]));
            ndarray::linalg::general_mat_mul(1.0, &sv, &sv.t(), 1.0, &mut gram);
            ndarray::linalg::general_mat_mul(1.0, &sv, &wv.t(), 1.0, &mut s_w0t);
            ndarray::linalg::general_mat_mul(1.0, &wv, &wv.t(), 1.0, &mut w0_w0t);
        }
        Ok(BlockedC22 {
            y,
            y_clean,
            signal_patch,
            gram,
            s_w0t,
            w0_w0t,
        })
    }
}

impl BlockedC22 {
    /// The same training set and `W⁽⁰⁾` with the signal `μ` replaced by
    /// `c·μ` (noise vectors, labels, flips and patch order unchanged): row
    /// and column 0 of the Gram matrix and row 0 of `S·W⁽⁰⁾ᵀ` scaled. Exact
    /// for either noise kind (orthogonal noise stays orthogonal to `c·μ`),
    /// so one draw at `‖μ‖ = 1` serves a whole `‖μ‖` grid (`c ≥ 0` is the
    /// new `‖μ‖`), with common random numbers across it.
    ///
    /// ```
    /// use gengap_data::{C22Params, rng};
    /// let p = C22Params { d: 50, n: 4, mu_norm: 1.0, ..Default::default() };
    /// let unit = p.blocked_products(0.1, 2, &mut rng::seeded(1)).unwrap();
    /// let three = unit.with_signal_scale(3.0);
    /// assert_eq!(three.gram[[0, 0]], 9.0);
    /// assert_eq!(three.gram[[1, 2]], unit.gram[[1, 2]]);
    /// assert_eq!(three.s_w0t[[0, 1]], 3.0 * unit.s_w0t[[0, 1]]);
    /// ```
    pub fn with_signal_scale(&self, c: f64) -> BlockedC22 {
        let mut out = self.clone();
        out.gram.row_mut(0).mapv_inplace(|v| v * c);
        out.gram.column_mut(0).mapv_inplace(|v| v * c);
        out.s_w0t.row_mut(0).mapv_inplace(|v| v * c);
        out
    }
}
