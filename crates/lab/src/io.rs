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

/// Whether files could be written under `dir` without creating it: `dir`
/// itself is probed when it exists, else its nearest existing ancestor,
/// which must be a folder. The runner checks the figures folder this way, so
/// a study that draws nothing leaves no empty folder behind; the folder is
/// made when the first figure is written.
pub fn probe_writable_lazily(dir: &Path) -> std::io::Result<()> {
    let existing = dir
        .ancestors()
        .map(|a| if a.as_os_str().is_empty() { Path::new(".") } else { a })
        .find(|a| a.exists())
        .unwrap_or(Path::new("."));
    if !existing.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a folder", existing.display()),
        ));
    }
    let probe = existing.join(format!(".gengap-probe.{}.tmp", std::process::id()));
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
    /// The crate the study lives in, when it is not gengap's own
    /// ([`crate::Study::package`]): its name, version and commit beside
    /// gengap's above. Absent for the studies of this workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<Package>,
}

/// A crate's identity for a result file: name, version, git commit and
/// whether its checkout had uncommitted changes. Made by [`crate::package!`]
/// in the crate it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Package {
    /// `CARGO_PKG_NAME`.
    pub name: String,
    /// `CARGO_PKG_VERSION`.
    pub version: String,
    /// The commit `HEAD` of the git checkout holding the crate's manifest,
    /// read when the study runs; `unknown` when the manifest's folder is not
    /// in a git checkout (or git is missing).
    pub git_commit: String,
    /// Whether tracked files of that checkout differ from the commit, read
    /// when the study runs (so an edit after the build also counts).
    pub dirty: bool,
}

impl Package {
    /// The package `name` `version` whose manifest is in `manifest_dir`
    /// (what [`crate::package!`] passes from `env!`), its commit read with
    /// `git` there.
    pub fn at(name: &str, version: &str, manifest_dir: &str) -> Self {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(manifest_dir)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = git(&["rev-parse", "HEAD"]);
        let dirty = commit.is_some()
            && git(&["status", "--porcelain", "--untracked-files=no", "."]).is_some_and(|s| !s.is_empty());
        Package {
            name: name.to_string(),
            version: version.to_string(),
            git_commit: commit.unwrap_or_else(|| "unknown".into()),
            dirty,
        }
    }
}

/// The [`Package`] of the crate this is written in: its name, version and
/// git commit, for [`crate::Study::package`].
///
/// ```
/// let p = gengap_lab::package!();
/// assert_eq!((p.name.as_str(), p.version.as_str()), ("gengap-lab", env!("CARGO_PKG_VERSION")));
/// ```
#[macro_export]
macro_rules! package {
    () => {
        $crate::Package::at(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_MANIFEST_DIR"),
        )
    };
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
            study: None,
        }
    }

    /// [`Provenance::current`] with the study's own crate.
    pub fn of_study(study: Option<Package>) -> Self {
        Provenance {
            study,
            ..Provenance::current()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_checked_without_being_made() {
        let dir = std::env::temp_dir().join(format!("gengap-lazy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let figures = dir.join("docs").join("figures");
        probe_writable_lazily(&figures).unwrap();
        assert!(!dir.join("docs").exists(), "nothing is created");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the probe is removed");
        std::fs::write(dir.join("docs"), "a file").unwrap();
        let e = probe_writable_lazily(&figures).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotADirectory, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
    fn a_study_crate_is_named_beside_gengap_and_gengap_studies_write_what_they_wrote() {
        let own = serde_json::to_value(Provenance::current()).unwrap();
        assert!(
            own.get("study").is_none(),
            "gengap's studies keep their record.json as it was"
        );
        let p = crate::package!();
        assert_eq!(p.name, "gengap-lab");
        // This crate is in the gengap checkout: the commit is a 40-digit hash.
        assert!(
            p.git_commit == "unknown" || p.git_commit.len() == 40,
            "{}",
            p.git_commit
        );
        let theirs = serde_json::to_value(Provenance::of_study(Some(p.clone()))).unwrap();
        assert_eq!(theirs["study"]["name"], "gengap-lab");
        assert_eq!(theirs["version"], own["version"]);
        let back: Provenance = serde_json::from_value(theirs).unwrap();
        assert_eq!(back.study, Some(p));
        // Outside any checkout: unknown, not dirty.
        let nowhere = Package::at("x", "1.0.0", "/");
        assert_eq!((nowhere.git_commit.as_str(), nowhere.dirty), ("unknown", false));
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
