//! Data the user brings: a [`Dataset`] built from arrays
//! ([`Dataset::from_arrays`]), and the one check every hand-built data set
//! goes through ([`Dataset::validate`]).

use ndarray::{Array1, Array2, Array3, Dimension};

use crate::{DataError, Dataset, ModelKind, Split};

/// One split of a user's data set: inputs `x` of shape `(n, P, d)`, labels
/// `y ∈ {−1, +1}ⁿ`, and optionally the latent parts the signal–noise
/// decomposition and the reduced engine need: the noise vectors `(n, K, d)`
/// and the index of each sample's signal patch, and where each noise vector
/// sits (`noise_patches`, `(n, K)`). Left out, the noise vectors sit in the
/// other patches in ascending order (`K = P − 1`), or, for one patch per
/// sample (`P = 1`), in the signal patch itself (`K = 1`, the single-vector
/// model of `docs/theory.md#data-models`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserSplit {
    /// Inputs, `(n, P, d)`.
    pub x: Array3<f64>,
    /// Labels, `(n,)`, each `−1` or `+1`.
    pub y: Array1<f64>,
    /// Noise vectors `(n, K, d)` (latent; with `signal_patch`).
    pub noise: Option<Array3<f64>>,
    /// Signal patch of each sample, `(n,)` (latent; with `noise`).
    pub signal_patch: Option<Vec<usize>>,
    /// Patch of each noise vector, `(n, K)` (latent; default: see above).
    pub noise_patches: Option<Array2<usize>>,
}

/// `what` = `value`: `reason`.
fn bad(what: impl Into<String>, value: impl std::fmt::Display, reason: impl Into<String>) -> DataError {
    DataError::InvalidArray {
        what: what.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The first entry of `a` that is not finite, as an error naming it
/// `name[i, j, …]` and its value (any layout: `iter` is in logical,
/// row-major order).
///
/// ```
/// use gengap_data::check_finite;
/// let a = ndarray::array![[1.0, 2.0], [f64::NAN, 4.0]];
/// assert!(check_finite("x", &a.row(0)).is_ok());
/// assert_eq!(check_finite("x", &a).unwrap_err().to_string(), "invalid data set: `x[1, 0]` = NaN: must be finite");
/// ```
pub fn check_finite<S: ndarray::Data<Elem = f64>, D: Dimension>(
    name: &str,
    a: &ndarray::ArrayBase<S, D>,
) -> Result<(), DataError> {
    let Some((flat, &v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) else {
        return Ok(());
    };
    let mut rest = flat;
    let mut ix = vec![0; a.ndim()];
    for (k, &len) in a.shape().iter().enumerate().rev() {
        ix[k] = rest % len;
        rest /= len;
    }
    let ix: Vec<String> = ix.iter().map(usize::to_string).collect();
    Err(bad(format!("{name}[{}]", ix.join(", ")), v, "must be finite"))
}

/// Labels: `n` of them, each `−1` or `+1`; the error names the first
/// other one as `name[i]`.
///
/// ```
/// use gengap_data::check_labels;
/// assert!(check_labels("y", &ndarray::array![1.0, -1.0].view(), 2).is_ok());
/// let e = check_labels("y", &ndarray::array![1.0, 0.0].view(), 2).unwrap_err().to_string();
/// assert_eq!(e, "invalid data set: `y[1]` = 0: labels must be -1 or +1");
/// ```
pub fn check_labels(name: &str, y: &ndarray::ArrayView1<f64>, n: usize) -> Result<(), DataError> {
    if y.len() != n {
        return Err(bad(
            name.to_string(),
            format!("{} labels", y.len()),
            format!("must have one per sample ({n})"),
        ));
    }
    match y.iter().position(|&v| v != 1.0 && v != -1.0) {
        None => Ok(()),
        Some(i) => Err(bad(format!("{name}[{i}]"), y[i], "labels must be -1 or +1")),
    }
}

/// The noise patches of each sample: every patch but the signal patch in
/// ascending order, or the signal patch itself when `P = 1`.
fn noise_patches(signal_patch: &[usize], patches: usize) -> Array2<usize> {
    let k = if patches == 1 { 1 } else { patches - 1 };
    Array2::from_shape_fn((signal_patch.len(), k), |(i, j)| {
        if patches == 1 {
            0
        } else if j < signal_patch[i] {
            j
        } else {
            j + 1
        }
    })
}

impl UserSplit {
    /// The [`Split`], with `y_clean = y` and no strong-feature flags.
    fn into_split(self, name: &str) -> Result<Split, DataError> {
        let (n, p, d) = self.x.dim();
        if n == 0 || p == 0 || d == 0 {
            return Err(bad(
                format!("{name}.x"),
                format!("shape {:?}", self.x.dim()),
                "must be (n, P, d) with n, P, d >= 1",
            ));
        }
        let (noise, signal_patch) = match (self.noise, self.signal_patch) {
            (Some(noise), Some(sp)) => (noise, sp),
            (None, None) => (Array3::zeros((n, 0, d)), vec![0; n]),
            (Some(_), None) => {
                return Err(bad(
                    format!("{name}.signal_patch"),
                    "missing",
                    "give it with the noise vectors",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    format!("{name}.noise"),
                    "missing",
                    "give it with the signal patches",
                ));
            }
        };
        let k = noise.dim().1;
        let latent = k > 0;
        let want_k = if p == 1 { 1 } else { p - 1 };
        if latent && k != want_k && self.noise_patches.is_none() {
            return Err(bad(
                format!("{name}.noise"),
                format!("shape {:?}", noise.dim()),
                format!(
                    "must be (n, {want_k}, d) unless noise_patches says where each sits: one noise vector per non-signal patch, or one in the signal patch when P = 1"
                ),
            ));
        }
        let patches = match self.noise_patches {
            Some(given) if latent => given,
            Some(_) => {
                return Err(bad(
                    format!("{name}.noise_patches"),
                    "given",
                    "only with the noise vectors",
                ));
            }
            None if latent => noise_patches(&signal_patch, p),
            None => Array2::zeros((n, 0)),
        };
        Ok(Split {
            y_clean: self.y.clone(),
            x: self.x,
            y: self.y,
            noise,
            signal_patch,
            noise_patches: patches,
            feature_noise_patch: None,
            strong_feature: vec![],
        })
    }
}

impl Dataset {
    /// A data set of the user's arrays ([`ModelKind::User`]), checked by
    /// [`Dataset::validate`]. Without latent parts (`signal = None`, no
    /// `noise` or `signal_patch` in either split) it trains in full space
    /// like any other; the signal vector is then zero and
    /// [`Dataset::has_latents`] is false, so the decomposition and the
    /// reduced engine, which need them, can refuse it by name. With them
    /// (`signal` and both splits' `noise` and `signal_patch`), it is what a
    /// generator returns.
    ///
    /// ```
    /// use gengap_data::{Dataset, UserSplit};
    /// use ndarray::{Array1, Array3, array};
    /// let split = |n: usize| UserSplit {
    ///     x: Array3::from_shape_fn((n, 2, 3), |(i, p, k)| (i + p + k) as f64),
    ///     y: Array1::from_shape_fn(n, |i| if i % 2 == 0 { 1.0 } else { -1.0 }),
    ///     noise: None,
    ///     signal_patch: None,
    ///     noise_patches: None,
    /// };
    /// let ds = Dataset::from_arrays(split(4), split(2), None).unwrap();
    /// assert_eq!((ds.train.n(), ds.train.patches(), ds.train.d()), (4, 2, 3));
    /// assert!(!ds.has_latents());
    /// // Labels in {0, 1} are refused, naming the entry.
    /// let mut bad = split(4);
    /// bad.y[1] = 0.0;
    /// let e = Dataset::from_arrays(bad, split(2), None).unwrap_err().to_string();
    /// assert_eq!(e, "invalid data set: `train.y[1]` = 0: labels must be -1 or +1");
    /// ```
    pub fn from_arrays(train: UserSplit, test: UserSplit, signal: Option<Array1<f64>>) -> Result<Dataset, DataError> {
        // The latent parts come together: the signal vector, and each
        // split's noise vectors and signal patches.
        let has_noise = |s: &UserSplit| s.noise.is_some() || s.signal_patch.is_some();
        let together = "the latent parts come together: the signal vector, and each split's noise and signal_patch";
        match &signal {
            None if has_noise(&train) || has_noise(&test) => return Err(bad("signal", "missing", together)),
            Some(_) if !has_noise(&train) => return Err(bad("train.noise", "missing", together)),
            Some(_) if !has_noise(&test) => return Err(bad("test.noise", "missing", together)),
            _ => {}
        }
        let d = train.x.dim().2;
        let ds = Dataset {
            model: ModelKind::User,
            signal: signal.unwrap_or_else(|| Array1::zeros(d)),
            extra_signal: None,
            train: train.into_split("train")?,
            test: test.into_split("test")?,
        };
        ds.validate()?;
        Ok(ds)
    }

    /// Whether the data set carries its latent parts (a non-zero signal
    /// vector or noise vectors): what the signal–noise decomposition and the
    /// reduced engine need. Every generator's data set does; user data
    /// without them does not.
    pub fn has_latents(&self) -> bool {
        self.signal.iter().any(|&v| v != 0.0) || self.train.noise.dim().1 > 0
    }

    /// Check a data set built by hand (or deserialized): every shape
    /// consistent (`x` `(n, P, d)` with `n, P, d ≥ 1`, both splits with the
    /// same `P` and `d`; labels, clean labels and signal patches of length
    /// `n`; noise `(n, K, d)` and noise patches `(n, K)`), every patch index
    /// `< P`, labels in `{−1, +1}`, every value finite. The error is one line
    /// naming the array or entry and the value.
    ///
    /// ```
    /// use gengap_data::{C22Params, rng};
    /// let mut ds = C22Params { d: 8, n: 4, n_test: 2, ..Default::default() }.generate(&mut rng::stream(1, 0)).unwrap();
    /// assert!(ds.validate().is_ok());
    /// ds.test.x[[1, 0, 5]] = f64::NAN;
    /// assert_eq!(ds.validate().unwrap_err().to_string(), "invalid data set: `test.x[1, 0, 5]` = NaN: must be finite");
    /// ```
    pub fn validate(&self) -> Result<(), DataError> {
        let (n, p, d) = self.train.x.dim();
        if n == 0 || p == 0 || d == 0 {
            return Err(bad(
                "train.x",
                format!("shape {:?}", self.train.x.dim()),
                "n, P and d must be >= 1",
            ));
        }
        for (name, s) in [("train", &self.train), ("test", &self.test)] {
            let (sn, sp, sd) = s.x.dim();
            if sn == 0 || sp != p || sd != d {
                return Err(bad(
                    format!("{name}.x"),
                    format!("shape {:?}", s.x.dim()),
                    format!("must be (n, {p}, {d}) with n >= 1: the training split's P and d"),
                ));
            }
            check_finite(&format!("{name}.x"), &s.x)?;
            check_labels(&format!("{name}.y"), &s.y.view(), sn)?;
            check_labels(&format!("{name}.y_clean"), &s.y_clean.view(), sn)?;
            let (nn, k, nd) = s.noise.dim();
            if nn != sn || nd != d {
                return Err(bad(
                    format!("{name}.noise"),
                    format!("shape {:?}", s.noise.dim()),
                    format!("must be ({sn}, K, {d})"),
                ));
            }
            check_finite(&format!("{name}.noise"), &s.noise)?;
            if s.signal_patch.len() != sn {
                return Err(bad(
                    format!("{name}.signal_patch"),
                    format!("{} entries", s.signal_patch.len()),
                    format!("must have one per sample ({sn})"),
                ));
            }
            if let Some(i) = s.signal_patch.iter().position(|&q| q >= p) {
                return Err(bad(
                    format!("{name}.signal_patch[{i}]"),
                    s.signal_patch[i],
                    format!("must be < P = {p}"),
                ));
            }
            if s.noise_patches.dim() != (sn, k) {
                return Err(bad(
                    format!("{name}.noise_patches"),
                    format!("shape {:?}", s.noise_patches.dim()),
                    format!("must be ({sn}, {k}), one per noise vector"),
                ));
            }
            if let Some(((i, j), q)) = s.noise_patches.indexed_iter().find(|(_, q)| **q >= p) {
                return Err(bad(
                    format!("{name}.noise_patches[{i}, {j}]"),
                    q,
                    format!("must be < P = {p}"),
                ));
            }
            if let Some(f) = s.feature_noise_patch
                && f >= k
            {
                return Err(bad(
                    format!("{name}.feature_noise_patch"),
                    f,
                    format!("must be < K = {k}"),
                ));
            }
            if !s.strong_feature.is_empty() && s.strong_feature.len() != sn {
                return Err(bad(
                    format!("{name}.strong_feature"),
                    format!("{} entries", s.strong_feature.len()),
                    format!("must be empty or one per sample ({sn})"),
                ));
            }
        }
        if self.signal.len() != d {
            return Err(bad(
                "signal",
                format!("{} entries", self.signal.len()),
                format!("must have d = {d}"),
            ));
        }
        check_finite("signal", &self.signal)?;
        if let Some(e) = &self.extra_signal {
            if e.ncols() != d {
                return Err(bad(
                    "extra_signal",
                    format!("shape {:?}", e.dim()),
                    format!("must have d = {d} columns"),
                ));
            }
            check_finite("extra_signal", e)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{C22Params, ModerateDParams, Z23Params, rng};

    fn split(n: usize, p: usize, d: usize) -> UserSplit {
        UserSplit {
            x: Array3::from_shape_fn((n, p, d), |(i, q, k)| (i * 7 + q * 3 + k) as f64 / 10.0),
            y: Array1::from_shape_fn(n, |i| if i % 3 == 0 { -1.0 } else { 1.0 }),
            noise: None,
            signal_patch: None,
            noise_patches: None,
        }
    }

    #[test]
    fn every_generated_data_set_is_valid() {
        let mut r = rng::stream(3, 0);
        for ds in [
            C22Params {
                d: 20,
                n: 6,
                n_test: 4,
                ..Default::default()
            }
            .generate(&mut r)
            .unwrap(),
            Z23Params {
                d: 40,
                n: 6,
                n_test: 4,
                s: 5,
                ..Default::default()
            }
            .generate(&mut r)
            .unwrap(),
            ModerateDParams {
                d: 10,
                n: 6,
                n_test: 4,
                ..Default::default()
            }
            .generate(&mut r)
            .unwrap(),
        ] {
            ds.validate().unwrap();
            assert!(ds.has_latents());
        }
    }

    /// The latent parts of a generated data set, handed back through
    /// `from_arrays`, rebuild its noise-patch layout exactly.
    #[test]
    fn latent_parts_round_trip_through_from_arrays() {
        let mut r = rng::stream(4, 0);
        for g in [
            C22Params {
                d: 20,
                n: 6,
                n_test: 4,
                ..Default::default()
            }
            .generate(&mut r)
            .unwrap(),
            Z23Params {
                d: 40,
                n: 6,
                n_test: 4,
                s: 5,
                patches: 4,
                ..Default::default()
            }
            .generate(&mut r)
            .unwrap(),
            ModerateDParams {
                d: 10,
                n: 6,
                n_test: 4,
                ..Default::default()
            }
            .generate(&mut r)
            .unwrap(),
        ] {
            let user = |s: &Split| UserSplit {
                x: s.x.clone(),
                y: s.y.clone(),
                noise: Some(s.noise.clone()),
                signal_patch: Some(s.signal_patch.clone()),
                noise_patches: Some(s.noise_patches.clone()),
            };
            // Without the layout, C22's and the single-vector model's is the default.
            let default = |s: &Split| UserSplit {
                noise_patches: None,
                ..user(s)
            };
            if g.model != ModelKind::Z23 {
                let ds = Dataset::from_arrays(default(&g.train), default(&g.test), Some(g.signal.clone())).unwrap();
                assert_eq!(ds.train.noise_patches, g.train.noise_patches);
            }
            let ds = Dataset::from_arrays(user(&g.train), user(&g.test), Some(g.signal.clone())).unwrap();
            assert_eq!(ds.model, ModelKind::User);
            assert_eq!(ds.train.noise_patches, g.train.noise_patches);
            assert_eq!(ds.test.noise_patches, g.test.noise_patches);
            assert!(ds.has_latents());
        }
    }

    #[test]
    fn bad_arrays_are_refused_naming_the_entry() {
        let ok = || (split(5, 2, 3), split(2, 2, 3));
        assert!(Dataset::from_arrays(ok().0, ok().1, None).is_ok());
        let err = |f: &dyn Fn(&mut UserSplit, &mut UserSplit) -> Option<Array1<f64>>| {
            let (mut a, mut b) = ok();
            let signal = f(&mut a, &mut b);
            Dataset::from_arrays(a, b, signal).unwrap_err().to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (
                err(&|a, _| {
                    a.y[2] = 2.5;
                    None
                }),
                "`train.y[2]` = 2.5: labels must be -1 or +1",
            ),
            (
                err(&|_, b| {
                    b.y = Array1::zeros(2);
                    None
                }),
                "`test.y[0]` = 0",
            ),
            (
                err(&|a, _| {
                    a.y = Array1::ones(4);
                    None
                }),
                "`train.y` = 4 labels: must have one per sample (5)",
            ),
            (
                err(&|a, _| {
                    a.x[[4, 1, 2]] = f64::INFINITY;
                    None
                }),
                "`train.x[4, 1, 2]` = inf: must be finite",
            ),
            (
                err(&|_, b| {
                    b.x = Array3::zeros((2, 2, 4));
                    None
                }),
                "`test.x` = shape (2, 2, 4)",
            ),
            (
                err(&|a, _| {
                    a.x = Array3::zeros((0, 2, 3));
                    a.y = Array1::zeros(0);
                    None
                }),
                "`train.x` = shape (0, 2, 3)",
            ),
            (
                err(&|_, _| Some(Array1::ones(3))),
                "`train.noise` = missing: the latent parts come together",
            ),
            (
                err(&|a, _| {
                    a.noise = Some(Array3::zeros((5, 1, 3)));
                    a.signal_patch = Some(vec![0; 5]);
                    None
                }),
                "`signal` = missing",
            ),
            (
                err(&|a, b| {
                    a.noise = Some(Array3::zeros((5, 1, 3)));
                    a.signal_patch = Some(vec![0, 1, 2, 0, 1]);
                    b.noise = Some(Array3::zeros((2, 1, 3)));
                    b.signal_patch = Some(vec![0, 1]);
                    Some(Array1::ones(3))
                }),
                "`train.signal_patch[2]` = 2: must be < P = 2",
            ),
            (
                err(&|a, b| {
                    a.noise = Some(Array3::zeros((5, 2, 3)));
                    a.signal_patch = Some(vec![0; 5]);
                    b.noise = Some(Array3::zeros((2, 1, 3)));
                    b.signal_patch = Some(vec![0; 2]);
                    Some(Array1::ones(3))
                }),
                "`train.noise` = shape (5, 2, 3)",
            ),
            (
                err(&|a, b| {
                    a.noise = Some(Array3::zeros((5, 1, 3)));
                    b.noise = Some(Array3::zeros((2, 1, 3)));
                    b.signal_patch = Some(vec![0; 2]);
                    Some(Array1::ones(3))
                }),
                "`train.signal_patch` = missing",
            ),
        ];
        for (got, want) in cases {
            assert!(got.contains(want), "{got}\n  wanted: {want}");
            assert!(got.starts_with("invalid data set: "), "{got}");
        }
    }
}
