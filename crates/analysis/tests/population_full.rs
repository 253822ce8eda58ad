//! The full-space population error (`population_error_full`) against the
//! reduced engine's (same normals, isotropic noise) and against a large
//! test set of real points, with a bias coordinate.

use gengap_analysis::{GaussianPatch, ReducedGd, population_error_full};
use gengap_data::{C22Params, NoiseKind, rng};
use gengap_model::{Activation, Batch, Cnn, CnnConfig, OutputScale, Workspace, pytorch_default_init};
use ndarray::{Array1, Array2};

fn model() -> CnnConfig {
    CnnConfig {
        m: 5,
        activation: Activation::Relu,
        scale: OutputScale::Fixed(0.5),
        sigma0: 0.05,
        ..Default::default()
    }
}

fn data(d: usize, n_test: usize) -> gengap_data::Dataset {
    C22Params {
        d,
        n: 10,
        n_test,
        mu_norm: 2.0,
        sigma_p: 1.0,
        noise: NoiseKind::Isotropic,
        p_flip: 0.1,
        ..Default::default()
    }
    .generate(&mut rng::stream(3, 0))
    .unwrap()
}

fn patterns(mu: &Array1<f64>) -> [(Array1<f64>, f64); 2] {
    [(mu.clone(), 1.0), (-mu, -1.0)]
}

#[test]
fn full_space_error_is_the_reduced_engines_on_the_same_normals() {
    let ds = data(60, 1);
    let cfg = model();
    let w0 = cfg.init::<f64, _>(60, &mut rng::stream(3, 1)).unwrap();
    let mut gd = ReducedGd::new(&ds, &cfg, w0.view(), 0.3, 0.0).unwrap();
    let mut r = rng::stream(3, 2);
    let normals = Array2::from_shape_simple_fn((4000, 10), || rng::standard_normal(&mut r));
    let noise = GaussianPatch {
        mean: Array1::zeros(60),
        sigma_p: 1.0,
        noisy: 60,
    };
    let mut nonzero = 0;
    for step in 0..40 {
        let reduced = gd.population_error(NoiseKind::Isotropic, 1.0, normals.view()).unwrap();
        let w = gd.weights().unwrap();
        let full = population_error_full(w.view(), &cfg, &patterns(&ds.signal), &noise, normals.view()).unwrap();
        // Two factors of one covariance map the same normals to draws that
        // differ by round-off, so at most a point or two may change side.
        assert!(
            (reduced - full).abs() <= 2.0 / 4000.0,
            "step {step}: reduced {reduced}, full {full}"
        );
        nonzero += usize::from(full > 0.0);
        gd.step();
    }
    assert!(nonzero > 0, "a test that compares zeros compares nothing");
}

#[test]
fn with_a_bias_coordinate_it_matches_a_large_test_set() {
    // Weights with a bias column: PyTorch's default init, which is not small.
    let d = 40;
    let cfg = model();
    let ds = data(d, 20_000).with_constant_coordinate(1.0);
    let w = pytorch_default_init(2 * cfg.m, d + 1, d, &mut rng::stream(4, 0)).unwrap();
    let cnn = Cnn::<f64>::new(&cfg).unwrap();
    let test = Batch::from_split(&ds.test);
    let mut ws = Workspace::for_batch(&test, cfg.m);
    cnn.forward(&w, &test, &mut ws).unwrap();
    let wrong = ws.f.iter().zip(&ds.test.y_clean).filter(|&(f, y)| y * f <= 0.0).count() as f64 / 20_000.0;
    let mut mean = Array1::zeros(d + 1);
    mean[d] = 1.0;
    let noise = GaussianPatch {
        mean: mean.clone(),
        sigma_p: 1.0,
        noisy: d,
    };
    let mut mu = ds.signal.clone();
    mu[d] = 1.0;
    let mut r = rng::stream(4, 1);
    let normals = Array2::from_shape_simple_fn((40_000, 2 * cfg.m), || rng::standard_normal(&mut r));
    let pop = population_error_full(
        w.view(),
        &cfg,
        &[(mu.clone(), 1.0), (&mean * 2.0 - &mu, -1.0)],
        &noise,
        normals.view(),
    )
    .unwrap();
    // Two independent estimates: standard error ≤ √(¼/20000 + ¼/40000) ≈ 0.0043.
    assert!(pop > 0.02 && pop < 0.98, "a trivial error tests nothing: {pop}");
    assert!((pop - wrong).abs() < 0.02, "population {pop}, test set {wrong}");
}

#[test]
fn shapes_are_checked() {
    let cfg = model();
    let w = Array2::zeros((10, 4));
    let noise = GaussianPatch {
        mean: Array1::zeros(4),
        sigma_p: 1.0,
        noisy: 4,
    };
    let p = patterns(&Array1::from(vec![1.0, 0.0, 0.0, 0.0]));
    assert!(population_error_full(w.view(), &cfg, &p, &noise, Array2::zeros((5, 9)).view()).is_err());
    assert!(
        population_error_full(
            Array2::zeros((8, 4)).view(),
            &cfg,
            &p,
            &noise,
            Array2::zeros((5, 10)).view()
        )
        .is_err()
    );
    let short = GaussianPatch {
        noisy: 5,
        ..noise.clone()
    };
    assert!(population_error_full(w.view(), &cfg, &p, &short, Array2::zeros((5, 10)).view()).is_err());
    assert!(population_error_full(w.view(), &cfg, &p, &noise, Array2::zeros((5, 10)).view()).is_ok());
}
