//! `label-noise-gd` — Huang, Han, Song, Chen, Wu, Zou, Suzuki, *How Does
//! Label Noise Gradient Descent Improve Generalization in the Low SNR
//! Regime?* (arXiv 2510.17526, NeurIPS 2025).
//!
//! Their setting is the \[C22\] model (`docs/theory.md#c22-signal-plus-orthogonal-noise`):
//! a signal patch `y·μ`, a noise patch `ξ ~ N(0, σ_p²(I − μμᵀ/‖μ‖²))`, the
//! two-layer CNN with `σ(z) = max(z, 0)²` and `s_m = 1/m`, the logistic loss.
//! Label-noise GD (their Algorithm 1) takes at every step the gradient of
//! `(1/n) Σ_i ℓ(ε_i⁽ᵗ⁾ y_i f(W, x_i))`, with fresh independent flips
//! `P(ε_i⁽ᵗ⁾ = −1) = p` (`[train] algorithm = { kind = "label_noise_gd" }`,
//! `docs/theory.md#span-preserving-algorithms`). The claim: at low SNR,
//! where GD memorizes the noise and its test error stays Θ(1), label-noise
//! GD keeps the noise memorization bounded, grows the signal and reaches a
//! small test error.
//!
//! Every cell `(‖μ‖, p, seed)` draws its data set, `W⁽⁰⁾`, its flips and its
//! Monte-Carlo test points from its own stream, runs `steps` steps of GD
//! (`p = 0`) or label-noise GD exactly in the reduced engine
//! (`gengap_train::SpanTrainer`), and records, log-spaced over the steps,
//! the exact population test error against the clean label, the training
//! loss and error on the (clean) training labels, and the signal learning
//! `max γ` and noise memorization `max ρ̄` of the exact decomposition.

use gengap::analysis::Summary;
use gengap::data::{C22Params, DataConfig, NoiseKind, rng};
use gengap::lab::config::check_positive;
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, nonfinite};
use gengap::ndarray::Array2;
use gengap::optim::OptimConfig;
use gengap::train::{AlgorithmConfig, Observer, Record, Schedule, SpanTrainer, Status, TrainConfig, TrainError, Watch};
use serde::{Deserialize, Serialize};

mod report;
pub use report::Results;

/// The `label-noise-gd` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Patch dimension `d`.
    pub d: usize,
    /// Training samples `n`.
    pub n: usize,
    /// Noise scale `σ_p`.
    pub sigma_p: f64,
    /// Filters per class `m`.
    pub m: usize,
    /// The activation's exponent `q` (`σ = ReLU^q`; the paper: 2).
    pub q: f64,
    /// Initialisation `σ₀`.
    pub sigma0: f64,
    /// GD step `η`.
    pub lr: f64,
    /// Steps per run (a fixed budget: label-noise GD never drives the loss to 0).
    pub steps: u64,
    /// Records per decade of steps (log-spaced, plus the first and last step).
    pub records_per_decade: u32,
    /// Signal strengths `‖μ‖` (`SNR = ‖μ‖/(σ_p √d)`), increasing.
    pub mu: Vec<f64>,
    /// The `‖μ‖` (one of `mu`) whose runs the curves figure draws.
    pub curve_mu: f64,
    /// Flip probabilities `p ∈ [0, 1/2)`; `0` is plain GD and must be present.
    pub p: Vec<f64>,
    /// Seeds per `(‖μ‖, p)`.
    pub seeds: usize,
    /// Monte-Carlo draws of each population test error.
    pub test_samples: usize,
}

impl Config {
    fn data(&self, mu: f64) -> C22Params {
        C22Params {
            d: self.d,
            n: self.n,
            n_test: 1,
            mu_norm: mu,
            sigma_p: self.sigma_p,
            noise: NoiseKind::Orthogonal,
            ..Default::default()
        }
    }

    fn model(&self) -> CnnConfig {
        CnnConfig {
            m: self.m,
            activation: Activation::ReluPow { q: self.q },
            sigma0: self.sigma0,
            ..Default::default()
        }
    }

    /// `SNR = ‖μ‖/(σ_p √d)`.
    pub fn snr(&self, mu: f64) -> f64 {
        mu / (self.sigma_p * (self.d as f64).sqrt())
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        check_positive("sigma_p", self.sigma_p)?;
        check_positive("sigma0", self.sigma0)?;
        check_positive("lr", self.lr)?;
        if !(self.q.is_finite() && self.q >= 1.0) {
            return bad("q", self.q.to_string(), "must be finite and >= 1");
        }
        if !(2..=10_000_000).contains(&self.d) {
            return bad("d", self.d.to_string(), "must be in 2..=1e7");
        }
        if !(1..=2_000).contains(&self.n) {
            return bad("n", self.n.to_string(), "must be in 1..=2000");
        }
        if !(1..=1_000).contains(&self.m) {
            return bad("m", self.m.to_string(), "must be in 1..=1000");
        }
        if !(1..=10_000_000).contains(&self.steps) {
            return bad("steps", self.steps.to_string(), "must be in 1..=1e7");
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
        if !(1..=1_000_000).contains(&self.test_samples) {
            return bad("test_samples", self.test_samples.to_string(), "must be in 1..=1e6");
        }
        if self.mu.is_empty()
            || self.mu.iter().any(|m| !(m.is_finite() && *m > 0.0))
            || self.mu.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "mu",
                format!("{:?}", self.mu),
                "must be a non-empty increasing list of values > 0",
            );
        }
        if !self.mu.contains(&self.curve_mu) {
            return bad(
                "curve_mu",
                self.curve_mu.to_string(),
                "must be one of the values of `mu`",
            );
        }
        if self.p.is_empty()
            || self.p.iter().any(|p| !(0.0..0.5).contains(p))
            || self.p.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "p",
                format!("{:?}", self.p),
                "must be an increasing list of values in [0, 0.5)",
            );
        }
        if self.p[0] != 0.0 {
            return bad(
                "p",
                format!("{:?}", self.p),
                "must start with 0 (plain GD, the reference)",
            );
        }
        let cells = self.mu.len() * self.p.len() * self.seeds;
        if cells > 100_000 {
            return bad("seeds", self.seeds.to_string(), "the grid has more than 1e5 cells");
        }
        Ok(())
    }

    /// One data set (`n_test = 1`) and reduced run per parallel worker.
    fn memory(&self) -> Option<MemoryEstimate> {
        let data = DataConfig::C22(self.data(1.0));
        let mut e = memory::run(&data, &self.model(), false);
        e.key = e.key.trim_start_matches("data.").into();
        Some(e.times(memory::parallel_cells()))
    }
}

/// One run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// `‖μ‖`.
    pub mu: f64,
    /// The flip probability (`0`: GD).
    pub p: f64,
    /// Seed index.
    pub seed: usize,
}

/// One recorded step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Step `t`.
    pub step: u64,
    /// Training loss on the clean training labels.
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Training error on the clean training labels.
    #[serde(with = "nonfinite")]
    pub train_error: f64,
    /// Population test error against the clean label (NaN once diverged).
    #[serde(with = "nonfinite")]
    pub test_error: f64,
    /// Signal learning `max_{j,r} γ_{j,r}`.
    #[serde(with = "nonfinite")]
    pub max_gamma: f64,
    /// Noise memorization `max_{j,r,i} ρ̄_{j,r,i}`.
    #[serde(with = "nonfinite")]
    pub max_rho_bar: f64,
}

/// The result of one run: its outcome and its curve (the last point is the
/// final step).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// `‖μ‖`.
    pub mu: f64,
    /// The flip probability.
    pub p: f64,
    /// Seed index.
    pub seed: usize,
    /// `max_steps` for a healthy run, `diverged` otherwise.
    pub outcome: Status,
    /// Steps taken.
    pub steps: u64,
    /// The recorded steps.
    pub curve: Vec<CurvePoint>,
}

impl Point {
    /// The final step's record.
    pub fn last(&self) -> &CurvePoint {
        self.curve.last().expect("every run records its last step")
    }
}

/// Records the population test error and the decomposition at each observed step.
struct Curve<'a> {
    normals: &'a Array2<f64>,
    sigma_p: f64,
    points: Vec<CurvePoint>,
}

impl Observer<SpanTrainer> for Curve<'_> {
    fn observe(&mut self, t: &SpanTrainer, rec: &Record) -> Result<(), TrainError> {
        let (test_error, s) = if t.point().is_finite() {
            let p = t.problem();
            let e = p.population_error(t.point(), NoiseKind::Orthogonal, self.sigma_p, self.normals.view())?;
            (e, t.decomposition().summary(p.basis()))
        } else {
            (f64::NAN, Summary::nan())
        };
        // The record's training metrics are on the data's labels, which are
        // clean here: the data has no flips, only the algorithm flips.
        self.points.push(CurvePoint {
            step: rec.step,
            train_loss: rec.train.loss,
            train_error: rec.train.error,
            test_error,
            max_gamma: s.max_gamma,
            max_rho_bar: s.max_rho_bar,
        });
        Ok(())
    }
}

/// The label-noise GD study.
#[derive(Debug, Clone, Copy)]
pub struct LabelNoiseGd;

impl Study for LabelNoiseGd {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Point;
    type Summary = Results;

    fn name(&self) -> &str {
        "label-noise-gd"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        let mut cells = vec![];
        for &mu in &cfg.mu {
            for &p in &cfg.p {
                cells.extend((0..cfg.seeds).map(|seed| Cell { mu, p, seed }));
            }
        }
        cells
    }

    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Point, StudyError> {
        let ds = DataConfig::C22(cfg.data(c.mu)).generate(r)?;
        let model = cfg.model();
        let w0 = model.init::<f64, _>(cfg.d, r)?;
        let normals = Array2::from_shape_simple_fn((cfg.test_samples, 2 * cfg.m), || rng::standard_normal(r));
        let algorithm = if c.p == 0.0 {
            AlgorithmConfig::Plain
        } else {
            AlgorithmConfig::LabelNoiseGd { p: c.p }
        };
        let train = TrainConfig {
            record: Schedule::End,
            algorithm,
            ..TrainConfig::steps(cfg.steps)
        };
        let mut t = SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::gd(cfg.lr), train)?.with_stream(r);
        let mut curve = Curve {
            normals: &normals,
            sigma_p: cfg.sigma_p,
            points: vec![],
        };
        let schedule = Schedule::LogSpaced(cfg.records_per_decade);
        let run = t.run(&mut [Watch::new(&mut curve, schedule)])?;
        Ok(Point {
            mu: c.mu,
            p: c.p,
            seed: c.seed,
            outcome: run.status,
            steps: run.steps,
            curve: curve.points,
        })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
