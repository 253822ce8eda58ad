//! Result files: atomic writes and provenance.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Write `bytes` to `path` atomically: a temporary file in the same folder,
/// fsync, then rename. A crash leaves either the old file or the new one,
/// never a half-written one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Check that `dir` can hold result files: create it if missing, then create
/// and remove a probe file in it. Run before any work, so an unwritable
/// output location is refused up front instead of after the results exist.
pub fn probe_writable(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".gengap-probe.{}.tmp", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// Remove the temporary files that [`atomic_write`] and [`probe_writable`]
/// of a process that no longer runs left in `dir` (a kill between the
/// temporary write and the rename): `.<name>.<pid>.tmp` whose `<pid>` is
/// not a running process. A running process's files are kept, since it may
/// still rename them; where liveness cannot be read (no `/proc`), nothing is
/// removed. Returns the removed paths, sorted. The runner calls it on the
/// results folder before anything is written there.
pub fn remove_stale_temps(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let proc = Path::new("/proc");
    if !proc.is_dir() || !dir.is_dir() {
        return Ok(vec![]);
    }
    let mut removed = vec![];
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
            continue;
        };
        let Some(pid) = stem.rsplit('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if path.is_file() && pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            std::fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

/// Serialize `value` as pretty JSON and write it atomically.
pub fn write_json<V: Serialize>(path: &Path, value: &V) -> std::io::Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    s.push('\n');
    atomic_write(path, s.as_bytes())
}

/// Where a result came from: the code (version and the git commit the
/// binary was built from) and the binary that ran.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The workspace version (every gengap crate and experiment binary
    /// shares it: `version.workspace = true`).
    pub version: String,
    /// The git commit the binary was built from, embedded at build time by
    /// `crates/train/build.rs`; `-dirty` when tracked files differed from it;
    /// `unknown` when built outside a git checkout. Not the commit of the
    /// directory the binary runs in.
    pub git_commit: String,
    /// Whether the build had uncommitted changes (also the `-dirty` suffix).
    pub dirty: bool,
    /// The path of the running executable.
    pub binary: String,
    /// The BLAS library, version, kernel and thread count: the last bits of
    /// every GEMM depend on the kernel and the threads
    /// (`docs/reproducibility.md`). [`crate::Ctx::write_record`] queries it
    /// again when it writes, after the cells have run.
    pub blas: gengap_model::BlasInfo,
}

impl Provenance {
    /// The version, the build-time commit and the running executable.
    pub fn current() -> Self {
        let commit = env!("GENGAP_BUILD_COMMIT");
        Provenance {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: commit.to_string(),
            dirty: commit.ends_with("-dirty"),
            binary: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "unknown".into()),
            blas: gengap_model::BlasInfo::current(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_removed() {
        let dir = std::env::temp_dir().join(format!("gengap-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let own = std::process::id();
        let names = [
            format!(".main_cells.csv.{dead}.tmp"),
            format!(".record.json.{dead}.tmp"),
            format!(".record.json.{own}.tmp"),
            ".notes.tmp".to_string(),
            "cells.csv".to_string(),
            format!("runs.{dead}.tmp"),
        ];
        for n in &names {
            std::fs::write(dir.join(n), "x").unwrap();
        }
        let removed = remove_stale_temps(&dir).unwrap();
        assert_eq!(removed, vec![dir.join(&names[0]), dir.join(&names[1])]);
        for n in &names[2..] {
            assert!(dir.join(n).exists(), "{n} is kept");
        }
        assert!(remove_stale_temps(&dir.join("missing")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("gengap-io-{}", std::process::id()));
        let p = dir.join("a.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
