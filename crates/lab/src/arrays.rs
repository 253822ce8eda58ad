//! Arrays beside the CSVs: `[output] arrays = true` in any experiment config
//! writes the final weights, the decomposition coefficients and (for the
//! single-run experiments) the training data as NumPy `.npz` files, so a
//! notebook can load them with `numpy.load`.
//!
//! Layout under `results/<name>/arrays/`: `cell-<k>.npz` for cell `k` (the
//! `k` of the cell's stream, first stage then follow-up), `cells.json` (each
//! file's cell, as the study serializes it), and whatever the report adds
//! (e.g. `data.npz`). Axis order (documented with each array):
//! `W` is `(2m, d)` with row `c = j·m + r` the filter `w_{j,r}`, `j = 0` the
//! `+1` class (`docs/theory.md#network`); `x` is `(n, P, d)`.

use std::io::Cursor;
use std::path::Path;

use gengap_analysis::Decomposition;
use gengap_data::{Dataset, Split};
use ndarray::{ArrayD, ArrayView, Dimension};
use ndarray_npy::NpzWriter;
use serde::{Deserialize, Serialize};

use crate::error::LabError;
use crate::io::atomic_write;

/// The `[output]` table every experiment config may have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Write `.npz` arrays beside the CSVs (default false: a big sweep's
    /// weights are large). See the [module docs](self).
    #[serde(default)]
    pub arrays: bool,
}

/// One array of an [`Arrays`] set.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    F64(ArrayD<f64>),
    I64(ArrayD<i64>),
    Bool(ArrayD<bool>),
}

/// A named set of arrays, written as one `.npz` file. A set made with
/// [`Arrays::off`] ignores what is put in it, so a cell can always call
/// `put` and pays nothing when `[output] arrays` is off.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Arrays {
    on: bool,
    items: Vec<(String, Item)>,
}

impl Arrays {
    /// A set that keeps what is put in it.
    pub fn on() -> Self {
        Arrays {
            on: true,
            items: vec![],
        }
    }

    /// A set that keeps nothing.
    pub fn off() -> Self {
        Arrays::default()
    }

    /// A set that keeps arrays exactly when `output.arrays`.
    pub fn for_output(output: Output) -> Self {
        if output.arrays { Self::on() } else { Self::off() }
    }

    /// Whether it keeps what is put in it.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Whether nothing has been kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The names kept, in order.
    pub fn names(&self) -> Vec<&str> {
        self.items.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn push(&mut self, name: &str, item: Item) {
        self.items.retain(|(n, _)| n != name);
        self.items.push((name.to_string(), item));
    }

    /// Keep a float64 array as `name`.
    pub fn put<D: Dimension>(&mut self, name: &str, a: ArrayView<'_, f64, D>) -> &mut Self {
        if self.on {
            self.push(name, Item::F64(a.to_owned().into_dyn()));
        }
        self
    }

    /// Keep an integer array (indices) as `name`, as int64.
    pub fn put_index<D: Dimension>(&mut self, name: &str, a: ArrayView<'_, usize, D>) -> &mut Self {
        if self.on {
            self.push(name, Item::I64(a.mapv(|v| v as i64).into_dyn()));
        }
        self
    }

    /// Keep a boolean array as `name`.
    pub fn put_bool<D: Dimension>(&mut self, name: &str, a: ArrayView<'_, bool, D>) -> &mut Self {
        if self.on {
            self.push(name, Item::Bool(a.to_owned().into_dyn()));
        }
        self
    }

    /// Keep a decomposition's coefficients
    /// (`docs/theory.md#signal-noise-decomposition`): `gamma` `(2m,)`,
    /// `rho_bar` and `rho` `(2m, N)` (column `k`: noise vector `k` of the
    /// stacked training noise, sample `k / (P−1)`), `coef_w0` `(2m,)`,
    /// `residual` `(2m,)`.
    pub fn put_decomposition(&mut self, d: &Decomposition) -> &mut Self {
        self.put("gamma", d.gamma.view())
            .put("rho_bar", d.rho_bar.view())
            .put("rho", d.rho.view())
            .put("coef_w0", d.coef_w0.view())
            .put("residual", d.residual.view())
    }

    /// Keep a full-space run's final weights `W` `(2m, d)` and their
    /// decomposition against `w0` on `ds`'s training basis
    /// ([`Arrays::put_decomposition`]); computes the decomposition only when
    /// the set is on.
    pub fn put_run(
        &mut self,
        ds: &Dataset,
        w0: ndarray::ArrayView2<'_, f64>,
        w: ndarray::ArrayView2<'_, f64>,
    ) -> Result<&mut Self, gengap_analysis::AnalysisError> {
        if self.on {
            let dec = gengap_analysis::Decomposer::new(gengap_analysis::Basis::from_dataset(ds), w0)?.decompose(w)?;
            self.put("W", w).put_decomposition(&dec);
        }
        Ok(self)
    }

    /// Keep a data set with every latent part: per split `s` ∈ {`train`,
    /// `test`}: `s_x` `(n, P, d)`, `s_y` (observed labels ±1), `s_y_clean`,
    /// `s_flipped` (bool), `s_noise` `(n, P−1, d)`, `s_signal_patch` `(n,)`,
    /// `s_noise_patches` `(n, P−1)`; and `signal` `(d,)` (with
    /// `extra_signal` `(k, d)` where the model has more signal vectors, as
    /// noisy MNIST does).
    pub fn put_dataset(&mut self, ds: &Dataset) -> &mut Self {
        self.put("signal", ds.signal.view());
        if let Some(extra) = &ds.extra_signal {
            self.put("extra_signal", extra.view());
        }
        for (s, split) in [("train", &ds.train), ("test", &ds.test)] {
            self.put_split(s, split);
        }
        self
    }

    fn put_split(&mut self, s: &str, split: &Split) {
        let flipped = ndarray::Zip::from(&split.y)
            .and(&split.y_clean)
            .map_collect(|a, b| a != b);
        let signal_patch = ndarray::aview1(&split.signal_patch);
        self.put(&format!("{s}_x"), split.x.view())
            .put(&format!("{s}_y"), split.y.view())
            .put(&format!("{s}_y_clean"), split.y_clean.view())
            .put_bool(&format!("{s}_flipped"), flipped.view())
            .put(&format!("{s}_noise"), split.noise.view())
            .put_index(&format!("{s}_signal_patch"), signal_patch)
            .put_index(&format!("{s}_noise_patches"), split.noise_patches.view());
    }

    /// The `.npz` file's bytes (uncompressed, as `numpy.savez` writes).
    pub fn to_npz(&self) -> Result<Vec<u8>, ndarray_npy::WriteNpzError> {
        let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
        for (name, item) in &self.items {
            match item {
                Item::F64(a) => npz.add_array(name.as_str(), a)?,
                Item::I64(a) => npz.add_array(name.as_str(), a)?,
                Item::Bool(a) => npz.add_array(name.as_str(), a)?,
            }
        }
        Ok(npz.finish()?.into_inner())
    }

    /// Write the set to `path` atomically (a temporary file, then a rename).
    pub fn write(&self, path: &Path) -> Result<(), LabError> {
        let bytes = self.to_npz().map_err(|source| LabError::Npz {
            path: path.to_path_buf(),
            source,
        })?;
        atomic_write(path, &bytes).map_err(|source| LabError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};
    use ndarray_npy::NpzReader;

    #[test]
    fn arrays_round_trip_through_npz_and_off_keeps_nothing() {
        let w = Array2::from_shape_fn((4, 3), |(i, j)| i as f64 - 0.5 * j as f64);
        let mut a = Arrays::on();
        a.put("W", w.view())
            .put_index("idx", array![3usize, 1].view())
            .put_bool("mask", array![true, false].view());
        a.put("W", (&w * 2.0).view()); // the last put of a name wins
        assert_eq!(a.names(), ["idx", "mask", "W"]);
        let bytes = a.to_npz().unwrap();
        let mut r = NpzReader::new(Cursor::new(bytes)).unwrap();
        let back: Array2<f64> = r.by_name("W").unwrap();
        assert_eq!(back, &w * 2.0);
        let idx: ndarray::Array1<i64> = r.by_name("idx").unwrap();
        assert_eq!(idx, array![3i64, 1]);
        let mask: ndarray::Array1<bool> = r.by_name("mask").unwrap();
        assert_eq!(mask, array![true, false]);

        let mut off = Arrays::for_output(Output::default());
        off.put("W", w.view());
        assert!(off.is_empty() && !off.is_on());
    }
}
