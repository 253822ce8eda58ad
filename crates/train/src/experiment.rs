//! The shared shell of every experiment binary: command line, config
//! loading and validation, result files with provenance, error reporting.
//!
//! An experiment's `main` is one line, `experiment::main("name", run)`:
//! read config → run → write results → plot. Any user error (unreadable or
//! malformed TOML, an unknown key, an out-of-range value) prints one line,
//! `name: error: …`, and exits with status 1 before anything is written.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::error::{CliError, ExperimentError};
use crate::io::{Provenance, atomic_write, write_json};

/// Command-line arguments shared by all experiments.
#[derive(Debug, Clone)]
pub struct Cli {
    /// `--config FILE` (default `experiments/<name>/config.toml`).
    pub config: PathBuf,
    /// `--out DIR`: results go to `DIR/<name>/` (default `results`).
    pub out: PathBuf,
    /// `--figures DIR`: figures go there (default `docs/figures`).
    pub figures: PathBuf,
    /// `--shard k/N`: run only that part of the sweep (grid experiments only).
    pub shard: Option<crate::sweep::Shard>,
    /// `--merge`: join the shards' journals and report (grid experiments only).
    pub merge: bool,
}

/// Validation of a whole experiment config, before anything runs.
pub trait Validate {
    /// The first problem found, as one line naming the key and value.
    fn validate(&self) -> Result<(), ExperimentError>;

    /// The run's estimated peak memory and the key that drives it (see
    /// [`crate::memory`]); `None` where the sizes are bounded anyway. The
    /// shell refuses a config whose estimate exceeds the available memory,
    /// before anything is written.
    fn memory(&self) -> Option<crate::memory::MemoryEstimate> {
        None
    }

    /// Resolve the config's relative paths (e.g. `data_dir`) against
    /// `config_dir`, the folder of the config file, with [`resolve_dir`]; called
    /// before [`Validate::validate`]. Default: no paths.
    fn resolve_paths(&mut self, config_dir: &Path) -> Result<(), ExperimentError> {
        let _ = config_dir;
        Ok(())
    }
}

/// Resolve the folder `value` of config key `key`: an absolute path is kept;
/// a relative one is looked up in `config_dir` and then in each folder above
/// it (so `data_dir = "data/mnist"` in `experiments/noisy-mnist/config.toml`
/// finds the workspace's `data/mnist` wherever the binary is run from). The
/// error names every path tried.
pub fn resolve_dir(config_dir: &Path, key: &str, value: &str) -> Result<String, ExperimentError> {
    let rel = Path::new(value);
    if rel.is_absolute() {
        return Ok(value.to_string());
    }
    let base = std::path::absolute(config_dir).unwrap_or_else(|_| config_dir.to_path_buf());
    let tried: Vec<PathBuf> = base.ancestors().map(|a| a.join(rel)).collect();
    match tried.iter().find(|p| p.is_dir()) {
        Some(found) => Ok(found.display().to_string()),
        None => Err(ExperimentError::DataDir {
            key: key.to_string(),
            value: value.to_string(),
            base,
            tried,
        }),
    }
}

/// What a run has at hand: where to write, and the provenance.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Experiment name.
    pub name: String,
    /// `results/<name>/`.
    pub results: PathBuf,
    /// The figures folder.
    pub figures: PathBuf,
    /// The config file used.
    pub config_path: PathBuf,
    /// Version and git commit.
    pub provenance: Provenance,
    /// `--shard k/N`, if given.
    pub shard: Option<crate::sweep::Shard>,
    /// `--merge`, if given.
    pub merge: bool,
}

impl Ctx {
    /// Write a CSV file `results/<name>/<file>` atomically.
    pub fn write_csv(&self, file: &str, header: &[&str], rows: &[Vec<String>]) -> Result<PathBuf, ExperimentError> {
        let mut w = csv::Writer::from_writer(vec![]);
        w.write_record(header)?;
        for r in rows {
            w.write_record(r)?;
        }
        let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
        let path = self.results.join(file);
        self.write(&path, &bytes)?;
        Ok(path)
    }

    /// Write `bytes` to `path` atomically (see [`atomic_write`]).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
        atomic_write(path, bytes).map_err(|source| ExperimentError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Write `results/<name>/<file>` as JSON: `{experiment, config_file,
    /// provenance, config (resolved, with defaults), seed, results}`.
    pub fn write_record<C: Serialize, R: Serialize>(
        &self,
        file: &str,
        config: &C,
        seed: u64,
        results: &R,
    ) -> Result<PathBuf, ExperimentError> {
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
        let out = Out {
            experiment: &self.name,
            config_file: self.config_path.display().to_string(),
            provenance: &self.provenance,
            seed,
            config,
            results,
        };
        write_json(&path, &out).map_err(|source| ExperimentError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Run a sweep of `cells` cells through a journal under
    /// `results/<name>/journal/`, honouring `--shard k/N` and `--merge`:
    ///
    /// * plain run: every cell, resuming from the journal if a previous run
    ///   of the same config and binary was killed; returns all results;
    /// * `--shard k/N`: only that shard's cells; returns `None` (the caller
    ///   stops: there is nothing to report until `--merge`);
    /// * `--merge`: the results of all shards' journals, in cell order.
    ///
    /// Journals are named after `tag`, `key` (the config of the sweep) and
    /// the running binary, so a changed config or rebuilt code never resumes
    /// stale cells. Cell `k` draws from `stream(seed, k)`.
    pub fn sweep<K, R, F>(
        &self,
        tag: &str,
        key: &K,
        seed: u64,
        cells: usize,
        f: F,
    ) -> Result<Option<Vec<R>>, ExperimentError>
    where
        K: Serialize,
        R: Serialize + DeserializeOwned + Send,
        F: Fn(usize, &mut gengap_data::rng::ChaCha8Rng) -> R + Sync,
    {
        self.sweep_impl(tag, key, seed, cells, false, f)
    }

    /// As [`Ctx::sweep`] but always the whole sweep (journaled, resumable),
    /// whatever `--shard`/`--merge` say: for a second stage that depends on
    /// the merged first stage.
    pub fn sweep_all<K, R, F>(
        &self,
        tag: &str,
        key: &K,
        seed: u64,
        cells: usize,
        f: F,
    ) -> Result<Vec<R>, ExperimentError>
    where
        K: Serialize,
        R: Serialize + DeserializeOwned + Send,
        F: Fn(usize, &mut gengap_data::rng::ChaCha8Rng) -> R + Sync,
    {
        Ok(self
            .sweep_impl(tag, key, seed, cells, true, f)?
            .expect("a whole sweep always returns"))
    }

    fn sweep_impl<K, R, F>(
        &self,
        tag: &str,
        key: &K,
        seed: u64,
        cells: usize,
        whole: bool,
        f: F,
    ) -> Result<Option<Vec<R>>, ExperimentError>
    where
        K: Serialize,
        R: Serialize + DeserializeOwned + Send,
        F: Fn(usize, &mut gengap_data::rng::ChaCha8Rng) -> R + Sync,
    {
        use crate::sweep::{self, Shard};
        let dir = self.results.join("journal");
        let stem = format!(
            "{tag}-{:016x}",
            sweep::fingerprint(&(key, seed, cells, sweep::binary_fingerprint()))
        );
        let label = format!("{} {tag}", self.name);
        if self.merge && !whole {
            let journals = sweep::shard_journals(&dir, &stem);
            if journals.is_empty() {
                return Err(ExperimentError::NoShards { dir, stem });
            }
            return Ok(Some(sweep::merge(&journals, cells)?));
        }
        let shard = if whole {
            Shard::ALL
        } else {
            self.shard.unwrap_or(Shard::ALL)
        };
        let journal = sweep::journal_path(&dir, &stem, shard);
        let out = sweep::run_journaled(&label, seed, cells, shard, &journal, f)?;
        if shard != Shard::ALL {
            eprintln!(
                "{}: [{tag}] shard {}/{} done ({} cells in {}); run with --merge once every shard has finished",
                self.name,
                shard.index,
                shard.count,
                out.len(),
                journal.display()
            );
            return Ok(None);
        }
        Ok(Some(out.into_values().collect()))
    }

    /// The stem `docs/figures/<file>` for [`gengap_plot::render`]-style output.
    pub fn figure(&self, file: &str) -> PathBuf {
        self.figures.join(file)
    }
}

/// The usage line of an experiment binary; `sweeps`: it takes `--shard`/`--merge`.
fn usage(name: &str, sweeps: bool) -> String {
    let grid = if sweeps { " [--shard k/N | --merge]" } else { "" };
    format!("usage: {name} [--config FILE] [--out DIR] [--figures DIR]{grid} [--help]")
}

/// What the command line asks for: a run, or the usage text.
enum Parsed {
    Run(Cli),
    Help,
}

fn parse_args(name: &str, sweeps: bool, args: &[String]) -> Result<Parsed, CliError> {
    let mut cli = Cli {
        config: PathBuf::from(format!("experiments/{name}/config.toml")),
        out: PathBuf::from("results"),
        figures: PathBuf::from("docs/figures"),
        shard: None,
        merge: false,
    };
    let usage = usage(name, sweeps);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| CliError::MissingValue { flag: flag.into() })
        };
        match a.as_str() {
            "--config" => cli.config = val("--config")?.into(),
            "--out" => cli.out = val("--out")?.into(),
            "--figures" => cli.figures = val("--figures")?.into(),
            "--shard" if sweeps => cli.shard = Some(val("--shard")?.parse()?),
            "--merge" if sweeps => cli.merge = true,
            "--shard" | "--merge" => {
                return Err(CliError::NotASweep {
                    name: name.into(),
                    usage,
                });
            }
            "-h" | "--help" => return Ok(Parsed::Help),
            other => {
                return Err(CliError::Unknown {
                    arg: other.into(),
                    usage,
                });
            }
        }
    }
    if cli.shard.is_some() && cli.merge {
        return Err(CliError::ShardAndMerge);
    }
    Ok(Parsed::Run(cli))
}

/// Parse a TOML config, rejecting unknown keys; the error is one line with
/// the file, line and column.
pub fn load_config<C: DeserializeOwned + Validate>(path: &Path) -> Result<C, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    let mut cfg: C = toml::from_str(&text).map_err(|e| {
        let location = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                let col = s.start - text[..s.start].rfind('\n').map_or(0, |p| p + 1) + 1;
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        ExperimentError::Toml {
            path: path.to_path_buf(),
            location,
            message: e.message().trim().replace('\n', " "),
        }
    })?;
    let in_config = |e: ExperimentError| ExperimentError::Config {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    cfg.resolve_paths(dir).map_err(in_config)?;
    cfg.validate().map_err(in_config)?;
    if let Some(est) = cfg.memory() {
        crate::memory::check(&est).map_err(|e| in_config(e.into()))?;
    }
    Ok(cfg)
}

/// Run an experiment: parse the command line, load and validate the config,
/// call `run`, and turn any error into one line on stderr and exit status 1.
/// `--shard`/`--merge` are refused (see [`main_sweep`]).
pub fn main<C, F>(name: &str, run: F)
where
    C: DeserializeOwned + Validate,
    F: FnOnce(&Ctx, C) -> Result<(), ExperimentError>,
{
    main_impl(name, false, run)
}

/// As [`main`], for grid experiments that honour `--shard k/N` and `--merge`
/// (through [`crate::sweep::run_journaled`] and [`crate::sweep::merge`]).
pub fn main_sweep<C, F>(name: &str, run: F)
where
    C: DeserializeOwned + Validate,
    F: FnOnce(&Ctx, C) -> Result<(), ExperimentError>,
{
    main_impl(name, true, run)
}

fn main_impl<C, F>(name: &str, sweeps: bool, run: F)
where
    C: DeserializeOwned + Validate,
    F: FnOnce(&Ctx, C) -> Result<(), ExperimentError>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(name, sweeps, &args)
        .map_err(ExperimentError::from)
        .and_then(|parsed| {
            let cli = match parsed {
                Parsed::Run(cli) => cli,
                Parsed::Help => {
                    println!("{}", usage(name, sweeps));
                    std::process::exit(0);
                }
            };
            let cfg: C = load_config(&cli.config)?;
            // Every output location is checked before anything runs.
            let results = cli.out.join(name);
            crate::io::probe_writable(&results).map_err(|source| ExperimentError::Output {
                what: "results",
                path: results.clone(),
                source,
            })?;
            if cli.shard.is_none() {
                crate::io::probe_writable(&cli.figures).map_err(|source| ExperimentError::Output {
                    what: "figures",
                    path: cli.figures.clone(),
                    source,
                })?;
            }
            let ctx = Ctx {
                name: name.to_string(),
                results: cli.out.join(name),
                figures: cli.figures.clone(),
                config_path: cli.config.clone(),
                provenance: Provenance::current(),
                shard: cli.shard,
                merge: cli.merge,
            };
            let start = std::time::Instant::now();
            run(&ctx, cfg)?;
            eprintln!(
                "{name}: done in {:.1} s; results in {}",
                start.elapsed().as_secs_f64(),
                ctx.results.display()
            );
            Ok(())
        });
    if let Err(e) = result {
        eprintln!("{name}: error: {e}");
        std::process::exit(1);
    }
}

/// Format a float for CSV: shortest round-trip form, `NaN`/`inf` spelled out.
pub fn f(v: f64) -> String {
    format!("{v}")
}

/// Helpers for the experiments' command-line tests.
pub mod testing {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A fresh empty folder under the system temp dir.
    pub fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gengap-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    /// The command running `bin` on the config text `toml` (written to
    /// `dir/config.toml`) with `--out`/`--figures` inside `dir`, plus `extra` arguments.
    pub fn command(bin: &str, dir: &Path, toml: &str, extra: &[&str]) -> Command {
        let cfg = dir.join("config.toml");
        std::fs::write(&cfg, toml).expect("write config");
        let mut c = Command::new(bin);
        c.arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(dir.join("results"))
            .arg("--figures")
            .arg(dir.join("figures"))
            .args(extra);
        c
    }

    /// Run `bin` on the config text `toml` with `--out`/`--figures` inside `dir`.
    /// Returns (success, stderr).
    pub fn run(bin: &str, dir: &Path, toml: &str) -> (bool, String) {
        run_with(bin, dir, toml, &[])
    }

    /// As [`run`], with extra arguments.
    pub fn run_with(bin: &str, dir: &Path, toml: &str, extra: &[&str]) -> (bool, String) {
        let out = command(bin, dir, toml, extra)
            .output()
            .expect("start the experiment binary");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Every file under `dir` except the config.
    pub fn outputs(dir: &Path) -> Vec<PathBuf> {
        fn walk(p: &Path, acc: &mut Vec<PathBuf>) {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        walk(&path, acc);
                    } else if path.file_name().is_some_and(|n| n != "config.toml") {
                        acc.push(path);
                    }
                }
            }
        }
        let mut acc = vec![];
        walk(dir, &mut acc);
        acc
    }

    /// Check `--shard`/`--merge` on the config text `good`: the CSV files
    /// `csvs` (relative to `results/<tag>/`) of three shards merged equal those
    /// of one unsharded run, byte for byte, and a shard writes no CSV.
    pub fn check_shards(bin: &str, tag: &str, good: &str, csvs: &[&str]) {
        let run_in = |dir: &Path, extra: &[&str]| {
            let (ok, err) = run_with(bin, dir, good, extra);
            assert!(ok, "{extra:?}: {err}");
        };
        let one = scratch(&format!("{tag}-one"));
        run_in(&one, &[]);
        let sh = scratch(&format!("{tag}-shards"));
        for k in 0..3 {
            run_in(&sh, &["--shard", &format!("{k}/3")]);
            for c in csvs {
                assert!(!sh.join(format!("results/{tag}/{c}")).exists(), "a shard writes no {c}");
            }
        }
        run_in(&sh, &["--merge"]);
        for c in csvs {
            let (a, b) = (
                one.join(format!("results/{tag}/{c}")),
                sh.join(format!("results/{tag}/{c}")),
            );
            assert_eq!(
                std::fs::read(&a).expect("unsharded CSV"),
                std::fs::read(&b).expect("merged CSV"),
                "{c}: 3 shards merged differ from one run"
            );
        }
        std::fs::remove_dir_all(one).ok();
        std::fs::remove_dir_all(sh).ok();
    }

    /// Check the command line itself: `--help` prints the usage on stdout
    /// and exits 0 (listing `--shard`/`--merge` only for a grid sweep), and an
    /// unwritable figures location (here a plain file) is refused with one
    /// line before anything runs: no results are written.
    pub fn check_help_and_outputs(bin: &str, tag: &str, good: &str, sweeps: bool) {
        let out = Command::new(bin).arg("--help").output().expect("run --help");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "--help exits 0: {out:?}");
        assert!(stdout.starts_with("usage: "), "{stdout}");
        assert!(out.stderr.is_empty(), "--help prints no error");
        assert_eq!(stdout.contains("--shard"), sweeps, "{stdout}");
        assert_eq!(stdout.contains("--merge"), sweeps, "{stdout}");
        let dir = scratch(&format!("{tag}-figures-file"));
        std::fs::write(dir.join("figures"), "a file, not a folder").expect("write");
        let (ok, err) = run(bin, &dir, good);
        assert!(!ok, "an unwritable figures location must fail");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line of error, got: {err}");
        assert!(lines[0].contains("cannot write figures to"), "{err}");
        assert!(
            !err.contains("Os {") && !err.contains("BackendError"),
            "a sentence, not Debug: {err}"
        );
        let written: Vec<PathBuf> = outputs(&dir)
            .into_iter()
            .filter(|p| p.file_name().is_none_or(|n| n != "figures"))
            .collect();
        assert!(written.is_empty(), "nothing written before the check: {written:?}");
        std::fs::remove_dir_all(dir).ok();
    }

    /// Check that each `(bad config, expected substring)` fails with one
    /// line on stderr naming the problem, and writes nothing; and that the
    /// good config runs and writes `expect_files` (relative to `dir`).
    pub fn check_cli(bin: &str, tag: &str, good: &str, bad: &[(String, &str)], expect_files: &[&str]) {
        for (k, (cfg, want)) in bad.iter().enumerate() {
            let dir = scratch(&format!("{tag}-bad{k}"));
            let (ok, err) = run(bin, &dir, cfg);
            assert!(!ok, "bad config {k} should fail:\n{cfg}");
            let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(lines.len(), 1, "one line of error, got: {err}");
            assert!(
                lines[0].contains("error") && lines[0].contains(want),
                "error should mention `{want}`: {err}"
            );
            assert!(!err.contains("panicked"), "no panic: {err}");
            assert!(
                outputs(&dir).is_empty(),
                "no files written for a bad config: {:?}",
                outputs(&dir)
            );
            std::fs::remove_dir_all(dir).ok();
        }
        let dir = scratch(&format!("{tag}-good"));
        let (ok, err) = run(bin, &dir, good);
        assert!(ok, "the quick config should run: {err}");
        for f in expect_files {
            let p = dir.join(f);
            assert!(p.is_file(), "missing output {}", p.display());
        }
        let record = std::fs::read_to_string(dir.join(format!("results/{tag}/record.json"))).expect("record.json");
        for key in [
            "\"provenance\"",
            "\"git_commit\"",
            "\"version\"",
            "\"seed\"",
            "\"config\"",
        ] {
            assert!(record.contains(key), "record.json lacks {key}");
        }
        assert!(
            !outputs(&dir).iter().any(|p| p.to_string_lossy().contains(".tmp")),
            "no temporary files left"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Toy {
        n: usize,
        lr: f64,
    }
    impl Validate for Toy {
        fn validate(&self) -> Result<(), ExperimentError> {
            if self.n == 0 {
                return Err(ExperimentError::invalid("n", 0, "must be >= 1"));
            }
            if self.lr.is_nan() || self.lr <= 0.0 {
                return Err(ExperimentError::invalid("lr", self.lr, "must be > 0"));
            }
            Ok(())
        }
    }

    fn load(text: &str) -> Result<Toy, ExperimentError> {
        let p = std::env::temp_dir().join(format!("gengap-cfg-{}-{}.toml", std::process::id(), text.len()));
        std::fs::write(&p, text).unwrap();
        let r = load_config::<Toy>(&p);
        std::fs::remove_file(p).unwrap();
        r
    }

    fn parse_cli(name: &str, args: &[String]) -> Result<Cli, CliError> {
        match parse_args(name, true, args)? {
            Parsed::Run(cli) => Ok(cli),
            Parsed::Help => panic!("--help is not a run"),
        }
    }

    #[test]
    fn config_errors_are_one_line_and_name_the_key() {
        assert!(load("n = 3\nlr = 0.1").is_ok());
        for (src, want) in [
            ("n = 3\nlr = 0.1\nlrr = 2", "lrr"),
            ("n = 0\nlr = 0.1", "`n` = 0"),
            ("n = 3\nlr = -0.1", "`lr` = -0.1"),
            ("n = 3\nlr = nan", "`lr` = NaN"),
            ("n = 3\nlr = ", ":2:"),
            ("n = 3", "lr"),
        ] {
            let e = load(src).unwrap_err().to_string();
            assert!(e.contains(want), "{src:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
        assert!(
            parse_cli("x", &["--bogus".into()])
                .unwrap_err()
                .to_string()
                .contains("--bogus")
        );
        assert!(parse_cli("x", &["--config".into()]).is_err());
        assert_eq!(
            parse_cli("x", &["--shard".into(), "1/3".into()]).unwrap().shard,
            Some(crate::sweep::Shard { index: 1, count: 3 })
        );
        assert!(
            parse_cli("x", &["--shard".into(), "3/3".into()])
                .unwrap_err()
                .to_string()
                .contains("0 <= k < N")
        );
        assert!(parse_cli("x", &["--shard".into(), "0/2".into(), "--merge".into()]).is_err());
        // --help is a request, not an error; a non-sweep lists no --shard/--merge.
        assert!(matches!(parse_args("x", true, &["--help".into()]), Ok(Parsed::Help)));
        assert!(usage("x", true).contains("--shard"));
        assert!(!usage("x", false).contains("--shard") && !usage("x", false).contains("--merge"));
        let e = parse_args("x", false, &["--shard".into(), "0/2".into()])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("does not support --shard"), "{e}");
    }
}
