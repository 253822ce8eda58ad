//! Tests of the model.

use super::*;
use gengap_data::rng;
use gengap_data::{C22Params, Z23Params};
use ndarray::Array2;

fn toy_batch(seed: u64) -> Batch<f64> {
    let p = Z23Params {
        d: 7,
        n: 5,
        n_test: 1,
        v_norm: 1.0,
        sigma_p: 0.8,
        s: 6,
        alpha: 0.3,
        patches: 3,
        p_flip: 0.0,
    };
    Batch::from_split(&p.generate(&mut rng::seeded(seed)).unwrap().train)
}

fn loss_at(cnn: &Cnn<f64>, w: &Array2<f64>, b: &Batch<f64>) -> f64 {
    let mut ws = Workspace::for_batch(b, cnn.m);
    cnn.evaluate(w, b, &mut ws).unwrap().loss
}

fn fd_check(act: Activation, scale: OutputScale, w: Array2<f64>, b: &Batch<f64>) {
    fd_check_loss(act, scale, Loss::Logistic, w, b)
}

fn fd_check_loss(act: Activation, scale: OutputScale, loss: Loss, w: Array2<f64>, b: &Batch<f64>) {
    let cfg = CnnConfig {
        m: w.nrows() / 2,
        activation: act.clone(),
        scale,
        sigma0: 0.5,
        loss,
    };
    let cnn = Cnn::<f64>::new(&cfg).unwrap();
    let mut ws = Workspace::for_batch(b, cnn.m);
    let mut g = Array2::zeros(w.dim());
    let met = cnn.loss_grad(&w, b, &mut ws, &mut g).unwrap();
    assert!((met.loss - loss_at(&cnn, &w, b)).abs() < 1e-14);
    let mut fd = Array2::<f64>::zeros(w.dim());
    let h = 1e-6;
    for idx in 0..w.len() {
        let (r, c) = (idx / w.ncols(), idx % w.ncols());
        let mut wp = w.clone();
        wp[[r, c]] += h;
        let mut wm = w.clone();
        wm[[r, c]] -= h;
        fd[[r, c]] = (loss_at(&cnn, &wp, b) - loss_at(&cnn, &wm, b)) / (2.0 * h);
    }
    let err = (&fd - &g).mapv(|v| v * v).sum().sqrt() / g.mapv(|v| v * v).sum().sqrt();
    assert!(g.iter().any(|v| v.abs() > 1e-6), "gradient should not vanish");
    assert!(err < 1e-6, "{act:?}: relative FD error {err}");
}

#[test]
fn gradient_matches_finite_differences_for_every_activation() {
    let b = toy_batch(11);
    for (act, scale) in [
        (Activation::ReluPow { q: 3.0 }, OutputScale::InvM),
        (Activation::ReluPow { q: 4.0 }, OutputScale::One),
        (Activation::ReluPow { q: 2.5 }, OutputScale::InvM),
        (Activation::HuberRelu { q: 3.0, h: 0.3 }, OutputScale::One),
        (Activation::Relu, OutputScale::InvM),
        (Activation::LeakyRelu { slope: 0.1 }, OutputScale::InvM),
        (Activation::Linear, OutputScale::One),
    ] {
        let w = CnnConfig {
            m: 4,
            sigma0: 0.7,
            ..Default::default()
        }
        .init::<f64, _>(7, &mut rng::seeded(5))
        .unwrap();
        fd_check(act, scale, w, &b);
    }
}

#[test]
fn gradient_matches_fd_near_the_huber_knot() {
    let b = toy_batch(12);
    let w = CnnConfig {
        m: 3,
        sigma0: 0.7,
        ..Default::default()
    }
    .init::<f64, _>(7, &mut rng::seeded(6))
    .unwrap();
    // Put the knot h within 1e-3 of an actual pre-activation, on either side.
    let z = b.x.dot(&w.t());
    let zpos = z.iter().copied().filter(|v| *v > 0.1).fold(f64::INFINITY, f64::min);
    for h in [zpos + 1e-3, zpos - 1e-3] {
        fd_check(Activation::HuberRelu { q: 3.0, h }, OutputScale::InvM, w.clone(), &b);
    }
}

#[test]
fn huber_is_c1_at_the_knot() {
    let a = Activation::HuberRelu { q: 3.0, h: 0.5 }.compile::<f64>();
    let (l, r) = (0.5 - 1e-9, 0.5 + 1e-9);
    assert!((a.value(l) - a.value(r)).abs() < 1e-8);
    assert!((a.deriv(l) - a.deriv(r)).abs() < 1e-7);
    assert!((a.value(0.5) - 0.5 / 3.0).abs() < 1e-15); // h^q/(q h^{q-1}) = h/q
}

#[test]
fn non_finite_outputs_are_errors_not_correct_predictions() {
    let y = ndarray::arr1(&[1.0f64, -1.0, 1.0, -1.0, 1.0]);
    let f = ndarray::arr1(&[f64::NAN, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0]);
    let m = metrics_of(f.view(), y.view());
    assert_eq!(m.error, 4.0 / 5.0, "only the finite correct output counts as correct");
    let all_nan = ndarray::Array1::<f32>::from_elem(4, f32::NAN);
    let y32 = ndarray::arr1(&[1.0f32, -1.0, 1.0, -1.0]);
    assert_eq!(metrics_of(all_nan.view(), y32.view()).error, 1.0);
}

#[test]
fn loss_is_finite_at_huge_margins() {
    for z in [1e3f64, -1e3, 1e6, -1e6] {
        assert!(logistic(z).is_finite() && logistic_deriv(z).is_finite());
    }
    assert!((logistic(-1e3f64) - 1e3).abs() < 1e-9);
    assert!(logistic(1e3f64) >= 0.0 && logistic(1e3f64) < 1e-300);
    assert!((logistic_deriv(-1e3f64) + 1.0).abs() < 1e-15);
    assert!((logistic(0.0f64) - 2f64.ln()).abs() < 1e-15);
    assert!((logistic_deriv(0.0f64) + 0.5).abs() < 1e-15);
    assert!(logistic(-1e3f32).is_finite());
    // Whole model at margins of ±1e3: ReLU, s_m = 1, a planted filter.
    let x = ndarray::array![[1.0, 0.0], [0.0, 1.0]];
    let b = Batch {
        x,
        y: ndarray::array![1.0],
        patches: 2,
    };
    let cfg = CnnConfig {
        m: 1,
        activation: Activation::Relu,
        scale: OutputScale::One,
        sigma0: 0.0,
        ..Default::default()
    };
    let cnn = Cnn::<f64>::new(&cfg).unwrap();
    let mut ws = Workspace::for_batch(&b, 1);
    for sign in [1.0, -1.0] {
        let w = ndarray::array![[1e3 * (sign + 1.0) / 2.0, 0.0], [1e3 * (1.0 - sign) / 2.0, 0.0]];
        let mut g = Array2::zeros(w.dim());
        let met = cnn.loss_grad(&w, &b, &mut ws, &mut g).unwrap();
        assert_eq!(ws.f.len(), 1);
        assert!(met.loss.is_finite() && g.iter().all(|v| v.is_finite()));
        if sign < 0.0 {
            assert!((met.loss - 1e3).abs() < 1e-9 && met.error == 1.0);
        } else {
            assert!(met.loss < 1e-300 && met.error == 0.0);
        }
    }
}

#[test]
fn planted_weights_give_the_known_output() {
    // d = 3, P = 2, m = 2, ReLU^3, s_m = 1/2.
    // x = ((1, 2, 0), (0, −1, 3)).
    // w_{+1,1} = (1, 0, 0): ⟨·,x1⟩=1, ⟨·,x2⟩=0  → 1
    // w_{+1,2} = (0, 0, 1): 0, 3                → 27
    // w_{−1,1} = (0, 1, 0): 2, −1               → 8
    // w_{−1,2} = (−1, 0, 0): −1, 0              → 0
    // f = (1 + 27 − 8 − 0)/2 = 10.
    let x = ndarray::array![[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]];
    let w = ndarray::array![[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]];
    let b = Batch {
        x,
        y: ndarray::array![-1.0],
        patches: 2,
    };
    let cnn = Cnn::<f64>::new(&CnnConfig {
        m: 2,
        ..Default::default()
    })
    .unwrap();
    let mut ws = Workspace::for_batch(&b, 2);
    assert_eq!(cnn.forward(&w, &b, &mut ws).unwrap()[0], 10.0);
    let met = cnn.evaluate(&w, &b, &mut ws).unwrap();
    assert_eq!(met.error, 1.0);
    assert!((met.loss - logistic(-10.0)).abs() < 1e-15);
    // The same in f32.
    let cnn32 = Cnn::<f32>::new(&CnnConfig {
        m: 2,
        ..Default::default()
    })
    .unwrap();
    let b32 = Batch {
        x: b.x.mapv(|v| v as f32),
        y: ndarray::array![-1.0f32],
        patches: 2,
    };
    let mut ws32 = Workspace::for_batch(&b32, 2);
    assert_eq!(cnn32.forward(&cast(w.view()), &b32, &mut ws32).unwrap()[0], 10.0f32);
}

#[test]
fn f32_gradient_agrees_with_f64() {
    let p = C22Params {
        d: 40,
        n: 6,
        n_test: 1,
        mu_norm: 2.0,
        sigma_p: 0.3,
        ..serde_default_c22()
    };
    let split = p.generate(&mut rng::seeded(2)).unwrap().train;
    let cfg = CnnConfig {
        m: 3,
        sigma0: 0.3,
        ..Default::default()
    };
    let w = cfg.init::<f64, _>(40, &mut rng::seeded(3)).unwrap();
    let (b64, b32) = (Batch::<f64>::from_split(&split), Batch::<f32>::from_split(&split));
    let (c64, c32) = (Cnn::<f64>::new(&cfg).unwrap(), Cnn::<f32>::new(&cfg).unwrap());
    let mut g64 = Array2::zeros(w.dim());
    let mut g32 = Array2::<f32>::zeros(w.dim());
    c64.loss_grad(&w, &b64, &mut Workspace::for_batch(&b64, 3), &mut g64)
        .unwrap();
    c32.loss_grad(&cast(w.view()), &b32, &mut Workspace::for_batch(&b32, 3), &mut g32)
        .unwrap();
    let diff = (&g64 - &cast::<f32, f64>(g32.view())).mapv(f64::abs).sum() / g64.mapv(f64::abs).sum();
    assert!(diff < 1e-5, "{diff}");
}

fn serde_default_c22() -> C22Params {
    toml::from_str("d = 2\nn = 1\nmu_norm = 1.0\nsigma_p = 1.0").unwrap()
}

#[test]
fn shape_errors_and_invalid_config() {
    let b = toy_batch(1);
    let cnn = Cnn::<f64>::new(&CnnConfig {
        m: 2,
        ..Default::default()
    })
    .unwrap();
    let mut ws = Workspace::for_batch(&b, 2);
    let bad = Array2::zeros((4, 3));
    assert!(matches!(
        cnn.evaluate(&bad, &b, &mut ws),
        Err(ModelError::Shape { what: "W", .. })
    ));
    // A batch without patches (or whose rows are not n·P) is an error, not a panic.
    let mut no_patches = b.clone();
    no_patches.patches = 0;
    let w = Array2::zeros((4, b.d()));
    let mut grad = w.clone();
    assert!(matches!(
        cnn.loss_grad(&w, &no_patches, &mut ws, &mut grad),
        Err(ModelError::Shape { what: "inputs", .. })
    ));
    assert!(
        Cnn::<f64>::new(&CnnConfig {
            m: 0,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        Cnn::<f64>::new(&CnnConfig {
            sigma0: f64::NAN,
            ..Default::default()
        })
        .is_err()
    );
    assert!(Activation::ReluPow { q: 0.5 }.validate().is_err());
    assert!(Activation::HuberRelu { q: 3.0, h: 0.0 }.validate().is_err());
    for slope in [-0.1, 1.5, f64::NAN] {
        assert!(Activation::LeakyRelu { slope }.validate().is_err(), "slope {slope}");
    }
    let e = toml::from_str::<CnnConfig>("m = 3\nactivation = { kind = \"relu_pow\", q = 3.0, h = 1.0 }").unwrap_err();
    assert!(e.to_string().contains('h'), "{e}");
    assert!(toml::from_str::<CnnConfig>("mm = 3").is_err());
}

/// The inlined integer power is `powi` bit for bit (so changing to it moved no result).
#[test]
fn inlined_integer_power_matches_powi_bitwise() {
    use crate::activation::ipow;
    let mut x = 0.37f64;
    for _ in 0..2000 {
        x = (x * 3.7 + 0.11) % 9.0; // values in [0, 9)
        for e in 0..=16 {
            assert_eq!(ipow(x, e).to_bits(), x.powi(e).to_bits(), "{x}^{e}");
            let xf = x as f32;
            assert_eq!(ipow(xf, e).to_bits(), xf.powi(e).to_bits(), "{xf}^{e}");
        }
    }
}

/// Leaky ReLU is `max(z, s·z)` with derivative 1 / `s`; the identity is
/// `z` with derivative 1; slope 0 is ReLU, value for value.
#[test]
fn leaky_relu_and_the_identity_are_what_they_say() {
    let leaky = Activation::LeakyRelu { slope: 0.2 }.compile::<f64>();
    let lin = Activation::Linear.compile::<f64>();
    let relu = Activation::Relu.compile::<f64>();
    let zero_slope = Activation::LeakyRelu { slope: 0.0 }.compile::<f64>();
    for z in [-3.0, -0.5, 0.0, 0.25, 2.0] {
        assert_eq!(leaky.value(z), if z > 0.0 { z } else { 0.2 * z });
        assert_eq!(leaky.deriv(z), if z > 0.0 { 1.0 } else { 0.2 });
        assert_eq!((lin.value(z), lin.deriv(z)), (z, 1.0));
        assert_eq!(zero_slope.value(z), relu.value(z));
        assert_eq!(zero_slope.deriv(z), relu.deriv(z));
    }
    assert!(leaky.value(f64::NAN).is_nan());
    let cfg: CnnConfig = toml::from_str("m = 2\nactivation = { kind = \"leaky_relu\", slope = 0.1 }").unwrap();
    assert_eq!(cfg.activation, Activation::LeakyRelu { slope: 0.1 });
}

#[test]
fn hinge_loss_gradient_matches_finite_differences_with_leaky_relu() {
    // Away from the kinks (margins ≠ 1, pre-activations ≠ 0) the hinge loss is
    // piecewise linear in the outputs, so central differences are exact up to
    // round-off; a finite-difference step crossing a kink would show as an error.
    let b = toy_batch(11);
    for act in [Activation::LeakyRelu { slope: 0.1 }, Activation::ReluPow { q: 3.0 }] {
        let w = CnnConfig {
            m: 3,
            sigma0: 0.7,
            ..Default::default()
        }
        .init::<f64, _>(b.d(), &mut rng::seeded(5))
        .unwrap();
        fd_check_loss(act, OutputScale::One, Loss::Hinge, w, &b);
    }
    // The loss itself: max(0, 1 − z) and its subgradient.
    assert_eq!(Loss::Hinge.value(0.25f64), 0.75);
    assert_eq!(Loss::Hinge.value(3.0f64), 0.0);
    assert_eq!(Loss::Hinge.deriv(0.999f64), -1.0);
    assert_eq!(Loss::Hinge.deriv(1.0f64), 0.0);
    // The config key parses, and the default stays logistic.
    let cfg: CnnConfig = toml::from_str("loss = \"hinge\"").unwrap();
    assert_eq!(cfg.loss, Loss::Hinge);
    assert_eq!(CnnConfig::default().loss, Loss::Logistic);
    assert!(toml::from_str::<CnnConfig>("loss = \"squared\"").is_err());
}

#[test]
fn square_loss_gradient_matches_finite_differences() {
    let b = toy_batch(12);
    for act in [Activation::ReluPow { q: 2.0 }, Activation::LeakyRelu { slope: 0.1 }] {
        let w = CnnConfig {
            m: 3,
            sigma0: 0.7,
            ..Default::default()
        }
        .init::<f64, _>(b.d(), &mut rng::seeded(6))
        .unwrap();
        fd_check_loss(act, OutputScale::One, Loss::Square, w, &b);
    }
    // (1 − z)²/2, minimal at margin 1, and its derivative z − 1: an
    // overshoot past margin 1 is pushed back.
    assert_eq!(Loss::Square.value(0.5f64), 0.125);
    assert_eq!(Loss::Square.value(1.0f64), 0.0);
    assert_eq!(Loss::Square.value(3.0f64), 2.0);
    assert_eq!(Loss::Square.deriv(3.0f64), 2.0);
    assert_eq!(Loss::Square.deriv(-1.0f64), -2.0);
    let cfg: CnnConfig = toml::from_str("loss = \"square\"").unwrap();
    assert_eq!(cfg.loss, Loss::Square);
}

/// An overflowed margin has no loss (NaN), for every loss: the logistic
/// `ℓ(+inf) = 0` would read as a perfect fit. A huge finite margin keeps
/// its value.
#[test]
fn a_non_finite_margin_has_a_nan_loss() {
    for loss in [Loss::Logistic, Loss::Hinge, Loss::Square] {
        for z in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            assert!(loss.value(z).is_nan(), "{loss:?} at {z}");
            assert!(loss.value(z as f32).is_nan(), "{loss:?} at {z} (f32)");
        }
    }
    assert_eq!(Loss::Logistic.value(1e300f64), 0.0);
    assert_eq!(Loss::Hinge.value(1e300f64), 0.0);
    let m = loss_metrics(
        &Loss::Logistic,
        ndarray::arr1(&[f64::INFINITY, 1.0]).view(),
        ndarray::arr1(&[1.0, 1.0]).view(),
    );
    assert!(m.loss.is_nan() && m.error == 0.5, "{m:?}");
}

#[test]
fn mixed_targets_are_the_weighted_loss_and_lambda_one_is_plain() {
    let b = toy_batch(4);
    let cfg = CnnConfig {
        m: 2,
        sigma0: 0.8,
        ..Default::default()
    };
    let cnn = Cnn::<f64>::new(&cfg).unwrap();
    let w = cfg.init::<f64, _>(b.d(), &mut rng::seeded(8)).unwrap();
    let mut ws = Workspace::for_batch(&b, cnn.m);
    let yb = b.y.mapv(|v| -v);
    ndarray::linalg::general_mat_mul(1.0, &b.x, &w.t(), 0.0, &mut ws.z);
    let z = ws.z.clone();
    let plain = cnn.grad_from_z(&mut ws, b.y.view(), b.patches);
    let dz_plain = ws.dz.clone();
    ws.z.assign(&z);
    let one = cnn.grad_from_z_mixed(&mut ws, b.y.view(), yb.view(), 1.0, b.patches);
    assert_eq!(plain, one);
    assert_eq!(dz_plain, ws.dz);
    // λ = 0.3: the loss is 0.3·L(y) + 0.7·L(−y), and so is ∂L/∂Z.
    ws.z.assign(&z);
    let flipped = cnn.grad_from_z(&mut ws, yb.view(), b.patches);
    let dz_flipped = ws.dz.clone();
    ws.z.assign(&z);
    let mixed = cnn.grad_from_z_mixed(&mut ws, b.y.view(), yb.view(), 0.3, b.patches);
    assert!((mixed.loss - (0.3 * plain.loss + 0.7 * flipped.loss)).abs() < 1e-14);
    let want = &dz_plain * 0.3 + &dz_flipped * 0.7;
    let err = (&ws.dz - &want).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(err < 1e-15, "{err}");
}

/// A bias is a constant coordinate: the gradient's last column on the
/// augmented inputs is `∂L/∂b` of a network written with an explicit bias,
/// `F_j = s_m Σ_r Σ_p σ(⟨w_{j,r}, x_p⟩ + b_{j,r})`, by central differences
/// on that independent formula; at `scale = { fixed = 0.5 }` (Kou's mean
/// over two patches) and PyTorch's default initialisation.
#[test]
fn bias_column_gradient_is_the_explicit_bias_gradient() {
    let ds = C22Params {
        d: 9,
        n: 6,
        n_test: 1,
        mu_norm: 2.0,
        p_flip: 0.2,
        noise: gengap_data::NoiseKind::Isotropic,
        ..serde_default_c22()
    }
    .generate(&mut rng::seeded(21))
    .unwrap();
    let aug = ds.train.with_constant_coordinate(1.0);
    let cfg = CnnConfig {
        m: 3,
        activation: Activation::Relu,
        scale: OutputScale::Fixed(0.5),
        ..Default::default()
    };
    let cnn = Cnn::<f64>::new(&cfg).unwrap();
    let w = pytorch_default_init(6, 10, 9, &mut rng::seeded(22)).unwrap();
    let batch = Batch::from_split(&aug);
    let mut ws = Workspace::for_batch(&batch, cfg.m);
    let mut grad = Array2::zeros(w.dim());
    let at = cnn.loss_grad(&w, &batch, &mut ws, &mut grad).unwrap();
    // The explicit-bias network on the original 9-dimensional patches.
    let explicit = |w: &Array2<f64>| -> f64 {
        let (n, p, _) = ds.train.x.dim();
        let mut loss = 0.0;
        for i in 0..n {
            let mut f = 0.0;
            for c in 0..6 {
                let j = if c < 3 { 1.0 } else { -1.0 };
                for q in 0..p {
                    let z: f64 = (0..9).map(|k| w[[c, k]] * ds.train.x[[i, q, k]]).sum::<f64>() + w[[c, 9]];
                    f += 0.5 * j * z.max(0.0);
                }
            }
            loss += (1.0 + (-ds.train.y[i] * f).exp()).ln();
        }
        loss / n as f64
    };
    assert!(
        (explicit(&w) - at.loss).abs() < 1e-12,
        "{} vs {}",
        explicit(&w),
        at.loss
    );
    let h = 1e-6;
    for c in 0..6 {
        let (mut wp, mut wm) = (w.clone(), w.clone());
        wp[[c, 9]] += h;
        wm[[c, 9]] -= h;
        let fd = (explicit(&wp) - explicit(&wm)) / (2.0 * h);
        assert!(
            (fd - grad[[c, 9]]).abs() < 1e-7 * (1.0 + fd.abs()),
            "filter {c}: fd {fd}, grad {}",
            grad[[c, 9]]
        );
        assert!(grad[[c, 9]] != 0.0, "a zero bias gradient tests nothing");
    }
}

#[test]
fn fixed_scale_is_validated_and_pytorch_init_is_in_its_bounds() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let cfg = CnnConfig {
            scale: OutputScale::Fixed(bad),
            ..Default::default()
        };
        assert!(cfg.validate().is_err(), "{bad}");
    }
    let w = pytorch_default_init(40, 50, 25, &mut rng::seeded(1)).unwrap();
    // U(±1/5): inside the bound, and filling it (max |w| near 0.2; mean near 0).
    assert!(w.iter().all(|v| v.abs() < 0.2));
    assert!(w.iter().map(|v| v.abs()).fold(0.0, f64::max) > 0.19);
    assert!((w.mean().unwrap()).abs() < 0.01);
    assert!(pytorch_default_init(2, 2, 0, &mut rng::seeded(1)).is_err());
    let toml: CnnConfig = toml::from_str("scale = { fixed = 0.5 }").unwrap();
    assert_eq!(toml.s_m(), 0.5);
}
