//! Observers of any dynamics, from outside: a SAM written as a wrapper of
//! the public `Trainer` (moving its weights with `weights_mut`, stepping with
//! the gradient at the ascent point) equals the built-in SAM bit for bit,
//! and the decomposition recorder watches it as it watches the trainer.

use gengap_data::{DataConfig, Dataset, Z23Params, rng};
use gengap_model::{CnnConfig, Metrics};
use gengap_optim::OptimConfig;
use gengap_train::{
    AlgorithmConfig, DecompositionRecorder, Dynamics, Record, Schedule, Status, Stop, TrainConfig, TrainError, Trainer,
    Watch, WeightsOf, drive,
};
use ndarray::Array2;

/// Foret et al.'s SAM around any trainer: `W̃ = W + ρ·g/‖g‖_F`, step with `∇L(W̃)`.
struct OutsideSam {
    inner: Trainer<f64>,
    rho: f64,
    saved: Array2<f64>,
}

impl Dynamics for OutsideSam {
    fn evaluate(&mut self) -> Result<Metrics, TrainError> {
        self.inner.evaluate()
    }

    fn advance(&mut self) -> Result<(), TrainError> {
        let g = self.inner.step_gradient().clone();
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let s = if norm > 0.0 { self.rho / norm } else { 0.0 };
        self.saved.assign(self.inner.weights());
        self.inner.weights_mut().zip_mut_with(&g, |w, &gv| *w += s * gv);
        self.inner.evaluate()?; // the gradient at W̃
        self.inner.weights_mut().assign(&self.saved);
        self.inner.advance()
    }

    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
        self.inner.record(step, train)
    }

    fn healthy(&self) -> bool {
        self.inner.healthy()
    }
}

impl WeightsOf for OutsideSam {
    fn weights_f64(&self) -> Option<Array2<f64>> {
        Some(self.inner.weights().clone())
    }
}

fn setup() -> (Dataset, CnnConfig, Array2<f64>) {
    let ds = DataConfig::Z23(Z23Params {
        d: 60,
        n: 8,
        n_test: 40,
        s: 30,
        ..Default::default()
    })
    .generate(&mut rng::stream(41, 0))
    .unwrap();
    let model = CnnConfig {
        m: 4,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(41, 1)).unwrap();
    (ds, model, w0)
}

#[test]
fn an_outside_sam_equals_the_builtin_one_and_the_recorder_watches_it() {
    let (ds, model, w0) = setup();
    let (steps, rho, schedule) = (30, 0.05, Schedule::Every(10));
    let opt = || Box::new(OptimConfig::gd(0.3).build::<f64>().unwrap());

    // The built-in SAM, its records carrying the decomposition summaries.
    let builtin_cfg = TrainConfig {
        algorithm: AlgorithmConfig::Sam { rho, normalized: true },
        decompose: true,
        record: schedule,
        ..TrainConfig::steps(steps)
    };
    let (builtin, w_builtin) = Trainer::new(&ds, &model, w0.clone(), opt(), builtin_cfg)
        .unwrap()
        .run(&mut [])
        .unwrap();

    // The outside SAM through the public driver, the recorder watching it.
    let plain_cfg = TrainConfig {
        record: schedule,
        ..TrainConfig::steps(steps)
    };
    let mut sam = OutsideSam {
        inner: Trainer::new(&ds, &model, w0.clone(), opt(), plain_cfg).unwrap(),
        rho,
        saved: w0.clone(),
    };
    let mut recorder = DecompositionRecorder::new(&ds, w0.view()).unwrap();
    let run = drive(
        &mut sam,
        Stop::steps(steps),
        schedule,
        &mut [Watch::new(&mut recorder, schedule)],
    )
    .unwrap();
    assert_eq!(run.status, Status::MaxSteps);
    assert_eq!(sam.inner.step(), steps);
    let bits = |w: &Array2<f64>| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(sam.inner.weights()), bits(&w_builtin));
    for (ours, theirs) in run.records.iter().zip(&builtin.records) {
        assert_eq!(
            (ours.step, ours.train, ours.test),
            (theirs.step, theirs.train, theirs.test)
        );
    }
    // The recorder saw the outside dynamics at the same steps, with the
    // same summaries as the trainer's own recorder.
    let want: Vec<(u64, _)> = builtin
        .records
        .iter()
        .map(|r| (r.step, r.summary.expect("decompose")))
        .collect();
    assert_eq!(recorder.summaries(), &want[..]);
    // And a wrong ρ moves elsewhere: the comparison can fail.
    let mut other = OutsideSam {
        inner: Trainer::new(&ds, &model, w0.clone(), opt(), TrainConfig::steps(steps)).unwrap(),
        rho: 0.1,
        saved: w0.clone(),
    };
    drive(&mut other, Stop::steps(steps), Schedule::End, &mut []).unwrap();
    assert_ne!(bits(other.inner.weights()), bits(&w_builtin));
}
