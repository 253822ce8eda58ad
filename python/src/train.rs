//! `gengap.train`: one full-batch training run through the one training
//! loop (`gengap::train::train_from`).

use gengap::data::rng;
use gengap::train::{AlgorithmConfig, MiniBatch, RunRecord, Schedule, TrainConfig, train_from_stream};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Count, config, err, value_error};
use crate::data::dataset;
use crate::model::{model_config, weights};
use crate::optim::optim_config;

/// The recorded history as one float64 array per column.
pub fn history<'py>(py: Python<'py>, run: &RunRecord) -> PyResult<Bound<'py, PyDict>> {
    let h = PyDict::new(py);
    let col = |f: &dyn Fn(&gengap::train::Record) -> f64| -> Vec<f64> { run.records.iter().map(f).collect() };
    let nan = f64::NAN;
    let columns: [(&str, Vec<f64>); 12] = [
        ("step", col(&|r| r.step as f64)),
        ("train_loss", col(&|r| r.train.loss)),
        ("train_error", col(&|r| r.train.error)),
        ("test_loss", col(&|r| r.test.loss)),
        ("test_error", col(&|r| r.test.error)),
        ("grad_norm", col(&|r| r.grad_norm)),
        ("signal_inner", col(&|r| r.summary.map_or(nan, |s| s.signal_inner))),
        ("noise_inner", col(&|r| r.summary.map_or(nan, |s| s.noise_inner))),
        ("max_gamma", col(&|r| r.summary.map_or(nan, |s| s.max_gamma))),
        ("max_rho_bar", col(&|r| r.summary.map_or(nan, |s| s.max_rho_bar))),
        ("min_rho", col(&|r| r.summary.map_or(nan, |s| s.min_rho))),
        ("residual", col(&|r| r.summary.map_or(nan, |s| s.residual))),
    ];
    for (name, v) in columns {
        h.set_item(name, v.into_pyarray(py))?;
    }
    Ok(h)
}

/// `train(data, optim, model=None, steps=None, record_every=10, decompose=False,
/// w0=None, seed=0, train=None, batch_size=None, algorithm=None) -> dict`: train the CNN on
/// `data`'s training split from `w0` (default: `gengap.model.init(d, seed, 1,
/// model)`), full batch or (`batch_size`) on mini-batches whose order is drawn
/// from `stream(seed, 2)`, until `steps` steps or the stopping rule of `train`
/// (the `[train]` table: `max_steps`, `target_loss`, `record`, `decompose`,
/// `precision`, `batch`, `algorithm`; it overrides `steps`/`record_every`/`decompose`/`batch_size`/`algorithm`).
/// `algorithm` is the `[train] algorithm` table: `{"kind": "sam", "rho": 0.05}`,
/// `{"kind": "label_noise_gd", "p": 0.2}`, `{"kind": "mixup", "alpha": 1.0}`
/// (their draws also come from `stream(seed, 2)`, as in `gengap.analysis.ReducedGD`). Returns `{"status", "steps",
/// "W", "W0", "history"}`, the history a dict of arrays (`step`,
/// `train_loss`, `train_error`, `test_loss`, `test_error`, `grad_norm`, and
/// the decomposition summaries, NaN where not recorded). A diverging run is
/// returned with status `"diverged"`, not raised.
#[pyfunction]
#[pyo3(
    signature = (data, optim, model = None, steps = None, record_every = Count(10), decompose = false, w0 = None, seed = Count(0), train = None, batch_size = None, algorithm = None),
    text_signature = "(data, optim, model=None, steps=None, record_every=10, decompose=False, w0=None, seed=0, train=None, batch_size=None, algorithm=None)"
)]
#[allow(clippy::too_many_arguments)]
fn train<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    optim: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    steps: Option<Count>,
    record_every: Count,
    decompose: bool,
    w0: Option<&Bound<'py, PyAny>>,
    seed: Count,
    train: Option<&Bound<'py, PyAny>>,
    batch_size: Option<Count>,
    algorithm: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    crate::convert::guard(|| {
        let ds = dataset(data)?;
        let cnn = model_config(model)?;
        let opt = optim_config(optim)?;
        let tc: TrainConfig = match train {
            Some(t) if !t.is_none() => config("train", Some(t))?,
            _ => {
                if record_every.0 == 0 {
                    return Err(value_error(
                        "invalid training parameter `record_every` = 0: must be >= 1",
                    ));
                }
                TrainConfig {
                    record: Schedule::Every(record_every.0),
                    decompose,
                    batch: batch_size.map(|b| MiniBatch {
                        size: b.0 as usize,
                        drop_last: false,
                    }),
                    algorithm: match algorithm {
                        Some(a) if !a.is_none() => config("algorithm", Some(a))?,
                        _ => AlgorithmConfig::Plain,
                    },
                    ..TrainConfig::steps(steps.ok_or_else(|| value_error("give `steps` or a `train` config"))?.0)
                }
            }
        };
        tc.validate().map_err(err)?;
        let d = ds.inner.train.d();
        let w0 = match w0 {
            Some(w) if !w.is_none() => weights("w0", w, 2 * cnn.m, d)?,
            _ => cnn.init::<f64, _>(d, &mut rng::stream(seed.0, 1)).map_err(err)?,
        };
        let inner = &ds.inner;
        let (run, w) = crate::convert::detach_interruptible(py, || {
            train_from_stream(inner, &cnn, &opt, &tc, &w0, &mut rng::stream(seed.0, 2))
        })?;
        let out = PyDict::new(py);
        out.set_item("status", crate::convert::to_python(py, &run.status)?)?;
        out.set_item("steps", run.steps)?;
        out.set_item("history", history(py, &run)?)?;
        out.set_item("W", w.into_pyarray(py))?;
        out.set_item("W0", w0.into_pyarray(py))?;
        Ok(out)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train, m)?)?;
    Ok(())
}
