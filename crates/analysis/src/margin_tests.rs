use ndarray::{Array1, Array2, array};
use ndarray_linalg::Solve;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn gaussian(n: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, d), |_| gengap_data::rng::standard_normal(&mut r));
    let y = (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    (x, y)
}

/// Independently of the solver: when every point is a support vector, the
/// ℓ2 max-margin separator is the minimum-norm solution of `y_i⟨w, x_i⟩ = 1`,
/// `ŵ = X̃ᵀ(X̃X̃ᵀ)⁻¹1` with `X̃ = diag(y)X`, and the multipliers are
/// `(X̃X̃ᵀ)⁻¹1` (all positive in this case, which the test checks first).
#[test]
fn l2_solution_is_the_closed_form_when_every_point_is_a_support_vector() {
    let (x, y) = gaussian(5, 40, 3);
    let xt = Array2::from_shape_fn(x.dim(), |(i, k)| y[i] * x[[i, k]]);
    let gram = xt.dot(&xt.t());
    let alpha = gram.solve(&Array1::ones(5)).unwrap();
    assert!(
        alpha.iter().all(|a| *a > 0.0),
        "choose a case with 5 support vectors: {alpha}"
    );
    let w_closed = xt.t().dot(&alpha);
    let s = max_margin(x.view(), &y, MarginNorm::L2).unwrap();
    let scale = MarginNorm::L2.norm(w_closed.as_slice().unwrap());
    for (a, b) in s.w.iter().zip(&w_closed) {
        assert!((a - b).abs() < 1e-8 * scale, "{a} vs {b}");
    }
    for (z, a) in s.dual.iter().zip(&alpha) {
        assert!((z - a).abs() < 1e-7 * a.abs().max(1.0), "{z} vs {a}");
    }
    assert!((s.margin - 1.0 / scale).abs() < 1e-9 / scale);
    assert_eq!(s.support(1e-6), vec![0, 1, 2, 3, 4]);
}

/// Hand-solved: one point `x = (1, 2)`, `y = +1`. ℓ2: `ŵ = x/‖x‖² = (0.2, 0.4)`;
/// ℓ∞: `w₁ = w₂ = 1/3` (the box corner on `w₁ + 2w₂ = 1`); ℓ1: `ŵ = (0, 1/2)`
/// (all weight on the largest coordinate).
#[test]
fn one_point_solutions_match_hand_computation() {
    let x = array![[1.0, 2.0]];
    let want = [
        (MarginNorm::L2, [0.2, 0.4], 1.0 / 0.2f64.sqrt()),
        (MarginNorm::Linf, [1.0 / 3.0, 1.0 / 3.0], 3.0),
        (MarginNorm::L1, [0.0, 0.5], 2.0),
    ];
    for (norm, w, gamma) in want {
        let s = max_margin(x.view(), &[1.0], norm).unwrap();
        assert!(
            (s.w[0] - w[0]).abs() < 1e-8 && (s.w[1] - w[1]).abs() < 1e-8,
            "{norm:?}: {:?}",
            s.w
        );
        assert!(
            (s.margin - gamma).abs() < 1e-7 * gamma,
            "{norm:?}: {} vs {gamma}",
            s.margin
        );
        assert!((normalized_margin(&s.w, x.view(), &[1.0], norm) - gamma).abs() < 1e-7 * gamma);
    }
}

/// On random separable data (more coordinates than points, as the studies'
/// flattened data), every solution meets its KKT conditions recomputed from
/// the data, and each is optimal for its own norm against the other two
/// (every solution is feasible for every program).
#[test]
fn kkt_conditions_hold_and_each_norm_wins_its_own_program() {
    for (n, d, seed) in [(10, 30, 1), (24, 60, 2), (7, 200, 5)] {
        let (x, y) = gaussian(n, d, seed);
        let sols: Vec<MaxMargin> = MarginNorm::ALL
            .iter()
            .map(|&p| max_margin(x.view(), &y, p).unwrap())
            .collect();
        for s in &sols {
            let k = s.kkt(x.view(), &y);
            assert!(k.worst() < 1e-7, "{:?} (n {n}, d {d}): {k:?}", s.norm);
            assert!(!s.support(1e-6).is_empty());
            // Complementarity made visible: a point off the margin has z = 0.
            for i in 0..n {
                let m = y[i] * x.row(i).iter().zip(&s.w).map(|(a, b)| a * b).sum::<f64>();
                assert!(m > 1.0 - 1e-7, "feasible");
            }
        }
        for s in &sols {
            for o in &sols {
                let own = s.norm.norm(&s.w);
                let other = s.norm.norm(&o.w) / min_margin(&o.w, x.view(), &y);
                assert!(
                    own <= other * (1.0 + 1e-7),
                    "{:?} beaten by {:?}: {own} > {other}",
                    s.norm,
                    o.norm
                );
            }
        }
    }
}

#[test]
fn non_separable_data_is_reported_not_solved() {
    // XOR: no line through the origin separates ±(1,1) from ±(1,−1).
    let x = array![[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]];
    let y = [1.0, 1.0, -1.0, -1.0];
    for p in MarginNorm::ALL {
        assert!(matches!(
            max_margin(x.view(), &y, p),
            Err(AnalysisError::NotSeparable { n: 4, d: 2 })
        ));
    }
    assert!(!separable(x.view(), &y).unwrap());
    let (x, y) = gaussian(6, 20, 9);
    assert!(separable(x.view(), &y).unwrap());
    // More points than dimensions with random labels: not separable.
    let (x, y) = gaussian(60, 3, 4);
    assert!(!separable(x.view(), &y).unwrap());
}

#[test]
fn bad_inputs_are_refused() {
    let x = array![[1.0, 0.0], [0.0, 1.0]];
    assert!(matches!(
        max_margin(x.view(), &[1.0], MarginNorm::L2),
        Err(AnalysisError::Shape { .. })
    ));
    assert!(matches!(
        max_margin(x.view(), &[1.0, 0.0], MarginNorm::L2),
        Err(AnalysisError::InvalidParam { field: "y", .. })
    ));
    let bad = array![[1.0, f64::NAN], [0.0, 1.0]];
    assert!(matches!(
        max_margin(bad.view(), &[1.0, -1.0], MarginNorm::Linf),
        Err(AnalysisError::InvalidParam { field: "x", .. })
    ));
    assert!(normalized_margin(&[0.0, 0.0], x.view(), &[1.0, -1.0], MarginNorm::L2).is_nan());
}
