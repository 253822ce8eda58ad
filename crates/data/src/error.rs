//! The data crate's error, fallible allocation and the value checks every model uses.

use crate::*;

/// Errors of the data crate. Each carries the offending field and value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DataError {
    /// A parameter is out of its valid range.
    #[error("invalid data parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// The config key.
        field: &'static str,
        /// The rejected value, printed.
        value: String,
        /// What the valid range is.
        reason: &'static str,
    },
    /// A data set built from arrays is inconsistent ([`crate::Dataset::validate`]).
    #[error("invalid data set: `{what}` = {value}: {reason}")]
    InvalidArray {
        /// The array, or the entry of it (`train.y[3]`).
        what: String,
        /// The rejected value or shape, printed.
        value: String,
        /// What is required.
        reason: String,
    },
    /// An array of the data set could not be allocated.
    #[error("cannot allocate the {what} ({bytes} bytes): the sizes are too large for this machine's memory")]
    Alloc {
        /// Which array.
        what: &'static str,
        /// Its size in bytes (saturated).
        bytes: u128,
    },
    /// The MNIST digits could not be read.
    #[error("cannot load MNIST digits from {path}: {source} (run `cargo xtask fetch-mnist`)")]
    Mnist {
        /// The data folder.
        path: String,
        /// The reader's error.
        #[source]
        source: std::sync::Arc<mnist::IdxError>,
    },
    /// An error of code outside gengap: a downstream data source (see [`crate::Foreign`]).
    #[error(transparent)]
    Other(#[from] crate::Foreign),
}

/// A zero array of shape `dim`, allocated fallibly: a size that overflows or
/// that the allocator refuses is a [`DataError::Alloc`], not an abort. Used
/// for the data sets' large arrays, behind the experiments' memory estimates.
pub fn try_zeros<D: ndarray::Dimension>(what: &'static str, dim: D) -> Result<ndarray::Array<f64, D>, DataError> {
    let dims = dim.slice();
    let bytes = dims.iter().fold(8u128, |a, &b| a.saturating_mul(b as u128));
    let fail = || DataError::Alloc { what, bytes };
    let len = dims
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .filter(|l| l.checked_mul(8).is_some_and(|b| b <= isize::MAX as usize))
        .ok_or_else(fail)?;
    let mut v: Vec<f64> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| fail())?;
    v.resize(len, 0.0);
    Ok(ndarray::Array::from_shape_vec(dim, v).expect("the length is the shape's product"))
}

pub(crate) fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> DataError {
    DataError::InvalidParam {
        field,
        value: value.to_string(),
        reason,
    }
}

/// The sizes every synthetic model shares: `d ≥ 2`, `n ≥ 1`, `n_test ≥ 1`.
pub(crate) fn check_sizes(d: usize, n: usize, n_test: usize) -> Result<(), DataError> {
    if d < 2 {
        return Err(invalid("d", d, "must be >= 2"));
    }
    if n == 0 {
        return Err(invalid("n", n, "must be >= 1"));
    }
    if n_test == 0 {
        return Err(invalid("n_test", n_test, "must be >= 1"));
    }
    Ok(())
}

pub(crate) fn check_finite_nonneg(field: &'static str, v: f64) -> Result<(), DataError> {
    if !v.is_finite() || v < 0.0 {
        return Err(invalid(field, v, "must be finite and >= 0"));
    }
    Ok(())
}

pub(crate) fn check_finite_pos(field: &'static str, v: f64) -> Result<(), DataError> {
    if !v.is_finite() || v <= 0.0 {
        return Err(invalid(field, v, "must be finite and > 0"));
    }
    Ok(())
}
