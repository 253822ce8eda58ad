//! Embed the git commit the binaries are built from (with `-dirty` when
//! tracked files differ from it), so that a result file names the code that
//! made it, wherever the binary is run from. Outside a git checkout (a
//! source tarball, a registry download) the commit is `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest
        .parent()
        .and_then(Path::parent)
        .expect("crates/lab lives two levels below the workspace root")
        .to_path_buf();
    let commit = git(&root, &["rev-parse", "HEAD"]);
    let dirty = git(&root, &["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let value = match commit {
        Some(c) if dirty => format!("{c}-dirty"),
        Some(c) => c,
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=GENGAP_BUILD_COMMIT={value}");
    // Rebuild when the commit or the tracked sources change.
    if let Some(dir) = git(&root, &["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        for f in ["HEAD", "index", "packed-refs", "refs/heads"] {
            println!("cargo:rerun-if-changed={}", dir.join(f).display());
        }
    }
    for p in ["crates", "experiments", "xtask", "scripts", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
}
