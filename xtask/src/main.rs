//! `cargo xtask` — the two commands a new user runs, plus helpers.
//!
//! * `cargo xtask figures [--quick] [--only NAME]` — install the system
//!   packages if needed, build in release mode, run every experiment under
//!   `experiments/` with its `config.toml` (or `quick.toml`), and regenerate
//!   `docs/figures/`.
//! * `cargo xtask test` — install the system packages if needed, then run
//!   `cargo fmt --check`, `cargo clippy -D warnings`, `cargo test`,
//!   `cargo doc` with warnings denied, and a smoke run of every experiment
//!   on its `quick.toml`.
//! * `cargo xtask bench` — the step benchmark (`docs/performance.md`).
//! * `cargo xtask setup` — only the system-package check.
//!
//! xtask depends on nothing but `std`, so it builds before any C library is
//! present; it is what installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

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
        _ => {
            eprintln!("usage: cargo xtask <figures [--quick] [--only NAME] | test | bench | setup>");
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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<(), String> {
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

fn missing_packages() -> Result<Vec<&'static str>, String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Status}\n"])
        .args(PACKAGES)
        .output();
    let out = match out {
        Ok(o) => o,
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
    Ok(PACKAGES
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
fn ensure_system_packages() -> Result<(), String> {
    let missing = missing_packages()?;
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
    let still = missing_packages()?;
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

fn test() -> Result<(), String> {
    ensure_system_packages()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().args(["test", "--workspace"]))?;
    run(cargo()
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    let out = std::env::temp_dir().join(format!("gengap-smoke-{}", std::process::id()));
    for name in experiments() {
        let cfg = format!("experiments/{name}/quick.toml");
        run(cargo()
            .args(["run", "--quiet", "-p", &name, "--", "--config", &cfg, "--out"])
            .arg(&out)
            .arg("--figures")
            .arg(out.join("figures")))?;
    }
    let _ = std::fs::remove_dir_all(&out);
    eprintln!("xtask: all checks passed");
    Ok(())
}

fn figures(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    if let Some(bad) = args
        .iter()
        .find(|a| a.starts_with("--") && *a != "--quick" && *a != "--only")
    {
        return Err(format!("unknown option {bad}"));
    }
    ensure_system_packages()?;
    let names: Vec<String> = experiments()
        .into_iter()
        .filter(|n| only.as_ref().is_none_or(|o| o == n))
        .collect();
    if names.is_empty() {
        return Err("no experiments to run".into());
    }
    let mut build = cargo();
    build.args(["build", "--release"]);
    for n in &names {
        build.args(["-p", n]);
    }
    run(&mut build)?;
    let file = if quick { "quick.toml" } else { "config.toml" };
    for name in &names {
        let start = std::time::Instant::now();
        let cfg = format!("experiments/{name}/{file}");
        run(Command::new(root().join("target/release").join(name)).args([
            "--config",
            &cfg,
            "--out",
            "results",
            "--figures",
            "docs/figures",
        ]))?;
        eprintln!("xtask: {name} finished in {:.1} s", start.elapsed().as_secs_f64());
    }
    Ok(())
}

fn bench(args: &[String]) -> Result<(), String> {
    ensure_system_packages()?;
    run(cargo()
        .args(["run", "--release", "-p", "gengap-train", "--bin", "step-bench", "--"])
        .args(args))
}
