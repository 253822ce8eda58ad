use gengap_data::rng;
use gengap_model::{LinearData, Loss, logistic_deriv};
use gengap_optim::OptimConfig;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Dynamics, LinearTrainer, Schedule, Status, Stop, drive};

fn problem() -> (Array2<f64>, Vec<f64>) {
    let mut r = ChaCha8Rng::seed_from_u64(11);
    let x = Array2::from_shape_fn((6, 10), |_| rng::standard_normal(&mut r));
    (x, vec![1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
}

/// The gradient of the logistic loss, written out independently.
fn grad(x: &Array2<f64>, y: &[f64], w: &[f64]) -> Vec<f64> {
    let n = y.len();
    let mut g = vec![0.0; w.len()];
    for i in 0..n {
        let mut z = 0.0;
        for k in 0..w.len() {
            z += x[[i, k]] * w[k];
        }
        let c = logistic_deriv(y[i] * z) * y[i] * (1.0 / n as f64);
        for k in 0..w.len() {
            g[k] += c * x[[i, k]];
        }
    }
    g
}

/// GD with `η_t = η₀(t+1)^{−1/2}` against the update written out step by step: same bits.
#[test]
fn decayed_gd_is_the_update_written_out() {
    let (x, y) = problem();
    let data = LinearData::<f64>::new(x.view(), &y).unwrap();
    let opt = Box::new(OptimConfig::gd(0.7).build::<f64>().unwrap());
    let mut t = LinearTrainer::new(data, None, vec![0.0; 10], opt, Loss::Logistic)
        .unwrap()
        .with_lr_decay(0.5)
        .unwrap();
    let run = drive(&mut t, Stop::steps(200), Schedule::End, &mut []).unwrap();
    assert_eq!((run.status, run.steps), (Status::MaxSteps, 200));
    let mut w = vec![0.0; 10];
    for s in 0..200u64 {
        let g = grad(&x, &y, &w);
        let lr = 0.7 * ((s + 1) as f64).powf(-0.5);
        for k in 0..10 {
            w[k] -= lr * g[k];
        }
    }
    for k in 0..10 {
        assert_eq!(w[k].to_bits(), t.weights()[k].to_bits(), "coordinate {k}");
    }
}

/// Adam (PyTorch form) with a decaying learning rate, written out: `m̂/(√v̂ + ε)`
/// with the step's own `η_t`; to round-off (the rule's single-pass kernel
/// may order the arithmetic differently).
#[test]
fn decayed_adam_is_the_update_written_out() {
    let (x, y) = problem();
    let data = LinearData::<f64>::new(x.view(), &y).unwrap();
    let cfg: OptimConfig = toml::from_str("name = \"adam\"\nlr = 0.05\nbetas = [0.9, 0.99]\neps = 1e-12").unwrap();
    let mut t = LinearTrainer::new(
        data,
        None,
        vec![0.0; 10],
        Box::new(cfg.build::<f64>().unwrap()),
        Loss::Logistic,
    )
    .unwrap()
    .with_lr_decay(1.0)
    .unwrap();
    drive(&mut t, Stop::steps(300), Schedule::End, &mut []).unwrap();
    let (b1, b2, eps) = (0.9f64, 0.99f64, 1e-12);
    let (mut w, mut m, mut v) = (vec![0.0; 10], vec![0.0; 10], vec![0.0; 10]);
    for s in 0..300u64 {
        let g = grad(&x, &y, &w);
        let lr = 0.05 / (s + 1) as f64;
        let tt = (s + 1) as i32;
        for k in 0..10 {
            m[k] = b1 * m[k] + (1.0 - b1) * g[k];
            v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
            let mh = m[k] / (1.0 - b1.powi(tt));
            let vh = v[k] / (1.0 - b2.powi(tt));
            w[k] -= lr * mh / (vh.sqrt() + eps);
        }
    }
    for k in 0..10 {
        assert!(
            (w[k] - t.weights()[k]).abs() < 1e-12 * w[k].abs().max(1.0),
            "{k}: {} vs {}",
            w[k],
            t.weights()[k]
        );
    }
}

#[test]
fn records_test_metrics_and_the_gradient_norm_and_refuses_bad_settings() {
    let (x, y) = problem();
    let data = LinearData::<f64>::new(x.view(), &y).unwrap();
    let test = LinearData::<f64>::new(x.view(), &y).unwrap();
    let opt = || Box::new(OptimConfig::gd(0.5).build::<f64>().unwrap());
    let mut t = LinearTrainer::new(data.clone(), Some(test), vec![0.0; 10], opt(), Loss::Logistic).unwrap();
    t.evaluate().unwrap();
    let rec = t
        .record(0, t.train_data().metrics(&Loss::Logistic, &[0.0; 10], &mut [0.0; 6]))
        .unwrap();
    assert_eq!(rec.test, rec.train);
    let g = grad(&x, &y, &[0.0; 10]);
    let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((rec.grad_norm - gn).abs() < 1e-15);
    assert!(LinearTrainer::new(data.clone(), None, vec![0.0; 9], opt(), Loss::Logistic).is_err());
    let short = LinearData::<f64>::new(x.slice(ndarray::s![.., ..9]), &y).unwrap();
    assert!(LinearTrainer::new(data.clone(), Some(short), vec![0.0; 10], opt(), Loss::Logistic).is_err());
    let t = LinearTrainer::new(data, None, vec![0.0; 10], opt(), Loss::Logistic).unwrap();
    assert!(t.with_lr_decay(1.5).is_err());
}

/// A learning rate so large the weights overflow: the run is diverged, not converged.
#[test]
fn overflowing_weights_are_diverged() {
    let (x, y) = problem();
    let data = LinearData::<f64>::new(x.view(), &y).unwrap();
    let opt = Box::new(OptimConfig::gd(1e308).build::<f64>().unwrap());
    let mut t = LinearTrainer::new(data, None, vec![0.0; 10], opt, Loss::Square).unwrap();
    let run = drive(&mut t, Stop::to_loss(1000, 1e-3), Schedule::Every(1), &mut []).unwrap();
    assert_eq!(run.status, Status::Diverged, "{:?}", run.last());
}
