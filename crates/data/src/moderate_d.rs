//! The single-vector model of Karhadkar, George, Murray, Montúfar, Needell
//! (NeurIPS 2024), `docs/theory.md#moderate-d-single-vector-data`.

use ndarray::{Array1, Array2, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::*;

fn default_gamma() -> f64 {
    0.1
}

fn default_p_flip() -> f64 {
    0.1
}

/// Parameters of the single-vector model of Karhadkar et al. (NeurIPS 2024,
/// "Benign overfitting in leaky ReLU networks with moderate input dimension"):
/// one input vector per sample,
///
/// `x = √γ·ỹ·μ + √(1 − γ)·ξ`,  `μ = e₁`,  `ξ ~ N(0, I/d)` projected orthogonally to `μ`,
///
/// with `ỹ` the clean Rademacher label. *Training* labels are flipped with
/// probability `p_flip`; test labels are clean, so the test error of a split
/// is its error against the clean label. `‖x‖² ≈ 1`.
///
/// In the data set's terms (so that the reduced engine's `X = A·S` covers it):
/// one patch per sample (`P = 1`), `signal = √γ·μ`, and the sample's one noise
/// vector `noise[i, 0] = √(1 − γ)·ξ_i` sits in the same patch as the signal
/// (`noise_patches[i, 0] = signal_patch[i] = 0`), so `x_i = ỹ_i·signal + noise[i, 0]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerateDParams {
    /// Input dimension `d` (≥ 2).
    pub d: usize,
    /// Number of training samples `n` (≥ 1).
    pub n: usize,
    /// Number of fresh test samples (≥ 1). Default 1000.
    #[serde(default = "default_n_test")]
    pub n_test: usize,
    /// The signal fraction `γ ∈ [0, 1]` of the squared norm. Default 0.1 (the paper's).
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Training-label flip probability, in `[0, 1/2)`. Default 0.1 (the paper's).
    #[serde(default = "default_p_flip")]
    pub p_flip: f64,
}

impl Default for ModerateDParams {
    /// `d = 500`, `n = 50`, `n_test = 1000`, `γ = 0.1`, `p_flip = 0.1`.
    fn default() -> Self {
        ModerateDParams {
            d: 500,
            n: 50,
            n_test: default_n_test(),
            gamma: default_gamma(),
            p_flip: default_p_flip(),
        }
    }
}

impl ModerateDParams {
    /// Check every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DataError> {
        check_sizes(self.d, self.n, self.n_test)?;
        if self.d < 2 {
            return Err(invalid("d", self.d, "must be >= 2 (the signal and noise)"));
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return Err(invalid("gamma", self.gamma, "must be in [0, 1]"));
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return Err(invalid("p_flip", self.p_flip, "must be in [0, 0.5)"));
        }
        Ok(())
    }

    /// Draw a training split of `n` and a test split of `n_test` samples
    /// (flips in the training split only). Draws per sample, in order: the
    /// clean label, the flip (training split, `p_flip > 0` only), the noise
    /// (`d` normals, the first one drawn and discarded by the projection).
    ///
    /// ```
    /// use gengap_data::{ModerateDParams, rng};
    /// let ds = ModerateDParams { d: 400, n: 30, n_test: 20, ..Default::default() }.generate(&mut rng::seeded(4)).unwrap();
    /// assert_eq!(ds.train.x.dim(), (30, 1, 400));
    /// // x = ỹ·signal + noise, the noise orthogonal to the signal, ‖x‖² ≈ 1.
    /// let x0 = ds.train.x.slice(ndarray::s![0, 0, ..]).to_owned();
    /// let rebuilt = &ds.signal * ds.train.y_clean[0] + &ds.train.noise.slice(ndarray::s![0, 0, ..]);
    /// assert!((&x0 - &rebuilt).iter().all(|v| v.abs() < 1e-15));
    /// assert!((x0.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 0.25);
    /// assert!(ds.test.y == ds.test.y_clean);
    /// ```
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        self.validate()?;
        let mut signal = try_zeros("signal vector", ndarray::Ix1(self.d))?;
        signal[0] = self.gamma.sqrt();
        let train = self.split(rng, &signal, self.n, self.p_flip)?;
        let test = self.split(rng, &signal, self.n_test, 0.0)?;
        Ok(Dataset {
            model: ModelKind::ModerateD,
            signal,
            extra_signal: None,
            train,
            test,
        })
    }

    fn split<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        signal: &Array1<f64>,
        n: usize,
        p_flip: f64,
    ) -> Result<Split, DataError> {
        let d = self.d;
        let mut x = try_zeros("inputs", ndarray::Ix3(n, 1, d))?;
        let mut noise = try_zeros("noise vectors", ndarray::Ix3(n, 1, d))?;
        let mut y = Array1::<f64>::zeros(n);
        let mut y_clean = Array1::<f64>::zeros(n);
        let scale = ((1.0 - self.gamma) / d as f64).sqrt();
        for i in 0..n {
            let yc = rng::rademacher(rng);
            let flipped = p_flip > 0.0 && rng::bernoulli(rng, p_flip);
            y_clean[i] = yc;
            y[i] = if flipped { -yc } else { yc };
            let mut xi = noise.slice_mut(s![i, 0, ..]);
            for (c, e) in xi.iter_mut().enumerate() {
                let z = scale * rng::standard_normal(rng);
                // Orthogonal to μ = e₁; the draw is still made.
                *e = if c == 0 { 0.0 } else { z };
            }
            let xi = xi.to_owned();
            x.slice_mut(s![i, 0, ..]).assign(&(signal * yc + &xi));
        }
        Ok(Split {
            x,
            y,
            y_clean,
            noise,
            signal_patch: vec![0; n],
            noise_patches: Array2::<usize>::zeros((n, 1)),
            feature_noise_patch: None,
            strong_feature: vec![],
        })
    }
}
