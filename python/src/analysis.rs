//! `gengap.analysis`: the signal–noise decomposition and the exact
//! reduced-space GD solver (`docs/theory.md#signal-noise-decomposition`,
//! `#reduced-space-gd`).

use gengap::analysis::{Basis, Decomposer, Decomposition};
use gengap::data::rng;
use gengap::optim::{OptimConfig, WeightDecay};
use gengap::train::{AlgorithmConfig, Dynamics, MiniBatch, SpanTrainer, TrainConfig};
use numpy::{IntoPyArray, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{Count, config, err, real_array, to_python, value_error};
use crate::data::dataset;
use crate::model::{model_config, weights};
use crate::optim::optim_config;

/// A decomposition as a dict of arrays, with its summaries.
fn decomposition<'py>(py: Python<'py>, d: &Decomposition, basis: &Basis) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("gamma", d.gamma.to_pyarray(py))?;
    out.set_item("rho_bar", d.rho_bar.to_pyarray(py))?;
    out.set_item("rho", d.rho.to_pyarray(py))?;
    out.set_item("coef_w0", d.coef_w0.to_pyarray(py))?;
    out.set_item("residual", d.residual.to_pyarray(py))?;
    out.set_item("residual_total", d.residual_total)?;
    out.set_item("summary", to_python(py, &d.summary(basis))?)?;
    Ok(out)
}

/// `W` and `W0` of shape `(2m, d)`, `m` read from `W0`.
fn weights_and_start(
    w: &Bound<'_, PyAny>,
    w0: &Bound<'_, PyAny>,
    d: usize,
) -> PyResult<(ndarray::Array2<f64>, ndarray::Array2<f64>)> {
    let rows = w0
        .getattr("shape")
        .and_then(|s| s.get_item(0))
        .and_then(|r| r.extract::<usize>())
        .unwrap_or(0);
    if rows == 0 || rows % 2 != 0 {
        return Err(value_error("`W0` must be a float64 NumPy array of shape (2m, d)"));
    }
    let w0 = weights("W0", w0, rows, d)?;
    Ok((weights("W", w, rows, d)?, w0))
}

/// `decompose(W, W0, data) -> dict`: the coefficients of
/// `w_{j,r} = c_{j,r}·w⁽⁰⁾_{j,r} + γ_{j,r}·j·μ/‖μ‖² + Σ_k ρ̄_{j,r,k}·ξ_k/‖ξ_k‖² + Σ_k ρ_{j,r,k}·ξ_k/‖ξ_k‖²`
/// by least squares on the span of the signal, the training noise vectors and
/// `w⁽⁰⁾_{j,r}`: `gamma` `(2m,)`, `rho_bar` and `rho` `(2m, N)` (ρ̄ where
/// `y_k = j`, ρ where `y_k = −j`, else 0), `coef_w0` `(2m,)`, the per-filter
/// relative `residual` `(2m,)`, `residual_total`, and the `summary`
/// (max γ, max ρ̄, min ρ, signal and noise inner products).
#[pyfunction]
#[pyo3(name = "decompose")]
fn decompose_py<'py>(
    py: Python<'py>,
    w: &Bound<'py, PyAny>,
    w0: &Bound<'py, PyAny>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    crate::convert::guard(|| {
        let ds = dataset(data)?;
        let d = ds.inner.train.d();
        let (w, w0) = weights_and_start(w, w0, d)?;
        crate::data::latents("decompose", &ds.inner)?;
        let dec = Decomposer::new(Basis::from_dataset(&ds.inner), w0.view()).map_err(err)?;
        let out = dec.decompose(w.view()).map_err(err)?;
        decomposition(py, &out, dec.basis())
    })
}

/// `decompose_arrays(W, W0, signal, noise, labels) -> dict`: `decompose`
/// without a `Dataset`: the signal rows `signal` (`(d,)` or `(S, d)`, the
/// first row playing `μ`), the noise vectors `noise` `(N, d)` and each noise
/// vector's label `labels` `(N,)` in {−1, +1} (which splits ρ̄ from ρ).
/// Any real array of any layout is copied to C-ordered float64; shapes that
/// do not fit, labels other than ±1, non-finite entries and a signal row of
/// norm 0 are `ValueError`s naming the argument. Same result as `decompose`
/// on the data set those arrays came from (tested).
#[pyfunction]
fn decompose_arrays<'py>(
    py: Python<'py>,
    w: &Bound<'py, PyAny>,
    w0: &Bound<'py, PyAny>,
    signal: &Bound<'py, PyAny>,
    noise: &Bound<'py, PyAny>,
    labels: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    crate::convert::guard(|| {
        let ndim: usize = signal.getattr("ndim").and_then(|n| n.extract()).unwrap_or(1);
        let sig = real_array("signal", signal, if ndim == 2 { 2 } else { 1 })?;
        let sig = if sig.ndim() == 1 {
            let d = sig.len();
            sig.into_shape_with_order((1, d)).map_err(err)?
        } else {
            sig.into_dimensionality::<ndarray::Ix2>().map_err(err)?
        };
        let xi = real_array("noise", noise, 2)?
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(err)?;
        let y = real_array("labels", labels, 1)?
            .into_dimensionality::<ndarray::Ix1>()
            .map_err(err)?;
        let d = sig.ncols();
        if sig.nrows() == 0 || d == 0 {
            return Err(value_error(format!(
                "`signal` must have at least one row of d >= 1 entries, got shape {:?}",
                sig.shape()
            )));
        }
        if xi.ncols() != d {
            return Err(value_error(format!(
                "`noise` must have shape (N, {d}) (d from `signal`), got {:?}",
                xi.shape()
            )));
        }
        if y.len() != xi.nrows() {
            return Err(value_error(format!(
                "`labels` must have shape ({},) (one per noise vector), got {:?}",
                xi.nrows(),
                y.shape()
            )));
        }
        gengap::data::check_labels("labels", &y.view(), y.len()).map_err(err)?;
        gengap::data::check_finite("signal", &sig).map_err(err)?;
        gengap::data::check_finite("noise", &xi).map_err(err)?;
        let (n_signal, n_noise) = (sig.nrows(), xi.nrows());
        let s = ndarray::concatenate(ndarray::Axis(0), &[sig.view(), xi.view()]).map_err(err)?;
        let norm_sq: ndarray::Array1<f64> = s.rows().into_iter().map(|r| r.dot(&r)).collect();
        if let Some(k) = norm_sq.iter().position(|&v| v == 0.0) {
            let what = if k < n_signal {
                format!("signal[{k}]")
            } else {
                format!("noise[{}]", k - n_signal)
            };
            return Err(value_error(format!("`{what}` has norm 0: it spans nothing")));
        }
        let basis = Basis {
            s,
            n_signal,
            norm_sq,
            noise_label: y,
            noise_sample: (0..n_noise).collect(),
            n: n_noise,
        };
        let (w, w0) = weights_and_start(w, w0, d)?;
        let dec = Decomposer::new(basis, w0.view()).map_err(err)?;
        let out = dec.decompose(w.view()).map_err(err)?;
        decomposition(py, &out, dec.basis())
    })
}

/// The exact reduced-space engine (`gengap::train::SpanTrainer`): any
/// span-preserving algorithm written in the coordinates of the span of the
/// signal and the training noise vectors, `W⁽ᵗ⁾ = diag(α⁽ᵗ⁾)·W⁽⁰⁾ + Θ⁽ᵗ⁾·S`;
/// it equals the full-space trainer to round-off at a cost independent of
/// `d` per step (`docs/theory.md#span-preserving-algorithms`).
///
/// `ReducedGD(data, W0, lr=None, model=None, weight_decay=0.0, optim=None,
/// algorithm=None, batch_size=None, seed=0)`: the update is GD with step `lr`
/// and L2 decay `weight_decay`, or `optim` (a `gd` or `sgd_momentum` config,
/// as for `gengap.train`; give one of `lr` and `optim`); `algorithm` is the
/// `[train] algorithm` table (`{"kind": "sam", "rho": 0.05}`,
/// `{"kind": "label_noise_gd", "p": 0.2}`, `{"kind": "mixup", "alpha": 1.0}`);
/// `batch_size` trains on mini-batches. Batch orders, label flips and mixup
/// pairs come from `stream(seed, 2)`, exactly as `gengap.train` draws them, so
/// the same arguments give the same run in both spaces.
///
/// A `ReducedGD` pickles and copies: the pickle holds its arguments (the
/// data set, `W0`, the resolved model, update and `[train]` configs, the
/// seed) and its step count `t`, and unpickling builds it again and retakes
/// the `t` steps, which are deterministic, so the copy is at the same point
/// bit for bit (its cost: `t` reduced steps).
#[pyclass(name = "ReducedGD", module = "gengap.analysis")]
pub struct PyReducedGd {
    inner: SpanTrainer,
    recipe: Recipe,
}

/// What a `ReducedGD` was built from (for pickling).
struct Recipe {
    data: Py<PyAny>,
    model: gengap::model::CnnConfig,
    w0: ndarray::Array2<f64>,
    opt: OptimConfig,
    tc: TrainConfig,
    seed: u64,
}

impl Recipe {
    /// The engine at step 0.
    fn build(&self, py: Python<'_>) -> PyResult<SpanTrainer> {
        let ds = dataset(self.data.bind(py))?;
        Ok(
            SpanTrainer::new(&ds.inner, &self.model, self.w0.view(), &self.opt, self.tc.clone())
                .map_err(err)?
                .with_stream(&mut rng::stream(self.seed, 2)),
        )
    }
}

/// `_reduced_gd_from_parts(data, w0, model, optim, train, seed, t)`: what
/// `ReducedGD.__reduce__` pickles (configs as JSON text).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn _reduced_gd_from_parts(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    w0: &Bound<'_, PyAny>,
    model: &str,
    optim: &str,
    train: &str,
    seed: u64,
    t: u64,
) -> PyResult<PyReducedGd> {
    crate::convert::guard(|| {
        let model: gengap::model::CnnConfig = serde_json::from_str(model).map_err(err)?;
        let ds = dataset(data)?;
        let w0 = weights("W0", w0, 2 * model.m, ds.inner.train.d())?;
        let recipe = Recipe {
            data: data.clone().unbind(),
            model,
            w0,
            opt: serde_json::from_str(optim).map_err(err)?,
            tc: serde_json::from_str(train).map_err(err)?,
            seed,
        };
        let mut inner = recipe.build(py)?;
        crate::convert::detach_interruptible(py, || {
            for _ in 0..t {
                inner.evaluate()?;
                inner.advance()?;
            }
            Ok(())
        })?;
        Ok(PyReducedGd { inner, recipe })
    })
}

#[pymethods]
impl PyReducedGd {
    #[new]
    #[pyo3(
        signature = (data, w0, lr = None, model = None, weight_decay = 0.0, optim = None, algorithm = None, batch_size = None, seed = Count(0)),
        text_signature = "(data, w0, lr=None, model=None, weight_decay=0.0, optim=None, algorithm=None, batch_size=None, seed=0)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        data: &Bound<'_, PyAny>,
        w0: &Bound<'_, PyAny>,
        lr: Option<f64>,
        model: Option<&Bound<'_, PyAny>>,
        weight_decay: f64,
        optim: Option<&Bound<'_, PyAny>>,
        algorithm: Option<&Bound<'_, PyAny>>,
        batch_size: Option<Count>,
        seed: Count,
    ) -> PyResult<Self> {
        crate::convert::guard(|| {
            let ds = dataset(data)?;
            crate::data::latents("ReducedGD", &ds.inner)?;
            let cfg = model_config(model)?;
            let w0 = weights("W0", w0, 2 * cfg.m, ds.inner.train.d())?;
            let opt = match (lr, optim.filter(|o| !o.is_none())) {
                (Some(lr), None) => {
                    let wd = if weight_decay == 0.0 {
                        WeightDecay::None
                    } else {
                        WeightDecay::L2 { lambda: weight_decay }
                    };
                    OptimConfig::gd(lr).with_weight_decay(wd)
                }
                (None, Some(o)) => optim_config(o)?,
                _ => return Err(value_error("give exactly one of `lr` and `optim`")),
            };
            let algorithm: AlgorithmConfig = match algorithm {
                Some(a) if !a.is_none() => config("algorithm", Some(a))?,
                _ => AlgorithmConfig::Plain,
            };
            let tc = TrainConfig {
                algorithm,
                batch: batch_size.map(|b| MiniBatch {
                    size: b.0 as usize,
                    drop_last: false,
                }),
                ..TrainConfig::steps(gengap::train::MAX_STEPS)
            };
            let recipe = Recipe {
                data: data.clone().unbind(),
                model: cfg,
                w0,
                opt,
                tc,
                seed: seed.0,
            };
            let inner = recipe.build(data.py())?;
            Ok(PyReducedGd { inner, recipe })
        })
    }

    /// `step(k=1) -> (loss, error)`: `k` steps of the algorithm; the training
    /// loss and error at the weights before the last one.
    #[pyo3(signature = (k = Count(1)), text_signature = "($self, k=1)")]
    fn step(&mut self, py: Python<'_>, k: Count) -> PyResult<(f64, f64)> {
        crate::convert::guard(|| {
            let inner = &mut self.inner;
            crate::convert::detach_interruptible(py, || {
                let mut met = None;
                for step in 0..k.0 {
                    // Ctrl-C between steps: the steps taken so far stay taken.
                    if gengap::train::interrupt::requested() {
                        return Err(gengap::train::TrainError::Interrupted { step });
                    }
                    let m = inner.evaluate()?;
                    inner.advance()?;
                    met = Some(m);
                }
                Ok(met.map_or((f64::NAN, f64::NAN), |m| (m.loss, m.error)))
            })
        })
    }

    /// Pickling and `copy`: the arguments and the step count (see the class docs).
    #[allow(clippy::type_complexity)]
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        (Py<PyAny>, Bound<'py, PyAny>, String, String, String, u64, u64),
    )> {
        crate::convert::guard(|| {
            let f = py.import("gengap._native")?.getattr("_reduced_gd_from_parts")?;
            let r = &self.recipe;
            let json = |v: serde_json::Result<String>| v.map_err(err);
            Ok((
                f,
                (
                    r.data.clone_ref(py),
                    r.w0.to_pyarray(py).into_any(),
                    json(serde_json::to_string(&r.model))?,
                    json(serde_json::to_string(&r.opt))?,
                    json(serde_json::to_string(&r.tc))?,
                    r.seed,
                    self.inner.steps(),
                ),
            ))
        })
    }

    /// Steps taken so far (by `step` and `run`).
    #[getter]
    fn t(&self) -> u64 {
        self.inner.steps()
    }

    /// `run(max_steps, target_loss=None, target_error=None, record_every=None)
    /// -> dict`: continue through the one training driver for at most
    /// `max_steps` more steps, stopping at the first iterate whose training
    /// loss is `<= target_loss` or training error `<= target_error` (`0`: at
    /// interpolation); a record every `record_every` steps (default: the
    /// first and the last). Returns `{"status", "steps", "history"}` as
    /// `gengap.train` does (`steps` counts from the engine's first step, like
    /// `t`); a diverging run is returned with status `"diverged"`. Ctrl-C
    /// stops it between steps (`KeyboardInterrupt`).
    #[pyo3(
        signature = (max_steps, target_loss = None, target_error = None, record_every = None),
        text_signature = "($self, max_steps, target_loss=None, target_error=None, record_every=None)"
    )]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        max_steps: Count,
        target_loss: Option<f64>,
        target_error: Option<f64>,
        record_every: Option<Count>,
    ) -> PyResult<Bound<'py, PyDict>> {
        crate::convert::guard(|| {
            let tc = TrainConfig {
                target_loss,
                target_error,
                record: match record_every {
                    Some(k) => gengap::train::Schedule::Every(k.0),
                    None => gengap::train::Schedule::End,
                },
                ..TrainConfig::steps(max_steps.0)
            };
            tc.validate().map_err(err)?;
            let first = self.inner.steps();
            let stop = gengap::train::Stop {
                max_steps: first.saturating_add(max_steps.0),
                target_loss,
                target_error,
            };
            let inner = &mut self.inner;
            let run = crate::convert::detach_interruptible(py, || {
                gengap::train::drive_from(inner, first, stop, tc.record, &mut [])
            })?;
            let out = PyDict::new(py);
            out.set_item("status", to_python(py, &run.status)?)?;
            out.set_item("steps", run.steps)?;
            out.set_item("history", crate::train::history(py, &run)?)?;
            Ok(out)
        })
    }

    /// Training `(loss, error)` at the current weights.
    fn train_metrics(&mut self) -> (f64, f64) {
        let m = self.inner.train_metrics();
        (m.loss, m.error)
    }

    /// Test `(loss, error)` at the current weights.
    fn test_metrics(&mut self) -> (f64, f64) {
        let m = self.inner.test_metrics();
        (m.loss, m.error)
    }

    /// `population_error(sigma_p, noise="orthogonal", samples=100000, seed=0)
    /// -> float`: the test error of the current weights on fresh data of the
    /// [C22] type, exactly in the span: a test point is the signal patch
    /// `ỹ·μ` of its clean label `ỹ = ±1` and one Gaussian noise patch,
    /// `N(0, σ_p²(I − μμᵀ/‖μ‖²))` (`"orthogonal"`) or `N(0, σ_p² I)`
    /// (`"isotropic"`); the noise outputs are `samples` normals (drawn from
    /// `stream(seed, 3)`) mapped through the covariance of the filters'
    /// responses (`gengap::analysis::SpanProblem::population_error`,
    /// docs/theory.md). Label noise is not included: this is the error
    /// against the clean label. A data set with other signal patterns (XOR,
    /// several signal vectors) is a `ValueError`.
    #[pyo3(
        signature = (sigma_p, noise = "orthogonal", samples = Count(100_000), seed = Count(0)),
        text_signature = "($self, sigma_p, noise='orthogonal', samples=100000, seed=0)"
    )]
    fn population_error(
        &self,
        py: Python<'_>,
        sigma_p: f64,
        noise: &str,
        samples: Count,
        seed: Count,
    ) -> PyResult<f64> {
        crate::convert::guard(|| {
            let kind = match noise {
                "orthogonal" => gengap::data::NoiseKind::Orthogonal,
                "isotropic" => gengap::data::NoiseKind::Isotropic,
                other => {
                    return Err(value_error(format!(
                        "`noise` = {other:?}: expected \"orthogonal\" or \"isotropic\""
                    )));
                }
            };
            if !(sigma_p.is_finite() && sigma_p > 0.0) {
                return Err(value_error(format!("`sigma_p` = {sigma_p}: must be finite and > 0")));
            }
            if samples.0 == 0 || samples.0 > 100_000_000 {
                return Err(value_error(format!("`samples` = {}: must be in 1..=1e8", samples.0)));
            }
            let m2 = self.inner.point().theta().nrows();
            let mut r = gengap::data::rng::stream(seed.0, 3);
            let normals = ndarray::Array2::from_shape_simple_fn((samples.0 as usize, m2), || {
                gengap::data::rng::standard_normal(&mut r)
            });
            let (problem, point) = (self.inner.problem(), self.inner.point());
            py.detach(|| problem.population_error(point, kind, sigma_p, normals.view()))
                .map_err(err)
        })
    }

    /// The full-space weights `W = diag(α)·W⁽⁰⁾ + Θ·S`, shape `(2m, d)`.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::guard(|| {
            let w = self
                .inner
                .weights()
                .ok_or_else(|| value_error("no full-space weights"))?;
            Ok(w.into_pyarray(py).into_any())
        })
    }

    /// The coordinates `Θ`, shape `(2m, K)` (`K` basis rows: the signal, then the noise vectors).
    fn theta<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.inner.point().theta().to_owned().into_pyarray(py).into_any()
    }

    /// The decomposition at the current step (exact: residual 0), as `decompose` returns it.
    fn decomposition<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        crate::convert::guard(|| decomposition(py, &self.inner.decomposition(), self.inner.problem().basis()))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decompose_py, m)?)?;
    m.add_function(wrap_pyfunction!(decompose_arrays, m)?)?;
    m.add_class::<PyReducedGd>()?;
    m.add_function(wrap_pyfunction!(_reduced_gd_from_parts, m)?)?;
    Ok(())
}
