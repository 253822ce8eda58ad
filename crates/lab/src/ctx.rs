//! What a study's report has at hand: where to write, the run's settings
//! and the provenance. Every file is written atomically (a temporary file,
//! then a rename), rows through `serde`, and named after the run's stem: a
//! config with `name = "large"` writes `large_<file>` for every `<file>`
//! (see [`crate::settings`]), so no study names its files by hand.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::LabError;
use crate::io::{Provenance, atomic_write, write_json};
use crate::settings::RunSettings;

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
    /// The run-level keys of the config: seed, name, `[output]`.
    pub settings: RunSettings,
}

impl Ctx {
    /// A context writing to `results` and `figures` with `settings`, for the
    /// study called `name` (what the runner builds; public for tests of a
    /// study's report).
    pub fn new(name: &str, results: PathBuf, figures: PathBuf, config_path: PathBuf, settings: RunSettings) -> Self {
        Ctx {
            name: name.to_string(),
            results,
            figures,
            config_path,
            provenance: Provenance::current(),
            settings,
        }
    }

    /// The file name `base` of this run: `base` itself for the study's own
    /// stem, `<stem>_<base>` for a config with another `name`
    /// ([`crate::config::named_file`]). Every writer below applies it.
    pub fn file(&self, base: &str) -> String {
        crate::config::named_file(&self.stem(), &crate::settings::default_stem(&self.name), base)
    }

    /// The stem of the run's files ([`RunSettings::stem`]): the config's
    /// `name`, else the study's name with `_` for `-`.
    pub fn stem(&self) -> String {
        self.settings.stem(&self.name)
    }

    /// `results/<name>/<file>` under this run's naming ([`Ctx::file`]).
    pub fn result(&self, file: &str) -> PathBuf {
        self.results.join(self.file(file))
    }

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
        let path = self.result(file);
        self.write(&path, &bytes)?;
        Ok(path)
    }

    /// Write `bytes` to `path` atomically (see [`atomic_write`]); `path` is
    /// taken as given (make it with [`Ctx::result`] or [`Ctx::figure`]).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), LabError> {
        atomic_write(path, bytes).map_err(|source| LabError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Write `results/<name>/<file>` ([`Ctx::file`]) as JSON: `{experiment, config_file,
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
        let path = self.result(file);
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
        arrays.write(&self.results.join("arrays").join(self.file(file)))
    }

    /// The figure `tag` of this run, as a stem for [`gengap_plot::render`]
    /// (which adds `.png` and `.svg`): `<figures>/<stem>_<tag>`, or
    /// `<figures>/<stem>` for the empty tag. Figures always carry the run's
    /// stem ([`Ctx::stem`]), so the figures of every study share one folder.
    pub fn figure(&self, tag: &str) -> PathBuf {
        if tag.is_empty() {
            self.figures.join(self.stem())
        } else {
            self.figures.join(format!("{}_{tag}", self.stem()))
        }
    }

    /// The seed of the run.
    pub fn seed(&self) -> u64 {
        self.settings.seed
    }

    /// The config's `[output]` table.
    pub fn output(&self) -> crate::Output {
        self.settings.output
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
        let ctx = Ctx::new(
            "t",
            dir.clone(),
            dir.clone(),
            "c.toml".into(),
            RunSettings::with_seed(1),
        );
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

    #[test]
    fn files_are_named_after_the_run() {
        let plain = Ctx::new(
            "label-noise",
            "r".into(),
            "f".into(),
            "c.toml".into(),
            RunSettings::with_seed(1),
        );
        assert_eq!(plain.result("rows.csv"), PathBuf::from("r/rows.csv"));
        assert_eq!(plain.figure("heatmap"), PathBuf::from("f/label_noise_heatmap"));
        assert_eq!(plain.figure(""), PathBuf::from("f/label_noise"));
        let named = RunSettings {
            name: Some("large".into()),
            ..RunSettings::with_seed(1)
        };
        let large = Ctx::new("label-noise", "r".into(), "f".into(), "c.toml".into(), named);
        assert_eq!(large.result("record.json"), PathBuf::from("r/large_record.json"));
        assert_eq!(large.figure("heatmap"), PathBuf::from("f/large_heatmap"));
        assert_eq!(large.figure(""), PathBuf::from("f/large"));
        let same = RunSettings {
            name: Some("label_noise".into()),
            ..RunSettings::with_seed(1)
        };
        let same = Ctx::new("label-noise", "r".into(), "f".into(), "c.toml".into(), same);
        assert_eq!(same.result("rows.csv"), PathBuf::from("r/rows.csv"));
    }
}
