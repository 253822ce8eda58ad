//! `gengap.run_study`: any experiment's study through the lab runner, with
//! the binaries' semantics (validation before anything is written, journal,
//! resume, shards, `record.json` with provenance), rows back as dicts.

use std::path::{Path, PathBuf};

use gengap::lab::{CliError, Finished, Shard, Study, run_text};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{json_to_python, toml_text, value_error};

/// The one list of the package's studies: each name (its folder under
/// `experiments/`, whose `config.toml` and `quick.toml` are compiled in)
/// with its `Study` value. It generates `STUDIES` and the dispatch of
/// `run_study`, so a study cannot be listed without being run, nor run as
/// another; a pytest test checks the list against the `experiments/` folder,
/// the list `xtask` and the docs take.
macro_rules! studies {
    ($($name:literal => $study:expr),* $(,)?) => {
        /// The experiments: name, default config, quick config.
        const STUDIES: &[(&str, &str, &str)] = &[$((
            $name,
            include_str!(concat!("../../experiments/", $name, "/config.toml")),
            include_str!(concat!("../../experiments/", $name, "/quick.toml")),
        )),*];

        /// Run the study `name` (one of `STUDIES`).
        fn dispatch(
            name: &str,
            text: &str,
            origin: &Path,
            dirs: (&Path, &Path),
            shard: Option<Shard>,
            merge: bool,
        ) -> PyResult<Output> {
            match name {
                $($name => go(&$study, text, origin, dirs, shard, merge),)*
                _ => Err(unknown(name)),
            }
        }
    };
}

studies! {
    "adam-vs-gd" => adam_vs_gd::ADAM_VS_GD,
    "benign-oscillation" => benign_oscillation::BenignOscillation,
    "eps-sweep" => eps_sweep::EpsSweep,
    "implicit-bias" => implicit_bias::ImplicitBias,
    "label-noise" => label_noise::LabelNoise,
    "label-noise-gd" => label_noise_gd::LabelNoiseGd,
    "label-noise-kou" => label_noise_kou::LabelNoiseKou,
    "moderate-d" => moderate_d::ModerateD,
    "noisy-mnist" => noisy_mnist::NoisyMnist,
    "optimizer-table" => optimizer_table::OPTIMIZER_TABLE,
    "padam-sweep" => padam_sweep::PadamSweep,
    "phase-transition" => phase_transition::PhaseTransition,
    "sam" => sam::Sam,
    "stochastic-adam" => stochastic_adam::StochasticAdam,
    "update-geometry" => update_geometry::UpdateGeometry,
    "xor" => xor::Xor,
}

/// `studies() -> list[str]`: the experiments `run_study` runs.
#[pyfunction]
fn studies() -> Vec<&'static str> {
    STUDIES.iter().map(|s| s.0).collect()
}

/// `study_config(name, quick=False) -> str`: the experiment's committed config
/// (`experiments/<name>/config.toml`, or `quick.toml`) as TOML text.
#[pyfunction]
#[pyo3(signature = (name, quick = false))]
fn study_config(name: &str, quick: bool) -> PyResult<&'static str> {
    crate::convert::guard(|| {
        let s = STUDIES.iter().find(|s| s.0 == name).ok_or_else(|| unknown(name))?;
        Ok(if quick { s.2 } else { s.1 })
    })
}

fn unknown(name: &str) -> PyErr {
    value_error(format!(
        "unknown study `{name}`: expected one of {}",
        studies().join(", ")
    ))
}

/// What a run gives back, as JSON texts (field order kept): the summary
/// and one (cell, row) pair per cell, or a shard's count.
enum Output {
    Report {
        summary: String,
        rows: Vec<(String, String)>,
    },
    Shard {
        shard: String,
        cells: usize,
    },
}

/// `value` (parsed JSON) into `out`: an object's keys as `prefix.key`
/// (nested objects flattened the same way), anything else as `prefix`; a
/// key `out` already has gets `clash` before it.
fn flatten_into(out: &Bound<'_, PyDict>, prefix: &str, value: &Bound<'_, PyAny>, clash: &str) -> PyResult<()> {
    if let Ok(d) = value.cast::<PyDict>() {
        for (k, v) in d.iter() {
            let k: String = k.extract()?;
            let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
            flatten_into(out, &key, &v, clash)?;
        }
        return Ok(());
    }
    let key = if prefix.is_empty() {
        "value".to_string()
    } else {
        prefix.to_string()
    };
    if out.contains(&key)? {
        out.set_item(format!("{clash}{key}"), value)?;
    } else {
        out.set_item(key, value)?;
    }
    Ok(())
}

/// One (cell, row) pair as one flat dict: the cell's fields in their
/// declared order, then the row's; nested tables flattened to dotted keys
/// (`summary.max_gamma`); lists (a run's `records`) kept as lists; a row
/// field the cell also has gets a `row_` prefix.
fn flat_row<'py>(py: Python<'py>, cell: &str, row: &str) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let loads = py.import("json")?.getattr("loads")?;
    flatten_into(&out, "", &loads.call1((cell,))?, "cell_")?;
    let row = loads.call1((row,))?;
    if row.cast::<PyDict>().is_ok() {
        flatten_into(&out, "", &row, "row_")?;
    } else {
        flatten_into(&out, "row", &row, "row_")?;
    }
    Ok(out)
}

/// The binary's one error line.
fn line(name: &str, e: impl std::fmt::Display) -> PyErr {
    value_error(format!("{name}: error: {e}"))
}

/// Run `study` as its binary does; the result as JSON texts.
fn go<S: Study>(
    study: &S,
    text: &str,
    origin: &Path,
    (out, figures): (&Path, &Path),
    shard: Option<Shard>,
    merge: bool,
) -> PyResult<Output> {
    let name = study.name();
    let json = |e: serde_json::Error| line(name, e);
    Ok(
        match run_text(study, text, origin, out, figures, shard, merge).map_err(|e| line(name, e))? {
            Finished::Reported(report) => Output::Report {
                summary: serde_json::to_string(&report.summary).map_err(json)?,
                rows: report
                    .rows
                    .iter()
                    .map(|(c, r)| {
                        Ok((
                            serde_json::to_string(c).map_err(json)?,
                            serde_json::to_string(r).map_err(json)?,
                        ))
                    })
                    .collect::<PyResult<Vec<_>>>()?,
            },
            Finished::Shard { shard, cells } => Output::Shard {
                shard: format!("{}/{}", shard.index, shard.count),
                cells,
            },
        },
    )
}

/// `run_study(name, config, out="results", figures=None, shard=None,
/// merge=False, config_path=None, progress=True) -> dict`: run experiment `name`
/// (see `studies()`) on `config` (TOML text, e.g. `study_config(name)`, or the
/// same as a dict) exactly as its binary does with `--config`, `--out`,
/// `--figures`, `--shard`, `--merge`: the config is checked before anything is
/// written, cells are journaled in `<out>/<name>/journal/` (a repeated call
/// reuses them; an interrupted one resumes), and `<out>/<name>/record.json`
/// holds the resolved config, seed and provenance. `config_path` is the name
/// errors give the config and the folder relative paths in it are resolved
/// from (default `config.toml` in the working directory). Figures are
/// written to `figures` only when it is given (otherwise they are drawn in a
/// temporary folder, which is removed). Returns
/// `{"summary": …, "rows": [flat dict per cell]}`: the cell's fields in
/// their declared order, then its row's, nested tables as dotted keys
/// (`pandas.DataFrame(result["rows"])`); for a shard `{"shard", "cells"}`.
/// Any error is a `ValueError` whose message is the binary's one error line.
/// Ctrl-C stops the cells within a fraction of a second and raises
/// `KeyboardInterrupt`; the cells already journaled are kept, and the same
/// call resumes from them. `progress=True` (the default) shows the binary's
/// per-cell progress (`<name>: k/N cells` lines on standard error, a bar on
/// a terminal); `progress=False` hides it (the other lines the binary
/// prints stay).
#[pyfunction]
#[pyo3(
    signature = (name, config, out = "results".into(), figures = None, shard = None, merge = false, config_path = None, progress = true),
    text_signature = "(name, config, out='results', figures=None, shard=None, merge=False, config_path=None, progress=True)"
)]
#[allow(clippy::too_many_arguments)]
fn run_study(
    py: Python<'_>,
    name: &str,
    config: &Bound<'_, PyAny>,
    out: PathBuf,
    figures: Option<PathBuf>,
    shard: Option<&str>,
    merge: bool,
    config_path: Option<PathBuf>,
    progress: bool,
) -> PyResult<Py<PyAny>> {
    crate::convert::guard(|| {
        if !STUDIES.iter().any(|s| s.0 == name) {
            return Err(unknown(name));
        }
        let text = toml_text(config)?;
        let origin = config_path.unwrap_or_else(|| PathBuf::from("config.toml"));
        let shard: Option<Shard> = match shard {
            Some(s) => Some(s.parse().map_err(|e| line(name, CliError::from(e)))?),
            None => None,
        };
        // No figures asked for: drawn in a temporary folder, then removed.
        let scratch = match figures {
            Some(_) => None,
            None => Some(std::env::temp_dir().join(format!("gengap-figures-{}-{name}", std::process::id()))),
        };
        let figures = figures.or_else(|| scratch.clone()).expect("one of the two");
        let (t, o, f) = (text.as_str(), origin.as_path(), (out.as_path(), figures.as_path()));
        gengap::lab::journal::show_progress(progress);
        let result = run_interruptible(py, || dispatch(name, t, o, f, shard, merge));
        gengap::lab::journal::show_progress(true);
        if let Some(dir) = scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
        match result? {
            Output::Report { summary, rows } => {
                let out = PyDict::new(py);
                out.set_item("summary", json_to_python(py, &summary)?)?;
                let list = rows
                    .iter()
                    .map(|(c, r)| flat_row(py, c, r))
                    .collect::<PyResult<Vec<_>>>()?;
                out.set_item("rows", list)?;
                Ok(out.into_any().unbind())
            }
            Output::Shard { shard, cells } => {
                let out = PyDict::new(py);
                out.set_item("shard", shard)?;
                out.set_item("cells", cells)?;
                Ok(out.into_any().unbind())
            }
        }
    })
}

/// Run `work` on a thread of its own without the GIL, checking Python's
/// signals every 50 ms on this one: on Ctrl-C every driver loop of the
/// process is asked to stop (`gengap::train::interrupt::stop_everywhere`:
/// the study's cells run on worker threads, which a thread's own check does
/// not reach), the work returns, and `KeyboardInterrupt` is raised.
fn run_interruptible<T: Send>(py: Python<'_>, work: impl FnOnce() -> PyResult<T> + Send) -> PyResult<T> {
    use gengap::train::interrupt;
    let (result, caught) = py.detach(|| {
        std::thread::scope(|s| {
            let handle = s.spawn(work);
            let mut caught: Option<PyErr> = None;
            while !handle.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(50));
                if caught.is_none()
                    && let Err(e) = Python::attach(|py| py.check_signals())
                {
                    caught = Some(e);
                    interrupt::stop_everywhere();
                }
            }
            let result = handle.join();
            if caught.is_some() {
                interrupt::clear_stop();
            }
            (result, caught)
        })
    });
    if let Some(e) = caught {
        return Err(e);
    }
    match result {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(studies, m)?)?;
    m.add_function(wrap_pyfunction!(study_config, m)?)?;
    m.add_function(wrap_pyfunction!(run_study, m)?)?;
    Ok(())
}
