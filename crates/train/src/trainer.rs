//! The full-space training dynamics of the two-layer CNN with any optimizer,
//! and the decomposition recorder, an [`Observer`] of it.

use gengap_analysis::{Basis, Decomposer, Summary};
use gengap_data::Dataset;
use gengap_model::{Batch, Cnn, CnnConfig, Metrics, ModelError, Real, Workspace, cast};
use gengap_optim::Optimizer;
use ndarray::{Array2, ArrayView2};

use crate::{Dynamics, Observer, Record, RunRecord, TrainConfig, TrainError, Watch, drive};

/// The training loop's dynamics: `W⁽ᵗ⁺¹⁾ = W⁽ᵗ⁾ − step(∇L_S(W⁽ᵗ⁾))` with the
/// optimizer's rule; each record adds the test metrics and `‖∇L_S‖_F`.
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
    recorder: Option<DecompositionRecorder>,
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
            recorder,
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

    /// Run to the config's stopping rule, recording on its schedule, with
    /// the extra `watchers`; returns the record and the final weights.
    pub fn run(mut self, watchers: &mut [Watch<'_, Self>]) -> Result<(RunRecord, Array2<T>), TrainError> {
        let mut recorder = self.recorder.take();
        let (stop, schedule) = (self.cfg.stop(), self.cfg.record);
        let mut run = {
            let mut all: Vec<Watch<'_, Self>> = watchers
                .iter_mut()
                .map(|w| Watch::new(&mut *w.observer, w.schedule))
                .collect();
            if let Some(r) = recorder.as_mut() {
                all.push(Watch::new(r, schedule));
            }
            drive(&mut self, stop, schedule, &mut all)?
        };
        if let Some(r) = recorder {
            r.fill(&mut run.records);
        }
        Ok((run, self.w))
    }
}

impl<T: Real> Dynamics for Trainer<T> {
    fn evaluate(&mut self) -> Result<Metrics, TrainError> {
        Ok(self
            .cnn
            .loss_grad(&self.w, &self.train, &mut self.ws_train, &mut self.grad)?)
    }

    fn advance(&mut self) -> Result<(), TrainError> {
        let (w, g) = (
            self.w.as_slice_mut().expect("standard layout"),
            self.grad.as_slice().expect("standard layout"),
        );
        Ok(self.opt.step(w, g)?)
    }

    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
        let test = self.cnn.evaluate(&self.w, &self.test, &mut self.ws_test)?;
        let grad_norm = self.grad.iter().map(|g| g.to_f64c().powi(2)).sum::<f64>().sqrt();
        Ok(Record {
            step,
            train,
            test,
            grad_norm,
            summary: None,
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

impl<T: Real> Observer<Trainer<T>> for DecompositionRecorder {
    /// Decomposes finite weights (a diverged run's are not).
    fn observe(&mut self, trainer: &Trainer<T>, record: &Record) -> Result<(), TrainError> {
        let w = trainer.weights();
        if w.iter().all(|v| v.is_finite()) {
            let w = cast::<T, f64>(w.view());
            let dec = self.decomposer.decompose(w.view())?;
            self.summaries.push((record.step, dec.summary(self.decomposer.basis())));
        }
        Ok(())
    }
}
