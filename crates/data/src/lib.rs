//! # gengap-data — the data models of the benign-overfitting and Adam-vs-GD papers
//!
//! Every input has `P` patches of dimension `d`, `x = (x⁽¹⁾, …, x⁽ᴾ⁾)`, and a
//! Rademacher label `y ∈ {−1, +1}`. Two models are provided (`docs/theory.md#data-models`):
//!
//! * [`C22Params`] — Cao, Chen, Belkin, Gu, *Benign Overfitting in Two-layer
//!   CNNs* (NeurIPS 2022): `P = 2`, one patch `y·μ`, one patch
//!   `ξ ~ N(0, σ_p²(I − μμᵀ/‖μ‖²))`, optional label flips.
//!   `SNR = ‖μ‖ / (σ_p √d)`.
//! * [`Z23Params`] — Zou, Cao, Li, Gu, *Understanding the Generalization of
//!   Adam…* (ICLR 2023): a sparse signal `v = ‖v‖e₁`, one patch `y·v`, one
//!   patch `ξ − α·y·v` (feature noise), the rest `ξ`, each `ξ` Gaussian on
//!   `s` random coordinates of `{2, …, d}`.
//!
//! Generators take an explicit RNG (see [`rng`]) and return a [`Dataset`]:
//! the patches as an `(n, P, d)` tensor, the labels, and every latent part
//! (the signal vector, each `ξ`, which patch is which) for a training split
//! and a fresh test split drawn from the same distribution.
//!
//! Parameters are plain serde structs with `deny_unknown_fields`; call
//! `validate()` (done by the generators) to get a [`DataError`] naming the
//! offending field and value.

pub mod mnist;
pub mod rng;

// Links the system OpenBLAS, which ndarray's `blas` feature calls for GEMM/dot.
use openblas_src as _;

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Errors of the data crate. Each carries the offending field and value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DataError {
    /// A parameter is out of its valid range.
    #[error("invalid data parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// The config key.
        field: &'static str,
        /// The rejected value, printed.
        value: String,
        /// What the valid range is.
        reason: &'static str,
    },
    /// An array of the data set could not be allocated.
    #[error("cannot allocate the {what} ({bytes} bytes): the sizes are too large for this machine's memory")]
    Alloc {
        /// Which array.
        what: &'static str,
        /// Its size in bytes (saturated).
        bytes: u128,
    },
    /// The MNIST digits could not be read.
    #[error("cannot load MNIST digits from {path}: {source} (run `cargo xtask fetch-mnist`)")]
    Mnist {
        /// The data folder.
        path: String,
        /// The reader's error.
        #[source]
        source: std::sync::Arc<mnist::IdxError>,
    },
}

/// A zero array of shape `dim`, allocated fallibly: a size that overflows or
/// that the allocator refuses is a [`DataError::Alloc`], not an abort. Used
/// for the data sets' large arrays, behind the experiments' memory estimates.
pub fn try_zeros<D: ndarray::Dimension>(what: &'static str, dim: D) -> Result<ndarray::Array<f64, D>, DataError> {
    let dims = dim.slice();
    let bytes = dims.iter().fold(8u128, |a, &b| a.saturating_mul(b as u128));
    let fail = || DataError::Alloc { what, bytes };
    let len = dims
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .filter(|l| l.checked_mul(8).is_some_and(|b| b <= isize::MAX as usize))
        .ok_or_else(fail)?;
    let mut v: Vec<f64> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| fail())?;
    v.resize(len, 0.0);
    Ok(ndarray::Array::from_shape_vec(dim, v).expect("the length is the shape's product"))
}

fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> DataError {
    DataError::InvalidParam {
        field,
        value: value.to_string(),
        reason,
    }
}

/// The sizes every synthetic model shares: `d ≥ 2`, `n ≥ 1`, `n_test ≥ 1`.
fn check_sizes(d: usize, n: usize, n_test: usize) -> Result<(), DataError> {
    if d < 2 {
        return Err(invalid("d", d, "must be >= 2"));
    }
    if n == 0 {
        return Err(invalid("n", n, "must be >= 1"));
    }
    if n_test == 0 {
        return Err(invalid("n_test", n_test, "must be >= 1"));
    }
    Ok(())
}

fn check_finite_nonneg(field: &'static str, v: f64) -> Result<(), DataError> {
    if !v.is_finite() || v < 0.0 {
        return Err(invalid(field, v, "must be finite and >= 0"));
    }
    Ok(())
}

fn check_finite_pos(field: &'static str, v: f64) -> Result<(), DataError> {
    if !v.is_finite() || v <= 0.0 {
        return Err(invalid(field, v, "must be finite and > 0"));
    }
    Ok(())
}

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

fn default_n_test() -> usize {
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
        })
    }
}

/// What the reduced-space solver needs of a \[C22\] training set and an
/// initialisation, computed without ever holding the `n × d` data: the Gram
/// matrix of `S = [μ; ξ_1; …; ξ_n]`, `S·W⁽⁰⁾ᵀ` and `W⁽⁰⁾W⁽⁰⁾ᵀ`, plus the labels
/// and which patch carries the signal. See [`C22Params::blocked_products`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlockedC22 {
    /// Labels `y_i`.
    pub y: Array1<f64>,
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
    /// (coordinate 0 of ξ is 0) or isotropic. Labels are never flipped here
    /// (`p_flip` must be 0). The draws: labels and patch order from `rng`;
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
        if self.p_flip != 0.0 {
            return Err(invalid("p_flip", self.p_flip, "blocked products do not flip labels"));
        }
        if !sigma0.is_finite() || sigma0 < 0.0 {
            return Err(invalid("sigma0", sigma0, "must be finite and >= 0"));
        }
        let (n, d) = (self.n, self.d);
        let mut y = Array1::zeros(n);
        let mut signal_patch = Vec::with_capacity(n);
        for i in 0..n {
            y[i] = rng::rademacher(rng);
            signal_patch.push(rng::uniform_index(rng, 2));
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
            signal_patch,
            gram,
            s_w0t,
            w0_w0t,
        })
    }
}

fn default_patches() -> usize {
    2
}

/// Parameters of the \[Z23\] sparse-signal / dense-noise model (Zou et al., ICLR 2023).
///
/// `v = ‖v‖·e₁`; one patch `y·v`, one patch `ξ − α·y·v`, the other `P − 2`
/// patches `ξ`; each `ξ` is `N(0, σ_p²)` on `s` coordinates drawn uniformly
/// from `{2, …, d}` and zero elsewhere (`s = d − 1` is fully dense).
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
        let mut signal_patch = Vec::with_capacity(n);
        let mut noise_patches = Array2::<usize>::zeros((n, pp - 1));
        let mut pool: Vec<usize> = (1..d).collect();
        for i in 0..n {
            let yi = rng::rademacher(rng);
            y[i] = yi;
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
            y_clean: y.clone(),
            y,
            noise,
            signal_patch,
            noise_patches,
            feature_noise_patch: Some(0),
        })
    }
}

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
        if pool.len() < self.n + self.n_test {
            return Err(invalid(
                "n_test",
                self.n + self.n_test,
                "n + n_test exceeds the digits available",
            ));
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
        })
    }
}

/// Any data model, selected by `model = "c22"`, `"z23"` or `"noisy_mnist"` in a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum DataConfig {
    /// The \[C22\] benign-overfitting model.
    C22(C22Params),
    /// The \[Z23\] sparse-signal / dense-noise model.
    Z23(Z23Params),
    /// Real MNIST digits as the signal patch, dense Gaussian noise patches (`model = "noisy_mnist"`).
    NoisyMnist(NoisyMnistParams),
}

impl DataConfig {
    /// Validate the selected model's parameters.
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            DataConfig::C22(p) => p.validate(),
            DataConfig::Z23(p) => p.validate(),
            DataConfig::NoisyMnist(p) => p.validate(),
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
    /// Generate the data set of the selected model.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset, DataError> {
        match self {
            DataConfig::C22(p) => p.generate(rng),
            DataConfig::Z23(p) => p.generate(rng),
            DataConfig::NoisyMnist(p) => p.generate(rng),
        }
    }
    /// Patch dimension `d`.
    pub fn d(&self) -> usize {
        match self {
            DataConfig::C22(p) => p.d,
            DataConfig::Z23(p) => p.d,
            DataConfig::NoisyMnist(_) => 784,
        }
    }
}

/// Which generator made a [`Dataset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// \[C22\]: signal μ, one orthogonal (or isotropic) noise patch.
    C22,
    /// \[Z23\]: sparse signal v, `P − 1` sparse Gaussian noise patches.
    Z23,
    /// Real digits + dense Gaussian noise patches.
    NoisyMnist,
}

/// One split (training or test) of a data set, with its latent parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Inputs, shape `(n, P, d)`, patches in their drawn order.
    pub x: Array3<f64>,
    /// Observed labels `y_i ∈ {−1, +1}` (after any flip).
    pub y: Array1<f64>,
    /// Clean labels (before flipping): the sign of the signal patch.
    pub y_clean: Array1<f64>,
    /// The noise vectors `ξ`, shape `(n, P − 1, d)`: `noise[i, k]` sits in
    /// patch `noise_patches[i, k]`. For \[Z23\] the feature-noise patch holds
    /// `ξ − α·y·v` while `noise` stores `ξ` alone.
    pub noise: Array3<f64>,
    /// Index of the signal patch of each sample.
    pub signal_patch: Vec<usize>,
    /// Patch index of each noise vector, shape `(n, P − 1)`.
    pub noise_patches: Array2<usize>,
    /// For \[Z23\], which noise slot `k` carries the feature noise `−α·y·v`
    /// (always slot 0); `None` for \[C22\].
    pub feature_noise_patch: Option<usize>,
}

impl Split {
    /// Number of samples.
    pub fn n(&self) -> usize {
        self.x.len_of(Axis(0))
    }
    /// Number of patches `P`.
    pub fn patches(&self) -> usize {
        self.x.len_of(Axis(1))
    }
    /// Patch dimension `d`.
    pub fn d(&self) -> usize {
        self.x.len_of(Axis(2))
    }
    /// All patches stacked row-wise, shape `(n·P, d)`; row `i·P + p` is `x_i⁽ᵖ⁾`.
    /// This is the matrix `X` of the two-GEMM gradient (`docs/theory.md#loss-and-gradient`).
    pub fn stacked(&self) -> ArrayView2<'_, f64> {
        let (n, p, d) = self.x.dim();
        self.x
            .view()
            .into_shape_with_order((n * p, d))
            .expect("Split::x is in standard layout")
    }
    /// The noise vectors stacked row-wise, shape `(n·(P−1), d)`; row
    /// `i·(P−1) + k` is `noise[i, k]`.
    pub fn noise_stacked(&self) -> ArrayView2<'_, f64> {
        let (n, k, d) = self.noise.dim();
        self.noise
            .view()
            .into_shape_with_order((n * k, d))
            .expect("Split::noise is in standard layout")
    }
}

/// A generated data set: the signal vector, a training split and a test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Which model generated it.
    pub model: ModelKind,
    /// The signal vector: μ for \[C22\], v for \[Z23\]; for noisy MNIST the
    /// half class-mean difference of the training digits.
    pub signal: Array1<f64>,
    /// Further vectors spanning the signal patches (noisy MNIST: the training
    /// digits, all but one, which together with `signal` span all of them).
    #[serde(default)]
    pub extra_signal: Option<Array2<f64>>,
    /// The `n` training samples.
    pub train: Split,
    /// The `n_test` fresh test samples.
    pub test: Split,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c22() -> C22Params {
        C22Params {
            d: 50,
            n: 8,
            n_test: 5,
            mu_norm: 3.0,
            sigma_p: 1.0,
            noise: NoiseKind::Orthogonal,
            direction: Direction::E1,
            p_flip: 0.0,
        }
    }

    #[test]
    fn absurd_sizes_are_an_error_not_an_abort() {
        let huge = C22Params {
            d: 10_000_000_000_000,
            ..c22()
        };
        let e = huge.generate(&mut rng::stream(1, 0)).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Alloc {
                    bytes: 80_000_000_000_000,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("cannot allocate the signal vector"), "{e}");
        let wide = C22Params { n: 1 << 60, ..c22() };
        assert!(matches!(
            wide.generate(&mut rng::stream(1, 0)),
            Err(DataError::Alloc { what: "inputs", .. })
        ));
        assert_eq!(
            try_zeros("x", ndarray::Ix2(3, 4)).unwrap(),
            Array2::<f64>::zeros((3, 4))
        );
    }

    fn z23() -> Z23Params {
        Z23Params {
            d: 60,
            n: 7,
            n_test: 4,
            v_norm: 5.0,
            sigma_p: 0.5,
            s: 10,
            alpha: 0.2,
            patches: 3,
        }
    }

    #[test]
    fn shapes() {
        let ds = c22().generate(&mut rng::seeded(0)).unwrap();
        assert_eq!(ds.train.x.dim(), (8, 2, 50));
        assert_eq!(ds.test.x.dim(), (5, 2, 50));
        assert_eq!(ds.train.noise.dim(), (8, 1, 50));
        assert_eq!(ds.train.stacked().dim(), (16, 50));
        let dz = z23().generate(&mut rng::seeded(0)).unwrap();
        assert_eq!(dz.train.x.dim(), (7, 3, 60));
        assert_eq!(dz.train.noise.dim(), (7, 2, 60));
        assert_eq!(dz.test.noise_patches.dim(), (4, 2));
    }

    #[test]
    fn c22_patches_hold_signal_and_noise() {
        let ds = c22().generate(&mut rng::seeded(1)).unwrap();
        let t = &ds.train;
        for i in 0..t.n() {
            let sp = t.signal_patch[i];
            assert_eq!(t.x.slice(s![i, sp, ..]), &ds.signal * t.y[i]);
            assert_eq!(t.x.slice(s![i, 1 - sp, ..]), t.noise.slice(s![i, 0, ..]));
            assert!(t.y[i] == 1.0 || t.y[i] == -1.0);
        }
    }

    #[test]
    fn orthogonal_noise_is_orthogonal_to_mu() {
        for dir in [Direction::E1, Direction::RandomUnit] {
            let p = C22Params {
                d: 500,
                n: 20,
                direction: dir,
                ..c22()
            };
            let ds = p.generate(&mut rng::seeded(2)).unwrap();
            assert!((ds.signal.dot(&ds.signal).sqrt() - 3.0).abs() < 1e-12);
            for xi in ds.train.noise_stacked().rows() {
                let c = xi.dot(&ds.signal) / (xi.dot(&xi).sqrt() * 3.0);
                assert!(c.abs() < 1e-12, "cos = {c}");
            }
        }
        // Isotropic noise is not orthogonal: the e1 coordinate is nonzero.
        let p = C22Params {
            noise: NoiseKind::Isotropic,
            ..c22()
        };
        let ds = p.generate(&mut rng::seeded(2)).unwrap();
        assert!(ds.train.noise.slice(s![.., 0, 0]).iter().any(|v| v.abs() > 1e-3));
    }

    #[test]
    fn noise_moments_at_d_1e4() {
        let p = C22Params {
            d: 10_000,
            n: 20,
            n_test: 1,
            sigma_p: 1.7,
            noise: NoiseKind::Isotropic,
            ..c22()
        };
        let ds = p.generate(&mut rng::seeded(3)).unwrap();
        let xi = ds.train.noise_stacked();
        let cnt = xi.len() as f64;
        let mean = xi.sum() / cnt;
        let sd = (xi.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / cnt).sqrt();
        assert!((sd / 1.7 - 1.0).abs() < 0.02, "empirical sigma_p {sd}");
        assert!(mean.abs() < 0.02 * 1.7, "mean {mean}");
        // Orthogonal noise loses one dimension: E‖ξ‖² = σ_p²(d − 1).
        let p = C22Params {
            noise: NoiseKind::Orthogonal,
            ..p
        };
        let ds = p.generate(&mut rng::seeded(3)).unwrap();
        let norms: f64 = ds
            .train
            .noise_stacked()
            .rows()
            .into_iter()
            .map(|r| r.dot(&r))
            .sum::<f64>()
            / 20.0;
        assert!((norms / (1.7f64.powi(2) * 9_999.0) - 1.0).abs() < 0.02);
    }

    #[test]
    fn z23_support_and_feature_noise() {
        let p = z23();
        let ds = p.generate(&mut rng::seeded(4)).unwrap();
        let t = &ds.train;
        for i in 0..t.n() {
            for k in 0..2 {
                let xi = t.noise.slice(s![i, k, ..]);
                let nnz = xi.iter().filter(|v| **v != 0.0).count();
                assert_eq!(nnz, p.s, "support size");
                assert_eq!(xi[0], 0.0, "noise never touches the signal coordinate");
                let patch = t.x.slice(s![i, t.noise_patches[[i, k]], ..]);
                let mut expect = xi.to_owned();
                if k == 0 {
                    expect[0] -= p.alpha * t.y[i] * p.v_norm;
                }
                assert_eq!(patch, expect);
            }
            assert_eq!(t.x.slice(s![i, t.signal_patch[i], ..]), &ds.signal * t.y[i]);
        }
        // Empirical sigma on the support.
        let big = Z23Params {
            d: 10_000,
            n: 20,
            s: 5_000,
            ..p
        };
        let ds = big.generate(&mut rng::seeded(5)).unwrap();
        let vals: Vec<f64> = ds.train.noise.iter().copied().filter(|v| *v != 0.0).collect();
        let sd = (vals.iter().map(|v| v * v).sum::<f64>() / vals.len() as f64).sqrt();
        assert!((sd / 0.5 - 1.0).abs() < 0.02, "sd {sd}");
    }

    #[test]
    fn blocked_products_match_their_definition() {
        // d spans three blocks; rebuild S and W0 from the same streams and compare.
        let p = C22Params {
            d: 2 * GRAM_BLOCK + 100,
            n: 3,
            n_test: 1,
            mu_norm: 2.5,
            ..c22()
        };
        let bl = p.blocked_products(0.1, 4, &mut rng::seeded(3)).unwrap();
        let mut r = rng::seeded(3);
        for _ in 0..3 {
            rng::rademacher(&mut r);
            rng::uniform_index(&mut r, 2);
        }
        let sub = r.next_u64();
        let mut sm = Array2::<f64>::zeros((4, p.d));
        let mut w0 = Array2::<f64>::zeros((4, p.d));
        sm[[0, 0]] = 2.5;
        for (b, c0) in (0..p.d).step_by(GRAM_BLOCK).enumerate() {
            let width = GRAM_BLOCK.min(p.d - c0);
            let (mut nr, mut wr) = (rng::stream(sub, 2 * b as u64), rng::stream(sub, 2 * b as u64 + 1));
            for i in 0..3 {
                for c in 0..width {
                    let v = rng::standard_normal(&mut nr);
                    sm[[1 + i, c0 + c]] = if c0 + c == 0 { 0.0 } else { v };
                }
            }
            for row in 0..4 {
                for c in 0..width {
                    w0[[row, c0 + c]] = 0.1 * rng::standard_normal(&mut wr);
                }
            }
        }
        let close = |a: &Array2<f64>, b: &Array2<f64>| {
            (a - b)
                .iter()
                .all(|v| v.abs() < 1e-9 * (1.0 + b.iter().fold(0.0f64, |m, x| m.max(x.abs()))))
        };
        assert!(close(&bl.gram, &sm.dot(&sm.t())));
        assert!(close(&bl.s_w0t, &sm.dot(&w0.t())));
        assert!(close(&bl.w0_w0t, &w0.dot(&w0.t())));
        assert!(bl.gram[[0, 1]].abs() < 1e-12, "orthogonal noise");
        assert!((bl.gram[[1, 1]] / (p.d as f64 - 1.0) - 1.0).abs() < 0.05);
        assert_eq!(bl, p.blocked_products(0.1, 4, &mut rng::seeded(3)).unwrap());
        assert!(
            C22Params {
                p_flip: 0.1,
                ..p.clone()
            }
            .blocked_products(0.1, 4, &mut rng::seeded(3))
            .is_err()
        );
    }

    #[test]
    fn labels_balanced_and_flips_happen() {
        let p = C22Params {
            n: 4000,
            n_test: 1,
            p_flip: 0.2,
            d: 4,
            ..c22()
        };
        let ds = p.generate(&mut rng::seeded(6)).unwrap();
        let pos = ds.train.y_clean.iter().filter(|&&v| v > 0.0).count() as f64 / 4000.0;
        assert!((pos - 0.5).abs() < 0.03);
        let flips = ds.train.y.iter().zip(&ds.train.y_clean).filter(|(a, b)| a != b).count() as f64 / 4000.0;
        assert!((flips - 0.2).abs() < 0.03, "flip rate {flips}");
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = z23().generate(&mut rng::seeded(9)).unwrap();
        let b = z23().generate(&mut rng::seeded(9)).unwrap();
        let c = z23().generate(&mut rng::seeded(10)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.train.x, c.train.x);
        let a = c22().generate(&mut rng::seeded(9)).unwrap();
        let b = c22().generate(&mut rng::seeded(9)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn every_invalid_parameter_is_rejected() {
        let field = |r: Result<(), DataError>| match r {
            Err(DataError::InvalidParam { field, .. }) => field,
            Err(_) => "other",
            Ok(()) => "ok",
        };
        let base = c22();
        assert_eq!(field(C22Params { d: 1, ..base.clone() }.validate()), "d");
        assert_eq!(field(C22Params { n: 0, ..base.clone() }.validate()), "n");
        assert_eq!(
            field(
                C22Params {
                    n_test: 0,
                    ..base.clone()
                }
                .validate()
            ),
            "n_test"
        );
        assert_eq!(
            field(
                C22Params {
                    mu_norm: -1.0,
                    ..base.clone()
                }
                .validate()
            ),
            "mu_norm"
        );
        assert_eq!(
            field(
                C22Params {
                    mu_norm: f64::NAN,
                    ..base.clone()
                }
                .validate()
            ),
            "mu_norm"
        );
        assert_eq!(
            field(
                C22Params {
                    sigma_p: 0.0,
                    ..base.clone()
                }
                .validate()
            ),
            "sigma_p"
        );
        assert_eq!(
            field(
                C22Params {
                    sigma_p: f64::INFINITY,
                    ..base.clone()
                }
                .validate()
            ),
            "sigma_p"
        );
        assert_eq!(
            field(
                C22Params {
                    p_flip: 0.5,
                    ..base.clone()
                }
                .validate()
            ),
            "p_flip"
        );
        assert_eq!(
            field(
                C22Params {
                    p_flip: -0.1,
                    ..base.clone()
                }
                .validate()
            ),
            "p_flip"
        );
        let z = z23();
        assert_eq!(field(Z23Params { d: 1, ..z.clone() }.validate()), "d");
        assert_eq!(field(Z23Params { n: 0, ..z.clone() }.validate()), "n");
        assert_eq!(field(Z23Params { n_test: 0, ..z.clone() }.validate()), "n_test");
        assert_eq!(
            field(
                Z23Params {
                    v_norm: -2.0,
                    ..z.clone()
                }
                .validate()
            ),
            "v_norm"
        );
        assert_eq!(
            field(
                Z23Params {
                    sigma_p: -1.0,
                    ..z.clone()
                }
                .validate()
            ),
            "sigma_p"
        );
        assert_eq!(field(Z23Params { s: 0, ..z.clone() }.validate()), "s");
        assert_eq!(field(Z23Params { s: 60, ..z.clone() }.validate()), "s");
        assert_eq!(
            field(
                Z23Params {
                    alpha: -0.1,
                    ..z.clone()
                }
                .validate()
            ),
            "alpha"
        );
        assert_eq!(
            field(
                Z23Params {
                    patches: 1,
                    ..z.clone()
                }
                .validate()
            ),
            "patches"
        );
        let err = C22Params { n: 0, ..base }.generate(&mut rng::seeded(0)).unwrap_err();
        assert_eq!(err.to_string(), "invalid data parameter `n` = 0: must be >= 1");
    }

    /// A fake cache: 30 "digits" of 4×4 pixels, labels 0..2 cycling.
    fn fake_mnist(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("gengap-fake-mnist-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        // Pixel 0 of image k is k, so every fake digit is distinct.
        let pix: Vec<u8> = (0..30 * 16)
            .map(|i| {
                if i % 16 == 0 {
                    (i / 16) as u8
                } else {
                    ((i * 37) % 256) as u8
                }
            })
            .collect();
        let labels: Vec<u8> = (0..30).map(|i| (i % 3) as u8).collect();
        mnist::write_idx(&d.join(mnist::IMAGES), &[30, 4, 4], &pix).unwrap();
        mnist::write_idx(&d.join(mnist::LABELS), &[30], &labels).unwrap();
        d
    }

    #[test]
    fn noisy_mnist_uses_real_digit_patches_and_disjoint_splits() {
        let dir = fake_mnist("gen");
        let p = NoisyMnistParams {
            data_dir: dir.display().to_string(),
            digits: [1, 2],
            n: 8,
            n_test: 10,
            patches: 3,
            sigma_p: 0.5,
            signal_scale: 2.0,
        };
        let ds = p.generate(&mut rng::seeded(1)).unwrap();
        assert_eq!(ds.train.x.dim(), (8, 3, 16));
        assert_eq!(ds.test.x.dim(), (10, 3, 16));
        assert_eq!(ds.extra_signal.as_ref().unwrap().dim(), (7, 16));
        let m = mnist::Mnist::load_dir(&dir).unwrap();
        let find = |row: ndarray::ArrayView1<f64>| {
            (0..30)
                .find(|&i| m.images.row(i).mapv(|v| v * 2.0) == row)
                .expect("the signal patch is a real digit")
        };
        let mut seen = std::collections::HashSet::new();
        for split in [&ds.train, &ds.test] {
            for i in 0..split.n() {
                let img = find(split.x.slice(s![i, split.signal_patch[i], ..]));
                assert!(seen.insert(img), "train and test digits are disjoint");
                assert_eq!(split.y[i], if m.labels[img] == 1 { 1.0 } else { -1.0 });
                assert!(m.labels[img] == 1 || m.labels[img] == 2);
            }
        }
        assert_eq!(p.generate(&mut rng::seeded(1)).unwrap(), ds);
        // Too many samples asked for; a missing cache.
        assert!(
            NoisyMnistParams {
                n: 15,
                n_test: 10,
                ..p.clone()
            }
            .generate(&mut rng::seeded(1))
            .is_err()
        );
        assert!(
            NoisyMnistParams {
                digits: [3, 3],
                ..p.clone()
            }
            .validate()
            .is_err()
        );
        let e = NoisyMnistParams {
            data_dir: "/nonexistent".into(),
            ..p
        }
        .generate(&mut rng::seeded(1))
        .unwrap_err();
        assert!(e.to_string().contains("fetch-mnist"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn config_from_toml_rejects_unknown_keys() {
        let ok: DataConfig =
            toml::from_str("model = \"z23\"\nd = 10\nn = 3\nv_norm = 1.0\nsigma_p = 0.1\ns = 4\n").unwrap();
        assert!(matches!(
            ok,
            DataConfig::Z23(Z23Params {
                patches: 2,
                n_test: 1000,
                ..
            })
        ));
        let bad =
            toml::from_str::<DataConfig>("model = \"c22\"\nd = 10\nn = 3\nmu_norm = 1.0\nsigma_p = 1.0\nsigmap = 2\n");
        let msg = bad.unwrap_err().to_string();
        assert!(msg.contains("sigmap"), "{msg}");
        assert!(toml::from_str::<DataConfig>("model = \"c23\"\nd = 10\n").is_err());
    }
}
