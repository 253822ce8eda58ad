//! # gengap-lab — one pipeline from a config file to results on disk
//!
//! Every gengap experiment is a [`Study`]: a validated config, a list of
//! cells, what one cell computes from its random stream, and a report. The
//! lab does the rest, once, for every study:
//!
//! * the command line ([`main`]): `--config`, `--out`, `--figures`,
//!   `--shard k/N`, `--merge`, `--help`; any error is one line and exit 1,
//!   with nothing written;
//! * config loading ([`load_config`]): unknown keys rejected, relative
//!   folders resolved ([`resolve_dir`]), values validated ([`Validate`]),
//!   the run's memory checked against the machine ([`memory`]);
//! * the streams ([`streams`]): the runner alone hands cell `k` its
//!   [`CellRng`] `stream(seed, k)` and the shared draws their [`SetupRng`],
//!   so there is one seed convention and results do not depend on thread
//!   count, order or sharding;
//! * the journaled, shardable, resumable sweep runner ([`journal`]);
//! * provenance and atomic CSV/JSON writing through serde ([`Ctx`], [`io`]);
//! * NumPy `.npz` arrays beside the CSVs with `[output] arrays = true`
//!   ([`arrays`]: a cell's final weights and decomposition through the
//!   sink [`Study::run`] gets, shared data through [`Ctx::write_arrays`]);
//! * the run-level keys of every config, `seed`, `name` and `[output]`
//!   ([`settings`]): no study declares them;
//! * the same runner on a config's text, rows handed back ([`run_text`], what
//!   the Python package's `run_study` calls);
//! * progress on stderr (a bar on a terminal, plain lines otherwise), and
//!   one OpenBLAS thread per cell;
//! * one typed error, [`LabError`]; a failed cell is a [`CellError`] record.
//!
//! A new experiment is one file implementing [`Study`] and a `main.rs` of
//! one line; see `crates/gengap/examples/sigma0_sweep.rs` (a whole study in
//! under 100 lines).

pub mod arrays;
pub mod cli;
pub mod config;
pub mod ctx;
pub mod error;
pub mod io;
pub mod journal;
pub mod memory;
pub mod settings;
pub mod shared;
pub mod streams;
pub mod study;
#[cfg(feature = "testing")]
pub mod testing;

pub use arrays::{Arrays, Output};
pub use cli::Cli;
pub use config::{Validate, load_config, parse_config, resolve_dir};
pub use ctx::Ctx;
pub use error::{CellError, CellStage, CliError, LabError, StudyError, TomlKey};
pub use io::{Package, Provenance};
pub use journal::Shard;
pub use settings::{Configured, RunSettings};
pub use shared::DataAndInit;
pub use streams::{CellRng, SetupRng};
pub use study::{Finished, Report, RunOptions, Setup, Study, main, run, run_config, run_text};
