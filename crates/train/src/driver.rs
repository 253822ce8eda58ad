//! The one training driver: any [`Dynamics`] (the full-space trainer, the
//! exact reduced-space GD solver, a toy model) is stepped by [`drive`] with
//! one stopping rule ([`Stop`]), one vocabulary for how a run ended
//! ([`Status`]), records on a [`Schedule`], and [`Observer`]s on their own
//! schedules (argmin's `Executor` with observers).
//!
//! Each iteration: evaluate the training metrics at `W⁽ᵗ⁾` (and prepare the
//! step); stop if the loss is not finite or the weights left the
//! floating-point range ([`Dynamics::healthy`]) ([`Status::Diverged`]), the loss or
//! the error is at most its target ([`Status::Converged`]) or `t = max_steps` ([`Status::MaxSteps`]);
//! record and observe if the schedules say so (always at the last step);
//! otherwise step to `W⁽ᵗ⁺¹⁾`. The run therefore ends at the first iterate
//! that meets the stopping rule, and its last record is at the final weights
//! (`docs/theory.md#training-to-a-stopping-rule`).

use gengap_analysis::Summary;
use gengap_model::Metrics;
use serde::{Deserialize, Serialize};

use crate::{Schedule, TrainError};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The training loss (or error) reached its target.
    Converged,
    /// `max_steps` taken without reaching the target (or with no target).
    MaxSteps,
    /// The loss became NaN or infinite.
    Diverged,
    /// An observer asked to stop (returned [`TrainError::StopRequested`]),
    /// e.g. a Python callback: the run ends cleanly at that record.
    Stopped,
}

impl Status {
    /// The error to count for a run that ended with `self` and measured
    /// `error`: `1` (every prediction wrong) for a diverged run or a
    /// non-finite error, so that a diverged run never reads as a good one in
    /// a mean, a table or a figure; `error` otherwise.
    ///
    /// ```
    /// use gengap_train::Status;
    /// assert_eq!(Status::Converged.scored(0.1), 0.1);
    /// assert_eq!(Status::Diverged.scored(0.0), 1.0);
    /// assert_eq!(Status::MaxSteps.scored(f64::NAN), 1.0);
    /// ```
    pub fn scored(self, error: f64) -> f64 {
        if self == Status::Diverged || !error.is_finite() {
            1.0
        } else {
            error
        }
    }
}

/// The metrics at one recorded step `t` (at the weights `W⁽ᵗ⁾`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Step.
    pub step: u64,
    /// Training loss and error.
    pub train: Metrics,
    /// Test loss and error (NaN where the dynamics has no test split).
    pub test: Metrics,
    /// `‖∇L_S(W⁽ᵗ⁾)‖_F` (without weight decay).
    #[serde(with = "gengap_model::nonfinite")]
    pub grad_norm: f64,
    /// Decomposition summaries, when recorded.
    pub summary: Option<Summary>,
    /// The normalized margin `min_i y_i f(W, x_i) / ‖W‖_F^q` of a network
    /// homogeneous of degree `q` in `W` (`[train] margin = true`,
    /// `docs/theory.md#the-networks-normalized-margin`); `None` when not
    /// recorded (a non-finite value is written as null and read back as `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized_margin: Option<f64>,
}

impl Record {
    /// Whether every quantity the driver recorded is a number in range: the
    /// training loss and error, the gradient norm and (when recorded) the
    /// normalized margin finite, and the test metrics finite or both NaN
    /// (a dynamics without a test split). A record that fails this is an
    /// overflow that reads as a value, and the driver ends the run as
    /// [`Status::Diverged`] (`docs/reproducibility.md#numeric-health`). The
    /// decomposition summaries are filled in after the run by their
    /// recorder and are not part of it (their residual is `0/0` at `W⁽⁰⁾`).
    ///
    /// ```
    /// use gengap_model::Metrics;
    /// use gengap_train::Record;
    /// let m = Metrics { loss: 0.5, error: 0.1 };
    /// let none = Metrics { loss: f64::NAN, error: f64::NAN };
    /// let r = Record { step: 3, train: m, test: none, grad_norm: 1.0, summary: None, normalized_margin: None };
    /// assert!(r.in_range());
    /// assert!(!Record { grad_norm: f64::INFINITY, ..r }.in_range());
    /// assert!(!Record { test: Metrics { loss: f64::INFINITY, error: 0.2 }, ..r }.in_range());
    /// assert!(!Record { normalized_margin: Some(f64::NAN), ..r }.in_range());
    /// ```
    pub fn in_range(&self) -> bool {
        let test_absent = self.test.loss.is_nan() && self.test.error.is_nan();
        self.train.loss.is_finite()
            && self.train.error.is_finite()
            && self.grad_norm.is_finite()
            && (test_absent || (self.test.loss.is_finite() && self.test.error.is_finite()))
            && self.normalized_margin.is_none_or(f64::is_finite)
    }
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
    /// The last record (at the final weights), if any.
    pub fn last(&self) -> Option<&Record> {
        self.records.last()
    }

    /// The record at the final weights, what every sweep reports of a run.
    /// The driver always records the last step, so this fails only for a
    /// hand-built or damaged record ([`TrainError::NoRecord`]).
    ///
    /// ```
    /// use gengap_train::{RunRecord, Status, TrainError};
    /// let empty = RunRecord { status: Status::MaxSteps, steps: 0, records: vec![] };
    /// assert!(matches!(empty.final_record(), Err(TrainError::NoRecord)));
    /// ```
    pub fn final_record(&self) -> Result<&Record, TrainError> {
        self.records.last().ok_or(TrainError::NoRecord)
    }
}

/// The stopping rule: at most `max_steps` steps, and (optionally) stop at the
/// first iterate whose training loss is `≤ target_loss` or whose training
/// error is `≤ target_error` (`0`: every training point fitted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    /// Step budget.
    pub max_steps: u64,
    /// Loss target.
    pub target_loss: Option<f64>,
    /// Training-error target (e.g. `Some(0.0)`: stop at interpolation).
    pub target_error: Option<f64>,
}

impl Stop {
    /// At most `max_steps` steps, no target.
    pub fn steps(max_steps: u64) -> Self {
        Stop {
            max_steps,
            target_loss: None,
            target_error: None,
        }
    }

    /// At most `max_steps` steps, or until the training loss is `≤ target`.
    pub fn to_loss(max_steps: u64, target: f64) -> Self {
        Stop {
            target_loss: Some(target),
            ..Stop::steps(max_steps)
        }
    }

    /// Whether training metrics `met` meet a target.
    fn met(&self, met: &Metrics) -> bool {
        self.target_loss.is_some_and(|t| met.loss <= t) || self.target_error.is_some_and(|t| met.error <= t)
    }
}

/// Training dynamics the driver can step.
pub trait Dynamics {
    /// The training metrics at the current weights; also prepares the next
    /// step (computes the gradient).
    fn evaluate(&mut self) -> Result<Metrics, TrainError>;
    /// Take the step prepared by the last [`Dynamics::evaluate`].
    fn advance(&mut self) -> Result<(), TrainError>;
    /// The record at the current weights, whose training metrics are `train`.
    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError>;
    /// Whether the weights are still in floating-point range: their squared
    /// norm (or, in the reduced engine, that of the coordinates and inner
    /// products) is finite. Weights beyond ~1e154 can fit the training set
    /// with a finite (even zero) loss while every quadratic quantity derived
    /// from them — a norm, a Gram product, a population error — overflows;
    /// the driver counts such a run as diverged (`docs/reproducibility.md`).
    /// Checked after every [`Dynamics::evaluate`]. Default: always healthy.
    fn healthy(&self) -> bool {
        true
    }
}

/// Whether `Σ v²` is finite (computed in `T`): the weights are in range.
pub(crate) fn squares_finite<T: gengap_model::Real>(values: impl Iterator<Item = T>) -> bool {
    values.fold(T::zero(), |a, v| a + v * v).is_finite()
}

/// Dynamics whose full-space weights `W⁽ᵗ⁾` can be read, in f64: what an
/// observer of the weights needs ([`crate::DecompositionRecorder`] watches
/// any such dynamics, an outside one included). Implemented by
/// [`crate::Trainer`], [`crate::SpanTrainer`] and the reduced GD solver.
pub trait WeightsOf {
    /// `W⁽ᵗ⁾` as a `(2m, d)` f64 array; `None` where the dynamics cannot
    /// rebuild it (the reduced engine from blocked Gram products).
    fn weights_f64(&self) -> Option<ndarray::Array2<f64>>;
}

/// Sees the dynamics and the record at the steps of its schedule.
pub trait Observer<D: ?Sized> {
    /// Called at each scheduled step (and the last), after the record is made.
    fn observe(&mut self, dynamics: &D, record: &Record) -> Result<(), TrainError>;
}

impl<D: ?Sized, F: FnMut(&Record)> Observer<D> for F {
    fn observe(&mut self, _: &D, record: &Record) -> Result<(), TrainError> {
        self(record);
        Ok(())
    }
}

/// An observer with its schedule.
pub struct Watch<'a, D: ?Sized> {
    /// The observer.
    pub observer: &'a mut dyn Observer<D>,
    /// When it is called (always also at the last step).
    pub schedule: Schedule,
}

impl<'a, D: ?Sized> Watch<'a, D> {
    /// `observer` on `schedule`.
    pub fn new(observer: &'a mut dyn Observer<D>, schedule: Schedule) -> Self {
        Watch { observer, schedule }
    }
}

impl<D: ?Sized> std::fmt::Debug for Watch<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("schedule", &self.schedule).finish()
    }
}

/// Run `dynamics` until the stopping rule fires; keep a record at every step
/// of `record` (and the last); call each watcher on its schedule (and the last).
pub fn drive<D: Dynamics>(
    dynamics: &mut D,
    stop: Stop,
    record: Schedule,
    watchers: &mut [Watch<'_, D>],
) -> Result<RunRecord, TrainError> {
    drive_from(dynamics, 0, stop, record, watchers)
}

/// [`drive`] for dynamics that are already at step `first` (resumed from a
/// checkpoint): steps, schedules and `stop.max_steps` count from the start
/// of the run, so the records continue those of the interrupted run.
pub fn drive_from<D: Dynamics>(
    dynamics: &mut D,
    first: u64,
    stop: Stop,
    record: Schedule,
    watchers: &mut [Watch<'_, D>],
) -> Result<RunRecord, TrainError> {
    let mut records = vec![];
    let mut step = first;
    loop {
        let met = dynamics.evaluate()?;
        let mut status = if !met.loss.is_finite() || !dynamics.healthy() {
            Some(Status::Diverged)
        } else if stop.met(&met) {
            Some(Status::Converged)
        } else if step >= stop.max_steps {
            Some(Status::MaxSteps)
        } else {
            None
        };
        let mut end = status.is_some();
        let keep = end || record.fires(step);
        let observe = end || watchers.iter().any(|w| w.schedule.fires(step));
        if keep || observe {
            let rec = dynamics.record(step, met)?;
            // A recorded quantity out of range (an overflowed gradient norm,
            // test loss or margin) ends the run as diverged, whatever the
            // training loss says.
            if status != Some(Status::Diverged) && !rec.in_range() {
                status = Some(Status::Diverged);
                end = true;
            }
            let mut asked = false;
            for w in watchers.iter_mut().filter(|w| end || w.schedule.fires(step)) {
                match w.observer.observe(dynamics, &rec) {
                    Ok(()) => {}
                    Err(TrainError::StopRequested) => asked = true,
                    Err(e) => return Err(e),
                }
            }
            if asked && status.is_none() {
                status = Some(Status::Stopped);
                end = true;
            }
            if keep || end {
                records.push(rec);
            }
        }
        if let Some(status) = status {
            return Ok(RunRecord {
                status,
                steps: step,
                records,
            });
        }
        if crate::interrupt::requested() {
            return Err(TrainError::Interrupted { step });
        }
        dynamics.advance()?;
        step += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gradient descent on `L(w) = w²/2 + c` from `w = 1` (loss `w²/2` when
    /// `c = 0`): `w_t = (1 − η)ᵗ`, computed independently below.
    struct Quadratic {
        w: f64,
        lr: f64,
    }

    impl Dynamics for Quadratic {
        fn evaluate(&mut self) -> Result<Metrics, TrainError> {
            Ok(Metrics {
                loss: self.w * self.w / 2.0,
                error: 0.0,
            })
        }
        fn advance(&mut self) -> Result<(), TrainError> {
            self.w -= self.lr * self.w;
            Ok(())
        }
        fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
            Ok(Record {
                step,
                train,
                test: train,
                grad_norm: self.w.abs(),
                summary: None,
                normalized_margin: None,
            })
        }
    }

    struct StopAt(u64, Vec<u64>);

    impl<D> Observer<D> for StopAt {
        fn observe(&mut self, _: &D, r: &Record) -> Result<(), TrainError> {
            self.1.push(r.step);
            if r.step >= self.0 {
                Err(TrainError::StopRequested)
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn an_observer_stops_the_run_at_its_record_and_other_errors_pass_through() {
        let mut stop = StopAt(12, vec![]);
        let mut other = vec![];
        let mut obs = |r: &Record| other.push(r.step);
        let run = drive(
            &mut Quadratic { w: 1.0, lr: 0.01 },
            Stop::steps(100),
            Schedule::Every(5),
            &mut [
                Watch::new(&mut stop, Schedule::Every(4)),
                Watch::new(&mut obs, Schedule::Every(3)),
            ],
        )
        .unwrap();
        // Asked at step 12 (the first multiple of 4 that is ≥ 12): the run
        // ends there, with the record of step 12 kept and every observer
        // due at step 12 called.
        assert_eq!((run.status, run.steps), (Status::Stopped, 12));
        assert_eq!(
            run.records.iter().map(|r| r.step).collect::<Vec<_>>(),
            vec![0, 5, 10, 12]
        );
        assert_eq!(stop.1, vec![0, 4, 8, 12]);
        assert_eq!(other, vec![0, 3, 6, 9, 12]);
        assert!((run.last().unwrap().train.loss - 0.99f64.powi(24) / 2.0).abs() < 1e-15);
        // Any other error is the run's error.
        let mut failing =
            |_: &Quadratic, _: &Record| -> Result<(), TrainError> { Err(TrainError::Interrupted { step: 0 }) };
        struct F<'a>(&'a mut dyn FnMut(&Quadratic, &Record) -> Result<(), TrainError>);
        impl Observer<Quadratic> for F<'_> {
            fn observe(&mut self, d: &Quadratic, r: &Record) -> Result<(), TrainError> {
                (self.0)(d, r)
            }
        }
        let mut f = F(&mut failing);
        let err = drive(
            &mut Quadratic { w: 1.0, lr: 0.01 },
            Stop::steps(10),
            Schedule::End,
            &mut [Watch::new(&mut f, Schedule::Every(2))],
        );
        assert!(matches!(err, Err(TrainError::Interrupted { .. })));
    }

    #[test]
    fn stops_at_the_first_iterate_meeting_the_rule_and_records_on_schedule() {
        // Converged: first t with (1 − η)^{2t}/2 ≤ target.
        let (lr, target) = (0.1f64, 1e-3);
        let first = (0..).find(|&t| (1.0 - lr).powi(2 * t) / 2.0 <= target).unwrap() as u64;
        let mut q = Quadratic { w: 1.0, lr };
        let mut seen = vec![];
        let mut obs = |r: &Record| seen.push(r.step);
        let run = drive(
            &mut q,
            Stop::to_loss(1000, target),
            Schedule::Every(10),
            &mut [Watch::new(&mut obs, Schedule::Every(25))],
        )
        .unwrap();
        assert_eq!(run.status, Status::Converged);
        assert_eq!(run.steps, first);
        let steps: Vec<u64> = run.records.iter().map(|r| r.step).collect();
        let mut want: Vec<u64> = (0..first).filter(|t| t % 10 == 0).collect();
        want.push(first);
        assert_eq!(steps, want);
        assert!((run.last().unwrap().train.loss - (1.0 - lr).powi(2 * first as i32) / 2.0).abs() < 1e-15);
        let mut want_obs: Vec<u64> = (0..first).filter(|t| t % 25 == 0).collect();
        want_obs.push(first);
        assert_eq!(seen, want_obs);

        // MaxSteps, and Diverged on a non-finite loss.
        let run = drive(&mut Quadratic { w: 1.0, lr }, Stop::steps(7), Schedule::End, &mut []).unwrap();
        assert_eq!((run.status, run.steps, run.records.len()), (Status::MaxSteps, 7, 1));
        let run = drive(
            &mut Quadratic { w: 1.0, lr: 1e200 },
            Stop::steps(100),
            Schedule::Every(1),
            &mut [],
        )
        .unwrap();
        assert_eq!(run.status, Status::Diverged);
        assert!(run.steps < 100 && !run.last().unwrap().train.loss.is_finite());
    }

    /// A loss that stays finite while the weights leave the range.
    struct Escaping(f64);

    impl Dynamics for Escaping {
        fn evaluate(&mut self) -> Result<Metrics, TrainError> {
            Ok(Metrics { loss: 0.0, error: 0.0 })
        }
        fn advance(&mut self) -> Result<(), TrainError> {
            self.0 *= 1e100;
            Ok(())
        }
        fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
            Ok(Record {
                step,
                train,
                test: train,
                grad_norm: 0.0,
                summary: None,
                normalized_margin: None,
            })
        }
        fn healthy(&self) -> bool {
            squares_finite([self.0].into_iter())
        }
    }

    /// Finite loss and weights; its recorded gradient norm is `10^(100 t)`,
    /// which overflows at t = 4, or (with `test`) its test loss does.
    struct LoudRecord {
        t: i32,
        test: bool,
    }

    impl Dynamics for LoudRecord {
        fn evaluate(&mut self) -> Result<Metrics, TrainError> {
            Ok(Metrics { loss: 1.0, error: 0.0 })
        }
        fn advance(&mut self) -> Result<(), TrainError> {
            self.t += 1;
            Ok(())
        }
        fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
            let big = 10f64.powi(100 * self.t);
            let (grad_norm, test) = if self.test {
                (1.0, Metrics { loss: big, error: 0.5 })
            } else {
                (
                    big,
                    Metrics {
                        loss: f64::NAN,
                        error: f64::NAN,
                    },
                )
            };
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

    #[test]
    fn a_recorded_quantity_out_of_range_makes_the_run_diverged() {
        for test in [false, true] {
            // Recorded every step: the first record out of range (t = 4) ends it.
            let run = drive(
                &mut LoudRecord { t: 0, test },
                Stop::steps(10),
                Schedule::Every(1),
                &mut [],
            )
            .unwrap();
            assert_eq!(
                (run.status, run.steps, run.records.len()),
                (Status::Diverged, 4, 5),
                "test: {test}"
            );
            // Recorded every 3 steps: seen at t = 6, the first record after it.
            let run = drive(
                &mut LoudRecord { t: 0, test },
                Stop::steps(10),
                Schedule::Every(3),
                &mut [],
            )
            .unwrap();
            assert_eq!((run.status, run.steps), (Status::Diverged, 6), "test: {test}");
            assert!(!run.last().unwrap().in_range());
        }
        // A watcher's schedule alone also sees it; the last record is kept.
        let mut seen = vec![];
        let mut obs = |r: &Record| seen.push(r.step);
        let run = drive(
            &mut LoudRecord { t: 0, test: false },
            Stop::steps(10),
            Schedule::End,
            &mut [Watch::new(&mut obs, Schedule::Every(5))],
        )
        .unwrap();
        assert_eq!((run.status, run.steps), (Status::Diverged, 5));
        assert_eq!(run.records.iter().map(|r| r.step).collect::<Vec<_>>(), vec![5]);
        assert_eq!(seen, vec![0, 5]);
    }

    #[test]
    fn weights_out_of_range_are_diverged_even_at_a_finite_loss() {
        // 1 → 1e100 → 1e200: 1e200² overflows at step 2, where the run ends.
        let run = drive(&mut Escaping(1.0), Stop::steps(10), Schedule::Every(1), &mut []).unwrap();
        assert_eq!((run.status, run.steps), (Status::Diverged, 2));
        assert!(squares_finite([1e150f64, 1e150].into_iter()) && !squares_finite([1e155f64].into_iter()));
        assert!(!squares_finite([3e19f32].into_iter()), "f32 squares overflow in f32");
    }

    /// Counts steps; its training error is `1/(t + 1)`.
    struct Counter(u64);

    impl Dynamics for Counter {
        fn evaluate(&mut self) -> Result<Metrics, TrainError> {
            Ok(Metrics {
                loss: 1.0,
                error: 1.0 / (self.0 + 1) as f64,
            })
        }
        fn advance(&mut self) -> Result<(), TrainError> {
            self.0 += 1;
            Ok(())
        }
        fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
            Ok(Record {
                step,
                train,
                test: train,
                grad_norm: 0.0,
                summary: None,
                normalized_margin: None,
            })
        }
    }

    #[test]
    fn an_error_target_stops_at_the_first_iterate_that_meets_it() {
        // 1/(t + 1) ≤ 0.25 first at t = 3; the loss (1) never meets its target.
        let stop = Stop {
            target_error: Some(0.25),
            ..Stop::to_loss(100, 0.5)
        };
        let run = drive(&mut Counter(0), stop, Schedule::End, &mut []).unwrap();
        assert_eq!((run.status, run.steps), (Status::Converged, 3));
        assert_eq!(
            drive(&mut Counter(0), Stop::steps(9), Schedule::End, &mut [])
                .unwrap()
                .steps,
            9
        );
    }
}
