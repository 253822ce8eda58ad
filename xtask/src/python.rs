//! `cargo xtask python` and the Python part of `cargo xtask test`: a
//! virtualenv `target/py-venv` with maturin (from the Python package index),
//! NumPy, pytest and mypy, the `gengap` package built into it from
//! `python/`, then the pytest suite, the type checks (stubtest, `mypy
//! --strict`), the example and the notebooks (executed headless by nbclient).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{ensure_apt, root, run};

/// The maturin release line the package is built with (`python/pyproject.toml`).
const MATURIN: &str = "maturin>=1.16,<1.17";

/// The virtualenv's folder.
pub fn venv() -> PathBuf {
    root().join("target/py-venv")
}

/// Make `target/py-venv` (Debian's `python3-venv`, installed if missing) with
/// maturin, NumPy and pytest, and build the package into it: `release` as
/// `pip install ./python` does, else in the dev profile, which reuses the
/// workspace's debug build. Returns the interpreter.
pub fn install(release: bool) -> Result<PathBuf, String> {
    let venv = venv();
    let python = venv.join("bin/python");
    if !python.is_file() {
        ensure_apt(&["python3-venv", "python3-dev"])?;
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python).args(["-m", "pip", "install", "--quiet", MATURIN, "numpy", "pytest", "mypy"]))?;
    let mut develop = in_venv(&venv, Command::new(venv.join("bin/maturin")));
    develop.args(["develop", "--quiet", "-m", "python/Cargo.toml"]);
    if release {
        develop.arg("--release");
    }
    run(develop.current_dir(root()))?;
    Ok(python)
}

/// `cmd` as if the virtualenv were activated.
fn in_venv(venv: &Path, mut cmd: Command) -> Command {
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("VIRTUAL_ENV", venv)
        .env("PATH", format!("{}:{path}", venv.join("bin").display()));
    cmd
}

/// `cargo xtask python`: install the package (release build) and say how to use it.
pub fn python() -> Result<(), String> {
    crate::ensure_system_packages()?;
    install(true)?;
    println!(
        "xtask: gengap is installed in {}; run `source {}/bin/activate`, then `python -c 'import gengap'`",
        venv().display(),
        venv().display()
    );
    Ok(())
}

/// The pytest suite (against the experiment binaries in `bin_dir`) and the
/// example, with the package built in the dev profile.
pub fn test(bin_dir: &Path) -> Result<(), String> {
    let python = install(false)?;
    let venv = venv();
    run(in_venv(&venv, Command::new(&python))
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python/tests",
            // The examples of the docstrings and of docs/python.md.
            "--doctest-modules",
            "python/gengap",
            "--doctest-glob=python.md",
            "docs/python.md",
        ])
        .env("GENGAP_BIN_DIR", bin_dir)
        .current_dir(root()))?;
    // The types: the stubs of the native module match it (stubtest reads
    // the runtime signatures), and the package and the examples pass
    // `mypy --strict` against them.
    run(in_venv(&venv, Command::new(&python))
        .args(["-m", "mypy.stubtest", "gengap._native"])
        .current_dir(root()))?;
    run(in_venv(&venv, Command::new(&python))
        .args(["-m", "mypy", "--strict", "--no-incremental", "-p", "gengap"])
        .current_dir(root()))?;
    run(in_venv(&venv, Command::new(&python))
        .args(["-m", "mypy", "--strict", "--no-incremental", "python/examples"])
        .current_dir(root()))?;
    run(in_venv(&venv, Command::new(&python))
        .arg("python/examples/adam_vs_gd.py")
        .current_dir(root()))?;
    notebooks(&python, &venv)
}

/// The notebooks of `python/examples/`, committed without outputs (checked),
/// executed headless by nbclient; a cell that raises fails the test.
fn notebooks(python: &Path, venv: &Path) -> Result<(), String> {
    run(Command::new(python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "nbclient",
        "nbformat",
        "ipykernel",
        "matplotlib",
    ]))?;
    let script = r#"
import pathlib, sys
import nbclient, nbformat
books = sorted(pathlib.Path("python/examples").glob("*.ipynb"))
assert books, "no notebooks in python/examples"
for path in books:
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    if dirty:
        sys.exit(f"{path}: cells {dirty} carry outputs; strip them before committing (jupyter nbconvert --clear-output --inplace)")
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
    print(f"xtask: {path} ran headless", flush=True)
"#;
    run(in_venv(venv, Command::new(python))
        .args(["-c", script])
        .current_dir(root()))
}
