//! `gengap.data`: the data models, with every latent part.

use gengap::data::{DataConfig, Dataset, Split, rng};
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
    /// Which generator made it: `"c22"`, `"z23"` or `"noisy_mnist"`.
    #[getter]
    fn model(&self) -> &'static str {
        match self.inner.model {
            gengap::data::ModelKind::C22 => "c22",
            gengap::data::ModelKind::Z23 => "z23",
            gengap::data::ModelKind::NoisyMnist => "noisy_mnist",
            gengap::data::ModelKind::Xor => "xor",
            gengap::data::ModelKind::ModerateD => "moderate_d",
            gengap::data::ModelKind::WeakStrong => "weak_strong",
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
        split_dict(py, &self.inner.train)
    }
    /// The test split, as `train`.
    #[getter]
    fn test<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        split_dict(py, &self.inner.test)
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
#[pyo3(signature = (config, seed, stream = Count(0)))]
fn generate(py: Python<'_>, config: &Bound<'_, PyAny>, seed: Count, stream: Count) -> PyResult<PyDataset> {
    draw(py, crate::convert::config("data", Some(config))?, seed.0, stream.0)
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
#[pyo3(signature = (seed, stream = Count(0), **params))]
fn c22(py: Python<'_>, seed: Count, stream: Count, params: Option<&Bound<'_, PyDict>>) -> PyResult<PyDataset> {
    draw(py, DataConfig::C22(with_defaults("c22", params)?), seed.0, stream.0)
}

/// `z23(seed, stream=0, **params) -> Dataset`: the \[Z23\] sparse-signal /
/// dense-noise model (`docs/theory.md#data-models`): one signal patch `y·v`
/// (`‖v‖ = v_norm`), `patches − 1` noise patches of `s`-sparse Gaussian noise
/// (`σ_p`), the first carrying the feature noise `−α·y·v`; labels flipped with
/// probability `p_flip`. `params`: `d`, `n`, `n_test`, `v_norm`, `sigma_p`, `s`,
/// `alpha`, `patches`, `p_flip`; the rest keep `Z23Params::default()`.
#[pyfunction]
#[pyo3(signature = (seed, stream = Count(0), **params))]
fn z23(py: Python<'_>, seed: Count, stream: Count, params: Option<&Bound<'_, PyDict>>) -> PyResult<PyDataset> {
    draw(py, DataConfig::Z23(with_defaults("z23", params)?), seed.0, stream.0)
}

/// The data set argument of the other functions.
pub fn dataset<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<PyRef<'py, PyDataset>> {
    obj.extract::<PyRef<'py, PyDataset>>().map_err(|_| {
        crate::convert::value_error(format!(
            "`data` must be a gengap.data.Dataset (from gengap.data.generate/c22/z23), got {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDataset>()?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(c22, m)?)?;
    m.add_function(wrap_pyfunction!(z23, m)?)?;
    Ok(())
}
