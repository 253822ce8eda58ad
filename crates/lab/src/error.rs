//! Typed errors of the lab: [`LabError`] for everything between a config
//! file and the results on disk, [`StudyError`] for what a study's cell can
//! fail with, and [`CellError`], the serializable record of a failed cell
//! that its journal line keeps.
//!
//! Library code returns these; only the binary turns a [`LabError`] into
//! one line (`name: error: …`) and exit status 1.

use std::path::PathBuf;

use gengap_analysis::AnalysisError;
use gengap_data::DataError;
use gengap_model::ModelError;
use gengap_optim::OptimError;
use gengap_plot::PlotError;
use serde::{Deserialize, Serialize};

use gengap_train::TrainError;

use crate::journal::{ShardParseError, SweepError};
use crate::memory::MemoryError;

/// Everything that can stop an experiment.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The OpenBLAS kernel could not be selected (`GENGAP_BLAS_KERNEL`
    /// unknown, or the re-execution failed).
    #[error(transparent)]
    Blas(#[from] gengap_model::BlasError),
    /// A config value out of its valid range.
    #[error("`{key}` = {value}: {reason}")]
    Invalid {
        /// The config key (dotted path).
        key: String,
        /// The rejected value, printed.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// An error located in a part of the config (`[tasks.c22.data]`, `[compare]`, an optimizer).
    #[error("{at} {source}")]
    In {
        /// Where, e.g. `[tasks.c22.data]`.
        at: String,
        /// The error there.
        #[source]
        source: Box<LabError>,
    },
    /// The config file cannot be read.
    #[error("cannot read config {path}: {source}")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this experiment (syntax, unknown
    /// key, wrong type); `location` is `:line:column` where known.
    #[error("config {path}{location}: {}{message}", key.as_deref().map(TomlKey::prefix).unwrap_or_default())]
    Toml {
        /// The file.
        path: PathBuf,
        /// `:line:column`, or empty.
        location: String,
        /// The key the error is about and the value written there, where
        /// known: a wrong type or value names its key.
        key: Option<Box<TomlKey>>,
        /// The parser's message, on one line.
        message: String,
    },
    /// The config parsed, but a value is rejected.
    #[error("config {path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<LabError>,
    },
    /// A relative folder named in the config exists nowhere from the config's folder upward.
    #[error(
        "`{key}` = {value:?}: no such folder in {} or any folder above it (tried {}); run `cargo xtask fetch-mnist` for the MNIST cache, or give an absolute path",
        base.display(),
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    DataDir {
        /// The config key.
        key: String,
        /// Its value.
        value: String,
        /// The config file's folder.
        base: PathBuf,
        /// Every path tried.
        tried: Vec<PathBuf>,
    },
    /// The command line is wrong.
    #[error(transparent)]
    Cli(#[from] CliError),
    /// An output folder cannot be written.
    #[error("cannot write {what} to {path}: {source}")]
    Output {
        /// "results" or "figures".
        what: &'static str,
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Writing a result file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Encoding an `.npz` file failed.
    #[error("writing arrays {path}: {source}")]
    Npz {
        /// The `.npz` file.
        path: PathBuf,
        /// What failed.
        source: ndarray_npy::WriteNpzError,
    },
    /// Encoding a CSV file failed.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// `--merge` found no shard journals for this config and binary.
    #[error("--merge: no shard journals {}/{stem}.shard-*.jsonl for this config and binary", dir.display())]
    NoShards {
        /// The journal folder.
        dir: PathBuf,
        /// The journals' name stem.
        stem: String,
    },
    /// A cell of a sweep failed (the first failed cell is reported; its
    /// record stays in the journal).
    #[error("cell {cell}: {error}")]
    Cell {
        /// The cell's index.
        cell: usize,
        /// What failed.
        error: CellError,
    },
    /// From the lower crates (data, model, optimizer, analysis, training),
    /// as a study's cell would report it.
    #[error(transparent)]
    Study(#[from] StudyError),
    /// From the journaled sweep runner.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// The run would not fit in memory.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// Drawing a figure failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
}

impl LabError {
    /// A rejected config value.
    pub fn invalid(key: impl Into<String>, value: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        LabError::Invalid {
            key: key.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// This error, located in a part of the config (`at`, e.g. `[compare]`).
    pub fn at(self, at: impl Into<String>) -> Self {
        LabError::In {
            at: at.into(),
            source: Box::new(self),
        }
    }
}

/// Errors of the command line of an experiment binary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// A flag without its value.
    #[error("{flag} needs a value")]
    MissingValue {
        /// The flag.
        flag: String,
    },
    /// An argument the binary does not know.
    #[error("unknown argument `{arg}` ({usage})")]
    Unknown {
        /// The argument.
        arg: String,
        /// The usage line.
        usage: String,
    },
    /// `--shard`/`--merge` given to an experiment that is not a sweep.
    #[error("{name} does not support --shard/--merge (it is not a grid sweep; {usage})")]
    NotASweep {
        /// The experiment.
        name: String,
        /// The usage line.
        usage: String,
    },
    /// A flag given more than once (the last would otherwise win silently).
    #[error("{flag} given twice (`{first}`, then `{second}`): give it once")]
    Repeated {
        /// The flag.
        flag: String,
        /// Its first value.
        first: String,
        /// Its second value.
        second: String,
    },
    /// A path flag with an empty value (`--out ""` would write into `./<name>/`).
    #[error("{flag} needs a non-empty path")]
    EmptyPath {
        /// The flag.
        flag: String,
    },
    /// Both `--shard` and `--merge`.
    #[error("--shard and --merge exclude each other: run the shards, then --merge")]
    ShardAndMerge,
    /// A malformed `--shard k/N`.
    #[error(transparent)]
    Shard(#[from] ShardParseError),
    /// An unknown `--blas-kernel` policy.
    #[error("unknown --blas-kernel `{value}`: expected portable, fastest or openblas")]
    BlasKernel {
        /// What was given.
        value: String,
    },
}

/// What one cell of a study can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// A value the cell computed or was given is out of range.
    #[error("`{key}` = {value}: {reason}")]
    Invalid {
        /// What.
        key: String,
        /// The value, printed.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// From the data models.
    #[error(transparent)]
    Data(#[from] DataError),
    /// From the model.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// From an optimizer.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// From the analysis.
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// From training (its own failures: a [`TrainError`] that wraps a
    /// model, optimizer or analysis error is filed under that stage instead,
    /// see the `From` impl).
    #[error(transparent)]
    Train(TrainError),
}

/// One failure, one stage: a training error that only carries a model,
/// optimizer or analysis error (`train_run` building the optimizer, the
/// reduced engine's span check) becomes that error, so it is filed under the
/// same [`CellStage`] whether the study called the lower crate directly or
/// through training.
impl From<TrainError> for StudyError {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Model(e) => StudyError::Model(e),
            TrainError::Optim(e) => StudyError::Optim(e),
            TrainError::Analysis(e) => StudyError::Analysis(e),
            e => StudyError::Train(e),
        }
    }
}

impl StudyError {
    /// The stage this failure is filed under.
    pub fn stage(&self) -> CellStage {
        match self {
            StudyError::Invalid { .. } => CellStage::Invalid,
            StudyError::Data(_) => CellStage::Data,
            StudyError::Model(_) => CellStage::Model,
            StudyError::Optim(_) => CellStage::Optim,
            StudyError::Analysis(_) => CellStage::Analysis,
            StudyError::Train(_) => CellStage::Train,
        }
    }
}

/// The lower crates' errors convert into a [`LabError`] through [`StudyError`],
/// so `?` works on them in config validation and reports alike.
macro_rules! lab_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for LabError {
            fn from(e: $t) -> Self {
                LabError::Study(e.into())
            }
        }
    )*};
}
lab_error_from!(DataError, ModelError, OptimError, AnalysisError, TrainError);

/// Which part of a cell's work failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStage {
    /// Generating the data set.
    Data,
    /// Building the model or its initial weights.
    Model,
    /// Training.
    Train,
    /// The reduced-space solver or the decomposition.
    Analysis,
    /// Building an optimizer.
    Optim,
    /// A value out of range.
    Invalid,
    /// Writing the cell's arrays (`[output] arrays = true`).
    Output,
}

impl std::fmt::Display for CellStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CellStage::Data => "data",
            CellStage::Model => "model",
            CellStage::Train => "training",
            CellStage::Analysis => "analysis",
            CellStage::Optim => "the optimizer",
            CellStage::Invalid => "validation",
            CellStage::Output => "writing its arrays",
        })
    }
}

/// A failed cell, as it is stored in a sweep's journal (errors of the lower
/// crates hold OS errors and are not serializable, so the record keeps the
/// stage and the error's message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("a cell failed in {stage}: {message}")]
pub struct CellError {
    /// Where it failed.
    pub stage: CellStage,
    /// The error's message.
    pub message: String,
}

impl From<StudyError> for CellError {
    fn from(e: StudyError) -> Self {
        CellError {
            stage: e.stage(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_cell_is_a_typed_record_that_survives_the_journal() {
        let data = DataError::Alloc {
            what: "inputs",
            bytes: 8,
        };
        let cell: Result<u32, CellError> = Err(StudyError::from(data).into());
        let json = serde_json::to_string(&cell).unwrap();
        assert!(json.contains("\"stage\":\"data\""), "{json}");
        let back: Result<u32, CellError> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cell);
        let e = LabError::Cell {
            cell: 4,
            error: back.unwrap_err(),
        };
        assert!(
            e.to_string()
                .starts_with("cell 4: a cell failed in data: cannot allocate the inputs"),
            "{e}"
        );
        let located = LabError::invalid("n", 0, "must be >= 1").at("[tasks.c22.data]");
        assert_eq!(located.to_string(), "[tasks.c22.data] `n` = 0: must be >= 1");
    }

    /// An optimizer error is filed under the optimizer whether the study built
    /// the optimizer itself or training did; training's own failures stay
    /// training's.
    #[test]
    fn one_failure_is_filed_under_one_stage() {
        let optim = || gengap_optim::OptimConfig::gd(-1.0).resolve().unwrap_err();
        let direct: CellError = StudyError::from(optim()).into();
        let through_training: CellError = StudyError::from(TrainError::Optim(optim())).into();
        assert_eq!(direct.stage, CellStage::Optim);
        assert_eq!(through_training, direct);
        let model = || ModelError::InvalidParam {
            field: "m",
            value: "0".into(),
            reason: "must be >= 1",
        };
        let through_training: CellError = StudyError::from(TrainError::Model(model())).into();
        assert_eq!(through_training.stage, CellStage::Model);
        let own: CellError = StudyError::from(TrainError::NoRecord).into();
        assert_eq!(own.stage, CellStage::Train);
        let lab = LabError::from(TrainError::Optim(optim()));
        assert!(matches!(lab, LabError::Study(StudyError::Optim(_))), "{lab:?}");
    }
}

/// Where in a config a TOML error is ([`LabError::Toml`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlKey {
    /// The dotted key path (`tasks.z23.data.d`, `optimizers[0].lrs.c22`).
    pub key: String,
    /// The value written there, as TOML on one line (shortened), where known.
    pub value: Option<String>,
}

impl TomlKey {
    /// `` `key` = value: `` (or `` `key`: ``), put before the parser's message.
    fn prefix(&self) -> String {
        match &self.value {
            Some(v) => format!("`{}` = {v}: ", self.key),
            None => format!("`{}`: ", self.key),
        }
    }
}
