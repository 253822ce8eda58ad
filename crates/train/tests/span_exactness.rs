//! The reduced engine equals the full-space trainer step by step, in f64,
//! for every span-preserving algorithm of `[train] algorithm` × update rule
//! × loss, on the \[C22\] model (orthogonal and isotropic noise), the \[Z23\]
//! model, XOR data and the single-vector model of Karhadkar et al. (`docs/theory.md#span-preserving-algorithms`); a
//! deliberately wrong reduced update fails the same comparison; and each
//! algorithm at its trivial parameter is plain GD bit for bit in both spaces.

use gengap_analysis::{SpanDirection, SpanProblem, Targets};
use gengap_data::{
    C22Params, DataConfig, Dataset, ModerateDParams, NoiseKind, WeakStrongParams, XorParams, Z23Params, rng,
};
use gengap_model::{Activation, CnnConfig, Loss, Metrics};
use gengap_optim::OptimConfig;
use gengap_train::{
    AlgorithmConfig, MiniBatch, Observer, Record, RunRecord, Schedule, SpanAlgorithm, SpanStep, SpanTrainer,
    SpanUpdate, Status, TrainConfig, TrainError, Trainer, Watch,
};
use ndarray::Array2;

const STEPS: u64 = 25;

fn datasets() -> Vec<(&'static str, Dataset)> {
    let make = |c: DataConfig| c.generate(&mut rng::stream(21, 0)).unwrap();
    vec![
        (
            "c22 orthogonal",
            make(DataConfig::C22(C22Params {
                d: 120,
                n: 8,
                n_test: 30,
                mu_norm: 3.0,
                sigma_p: 1.0,
                ..Default::default()
            })),
        ),
        (
            "c22 isotropic",
            make(DataConfig::C22(C22Params {
                d: 120,
                n: 8,
                n_test: 30,
                mu_norm: 3.0,
                sigma_p: 1.0,
                noise: NoiseKind::Isotropic,
                ..Default::default()
            })),
        ),
        (
            "z23",
            make(DataConfig::Z23(Z23Params {
                d: 120,
                n: 8,
                n_test: 30,
                s: 60,
                alpha: 0.3,
                patches: 3,
                ..Default::default()
            })),
        ),
        (
            "xor",
            make(DataConfig::Xor(XorParams {
                d: 120,
                n: 8,
                n_test: 30,
                a_norm: 3.0,
                cos_angle: 0.3,
                sigma_p: 1.0,
                p_flip: 0.0,
            })),
        ),
        (
            // One vector per sample, its noise in the signal patch (Karhadkar et al.).
            "moderate-d",
            make(DataConfig::ModerateD(ModerateDParams {
                d: 120,
                n: 8,
                n_test: 30,
                gamma: 0.3,
                p_flip: 0.1,
            })),
        ),
        (
            // Three patches, the strong-feature one zero in some samples (Lu et al.).
            "weak-strong",
            make(DataConfig::WeakStrong(WeakStrongParams {
                d: 120,
                n: 8,
                n_test: 30,
                weak_norm: 1.0,
                strong_norm: 4.0,
                strong_fraction: 0.5,
                sigma_p: 1.0,
                p_flip: 0.1,
            })),
        ),
    ]
}

/// The weights at every observed step.
#[derive(Default)]
struct Weights(Vec<Array2<f64>>);

impl Observer<Trainer<f64>> for Weights {
    fn observe(&mut self, t: &Trainer<f64>, _: &Record) -> Result<(), TrainError> {
        self.0.push(t.weights().clone());
        Ok(())
    }
}

impl Observer<SpanTrainer> for Weights {
    fn observe(&mut self, t: &SpanTrainer, _: &Record) -> Result<(), TrainError> {
        self.0.push(t.weights().expect("a data set with a test split"));
        Ok(())
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

fn rel_w(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let diff = (a - b).mapv(|v| v * v).sum().sqrt();
    diff / a.mapv(|v| v * v).sum().sqrt().max(1e-300)
}

fn train_cfg(algorithm: AlgorithmConfig, batch: Option<usize>) -> TrainConfig {
    TrainConfig {
        record: Schedule::Every(1),
        batch: batch.map(|size| MiniBatch { size, drop_last: false }),
        algorithm,
        ..TrainConfig::steps(STEPS)
    }
}

fn full_run(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &OptimConfig,
    cfg: &TrainConfig,
    w0: &Array2<f64>,
) -> (RunRecord, Vec<Array2<f64>>) {
    let mut w = Weights::default();
    let t = Trainer::new(
        ds,
        model,
        w0.clone(),
        Box::new(opt.build::<f64>().unwrap()),
        cfg.clone(),
    )
    .unwrap()
    .with_stream(&mut rng::stream(5, 9));
    let (run, _) = t.run(&mut [Watch::new(&mut w, Schedule::Every(1))]).unwrap();
    (run, w.0)
}

fn reduced_run(
    ds: &Dataset,
    model: &CnnConfig,
    opt: &OptimConfig,
    cfg: &TrainConfig,
    w0: &Array2<f64>,
) -> (RunRecord, Vec<Array2<f64>>) {
    let mut w = Weights::default();
    let mut t = SpanTrainer::new(ds, model, w0.view(), opt, cfg.clone())
        .unwrap()
        .with_stream(&mut rng::stream(5, 9));
    let run = t.run(&mut [Watch::new(&mut w, Schedule::Every(1))]).unwrap();
    (run, w.0)
}

/// The largest relative differences (weights, train loss, test loss) between
/// the two spaces over the run; the test errors must agree exactly.
/// The relative gap of two losses. The hinge and square losses are means of
/// `1 − z_i` (squared): when the margins `z_i` are near 1 the loss is a
/// small difference of O(1) numbers, whose round-off is relative to 1, not
/// to the loss (measured: a hinge loss of 8.1e−5 whose two values differ
/// by 8e−17, while the weights agree to 3e−16). Those losses are compared on
/// that scale; the logistic loss, a sum of positive terms, relatively.
fn loss_gap(loss: &Loss, a: f64, b: f64) -> f64 {
    match loss {
        Loss::Logistic => rel(a, b),
        // An outside loss may be near 0 like the hinge: compared on the scale 1.
        Loss::Hinge | Loss::Square | Loss::Outside(_) => (a - b).abs() / a.abs().max(b.abs()).max(1.0),
    }
}

fn gaps(
    label: &str,
    loss: &Loss,
    full: &(RunRecord, Vec<Array2<f64>>),
    red: &(RunRecord, Vec<Array2<f64>>),
) -> (f64, f64, f64) {
    // Both runs must be whole and healthy, or the comparison proves nothing
    // (a NaN would slip through `max`).
    for run in [full, red] {
        assert_eq!(run.0.status, Status::MaxSteps, "{label}");
        assert_eq!(
            (run.0.records.len(), run.1.len()),
            (STEPS as usize + 1, STEPS as usize + 1)
        );
        assert!(run.1.iter().all(|w| w.iter().all(|v| v.is_finite())));
    }
    let mut g = (0.0f64, 0.0f64, 0.0f64);
    for ((a, b), (wa, wb)) in full.0.records.iter().zip(&red.0.records).zip(full.1.iter().zip(&red.1)) {
        assert_eq!(a.step, b.step);
        g.0 = g.0.max(rel_w(wa, wb));
        g.1 = g.1.max(loss_gap(loss, a.train.loss, b.train.loss));
        g.2 = g.2.max(loss_gap(loss, a.test.loss, b.test.loss));
        assert_eq!(a.test.error, b.test.error, "test error at step {}", a.step);
    }
    g
}

/// Relative round-off bound for 25 steps in f64: each step's gradient and
/// Gram products carry ~1e-16 relative error per operation; the largest gap
/// measured over all cases is 2.9e-15 (label-noise GD), so 1e-12 leaves a
/// margin of ~300 while a wrong update (see below) is off by > 1e-4.
const TOL: f64 = 1e-12;

/// (label, optimizer, algorithm, batch size, activation, loss)
type Case = (
    &'static str,
    OptimConfig,
    AlgorithmConfig,
    Option<usize>,
    Activation,
    Loss,
);

/// `σ(z) = s·z + (1 − s)·softplus_β(z)`: a smoothed leaky ReLU, as a
/// downstream crate would write it.
#[derive(Debug)]
struct SmoothLeaky {
    s: f64,
    beta: f64,
}

impl gengap_model::ActivationFn for SmoothLeaky {
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

fn smooth_leaky() -> Activation {
    Activation::outside(SmoothLeaky { s: 0.1, beta: 4.0 })
}

/// `ℓ(z) = log(1 + e^{β(1−z)})/β`: a smoothed hinge.
#[derive(Debug)]
struct SoftHinge(f64);

impl gengap_model::LossFn for SoftHinge {
    fn name(&self) -> &str {
        "soft_hinge"
    }
    fn value(&self, z: f64) -> f64 {
        let u = self.0 * (1.0 - z);
        (u.max(0.0) + (-u.abs()).exp().ln_1p()) / self.0
    }
    fn deriv(&self, z: f64) -> f64 {
        -1.0 / (1.0 + (-self.0 * (1.0 - z)).exp())
    }
}

fn soft_hinge() -> Loss {
    Loss::outside(SoftHinge(5.0))
}

fn cases() -> Vec<Case> {
    let relu3 = || Activation::ReluPow { q: 3.0 };
    let leaky = || Activation::LeakyRelu { slope: 0.1 };
    let relu2 = || Activation::ReluPow { q: 2.0 };
    let opt = |s: &str| toml::from_str::<OptimConfig>(s).unwrap();
    let gd = opt("name = \"gd\"\nlr = 0.1");
    let mom_l2 =
        opt("name = \"sgd_momentum\"\nlr = 0.02\nmomentum = 0.9\nweight_decay = { kind = \"l2\", lambda = 0.01 }");
    let nest_dec = opt(
        "name = \"sgd_momentum\"\nlr = 0.02\nmomentum = 0.8\nnesterov = true\nweight_decay = { kind = \"decoupled\", lambda = 0.02 }",
    );
    let gd_l2 = opt("name = \"gd\"\nlr = 0.1\nweight_decay = { kind = \"l2\", lambda = 0.01 }");
    let sam = AlgorithmConfig::Sam {
        rho: 0.05,
        normalized: true,
    };
    let sam_raw = AlgorithmConfig::Sam {
        rho: 0.01,
        normalized: false,
    };
    let lngd = AlgorithmConfig::LabelNoiseGd { p: 0.2 };
    let mix = AlgorithmConfig::Mixup { alpha: 1.0 };
    let plain = AlgorithmConfig::Plain;
    vec![
        ("gd", gd.clone(), plain, None, relu3(), Loss::Logistic),
        ("gd l2", gd_l2.clone(), plain, None, relu3(), Loss::Logistic),
        ("sgd B=4", gd.clone(), plain, Some(4), relu3(), Loss::Logistic),
        ("momentum l2", mom_l2.clone(), plain, None, relu3(), Loss::Logistic),
        (
            "nesterov decoupled B=4",
            nest_dec.clone(),
            plain,
            Some(4),
            relu3(),
            Loss::Logistic,
        ),
        ("sam", gd.clone(), sam, None, relu3(), Loss::Logistic),
        ("sam momentum", mom_l2.clone(), sam, None, relu3(), Loss::Logistic),
        (
            "sam un-normalized",
            gd.clone(),
            AlgorithmConfig::Sam {
                rho: 0.05,
                normalized: false,
            },
            None,
            relu3(),
            Loss::Logistic,
        ),
        (
            "sam un-normalized B=4",
            opt("name = \"gd\"\nlr = 0.03"),
            sam_raw,
            Some(4),
            relu3(),
            Loss::Logistic,
        ),
        ("label-noise gd", gd.clone(), lngd, None, relu3(), Loss::Logistic),
        (
            "label-noise nesterov B=4",
            nest_dec.clone(),
            lngd,
            Some(4),
            relu3(),
            Loss::Logistic,
        ),
        ("mixup", gd.clone(), mix, None, relu3(), Loss::Logistic),
        (
            "mixup B=4 l2",
            gd_l2,
            AlgorithmConfig::Mixup { alpha: 0.4 },
            Some(4),
            relu3(),
            Loss::Logistic,
        ),
        ("hinge leaky gd", gd.clone(), plain, None, leaky(), Loss::Hinge),
        ("hinge leaky sam B=3", mom_l2, sam, Some(3), leaky(), Loss::Hinge),
        ("hinge leaky mixup", nest_dec, mix, None, leaky(), Loss::Hinge),
        (
            "logistic leaky label-noise",
            gd.clone(),
            lngd,
            Some(4),
            leaky(),
            Loss::Logistic,
        ),
        // An activation and a loss written outside the crates (below): the
        // engine evaluates them wherever it evaluates the built-in ones.
        (
            "outside smooth-leaky soft-hinge gd",
            gd.clone(),
            plain,
            None,
            smooth_leaky(),
            soft_hinge(),
        ),
        (
            "outside smooth-leaky soft-hinge sam B=4",
            gd.clone(),
            sam,
            Some(4),
            smooth_leaky(),
            soft_hinge(),
        ),
        // SGD with one sample per step on the square loss with ReLU² (the benign-oscillation setting).
        (
            "square relu2 sgd B=1",
            opt("name = \"gd\"\nlr = 0.003"),
            plain,
            Some(1),
            relu2(),
            Loss::Square,
        ),
    ]
}

#[test]
fn every_algorithm_runs_exactly_in_the_reduced_space() {
    let mut worst = (0.0f64, "");
    for (data, ds) in datasets() {
        for (name, opt, alg, batch, act, loss) in cases() {
            let model = CnnConfig {
                m: 3,
                activation: act.clone(),
                // ‖x‖ ≈ 1 for the single-vector model: a larger start, so that σ′ and the steps are not tiny.
                sigma0: if data == "moderate-d" { 0.5 } else { 0.05 },
                loss: loss.clone(),
                ..Default::default()
            };
            let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(21, 1)).unwrap();
            let cfg = train_cfg(alg, batch);
            let full = full_run(&ds, &model, &opt, &cfg, &w0);
            let red = reduced_run(&ds, &model, &opt, &cfg, &w0);
            let (gw, gl, gt) = gaps(&format!("{data} / {name}"), &loss, &full, &red);
            // The run must move: a test that compares W⁽⁰⁾ with itself proves nothing.
            let moved = rel_w(&full.1[0], full.1.last().unwrap());
            assert!(moved > 1e-3, "{data} / {name}: the weights barely moved ({moved:e})");
            assert!(
                gw < TOL && gl < TOL && gt < TOL,
                "{data} / {name}: weights {gw:e}, train loss {gl:e}, test loss {gt:e}"
            );
            if gw > worst.0 {
                worst = (gw, name);
            }
        }
    }
    eprintln!("largest relative weight gap: {:e} ({})", worst.0, worst.1);
}

/// SAM whose reduced ascent step forgets the normalization: `W + ρ·g`
/// where the full space takes `W + ρ·g/‖g‖`.
struct WrongSam {
    update: SpanUpdate,
    asc: Option<SpanDirection>,
    g: Option<SpanDirection>,
}

impl SpanAlgorithm for WrongSam {
    fn name(&self) -> &str {
        "wrong sam"
    }

    fn step(&mut self, ctx: &mut SpanStep<'_>) -> Result<(), TrainError> {
        let p = ctx.problem;
        let asc = self.asc.get_or_insert_with(|| p.zero_direction());
        let g = self.g.get_or_insert_with(|| p.zero_direction());
        ctx.batch_gradient(asc)?;
        let mut tilde = ctx.point.clone();
        tilde.add(p, 0.05, asc, &mut ctx.ws.scratch); // no 1/‖g‖
        p.gradient(&tilde, Targets::all(), ctx.ws, g)?;
        self.update.apply(p, ctx.point, g, ctx.ws);
        Ok(())
    }
}

#[test]
fn a_wrong_reduced_update_fails_the_comparison() {
    let (_, ds) = datasets().remove(0);
    let model = CnnConfig {
        m: 3,
        sigma0: 0.05,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(21, 1)).unwrap();
    let opt = OptimConfig::gd(0.1);
    let cfg = train_cfg(
        AlgorithmConfig::Sam {
            rho: 0.05,
            normalized: true,
        },
        None,
    );
    let full = full_run(&ds, &model, &opt, &cfg, &w0);
    let right = reduced_run(&ds, &model, &opt, &cfg, &w0);
    assert!(gaps("sam", &Loss::Logistic, &full, &right).0 < TOL);
    let wrong = WrongSam {
        update: SpanUpdate::from_optim(&opt).unwrap(),
        asc: None,
        g: None,
    };
    let problem = SpanProblem::new(&ds, &model, w0.view()).unwrap();
    let mut t = SpanTrainer::with_algorithm(problem, Box::new(wrong), cfg).unwrap();
    let mut w = Weights::default();
    let run = t.run(&mut [Watch::new(&mut w, Schedule::Every(1))]).unwrap();
    assert_eq!(run.records.len(), full.0.records.len());
    assert!(w.0.iter().all(|w| w.iter().all(|v| v.is_finite())));
    let worst = full.1.iter().zip(&w.0).map(|(a, b)| rel_w(a, b)).fold(0.0f64, f64::max);
    assert!(
        worst > 1e-4,
        "the un-normalized ascent step should be visible: {worst:e}"
    );
}

fn bits(run: &(RunRecord, Vec<Array2<f64>>)) -> Vec<u64> {
    let mut out: Vec<u64> = run.1.iter().flat_map(|w| w.iter().map(|v| v.to_bits())).collect();
    for r in &run.0.records {
        out.extend([r.train.loss, r.test.loss, r.grad_norm].map(f64::to_bits));
    }
    out
}

#[test]
fn trivial_parameters_are_plain_gd_bit_for_bit_in_both_spaces() {
    let (_, ds) = datasets().remove(2);
    let model = CnnConfig {
        m: 3,
        sigma0: 0.05,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(21, 1)).unwrap();
    let gd = OptimConfig::gd(1.0);
    for batch in [None, Some(3)] {
        let plain = train_cfg(AlgorithmConfig::Plain, batch);
        let base_full = bits(&full_run(&ds, &model, &gd, &plain, &w0));
        let base_red = bits(&reduced_run(&ds, &model, &gd, &plain, &w0));
        for alg in [
            AlgorithmConfig::Sam {
                rho: 0.0,
                normalized: true,
            },
            AlgorithmConfig::Sam {
                rho: 0.0,
                normalized: false,
            },
            AlgorithmConfig::LabelNoiseGd { p: 0.0 },
        ] {
            let cfg = train_cfg(alg, batch);
            assert_eq!(
                bits(&full_run(&ds, &model, &gd, &cfg, &w0)),
                base_full,
                "{alg:?} {batch:?} full"
            );
            assert_eq!(
                bits(&reduced_run(&ds, &model, &gd, &cfg, &w0)),
                base_red,
                "{alg:?} {batch:?} reduced"
            );
        }
        // Momentum 0 is GD.
        let m0 = OptimConfig::sgd_momentum(1.0, 0.0);
        assert_eq!(bits(&full_run(&ds, &model, &m0, &plain, &w0)), base_full);
        assert_eq!(bits(&reduced_run(&ds, &model, &m0, &plain, &w0)), base_red);
    }
    // Mixup at λ = 1 is the plain gradient, in both spaces (any pairing).
    let problem = SpanProblem::new(&ds, &model, w0.view()).unwrap();
    let point = problem.start();
    let mut ws = problem.workspace();
    let (mut a, mut b) = (problem.zero_direction(), problem.zero_direction());
    let pairs: Vec<usize> = (0..ds.train.n()).rev().collect();
    let ma = problem.gradient(&point, Targets::all(), &mut ws, &mut a).unwrap();
    let mb = problem
        .gradient(&point, Targets::all().mixup(&pairs, 1.0), &mut ws, &mut b)
        .unwrap();
    assert_eq!((ma, a), (mb, b));
    // ReducedGd and the SpanTrainer's plain GD are one computation.
    let mut red = gengap_analysis::ReducedGd::new(&ds, &model, w0.view(), 1.0, 0.0).unwrap();
    let mut losses: Vec<Metrics> = vec![];
    for _ in 0..STEPS {
        losses.push(red.step());
    }
    let (run, w) = reduced_run(
        &ds,
        &model,
        &gd,
        &TrainConfig {
            record: Schedule::Every(1),
            ..TrainConfig::steps(STEPS)
        },
        &w0,
    );
    let span_losses: Vec<Metrics> = run.records.iter().take(STEPS as usize).map(|r| r.train).collect();
    assert_eq!(losses, span_losses);
    assert_eq!(red.weights().unwrap(), *w.last().unwrap());
}

#[test]
fn adaptive_optimizers_are_refused_by_the_reduced_engine() {
    let (_, ds) = datasets().remove(0);
    let model = CnnConfig {
        m: 3,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(21, 1)).unwrap();
    for opt in [OptimConfig::adam(0.01), OptimConfig::sign_gd(0.01)] {
        let err = SpanTrainer::new(&ds, &model, w0.view(), &opt, TrainConfig::steps(3)).unwrap_err();
        assert!(matches!(err, TrainError::NotSpanPreserving { .. }), "{err}");
        assert!(err.to_string().contains(opt.name()));
    }
    // A stochastic algorithm without a stream is an error, not a silent default.
    let cfg = train_cfg(AlgorithmConfig::Mixup { alpha: 1.0 }, None);
    let mut t = SpanTrainer::new(&ds, &model, w0.view(), &OptimConfig::gd(0.1), cfg.clone()).unwrap();
    assert!(t.run(&mut []).unwrap_err().to_string().contains("stream"));
    let t = Trainer::new(
        &ds,
        &model,
        w0.clone(),
        Box::new(OptimConfig::gd(0.1).build::<f64>().unwrap()),
        cfg,
    )
    .unwrap();
    assert!(t.run(&mut []).unwrap_err().to_string().contains("stream"));
    // Bad algorithm values name the key.
    for (alg, key) in [
        (
            AlgorithmConfig::Sam {
                rho: -1.0,
                normalized: true,
            },
            "algorithm.rho",
        ),
        (AlgorithmConfig::LabelNoiseGd { p: 1.5 }, "algorithm.p"),
        (AlgorithmConfig::Mixup { alpha: 0.0 }, "algorithm.alpha"),
        (AlgorithmConfig::Mixup { alpha: f64::NAN }, "algorithm.alpha"),
    ] {
        let err = train_cfg(alg, None).validate().unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
}
