//! # gengap-py — the `gengap` Python package
//!
//! The native module `gengap._native`, built with PyO3 and maturin from the
//! workspace's crates; the Python package in `python/gengap/` arranges it into
//! `gengap.data`, `gengap.model`, `gengap.optim`, `gengap.analysis`,
//! `gengap.train` and `gengap.run_study`. Every number comes from the Rust
//! crates: the Python side holds no numerics of its own.
//!
//! Conventions, all as in the Rust API (`docs/python.md`):
//! * arrays in and out are NumPy `float64` arrays (labels too); the weights
//!   `W` have shape `(2m, d)`, row `c = j·m + r` is the filter `w_{j,r}` with
//!   `j = 0` the `+1` class (`docs/theory.md#network`);
//! * configs are the TOML tables of the experiment configs, given as a dict
//!   (or as TOML text);
//! * every random draw comes from `stream(seed, stream)`, the same
//!   version-stable ChaCha8 stream the Rust API uses, so a seed gives the
//!   same arrays in Python and in Rust;
//! * a bad argument raises `ValueError` with the one-line message the
//!   binaries print; nothing panics across the boundary.

use pyo3::prelude::*;

mod analysis;
mod convert;
mod data;
mod hooks;
mod model;
mod optim;
mod study;
mod train;

/// The native module; see the crate docs.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(_panic, m)?)?;
    m.add_function(wrap_pyfunction!(blas, m)?)?;
    m.add_function(wrap_pyfunction!(set_blas_threads, m)?)?;
    data::register(m)?;
    model::register(m)?;
    optim::register(m)?;
    train::register(m)?;
    analysis::register(m)?;
    study::register(m)?;
    Ok(())
}

/// `_panic(message)`: panics inside the guard every entry point runs in,
/// for the test suite's check that a Rust panic reaches Python as a
/// `RuntimeError` (not part of the API).
#[pyfunction]
fn _panic(message: &str) -> PyResult<()> {
    convert::guard(|| panic!("{message}"))
}

/// `blas() -> dict`: the BLAS that runs the GEMMs — library, version,
/// build configuration, kernel, who chose it, and thread count (what every
/// `record.json` records under `provenance.blas`).
#[pyfunction]
fn blas(py: Python<'_>) -> PyResult<Py<PyAny>> {
    crate::convert::guard(|| convert::to_python(py, &gengap::model::BlasInfo::current()))
}

/// `set_blas_threads(n)`: the number of OpenBLAS threads (the package starts
/// with 1, as the binaries run; more threads change the last bits).
#[pyfunction]
fn set_blas_threads(n: convert::Count) -> PyResult<()> {
    crate::convert::guard(|| {
        let n = usize::try_from(n.0).map_err(convert::err)?;
        if n == 0 {
            return Err(convert::value_error("invalid value `n` = 0: must be >= 1"));
        }
        gengap::set_blas_threads(n);
        Ok(())
    })
}
