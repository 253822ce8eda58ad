//! `gengap.run_study`: any experiment's study through the lab runner, with
//! the binaries' semantics (validation before anything is written, journal,
//! resume, shards, `record.json` with provenance), rows back as dicts.

use std::path::{Path, PathBuf};

use gengap::lab::{CliError, Finished, Shard, Study, run_text};
use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::convert::{json_to_python, toml_text, value_error};

/// The experiments: name, default config, quick config.
const STUDIES: [(&str, &str, &str); 16] = [
    (
        "eps-sweep",
        include_str!("../../experiments/eps-sweep/config.toml"),
        include_str!("../../experiments/eps-sweep/quick.toml"),
    ),
    (
        "benign-oscillation",
        include_str!("../../experiments/benign-oscillation/config.toml"),
        include_str!("../../experiments/benign-oscillation/quick.toml"),
    ),
    (
        "implicit-bias",
        include_str!("../../experiments/implicit-bias/config.toml"),
        include_str!("../../experiments/implicit-bias/quick.toml"),
    ),
    (
        "adam-vs-gd",
        include_str!("../../experiments/adam-vs-gd/config.toml"),
        include_str!("../../experiments/adam-vs-gd/quick.toml"),
    ),
    (
        "label-noise",
        include_str!("../../experiments/label-noise/config.toml"),
        include_str!("../../experiments/label-noise/quick.toml"),
    ),
    (
        "label-noise-kou",
        include_str!("../../experiments/label-noise-kou/config.toml"),
        include_str!("../../experiments/label-noise-kou/quick.toml"),
    ),
    (
        "label-noise-gd",
        include_str!("../../experiments/label-noise-gd/config.toml"),
        include_str!("../../experiments/label-noise-gd/quick.toml"),
    ),
    (
        "moderate-d",
        include_str!("../../experiments/moderate-d/config.toml"),
        include_str!("../../experiments/moderate-d/quick.toml"),
    ),
    (
        "noisy-mnist",
        include_str!("../../experiments/noisy-mnist/config.toml"),
        include_str!("../../experiments/noisy-mnist/quick.toml"),
    ),
    (
        "optimizer-table",
        include_str!("../../experiments/optimizer-table/config.toml"),
        include_str!("../../experiments/optimizer-table/quick.toml"),
    ),
    (
        "padam-sweep",
        include_str!("../../experiments/padam-sweep/config.toml"),
        include_str!("../../experiments/padam-sweep/quick.toml"),
    ),
    (
        "phase-transition",
        include_str!("../../experiments/phase-transition/config.toml"),
        include_str!("../../experiments/phase-transition/quick.toml"),
    ),
    (
        "sam",
        include_str!("../../experiments/sam/config.toml"),
        include_str!("../../experiments/sam/quick.toml"),
    ),
    (
        "stochastic-adam",
        include_str!("../../experiments/stochastic-adam/config.toml"),
        include_str!("../../experiments/stochastic-adam/quick.toml"),
    ),
    (
        "update-geometry",
        include_str!("../../experiments/update-geometry/config.toml"),
        include_str!("../../experiments/update-geometry/quick.toml"),
    ),
    (
        "xor",
        include_str!("../../experiments/xor/config.toml"),
        include_str!("../../experiments/xor/quick.toml"),
    ),
];

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
        let value = py.detach(|| match name {
            "adam-vs-gd" => go(&adam_vs_gd::ADAM_VS_GD, t, o, f, shard, merge),
            "benign-oscillation" => go(&benign_oscillation::BenignOscillation, t, o, f, shard, merge),
            "eps-sweep" => go(&eps_sweep::EpsSweep, t, o, f, shard, merge),
            "implicit-bias" => go(&implicit_bias::ImplicitBias, t, o, f, shard, merge),
            "label-noise" => go(&label_noise::LabelNoise, t, o, f, shard, merge),
            "label-noise-gd" => go(&label_noise_gd::LabelNoiseGd, t, o, f, shard, merge),
            "label-noise-kou" => go(&label_noise_kou::LabelNoiseKou, t, o, f, shard, merge),
            "moderate-d" => go(&moderate_d::ModerateD, t, o, f, shard, merge),
            "noisy-mnist" => go(&noisy_mnist::NoisyMnist, t, o, f, shard, merge),
            "optimizer-table" => go(&optimizer_table::OPTIMIZER_TABLE, t, o, f, shard, merge),
            "padam-sweep" => go(&padam_sweep::PadamSweep, t, o, f, shard, merge),
            "phase-transition" => go(&phase_transition::PhaseTransition, t, o, f, shard, merge),
            "sam" => go(&sam::Sam, t, o, f, shard, merge),
            "stochastic-adam" => go(&stochastic_adam::StochasticAdam, t, o, f, shard, merge),
            "xor" => go(&xor::Xor, t, o, f, shard, merge),
            "update-geometry" => go(&update_geometry::UpdateGeometry, t, o, f, shard, merge),
            // Every name of STUDIES has an arm above (checked by a pytest test
            // over the experiments folder); a new one without is refused, never
            // run as another study.
            _ => Err(unknown(name)),
        })?;
        json_to_python(py, &value.to_string())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(studies, m)?)?;
    m.add_function(wrap_pyfunction!(study_config, m)?)?;
    m.add_function(wrap_pyfunction!(run_study, m)?)?;
    Ok(())
}
