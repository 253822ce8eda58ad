//! The open building blocks, used from outside the crates with nothing but
//! the facade (`gengap`, `default-features = false`; serde through
//! `gengap::serde`): an optimizer of its own (Adam with a decaying
//! `ε_t = ε₀/√t`, named from a config beside the built-in ones through
//! `OptimChoice`), an activation of its own (a smoothed leaky ReLU), a data
//! set of its own (built from arrays, with its latent parts), an observer of
//! its own beside the decomposition recorder, and its own error kept whole
//! (`Foreign`). The reduced engine runs GD on the same data and activation
//! and must agree with the full-space trainer.
//!
//! Run: `cargo run --release -p gengap --example open_blocks`
//! (`cargo xtask downstream` builds and runs it from a crate outside the workspace).

use gengap::ndarray::{Array1, Array3};
use gengap::prelude::*;
use gengap::serde::{Deserialize, Serialize};

// ---- 1. An optimizer of its own -------------------------------------------------------------

/// The study's own optimizers, read from a config by `name` (beside the built-in ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    crate = "gengap::serde",
    tag = "name",
    rename_all = "snake_case",
    deny_unknown_fields
)]
enum Own {
    /// PyTorch's Adam with `ε_t = ε₀/√t`.
    DecayingEpsAdam { lr: f64, eps0: f64 },
}

/// Its state: a type of its own, saved and restored through `SavedState`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(crate = "gengap::serde", bound(deserialize = "T: Real"))]
struct Moments<T> {
    t: u64,
    m: Vec<T>,
    v: Vec<T>,
}

struct DecayingEpsAdam<T> {
    lr: f64,
    eps0: f64,
    s: Moments<T>,
}

impl<T: Real> Optimizer<T> for DecayingEpsAdam<T> {
    fn name(&self) -> &str {
        "decaying_eps_adam"
    }

    fn step(&mut self, w: &mut [T], g: &[T]) -> Result<(), OptimError> {
        if self.s.m.is_empty() {
            self.s.m = vec![T::zero(); w.len()];
            self.s.v = vec![T::zero(); w.len()];
        }
        self.s.t += 1;
        let t = self.s.t as f64;
        let (b1, b2): (f64, f64) = (0.9, 0.999);
        let (bc1, bc2) = (1.0 - b1.powf(t), 1.0 - b2.powf(t));
        let eps = self.eps0 / t.sqrt();
        for i in 0..w.len() {
            let gi = g[i].to_f64c();
            let m = b1 * self.s.m[i].to_f64c() + (1.0 - b1) * gi;
            let v = b2 * self.s.v[i].to_f64c() + (1.0 - b2) * gi * gi;
            self.s.m[i] = T::from_f64c(m);
            self.s.v[i] = T::from_f64c(v);
            w[i] -= T::from_f64c(self.lr * (m / bc1) / ((v / bc2).sqrt() + eps));
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
        self.lr = lr;
        Ok(())
    }

    fn save_state(&self) -> Result<SavedState, OptimError> {
        SavedState::new(self.name(), &self.s)
    }

    fn restore_state(&mut self, saved: &SavedState) -> Result<(), OptimError> {
        self.s = saved.read(self.name())?;
        Ok(())
    }
}

impl OptimizerSpec for Own {
    fn name(&self) -> &str {
        "decaying_eps_adam"
    }

    /// Its own check, its own error, kept whole inside gengap's.
    fn validate(&self) -> Result<(), OptimError> {
        let Own::DecayingEpsAdam { lr, eps0 } = *self;
        if lr.is_finite() && lr > 0.0 && eps0.is_finite() && eps0 >= 0.0 {
            Ok(())
        } else {
            Err(OptimError::Other(Foreign::msg(format!(
                "decaying_eps_adam: `lr` = {lr} must be > 0 and `eps0` = {eps0} >= 0"
            ))))
        }
    }

    fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError> {
        Ok(Box::new(self.running::<f64>()?))
    }

    fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError> {
        Ok(Box::new(self.running::<f32>()?))
    }
}

impl Own {
    /// The checked optimizer with a fresh state, in either precision.
    fn running<T: Real>(&self) -> Result<DecayingEpsAdam<T>, OptimError> {
        self.validate()?;
        let Own::DecayingEpsAdam { lr, eps0 } = *self;
        Ok(DecayingEpsAdam {
            lr,
            eps0,
            s: Moments::default(),
        })
    }
}

// ---- 2. An activation of its own ------------------------------------------------------------

/// `σ(z) = s·z + (1 − s)·softplus_β(z)`: a smoothed leaky ReLU.
#[derive(Debug)]
struct SmoothLeaky {
    s: f64,
    beta: f64,
}

impl ActivationFn for SmoothLeaky {
    fn name(&self) -> &str {
        "smooth_leaky_relu"
    }
    fn value(&self, z: f64) -> f64 {
        let bz = self.beta * z;
        self.s * z + (1.0 - self.s) * (bz.max(0.0) + (-bz.abs()).exp().ln_1p()) / self.beta
    }
    fn deriv(&self, z: f64) -> f64 {
        self.s + (1.0 - self.s) / (1.0 + (-self.beta * z).exp())
    }
}

// ---- 3. A data set of its own ---------------------------------------------------------------

/// Two patches per sample: the signal `y·μ` in patch `k` (alternating),
/// Gaussian noise `ξ ~ N(0, σ²I)` in the other; `μ = ‖μ‖·e₀`.
fn own_data(
    d: usize,
    n: usize,
    n_test: usize,
    mu_norm: f64,
    sigma: f64,
    seed: u64,
) -> Result<Dataset, gengap::data::DataError> {
    let mut r = rng::stream(seed, 0);
    let mut mu = Array1::zeros(d);
    mu[0] = mu_norm;
    let mut split = |n: usize| {
        let y = Array1::from_shape_fn(n, |i| if i % 2 == 0 { 1.0 } else { -1.0 });
        let patch: Vec<usize> = (0..n).map(|i| (i / 2) % 2).collect();
        let noise = Array3::from_shape_fn((n, 1, d), |_| sigma * rng::standard_normal(&mut r));
        let mut x = Array3::zeros((n, 2, d));
        for i in 0..n {
            for k in 0..d {
                x[[i, patch[i], k]] = y[i] * mu[k];
                x[[i, 1 - patch[i], k]] = noise[[i, 0, k]];
            }
        }
        UserSplit {
            x,
            y,
            noise: Some(noise),
            signal_patch: Some(patch),
            noise_patches: None,
        }
    };
    let (train, test) = (split(n), split(n_test));
    Dataset::from_arrays(train, test, Some(mu))
}

// ---- 4. An observer of its own ----------------------------------------------------------------

/// Keeps the largest `‖W‖_F` seen.
#[derive(Default)]
struct NormWatch(f64);

impl<D: WeightsOf> Observer<D> for NormWatch {
    fn observe(&mut self, dynamics: &D, _: &Record) -> Result<(), TrainError> {
        let w = dynamics
            .weights_f64()
            .ok_or_else(|| TrainError::Other(Foreign::msg("no weights to watch")))?;
        self.0 = self.0.max(w.iter().map(|v| v * v).sum::<f64>().sqrt());
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    single_threaded_blas();
    let ds = own_data(200, 20, 400, 4.0, 1.0, 7)?;
    let model = CnnConfig {
        m: 5,
        activation: Activation::outside(SmoothLeaky { s: 0.1, beta: 4.0 }),
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(7, 1))?;
    let optimizers: Vec<OptimChoice<Own>> = gengap::serde_json::from_str(
        r#"[{"name": "gd", "lr": 0.5}, {"name": "decaying_eps_adam", "lr": 0.01, "eps0": 1e-8}]"#,
    )?;
    let steps = 200;
    let schedule = Schedule::Every(50);
    let mut w_gd = None;
    for opt in &optimizers {
        let cfg = TrainConfig {
            record: schedule,
            ..TrainConfig::steps(steps)
        };
        let trainer = Trainer::new(&ds, &model, w0.clone(), opt.build_f64()?, cfg)?;
        let mut recorder = DecompositionRecorder::new(&ds, w0.view())?;
        let mut norms = NormWatch::default();
        let (run, w) = trainer.run(&mut [Watch::new(&mut recorder, schedule), Watch::new(&mut norms, schedule)])?;
        let last = run.final_record()?;
        let (_, summary) = recorder.summaries().last().expect("observed at the end");
        println!(
            "{:>18}: {:?} after {} steps, train loss {:.4}, test error {:.3}, max γ {:.3}, max ρ̄ {:.3}, max ‖W‖ {:.3}",
            opt.name(),
            run.status,
            run.steps,
            last.train.loss,
            last.test.error,
            summary.max_gamma,
            summary.max_rho_bar,
            norms.0
        );
        assert!(
            last.train.loss < run.records[0].train.loss,
            "{}: the loss must fall",
            opt.name()
        );
        if opt.name() == "gd" {
            w_gd = Some(w);
        }
    }

    // The reduced engine on the same data, activation and GD.
    let mut span = SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::gd(0.5), TrainConfig::steps(steps))?;
    span.run(&mut [])?;
    let w_span = span.weights().expect("rebuilt from the coordinates");
    let w_gd = w_gd.expect("gd ran");
    let gap = (&w_span - &w_gd).iter().fold(0.0f64, |a, v| a.max(v.abs()));
    println!("reduced engine vs full space (GD, smooth leaky ReLU, own data): max |ΔW| = {gap:.2e}");
    assert!(gap < 1e-9, "the reduced engine must agree with full space");

    // Its own error, kept whole inside gengap's.
    let bad = Own::DecayingEpsAdam { lr: -1.0, eps0: 0.0 };
    let err = train_from(&ds, &model, &bad, &TrainConfig::steps(3), &w0).unwrap_err();
    assert!(matches!(err, TrainError::Optim(OptimError::Other(_))));
    println!("a bad own optimizer: {err}");
    Ok(())
}
