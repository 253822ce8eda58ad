//! `implicit-bias` — which minimizer does each optimizer pick?
//! (`docs/experiments.md` §16, `docs/theory.md#implicit-bias-and-max-margin-separators`)
//!
//! On linearly separable data the logistic loss has no minimizer: the
//! weights grow without bound and only their *direction* converges. Which
//! direction is the optimizer's implicit bias. Two answers are theorems:
//!
//! * GD converges in direction to the `ℓ2` max-margin separator, the angle
//!   closing like `1/log t` (Soudry, Hoffer, Nacson, Gunasekar, Srebro,
//!   JMLR 2018, Theorems 3 and 5);
//! * Adam with a learning rate decaying as `η_t = Θ(t^{−a})`, `a ∈ (0, 1]`,
//!   and the stability constant ε neglected, converges to the `ℓ∞`
//!   max-margin separator (Zhang, Zou, Cao, NeurIPS 2024, from their
//!   abstract: polynomial-time convergence of the normalized `ℓ∞` margin for
//!   `a < 1`); sign descent, steepest descent in `ℓ∞`, to the same
//!   (Gunasekar, Lee, Soudry, Srebro, ICML 2018).
//!
//! The study trains the linear model `⟨w, x⟩` on flattened inputs
//! ([`gengap::train::LinearTrainer`]) from `w = 0` with every optimizer of a
//! list, full batch, for a fixed number of steps, on each data set of a list
//! (any data model of `gengap-data`, flattened; checked separable by the
//! `ℓ∞` program), and records on a log-spaced schedule the cosine of `w`
//! with the `ℓ2`, `ℓ∞` and `ℓ1` max-margin directions (solved by Clarabel,
//! [`gengap::analysis::margin`]), the normalized margins `γ_p(w)/γ_p*` and
//! the test error beside those of the separators. Each data set and seed is
//! drawn once in the setup, so every optimizer sees the same points.

use gengap::analysis::margin::{Kkt, MarginNorm, MaxMargin, cosine, max_margin, normalize, smallest};
use gengap::data::DataConfig;
use gengap::lab::config::check_name;
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::model::{LinearData, Loss, nonfinite};
use gengap::optim::OptimConfig;
use gengap::train::{LinearTrainer, Observer, Record, Schedule, Status, Stop, TrainError, Watch, drive};
use serde::{Deserialize, Serialize};

mod report;
pub use report::{Limit, Results};

/// One data set of the study.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSet {
    /// Name in tables and the figure's file name (`[a-z0-9_-]`).
    pub label: String,
    /// Steps of every run on it.
    pub steps: u64,
    /// The data model (`model = "c22"`, …), flattened to `D = P·d`.
    pub config: DataConfig,
}

/// One optimizer of the study.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimizer {
    /// Name in tables and legends.
    pub label: String,
    /// `η_t = η₀·(t + 1)^{−a}` with this `a ∈ [0, 1]` (0: constant). Default 0.
    #[serde(default)]
    pub lr_decay: f64,
    /// The optimizer (`name = "gd"`, …); `lr` is `η₀`.
    pub config: OptimConfig,
}

/// The `implicit-bias` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data sets drawn per entry of `data`.
    pub seeds: usize,
    /// Records per decade of steps (log-spaced).
    pub records_per_decade: u32,
    /// The data sets.
    pub data: Vec<DataSet>,
    /// The optimizers.
    pub optimizer: Vec<Optimizer>,
    /// A run "tends to" the norm whose final `γ_p(w)/γ_p*` is largest, if it
    /// is at least this (else "none"). Default 0.95.
    #[serde(default = "default_tends")]
    pub tends_to_at: f64,
}

fn default_tends() -> f64 {
    0.95
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        if !(1..=100).contains(&self.seeds) {
            return bad("seeds", self.seeds.to_string(), "must be in 1..=100");
        }
        if !(1..=1000).contains(&self.records_per_decade) {
            return bad(
                "records_per_decade",
                self.records_per_decade.to_string(),
                "must be in 1..=1000",
            );
        }
        if !(self.tends_to_at > 0.0 && self.tends_to_at <= 1.0) {
            return bad("tends_to_at", self.tends_to_at.to_string(), "must be in (0, 1]");
        }
        if self.data.is_empty() {
            return bad("data", "[]".into(), "needs at least one data set");
        }
        if self.optimizer.is_empty() {
            return bad("optimizer", "[]".into(), "needs at least one optimizer");
        }
        for (i, d) in self.data.iter().enumerate() {
            if check_name(&d.label).is_err() {
                return bad(
                    &format!("data[{i}].label"),
                    format!("{:?}", d.label),
                    "use letters, digits, '_' and '-' (it names the figure)",
                );
            }
            if self.data[..i].iter().any(|o| o.label == d.label) {
                return bad("data.label", d.label.clone(), "must be unique");
            }
            if !(1..=100_000_000).contains(&d.steps) {
                return bad(&format!("data[{i}].steps"), d.steps.to_string(), "must be in 1..=1e8");
            }
            d.config
                .validate()
                .map_err(|e| LabError::from(e).at(format!("data[{i}].config")))?;
            let (n, dim) = (d.config.n(), d.config.patches() * d.config.d());
            if n.saturating_mul(dim) > 50_000_000 {
                return bad(
                    &format!("data[{i}].config"),
                    format!("n·P·d = {n}·{dim}"),
                    "the flattened training set must have at most 5e7 entries",
                );
            }
            let n_test = d.config.n_test();
            if n_test.saturating_mul(dim) > 50_000_000 {
                return bad(
                    &format!("data[{i}].config.n_test"),
                    n_test.to_string(),
                    "the flattened test set (n_test·P·d) must have at most 5e7 entries",
                );
            }
        }
        for (i, o) in self.optimizer.iter().enumerate() {
            if o.label.is_empty() || self.optimizer[..i].iter().any(|p| p.label == o.label) {
                return bad(
                    "optimizer.label",
                    format!("{:?}", o.label),
                    "must be non-empty and unique",
                );
            }
            if !(0.0..=1.0).contains(&o.lr_decay) {
                return bad(
                    &format!("optimizer[{i}].lr_decay"),
                    o.lr_decay.to_string(),
                    "must be in [0, 1]",
                );
            }
            o.config
                .resolve()
                .map_err(|e| LabError::from(e).at(format!("optimizer[{i}].config")))?;
        }
        Ok(())
    }
}

/// A max-margin separator of one data set and how it does.
#[derive(Debug, Clone)]
pub struct Separator {
    /// The solution.
    pub solution: MaxMargin,
    /// `ŵ/‖ŵ‖₂`.
    pub direction: Vec<f64>,
    /// Its optimality conditions, recomputed from the data.
    pub kkt: Kkt,
    /// Its test error.
    pub test_error: f64,
}

/// One drawn data set with its three separators.
#[derive(Debug)]
pub struct Drawn {
    /// Index into `data`.
    pub data: usize,
    /// Seed index.
    pub seed: usize,
    /// Training points.
    pub train: LinearData<f64>,
    /// Test points.
    pub test: LinearData<f64>,
    /// `ℓ2`, `ℓ∞`, `ℓ1` (the order of [`MarginNorm::ALL`]).
    pub separators: Vec<Separator>,
}

/// Every drawn data set, data-major.
#[derive(Debug)]
pub struct Shared {
    /// `drawn[data·seeds + seed]`.
    pub drawn: Vec<Drawn>,
}

/// One run: an optimizer on one drawn data set.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// Index into `data`.
    pub data: usize,
    /// Seed index.
    pub seed: usize,
    /// Index into `optimizer`.
    pub optimizer: usize,
}

/// The iterate at one recorded step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Step `t`.
    pub step: u64,
    /// Training loss.
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Test error.
    #[serde(with = "nonfinite")]
    pub test_error: f64,
    /// `‖w‖₂`.
    #[serde(with = "nonfinite")]
    pub w_norm: f64,
    /// `cos(w, ŵ₂)`.
    #[serde(with = "nonfinite")]
    pub cos_l2: f64,
    /// `cos(w, ŵ_∞)`.
    #[serde(with = "nonfinite")]
    pub cos_linf: f64,
    /// `cos(w, ŵ₁)`.
    #[serde(with = "nonfinite")]
    pub cos_l1: f64,
    /// `γ₂(w)/γ₂*` (1 at the `ℓ2` max-margin separator).
    #[serde(with = "nonfinite")]
    pub margin_l2: f64,
    /// `γ_∞(w)/γ_∞*`.
    #[serde(with = "nonfinite")]
    pub margin_linf: f64,
    /// `γ₁(w)/γ₁*`.
    #[serde(with = "nonfinite")]
    pub margin_l1: f64,
}

impl CurvePoint {
    /// `cos(w, ŵ_p)` for `ℓ2`, `ℓ∞`, `ℓ1` (the order of [`MarginNorm::ALL`]).
    pub fn cos(&self) -> [f64; 3] {
        [self.cos_l2, self.cos_linf, self.cos_l1]
    }

    /// `γ_p(w)/γ_p*` in the same order.
    pub fn margins(&self) -> [f64; 3] {
        [self.margin_l2, self.margin_linf, self.margin_l1]
    }
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// How it ended.
    pub outcome: Status,
    /// Steps taken.
    pub steps: u64,
    /// The recorded steps (the last at the final weights).
    pub curve: Vec<CurvePoint>,
}

impl Run {
    /// The last record.
    pub fn last(&self) -> Option<&CurvePoint> {
        self.curve.last()
    }
}

struct Observe<'a> {
    drawn: &'a Drawn,
    points: Vec<CurvePoint>,
}

impl Observer<LinearTrainer<f64>> for Observe<'_> {
    fn observe(&mut self, t: &LinearTrainer<f64>, rec: &Record) -> Result<(), TrainError> {
        let w = t.weights();
        // The trainer's margins at these weights (computed by its evaluate).
        let smallest = smallest(t.margins().iter().copied());
        let mut cos = [f64::NAN; 3];
        let mut margin = [f64::NAN; 3];
        for (k, s) in self.drawn.separators.iter().enumerate() {
            cos[k] = cosine(w, &s.direction);
            margin[k] = normalize(smallest, w, s.solution.norm) / s.solution.margin;
        }
        self.points.push(CurvePoint {
            step: rec.step,
            train_loss: rec.train.loss,
            test_error: rec.test.error,
            w_norm: MarginNorm::L2.norm(w),
            cos_l2: cos[0],
            cos_linf: cos[1],
            cos_l1: cos[2],
            margin_l2: margin[0],
            margin_linf: margin[1],
            margin_l1: margin[2],
        });
        Ok(())
    }
}

/// The implicit-bias study.
#[derive(Debug, Clone, Copy)]
pub struct ImplicitBias;

/// Draw every data set (data-major, then seed) and solve its three
/// max-margin programs.
impl Setup<Config> for Shared {
    fn setup(cfg: &Config, r: &mut SetupRng) -> Result<Self, StudyError> {
        let mut drawn = vec![];
        for (di, d) in cfg.data.iter().enumerate() {
            for seed in 0..cfg.seeds {
                let ds = d.config.generate(r)?;
                let train = LinearData::<f64>::from_split(&ds.train)?;
                let test = LinearData::<f64>::from_split(&ds.test)?;
                let (x, y) = (train.points(), train.labels());
                let mut separators = vec![];
                for norm in MarginNorm::ALL {
                    let solution = max_margin(x, y, norm).map_err(|e| StudyError::Invalid {
                        key: format!("data[{di}] ({})", d.label),
                        value: format!("seed {seed}"),
                        reason: e.to_string(),
                    })?;
                    let kkt = solution.kkt(x, y);
                    let test_error = test
                        .metrics(&Loss::Logistic, &solution.w, &mut vec![0.0; test.n()])
                        .error;
                    separators.push(Separator {
                        direction: solution.direction(),
                        solution,
                        kkt,
                        test_error,
                    });
                }
                drawn.push(Drawn {
                    data: di,
                    seed,
                    train,
                    test,
                    separators,
                });
            }
        }
        Ok(Shared { drawn })
    }
}

impl Study for ImplicitBias {
    type Config = Config;
    type Shared = Shared;
    type Cell = Cell;
    type Row = Run;
    type Summary = Results;

    fn name(&self) -> &str {
        "implicit-bias"
    }

    fn cells(&self, cfg: &Config, _: &Shared) -> Vec<Cell> {
        let mut cells = vec![];
        for data in 0..cfg.data.len() {
            for seed in 0..cfg.seeds {
                cells.extend((0..cfg.optimizer.len()).map(|optimizer| Cell { data, seed, optimizer }));
            }
        }
        cells
    }

    /// Train from `w = 0` (no draws).
    fn run(&self, cfg: &Config, sh: &Shared, c: &Cell, _: &mut CellRng, _: &mut Arrays) -> Result<Run, StudyError> {
        let drawn = &sh.drawn[c.data * cfg.seeds + c.seed];
        let o = &cfg.optimizer[c.optimizer];
        let opt = Box::new(o.config.build::<f64>()?);
        let mut t = LinearTrainer::new(
            drawn.train.clone(),
            Some(drawn.test.clone()),
            vec![0.0; drawn.train.dim()],
            opt,
            Loss::Logistic,
        )?
        .with_lr_decay(o.lr_decay)?;
        let mut obs = Observe { drawn, points: vec![] };
        let run = drive(
            &mut t,
            Stop::steps(cfg.data[c.data].steps),
            Schedule::End,
            &mut [Watch::new(&mut obs, Schedule::LogSpaced(cfg.records_per_decade))],
        )?;
        Ok(Run {
            outcome: run.status,
            steps: run.steps,
            curve: obs.points,
        })
    }

    fn report(&self, cfg: &Config, sh: &Shared, rows: &[(Cell, Run)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, sh, rows, ctx)
    }
}
