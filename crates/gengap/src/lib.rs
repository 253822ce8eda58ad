//! # gengap — why Adam overfits where GD generalizes
//!
//! The facade crate: one dependency that re-exports the workspace's crates for
//! other lab projects.
//!
//! * [`data`] — the \[C22\] and \[Z23\] data models (signal patch + noise patches).
//! * [`model`] — the two-layer CNN with a fixed second layer, loss and gradient.
//! * [`optim`] — GD, SGD-momentum, signGD, Adam (seed and PyTorch forms),
//!   AMSGrad, AdamW, Yogi, AdaBound and Padam, with L2 or decoupled decay.
//! * [`analysis`] — the signal–noise decomposition and the exact reduced-space GD solver.
//! * [`train`] — the one training driver: stopping rule, record schedules (log-spaced), observers.
//! * [`lab`] (feature `lab`) — the lab pipeline: a `Study` per experiment,
//!   driven from config to results (command line, journaled shardable sweeps,
//!   per-cell streams, provenance, atomic CSV/JSON).
//! * [`plot`] (feature `plot`) — figure code.
//!
//! Both features are on by default; `default-features = false` leaves out
//! plotters and its font libraries (fontconfig/freetype) for a project that
//! only trains and analyses.
//!
//! ## Reproducibility and BLAS threads
//!
//! Every draw comes from a seeded, version-stable stream, so a seed fixes the
//! data and the initialisation. The arithmetic is another matter: OpenBLAS
//! splits a GEMM differently for different thread counts, and the sums then
//! round differently, so the *last bits* of a result (and, through them, a
//! diverging or marginal run's outcome) can change with the number of
//! OpenBLAS threads. The experiment binaries therefore run one OpenBLAS
//! thread per cell and parallelize over cells. A library user who wants the
//! same bits as the binaries, whatever the machine's core count, calls
//! [`single_threaded_blas`] once before training (or sets
//! `OPENBLAS_NUM_THREADS=1` before the program starts). The kernel matters
//! too: OpenBLAS picks one per CPU family, and kernels sum in different
//! orders; [`select_blas_kernel`] pins the portable one, as the binaries do,
//! and [`model::BlasInfo`] says which ran. What is and is not
//! bit-identical is listed in the repository's `docs/reproducibility.md`.
//!
//! References: \[C22\] Cao, Chen, Belkin, Gu, NeurIPS 2022; \[Z23\] Zou, Cao, Li,
//! Gu, ICLR 2023; \[P20\] Chen, Zhou, Tang, Yang, Cao, Gu, IJCAI 2020.

pub use gengap_analysis as analysis;
pub use gengap_data as data;
#[cfg(feature = "lab")]
pub use gengap_lab as lab;
pub use gengap_model as model;
pub use gengap_optim as optim;
#[cfg(feature = "plot")]
pub use gengap_plot as plot;
pub use gengap_train as train;
/// The array crate of every public signature (weights, data sets).
pub use ndarray;
/// The `rand` gengap's streams implement (`rand::Rng`), so a downstream
/// crate need not match its version by hand.
pub use rand;
/// The ChaCha8 generator of the streams.
pub use rand_chacha;
/// The `serde` of gengap's configs. To derive with it without a direct
/// dependency: `#[derive(gengap::serde::Deserialize)]` with
/// `#[serde(crate = "gengap::serde")]`.
pub use serde;
/// The JSON of saved optimizer states ([`optim::SavedState`]).
pub use serde_json;

pub mod prelude;

/// Run OpenBLAS on one thread in this process, as the experiment binaries
/// do: results then no longer depend on the OpenBLAS thread count (see the
/// crate docs, "Reproducibility and BLAS threads"). Parallelize over runs
/// instead (e.g. with rayon, or a [`lab`] study). Takes effect for
/// the GEMMs that follow; call it before training.
///
/// ```
/// gengap::single_threaded_blas();
/// ```
pub fn single_threaded_blas() {
    gengap_model::set_blas_threads(1);
}

/// Make OpenBLAS run the kernel of the policy in `GENGAP_BLAS_KERNEL`
/// (`portable`, the default: `Haswell` on every CPU with AVX2 + FMA, so that
/// results are bit-identical across such machines; `fastest`: the best kernel
/// the CPU runs where OpenBLAS fell back to a generic one; `openblas`: its own
/// choice), as the experiment binaries do. OpenBLAS reads its kernel only at
/// start-up, so when the kernel must change this **re-executes the program
/// once** with the same arguments and `OPENBLAS_CORETYPE` set, and does not
/// return; call it first thing in `main`. A user's own `OPENBLAS_CORETYPE` is
/// never overridden. See `gengap::model::select_kernel` for an explicit
/// policy and `docs/performance.md` ("The OpenBLAS kernel") for the numbers.
///
/// ```no_run
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     gengap::select_blas_kernel()?; // may re-execute this program once
///     gengap::single_threaded_blas();
///     println!("{:?}", gengap::model::BlasInfo::current());
///     Ok(())
/// }
/// ```
pub fn select_blas_kernel() -> Result<gengap_model::KernelChoice, gengap_model::BlasError> {
    gengap_model::select_kernel_from_env()
}

/// Set the number of OpenBLAS threads (a single long run on many cores may
/// want more; its last bits then depend on that number).
pub fn set_blas_threads(n: usize) {
    gengap_model::set_blas_threads(n);
}
