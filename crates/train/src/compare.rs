//! GD vs Adam on one data set (\[Z23\], `docs/theory.md#claims`, claim 2): the two main runs
//! with the signal–noise decomposition, and a sweep of the L2 weight decay λ.
//! Shared by the `adam-vs-gd` (synthetic) and `noisy-mnist` (real digits)
//! experiments.

use gengap_data::{DataConfig, rng};
use gengap_model::CnnConfig;
use gengap_optim::{OptimConfig, WeightDecay};
use gengap_plot::{LinePlot, Panel, Series, render};
use serde::{Deserialize, Serialize};

use crate::error::{CellError, ExperimentError};
use crate::experiment::{Ctx, Validate, f};
use crate::{RunRecord, TrainConfig, sweep, train_run};

/// The `adam-vs-gd` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConfig {
    /// Seed: the data set is drawn from stream 0, the initialisation from stream 1.
    pub seed: u64,
    /// The data model.
    pub data: DataConfig,
    /// The network.
    pub model: CnnConfig,
    /// Steps and recording of the two main runs.
    pub train: TrainConfig,
    /// The GD run (its weight decay is the main runs' λ).
    pub gd: OptimConfig,
    /// The Adam run.
    pub adam: OptimConfig,
    /// The λ sweep.
    pub lambda_sweep: LambdaSweep,
}

/// The λ sweep of [`CompareConfig`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSweep {
    /// L2 weight-decay strengths λ ≥ 0.
    pub lambdas: Vec<f64>,
    /// Steps per run.
    pub max_steps: u64,
}

impl Validate for CompareConfig {
    fn validate(&self) -> Result<(), ExperimentError> {
        self.data.validate()?;
        self.model.validate()?;
        self.train.validate()?;
        for o in [&self.gd, &self.adam] {
            o.resolve()
                .map_err(|e| ExperimentError::from(e).at(format!("[{}]", o.name())))?;
        }
        if self.lambda_sweep.lambdas.is_empty() {
            return Err(ExperimentError::invalid(
                "lambda_sweep.lambdas",
                "[]",
                "must not be empty",
            ));
        }
        if let Some(l) = self.lambda_sweep.lambdas.iter().find(|l| !l.is_finite() || **l < 0.0) {
            return Err(ExperimentError::invalid(
                "lambda_sweep.lambdas",
                format!("[.., {l}, ..]"),
                "each must be finite and >= 0",
            ));
        }
        if self.lambda_sweep.max_steps == 0 {
            return Err(ExperimentError::invalid("lambda_sweep.max_steps", 0, "must be >= 1"));
        }
        Ok(())
    }

    /// The data model's `data_dir`, if it reads one.
    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), ExperimentError> {
        if let Some(dir) = self.data.data_dir_mut() {
            *dir = crate::experiment::resolve_dir(config_dir, "data.data_dir", dir)?;
        }
        Ok(())
    }

    /// One shared data set, and one decomposing run per parallel cell.
    fn memory(&self) -> Option<crate::memory::MemoryEstimate> {
        Some(crate::memory::shared_dataset_sweep(&self.data, &self.model, true))
    }
}

struct Job {
    label: &'static str,
    opt: OptimConfig,
    lambda: Option<f64>,
    train: TrainConfig,
}

/// Final state of one of the two main runs.
#[derive(Debug, Clone, Serialize)]
pub struct Final {
    /// "GD" or "Adam".
    pub optimizer: String,
    /// How the run ended.
    pub status: String,
    /// Steps taken.
    pub steps: u64,
    /// Final training loss.
    pub train_loss: f64,
    /// Final training error.
    pub train_error: f64,
    /// Final test error.
    pub test_error: f64,
    /// `max_{j,r}⟨w_{j,r}, j·v⟩` at the end.
    pub signal_inner: Option<f64>,
    /// `min_i max_r⟨w_{y_i,r}, ξ_i⟩` at the end.
    pub noise_inner: Option<f64>,
    /// Relative residual of the decomposition at the end.
    pub residual: Option<f64>,
}

/// Run the comparison: the two main runs with decomposition summaries
/// (`<results>/curves.csv`), the λ sweep (`<results>/lambda_sweep.csv`), and
/// the figures `<figures>/<fig>.png|svg` and `<figures>/<fig>_lambda.png|svg`.
/// Returns the final state of the two main runs, or `None` for a `--shard`
/// run (the cells are in the journal; `--merge` reports them).
pub fn run(ctx: &Ctx, cfg: &CompareConfig, fig: &str) -> Result<Option<Vec<Final>>, ExperimentError> {
    sweep::single_threaded_blas();
    let name = ctx.name.as_str();
    let ds = cfg.data.generate(&mut rng::stream(cfg.seed, 0))?;
    let mut jobs = vec![
        Job {
            label: "GD",
            opt: cfg.gd.clone(),
            lambda: None,
            train: TrainConfig {
                decompose: true,
                ..cfg.train.clone()
            },
        },
        Job {
            label: "Adam",
            opt: cfg.adam.clone(),
            lambda: None,
            train: TrainConfig {
                decompose: true,
                ..cfg.train.clone()
            },
        },
    ];
    let sweep_train = TrainConfig {
        max_steps: cfg.lambda_sweep.max_steps,
        decompose: false,
        record_every: cfg.lambda_sweep.max_steps,
        ..cfg.train.clone()
    };
    for &l in &cfg.lambda_sweep.lambdas {
        for (label, o) in [("GD", &cfg.gd), ("Adam", &cfg.adam)] {
            let opt = o.with_weight_decay(if l > 0.0 {
                WeightDecay::L2 { lambda: l }
            } else {
                WeightDecay::None
            });
            jobs.push(Job {
                label,
                opt,
                lambda: Some(l),
                train: sweep_train.clone(),
            });
        }
    }
    // Every run starts from the same W⁽⁰⁾ (stream 1) on the same data.
    let runs: Option<Vec<Result<RunRecord, CellError>>> = ctx.sweep("compare", cfg, cfg.seed, jobs.len(), |k, _| {
        let j = &jobs[k];
        train_run(&ds, &cfg.model, &j.opt, &j.train, &mut rng::stream(cfg.seed, 1))
            .map(|(r, _)| r)
            .map_err(CellError::from)
    })?;
    let Some(runs) = runs else {
        return Ok(None); // a shard: report after --merge
    };
    let runs: Vec<RunRecord> = runs.into_iter().collect::<Result<_, _>>()?;

    // Curves of the two main runs.
    let mut rows = vec![];
    for (j, r) in jobs.iter().zip(&runs).take(2) {
        for rec in &r.records {
            let s = rec.summary;
            let g = |x: fn(&gengap_analysis::Summary) -> f64| s.as_ref().map_or(String::new(), |s| f(x(s)));
            rows.push(vec![
                j.label.to_string(),
                rec.step.to_string(),
                f(rec.train.loss),
                f(rec.train.error),
                f(rec.test.loss),
                f(rec.test.error),
                f(rec.grad_norm),
                g(|s| s.signal_inner),
                g(|s| s.noise_inner),
                g(|s| s.max_gamma),
                g(|s| s.max_rho_bar),
                g(|s| s.min_rho),
                g(|s| s.residual),
            ]);
        }
    }
    ctx.write_csv(
        "curves.csv",
        &[
            "optimizer",
            "step",
            "train_loss",
            "train_error",
            "test_loss",
            "test_error",
            "grad_norm",
            "signal_inner",
            "noise_inner",
            "max_gamma",
            "max_rho_bar",
            "min_rho",
            "residual",
        ],
        &rows,
    )?;
    let sweep_rows: Vec<Vec<String>> = jobs
        .iter()
        .zip(&runs)
        .skip(2)
        .map(|(j, r)| {
            let last = r.last().expect("a run records its last step");
            vec![
                j.label.to_string(),
                f(j.lambda.unwrap_or(0.0)),
                format!("{:?}", r.status).to_lowercase(),
                r.steps.to_string(),
                f(last.train.loss),
                f(last.train.error),
                f(last.test.error),
            ]
        })
        .collect();
    ctx.write_csv(
        "lambda_sweep.csv",
        &[
            "optimizer",
            "lambda",
            "status",
            "steps",
            "train_loss",
            "train_error",
            "test_error",
        ],
        &sweep_rows,
    )?;

    let finals: Vec<Final> = jobs
        .iter()
        .zip(&runs)
        .take(2)
        .map(|(j, r)| {
            let l = r.last().expect("a run records its last step");
            Final {
                optimizer: j.label.to_string(),
                status: format!("{:?}", r.status).to_lowercase(),
                steps: r.steps,
                train_loss: l.train.loss,
                train_error: l.train.error,
                test_error: l.test.error,
                signal_inner: l.summary.map(|s| s.signal_inner),
                noise_inner: l.summary.map(|s| s.noise_inner),
                residual: l.summary.map(|s| s.residual),
            }
        })
        .collect();
    for x in &finals {
        eprintln!(
            "{name}: {:>4}: train loss {:.3e}, train error {:.3}, test error {:.3}, signal {:.3}, noise {:.3}",
            x.optimizer,
            x.train_loss,
            x.train_error,
            x.test_error,
            x.signal_inner.unwrap_or(f64::NAN),
            x.noise_inner.unwrap_or(f64::NAN)
        );
    }

    // Figures.
    let curve = |k: usize, field: fn(&crate::Record) -> f64| -> (Vec<f64>, Vec<f64>) {
        let recs = &runs[k].records;
        (
            recs.iter().map(|r| (r.step + 1) as f64).collect(),
            recs.iter().map(field).collect(),
        )
    };
    let main_notes: Vec<String> = (0..2)
        .filter(|&k| runs[k].status == crate::Status::Diverged)
        .map(|k| format!("{} diverged at step {}", jobs[k].label, runs[k].steps))
        .collect();
    let two = |title: &str, y: &str, log_y: bool, field: fn(&crate::Record) -> f64| {
        let series = (0..2)
            .map(|k| {
                let (x, v) = curve(k, field);
                Series::line(jobs[k].label, x, v, k)
            })
            .collect();
        Panel::Line(LinePlot {
            title: title.into(),
            x_label: "iteration + 1".into(),
            y_label: y.into(),
            log_x: true,
            log_y,
            series,
            notes: main_notes.clone(),
            ..Default::default()
        })
    };
    let sig = |r: &crate::Record| r.summary.map_or(f64::NAN, |s| s.signal_inner);
    let noi = |r: &crate::Record| r.summary.map_or(f64::NAN, |s| s.noise_inner);
    let mut sn = vec![];
    for k in 0..2 {
        let (x, s) = curve(k, sig);
        let (_, n) = curve(k, noi);
        sn.push(Series::line(
            format!("{}: signal max_r⟨w_j,r, j·v⟩", jobs[k].label),
            x.clone(),
            s,
            k,
        ));
        sn.push(Series::line(format!("{}: noise min_i max_r⟨w_y,r, ξ_i⟩", jobs[k].label), x, n, k).dashed());
    }
    let panels = vec![
        two("Training loss", "L_S(W)", true, |r| r.train.loss),
        two("Test error", "error", false, |r| r.test.error),
        Panel::Line(LinePlot {
            title: "Signal learning vs noise memorization".into(),
            x_label: "iteration + 1".into(),
            y_label: "inner product".into(),
            log_x: true,
            series: sn,
            legend_left: true,
            ..Default::default()
        }),
        two(
            "Adam leaves span{w0, v, ξ}: relative residual",
            "‖W − proj W‖ / ‖W − W0‖",
            false,
            |r| r.summary.map_or(f64::NAN, |s| s.residual),
        ),
    ];
    render(&ctx.figure(fig), (2, 2), (620, 420), &panels)?;

    let lam: Vec<f64> = cfg.lambda_sweep.lambdas.clone();
    let pick = |label: &str, field: fn(&crate::Record) -> f64| -> Vec<f64> {
        jobs.iter()
            .zip(&runs)
            .skip(2)
            .filter(|(j, _)| j.label == label)
            .map(|(_, r)| r.last().map_or(f64::NAN, field))
            .collect()
    };
    // λ = 0 is drawn at the left edge of the log axis.
    let lmin = lam.iter().copied().filter(|&l| l > 0.0).fold(f64::INFINITY, f64::min);
    let lx: Vec<f64> = lam.iter().map(|&l| if l > 0.0 { l } else { lmin / 10.0 }).collect();
    // Diverged runs are named on every panel (their loss is not drawn, and
    // their test error is 1: a NaN output is never a correct prediction).
    let diverged_notes: Vec<String> = ["GD", "Adam"]
        .iter()
        .filter_map(|&label| {
            let at: Vec<String> = jobs
                .iter()
                .zip(&runs)
                .skip(2)
                .filter(|(j, r)| j.label == label && r.status == crate::Status::Diverged)
                .map(|(j, _)| format!("{}", j.lambda.unwrap_or(0.0)))
                .collect();
            (!at.is_empty()).then(|| format!("{label} diverged at λ = {}", at.join(", ")))
        })
        .collect();
    let sweep_panel = |title: &str, y: &str, log_y: bool, field: fn(&crate::Record) -> f64| {
        Panel::Line(LinePlot {
            notes: diverged_notes.clone(),
            title: title.into(),
            x_label: "L2 weight decay λ (leftmost point: λ = 0)".into(),
            y_label: y.into(),
            log_x: true,
            log_y,
            series: vec![
                Series::line("GD", lx.clone(), pick("GD", field), 0).with_markers(),
                Series::line("Adam", lx.clone(), pick("Adam", field), 1).with_markers(),
            ],
            ..Default::default()
        })
    };
    render(
        &ctx.figure(&format!("{fig}_lambda")),
        (1, 2),
        (620, 420),
        &[
            sweep_panel("Final test error vs λ", "test error", false, |r| r.test.error),
            sweep_panel("Final training loss vs λ", "training loss", true, |r| r.train.loss),
        ],
    )?;
    Ok(Some(finals))
}
