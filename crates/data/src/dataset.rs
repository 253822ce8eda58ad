//! What a generator returns: a [`Dataset`] of two [`Split`]s with every latent part.

use ndarray::{Array1, Array2, Array3, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

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
    /// \[M24\] XOR-type data: signal `±(u + v)` or `±(u − v)`, noise orthogonal to both.
    Xor,
    /// Karhadkar et al. (NeurIPS 2024): one vector `√γ·ỹ·μ + √(1−γ)·ξ` per sample.
    ModerateD,
    /// Weak features in every point, strong ones in a fraction (after Lu et al., ICLR 2024).
    WeakStrong,
    /// Arrays the user brought ([`Dataset::from_arrays`]), with or without
    /// their latent parts.
    User,
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
    /// The noise vectors `ξ`, shape `(n, K, d)`: `noise[i, k]` sits in
    /// patch `noise_patches[i, k]`. `K = P − 1` for the patch models (one
    /// noise vector per non-signal patch); the single-vector model
    /// ([`crate::ModerateDParams`]) has `P = K = 1`, its noise in the signal patch. For \[Z23\] the feature-noise patch holds
    /// `ξ − α·y·v` while `noise` stores `ξ` alone.
    pub noise: Array3<f64>,
    /// Index of the signal patch of each sample.
    pub signal_patch: Vec<usize>,
    /// Patch index of each noise vector, shape `(n, K)`.
    pub noise_patches: Array2<usize>,
    /// For \[Z23\], which noise slot `k` carries the feature noise `−α·y·v`
    /// (always slot 0); `None` for \[C22\].
    pub feature_noise_patch: Option<usize>,
    /// For the weak/strong-feature model ([`crate::WeakStrongParams`]),
    /// whether each sample carries the strong feature (in patch 1); empty
    /// for the other models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strong_feature: Vec<bool>,
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
    /// The noise vectors stacked row-wise, shape `(n·K, d)`; row
    /// `i·K + k` is `noise[i, k]`.
    pub fn noise_stacked(&self) -> ArrayView2<'_, f64> {
        let (n, k, d) = self.noise.dim();
        self.noise
            .view()
            .into_shape_with_order((n * k, d))
            .expect("Split::noise is in standard layout")
    }
}

impl Split {
    /// The same split with one more coordinate in every patch, equal to
    /// `value` (the noise vectors get a 0 there): the input of a network
    /// whose filters carry a bias, since `⟨w, x⟩ + b = ⟨(w, b), (x, 1)⟩` and
    /// GD on `(w, b)` is GD on the augmented weights
    /// (`docs/theory.md#a-bias-is-a-constant-coordinate`). The constant
    /// coordinate is neither signal nor noise, so a decomposition of the
    /// augmented weights over this split's latent parts is not exact.
    ///
    /// ```
    /// use gengap_data::{C22Params, rng};
    /// let ds = C22Params { d: 8, n: 3, n_test: 2, ..Default::default() }.generate(&mut rng::stream(1, 0)).unwrap();
    /// let b = ds.train.with_constant_coordinate(1.0);
    /// assert_eq!(b.d(), 9);
    /// assert!(b.x.outer_iter().all(|x| x.outer_iter().all(|p| p[8] == 1.0)));
    /// ```
    pub fn with_constant_coordinate(&self, value: f64) -> Split {
        let pad = |a: &Array3<f64>, v: f64| {
            let (n, p, d) = a.dim();
            let mut out = Array3::from_elem((n, p, d + 1), v);
            out.slice_mut(ndarray::s![.., .., ..d]).assign(a);
            out
        };
        Split {
            x: pad(&self.x, value),
            noise: pad(&self.noise, 0.0),
            ..self.clone()
        }
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

impl Dataset {
    /// Both splits with a constant coordinate `value` appended to every patch
    /// ([`Split::with_constant_coordinate`]); the signal vectors get a 0 there.
    pub fn with_constant_coordinate(&self, value: f64) -> Dataset {
        let pad1 = |v: &Array1<f64>| {
            let mut out = Array1::zeros(v.len() + 1);
            out.slice_mut(ndarray::s![..v.len()]).assign(v);
            out
        };
        Dataset {
            model: self.model,
            signal: pad1(&self.signal),
            extra_signal: self.extra_signal.as_ref().map(|e| {
                let mut out = Array2::zeros((e.nrows(), e.ncols() + 1));
                out.slice_mut(ndarray::s![.., ..e.ncols()]).assign(e);
                out
            }),
            train: self.train.with_constant_coordinate(value),
            test: self.test.with_constant_coordinate(value),
        }
    }
}
