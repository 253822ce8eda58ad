//! Version-stable random streams.
//!
//! Every random draw in gengap comes from [`ChaCha8Rng`] (the ChaCha stream
//! cipher with 8 rounds, whose output is fixed by its specification and does
//! not change between crate versions). The distributions are `rand`'s and
//! `rand_distr`'s: normal draws are `rand_distr::StandardNormal` (a ziggurat
//! sampler), Bernoulli draws `rand::distr::Bernoulli`, uniform indices
//! `Rng::random_range`. The workspace asks for `rand = "0.10"` and
//! `rand_distr = "0.6"`, so cargo keeps them on 0.10.x and 0.6.x whatever else
//! a downstream project uses, and the rand project's reproducibility policy
//! allows value-changing releases only as minor versions (0.6 → 0.7), not as
//! patch releases. `tests::pinned_draws` pins a handful of draws of each kind,
//! so a value change (a version bump) is caught.
//!
//! Sweeps give each cell its own stream with [`stream`]: the ChaCha *stream*
//! parameter is set to the cell's index, so cells are independent and a cell's
//! draws do not depend on which other cells ran, in what order, or on how many
//! threads.

use rand::distr::{Bernoulli, Distribution, Open01};
use rand::{Rng, RngExt, SeedableRng};
pub use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The generator used everywhere in gengap: `ChaCha8Rng` seeded from a `u64`.
pub fn seeded(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// An independent stream for sub-task `stream` (a sweep cell, a seed index,
/// the test set, …) of the experiment seeded with `seed`.
///
/// Streams with different `stream` values never overlap (ChaCha's 64-bit
/// stream parameter), so results are independent of scheduling.
pub fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A uniform draw in the open interval (0, 1) (`rand::distr::Open01`).
pub fn uniform_open01<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    Open01.sample(rng)
}

/// A standard normal draw N(0, 1) (`rand_distr::StandardNormal`).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

/// A `Beta(a, a)` draw in `[0, 1]` (`rand_distr::Beta`), the mixing weight
/// of input mixup (Zhang et al. 2018).
///
/// # Panics
/// If `a` is not finite and `> 0` (callers validate their parameters first).
pub fn beta_symmetric<R: Rng + ?Sized>(rng: &mut R, a: f64) -> f64 {
    rand_distr::Beta::new(a, a).expect("a finite and > 0").sample(rng)
}

/// A uniform index in `0..n` (`n ≥ 1`; `Rng::random_range`, exactly uniform).
///
/// # Panics
/// If `n = 0`.
pub fn uniform_index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    assert!(n > 0, "uniform_index needs n >= 1");
    rng.random_range(0..n)
}

/// A Rademacher sign: +1 or −1, each with probability 1/2.
pub fn rademacher<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 }
}

/// Bernoulli(p): true with probability `p` (`rand::distr::Bernoulli`).
///
/// # Panics
/// If `p` is not in `[0, 1]` (callers validate their parameters first).
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    Bernoulli::new(p).expect("p in [0, 1]").sample(rng)
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub fn permutation<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<usize> {
    let mut v = Vec::with_capacity(n);
    permutation_into(rng, &mut v, n);
    v
}

/// [`permutation`] written into `v` (resized to `n`, no allocation once it
/// has the capacity): the same draws give the same permutation.
pub fn permutation_into<R: Rng + ?Sized>(rng: &mut R, v: &mut Vec<usize>, n: usize) {
    v.clear();
    v.extend(0..n);
    for i in (1..n).rev() {
        let j = uniform_index(rng, i + 1);
        v.swap(i, j);
    }
}

/// `k` distinct values drawn uniformly from `pool` (partial Fisher–Yates),
/// returned sorted.
pub fn sample_distinct<R: Rng + ?Sized>(rng: &mut R, pool: &mut [usize], k: usize) -> Vec<usize> {
    assert!(k <= pool.len());
    for i in 0..k {
        let j = i + uniform_index(rng, pool.len() - i);
        pool.swap(i, j);
    }
    let mut out = pool[..k].to_vec();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: Vec<u64> = (0..4).map(|_| seeded(7).next_u64()).collect();
        assert!(a.iter().all(|&x| x == a[0]));
        let mut s0 = stream(7, 0);
        let mut s1 = stream(7, 1);
        assert_ne!(s0.next_u64(), s1.next_u64());
    }

    #[test]
    fn normal_moments() {
        let mut r = seeded(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn beta_moments() {
        // Beta(a, a): mean 1/2, variance 1/(4(2a + 1)); 5 standard errors.
        for a in [0.2, 1.0, 4.0] {
            let mut r = seeded(3);
            let n = 100_000;
            let xs: Vec<f64> = (0..n).map(|_| beta_symmetric(&mut r, a)).collect();
            assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let want = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((mean - 0.5).abs() < 5.0 * (want / n as f64).sqrt(), "{a}: mean {mean}");
            assert!((var - want).abs() < 0.02 * want + 1e-3, "{a}: var {var} vs {want}");
        }
    }

    #[test]
    fn uniform_index_covers_range_evenly() {
        let mut r = seeded(2);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[uniform_index(&mut r, 5)] += 1;
        }
        for c in counts {
            assert!((c as f64 - 10_000.0).abs() < 400.0, "{counts:?}");
        }
    }

    /// A handful of draws of each kind from one stream, pinned: a change of
    /// the sampling crates' values (a minor-version bump of `rand` or
    /// `rand_distr`) fails here before it silently redraws every figure.
    #[test]
    fn pinned_draws() {
        let mut r = stream(2026, 3);
        let normals: Vec<f64> = (0..4).map(|_| standard_normal(&mut r)).collect();
        let indices: Vec<usize> = (0..6).map(|_| uniform_index(&mut r, 7)).collect();
        let flips: Vec<bool> = (0..8).map(|_| bernoulli(&mut r, 0.3)).collect();
        let u = uniform_open01(&mut r);
        let signs: Vec<f64> = (0..4).map(|_| rademacher(&mut r)).collect();
        let got = format!("{normals:?} {indices:?} {flips:?} {u:?} {signs:?}");
        assert_eq!(got, PINNED, "the sampling crates changed their values");
    }

    /// Recorded with rand 0.10.4, rand_distr 0.6.0, rand_chacha 0.10 (2026-11-29).
    const PINNED: &str = "[0.971986111225519, -0.843787798077545, 0.3819164362411907, -0.8549898724911975] \
                          [6, 5, 3, 6, 6, 1] [false, false, false, true, false, false, false, false] \
                          0.46304060958625126 [1.0, 1.0, 1.0, -1.0]";

    #[test]
    fn bernoulli_frequency() {
        let mut r = seeded(4);
        let hits = (0..100_000).filter(|_| bernoulli(&mut r, 0.3)).count();
        assert!((hits as f64 / 1e5 - 0.3).abs() < 0.006, "{hits}");
    }

    #[test]
    fn permutation_is_permutation() {
        let mut r = seeded(3);
        let mut p = permutation(&mut r, 50);
        p.sort_unstable();
        assert_eq!(p, (0..50).collect::<Vec<_>>());
    }
}
