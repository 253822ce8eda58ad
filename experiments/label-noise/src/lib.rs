//! `label-noise` — Kou, Chen, Chen, Gu (ICML 2023, \[K23\]),
//! `docs/theory.md#claims`, claim 6.
//!
//! A two-layer ReLU CNN trained by full-batch GD on the \[C22\] model with
//! observed labels flipped at rate `p`: the best possible test error is `p`.
//! Benign overfitting: the test error of the interpolating network tends to
//! `p`; harmful: it stays a constant above `p`. The theory's boundary is
//! `n·‖μ‖⁴ = C·σ_p⁴·d`.
//!
//! The grid is Kou's: `‖μ‖ ∈ {0, 0.1, …, 9.9}` × `d ∈ {100, 110, …, 1090}`,
//! `n = 20`, `p = 0.1`, `σ_p = 1`, `m = 10`, `η = 0.1`, 100 GD steps, 10
//! seeds per cell, for each noise kind (orthogonal to μ, as in the theorem,
//! and isotropic, as in Kou's script). Optionally each run continues from
//! step 100 until every training point, flipped ones included, is fitted
//! (training loss ≤ a target): the horizon the theorem is about.
//!
//! **How it is fast and exact.** A cell is one `(noise kind, d, seed)`: it
//! draws one training set at `‖μ‖ = 1` as Gram products (labels, flips,
//! patch order, the noise vectors' Gram matrix, `W⁽⁰⁾`'s inner products) and
//! one block of standard normals for the population error; every `‖μ‖` of
//! the row is then the same draw with `μ` rescaled
//! ([`gengap::data::BlockedC22::with_signal_scale`], exact), run by the exact
//! reduced-space GD solver (identical to full-space GD, tested in
//! `gengap-analysis`). The test error is the exact population error against
//! the observed labels, `p + (1 − 2p)·P(sign f(x) ≠ ỹ)`, for either noise
//! kind ([`gengap::analysis::ReducedGd::population_error`]); the same
//! normals serve the whole row (common random numbers).

use gengap::analysis::ReducedGd;
use gengap::data::{C22Params, Direction, NoiseKind, rng};
use gengap::lab::config::{MAX_CELLS, check_grid, check_positive};
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, Metrics, OutputScale, nonfinite};
use gengap::ndarray::Array2;
use gengap::train::{Schedule, Status, Stop, drive_from};
use serde::{Deserialize, Serialize};

mod report;
pub use report::{Boundary, Collapse, Results, Which};

/// The `label-noise` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Label-flip probability `p` (the Bayes error), in `[0, 1/2)`.
    pub p_flip: f64,
    /// Noise scale `σ_p`.
    pub sigma_p: f64,
    /// Training samples `n`.
    pub n: usize,
    /// Filters per sign `m`.
    pub m: usize,
    /// Initialisation `W⁽⁰⁾ ~ N(0, σ₀²)`.
    pub sigma0: f64,
    /// Activation (default ReLU; leaky ReLU works the same way).
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// GD step `η`.
    pub lr: f64,
    /// Kou's horizon: the number of full-batch GD steps.
    pub steps: u64,
    /// Optional second horizon: continue every run until it interpolates.
    #[serde(default)]
    pub interpolate: Option<Interpolate>,
    /// Noise kinds to run, one grid each.
    pub noise: Vec<NoiseKind>,
    /// The patch dimensions (rows of the grid).
    pub d: DGrid,
    /// The signal strengths (columns of the grid).
    pub mu: MuGrid,
    /// Seeds (training sets) per grid cell.
    pub seeds: usize,
    /// Monte-Carlo draws per training set for the population test error.
    pub test_samples: usize,
    /// The boundary `‖μ‖*(d)` is where the mean excess test error
    /// (test error − p) first drops to this value as `‖μ‖` grows.
    pub threshold: f64,
}

/// The second horizon: train on until the training loss is `≤ target_loss`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interpolate {
    /// Training-loss target (small enough that every point is fitted).
    pub target_loss: f64,
    /// Step budget, counted from step 0.
    pub max_steps: u64,
}

/// `d = first + step·i`, `i = 0..count`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DGrid {
    /// First value.
    pub first: usize,
    /// Increment.
    pub step: usize,
    /// Number of values.
    pub count: usize,
}

/// `‖μ‖ = first + step·i`, `i = 0..count`, rounded to 12 decimals (so
/// `0.1·3` is written `0.3`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuGrid {
    /// First value (≥ 0).
    pub first: f64,
    /// Increment (> 0).
    pub step: f64,
    /// Number of values.
    pub count: usize,
}

impl Config {}

fn default_activation() -> Activation {
    Activation::Relu
}

impl DGrid {
    /// The values.
    pub fn values(&self) -> Vec<usize> {
        (0..self.count).map(|i| self.first + self.step * i).collect()
    }
}

impl MuGrid {
    /// The values.
    pub fn values(&self) -> Vec<f64> {
        (0..self.count)
            .map(|i| ((self.first + self.step * i as f64) * 1e12).round() / 1e12)
            .collect()
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(k, v, why));
        if !(0.0..0.5).contains(&self.p_flip) {
            return bad("p_flip", self.p_flip.to_string(), "must be in [0, 0.5)");
        }
        check_positive("sigma_p", self.sigma_p)?;
        check_positive("sigma0", self.sigma0)?;
        check_positive("lr", self.lr)?;
        check_positive("mu.step", self.mu.step)?;
        for (k, v) in [
            ("n", self.n),
            ("m", self.m),
            ("seeds", self.seeds),
            ("test_samples", self.test_samples),
            ("d.count", self.d.count),
            ("d.step", self.d.step),
        ] {
            if v == 0 {
                return bad(k, "0".into(), "must be >= 1");
            }
        }
        if self.mu.count < 2 {
            return bad("mu.count", self.mu.count.to_string(), "must be >= 2");
        }
        // Each cell runs the whole ‖μ‖ row and holds its results.
        if self.mu.count > 1_000_000 {
            return bad("mu.count", self.mu.count.to_string(), "must be <= 1e6");
        }
        if self.test_samples > 10_000_000 {
            return bad("test_samples", self.test_samples.to_string(), "must be <= 1e7");
        }
        check_grid(
            &[
                ("noise", self.noise.len()),
                ("d.count", self.d.count),
                ("seeds", self.seeds),
            ],
            MAX_CELLS,
        )?;
        if !(self.mu.first.is_finite() && self.mu.first >= 0.0) {
            return bad("mu.first", self.mu.first.to_string(), "must be finite and >= 0");
        }
        if self.d.first < 2 {
            return bad("d.first", self.d.first.to_string(), "must be >= 2");
        }
        // d is held as Gram products only, but one column block of the data
        // is drawn at a time: keep d within what a cell can hold.
        if self.d.first.saturating_add(self.d.step.saturating_mul(self.d.count)) > 10_000_000 {
            // Name the value to change: the first d if it alone is too
            // large, else the larger of step and count.
            let (k, v) = if self.d.first > 10_000_000 {
                ("d.first", self.d.first)
            } else if self.d.step >= self.d.count {
                ("d.step", self.d.step)
            } else {
                ("d.count", self.d.count)
            };
            return bad(k, v.to_string(), "the largest d must be <= 1e7");
        }
        gengap::lab::config::check_steps("steps", self.steps)?;
        if self.noise.is_empty() {
            return bad("noise", "[]".into(), "name at least one noise kind");
        }
        if !(self.threshold > 0.0 && self.threshold < 0.5) {
            return bad("threshold", self.threshold.to_string(), "must be in (0, 0.5)");
        }
        if let Some(i) = &self.interpolate {
            check_positive("interpolate.target_loss", i.target_loss)?;
            gengap::lab::config::check_steps("interpolate.max_steps", i.max_steps)?;
            if i.max_steps < self.steps {
                return bad(
                    "interpolate.max_steps",
                    i.max_steps.to_string(),
                    "must be >= steps (it counts from step 0)",
                );
            }
        }
        self.activation
            .validate()
            .map_err(|e| LabError::invalid("activation", format!("{:?}", self.activation), e.to_string()))?;
        Ok(())
    }

    /// Per parallel worker: one column block of the training set and `W⁽⁰⁾`
    /// (`(n + 1 + 2m) × min(d, block)`), the Gram products, the test normals
    /// and the solver's `O((n + m)²)` state.
    fn memory(&self) -> Option<MemoryEstimate> {
        let d_max = (self.d.first + self.d.step * self.d.count.saturating_sub(1)) as u128;
        let block = d_max.min(gengap::data::GRAM_BLOCK as u128);
        let rows = (self.n + 1 + 2 * self.m) as u128;
        let bytes = 8 * (2 * rows * block + 8 * rows * rows + (self.test_samples as u128) * 4 * self.m as u128);
        // The largest of the sizes is the one to change (`m = 1e12` is
        // blamed on `m`, not on `test_samples = 400`).
        let (key, value) = [
            ("n", self.n as u128),
            ("m", self.m as u128),
            ("test_samples", self.test_samples as u128),
        ]
        .into_iter()
        .fold(("n", 0u128), |best, kv| if kv.1 > best.1 { kv } else { best });
        let (key, value) = if key == "n" && (self.n as u128) <= block {
            // n alone matters through the Gram block only above it.
            ("test_samples", self.test_samples.to_string())
        } else {
            (key, value.to_string())
        };
        Some(
            MemoryEstimate {
                key: key.into(),
                value,
                bytes,
            }
            .times(memory::parallel_cells()),
        )
    }
}

impl Config {
    fn model(&self) -> CnnConfig {
        CnnConfig {
            m: self.m,
            activation: self.activation.clone(),
            scale: OutputScale::InvM,
            sigma0: self.sigma0,
            ..Default::default()
        }
    }

    /// The data model of a training set at `‖μ‖ = 1` (rescaled per column).
    fn data(&self, noise: NoiseKind, d: usize) -> C22Params {
        C22Params {
            d,
            n: self.n,
            n_test: 1,
            mu_norm: 1.0,
            sigma_p: self.sigma_p,
            noise,
            direction: Direction::E1,
            p_flip: self.p_flip,
        }
    }
}

/// One training set: cell index order is noise kind, then `d`, then seed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The noise kind.
    pub noise: NoiseKind,
    /// The patch dimension.
    pub d: usize,
    /// The seed index (`0..seeds`).
    pub seed: usize,
}

/// One run at one horizon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Horizon {
    /// How the run ended (`max_steps` at Kou's horizon; `converged` when the
    /// interpolation target was met).
    pub outcome: Status,
    /// Steps taken from step 0.
    pub steps: u64,
    /// Training loss against the observed labels.
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Fraction of training points not fitted (sign of f ≠ observed label).
    #[serde(with = "nonfinite")]
    pub train_error: f64,
    /// Population test error against observed labels (≥ p; NaN if diverged).
    #[serde(with = "nonfinite")]
    pub test_error: f64,
}

/// One `‖μ‖` of a training set: both horizons.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MuRun {
    /// `‖μ‖`.
    pub mu: f64,
    /// After `steps` GD steps (Kou's horizon).
    pub kou: Horizon,
    /// At interpolation, when configured.
    pub interp: Option<Horizon>,
}

/// What a cell produces: every `‖μ‖` of its training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Fraction of the training labels that were flipped.
    pub flipped: f64,
    /// One entry per `‖μ‖`, in grid order.
    pub runs: Vec<MuRun>,
}

/// The label-noise study.
#[derive(Debug, Clone, Copy)]
pub struct LabelNoise;

/// Population test error against the observed labels, or NaN for a diverged run.
fn horizon(
    red: &ReducedGd,
    cfg: &Config,
    noise: NoiseKind,
    normals: &Array2<f64>,
    run: (Status, u64, Metrics),
) -> Result<Horizon, StudyError> {
    let (outcome, steps, train) = run;
    // A diverged run counts as every prediction wrong (`Status::scored`).
    let test_error = if outcome == Status::Diverged {
        outcome.scored(f64::NAN)
    } else {
        let clean = red.population_error(noise, cfg.sigma_p, normals.view())?;
        outcome.scored(ReducedGd::with_label_flips(clean, cfg.p_flip))
    };
    Ok(Horizon {
        outcome,
        steps,
        train_loss: train.loss,
        train_error: train.error,
        test_error,
    })
}

impl Study for LabelNoise {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Row;
    type Summary = Results;

    fn name(&self) -> &str {
        "label-noise"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        let mut cells = vec![];
        for &noise in &cfg.noise {
            for d in cfg.d.values() {
                cells.extend((0..cfg.seeds).map(|seed| Cell { noise, d, seed }));
            }
        }
        cells
    }

    /// Draw the training set (at `‖μ‖ = 1`), `W⁽⁰⁾` and the test normals,
    /// then run every `‖μ‖` of the row from the same draw.
    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Row, StudyError> {
        let model = cfg.model();
        let unit = cfg.data(c.noise, c.d).blocked_products(cfg.sigma0, 2 * cfg.m, r)?;
        let normals = Array2::from_shape_simple_fn((cfg.test_samples, 2 * cfg.m), || rng::standard_normal(r));
        let flipped = unit.y.iter().zip(&unit.y_clean).filter(|(a, b)| a != b).count() as f64 / cfg.n as f64;
        let mut runs = Vec::with_capacity(cfg.mu.count);
        for mu in cfg.mu.values() {
            let mut red = ReducedGd::from_blocked(&unit.with_signal_scale(mu), &model, cfg.lr, 0.0)?;
            let stop = Stop::steps(cfg.steps);
            let run = drive_from(&mut red, 0, stop, Schedule::End, &mut [])?;
            let kou = horizon(
                &red,
                cfg,
                c.noise,
                &normals,
                (run.status, run.steps, run.final_record()?.train),
            )?;
            let interp = match cfg.interpolate {
                Some(i) if kou.outcome != Status::Diverged => {
                    let stop = Stop::to_loss(i.max_steps, i.target_loss);
                    let more = drive_from(&mut red, run.steps, stop, Schedule::End, &mut [])?;
                    Some(horizon(
                        &red,
                        cfg,
                        c.noise,
                        &normals,
                        (more.status, more.steps, more.final_record()?.train),
                    )?)
                }
                Some(_) => Some(kou),
                None => None,
            };
            runs.push(MuRun { mu, kou, interp });
        }
        Ok(Row { flipped, runs })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
