//! The command line every experiment binary shares.

use std::path::PathBuf;

use gengap_model::KernelPolicy;

use crate::error::CliError;
use crate::journal::Shard;

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
    pub shard: Option<Shard>,
    /// `--merge`: join the shards' journals and report (grid experiments only).
    pub merge: bool,
    /// `--check`: read and validate the config (keys, values, sizes against
    /// memory, step counts), print one line and exit; nothing is run or written.
    pub check: bool,
    /// `--blas-kernel portable|fastest|openblas`: which OpenBLAS kernel to
    /// run (`gengap_model::KernelPolicy`); default: `GENGAP_BLAS_KERNEL`, else
    /// `portable`.
    pub blas_kernel: Option<KernelPolicy>,
}

/// The usage line of an experiment binary; `sweeps`: it takes `--shard`/`--merge`.
pub(crate) fn usage(name: &str, sweeps: bool) -> String {
    let grid = if sweeps { " [--shard k/N | --merge]" } else { "" };
    format!(
        "usage: {name} [--config FILE] [--out DIR] [--figures DIR]{grid} [--blas-kernel portable|fastest|openblas] [--check] [--help]"
    )
}

/// What the command line asks for: a run, or the usage text.
pub(crate) enum Parsed {
    Run(Cli),
    Help,
}

/// A switch (a flag without a value) given once: `true`, or the error for
/// a second time (`already` set).
fn switch_once(flag: &str, already: bool) -> Result<bool, CliError> {
    if already {
        return Err(CliError::Repeated {
            flag: flag.into(),
            first: flag.into(),
            second: flag.into(),
        });
    }
    Ok(true)
}

pub(crate) fn parse_args(name: &str, sweeps: bool, args: &[String]) -> Result<Parsed, CliError> {
    let mut cli = Cli {
        config: PathBuf::from(format!("experiments/{name}/config.toml")),
        out: PathBuf::from("results"),
        figures: PathBuf::from("docs/figures"),
        shard: None,
        merge: false,
        check: false,
        blas_kernel: None,
    };
    let usage = usage(name, sweeps);
    // Each flag once: a repeated one is refused, never "the last wins".
    let mut seen: Vec<(String, String)> = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |flag: &str| {
            let v = it
                .next()
                .cloned()
                .ok_or_else(|| CliError::MissingValue { flag: flag.into() })?;
            if let Some((_, first)) = seen.iter().find(|(f, _)| f == flag) {
                return Err(CliError::Repeated {
                    flag: flag.into(),
                    first: first.clone(),
                    second: v,
                });
            }
            seen.push((flag.into(), v.clone()));
            Ok(v)
        };
        let path = |flag: &str, v: String| {
            if v.is_empty() {
                Err(CliError::EmptyPath { flag: flag.into() })
            } else {
                Ok(PathBuf::from(v))
            }
        };
        match a.as_str() {
            "--config" => cli.config = path("--config", val("--config")?)?,
            "--out" => cli.out = path("--out", val("--out")?)?,
            "--figures" => cli.figures = path("--figures", val("--figures")?)?,
            "--shard" if sweeps => cli.shard = Some(val("--shard")?.parse()?),
            "--merge" if sweeps => cli.merge = switch_once("--merge", cli.merge)?,
            "--check" => cli.check = switch_once("--check", cli.check)?,
            "--blas-kernel" => {
                let value = val("--blas-kernel")?;
                cli.blas_kernel = Some(value.parse().map_err(|_| CliError::BlasKernel { value })?);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_cli(name: &str, args: &[String]) -> Result<Cli, CliError> {
        match parse_args(name, true, args)? {
            Parsed::Run(cli) => Ok(cli),
            Parsed::Help => panic!("--help is not a run"),
        }
    }

    #[test]
    fn command_line_errors_are_one_line() {
        assert!(
            parse_cli("x", &["--bogus".into()])
                .unwrap_err()
                .to_string()
                .contains("--bogus")
        );
        assert!(parse_cli("x", &["--config".into()]).is_err());
        assert_eq!(
            parse_cli("x", &["--shard".into(), "1/3".into()]).unwrap().shard,
            Some(Shard { index: 1, count: 3 })
        );
        assert!(
            parse_cli("x", &["--shard".into(), "3/3".into()])
                .unwrap_err()
                .to_string()
                .contains("0 <= k < N")
        );
        assert!(parse_cli("x", &["--shard".into(), "0/2".into(), "--merge".into()]).is_err());
        assert_eq!(
            parse_cli("x", &["--blas-kernel".into(), "fastest".into()])
                .unwrap()
                .blas_kernel,
            Some(KernelPolicy::Fastest)
        );
        let e = parse_cli("x", &["--blas-kernel".into(), "turbo".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("turbo") && !e.contains('\n'), "{e}");
        // --help is a request, not an error; a non-sweep lists no --shard/--merge.
        assert!(matches!(parse_args("x", true, &["--help".into()]), Ok(Parsed::Help)));
        assert!(usage("x", true).contains("--shard"));
        assert!(!usage("x", false).contains("--shard") && !usage("x", false).contains("--merge"));
        // A flag twice is refused (the last no longer wins); an empty path too.
        let twice = |a: &[&str]| parse_cli("x", &a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let e = twice(&["--config", "a.toml", "--config", "b.toml"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--config given twice") && e.contains("a.toml") && e.contains("b.toml"),
            "{e}"
        );
        assert!(twice(&["--shard", "0/2", "--shard", "1/2"]).is_err());
        assert!(twice(&["--out", "r", "--figures", "f", "--out", "r"]).is_err());
        assert!(twice(&["--merge", "--merge"]).is_err());
        assert!(twice(&["--blas-kernel", "portable", "--blas-kernel", "fastest"]).is_err());
        for flag in ["--out", "--figures", "--config"] {
            let e = twice(&[flag, ""]).unwrap_err().to_string();
            assert!(e.contains(flag) && e.contains("non-empty"), "{e}");
        }
        assert!(twice(&["--out", "r", "--figures", "f", "--config", "c.toml"]).is_ok());
        let e = parse_args("x", false, &["--shard".into(), "0/2".into()])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("does not support --shard"), "{e}");
    }
}
