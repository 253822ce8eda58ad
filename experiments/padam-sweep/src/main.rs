//! `padam-sweep` — Chen et al. (IJCAI 2020, \[P20\]) on the \[Z23\] task, `docs/theory.md#claims`, claim 3.
//!
//! Padam with partial-adaptivity exponent `p` from below 0 to above 1/2. Each
//! `p` gets its own learning rate by a documented rule: a centre
//! `log η₀(p) = (1 − 2p)·log η_sgd + 2p·log η_adam` (geometric interpolation
//! between an SGD-like rate at `p = 0` and an Adam-like rate at `p = 1/2`,
//! extended linearly outside), then the grid `η₀(p)·lr_factors`, keeping the
//! rate with the lowest final *training* loss (test data is never used to choose).

use gengap::data::{DataConfig, Z23Params, rng};
use gengap::model::CnnConfig;
use gengap::optim::{OptimConfig, PadamConfig, WeightDecay};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::error::CellError;
use gengap::train::experiment::{self, Ctx, ExperimentError, Validate, f};
use gengap::train::memory;
use gengap::train::{RunRecord, TrainConfig, best_by_train_loss, sweep, train_run};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    seed: u64,
    data: Z23Params,
    model: CnnConfig,
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
    fn validate(&self) -> Result<(), ExperimentError> {
        self.data.validate()?;
        self.model.validate()?;
        self.train.validate()?;
        if self.ps.is_empty() {
            return Err(ExperimentError::invalid("ps", "[]", "must not be empty"));
        }
        for (k, v) in [("lr_sgd", self.lr_sgd), ("lr_adam", self.lr_adam)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(ExperimentError::invalid(k, v, "must be finite and > 0"));
            }
        }
        if self.lr_factors.is_empty() || self.lr_factors.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(ExperimentError::invalid(
                "lr_factors",
                format!("{:?}", self.lr_factors),
                "must be a non-empty list of positive numbers",
            ));
        }
        for &p in &self.ps {
            for &k in &self.lr_factors {
                self.padam(p, self.centre(p) * k)
                    .resolve()
                    .map_err(|e| ExperimentError::from(e).at(format!("p = {p}:")))?;
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

fn main() {
    experiment::main_sweep("padam-sweep", run);
}

#[derive(Serialize)]
struct Row {
    p: f64,
    lr: f64,
    status: String,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
    signal_inner: f64,
    noise_inner: f64,
}

fn run(ctx: &Ctx, cfg: Config) -> Result<(), ExperimentError> {
    sweep::single_threaded_blas();
    for w in cfg
        .ps
        .iter()
        .filter_map(|&p| cfg.padam(p, 1.0).warnings().into_iter().next())
    {
        eprintln!("padam-sweep: warning: {w}");
    }
    let ds = cfg.data.generate(&mut rng::stream(cfg.seed, 0))?;
    let train = TrainConfig {
        decompose: true,
        record_every: cfg.train.max_steps,
        ..cfg.train.clone()
    };
    let nf = cfg.lr_factors.len();
    let jobs: Vec<(f64, f64)> = cfg
        .ps
        .iter()
        .flat_map(|&p| cfg.lr_factors.iter().map(move |&k| (p, k)))
        .map(|(p, k)| (p, cfg.centre(p) * k))
        .collect();
    let runs: Option<Vec<Result<RunRecord, CellError>>> = ctx.sweep("padam", &cfg, cfg.seed, jobs.len(), |i, _| {
        let (p, lr) = jobs[i];
        train_run(
            &ds,
            &cfg.model,
            &cfg.padam(p, lr),
            &train,
            &mut rng::stream(cfg.seed, 1),
        )
        .map(|(r, _)| r)
        .map_err(CellError::from)
    })?;
    let Some(runs) = runs else {
        return Ok(()); // a shard: report after --merge
    };
    let runs: Vec<RunRecord> = runs.into_iter().collect::<Result<_, _>>()?;
    let row = |i: usize| {
        let (p, lr) = jobs[i];
        let r = &runs[i];
        let l = r.last().expect("a run records its last step");
        Row {
            p,
            lr,
            status: format!("{:?}", r.status).to_lowercase(),
            train_loss: l.train.loss,
            train_error: l.train.error,
            test_error: l.test.error,
            signal_inner: l.summary.map_or(f64::NAN, |s| s.signal_inner),
            noise_inner: l.summary.map_or(f64::NAN, |s| s.noise_inner),
        }
    };
    let all: Vec<Row> = (0..jobs.len()).map(row).collect();
    let chosen: Vec<Row> = (0..cfg.ps.len())
        .map(|pi| {
            let group: Vec<&RunRecord> = runs[pi * nf..(pi + 1) * nf].iter().collect();
            row(pi * nf + best_by_train_loss(&group).unwrap_or(0))
        })
        .collect();
    let to_csv = |rows: &[Row]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| {
                vec![
                    f(r.p),
                    f(r.lr),
                    r.status.clone(),
                    f(r.train_loss),
                    f(r.train_error),
                    f(r.test_error),
                    f(r.signal_inner),
                    f(r.noise_inner),
                ]
            })
            .collect()
    };
    let header = [
        "p",
        "lr",
        "status",
        "train_loss",
        "train_error",
        "test_error",
        "signal_inner",
        "noise_inner",
    ];
    ctx.write_csv("all_runs.csv", &header, &to_csv(&all))?;
    ctx.write_csv("chosen.csv", &header, &to_csv(&chosen))?;
    for r in &chosen {
        eprintln!(
            "padam-sweep: p = {:>6}: lr {:.2e}, train loss {:.2e}, test error {:.3}, signal {:.3}, noise {:.3}",
            r.p, r.lr, r.train_loss, r.test_error, r.signal_inner, r.noise_inner
        );
    }
    ctx.write_record("record.json", &cfg, cfg.seed, &chosen)?;

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
        .filter(|r| r.status == "diverged")
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
    render(&ctx.figure("padam_sweep"), (1, 2), (640, 440), &panels)?;
    Ok(())
}
