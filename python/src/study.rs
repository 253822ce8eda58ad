//! `gengap.run_study`: any experiment's study through the lab runner, with
//! the binaries' semantics (validation before anything is written, journal,
//! resume, shards, `record.json` with provenance), rows back as dicts.

use std::path::{Path, PathBuf};

use gengap::lab::{CliError, Finished, Shard, Study, run_text};
use pyo3::prelude::*;
use serde_json::{Map, Value};

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
        ) -> PyResult<Value> {
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

/// One (cell, row) pair as one flat dict: the cell's fields, then the row's
/// (a field in both keeps the cell's, the row's gets a `row_` prefix).
fn flat(cell: Value, row: Value) -> Value {
    let mut out = Map::new();
    match cell {
        Value::Object(m) => out.extend(m),
        Value::Null => {}
        other => {
            out.insert("cell".into(), other);
        }
    }
    match row {
        Value::Object(m) => {
            for (k, v) in m {
                if out.contains_key(&k) {
                    out.insert(format!("row_{k}"), v);
                } else {
                    out.insert(k, v);
                }
            }
        }
        other => {
            out.insert("row".into(), other);
        }
    }
    Value::Object(out)
}

/// The binary's one error line.
fn line(name: &str, e: impl std::fmt::Display) -> PyErr {
    value_error(format!("{name}: error: {e}"))
}

/// What a run returns, as JSON: `{summary, rows}` or `{shard, cells}`.
fn go<S: Study>(
    study: &S,
    text: &str,
    origin: &Path,
    (out, figures): (&Path, &Path),
    shard: Option<Shard>,
    merge: bool,
) -> PyResult<Value> {
    let name = study.name();
    let json = |e: serde_json::Error| line(name, e);
    Ok(
        match run_text(study, text, origin, out, figures, shard, merge).map_err(|e| line(name, e))? {
            Finished::Reported(report) => {
                let rows = report
                    .rows
                    .iter()
                    .map(|(c, r)| {
                        Ok(flat(
                            serde_json::to_value(c).map_err(json)?,
                            serde_json::to_value(r).map_err(json)?,
                        ))
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                let summary = serde_json::to_value(&report.summary).map_err(json)?;
                serde_json::json!({ "summary": summary, "rows": rows })
            }
            Finished::Shard { shard, cells } => {
                serde_json::json!({ "shard": format!("{}/{}", shard.index, shard.count), "cells": cells })
            }
        },
    )
}

/// `run_study(name, config, out="results", figures="docs/figures",
/// shard=None, merge=False, config_path=None) -> dict`: run experiment `name`
/// (see `studies()`) on `config` (TOML text, e.g. `study_config(name)`, or the
/// same as a dict) exactly as its binary does with `--config`, `--out`,
/// `--figures`, `--shard`, `--merge`: the config is checked before anything is
/// written, cells are journaled in `<out>/<name>/journal/` (a repeated call
/// reuses them; an interrupted one resumes), and `<out>/<name>/record.json`
/// holds the resolved config, seed and provenance. `config_path` is the name
/// errors give the config and the folder relative paths in it are resolved
/// from (default `config.toml` in the working directory). Returns
/// `{"summary": …, "rows": [dict per cell: the cell's fields, then its row's]}`
/// (`pandas.DataFrame(result["rows"])`), or for a shard `{"shard", "cells"}`.
/// Any error is a `ValueError` whose message is the binary's one error line.
#[pyfunction]
#[pyo3(
    signature = (name, config, out = "results".into(), figures = "docs/figures".into(), shard = None, merge = false, config_path = None),
    text_signature = "(name, config, out='results', figures='docs/figures', shard=None, merge=False, config_path=None)"
)]
#[allow(clippy::too_many_arguments)]
fn run_study(
    py: Python<'_>,
    name: &str,
    config: &Bound<'_, PyAny>,
    out: PathBuf,
    figures: PathBuf,
    shard: Option<&str>,
    merge: bool,
    config_path: Option<PathBuf>,
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
        let (t, o, f) = (text.as_str(), origin.as_path(), (out.as_path(), figures.as_path()));
        let value = py.detach(|| dispatch(name, t, o, f, shard, merge))?;
        json_to_python(py, &value.to_string())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(studies, m)?)?;
    m.add_function(wrap_pyfunction!(study_config, m)?)?;
    m.add_function(wrap_pyfunction!(run_study, m)?)?;
    Ok(())
}
