//! The OpenBLAS calls gengap makes directly: the thread count, what the
//! library reports about itself ([`BlasInfo`], recorded in every result
//! file) and the choice of its compute kernel ([`select_kernel`]).
//!
//! Why the kernel matters (`docs/performance.md`, "The OpenBLAS kernel"):
//! a `DYNAMIC_ARCH` OpenBLAS picks one kernel family per process when it
//! loads. A release that does not know the CPU falls back to a generic one
//! (Debian's 0.3.21 runs `Prescott`, SSE3 only, on Sapphire Rapids), which is
//! several times slower; and different kernels sum in different orders, so
//! the last bits of every GEMM, and of every result built on them, depend on
//! the kernel.

mod kernel;

use std::ffi::{CStr, c_char, c_int};

pub use kernel::{
    BlasError, Kernel, KernelChoice, KernelPolicy, POLICY_ENV, cpu_kernels, select_kernel, select_kernel_from_env,
};

#[allow(unsafe_code)]
unsafe extern "C" {
    fn openblas_set_num_threads(num_threads: c_int);
    fn openblas_get_num_threads() -> c_int;
    fn openblas_get_config() -> *const c_char;
    fn openblas_get_corename() -> *const c_char;
}

/// Set the number of OpenBLAS threads for this process (the GEMMs of the
/// model). Environment variables such as `OPENBLAS_NUM_THREADS` are read when
/// the library loads, before `main`, so changing them at run time has no
/// effect; this calls `openblas_set_num_threads` instead.
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, i32::MAX as usize) as c_int;
    // SAFETY: a plain setter of OpenBLAS's global thread count; it takes an
    // int by value and is safe to call at any time outside a BLAS call.
    #[allow(unsafe_code)]
    unsafe {
        openblas_set_num_threads(n)
    }
}

/// A NUL-terminated string owned by OpenBLAS, copied.
fn owned(p: *const c_char) -> String {
    if p.is_null() {
        return "unknown".into();
    }
    // SAFETY: OpenBLAS returns pointers to static NUL-terminated strings
    // (its build configuration and the core name) that live for the process.
    #[allow(unsafe_code)]
    unsafe {
        CStr::from_ptr(p).to_string_lossy().trim().to_string()
    }
}

/// The name of the kernel family OpenBLAS runs in this process
/// (`openblas_get_corename`: e.g. `Haswell`, `Zen`, `SkylakeX`, `Prescott`).
pub fn blas_kernel() -> String {
    // SAFETY: a getter without arguments, returning a static string.
    #[allow(unsafe_code)]
    owned(unsafe { openblas_get_corename() })
}

/// What the BLAS library says about itself, for the provenance of a result:
/// the arithmetic of every GEMM depends on the kernel and the thread count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlasInfo {
    /// The library (`OpenBLAS`).
    pub library: String,
    /// Its version, from its build configuration (e.g. `0.3.21`).
    pub version: String,
    /// The full build configuration string (`openblas_get_config`).
    pub config: String,
    /// The kernel family that ran (`openblas_get_corename`).
    pub kernel: String,
    /// Who chose the kernel: `openblas` (its own detection), `gengap:<policy>`
    /// ([`select_kernel`] set `OPENBLAS_CORETYPE`) or `user` (the user's
    /// `OPENBLAS_CORETYPE`).
    pub chosen_by: String,
    /// OpenBLAS threads at the time of the query.
    pub threads: usize,
}

impl BlasInfo {
    /// Query the running library.
    ///
    /// ```
    /// let info = gengap_model::BlasInfo::current();
    /// assert_eq!(info.library, "OpenBLAS");
    /// assert!(info.threads >= 1);
    /// ```
    pub fn current() -> Self {
        // SAFETY: getters without arguments; the strings are static.
        #[allow(unsafe_code)]
        let (config, threads) = unsafe { (owned(openblas_get_config()), openblas_get_num_threads()) };
        let mut words = config.split_whitespace();
        let (library, version) = match (words.next(), words.next()) {
            (Some(l), Some(v)) if v.starts_with(|c: char| c.is_ascii_digit()) => (l.to_string(), v.to_string()),
            _ => ("OpenBLAS".to_string(), "unknown".to_string()),
        };
        BlasInfo {
            library,
            version,
            config,
            kernel: blas_kernel(),
            chosen_by: kernel::chosen_by(),
            threads: threads.max(1) as usize,
        }
    }
}
