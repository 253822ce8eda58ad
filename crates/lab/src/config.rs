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
    // The key path of a type or value error (`tasks.z23.data.d`), which the
    // TOML parser's own message does not give.
    let located = |e: toml::de::Error, key: Option<(String, Option<String>)>| {
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
            key: key.map(|(key, value)| Box::new(crate::error::TomlKey { key, value })),
            message: e.message().trim().replace('\n', " "),
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| located(e, None))?;
    let mut cfg: C = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let key = (!key.is_empty() && key != ".").then_some(key);
        let e = e.into_inner();
        let key = key.map(|k| key_with_value(text, &k, e.message()));
        located(e, key)
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

/// The key an error at `path` (as `serde_path_to_error` prints it:
/// `a.b[0].c`) is about, and its value as written (one line, at most 80
/// characters).
///
/// Two refinements, since serde loses the path inside an internally tagged
/// enum (an optimizer or data table, read whole before its `kind` is known):
/// when `path` names a table and the message is serde's `invalid type:
/// <what> <value>`, the one leaf of that table holding that value is named
/// instead; and the value is printed (one line) so that messages which do
/// not quote it (`wanted string or table`) still show what was written.
fn key_with_value(text: &str, path: &str, message: &str) -> (String, Option<String>) {
    let Ok(root) = text.parse::<toml::Table>() else {
        return (path.to_string(), None);
    };
    // `a.b[0].c` → ["a", "b", "0", "c"].
    let parts: Vec<String> = path
        .replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let mut at = toml::Value::Table(root);
    for p in &parts {
        let next = match &at {
            toml::Value::Table(t) => t.get(p).cloned(),
            toml::Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i).cloned()),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return (path.to_string(), None),
        }
    }
    let mut key = path.to_string();
    if let (toml::Value::Table(t), Some(wanted)) = (&at, unexpected_value(message)) {
        let hits: Vec<(&String, &toml::Value)> = t.iter().filter(|(_, v)| **v == wanted).collect();
        if let [(k, v)] = hits[..] {
            key = format!("{path}.{k}");
            at = v.clone();
        }
    }
    let shown = at.to_string().replace('\n', " ");
    let shown = if shown.chars().count() > 80 {
        format!("{}…", shown.chars().take(80).collect::<String>())
    } else {
        shown
    };
    (key, Some(shown))
}

/// The value in serde's `invalid type: string "oops", expected f64` (a
/// string, integer, float or boolean), as TOML.
fn unexpected_value(message: &str) -> Option<toml::Value> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let (what, value) = rest.split_once(' ')?;
    let value = value.split(", expected").next()?.trim();
    let inner = || value.trim_matches('`');
    match what {
        "string" => serde_json::from_str::<String>(value).ok().map(toml::Value::String),
        "integer" => inner().parse().ok().map(toml::Value::Integer),
        "floating" => value
            .strip_prefix("point ")
            .and_then(|v| v.trim_matches('`').parse().ok())
            .map(toml::Value::Float),
        "boolean" => inner().parse().ok().map(toml::Value::Boolean),
        _ => None,
    }
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

/// A step count (`max_steps`, `steps`, `epochs`): `1 ≤ value ≤`
/// [`gengap_train::MAX_STEPS`] (`10⁹`; the reason is stated there). A count
/// near `10¹⁴` used to pass and run until killed; it is refused here, naming
/// the key and the value.
///
/// ```
/// use gengap_lab::config::check_steps;
/// assert!(check_steps("max_steps", 20_000).is_ok());
/// let e = check_steps("max_steps", 100_000_000_000_000).unwrap_err().to_string();
/// assert!(e.contains("`max_steps` = 100000000000000"), "{e}");
/// assert!(check_steps("epochs", 0).is_err());
/// ```
pub fn check_steps(key: &str, value: u64) -> Result<(), LabError> {
    if (1..=gengap_train::MAX_STEPS).contains(&value) {
        Ok(())
    } else {
        Err(LabError::invalid(
            key,
            value,
            "must be in [1, 1e9] (gengap_train::MAX_STEPS: 1e9 steps are days at paper sizes)",
        ))
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
            ("n = \"oops\"\nlr = 0.1", "`n` = \"oops\": invalid type"),
        ] {
            let e = load(src).unwrap_err().to_string();
            assert!(e.contains(want), "{src:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    /// An internally tagged enum (an optimizer table) is read whole before
    /// its tag, so serde's path stops at the table: the leaf holding the
    /// rejected value is found and named. An externally tagged enum's
    /// message quotes no value: the value written is shown.
    #[test]
    fn errors_inside_tagged_enums_name_the_leaf_and_the_value() {
        #[allow(dead_code)]
        #[derive(Debug, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
        enum Opt {
            Adam { lr: f64, eps: f64 },
        }
        #[allow(dead_code)]
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Every {
            Every(u64),
            End,
        }
        #[allow(dead_code)]
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Cfg {
            opt: Opt,
            record: Every,
        }
        impl Validate for Cfg {
            fn validate(&self) -> Result<(), LabError> {
                Ok(())
            }
        }
        let parse = |t: &str| {
            parse_config::<Cfg>(t, Path::new("c.toml"))
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let ok = "record = \"end\"\n[opt]\nkind = \"adam\"\nlr = 0.1\neps = 1e-8\n";
        assert!(parse_config::<Cfg>(ok, Path::new("c.toml")).is_ok());
        let e = parse(&ok.replace("lr = 0.1", "lr = \"oops\""));
        assert!(
            e.contains("`opt.lr` = \"oops\": invalid type: string \"oops\", expected f64"),
            "{e}"
        );
        let e = parse(&ok.replace("eps = 1e-8", "eps = true"));
        assert!(e.contains("`opt.eps` = true: "), "{e}");
        let e = parse(&ok.replace("record = \"end\"", "record = 7"));
        assert!(e.contains("`record` = 7: "), "{e}");
        // Two leaves with the value: the table is named, not a guess.
        let e = parse(
            &ok.replace("lr = 0.1", "lr = \"x\"")
                .replace("eps = 1e-8", "eps = \"x\""),
        );
        assert!(e.contains("`opt` = "), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
