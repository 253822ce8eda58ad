//! # gengap-train — the one training loop
//!
//! Every experiment trains the two-layer CNN (\[C22\], \[Z23\]) with some
//! optimizer and watches it. This crate does that once:
//!
//! * [`drive`] steps any [`Dynamics`] to one stopping rule ([`Stop`]: a step
//!   budget and/or a training-loss target) with one vocabulary for how it
//!   ended ([`Status`]); it keeps a [`Record`] (train and test loss and
//!   error, `‖∇L_S‖_F`, optionally the signal–noise summaries) on a
//!   [`Schedule`] — every `k` steps, **log-spaced** for the curve figures, or
//!   at the end — and calls [`Observer`]s on their own schedules (argmin's
//!   observers). A NaN or infinite loss ends the run with
//!   [`Status::Diverged`]; nothing panics.
//! * [`Trainer`] is the full-space dynamics (the CNN with any optimizer and
//!   any [`StepGradient`]: plain, SAM, label-noise GD, mixup, or outside
//!   code's); [`SpanTrainer`] runs every span-preserving algorithm
//!   ([`SpanAlgorithm`]: GD, SGD, momentum, Nesterov, L2 or decoupled decay,
//!   with the same step gradients, or outside code's) exactly in the reduced
//!   space; the plain reduced solver `gengap_analysis::ReducedGd` is
//!   [`Dynamics`] too, so all of them stop and report the same way. The
//!   `[train] algorithm` table ([`AlgorithmConfig`]) is read by both
//!   (`docs/theory.md#span-preserving-algorithms`).
//! * [`LinearTrainer`] trains the linear classifier `⟨w, x⟩` on flattened
//!   inputs (`gengap_model::LinearData`) with any optimizer and an optional
//!   decaying learning rate, for the implicit-bias study
//!   (`docs/theory.md#the-linear-model`).
//! * [`DecompositionRecorder`] is the observer that decomposes the weights
//!   (`docs/theory.md#signal-noise-decomposition`) at the recorded steps.
//! * [`train_run`] / [`train_from`] / [`train_from_stream`] are the one-call
//!   forms a study uses; `[train] batch = { size = B }` trains on mini-batches
//!   ([`MiniBatch`]: a fresh order each epoch from the run's stream), and a
//!   [`Checkpoint`] continues a run bit for bit ([`Trainer::resume`]).
//!
//! Everything between a config file and the results on disk (command line,
//! journaled sweeps, provenance, result files) is `gengap-lab`'s.

use gengap_analysis::AnalysisError;
use gengap_data::Dataset;
use gengap_model::{CnnConfig, ModelError, Real, cast};
use gengap_optim::{OptimError, Optimizer, OptimizerSpec};
use ndarray::Array2;

pub mod algorithm;
mod config;
mod driver;
pub mod interrupt;
mod linear_trainer;
mod lr_schedule;
mod minibatch;
mod reduced;
mod schedule;
pub mod select;
mod span_trainer;
mod trainer;

pub use algorithm::{
    AlgorithmConfig, GradientOracle, SpanAlgorithm, SpanSgd, SpanStep, SpanUpdate, StepGradient, flip_labels,
    mixup_pairs,
};
pub use config::{MAX_STEPS, Precision, TrainConfig};
pub use driver::{Dynamics, Observer, Record, RunRecord, Status, Stop, Watch, WeightsOf, drive, drive_from};
pub use linear_trainer::LinearTrainer;
pub use lr_schedule::LrSchedule;
pub use minibatch::{BatchCursor, MiniBatch};
pub use schedule::Schedule;
pub use select::{best_by_train_loss, best_per_group};
pub use span_trainer::SpanTrainer;
pub use trainer::{Checkpoint, DecompositionRecorder, Trainer};

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
    /// From the decomposition or the reduced engine.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// The run was stopped from outside between two steps
    /// ([`interrupt::with_interrupt`], e.g. Ctrl-C in Python).
    #[error("interrupted at step {step}")]
    Interrupted {
        /// The last step taken.
        step: u64,
    },
    /// Not a failure: what an [`Observer`] returns to end the run at the
    /// record it was shown; [`drive`] ends it with [`Status::Stopped`] and
    /// returns the records, so this never leaves the driver.
    #[error("an observer asked to stop the run")]
    StopRequested,
    /// The optimizer's update leaves the span of `{W⁽⁰⁾, signal, noise}`
    /// (a coordinate-wise rule): it cannot run in the reduced engine.
    #[error(
        "optimizer `{optimizer}` is not span-preserving: the reduced engine runs `gd` and `sgd_momentum` (with any weight decay); train it in full space"
    )]
    NotSpanPreserving {
        /// The optimizer's config name.
        optimizer: String,
    },
    /// A run record with no record at all, so no final weights to report
    /// (the driver always records the last step: only a hand-built or
    /// damaged record gets here).
    #[error("the run holds no record (the driver records at least its last step)")]
    NoRecord,
    /// An error of code outside gengap: a downstream dynamics, step gradient or observer (see [`gengap_data::Foreign`]).
    #[error(transparent)]
    Other(#[from] gengap_data::Foreign),
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
/// several optimizers can start from the same weights. `opt` is any
/// [`OptimizerSpec`]: an `&OptimConfig`, or an outside optimizer's. Returns the record
/// and the final weights in f64. Full batch only (or `batch.size = n`): a
/// mini-batch run needs a stream, [`train_from_stream`].
pub fn train_from(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &dyn OptimizerSpec,
    cfg: &TrainConfig,
    w0: &Array2<f64>,
) -> Result<(RunRecord, Array2<f64>), TrainError> {
    train_in(ds, model, opt, cfg, w0, None::<&mut rand_chacha::ChaCha8Rng>)
}

/// [`train_from`] for any `[train]`, mini-batch included: the batch orders
/// are drawn from a stream seeded from `rng` (a study passes its cell's
/// `CellRng`), so they depend on the seed alone. A full-batch run draws nothing.
pub fn train_from_stream<R: rand::Rng + ?Sized>(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &dyn OptimizerSpec,
    cfg: &TrainConfig,
    w0: &Array2<f64>,
    rng: &mut R,
) -> Result<(RunRecord, Array2<f64>), TrainError> {
    train_in(ds, model, opt, cfg, w0, Some(rng))
}

fn train_in<R: rand::Rng + ?Sized>(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &dyn OptimizerSpec,
    cfg: &TrainConfig,
    w0: &Array2<f64>,
    rng: Option<&mut R>,
) -> Result<(RunRecord, Array2<f64>), TrainError> {
    fn go<T: Real, R: rand::Rng + ?Sized>(
        ds: &Dataset,
        model: &CnnConfig,
        opt: Box<dyn Optimizer<T> + Send>,
        cfg: &TrainConfig,
        w0: &Array2<f64>,
        rng: Option<&mut R>,
    ) -> Result<(RunRecord, Array2<f64>), TrainError> {
        let mut t = Trainer::new(ds, model, cast::<f64, T>(w0.view()), opt, cfg.clone())?;
        if let Some(r) = rng {
            t = t.with_stream(r);
        }
        let (run, w) = t.run(&mut [])?;
        Ok((run, cast::<T, f64>(w.view())))
    }
    match cfg.precision {
        Precision::F64 => go::<f64, R>(ds, model, opt.build_f64()?, cfg, w0, rng),
        Precision::F32 => go::<f32, R>(ds, model, opt.build_f32()?, cfg, w0, rng),
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
    opt: &dyn OptimizerSpec,
    cfg: &TrainConfig,
    init_rng: &mut R,
) -> Result<Run, TrainError> {
    let w0 = model.init::<f64, _>(ds.train.d(), init_rng)?;
    let (record, w) = train_from(ds, model, opt, cfg, &w0)?;
    Ok(Run { record, w0, w })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_linear;
#[cfg(test)]
mod tests_minibatch;
