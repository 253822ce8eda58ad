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
