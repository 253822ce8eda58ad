//! An optimizer written outside the crates (here, in a test crate that sees
//! only the public API) runs through every entry point that takes one —
//! `train_from`, `train_run`, `train_from_stream`, `Trainer::new`,
//! `Trainer::resume` — under its own name, with its own serializable state,
//! and continues bit for bit from a checkpoint; a study names it from a
//! config through `OptimChoice`.

use gengap_data::{DataConfig, Dataset, Foreign, Z23Params, rng};
use gengap_model::{CnnConfig, Real};
use gengap_optim::{OptimChoice, OptimConfig, OptimError, Optimizer, OptimizerSpec, SavedState};
use gengap_train::{
    Checkpoint, MiniBatch, Observer, Record, Schedule, TrainConfig, TrainError, Trainer, Watch, train_from,
    train_from_stream, train_run,
};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Adam with a decaying `ε_t = ε₀/√t` (PyTorch's Adam otherwise), or plain
/// GD: two outside rules, one config enum tagged by `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
enum Own {
    DecayingEpsAdam { lr: f64, eps0: f64 },
    PlainStep { lr: f64 },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Real"))]
struct Moments<T> {
    t: u64,
    m: Vec<T>,
    v: Vec<T>,
}

struct Running<T> {
    cfg: Own,
    s: Moments<T>,
}

impl<T: Real> Optimizer<T> for Running<T> {
    fn name(&self) -> &str {
        match self.cfg {
            Own::DecayingEpsAdam { .. } => "decaying_eps_adam",
            Own::PlainStep { .. } => "plain_step",
        }
    }

    fn step(&mut self, w: &mut [T], g: &[T]) -> Result<(), OptimError> {
        if w.len() != g.len() {
            return Err(OptimError::Other(Foreign::msg("gradient and weights differ in length")));
        }
        match self.cfg {
            Own::PlainStep { lr } => {
                let lr = T::from_f64c(lr);
                for (w, &g) in w.iter_mut().zip(g) {
                    *w -= lr * g;
                }
            }
            Own::DecayingEpsAdam { lr, eps0 } => {
                if self.s.m.is_empty() {
                    self.s.m = vec![T::zero(); w.len()];
                    self.s.v = vec![T::zero(); w.len()];
                }
                self.s.t += 1;
                let t = self.s.t as f64;
                let (b1, b2): (f64, f64) = (0.9, 0.999);
                let (bc1, bc2) = (1.0 - b1.powf(t), 1.0 - b2.powf(t));
                let eps = eps0 / t.sqrt();
                for i in 0..w.len() {
                    let gi = g[i].to_f64c();
                    let m = b1 * self.s.m[i].to_f64c() + (1.0 - b1) * gi;
                    let v = b2 * self.s.v[i].to_f64c() + (1.0 - b2) * gi * gi;
                    self.s.m[i] = T::from_f64c(m);
                    self.s.v[i] = T::from_f64c(v);
                    w[i] -= T::from_f64c(lr * (m / bc1) / ((v / bc2).sqrt() + eps));
                }
            }
        }
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        match self.cfg {
            Own::DecayingEpsAdam { lr, .. } | Own::PlainStep { lr } => lr,
        }
    }

    fn set_learning_rate(&mut self, new: f64) -> Result<(), OptimError> {
        match &mut self.cfg {
            Own::DecayingEpsAdam { lr, .. } | Own::PlainStep { lr } => *lr = new,
        }
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
        match self {
            Own::DecayingEpsAdam { .. } => "decaying_eps_adam",
            Own::PlainStep { .. } => "plain_step",
        }
    }

    fn validate(&self) -> Result<(), OptimError> {
        let (Own::DecayingEpsAdam { lr, .. } | Own::PlainStep { lr }) = *self;
        if lr.is_finite() && lr > 0.0 {
            Ok(())
        } else {
            Err(OptimError::Other(Foreign::msg(format!(
                "`lr` = {lr}: must be finite and > 0"
            ))))
        }
    }

    fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError> {
        self.validate()?;
        Ok(Box::new(Running {
            cfg: self.clone(),
            s: Moments::default(),
        }))
    }

    fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError> {
        self.validate()?;
        Ok(Box::new(Running {
            cfg: self.clone(),
            s: Moments::default(),
        }))
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
    .generate(&mut rng::stream(31, 0))
    .unwrap();
    let model = CnnConfig {
        m: 4,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(31, 1)).unwrap();
    (ds, model, w0)
}

fn bits(w: &Array2<f64>) -> Vec<u64> {
    w.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn an_outside_rule_equal_to_gd_trains_bit_for_bit_like_gd() {
    let (ds, model, w0) = setup();
    let cfg = TrainConfig::steps(40);
    let (ours, w_ours) = train_from(&ds, &model, &Own::PlainStep { lr: 0.3 }, &cfg, &w0).unwrap();
    let (gd, w_gd) = train_from(&ds, &model, &OptimConfig::gd(0.3), &cfg, &w0).unwrap();
    assert_eq!(ours.records, gd.records);
    assert_eq!(bits(&w_ours), bits(&w_gd));
    // A different rate gives different weights: the comparison can fail.
    let (_, w_other) = train_from(&ds, &model, &Own::PlainStep { lr: 0.31 }, &cfg, &w0).unwrap();
    assert_ne!(bits(&w_other), bits(&w_gd));
}

#[test]
fn an_outside_optimizer_runs_through_every_entry_point() {
    let (ds, model, w0) = setup();
    let own = Own::DecayingEpsAdam { lr: 0.02, eps0: 1e-8 };
    let run = train_run(&ds, &model, &own, &TrainConfig::steps(30), &mut rng::stream(31, 1)).unwrap();
    assert_eq!(run.record.steps, 30);
    assert_eq!(bits(&run.w0), bits(&w0));
    let (rec, w) = train_from(&ds, &model, &own, &TrainConfig::steps(30), &w0).unwrap();
    assert_eq!(rec.records, run.record.records);
    assert_eq!(bits(&w), bits(&run.w));
    // Mini-batches and f32 too.
    let mb = TrainConfig {
        batch: Some(MiniBatch {
            size: 3,
            drop_last: false,
        }),
        ..TrainConfig::steps(12)
    };
    let (a, _) = train_from_stream(&ds, &model, &own, &mb, &w0, &mut rng::stream(31, 2)).unwrap();
    let (b, _) = train_from_stream(&ds, &model, &own, &mb, &w0, &mut rng::stream(31, 2)).unwrap();
    assert_eq!(a.records, b.records);
    let f32_cfg = TrainConfig {
        precision: gengap_train::Precision::F32,
        ..TrainConfig::steps(10)
    };
    let (r32, _) = train_from(&ds, &model, &own, &f32_cfg, &w0).unwrap();
    assert!(r32.last().unwrap().train.loss < run.record.records[0].train.loss);
    // Its own validation, as an error filed under the optimizer.
    let err = train_from(&ds, &model, &Own::PlainStep { lr: -1.0 }, &TrainConfig::steps(3), &w0).unwrap_err();
    assert!(matches!(err, TrainError::Optim(OptimError::Other(_))), "{err:?}");
    assert!(err.to_string().contains("`lr` = -1"), "{err}");
}

struct Take(Option<String>);

impl Observer<Trainer<f64>> for Take {
    fn observe(&mut self, t: &Trainer<f64>, _: &Record) -> Result<(), TrainError> {
        assert_eq!(t.optimizer().name(), "decaying_eps_adam");
        self.0 = Some(serde_json::to_string(&t.checkpoint()?).unwrap());
        Ok(())
    }
}

#[test]
fn an_outside_optimizer_resumes_from_a_checkpoint_bit_for_bit() {
    let (ds, model, w0) = setup();
    let own = Own::DecayingEpsAdam { lr: 0.02, eps0: 1e-3 };
    let cfg = TrainConfig::steps(30);
    let build =
        |c: &TrainConfig| Trainer::<f64>::new(&ds, &model, w0.clone(), own.build_f64().unwrap(), c.clone()).unwrap();
    let (whole, w_whole) = build(&cfg).run(&mut []).unwrap();

    let mut take = Take(None);
    let first_cfg = TrainConfig {
        max_steps: 11,
        ..cfg.clone()
    };
    let (first, _) = build(&first_cfg)
        .run(&mut [Watch::new(&mut take, Schedule::End)])
        .unwrap();
    let ckpt: Checkpoint<f64> = serde_json::from_str(&take.0.expect("observed at the end")).unwrap();
    assert_eq!(ckpt.optimizer.optimizer, "decaying_eps_adam");
    assert_eq!(ckpt.step, 11);
    let resumed = Trainer::resume(
        &ds,
        &model,
        own.build_f64().unwrap(),
        cfg.clone(),
        ckpt.clone(),
        w0.view(),
    )
    .unwrap();
    let (second, w_second) = resumed.run(&mut []).unwrap();
    let mut joined: Vec<Record> = first.records.into_iter().filter(|r| r.step < 11).collect();
    joined.extend(second.records);
    assert_eq!(joined, whole.records);
    assert_eq!(bits(&w_second), bits(&w_whole));

    // A state saved by another optimizer is refused by name, not misread.
    let err = Trainer::resume(
        &ds,
        &model,
        Box::new(OptimConfig::adam(0.02).build::<f64>().unwrap()),
        cfg,
        ckpt,
        w0.view(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("saved by `decaying_eps_adam`, not `adam`"),
        "{err}"
    );
}

#[test]
fn a_study_config_names_its_own_optimizer_or_a_builtin_one() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct StudyConfig {
        optimizers: Vec<OptimChoice<Own>>,
    }
    let cfg: StudyConfig = toml::from_str(
        r#"
        [[optimizers]]
        name = "gd"
        lr = 0.3
        [[optimizers]]
        name = "decaying_eps_adam"
        lr = 0.02
        eps0 = 1e-8
        "#,
    )
    .unwrap();
    let names: Vec<&str> = cfg.optimizers.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["gd", "decaying_eps_adam"]);
    assert_eq!(cfg.optimizers[0], OptimChoice::Builtin(OptimConfig::gd(0.3)));
    let (ds, model, w0) = setup();
    for o in &cfg.optimizers {
        let (rec, _) = train_from(&ds, &model, o, &TrainConfig::steps(5), &w0).unwrap();
        assert_eq!(rec.steps, 5, "{}", o.name());
    }
    // Unknown keys are refused on both sides.
    for bad in [
        "[[optimizers]]\nname = \"gd\"\nrate = 0.3",
        "[[optimizers]]\nname = \"plain_step\"\nrate = 0.3",
        "[[optimizers]]\nname = \"nope\"\nlr = 0.3",
    ] {
        assert!(toml::from_str::<StudyConfig>(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_learning_rate_schedule_sets_each_steps_rate_as_a_stepwise_gd_would() {
    let (ds, model, w0) = setup();
    let steps = 12;
    // [train] lr_schedule: η_t = 0.4 · 0.5^⌊t/4⌋.
    let cfg: TrainConfig =
        toml::from_str("max_steps = 12\nlr_schedule = { kind = \"step\", every = 4, gamma = 0.5 }").unwrap();
    let (_, w_sched) = train_from(&ds, &model, &OptimConfig::gd(0.4), &cfg, &w0).unwrap();
    // The same by hand: three runs of 4 steps at 0.4, 0.2, 0.1, each from the last one's weights.
    let mut w = w0.clone();
    for lr in [0.4, 0.2, 0.1] {
        w = train_from(&ds, &model, &OptimConfig::gd(lr), &TrainConfig::steps(4), &w)
            .unwrap()
            .1;
    }
    assert_eq!(bits(&w_sched), bits(&w));
    // A closure gives the same rates; a refused rate ends the run with the optimizer's error.
    let opt = OptimConfig::gd(0.4).build::<f64>().unwrap();
    let t = Trainer::new(&ds, &model, w0.clone(), Box::new(opt), TrainConfig::steps(steps))
        .unwrap()
        .with_lr_schedule(|t| 0.4 * 0.5f64.powi((t / 4) as i32));
    assert_eq!(bits(&t.run(&mut []).unwrap().1), bits(&w));
    let opt = OptimConfig::gd(0.4).build::<f64>().unwrap();
    let bad = Trainer::new(&ds, &model, w0.clone(), Box::new(opt), TrainConfig::steps(steps))
        .unwrap()
        .with_lr_schedule(|t| if t < 3 { 0.1 } else { f64::NAN });
    assert!(bad.run(&mut []).unwrap_err().to_string().contains("lr"));
    // Bad schedules are refused by key; the reduced engine refuses schedules.
    let e = toml::from_str::<TrainConfig>("max_steps = 5\nlr_schedule = { kind = \"step\", every = 0, gamma = 0.5 }")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(e.to_string().contains("lr_schedule.every"), "{e}");
    let e = gengap_train::SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::gd(0.4), cfg).unwrap_err();
    assert!(e.to_string().contains("lr_schedule"), "{e}");
}

#[test]
fn an_eps_schedule_sets_each_steps_eps_of_an_adaptive_rule() {
    let (ds, model, w0) = setup();
    let run = |cfg: TrainConfig, f: Option<fn(u64) -> f64>| {
        let opt = OptimConfig::adam(0.02).build::<f64>().unwrap();
        let mut t = Trainer::new(&ds, &model, w0.clone(), Box::new(opt), cfg).unwrap();
        if let Some(f) = f {
            t = t.with_eps_schedule(f);
        }
        t.run(&mut []).map(|(_, w)| w)
    };
    let cfg: TrainConfig =
        toml::from_str("max_steps = 12\neps_schedule = { kind = \"step\", every = 4, gamma = 0.01 }").unwrap();
    let table = run(cfg.clone(), None).unwrap();
    let closure = run(TrainConfig::steps(12), Some(|t| 1e-8 * 0.01f64.powi((t / 4) as i32))).unwrap();
    assert_eq!(bits(&table), bits(&closure));
    // A constant ε from the closure is the config's ε, bit for bit; the schedule moves elsewhere.
    let constant = run(TrainConfig::steps(12), Some(|_| 1e-8)).unwrap();
    let plain = run(TrainConfig::steps(12), None).unwrap();
    assert_eq!(bits(&constant), bits(&plain));
    let big = run(TrainConfig::steps(12), Some(|t| 0.1 / (1.0 + t as f64))).unwrap();
    assert_ne!(bits(&big), bits(&plain));
    // An optimizer without ε refuses the schedule by name; a bad ε ends the run.
    let e = Trainer::new(
        &ds,
        &model,
        w0.clone(),
        Box::new(OptimConfig::gd(0.1).build::<f64>().unwrap()),
        cfg,
    )
    .unwrap_err();
    assert!(e.to_string().contains("eps_schedule"), "{e}");
    assert!(
        run(TrainConfig::steps(5), Some(|_| -1.0))
            .unwrap_err()
            .to_string()
            .contains("eps")
    );
    let e = toml::from_str::<TrainConfig>("max_steps = 5\neps_schedule = { kind = \"cosine\", min_factor = 2.0 }")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(e.to_string().contains("eps_schedule.min_factor"), "{e}");
}
