//! Grids of independent runs ("cells"), in parallel, reproducibly.
//!
//! Cell `k` of a sweep seeded with `seed` draws only from
//! `gengap_data::rng::stream(seed, k)`, so its result does not depend on the
//! thread count, the order cells run in, or which other cells run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gengap_data::rng::{self, ChaCha8Rng};
use rayon::prelude::*;

/// Run `f(k, rng_k)` for every cell `k = 0..cells` in parallel and return the
/// results in cell order. `rng_k = stream(seed, k)`.
///
/// Progress: an indicatif bar when stderr is a terminal, and in any case a
/// plain line on stderr about every 10% (`label: 40/100 cells, 12.3 s`).
pub fn run_cells<R, F>(label: &str, seed: u64, cells: usize, f: F) -> Vec<R>
where
    R: Send,
    F: Fn(usize, &mut ChaCha8Rng) -> R + Sync,
{
    let bar = indicatif::ProgressBar::new(cells as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let plain = !console_is_tty();
    let done = AtomicUsize::new(0);
    let start = Instant::now();
    let step = (cells / 10).max(1);
    let out = (0..cells)
        .into_par_iter()
        .map(|k| {
            let mut r = rng::stream(seed, k as u64);
            let res = f(k, &mut r);
            let c = done.fetch_add(1, Ordering::Relaxed) + 1;
            bar.inc(1);
            if plain && (c.is_multiple_of(step) || c == cells) {
                eprintln!("{label}: {c}/{cells} cells, {:.1} s", start.elapsed().as_secs_f64());
            }
            res
        })
        .collect();
    bar.finish_and_clear();
    out
}

fn console_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Limit OpenBLAS to one thread, so that rayon's cells each run a
/// single-threaded BLAS and the two thread pools do not fight over the cores.
/// Call it before a parallel sweep.
pub fn single_threaded_blas() {
    gengap_model::set_blas_threads(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let f = |k: usize, r: &mut ChaCha8Rng| (k, r.next_u64(), rng::standard_normal(r));
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| run_cells("t", 5, 37, f));
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| run_cells("t", 5, 37, f));
        assert_eq!(one, two);
        // A cell's draw is the same in a smaller sweep.
        let small = run_cells("t", 5, 5, f);
        assert_eq!(small[..], one[..5]);
    }
}
