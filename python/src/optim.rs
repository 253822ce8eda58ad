//! `gengap.optim`: every optimizer of `gengap-optim`, stepping NumPy arrays
//! in place, with its state as a dict (`docs/theory.md#optimizers`).

use gengap::optim::{Buffers, OptState, Optim, OptimConfig, Optimizer};
use numpy::{PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{config, err, f64_array, real_array, to_python, value_error};

/// An optimizer with validated hyper-parameters and its state
/// (`gengap::optim::Optim<f64>`). Made by `gengap.optim.make(config)`.
#[pyclass(name = "Optimizer", module = "gengap.optim")]
pub struct PyOptimizer {
    cfg: OptimConfig,
    inner: Optim<f64>,
}

impl PyOptimizer {
    /// The optimizer (config and state).
    pub fn inner(&self) -> &Optim<f64> {
        &self.inner
    }

    /// Its config.
    pub fn optim_config(&self) -> &OptimConfig {
        &self.cfg
    }

    /// The config's value of `key`, if the rule has it.
    fn hyper(&self, key: &str) -> Option<serde_json::Value> {
        serde_json::to_value(&self.cfg).ok()?.get(key).cloned()
    }

    /// The same optimizer with the config's `key` set to `value`: the new
    /// config is read and built as `make` does (so an invalid value, or a
    /// key the rule does not have, is a `ValueError`), then the state is
    /// carried over.
    fn set_hyper(&mut self, key: &str, value: serde_json::Value) -> PyResult<()> {
        let mut v = serde_json::to_value(&self.cfg).map_err(err)?;
        let table = v
            .as_object_mut()
            .ok_or_else(|| value_error("the optimizer config is not a table"))?;
        if !table.contains_key(key) {
            return Err(value_error(format!("optimizer `{}` has no `{key}`", self.inner.name())));
        }
        table.insert(key.to_string(), value);
        let cfg: OptimConfig = serde_json::from_value(v).map_err(err)?;
        let mut inner = cfg.build::<f64>().map_err(err)?;
        inner.load_state(self.inner.state().clone()).map_err(err)?;
        self.cfg = cfg;
        self.inner = inner;
        Ok(())
    }
}

#[pymethods]
impl PyOptimizer {
    /// `step(w, g)`: one update of the parameters `w` (a writable, C-contiguous
    /// float64 array, changed in place) with the gradient `g` (float64, the
    /// same shape), by the rule's formula (see `docs/theory.md#optimizers`);
    /// the first step sizes the state.
    fn step(&mut self, w: &Bound<'_, PyAny>, g: &Bound<'_, PyAny>) -> PyResult<()> {
        crate::convert::guard(|| {
            let arr = w.cast::<PyArrayDyn<f64>>().map_err(|_| {
                value_error(format!(
                    "`w` must be a writable float64 NumPy array, got {}",
                    w.getattr("dtype")
                        .map(|d| d.to_string())
                        .unwrap_or_else(|_| "another type".into())
                ))
            })?;
            let ndim = arr.ndim();
            let g = f64_array("g", g, ndim)?;
            crate::convert::check_shape("g", g.shape(), arr.shape())?;
            // `w` is updated in place in memory order, so it must be C-ordered; a
            // Fortran-ordered (e.g. `W.T`) or strided one is refused, never
            // misread. `g` of any layout is read by index (copied to C order).
            if !arr.is_c_contiguous() {
                return Err(value_error(
                    "`w` must be C-contiguous (it is updated in place): pass np.ascontiguousarray(w) and read the result from it",
                ));
            }
            let g = g.as_array();
            let g = g.as_standard_layout();
            let g = g.as_slice().expect("standard layout is contiguous");
            let mut rw = arr
                .try_readwrite()
                .map_err(|_| value_error("`w` must be writable and not borrowed elsewhere"))?;
            let w = rw.as_slice_mut().map_err(|_| value_error("`w` must be C-contiguous"))?;
            self.inner.step(w, g).map_err(err)
        })
    }

    /// The state as a dict `{"t": steps, "buffers": {"kind": …, "m": array, …}}`,
    /// each buffer a fresh float64 NumPy array (a copy: changing it does not
    /// change the optimizer); `load_state` of it continues the run bit for bit.
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::convert::guard(|| {
            let s = self.inner.state();
            let buffers = PyDict::new(py);
            buffers.set_item("kind", s.buffers.kind())?;
            for (name, values) in s.buffers.all() {
                buffers.set_item(name.key(), PyArray1::from_slice(py, values))?;
            }
            let out = PyDict::new(py);
            out.set_item("t", s.t)?;
            out.set_item("buffers", buffers)?;
            Ok(out)
        })
    }

    /// `load_state(state)`: restore a state from `state()` (its buffers as
    /// NumPy arrays or lists; any real dtype and layout is copied to float64);
    /// a state that cannot belong to this optimizer (other buffers,
    /// inconsistent `t`, a negative second moment, an unknown key) is a
    /// `ValueError`, and the optimizer is unchanged.
    fn load_state(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        crate::convert::guard(|| {
            let s = state_from_python(state)?;
            self.inner.load_state(s).map_err(err)
        })
    }

    /// The rule's name (`"adam"`, `"padam"`, …).
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }

    /// The learning rate η; setting it checks it as the config does.
    #[getter]
    fn get_lr(&self) -> f64 {
        self.inner.learning_rate()
    }

    #[setter]
    fn set_lr(&mut self, lr: f64) -> PyResult<()> {
        crate::convert::guard(|| {
            self.inner.set_learning_rate(lr).map_err(err)?;
            // `config` (and a pickle) follow the rate set.
            self.cfg = self.cfg.with_lr(lr);
            Ok(())
        })
    }

    /// Pickling and `copy`: the config and the state, as JSON text (floats
    /// in their round-trip form), rebuilt by `make` and `load_state`; the
    /// copy continues the run bit for bit.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String, String))> {
        crate::convert::guard(|| {
            let f = py.import("gengap._native")?.getattr("_optimizer_from_json")?;
            let cfg = serde_json::to_string(&self.cfg).map_err(err)?;
            let state = serde_json::to_string(self.inner.state()).map_err(err)?;
            Ok((f, (cfg, state)))
        })
    }

    /// `ε` of the rules that have one (Adam and its variants), `None` for the others.
    #[getter]
    fn get_eps(&self) -> Option<f64> {
        self.hyper("eps").and_then(|v| v.as_f64())
    }

    /// Set `ε`: checked as the config is (`ValueError` naming the value);
    /// the state is kept, so the run goes on with the new `ε`.
    #[setter]
    fn set_eps(&mut self, eps: f64) -> PyResult<()> {
        crate::convert::guard(|| self.set_hyper("eps", serde_json::json!(eps)))
    }

    /// `(β₁, β₂)` of the rules that have them, `None` for the others.
    #[getter]
    fn get_betas(&self) -> Option<(f64, f64)> {
        let b = self.hyper("betas")?;
        Some((b.get(0)?.as_f64()?, b.get(1)?.as_f64()?))
    }

    /// Set `(β₁, β₂)`: checked as the config is; the state is kept.
    #[setter]
    fn set_betas(&mut self, betas: (f64, f64)) -> PyResult<()> {
        crate::convert::guard(|| self.set_hyper("betas", serde_json::json!([betas.0, betas.1])))
    }

    /// The config it was made from, with every default filled in.
    #[getter]
    fn config(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::convert::guard(|| to_python(py, &self.cfg))
    }

    fn __repr__(&self) -> String {
        format!("Optimizer({})", serde_json::to_string(&self.cfg).unwrap_or_default())
    }
}

/// `make(config) -> Optimizer`: an optimizer from its config, the `[gd]`/
/// `[adam]` tables of the experiment configs, e.g. `{"name": "padam",
/// "lr": 0.1, "p": 0.125}`; unknown keys and out-of-range values are a
/// `ValueError` naming the key and value.
#[pyfunction]
fn make(config: &Bound<'_, PyAny>) -> PyResult<PyOptimizer> {
    crate::convert::guard(|| {
        let cfg: OptimConfig = crate::convert::config("optim", Some(config))?;
        let inner = cfg.build::<f64>().map_err(err)?;
        Ok(PyOptimizer { cfg, inner })
    })
}

/// `_optimizer_from_json(config, state)`: what `Optimizer.__reduce__` pickles.
#[pyfunction]
fn _optimizer_from_json(config: &str, state: &str) -> PyResult<PyOptimizer> {
    crate::convert::guard(|| {
        let cfg: OptimConfig = serde_json::from_str(config).map_err(err)?;
        let mut inner = cfg.build::<f64>().map_err(err)?;
        let s: OptState<f64> = serde_json::from_str(state).map_err(err)?;
        inner.load_state(s).map_err(err)?;
        Ok(PyOptimizer { cfg, inner })
    })
}

/// The optimizer config argument of `train`, checked.
/// An optimizer state from `Optimizer.state()`'s dict form.
fn state_from_python(obj: &Bound<'_, PyAny>) -> PyResult<OptState<f64>> {
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| value_error("`state` must be a dict as `state()` returns it"))?;
    let known = |d: &Bound<'_, PyDict>, keys: &[&str], what: &str| -> PyResult<()> {
        for k in d.keys() {
            let k: String = k.extract()?;
            if !keys.contains(&k.as_str()) {
                return Err(value_error(format!(
                    "`{what}`: unknown key `{k}`, expected one of {}",
                    keys.join(", ")
                )));
            }
        }
        Ok(())
    };
    known(dict, &["t", "buffers"], "state")?;
    let t: u64 = dict
        .get_item("t")?
        .ok_or_else(|| value_error("`state`: missing key `t`"))?
        .extract()
        .map_err(|_| value_error("`state.t` must be an integer >= 0"))?;
    let buffers = dict
        .get_item("buffers")?
        .ok_or_else(|| value_error("`state`: missing key `buffers`"))?;
    let buffers = buffers
        .cast::<PyDict>()
        .map_err(|_| value_error("`state.buffers` must be a dict"))?;
    let kind: String = buffers
        .get_item("kind")?
        .ok_or_else(|| value_error("`state.buffers`: missing key `kind`"))?
        .extract()
        .map_err(|_| value_error("`state.buffers.kind` must be a string"))?;
    let vec = |name: &str| -> PyResult<Vec<f64>> {
        let v = buffers
            .get_item(name)?
            .ok_or_else(|| value_error(format!("`state.buffers`: missing key `{name}` for kind `{kind}`")))?;
        Ok(real_array(&format!("state.buffers.{name}"), &v, 1)?
            .into_raw_vec_and_offset()
            .0)
    };
    let b = match kind.as_str() {
        "none" => {
            known(buffers, &["kind"], "state.buffers")?;
            Buffers::None
        }
        "momentum" => {
            known(buffers, &["kind", "b"], "state.buffers")?;
            Buffers::Momentum { b: vec("b")? }
        }
        "adam" => {
            known(buffers, &["kind", "m", "v"], "state.buffers")?;
            Buffers::Adam {
                m: vec("m")?,
                v: vec("v")?,
            }
        }
        // `ams_grad`: the former spelling.
        "amsgrad" | "ams_grad" => {
            known(buffers, &["kind", "m", "v", "v_max"], "state.buffers")?;
            Buffers::AmsGrad {
                m: vec("m")?,
                v: vec("v")?,
                v_max: vec("v_max")?,
            }
        }
        other => {
            return Err(value_error(format!(
                "`state.buffers.kind` = {other:?}: expected one of none, momentum, adam, amsgrad"
            )));
        }
    };
    Ok(OptState { t, buffers: b })
}

pub fn optim_config(obj: &Bound<'_, PyAny>) -> PyResult<OptimConfig> {
    let cfg: OptimConfig = config("optim", Some(obj))?;
    cfg.resolve().map_err(err)?;
    Ok(cfg)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOptimizer>()?;
    m.add_function(wrap_pyfunction!(make, m)?)?;
    m.add_function(wrap_pyfunction!(_optimizer_from_json, m)?)?;
    Ok(())
}
