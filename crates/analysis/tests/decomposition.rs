//! The decomposition recovers planted coefficients, has zero residual under GD
//! and a clear one under Adam, and the reduced solver reproduces full-space GD.

use gengap_analysis::{Basis, Decomposer, ReducedGd};
use gengap_data::{C22Params, Dataset, Direction, NoiseKind, Z23Params, rng};
use gengap_model::{Activation, Batch, Cnn, CnnConfig, OutputScale, Workspace};
use gengap_optim::{OptimConfig, Optimizer};
use ndarray::{Array1, Array2, Axis};

fn c22(d: usize, n: usize, seed: u64) -> Dataset {
    C22Params {
        d,
        n,
        n_test: 300,
        mu_norm: 4.0,
        sigma_p: 1.0,
        noise: NoiseKind::Orthogonal,
        direction: Direction::E1,
        p_flip: 0.0,
    }
    .generate(&mut rng::seeded(seed))
    .unwrap()
}

fn z23(seed: u64) -> Dataset {
    Z23Params {
        d: 300,
        n: 12,
        n_test: 200,
        v_norm: 3.0,
        sigma_p: 0.5,
        s: 60,
        alpha: 0.2,
        patches: 3,
        p_flip: 0.0,
    }
    .generate(&mut rng::seeded(seed))
    .unwrap()
}

fn train(ds: &Dataset, cfg: &CnnConfig, w0: &Array2<f64>, opt: &OptimConfig, steps: usize) -> Array2<f64> {
    let cnn = Cnn::<f64>::new(cfg).unwrap();
    let b = Batch::<f64>::from_split(&ds.train);
    let mut ws = Workspace::for_batch(&b, cfg.m);
    let mut g = Array2::zeros(w0.dim());
    let mut w = w0.clone();
    let mut o = opt.build::<f64>().unwrap();
    for _ in 0..steps {
        cnn.loss_grad(&w, &b, &mut ws, &mut g).unwrap();
        o.step(w.as_slice_mut().unwrap(), g.as_slice().unwrap()).unwrap();
    }
    w
}

#[test]
fn planted_coefficients_are_recovered() {
    for ds in [c22(200, 15, 1), z23(2)] {
        let m = 3;
        let w0 = CnnConfig {
            m,
            sigma0: 0.05,
            ..Default::default()
        }
        .init::<f64, _>(ds.train.d(), &mut rng::seeded(3))
        .unwrap();
        let basis = Basis::from_dataset(&ds);
        let nk = basis.n_noise();
        // Plant W = α∘W0 + j γ μ/‖μ‖² + Σ ρ ξ/‖ξ‖².
        let mut r = rng::seeded(4);
        let alpha: Array1<f64> = (0..2 * m).map(|_| 0.5 + rng::uniform_open01(&mut r)).collect();
        let gamma: Array1<f64> = (0..2 * m).map(|_| 3.0 * rng::standard_normal(&mut r)).collect();
        let rho = Array2::from_shape_simple_fn((2 * m, nk), || 2.0 * rng::standard_normal(&mut r));
        let mut w = &w0 * &alpha.view().insert_axis(Axis(1));
        for c in 0..2 * m {
            let j = if c < m { 1.0 } else { -1.0 };
            w.row_mut(c)
                .scaled_add(j * gamma[c] / basis.norm_sq[0], &basis.s.row(0));
            for k in 0..nk {
                w.row_mut(c)
                    .scaled_add(rho[[c, k]] / basis.norm_sq[1 + k], &basis.s.row(1 + k));
            }
        }
        let dec = Decomposer::new(basis.clone(), w0.view())
            .unwrap()
            .decompose(w.view())
            .unwrap();
        let err = |a: f64, b: f64| (a - b).abs() / b.abs().max(1.0);
        for c in 0..2 * m {
            assert!(
                err(dec.gamma[c], gamma[c]) < 1e-10,
                "gamma {c}: {} vs {}",
                dec.gamma[c],
                gamma[c]
            );
            assert!(err(dec.coef_w0[c], alpha[c]) < 1e-10);
            let j = if c < m { 1.0 } else { -1.0 };
            for k in 0..nk {
                let (bar, neg) = (dec.rho_bar[[c, k]], dec.rho[[c, k]]);
                if basis.noise_label[k] == j {
                    assert!(err(bar, rho[[c, k]]) < 1e-10 && neg == 0.0);
                } else {
                    assert!(err(neg, rho[[c, k]]) < 1e-10 && bar == 0.0);
                }
            }
        }
        assert!(dec.residual_total < 1e-10, "{}", dec.residual_total);
        // A direction outside the span shows up in the residual.
        let mut off = w.clone();
        let mut e = Array1::<f64>::zeros(ds.train.d());
        for v in e.iter_mut() {
            *v = rng::standard_normal(&mut r);
        }
        off.row_mut(0).scaled_add(0.1, &e);
        let dec = Decomposer::new(basis, w0.view())
            .unwrap()
            .decompose(off.view())
            .unwrap();
        assert!(dec.residual[0] > 1e-3 && dec.residual[1] < 1e-10);
    }
}

#[test]
fn gd_stays_in_the_span_with_the_right_signs_and_adam_leaves_it() {
    let ds = c22(400, 12, 5);
    let cfg = CnnConfig {
        m: 5,
        sigma0: 0.1,
        ..Default::default()
    };
    let w0 = cfg.init::<f64, _>(400, &mut rng::seeded(6)).unwrap();
    let dec = Decomposer::new(Basis::from_dataset(&ds), w0.view()).unwrap();
    let gd: OptimConfig = toml::from_str("name = \"gd\"\nlr = 0.01").unwrap();
    let w = train(&ds, &cfg, &w0, &gd, 200);
    let d = dec.decompose(w.view()).unwrap();
    let s = d.summary(dec.basis());
    assert!(s.residual < 1e-8, "GD residual {}", s.residual);
    assert!(
        s.max_gamma > 1e-3 && s.max_rho_bar > 1e-3,
        "GD learned something: {s:?}"
    );
    let scale = s.max_rho_bar.max(s.max_gamma);
    assert!(d.rho_bar.iter().all(|&v| v >= -1e-10 * scale), "rho_bar >= 0");
    assert!(d.rho.iter().all(|&v| v <= 1e-10 * scale), "rho <= 0");
    assert!(d.coef_w0.iter().all(|&a| (a - 1.0).abs() < 1e-10));
    let adam: OptimConfig = toml::from_str("name = \"adam_seed\"\nlr = 1e-3").unwrap();
    let w = train(&ds, &cfg, &w0, &adam, 200);
    let r = dec.decompose(w.view()).unwrap().residual_total;
    assert!(r > 1e-3, "Adam residual {r}");
    // Same on the [Z23] model.
    let ds = z23(7);
    let cfg = CnnConfig {
        m: 4,
        sigma0: 0.05,
        scale: OutputScale::One,
        ..Default::default()
    };
    let w0 = cfg.init::<f64, _>(300, &mut rng::seeded(8)).unwrap();
    let dec = Decomposer::new(Basis::from_dataset(&ds), w0.view()).unwrap();
    let w = train(&ds, &cfg, &w0, &toml::from_str("name = \"gd\"\nlr = 0.5").unwrap(), 200);
    assert!(dec.decompose(w.view()).unwrap().residual_total < 1e-8);
    let w = train(&ds, &cfg, &w0, &adam, 200);
    assert!(dec.decompose(w.view()).unwrap().residual_total > 1e-3);
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn reduced_solver_reproduces_full_space_gd() {
    let cases = [
        (
            c22(300, 10, 9),
            Activation::ReluPow { q: 3.0 },
            OutputScale::InvM,
            0.01,
            0.0,
        ),
        (
            c22(300, 10, 9),
            Activation::HuberRelu { q: 3.0, h: 0.5 },
            OutputScale::InvM,
            0.01,
            0.0,
        ),
        (
            c22(300, 10, 9),
            Activation::ReluPow { q: 3.0 },
            OutputScale::InvM,
            0.01,
            1.0,
        ),
        (z23(10), Activation::ReluPow { q: 3.0 }, OutputScale::One, 0.2, 0.01),
        // Plain ReLU (q = 1, σ′(0) = 0), the activation of [K23] and [M24].
        (c22(300, 10, 9), Activation::Relu, OutputScale::InvM, 0.05, 0.0),
        (
            c22(300, 10, 9),
            Activation::ReluPow { q: 1.0 },
            OutputScale::InvM,
            0.05,
            0.01,
        ),
        // Leaky ReLU (σ′ = s below 0) and the identity (the linear baseline of [M24]).
        (
            c22(300, 10, 9),
            Activation::LeakyRelu { slope: 0.1 },
            OutputScale::InvM,
            0.05,
            0.0,
        ),
        (c22(300, 10, 9), Activation::Linear, OutputScale::InvM, 0.05, 0.0),
    ];
    for (ds, act, scale, lr, lambda) in cases {
        let cfg = CnnConfig {
            m: 4,
            activation: act.clone(),
            scale,
            sigma0: 0.1,
            ..Default::default()
        };
        let d = ds.train.d();
        let w0 = cfg.init::<f64, _>(d, &mut rng::seeded(11)).unwrap();
        let mut red = ReducedGd::new(&ds, &cfg, w0.view(), lr, lambda).unwrap();
        let cnn = Cnn::<f64>::new(&cfg).unwrap();
        let (b, bt) = (Batch::<f64>::from_split(&ds.train), Batch::<f64>::from_split(&ds.test));
        let (mut ws, mut wst) = (Workspace::for_batch(&b, 4), Workspace::for_batch(&bt, 4));
        let mut g = Array2::zeros(w0.dim());
        let mut w = w0.clone();
        let wd = if lambda > 0.0 {
            format!("\nweight_decay = {{ kind = \"l2\", lambda = {lambda} }}")
        } else {
            String::new()
        };
        let mut opt = toml::from_str::<OptimConfig>(&format!("name = \"gd\"\nlr = {lr}{wd}"))
            .unwrap()
            .build::<f64>()
            .unwrap();
        let dec = Decomposer::new(Basis::from_dataset(&ds), w0.view()).unwrap();
        let mut max_test_gap = 0.0f64;
        for t in 0..500 {
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
            if t % 100 == 99 {
                let ft = cnn.evaluate(&w, &bt, &mut wst).unwrap();
                let rt = red.test_metrics();
                assert_eq!(ft.error, rt.error);
                max_test_gap = max_test_gap.max(rel(rt.loss, ft.loss));
            }
        }
        assert!(max_test_gap < 1e-9, "test loss gap {max_test_gap}");
        // Coefficients: reduced (exact) vs least squares on the full-space W.
        let a = red.decomposition();
        let f = dec.decompose(w.view()).unwrap();
        let scale = a
            .gamma
            .iter()
            .chain(a.rho_bar.iter())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 1e-3, "{act:?}: dynamics too small to test ({scale})");
        for (x, y) in a
            .gamma
            .iter()
            .zip(&f.gamma)
            .chain(a.rho_bar.iter().zip(&f.rho_bar))
            .chain(a.rho.iter().zip(&f.rho))
        {
            assert!((x - y).abs() <= 1e-9 * scale, "{act:?}: coefficient {x} vs {y}");
        }
        for (x, y) in a.coef_w0.iter().zip(&f.coef_w0) {
            assert!(rel(*x, *y) < 1e-9);
        }
        if lambda > 0.0 {
            let want = (1.0 - lr * lambda).powi(500);
            assert!(a.coef_w0.iter().all(|&v| rel(v, want) < 1e-12));
        }
        let wr = red.weights().unwrap();
        let diff = (&wr - &w).mapv(|v| v * v).sum().sqrt() / w.mapv(|v| v * v).sum().sqrt();
        assert!(diff < 1e-9, "weights {diff}");
    }
}

/// GD (reduced, `η = 0.1`) on a \[C22\] set of `n = 20`, `d = 200` with a
/// 20 000-sample test split and labels flipped at rate `p_flip`: the data
/// from `seeded(seed)`, `W⁽⁰⁾` from `seeded(seed + 1)`.
fn large_test_set(p_flip: f64, seed: u64) -> ReducedGd {
    large_test_set_with(NoiseKind::Orthogonal, p_flip, seed)
}

/// [`large_test_set`] with the given noise kind.
fn large_test_set_with(noise: NoiseKind, p_flip: f64, seed: u64) -> ReducedGd {
    let ds = C22Params {
        d: 200,
        n: 20,
        n_test: 20_000,
        mu_norm: 6.0,
        sigma_p: 1.0,
        noise,
        direction: Direction::RandomUnit,
        p_flip,
    }
    .generate(&mut rng::seeded(seed))
    .unwrap();
    let cfg = CnnConfig {
        m: 4,
        sigma0: 0.2,
        ..Default::default()
    };
    let w0 = cfg.init::<f64, _>(200, &mut rng::seeded(seed + 1)).unwrap();
    ReducedGd::new(&ds, &cfg, w0.view(), 0.1, 0.0).unwrap()
}

#[test]
fn gaussian_test_error_matches_a_large_test_set() {
    // Train part-way (test error strictly between 0 and 1/2), then compare the
    // exact-form estimate with the empirical error on 20 000 fresh samples.
    let mut red = large_test_set(0.0, 21);
    let mut checked = 0;
    for _ in 0..6 {
        for _ in 0..20 {
            red.step();
        }
        let emp = red.test_metrics().error;
        let gauss = red.gaussian_test_error(1.0, 40_000, &mut rng::seeded(23));
        // Two independent Monte-Carlo estimates: SE ≈ sqrt(p(1-p)(1/20000 + 1/40000)) ≤ 0.0043.
        assert!((emp - gauss).abs() < 0.02, "empirical {emp} vs Gaussian form {gauss}");
        if emp > 0.02 && emp < 0.48 {
            checked += 1;
        }
    }
    assert!(checked > 0, "the comparison must include a non-trivial error level");
}

#[test]
fn blocked_setup_equals_the_dataset_setup() {
    // The same training set and W0, once materialized and once as Gram
    // products only: identical dynamics and Gaussian test error.
    let p = C22Params {
        d: 500,
        n: 8,
        n_test: 1,
        mu_norm: 5.0,
        sigma_p: 1.0,
        noise: NoiseKind::Orthogonal,
        direction: Direction::E1,
        p_flip: 0.0,
    };
    let cfg = CnnConfig {
        m: 3,
        sigma0: 0.1,
        ..Default::default()
    };
    let bl = p.blocked_products(cfg.sigma0, 6, &mut rng::seeded(31)).unwrap();
    let mut blocked = ReducedGd::from_blocked(&bl, &cfg, 0.05, 0.0).unwrap();
    // Rebuild the same data set explicitly from the blocked streams' Gram
    // matrix: S = chol-free route — recover it by drawing again.
    let mut r = rng::seeded(31);
    for _ in 0..8 {
        rng::rademacher(&mut r);
        rng::uniform_index(&mut r, 2);
    }
    let sub = rand::Rng::next_u64(&mut r);
    let (mut nr, mut wr) = (rng::stream(sub, 0), rng::stream(sub, 1));
    let mut ds = p.generate(&mut rng::seeded(0)).unwrap();
    let mut w0 = Array2::<f64>::zeros((6, 500));
    for i in 0..8 {
        for c in 0..500 {
            let v = rng::standard_normal(&mut nr);
            ds.train.noise[[i, 0, c]] = if c == 0 { 0.0 } else { v };
        }
        ds.train.y[i] = bl.y[i];
        ds.train.y_clean[i] = bl.y[i];
        let sp = bl.signal_patch[i];
        ds.train.signal_patch[i] = sp;
        ds.train.noise_patches[[i, 0]] = 1 - sp;
        let (sig, xi) = (
            &ds.signal * bl.y[i],
            ds.train.noise.slice(ndarray::s![i, 0, ..]).to_owned(),
        );
        ds.train.x.slice_mut(ndarray::s![i, sp, ..]).assign(&sig);
        ds.train.x.slice_mut(ndarray::s![i, 1 - sp, ..]).assign(&xi);
    }
    for row in 0..6 {
        for c in 0..500 {
            w0[[row, c]] = 0.1 * rng::standard_normal(&mut wr);
        }
    }
    let mut full = ReducedGd::new(&ds, &cfg, w0.view(), 0.05, 0.0).unwrap();
    for t in 0..200 {
        let (a, b) = (blocked.step(), full.step());
        assert!(rel(a.loss, b.loss) < 1e-9, "step {t}: {} vs {}", a.loss, b.loss);
    }
    let (ga, gb) = (
        blocked.gaussian_test_error(1.0, 5000, &mut rng::seeded(1)),
        full.gaussian_test_error(1.0, 5000, &mut rng::seeded(1)),
    );
    assert!((ga - gb).abs() < 1e-9, "{ga} vs {gb}");
    assert!(blocked.test_metrics().error.is_nan() && blocked.weights().is_none());
    let (da, db) = (blocked.decomposition(), full.decomposition());
    assert!(
        da.gamma
            .iter()
            .zip(&db.gamma)
            .all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs().max(1e-3))
    );
}

/// With label flips at rate p, the empirical error of a large test set
/// against the observed labels equals `p + (1 − 2p)·err_clean`, with
/// `err_clean` the Gaussian-form population error against the clean labels.
#[test]
fn population_error_with_label_flips_matches_a_large_test_set() {
    let p = 0.2;
    let mut red = large_test_set(p, 31);
    let mut seen = vec![];
    for _ in 0..6 {
        for _ in 0..20 {
            red.step();
        }
        let emp = red.test_metrics().error;
        let clean = red.gaussian_test_error(1.0, 40_000, &mut rng::seeded(33));
        let pop = ReducedGd::with_label_flips(clean, p);
        // SE ≈ sqrt(0.25/20000 + (1−2p)²·0.25/40000) ≈ 0.004.
        assert!(
            (emp - pop).abs() < 0.015,
            "empirical {emp} vs p + (1 − 2p)·{clean} = {pop}"
        );
        seen.push((clean, emp));
    }
    // The correction is what makes them agree: the clean error alone is more
    // than 7 standard errors from the observed one (with about a fifth of the
    // 20 training labels flipped, GD stays harmful here: clean error ≈ 0.4),
    // and the observed error never falls below p.
    assert!(seen.iter().all(|&(c, e)| (e - c).abs() > 0.03), "{seen:?}");
    assert!(seen.iter().all(|&(_, e)| e > p - 0.02), "{seen:?}");
}

/// `population_error` from caller-drawn normals, for both noise kinds and
/// with label flips, against the empirical error of 20 000 fresh samples
/// drawn from the model itself (isotropic noise has a μ component, which the
/// formula counts as noise).
#[test]
fn population_error_of_either_noise_kind_matches_a_large_test_set() {
    let mut checked = 0;
    for (noise, p) in [
        (NoiseKind::Isotropic, 0.0),
        (NoiseKind::Isotropic, 0.1),
        (NoiseKind::Orthogonal, 0.1),
    ] {
        let mut red = large_test_set_with(noise, p, 41);
        let mut r = rng::seeded(43);
        let normals = Array2::from_shape_simple_fn((40_000, 8), || rng::standard_normal(&mut r));
        for _ in 0..6 {
            for _ in 0..20 {
                red.step();
            }
            let emp = red.test_metrics().error;
            let clean = red.population_error(noise, 1.0, normals.view()).unwrap();
            let pop = ReducedGd::with_label_flips(clean, p);
            // SE ≈ sqrt(0.25/20000 + 0.25/40000) ≈ 0.0043.
            assert!((emp - pop).abs() < 0.02, "{noise:?}, p = {p}: empirical {emp} vs {pop}");
            if clean > 0.02 && clean < 0.48 {
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "the comparison must include a non-trivial error level");
    let red = large_test_set(0.0, 41);
    assert!(
        red.population_error(NoiseKind::Orthogonal, 1.0, Array2::zeros((5, 3)).view())
            .is_err()
    );
}

#[test]
fn a_training_patch_outside_the_span_is_refused() {
    let cfg = CnnConfig {
        m: 3,
        ..Default::default()
    };
    let mut ds = c22(200, 8, 4);
    let w0 = cfg.init::<f64, _>(200, &mut rng::seeded(5)).unwrap();
    assert!(ReducedGd::new(&ds, &cfg, w0.view(), 0.01, 0.0).is_ok());
    // One coordinate of one patch moved by 1e-6 of the data's scale: far
    // above round-off, so the patch is no longer signal plus its noise vector.
    let scale = ds.train.x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    ds.train.x[[3, 1, 17]] += 1e-6 * scale;
    match ReducedGd::new(&ds, &cfg, w0.view(), 0.01, 0.0) {
        Err(gengap_analysis::AnalysisError::InvalidParam {
            field: "data", value, ..
        }) => {
            // The message names the moved patch and its sample.
            assert!(value.starts_with("patch 1 of training sample 3 "), "{value}");
            assert!(value.contains("max |X - A S|"), "{value}");
        }
        other => panic!("expected the span check to refuse the data, got {other:?}"),
    }
}
