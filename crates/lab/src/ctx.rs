//! What a study's report has at hand: where to write, and the provenance.
//! Every file is written atomically (a temporary file, then a rename), rows
//! through `serde`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::LabError;
use crate::io::{Provenance, atomic_write, write_json};

/// Where results and figures go, and where they came from.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Experiment name (the binary's).
    pub name: String,
    /// `results/<name>/`.
    pub results: PathBuf,
    /// The figures folder.
    pub figures: PathBuf,
    /// The config file used.
    pub config_path: PathBuf,
    /// Version and git commit.
    pub provenance: Provenance,
}

impl Ctx {
    /// Write `rows` as the CSV file `results/<name>/<file>`, atomically. The
    /// header is the field names of `T` (a flat struct: numbers, strings,
    /// unit enums, `Option`s, which are written as empty fields when `None`).
    /// Floats are written in their shortest round-trip form; NaN as `NaN`.
    pub fn write_rows<T: Serialize>(&self, file: &str, rows: &[T]) -> Result<PathBuf, LabError> {
        let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(vec![]);
        for r in rows {
            w.serialize(r)?;
        }
        let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
        let path = self.results.join(file);
        self.write(&path, &bytes)?;
        Ok(path)
    }

    /// Write `bytes` to `path` atomically (see [`atomic_write`]).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), LabError> {
        atomic_write(path, bytes).map_err(|source| LabError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Write `results/<name>/<file>` as JSON: `{experiment, config_file,
    /// provenance, seed, config (resolved, with defaults), results}`.
    pub fn write_record<C: Serialize, R: Serialize>(
        &self,
        file: &str,
        config: &C,
        seed: u64,
        results: &R,
    ) -> Result<PathBuf, LabError> {
        #[derive(Serialize)]
        struct Out<'a, C, R> {
            experiment: &'a str,
            config_file: String,
            provenance: &'a Provenance,
            seed: u64,
            config: &'a C,
            results: &'a R,
        }
        let path = self.results.join(file);
        // The BLAS as the cells ran it (kernel, threads), queried now.
        let mut provenance = self.provenance.clone();
        provenance.blas = gengap_model::BlasInfo::current();
        let out = Out {
            experiment: &self.name,
            config_file: self.config_path.display().to_string(),
            provenance: &provenance,
            seed,
            config,
            results,
        };
        write_json(&path, &out).map_err(|source| LabError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Write `arrays` as `results/<name>/arrays/<file>` (an `.npz`),
    /// atomically; nothing when the set is empty (`[output] arrays` off).
    pub fn write_arrays(&self, file: &str, arrays: &crate::Arrays) -> Result<(), LabError> {
        if arrays.is_empty() {
            return Ok(());
        }
        arrays.write(&self.results.join("arrays").join(file))
    }

    /// The stem `<figures>/<file>` for [`gengap_plot::render`] (which adds
    /// `.png` and `.svg`).
    pub fn figure(&self, file: &str) -> PathBuf {
        self.figures.join(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Outcome {
        Converged,
    }

    #[derive(Serialize)]
    struct Row {
        label: &'static str,
        x: f64,
        y: Option<f64>,
        outcome: Outcome,
    }

    #[test]
    fn rows_are_written_through_serde_with_a_header() {
        let dir = std::env::temp_dir().join(format!("gengap-ctx-{}", std::process::id()));
        let ctx = Ctx {
            name: "t".into(),
            results: dir.clone(),
            figures: dir.clone(),
            config_path: "c.toml".into(),
            provenance: Provenance::current(),
        };
        let rows = [
            Row {
                label: "GD",
                x: 0.25,
                y: None,
                outcome: Outcome::Converged,
            },
            Row {
                label: "Adam",
                x: f64::NAN,
                y: Some(1e-7),
                outcome: Outcome::Converged,
            },
        ];
        let p = ctx.write_rows("rows.csv", &rows).unwrap();
        let text = std::fs::read_to_string(p).unwrap();
        assert_eq!(text, "label,x,y,outcome\nGD,0.25,,converged\nAdam,NaN,1e-7,converged\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
