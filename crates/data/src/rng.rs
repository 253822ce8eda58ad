//! Version-stable random streams.
//!
//! Every random draw in gengap comes from [`ChaCha8Rng`] (the ChaCha stream
//! cipher with 8 rounds, whose output is fixed by its specification and does
//! not change between crate versions). The continuous distributions are
//! implemented here, on top of raw `u64` draws, instead of being taken from
//! `rand_distr`, so that a seed gives the same data set whatever version of
//! the sampling crates a downstream project resolves.
//!
//! Sweeps give each cell its own stream with [`stream`]: the ChaCha *stream*
//! parameter is set to the cell's index, so cells are independent and a cell's
//! draws do not depend on which other cells ran, in what order, or on how many
//! threads.

use rand::{Rng, SeedableRng};
pub use rand_chacha::ChaCha8Rng;

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

/// A uniform draw in the open interval (0, 1), with 53 random bits:
/// `u = (k + 0.5) / 2^53` for `k` the top 53 bits of one `u64`.
pub fn uniform_open01<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let k = rng.next_u64() >> 11;
    (k as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw N(0, 1) by the Box–Muller transform,
/// `z = sqrt(-2 ln u₁) · cos(2π u₂)`, using two uniform draws per value.
///
/// Exact in distribution (no tables, no rejection), so the stream of normals
/// is a fixed function of the ChaCha stream.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = uniform_open01(rng);
    let u2 = uniform_open01(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A uniform index in `0..n` (n ≥ 1), by Lemire's widening multiply with
/// rejection, so it is exactly uniform.
pub fn uniform_index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    assert!(n > 0, "uniform_index needs n >= 1");
    let n = n as u64;
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        if (m as u64) >= threshold {
            return (m >> 64) as usize;
        }
    }
}

/// A Rademacher sign: +1 or −1, each with probability 1/2.
pub fn rademacher<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 }
}

/// Bernoulli(p): true with probability `p`.
pub fn bernoulli<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    uniform_open01(rng) < p
}

/// A uniformly random permutation of `0..n` (Fisher–Yates).
pub fn permutation<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = uniform_index(rng, i + 1);
        v.swap(i, j);
    }
    v
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

    #[test]
    fn permutation_is_permutation() {
        let mut r = seeded(3);
        let mut p = permutation(&mut r, 50);
        p.sort_unstable();
        assert_eq!(p, (0..50).collect::<Vec<_>>());
    }
}
