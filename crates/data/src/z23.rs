//! The \[Z23\] sparse-signal / dense-noise model (Zou, Cao, Li, Gu, ICLR 2023), `docs/theory.md#data-models`.

use ndarray::{Array1, Array2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

pub(crate) fn default_patches() -> usize {
    2
}

/// Parameters of the \[Z23\] sparse-signal / dense-noise model (Zou et al., ICLR 2023).
///
/// `v = ‖v‖·e₁`; one patch `y·v`, one patch `ξ − α·y·v`, the other `P − 2`
/// patches `ξ`; each `ξ` is `N(0, σ_p²)` on `s` coordinates drawn uniformly
/// from `{2, …, d}` and zero elsewhere (`s = d − 1` is fully dense). The
/// clean label decides the patches; the observed label is flipped with
/// probability `p_flip`, independently for every training and test sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Z23Params {
    /// Patch dimension `d` (≥ 2).
    pub d: usize,
    /// Number of training samples `n` (≥ 1).
    pub n: usize,
    /// Number of fresh test samples (≥ 1). Default 1000.
    #[serde(default = "default_n_test")]
    pub n_test: usize,
    /// Signal strength `‖v‖` (≥ 0).
    pub v_norm: f64,
    /// Noise scale `σ_p` (> 0) of each nonzero noise coordinate.
    pub sigma_p: f64,
    /// Noise support size `s`, in `1..=d−1`.
    pub s: usize,
    /// Feature-noise strength `α ≥ 0`.
    #[serde(default)]
    pub alpha: f64,
    /// Number of patches `P ≥ 2`. Default 2.
    #[serde(default = "default_patches")]
    pub patches: usize,
    /// Label-flip probability, in `[0, 1/2)`. Default 0.
    #[serde(default)]
    pub p_flip: f64,
}

impl Default for Z23Params {
    /// The `adam-vs-gd` task: `d = 1000`, `n = 200`, `n_test = 1000`,
    /// `‖v‖ = 1`, `σ_p = 0.1`, `s = 100`, `α = 0.2`, `P = 2`.
    fn default() -> Self {
        Z23Params {
            d: 1000,
            n: 200,
            n_test: default_n_test(),
            v_norm: 1.0,
            sigma_p: 0.1,
            s: 100,
            alpha: 0.2,
            patches: default_patches(),
            p_flip: 0.0,
        }
    }
}

impl Z23Params {
    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DataError> {
        check_sizes(self.d, self.n, self.n_test)?;
        check_finite_nonneg("v_norm", self.v_norm)?;
        check_finite_pos("sigma_p", self.sigma_p)?;
        if self.s == 0 || self.s > self.d - 1 {
            return Err(invalid("s", self.s, "must be in 1..=d-1"));
        }
        check_finite_nonneg("alpha", self.alpha)?;
        if self.patches < 2 {
            return Err(invalid("patches", self.patches, "must be >= 2"));
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return Err(invalid("p_flip", self.p_flip, "must be in [0, 0.5)"));
        }
        Ok(())
    }

    /// Draw a training split of `n` and a test split of `n_test` samples.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let mut signal = try_zeros("signal vector", ndarray::Ix1(self.d))?;
        signal[0] = self.v_norm;
        let train = self.split(rng, &signal, self.n)?;
        let test = self.split(rng, &signal, self.n_test)?;
        Ok(Dataset {
            model: ModelKind::Z23,
            signal,
            extra_signal: None,
            train,
            test,
        })
    }

    fn split<R: Rng + ?Sized>(&self, rng: &mut R, v: &Array1<f64>, n: usize) -> Result<Split, DataError> {
        let (d, pp) = (self.d, self.patches);
        let mut x = try_zeros("inputs", ndarray::Ix3(n, pp, d))?;
        let mut noise = try_zeros("noise vectors", ndarray::Ix3(n, pp - 1, d))?;
        let mut y = Array1::<f64>::zeros(n);
        let mut y_clean = Array1::<f64>::zeros(n);
        let mut signal_patch = Vec::with_capacity(n);
        let mut noise_patches = Array2::<usize>::zeros((n, pp - 1));
        let mut pool: Vec<usize> = (1..d).collect();
        for i in 0..n {
            let yi = rng::rademacher(rng);
            // No draw without flips, so a data set with p_flip = 0 is the same as before the option.
            let flipped = self.p_flip > 0.0 && rng::bernoulli(rng, self.p_flip);
            y_clean[i] = yi;
            y[i] = if flipped { -yi } else { yi };
            // perm[0] is the signal patch, perm[1] the feature-noise patch.
            let perm = rng::permutation(rng, pp);
            signal_patch.push(perm[0]);
            for k in 0..pp - 1 {
                noise_patches[[i, k]] = perm[k + 1];
                let support = rng::sample_distinct(rng, &mut pool, self.s);
                for &c in &support {
                    noise[[i, k, c]] = self.sigma_p * rng::standard_normal(rng);
                }
                x.slice_mut(s![i, perm[k + 1], ..]).assign(&noise.slice(s![i, k, ..]));
            }
            x.slice_mut(s![i, perm[0], ..]).assign(&(v * yi));
            x.slice_mut(s![i, perm[1], ..]).scaled_add(-self.alpha * yi, v);
        }
        Ok(Split {
            x,
            y_clean,
            y,
            noise,
            signal_patch,
            noise_patches,
            feature_noise_patch: Some(0),
            strong_feature: vec![],
        })
    }
}
