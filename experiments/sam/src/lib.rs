//! `sam` — Chen, Zhang, Kou, Chen, Hsieh, Gu, *Why Does Sharpness-Aware
//! Minimization Generalize Better Than SGD?* (NeurIPS 2023, arXiv 2310.07269).
//!
//! The setting is the \[C22\] signal-noise patch model with labels flipped
//! with probability `p` (as in Kou et al., ICML 2023, whose ReLU analysis the
//! paper builds on), a two-layer CNN with ReLU filters and `s_m = 1/m`, the
//! logistic loss. SAM takes the gradient at the ascent point
//! `W + ρ·∇L(W)/‖∇L(W)‖_F` (`[train] algorithm = { kind = "sam" }`,
//! `docs/theory.md#span-preserving-algorithms`); `ρ = 0` is GD. The claim:
//! where GD's test error stays a constant above `p` (harmful overfitting),
//! SAM stops the noise memorization early and reaches near-Bayes error, so
//! its benign region is strictly larger.
//!
//! Every cell `(ρ, n, ‖μ‖, seed)` draws its data set, `W⁽⁰⁾` and Monte-Carlo
//! test points from its own stream and runs full-batch GD or SAM exactly in
//! the reduced engine to a training-loss target (or the step budget). The
//! test error is the exact population error against the observed (flipped)
//! label, `p + (1 − 2p)·err_clean`; the boundary of each row `n` is the `‖μ‖`
//! where the mean test error falls to `p + excess`.

use gengap::analysis::{Summary, with_label_flips};
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

/// The `sam` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Patch dimension `d`.
    pub d: usize,
    /// Noise scale `σ_p`.
    pub sigma_p: f64,
    /// Label-flip probability `p ∈ [0, 1/2)` of the training data.
    pub p_flip: f64,
    /// Filters per class `m`.
    pub m: usize,
    /// Initialisation `σ₀`.
    pub sigma0: f64,
    /// Step `η` (GD and SAM).
    pub lr: f64,
    /// Stop once the training loss is ≤ this.
    pub target_loss: f64,
    /// Step budget per run.
    pub max_steps: u64,
    /// Training-set sizes `n`, increasing.
    pub n: Vec<usize>,
    /// `‖μ‖` grid: `mu_count` values log-spaced in `[mu_min, mu_max]`.
    pub mu_min: f64,
    /// Upper end of the `‖μ‖` grid.
    pub mu_max: f64,
    /// Number of `‖μ‖` values (≥ 2).
    pub mu_count: usize,
    /// SAM radii `ρ`, increasing; `0` is GD and must come first.
    pub rho: Vec<f64>,
    /// Seeds per cell.
    pub seeds: usize,
    /// Monte-Carlo draws of each population test error.
    pub test_samples: usize,
    /// The boundary is where the mean test error falls to `p_flip + excess`.
    pub excess: f64,
    /// Records per decade of steps of the curves (log-spaced).
    pub records_per_decade: u32,
    /// The `n` (one of `n`) of the curves figure.
    pub curve_n: usize,
    /// The index into the `‖μ‖` grid of the curves figure.
    pub curve_mu_index: usize,
}

impl Config {
    /// The `‖μ‖` grid.
    pub fn mu_values(&self) -> Vec<f64> {
        let (a, b) = (self.mu_min.ln(), self.mu_max.ln());
        (0..self.mu_count)
            .map(|i| (a + (b - a) * i as f64 / (self.mu_count - 1) as f64).exp())
            .collect()
    }

    fn data(&self, n: usize, mu: f64) -> C22Params {
        C22Params {
            d: self.d,
            n,
            n_test: 1,
            mu_norm: mu,
            sigma_p: self.sigma_p,
            noise: NoiseKind::Orthogonal,
            p_flip: self.p_flip,
            ..Default::default()
        }
    }

    fn model(&self) -> CnnConfig {
        CnnConfig {
            m: self.m,
            activation: Activation::Relu,
            sigma0: self.sigma0,
            ..Default::default()
        }
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        check_positive("sigma_p", self.sigma_p)?;
        check_positive("sigma0", self.sigma0)?;
        check_positive("lr", self.lr)?;
        check_positive("target_loss", self.target_loss)?;
        check_positive("mu_min", self.mu_min)?;
        check_positive("excess", self.excess)?;
        if !(self.mu_max.is_finite() && self.mu_max > self.mu_min) {
            return bad("mu_max", self.mu_max.to_string(), "must be finite and > mu_min");
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return bad("p_flip", self.p_flip.to_string(), "must be in [0, 0.5)");
        }
        if !(2..=10_000_000).contains(&self.d) {
            return bad("d", self.d.to_string(), "must be in 2..=1e7");
        }
        if !(1..=1_000).contains(&self.m) {
            return bad("m", self.m.to_string(), "must be in 1..=1000");
        }
        if !(1..=10_000_000).contains(&self.max_steps) {
            return bad("max_steps", self.max_steps.to_string(), "must be in 1..=1e7");
        }
        if !(2..=1_000).contains(&self.mu_count) {
            return bad("mu_count", self.mu_count.to_string(), "must be in 2..=1000");
        }
        if !(1..=1_000).contains(&self.seeds) {
            return bad("seeds", self.seeds.to_string(), "must be in 1..=1000");
        }
        if !(1..=1_000_000).contains(&self.test_samples) {
            return bad("test_samples", self.test_samples.to_string(), "must be in 1..=1e6");
        }
        if !(1..=1_000).contains(&self.records_per_decade) {
            return bad(
                "records_per_decade",
                self.records_per_decade.to_string(),
                "must be in 1..=1000",
            );
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
        if self.rho.is_empty()
            || self.rho[0] != 0.0
            || self.rho.iter().any(|r| !(r.is_finite() && *r >= 0.0))
            || self.rho.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "rho",
                format!("{:?}", self.rho),
                "must be an increasing list of finite values >= 0 starting with 0 (GD)",
            );
        }
        if !self.n.contains(&self.curve_n) {
            return bad("curve_n", self.curve_n.to_string(), "must be one of the values of `n`");
        }
        if self.curve_mu_index >= self.mu_count {
            return bad("curve_mu_index", self.curve_mu_index.to_string(), "must be < mu_count");
        }
        if self.rho.len() * self.n.len() * self.mu_count * self.seeds > 100_000 {
            return bad("seeds", self.seeds.to_string(), "the grid has more than 1e5 cells");
        }
        Ok(())
    }

    /// One data set (`n_test = 1`) and reduced run per parallel worker, at the largest `n`.
    fn memory(&self) -> Option<MemoryEstimate> {
        let n = self.n.iter().copied().max().unwrap_or(1);
        let data = DataConfig::C22(self.data(n, 1.0));
        let mut e = memory::run(&data, &self.model(), false);
        e.key = e.key.trim_start_matches("data.").into();
        Some(e.times(memory::parallel_cells()))
    }
}

/// One run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// SAM radius (`0`: GD).
    pub rho: f64,
    /// Training samples.
    pub n: usize,
    /// `‖μ‖`.
    pub mu: f64,
    /// Seed index.
    pub seed: usize,
    /// Whether its curve is recorded (`n = curve_n`, the curve `‖μ‖`).
    pub curve: bool,
}

/// One recorded step of a curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Step `t`.
    pub step: u64,
    /// Training loss (observed labels).
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Population test error against observed labels.
    #[serde(with = "nonfinite")]
    pub test_error: f64,
    /// Signal learning `max γ`.
    #[serde(with = "nonfinite")]
    pub max_gamma: f64,
    /// Noise memorization of the own class, `max ρ̄`.
    #[serde(with = "nonfinite")]
    pub max_rho_bar: f64,
    /// Noise memorization of the other class, `min ρ` (≤ 0).
    #[serde(with = "nonfinite")]
    pub min_rho: f64,
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// SAM radius.
    pub rho: f64,
    /// Training samples.
    pub n: usize,
    /// `‖μ‖`.
    pub mu: f64,
    /// Seed index.
    pub seed: usize,
    /// How the run ended.
    pub outcome: Status,
    /// Steps taken.
    pub steps: u64,
    /// The final step's record.
    pub last: CurvePoint,
    /// The recorded steps (curve cells only; else empty).
    pub curve: Vec<CurvePoint>,
}

/// Records the test error and the decomposition at each observed step.
struct Observe<'a> {
    normals: &'a Array2<f64>,
    sigma_p: f64,
    p_flip: f64,
    points: Vec<CurvePoint>,
}

impl Observer<SpanTrainer> for Observe<'_> {
    fn observe(&mut self, t: &SpanTrainer, rec: &Record) -> Result<(), TrainError> {
        let (test_error, s) = if t.point().is_finite() {
            let p = t.problem();
            let clean = p.population_error(t.point(), NoiseKind::Orthogonal, self.sigma_p, self.normals.view())?;
            (
                with_label_flips(clean, self.p_flip),
                t.decomposition().summary(p.basis()),
            )
        } else {
            (f64::NAN, Summary::nan())
        };
        self.points.push(CurvePoint {
            step: rec.step,
            train_loss: rec.train.loss,
            test_error,
            max_gamma: s.max_gamma,
            max_rho_bar: s.max_rho_bar,
            min_rho: s.min_rho,
        });
        Ok(())
    }
}

/// The SAM study.
#[derive(Debug, Clone, Copy)]
pub struct Sam;

impl Study for Sam {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Point;
    type Summary = Results;

    fn name(&self) -> &str {
        "sam"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        let mus = cfg.mu_values();
        let mut cells = vec![];
        for &rho in &cfg.rho {
            for &n in &cfg.n {
                for (mi, &mu) in mus.iter().enumerate() {
                    let curve = n == cfg.curve_n && mi == cfg.curve_mu_index;
                    cells.extend((0..cfg.seeds).map(|seed| Cell {
                        rho,
                        n,
                        mu,
                        seed,
                        curve,
                    }));
                }
            }
        }
        cells
    }

    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Point, StudyError> {
        let ds = DataConfig::C22(cfg.data(c.n, c.mu)).generate(r)?;
        let model = cfg.model();
        let w0 = model.init::<f64, _>(cfg.d, r)?;
        let normals = Array2::from_shape_simple_fn((cfg.test_samples, 2 * cfg.m), || rng::standard_normal(r));
        let algorithm = if c.rho == 0.0 {
            AlgorithmConfig::Plain
        } else {
            AlgorithmConfig::Sam {
                rho: c.rho,
                normalized: true,
            }
        };
        let train = TrainConfig {
            target_loss: Some(cfg.target_loss),
            record: Schedule::End,
            algorithm,
            ..TrainConfig::steps(cfg.max_steps)
        };
        let mut t = SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::gd(cfg.lr), train)?.with_stream(r);
        let mut obs = Observe {
            normals: &normals,
            sigma_p: cfg.sigma_p,
            p_flip: cfg.p_flip,
            points: vec![],
        };
        let schedule = if c.curve {
            Schedule::LogSpaced(cfg.records_per_decade)
        } else {
            Schedule::End
        };
        let run = t.run(&mut [Watch::new(&mut obs, schedule)])?;
        let last = *obs.points.last().expect("the last step is observed");
        Ok(Point {
            rho: c.rho,
            n: c.n,
            mu: c.mu,
            seed: c.seed,
            outcome: run.status,
            steps: run.steps,
            last,
            curve: if c.curve { obs.points } else { vec![] },
        })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
