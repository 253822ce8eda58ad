//! The weak/strong-feature model after Lu, Wu, Yang, Zou (ICLR 2024,
//! "Benign oscillation of SGD with large learning rates"),
//! `docs/theory.md#weakstrong-feature-data`.

use ndarray::{Array1, Array2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

/// Parameters of the weak/strong-feature model: three patches per sample,
///
/// `x = (ỹ·v, b·ỹ·u, ξ)`,  `v = ‖v‖·e₂` (weak),  `u = ‖u‖·e₁` (strong),
/// `b ~ Bernoulli(ρ)`,  `ξ ~ N(0, σ_p² I)` orthogonal to `e₁, e₂`,
///
/// so every training point carries the weak feature `v` (small norm), a
/// fraction `ρ` of them also the strong feature `u` (large norm, patch 1; a
/// zero patch otherwise), and each one a noise vector. *Test* points carry
/// only the weak feature (`b = 0`): a network that learned only `u` fails
/// on them. Labels may be flipped with probability `p_flip` (training and
/// test). This follows the paper's abstract (weak features in every point,
/// strong features in a fraction, noise; test points with weak features
/// only); its exact definition and scales could not be read here, so the
/// norms are parameters.
///
/// In the data set's terms: `signal = v`, `extra_signal = [u]`, the weak
/// patch is the signal patch (0), the noise patch is 2, and
/// [`Split::strong_feature`] says which samples carry `u`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeakStrongParams {
    /// Patch dimension `d` (≥ 3).
    pub d: usize,
    /// Number of training samples `n` (≥ 1).
    pub n: usize,
    /// Number of weak-only test samples (≥ 1). Default 1000.
    #[serde(default = "default_n_test")]
    pub n_test: usize,
    /// `‖v‖`, the weak feature's norm (≥ 0).
    pub weak_norm: f64,
    /// `‖u‖`, the strong feature's norm (≥ 0).
    pub strong_norm: f64,
    /// `ρ ∈ [0, 1]`, the fraction of training points with the strong feature.
    pub strong_fraction: f64,
    /// Noise scale `σ_p` (> 0).
    pub sigma_p: f64,
    /// Label-flip probability, in `[0, 1/2)`. Default 0.
    #[serde(default)]
    pub p_flip: f64,
}

impl Default for WeakStrongParams {
    /// `d = 200`, `n = 40`, `n_test = 1000`, `‖v‖ = 1`, `‖u‖ = 5`, `ρ = 0.5`, `σ_p = 1`, no flips.
    fn default() -> Self {
        WeakStrongParams {
            d: 200,
            n: 40,
            n_test: default_n_test(),
            weak_norm: 1.0,
            strong_norm: 5.0,
            strong_fraction: 0.5,
            sigma_p: 1.0,
            p_flip: 0.0,
        }
    }
}

impl WeakStrongParams {
    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DataError> {
        check_sizes(self.d, self.n, self.n_test)?;
        if self.d < 3 {
            return Err(invalid("d", self.d, "must be >= 3 (two features and the noise)"));
        }
        for (k, v) in [("weak_norm", self.weak_norm), ("strong_norm", self.strong_norm)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(k, v, "must be finite and >= 0"));
            }
        }
        if !(0.0..=1.0).contains(&self.strong_fraction) {
            return Err(invalid("strong_fraction", self.strong_fraction, "must be in [0, 1]"));
        }
        if !(self.sigma_p.is_finite() && self.sigma_p > 0.0) {
            return Err(invalid("sigma_p", self.sigma_p, "must be finite and > 0"));
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return Err(invalid("p_flip", self.p_flip, "must be in [0, 0.5)"));
        }
        Ok(())
    }

    /// Draw a training split of `n` and a weak-only test split of `n_test`
    /// samples. Draws per sample, in order: the clean label, the flip
    /// (`p_flip > 0` only), the strong feature's presence (training split,
    /// `0 < ρ < 1` only), the noise (`d` normals; the first two are drawn and
    /// zeroed by the projection).
    ///
    /// ```
    /// use gengap_data::{WeakStrongParams, rng};
    /// let p = WeakStrongParams { d: 50, n: 400, n_test: 30, strong_fraction: 0.25, ..Default::default() };
    /// let ds = p.generate(&mut rng::seeded(2)).unwrap();
    /// assert_eq!(ds.train.x.dim(), (400, 3, 50));
    /// // About a quarter of the training points carry u; no test point does.
    /// let k = ds.train.strong_feature.iter().filter(|&&b| b).count();
    /// assert!((70..130).contains(&k), "{k}");
    /// assert!(ds.test.strong_feature.iter().all(|&b| !b));
    /// assert!(ds.test.x.slice(ndarray::s![.., 1, ..]).iter().all(|&v| v == 0.0));
    /// ```
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let mut weak = try_zeros("weak feature", ndarray::Ix1(self.d))?;
        weak[1] = self.weak_norm;
        let mut strong = try_zeros("strong feature", ndarray::Ix2(1, self.d))?;
        strong[[0, 0]] = self.strong_norm;
        let train = self.split(rng, &weak, &strong.row(0).to_owned(), self.n, self.strong_fraction)?;
        let test = self.split(rng, &weak, &strong.row(0).to_owned(), self.n_test, 0.0)?;
        Ok(Dataset {
            model: ModelKind::WeakStrong,
            signal: weak,
            extra_signal: Some(strong),
            train,
            test,
        })
    }

    fn split<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        weak: &Array1<f64>,
        strong: &Array1<f64>,
        n: usize,
        rho: f64,
    ) -> Result<Split, DataError> {
        let d = self.d;
        let mut x = try_zeros("inputs", ndarray::Ix3(n, 3, d))?;
        let mut noise = try_zeros("noise vectors", ndarray::Ix3(n, 1, d))?;
        let mut y = Array1::<f64>::zeros(n);
        let mut y_clean = Array1::<f64>::zeros(n);
        let mut has_strong = Vec::with_capacity(n);
        for i in 0..n {
            let yc = rng::rademacher(rng);
            let flipped = self.p_flip > 0.0 && rng::bernoulli(rng, self.p_flip);
            y_clean[i] = yc;
            y[i] = if flipped { -yc } else { yc };
            let b = if rho <= 0.0 {
                false
            } else if rho >= 1.0 {
                true
            } else {
                rng::bernoulli(rng, rho)
            };
            has_strong.push(b);
            let mut xi = noise.slice_mut(s![i, 0, ..]);
            for (c, e) in xi.iter_mut().enumerate() {
                let z = self.sigma_p * rng::standard_normal(rng);
                // Orthogonal to u = e₁ and v = e₂; the draw is still made.
                *e = if c < 2 { 0.0 } else { z };
            }
            x.slice_mut(s![i, 0, ..]).assign(&(weak * yc));
            if b {
                x.slice_mut(s![i, 1, ..]).assign(&(strong * yc));
            }
            let xi = xi.to_owned();
            x.slice_mut(s![i, 2, ..]).assign(&xi);
        }
        Ok(Split {
            x,
            y,
            y_clean,
            noise,
            signal_patch: vec![0; n],
            noise_patches: Array2::<usize>::from_elem((n, 1), 2),
            feature_noise_patch: None,
            strong_feature: has_strong,
        })
    }
}
