//! `benign-oscillation` — Lu, Wu, Yang, Zou, *Benign Oscillation of
//! Stochastic Gradient Descent with Large Learning Rates* (ICLR 2024, arXiv
//! 2310.17074).
//!
//! The claim (the paper's abstract): on data whose points all carry a weak
//! feature (small norm), a fraction of them also a strong feature (large
//! norm), and noise, SGD with a large learning rate — whose training loss
//! oscillates — learns the weak feature, while SGD with a small learning
//! rate learns the strong feature only; on test points that carry the weak
//! feature alone, the first predicts well and the second does not.
//!
//! The simulation: the weak/strong-feature model
//! ([`gengap::data::WeakStrongParams`],
//! `docs/theory.md#weakstrong-feature-data`), the two-layer CNN with `ReLU^q`
//! filters and a fixed second layer, the square loss `(1 − y·f)²/2` (minimal
//! at margin 1, where a large step overshoots), and SGD with `B` samples per
//! step at each learning rate of the sweep, run exactly in the reduced
//! engine ([`gengap::train::SpanTrainer`]; the strong-feature patch lies in
//! the signal span). A cell is one seed: one data set and `W⁽⁰⁾`, trained at
//! every learning rate from the same start and with the same batch order.
//! Each record holds the training loss, the weak-only test error and the
//! feature coefficients `max_{j,r} j·⟨w_{j,r}, v⟩/‖v‖` (weak) and
//! `max_{j,r} j·⟨w_{j,r}, u⟩/‖u‖` (strong).

use gengap::data::{DataConfig, WeakStrongParams};
use gengap::lab::config::check_positive;
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, Loss, OutputScale, class_sign, nonfinite};
use gengap::optim::OptimConfig;
use gengap::train::{MiniBatch, Observer, Record, Schedule, SpanTrainer, Status, TrainConfig, TrainError, Watch};
use serde::{Deserialize, Serialize};

mod report;
pub use report::{LrResult, Results};

/// The `benign-oscillation` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The data model (`model = "weak_strong"` is implied).
    pub data: WeakStrongParams,
    /// Filters per sign `m`.
    pub m: usize,
    /// The activation's power `q` of `ReLU^q` (the paper: 2).
    pub q: f64,
    /// Initialisation `N(0, σ₀²)`.
    pub sigma0: f64,
    /// Samples per SGD step.
    pub batch: usize,
    /// The learning rates, increasing.
    pub lrs: Vec<f64>,
    /// SGD steps per run.
    pub steps: u64,
    /// Records per decade of steps (log-spaced).
    pub records_per_decade: u32,
    /// Seeds (data sets) per learning rate.
    pub seeds: usize,
    /// A run "learned the weak feature" when its weak-only test error is at
    /// most this.
    pub success_error: f64,
}

impl Config {
    /// The network: `m` `ReLU^q` filters per sign, `s_m = 1/m`, the square loss.
    pub fn model(&self) -> CnnConfig {
        CnnConfig {
            m: self.m,
            activation: Activation::ReluPow { q: self.q },
            scale: OutputScale::InvM,
            sigma0: self.sigma0,
            loss: Loss::Square,
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        let data = DataConfig::WeakStrong(self.data.clone());
        if let Err(gengap::data::DataError::InvalidParam { field, value, reason }) = data.validate() {
            return bad(&format!("data.{field}"), value, reason);
        }
        for (key, value, max) in [
            ("data.d", self.data.d, 1_000_000),
            ("data.n", self.data.n, 100_000),
            ("data.n_test", self.data.n_test, 1_000_000),
        ] {
            if value > max {
                return bad(key, value.to_string(), "d <= 1e6, n <= 1e5 and n_test <= 1e6");
            }
        }
        if !(1..=1_000).contains(&self.m) {
            return bad("m", self.m.to_string(), "must be in 1..=1000");
        }
        if !(self.q.is_finite() && self.q >= 1.0) {
            return bad("q", self.q.to_string(), "must be finite and >= 1");
        }
        check_positive("sigma0", self.sigma0)?;
        if !(1..=self.data.n).contains(&self.batch) {
            return bad("batch", self.batch.to_string(), "must be in 1..=data.n");
        }
        if self.lrs.is_empty()
            || self.lrs.iter().any(|l| !(l.is_finite() && *l > 0.0))
            || self.lrs.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "lrs",
                format!("{:?}", self.lrs),
                "must be an increasing list of finite values > 0",
            );
        }
        if !(1..=100_000_000).contains(&self.steps) {
            return bad("steps", self.steps.to_string(), "must be in 1..=1e8");
        }
        if !(1..=1_000).contains(&self.records_per_decade) {
            return bad(
                "records_per_decade",
                self.records_per_decade.to_string(),
                "must be in 1..=1000",
            );
        }
        if !(1..=1_000).contains(&self.seeds) {
            return bad("seeds", self.seeds.to_string(), "must be in 1..=1000");
        }
        if !(self.success_error > 0.0 && self.success_error < 0.5) {
            return bad("success_error", self.success_error.to_string(), "must be in (0, 0.5)");
        }
        Ok(())
    }

    /// One data set (with its test points) and reduced run per parallel worker.
    fn memory(&self) -> Option<MemoryEstimate> {
        let data = DataConfig::WeakStrong(self.data.clone());
        Some(memory::run(&data, &self.model(), false).times(memory::parallel_cells()))
    }
}

/// One data set.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// Seed index.
    pub seed: usize,
}

/// One recorded step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Step.
    pub step: u64,
    /// Training loss (mean square loss over the whole training set).
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Training error.
    #[serde(with = "nonfinite")]
    pub train_error: f64,
    /// Error on the weak-only test points.
    #[serde(with = "nonfinite")]
    pub test_error: f64,
    /// `max_{j,r} j·⟨w_{j,r}, v⟩/‖v‖`.
    #[serde(with = "nonfinite")]
    pub weak: f64,
    /// `max_{j,r} j·⟨w_{j,r}, u⟩/‖u‖`.
    #[serde(with = "nonfinite")]
    pub strong: f64,
}

/// One learning rate's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LrRun {
    /// The learning rate.
    pub lr: f64,
    /// `max_steps`, or `diverged` when a loss, output or weight stopped being finite.
    pub outcome: Status,
    /// The recorded steps (the last one at the final weights).
    pub curve: Vec<CurvePoint>,
}

/// What a cell produces: one run per learning rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Fraction of the training points with the strong feature.
    pub strong_fraction: f64,
    /// One run per learning rate, in config order.
    pub runs: Vec<LrRun>,
}

/// Records the curve at each observed step.
struct Curve {
    m: usize,
    points: Vec<CurvePoint>,
}

impl Observer<SpanTrainer> for Curve {
    fn observe(&mut self, t: &SpanTrainer, rec: &Record) -> Result<(), TrainError> {
        let (weak, strong) = if t.point().is_finite() {
            // Inner products with the basis rows: row 0 is v, row 1 is u.
            let dec = t.decomposition();
            let norms = &t.problem().basis().norm_sq;
            let best = |k: usize| {
                (0..2 * self.m)
                    .map(|c| class_sign(c, self.m) * dec.inner[[c, k]] / norms[k].sqrt())
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            (best(0), best(1))
        } else {
            (f64::NAN, f64::NAN)
        };
        self.points.push(CurvePoint {
            step: rec.step,
            train_loss: rec.train.loss,
            train_error: rec.train.error,
            test_error: rec.test.error,
            weak,
            strong,
        });
        Ok(())
    }
}

/// The study.
#[derive(Debug, Clone, Copy)]
pub struct BenignOscillation;

impl Study for BenignOscillation {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Row;
    type Summary = Results;

    fn name(&self) -> &str {
        "benign-oscillation"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        (0..cfg.seeds).map(|seed| Cell { seed }).collect()
    }

    /// One data set, `W⁽⁰⁾` and batch-order seed; every learning rate from them.
    fn run(&self, cfg: &Config, _: &(), _: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Row, StudyError> {
        let ds = DataConfig::WeakStrong(cfg.data.clone()).generate(r)?;
        let model = cfg.model();
        let w0 = model.init::<f64, _>(cfg.data.d, r)?;
        let batch_seed: u64 = gengap::data::rng::uniform_index(r, usize::MAX) as u64;
        let strong_fraction = ds.train.strong_feature.iter().filter(|&&b| b).count() as f64 / ds.train.n() as f64;
        let mut runs = Vec::with_capacity(cfg.lrs.len());
        for &lr in &cfg.lrs {
            let train = TrainConfig {
                record: Schedule::End,
                batch: Some(MiniBatch {
                    size: cfg.batch,
                    drop_last: false,
                }),
                ..TrainConfig::steps(cfg.steps)
            };
            let mut order = gengap::data::rng::seeded(batch_seed);
            let mut t = SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::gd(lr), train)?.with_stream(&mut order);
            let mut curve = Curve {
                m: cfg.m,
                points: vec![],
            };
            let run = t.run(&mut [Watch::new(&mut curve, Schedule::LogSpaced(cfg.records_per_decade))])?;
            let finite = curve
                .points
                .iter()
                .all(|p| p.train_loss.is_finite() && p.weak.is_finite() && p.strong.is_finite());
            let outcome = if finite { run.status } else { Status::Diverged };
            runs.push(LrRun {
                lr,
                outcome,
                curve: curve.points,
            });
        }
        Ok(Row { strong_fraction, runs })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
