//! Mini-batch training: `B = n` is full batch bit for bit; a mini-batch GD
//! epoch equals GD steps on the batches computed by hand; the records are the
//! whole training set's; a run resumed from a checkpoint mid-epoch is the
//! uninterrupted run, bit for bit; bad batch sizes are refused.

use super::*;
use gengap_data::{Z23Params, rng};
use gengap_model::{Batch, Cnn, Workspace};
use gengap_optim::OptimConfig;

fn toy() -> (Dataset, CnnConfig, Array2<f64>) {
    let ds = Z23Params {
        d: 80,
        n: 10,
        n_test: 40,
        v_norm: 2.0,
        sigma_p: 0.3,
        s: 30,
        alpha: 0.1,
        patches: 2,
        p_flip: 0.0,
    }
    .generate(&mut rng::stream(11, 0))
    .unwrap();
    let model = CnnConfig {
        m: 3,
        sigma0: 0.05,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(80, &mut rng::stream(11, 1)).unwrap();
    (ds, model, w0)
}

fn cfg(steps: u64, batch: Option<MiniBatch>, precision: Precision) -> TrainConfig {
    TrainConfig {
        max_steps: steps,
        target_loss: None,
        target_error: None,
        record: Schedule::Every(7),
        decompose: false,
        margin: false,
        precision,
        batch,
        algorithm: AlgorithmConfig::Plain,
        lr_schedule: Default::default(),
        eps_schedule: Default::default(),
    }
}

fn bits(w: &Array2<f64>) -> Vec<u64> {
    w.iter().map(|v| v.to_bits()).collect()
}

/// Every rule of `gengap-optim` once, with coupled (L2) and decoupled decay
/// spread over them.
const OPTIMIZERS: [&str; 15] = [
    "name = \"gd\"\nlr = 0.5\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"sgd_momentum\"\nlr = 0.1\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    "name = \"sign_gd\"\nlr = 0.001",
    "name = \"adam_seed\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"adam\"\nlr = 0.01\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    "name = \"amsgrad\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"adamw\"\nlr = 0.01",
    "name = \"yogi\"\nlr = 0.01",
    "name = \"adabound\"\nlr = 0.01\nfinal_lr = 0.1",
    "name = \"padam\"\nlr = 0.05",
    "name = \"radam\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"nadam\"\nlr = 0.01\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    "name = \"adabelief\"\nlr = 0.01\namsgrad = true",
    "name = \"lion\"\nlr = 0.001\nweight_decay = 0.01",
    "name = \"adabelief\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
];

#[test]
fn batch_of_n_is_full_batch_bit_for_bit_for_every_precision_and_decay() {
    let (ds, model, w0) = toy();
    for opt in OPTIMIZERS {
        let opt: OptimConfig = toml::from_str(opt).unwrap();
        for precision in [Precision::F64, Precision::F32] {
            let full = train_from(&ds, &model, &opt, &cfg(40, None, precision), &w0).unwrap();
            let b = Some(MiniBatch {
                size: 10,
                drop_last: false,
            });
            let whole =
                train_from_stream(&ds, &model, &opt, &cfg(40, b, precision), &w0, &mut rng::stream(5, 0)).unwrap();
            assert_eq!(full.0, whole.0, "{}", opt.name());
            assert_eq!(bits(&full.1), bits(&whole.1), "{}", opt.name());
        }
    }
}

#[test]
fn a_mini_batch_gd_run_is_gd_on_the_batches_by_hand() {
    let (ds, model, w0) = toy();
    let (lr, size, steps) = (0.3, 3usize, 9u64);
    let mb = MiniBatch { size, drop_last: false };
    let (run, w) = train_from_stream(
        &ds,
        &model,
        &OptimConfig::gd(lr),
        &cfg(steps, Some(mb), Precision::F64),
        &w0,
        &mut rng::stream(8, 3),
    )
    .unwrap();
    // By hand: the same stream seeds the same cursor; each batch gathered
    // sample by sample; plain GD on its mean loss.
    use rand::SeedableRng;
    let mut cursor = BatchCursor::new(rand_chacha::ChaCha8Rng::from_rng(&mut rng::stream(8, 3)));
    let cnn = Cnn::<f64>::new(&model).unwrap();
    let all = Batch::<f64>::from_split(&ds.train);
    let mut w_ref = w0.clone();
    let mut sizes = vec![];
    for _ in 0..steps {
        let idx = cursor.advance(ds.train.n(), mb).to_vec();
        sizes.push(idx.len());
        let p = ds.train.patches();
        let mut x = Array2::zeros((idx.len() * p, ds.train.d()));
        let mut y = ndarray::Array1::zeros(idx.len());
        for (k, &i) in idx.iter().enumerate() {
            for q in 0..p {
                x.row_mut(k * p + q).assign(&ds.train.x.slice(ndarray::s![i, q, ..]));
            }
            y[k] = ds.train.y[i];
        }
        let b = Batch { x, y, patches: p };
        let mut ws = Workspace::for_batch(&b, model.m);
        let mut g = Array2::zeros(w_ref.dim());
        cnn.loss_grad(&w_ref, &b, &mut ws, &mut g).unwrap();
        w_ref.scaled_add(-lr, &g);
    }
    // Epochs of 10 samples in batches of 3: 3, 3, 3, 1.
    assert_eq!(sizes, [3, 3, 3, 1, 3, 3, 3, 1, 3]);
    let diff = (&w - &w_ref).mapv(f64::abs).fold(0.0f64, |a, b| a.max(*b));
    assert!(diff < 1e-14, "max |W - W_ref| = {diff:e}");
    // The records are the whole training set's metrics.
    let mut ws = Workspace::for_batch(&all, model.m);
    let whole = cnn.evaluate(&w, &all, &mut ws).unwrap();
    assert_eq!(run.last().unwrap().train, whole);
    assert_eq!(run.records.iter().map(|r| r.step).collect::<Vec<_>>(), [0, 7, 9]);
}

#[test]
fn dropping_the_last_batch_and_the_batch_order_follow_the_stream() {
    let (ds, model, w0) = toy();
    let opt = OptimConfig::adam(0.01);
    let run = |drop_last, seed| {
        let mb = MiniBatch { size: 4, drop_last };
        train_from_stream(
            &ds,
            &model,
            &opt,
            &cfg(12, Some(mb), Precision::F64),
            &w0,
            &mut rng::stream(seed, 0),
        )
        .unwrap()
        .1
    };
    assert_eq!(bits(&run(false, 1)), bits(&run(false, 1)), "a seed fixes the batches");
    assert_ne!(
        bits(&run(false, 1)),
        bits(&run(false, 2)),
        "another seed, other batches"
    );
    assert_ne!(bits(&run(false, 1)), bits(&run(true, 1)), "the tail batch matters");
}

#[test]
fn a_run_resumed_from_a_mid_epoch_checkpoint_is_the_uninterrupted_run() {
    let (ds, model, w0) = toy();
    for (opt, precision, algorithm) in [
        ("name = \"adam\"\nlr = 0.01", Precision::F64, AlgorithmConfig::Plain),
        ("name = \"nadam\"", Precision::F64, AlgorithmConfig::Plain),
        // The algorithm's stream resumes too: the flips and the mixup pairs of step 13 are redrawn alike.
        (
            "name = \"sgd_momentum\"\nlr = 0.05",
            Precision::F64,
            AlgorithmConfig::LabelNoiseGd { p: 0.3 },
        ),
        (
            "name = \"gd\"\nlr = 0.1",
            Precision::F64,
            AlgorithmConfig::Mixup { alpha: 0.7 },
        ),
    ] {
        let opt: OptimConfig = toml::from_str(opt).unwrap();
        let mb = Some(MiniBatch {
            size: 3,
            drop_last: false,
        });
        let whole_cfg = TrainConfig {
            decompose: true,
            margin: false,
            algorithm,
            ..cfg(30, mb, precision)
        };
        let build = |c: &TrainConfig| {
            Trainer::<f64>::new(
                &ds,
                &model,
                w0.clone(),
                Box::new(opt.build::<f64>().unwrap()),
                c.clone(),
            )
            .unwrap()
        };
        let (whole, w_whole) = build(&whole_cfg)
            .with_stream(&mut rng::stream(4, 0))
            .run(&mut [])
            .unwrap();

        // Interrupted at step 13 (mid-epoch: epochs are 4 steps), checkpoint
        // through serde, resumed.
        let first_cfg = TrainConfig {
            max_steps: 13,
            ..whole_cfg.clone()
        };
        let mut saved = None;
        let mut take = |t: &Trainer<f64>, _: &Record| -> Result<(), TrainError> {
            saved = Some(serde_json::to_string(&t.checkpoint().unwrap()).unwrap());
            Ok(())
        };
        struct Take<F>(F);
        impl<F: FnMut(&Trainer<f64>, &Record) -> Result<(), TrainError>> Observer<Trainer<f64>> for Take<F> {
            fn observe(&mut self, t: &Trainer<f64>, r: &Record) -> Result<(), TrainError> {
                (self.0)(t, r)
            }
        }
        let mut taker = Take(&mut take);
        let (first, _) = build(&first_cfg)
            .with_stream(&mut rng::stream(4, 0))
            .run(&mut [Watch::new(&mut taker, Schedule::End)])
            .unwrap();
        let ckpt: Checkpoint<f64> = serde_json::from_str(&saved.expect("observed at the end")).unwrap();
        assert_eq!(ckpt.step, 13);
        let rest = Trainer::resume(
            &ds,
            &model,
            Box::new(opt.build::<f64>().unwrap()),
            whole_cfg.clone(),
            ckpt,
            w0.view(),
        )
        .unwrap();
        let (second, w_second) = rest.run(&mut []).unwrap();
        let mut joined: Vec<Record> = first.records.into_iter().filter(|r| r.step < 13).collect();
        joined.extend(second.records);
        assert_eq!(joined, whole.records, "{}", opt.name());
        assert_eq!(bits(&w_second), bits(&w_whole), "{}", opt.name());
    }
}

#[test]
fn bad_batch_sizes_and_a_missing_stream_are_errors() {
    let (ds, model, w0) = toy();
    for size in [0, 11] {
        let c = cfg(5, Some(MiniBatch { size, drop_last: false }), Precision::F64);
        let e = train_from_stream(&ds, &model, &OptimConfig::gd(0.1), &c, &w0, &mut rng::stream(1, 0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("batch.size") && e.contains(&size.to_string()), "{e}");
    }
    let c = cfg(
        5,
        Some(MiniBatch {
            size: 3,
            drop_last: false,
        }),
        Precision::F64,
    );
    let e = train_from(&ds, &model, &OptimConfig::gd(0.1), &c, &w0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("stream"), "{e}");
    let bad: Result<TrainConfig, _> = toml::from_str("max_steps = 3\nbatch = { size = 2, shuffle = true }");
    assert!(bad.unwrap_err().to_string().contains("shuffle"));
}
