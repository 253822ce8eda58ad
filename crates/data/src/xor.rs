//! XOR-type data (Meng, Zou, Cao, ICML 2024, \[M24\]), `docs/theory.md#xor-data`.

use ndarray::{Array1, Array2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

/// Parameters of the XOR-type model of \[M24\].
///
/// Two orthogonal directions `u = ‖u‖e₁`, `v = ‖v‖e₂` give the features
/// `a = u + v` and `b = u − v`, with `‖a‖ = ‖b‖` and
/// `cos∠(a, b) = (‖u‖² − ‖v‖²)/(‖u‖² + ‖v‖²)`. A sample has two patches in
/// random order: the signal patch is `±a` (sign uniform) when the clean
/// label is `ỹ = +1` and `±b` when `ỹ = −1`; the other patch is
/// `ξ ~ N(0, σ_p²(I − P))`, `P` the projection onto `span{u, v}`. The
/// observed label is flipped with probability `p_flip`. No linear
/// classifier beats chance: `E[x | ỹ]` has no signal part.
///
/// Parametrized by `‖a‖` and `cos∠(a, b) ∈ [0, 1)`:
/// `‖u‖² = ‖a‖²(1 + cos)/2`, `‖v‖² = ‖a‖²(1 − cos)/2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XorParams {
    /// Patch dimension `d` (≥ 3).
    pub d: usize,
    /// Number of training samples `n` (≥ 1).
    pub n: usize,
    /// Number of fresh test samples (≥ 1). Default 1000.
    #[serde(default = "default_n_test")]
    pub n_test: usize,
    /// Feature strength `‖a‖ = ‖b‖` (≥ 0).
    pub a_norm: f64,
    /// `cos∠(a, b)`, in `[0, 1)` (0: orthogonal features). Default 0.
    #[serde(default)]
    pub cos_angle: f64,
    /// Noise scale `σ_p` (> 0).
    pub sigma_p: f64,
    /// Label-flip probability, in `[0, 1/2)`. Default 0.
    #[serde(default)]
    pub p_flip: f64,
}

impl Default for XorParams {
    /// `d = 1000`, `n = 100`, `n_test = 1000`, `‖a‖ = 10`, orthogonal
    /// features, `σ_p = 1`, no flips.
    fn default() -> Self {
        XorParams {
            d: 1000,
            n: 100,
            n_test: default_n_test(),
            a_norm: 10.0,
            cos_angle: 0.0,
            sigma_p: 1.0,
            p_flip: 0.0,
        }
    }
}

impl XorParams {
    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DataError> {
        check_sizes(self.d, self.n, self.n_test)?;
        if self.d < 3 {
            return Err(invalid("d", self.d, "must be >= 3 (u, v and noise)"));
        }
        check_finite_nonneg("a_norm", self.a_norm)?;
        check_finite_pos("sigma_p", self.sigma_p)?;
        if !(0.0..1.0).contains(&self.cos_angle) {
            return Err(invalid("cos_angle", self.cos_angle, "must be in [0, 1)"));
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return Err(invalid("p_flip", self.p_flip, "must be in [0, 0.5)"));
        }
        Ok(())
    }

    /// `(‖u‖, ‖v‖)`.
    pub fn uv_norms(&self) -> (f64, f64) {
        let a2 = self.a_norm * self.a_norm;
        (
            (a2 * (1.0 + self.cos_angle) / 2.0).sqrt(),
            (a2 * (1.0 - self.cos_angle) / 2.0).sqrt(),
        )
    }

    /// Draw a training split of `n` and a test split of `n_test` samples.
    /// The data set's `signal` is `u` and `extra_signal` holds `v` (one row).
    /// Draws per sample, in order: the clean label, the feature sign, the
    /// flip (only when `p_flip > 0`), the patch order, the noise.
    ///
    /// ```
    /// use gengap_data::{XorParams, rng};
    /// let ds = XorParams { d: 50, n: 8, n_test: 4, a_norm: 3.0, cos_angle: 0.5, ..Default::default() }
    ///     .generate(&mut rng::seeded(1))
    ///     .unwrap();
    /// let v = ds.extra_signal.as_ref().unwrap().row(0).to_owned();
    /// let (a, b) = (&ds.signal + &v, &ds.signal - &v);
    /// assert!((a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt()) - 0.5).abs() < 1e-12);
    /// ```
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let (un, vn) = self.uv_norms();
        let mut u = try_zeros("signal vector", ndarray::Ix1(self.d))?;
        let mut v = try_zeros("signal vector", ndarray::Ix2(1, self.d))?;
        u[0] = un;
        v[[0, 1]] = vn;
        let train = self.split(rng, &u, &v.row(0).to_owned(), self.n)?;
        let test = self.split(rng, &u, &v.row(0).to_owned(), self.n_test)?;
        Ok(Dataset {
            model: ModelKind::Xor,
            signal: u,
            extra_signal: Some(v),
            train,
            test,
        })
    }

    fn split<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        u: &Array1<f64>,
        v: &Array1<f64>,
        n: usize,
    ) -> Result<Split, DataError> {
        let d = self.d;
        let mut x = try_zeros("inputs", ndarray::Ix3(n, 2, d))?;
        let mut noise = try_zeros("noise vectors", ndarray::Ix3(n, 1, d))?;
        let mut y = Array1::<f64>::zeros(n);
        let mut y_clean = Array1::<f64>::zeros(n);
        let mut signal_patch = Vec::with_capacity(n);
        let mut noise_patches = Array2::<usize>::zeros((n, 1));
        for i in 0..n {
            let yc = rng::rademacher(rng);
            let sign = rng::rademacher(rng);
            let flipped = self.p_flip > 0.0 && rng::bernoulli(rng, self.p_flip);
            y_clean[i] = yc;
            y[i] = if flipped { -yc } else { yc };
            let sp = rng::uniform_index(rng, 2);
            signal_patch.push(sp);
            noise_patches[[i, 0]] = 1 - sp;
            let mut xi = noise.slice_mut(s![i, 0, ..]);
            for (c, e) in xi.iter_mut().enumerate() {
                let z = self.sigma_p * rng::standard_normal(rng);
                // Orthogonal to span{u, v} = span{e₁, e₂}; the draw is still made.
                *e = if c < 2 { 0.0 } else { z };
            }
            // a = u + v for ỹ = +1, b = u − v for ỹ = −1, times the sign.
            let feature = if yc > 0.0 { u + v } else { u - v };
            x.slice_mut(s![i, sp, ..]).assign(&(feature * sign));
            x.slice_mut(s![i, 1 - sp, ..]).assign(&xi);
        }
        Ok(Split {
            x,
            y,
            y_clean,
            noise,
            signal_patch,
            noise_patches,
            feature_noise_patch: None,
            strong_feature: vec![],
        })
    }
}
