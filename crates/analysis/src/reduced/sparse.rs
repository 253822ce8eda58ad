//! `A` with `X = A·S`: every training patch as a combination of the basis
//! rows, stored sparse (at most a few entries per patch), and the products
//! the engine needs from it.

use gengap_data::Split;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, s};

use super::linalg::{psd_factor, psd_solve};

/// The rows of `A` (`X = A·S`) as `(column, value)` lists: at most two
/// entries per patch for the synthetic models, so `A·Iᵀ` and `(∂L/∂Z)ᵀ·A`
/// are `O(nP·m)` loops.
#[derive(Debug, Clone)]
pub(crate) struct SparseRows {
    start: Vec<usize>,
    entries: Vec<(usize, f64)>,
}

impl SparseRows {
    pub(crate) fn from_dense(a: &Array2<f64>) -> Self {
        let mut start = vec![0];
        let mut entries = vec![];
        for row in a.rows() {
            entries.extend(row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(k, v)| (k, *v)));
            start.push(entries.len());
        }
        SparseRows { start, entries }
    }

    pub(crate) fn row(&self, r: usize) -> &[(usize, f64)] {
        &self.entries[self.start[r]..self.start[r + 1]]
    }

    /// `max |X − A·S|` over all entries, row by row from the non-zeros
    /// (`O(nnz·d)`; the dense `A·S` would cost `O(rows·K·d)`).
    /// `max |X − A·S|` and the row where it is largest.
    pub(crate) fn worst_residual(&self, x: ArrayView2<f64>, s: ArrayView2<f64>) -> (f64, usize) {
        let mut resid = Array1::<f64>::zeros(x.ncols());
        let (mut worst, mut at) = (0.0f64, 0);
        for (r, xr) in x.rows().into_iter().enumerate() {
            resid.assign(&xr);
            for &(k, v) in self.row(r) {
                resid.scaled_add(-v, &s.row(k));
            }
            let here = resid.iter().fold(0.0f64, |m, e| m.max(e.abs()));
            if here > worst {
                (worst, at) = (here, r);
            }
        }
        (worst, at)
    }

    /// `z = A·Iᵀ`, with `Iᵀ` given (`K × 2m`; both row-major).
    pub(crate) fn times(&self, inner_t: &Array2<f64>, z: &mut Array2<f64>) {
        let w = z.ncols();
        let src = inner_t.as_slice().expect("standard layout");
        let dst = z.as_slice_mut().expect("standard layout");
        for (r, zr) in dst.chunks_exact_mut(w).enumerate() {
            self.row_times(r, src, zr);
        }
    }

    /// `out = A_r·Iᵀ` (one patch's pre-activations), `src` = `Iᵀ` row-major.
    #[inline]
    pub(crate) fn row_times(&self, r: usize, src: &[f64], out: &mut [f64]) {
        let w = out.len();
        let entries = self.row(r);
        let Some((&(k0, v0), rest)) = entries.split_first() else {
            out.fill(0.0);
            return;
        };
        for (o, x) in out.iter_mut().zip(&src[k0 * w..(k0 + 1) * w]) {
            *o = v0 * x;
        }
        for &(k, v) in rest {
            for (o, x) in out.iter_mut().zip(&src[k * w..(k + 1) * w]) {
                *o += v * x;
            }
        }
    }

    /// `Γᵀ = Aᵀ·dz` (`K × 2m`; both row-major).
    pub(crate) fn transpose_times(&self, dz: &Array2<f64>, out: &mut Array2<f64>) {
        let w = dz.ncols();
        let src = dz.as_slice().expect("standard layout");
        let dst = out.as_slice_mut().expect("standard layout");
        dst.fill(0.0);
        for (r, dzr) in src.chunks_exact(w).enumerate() {
            self.row_accumulate(r, 1.0, dzr, dst);
        }
    }

    /// `Γᵀ += c·A_rᵀ·dz_row` (`dst` = `Γᵀ` row-major; `c = 1` adds `v·dz` exactly).
    #[inline]
    pub(crate) fn row_accumulate(&self, r: usize, c: f64, dz_row: &[f64], dst: &mut [f64]) {
        let w = dz_row.len();
        for &(k, v) in self.row(r) {
            let cv = if c == 1.0 { v } else { c * v };
            for (o, x) in dst[k * w..(k + 1) * w].iter_mut().zip(dz_row) {
                *o += cv * x;
            }
        }
    }
}

/// `A` with `X = A·S` for a split. With one signal row `s₀` (\[C22\],
/// \[Z23\]) the signal patch is `ỹ·s₀` and noise patch `(i,k)` is `ξ_{i,k}`
/// plus its `s₀` component (the \[Z23\] feature noise `−α·y·v`; for the
/// single-vector model, whose noise shares the signal patch, `ỹ·s₀` itself). With
/// several signal rows (XOR data: `u`, `v`) each patch's signal part is
/// solved for in the signal rows' Gram matrix (`x = Σ_k c_k s_k + ξ`). A
/// patch that is neither (the weak/strong model's strong-feature patch) is
/// solved for in the signal rows alone: it must lie in their span.
pub(crate) fn coordinates(split: &Split, signal: ArrayView2<f64>, n_basis: usize) -> Array2<f64> {
    let (n, pp) = (split.n(), split.patches());
    // Noise vectors per sample: P − 1 for the patch models, 1 (in the signal
    // patch) for the single-vector model.
    let (k, n_signal) = (split.noise.len_of(ndarray::Axis(1)), signal.nrows());
    let sig_sq = signal.row(0).dot(&signal.row(0));
    let factor = psd_factor(&signal.dot(&signal.t()));
    let signal_part = |v: ArrayView1<f64>| psd_solve(&factor, &signal.dot(&v));
    let mut a = Array2::zeros((n * pp, n_basis));
    for i in 0..n {
        let sp = split.signal_patch[i];
        if n_signal == 1 {
            a[[i * pp + sp, 0]] = split.y_clean[i];
        } else {
            let c = signal_part(split.x.slice(s![i, sp, ..]));
            a.slice_mut(s![i * pp + sp, ..n_signal]).assign(&c);
        }
        for q in 0..k {
            let p = split.noise_patches[[i, q]];
            let row = i * pp + p;
            a[[row, n_signal + i * k + q]] = 1.0;
            let extra = &split.x.slice(s![i, p, ..]) - &split.noise.slice(s![i, q, ..]);
            if n_signal > 1 {
                a.slice_mut(s![row, ..n_signal]).assign(&signal_part(extra.view()));
            } else if sig_sq > 0.0 {
                a[[row, 0]] = extra.dot(&signal.row(0)) / sig_sq;
            }
        }
        // Any other patch (neither the signal patch nor a noise patch: the
        // weak/strong model's strong-feature patch, zero where absent) lies
        // in the signal span.
        for p in 0..pp {
            if p == sp || split.noise_patches.row(i).iter().any(|&q| q == p) {
                continue;
            }
            let x = split.x.slice(s![i, p, ..]);
            if n_signal > 1 {
                a.slice_mut(s![i * pp + p, ..n_signal]).assign(&signal_part(x));
            } else if sig_sq > 0.0 {
                a[[i * pp + p, 0]] = x.dot(&signal.row(0)) / sig_sq;
            }
        }
    }
    a
}
