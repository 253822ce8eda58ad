//! Config files: parsing (unknown keys rejected), path resolution,
//! validation and the memory check, all before anything runs.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::LabError;

/// Validation of a whole experiment config, before anything runs.
pub trait Validate {
    /// The first problem found, as one line naming the key and value.
    fn validate(&self) -> Result<(), LabError>;

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
    fn resolve_paths(&mut self, config_dir: &Path) -> Result<(), LabError> {
        let _ = config_dir;
        Ok(())
    }
}

/// Resolve the folder `value` of config key `key`: an absolute path is kept;
/// a relative one is looked up in `config_dir` and then in each folder above
/// it (so `data_dir = "data/mnist"` in `experiments/noisy-mnist/config.toml`
/// finds the workspace's `data/mnist` wherever the binary is run from). The
/// error names every path tried.
pub fn resolve_dir(config_dir: &Path, key: &str, value: &str) -> Result<String, LabError> {
    let rel = Path::new(value);
    if rel.is_absolute() {
        return Ok(value.to_string());
    }
    let base = std::path::absolute(config_dir).unwrap_or_else(|_| config_dir.to_path_buf());
    let tried: Vec<PathBuf> = base.ancestors().map(|a| a.join(rel)).collect();
    match tried.iter().find(|p| p.is_dir()) {
        Some(found) => Ok(found.display().to_string()),
        None => Err(LabError::DataDir {
            key: key.to_string(),
            value: value.to_string(),
            base,
            tried,
        }),
    }
}

/// Parse a TOML config, rejecting unknown keys; the error is one line with
/// the file, line and column.
pub fn load_config<C: DeserializeOwned + Validate>(path: &Path) -> Result<C, LabError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabError::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    parse_config(&text, path)
}

/// [`load_config`] on a config's text: `path` names it in errors, and its
/// folder is where relative paths are resolved from (a config that does not
/// come from a file, e.g. from Python, passes a made-up name in the folder
/// it should be read from).
pub fn parse_config<C: DeserializeOwned + Validate>(text: &str, path: &Path) -> Result<C, LabError> {
    let text = text.to_string();
    let mut cfg: C = toml::from_str(&text).map_err(|e| {
        let location = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                let col = s.start - text[..s.start].rfind('\n').map_or(0, |p| p + 1) + 1;
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        LabError::Toml {
            path: path.to_path_buf(),
            location,
            message: e.message().trim().replace('\n', " "),
        }
    })?;
    let in_config = |e: LabError| LabError::Config {
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

/// A config's `name` (the stem of its figures and, when not the default,
/// the prefix of its result files): non-empty, letters, digits, `_` and `-`.
///
/// ```
/// use gengap_lab::config::check_name;
/// assert!(check_name("label_noise_large").is_ok());
/// assert!(check_name("../x").is_err() && check_name("").is_err());
/// ```
pub fn check_name(name: &str) -> Result<(), LabError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(LabError::invalid(
            "name",
            format!("{name:?}"),
            "use letters, digits, '_' and '-'",
        ));
    }
    Ok(())
}

/// A float config value that must be finite and `> 0` (a step, a scale, a
/// loss target): the error names `key` and the value.
///
/// ```
/// use gengap_lab::config::check_positive;
/// assert!(check_positive("lr", 0.1).is_ok());
/// let e = check_positive("lr", f64::NAN).unwrap_err().to_string();
/// assert!(e.contains("`lr` = NaN") && e.contains("must be finite and > 0"), "{e}");
/// ```
pub fn check_positive(key: &str, value: f64) -> Result<(), LabError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(LabError::invalid(key, value, "must be finite and > 0"))
    }
}

/// The most cells a grid may have ([`check_grid`]): a journal line and a
/// result row each, and a grid this size already takes days.
pub const MAX_CELLS: u128 = 10_000_000;

/// Refuse a grid whose axes `(key, length)` multiply to more than `max`
/// cells, before anything is allocated for it (a count of 1e12 once aborted
/// the binary with a failed allocation): the error names the longest axis.
///
/// ```
/// use gengap_lab::config::{MAX_CELLS, check_grid};
/// assert!(check_grid(&[("n", 10), ("mu_count", 30), ("seeds", 5)], MAX_CELLS).is_ok());
/// let e = check_grid(&[("n", 10), ("mu_count", 1_000_000_000_000), ("seeds", 5)], MAX_CELLS)
///     .unwrap_err()
///     .to_string();
/// assert!(e.contains("`mu_count` = 1000000000000") && e.contains("cells"), "{e}");
/// ```
pub fn check_grid(axes: &[(&str, usize)], max: u128) -> Result<(), LabError> {
    let cells = axes.iter().fold(1u128, |a, &(_, len)| a.saturating_mul(len as u128));
    if cells <= max {
        return Ok(());
    }
    let (key, len) = axes.iter().max_by_key(|(_, len)| *len).copied().unwrap_or(("cells", 0));
    Err(LabError::invalid(
        key,
        len,
        format!("the grid would have {cells} cells, more than {max}"),
    ))
}

/// The result file `base` of a config named `name`: `base` itself for the
/// study's `default` name, `<name>_<base>` otherwise, so a second config
/// (a `large.toml`) writes beside the first instead of over it.
///
/// ```
/// use gengap_lab::config::named_file;
/// assert_eq!(named_file("xor", "xor", "means.csv"), "means.csv");
/// assert_eq!(named_file("xor_large", "xor", "means.csv"), "xor_large_means.csv");
/// ```
pub fn named_file(name: &str, default: &str, base: &str) -> String {
    if name == default {
        base.to_string()
    } else {
        format!("{name}_{base}")
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
        fn validate(&self) -> Result<(), LabError> {
            if self.n == 0 {
                return Err(LabError::invalid("n", 0, "must be >= 1"));
            }
            if self.lr.is_nan() || self.lr <= 0.0 {
                return Err(LabError::invalid("lr", self.lr, "must be > 0"));
            }
            Ok(())
        }
    }

    fn load(text: &str) -> Result<Toy, LabError> {
        let p = std::env::temp_dir().join(format!("gengap-cfg-{}-{}.toml", std::process::id(), text.len()));
        std::fs::write(&p, text).unwrap();
        let r = load_config::<Toy>(&p);
        std::fs::remove_file(p).unwrap();
        r
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
    }
}
