//! A step of every algorithm allocates nothing once its buffers exist: the
//! reduced engine ([`SpanTrainer`]) and the full-space [`Trainer`], for
//! plain GD, SGD with a short last batch, momentum and Nesterov with either
//! decay, SAM, label-noise GD and mixup; and the linear model's
//! [`LinearTrainer`]. Counted with a global allocator, on the stepping
//! thread only.

// A counting `GlobalAlloc` must be `unsafe` (it forwards to `System`); this
// test binary is the only place the workspace allows it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gengap_data::{C22Params, DataConfig, rng};
use gengap_model::CnnConfig;
use gengap_optim::OptimConfig;
use gengap_train::{AlgorithmConfig, Dynamics, LinearTrainer, MiniBatch, Schedule, SpanTrainer, TrainConfig, Trainer};

struct Counting;

// Counted per thread: only the allocations of the thread that steps the
// dynamics. (A global counter also saw the test harness's own thread, which
// can still be allocating when the test starts on a loaded machine: a CI run
// counted 4 allocations that were not the step's.) No step spawns threads.
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-locals may already be gone while a thread exits.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `steps` driver steps after `warm` warm-up steps.
fn allocations<D: Dynamics>(d: &mut D, warm: usize, steps: usize) -> usize {
    let step = |d: &mut D| {
        d.evaluate().unwrap();
        d.advance().unwrap();
    };
    for _ in 0..warm {
        step(d);
    }
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    for _ in 0..steps {
        step(d);
    }
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn a_step_allocates_nothing() {
    // The counter counts: a fresh SpanTrainer's first steps allocate their buffers.
    let probe = DataConfig::C22(C22Params {
        d: 30,
        n: 4,
        n_test: 4,
        ..Default::default()
    })
    .generate(&mut rng::stream(2, 0))
    .unwrap();
    let probe_model = CnnConfig {
        m: 2,
        ..Default::default()
    };
    let probe_w0 = probe_model.init::<f64, _>(30, &mut rng::stream(2, 1)).unwrap();
    let sam = TrainConfig {
        algorithm: AlgorithmConfig::Sam {
            rho: 0.1,
            normalized: true,
        },
        ..TrainConfig::steps(9)
    };
    let mut fresh = SpanTrainer::new(&probe, &probe_model, probe_w0.view(), &OptimConfig::gd(0.1), sam).unwrap();
    assert!(
        allocations(&mut fresh, 0, 1) > 0,
        "the counter sees the first step's buffers"
    );

    let ds = DataConfig::C22(C22Params {
        d: 80,
        n: 10,
        n_test: 20,
        mu_norm: 3.0,
        ..Default::default()
    })
    .generate(&mut rng::stream(2, 0))
    .unwrap();
    let model = CnnConfig {
        m: 3,
        sigma0: 0.05,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(80, &mut rng::stream(2, 1)).unwrap();
    let opt = |s: &str| toml::from_str::<OptimConfig>(s).unwrap();
    let gd = opt("name = \"gd\"\nlr = 0.05");
    let mom =
        opt("name = \"sgd_momentum\"\nlr = 0.02\nmomentum = 0.9\nweight_decay = { kind = \"l2\", lambda = 0.01 }");
    let nest = opt(
        "name = \"sgd_momentum\"\nlr = 0.02\nmomentum = 0.9\nnesterov = true\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    );
    let sam = AlgorithmConfig::Sam {
        rho: 0.05,
        normalized: true,
    };
    let cases = [
        (gd.clone(), AlgorithmConfig::Plain, None),
        (gd.clone(), AlgorithmConfig::Plain, Some(3)), // batches of 3, 3, 3, 1
        (mom.clone(), AlgorithmConfig::Plain, None),
        (nest.clone(), AlgorithmConfig::Plain, Some(4)),
        (gd.clone(), sam, None),
        (mom, sam, Some(3)),
        (gd.clone(), AlgorithmConfig::LabelNoiseGd { p: 0.2 }, None),
        (nest, AlgorithmConfig::LabelNoiseGd { p: 0.2 }, Some(3)),
        (gd.clone(), AlgorithmConfig::Mixup { alpha: 1.0 }, None),
        (gd, AlgorithmConfig::Mixup { alpha: 0.5 }, Some(3)),
    ];
    for (opt, alg, batch) in cases {
        let cfg = TrainConfig {
            record: Schedule::End,
            batch: batch.map(|size| MiniBatch { size, drop_last: false }),
            algorithm: alg,
            ..TrainConfig::steps(gengap_train::MAX_STEPS)
        };
        let mut red = SpanTrainer::new(&ds, &model, w0.view(), &opt, cfg.clone())
            .unwrap()
            .with_stream(&mut rng::stream(2, 2));
        // Two epochs of warm-up see every batch size (the short last batch too).
        assert_eq!(
            allocations(&mut red, 8, 40),
            0,
            "reduced {alg:?} {batch:?} {}",
            opt.name()
        );
        let mut full = Trainer::new(&ds, &model, w0.clone(), Box::new(opt.build::<f64>().unwrap()), cfg)
            .unwrap()
            .with_stream(&mut rng::stream(2, 2));
        assert_eq!(
            allocations(&mut full, 8, 40),
            0,
            "full {alg:?} {batch:?} {}",
            opt.name()
        );
    }
    // The linear model's step (implicit-bias), with every rule family and a
    // decaying learning rate.
    let lin = |split: &gengap_data::Split| gengap_model::LinearData::<f64>::from_split(split).unwrap();
    for name in ["gd", "adam", "padam", "lion", "sign_gd"] {
        let o = opt(&format!("name = \"{name}\"\nlr = 0.01"));
        let mut t = LinearTrainer::new(
            lin(&ds.train),
            Some(lin(&ds.test)),
            vec![0.0; 160],
            Box::new(o.build::<f64>().unwrap()),
            gengap_model::Loss::Logistic,
        )
        .unwrap()
        .with_lr_decay(0.5)
        .unwrap();
        assert_eq!(allocations(&mut t, 2, 40), 0, "linear {name}");
    }
}
