//! The \[T25\] study as a [`Study`]: Adam (L2 decay) and AdamW (decoupled
//! decay) on the \[Z23\] model of `adam-vs-gd`, over a grid of batch sizes
//! `B = f·n` and weight decays `λ`, every cell trained for the same number
//! of **epochs** (`epochs·⌈n/B⌉` optimizer steps) with the learning-rate rule
//! of the config; plus two decomposing runs (Adam, `λ = 0`, full batch and the
//! smallest batch) for the signal-learning vs noise-memorization curves.
//! With `same_steps = true`, the control for the extra steps that small
//! batches take: full batch, both optimizers, every `λ`, for as many steps as
//! the smallest batch takes (`epochs·⌈n/B_min⌉`); its Adam `λ = 0` run
//! records the decomposition for the curves.
//!
//! The data set and `W⁽⁰⁾` are drawn once from the setup stream; each cell's
//! batch order comes from its own stream (`docs/theory.md#mini-batches`).

use gengap::data::{DataConfig, Z23Params};
use gengap::lab::memory;
use gengap::lab::{Arrays, CellRng, Ctx, DataAndInit, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::model::CnnConfig;
use gengap::optim::{AdamConfig, AdamWConfig, OptimConfig, WeightDecay};
use gengap::plot::{Heatmap, LinePlot, Panel, Series, render};
use gengap::train::{MiniBatch, RunRecord, Schedule, Status, TrainConfig, train_from_stream};
use serde::{Deserialize, Serialize};

/// How the learning rate depends on the batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrRule {
    /// `η` for every `B`.
    Constant,
    /// `η·√(B/n)` (the square-root scaling rule of adaptive methods).
    Sqrt,
}

/// The `stochastic-adam` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The \[Z23\] data model.
    pub data: Z23Params,
    /// The network.
    pub model: CnnConfig,
    /// Epochs per run (the same for every batch size).
    pub epochs: u64,
    /// Batch sizes as fractions of `n`: `B = round(f·n)`, clamped to `1..=n`.
    pub batch_fractions: Vec<f64>,
    /// Weight decays `λ ≥ 0` (L2 for Adam, decoupled for AdamW).
    pub lambdas: Vec<f64>,
    /// The learning rate `η` at full batch.
    pub lr: f64,
    /// How `η` depends on `B`.
    pub lr_rule: LrRule,
    /// `(β₁, β₂)` of both optimizers. Default `(0.9, 0.999)`.
    #[serde(default = "betas")]
    pub betas: [f64; 2],
    /// `ε` of both optimizers. Default 1e-8.
    #[serde(default = "eps")]
    pub eps: f64,
    /// Records per decade of the curve runs.
    pub curve_records: u32,
    /// Also run full batch for the smallest batch's number of steps, for
    /// both optimizers and every `λ` (`same_steps.csv`). Default false.
    #[serde(default)]
    pub same_steps: bool,
}

fn betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn eps() -> f64 {
    1e-8
}

/// The two optimizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Which {
    /// Adam with L2 decay `g ← g + λW`.
    Adam,
    /// AdamW: decoupled decay `W ← W − ηλW`.
    AdamW,
}

impl Which {
    fn label(self) -> &'static str {
        match self {
            Which::Adam => "Adam",
            Which::AdamW => "AdamW",
        }
    }
}

impl Config {
    /// `B` for fraction `f`.
    pub fn batch(&self, f: f64) -> usize {
        MiniBatch::fraction_of(f, self.data.n).size
    }

    /// The optimizer of a cell.
    fn optimizer(&self, which: Which, b: usize, lambda: f64) -> OptimConfig {
        let lr = match self.lr_rule {
            LrRule::Constant => self.lr,
            LrRule::Sqrt => self.lr * (b as f64 / self.data.n as f64).sqrt(),
        };
        match which {
            Which::Adam => OptimConfig::Adam(AdamConfig {
                lr,
                betas: self.betas,
                eps: self.eps,
                weight_decay: if lambda > 0.0 {
                    WeightDecay::L2 { lambda }
                } else {
                    WeightDecay::None
                },
            }),
            Which::AdamW => OptimConfig::AdamW(AdamWConfig {
                lr,
                betas: self.betas,
                eps: self.eps,
                weight_decay: lambda,
            }),
        }
    }

    /// The optimizer steps of the smallest batch's runs, `epochs·⌈n/B_min⌉`
    /// (the length of the same-steps control).
    pub fn max_steps(&self) -> u64 {
        let n = self.data.n;
        let b_min = self.batch_fractions.iter().map(|&f| self.batch(f)).min().unwrap_or(n);
        self.epochs * n.div_ceil(b_min) as u64
    }

    /// The training config of a run with batch `b`: `epochs` epochs.
    fn train(&self, b: usize, record: Schedule, decompose: bool) -> TrainConfig {
        let n = self.data.n;
        TrainConfig {
            max_steps: self.epochs * n.div_ceil(b) as u64,
            record,
            decompose,
            batch: Some(MiniBatch {
                size: b,
                drop_last: false,
            }),
            ..TrainConfig::steps(1)
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        DataConfig::Z23(self.data.clone()).validate()?;
        self.model.validate()?;
        gengap::lab::config::check_steps("epochs", self.epochs)?;
        if self.curve_records == 0 {
            return Err(LabError::invalid("curve_records", 0, "must be >= 1"));
        }
        if self.batch_fractions.is_empty() {
            return Err(LabError::invalid("batch_fractions", "[]", "must not be empty"));
        }
        if let Some(f) = self.batch_fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
            return Err(LabError::invalid(
                "batch_fractions",
                f,
                "every fraction must be in (0, 1]",
            ));
        }
        if self.lambdas.is_empty() {
            return Err(LabError::invalid("lambdas", "[]", "must not be empty"));
        }
        if let Some(l) = self.lambdas.iter().find(|l| !(l.is_finite() && **l >= 0.0)) {
            return Err(LabError::invalid("lambdas", l, "every λ must be finite and >= 0"));
        }
        for which in [Which::Adam, Which::AdamW] {
            for &l in &self.lambdas {
                self.optimizer(which, self.data.n, l)
                    .resolve()
                    .map_err(|e| LabError::from(e).at(format!("{}:", which.label())))?;
            }
        }
        Ok(())
    }

    fn memory(&self) -> Option<memory::MemoryEstimate> {
        Some(memory::shared_dataset_sweep(
            &DataConfig::Z23(self.data.clone()),
            &self.model,
            true,
        ))
    }
}

/// One run.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Cell {
    /// A grid cell: optimizer, batch fraction index, λ index.
    Grid {
        /// The optimizer.
        which: Which,
        /// Index into `batch_fractions`.
        batch: usize,
        /// Index into `lambdas`.
        lambda: usize,
    },
    /// A decomposing Adam run at `λ = 0` (curves), batch fraction index.
    Curve {
        /// Index into `batch_fractions`.
        batch: usize,
    },
    /// The same-steps control: full batch for [`Config::max_steps`] steps
    /// (decomposing for Adam at `λ = 0`).
    SameSteps {
        /// The optimizer.
        which: Which,
        /// Index into `lambdas`.
        lambda: usize,
    },
}

impl Cell {
    /// Whether the run records the decomposition on a log-spaced schedule
    /// (for the curves): the curve runs, and the same-steps Adam `λ = 0` run.
    fn decomposes(&self, cfg: &Config) -> bool {
        match *self {
            Cell::Grid { .. } => false,
            Cell::Curve { .. } => true,
            Cell::SameSteps { which, lambda } => which == Which::Adam && cfg.lambdas[lambda] == 0.0,
        }
    }
}

/// Which kind of decomposing run a `curves.csv` row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum CurveRun {
    /// A curve run of `epochs` epochs.
    Epochs,
    /// The same-steps control.
    SameSteps,
}

/// The data set and `W⁽⁰⁾` every run shares.
pub type Shared = DataAndInit;

/// A row of `grid.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct GridRow {
    /// "Adam" or "AdamW".
    pub optimizer: &'static str,
    /// Batch size `B`.
    pub batch: usize,
    /// Weight decay `λ`.
    pub lambda: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Optimizer steps taken.
    pub steps: u64,
    /// How the run ended.
    pub status: Status,
    /// Final training loss (whole training set).
    pub train_loss: f64,
    /// Final training error.
    pub train_error: f64,
    /// Final test error.
    pub test_error: f64,
}

/// A row of `curves.csv`.
#[derive(Serialize)]
struct CurveRow {
    run: CurveRun,
    batch: usize,
    step: u64,
    epoch: f64,
    train_loss: f64,
    test_error: f64,
    signal_inner: Option<f64>,
    noise_inner: Option<f64>,
}

/// What `record.json` keeps.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Per optimizer and batch size, `epochs` epochs each.
    pub grid: Vec<LambdaRange>,
    /// The same-steps control (full batch, [`Config::max_steps`] steps), if run.
    pub same_steps: Vec<LambdaRange>,
}

/// Per optimizer and batch size, the best test error over λ and how many λ
/// reach test error ≤ 0.1.
#[derive(Debug, Serialize)]
pub struct LambdaRange {
    /// "Adam" or "AdamW".
    pub optimizer: &'static str,
    /// Batch size.
    pub batch: usize,
    /// The lowest test error over λ.
    pub best_test_error: f64,
    /// The λ that reached it.
    pub best_lambda: f64,
    /// How many of the λ give test error ≤ 0.1.
    pub good_lambdas: usize,
}

/// The study (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct StochasticAdam;

impl Setup<Config> for Shared {
    fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
        DataAndInit::draw(&DataConfig::Z23(cfg.data.clone()), &cfg.model, rng)
    }
}

impl Study for StochasticAdam {
    type Config = Config;
    type Shared = Shared;
    type Cell = Cell;
    type Row = RunRecord;
    type Summary = Summary;

    fn name(&self) -> &str {
        "stochastic-adam"
    }

    /// Adam then AdamW, each over (batch, λ); then the curve runs at the
    /// largest and the smallest batch.
    fn cells(&self, cfg: &Config, _: &Shared) -> Vec<Cell> {
        let mut cells = vec![];
        for which in [Which::Adam, Which::AdamW] {
            for batch in 0..cfg.batch_fractions.len() {
                for lambda in 0..cfg.lambdas.len() {
                    cells.push(Cell::Grid { which, batch, lambda });
                }
            }
        }
        let by_size = |i: &usize| cfg.batch(cfg.batch_fractions[*i]);
        let idx = 0..cfg.batch_fractions.len();
        let largest = idx.clone().max_by_key(by_size).expect("validated non-empty");
        let smallest = idx.min_by_key(by_size).expect("validated non-empty");
        cells.push(Cell::Curve { batch: largest });
        if smallest != largest {
            cells.push(Cell::Curve { batch: smallest });
        }
        if cfg.same_steps {
            for which in [Which::Adam, Which::AdamW] {
                for lambda in 0..cfg.lambdas.len() {
                    cells.push(Cell::SameSteps { which, lambda });
                }
            }
        }
        cells
    }

    fn run(
        &self,
        cfg: &Config,
        sh: &Shared,
        cell: &Cell,
        r: &mut CellRng,
        _: &mut Arrays,
    ) -> Result<RunRecord, StudyError> {
        let (opt, train) = match *cell {
            Cell::Grid { which, batch, lambda } => {
                let b = cfg.batch(cfg.batch_fractions[batch]);
                (
                    cfg.optimizer(which, b, cfg.lambdas[lambda]),
                    cfg.train(b, Schedule::End, false),
                )
            }
            Cell::Curve { batch } => {
                let b = cfg.batch(cfg.batch_fractions[batch]);
                (
                    cfg.optimizer(Which::Adam, b, 0.0),
                    cfg.train(b, Schedule::LogSpaced(cfg.curve_records), true),
                )
            }
            Cell::SameSteps { which, lambda } => {
                let (n, l) = (cfg.data.n, cfg.lambdas[lambda]);
                let curve = cell.decomposes(cfg);
                let record = if curve {
                    Schedule::LogSpaced(cfg.curve_records)
                } else {
                    Schedule::End
                };
                (
                    cfg.optimizer(which, n, l),
                    TrainConfig {
                        max_steps: cfg.max_steps(),
                        ..cfg.train(n, record, curve)
                    },
                )
            }
        };
        Ok(train_from_stream(&sh.ds, &cfg.model, &opt, &train, &sh.w0, r)?.0)
    }

    fn report(&self, cfg: &Config, _: &Shared, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Summary, LabError> {
        report(cfg, rows, ctx)
    }
}

/// The λ axis of the heatmaps: `λ = 0` is drawn one decade below the smallest positive λ.
fn lambda_axis(lambdas: &[f64]) -> Vec<f64> {
    let min_pos = lambdas
        .iter()
        .copied()
        .filter(|l| *l > 0.0)
        .fold(f64::INFINITY, f64::min);
    let zero_at = if min_pos.is_finite() { min_pos / 10.0 } else { 1.0 };
    lambdas.iter().map(|&l| if l > 0.0 { l } else { zero_at }).collect()
}

/// Per optimizer and each batch size of `rows`, the best λ and the width of
/// the good range (printed, one line each).
fn lambda_ranges(cfg: &Config, rows: &[GridRow], tag: &str) -> Vec<LambdaRange> {
    let mut bs: Vec<usize> = rows.iter().map(|g| g.batch).collect();
    bs.sort_unstable_by(|a, b| b.cmp(a));
    bs.dedup();
    let mut out = vec![];
    for which in [Which::Adam, Which::AdamW] {
        for &b in &bs {
            let cells: Vec<&GridRow> = rows
                .iter()
                .filter(|g| g.optimizer == which.label() && g.batch == b)
                .collect();
            let Some(best) = cells.iter().min_by(|a, b| a.test_error.total_cmp(&b.test_error)) else {
                continue;
            };
            let s = LambdaRange {
                optimizer: which.label(),
                batch: b,
                best_test_error: best.test_error,
                best_lambda: best.lambda,
                good_lambdas: cells.iter().filter(|g| g.test_error <= 0.1).count(),
            };
            eprintln!(
                "stochastic-adam: {tag}{:>5} B = {:>3}: best test error {:.3} at λ = {:e}; {} of {} λ reach <= 0.1",
                s.optimizer,
                s.batch,
                s.best_test_error,
                s.best_lambda,
                s.good_lambdas,
                cfg.lambdas.len()
            );
            out.push(s);
        }
    }
    out
}

fn report(cfg: &Config, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Summary, LabError> {
    let n = cfg.data.n;
    let row = |which: Which, b: usize, lambda: usize, r: &RunRecord| -> Result<GridRow, LabError> {
        let last = r.final_record()?;
        Ok(GridRow {
            optimizer: which.label(),
            batch: b,
            lambda: cfg.lambdas[lambda],
            lr: cfg.optimizer(which, b, 0.0).lr(),
            steps: r.steps,
            status: r.status,
            train_loss: last.train.loss,
            train_error: last.train.error,
            // A diverged run counts as every prediction wrong.
            test_error: r.status.scored(last.test.error),
        })
    };
    let mut grid = vec![];
    let mut same = vec![];
    for (c, r) in rows {
        match *c {
            Cell::Grid { which, batch, lambda } => {
                grid.push(row(which, cfg.batch(cfg.batch_fractions[batch]), lambda, r)?)
            }
            Cell::SameSteps { which, lambda } => same.push(row(which, n, lambda, r)?),
            Cell::Curve { .. } => {}
        }
    }
    ctx.write_rows("grid.csv", &grid)?;
    if cfg.same_steps {
        ctx.write_rows("same_steps.csv", &same)?;
    }

    // The decomposing runs: the curve runs, then the same-steps Adam λ = 0 run.
    let curve_runs: Vec<(CurveRun, usize, &RunRecord)> = rows
        .iter()
        .filter(|(c, _)| c.decomposes(cfg))
        .map(|(c, r)| match *c {
            Cell::Curve { batch } => (CurveRun::Epochs, cfg.batch(cfg.batch_fractions[batch]), r),
            _ => (CurveRun::SameSteps, n, r),
        })
        .collect();
    let mut curves = vec![];
    for &(run, b, r) in &curve_runs {
        for rec in &r.records {
            curves.push(CurveRow {
                run,
                batch: b,
                step: rec.step,
                epoch: rec.step as f64 * b as f64 / n as f64,
                train_loss: rec.train.loss,
                test_error: rec.test.error,
                signal_inner: rec.summary.map(|s| s.signal_inner),
                noise_inner: rec.summary.map(|s| s.noise_inner),
            });
        }
    }
    ctx.write_rows("curves.csv", &curves)?;

    let summary = Summary {
        grid: lambda_ranges(cfg, &grid, ""),
        same_steps: lambda_ranges(cfg, &same, &format!("full batch, {} steps: ", cfg.max_steps())),
    };

    // Figures: the four heatmaps over (B, λ), then the curves.
    let mut bs: Vec<usize> = cfg.batch_fractions.iter().map(|&f| cfg.batch(f)).collect();
    bs.sort_unstable();
    bs.dedup();
    let lam_y = lambda_axis(&cfg.lambdas);
    let heat = |which: Which, title: &str, field: fn(&GridRow) -> f64, range: (f64, f64), label: &str| {
        let values = cfg
            .lambdas
            .iter()
            .map(|&l| {
                bs.iter()
                    .map(|&b| {
                        grid.iter()
                            .find(|g| g.optimizer == which.label() && g.batch == b && g.lambda == l)
                            .map_or(f64::NAN, field)
                    })
                    .collect()
            })
            .collect();
        let diverged = grid
            .iter()
            .filter(|g| g.optimizer == which.label() && g.status == Status::Diverged)
            .count();
        let notes = if diverged > 0 {
            vec![format!("{diverged} runs diverged (test error 1, loss grey)")]
        } else {
            vec![]
        };
        Panel::Heat(Heatmap {
            title: format!("{} {title} ({} epochs)", which.label(), cfg.epochs),
            x_label: format!("batch size B (n = {n})"),
            y_label: "weight decay λ (bottom row: λ = 0)".into(),
            x: bs.iter().map(|&b| b as f64).collect(),
            y: lam_y.clone(),
            values,
            log_x: true,
            log_y: true,
            range,
            colorbar_label: label.into(),
            notes,
            ..Default::default()
        })
    };
    // A diverged run's loss is drawn grey (NaN), never as the colour of the
    // smallest loss (`NaN.max(1e-12)` is 1e-12).
    let log_loss = |g: &GridRow| {
        if g.status == Status::Diverged || !g.train_loss.is_finite() {
            f64::NAN
        } else {
            g.train_loss.max(1e-12).log10()
        }
    };
    let panels = vec![
        heat(Which::Adam, "test error", |g| g.test_error, (0.0, 0.5), "test error"),
        heat(Which::AdamW, "test error", |g| g.test_error, (0.0, 0.5), "test error"),
        heat(
            Which::Adam,
            "final training loss",
            log_loss,
            (-6.0, 0.0),
            "log10 training loss",
        ),
        heat(
            Which::AdamW,
            "final training loss",
            log_loss,
            (-6.0, 0.0),
            "log10 training loss",
        ),
    ];
    render(&ctx.figure(""), (2, 2), (620, 460), &panels)?;

    let mut sn = vec![];
    let mut te = vec![];
    // The full-batch curve run is the start of the same-steps run (tested):
    // drawn once, as the longer of the two.
    let has_same = curve_runs.iter().any(|c| c.0 == CurveRun::SameSteps);
    let drawn = curve_runs
        .iter()
        .filter(|c| !(has_same && c.0 == CurveRun::Epochs && c.1 == n));
    for (k, &(run, b, r)) in drawn.enumerate() {
        let name = if run == CurveRun::SameSteps {
            format!("B = {b}, {} steps", r.steps)
        } else {
            format!("B = {b}")
        };
        let x: Vec<f64> = r
            .records
            .iter()
            .map(|rec| (rec.step as f64 * b as f64 / n as f64).max(1e-3))
            .collect();
        let pick = |f: fn(&gengap::train::Record) -> f64| r.records.iter().map(f).collect::<Vec<f64>>();
        sn.push(Series::line(
            format!("{name}: signal"),
            x.clone(),
            pick(|rec| rec.summary.map_or(f64::NAN, |s| s.signal_inner)),
            k,
        ));
        sn.push(
            Series::line(
                format!("{name}: noise"),
                x.clone(),
                pick(|rec| rec.summary.map_or(f64::NAN, |s| s.noise_inner)),
                k,
            )
            .dashed(),
        );
        te.push(Series::line(name, x, pick(|rec| rec.test.error), k));
    }
    let curves_fig = vec![
        Panel::Line(LinePlot {
            title: "Adam, λ = 0: signal max_r⟨w_j,r, j·v⟩ vs noise min_i max_r⟨w_y,r, ξ_i⟩".into(),
            x_label: "epoch".into(),
            y_label: "inner product".into(),
            log_x: true,
            series: sn,
            legend_left: true,
            ..Default::default()
        }),
        Panel::Line(LinePlot {
            title: "Adam, λ = 0: test error".into(),
            x_label: "epoch".into(),
            y_label: "test error".into(),
            log_x: true,
            series: te,
            ..Default::default()
        }),
    ];
    render(&ctx.figure("curves"), (1, 2), (620, 420), &curves_fig)?;
    Ok(summary)
}
