//! `gengap.train`: one full-batch training run through the one training
//! loop (`gengap::train::train_from`).

use gengap::analysis::{Basis, Decomposer};
use gengap::data::{Dataset, rng};
use gengap::model::{CnnConfig, Real, cast};
use gengap::optim::{OptimConfig, Optimizer};
use gengap::train::{
    AlgorithmConfig, MiniBatch, Observer, Precision, RunRecord, Schedule, TrainConfig, TrainError, Trainer, Watch,
};
use ndarray::Array2;
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Count, config, err, value_error};
use crate::data::dataset;
use crate::hooks::{PyCallback, PyProgress, PyStepOptimizer};
use crate::model::{model_config, weights};
use crate::optim::{PyOptimizer, optim_config};

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
/// w0=None, seed=0, train=None, batch_size=None, algorithm=None, callback=None,
/// callback_weights=False, keep_decomposition=False, progress=False,
/// lr_schedule=None, eps_schedule=None) -> dict`: train the CNN on
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
///
/// `optim` is a config (dict or TOML text), a `gengap.optim.Optimizer` (a
/// copy of it trains, its state included; the object is not changed), or
/// any object with a `step(w, g)` method that updates the float64 array `w`
/// of shape `(2m, d)` in place from the read-only gradient `g` (float64
/// precision only; its `lr` attribute, if any, is its learning rate; an
/// exception it raises ends the run and is re-raised). `callback(info)` is
/// called on the record schedule (and at the last step) with a dict of
/// `step`, `train_loss`, `train_error`, `test_loss`, `test_error`,
/// `grad_norm` and, with `callback_weights=True`, a copy of `W`; returning
/// `True` stops the run there (status `"stopped"`). `keep_decomposition=True`
/// adds `"decomposition"`: the full decomposition at every recorded step,
/// `step` `(k,)`, `gamma` and `coef_w0` `(k, 2m)`, `rho_bar` and `rho`
/// `(k, 2m, N)` (the data set needs its latent parts). `progress=True` prints a
/// status line (step, training loss and error, test error) to `sys.stderr`
/// at each record, rewritten in place; off by default. `lr_schedule` is the
/// `[train] lr_schedule` table (`{"kind": "step", "every": 100, "gamma":
/// 0.5}`, `inverse_time`, `inverse_sqrt`, `cosine`: `η_t = η₀·f(t)`) or a
/// callable `t -> η_t` (`t = 0, 1, …` the step about to be taken), which sets
/// the optimizer's rate before each step (a Python optimizer's `lr`).
/// `eps_schedule` is the same for the `ε` of an adaptive rule (`ε_t =
/// ε₀·f(t)`, or a callable `t -> ε_t`; a Python optimizer's `eps`); an
/// optimizer without `ε` refuses it.
#[pyfunction]
#[pyo3(
    signature = (data, optim, model = None, steps = None, record_every = Count(10), decompose = false, w0 = None, seed = Count(0), train = None, batch_size = None, algorithm = None, callback = None, callback_weights = false, keep_decomposition = false, progress = false, lr_schedule = None, eps_schedule = None),
    text_signature = "(data, optim, model=None, steps=None, record_every=10, decompose=False, w0=None, seed=0, train=None, batch_size=None, algorithm=None, callback=None, callback_weights=False, keep_decomposition=False, progress=False, lr_schedule=None, eps_schedule=None)"
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
    callback: Option<&Bound<'py, PyAny>>,
    callback_weights: bool,
    keep_decomposition: bool,
    progress: bool,
    lr_schedule: Option<&Bound<'py, PyAny>>,
    eps_schedule: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    crate::convert::guard(|| {
        let ds = dataset(data)?;
        let cnn = model_config(model)?;
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
        let mut tc = tc;
        let lr_fn = schedule("lr_schedule", lr_schedule, &mut tc.lr_schedule)?;
        let eps_fn = schedule("eps_schedule", eps_schedule, &mut tc.eps_schedule)?;
        tc.validate().map_err(err)?;
        let d = ds.inner.train.d();
        let w0 = match w0 {
            Some(w) if !w.is_none() => weights("w0", w, 2 * cnn.m, d)?,
            _ => cnn.init::<f64, _>(d, &mut rng::stream(seed.0, 1)).map_err(err)?,
        };
        let opt = Chosen::read(optim, (2 * cnn.m, d), tc.precision)?;
        let mut cb = match callback {
            Some(f) if !f.is_none() => Some(PyCallback::new(f, callback_weights)?),
            _ => None,
        };
        let mut bar = progress.then(|| PyProgress::new(tc.max_steps));
        let mut arrays = match keep_decomposition {
            true => {
                crate::data::latents("keep_decomposition", &ds.inner)?;
                Some(DecompositionArrays::new(&ds.inner, &w0)?)
            }
            false => None,
        };
        let inner = &ds.inner;
        let done = crate::convert::detach_interruptible(py, || match opt {
            Chosen::F64(o) => run::<f64>(
                inner,
                &cnn,
                o,
                &tc,
                &w0,
                seed.0,
                (lr_fn, eps_fn),
                (cb.as_mut(), bar.as_mut(), arrays.as_mut()),
            ),
            Chosen::F32(o) => run::<f32>(
                inner,
                &cnn,
                o,
                &tc,
                &w0,
                seed.0,
                (lr_fn, eps_fn),
                (cb.as_mut(), bar.as_mut(), arrays.as_mut()),
            ),
        });
        if progress {
            PyProgress::finish(py)?;
        }
        let (run, w) = done?;
        let out = PyDict::new(py);
        out.set_item("status", crate::convert::to_python(py, &run.status)?)?;
        out.set_item("steps", run.steps)?;
        out.set_item("history", history(py, &run)?)?;
        if let Some(a) = arrays {
            out.set_item("decomposition", a.into_python(py)?)?;
        }
        out.set_item("W", w.into_pyarray(py))?;
        out.set_item("W0", w0.into_pyarray(py))?;
        Ok(out)
    })
}

/// A schedule argument: a callable is returned (called once a step), a
/// table is read into `table` (`[train] lr_schedule` / `eps_schedule`).
fn schedule(
    what: &str,
    arg: Option<&Bound<'_, PyAny>>,
    table: &mut gengap::train::LrSchedule,
) -> PyResult<Option<Py<PyAny>>> {
    match arg {
        Some(f) if f.is_callable() => Ok(Some(f.clone().unbind())),
        Some(t) if !t.is_none() => {
            *table = config(what, Some(t))?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// The optimizer `train` was given, built for the run's precision.
enum Chosen {
    F64(Box<dyn Optimizer<f64> + Send>),
    F32(Box<dyn Optimizer<f32> + Send>),
}

impl Chosen {
    fn read(optim: &Bound<'_, PyAny>, shape: (usize, usize), precision: Precision) -> PyResult<Self> {
        let build = |cfg: &OptimConfig| -> PyResult<Chosen> {
            Ok(match precision {
                Precision::F64 => Chosen::F64(Box::new(cfg.build::<f64>().map_err(err)?)),
                Precision::F32 => Chosen::F32(Box::new(cfg.build::<f32>().map_err(err)?)),
            })
        };
        if let Ok(o) = optim.cast::<PyOptimizer>() {
            let o = o.borrow();
            return match precision {
                Precision::F64 => Ok(Chosen::F64(Box::new(o.inner().clone()))),
                Precision::F32 if o.inner().state().t == 0 => build(o.optim_config()),
                Precision::F32 => Err(value_error(
                    "`optim`: a gengap.optim.Optimizer that has taken steps keeps a float64 state; train it with precision \"f64\" or pass its config",
                )),
            };
        }
        let is_config =
            optim.is_instance_of::<pyo3::types::PyDict>() || optim.is_instance_of::<pyo3::types::PyString>();
        if is_config {
            return build(&optim_config(optim)?);
        }
        let own = PyStepOptimizer::new(optim, shape)?;
        match precision {
            Precision::F64 => Ok(Chosen::F64(Box::new(own))),
            Precision::F32 => Err(value_error(
                "`optim`: a Python optimizer steps float64 arrays; train it with precision \"f64\"",
            )),
        }
    }
}

/// The observers `train` can add: the callback, the progress line, the
/// decomposition arrays.
type Watchers<'a> = (
    Option<&'a mut PyCallback>,
    Option<&'a mut PyProgress>,
    Option<&'a mut DecompositionArrays>,
);

/// The whole decomposition at each observed step, stacked.
struct DecompositionArrays {
    decomposer: Decomposer,
    steps: Vec<u64>,
    all: Vec<gengap::analysis::Decomposition>,
}

impl DecompositionArrays {
    fn new(ds: &Dataset, w0: &Array2<f64>) -> PyResult<Self> {
        Ok(DecompositionArrays {
            decomposer: Decomposer::new(Basis::from_dataset(ds), w0.view()).map_err(err)?,
            steps: vec![],
            all: vec![],
        })
    }

    fn into_python(self, py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
        let (k, m2) = (self.all.len(), self.all.first().map_or(0, |d| d.gamma.len()));
        let n = self.all.first().map_or(0, |d| d.rho.ncols());
        let stack1 = |f: &dyn Fn(&gengap::analysis::Decomposition) -> &ndarray::Array1<f64>| {
            Array2::from_shape_fn((k, m2), |(t, c)| f(&self.all[t])[c])
        };
        let stack2 = |f: &dyn Fn(&gengap::analysis::Decomposition) -> &Array2<f64>| {
            ndarray::Array3::from_shape_fn((k, m2, n), |(t, c, q)| f(&self.all[t])[[c, q]])
        };
        let out = PyDict::new(py);
        out.set_item("step", ndarray::Array1::from(self.steps.clone()).into_pyarray(py))?;
        out.set_item("gamma", stack1(&|d| &d.gamma).into_pyarray(py))?;
        out.set_item("coef_w0", stack1(&|d| &d.coef_w0).into_pyarray(py))?;
        out.set_item("rho_bar", stack2(&|d| &d.rho_bar).into_pyarray(py))?;
        out.set_item("rho", stack2(&|d| &d.rho).into_pyarray(py))?;
        Ok(out)
    }
}

impl<T: Real> Observer<Trainer<T>> for DecompositionArrays {
    fn observe(&mut self, t: &Trainer<T>, r: &gengap::train::Record) -> Result<(), TrainError> {
        let w = cast::<T, f64>(t.weights().view());
        if w.iter().all(|v| v.is_finite()) {
            self.all.push(self.decomposer.decompose(w.view())?);
            self.steps.push(r.step);
        }
        Ok(())
    }
}

/// One run, as `gengap::train::train_from_stream` runs it, with the callback watching.
#[allow(clippy::too_many_arguments)]
fn run<T: Real>(
    ds: &Dataset,
    cnn: &CnnConfig,
    opt: Box<dyn Optimizer<T> + Send>,
    tc: &TrainConfig,
    w0: &Array2<f64>,
    seed: u64,
    (lr_fn, eps_fn): (Option<Py<PyAny>>, Option<Py<PyAny>>),
    (cb, bar, arrays): Watchers<'_>,
) -> Result<(RunRecord, Array2<f64>), TrainError> {
    let mut t =
        Trainer::new(ds, cnn, cast::<f64, T>(w0.view()), opt, tc.clone())?.with_stream(&mut rng::stream(seed, 2));
    // A Python schedule: an exception it raises ends the run and is raised
    // as it was (the rate is then NaN, which the optimizer refuses).
    let failed: std::sync::Arc<std::sync::Mutex<Option<PyErr>>> = Default::default();
    let python_schedule = |f: Py<PyAny>, slot: std::sync::Arc<std::sync::Mutex<Option<PyErr>>>| {
        move |step: u64| {
            Python::attach(|py| f.call1(py, (step,)).and_then(|v| v.extract::<f64>(py))).unwrap_or_else(|e| {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                f64::NAN
            })
        }
    };
    if let Some(f) = lr_fn {
        t = t.with_lr_schedule(python_schedule(f, failed.clone()));
    }
    if let Some(f) = eps_fn {
        t = t.with_eps_schedule(python_schedule(f, failed.clone()));
    }
    let mut watchers: Vec<Watch<'_, Trainer<T>>> = Vec::new();
    if let Some(b) = bar {
        watchers.push(Watch::new(b, tc.record));
    }
    if let Some(c) = cb {
        watchers.push(Watch::new(c, tc.record));
    }
    if let Some(a) = arrays {
        watchers.push(Watch::new(a, tc.record));
    }
    let done = t.run(&mut watchers);
    if let Some(e) = failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(TrainError::Other(gengap::data::Foreign::new(e)));
    }
    let (run, w) = done?;
    Ok((run, cast::<T, f64>(w.view())))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(train, m)?)?;
    Ok(())
}
