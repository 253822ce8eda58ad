//! `xor` — Meng, Zou, Cao (ICML 2024, \[M24\]), `docs/theory.md#claims`, claim 7.
//!
//! XOR-type data (`docs/theory.md#xor-data`): the signal patch is `±a` for
//! clean label `+1` and `±b` for `−1`, `a = u + v`, `b = u − v`, `u ⟂ v`; the
//! noise patch is Gaussian and orthogonal to `span{u, v}`; labels are flipped
//! with probability `p`. No linear classifier beats chance. A two-layer ReLU
//! CNN trained by GD to interpolation (every training point, flipped ones
//! included, fitted) is near the Bayes error `p` when the signal is strong
//! enough for the sample size, and a constant above it otherwise.
//!
//! Three measurements:
//! 1. the linear baseline (the same CNN with the identity activation) against
//!    ReLU on the same data sets;
//! 2. the phase diagram over `(n, ‖a‖)` at fixed `d` for the first
//!    `cos∠(a, b)`, with the boundary `‖a‖*(n)` where the mean excess error
//!    (test error − p) crosses the threshold and its fitted slope;
//! 3. how the boundary moves as the features correlate (`cos∠(a, b)` from 0
//!    to 0.9).
//!
//! Every run is the exact reduced-space GD solver (identical to full-space
//! GD, tested in `gengap-analysis` for XOR data), and its test error the
//! exact population error over the four signal patches against the observed
//! labels. Cell `k` draws its data set, `W⁽⁰⁾` and Monte-Carlo normals from
//! its own stream.

use gengap::analysis::{ReducedGd, xor_patterns};
use gengap::data::{DataConfig, NoiseKind, XorParams, rng};
use gengap::lab::config::{MAX_CELLS, check_grid, check_positive};
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, OutputScale, nonfinite};
use gengap::ndarray::Array2;
use gengap::train::{Schedule, Status, Stop, drive};
use serde::{Deserialize, Serialize};

mod report;
pub use report::{Boundary, Results};

/// The `xor` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Patch dimension `d`.
    pub d: usize,
    /// Noise scale `σ_p`.
    pub sigma_p: f64,
    /// Label-flip probability `p` (the Bayes error), in `[0, 1/2)`.
    pub p_flip: f64,
    /// Filters per sign `m`.
    pub m: usize,
    /// Initialisation `W⁽⁰⁾ ~ N(0, σ₀²)`.
    pub sigma0: f64,
    /// GD step `η`.
    pub lr: f64,
    /// Stop when the training loss is `≤ target_loss` (interpolation).
    pub target_loss: f64,
    /// Step budget per run.
    pub max_steps: u64,
    /// Training-set sizes.
    pub n: Vec<usize>,
    /// `‖a‖` grid: `a_count` values log-spaced in `[a_min, a_max]`.
    pub a_min: f64,
    /// Largest `‖a‖`.
    pub a_max: f64,
    /// Number of `‖a‖` values.
    pub a_count: usize,
    /// Feature correlations `cos∠(a, b)`; the first is the phase diagram's
    /// and the linear baseline's.
    pub cos_angles: Vec<f64>,
    /// Seeds per cell.
    pub seeds: usize,
    /// Monte-Carlo draws per run for the population test error.
    pub test_samples: usize,
    /// Excess-error threshold (test error − p) that defines the boundary.
    pub threshold: f64,
}

impl Config {}

impl Config {
    /// The `‖a‖` values.
    pub fn a_values(&self) -> Vec<f64> {
        let (a, b) = (self.a_min.ln(), self.a_max.ln());
        (0..self.a_count)
            .map(|i| (a + (b - a) * i as f64 / (self.a_count - 1) as f64).exp())
            .collect()
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        check_positive("sigma_p", self.sigma_p)?;
        check_positive("sigma0", self.sigma0)?;
        check_positive("lr", self.lr)?;
        check_positive("target_loss", self.target_loss)?;
        check_positive("a_min", self.a_min)?;
        if !(self.a_max.is_finite() && self.a_max > self.a_min) {
            return bad("a_max", self.a_max.to_string(), "must be finite and > a_min");
        }
        if !(0.0..0.5).contains(&self.p_flip) {
            return bad("p_flip", self.p_flip.to_string(), "must be in [0, 0.5)");
        }
        if self.d < 3 {
            return bad("d", self.d.to_string(), "must be >= 3");
        }
        if self.d > 10_000_000 {
            return bad("d", self.d.to_string(), "must be <= 1e7");
        }
        for (k, v) in [
            ("m", self.m),
            ("seeds", self.seeds),
            ("test_samples", self.test_samples),
        ] {
            if v == 0 {
                return bad(k, "0".into(), "must be >= 1");
            }
        }
        if self.a_count < 2 {
            return bad("a_count", self.a_count.to_string(), "must be >= 2");
        }
        if self.test_samples > 10_000_000 {
            return bad("test_samples", self.test_samples.to_string(), "must be <= 1e7");
        }
        check_grid(
            &[
                ("cos_angles", self.cos_angles.len() + 1),
                ("n", self.n.len()),
                ("a_count", self.a_count),
                ("seeds", self.seeds),
            ],
            MAX_CELLS,
        )?;
        gengap::lab::config::check_steps("max_steps", self.max_steps)?;
        if self.n.is_empty() || self.n.iter().any(|&n| n == 0 || n > 100_000) {
            return bad(
                "n",
                format!("{:?}", self.n),
                "must be a non-empty list of values in 1..=100000",
            );
        }
        if self.cos_angles.is_empty() || self.cos_angles.iter().any(|c| !(0.0..1.0).contains(c)) {
            return bad(
                "cos_angles",
                format!("{:?}", self.cos_angles),
                "must be a non-empty list of values in [0, 1)",
            );
        }
        if !(self.threshold > 0.0 && self.threshold < 0.5) {
            return bad("threshold", self.threshold.to_string(), "must be in (0, 0.5)");
        }
        Ok(())
    }

    /// One data set (`n_test = 1`) and solver per parallel worker, at the largest `n`.
    fn memory(&self) -> Option<MemoryEstimate> {
        let data = DataConfig::Xor(XorParams {
            d: self.d,
            n: self.n.iter().copied().max().unwrap_or(1),
            n_test: 1,
            ..Default::default()
        });
        let model = CnnConfig {
            m: self.m,
            ..Default::default()
        };
        let mut e = memory::run(&data, &model, false);
        e.key = e.key.trim_start_matches("data.").into();
        Some(e.times(memory::parallel_cells()))
    }
}

/// The activation of a run: the ReLU CNN, or its linear baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Net {
    /// `σ = ReLU`.
    Relu,
    /// `σ(z) = z`: the network is linear in `x`.
    Linear,
}

/// One run: ReLU over every `(cos, n, ‖a‖, seed)`, the linear baseline at
/// the first `cos` (index order: ReLU cells, then the baseline's).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The activation.
    pub net: Net,
    /// `cos∠(a, b)`.
    pub cos_angle: f64,
    /// Training samples.
    pub n: usize,
    /// `‖a‖`.
    pub a_norm: f64,
    /// Seed index.
    pub seed: usize,
}

/// The result of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// The activation.
    pub net: Net,
    /// `cos∠(a, b)`.
    pub cos_angle: f64,
    /// Training samples.
    pub n: usize,
    /// `‖a‖`.
    pub a_norm: f64,
    /// Seed index.
    pub seed: usize,
    /// `converged` when the loss target was met.
    pub outcome: Status,
    /// GD steps taken.
    pub steps: u64,
    /// Final training loss.
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Final fraction of training points not fitted.
    #[serde(with = "nonfinite")]
    pub train_error: f64,
    /// Population test error against observed labels (NaN if diverged).
    #[serde(with = "nonfinite")]
    pub test_error: f64,
}

/// The XOR study.
#[derive(Debug, Clone, Copy)]
pub struct Xor;

impl Study for Xor {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Point;
    type Summary = Results;

    fn name(&self) -> &str {
        "xor"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        let mut cells = vec![];
        let mut grid = |net: Net, cos_angle: f64| {
            for &n in &cfg.n {
                for a_norm in cfg.a_values() {
                    cells.extend((0..cfg.seeds).map(|seed| Cell {
                        net,
                        cos_angle,
                        n,
                        a_norm,
                        seed,
                    }));
                }
            }
        };
        for &c in &cfg.cos_angles {
            grid(Net::Relu, c);
        }
        grid(Net::Linear, cfg.cos_angles[0]);
        cells
    }

    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Point, StudyError> {
        let data = XorParams {
            d: cfg.d,
            n: c.n,
            n_test: 1,
            a_norm: c.a_norm,
            cos_angle: c.cos_angle,
            sigma_p: cfg.sigma_p,
            p_flip: cfg.p_flip,
        };
        let ds = data.generate(r)?;
        let model = CnnConfig {
            m: cfg.m,
            activation: match c.net {
                Net::Relu => Activation::Relu,
                Net::Linear => Activation::Linear,
            },
            scale: OutputScale::InvM,
            sigma0: cfg.sigma0,
            ..Default::default()
        };
        let w0 = model.init::<f64, _>(cfg.d, r)?;
        let normals = Array2::from_shape_simple_fn((cfg.test_samples, 2 * cfg.m), || rng::standard_normal(r));
        let mut red = ReducedGd::new(&ds, &model, w0.view(), cfg.lr, 0.0)?;
        let stop = Stop::to_loss(cfg.max_steps, cfg.target_loss);
        let run = drive(&mut red, stop, Schedule::End, &mut [])?;
        let train = run.final_record()?.train;
        // A diverged run counts as every prediction wrong (`Status::scored`).
        let test_error = if run.status == Status::Diverged {
            run.status.scored(f64::NAN)
        } else {
            let clean =
                red.population_error_for(&xor_patterns(), NoiseKind::Orthogonal, cfg.sigma_p, normals.view())?;
            run.status.scored(ReducedGd::with_label_flips(clean, cfg.p_flip))
        };
        Ok(Point {
            net: c.net,
            cos_angle: c.cos_angle,
            n: c.n,
            a_norm: c.a_norm,
            seed: c.seed,
            outcome: run.status,
            steps: run.steps,
            train_loss: train.loss,
            train_error: train.error,
            test_error,
        })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
