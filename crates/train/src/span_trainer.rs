//! [`SpanTrainer`]: any span-preserving algorithm ([`SpanAlgorithm`]), exact
//! in the reduced space, as [`Dynamics`]: the same driver, stopping rule,
//! records, mini-batch orders and streams as the full-space [`crate::Trainer`]
//! (`docs/theory.md#span-preserving-algorithms`).

use gengap_analysis::{Decomposition, SpanDirection, SpanPoint, SpanProblem, SpanWorkspace, Targets};
use gengap_data::{BlockedC22, Dataset};
use gengap_model::{CnnConfig, Metrics};
use gengap_optim::OptimConfig;
use ndarray::{Array2, ArrayView2};
use rand_chacha::ChaCha8Rng;

use crate::minibatch::run_streams;
use crate::{
    BatchCursor, Dynamics, MiniBatch, Precision, Record, RunRecord, SpanAlgorithm, SpanSgd, SpanStep, TrainConfig,
    TrainError, Watch, drive_from,
};

/// A reduced-space run: a [`SpanProblem`], the current [`SpanPoint`] and a
/// [`SpanAlgorithm`] (the built-in [`SpanSgd`] from the optimizer and
/// `[train] algorithm` tables, or outside code's), stepped by the driver.
///
/// ```
/// use gengap_data::{C22Params, DataConfig, rng};
/// use gengap_model::CnnConfig;
/// use gengap_optim::OptimConfig;
/// use gengap_train::{AlgorithmConfig, SpanTrainer, TrainConfig};
///
/// let ds = DataConfig::C22(C22Params { d: 300, n: 10, n_test: 50, mu_norm: 8.0, ..Default::default() })
///     .generate(&mut rng::stream(4, 0))
///     .unwrap();
/// let model = CnnConfig { m: 3, ..Default::default() };
/// let w0 = model.init::<f64, _>(300, &mut rng::stream(4, 1)).unwrap();
/// let cfg = TrainConfig { algorithm: AlgorithmConfig::Sam { rho: 0.05, normalized: true }, ..TrainConfig::steps(50) };
/// let run = SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::sgd_momentum(0.5, 0.9), cfg)
///     .unwrap()
///     .run(&mut [])
///     .unwrap();
/// assert!(run.last().unwrap().train.loss < run.records[0].train.loss);
/// ```
pub struct SpanTrainer {
    problem: SpanProblem,
    point: SpanPoint,
    ws: SpanWorkspace,
    /// `Γ` of the whole set at `point` (the last evaluation).
    grad: SpanDirection,
    met: Metrics,
    algorithm: Box<dyn SpanAlgorithm>,
    cfg: TrainConfig,
    batches: Option<(MiniBatch, BatchCursor)>,
    rng: Option<ChaCha8Rng>,
    step: u64,
}

impl std::fmt::Debug for SpanTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanTrainer")
            .field("algorithm", &self.algorithm.name())
            .field("step", &self.step)
            .finish()
    }
}

impl SpanTrainer {
    /// Set up from a data set, the model, `W⁽⁰⁾` (`2m × d`), a span-preserving
    /// optimizer (`gd` or `sgd_momentum`, any weight decay; else
    /// [`TrainError::NotSpanPreserving`]) and the training config, whose
    /// `algorithm` and `batch` tables it runs ([`SpanSgd`]). Runs in f64
    /// (`precision = "f32"` is refused).
    pub fn new(
        ds: &Dataset,
        model: &CnnConfig,
        w0: ArrayView2<f64>,
        opt: &OptimConfig,
        cfg: TrainConfig,
    ) -> Result<Self, TrainError> {
        cfg.validate_for(ds.train.n())?;
        let algorithm = SpanSgd::new(cfg.algorithm, opt)?;
        Self::with_algorithm(SpanProblem::new(ds, model, w0)?, Box::new(algorithm), cfg)
    }

    /// [`SpanTrainer::new`] on Gram products alone ([`SpanProblem::from_blocked`]).
    pub fn from_blocked(
        bl: &BlockedC22,
        model: &CnnConfig,
        opt: &OptimConfig,
        cfg: TrainConfig,
    ) -> Result<Self, TrainError> {
        cfg.validate_for(bl.y.len())?;
        let algorithm = SpanSgd::new(cfg.algorithm, opt)?;
        Self::with_algorithm(SpanProblem::from_blocked(bl, model)?, Box::new(algorithm), cfg)
    }

    /// Any [`SpanAlgorithm`] on a problem (`cfg.algorithm` is not read: the
    /// algorithm is `algorithm`; `cfg.batch` gives the step's rows).
    pub fn with_algorithm(
        problem: SpanProblem,
        algorithm: Box<dyn SpanAlgorithm>,
        cfg: TrainConfig,
    ) -> Result<Self, TrainError> {
        cfg.validate_for(problem.n())?;
        if cfg.precision != Precision::F64 {
            return Err(TrainError::InvalidParam {
                field: "precision",
                value: "f32".into(),
                reason: "the reduced engine computes in f64",
            });
        }
        if cfg.margin {
            return Err(TrainError::InvalidParam {
                field: "margin",
                value: "true".into(),
                reason: "the normalized margin is recorded by the full-space trainer only",
            });
        }
        if !cfg.eps_schedule.is_constant() {
            return Err(TrainError::InvalidParam {
                field: "eps_schedule",
                value: format!("{:?}", cfg.eps_schedule),
                reason: "the span-preserving rules have no ε",
            });
        }
        if !cfg.lr_schedule.is_constant() {
            return Err(TrainError::InvalidParam {
                field: "lr_schedule",
                value: format!("{:?}", cfg.lr_schedule),
                reason: "learning-rate schedules run in the full-space trainer only; the reduced engine's update keeps one rate (a SpanAlgorithm may vary its own)",
            });
        }
        Ok(SpanTrainer {
            point: problem.start(),
            ws: problem.workspace(),
            grad: problem.zero_direction(),
            met: Metrics {
                loss: f64::NAN,
                error: f64::NAN,
            },
            problem,
            algorithm,
            cfg,
            batches: None,
            rng: None,
            step: 0,
        })
    }

    /// Give the run its streams, drawn from `rng` exactly as
    /// [`crate::Trainer::with_stream`] draws them (the batch order first, then
    /// the algorithm's stream), so both spaces see the same batches, flips and
    /// mixup pairs. A full-batch run of a deterministic algorithm draws nothing.
    pub fn with_stream<R: rand::Rng + ?Sized>(mut self, rng: &mut R) -> Self {
        let (cursor, algo) = run_streams(rng, self.cfg.batch, self.problem.n(), self.algorithm.needs_stream());
        self.batches = cursor.map(|c| (self.cfg.batch.expect("a cursor only for a batch"), c));
        self.rng = algo;
        self
    }

    /// The data and pieces.
    pub fn problem(&self) -> &SpanProblem {
        &self.problem
    }

    /// The current point.
    pub fn point(&self) -> &SpanPoint {
        &self.point
    }

    /// The algorithm.
    pub fn algorithm(&self) -> &dyn SpanAlgorithm {
        self.algorithm.as_ref()
    }

    /// Training metrics at the current point.
    pub fn train_metrics(&mut self) -> Metrics {
        self.problem.metrics(&self.point, &mut self.ws)
    }

    /// Test metrics at the current point (NaN from blocked products).
    pub fn test_metrics(&mut self) -> Metrics {
        self.problem.test_metrics(&self.point, &mut self.ws)
    }

    /// Steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The full-space weights at the current point (`None` from blocked products).
    pub fn weights(&self) -> Option<Array2<f64>> {
        self.problem.weights(&self.point)
    }

    /// The exact decomposition at the current point.
    pub fn decomposition(&self) -> Decomposition {
        self.problem.decomposition(&self.point)
    }

    /// Run to the config's stopping rule with the extra `watchers`.
    pub fn run(&mut self, watchers: &mut [Watch<'_, Self>]) -> Result<RunRecord, TrainError> {
        let needs_batches = self.cfg.batch.is_some_and(|mb| !mb.is_full(self.problem.n()));
        if (needs_batches && self.batches.is_none()) || (self.algorithm.needs_stream() && self.rng.is_none()) {
            return Err(TrainError::InvalidParam {
                field: if needs_batches { "batch" } else { "algorithm" },
                value: self.algorithm.name().to_string(),
                reason: "this run draws from its stream: call SpanTrainer::with_stream",
            });
        }
        let (stop, schedule) = (self.cfg.stop(), self.cfg.record);
        let first = self.step;
        drive_from(self, first, stop, schedule, watchers)
    }
}

impl crate::WeightsOf for SpanTrainer {
    fn weights_f64(&self) -> Option<Array2<f64>> {
        self.weights()
    }
}

impl Dynamics for SpanTrainer {
    /// The whole set's metrics and loss gradient at the point (what the
    /// stopping rule and a full-batch step need).
    fn evaluate(&mut self) -> Result<Metrics, TrainError> {
        self.met = self
            .problem
            .gradient(&self.point, Targets::all(), &mut self.ws, &mut self.grad)?;
        Ok(self.met)
    }

    /// The coordinates' and inner products' squares sum to a finite value.
    fn healthy(&self) -> bool {
        self.point.in_range()
    }

    fn advance(&mut self) -> Result<(), TrainError> {
        let n = self.problem.n();
        let rows = self.batches.as_mut().map(|(mb, c)| c.advance(n, *mb));
        let mut ctx = SpanStep {
            problem: &self.problem,
            point: &mut self.point,
            ws: &mut self.ws,
            full_gradient: &self.grad,
            full_metrics: self.met,
            rows,
            rng: self.rng.as_mut(),
        };
        self.algorithm.step(&mut ctx)?;
        self.step += 1;
        Ok(())
    }

    /// Test metrics through the cross-Gram, `‖∇L_S‖_F` from the Gram matrix,
    /// and (with `decompose`) the exact decomposition's summary.
    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
        let summary = (self.cfg.decompose && self.point.is_finite())
            .then(|| self.problem.decomposition(&self.point).summary(self.problem.basis()));
        Ok(Record {
            step,
            train,
            test: self.problem.test_metrics(&self.point, &mut self.ws),
            grad_norm: self.problem.grad_norm(&self.grad),
            summary,
            normalized_margin: None,
        })
    }
}
