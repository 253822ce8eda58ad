//! Python code inside the training loop: an optimizer object with
//! `step(w, g)` (`train(optim=...)`) and a callback on the record schedule
//! (`train(callback=...)`). Both run under the GIL, taken for the call alone
//! (the loop itself runs without it), and a Python exception they raise
//! ends the run and is re-raised as it was.

use gengap::data::Foreign;
use gengap::model::Real;
use gengap::optim::{OptimError, Optimizer, SavedState};
use gengap::train::{Observer, Record, TrainError, Trainer};
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A Python object with `step(w, g)` as a gengap optimizer (f64 only).
///
/// Each step copies `W` and `g` into two NumPy arrays of shape `(2m, d)`
/// (`g` read-only), calls `obj.step(w, g)`, which must update `w` in place,
/// and copies `w` back. The learning rate is the object's `lr` attribute
/// (NaN if it has none); a schedule sets it there.
pub struct PyStepOptimizer {
    obj: Py<PyAny>,
    name: String,
    shape: (usize, usize),
}

impl PyStepOptimizer {
    /// Wrap `obj` for weights of shape `shape`; refused unless `obj.step` is callable.
    pub fn new(obj: &Bound<'_, PyAny>, shape: (usize, usize)) -> PyResult<Self> {
        let callable = obj.getattr("step").map(|s| s.is_callable()).unwrap_or(false);
        if !callable {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`optim` must be a dict, TOML text, a gengap.optim.Optimizer or an object with a `step(w, g)` method, got {}",
                obj.get_type().name()?
            )));
        }
        let name = match obj.getattr("name").and_then(|n| n.extract::<String>()) {
            Ok(n) => n,
            Err(_) => obj.get_type().name()?.to_string(),
        };
        Ok(PyStepOptimizer {
            obj: obj.clone().unbind(),
            name,
            shape,
        })
    }
}

/// A Python exception as the `Other` error of an optimizer or observer.
fn foreign(e: PyErr) -> Foreign {
    Foreign::new(e)
}

/// The Python exception a training error carries, if it came from Python
/// code in the loop: re-raised as it was, not wrapped.
pub fn python_error(py: Python<'_>, e: &TrainError) -> Option<PyErr> {
    let f = match e {
        TrainError::Other(f) | TrainError::Optim(OptimError::Other(f)) => f,
        _ => return None,
    };
    f.downcast_ref::<PyErr>().map(|e| e.clone_ref(py))
}

impl Optimizer<f64> for PyStepOptimizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn step(&mut self, w: &mut [f64], grad: &[f64]) -> Result<(), OptimError> {
        let (rows, cols) = self.shape;
        if w.len() != rows * cols || grad.len() != w.len() {
            return Err(OptimError::Length {
                what: "grad",
                expected: rows * cols,
                got: grad.len(),
            });
        }
        Python::attach(|py| -> PyResult<()> {
            let wa = PyArray1::from_slice(py, w).reshape([rows, cols])?;
            let ga = PyArray1::from_slice(py, grad).reshape([rows, cols])?;
            ga.getattr("flags")?.setattr("writeable", false)?;
            self.obj.call_method1(py, "step", (&wa, &ga))?;
            let back = wa.try_readonly()?;
            let slice = back.as_slice()?;
            w.copy_from_slice(slice);
            Ok(())
        })
        .map_err(|e| OptimError::Other(foreign(e)))
    }

    fn learning_rate(&self) -> f64 {
        Python::attach(|py| {
            self.obj
                .getattr(py, "lr")
                .and_then(|v| v.extract::<f64>(py))
                .unwrap_or(f64::NAN)
        })
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        Python::attach(|py| self.obj.setattr(py, "lr", lr)).map_err(|e| OptimError::Other(foreign(e)))
    }

    /// The object's `eps` attribute, if it has one.
    fn eps(&self) -> Option<f64> {
        Python::attach(|py| self.obj.getattr(py, "eps").and_then(|v| v.extract::<f64>(py)).ok())
    }

    fn set_eps(&mut self, eps: f64) -> Result<(), OptimError> {
        Python::attach(|py| self.obj.setattr(py, "eps", eps)).map_err(|e| OptimError::Other(foreign(e)))
    }

    fn save_state(&self) -> Result<SavedState, OptimError> {
        Err(OptimError::State {
            reason: format!(
                "the Python optimizer `{}` keeps its state in Python: save it there",
                self.name
            ),
        })
    }

    fn restore_state(&mut self, _: &SavedState) -> Result<(), OptimError> {
        Err(OptimError::State {
            reason: format!(
                "the Python optimizer `{}` keeps its state in Python: restore it there",
                self.name
            ),
        })
    }
}

/// `train(callback=f)`: `f(info)` on the record schedule, `info` a dict of
/// the step, its metrics and (`callback_weights=True`) `W`; a return value
/// of `True` stops the run (status `"stopped"`).
pub struct PyCallback {
    f: Py<PyAny>,
    weights: bool,
}

impl PyCallback {
    /// Refused unless `f` is callable.
    pub fn new(f: &Bound<'_, PyAny>, weights: bool) -> PyResult<Self> {
        if !f.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`callback` must be callable, got {}",
                f.get_type().name()?
            )));
        }
        Ok(PyCallback {
            f: f.clone().unbind(),
            weights,
        })
    }
}

impl<T: Real> Observer<Trainer<T>> for PyCallback {
    fn observe(&mut self, t: &Trainer<T>, r: &Record) -> Result<(), TrainError> {
        let stop = Python::attach(|py| -> PyResult<bool> {
            let info = PyDict::new(py);
            info.set_item("step", r.step)?;
            info.set_item("train_loss", r.train.loss)?;
            info.set_item("train_error", r.train.error)?;
            info.set_item("test_loss", r.test.loss)?;
            info.set_item("test_error", r.test.error)?;
            info.set_item("grad_norm", r.grad_norm)?;
            if self.weights {
                let w = gengap::model::cast::<T, f64>(t.weights().view());
                info.set_item("W", numpy::IntoPyArray::into_pyarray(w, py))?;
            }
            let out = self.f.call1(py, (info,))?;
            let out = out.bind(py);
            if out.is_none() {
                return Ok(false);
            }
            out.extract::<bool>().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "`callback` must return None, False or True (stop), got {}",
                    out.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                ))
            })
        })
        .map_err(|e| TrainError::Other(foreign(e)))?;
        if stop { Err(TrainError::StopRequested) } else { Ok(()) }
    }
}

/// `train(progress=True)`: one status line on `sys.stderr` per record,
/// rewritten in place (`\r`), so that it shows in terminals and notebooks.
pub struct PyProgress {
    total: u64,
}

impl PyProgress {
    /// For a run of at most `total` steps.
    pub fn new(total: u64) -> Self {
        PyProgress { total }
    }

    /// End the line (after the run).
    pub fn finish(py: Python<'_>) -> PyResult<()> {
        py.import("sys")?.getattr("stderr")?.call_method1("write", ("\n",))?;
        Ok(())
    }
}

impl<T: Real> Observer<Trainer<T>> for PyProgress {
    fn observe(&mut self, _: &Trainer<T>, r: &Record) -> Result<(), TrainError> {
        Python::attach(|py| -> PyResult<()> {
            let line = format!(
                "\rstep {}/{}  train loss {:.4e}  train error {:.3}  test error {:.3}",
                r.step, self.total, r.train.loss, r.train.error, r.test.error
            );
            let err = py.import("sys")?.getattr("stderr")?;
            err.call_method1("write", (line,))?;
            err.call_method0("flush")?;
            Ok(())
        })
        .map_err(|e| TrainError::Other(foreign(e)))
    }
}
