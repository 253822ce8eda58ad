//! The \[C22\] benign-overfitting model (Cao, Chen, Belkin, Gu, NeurIPS 2022), `docs/theory.md#data-models`.

use ndarray::{Array1, Array2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

/// Covariance of the \[C22\] noise patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// `ξ ~ N(0, σ_p²(I − μμᵀ/‖μ‖²))`: Gaussian, orthogonal to μ (the paper's model).
    #[default]
    Orthogonal,
    /// `ξ ~ N(0, σ_p² I)`.
    Isotropic,
}

/// Direction of the \[C22\] signal vector μ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// `μ = ‖μ‖·e₁`.
    #[default]
    E1,
    /// `μ = ‖μ‖·u` with `u` uniform on the unit sphere (drawn from the RNG).
    RandomUnit,
}

pub(crate) fn default_n_test() -> usize {
    1000
}

/// Parameters of the \[C22\] "benign overfitting" model (Cao et al., NeurIPS 2022).
///
/// `x = (y·μ, ξ)` in random patch order, `ξ ~ N(0, σ_p²(I − μμᵀ/‖μ‖²))`
/// (or `N(0, σ_p² I)`), `y` Rademacher, each label flipped with probability
/// `p_flip`. `SNR = ‖μ‖/(σ_p √d)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct C22Params {
    /// Patch dimension `d` (≥ 2).
    pub d: usize,
    /// Number of training samples `n` (≥ 1).
    pub n: usize,
    /// Number of fresh test samples (≥ 1). Default 1000.
    #[serde(default = "default_n_test")]
    pub n_test: usize,
    /// Signal strength `‖μ‖` (≥ 0).
    pub mu_norm: f64,
    /// Noise scale `σ_p` (> 0).
    pub sigma_p: f64,
    /// Noise covariance: `orthogonal` (default) or `isotropic`.
    #[serde(default)]
    pub noise: NoiseKind,
    /// Direction of μ: `e1` (default) or `random_unit`.
    #[serde(default)]
    pub direction: Direction,
    /// Label-flip probability, in `[0, 1/2)`. Default 0.
    #[serde(default)]
    pub p_flip: f64,
}

impl Default for C22Params {
    /// The optimizer table's \[C22\] task: `d = 1000`, `n = 100`,
    /// `n_test = 1000`, `‖μ‖ = 12`, `σ_p = 1`, orthogonal noise, `μ ∥ e₁`, no
    /// label flips (SNR above the benign boundary).
    fn default() -> Self {
        C22Params {
            d: 1000,
            n: 100,
            n_test: default_n_test(),
            mu_norm: 12.0,
            sigma_p: 1.0,
            noise: NoiseKind::default(),
            direction: Direction::default(),
            p_flip: 0.0,
        }
    }
}

impl C22Params {
    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DataError> {
        check_sizes(self.d, self.n, self.n_test)?;
        check_finite_nonneg("mu_norm", self.mu_norm)?;
        check_finite_pos("sigma_p", self.sigma_p)?;
        if !(0.0..0.5).contains(&self.p_flip) {
            return Err(invalid("p_flip", self.p_flip, "must be in [0, 0.5)"));
        }
        Ok(())
    }

    /// `SNR = ‖μ‖ / (σ_p √d)` (\[C22\], Eq. 3.1).
    pub fn snr(&self) -> f64 {
        self.mu_norm / (self.sigma_p * (self.d as f64).sqrt())
    }

    /// Draw a training split of `n` and a test split of `n_test` samples.
    ///
    /// The draw order is fixed: μ's direction (if random), then the training
    /// samples, then the test samples, so a seed fixes the whole data set.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let d = self.d;
        let mut signal = try_zeros("signal vector", ndarray::Ix1(d))?;
        match self.direction {
            Direction::E1 => signal[0] = self.mu_norm,
            Direction::RandomUnit => {
                let u: Array1<f64> = (0..d).map(|_| rng::standard_normal(rng)).collect();
                let norm = u.dot(&u).sqrt();
                signal.assign(&(u * (self.mu_norm / norm)));
            }
        }
        let train = self.split(rng, &signal, self.n)?;
        let test = self.split(rng, &signal, self.n_test)?;
        Ok(Dataset {
            model: ModelKind::C22,
            signal,
            extra_signal: None,
            train,
            test,
        })
    }

    fn split<R: Rng + ?Sized>(&self, rng: &mut R, mu: &Array1<f64>, n: usize) -> Result<Split, DataError> {
        let d = self.d;
        let mu_sq = mu.dot(mu);
        let mut x = try_zeros("inputs", ndarray::Ix3(n, 2, d))?;
        let mut noise = try_zeros("noise vectors", ndarray::Ix3(n, 1, d))?;
        let mut y = Array1::<f64>::zeros(n);
        let mut y_clean = Array1::<f64>::zeros(n);
        let mut signal_patch = Vec::with_capacity(n);
        let mut noise_patches = Array2::<usize>::zeros((n, 1));
        for i in 0..n {
            let yc = rng::rademacher(rng);
            let flipped = self.p_flip > 0.0 && rng::bernoulli(rng, self.p_flip);
            y_clean[i] = yc;
            y[i] = if flipped { -yc } else { yc };
            let sp = rng::uniform_index(rng, 2);
            signal_patch.push(sp);
            noise_patches[[i, 0]] = 1 - sp;
            let mut xi = noise.slice_mut(s![i, 0, ..]);
            for v in xi.iter_mut() {
                *v = self.sigma_p * rng::standard_normal(rng);
            }
            if self.noise == NoiseKind::Orthogonal && mu_sq > 0.0 {
                let c: f64 = mu.dot(&xi) / mu_sq;
                xi.scaled_add(-c, mu);
            }
            x.slice_mut(s![i, sp, ..]).assign(&(mu * yc));
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
