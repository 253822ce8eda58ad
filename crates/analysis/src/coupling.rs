//! The reduced solver's one dense product per step, `Iᵀ ← β·Iᵀ + α·G_S·Γᵀ`
//! (`K × K` by `K × 2m`, `docs/theory.md#reduced-space-recursion`).
//!
//! A general GEMM packs both operands on every call; here `G_S` is the same
//! symmetric matrix for the whole run and `Γᵀ` is narrow (`2m` columns), so a
//! kernel that keeps a 2 × 20 block of the output in registers and runs over
//! `Γᵀ` in slices that stay in L1 does better than OpenBLAS's `dgemm` at
//! these shapes (`docs/performance.md#the-reduced-solver`).
//!
//! **Bits.** Every output entry is the same sequence of fused multiply-adds,
//! `acc ← fma(G_ik, Γᵀ_kj, acc)` for `k = 0, 1, …, K−1` from `acc = 0`, then
//! `fma(α, acc, β·I_ij)`: the AVX2+FMA path and the portable path
//! ([`f64::mul_add`], a correctly rounded fma on every target) give the same
//! bits, on every CPU and whatever BLAS kernel is loaded.

use ndarray::{Array2, ArrayView2};

/// `out ← β·out + α·g·b` for a square `g` (`K × K`), `b` and `out` (`K × w`),
/// all in standard layout; `scratch` (`K × w`) holds partial sums. See the
/// module docs for the order of operations.
///
/// ```
/// use gengap_analysis::coupling::gram_update;
/// use ndarray::{Array2, array};
///
/// let g = array![[2.0, 1.0], [1.0, 3.0]];
/// let b = array![[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]];
/// let mut out = Array2::ones((2, 3));
/// let mut scratch = Array2::zeros((2, 3));
/// gram_update(g.view(), b.view(), -0.5, 1.0, &mut out, &mut scratch);
/// assert_eq!(out, &Array2::<f64>::ones((2, 3)) - &(g.dot(&b) * 0.5));
/// ```
///
/// # Panics
/// If the shapes do not match or an operand is not in standard layout.
pub fn gram_update(
    g: ArrayView2<f64>,
    b: ArrayView2<f64>,
    alpha: f64,
    beta: f64,
    out: &mut Array2<f64>,
    scratch: &mut Array2<f64>,
) {
    let k = g.nrows();
    let w = b.ncols();
    assert_eq!(g.dim(), (k, k), "square Gram matrix");
    assert_eq!(b.dim(), (k, w), "Γᵀ is K × w");
    assert_eq!(out.dim(), (k, w), "Iᵀ is K × w");
    assert_eq!(scratch.dim(), (k, w), "scratch is K × w");
    let g = g.as_slice().expect("standard layout");
    let b = b.as_slice().expect("standard layout");
    let out = out.as_slice_mut().expect("standard layout");
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        let scratch = scratch.as_slice_mut().expect("standard layout");
        avx2::update(g, b, k, w, alpha, beta, out, scratch);
        return;
    }
    let _ = scratch;
    portable(g, b, k, w, alpha, beta, 0, out);
}

/// The portable path for columns `j0..w` of every row: the same fma sequence
/// per entry as the vector path.
fn portable(g: &[f64], b: &[f64], k: usize, w: usize, alpha: f64, beta: f64, j0: usize, out: &mut [f64]) {
    for i in 0..k {
        let gi = &g[i * k..(i + 1) * k];
        for j in j0..w {
            let mut acc = 0.0f64;
            for (kk, &gik) in gi.iter().enumerate() {
                acc = gik.mul_add(b[kk * w + j], acc);
            }
            let o = &mut out[i * w + j];
            *o = alpha.mul_add(acc, beta * *o);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256d, _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_set1_pd,
        _mm256_setzero_pd, _mm256_storeu_pd,
    };

    /// Whether this CPU runs AVX2 and FMA (`is_x86_feature_detected!`
    /// detects once per process and caches the answer).
    pub(super) fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// Rows of `Γᵀ` per pass: a `64 × 2m` slice (10 KiB at `2m = 20`) stays
    /// in L1 while every row block of `G_S` runs over it.
    const KC: usize = 64;

    /// The vector path: the `k` range in slices of [`KC`]; per slice, blocks
    /// of two rows × up to five 4-wide column vectors (10 accumulators, kept
    /// between slices in `scratch`, so each entry's fma chain still runs over
    /// `k = 0, 1, …, K−1` in order); then the columns past the last full
    /// vector on the portable path.
    pub(super) fn update(
        g: &[f64],
        b: &[f64],
        k: usize,
        w: usize,
        alpha: f64,
        beta: f64,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        // The kernels below need both; this makes the function safe to call
        // on its own (one load of a cached flag per call).
        assert!(available(), "the AVX2 path needs AVX2 and FMA");
        assert!(g.len() >= k * k && b.len() >= k * w && out.len() >= k * w && scratch.len() >= k * w);
        let vecs = w / 4;
        let mut k0 = 0;
        while k0 < k {
            let k1 = (k0 + KC).min(k);
            let pass = Pass {
                k0,
                k1,
                first: k0 == 0,
                last: k1 == k,
            };
            let mut j = 0;
            while j < vecs {
                let v = (vecs - j).min(5);
                let mut i = 0;
                while i < k {
                    let r = (k - i).min(2);
                    let c = 4 * j;
                    // SAFETY: AVX2 and FMA are present (asserted above);
                    // every pointer `block` forms stays inside `g`, `b`, `out`
                    // or `scratch` (lengths checked above; it reads rows
                    // `i..i+R ≤ k` and columns `k0..k1 ≤ k` of `g`, rows
                    // `k0..k1` and columns `c..c+4V ≤ 4·vecs ≤ w` of `b`, and
                    // the same rows and columns of `out` and `scratch`).
                    unsafe {
                        match (r, v) {
                            (2, 5) => block::<2, 5>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (2, 4) => block::<2, 4>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (2, 3) => block::<2, 3>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (2, 2) => block::<2, 2>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (2, _) => block::<2, 1>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (_, 5) => block::<1, 5>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (_, 4) => block::<1, 4>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (_, 3) => block::<1, 3>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            (_, 2) => block::<1, 2>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                            _ => block::<1, 1>(g, b, k, w, i, c, pass, alpha, beta, out, scratch),
                        }
                    }
                    i += r;
                }
                j += v;
            }
            k0 = k1;
        }
        super::portable(g, b, k, w, alpha, beta, 4 * vecs, out);
    }

    /// One slice `k0..k1` of the `k` range.
    #[derive(Clone, Copy)]
    struct Pass {
        k0: usize,
        k1: usize,
        /// Start the chains at 0 (else resume them from `scratch`).
        first: bool,
        /// Finish into `out` (else park the chains in `scratch`).
        last: bool,
    }

    /// Rows `i..i+R`, columns `j..j+4V`, slice `pass` of `out ← β·out + α·g·b`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block<const R: usize, const V: usize>(
        g: &[f64],
        b: &[f64],
        k: usize,
        w: usize,
        i: usize,
        j: usize,
        pass: Pass,
        alpha: f64,
        beta: f64,
        out: &mut [f64],
        scratch: &mut [f64],
    ) {
        // SAFETY (every block below): see `update`.
        let sp = scratch.as_mut_ptr();
        let mut acc: [[__m256d; V]; R] = std::array::from_fn(|r| {
            std::array::from_fn(|v| {
                if pass.first {
                    _mm256_setzero_pd()
                } else {
                    unsafe { _mm256_loadu_pd(sp.add((i + r) * w + j + 4 * v)) }
                }
            })
        });
        let gp = g.as_ptr();
        let bp = b.as_ptr();
        for kk in pass.k0..pass.k1 {
            let brow = unsafe { bp.add(kk * w + j) };
            let bv: [__m256d; V] = std::array::from_fn(|v| unsafe { _mm256_loadu_pd(brow.add(4 * v)) });
            for r in 0..R {
                let x = unsafe { _mm256_broadcast_sd(&*gp.add((i + r) * k + kk)) };
                for v in 0..V {
                    acc[r][v] = _mm256_fmadd_pd(x, bv[v], acc[r][v]);
                }
            }
        }
        let (a, be) = (_mm256_set1_pd(alpha), _mm256_set1_pd(beta));
        let op = out.as_mut_ptr();
        for r in 0..R {
            for v in 0..V {
                let at = (i + r) * w + j + 4 * v;
                unsafe {
                    if pass.last {
                        let o = _mm256_loadu_pd(op.add(at));
                        _mm256_storeu_pd(op.add(at), _mm256_fmadd_pd(a, acc[r][v], _mm256_mul_pd(be, o)));
                    } else {
                        _mm256_storeu_pd(sp.add(at), acc[r][v]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn filled(r: usize, c: usize, seed: u64) -> Array2<f64> {
        // A cheap deterministic spread of magnitudes and signs.
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        Array2::from_shape_fn((r, c), |_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi(((x >> 3) % 5) as i32 - 2)
        })
    }

    /// The definition, entry by entry: `fma(α, Σ_k fma-chain, β·out)`.
    fn reference(g: &Array2<f64>, b: &Array2<f64>, alpha: f64, beta: f64, out: &Array2<f64>) -> Array2<f64> {
        let (k, w) = b.dim();
        Array2::from_shape_fn((k, w), |(i, j)| {
            let mut acc = 0.0f64;
            for kk in 0..k {
                acc = g[[i, kk]].mul_add(b[[kk, j]], acc);
            }
            alpha.mul_add(acc, beta * out[[i, j]])
        })
    }

    fn bits(a: &Array2<f64>) -> Vec<u64> {
        a.iter().map(|v| v.to_bits()).collect()
    }

    /// Every row and column remainder of the blocking: the kernel gives the
    /// reference's bits, and agrees with a plain product to rounding.
    #[test]
    fn the_kernel_is_the_fma_chain_bit_for_bit_at_every_shape() {
        for k in [1, 2, 3, 5, 8, 21, 64, 65, 129, 201] {
            for w in [1, 3, 4, 5, 8, 12, 19, 20, 21, 23, 24, 40, 44] {
                let g = filled(k, k, (k * 100 + w) as u64);
                let b = filled(k, w, (k * 7 + w) as u64);
                let out0 = filled(k, w, 99);
                for (alpha, beta) in [(-0.01, 1.0), (1.0, 0.0), (-0.3, 0.999)] {
                    let want = reference(&g, &b, alpha, beta, &out0);
                    let mut got = out0.clone();
                    let mut scratch = Array2::from_elem((k, w), f64::NAN);
                    gram_update(g.view(), b.view(), alpha, beta, &mut got, &mut scratch);
                    assert_eq!(bits(&got), bits(&want), "K = {k}, w = {w}, α = {alpha}, β = {beta}");
                    let mut port = out0.clone();
                    portable(
                        g.as_slice().unwrap(),
                        b.as_slice().unwrap(),
                        k,
                        w,
                        alpha,
                        beta,
                        0,
                        port.as_slice_mut().unwrap(),
                    );
                    assert_eq!(bits(&port), bits(&want), "portable, K = {k}, w = {w}");
                    let plain = &out0 * beta + &(g.dot(&b) * alpha);
                    let scale = g.mapv(f64::abs).dot(&b.mapv(f64::abs)) * alpha.abs() + out0.mapv(f64::abs) * beta;
                    for ((x, y), s) in got.iter().zip(&plain).zip(&scale) {
                        assert!((x - y).abs() <= 1e-14 * (k as f64) * s.max(1e-300), "{x} vs {y}");
                    }
                }
            }
        }
    }
}
