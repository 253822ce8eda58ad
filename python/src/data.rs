//! `gengap.data`: the data models, with every latent part.

use gengap::data::{DataConfig, Dataset, Split, UserSplit, rng};
use numpy::{IntoPyArray, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Count, err, with_defaults};

/// A generated data set (`gengap::data::Dataset`): a training split, a test
/// split, the signal vector, and every latent part, as NumPy arrays.
#[pyclass(name = "Dataset", module = "gengap.data", frozen)]
pub struct PyDataset {
    /// The Rust data set.
    pub inner: Dataset,
}

fn split_dict<'py>(py: Python<'py>, s: &Split) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("x", s.x.to_pyarray(py))?;
    d.set_item("y", s.y.to_pyarray(py))?;
    d.set_item("y_clean", s.y_clean.to_pyarray(py))?;
    d.set_item(
        "flipped",
        s.y.iter()
            .zip(&s.y_clean)
            .map(|(a, b)| a != b)
            .collect::<Vec<bool>>()
            .into_pyarray(py),
    )?;
    d.set_item("noise", s.noise.to_pyarray(py))?;
    let sp: Vec<i64> = s.signal_patch.iter().map(|&k| k as i64).collect();
    d.set_item("signal_patch", sp.into_pyarray(py))?;
    d.set_item("noise_patches", s.noise_patches.mapv(|k| k as i64).into_pyarray(py))?;
    Ok(d)
}

#[pymethods]
impl PyDataset {
    /// `Dataset.from_arrays(x, y, x_test, y_test, signal=None, noise=None,
    /// noise_test=None, signal_patch=None, signal_patch_test=None,
    /// noise_patches=None, noise_patches_test=None) -> Dataset`: your own
    /// data (`model == "user"`). `x` `(n, P, d)` and `x_test`
    /// `(n_test, P, d)` are real arrays (float64 is used as is; float32,
    /// integer and bool arrays and nested lists are converted by a copy;
    /// any layout), `y`/`y_test` labels in `{-1, +1}`. Without the latent
    /// parts it trains like any data set; the decomposition and
    /// `ReducedGD` need them: the signal vector `signal` `(d,)`, and for
    /// each split the noise vectors `(n, K, d)` and each sample's signal
    /// patch `(n,)` (the noise then sits in the other patches in ascending
    /// order, or in the signal patch when `P = 1`, unless `noise_patches`
    /// `(n, K)` says where). Everything is checked (shapes, labels,
    /// indices, finite values): a problem is one `ValueError` naming the
    /// argument or entry (`train.y[3] = 2.5`).
    #[staticmethod]
    #[pyo3(signature = (x, y, x_test, y_test, signal = None, noise = None, noise_test = None, signal_patch = None, signal_patch_test = None, noise_patches = None, noise_patches_test = None))]
    #[allow(clippy::too_many_arguments)]
    fn from_arrays(
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        x_test: &Bound<'_, PyAny>,
        y_test: &Bound<'_, PyAny>,
        signal: Option<&Bound<'_, PyAny>>,
        noise: Option<&Bound<'_, PyAny>>,
        noise_test: Option<&Bound<'_, PyAny>>,
        signal_patch: Option<&Bound<'_, PyAny>>,
        signal_patch_test: Option<&Bound<'_, PyAny>>,
        noise_patches: Option<&Bound<'_, PyAny>>,
        noise_patches_test: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyDataset> {
        crate::convert::guard(|| {
            use crate::convert::{index_array, real_array};
            use ndarray::{Ix1, Ix2, Ix3};
            let dims = |e: ndarray::ShapeError| crate::convert::value_error(e);
            let split = |name: &str,
                         x: &Bound<'_, PyAny>,
                         y: &Bound<'_, PyAny>,
                         noise: Option<&Bound<'_, PyAny>>,
                         sp: Option<&Bound<'_, PyAny>>,
                         np: Option<&Bound<'_, PyAny>>|
             -> PyResult<UserSplit> {
                let arg = |a: &str| {
                    if name == "train" {
                        a.to_string()
                    } else {
                        format!("{a}_test")
                    }
                };
                Ok(UserSplit {
                    x: real_array(&arg("x"), x, 3)?
                        .into_dimensionality::<Ix3>()
                        .map_err(dims)?,
                    y: real_array(&arg("y"), y, 1)?
                        .into_dimensionality::<Ix1>()
                        .map_err(dims)?,
                    noise: some(noise)
                        .map(|a| {
                            real_array(&arg("noise"), a, 3)?
                                .into_dimensionality::<Ix3>()
                                .map_err(dims)
                        })
                        .transpose()?,
                    signal_patch: some(sp)
                        .map(|a| index_array(&arg("signal_patch"), a, 1).map(|v| v.into_iter().collect()))
                        .transpose()?,
                    noise_patches: some(np)
                        .map(|a| {
                            index_array(&arg("noise_patches"), a, 2)?
                                .into_dimensionality::<Ix2>()
                                .map_err(dims)
                        })
                        .transpose()?,
                })
            };
            let train = split("train", x, y, noise, signal_patch, noise_patches)?;
            let test = split(
                "test",
                x_test,
                y_test,
                noise_test,
                signal_patch_test,
                noise_patches_test,
            )?;
            let signal = some(signal)
                .map(|a| real_array("signal", a, 1)?.into_dimensionality::<Ix1>().map_err(dims))
                .transpose()?;
            let inner = py.detach(|| Dataset::from_arrays(train, test, signal)).map_err(err)?;
            Ok(PyDataset { inner })
        })
    }

    /// Which generator made it: `"c22"`, `"z23"`, `"noisy_mnist"`, `"xor"`,
    /// `"moderate_d"`, `"weak_strong"`, or `"user"` (`Dataset.from_arrays`).
    #[getter]
    fn model(&self) -> &'static str {
        match self.inner.model {
            gengap::data::ModelKind::C22 => "c22",
            gengap::data::ModelKind::Z23 => "z23",
            gengap::data::ModelKind::NoisyMnist => "noisy_mnist",
            gengap::data::ModelKind::Xor => "xor",
            gengap::data::ModelKind::ModerateD => "moderate_d",
            gengap::data::ModelKind::WeakStrong => "weak_strong",
            gengap::data::ModelKind::User => "user",
        }
    }
    /// The signal vector (μ for C22, v for Z23), shape `(d,)`.
    #[getter]
    fn signal<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.inner.signal.to_pyarray(py).into_any()
    }
    /// The training split: `x` `(n, P, d)`, `y` (observed labels ±1),
    /// `y_clean` (before flipping), `flipped` (bool), `noise` `(n, P−1, d)`,
    /// `signal_patch` `(n,)`, `noise_patches` `(n, P−1)`.
    #[getter]
    fn train<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::convert::guard(|| split_dict(py, &self.inner.train))
    }
    /// The test split, as `train`.
    #[getter]
    fn test<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::convert::guard(|| split_dict(py, &self.inner.test))
    }
    /// Patch dimension `d`.
    #[getter]
    fn d(&self) -> usize {
        self.inner.train.d()
    }
    /// Training samples `n`.
    #[getter]
    fn n(&self) -> usize {
        self.inner.train.n()
    }
    /// Patches per sample `P`.
    #[getter]
    fn patches(&self) -> usize {
        self.inner.train.patches()
    }
    /// Pickling and `copy`: the whole data set (every latent part, the
    /// generator's name) as JSON text with floats in their round-trip form,
    /// checked again by `Dataset::validate` when it is read back.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String,))> {
        crate::convert::guard(|| {
            let f = py.import("gengap._native")?.getattr("_dataset_from_json")?;
            Ok((f, (serde_json::to_string(&self.inner).map_err(err)?,)))
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Dataset(model={:?}, n={}, n_test={}, patches={}, d={})",
            self.model(),
            self.n(),
            self.inner.test.n(),
            self.patches(),
            self.d()
        )
    }
}

/// `generate(config, seed, stream=0) -> Dataset`: the data set of `config`
/// (the `[data]` table of an experiment config: `{"model": "c22", "d": …}`),
/// drawn from `stream(seed, stream)` — the same arrays as
/// `DataConfig::generate(&mut rng::stream(seed, stream))` in Rust.
#[pyfunction]
#[pyo3(signature = (config, seed, stream = Count(0)), text_signature = "(config, seed, stream=0)")]
fn generate(py: Python<'_>, config: &Bound<'_, PyAny>, seed: Count, stream: Count) -> PyResult<PyDataset> {
    crate::convert::guard(|| draw(py, crate::convert::config("data", Some(config))?, seed.0, stream.0))
}

/// Generate from validated parameters, without the GIL.
fn draw(py: Python<'_>, cfg: DataConfig, seed: u64, stream: u64) -> PyResult<PyDataset> {
    cfg.validate().map_err(err)?;
    let ds = py
        .detach(|| cfg.generate(&mut rng::stream(seed, stream)))
        .map_err(err)?;
    Ok(PyDataset { inner: ds })
}

/// `c22(seed, stream=0, **params) -> Dataset`: the \[C22\] benign-overfitting
/// model (`docs/theory.md#data-models`): `x = [y·μ, ξ]` in a drawn patch order,
/// `‖μ‖ = mu_norm`, `ξ ~ N(0, σ_p²(I − μμᵀ/‖μ‖²))` (`noise = "orthogonal"`) or
/// `N(0, σ_p² I)` (`"isotropic"`); observed labels flipped with probability
/// `p_flip`. `params`: `d`, `n`, `n_test`, `mu_norm`, `sigma_p`, `noise`,
/// `direction`, `p_flip`; the rest keep the defaults of `C22Params::default()`.
#[pyfunction]
#[pyo3(signature = (seed, stream = Count(0), **params), text_signature = "(seed, stream=0, **params)")]
fn c22(py: Python<'_>, seed: Count, stream: Count, params: Option<&Bound<'_, PyDict>>) -> PyResult<PyDataset> {
    crate::convert::guard(|| draw(py, DataConfig::C22(with_defaults("c22", params)?), seed.0, stream.0))
}

/// `z23(seed, stream=0, **params) -> Dataset`: the \[Z23\] sparse-signal /
/// dense-noise model (`docs/theory.md#data-models`): one signal patch `y·v`
/// (`‖v‖ = v_norm`), `patches − 1` noise patches of `s`-sparse Gaussian noise
/// (`σ_p`), the first carrying the feature noise `−α·y·v`; labels flipped with
/// probability `p_flip`. `params`: `d`, `n`, `n_test`, `v_norm`, `sigma_p`, `s`,
/// `alpha`, `patches`, `p_flip`; the rest keep `Z23Params::default()`.
#[pyfunction]
#[pyo3(signature = (seed, stream = Count(0), **params), text_signature = "(seed, stream=0, **params)")]
fn z23(py: Python<'_>, seed: Count, stream: Count, params: Option<&Bound<'_, PyDict>>) -> PyResult<PyDataset> {
    crate::convert::guard(|| draw(py, DataConfig::Z23(with_defaults("z23", params)?), seed.0, stream.0))
}

/// The data set argument of the other functions.
pub fn dataset<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<PyRef<'py, PyDataset>> {
    obj.extract::<PyRef<'py, PyDataset>>().map_err(|_| {
        crate::convert::value_error(format!(
            "`data` must be a gengap.data.Dataset (from gengap.data.generate/c22/z23 or Dataset.from_arrays), got {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })
}

/// `_dataset_from_json(text)`: what `Dataset.__reduce__` pickles.
#[pyfunction]
fn _dataset_from_json(py: Python<'_>, text: &str) -> PyResult<PyDataset> {
    crate::convert::guard(|| {
        let inner: Dataset = py.detach(|| serde_json::from_str(text)).map_err(err)?;
        inner.validate().map_err(err)?;
        Ok(PyDataset { inner })
    })
}

/// An optional argument, `None` when left out or given as `None`.
fn some<'a, 'py>(o: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    o.filter(|o| !o.is_none())
}

/// A `ValueError` when `what` needs the latent parts `ds` lacks (user data
/// given without them).
pub fn latents(what: &str, ds: &Dataset) -> PyResult<()> {
    if ds.has_latents() {
        Ok(())
    } else {
        Err(crate::convert::value_error(format!(
            "{what} needs the data set's latent parts (the signal vector and the noise vectors): give `signal`, `noise`, `noise_test`, `signal_patch` and `signal_patch_test` to Dataset.from_arrays"
        )))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDataset>()?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(c22, m)?)?;
    m.add_function(wrap_pyfunction!(z23, m)?)?;
    m.add_function(wrap_pyfunction!(_dataset_from_json, m)?)?;
    Ok(())
}
