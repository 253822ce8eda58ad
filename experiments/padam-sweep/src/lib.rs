//! `padam-sweep` — Chen et al. (IJCAI 2020, \[P20\]) on the \[Z23\] task, `docs/theory.md#claims`, claim 3.
//!
//! Padam with partial-adaptivity exponent `p` from below 0 to above 1/2. Each
//! `p` gets its own learning rate by a documented rule: a centre
//! `log η₀(p) = (1 − 2p)·log η_sgd + 2p·log η_adam` (geometric interpolation
//! between an SGD-like rate at `p = 0` and an Adam-like rate at `p = 1/2`,
//! extended linearly outside), then the grid `η₀(p)·lr_factors`, keeping the
//! rate with the lowest final *training* loss (test data is never used to choose).

//!
//! The data set and `W⁽⁰⁾` are drawn once from the setup stream: every
//! (p, learning rate) run starts from the same point.

use gengap::data::{DataConfig, Z23Params};
use gengap::lab::config::check_positive;
use gengap::lab::memory;
use gengap::lab::{Arrays, CellRng, Ctx, DataAndInit, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::model::CnnConfig;
use gengap::optim::{OptimConfig, PadamConfig, WeightDecay};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::{RunRecord, Schedule, Status, TrainConfig, best_per_group, train_from_stream};
use serde::{Deserialize, Serialize};

/// The `padam-sweep` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The \[Z23\] data model.
    data: Z23Params,
    /// The network.
    model: CnnConfig,
    /// Steps.
    train: TrainConfig,
    /// The exponents p.
    ps: Vec<f64>,
    /// Learning-rate rule: centre at p = 0 ...
    lr_sgd: f64,
    /// ... and at p = 1/2.
    lr_adam: f64,
    /// Multipliers of the centre tried for each p.
    lr_factors: Vec<f64>,
    /// Padam's (β₁, β₂).
    #[serde(default = "betas")]
    betas: [f64; 2],
    /// Padam's ε.
    #[serde(default = "eps")]
    eps: f64,
    /// Padam's running max (amsgrad).
    #[serde(default = "yes")]
    amsgrad: bool,
}

fn betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn eps() -> f64 {
    1e-8
}
fn yes() -> bool {
    true
}

impl Config {
    fn centre(&self, p: f64) -> f64 {
        ((1.0 - 2.0 * p) * self.lr_sgd.ln() + 2.0 * p * self.lr_adam.ln()).exp()
    }
    fn padam(&self, p: f64, lr: f64) -> OptimConfig {
        OptimConfig::Padam(PadamConfig {
            lr,
            betas: self.betas,
            eps: self.eps,
            p,
            amsgrad: self.amsgrad,
            weight_decay: WeightDecay::None,
        })
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        self.data.validate()?;
        self.model.validate()?;
        self.train.validate_for(self.data.n)?;
        if self.ps.is_empty() {
            return Err(LabError::invalid("ps", "[]", "must not be empty"));
        }
        if let Some(p) = self.ps.iter().find(|p| !p.is_finite()) {
            return Err(LabError::invalid("ps", p, "each p must be finite"));
        }
        for (k, v) in [("lr_sgd", self.lr_sgd), ("lr_adam", self.lr_adam)] {
            check_positive(k, v)?;
        }
        if self.lr_factors.is_empty() || self.lr_factors.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(LabError::invalid(
                "lr_factors",
                format!("{:?}", self.lr_factors),
                "must be a non-empty list of positive numbers",
            ));
        }
        for &p in &self.ps {
            for &k in &self.lr_factors {
                let lr = self.centre(p) * k;
                if !(lr.is_finite() && lr > 0.0) {
                    // Name the rate that took it out of range, not the derived `lr`.
                    let (key, v) = if self.lr_adam.ln().abs() >= self.lr_sgd.ln().abs() {
                        ("lr_adam", self.lr_adam)
                    } else {
                        ("lr_sgd", self.lr_sgd)
                    };
                    return Err(LabError::invalid(
                        key,
                        format!("{v:e}"),
                        format!("the grid's rate η₀(p = {p})·{k} = {lr:e} must be finite and > 0"),
                    ));
                }
                self.padam(p, lr)
                    .resolve()
                    .map_err(|e| LabError::from(e).at(format!("p = {p}:")))?;
            }
        }
        Ok(())
    }

    /// One shared data set, and one decomposing run per parallel cell.
    fn memory(&self) -> Option<memory::MemoryEstimate> {
        let data = DataConfig::Z23(self.data.clone());
        Some(memory::shared_dataset_sweep(&data, &self.model, true))
    }
}

/// One run: Padam with exponent `p` at learning rate `lr`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The exponent.
    pub p: f64,
    /// The learning rate.
    pub lr: f64,
}

/// The data set and `W⁽⁰⁾` every run shares.
pub type Shared = DataAndInit;

/// A row of `all_runs.csv` and `chosen.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The exponent.
    pub p: f64,
    /// The learning rate.
    pub lr: f64,
    /// How the run ended.
    pub status: Status,
    /// Final training loss.
    pub train_loss: f64,
    /// Final training error.
    pub train_error: f64,
    /// Final test error.
    pub test_error: f64,
    /// `max_{j,r}⟨w_{j,r}, j·v⟩` at the end.
    pub signal_inner: f64,
    /// `min_i max_r⟨w_{y_i,r}, ξ_i⟩` at the end.
    pub noise_inner: f64,
}

/// The Padam sweep study.
#[derive(Debug, Clone, Copy)]
pub struct PadamSweep;

impl Setup<Config> for Shared {
    fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
        for w in cfg
            .ps
            .iter()
            .filter_map(|&p| cfg.padam(p, 1.0).warnings().into_iter().next())
        {
            eprintln!("padam-sweep: warning: {w}");
        }
        DataAndInit::draw(&DataConfig::Z23(cfg.data.clone()), &cfg.model, rng)
    }
}

impl Study for PadamSweep {
    type Config = Config;
    type Shared = Shared;
    type Cell = Cell;
    type Row = RunRecord;
    type Summary = Vec<Row>;

    fn name(&self) -> &str {
        "padam-sweep"
    }

    /// Every p with every factor of its centre rate.
    fn cells(&self, cfg: &Config, _: &Shared) -> Vec<Cell> {
        cfg.ps
            .iter()
            .flat_map(|&p| {
                cfg.lr_factors.iter().map(move |&k| Cell {
                    p,
                    lr: cfg.centre(p) * k,
                })
            })
            .collect()
    }

    /// Keeps the run's final `W` and its decomposition.
    fn run(
        &self,
        cfg: &Config,
        sh: &Shared,
        c: &Cell,
        r: &mut CellRng,
        keep: &mut Arrays,
    ) -> Result<RunRecord, StudyError> {
        let train = TrainConfig {
            decompose: true,
            record: Schedule::End,
            ..cfg.train.clone()
        };
        let (record, w) = train_from_stream(&sh.ds, &cfg.model, &cfg.padam(c.p, c.lr), &train, &sh.w0, r)?;
        keep.put_run(&sh.ds, sh.w0.view(), w.view())?;
        Ok(record)
    }

    fn report(&self, _: &Config, sh: &Shared, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Vec<Row>, LabError> {
        sh.write_arrays(ctx.output(), ctx, "data.npz")?;
        report(rows, ctx)
    }
}

fn report(runs: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Vec<Row>, LabError> {
    let row = |(c, r): &(Cell, RunRecord)| -> Result<Row, LabError> {
        let l = r.final_record()?;
        Ok(Row {
            p: c.p,
            lr: c.lr,
            status: r.status,
            train_loss: l.train.loss,
            train_error: l.train.error,
            test_error: l.test.error,
            signal_inner: l.summary.map_or(f64::NAN, |s| s.signal_inner),
            noise_inner: l.summary.map_or(f64::NAN, |s| s.noise_inner),
        })
    };
    let all: Vec<Row> = runs.iter().map(row).collect::<Result<_, _>>()?;
    // The learning rate per p, by final training loss.
    let chosen: Vec<Row> = best_per_group(runs, |(c, _)| Some(c.p.to_bits()), |(c, _)| c.lr, |(_, r)| r)
        .into_iter()
        .map(|(_, best)| row(best))
        .collect::<Result<_, _>>()?;
    ctx.write_rows("all_runs.csv", &all)?;
    ctx.write_rows("chosen.csv", &chosen)?;
    for r in &chosen {
        eprintln!(
            "padam-sweep: p = {:>6}: lr {:.2e}, train loss {:.2e}, test error {:.3}, signal {:.3}, noise {:.3}",
            r.p, r.lr, r.train_loss, r.test_error, r.signal_inner, r.noise_inner
        );
    }

    let ps: Vec<f64> = chosen.iter().map(|r| r.p).collect();
    let ends = |v: &dyn Fn(&Row) -> f64, lab: &str, color: usize| -> Vec<Series> {
        let at = |p: f64| chosen.iter().find(|r| r.p == p).map(v);
        let mut s = vec![];
        if let Some(y) = at(0.0) {
            s.push(Series::points(
                format!("p = 0: SGD-momentum end{lab}"),
                vec![0.0],
                vec![y],
                color,
            ));
        }
        if let Some(y) = at(0.5) {
            s.push(Series::points(
                format!("p = 1/2: AMSGrad end{lab}"),
                vec![0.5],
                vec![y],
                color + 1,
            ));
        }
        s
    };
    let mut test = vec![
        Series::line(
            "Padam test error",
            ps.clone(),
            chosen.iter().map(|r| r.test_error).collect(),
            0,
        )
        .with_markers(),
    ];
    test.push(
        Series::line(
            "training error",
            ps.clone(),
            chosen.iter().map(|r| r.train_error).collect(),
            6,
        )
        .dashed(),
    );
    test.extend(ends(&|r| r.test_error, "", 1));
    let mut sn = vec![
        Series::line(
            "signal: max_r⟨w_j,r, j·v⟩",
            ps.clone(),
            chosen.iter().map(|r| r.signal_inner).collect(),
            0,
        )
        .with_markers(),
        Series::line(
            "noise: min_i max_r⟨w_y,r, ξ_i⟩",
            ps.clone(),
            chosen.iter().map(|r| r.noise_inner).collect(),
            3,
        )
        .with_markers()
        .dashed(),
    ];
    sn.extend(ends(&|r| r.signal_inner, " (signal)", 1));
    // A chosen run that diverged (every learning rate of its p diverged) is
    // named on both panels: its error is 1 and its inner products are not drawn.
    let notes: Vec<String> = chosen
        .iter()
        .filter(|r| r.status == Status::Diverged)
        .map(|r| format!("p = {}: every learning rate diverged", r.p))
        .collect();
    let panels = [
        Panel::Line(LinePlot {
            title: "Padam: final test error vs partial adaptivity p".into(),
            notes: notes.clone(),
            x_label: "p   (0: SGD-momentum, 1/2: AMSGrad/Adam)".into(),
            y_label: "error".into(),
            series: test,
            y_range: Some((-0.02, 0.8)),
            legend_left: true,
            ..Default::default()
        }),
        Panel::Line(LinePlot {
            title: "Signal learning vs noise memorization at the end of training".into(),
            x_label: "p".into(),
            y_label: "inner product".into(),
            series: sn,
            notes,
            ..Default::default()
        }),
    ];
    render(&ctx.figure(""), (1, 2), (640, 440), &panels)?;
    Ok(chosen)
}
