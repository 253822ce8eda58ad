//! Noisy MNIST: a real digit as the signal patch, dense Gaussian noise patches (`docs/theory.md#data-models`).

use ndarray::{Array1, Array2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

fn default_mnist_dir() -> String {
    mnist::DEFAULT_DIR.to_string()
}
fn one() -> f64 {
    1.0
}

/// Noisy MNIST (the talk's motivating example): a binary task between two
/// digits; each input's signal patch is a real digit (scaled by
/// `signal_scale`), the other `P − 1` patches are dense `N(0, σ_p² I)` noise.
/// Labels: `+1` for `digits[0]`, `−1` for `digits[1]`. Training and test
/// digits are disjoint, drawn at random from the cache in `data_dir`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoisyMnistParams {
    /// Folder with the IDX cache (`cargo xtask fetch-mnist`). Default `data/mnist`.
    #[serde(default = "default_mnist_dir")]
    pub data_dir: String,
    /// The two digits (`+1` class, `−1` class), distinct, 0–9.
    pub digits: [u8; 2],
    /// Training samples `n ≥ 2`.
    pub n: usize,
    /// Test samples `≥ 1`.
    pub n_test: usize,
    /// Patches `P ≥ 2`. Default 2.
    #[serde(default = "default_patches")]
    pub patches: usize,
    /// Noise scale `σ_p > 0` per pixel.
    pub sigma_p: f64,
    /// Factor on the digit patch (> 0). Default 1.
    #[serde(default = "one")]
    pub signal_scale: f64,
}

impl NoisyMnistParams {
    /// Check every field.
    pub fn validate(&self) -> Result<(), DataError> {
        if self.digits[0] > 9 || self.digits[1] > 9 || self.digits[0] == self.digits[1] {
            return Err(invalid(
                "digits",
                format!("{:?}", self.digits),
                "must be two distinct digits 0-9",
            ));
        }
        if self.n < 2 {
            return Err(invalid("n", self.n, "must be >= 2"));
        }
        if self.n_test == 0 {
            return Err(invalid("n_test", self.n_test, "must be >= 1"));
        }
        if self.patches < 2 {
            return Err(invalid("patches", self.patches, "must be >= 2"));
        }
        check_finite_pos("sigma_p", self.sigma_p)?;
        check_finite_pos("signal_scale", self.signal_scale)
    }

    /// Load the digits and draw the two splits (digits shuffled by `rng`).
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let m = mnist::Mnist::load_dir(std::path::Path::new(&self.data_dir)).map_err(|e| DataError::Mnist {
            path: self.data_dir.clone(),
            source: std::sync::Arc::new(e),
        })?;
        let mut pool: Vec<(usize, f64)> = m.of_digit(self.digits[0]).into_iter().map(|i| (i, 1.0)).collect();
        pool.extend(m.of_digit(self.digits[1]).into_iter().map(|i| (i, -1.0)));
        if pool.len() < self.n.saturating_add(self.n_test) {
            // Name the key the user wrote (the larger of the two), with its
            // own value, not the sum under `n_test`.
            let (key, v) = if self.n >= self.n_test {
                ("n", self.n)
            } else {
                ("n_test", self.n_test)
            };
            return Err(invalid(key, v, "n + n_test exceeds the digits available"));
        }
        let perm = rng::permutation(rng, pool.len());
        let pick: Vec<(usize, f64)> = perm.iter().map(|&k| pool[k]).collect();
        let train = self.split(rng, &m, &pick[..self.n])?;
        let test = self.split(rng, &m, &pick[self.n..self.n + self.n_test])?;
        let d = m.images.ncols();
        // Half class-mean difference of the training digits: ½(mean₊ − mean₋).
        let (mut pos, mut neg) = (Array1::<f64>::zeros(d), Array1::<f64>::zeros(d));
        let (mut np, mut nn) = (0.0f64, 0.0f64);
        for &(img, y) in &pick[..self.n] {
            if y > 0.0 {
                pos.scaled_add(self.signal_scale, &m.images.row(img));
                np += 1.0;
            } else {
                neg.scaled_add(self.signal_scale, &m.images.row(img));
                nn += 1.0;
            }
        }
        let signal = (pos / np.max(1.0) - neg / nn.max(1.0)) * 0.5;
        // All training digits but the last: with `signal` they span every digit patch.
        let mut extra = Array2::<f64>::zeros((self.n - 1, d));
        for (k, &(img, _)) in pick[..self.n - 1].iter().enumerate() {
            extra.row_mut(k).assign(&(&m.images.row(img) * self.signal_scale));
        }
        Ok(Dataset {
            model: ModelKind::NoisyMnist,
            signal,
            extra_signal: Some(extra),
            train,
            test,
        })
    }

    fn split<R: Rng + ?Sized>(&self, rng: &mut R, m: &mnist::Mnist, pick: &[(usize, f64)]) -> Result<Split, DataError> {
        let (n, pp, d) = (pick.len(), self.patches, m.images.ncols());
        let mut x = try_zeros("inputs", ndarray::Ix3(n, pp, d))?;
        let mut noise = try_zeros("noise vectors", ndarray::Ix3(n, pp - 1, d))?;
        let mut y = Array1::<f64>::zeros(n);
        let mut signal_patch = Vec::with_capacity(n);
        let mut noise_patches = Array2::<usize>::zeros((n, pp - 1));
        for (i, &(img, yi)) in pick.iter().enumerate() {
            y[i] = yi;
            let perm = rng::permutation(rng, pp);
            signal_patch.push(perm[0]);
            x.slice_mut(s![i, perm[0], ..])
                .assign(&(&m.images.row(img) * self.signal_scale));
            for k in 0..pp - 1 {
                noise_patches[[i, k]] = perm[k + 1];
                for v in noise.slice_mut(s![i, k, ..]).iter_mut() {
                    *v = self.sigma_p * rng::standard_normal(rng);
                }
                x.slice_mut(s![i, perm[k + 1], ..]).assign(&noise.slice(s![i, k, ..]));
            }
        }
        Ok(Split {
            x,
            y_clean: y.clone(),
            y,
            noise,
            signal_patch,
            noise_patches,
            feature_noise_patch: None,
            strong_feature: vec![],
        })
    }
}
