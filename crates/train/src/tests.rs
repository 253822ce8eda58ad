//! Tests of the training loop.

use super::*;
use gengap_data::{Z23Params, rng};
use gengap_optim::OptimConfig;

/// The small [Z23] problem and model every test here trains on.
fn toy() -> (Dataset, CnnConfig) {
    let ds = Z23Params {
        d: 120,
        n: 10,
        n_test: 50,
        v_norm: 2.0,
        sigma_p: 0.3,
        s: 40,
        alpha: 0.1,
        patches: 2,
        p_flip: 0.0,
    }
    .generate(&mut rng::seeded(1))
    .unwrap();
    (
        ds,
        CnnConfig {
            m: 3,
            sigma0: 0.05,
            ..Default::default()
        },
    )
}

/// The initial weights every test here starts from.
fn w0(model: &CnnConfig) -> Array2<f64> {
    model.init::<f64, _>(120, &mut rng::seeded(2)).unwrap()
}

/// GD to a training loss of 0.05, recording every 50 steps.
fn to_target() -> TrainConfig {
    TrainConfig {
        max_steps: 5000,
        target_loss: Some(0.05),
        target_error: None,
        record: Schedule::Every(50),
        decompose: false,
        margin: false,
        precision: Precision::F64,
        batch: None,
        algorithm: AlgorithmConfig::Plain,
        lr_schedule: Default::default(),
        eps_schedule: Default::default(),
    }
}

fn setup(opt: &str, cfg: TrainConfig) -> Trainer<f64> {
    let (ds, model) = toy();
    let w0 = w0(&model);
    let opt = toml::from_str::<OptimConfig>(opt).unwrap().build::<f64>().unwrap();
    Trainer::new(&ds, &model, w0, Box::new(opt), cfg).unwrap()
}

fn cfg(max_steps: u64) -> TrainConfig {
    TrainConfig {
        max_steps,
        target_loss: None,
        target_error: None,
        record: Schedule::Every(7),
        decompose: true,
        margin: false,
        precision: Precision::F64,
        batch: None,
        algorithm: AlgorithmConfig::Plain,
        lr_schedule: Default::default(),
        eps_schedule: Default::default(),
    }
}

#[test]
fn divergence_is_reported_not_panicked() {
    let mut seen = 0;
    let mut obs = |_: &Record| seen += 1;
    let (run, _) = setup("name = \"gd\"\nlr = 1e300", cfg(1000))
        .run(&mut [Watch::new(&mut obs, Schedule::Every(7))])
        .unwrap();
    assert_eq!(run.status, Status::Diverged);
    assert!(run.steps < 1000);
    assert!(!run.last().unwrap().train.loss.is_finite());
    assert_eq!(seen, run.records.len());
}

#[test]
fn target_loss_stops_the_run() {
    let (run, _) = setup("name = \"gd\"\nlr = 2.0", to_target()).run(&mut []).unwrap();
    assert_eq!(run.status, Status::Converged, "{:?}", run.last());
    assert!(run.last().unwrap().train.loss <= 0.05);
    assert!(run.records[run.records.len() - 2].train.loss > 0.05);
}

#[test]
fn f32_runs_track_f64_and_the_gd_residual_is_at_f32_round_off() {
    let (ds, model) = toy();
    let gd: OptimConfig = toml::from_str("name = \"gd\"\nlr = 0.5").unwrap();
    let c = |precision| TrainConfig {
        max_steps: 300,
        target_loss: None,
        target_error: None,
        record: Schedule::Every(300),
        decompose: true,
        margin: false,
        precision,
        batch: None,
        algorithm: AlgorithmConfig::Plain,
        lr_schedule: Default::default(),
        eps_schedule: Default::default(),
    };
    let Run {
        record: r64, w: w64, ..
    } = train_run(&ds, &model, &gd, &c(Precision::F64), &mut rng::seeded(2)).unwrap();
    let Run {
        record: r32, w: w32, ..
    } = train_run(&ds, &model, &gd, &c(Precision::F32), &mut rng::seeded(2)).unwrap();
    let (a, b) = (r64.last().unwrap(), r32.last().unwrap());
    assert!(
        (a.train.loss - b.train.loss).abs() < 1e-3 * a.train.loss.max(1e-3),
        "{} vs {}",
        a.train.loss,
        b.train.loss
    );
    let diff = (&w64 - &w32).mapv(f64::abs).sum() / w64.mapv(f64::abs).sum();
    assert!(diff < 1e-3, "weights differ by {diff}");
    let (s64, s32) = (a.summary.unwrap().residual, b.summary.unwrap().residual);
    eprintln!("GD decomposition residual after 300 steps: f64 {s64:.2e}, f32 {s32:.2e}");
    assert!(s64 < 1e-9, "f64 GD residual {s64}");
    assert!(s32 > 1e-9 && s32 < 1e-2, "f32 GD residual {s32} is round-off sized");
}

#[test]
fn invalid_train_config_is_rejected() {
    assert!(TrainConfig { max_steps: 0, ..cfg(1) }.validate().is_err());
    assert!(
        TrainConfig {
            max_steps: crate::MAX_STEPS,
            ..cfg(1)
        }
        .validate()
        .is_ok()
    );
    let absurd = TrainConfig {
        max_steps: 100_000_000_000_000,
        ..cfg(1)
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(
        absurd.contains("max_steps") && absurd.contains("100000000000000"),
        "{absurd}"
    );
    assert!(
        TrainConfig {
            record: Schedule::Every(0),
            ..cfg(1)
        }
        .validate()
        .is_err()
    );
    assert!(
        TrainConfig {
            target_loss: Some(-1.0),
            ..cfg(1)
        }
        .validate()
        .is_err()
    );
    assert!(toml::from_str::<TrainConfig>("max_steps = 3\nrecord = 2").is_err());
    assert!(toml::from_str::<TrainConfig>("max_steps = 3\nrecord_every = 2").is_err());
}

/// Log-spaced recording keeps every early step and thins out later ones; the
/// decomposition recorder sees exactly the recorded steps.
#[test]
fn log_spaced_records_and_the_decomposition_observer() {
    let c = TrainConfig {
        record: Schedule::LogSpaced(10),
        ..cfg(300)
    };
    let (run, _) = setup("name = \"adam\"\nlr = 0.01", c).run(&mut []).unwrap();
    let steps: Vec<u64> = run.records.iter().map(|r| r.step).collect();
    let want: Vec<u64> = (0..300)
        .filter(|&t| Schedule::LogSpaced(10).fires(t))
        .chain([300])
        .collect();
    assert_eq!(steps, want);
    assert_eq!(steps[..5], [0, 1, 2, 3, 5]);
    assert!(run.records.iter().all(|r| r.summary.is_some()));
}

/// The reduced-space solver, driven by the same driver, takes the same
/// steps, stops at the same iterate and reports the same status as the
/// full-space trainer with GD.
#[test]
fn reduced_and_full_space_gd_stop_alike() {
    let (ds, model) = toy();
    let w0 = w0(&model);
    let c = to_target();
    let (full, _) = setup("name = \"gd\"\nlr = 2.0", c.clone()).run(&mut []).unwrap();
    let mut red = gengap_analysis::ReducedGd::new(&ds, &model, w0.view(), 2.0, 0.0).unwrap();
    let reduced = drive(&mut red, c.stop(), c.record, &mut []).unwrap();
    assert_eq!(full.status, Status::Converged);
    assert_eq!((reduced.status, reduced.steps), (full.status, full.steps));
    for (a, b) in full.records.iter().zip(&reduced.records) {
        assert_eq!(a.step, b.step);
        assert!((a.train.loss - b.train.loss).abs() <= 1e-9 * a.train.loss.max(1e-12));
        assert!(
            (a.grad_norm - b.grad_norm).abs() <= 1e-7 * a.grad_norm.max(1e-12),
            "{} vs {}",
            a.grad_norm,
            b.grad_norm
        );
        assert!((a.test.loss - b.test.loss).abs() <= 1e-9 * a.test.loss.max(1e-12));
    }
}

/// [`#29`] An output that overflows to ±inf while the loss is still
/// finite (logistic: ℓ(+inf) = 0) is a diverged run, not a loss of 0 that
/// wins a learning-rate selection: on \[Z23\] data with `m = 5`, GD at
/// `η = 8.7e106` and `1e107` (the reported cases) and `1e200`.
#[test]
fn overflowing_outputs_are_diverged_not_a_zero_loss() {
    use gengap_data::{DataConfig, Z23Params, rng};
    let ds = DataConfig::Z23(Z23Params {
        d: 200,
        n: 30,
        n_test: 50,
        s: 40,
        alpha: 0.2,
        ..Default::default()
    })
    .generate(&mut rng::stream(3, 0))
    .unwrap();
    let model = gengap_model::CnnConfig {
        m: 5,
        scale: gengap_model::OutputScale::One,
        ..Default::default()
    };
    for lr in [8.7e106, 1e107, 1e200] {
        let run = crate::train_run(
            &ds,
            &model,
            &OptimConfig::gd(lr),
            &TrainConfig::steps(50),
            &mut rng::stream(3, 1),
        )
        .unwrap();
        let last = run.record.last().unwrap();
        assert_eq!(run.record.status, Status::Diverged, "η = {lr:e}: {last:?}");
        assert!(!last.train.loss.is_finite(), "η = {lr:e}: {last:?}");
        assert!(crate::best_by_train_loss(&[&run.record]).is_none());
    }
}

/// `[train] margin = true` records `min_i y_i f(W, x_i) / ‖W‖_F^q`: equal to
/// the same quantity computed here from the model's forward pass at the
/// final weights; unchanged when `W` is scaled (the network is homogeneous of
/// degree q = 3 in `W`); refused for the Huberized ReLU and by the reduced engine.
#[test]
fn the_normalized_margin_is_recorded_and_scale_invariant() {
    use gengap_model::{Activation, Batch, Cnn, Workspace};
    let (ds, model) = toy();
    let cfg = TrainConfig {
        margin: true,
        record: Schedule::Every(20),
        ..TrainConfig::steps(100)
    };
    let opt = || Box::new(OptimConfig::gd(0.5).build::<f64>().unwrap());
    let (run, w) = Trainer::new(&ds, &model, w0(&model), opt(), cfg.clone())
        .unwrap()
        .run(&mut [])
        .unwrap();
    assert!(run.records.iter().all(|r| r.normalized_margin.is_some()));
    let cnn = Cnn::<f64>::new(&model).unwrap();
    let b = Batch::from_split(&ds.train);
    let mut ws = Workspace::for_batch(&b, model.m);
    let f = cnn.forward(&w, &b, &mut ws).unwrap().to_owned();
    let smallest = (0..b.n()).map(|i| b.y[i] * f[i]).fold(f64::INFINITY, f64::min);
    let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let got = run.last().unwrap().normalized_margin.unwrap();
    assert!((got - smallest / norm.powi(3)).abs() <= 1e-12 * got.abs(), "{got}");
    // Scale invariance at step 0: W and 3W have the same normalized margin.
    let at_start = |w: Array2<f64>| {
        let mut t = Trainer::new(&ds, &model, w, opt(), cfg.clone()).unwrap();
        let met = t.evaluate().unwrap();
        t.record(0, met).unwrap().normalized_margin.unwrap()
    };
    let (a, b3) = (at_start(w0(&model)), at_start(w0(&model) * 3.0));
    assert!((a - b3).abs() <= 1e-12 * a.abs(), "{a} vs {b3}");
    // Not recorded unless asked; refused where it cannot be computed.
    let (plain, _) = Trainer::new(&ds, &model, w0(&model), opt(), TrainConfig::steps(5))
        .unwrap()
        .run(&mut [])
        .unwrap();
    assert!(plain.records.iter().all(|r| r.normalized_margin.is_none()));
    let huber = CnnConfig {
        activation: Activation::HuberRelu { q: 3.0, h: 0.1 },
        ..model.clone()
    };
    assert!(matches!(
        Trainer::new(&ds, &huber, w0(&huber), opt(), cfg.clone()),
        Err(TrainError::InvalidParam { field: "margin", .. })
    ));
    assert!(matches!(
        SpanTrainer::new(&ds, &model, w0(&model).view(), &OptimConfig::gd(0.5), cfg),
        Err(TrainError::InvalidParam { field: "margin", .. })
    ));
}

/// GD at lr 1e200: the outputs stay finite long enough for the loss to read 0
/// while the weights' squares overflow; the run is diverged, in full space
/// and in the reduced engine alike, never converged.
#[test]
fn weights_beyond_range_make_a_run_diverged() {
    // ReLU (degree 1): the outputs of 1e200-sized weights are still finite.
    let (ds, model) = toy();
    let model = CnnConfig {
        activation: gengap_model::Activation::Relu,
        ..model
    };
    let cfg = TrainConfig {
        target_loss: Some(1e-3),
        ..TrainConfig::steps(50)
    };
    let opt = Box::new(OptimConfig::gd(1e200).build::<f64>().unwrap());
    let (full, _) = Trainer::new(&ds, &model, w0(&model), opt, cfg.clone())
        .unwrap()
        .run(&mut [])
        .unwrap();
    assert_eq!(full.status, Status::Diverged, "{:?}", full.last());
    let mut red = SpanTrainer::new(&ds, &model, w0(&model).view(), &OptimConfig::gd(1e200), cfg).unwrap();
    let reduced = drive(&mut red, Stop::to_loss(50, 1e-3), Schedule::End, &mut []).unwrap();
    assert_eq!(reduced.status, Status::Diverged, "{:?}", reduced.last());
}
