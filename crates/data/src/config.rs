//! [`DataConfig`]: any data model, selected by `model = "…"` in a config.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

/// Any data model, selected by `model = "c22"`, `"z23"`, `"noisy_mnist"`, `"xor"`, `"moderate_d"` or `"weak_strong"` in a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum DataConfig {
    /// The \[C22\] benign-overfitting model.
    C22(C22Params),
    /// The \[Z23\] sparse-signal / dense-noise model.
    Z23(Z23Params),
    /// Real MNIST digits as the signal patch, dense Gaussian noise patches (`model = "noisy_mnist"`).
    NoisyMnist(NoisyMnistParams),
    /// The \[M24\] XOR-type model (`model = "xor"`).
    Xor(XorParams),
    /// The single-vector model of Karhadkar et al. (NeurIPS 2024) (`model = "moderate_d"`).
    ModerateD(ModerateDParams),
    /// Weak features in every point, strong ones in a fraction (`model = "weak_strong"`).
    WeakStrong(WeakStrongParams),
}

impl DataConfig {
    /// Validate the selected model's parameters.
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            DataConfig::C22(p) => p.validate(),
            DataConfig::Z23(p) => p.validate(),
            DataConfig::NoisyMnist(p) => p.validate(),
            DataConfig::Xor(p) => p.validate(),
            DataConfig::ModerateD(p) => p.validate(),
            DataConfig::WeakStrong(p) => p.validate(),
        }
    }
    /// The folder the model reads its data from (`noisy_mnist`'s
    /// `data_dir`), to resolve a relative path; `None` for the synthetic models.
    pub fn data_dir_mut(&mut self) -> Option<&mut String> {
        match self {
            DataConfig::NoisyMnist(p) => Some(&mut p.data_dir),
            _ => None,
        }
    }
    /// Generate the data set of the selected model: a training split of `n`
    /// and a test split of `n_test` samples, with every latent part.
    ///
    /// ```
    /// use gengap_data::{C22Params, DataConfig, rng};
    ///
    /// let data = DataConfig::C22(C22Params { d: 100, n: 20, n_test: 50, mu_norm: 5.0, ..Default::default() });
    /// let ds = data.generate(&mut rng::stream(42, 0)).unwrap();
    /// assert_eq!(ds.train.x.dim(), (20, 2, 100)); // (n, P, d)
    /// assert_eq!(ds.test.n(), 50);
    /// // The same seed and stream give the same data set.
    /// let again = data.generate(&mut rng::stream(42, 0)).unwrap();
    /// assert_eq!(ds.train.x, again.train.x);
    /// ```
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        match self {
            DataConfig::C22(p) => p.generate(rng),
            DataConfig::Z23(p) => p.generate(rng),
            DataConfig::NoisyMnist(p) => p.generate(rng),
            DataConfig::Xor(p) => p.generate(rng),
            DataConfig::ModerateD(p) => p.generate(rng),
            DataConfig::WeakStrong(p) => p.generate(rng),
        }
    }
    /// Training samples `n`.
    pub fn n(&self) -> usize {
        match self {
            DataConfig::C22(p) => p.n,
            DataConfig::Z23(p) => p.n,
            DataConfig::NoisyMnist(p) => p.n,
            DataConfig::Xor(p) => p.n,
            DataConfig::ModerateD(p) => p.n,
            DataConfig::WeakStrong(p) => p.n,
        }
    }
    /// Fresh test samples.
    pub fn n_test(&self) -> usize {
        match self {
            DataConfig::C22(p) => p.n_test,
            DataConfig::Z23(p) => p.n_test,
            DataConfig::NoisyMnist(p) => p.n_test,
            DataConfig::Xor(p) => p.n_test,
            DataConfig::ModerateD(p) => p.n_test,
            DataConfig::WeakStrong(p) => p.n_test,
        }
    }

    /// Patches per sample `P` (a flattened sample has `P·d` coordinates).
    pub fn patches(&self) -> usize {
        match self {
            DataConfig::C22(_) | DataConfig::Xor(_) => 2,
            DataConfig::Z23(p) => p.patches,
            DataConfig::NoisyMnist(p) => p.patches,
            DataConfig::ModerateD(_) => 1,
            DataConfig::WeakStrong(_) => 3,
        }
    }

    /// Patch dimension `d`.
    pub fn d(&self) -> usize {
        match self {
            DataConfig::C22(p) => p.d,
            DataConfig::Z23(p) => p.d,
            DataConfig::NoisyMnist(_) => crate::mnist::PIXELS,
            DataConfig::Xor(p) => p.d,
            DataConfig::ModerateD(p) => p.d,
            DataConfig::WeakStrong(p) => p.d,
        }
    }
}
