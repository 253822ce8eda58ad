//! Between Python and the crates: configs (dict or TOML text → serde),
//! results (serde → Python objects), NumPy arrays with checked dtype and
//! shape, and errors (→ `ValueError`, one line).

use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A `ValueError` with `msg`, made one line.
pub fn value_error(msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(msg.to_string().replace('\n', " "))
}

/// Any error of the crates, as a `ValueError` with its message.
pub fn err<E: std::fmt::Display>(e: E) -> PyErr {
    value_error(e)
}

/// A config given as a dict (or `None`: `{}`) as JSON text.
fn dict_json(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let json = obj.py().import("json")?;
    json.call_method1("dumps", (obj,))?.extract::<String>()
}

/// A NaN or infinite float anywhere in the dict config `obj` (which JSON
/// cannot carry, and which no config key allows) as one `ValueError` naming
/// its key path: `` `optim.lr` = nan: must be finite ``.
fn non_finite(path: &str, obj: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            non_finite(&format!("{path}.{}", k.str()?), &v)?;
        }
    } else if let Ok(l) = obj.cast::<pyo3::types::PyList>() {
        for (i, v) in l.iter().enumerate() {
            non_finite(&format!("{path}[{i}]"), &v)?;
        }
    } else if obj.is_instance_of::<pyo3::types::PyFloat>() {
        let v: f64 = obj.extract()?;
        if !v.is_finite() {
            return Err(value_error(format!("`{path}` = {v}: must be finite")));
        }
    }
    Ok(())
}

/// The serde value of a config: a dict (or `None`, the empty table) is read
/// as JSON, a `str` as TOML text. `what` names the argument in errors.
pub fn config<T: DeserializeOwned>(what: &str, obj: Option<&Bound<'_, PyAny>>) -> PyResult<T> {
    let parsed = match obj {
        None => serde_json::from_str::<T>("{}").map_err(|e| e.to_string()),
        Some(o) if o.is_none() => serde_json::from_str::<T>("{}").map_err(|e| e.to_string()),
        Some(o) if o.is_instance_of::<PyString>() => {
            let text = o.extract::<String>()?;
            toml::from_str::<T>(&text).map_err(|e| {
                // Where, as the binaries say it for a config file: line:column.
                let at = e.span().map_or(String::new(), |s| {
                    let line = text[..s.start].matches('\n').count() + 1;
                    let col = s.start - text[..s.start].rfind('\n').map_or(0, |p| p + 1) + 1;
                    format!(" at {line}:{col}")
                });
                format!("{}{at}", e.message().trim())
            })
        }
        Some(o) if o.is_instance_of::<PyDict>() => {
            non_finite(what, o)?;
            serde_json::from_str::<T>(&dict_json(o)?).map_err(|e| strip_position(&e.to_string()))
        }
        Some(o) => {
            return Err(value_error(format!(
                "`{what}` must be a dict or TOML text, got {}",
                o.get_type().name()?
            )));
        }
    };
    parsed.map_err(|e| value_error(format!("`{what}`: {e}")))
}

/// The keyword arguments `kwargs` over the defaults of `T` (`T::default()`),
/// read as [`config`] reads a dict: unknown keys are an error naming them.
pub fn with_defaults<T: Serialize + DeserializeOwned + Default>(
    what: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<T> {
    let mut base = serde_json::to_value(T::default()).map_err(err)?;
    if let Some(kw) = kwargs {
        let given: serde_json::Value = serde_json::from_str(&dict_json(kw.as_any())?)
            .map_err(|e| value_error(format!("`{what}`: {}", strip_position(&e.to_string()))))?;
        if let (Some(b), serde_json::Value::Object(g)) = (base.as_object_mut(), given) {
            b.extend(g);
        }
    }
    serde_json::from_value(base).map_err(|e| value_error(format!("`{what}`: {e}")))
}

/// A config dict (or TOML text) as TOML text, for the study runner.
pub fn toml_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if obj.is_instance_of::<PyString>() {
        return obj.extract::<String>();
    }
    if !obj.is_instance_of::<PyDict>() {
        return Err(value_error(format!(
            "`config` must be a dict or TOML text, got {}",
            obj.get_type().name()?
        )));
    }
    let value: serde_json::Value = serde_json::from_str(&dict_json(obj)?).map_err(err)?;
    toml::to_string(&value).map_err(|e| value_error(format!("`config`: {e}")))
}

/// serde_json's " at line 1 column 57" means nothing to a dict's author.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(k) => msg[..k].to_string(),
        None => msg.to_string(),
    }
}

/// A serde value as a Python object (dicts, lists, floats, strings; NaN stays NaN).
pub fn to_python<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(err)?;
    json_to_python(py, &text)
}

/// JSON text as a Python object.
pub fn json_to_python(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// A read-only view of the float64 array `obj` of `ndim` dimensions, or a
/// `ValueError` naming the argument, the dtype and the shape it got.
pub fn f64_array<'py>(name: &str, obj: &Bound<'py, PyAny>, ndim: usize) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    let bad = |got: String| {
        value_error(format!(
            "`{name}` must be a float64 NumPy array with {ndim} dimensions, got {got}"
        ))
    };
    let arr = obj.cast::<PyArrayDyn<f64>>().map_err(|_| bad(describe(obj)))?;
    if arr.ndim() != ndim {
        return Err(bad(describe(obj)));
    }
    arr.try_readonly()
        .map_err(|_| value_error(format!("`{name}` is being written elsewhere")))
}

/// What an argument is, for an error: its dtype and shape, or its type.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    match (obj.getattr("dtype"), obj.getattr("shape")) {
        (Ok(dtype), Ok(shape)) => format!("dtype {} with shape {}", dtype, shape),
        _ => obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into()),
    }
}

/// Check `got` against `want` (shapes), naming the argument.
pub fn check_shape(name: &str, got: &[usize], want: &[usize]) -> PyResult<()> {
    if got != want {
        return Err(value_error(format!("`{name}` has shape {got:?}, expected {want:?}")));
    }
    Ok(())
}

/// A non-negative integer argument (a seed, a size, a step count): anything
/// else — negative, too large, not an integer — is a `ValueError` naming the
/// argument (PyO3's own conversion would raise `OverflowError`/`TypeError`).
#[derive(Debug, Clone, Copy)]
pub struct Count(pub u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<pyo3::types::PyBool>() || !obj.is_instance_of::<pyo3::types::PyInt>() {
            return Err(value_error(format!(
                "expected a non-negative integer, got {}",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            )));
        }
        obj.extract::<u64>().map(Count).map_err(|_| {
            value_error(format!(
                "expected an integer in 0..2^64, got {}",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })
    }
}

/// `obj` as a NumPy array of `ndim` dimensions whose dtype kind is one of
/// `kinds` (NumPy's letters: `f` float, `i`/`u` integer, `b` bool),
/// converted by a copy to a C-ordered array of `dtype` where it differs; or a
/// `ValueError` naming the argument and saying it must be `what`. Returns
/// the shape, and the array unless it is empty (NumPy gives zero-size
/// arrays strides that ndarray's view constructor rejects with a panic).
fn converted<'py>(
    name: &str,
    obj: &Bound<'py, PyAny>,
    ndim: usize,
    kinds: &str,
    dtype: &str,
    what: &str,
) -> PyResult<(Vec<usize>, Option<Bound<'py, PyAny>>)> {
    let np = obj.py().import("numpy")?;
    let arr = np
        .call_method1("asarray", (obj,))
        .map_err(|_| value_error(format!("`{name}` must be {what}, got {}", describe(obj))))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let dims: usize = arr.getattr("ndim")?.extract()?;
    if !kinds.contains(kind.as_str()) || kind.len() != 1 || dims != ndim {
        return Err(value_error(format!(
            "`{name}` must be {what} with {ndim} dimensions, got {}",
            describe(&arr)
        )));
    }
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    if shape.contains(&0) {
        return Ok((shape, None));
    }
    let kw = PyDict::new(obj.py());
    kw.set_item("dtype", np.getattr(dtype)?)?;
    Ok((shape, Some(np.call_method("ascontiguousarray", (arr,), Some(&kw))?)))
}

/// Any real array-like `obj` (float64, float32, integer or bool NumPy array,
/// or a nested list) with `ndim` dimensions, as an owned C-ordered float64
/// array: converted by a copy where its dtype or layout differs, never
/// reinterpreted. A complex or object array, or the wrong number of
/// dimensions, is a `ValueError` naming the argument.
pub fn real_array(name: &str, obj: &Bound<'_, PyAny>, ndim: usize) -> PyResult<ndarray::ArrayD<f64>> {
    match converted(
        name,
        obj,
        ndim,
        "fiub",
        "float64",
        "a real (float, integer or bool) array",
    )? {
        (shape, None) => Ok(ndarray::ArrayD::zeros(shape)),
        (_, Some(c)) => Ok(c
            .cast::<PyArrayDyn<f64>>()
            .map_err(|_| value_error(format!("`{name}`: cannot convert to float64")))?
            .readonly()
            .as_array()
            .to_owned()),
    }
}

/// Any integer array-like `obj` of `ndim` dimensions with entries `>= 0`
/// (patch indices), as `usize`s in C order; a float, negative or
/// wrongly-shaped array is a `ValueError` naming the argument.
pub fn index_array(name: &str, obj: &Bound<'_, PyAny>, ndim: usize) -> PyResult<ndarray::ArrayD<usize>> {
    let a = match converted(name, obj, ndim, "iu", "int64", "an integer array")? {
        (shape, None) => return Ok(ndarray::ArrayD::zeros(shape)),
        (_, Some(c)) => c
            .cast::<PyArrayDyn<i64>>()
            .map_err(|_| value_error(format!("`{name}`: cannot convert to int64")))?
            .readonly()
            .as_array()
            .to_owned(),
    };
    if let Some(v) = a.iter().find(|v| **v < 0) {
        return Err(value_error(format!("`{name}` has the negative index {v}")));
    }
    Ok(a.mapv(|v| v as usize))
}

/// Run `f` without the GIL, noticing Ctrl-C: the training driver (and any
/// loop that asks `gengap::train::interrupt::requested`) checks Python's
/// signals between steps, at most every 50 ms, and stops; the
/// `KeyboardInterrupt` (or whatever a signal handler raised) is then raised
/// here, the run's result dropped.
pub fn detach_interruptible<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> Result<T, gengap::train::TrainError> + Send,
{
    use std::sync::{Arc, Mutex};
    let caught: Arc<Mutex<Option<PyErr>>> = Arc::new(Mutex::new(None));
    let inside = caught.clone();
    let check = move || {
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(e) => {
                *inside.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                true
            }
        })
    };
    let result = py.detach(move || gengap::train::interrupt::with_interrupt(check, f));
    if let Some(e) = caught.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    result.map_err(|e| Python::attach(|py| crate::hooks::python_error(py, &e)).unwrap_or_else(|| err(e)))
}

/// Run the body of a Python entry point so that no Rust panic reaches
/// Python as PyO3's `PanicException` (a `BaseException`, which `except
/// Exception` does not catch): a panic becomes a `RuntimeError` naming it as
/// an internal error. The body of every function and method of the package
/// that can fail runs through this.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            Err(PyRuntimeError::new_err(format!(
                "internal error in gengap (a bug; please report it): {}",
                what.replace('\n', " ")
            )))
        }
    }
}
