//! Full-batch training of the linear classifier `f(x) = ⟨w, x⟩`
//! ([`gengap_model::LinearData`], `docs/theory.md#the-linear-model`) with
//! any optimizer, as a [`Dynamics`] of the one driver, with an optional
//! polynomially decaying learning rate `η_t = η₀·(t + 1)^{−a}` (the schedules
//! of Zhang, Zou, Cao, NeurIPS 2024, `η_t = Θ(t^{−a})`, `a ∈ (0, 1]`).

use gengap_model::{LinearData, Loss, Metrics, Real};
use gengap_optim::Optimizer;

use crate::{Dynamics, Record, TrainError};

/// `W ← W − step(∇L(w))` with the optimizer's rule, on the whole training set.
pub struct LinearTrainer<T: Real> {
    train: LinearData<T>,
    test: Option<LinearData<T>>,
    w: Vec<T>,
    grad: Vec<T>,
    margins: Vec<T>,
    test_margins: Vec<T>,
    opt: Box<dyn Optimizer<T> + Send>,
    loss: Loss,
    lr0: f64,
    decay: f64,
    step: u64,
}

impl<T: Real> std::fmt::Debug for LinearTrainer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearTrainer")
            .field("optimizer", &self.opt.name())
            .field("n", &self.train.n())
            .field("dim", &self.train.dim())
            .field("lr_decay", &self.decay)
            .field("step", &self.step)
            .finish()
    }
}

impl<T: Real> LinearTrainer<T> {
    /// Train from `w0` (length `D`) on `train`; `test` (same `D`) is
    /// evaluated at each record. The learning rate is the optimizer's,
    /// constant until [`LinearTrainer::with_lr_decay`].
    ///
    /// ```
    /// use gengap_model::{LinearData, Loss};
    /// use gengap_optim::OptimConfig;
    /// use gengap_train::{LinearTrainer, Schedule, Stop, drive};
    /// use ndarray::array;
    ///
    /// let train = LinearData::<f64>::new(array![[1.0, 0.5], [-0.5, -1.0]].view(), &[1.0, -1.0]).unwrap();
    /// let opt = Box::new(OptimConfig::gd(1.0).build::<f64>().unwrap());
    /// let mut t = LinearTrainer::new(train, None, vec![0.0, 0.0], opt, Loss::Logistic).unwrap();
    /// let run = drive(&mut t, Stop::to_loss(10_000, 1e-3), Schedule::End, &mut []).unwrap();
    /// assert!(run.last().unwrap().train.loss <= 1e-3);
    /// ```
    pub fn new(
        train: LinearData<T>,
        test: Option<LinearData<T>>,
        w0: Vec<T>,
        opt: Box<dyn Optimizer<T> + Send>,
        loss: Loss,
    ) -> Result<Self, TrainError> {
        let d = train.dim();
        if w0.len() != d {
            return Err(gengap_model::ModelError::Shape {
                what: "linear-model w0",
                expected: d.to_string(),
                got: w0.len().to_string(),
            }
            .into());
        }
        if let Some(t) = &test
            && t.dim() != d
        {
            return Err(gengap_model::ModelError::Shape {
                what: "linear-model test set",
                expected: format!("dimension {d}"),
                got: t.dim().to_string(),
            }
            .into());
        }
        let lr0 = opt.learning_rate();
        Ok(LinearTrainer {
            margins: vec![T::zero(); train.n()],
            test_margins: vec![T::zero(); test.as_ref().map_or(0, |t| t.n())],
            grad: vec![T::zero(); d],
            train,
            test,
            w: w0,
            opt,
            loss,
            lr0,
            decay: 0.0,
            step: 0,
        })
    }

    /// Decay the learning rate as `η_t = η₀·(t + 1)^{−a}` for the step from
    /// `t` to `t + 1` (`η₀` the optimizer's, `a = power ∈ [0, 1]`; 0: constant).
    pub fn with_lr_decay(mut self, power: f64) -> Result<Self, TrainError> {
        if !(0.0..=1.0).contains(&power) {
            return Err(TrainError::InvalidParam {
                field: "lr_decay",
                value: power.to_string(),
                reason: "must be in [0, 1]",
            });
        }
        self.decay = power;
        Ok(self)
    }

    /// The current weights `w⁽ᵗ⁾`.
    pub fn weights(&self) -> &[T] {
        &self.w
    }

    /// The step `t` of the weights.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The training margins `y_i⟨w, x_i⟩` at the current weights, as the last
    /// [`Dynamics::evaluate`] computed them (what an observer sees).
    pub fn margins(&self) -> &[T] {
        &self.margins
    }

    /// The training set.
    pub fn train_data(&self) -> &LinearData<T> {
        &self.train
    }

    /// The learning rate of the step from `t`.
    pub fn lr_at(&self, t: u64) -> f64 {
        if self.decay == 0.0 {
            self.lr0
        } else {
            self.lr0 * ((t + 1) as f64).powf(-self.decay)
        }
    }
}

impl<T: Real> Dynamics for LinearTrainer<T> {
    fn evaluate(&mut self) -> Result<Metrics, TrainError> {
        Ok(self
            .train
            .loss_grad(&self.loss, &self.w, &mut self.margins, &mut self.grad))
    }

    fn advance(&mut self) -> Result<(), TrainError> {
        if self.decay != 0.0 {
            let lr = self.lr_at(self.step);
            // A learning rate that underflowed to 0 is refused, not stepped.
            self.opt.set_learning_rate(lr)?;
        }
        self.opt.step(&mut self.w, &self.grad)?;
        self.step += 1;
        Ok(())
    }

    /// `‖w‖²` finite, in the run's precision.
    fn healthy(&self) -> bool {
        crate::driver::squares_finite(self.w.iter().copied())
    }

    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
        let test = match &self.test {
            Some(t) => t.metrics(&self.loss, &self.w, &mut self.test_margins),
            None => Metrics {
                loss: f64::NAN,
                error: f64::NAN,
            },
        };
        let grad_norm = self.grad.iter().map(|g| g.to_f64c().powi(2)).sum::<f64>().sqrt();
        Ok(Record {
            step,
            train,
            test,
            grad_norm,
            summary: None,
            normalized_margin: None,
        })
    }
}
