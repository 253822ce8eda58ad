use gengap_data::{C22Params, DataConfig, rng};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{LinearData, Loss};

fn data(n: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, d), |_| rng::standard_normal(&mut r));
    let y = (0..n).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
    (x, y)
}

/// The gradient against central finite differences of the loss, for every loss.
#[test]
fn gradient_matches_finite_differences() {
    let (x, y) = data(9, 13, 1);
    let ld = LinearData::<f64>::new(x.view(), &y).unwrap();
    let mut r = ChaCha8Rng::seed_from_u64(2);
    let w: Vec<f64> = (0..13).map(|_| 0.3 * rng::standard_normal(&mut r)).collect();
    for loss in [Loss::Logistic, Loss::Square, Loss::Hinge] {
        let (mut m, mut g) = (vec![0.0; 9], vec![0.0; 13]);
        ld.loss_grad(&loss, &w, &mut m, &mut g);
        let h = 1e-6;
        for k in 0..13 {
            let (mut wp, mut wm) = (w.clone(), w.clone());
            wp[k] += h;
            wm[k] -= h;
            let fd = (ld.metrics(&loss, &wp, &mut m).loss - ld.metrics(&loss, &wm, &mut m).loss) / (2.0 * h);
            assert!((fd - g[k]).abs() < 1e-8, "{loss:?} coordinate {k}: fd {fd} vs {}", g[k]);
        }
    }
}

/// Each margin and each gradient entry is the scalar definition summed in
/// index order, bit for bit (the order is part of the contract: it is what
/// makes the bits independent of the CPU).
#[test]
fn products_are_the_scalar_definition_in_index_order_bit_for_bit() {
    for (n, d) in [(1, 1), (7, 33), (20, 257)] {
        let (x, y) = data(n, d, n as u64);
        let w: Vec<f64> = (0..d).map(|k| ((k * 7 % 11) as f64 - 5.0) / 3.0).collect();
        let ld = LinearData::<f64>::new(x.view(), &y).unwrap();
        let (mut m, mut g) = (vec![0.0; n], vec![0.0; d]);
        let met = ld.loss_grad(&Loss::Logistic, &w, &mut m, &mut g);
        let mut wrong = 0;
        for i in 0..n {
            let mut z = 0.0;
            for k in 0..d {
                z += x[[i, k]] * w[k];
            }
            assert_eq!((y[i] * z).to_bits(), m[i].to_bits(), "margin {i}");
            wrong += usize::from(y[i] * z <= 0.0);
        }
        assert_eq!(met.error, wrong as f64 / n as f64);
        for k in 0..d {
            let mut s = 0.0;
            for i in 0..n {
                s += crate::logistic_deriv(m[i]) * y[i] * (1.0 / n as f64) * x[[i, k]];
            }
            assert_eq!(s.to_bits(), g[k].to_bits(), "gradient {k}");
        }
        // f32 follows the same order in f32.
        let l32 = LinearData::<f32>::new(x.view(), &y).unwrap();
        let w32: Vec<f32> = w.iter().map(|v| *v as f32).collect();
        let mut m32 = vec![0.0f32; n];
        l32.margins(&w32, &mut m32);
        for i in 0..n {
            let mut z = 0.0f32;
            for k in 0..d {
                z += (x[[i, k]] as f32) * w32[k];
            }
            assert_eq!((y[i] as f32 * z).to_bits(), m32[i].to_bits());
        }
    }
}

/// A split is flattened patch-major: `x_i[p·d + k] = X[i, p, k]`, with the
/// observed labels.
#[test]
fn a_split_is_flattened_patch_major() {
    let ds = DataConfig::C22(C22Params {
        d: 6,
        n: 5,
        n_test: 3,
        ..Default::default()
    })
    .generate(&mut rng::stream(4, 0))
    .unwrap();
    let ld = LinearData::<f64>::from_split(&ds.train).unwrap();
    let p = ds.train.patches();
    assert_eq!((ld.n(), ld.dim()), (5, p * 6));
    for i in 0..5 {
        for q in 0..p {
            for k in 0..6 {
                assert_eq!(ld.points()[[i, q * 6 + k]], ds.train.x[[i, q, k]]);
            }
        }
        assert_eq!(ld.labels()[i], ds.train.y[i]);
    }
}

#[test]
fn bad_data_and_overflow_are_refused_or_diverged() {
    let (x, _) = data(3, 2, 5);
    assert!(LinearData::<f64>::new(x.view(), &[1.0, 0.0, 1.0]).is_err());
    assert!(LinearData::<f64>::new(x.view(), &[1.0, -1.0]).is_err());
    let mut bad = x.clone();
    bad[[1, 1]] = f64::INFINITY;
    assert!(LinearData::<f64>::new(bad.view(), &[1.0, -1.0, 1.0]).is_err());
    // Non-finite weights (an overflowed run) have a NaN loss and every point
    // wrong, never a perfect fit.
    let ld = LinearData::<f64>::new(x.view(), &[1.0, -1.0, 1.0]).unwrap();
    let met = ld.metrics(&Loss::Logistic, &[f64::INFINITY, f64::NAN], &mut [0.0; 3]);
    assert!(met.loss.is_nan() && met.error == 1.0, "{met:?}");
}
