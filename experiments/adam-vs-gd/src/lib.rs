//! The GD-vs-Adam comparison as a [`Study`] (\[Z23\], `docs/theory.md#claims`,
//! claim 2): the two main runs with the signal–noise decomposition, and a
//! sweep of the L2 weight decay λ, all from the same data set and the same
//! `W⁽⁰⁾` (drawn once from the setup stream). The `adam-vs-gd` binary runs
//! it on the synthetic \[Z23\] data; `noisy-mnist` runs it on real digits.

use gengap::data::DataConfig;
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{
    Arrays, CellRng, Ctx, DataAndInit, LabError, Setup, SetupRng, Study, StudyError, Validate, resolve_dir,
};
use gengap::model::CnnConfig;
use gengap::optim::{OptimConfig, WeightDecay};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::{Record, RunRecord, Schedule, Status, TrainConfig, train_from_stream};
use serde::{Deserialize, Serialize};

/// The `adam-vs-gd` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareConfig {
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
    fn validate(&self) -> Result<(), LabError> {
        self.data.validate()?;
        self.model.validate()?;
        self.train.validate_for(self.data.n())?;
        for o in [&self.gd, &self.adam] {
            o.resolve()
                .map_err(|e| LabError::from(e).at(format!("[{}]", o.name())))?;
        }
        if self.lambda_sweep.lambdas.is_empty() {
            return Err(LabError::invalid("lambda_sweep.lambdas", "[]", "must not be empty"));
        }
        if let Some(l) = self.lambda_sweep.lambdas.iter().find(|l| !l.is_finite() || **l < 0.0) {
            return Err(LabError::invalid(
                "lambda_sweep.lambdas",
                format!("[.., {l}, ..]"),
                "each must be finite and >= 0",
            ));
        }
        gengap::lab::config::check_steps("lambda_sweep.max_steps", self.lambda_sweep.max_steps)?;
        Ok(())
    }

    /// The data model's `data_dir`, if it reads one.
    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), LabError> {
        if let Some(dir) = self.data.data_dir_mut() {
            *dir = resolve_dir(config_dir, "data.data_dir", dir)?;
        }
        Ok(())
    }

    /// One shared data set, and one decomposing run per parallel cell.
    fn memory(&self) -> Option<MemoryEstimate> {
        Some(memory::shared_dataset_sweep(&self.data, &self.model, true))
    }
}

/// Which optimizer a cell trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    /// The `[gd]` optimizer.
    GD,
    /// The `[adam]` optimizer.
    Adam,
}

impl Which {
    fn label(self) -> &'static str {
        match self {
            Which::GD => "GD",
            Which::Adam => "Adam",
        }
    }
}

/// One run: a main run (`lambda = None`: the config's optimizer and
/// `[train]`, with the decomposition) or a λ-sweep run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The optimizer.
    pub which: Which,
    /// The sweep's λ, or `None` for a main run.
    pub lambda: Option<f64>,
}

/// The data set and `W⁽⁰⁾` every run shares.
pub type Shared = DataAndInit;

/// Final state of one of the two main runs (in `record.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Final {
    /// "GD" or "Adam".
    pub optimizer: String,
    /// How the run ended.
    pub status: Status,
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

/// A row of `curves.csv`: one recorded step of a main run.
#[derive(Serialize)]
struct CurveRow {
    optimizer: &'static str,
    step: u64,
    train_loss: f64,
    train_error: f64,
    test_loss: f64,
    test_error: f64,
    grad_norm: f64,
    signal_inner: Option<f64>,
    noise_inner: Option<f64>,
    max_gamma: Option<f64>,
    max_rho_bar: Option<f64>,
    min_rho: Option<f64>,
    residual: Option<f64>,
    /// `min_i y_i f(W, x_i) / ‖W‖_F^q` (empty for a non-homogeneous activation).
    normalized_margin: Option<f64>,
}

/// A row of `lambda_sweep.csv`.
#[derive(Serialize)]
struct SweepRow {
    optimizer: &'static str,
    lambda: f64,
    status: Status,
    steps: u64,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
}

/// The comparison study. Its figures are the run's stem (`<stem>.png|svg`)
/// and `<stem>_lambda.png|svg` ([`Ctx::figure`]).
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// The binary's name.
    pub name: &'static str,
    /// The file of the data set and `W⁽⁰⁾` under `arrays/` with `[output]
    /// arrays = true`.
    pub data_file: &'static str,
}

/// The `adam-vs-gd` binary's study.
pub const ADAM_VS_GD: Comparison = Comparison {
    name: "adam-vs-gd",
    data_file: "data.npz",
};

impl Comparison {
    /// The optimizer and training config of a cell.
    fn job(cfg: &CompareConfig, cell: &Cell) -> (OptimConfig, TrainConfig) {
        let base = match cell.which {
            Which::GD => &cfg.gd,
            Which::Adam => &cfg.adam,
        };
        match cell.lambda {
            // The main runs also record the normalized margin where the
            // network is homogeneous in `W` (Lyu & Li, ICLR 2020).
            None => (
                base.clone(),
                TrainConfig {
                    decompose: true,
                    margin: cfg.model.activation.homogeneity().is_some(),
                    ..cfg.train.clone()
                },
            ),
            Some(l) => (
                base.with_weight_decay(if l > 0.0 {
                    WeightDecay::L2 { lambda: l }
                } else {
                    WeightDecay::None
                }),
                TrainConfig {
                    max_steps: cfg.lambda_sweep.max_steps,
                    decompose: false,
                    record: Schedule::End,
                    ..cfg.train.clone()
                },
            ),
        }
    }
}

/// The data set, then `W⁽⁰⁾`, from the setup stream.
impl Setup<CompareConfig> for DataAndInit {
    fn setup(cfg: &CompareConfig, rng: &mut SetupRng) -> Result<Self, StudyError> {
        DataAndInit::draw(&cfg.data, &cfg.model, rng)
    }
}

impl Study for Comparison {
    type Config = CompareConfig;
    type Shared = Shared;
    type Cell = Cell;
    type Row = RunRecord;
    type Summary = Vec<Final>;

    fn name(&self) -> &str {
        self.name
    }

    /// GD and Adam main runs, then both at every λ.
    fn cells(&self, cfg: &CompareConfig, _: &Shared) -> Vec<Cell> {
        let mut cells = vec![
            Cell {
                which: Which::GD,
                lambda: None,
            },
            Cell {
                which: Which::Adam,
                lambda: None,
            },
        ];
        for &l in &cfg.lambda_sweep.lambdas {
            for which in [Which::GD, Which::Adam] {
                cells.push(Cell { which, lambda: Some(l) });
            }
        }
        cells
    }

    /// Keeps the run's final `W` and its decomposition.
    fn run(
        &self,
        cfg: &CompareConfig,
        sh: &Shared,
        cell: &Cell,
        r: &mut CellRng,
        keep: &mut Arrays,
    ) -> Result<RunRecord, StudyError> {
        let (opt, train) = Self::job(cfg, cell);
        let (record, w) = train_from_stream(&sh.ds, &cfg.model, &opt, &train, &sh.w0, r)?;
        keep.put_run(&sh.ds, sh.w0.view(), w.view())?;
        Ok(record)
    }

    fn report(
        &self,
        cfg: &CompareConfig,
        sh: &Shared,
        rows: &[(Cell, RunRecord)],
        ctx: &Ctx,
    ) -> Result<Vec<Final>, LabError> {
        sh.write_arrays(ctx.output(), ctx, self.data_file)?;
        report(cfg, rows, ctx)
    }
}

fn report(cfg: &CompareConfig, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Vec<Final>, LabError> {
    let name = ctx.name.as_str();
    let (main, sweep): (Vec<_>, Vec<_>) = rows.iter().partition(|(c, _)| c.lambda.is_none());
    let jobs: Vec<&Cell> = main.iter().chain(&sweep).map(|(c, _)| c).collect();
    let runs: Vec<&RunRecord> = main.iter().chain(&sweep).map(|(_, r)| r).collect();

    let mut curves = vec![];
    for (c, r) in &main {
        for rec in &r.records {
            let s = rec.summary;
            curves.push(CurveRow {
                optimizer: c.which.label(),
                step: rec.step,
                train_loss: rec.train.loss,
                train_error: rec.train.error,
                test_loss: rec.test.loss,
                test_error: rec.test.error,
                grad_norm: rec.grad_norm,
                signal_inner: s.map(|s| s.signal_inner),
                noise_inner: s.map(|s| s.noise_inner),
                max_gamma: s.map(|s| s.max_gamma),
                max_rho_bar: s.map(|s| s.max_rho_bar),
                min_rho: s.map(|s| s.min_rho),
                residual: s.map(|s| s.residual),
                normalized_margin: rec.normalized_margin,
            });
        }
    }
    ctx.write_rows("curves.csv", &curves)?;
    let sweep_rows: Vec<SweepRow> = sweep
        .iter()
        .map(|(c, r)| {
            let last = r.final_record()?;
            Ok(SweepRow {
                optimizer: c.which.label(),
                lambda: c.lambda.unwrap_or(0.0),
                status: r.status,
                steps: r.steps,
                train_loss: last.train.loss,
                train_error: last.train.error,
                test_error: last.test.error,
            })
        })
        .collect::<Result<_, LabError>>()?;
    ctx.write_rows("lambda_sweep.csv", &sweep_rows)?;

    let finals: Vec<Final> = main
        .iter()
        .map(|(c, r)| {
            let l = r.final_record()?;
            Ok(Final {
                optimizer: c.which.label().to_string(),
                status: r.status,
                steps: r.steps,
                train_loss: l.train.loss,
                train_error: l.train.error,
                test_error: l.test.error,
                signal_inner: l.summary.map(|s| s.signal_inner),
                noise_inner: l.summary.map(|s| s.noise_inner),
                residual: l.summary.map(|s| s.residual),
            })
        })
        .collect::<Result<_, LabError>>()?;
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
    let curve = |k: usize, field: fn(&Record) -> f64| -> (Vec<f64>, Vec<f64>) {
        let recs = &runs[k].records;
        (
            recs.iter().map(|r| (r.step + 1) as f64).collect(),
            recs.iter().map(field).collect(),
        )
    };
    let main_notes: Vec<String> = (0..2)
        .filter(|&k| runs[k].status == Status::Diverged)
        .map(|k| format!("{} diverged at step {}", jobs[k].which.label(), runs[k].steps))
        .collect();
    let two = |title: &str, y: &str, log_y: bool, field: fn(&Record) -> f64| {
        let series = (0..2)
            .map(|k| {
                let (x, v) = curve(k, field);
                Series::line(jobs[k].which.label(), x, v, k)
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
    let sig = |r: &Record| r.summary.map_or(f64::NAN, |s| s.signal_inner);
    let noi = |r: &Record| r.summary.map_or(f64::NAN, |s| s.noise_inner);
    let mut sn = vec![];
    for k in 0..2 {
        let (x, s) = curve(k, sig);
        let (_, n) = curve(k, noi);
        sn.push(Series::line(
            format!("{}: signal max_r⟨w_j,r, j·v⟩", jobs[k].which.label()),
            x.clone(),
            s,
            k,
        ));
        sn.push(
            Series::line(
                format!("{}: noise min_i max_r⟨w_y,r, ξ_i⟩", jobs[k].which.label()),
                x,
                n,
                k,
            )
            .dashed(),
        );
    }
    let mut panels = vec![
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
    if runs[..2]
        .iter()
        .any(|r| r.records.iter().any(|x| x.normalized_margin.is_some()))
    {
        panels.push(two(
            "Normalized margin (Lyu & Li 2020)",
            "min_i y_i f(W, x_i) / ‖W‖_F^q",
            false,
            |r| r.normalized_margin.unwrap_or(f64::NAN),
        ));
    }
    let grid = if panels.len() > 4 { (2, 3) } else { (2, 2) };
    render(&ctx.figure(""), grid, (620, 420), &panels)?;

    let lam: Vec<f64> = cfg.lambda_sweep.lambdas.clone();
    let pick = |label: &str, field: fn(&Record) -> f64| -> Vec<f64> {
        jobs.iter()
            .zip(&runs)
            .skip(2)
            .filter(|(j, _)| j.which.label() == label)
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
                .filter(|(j, r)| j.which.label() == label && r.status == Status::Diverged)
                .map(|(j, _)| format!("{}", j.lambda.unwrap_or(0.0)))
                .collect();
            (!at.is_empty()).then(|| format!("{label} diverged at λ = {}", at.join(", ")))
        })
        .collect();
    let sweep_panel = |title: &str, y: &str, log_y: bool, field: fn(&Record) -> f64| {
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
        &ctx.figure("lambda"),
        (1, 2),
        (620, 420),
        &[
            sweep_panel("Final test error vs λ", "test error", false, |r| r.test.error),
            sweep_panel("Final training loss vs λ", "training loss", true, |r| r.train.loss),
        ],
    )?;
    Ok(finals)
}
