//! The OpenBLAS calls gengap makes directly (thread count).

#[allow(unsafe_code)]
unsafe extern "C" {
    fn openblas_set_num_threads(num_threads: std::ffi::c_int);
}

/// Set the number of OpenBLAS threads for this process (the GEMMs of the
/// model). Environment variables such as `OPENBLAS_NUM_THREADS` are read when
/// the library loads, before `main`, so changing them at run time has no
/// effect; this calls `openblas_set_num_threads` instead.
pub fn set_blas_threads(n: usize) {
    let n = n.clamp(1, i32::MAX as usize) as std::ffi::c_int;
    // SAFETY: a plain setter of OpenBLAS's global thread count; it takes an
    // int by value and is safe to call at any time outside a BLAS call.
    #[allow(unsafe_code)]
    unsafe {
        openblas_set_num_threads(n)
    }
}
