//! The AVX2 and baseline copies of the update loops (`gengap_model::simd`) give
//! the same bits for every rule, in f32 and f64. On a CPU without AVX2 both
//! runs take the baseline copy and the comparison holds trivially.

use crate::{OptimConfig, Optimizer, Real};
use gengap_model::simd;

/// Every rule, with both decay kinds, the running-max variants and `ε = 0`
/// (the `x/0` convention's branch).
const CONFIGS: [&str; 18] = [
    "name = \"gd\"\nlr = 0.5\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"sgd_momentum\"\nlr = 0.1\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    "name = \"sgd_momentum\"\nlr = 0.1\nnesterov = true",
    "name = \"sign_gd\"\nlr = 0.001",
    "name = \"adam_seed\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"adam\"\nlr = 0.01\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    "name = \"adam\"\nlr = 0.01\neps = 0.0",
    "name = \"amsgrad\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"adamw\"\nlr = 0.01",
    "name = \"yogi\"\nlr = 0.01",
    "name = \"adabound\"\nlr = 0.01\nfinal_lr = 0.1",
    "name = \"padam\"\nlr = 0.05",
    "name = \"padam\"\nlr = 0.05\namsgrad = true",
    "name = \"radam\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"nadam\"\nlr = 0.01\nweight_decay = { kind = \"decoupled\", lambda = 0.01 }",
    "name = \"adabelief\"\nlr = 0.01\namsgrad = true",
    "name = \"adabelief\"\nlr = 0.01\nweight_decay = { kind = \"l2\", lambda = 0.01 }",
    "name = \"lion\"\nlr = 0.001\nweight_decay = 0.01",
];

/// A deterministic gradient sequence with zeros, sign changes and a wide
/// range of magnitudes; 1037 coordinates, so every vector width leaves a tail.
fn grad(t: usize, i: usize) -> f64 {
    let h = (i * 7919 + t * 104_729) % 1009;
    if h.is_multiple_of(13) {
        0.0
    } else {
        (h as f64 / 504.5 - 1.0) * 10f64.powi((h % 7) as i32 - 3)
    }
}

fn trajectory<T: Real>(cfg: &OptimConfig, baseline: bool) -> Vec<u64> {
    simd::baseline_only(baseline);
    let len = 1037;
    let mut opt = cfg.build::<T>().unwrap();
    let mut w: Vec<T> = (0..len).map(|i| T::from_f64c((i as f64 * 0.37).sin())).collect();
    let mut g = vec![T::zero(); len];
    let mut bits = vec![];
    for t in 0..40 {
        for (i, gi) in g.iter_mut().enumerate() {
            *gi = T::from_f64c(grad(t, i));
        }
        opt.step(&mut w, &g).unwrap();
        bits.extend(w.iter().map(|v| v.to_f64c().to_bits()));
    }
    simd::baseline_only(false);
    bits
}

#[test]
fn the_avx2_and_baseline_copies_give_the_same_bits() {
    for src in CONFIGS {
        let cfg: OptimConfig = toml::from_str(src).unwrap();
        assert_eq!(
            trajectory::<f64>(&cfg, false),
            trajectory::<f64>(&cfg, true),
            "f64: {src}"
        );
        assert_eq!(
            trajectory::<f32>(&cfg, false),
            trajectory::<f32>(&cfg, true),
            "f32: {src}"
        );
    }
}
