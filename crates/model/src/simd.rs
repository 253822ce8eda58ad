//! Two compiled copies of a hot elementwise loop, chosen once per process:
//! the baseline x86-64 build (2-wide SSE2 vectors) or, on CPUs with AVX2,
//! the same code compiled for AVX2 (4-wide for f64, 8-wide for f32). Used by
//! the optimizers' update loops (`gengap-optim`), which at small sizes are
//! compute-bound (`sqrt`, `/`): a whole Adam step at `d = 1000, n = 20`
//! took 1.35× (f64) and 1.7× (f32) less time with the AVX2 copy
//! (`docs/performance.md`).
//!
//! **Bits.** The two copies perform the same IEEE operations in the same
//! order: the loops are elementwise (so vectorizing across coordinates
//! reorders nothing), the compiler never fuses a multiply and an add on its
//! own, and `sqrt` and `/` are correctly rounded at every width. So the
//! choice changes speed, never results; a test runs every optimizer rule
//! through both copies and compares the bits.

use std::sync::atomic::{AtomicBool, Ordering};

static BASELINE_ONLY: AtomicBool = AtomicBool::new(false);

/// Whether the AVX2 copies run: the CPU has AVX2 (`is_x86_feature_detected!`
/// detects once per process and caches the answer) and [`baseline_only`] is
/// off. A caller that gets `true` may call its
/// `#[target_feature(enable = "avx2")]` copy.
#[cfg(target_arch = "x86_64")]
pub fn avx2() -> bool {
    is_x86_feature_detected!("avx2") && !BASELINE_ONLY.load(Ordering::Relaxed)
}

/// Make every loop that dispatches through [`avx2`] (the optimizers'
/// updates) use its baseline copy in this process (`true`), or the fastest
/// the CPU runs (`false`, the default). For comparisons of the two copies;
/// results are the same either way. (The reduced solver's coupling kernel
/// chooses its path on its own; its paths agree bit for bit as well.)
///
/// ```
/// gengap_model::simd::baseline_only(true);
/// # #[cfg(target_arch = "x86_64")]
/// assert!(!gengap_model::simd::avx2());
/// gengap_model::simd::baseline_only(false);
/// ```
pub fn baseline_only(on: bool) {
    BASELINE_ONLY.store(on, Ordering::Relaxed);
}
