//! `cargo xtask corpus` (part of `cargo xtask test`): the bad-input corpus.
//!
//! For every experiment binary (the folders under `experiments/`, the one
//! list `test` and `figures` use, so a new experiment joins by existing),
//! the corpus is generated from the experiment's own `quick.toml`:
//!
//! * **every leaf** of the config gets a value of the wrong type (a string
//!   for a number, a bool or an array; a number for a string);
//! * **every float**, alone or inside an array, is set to `nan`, then `inf`;
//! * **every integer** is set to `-1` (all are unsigned), and every one
//!   except the base `seed` to `10^12`, the absurd cell, sample and step
//!   counts;
//! * **every table** gets an unknown key;
//! * **whole files**: empty, not TOML, a folder, missing;
//! * **command lines**: a flag twice, a flag without its value, an unknown
//!   flag, `--out ""`, an unknown `--blas-kernel`, `--figures` or `--out`
//!   naming a file, and for a grid sweep a bad `--shard` and `--merge` with
//!   no shard journals.
//!
//! And every committed config (`experiments/<name>/*.toml`) must pass
//! `--check`: exit 0, nothing written.
//!
//! The contract asserted for each case: exit status 1, exactly one line on
//! stderr (a config's own `warning:` lines aside), naming the key or flag and
//! the value, no panic, and nothing created under `--out` or `--figures`.
//! A case still running after [`TIMEOUT`] is killed and counted as failed
//! (a count that passed validation and started the work).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use toml::{Table, Value};

/// How long a bad input may take to be refused.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The absurd count every integer is set to.
const ABSURD: i64 = 1_000_000_000_000;

/// Integer keys for which `10^12` is a valid value, and why.
const NOT_COUNTS: &[(&str, &str)] = &[("seed", "the base seed: any u64 is a seed")];

/// One bad input.
struct Case {
    experiment: String,
    /// What was broken, for the report.
    label: String,
    /// The config file's text (`None`: `args` names the config itself).
    config: Option<String>,
    /// Arguments after `--config <file> --out <dir> --figures <dir>` (or
    /// instead of them, when `replace_args`).
    args: Vec<String>,
    replace_args: bool,
    /// Substrings the one error line must contain (ASCII case ignored).
    names: Vec<String>,
    /// Make `figures` (or `results`) a plain file before the run.
    file_at: Option<&'static str>,
}

/// A leaf's dotted path.
fn dotted(path: &[String]) -> String {
    path.join(".")
}

/// Every (path, value) leaf of a table; arrays of tables are entered by index.
fn leaves(t: &Table, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
    for (k, v) in t {
        prefix.push(k.clone());
        match v {
            Value::Table(inner) => leaves(inner, prefix, out),
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_table) => {
                for (i, e) in a.iter().enumerate() {
                    prefix.push(i.to_string());
                    leaves(e.as_table().expect("table"), prefix, out);
                    prefix.pop();
                }
            }
            _ => out.push((prefix.clone(), v.clone())),
        }
        prefix.pop();
    }
}

/// Every table's path (the root is `[]`).
fn tables(t: &Table, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for (k, v) in t {
        prefix.push(k.clone());
        match v {
            Value::Table(inner) => tables(inner, prefix, out),
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_table) => {
                for (i, e) in a.iter().enumerate() {
                    prefix.push(i.to_string());
                    tables(e.as_table().expect("table"), prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
        prefix.pop();
    }
}

/// The value at `path` (a table key or an array index at each step).
fn slot<'a>(t: &'a mut Table, path: &[String]) -> &'a mut Value {
    let (first, rest) = path.split_first().expect("non-empty path");
    let mut v = t.get_mut(first).expect("path exists");
    for p in rest {
        v = match v {
            Value::Table(t) => t.get_mut(p).expect("path exists"),
            Value::Array(a) => &mut a[p.parse::<usize>().expect("index")],
            _ => unreachable!("a leaf has no children"),
        };
    }
    v
}

/// The table at `path`.
fn table_at<'a>(t: &'a mut Table, path: &[String]) -> &'a mut Table {
    if path.is_empty() {
        return t;
    }
    slot(t, path).as_table_mut().expect("a table")
}

fn with(base: &Table, path: &[String], value: Value) -> String {
    let mut t = base.clone();
    *slot(&mut t, path) = value;
    toml::to_string(&t).expect("a table serializes")
}

/// The leaf name an error must cite: the last key that is not an index.
fn key_name(path: &[String]) -> String {
    path.iter()
        .rev()
        .find(|p| p.parse::<usize>().is_err())
        .cloned()
        .unwrap_or_default()
}

/// The path of the leaf `v` at `path` if it is a scalar of the kind `is`,
/// or of the first such element when it is an array; none otherwise.
fn scalar_at(path: &[String], v: &Value, is: fn(&Value) -> bool) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => a.iter().position(is).map(|i| {
            let mut p = path.to_vec();
            p.push(i.to_string());
            p
        }),
        _ if is(v) => Some(path.to_vec()),
        _ => None,
    }
}

/// The corpus of one experiment.
fn cases_for(experiment: &str, quick: &str, sweeps: bool) -> Vec<Case> {
    let base: Table = toml::from_str(quick).unwrap_or_else(|e| panic!("{experiment}/quick.toml: {e}"));
    let mut cases = vec![];
    let mut case = |label: String, config: Option<String>, args: &[&str], names: &[&str]| {
        cases.push(Case {
            experiment: experiment.to_string(),
            label,
            config,
            args: args.iter().map(|s| s.to_string()).collect(),
            replace_args: false,
            names: names.iter().map(|s| s.to_string()).collect(),
            file_at: None,
        });
    };
    let mut all = vec![];
    leaves(&base, &mut vec![], &mut all);
    for (path, v) in &all {
        let key = key_name(path);
        let at = dotted(path);
        // The wrong type.
        let (wrong, shown) = match v {
            Value::String(_) => (Value::Integer(7), "7"),
            _ => (Value::String("oops".into()), "oops"),
        };
        case(
            format!("{at} = {shown} (wrong type)"),
            Some(with(&base, path, wrong)),
            &[],
            &[&key, shown],
        );
        // Non-finite floats, alone or as an array's element.
        let floats = scalar_at(path, v, Value::is_float);
        if let Some(p) = floats {
            for (x, shown) in [(f64::NAN, "nan"), (f64::INFINITY, "inf")] {
                case(
                    format!("{} = {shown}", dotted(&p)),
                    Some(with(&base, &p, Value::Float(x))),
                    &[],
                    &[&key, shown],
                );
            }
        }
        // Integers: every one here is unsigned (sizes, counts, seeds,
        // indices), and all but the seeds are counts.
        let ints = scalar_at(path, v, Value::is_integer);
        if let Some(p) = &ints {
            case(
                format!("{} = -1", dotted(p)),
                Some(with(&base, p, Value::Integer(-1))),
                &[],
                &[&key, "-1"],
            );
        }
        if let Some(p) = ints
            && !NOT_COUNTS.iter().any(|(k, _)| *k == key)
        {
            let shown = ABSURD.to_string();
            case(
                format!("{} = {shown}", dotted(&p)),
                Some(with(&base, &p, Value::Integer(ABSURD))),
                &[],
                &[&key, &shown],
            );
        }
    }
    let mut ts = vec![];
    tables(&base, &mut vec![], &mut ts);
    for path in ts {
        let mut t = base.clone();
        table_at(&mut t, &path).insert("zz_unknown".into(), Value::Integer(1));
        let at = if path.is_empty() {
            "the top level".to_string()
        } else {
            format!("[{}]", dotted(&path))
        };
        case(
            format!("unknown key in {at}"),
            Some(toml::to_string(&t).expect("serializes")),
            &[],
            &["zz_unknown"],
        );
    }
    // Whole files.
    case("an empty config".into(), Some(String::new()), &[], &["config"]);
    case(
        "a config that is not TOML".into(),
        Some("\u{1}\u{7f}[[x\n= =\n".into()),
        &[],
        &["config"],
    );
    // Command lines (the config itself is good).
    let good = Some(quick.to_string());
    case(
        "--config twice".into(),
        good.clone(),
        &["--config", "again.toml"],
        &["--config", "again.toml"],
    );
    case("--bogus".into(), good.clone(), &["--bogus"], &["--bogus"]);
    case(
        "--figures without a value".into(),
        good.clone(),
        &["--figures"],
        &["--figures"],
    );
    case(
        "--blas-kernel bogus".into(),
        good.clone(),
        &["--blas-kernel", "bogus"],
        &["--blas-kernel", "bogus"],
    );
    if sweeps {
        case(
            "--shard 3/3".into(),
            good.clone(),
            &["--shard", "3/3"],
            &["--shard", "3/3"],
        );
        case("--shard x".into(), good.clone(), &["--shard", "x"], &["--shard", "x"]);
        case(
            "--shard twice".into(),
            good.clone(),
            &["--shard", "0/2", "--shard", "1/2"],
            &["--shard", "1/2"],
        );
        case("--merge without shards".into(), good.clone(), &["--merge"], &["shard"]);
    }
    let mut special = |label: &str, args: &[&str], replace: bool, names: &[&str], file_at: Option<&'static str>| {
        cases.push(Case {
            experiment: experiment.to_string(),
            label: label.into(),
            config: good.clone(),
            args: args.iter().map(|s| s.to_string()).collect(),
            replace_args: replace,
            names: names.iter().map(|s| s.to_string()).collect(),
            file_at,
        });
    };
    special(
        "--out \"\"",
        &["--config", "@config", "--out", "", "--figures", "@figures"],
        true,
        &["--out"],
        None,
    );
    special(
        "--config a folder",
        &["--config", "@dir", "--out", "@results", "--figures", "@figures"],
        true,
        &["config"],
        None,
    );
    special(
        "--config missing",
        &[
            "--config",
            "@dir/missing.toml",
            "--out",
            "@results",
            "--figures",
            "@figures",
        ],
        true,
        &["missing.toml"],
        None,
    );
    special("--figures is a file", &[], false, &["figures"], Some("figures"));
    special("--out is a file", &[], false, &["results"], Some("results"));
    cases
}

/// The outcome of one case: `None` when the contract holds, else why not.
fn check(bin: &Path, case: &Case, dir: &Path) -> Option<String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("scratch folder");
    let cfg = dir.join("config.toml");
    if let Some(text) = &case.config {
        std::fs::write(&cfg, text).expect("write config");
    }
    let results = dir.join("results");
    let figures = dir.join("figures");
    if let Some(f) = case.file_at {
        std::fs::write(dir.join(f), "a file, not a folder").expect("write");
    }
    let subst = |a: &str| -> String {
        match a {
            "@config" => cfg.display().to_string(),
            "@dir" => dir.display().to_string(),
            "@results" => results.display().to_string(),
            "@figures" => figures.display().to_string(),
            _ if a.starts_with("@dir/") => dir.join(&a[5..]).display().to_string(),
            _ => a.to_string(),
        }
    };
    let mut cmd = Command::new(bin);
    if !case.replace_args {
        cmd.arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&results)
            .arg("--figures")
            .arg(&figures);
    }
    cmd.args(case.args.iter().map(|a| subst(a)))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // Its own process group: a binary that re-executes itself (the BLAS
    // kernel choice) is killed with its child on a time-out.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("start the binary");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > TIMEOUT {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(format!("-{}", child.id()))
                .status();
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let Some(status) = status else {
        return Some(format!(
            "still running after {} s: the bad input was not refused",
            TIMEOUT.as_secs()
        ));
    };
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains(": warning: ") && !l.contains("removed a stale"))
        .collect();
    let mut why = vec![];
    if status.code() != Some(1) {
        why.push(format!("exit {status}"));
    }
    if err.contains("panicked") {
        why.push("a panic".into());
    }
    if lines.len() != 1 {
        why.push(format!("{} lines on stderr", lines.len()));
    }
    let lower = err.to_ascii_lowercase();
    for n in &case.names {
        if !lower.contains(&n.to_ascii_lowercase()) {
            why.push(format!("does not name {n:?}"));
        }
    }
    let mut written = vec![];
    for (name, p) in [("results", &results), ("figures", &figures)] {
        if case.file_at == Some(name) {
            if !p.is_file() {
                written.push(format!("{name} (the file was replaced)"));
            }
        } else if p.exists() {
            written.push(p.display().to_string());
        }
    }
    // Anything else that appeared in the scratch folder (e.g. `--out ""`
    // writing into `./<name>/`).
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if !["config.toml", "results", "figures"].contains(&n.as_str()) {
            written.push(n);
        }
    }
    if !written.is_empty() {
        why.push(format!("wrote {}", written.join(", ")));
    }
    if why.is_empty() {
        None
    } else {
        let first = lines.first().copied().unwrap_or("");
        Some(format!(
            "{}; stderr: {}",
            why.join(", "),
            first.chars().take(300).collect::<String>()
        ))
    }
}

/// Whether a binary takes `--shard`/`--merge` (its `--help` lists them).
fn is_sweep(bin: &Path) -> Result<bool, String> {
    let out = Command::new(bin)
        .arg("--help")
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).contains("--shard"))
}

/// Run the corpus against the binaries in `bin_dir` for `experiments`.
/// Prints one line per failing case and a closing count; `Err` when any fails.
pub fn run(bin_dir: &Path, experiments: &[String], only: Option<&str>) -> Result<(), String> {
    let mut cases = vec![];
    let mut bins = std::collections::BTreeMap::new();
    for name in experiments.iter().filter(|n| only.is_none_or(|o| o == n.as_str())) {
        let bin = bin_dir.join(name);
        if !bin.is_file() {
            return Err(format!(
                "corpus: no binary {} (build the workspace first)",
                bin.display()
            ));
        }
        let quick = crate::root().join("experiments").join(name).join("quick.toml");
        let text = std::fs::read_to_string(&quick).map_err(|e| format!("{}: {e}", quick.display()))?;
        cases.extend(cases_for(name, &text, is_sweep(&bin)?));
        bins.insert(name.clone(), bin);
    }
    // Inside the repository: a relative folder in a config (`data_dir =
    // "data/mnist"`, also a default) is looked up from the config's folder
    // upward, and finds the repository's as the quick runs do.
    let scratch = crate::root()
        .join("target")
        .join(format!("corpus-{}", std::process::id()));
    let start = Instant::now();
    let next = Mutex::new(0usize);
    let failures = Mutex::new(vec![]);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    std::thread::scope(|s| {
        for w in 0..workers {
            let (cases, bins, next, failures, scratch) = (&cases, &bins, &next, &failures, &scratch);
            s.spawn(move || {
                let dir: PathBuf = scratch.join(format!("w{w}"));
                loop {
                    let i = {
                        let mut n = next.lock().expect("lock");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(case) = cases.get(i) else { break };
                    if let Some(why) = check(&bins[&case.experiment], case, &dir) {
                        failures
                            .lock()
                            .expect("lock")
                            .push(format!("{}: {}: {why}", case.experiment, case.label));
                    }
                }
            });
        }
    });
    // The other side of the contract: every committed config of every
    // experiment is accepted by `--check` (exit 0, nothing written), so a
    // bound made too tight fails here, not in `cargo xtask figures`.
    let mut good = 0;
    for (name, bin) in &bins {
        let dir = crate::root().join("experiments").join(name);
        let mut tomls: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.file_name().is_some_and(|n| n != "Cargo.toml"))
            .collect();
        tomls.sort();
        for cfg in tomls {
            let out = scratch.join("check");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            let run = Command::new(bin)
                .arg("--check")
                .arg("--config")
                .arg(&cfg)
                .arg("--out")
                .arg(out.join("results"))
                .arg("--figures")
                .arg(out.join("figures"))
                .current_dir(&out)
                .output()
                .map_err(|e| format!("{}: {e}", bin.display()))?;
            let written = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
            if !run.status.success() || written > 0 {
                failures.lock().expect("lock").push(format!(
                    "{name}: the committed {} is refused by --check ({}, {written} files written): {}",
                    cfg.display(),
                    run.status,
                    String::from_utf8_lossy(&run.stderr).trim()
                ));
            }
            good += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut failures = failures.into_inner().expect("lock");
    failures.sort();
    for f in &failures {
        eprintln!("corpus: FAILED {f}");
    }
    eprintln!(
        "corpus: {} bad inputs and {good} committed configs against {} binaries in {:.1} s (exceptions: {})",
        cases.len(),
        bins.len(),
        start.elapsed().as_secs_f64(),
        NOT_COUNTS
            .iter()
            .map(|(k, why)| format!("{k}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "corpus: {} passed, {} failed",
        cases.len() + good - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} bad inputs broke the contract", failures.len()))
    }
}
