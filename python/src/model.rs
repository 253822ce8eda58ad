//! `gengap.model`: the two-layer CNN — initialisation, outputs, loss and
//! gradient (`docs/theory.md#network`, `#loss-and-gradient`).

use gengap::data::rng;
use gengap::model::{Batch, Cnn, CnnConfig, Workspace};
use gengap::ndarray::{Array2, Ix2, Ix3};
use numpy::{IntoPyArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Count, check_shape, config, err, f64_array, value_error, with_defaults};

/// The network config (the `[model]` table: `m`, `activation`, `scale`).
/// `None` is `CnnConfig::default()`; a dict's keys override the defaults.
pub fn model_config(obj: Option<&Bound<'_, PyAny>>) -> PyResult<CnnConfig> {
    let cfg: CnnConfig = match obj {
        None => CnnConfig::default(),
        Some(o) if o.is_none() => CnnConfig::default(),
        Some(o) => match o.cast::<PyDict>() {
            Ok(d) => with_defaults("model", Some(d))?,
            Err(_) => config("model", Some(o))?,
        },
    };
    cfg.validate().map_err(err)?;
    Ok(cfg)
}

/// `W` `(2m, d)` and inputs `x` `(n, P, d)` (and labels `y` `(n,)`) as a checked batch.
fn batch(
    cfg: &CnnConfig,
    w: &Bound<'_, PyAny>,
    x: &Bound<'_, PyAny>,
    y: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Array2<f64>, Batch<f64>)> {
    let w = f64_array("W", w, 2)?;
    // Copied into C order: a Fortran-ordered `W` (e.g. `W.T`) is read by
    // index, never by memory order.
    let w = w
        .as_array()
        .into_dimensionality::<Ix2>()
        .map_err(err)?
        .as_standard_layout()
        .into_owned();
    let xa = f64_array("x", x, 3)?;
    // An empty `x` gave an empty or NaN answer (a mean over no samples).
    if xa.shape().contains(&0) {
        return Err(value_error(format!(
            "`x` has shape {:?}: n, P and d must be >= 1",
            xa.shape()
        )));
    }
    let x3 = xa.as_array().into_dimensionality::<Ix3>().map_err(err)?;
    let (n, p, d) = x3.dim();
    gengap::data::check_finite("x", &x3).map_err(err)?;
    check_shape("W", w.shape(), &[2 * cfg.m, d])?;
    let y = match y {
        Some(y) => {
            let ya = f64_array("y", y, 1)?;
            check_shape("y", ya.shape(), &[n])?;
            // Labels in {0, 1} or 2.5 were accepted and gave a wrong loss.
            gengap::data::check_labels(
                "y",
                &ya.as_array()
                    .into_dimensionality::<gengap::ndarray::Ix1>()
                    .map_err(err)?,
                n,
            )
            .map_err(err)?;
            ya.as_array().iter().copied().collect()
        }
        None => gengap::ndarray::Array1::zeros(n),
    };
    let xs = x3
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n * p, d))
        .map_err(err)?;
    Ok((w, Batch { x: xs, y, patches: p }))
}

/// `init(d, seed, stream=1, model=None) -> W`: the Gaussian initial weights
/// `W⁽⁰⁾`, shape `(2m, d)`, entries `N(0, σ₀²)`, drawn from `stream(seed, stream)`
/// as `CnnConfig::init` does (the experiments draw `W⁽⁰⁾` after the data from one
/// setup stream; `train` uses stream 1 of the seed by default).
#[pyfunction]
#[pyo3(signature = (d, seed, stream = Count(1), model = None), text_signature = "(d, seed, stream=1, model=None)")]
fn init<'py>(
    py: Python<'py>,
    d: Count,
    seed: Count,
    stream: Count,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::convert::guard(|| {
        let cfg = model_config(model)?;
        let d = usize::try_from(d.0).map_err(err)?;
        if d == 0 {
            return Err(value_error("`d` = 0: must be >= 1"));
        }
        let w = cfg.init::<f64, _>(d, &mut rng::stream(seed.0, stream.0)).map_err(err)?;
        Ok(w.into_pyarray(py).into_any())
    })
}

/// `forward(W, x, model=None) -> f`: the outputs
/// `f(W, x_i) = F₊₁ − F₋₁`, `F_j = (1/m)·Σ_r Σ_p σ(⟨w_{j,r}, x_i⁽ᵖ⁾⟩)` (scaled as
/// `model.scale` says), for inputs `x` `(n, P, d)`.
#[pyfunction]
#[pyo3(signature = (w, x, model = None))]
fn forward<'py>(
    py: Python<'py>,
    w: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    crate::convert::guard(|| {
        let cfg = model_config(model)?;
        let (w, b) = batch(&cfg, w, x, None)?;
        let cnn = Cnn::<f64>::new(&cfg).map_err(err)?;
        let mut ws = Workspace::for_batch(&b, cfg.m);
        let f = cnn.forward(&w, &b, &mut ws).map_err(err)?.to_owned();
        Ok(f.into_pyarray(py).into_any())
    })
}

/// `loss_grad(W, x, y, model=None) -> (loss, error, grad)`: the training loss
/// `L_S(W) = (1/n)·Σ_i ℓ(y_i·f(W, x_i))` with the logistic loss
/// `ℓ(z) = log(1 + e^{−z})`, the training error, and `∇L_S(W)` (shape of `W`),
/// from the same two GEMMs the training loop runs.
#[pyfunction]
#[pyo3(signature = (w, x, y, model = None))]
fn loss_grad<'py>(
    py: Python<'py>,
    w: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<(f64, f64, Bound<'py, PyAny>)> {
    crate::convert::guard(|| {
        let cfg = model_config(model)?;
        let (w, b) = batch(&cfg, w, x, Some(y))?;
        let cnn = Cnn::<f64>::new(&cfg).map_err(err)?;
        let mut ws = Workspace::for_batch(&b, cfg.m);
        let mut grad = Array2::zeros(w.dim());
        let met = cnn.loss_grad(&w, &b, &mut ws, &mut grad).map_err(err)?;
        Ok((met.loss, met.error, grad.into_pyarray(py).into_any()))
    })
}

/// `evaluate(W, x, y, model=None) -> (loss, error)`: loss and 0-1 error on a split.
#[pyfunction]
#[pyo3(signature = (w, x, y, model = None))]
fn evaluate<'py>(
    w: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
) -> PyResult<(f64, f64)> {
    crate::convert::guard(|| {
        let cfg = model_config(model)?;
        let (w, b) = batch(&cfg, w, x, Some(y))?;
        let cnn = Cnn::<f64>::new(&cfg).map_err(err)?;
        let mut ws = Workspace::for_batch(&b, cfg.m);
        let met = cnn.evaluate(&w, &b, &mut ws).map_err(err)?;
        Ok((met.loss, met.error))
    })
}

/// The weights argument `W` `(2m, d)` as an owned array.
pub fn weights(name: &str, w: &Bound<'_, PyAny>, rows: usize, d: usize) -> PyResult<Array2<f64>> {
    let a = f64_array(name, w, 2)?;
    check_shape(name, a.shape(), &[rows, d])?;
    // In C order whatever the input's layout (a Fortran-ordered `W0` once
    // reached a "standard layout" panic).
    Ok(a.as_array()
        .into_dimensionality::<Ix2>()
        .map_err(err)?
        .as_standard_layout()
        .into_owned())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(init, m)?)?;
    m.add_function(wrap_pyfunction!(forward, m)?)?;
    m.add_function(wrap_pyfunction!(loss_grad, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    Ok(())
}
