//! Tests of the data models.

use super::*;
use ndarray::{Array1, Array2, s};
use rand::Rng;

fn c22() -> C22Params {
    C22Params {
        d: 50,
        n: 8,
        n_test: 5,
        mu_norm: 3.0,
        sigma_p: 1.0,
        noise: NoiseKind::Orthogonal,
        direction: Direction::E1,
        p_flip: 0.0,
    }
}

#[test]
fn absurd_sizes_are_an_error_not_an_abort() {
    let huge = C22Params {
        d: 10_000_000_000_000,
        ..c22()
    };
    let e = huge.generate(&mut rng::stream(1, 0)).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Alloc {
                bytes: 80_000_000_000_000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("cannot allocate the signal vector"), "{e}");
    let wide = C22Params { n: 1 << 60, ..c22() };
    assert!(matches!(
        wide.generate(&mut rng::stream(1, 0)),
        Err(DataError::Alloc { what: "inputs", .. })
    ));
    assert_eq!(
        try_zeros("x", ndarray::Ix2(3, 4)).unwrap(),
        Array2::<f64>::zeros((3, 4))
    );
}

fn z23() -> Z23Params {
    Z23Params {
        d: 60,
        n: 7,
        n_test: 4,
        v_norm: 5.0,
        sigma_p: 0.5,
        s: 10,
        alpha: 0.2,
        patches: 3,
        p_flip: 0.0,
    }
}

#[test]
fn shapes() {
    let ds = c22().generate(&mut rng::seeded(0)).unwrap();
    assert_eq!(ds.train.x.dim(), (8, 2, 50));
    assert_eq!(ds.test.x.dim(), (5, 2, 50));
    assert_eq!(ds.train.noise.dim(), (8, 1, 50));
    assert_eq!(ds.train.stacked().dim(), (16, 50));
    let dz = z23().generate(&mut rng::seeded(0)).unwrap();
    assert_eq!(dz.train.x.dim(), (7, 3, 60));
    assert_eq!(dz.train.noise.dim(), (7, 2, 60));
    assert_eq!(dz.test.noise_patches.dim(), (4, 2));
}

#[test]
fn c22_patches_hold_signal_and_noise() {
    let ds = c22().generate(&mut rng::seeded(1)).unwrap();
    let t = &ds.train;
    for i in 0..t.n() {
        let sp = t.signal_patch[i];
        assert_eq!(t.x.slice(s![i, sp, ..]), &ds.signal * t.y[i]);
        assert_eq!(t.x.slice(s![i, 1 - sp, ..]), t.noise.slice(s![i, 0, ..]));
        assert!(t.y[i] == 1.0 || t.y[i] == -1.0);
    }
}

#[test]
fn orthogonal_noise_is_orthogonal_to_mu() {
    for dir in [Direction::E1, Direction::RandomUnit] {
        let p = C22Params {
            d: 500,
            n: 20,
            direction: dir,
            ..c22()
        };
        let ds = p.generate(&mut rng::seeded(2)).unwrap();
        assert!((ds.signal.dot(&ds.signal).sqrt() - 3.0).abs() < 1e-12);
        for xi in ds.train.noise_stacked().rows() {
            let c = xi.dot(&ds.signal) / (xi.dot(&xi).sqrt() * 3.0);
            assert!(c.abs() < 1e-12, "cos = {c}");
        }
    }
    // Isotropic noise is not orthogonal: the e1 coordinate is nonzero.
    let p = C22Params {
        noise: NoiseKind::Isotropic,
        ..c22()
    };
    let ds = p.generate(&mut rng::seeded(2)).unwrap();
    assert!(ds.train.noise.slice(s![.., 0, 0]).iter().any(|v| v.abs() > 1e-3));
}

#[test]
fn noise_moments_at_d_1e4() {
    let p = C22Params {
        d: 10_000,
        n: 20,
        n_test: 1,
        sigma_p: 1.7,
        noise: NoiseKind::Isotropic,
        ..c22()
    };
    let ds = p.generate(&mut rng::seeded(3)).unwrap();
    let xi = ds.train.noise_stacked();
    let cnt = xi.len() as f64;
    let mean = xi.sum() / cnt;
    let sd = (xi.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / cnt).sqrt();
    assert!((sd / 1.7 - 1.0).abs() < 0.02, "empirical sigma_p {sd}");
    assert!(mean.abs() < 0.02 * 1.7, "mean {mean}");
    // Orthogonal noise loses one dimension: E‖ξ‖² = σ_p²(d − 1).
    let p = C22Params {
        noise: NoiseKind::Orthogonal,
        ..p
    };
    let ds = p.generate(&mut rng::seeded(3)).unwrap();
    let norms: f64 = ds
        .train
        .noise_stacked()
        .rows()
        .into_iter()
        .map(|r| r.dot(&r))
        .sum::<f64>()
        / 20.0;
    assert!((norms / (1.7f64.powi(2) * 9_999.0) - 1.0).abs() < 0.02);
}

#[test]
fn z23_support_and_feature_noise() {
    let p = z23();
    let ds = p.generate(&mut rng::seeded(4)).unwrap();
    let t = &ds.train;
    for i in 0..t.n() {
        for k in 0..2 {
            let xi = t.noise.slice(s![i, k, ..]);
            let nnz = xi.iter().filter(|v| **v != 0.0).count();
            assert_eq!(nnz, p.s, "support size");
            assert_eq!(xi[0], 0.0, "noise never touches the signal coordinate");
            let patch = t.x.slice(s![i, t.noise_patches[[i, k]], ..]);
            let mut expect = xi.to_owned();
            if k == 0 {
                expect[0] -= p.alpha * t.y[i] * p.v_norm;
            }
            assert_eq!(patch, expect);
        }
        assert_eq!(t.x.slice(s![i, t.signal_patch[i], ..]), &ds.signal * t.y[i]);
    }
    // Empirical sigma on the support.
    let big = Z23Params {
        d: 10_000,
        n: 20,
        s: 5_000,
        ..p
    };
    let ds = big.generate(&mut rng::seeded(5)).unwrap();
    let vals: Vec<f64> = ds.train.noise.iter().copied().filter(|v| *v != 0.0).collect();
    let sd = (vals.iter().map(|v| v * v).sum::<f64>() / vals.len() as f64).sqrt();
    assert!((sd / 0.5 - 1.0).abs() < 0.02, "sd {sd}");
}

#[test]
fn blocked_products_match_their_definition() {
    // d spans three blocks; rebuild S and W0 from the same streams and compare.
    let p = C22Params {
        d: 2 * GRAM_BLOCK + 100,
        n: 3,
        n_test: 1,
        mu_norm: 2.5,
        ..c22()
    };
    let bl = p.blocked_products(0.1, 4, &mut rng::seeded(3)).unwrap();
    let mut r = rng::seeded(3);
    for _ in 0..3 {
        rng::rademacher(&mut r);
        rng::uniform_index(&mut r, 2);
    }
    let sub = r.next_u64();
    let mut sm = Array2::<f64>::zeros((4, p.d));
    let mut w0 = Array2::<f64>::zeros((4, p.d));
    sm[[0, 0]] = 2.5;
    for (b, c0) in (0..p.d).step_by(GRAM_BLOCK).enumerate() {
        let width = GRAM_BLOCK.min(p.d - c0);
        let (mut nr, mut wr) = (rng::stream(sub, 2 * b as u64), rng::stream(sub, 2 * b as u64 + 1));
        for i in 0..3 {
            for c in 0..width {
                let v = rng::standard_normal(&mut nr);
                sm[[1 + i, c0 + c]] = if c0 + c == 0 { 0.0 } else { v };
            }
        }
        for row in 0..4 {
            for c in 0..width {
                w0[[row, c0 + c]] = 0.1 * rng::standard_normal(&mut wr);
            }
        }
    }
    let close = |a: &Array2<f64>, b: &Array2<f64>| {
        (a - b)
            .iter()
            .all(|v| v.abs() < 1e-9 * (1.0 + b.iter().fold(0.0f64, |m, x| m.max(x.abs()))))
    };
    assert!(close(&bl.gram, &sm.dot(&sm.t())));
    assert!(close(&bl.s_w0t, &sm.dot(&w0.t())));
    assert!(close(&bl.w0_w0t, &w0.dot(&w0.t())));
    assert!(bl.gram[[0, 1]].abs() < 1e-12, "orthogonal noise");
    assert!((bl.gram[[1, 1]] / (p.d as f64 - 1.0) - 1.0).abs() < 0.05);
    assert_eq!(bl, p.blocked_products(0.1, 4, &mut rng::seeded(3)).unwrap());
    assert_eq!(bl.y, bl.y_clean, "no flips at p_flip = 0");
}

#[test]
fn labels_balanced_and_flips_happen() {
    let p = C22Params {
        n: 4000,
        n_test: 1,
        p_flip: 0.2,
        d: 4,
        ..c22()
    };
    let ds = p.generate(&mut rng::seeded(6)).unwrap();
    let pos = ds.train.y_clean.iter().filter(|&&v| v > 0.0).count() as f64 / 4000.0;
    assert!((pos - 0.5).abs() < 0.03);
    let flips = ds.train.y.iter().zip(&ds.train.y_clean).filter(|(a, b)| a != b).count() as f64 / 4000.0;
    assert!((flips - 0.2).abs() < 0.03, "flip rate {flips}");
}

#[test]
fn deterministic_for_a_seed() {
    let a = z23().generate(&mut rng::seeded(9)).unwrap();
    let b = z23().generate(&mut rng::seeded(9)).unwrap();
    let c = z23().generate(&mut rng::seeded(10)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.train.x, c.train.x);
    let a = c22().generate(&mut rng::seeded(9)).unwrap();
    let b = c22().generate(&mut rng::seeded(9)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn every_invalid_parameter_is_rejected() {
    let field = |r: Result<(), DataError>| match r {
        Err(DataError::InvalidParam { field, .. }) => field,
        Err(_) => "other",
        Ok(()) => "ok",
    };
    let base = c22();
    assert_eq!(field(C22Params { d: 1, ..base.clone() }.validate()), "d");
    assert_eq!(field(C22Params { n: 0, ..base.clone() }.validate()), "n");
    assert_eq!(
        field(
            C22Params {
                n_test: 0,
                ..base.clone()
            }
            .validate()
        ),
        "n_test"
    );
    assert_eq!(
        field(
            C22Params {
                mu_norm: -1.0,
                ..base.clone()
            }
            .validate()
        ),
        "mu_norm"
    );
    assert_eq!(
        field(
            C22Params {
                mu_norm: f64::NAN,
                ..base.clone()
            }
            .validate()
        ),
        "mu_norm"
    );
    assert_eq!(
        field(
            C22Params {
                sigma_p: 0.0,
                ..base.clone()
            }
            .validate()
        ),
        "sigma_p"
    );
    assert_eq!(
        field(
            C22Params {
                sigma_p: f64::INFINITY,
                ..base.clone()
            }
            .validate()
        ),
        "sigma_p"
    );
    assert_eq!(
        field(
            C22Params {
                p_flip: 0.5,
                ..base.clone()
            }
            .validate()
        ),
        "p_flip"
    );
    assert_eq!(
        field(
            C22Params {
                p_flip: -0.1,
                ..base.clone()
            }
            .validate()
        ),
        "p_flip"
    );
    let z = z23();
    assert_eq!(field(Z23Params { d: 1, ..z.clone() }.validate()), "d");
    assert_eq!(field(Z23Params { n: 0, ..z.clone() }.validate()), "n");
    assert_eq!(field(Z23Params { n_test: 0, ..z.clone() }.validate()), "n_test");
    assert_eq!(
        field(
            Z23Params {
                v_norm: -2.0,
                ..z.clone()
            }
            .validate()
        ),
        "v_norm"
    );
    assert_eq!(
        field(
            Z23Params {
                sigma_p: -1.0,
                ..z.clone()
            }
            .validate()
        ),
        "sigma_p"
    );
    assert_eq!(field(Z23Params { s: 0, ..z.clone() }.validate()), "s");
    assert_eq!(field(Z23Params { s: 60, ..z.clone() }.validate()), "s");
    assert_eq!(
        field(
            Z23Params {
                alpha: -0.1,
                ..z.clone()
            }
            .validate()
        ),
        "alpha"
    );
    assert_eq!(
        field(
            Z23Params {
                patches: 1,
                p_flip: 0.0,
                ..z.clone()
            }
            .validate()
        ),
        "patches"
    );
    let err = C22Params { n: 0, ..base }.generate(&mut rng::seeded(0)).unwrap_err();
    assert_eq!(err.to_string(), "invalid data parameter `n` = 0: must be >= 1");
}

/// A fake cache: 30 "digits" of 4×4 pixels, labels 0..2 cycling.
fn fake_mnist(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gengap-fake-mnist-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    // Pixel 0 of image k is k, so every fake digit is distinct.
    let pix: Vec<u8> = (0..30 * 16)
        .map(|i| {
            if i % 16 == 0 {
                (i / 16) as u8
            } else {
                ((i * 37) % 256) as u8
            }
        })
        .collect();
    let labels: Vec<u8> = (0..30).map(|i| (i % 3) as u8).collect();
    mnist::write_idx(&d.join(mnist::IMAGES), &[30, 4, 4], &pix).unwrap();
    mnist::write_idx(&d.join(mnist::LABELS), &[30], &labels).unwrap();
    d
}

#[test]
fn noisy_mnist_uses_real_digit_patches_and_disjoint_splits() {
    let dir = fake_mnist("gen");
    let p = NoisyMnistParams {
        data_dir: dir.display().to_string(),
        digits: [1, 2],
        n: 8,
        n_test: 10,
        patches: 3,
        sigma_p: 0.5,
        signal_scale: 2.0,
    };
    let ds = p.generate(&mut rng::seeded(1)).unwrap();
    assert_eq!(ds.train.x.dim(), (8, 3, 16));
    assert_eq!(ds.test.x.dim(), (10, 3, 16));
    assert_eq!(ds.extra_signal.as_ref().unwrap().dim(), (7, 16));
    let m = mnist::Mnist::load_dir(&dir).unwrap();
    let find = |row: ndarray::ArrayView1<f64>| {
        (0..30)
            .find(|&i| m.images.row(i).mapv(|v| v * 2.0) == row)
            .expect("the signal patch is a real digit")
    };
    let mut seen = std::collections::HashSet::new();
    for split in [&ds.train, &ds.test] {
        for i in 0..split.n() {
            let img = find(split.x.slice(s![i, split.signal_patch[i], ..]));
            assert!(seen.insert(img), "train and test digits are disjoint");
            assert_eq!(split.y[i], if m.labels[img] == 1 { 1.0 } else { -1.0 });
            assert!(m.labels[img] == 1 || m.labels[img] == 2);
        }
    }
    assert_eq!(p.generate(&mut rng::seeded(1)).unwrap(), ds);
    // Too many samples asked for; a missing cache.
    assert!(
        NoisyMnistParams {
            n: 15,
            n_test: 10,
            ..p.clone()
        }
        .generate(&mut rng::seeded(1))
        .is_err()
    );
    assert!(
        NoisyMnistParams {
            digits: [3, 3],
            ..p.clone()
        }
        .validate()
        .is_err()
    );
    let e = NoisyMnistParams {
        data_dir: "/nonexistent".into(),
        ..p
    }
    .generate(&mut rng::seeded(1))
    .unwrap_err();
    assert!(e.to_string().contains("fetch-mnist"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn config_from_toml_rejects_unknown_keys() {
    let ok: DataConfig =
        toml::from_str("model = \"z23\"\nd = 10\nn = 3\nv_norm = 1.0\nsigma_p = 0.1\ns = 4\n").unwrap();
    assert!(matches!(
        ok,
        DataConfig::Z23(Z23Params {
            patches: 2,
            p_flip: 0.0,
            n_test: 1000,
            ..
        })
    ));
    let bad =
        toml::from_str::<DataConfig>("model = \"c22\"\nd = 10\nn = 3\nmu_norm = 1.0\nsigma_p = 1.0\nsigmap = 2\n");
    let msg = bad.unwrap_err().to_string();
    assert!(msg.contains("sigmap"), "{msg}");
    assert!(toml::from_str::<DataConfig>("model = \"c23\"\nd = 10\n").is_err());
}

/// Observed labels are flipped at rate `p` (within binomial error on a large
/// sample), independently of the clean label's sign, in training and test
/// splits of both synthetic models; the clean label decides the signal patch.
#[test]
fn label_flips_follow_the_rate_and_ignore_the_clean_sign() {
    let p = 0.2;
    let c22 = C22Params {
        d: 4,
        n: 20_000,
        n_test: 20_000,
        mu_norm: 1.0,
        sigma_p: 1.0,
        p_flip: p,
        ..Default::default()
    }
    .generate(&mut rng::stream(11, 0))
    .unwrap();
    let z23 = Z23Params {
        d: 4,
        n: 20_000,
        n_test: 20_000,
        s: 2,
        p_flip: p,
        ..Default::default()
    }
    .generate(&mut rng::stream(11, 1))
    .unwrap();
    for (what, ds) in [("c22", &c22), ("z23", &z23)] {
        for split in [&ds.train, &ds.test] {
            for sign in [1.0, -1.0] {
                let idx: Vec<usize> = (0..split.n()).filter(|&i| split.y_clean[i] == sign).collect();
                let flips = idx.iter().filter(|&&i| split.y[i] != split.y_clean[i]).count();
                let rate = flips as f64 / idx.len() as f64;
                // Four binomial standard errors.
                let tol = 4.0 * (p * (1.0 - p) / idx.len() as f64).sqrt();
                assert!(
                    (rate - p).abs() < tol,
                    "{what}: clean sign {sign}: rate {rate} vs {p} ± {tol}"
                );
            }
            // The signal patch carries the clean label, never the observed one.
            for i in 0..split.n() {
                let sig = split.x[[i, split.signal_patch[i], 0]];
                assert_eq!(sig.signum(), split.y_clean[i], "{what}: sample {i}");
            }
        }
    }
    // Without flips the draws are those of a data set without the option.
    let a = Z23Params::default().generate(&mut rng::stream(3, 0)).unwrap();
    assert_eq!(a.train.y, a.train.y_clean);
    assert!(
        Z23Params {
            p_flip: 0.5,
            ..Default::default()
        }
        .validate()
        .is_err()
    );
}

/// The draws of a seed never change (the streams are version-stable
/// ChaCha8): these values are pinned here and, for the same call from
/// Python, in `python/tests/test_data.py`, so both APIs are held to the
/// same arrays.
#[test]
fn a_seed_gives_pinned_arrays() {
    let ds = DataConfig::C22(C22Params {
        d: 100,
        n: 20,
        n_test: 50,
        mu_norm: 5.0,
        ..Default::default()
    })
    .generate(&mut crate::rng::stream(42, 0))
    .unwrap();
    let noise: Vec<f64> = ds.train.noise.slice(s![0, 0, 0..3]).to_vec();
    assert_eq!(noise, [0.0, -0.9287770430019666, 0.21990739875440055]);
    assert_eq!(ds.train.y.slice(s![0..6]).to_vec(), [-1.0, -1.0, -1.0, 1.0, -1.0, -1.0]);
    assert_eq!(ds.train.signal_patch[0..6], [0, 0, 1, 1, 1, 1]);
}

/// Blocked products flip labels at rate `p` independently of the clean sign,
/// and a draw at `‖μ‖ = 1` rescaled to `‖μ‖ = c` is bit for bit the draw made
/// at `‖μ‖ = c` (both noise kinds), with the same labels and flips.
#[test]
fn blocked_products_flip_labels_and_rescale_exactly() {
    let p = 0.1;
    // 40 000 labels in 40 draws of 1000: one draw of 40 000 would build a
    // 40 000² noise Gram matrix (12.8 GB, over a minute) to count flips.
    let (mut clean, mut flipped) = ([0usize; 2], [0usize; 2]);
    for s in 0..40 {
        let draw = C22Params {
            d: 3,
            n: 1000,
            mu_norm: 1.0,
            p_flip: p,
            ..Default::default()
        }
        .blocked_products(0.1, 2, &mut rng::stream(5, s))
        .unwrap();
        for i in 0..draw.y.len() {
            let k = usize::from(draw.y_clean[i] < 0.0);
            clean[k] += 1;
            flipped[k] += usize::from(draw.y[i] != draw.y_clean[i]);
        }
    }
    for k in 0..2 {
        let rate = flipped[k] as f64 / clean[k] as f64;
        let tol = 4.0 * (p * (1.0 - p) / clean[k] as f64).sqrt();
        assert!((rate - p).abs() < tol, "clean sign {k}: rate {rate} vs {p} ± {tol}");
    }
    for noise in [NoiseKind::Orthogonal, NoiseKind::Isotropic] {
        let at = |mu_norm: f64| {
            C22Params {
                d: 40,
                n: 6,
                mu_norm,
                noise,
                p_flip: 0.3,
                ..Default::default()
            }
            .blocked_products(0.2, 4, &mut rng::stream(8, 1))
            .unwrap()
        };
        let unit = at(1.0);
        for c in [0.0, 0.7, 4.2] {
            assert_eq!(unit.with_signal_scale(c), at(c), "{noise:?}, ‖μ‖ = {c}");
        }
        if noise == NoiseKind::Isotropic {
            assert!(unit.gram.row(0).iter().skip(1).any(|v| *v != 0.0));
        }
    }
}

/// XOR data: the signal patch is `±a` for clean label `+1` and `±b` for `−1`
/// with both signs equally likely, `cos∠(a, b)` as set, noise orthogonal to
/// `span{u, v}`, flips at rate `p` independent of the clean label, and the
/// class-conditional mean of the signal patch zero (no linear signal).
#[test]
fn xor_data_has_the_stated_structure() {
    let p = 0.15;
    let ds = XorParams {
        d: 6,
        n: 20_000,
        n_test: 10,
        a_norm: 2.0,
        cos_angle: 0.6,
        sigma_p: 1.0,
        p_flip: p,
    }
    .generate(&mut rng::stream(4, 0))
    .unwrap();
    let (u, v) = (ds.signal.clone(), ds.extra_signal.as_ref().unwrap().row(0).to_owned());
    assert_eq!(u.dot(&v), 0.0);
    let (a, b) = (&u + &v, &u - &v);
    assert!((a.dot(&a) - 4.0).abs() < 1e-12 && (b.dot(&b) - 4.0).abs() < 1e-12);
    assert!((a.dot(&b) / 4.0 - 0.6).abs() < 1e-12);
    let tr = &ds.train;
    let mut mean = [Array1::<f64>::zeros(6), Array1::<f64>::zeros(6)];
    let mut count = [0usize; 2];
    let mut plus_sign = 0usize;
    for i in 0..tr.n() {
        let sig = tr.x.slice(s![i, tr.signal_patch[i], ..]).to_owned();
        let feature = if tr.y_clean[i] > 0.0 { &a } else { &b };
        let same = sig == *feature;
        assert!(same || sig == feature.mapv(|x| -x), "sample {i}");
        plus_sign += usize::from(same);
        assert_eq!((tr.noise[[i, 0, 0]], tr.noise[[i, 0, 1]]), (0.0, 0.0));
        let c = usize::from(tr.y_clean[i] > 0.0);
        mean[c] += &sig;
        count[c] += 1;
    }
    let n = tr.n() as f64;
    assert!((plus_sign as f64 / n - 0.5).abs() < 4.0 * (0.25 / n).sqrt());
    for c in 0..2 {
        let m = &mean[c] / count[c] as f64;
        // Each coordinate of ±feature has |mean| ≤ 4 SE under a fair sign.
        assert!(m.iter().all(|x| x.abs() < 4.0 * 2.0 / (count[c] as f64).sqrt()), "{m}");
    }
    for sign in [1.0, -1.0] {
        let idx: Vec<usize> = (0..tr.n()).filter(|&i| tr.y_clean[i] == sign).collect();
        let rate = idx.iter().filter(|&&i| tr.y[i] != tr.y_clean[i]).count() as f64 / idx.len() as f64;
        assert!(
            (rate - p).abs() < 4.0 * (p * (1.0 - p) / idx.len() as f64).sqrt(),
            "{sign}: {rate}"
        );
    }
    for (bad, key) in [
        (
            XorParams {
                cos_angle: 1.0,
                ..Default::default()
            },
            "cos_angle",
        ),
        (
            XorParams {
                d: 2,
                ..Default::default()
            },
            "d",
        ),
        (
            XorParams {
                p_flip: 0.5,
                ..Default::default()
            },
            "p_flip",
        ),
    ] {
        assert!(bad.validate().unwrap_err().to_string().contains(key), "{key}");
    }
}

#[test]
fn moderate_d_data_has_the_stated_structure() {
    let p = ModerateDParams {
        d: 300,
        n: 4000,
        n_test: 500,
        gamma: 0.2,
        p_flip: 0.1,
    };
    let ds = p.generate(&mut rng::seeded(12)).unwrap();
    assert_eq!(ds.model, ModelKind::ModerateD);
    assert_eq!((ds.train.patches(), ds.train.noise.dim()), (1, (4000, 1, 300)));
    assert!((ds.signal[0] - 0.2f64.sqrt()).abs() < 1e-15 && ds.signal.iter().skip(1).all(|&v| v == 0.0));
    let mut sq = 0.0;
    for i in 0..ds.train.n() {
        let x: ndarray::ArrayView1<f64> = ds.train.x.slice(ndarray::s![i, 0, ..]);
        let xi: ndarray::ArrayView1<f64> = ds.train.noise.slice(ndarray::s![i, 0, ..]);
        // x = ỹ·√γ·μ + noise, the noise orthogonal to μ = e₁.
        assert_eq!(xi[0usize], 0.0);
        assert!((x[0usize] - ds.train.y_clean[i] * 0.2f64.sqrt()).abs() < 1e-15);
        assert!(x.iter().skip(1).zip(xi.iter().skip(1)).all(|(a, b)| a == b));
        assert_eq!(ds.train.signal_patch[i], 0);
        assert_eq!(ds.train.noise_patches[[i, 0]], 0);
        sq += x.iter().map(|v| v * v).sum::<f64>();
    }
    // E‖x‖² = γ + (1 − γ)(d − 1)/d ≈ 1.
    let mean_sq = sq / ds.train.n() as f64;
    assert!((mean_sq - (0.2 + 0.8 * 299.0 / 300.0)).abs() < 0.01, "{mean_sq}");
    // Training labels flipped at rate 0.1 (SE 0.005), test labels clean.
    let flipped = ds.train.y.iter().zip(&ds.train.y_clean).filter(|(a, b)| a != b).count() as f64 / 4000.0;
    assert!((flipped - 0.1).abs() < 0.02, "{flipped}");
    assert_eq!(ds.test.y, ds.test.y_clean);
    // Bad values name the key.
    for (bad, key) in [
        (
            ModerateDParams {
                gamma: 1.5,
                ..p.clone()
            },
            "gamma",
        ),
        (
            ModerateDParams {
                p_flip: 0.5,
                ..p.clone()
            },
            "p_flip",
        ),
        (ModerateDParams { d: 1, ..p.clone() }, "d"),
    ] {
        assert!(bad.generate(&mut rng::seeded(1)).unwrap_err().to_string().contains(key));
    }
    let cfg: DataConfig = toml::from_str("model = \"moderate_d\"\nd = 50\nn = 10").unwrap();
    assert_eq!(cfg.n(), 10);
}

#[test]
fn weak_strong_data_has_the_stated_structure() {
    let p = WeakStrongParams {
        d: 60,
        n: 2000,
        n_test: 300,
        weak_norm: 0.7,
        strong_norm: 4.0,
        strong_fraction: 0.3,
        sigma_p: 1.5,
        p_flip: 0.0,
    };
    let ds = p.generate(&mut rng::seeded(13)).unwrap();
    assert_eq!(ds.model, ModelKind::WeakStrong);
    assert_eq!((ds.train.patches(), ds.train.noise.dim()), (3, (2000, 1, 60)));
    assert_eq!(ds.signal[1], 0.7);
    assert_eq!(ds.extra_signal.as_ref().unwrap()[[0, 0]], 4.0);
    let mut noise_sq = 0.0;
    for (split, rho) in [(&ds.train, 0.3), (&ds.test, 0.0)] {
        let with = split.strong_feature.iter().filter(|&&b| b).count() as f64 / split.n() as f64;
        // Binomial SE √(0.21/2000) ≈ 0.01 for the training split; none in the test split.
        assert!((with - rho).abs() < 0.04, "{with} vs {rho}");
        for i in 0..split.n() {
            let y = split.y_clean[i];
            let x = |p: usize| split.x.slice(ndarray::s![i, p, ..]).to_owned();
            assert_eq!(x(0), &ds.signal * y);
            let strong = &ds.extra_signal.as_ref().unwrap().row(0) * y;
            if split.strong_feature[i] {
                assert_eq!(x(1), strong);
            } else {
                assert!(x(1).iter().all(|&v| v == 0.0));
            }
            // The noise patch is the stored noise, orthogonal to u = e₁ and v = e₂.
            assert_eq!(x(2), split.noise.slice(ndarray::s![i, 0, ..]));
            assert!(x(2)[0] == 0.0 && x(2)[1] == 0.0);
            noise_sq += x(2).iter().map(|v| v * v).sum::<f64>();
            assert_eq!((split.signal_patch[i], split.noise_patches[[i, 0]]), (0, 2));
        }
    }
    // E‖ξ‖² = σ_p²(d − 2).
    let mean_sq = noise_sq / 2300.0;
    assert!((mean_sq / (2.25 * 58.0) - 1.0).abs() < 0.02, "{mean_sq}");
    assert_eq!(ds.train.y, ds.train.y_clean);
    for (bad, key) in [
        (WeakStrongParams { d: 2, ..p.clone() }, "d"),
        (
            WeakStrongParams {
                strong_fraction: -0.1,
                ..p.clone()
            },
            "strong_fraction",
        ),
        (
            WeakStrongParams {
                weak_norm: f64::NAN,
                ..p.clone()
            },
            "weak_norm",
        ),
        (
            WeakStrongParams {
                sigma_p: 0.0,
                ..p.clone()
            },
            "sigma_p",
        ),
        (
            WeakStrongParams {
                p_flip: 0.5,
                ..p.clone()
            },
            "p_flip",
        ),
    ] {
        assert!(bad.generate(&mut rng::seeded(1)).unwrap_err().to_string().contains(key));
    }
    let cfg: DataConfig = toml::from_str(
        "model = \"weak_strong\"\nd = 50\nn = 10\nweak_norm = 1.0\nstrong_norm = 3.0\nstrong_fraction = 0.5\nsigma_p = 1.0",
    )
    .unwrap();
    assert_eq!((cfg.n(), cfg.d()), (10, 50));
}

/// `DataConfig::{n, n_test, d, patches}` are the shapes the model generates.
#[test]
fn config_sizes_are_the_generated_shapes() {
    let configs = [
        DataConfig::C22(c22()),
        DataConfig::Z23(Z23Params {
            d: 40,
            n: 6,
            n_test: 7,
            s: 10,
            patches: 3,
            ..Default::default()
        }),
        DataConfig::Xor(XorParams {
            d: 30,
            n: 6,
            n_test: 4,
            ..Default::default()
        }),
        DataConfig::ModerateD(ModerateDParams {
            d: 30,
            n: 6,
            n_test: 4,
            ..Default::default()
        }),
        DataConfig::WeakStrong(WeakStrongParams {
            d: 30,
            n: 6,
            n_test: 4,
            ..Default::default()
        }),
    ];
    for c in configs {
        let ds = c.generate(&mut rng::stream(3, 0)).unwrap();
        assert_eq!(ds.train.x.dim(), (c.n(), c.patches(), c.d()), "{c:?}");
        assert_eq!(ds.test.x.dim(), (c.n_test(), c.patches(), c.d()), "{c:?}");
    }
}
