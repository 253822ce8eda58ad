//! `moderate-d` — Karhadkar, George, Murray, Montúfar, Needell, *Benign
//! overfitting in leaky ReLU networks with moderate input dimension*
//! (NeurIPS 2024, arXiv 2403.06903).
//!
//! The setting (`docs/theory.md#moderate-d-single-vector-data`): one input
//! vector per sample, `x = √γ·ỹ·μ + √(1−γ)·ξ`, `μ` a unit vector,
//! `ξ ~ N(0, I/d)` projected orthogonally to `μ`, training labels flipped with
//! probability `p`, test labels clean; a two-layer network of `m` leaky-ReLU
//! neurons (slope `s`) without bias, initialised `N(0, (1/(m√d))²)`, the
//! second layer fixed to alternating `±1` (in gengap's terms: `m/2` filters
//! per sign, `s_m = 1`); the hinge loss summed over the samples; full-batch
//! GD with step `1/(m·n)` until the training error is 0. The claim: the
//! overfitting is benign (test error near 0 against clean labels, while
//! every flipped training label is fitted) already at `d = Ω(n)`, not only
//! at `d ≫ n²`.
//!
//! Every cell `(n, d/n, seed)` draws its data set (with `n_test` clean test
//! points) and `W⁽⁰⁾` from its own stream and runs GD exactly in the reduced
//! engine (`gengap_train::SpanTrainer`: one patch, two basis rows per
//! sample). GD on the summed loss with step `1/(m·n)` is GD on the mean loss
//! with step `1/m`, which is what runs.

use gengap::data::{DataConfig, ModerateDParams};
use gengap::lab::config::check_positive;
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, Loss, OutputScale, nonfinite};
use gengap::optim::OptimConfig;
use gengap::train::{Schedule, SpanTrainer, Status, TrainConfig};
use serde::{Deserialize, Serialize};

mod report;
pub use report::Results;

/// The `moderate-d` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hidden neurons `m` (even: `m/2` per output sign). The paper: 64.
    pub neurons: usize,
    /// Leaky-ReLU slope `s ∈ [0, 1]`. The paper: 0.1.
    pub slope: f64,
    /// Signal fraction `γ`. The paper: 0.1.
    pub gamma: f64,
    /// Training-label flip probability. The paper: 0.1.
    pub p_flip: f64,
    /// Training-set sizes `n`, increasing.
    pub n: Vec<usize>,
    /// Ratios `d/n`, increasing (`d = ratio·n`).
    pub d_over_n: Vec<usize>,
    /// Seeds per cell.
    pub seeds: usize,
    /// Clean test points per run.
    pub n_test: usize,
    /// The step is `lr_scale/(m·n)` on the summed hinge loss (the paper: 1).
    pub lr_scale: f64,
    /// Step budget (a run stops at training error 0).
    pub max_steps: u64,
}

impl Config {
    fn data(&self, n: usize, d: usize) -> ModerateDParams {
        ModerateDParams {
            d,
            n,
            n_test: self.n_test,
            gamma: self.gamma,
            p_flip: self.p_flip,
        }
    }

    /// The network at input dimension `d`: `m/2` leaky-ReLU filters per sign,
    /// `s_m = 1`, `σ₀ = 1/(m√d)`, the hinge loss.
    fn model(&self, d: usize) -> CnnConfig {
        CnnConfig {
            m: self.neurons / 2,
            activation: Activation::LeakyRelu { slope: self.slope },
            scale: OutputScale::One,
            sigma0: 1.0 / (self.neurons as f64 * (d as f64).sqrt()),
            loss: Loss::Hinge,
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        check_positive("lr_scale", self.lr_scale)?;
        if !(2..=10_000).contains(&self.neurons) || !self.neurons.is_multiple_of(2) {
            return bad("neurons", self.neurons.to_string(), "must be even and in 2..=10000");
        }
        if !(0.0..=1.0).contains(&self.slope) {
            return bad("slope", self.slope.to_string(), "must be in [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return bad("gamma", self.gamma.to_string(), "must be in [0, 1]");
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return bad("p_flip", self.p_flip.to_string(), "must be in [0, 0.5)");
        }
        if self.n.is_empty()
            || self.n.iter().any(|&n| !(1..=2_000).contains(&n))
            || self.n.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "n",
                format!("{:?}", self.n),
                "must be an increasing list of values in 1..=2000",
            );
        }
        if self.d_over_n.is_empty()
            || self.d_over_n.iter().any(|&r| !(1..=1_000).contains(&r))
            || self.d_over_n.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "d_over_n",
                format!("{:?}", self.d_over_n),
                "must be an increasing list of values in 1..=1000",
            );
        }
        let d_max = self.n.last().copied().unwrap_or(1) * self.d_over_n.last().copied().unwrap_or(1);
        if !(2..=10_000_000).contains(&d_max) {
            return bad(
                "d_over_n",
                format!("{:?}", self.d_over_n),
                "the largest d = n·(d/n) must be in 2..=1e7",
            );
        }
        if !(1..=1_000).contains(&self.seeds) {
            return bad("seeds", self.seeds.to_string(), "must be in 1..=1000");
        }
        if !(1..=1_000_000).contains(&self.n_test) {
            return bad("n_test", self.n_test.to_string(), "must be in 1..=1e6");
        }
        if !(1..=10_000_000).contains(&self.max_steps) {
            return bad("max_steps", self.max_steps.to_string(), "must be in 1..=1e7");
        }
        if self.n.len() * self.d_over_n.len() * self.seeds > 100_000 {
            return bad("seeds", self.seeds.to_string(), "the grid has more than 1e5 cells");
        }
        Ok(())
    }

    /// One data set (with its test points) and reduced run per parallel
    /// worker, at the largest `n` and `d`.
    fn memory(&self) -> Option<MemoryEstimate> {
        let n = self.n.last().copied().unwrap_or(1);
        let d = n * self.d_over_n.last().copied().unwrap_or(1);
        let data = DataConfig::ModerateD(self.data(n, d));
        let mut e = memory::run(&data, &self.model(d), false);
        e.key = e.key.trim_start_matches("data.").into();
        Some(e.times(memory::parallel_cells()))
    }
}

/// One run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// Training samples.
    pub n: usize,
    /// `d/n`.
    pub d_over_n: usize,
    /// Seed index.
    pub seed: usize,
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// Training samples.
    pub n: usize,
    /// `d/n`.
    pub d_over_n: usize,
    /// Input dimension.
    pub d: usize,
    /// Seed index.
    pub seed: usize,
    /// `converged`: training error 0 reached.
    pub outcome: Status,
    /// Steps taken.
    pub steps: u64,
    /// Final training hinge loss (mean).
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Final training error against the (flipped) training labels.
    #[serde(with = "nonfinite")]
    pub train_error: f64,
    /// Test error against clean labels on the run's `n_test` points.
    #[serde(with = "nonfinite")]
    pub test_error: f64,
}

/// The moderate-d study.
#[derive(Debug, Clone, Copy)]
pub struct ModerateD;

impl Study for ModerateD {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Point;
    type Summary = Results;

    fn name(&self) -> &str {
        "moderate-d"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        let mut cells = vec![];
        for &n in &cfg.n {
            for &d_over_n in &cfg.d_over_n {
                cells.extend((0..cfg.seeds).map(|seed| Cell { n, d_over_n, seed }));
            }
        }
        cells
    }

    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Point, StudyError> {
        let d = c.n * c.d_over_n;
        let ds = DataConfig::ModerateD(cfg.data(c.n, d)).generate(r)?;
        let model = cfg.model(d);
        let w0 = model.init::<f64, _>(d, r)?;
        // The summed hinge loss with step lr_scale/(m·n) is the mean with lr_scale/m.
        let opt = OptimConfig::gd(cfg.lr_scale / cfg.neurons as f64);
        let train = TrainConfig {
            target_error: Some(0.0),
            record: Schedule::End,
            ..TrainConfig::steps(cfg.max_steps)
        };
        let mut t = SpanTrainer::new(&ds, &model, w0.view(), &opt, train)?;
        let run = t.run(&mut [])?;
        let last = run.final_record()?;
        let test_error = run.status.scored(last.test.error);
        Ok(Point {
            n: c.n,
            d_over_n: c.d_over_n,
            d,
            seed: c.seed,
            outcome: run.status,
            steps: run.steps,
            train_loss: last.train.loss,
            train_error: last.train.error,
            test_error,
        })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
