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
    /// `--blas-kernel portable|fastest|openblas`: which OpenBLAS kernel to
    /// run (`gengap_model::KernelPolicy`); default: `GENGAP_BLAS_KERNEL`, else
    /// `portable`.
    pub blas_kernel: Option<KernelPolicy>,
}

/// The usage line of an experiment binary; `sweeps`: it takes `--shard`/`--merge`.
pub(crate) fn usage(name: &str, sweeps: bool) -> String {
    let grid = if sweeps { " [--shard k/N | --merge]" } else { "" };
    format!(
        "usage: {name} [--config FILE] [--out DIR] [--figures DIR]{grid} [--blas-kernel portable|fastest|openblas] [--help]"
    )
}

/// What the command line asks for: a run, or the usage text.
pub(crate) enum Parsed {
    Run(Cli),
    Help,
}

pub(crate) fn parse_args(name: &str, sweeps: bool, args: &[String]) -> Result<Parsed, CliError> {
    let mut cli = Cli {
        config: PathBuf::from(format!("experiments/{name}/config.toml")),
        out: PathBuf::from("results"),
        figures: PathBuf::from("docs/figures"),
        shard: None,
        merge: false,
        blas_kernel: None,
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
        let e = parse_args("x", false, &["--shard".into(), "0/2".into()])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("does not support --shard"), "{e}");
    }
}
