//! The full-space training dynamics of the two-layer CNN with any optimizer,
//! full batch or mini-batch, its checkpoints, and the decomposition recorder,
//! an [`Observer`] of it.

use gengap_analysis::{Basis, Decomposer, Summary};
use gengap_data::Dataset;
use gengap_model::{Batch, Cnn, CnnConfig, Metrics, ModelError, Real, Workspace, cast};
use gengap_optim::{Optimizer, SavedState};
use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::WeightsOf;
use crate::algorithm::full::{BuiltinGradient, OracleScratch};
use crate::minibatch::{Batches, run_streams};
use crate::{
    BatchCursor, Dynamics, GradientOracle, Observer, Record, RunRecord, Schedule, StepGradient, TrainConfig,
    TrainError, Watch, drive_from,
};

/// Everything a run needs to continue bit for bit: the step, the weights,
/// the optimizer's state and (mini-batch) where the batches are. Taken by
/// [`Trainer::checkpoint`] (e.g. from an observer), resumed by
/// [`Trainer::resume`]; serde-serializable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Real"))]
pub struct Checkpoint<T> {
    /// The step `t` of the weights.
    pub step: u64,
    /// `W⁽ᵗ⁾`.
    pub w: Array2<T>,
    /// The optimizer's state after `t` steps (any optimizer's, built-in or
    /// outside: [`Optimizer::save_state`]).
    pub optimizer: SavedState,
    /// The batch cursor, with the batch of step `t` drawn (mini-batch only).
    pub batches: Option<BatchCursor>,
    /// The algorithm's stream (label-noise GD, mixup), before step `t`'s draws.
    #[serde(default)]
    pub algorithm_rng: Option<ChaCha8Rng>,
}

/// A learning rate as a function of the step index.
type LrFn = Box<dyn FnMut(u64) -> f64 + Send>;

/// The training loop's dynamics: `W⁽ᵗ⁺¹⁾ = W⁽ᵗ⁾ − step(g_t)` with the
/// optimizer's rule, where `g_t` is the step gradient of its [`StepGradient`]
/// (plain: `∇L_{S_t}(W⁽ᵗ⁾)`; SAM, label-noise GD, mixup: see
/// [`crate::AlgorithmConfig`]) on `S_t`, the whole training set or
/// (mini-batch) the step's batch; each record adds the test metrics and
/// `‖∇L_S‖_F` on the whole set.
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
    /// The learning rate of step `t` (`[train] lr_schedule`, or
    /// [`Trainer::with_lr_schedule`]), set on the optimizer before the step.
    lr_at: Option<LrFn>,
    /// The ε of step `t` (`[train] eps_schedule`, or [`Trainer::with_eps_schedule`]).
    eps_at: Option<LrFn>,
    recorder: Option<DecompositionRecorder>,
    /// `[train] margin`: the degree `q` of the network's homogeneity.
    margin_degree: Option<f64>,
    /// Mini-batch buffers and cursor (`None`: full batch).
    batches: Option<Batches<T>>,
    /// The step of `w`.
    step: u64,
    /// The schedules of the observers of the current run.
    watching: Vec<Schedule>,
    /// How the step gradient is formed (`None`: the plain gradient, taken in place).
    gradient: Option<Box<dyn StepGradient<T>>>,
    /// The algorithm's stream.
    algo_rng: Option<ChaCha8Rng>,
    /// Its state before the current step's draws (what a checkpoint keeps).
    algo_rng_step: Option<ChaCha8Rng>,
    /// The step gradient of a full-batch run with a [`StepGradient`] (`grad`
    /// keeps `∇L_S` for the record).
    step_grad: Option<Array2<T>>,
    scratch: OracleScratch<T>,
}

impl<T: Real> std::fmt::Debug for Trainer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("optimizer", &self.opt.name())
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl<T: Real> Trainer<T> {
    /// Set up a run on `ds` from `W⁽⁰⁾ = w0` (shape `2m × d`). With
    /// `cfg.decompose`, a [`DecompositionRecorder`] observes every record.
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
        let recorder = if cfg.decompose {
            Some(DecompositionRecorder::new(ds, cast::<T, f64>(w0.view()).view())?)
        } else {
            None
        };
        if let Some(mb) = cfg.batch {
            mb.validate(train.n())?;
        }
        let margin_degree = match (cfg.margin, model.activation.homogeneity()) {
            (false, _) => None,
            (true, Some(q)) => Some(q),
            (true, None) => {
                return Err(TrainError::InvalidParam {
                    field: "margin",
                    value: "true".into(),
                    reason: "the normalized margin needs a homogeneous activation (not huber_relu)",
                });
            }
        };
        let gradient: Option<Box<dyn StepGradient<T>>> =
            (!cfg.algorithm.is_plain()).then(|| Box::new(BuiltinGradient(cfg.algorithm)) as Box<dyn StepGradient<T>>);
        let full_batch = cfg.batch.is_none_or(|mb| mb.is_full(train.n()));
        let lr_at: Option<LrFn> = (!cfg.lr_schedule.is_constant()).then(|| {
            let (base, schedule, steps) = (opt.learning_rate(), cfg.lr_schedule, cfg.max_steps);
            Box::new(move |t| base * schedule.factor(t, steps)) as LrFn
        });
        let eps_at: Option<LrFn> = match (cfg.eps_schedule.is_constant(), opt.eps()) {
            (true, _) => None,
            (false, Some(base)) => {
                let (schedule, steps) = (cfg.eps_schedule, cfg.max_steps);
                Some(Box::new(move |t| base * schedule.factor(t, steps)))
            }
            (false, None) => {
                return Err(TrainError::InvalidParam {
                    field: "eps_schedule",
                    value: format!("{:?}", cfg.eps_schedule),
                    reason: "the optimizer has no ε (an adaptive rule has one)",
                });
            }
        };
        Ok(Trainer {
            lr_at,
            eps_at,
            step_grad: (full_batch && gradient.is_some()).then(|| Array2::zeros(w0.dim())),
            scratch: OracleScratch::new(w0.dim()),
            gradient,
            algo_rng: None,
            algo_rng_step: None,
            ws_train: Workspace::for_batch(&train, model.m),
            ws_test: Workspace::for_batch(&test, model.m),
            grad: Array2::zeros(w0.dim()),
            w: w0,
            cnn,
            train,
            test,
            opt,
            cfg,
            recorder,
            margin_degree,
            batches: None,
            step: 0,
            watching: vec![],
        })
    }

    /// Give a mini-batch run (`cfg.batch` with `B < n`) its stream: the
    /// batch orders are drawn from a ChaCha8 stream seeded from `rng` (one
    /// draw), so a cell's stream fixes them. Needed before [`Trainer::run`]
    /// of a mini-batch run; a full-batch run ignores it (draws nothing).
    pub fn with_stream<R: rand::Rng + ?Sized>(mut self, rng: &mut R) -> Self {
        let draws = self.gradient.as_ref().is_some_and(|g| g.needs_stream());
        let (cursor, algo) = run_streams(rng, self.cfg.batch, self.train.n(), draws);
        if let (Some(mb), Some(cursor)) = (self.cfg.batch, cursor) {
            self.batches = Some(Batches::new(&self.train, self.cnn.m, mb, cursor, self.w.dim()));
        }
        self.algo_rng = algo;
        self
    }

    /// Form the step gradient with `gradient` (an algorithm written outside
    /// the crate, or a built-in one) instead of the config's
    /// `[train] algorithm`. Call before [`Trainer::with_stream`].
    pub fn with_gradient(mut self, gradient: Box<dyn StepGradient<T>>) -> Self {
        let full_batch = self.cfg.batch.is_none_or(|mb| mb.is_full(self.train.n()));
        self.step_grad = full_batch.then(|| Array2::zeros(self.w.dim()));
        self.gradient = Some(gradient);
        self
    }

    /// The state to continue this run from later: call it from an
    /// observer (between a step's evaluation and the step itself).
    /// Fails only if the optimizer cannot save its state.
    pub fn checkpoint(&self) -> Result<Checkpoint<T>, TrainError> {
        Ok(Checkpoint {
            step: self.step,
            w: self.w.clone(),
            optimizer: self.opt.save_state()?,
            batches: self.batches.as_ref().map(|b| b.cursor.clone()),
            algorithm_rng: self.algo_rng_step.clone().or_else(|| self.algo_rng.clone()),
        })
    }

    /// Set up the continuation of a run from `ckpt` (made with the same data
    /// set, model, optimizer config and training config): [`Trainer::run`]
    /// then gives the records from step `ckpt.step` on and the final weights
    /// of the uninterrupted run, bit for bit.
    pub fn resume(
        ds: &Dataset,
        model: &CnnConfig,
        mut opt: Box<dyn Optimizer<T> + Send>,
        cfg: TrainConfig,
        ckpt: Checkpoint<T>,
        w0: ArrayView2<'_, f64>,
    ) -> Result<Self, TrainError> {
        opt.restore_state(&ckpt.optimizer)?;
        let mut t = Trainer::new(ds, model, cast::<f64, T>(w0), opt, cfg)?;
        if ckpt.w.dim() != t.w.dim() {
            return Err(ModelError::Shape {
                what: "checkpoint w",
                expected: format!("{:?}", t.w.shape()),
                got: format!("{:?}", ckpt.w.shape()),
            }
            .into());
        }
        t.w = ckpt.w;
        t.step = ckpt.step;
        t.algo_rng = ckpt.algorithm_rng;
        match (t.cfg.batch.filter(|mb| !mb.is_full(t.train.n())), ckpt.batches) {
            (Some(mb), Some(cursor)) => {
                let mut b = Batches::new(&t.train, t.cnn.m, mb, cursor, t.w.dim());
                b.reuse = true;
                t.batches = Some(b);
            }
            (None, None) => {}
            _ => {
                return Err(TrainError::InvalidParam {
                    field: "batch",
                    value: format!("{:?}", t.cfg.batch),
                    reason: "the checkpoint was taken with a different batch setting",
                });
            }
        }
        Ok(t)
    }

    /// Whether step `t` needs the whole training set's metrics (recorded,
    /// observed, last, or checked against a loss or error target).
    fn needs_all(&self, t: u64) -> bool {
        self.cfg.target_loss.is_some()
            || self.cfg.target_error.is_some()
            || t >= self.cfg.max_steps
            || self.cfg.record.fires(t)
            || self.watching.iter().any(|s| s.fires(t))
    }

    /// `min_i y_i f(W, x_i) / ‖W‖_F^q` on the training set, for a network
    /// homogeneous of degree `q` in `W` (`docs/theory.md#the-networks-normalized-margin`;
    /// Lyu & Li, ICLR 2020). One forward pass, in the training workspace
    /// (which the next step does not read).
    fn normalized_margin(&mut self, q: f64) -> Result<f64, TrainError> {
        let f = self.cnn.forward(&self.w, &self.train, &mut self.ws_train)?;
        let smallest =
            gengap_analysis::margin::smallest(f.iter().zip(self.train.y.iter()).map(|(f, y)| (*f * *y).to_f64c()));
        let norm = self.w.iter().map(|v| v.to_f64c().powi(2)).sum::<f64>().sqrt();
        Ok(smallest / norm.powf(q))
    }

    /// Set the learning rate of each step from `lr(t)`, `t = 0, 1, …` the
    /// index of the step about to be taken (replacing `[train]
    /// lr_schedule`): any schedule, e.g. from Python. A rate the optimizer
    /// refuses (not finite, `≤ 0`) ends the run with its error.
    pub fn with_lr_schedule(mut self, lr: impl FnMut(u64) -> f64 + Send + 'static) -> Self {
        self.lr_at = Some(Box::new(lr));
        self
    }

    /// Set the `ε` of each step from `eps(t)` (replacing `[train]
    /// eps_schedule`); an optimizer without ε, or a value it refuses, ends
    /// the run with its error.
    pub fn with_eps_schedule(mut self, eps: impl FnMut(u64) -> f64 + Send + 'static) -> Self {
        self.eps_at = Some(Box::new(eps));
        self
    }

    /// Current weights.
    pub fn weights(&self) -> &Array2<T> {
        &self.w
    }

    /// The weights, to change from outside the step (a SAM-like wrapper
    /// that moves to an ascent point, evaluates there and moves back).
    /// [`Dynamics::evaluate`] takes the gradient at the weights as they are
    /// then, and [`Dynamics::advance`] steps the weights as they are then
    /// with the gradient of the last evaluation.
    pub fn weights_mut(&mut self) -> &mut Array2<T> {
        &mut self.w
    }

    /// The gradient the next [`Dynamics::advance`] steps with: the step
    /// gradient of the last [`Dynamics::evaluate`] (the loss gradient on the
    /// step's samples, or the [`StepGradient`]'s).
    pub fn step_gradient(&self) -> &Array2<T> {
        self.step_grad.as_ref().unwrap_or(&self.grad)
    }

    /// The current step `t`.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer<T> {
        self.opt.as_ref()
    }

    /// Run to the config's stopping rule, recording on its schedule, with
    /// the extra `watchers`; returns the record and the final weights.
    pub fn run(mut self, watchers: &mut [Watch<'_, Self>]) -> Result<(RunRecord, Array2<T>), TrainError> {
        if self.batches.is_none() && self.cfg.batch.is_some_and(|mb| !mb.is_full(self.train.n())) {
            return Err(TrainError::InvalidParam {
                field: "batch",
                value: format!("{:?}", self.cfg.batch),
                reason: "mini-batch training draws its batches from the run's stream: call Trainer::with_stream (or train_from_stream)",
            });
        }
        if let Some(g) = self
            .gradient
            .as_ref()
            .filter(|g| g.needs_stream() && self.algo_rng.is_none())
        {
            return Err(TrainError::InvalidParam {
                field: "algorithm",
                value: g.name().to_string(),
                reason: "draws from the run's stream: call Trainer::with_stream (or train_from_stream)",
            });
        }
        let mut recorder = self.recorder.take();
        let (stop, schedule) = (self.cfg.stop(), self.cfg.record);
        self.watching = watchers.iter().map(|w| w.schedule).collect();
        let first = self.step;
        let mut run = {
            let mut all: Vec<Watch<'_, Self>> = watchers
                .iter_mut()
                .map(|w| Watch::new(&mut *w.observer, w.schedule))
                .collect();
            if let Some(r) = recorder.as_mut() {
                all.push(Watch::new(r, schedule));
            }
            drive_from(&mut self, first, stop, schedule, &mut all)?
        };
        if let Some(r) = recorder {
            r.fill(&mut run.records);
        }
        Ok((run, self.w))
    }
}

impl<T: Real> Dynamics for Trainer<T> {
    /// Full batch: the loss, error and gradient on the whole training set.
    /// Mini-batch: the step's batch gradient, and the whole set's metrics
    /// (and gradient, for the record) where they are needed; elsewhere the
    /// batch's metrics, which only the divergence check reads.
    fn evaluate(&mut self) -> Result<Metrics, TrainError> {
        let all = self.needs_all(self.step);
        // A checkpoint taken after this evaluation resumes with this step's draws.
        self.algo_rng_step.clone_from(&self.algo_rng);
        let Some(b) = self.batches.as_mut() else {
            let met = self
                .cnn
                .loss_grad(&self.w, &self.train, &mut self.ws_train, &mut self.grad)?;
            if let (Some(g), Some(out)) = (self.gradient.as_mut(), self.step_grad.as_mut()) {
                let mut oracle = GradientOracle {
                    cnn: &self.cnn,
                    batch: &self.train,
                    ws: &mut self.ws_train,
                    at_w: Some((&self.grad, met)),
                    scratch: &mut self.scratch,
                };
                g.gradient(&mut oracle, &self.w, self.algo_rng.as_mut(), out)?;
            }
            return Ok(met);
        };
        let whole = if all {
            Some(
                self.cnn
                    .loss_grad(&self.w, &self.train, &mut self.ws_train, &mut b.grad_all)?,
            )
        } else {
            None
        };
        let (batch, ws) = b.fill(&self.train);
        let met = match self.gradient.as_mut() {
            None => self.cnn.loss_grad(&self.w, batch, ws, &mut self.grad)?,
            Some(g) => {
                let mut oracle = GradientOracle {
                    cnn: &self.cnn,
                    batch,
                    ws,
                    at_w: None,
                    scratch: &mut self.scratch,
                };
                g.gradient(&mut oracle, &self.w, self.algo_rng.as_mut(), &mut self.grad)?
            }
        };
        Ok(whole.unwrap_or(met))
    }

    fn advance(&mut self) -> Result<(), TrainError> {
        if let Some(f) = self.lr_at.as_mut() {
            self.opt.set_learning_rate(f(self.step))?;
        }
        if let Some(f) = self.eps_at.as_mut() {
            self.opt.set_eps(f(self.step))?;
        }
        let (w, g) = (
            self.w.as_slice_mut().expect("standard layout"),
            self.step_grad
                .as_ref()
                .unwrap_or(&self.grad)
                .as_slice()
                .expect("standard layout"),
        );
        self.opt.step(w, g)?;
        self.step += 1;
        Ok(())
    }

    /// `‖W‖_F²` finite, in the run's precision.
    fn healthy(&self) -> bool {
        crate::driver::squares_finite(self.w.iter().copied())
    }

    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
        let test = self.cnn.evaluate(&self.w, &self.test, &mut self.ws_test)?;
        let grad = self.batches.as_ref().map_or(&self.grad, |b| &b.grad_all);
        let grad_norm = grad.iter().map(|g| g.to_f64c().powi(2)).sum::<f64>().sqrt();
        let normalized_margin = match self.margin_degree {
            Some(q) => Some(self.normalized_margin(q)?),
            None => None,
        };
        Ok(Record {
            step,
            train,
            test,
            grad_norm,
            summary: None,
            normalized_margin,
        })
    }
}

/// The signal–noise decomposition of the weights at each observed step
/// (`docs/theory.md#signal-noise-decomposition`), as an observer of a
/// [`Trainer`]; [`DecompositionRecorder::fill`] puts the summaries into the
/// records of the same steps.
#[derive(Debug)]
pub struct DecompositionRecorder {
    decomposer: Decomposer,
    summaries: Vec<(u64, Summary)>,
}

impl DecompositionRecorder {
    /// On the basis of `ds` and the initial weights `w0` (f64).
    pub fn new(ds: &Dataset, w0: ArrayView2<f64>) -> Result<Self, TrainError> {
        Ok(DecompositionRecorder {
            decomposer: Decomposer::new(Basis::from_dataset(ds), w0)?,
            summaries: vec![],
        })
    }

    /// Decompose `w` (f64, the weights of step `step`) and keep its summary;
    /// weights that are not all finite are skipped (a diverged run's). What
    /// [`Observer::observe`] calls; code that steps its own weights calls it
    /// directly.
    pub fn record_weights(&mut self, step: u64, w: ArrayView2<f64>) -> Result<(), TrainError> {
        if w.iter().all(|v| v.is_finite()) {
            let dec = self.decomposer.decompose(w)?;
            self.summaries.push((step, dec.summary(self.decomposer.basis())));
        }
        Ok(())
    }

    /// The summaries so far, by step.
    pub fn summaries(&self) -> &[(u64, Summary)] {
        &self.summaries
    }

    /// Set `summary` of every record whose step was observed.
    pub fn fill(&self, records: &mut [Record]) {
        for r in records {
            r.summary = self
                .summaries
                .iter()
                .find(|(s, _)| *s == r.step)
                .map(|(_, summary)| *summary);
        }
    }
}

impl<D: WeightsOf + ?Sized> Observer<D> for DecompositionRecorder {
    /// Decomposes finite weights (a diverged run's are not), of any dynamics
    /// that can give them.
    fn observe(&mut self, dynamics: &D, record: &Record) -> Result<(), TrainError> {
        if let Some(w) = dynamics.weights_f64() {
            self.record_weights(record.step, w.view())?;
        }
        Ok(())
    }
}

impl<T: Real> WeightsOf for Trainer<T> {
    fn weights_f64(&self) -> Option<Array2<f64>> {
        Some(cast::<T, f64>(self.w.view()))
    }
}
