//! `label-noise-kou` — why our `label-noise` boundary sits lower in `‖μ‖`
//! than Kou et al.'s published one (ICML 2023, \[K23\]; their script
//! `syntheticrelu.py`, uclaml/Benign_ReLU_CNN, commit 20ca259), measured by
//! switching the differences between our setup and the script on one at a
//! time (`docs/experiments.md`, section 14).
//!
//! Both setups train a two-layer ReLU CNN with full-batch GD (`η = 0.1`,
//! 100 steps, `n = 20`, `m = 10` filters per sign) on the \[C22\] model with
//! isotropic noise (`σ_p = 1`), `μ = ‖μ‖·e₁`, and labels flipped with
//! probability 0.1. What the script does differently, each a switch of a
//! [`Variant`]:
//!
//! * **scale** — `torch.mean` over the two patches and a sum over the
//!   filters: `s_m = 1/2` ([`OutputScale::Fixed`]) against our `1/m`;
//! * **init** — PyTorch's default `Conv1d` initialisation, every entry
//!   `U(±1/√d)` ([`gengap::model::pytorch_default_init`]), against our
//!   `N(0, 0.01²)`;
//! * **bias** — `Conv1d` has a trainable bias per filter: a constant
//!   coordinate 1 in every patch ([`gengap::data::Dataset::with_constant_coordinate`],
//!   `docs/theory.md#a-bias-is-a-constant-coordinate`);
//! * **precision** — float32;
//! * **test** — the error on 1000 fresh test points whose labels are
//!   flipped too, against our population error `p + (1 − 2p)·P(sign f ≠ ỹ)`.
//!
//! The bias and the uniform initialisation take the weights out of the
//! reduced engine's span, so every run here is full-space GD
//! ([`gengap::train::train_from`]). A cell is one `(d, seed)`: it draws one
//! training set (and its test points) at `‖μ‖ = 1`, both initialisations
//! and the Monte-Carlo normals, then runs every variant at every `‖μ‖` from
//! that draw (the signal patch rescaled: exact for isotropic noise), so the
//! variants differ by their switches alone (common random numbers).

use gengap::analysis::{GaussianPatch, population_error_full, with_label_flips};
use gengap::data::{C22Params, Dataset, Direction, NoiseKind, rng};
use gengap::lab::config::{check_name, check_positive};
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, OutputScale, nonfinite, pytorch_default_init};
use gengap::ndarray::{Array1, Array2, s};
use gengap::optim::OptimConfig;
use gengap::train::{Precision, Schedule, Status, TrainConfig, train_from};
use label_noise::MuGrid;
use serde::{Deserialize, Serialize};

mod report;
pub use report::{Results, VariantResult};

/// The `label-noise-kou` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Label-flip probability `p`, training and test (Kou: 0.1).
    pub p_flip: f64,
    /// Noise scale `σ_p` (Kou: 1).
    pub sigma_p: f64,
    /// Training samples `n` (Kou: 20).
    pub n: usize,
    /// Filters per sign `m` (Kou: 10).
    pub m: usize,
    /// Our initialisation `N(0, σ₀²)` (0.01).
    pub sigma0: f64,
    /// GD step `η` (Kou: 0.1).
    pub lr: f64,
    /// Full-batch GD steps (Kou: 100).
    pub steps: u64,
    /// Patch dimensions, increasing (the rows of Kou's grid that are compared).
    pub d: Vec<usize>,
    /// Signal strengths `‖μ‖` (Kou: 0, 0.1, …, 9.9).
    pub mu: MuGrid,
    /// Training sets per `(d, ‖μ‖)` (Kou: 10).
    pub seeds: usize,
    /// Test points of a `test = "finite"` variant (Kou: 1000).
    pub test_points: usize,
    /// Monte-Carlo draws of a `test = "population"` variant.
    pub test_samples: usize,
    /// The boundary `‖μ‖*(d)` is where the mean test error − p first falls
    /// to this value as `‖μ‖` grows (linear interpolation; 0.1, the rule
    /// applied to Kou's file).
    pub threshold: f64,
    /// The benign side: the mean test error over `‖μ‖ ≥ benign_from` is
    /// reported against the Bayes error `p`.
    pub benign_from: f64,
    /// A variant's boundary matches Kou's row when within this relative
    /// tolerance (the target: 0.1).
    pub tolerance: f64,
    /// Kou's boundary, read off his published `data_test100.csv` with the
    /// same rule, for the rows that were read.
    pub reference: Reference,
    /// The setups to run (at least one).
    pub variant: Vec<Variant>,
    /// The variant every shift is measured against (ours).
    pub baseline: String,
    /// The variant with every difference switched on (Kou's script).
    pub target: String,
}

/// Kou's published boundary on some rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Rows `d`.
    pub d: Vec<usize>,
    /// `‖μ‖*(d)`, one per row.
    pub mu_star: Vec<f64>,
}

/// How `W⁽⁰⁾` is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// `N(0, σ₀²)` (ours).
    #[default]
    Normal,
    /// PyTorch's default, `U(±1/√d)` for weights and bias (Kou's script).
    Pytorch,
}

/// How the test error is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// Exact population error against flipped labels (ours).
    #[default]
    Population,
    /// The error on `test_points` fresh points with flipped labels (Kou's script).
    Finite,
}

/// One setup: our choices by default, each switch Kou's when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name in the tables and files (letters, digits, `_`, `-`).
    pub name: String,
    /// Second-layer scale: `"inv_m"` (ours) or `{ fixed = 0.5 }` (Kou's mean over two patches).
    #[serde(default)]
    pub scale: OutputScale,
    /// Initialisation.
    #[serde(default)]
    pub init: Init,
    /// A trainable bias per filter.
    #[serde(default)]
    pub bias: bool,
    /// Training precision.
    #[serde(default)]
    pub precision: Precision,
    /// Test error.
    #[serde(default)]
    pub test: TestKind,
}

impl Variant {
    /// The switches (scale, init, bias, precision, test) in which `self` and
    /// `other` differ, by name.
    pub fn differences(&self, other: &Variant) -> Vec<&'static str> {
        let mut d = vec![];
        if self.scale != other.scale {
            d.push("scale");
        }
        if self.init != other.init {
            d.push("init");
        }
        if self.bias != other.bias {
            d.push("bias");
        }
        if self.precision != other.precision {
            d.push("precision");
        }
        if self.test != other.test {
            d.push("test");
        }
        d
    }
}

impl Config {
    fn model(&self, v: &Variant) -> CnnConfig {
        CnnConfig {
            m: self.m,
            activation: Activation::Relu,
            scale: v.scale,
            sigma0: self.sigma0,
            ..Default::default()
        }
    }

    fn data(&self, d: usize) -> C22Params {
        C22Params {
            d,
            n: self.n,
            n_test: self.test_points,
            mu_norm: 1.0,
            sigma_p: self.sigma_p,
            noise: NoiseKind::Isotropic,
            direction: Direction::E1,
            p_flip: self.p_flip,
        }
    }

    /// Kou's boundary at row `d`, if it was read.
    pub fn reference_at(&self, d: usize) -> Option<f64> {
        self.reference
            .d
            .iter()
            .position(|&r| r == d)
            .map(|i| self.reference.mu_star[i])
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
        check_positive("tolerance", self.tolerance)?;
        if !(self.benign_from.is_finite() && self.benign_from >= 0.0) {
            return bad("benign_from", self.benign_from.to_string(), "must be finite and >= 0");
        }
        if !(self.mu.first.is_finite() && self.mu.first >= 0.0) {
            return bad("mu.first", self.mu.first.to_string(), "must be finite and >= 0");
        }
        if !(2..=10_000).contains(&self.mu.count) {
            return bad("mu.count", self.mu.count.to_string(), "must be in 2..=10000");
        }
        if !(1..=10_000).contains(&self.n) {
            return bad("n", self.n.to_string(), "must be in 1..=10000");
        }
        if !(1..=1_000).contains(&self.m) {
            return bad("m", self.m.to_string(), "must be in 1..=1000");
        }
        if !(1..=1_000_000).contains(&self.steps) {
            return bad("steps", self.steps.to_string(), "must be in 1..=1e6");
        }
        if !(1..=1_000).contains(&self.seeds) {
            return bad("seeds", self.seeds.to_string(), "must be in 1..=1000");
        }
        if !(1..=1_000_000).contains(&self.test_points) {
            return bad("test_points", self.test_points.to_string(), "must be in 1..=1e6");
        }
        if !(1..=10_000_000).contains(&self.test_samples) {
            return bad("test_samples", self.test_samples.to_string(), "must be in 1..=1e7");
        }
        if !(self.threshold > 0.0 && self.threshold < 0.5) {
            return bad("threshold", self.threshold.to_string(), "must be in (0, 0.5)");
        }
        if self.d.is_empty()
            || self.d.iter().any(|&d| !(2..=100_000).contains(&d))
            || self.d.windows(2).any(|w| w[0] >= w[1])
        {
            return bad(
                "d",
                format!("{:?}", self.d),
                "must be an increasing list of values in 2..=100000",
            );
        }
        if self.reference.d.len() != self.reference.mu_star.len() {
            return bad(
                "reference.mu_star",
                format!("{:?}", self.reference.mu_star),
                "must have one value per reference.d",
            );
        }
        // A row no run can reach (d beyond the 1e7 any grid here allows) is a typo.
        if let Some(d) = self.reference.d.iter().find(|d| !(1..=10_000_000).contains(*d)) {
            return bad("reference.d", d.to_string(), "each d must be in [1, 1e7]");
        }
        if let Some(m) = self.reference.mu_star.iter().find(|m| !(m.is_finite() && **m > 0.0)) {
            return bad("reference.mu_star", m.to_string(), "must be finite and > 0");
        }
        if self.variant.is_empty() {
            return bad("variant", "[]".into(), "name at least one variant");
        }
        for (i, v) in self.variant.iter().enumerate() {
            check_name(&v.name).map_err(|_| {
                LabError::invalid(format!("variant[{i}].name"), &v.name, "letters, digits, _ and - only")
            })?;
            if self.variant[..i].iter().any(|u| u.name == v.name) {
                return bad(&format!("variant[{i}].name"), v.name.clone(), "names must differ");
            }
            self.model(v).validate().map_err(|e| {
                LabError::invalid(format!("variant[{i}].scale"), format!("{:?}", v.scale), e.to_string())
            })?;
        }
        for (key, name) in [("baseline", &self.baseline), ("target", &self.target)] {
            if !self.variant.iter().any(|v| &v.name == name) {
                return bad(key, name.clone(), "must name one of the variants");
            }
        }
        let runs = self.d.len() as u128 * self.seeds as u128 * self.mu.count as u128 * self.variant.len() as u128;
        if runs > 10_000_000 {
            return bad(
                "seeds",
                self.seeds.to_string(),
                "the study would train more than 1e7 networks",
            );
        }
        Ok(())
    }

    /// Per parallel worker: the data set at the largest `d` (training and
    /// test points, stored once and as the rescaled and bias copies) and one
    /// training run.
    fn memory(&self) -> Option<MemoryEstimate> {
        let d = self.d.last().copied().unwrap_or(2);
        let data = gengap::data::DataConfig::C22(self.data(d + 1));
        let model = self.variant.first().map(|v| self.model(v)).unwrap_or_default();
        let mut e = memory::dataset(&data)
            .times(3)
            .plus(memory::training(&data, &model, false));
        e.key = "test_points".into();
        e.value = self.test_points.to_string();
        Some(e.times(memory::parallel_cells()))
    }
}

/// One training set: a row `d` and a seed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The patch dimension.
    pub d: usize,
    /// The seed index (`0..seeds`).
    pub seed: usize,
}

/// One run: a variant at one `‖μ‖`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// `max_steps`, or `diverged`.
    pub outcome: Status,
    /// Training loss (observed labels).
    #[serde(with = "nonfinite")]
    pub train_loss: f64,
    /// Fraction of training points not fitted.
    #[serde(with = "nonfinite")]
    pub train_error: f64,
    /// Test error against flipped labels, as the variant measures it (1 if diverged).
    #[serde(with = "nonfinite")]
    pub test_error: f64,
}

/// What a cell produces: `runs[variant][μ]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Fraction of the training labels that were flipped.
    pub flipped: f64,
    /// One list per variant (config order), one run per `‖μ‖` (grid order).
    pub runs: Vec<Vec<Run>>,
}

/// The study.
#[derive(Debug, Clone, Copy)]
pub struct LabelNoiseKou;

/// The data set at `‖μ‖ = mu` from the draw at `‖μ‖ = 1`: the signal patch
/// `ỹ·e₁` scaled. With isotropic noise nothing else depends on `‖μ‖`, so
/// this is exactly the draw at `mu`.
fn at_signal(unit: &Dataset, mu: f64) -> Dataset {
    let mut ds = unit.clone();
    ds.signal *= mu;
    for split in [&mut ds.train, &mut ds.test] {
        for (i, &p) in split.signal_patch.clone().iter().enumerate() {
            split.x.slice_mut(s![i, p, ..]).mapv_inplace(|v| v * mu);
        }
    }
    ds
}

/// The same data set with its test split replaced by the training split
/// (a population-error run needs no test points; this keeps the trainer's
/// final evaluation cheap).
fn without_test(ds: &Dataset) -> Dataset {
    Dataset {
        model: ds.model,
        signal: ds.signal.clone(),
        extra_signal: ds.extra_signal.clone(),
        train: ds.train.clone(),
        test: ds.train.clone(),
    }
}

impl Study for LabelNoiseKou {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Row;
    type Summary = Results;

    fn name(&self) -> &str {
        "label-noise-kou"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        cfg.d
            .iter()
            .flat_map(|&d| (0..cfg.seeds).map(move |seed| Cell { d, seed }))
            .collect()
    }

    /// Draw the data set at `‖μ‖ = 1`, both initialisations and the normals,
    /// then run every variant at every `‖μ‖`.
    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, _: &mut Arrays) -> Result<Row, StudyError> {
        let d = c.d;
        let unit = cfg.data(d).generate(r)?;
        let normal = CnnConfig {
            m: cfg.m,
            sigma0: cfg.sigma0,
            ..Default::default()
        }
        .init::<f64, _>(d, r)?;
        // Weights and bias: fan_in = d (the bias column is the last).
        let uniform = pytorch_default_init(2 * cfg.m, d + 1, d, r)?;
        let normals = Array2::from_shape_simple_fn((cfg.test_samples, 2 * cfg.m), || rng::standard_normal(r));
        let flipped = unit
            .train
            .y
            .iter()
            .zip(&unit.train.y_clean)
            .filter(|(a, b)| a != b)
            .count() as f64
            / cfg.n as f64;
        let opt = OptimConfig::gd(cfg.lr);
        let mut runs = vec![Vec::with_capacity(cfg.mu.count); cfg.variant.len()];
        for mu in cfg.mu.values() {
            // The data sets a variant may train on, each made once per ‖μ‖.
            let plain = at_signal(&unit, mu);
            let biased = cfg
                .variant
                .iter()
                .any(|v| v.bias)
                .then(|| plain.with_constant_coordinate(1.0));
            let small_plain = without_test(&plain);
            let small_biased = biased.as_ref().map(without_test);
            for (vi, v) in cfg.variant.iter().enumerate() {
                let made = "made when a variant has a bias";
                let ds = match (v.test, v.bias) {
                    (TestKind::Finite, false) => &plain,
                    (TestKind::Finite, true) => biased.as_ref().expect(made),
                    (TestKind::Population, false) => &small_plain,
                    (TestKind::Population, true) => small_biased.as_ref().expect(made),
                };
                let cols = if v.bias { d + 1 } else { d };
                let w0 = match v.init {
                    Init::Normal => {
                        let mut w = Array2::zeros((2 * cfg.m, cols));
                        w.slice_mut(s![.., ..d]).assign(&normal);
                        w
                    }
                    Init::Pytorch => uniform.slice(s![.., ..cols]).to_owned(),
                };
                let model = cfg.model(v);
                let train = TrainConfig {
                    record: Schedule::End,
                    precision: v.precision,
                    ..TrainConfig::steps(cfg.steps)
                };
                let (record, w) = train_from(ds, &model, &opt, &train, &w0)?;
                let last = record.final_record()?;
                let healthy = record.status != Status::Diverged && w.iter().all(|x| x.is_finite());
                let outcome = if healthy { record.status } else { Status::Diverged };
                let measured = if !healthy {
                    f64::NAN
                } else {
                    match v.test {
                        TestKind::Finite => last.test.error,
                        TestKind::Population => {
                            let mut e1 = Array1::zeros(cols);
                            e1[0] = mu;
                            let mut mean = Array1::zeros(cols);
                            if v.bias {
                                e1[d] = 1.0;
                                mean[d] = 1.0;
                            }
                            let minus = &mean * 2.0 - &e1;
                            let noise = GaussianPatch {
                                mean,
                                sigma_p: cfg.sigma_p,
                                noisy: d,
                            };
                            let clean = population_error_full(
                                w.view(),
                                &model,
                                &[(e1, 1.0), (minus, -1.0)],
                                &noise,
                                normals.view(),
                            )?;
                            with_label_flips(clean, cfg.p_flip)
                        }
                    }
                };
                runs[vi].push(Run {
                    outcome,
                    train_loss: last.train.loss,
                    train_error: last.train.error,
                    test_error: outcome.scored(measured),
                });
            }
        }
        Ok(Row { flipped, runs })
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Results, LabError> {
        report::report(cfg, rows, ctx)
    }
}
