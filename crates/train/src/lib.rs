//! # gengap-train — the one training loop
//!
//! Every experiment trains the two-layer CNN (\[C22\], \[Z23\]) with some
//! optimizer and watches it. This crate does that once:
//!
//! * [`Trainer`] takes a data set, a model config, initial weights, an
//!   optimizer and a [`TrainConfig`] (max steps and/or a training-loss target)
//!   and returns a [`RunRecord`].
//! * Every `record_every` steps it records a [`Record`]: train and test loss
//!   and error, `‖∇L_S‖_F`, and (optionally) the signal–noise summaries of
//!   `gengap-analysis`; [`Observer`]s see each record as it is made
//!   (argmin's `ObserverMode::Every(k)`).
//! * A NaN or infinite loss ends the run with [`Status::Diverged`]; nothing panics.
//! * [`Trainer::checkpoint`] / [`Trainer::restore`] save and restore
//!   `(W, optimizer state, step, records)`; a resumed run is bit-identical.
//!
//! Everything between a config file and the results on disk (command line,
//! journaled sweeps, provenance, result files) is `gengap-lab`'s.

use gengap_analysis::{AnalysisError, Basis, Decomposer, Summary};
use gengap_data::Dataset;
use gengap_model::{Batch, Cnn, CnnConfig, Metrics, ModelError, Real, Workspace, cast};
use gengap_optim::{OptState, OptimError, Optimizer};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Errors of the training loop.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A config value is out of range.
    #[error("invalid training parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// Key.
        field: &'static str,
        /// Value.
        value: String,
        /// Valid range.
        reason: &'static str,
    },
    /// From the model.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// From the optimizer.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// From the decomposition.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// A checkpoint does not fit this trainer.
    #[error("checkpoint does not fit: {0}")]
    Checkpoint(String),
}

fn default_every() -> u64 {
    10
}

/// When to stop and how often to record (the `[train]` table of a config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Maximum number of steps (≥ 1).
    pub max_steps: u64,
    /// Stop once the training loss is ≤ this (optional, > 0).
    #[serde(default)]
    pub target_loss: Option<f64>,
    /// Record every this many steps (≥ 1; the first and last steps are always recorded). Default 10.
    #[serde(default = "default_every")]
    pub record_every: u64,
    /// Record the signal–noise decomposition summaries (costs a GEMM with the basis). Default false.
    #[serde(default)]
    pub decompose: bool,
    /// Arithmetic of the weights, gradients and optimizer state: `f64`
    /// (default) or `f32` (1.3–1.6× faster per step at paper sizes, see
    /// docs/performance.md). The decomposition (always in f64) then sees f32
    /// round-off: the relative residual of a GD run is ~1e-6 instead of
    /// ~1e-15 (tested), still far below Adam's ~0.5.
    #[serde(default)]
    pub precision: Precision,
}

/// Floating-point precision of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 64-bit.
    #[default]
    F64,
    /// 32-bit.
    F32,
}

impl Default for TrainConfig {
    /// 1000 steps, no loss target, a record every 10 steps, no
    /// decomposition, f64.
    fn default() -> Self {
        TrainConfig {
            max_steps: 1000,
            target_loss: None,
            record_every: default_every(),
            decompose: false,
            precision: Precision::default(),
        }
    }
}

impl TrainConfig {
    /// `max_steps` steps, the rest default.
    pub fn steps(max_steps: u64) -> Self {
        TrainConfig {
            max_steps,
            ..Default::default()
        }
    }

    /// Check ranges.
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.max_steps == 0 {
            return Err(TrainError::InvalidParam {
                field: "max_steps",
                value: "0".into(),
                reason: "must be >= 1",
            });
        }
        if self.record_every == 0 {
            return Err(TrainError::InvalidParam {
                field: "record_every",
                value: "0".into(),
                reason: "must be >= 1",
            });
        }
        if let Some(t) = self.target_loss
            && (!t.is_finite() || t <= 0.0)
        {
            return Err(TrainError::InvalidParam {
                field: "target_loss",
                value: t.to_string(),
                reason: "must be finite and > 0",
            });
        }
        Ok(())
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Still running (only seen on a checkpoint).
    Running,
    /// The training loss reached the target.
    Converged,
    /// `max_steps` taken without reaching the target (or with no target).
    MaxSteps,
    /// The loss or gradient became NaN or infinite.
    Diverged,
}

/// The metrics at one recorded step `t` (at the weights `W⁽ᵗ⁾`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Step.
    pub step: u64,
    /// Training loss and error.
    pub train: Metrics,
    /// Test loss and error.
    pub test: Metrics,
    /// `‖∇L_S(W⁽ᵗ⁾)‖_F` (without weight decay).
    #[serde(with = "gengap_model::nonfinite")]
    pub grad_norm: f64,
    /// Decomposition summaries, when enabled.
    pub summary: Option<Summary>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// How it ended.
    pub status: Status,
    /// Steps taken.
    pub steps: u64,
    /// Every recorded step, the last one at the final weights.
    pub records: Vec<Record>,
}

impl RunRecord {
    /// The last record (at the final weights).
    pub fn last(&self) -> Option<&Record> {
        self.records.last()
    }
}

/// Sees each record as it is made.
pub trait Observer {
    /// Called with each new record.
    fn observe(&mut self, record: &Record);
}

impl<F: FnMut(&Record)> Observer for F {
    fn observe(&mut self, record: &Record) {
        self(record)
    }
}

/// Everything needed to resume a run bit-identically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Real"))]
pub struct Checkpoint<T> {
    /// Step reached.
    pub step: u64,
    /// Weights `W⁽ᵗ⁾`.
    pub w: Array2<T>,
    /// Optimizer state.
    pub opt_state: OptState<T>,
    /// Records so far.
    pub records: Vec<Record>,
    /// Status so far.
    pub status: Status,
}

/// The training loop (see the crate docs).
pub struct Trainer<T: Real> {
    cnn: Cnn<T>,
    train: Batch<T>,
    test: Batch<T>,
    ws_train: Workspace<T>,
    ws_test: Workspace<T>,
    w: Array2<T>,
    grad: Array2<T>,
    opt: Box<dyn Optimizer<T> + Send>,
    cfg: TrainConfig,
    decomposer: Option<Decomposer>,
    step: u64,
    records: Vec<Record>,
    status: Status,
}

impl<T: Real> std::fmt::Debug for Trainer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("step", &self.step)
            .field("status", &self.status)
            .finish()
    }
}

impl<T: Real> Trainer<T> {
    /// Set up a run on `ds` from `W⁽⁰⁾ = w0` (shape `2m × d`).
    pub fn new(
        ds: &Dataset,
        model: &CnnConfig,
        w0: Array2<T>,
        opt: Box<dyn Optimizer<T> + Send>,
        cfg: TrainConfig,
    ) -> Result<Self, TrainError> {
        cfg.validate()?;
        let cnn = Cnn::new(model)?;
        let train = Batch::from_split(&ds.train);
        let test = Batch::from_split(&ds.test);
        if w0.dim() != (2 * model.m, train.d()) {
            return Err(ModelError::Shape {
                what: "w0",
                expected: format!("[{}, {}]", 2 * model.m, train.d()),
                got: format!("{:?}", w0.shape()),
            }
            .into());
        }
        let decomposer = if cfg.decompose {
            Some(Decomposer::new(
                Basis::from_dataset(ds),
                cast::<T, f64>(w0.view()).view(),
            )?)
        } else {
            None
        };
        Ok(Trainer {
            ws_train: Workspace::for_batch(&train, model.m),
            ws_test: Workspace::for_batch(&test, model.m),
            grad: Array2::zeros(w0.dim()),
            w: w0,
            cnn,
            train,
            test,
            opt,
            cfg,
            decomposer,
            step: 0,
            records: vec![],
            status: Status::Running,
        })
    }

    /// Current weights.
    pub fn weights(&self) -> &Array2<T> {
        &self.w
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer<T> {
        self.opt.as_ref()
    }

    /// Steps taken.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The decomposer, if enabled.
    pub fn decomposer(&self) -> Option<&Decomposer> {
        self.decomposer.as_ref()
    }

    fn make_record(&mut self, train: Metrics) -> Result<Record, TrainError> {
        let test = self.cnn.evaluate(&self.w, &self.test, &mut self.ws_test)?;
        let grad_norm = self.grad.iter().map(|g| g.to_f64c().powi(2)).sum::<f64>().sqrt();
        let summary = match &self.decomposer {
            Some(d) if self.w.iter().all(|v| v.is_finite()) => {
                let w = cast::<T, f64>(self.w.view());
                let dec = d.decompose(w.view())?;
                Some(dec.summary(d.basis()))
            }
            _ => None,
        };
        Ok(Record {
            step: self.step,
            train,
            test,
            grad_norm,
            summary,
        })
    }

    /// Run until the stopping rule fires (or `until_step`, for checkpointing
    /// part-way), calling each observer on every new record.
    pub fn run_until(&mut self, until_step: u64, observers: &mut [&mut dyn Observer]) -> Result<Status, TrainError> {
        if self.status != Status::Running {
            return Ok(self.status);
        }
        let stop_at = until_step.min(self.cfg.max_steps);
        loop {
            if self.step >= stop_at && self.step < self.cfg.max_steps {
                return Ok(Status::Running);
            }
            let met = self
                .cnn
                .loss_grad(&self.w, &self.train, &mut self.ws_train, &mut self.grad)?;
            let diverged = !met.loss.is_finite();
            let converged = self.cfg.target_loss.is_some_and(|t| met.loss <= t);
            let at_end = self.step >= self.cfg.max_steps;
            let finishing = diverged || converged || at_end;
            if finishing || self.step.is_multiple_of(self.cfg.record_every) {
                let rec = self.make_record(met)?;
                for o in observers.iter_mut() {
                    o.observe(&rec);
                }
                self.records.push(rec);
            }
            if finishing {
                self.status = if diverged {
                    Status::Diverged
                } else if converged {
                    Status::Converged
                } else {
                    Status::MaxSteps
                };
                return Ok(self.status);
            }
            let (w, g) = (
                self.w.as_slice_mut().expect("standard layout"),
                self.grad.as_slice().expect("standard layout"),
            );
            self.opt.step(w, g)?;
            self.step += 1;
        }
    }

    /// Run to completion.
    pub fn run(mut self, observers: &mut [&mut dyn Observer]) -> Result<(RunRecord, Array2<T>), TrainError> {
        self.run_until(u64::MAX, observers)?;
        Ok((
            RunRecord {
                status: self.status,
                steps: self.step,
                records: self.records,
            },
            self.w,
        ))
    }

    /// Everything needed to resume.
    pub fn checkpoint(&self) -> Checkpoint<T> {
        Checkpoint {
            step: self.step,
            w: self.w.clone(),
            opt_state: self.opt.state().clone(),
            records: self.records.clone(),
            status: self.status,
        }
    }

    /// Resume from a checkpoint made by a trainer with the same data, model and optimizer config.
    pub fn restore(&mut self, ck: Checkpoint<T>) -> Result<(), TrainError> {
        if ck.w.dim() != self.w.dim() {
            return Err(TrainError::Checkpoint(format!(
                "W is {:?}, expected {:?}",
                ck.w.shape(),
                self.w.shape()
            )));
        }
        if let Some(len) = ck.opt_state.buffers.len()
            && len != 0
            && len != ck.w.len()
        {
            return Err(TrainError::Checkpoint(format!(
                "the optimizer state holds {len} entries per buffer, W has {}",
                ck.w.len()
            )));
        }
        if ck.opt_state.t != ck.step {
            return Err(TrainError::Checkpoint(format!(
                "the optimizer has taken {} steps, the trainer {}",
                ck.opt_state.t, ck.step
            )));
        }
        self.opt.load_state(ck.opt_state)?;
        self.w = ck.w;
        self.step = ck.step;
        self.records = ck.records;
        self.status = ck.status;
        Ok(())
    }
}

/// A finished run: its record, the initial weights it started from and the
/// final weights (both in f64).
#[derive(Debug, Clone)]
pub struct Run {
    /// How it went.
    pub record: RunRecord,
    /// `W⁽⁰⁾` (what [`gengap_analysis::Decomposer::new`] needs).
    pub w0: Array2<f64>,
    /// The final weights.
    pub w: Array2<f64>,
}

/// Train from the given `W⁽⁰⁾` (f64; rounded to `cfg.precision`), so that
/// several optimizers can start from the same weights. Returns the record
/// and the final weights in f64.
pub fn train_from(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &gengap_optim::OptimConfig,
    cfg: &TrainConfig,
    w0: &Array2<f64>,
) -> Result<(RunRecord, Array2<f64>), TrainError> {
    fn go<T: Real>(
        ds: &Dataset,
        model: &CnnConfig,
        opt: &gengap_optim::OptimConfig,
        cfg: &TrainConfig,
        w0: &Array2<f64>,
    ) -> Result<(RunRecord, Array2<f64>), TrainError> {
        let o = opt.build::<T>()?;
        let (run, w) = Trainer::new(ds, model, cast::<f64, T>(w0.view()), Box::new(o), cfg.clone())?.run(&mut [])?;
        Ok((run, cast::<T, f64>(w.view())))
    }
    match cfg.precision {
        Precision::F64 => go::<f64>(ds, model, opt, cfg, w0),
        Precision::F32 => go::<f32>(ds, model, opt, cfg, w0),
    }
}

/// Train from a fresh `W⁽⁰⁾` drawn with `init_rng` (in f64, then rounded to
/// `cfg.precision`, so both precisions start from the same weights): the one
/// call a single run needs.
///
/// ```
/// use gengap_data::{DataConfig, Z23Params, rng};
/// use gengap_model::CnnConfig;
/// use gengap_optim::OptimConfig;
/// use gengap_train::{TrainConfig, train_run};
///
/// let data = DataConfig::Z23(Z23Params { d: 50, n: 8, n_test: 200, s: 20, ..Default::default() });
/// let ds = data.generate(&mut rng::stream(1, 0)).unwrap();
/// let model = CnnConfig { m: 5, ..Default::default() };
/// let run = train_run(&ds, &model, &OptimConfig::gd(0.5), &TrainConfig::steps(20), &mut rng::stream(1, 1)).unwrap();
/// assert_eq!(run.record.steps, 20);
/// assert_eq!(run.w0.dim(), run.w.dim());
/// ```
pub fn train_run<R: rand::Rng + ?Sized>(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &gengap_optim::OptimConfig,
    cfg: &TrainConfig,
    init_rng: &mut R,
) -> Result<Run, TrainError> {
    let w0 = model.init::<f64, _>(ds.train.d(), init_rng)?;
    let (record, w) = train_from(ds, model, opt, cfg, &w0)?;
    Ok(Run { record, w0, w })
}

/// The learning-rate selection rule of the sweeps: among runs of one
/// optimizer with different learning rates, the index of the run with the
/// lowest final training loss (diverged runs never win; ties go to the
/// earlier, i.e. smaller, learning rate). Selection never looks at test data.
pub fn best_by_train_loss(runs: &[&RunRecord]) -> Option<usize> {
    runs.iter()
        .enumerate()
        .filter(|(_, r)| r.status != Status::Diverged)
        .filter_map(|(i, r)| r.last().map(|l| (i, l.train.loss)))
        .filter(|(_, l)| l.is_finite())
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gengap_data::{Z23Params, rng};
    use gengap_optim::OptimConfig;

    /// The small [Z23] problem and model every test here trains on.
    fn toy() -> (Dataset, CnnConfig) {
        let ds = Z23Params {
            d: 120,
            n: 10,
            n_test: 50,
            v_norm: 2.0,
            sigma_p: 0.3,
            s: 40,
            alpha: 0.1,
            patches: 2,
        }
        .generate(&mut rng::seeded(1))
        .unwrap();
        (
            ds,
            CnnConfig {
                m: 3,
                sigma0: 0.05,
                ..Default::default()
            },
        )
    }

    fn setup(opt: &str, cfg: TrainConfig) -> Trainer<f64> {
        let (ds, model) = toy();
        let w0 = model.init::<f64, _>(120, &mut rng::seeded(2)).unwrap();
        let opt = toml::from_str::<OptimConfig>(opt).unwrap().build::<f64>().unwrap();
        Trainer::new(&ds, &model, w0, Box::new(opt), cfg).unwrap()
    }

    fn cfg(max_steps: u64) -> TrainConfig {
        TrainConfig {
            max_steps,
            target_loss: None,
            record_every: 7,
            decompose: true,
            precision: Precision::F64,
        }
    }

    #[test]
    fn resume_is_bit_identical() {
        for opt in [
            "name = \"adam\"\nlr = 0.01",
            "name = \"sgd_momentum\"\nlr = 0.05",
            "name = \"padam\"\nlr = 0.01\np = 0.25",
        ] {
            let (straight, w_straight) = setup(opt, cfg(100)).run(&mut []).unwrap();
            for pause in [49, 50] {
                let mut a = setup(opt, cfg(100));
                assert_eq!(a.run_until(pause, &mut []).unwrap(), Status::Running);
                assert_eq!(a.step(), pause);
                let saved = serde_json::to_string(&a.checkpoint()).unwrap();
                drop(a);
                let mut b = setup(opt, cfg(100));
                b.restore(serde_json::from_str(&saved).unwrap()).unwrap();
                let (resumed, w_resumed) = b.run(&mut []).unwrap();
                assert_eq!(straight, resumed);
                let bits = |w: &Array2<f64>| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&w_straight), bits(&w_resumed));
                assert_eq!(straight.steps, 100);
                assert_eq!(straight.status, Status::MaxSteps);
                let steps: Vec<u64> = straight.records.iter().map(|r| r.step).collect();
                assert_eq!(steps[..3], [0, 7, 14]);
                assert_eq!(*steps.last().unwrap(), 100);
            }
        }
    }

    #[test]
    fn divergence_is_reported_not_panicked() {
        let mut seen = 0;
        let mut obs = |_: &Record| seen += 1;
        let (run, _) = setup("name = \"gd\"\nlr = 1e300", cfg(1000))
            .run(&mut [&mut obs])
            .unwrap();
        assert_eq!(run.status, Status::Diverged);
        assert!(run.steps < 1000);
        assert!(!run.last().unwrap().train.loss.is_finite());
        assert_eq!(seen, run.records.len());
    }

    #[test]
    fn target_loss_stops_the_run() {
        let c = TrainConfig {
            max_steps: 5000,
            target_loss: Some(0.05),
            record_every: 50,
            decompose: false,
            precision: Precision::F64,
        };
        let (run, _) = setup("name = \"gd\"\nlr = 2.0", c).run(&mut []).unwrap();
        assert_eq!(run.status, Status::Converged, "{:?}", run.last());
        assert!(run.last().unwrap().train.loss <= 0.05);
        assert!(run.records[run.records.len() - 2].train.loss > 0.05);
    }

    #[test]
    fn f32_runs_track_f64_and_the_gd_residual_is_at_f32_round_off() {
        let (ds, model) = toy();
        let gd: OptimConfig = toml::from_str("name = \"gd\"\nlr = 0.5").unwrap();
        let c = |precision| TrainConfig {
            max_steps: 300,
            target_loss: None,
            record_every: 300,
            decompose: true,
            precision,
        };
        let Run {
            record: r64, w: w64, ..
        } = train_run(&ds, &model, &gd, &c(Precision::F64), &mut rng::seeded(2)).unwrap();
        let Run {
            record: r32, w: w32, ..
        } = train_run(&ds, &model, &gd, &c(Precision::F32), &mut rng::seeded(2)).unwrap();
        let (a, b) = (r64.last().unwrap(), r32.last().unwrap());
        assert!(
            (a.train.loss - b.train.loss).abs() < 1e-3 * a.train.loss.max(1e-3),
            "{} vs {}",
            a.train.loss,
            b.train.loss
        );
        let diff = (&w64 - &w32).mapv(f64::abs).sum() / w64.mapv(f64::abs).sum();
        assert!(diff < 1e-3, "weights differ by {diff}");
        let (s64, s32) = (a.summary.unwrap().residual, b.summary.unwrap().residual);
        eprintln!("GD decomposition residual after 300 steps: f64 {s64:.2e}, f32 {s32:.2e}");
        assert!(s64 < 1e-9, "f64 GD residual {s64}");
        assert!(s32 > 1e-9 && s32 < 1e-2, "f32 GD residual {s32} is round-off sized");
    }

    #[test]
    fn invalid_train_config_is_rejected() {
        assert!(TrainConfig { max_steps: 0, ..cfg(1) }.validate().is_err());
        assert!(
            TrainConfig {
                record_every: 0,
                ..cfg(1)
            }
            .validate()
            .is_err()
        );
        assert!(
            TrainConfig {
                target_loss: Some(-1.0),
                ..cfg(1)
            }
            .validate()
            .is_err()
        );
        assert!(toml::from_str::<TrainConfig>("max_steps = 3\nrecord = 2").is_err());
    }
}
