//! The [`Study`] trait and the runner that drives it.
//!
//! A study is one experiment: a validated config, a list of cells, what one
//! cell computes, and how the rows become tables and figures. The runner
//! ([`run`], or [`main`] for a binary) does everything else, the way argmin's
//! `Executor` drives a `Solver`:
//!
//! 1. parse the command line, load and validate the config, check memory and
//!    that the output folders are writable — before anything is written;
//! 2. limit OpenBLAS to one thread (cells run in parallel under rayon);
//! 3. call [`Setup::setup`] of the study's shared data with the setup
//!    stream, then [`Study::cells`];
//! 4. run the cells (or `--shard k/N`'s part of them) in parallel through a
//!    journal, each with its own [`CellRng`] `stream(seed, k)`; a killed run
//!    resumes; `--merge` joins the shards' journals;
//! 5. run the [`Study::follow_up`] cells, if any (stages that depend on the
//!    first stage's rows, e.g. the seeds at a chosen learning rate);
//! 6. call [`Study::report`] and write `record.json` with the resolved
//!    config, seed and provenance.
//!
//! A study never builds a seed or a stream of its own, never opens a file
//! for writing except through [`Ctx`], and gets `--shard`, `--merge`, resume
//! and thread independence for free.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::arrays::Arrays;
use crate::cli::{Parsed, parse_args, usage};
use crate::config::{Validate, load_config};
use crate::ctx::Ctx;
use crate::error::{CellError, CellStage, LabError, StudyError};
use crate::io::{Provenance, probe_writable, probe_writable_lazily, remove_stale_temps};
use crate::journal::{self, Shard};
use crate::settings::{Configured, RunSettings};
use crate::streams::{CellRng, SetupRng};

/// What a study's setup draws once and every cell shares (a data set,
/// `W⁽⁰⁾`), made from the study's config `C` and the setup stream.
///
/// `()` implements it (nothing shared, nothing drawn): a study with nothing
/// to share writes no setup at all.
///
/// ```
/// use gengap_lab::{SetupRng, Setup, StudyError};
/// use rand::RngExt;
///
/// struct Config { n: usize }
/// /// One draw every cell sees.
/// struct Offsets(Vec<f64>);
///
/// impl Setup<Config> for Offsets {
///     fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
///         Ok(Offsets((0..cfg.n).map(|_| rng.random::<f64>()).collect()))
///     }
/// }
/// let a = Offsets::setup(&Config { n: 3 }, &mut SetupRng::new(7)).unwrap();
/// let b = Offsets::setup(&Config { n: 3 }, &mut SetupRng::new(7)).unwrap();
/// assert_eq!(a.0, b.0);
/// ```
pub trait Setup<C>: Sized + Sync {
    /// The shared draws, from the setup stream (see [`SetupRng`]).
    fn setup(cfg: &C, rng: &mut SetupRng) -> Result<Self, StudyError>;
}

impl<C> Setup<C> for () {
    fn setup(_: &C, _: &mut SetupRng) -> Result<(), StudyError> {
        Ok(())
    }
}

/// One experiment, driven by the lab runner. See the [module docs](self).
///
/// A study declares only what is its own. The run-level keys of its config
/// (`seed`, `name`, `[output]`) belong to the lab ([`RunSettings`]): the
/// study's `Config` does not declare them, the runner derives every stream
/// from the seed, and the report finds them in [`Ctx`].
pub trait Study: Sync {
    /// The study's own keys of the config file: deserialized with unknown
    /// keys rejected, then validated ([`Validate`]) before anything runs.
    /// The run-level keys are read beside it ([`Configured`]).
    type Config: Serialize + DeserializeOwned + Validate + Sync;
    /// What the setup draws once and every cell shares (a data set, `W⁽⁰⁾`);
    /// `()` when nothing is shared. See [`Setup`].
    type Shared: Setup<Self::Config>;
    /// One unit of work.
    type Cell: Serialize + Sync;
    /// What a cell produces; journaled as JSON, so it round-trips through
    /// serde (use `gengap::model::nonfinite` for floats that may be NaN).
    type Row: Serialize + DeserializeOwned + Send;
    /// What `record.json` keeps as the study's results.
    type Summary: Serialize;

    /// The binary's name: results go to `<out>/<name>/`, errors start with it,
    /// and the files' default stem is this name with `_` for `-`.
    fn name(&self) -> &str;

    /// The crate the study lives in, for `record.json` (name, version,
    /// commit and dirty flag beside gengap's). A study outside the
    /// workspace returns `Some(gengap_lab::package!())`; gengap's own return
    /// `None` (the default), gengap's provenance being theirs.
    fn package(&self) -> Option<crate::Package> {
        None
    }

    /// Whether the study is a grid that honours `--shard`/`--merge` (default
    /// true; a single run says false and refuses them).
    fn is_sweep(&self) -> bool {
        true
    }

    /// The cells of the first stage, in a fixed order: cell `k` gets
    /// `stream(seed, k)`.
    fn cells(&self, cfg: &Self::Config, shared: &Self::Shared) -> Vec<Self::Cell>;

    /// Cells that depend on the first stage's results (default: none). They
    /// run after the first stage is complete (after `--merge` for a sharded
    /// run), whole and journaled; follow-up cell `j` gets
    /// `stream(seed, n₁ + j)` with `n₁` the number of first-stage cells.
    fn follow_up(
        &self,
        cfg: &Self::Config,
        shared: &Self::Shared,
        first: &[(Self::Cell, Self::Row)],
    ) -> Vec<Self::Cell> {
        let _ = (cfg, shared, first);
        Vec::new()
    }

    /// Run one cell from its stream `rng`. What the cell puts in `keep` (its
    /// final weights, its decomposition) is written to
    /// `results/<name>/arrays/cell-<k>.npz` when the config says `[output]
    /// arrays = true`; otherwise `keep` is [`Arrays::off`], which ignores what
    /// is put in it, so a cell may always put and pays nothing.
    fn run(
        &self,
        cfg: &Self::Config,
        shared: &Self::Shared,
        cell: &Self::Cell,
        rng: &mut CellRng,
        keep: &mut Arrays,
    ) -> Result<Self::Row, StudyError>;

    /// Turn every cell's row (first stage, then follow-up, in cell order)
    /// into tables and figures through `ctx` (which also holds the run's
    /// seed, file stem and `[output]` table); the returned summary goes into
    /// `record.json`.
    fn report(
        &self,
        cfg: &Self::Config,
        shared: &Self::Shared,
        rows: &[(Self::Cell, Self::Row)],
        ctx: &Ctx,
    ) -> Result<Self::Summary, LabError>;
}

/// Where a run's files go and which part of the sweep it runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The config file.
    pub config: std::path::PathBuf,
    /// Results go to `<out>/<name>/`.
    pub out: std::path::PathBuf,
    /// Figures go here.
    pub figures: std::path::PathBuf,
    /// Run only this part of the first stage (then report nothing).
    pub shard: Option<Shard>,
    /// Join the shards' journals instead of running the first stage.
    pub merge: bool,
}

/// What [`run`] did.
#[derive(Debug)]
pub enum Finished<S> {
    /// The whole study ran and reported.
    Reported(S),
    /// A shard ran; its cells are in the journal until `--merge`.
    Shard {
        /// The shard.
        shard: Shard,
        /// Cells this shard holds.
        cells: usize,
    },
}

/// Run `study` on the config file named in `opts`: load and validate it,
/// check the outputs, run the cells and report. Nothing is written before
/// the config has been accepted.
pub fn run<S: Study>(study: &S, opts: &RunOptions) -> Result<Finished<S::Summary>, LabError> {
    let cfg: Configured<S::Config> = load_config(&opts.config)?;
    let fresh = FreshDirs::before(&[opts.out.join(study.name()), opts.figures.clone()]);
    fresh.on_error((|| {
        let ctx = checked_ctx(
            study,
            &cfg.run,
            &opts.config,
            &opts.out,
            &opts.figures,
            opts.shard.is_some(),
        )?;
        run_config(study, &cfg, &ctx, opts.shard, opts.merge)
    })())
}

/// The folders a run would create: the topmost missing ancestor of each
/// output path, noted before anything is written. A run that fails removes
/// every empty folder under them again (never a file: a journal that was
/// written stays, so a rerun resumes), so a refused run leaves no empty
/// `out/<name>/` behind.
struct FreshDirs(Vec<std::path::PathBuf>);

impl FreshDirs {
    fn before(paths: &[std::path::PathBuf]) -> Self {
        let top = |p: &std::path::Path| {
            let mut missing = None;
            for a in p.ancestors().filter(|a| !a.as_os_str().is_empty()) {
                if a.exists() {
                    break;
                }
                missing = Some(a.to_path_buf());
            }
            missing
        };
        FreshDirs(paths.iter().filter_map(|p| top(p)).collect())
    }

    fn on_error<T>(&self, result: Result<T, LabError>) -> Result<T, LabError> {
        if result.is_err() {
            for d in &self.0 {
                prune_empty(d);
            }
        }
        result
    }
}

/// Remove `dir` and the folders below it that hold no file, deepest first.
fn prune_empty(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.filter_map(Result::ok) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                prune_empty(&e.path());
            }
        }
    }
    // Fails (and keeps the folder) when anything is left in it.
    let _ = std::fs::remove_dir(dir);
}

/// Run `study` on an already validated config, writing through `ctx`
/// (made from the same config's [`RunSettings`]).
pub fn run_config<S: Study>(
    study: &S,
    cfg: &Configured<S::Config>,
    ctx: &Ctx,
    shard: Option<Shard>,
    merge: bool,
) -> Result<Finished<S::Summary>, LabError> {
    Ok(match execute(study, cfg, ctx, shard, merge)? {
        Finished::Reported(report) => Finished::Reported(report.summary),
        Finished::Shard { shard, cells } => Finished::Shard { shard, cells },
    })
}

/// What a whole run of a study produced: its summary (the `results` of
/// `record.json`) and every cell with its row, first stage then follow-up,
/// in cell order.
pub struct Report<S: Study> {
    /// The study's summary.
    pub summary: S::Summary,
    /// Every cell and its row.
    pub rows: Vec<(S::Cell, S::Row)>,
}

impl<S: Study> std::fmt::Debug for Report<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// Run `study` on the text of a TOML config (what a config file would
/// hold; `origin` names it in errors, and relative paths are resolved from
/// its folder), with the binaries' semantics: validated before anything is
/// written, journaled (a second call with the same config resumes or
/// reuses the cells), `shard`/`merge` as `--shard`/`--merge`, results in
/// `<out>/<name>/`, figures in `figures`. Returns the summary and the rows
/// (for a shard: how many cells it holds). This is what the Python
/// package's `gengap.run_study` calls.
pub fn run_text<S: Study>(
    study: &S,
    text: &str,
    origin: &std::path::Path,
    out: &std::path::Path,
    figures: &std::path::Path,
    shard: Option<Shard>,
    merge: bool,
) -> Result<Finished<Report<S>>, LabError> {
    let cfg: Configured<S::Config> = crate::config::parse_config(text, origin)?;
    let fresh = FreshDirs::before(&[out.join(study.name()), figures.to_path_buf()]);
    fresh.on_error((|| {
        let ctx = checked_ctx(study, &cfg.run, origin, out, figures, shard.is_some())?;
        execute(study, &cfg, &ctx, shard, merge)
    })())
}

/// The [`Ctx`] of a run, after checking that its folders are writable.
fn checked_ctx<S: Study>(
    study: &S,
    settings: &RunSettings,
    config: &std::path::Path,
    out: &std::path::Path,
    figures: &std::path::Path,
    shard: bool,
) -> Result<Ctx, LabError> {
    let name = study.name();
    let results = out.join(name);
    probe_writable(&results).map_err(|source| LabError::Output {
        what: "results",
        path: results.clone(),
        source,
    })?;
    // A run killed between a temporary write and its rename left
    // `.<file>.<pid>.tmp` behind: remove those of processes that are gone.
    for stale in remove_stale_temps(&results).map_err(|source| LabError::Output {
        what: "results",
        path: results.clone(),
        source,
    })? {
        eprintln!("{name}: removed a stale temporary file {}", stale.display());
    }
    if !shard {
        // Checked, not created: a study that draws nothing makes no folder.
        probe_writable_lazily(figures).map_err(|source| LabError::Output {
            what: "figures",
            path: figures.to_path_buf(),
            source,
        })?;
    }
    let mut ctx = Ctx::new(
        name,
        results,
        figures.to_path_buf(),
        config.to_path_buf(),
        settings.clone(),
    );
    ctx.provenance = Provenance::of_study(study.package());
    Ok(ctx)
}

/// The runner itself (see the [module docs](self)): every stage, then the
/// report, handing back the rows as well.
fn execute<S: Study>(
    study: &S,
    whole: &Configured<S::Config>,
    ctx: &Ctx,
    shard: Option<Shard>,
    merge: bool,
) -> Result<Finished<Report<S>>, LabError> {
    let cfg = &whole.study;
    // Cells run in parallel, one OpenBLAS thread each: results do not depend
    // on the core count, and the two thread pools do not fight.
    gengap_model::set_blas_threads(1);
    let seed = whole.run.seed;
    let shared = S::Shared::setup(cfg, &mut SetupRng::new(seed))?;
    let cells = study.cells(cfg, &shared);
    let n1 = cells.len();
    let dir = ctx.results.join("journal");
    let binary = journal::binary_fingerprint();
    // The kernel is part of the key: a resumed or merged sweep never mixes
    // cells computed with different arithmetic.
    let kernel = gengap_model::blas_kernel();
    let stem = format!("cells-{:016x}", journal::fingerprint(&(whole, n1, binary, &kernel)));
    let label = ctx.name.clone();
    let output = whole.run.output;
    let arrays_dir = ctx.results.join("arrays");
    // Cell k's arrays are written before its journal line: a cell killed in
    // between is run again and writes them again.
    let one = |k: usize, r: &mut CellRng, list: &[S::Cell], offset: usize| -> Result<S::Row, CellError> {
        let mut keep = Arrays::for_output(output);
        let row = study
            .run(cfg, &shared, &list[k], r, &mut keep)
            .map_err(CellError::from)?;
        if !keep.is_empty() {
            keep.write(&arrays_dir.join(cell_file(offset + k)))
                .map_err(|e| CellError {
                    stage: CellStage::Output,
                    message: e.to_string(),
                })?;
        }
        Ok(row)
    };
    let first: Vec<Result<S::Row, CellError>> = if merge {
        let journals = journal::shard_journals(&dir, &stem);
        if journals.is_empty() {
            return Err(LabError::NoShards { dir, stem });
        }
        journal::merge(&journals, &stem, n1)?
    } else {
        let shard = shard.unwrap_or(Shard::ALL);
        let path = journal::journal_path(&dir, &stem, shard);
        let done = journal::run_journaled(&label, seed, &stem, 0..n1, shard, &path, |k, r| one(k, r, &cells, 0))?;
        if shard != Shard::ALL {
            eprintln!(
                "{label}: shard {}/{} done ({} cells in {}); run with --merge once every shard has finished",
                shard.index,
                shard.count,
                done.len(),
                path.display()
            );
            return Ok(Finished::Shard {
                shard,
                cells: done.len(),
            });
        }
        done.into_values().collect()
    };
    let mut rows = collect(cells, first, 0)?;
    let more = study.follow_up(cfg, &shared, &rows);
    if !more.is_empty() {
        let n2 = more.len();
        let stem2 = format!(
            "follow-up-{:016x}",
            journal::fingerprint(&(whole, n1, &more, binary, &kernel))
        );
        let path = journal::journal_path(&dir, &stem2, Shard::ALL);
        // Follow-up cell j is cell n₁ + j of the study: its own stream.
        let done = journal::run_journaled(
            &format!("{label} follow-up"),
            seed,
            &stem2,
            n1..n1 + n2,
            Shard::ALL,
            &path,
            |k, r| one(k - n1, r, &more, n1),
        )?;
        rows.extend(collect(more, done.into_values().collect(), n1)?);
    }
    if output.arrays {
        write_cell_index(&arrays_dir, &rows)?;
    }
    let summary = study.report(cfg, &shared, &rows, ctx)?;
    ctx.write_record("record.json", whole, seed, &summary)?;
    Ok(Finished::Reported(Report { summary, rows }))
}

/// The arrays file of cell `k`.
fn cell_file(k: usize) -> String {
    format!("cell-{k:05}.npz")
}

/// `arrays/cells.json`: for every cell that kept arrays, its file and the cell.
fn write_cell_index<C: Serialize, R>(dir: &std::path::Path, rows: &[(C, R)]) -> Result<(), LabError> {
    #[derive(Serialize)]
    struct Entry<'a, C> {
        cell: usize,
        file: String,
        what: &'a C,
    }
    let entries: Vec<Entry<'_, C>> = rows
        .iter()
        .enumerate()
        .filter(|(k, _)| dir.join(cell_file(*k)).is_file())
        .map(|(k, (c, _))| Entry {
            cell: k,
            file: cell_file(k),
            what: c,
        })
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    let path = dir.join("cells.json");
    crate::io::write_json(&path, &entries).map_err(|source| LabError::Write { path, source })?;
    Ok(())
}

/// Pair cells with their rows; the first failed cell is the error.
fn collect<C, R>(cells: Vec<C>, rows: Vec<Result<R, CellError>>, offset: usize) -> Result<Vec<(C, R)>, LabError> {
    cells
        .into_iter()
        .zip(rows)
        .enumerate()
        .map(|(k, (c, r))| {
            r.map(|r| (c, r)).map_err(|error| LabError::Cell {
                cell: offset + k,
                error,
            })
        })
        .collect()
}

/// Select the OpenBLAS kernel (`--blas-kernel`, else `GENGAP_BLAS_KERNEL`,
/// else portable): may re-execute the binary once, before anything is read
/// or written (`gengap_model::select_kernel`). Returns what to say about it
/// once the run is done (a bad config still gets exactly one line).
fn select_blas_kernel(flag: Option<gengap_model::KernelPolicy>) -> Result<String, LabError> {
    use gengap_model::KernelChoice;
    let choice = match flag {
        Some(policy) => gengap_model::select_kernel(policy),
        None => gengap_model::select_kernel_from_env(),
    }?;
    Ok(match choice {
        KernelChoice::Ignored { wanted, running } => {
            format!(
                "OpenBLAS did not run OPENBLAS_CORETYPE={wanted} (an unknown name, or not a DYNAMIC_ARCH build) and ran {running}"
            )
        }
        KernelChoice::User(k) => format!("OpenBLAS kernel {k}, the user's OPENBLAS_CORETYPE"),
        KernelChoice::Selected(k) | KernelChoice::Detected(k) => format!("OpenBLAS kernel {k}"),
    })
}

/// The whole binary: parse the command line, [`run`] the study, and turn any
/// error into one line `name: error: …` on stderr and exit status 1.
/// `--help` prints the usage and exits 0. The OpenBLAS kernel is selected first
/// (`--blas-kernel`, `GENGAP_BLAS_KERNEL`; may re-execute the binary once).
pub fn main<S: Study>(study: S) {
    let name = study.name().to_string();
    let sweeps = study.is_sweep();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&name, sweeps, &args)
        .map_err(LabError::from)
        .and_then(|parsed| {
            let cli = match parsed {
                Parsed::Run(cli) => cli,
                Parsed::Help => {
                    println!("{}", usage(&name, sweeps));
                    std::process::exit(0);
                }
            };
            if cli.check {
                // Everything a run checks before its first write, and no more.
                let _: Configured<S::Config> = load_config(&cli.config)?;
                println!("{name}: {}: valid", cli.config.display());
                return Ok(());
            }
            let kernel = select_blas_kernel(cli.blas_kernel)?;
            let start = std::time::Instant::now();
            let opts = RunOptions {
                config: cli.config,
                out: cli.out,
                figures: cli.figures,
                shard: cli.shard,
                merge: cli.merge,
            };
            let results = opts.out.join(&name);
            run(&study, &opts)?;
            eprintln!(
                "{name}: done in {:.1} s ({kernel}); results in {}",
                start.elapsed().as_secs_f64(),
                results.display()
            );
            Ok(())
        });
    if let Err(e) = result {
        eprintln!("{name}: error: {e}");
        std::process::exit(1);
    }
}
