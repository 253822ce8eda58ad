//! XOR-type data in the reduced solver: two signal rows (`u`, `v`), patches
//! `±(u ± v)`. The reduced recursion equals full-space GD, and the exact
//! population error over the four signal patches matches a large test set.

use gengap_analysis::{ReducedGd, xor_patterns};
use gengap_data::{NoiseKind, XorParams, rng};
use gengap_model::{Activation, Batch, Cnn, CnnConfig, OutputScale, Workspace};
use gengap_optim::{OptimConfig, Optimizer};
use ndarray::Array2;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn reduced_gd_equals_full_space_gd_on_xor_data() {
    for (act, cos, p_flip) in [
        (Activation::Relu, 0.0, 0.0),
        (Activation::Relu, 0.6, 0.1),
        (Activation::LeakyRelu { slope: 0.1 }, 0.3, 0.1),
        (Activation::Linear, 0.0, 0.0),
    ] {
        let ds = XorParams {
            d: 200,
            n: 12,
            n_test: 200,
            a_norm: 4.0,
            cos_angle: cos,
            sigma_p: 1.0,
            p_flip,
        }
        .generate(&mut rng::seeded(5))
        .unwrap();
        let cfg = CnnConfig {
            m: 4,
            activation: act.clone(),
            scale: OutputScale::InvM,
            sigma0: 0.1,
            ..Default::default()
        };
        let w0 = cfg.init::<f64, _>(200, &mut rng::seeded(6)).unwrap();
        let mut red = ReducedGd::new(&ds, &cfg, w0.view(), 0.05, 0.0).unwrap();
        let cnn = Cnn::<f64>::new(&cfg).unwrap();
        let (b, bt) = (Batch::<f64>::from_split(&ds.train), Batch::<f64>::from_split(&ds.test));
        let (mut ws, mut wst) = (Workspace::for_batch(&b, 4), Workspace::for_batch(&bt, 4));
        let mut g = Array2::zeros(w0.dim());
        let mut w = w0.clone();
        let mut opt = toml::from_str::<OptimConfig>("name = \"gd\"\nlr = 0.05")
            .unwrap()
            .build::<f64>()
            .unwrap();
        for t in 0..400 {
            let full = cnn.loss_grad(&w, &b, &mut ws, &mut g).unwrap();
            let reduced = red.step();
            assert!(
                rel(reduced.loss, full.loss) < 1e-9,
                "{act:?} step {t}: {} vs {}",
                reduced.loss,
                full.loss
            );
            assert_eq!(reduced.error, full.error);
            opt.step(w.as_slice_mut().unwrap(), g.as_slice().unwrap()).unwrap();
        }
        let (ft, rt) = (cnn.evaluate(&w, &bt, &mut wst).unwrap(), red.test_metrics());
        assert_eq!(ft.error, rt.error);
        assert!(rel(rt.loss, ft.loss) < 1e-9);
        let wr = red.weights().unwrap();
        let moved = (&w - &w0).mapv(|v| v * v).sum().sqrt();
        let diff = (&wr - &w).mapv(|v| v * v).sum().sqrt();
        assert!(
            moved > 1e-2 && diff < 1e-9 * moved,
            "{act:?}: weights {diff} (moved {moved})"
        );
    }
}

#[test]
fn xor_population_error_matches_a_large_test_set() {
    let mut checked = 0;
    for (cos, p) in [(0.0, 0.0), (0.5, 0.15)] {
        let ds = XorParams {
            d: 150,
            n: 30,
            n_test: 20_000,
            a_norm: 3.0,
            cos_angle: cos,
            sigma_p: 1.0,
            p_flip: p,
        }
        .generate(&mut rng::seeded(9))
        .unwrap();
        let cfg = CnnConfig {
            m: 5,
            activation: Activation::Relu,
            scale: OutputScale::InvM,
            sigma0: 0.1,
            ..Default::default()
        };
        let w0 = cfg.init::<f64, _>(150, &mut rng::seeded(10)).unwrap();
        let mut red = ReducedGd::new(&ds, &cfg, w0.view(), 0.2, 0.0).unwrap();
        let mut r = rng::seeded(11);
        let normals = Array2::from_shape_simple_fn((40_000, 10), || rng::standard_normal(&mut r));
        for _ in 0..5 {
            for _ in 0..40 {
                red.step();
            }
            let emp = red.test_metrics().error;
            let clean = red
                .population_error_for(&xor_patterns(), NoiseKind::Orthogonal, 1.0, normals.view())
                .unwrap();
            let pop = ReducedGd::with_label_flips(clean, p);
            assert!((emp - pop).abs() < 0.02, "cos {cos}, p {p}: empirical {emp} vs {pop}");
            checked += usize::from(clean > 0.02 && clean < 0.48);
        }
    }
    assert!(checked > 0, "the comparison must include a non-trivial error level");
}
