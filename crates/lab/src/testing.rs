//! Helpers for the command-line tests of experiment binaries (feature
//! `testing`; enable it in an experiment's `[dev-dependencies]`). Not part of
//! the library API.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh empty folder under the system temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gengap-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The command running `bin` on the config text `toml` (written to
/// `dir/config.toml`) with `--out`/`--figures` inside `dir`, plus `extra` arguments.
pub fn command(bin: &str, dir: &Path, toml: &str, extra: &[&str]) -> Command {
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, toml).expect("write config");
    let mut c = Command::new(bin);
    c.arg("--config")
        .arg(&cfg)
        .arg("--out")
        .arg(dir.join("results"))
        .arg("--figures")
        .arg(dir.join("figures"))
        .args(extra);
    c
}

/// Run `bin` on the config text `toml` with `--out`/`--figures` inside `dir`.
/// Returns (success, stderr).
pub fn run(bin: &str, dir: &Path, toml: &str) -> (bool, String) {
    run_with(bin, dir, toml, &[])
}

/// As [`run`], with extra arguments.
pub fn run_with(bin: &str, dir: &Path, toml: &str, extra: &[&str]) -> (bool, String) {
    let out = command(bin, dir, toml, extra)
        .output()
        .expect("start the experiment binary");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every file and folder under `dir` except the config.
pub fn outputs(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, acc: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let path = e.path();
                if path.is_dir() {
                    // A folder counts: "nothing written" means no empty
                    // `results/<name>/` either.
                    acc.push(path.clone());
                    walk(&path, acc);
                } else if path.file_name().is_some_and(|n| n != "config.toml") {
                    acc.push(path);
                }
            }
        }
    }
    let mut acc = vec![];
    walk(dir, &mut acc);
    acc
}

/// Check `--shard`/`--merge` on the config text `good`: the CSV files
/// `csvs` (relative to `results/<tag>/`) of three shards merged equal those
/// of one unsharded run, byte for byte, and a shard writes no CSV.
pub fn check_shards(bin: &str, tag: &str, good: &str, csvs: &[&str]) {
    let run_in = |dir: &Path, extra: &[&str]| {
        let (ok, err) = run_with(bin, dir, good, extra);
        assert!(ok, "{extra:?}: {err}");
    };
    let one = scratch(&format!("{tag}-one"));
    run_in(&one, &[]);
    let sh = scratch(&format!("{tag}-shards"));
    for k in 0..3 {
        run_in(&sh, &["--shard", &format!("{k}/3")]);
        for c in csvs {
            assert!(!sh.join(format!("results/{tag}/{c}")).exists(), "a shard writes no {c}");
        }
    }
    run_in(&sh, &["--merge"]);
    for c in csvs {
        let (a, b) = (
            one.join(format!("results/{tag}/{c}")),
            sh.join(format!("results/{tag}/{c}")),
        );
        assert_eq!(
            std::fs::read(&a).expect("unsharded CSV"),
            std::fs::read(&b).expect("merged CSV"),
            "{c}: 3 shards merged differ from one run"
        );
    }
    // A merge with no shard journals is refused, and leaves nothing behind.
    let none = scratch(&format!("{tag}-merge-nothing"));
    let (ok, err) = run_with(bin, &none, good, &["--merge"]);
    assert!(!ok, "--merge without shard journals must fail");
    // (A config's own warnings, e.g. padam's p < 0, come before it.)
    assert_eq!(
        err.lines()
            .filter(|l| !l.trim().is_empty() && !l.contains(": warning: "))
            .count(),
        1,
        "one line of error: {err}"
    );
    assert!(outputs(&none).is_empty(), "nothing written: {:?}", outputs(&none));
    std::fs::remove_dir_all(none).ok();
    std::fs::remove_dir_all(one).ok();
    std::fs::remove_dir_all(sh).ok();
}

/// Check the command line itself: `--help` prints the usage on stdout
/// and exits 0 (listing `--shard`/`--merge` only for a grid sweep), and an
/// unwritable figures location (here a plain file) is refused with one
/// line before anything runs: no results are written.
pub fn check_help_and_outputs(bin: &str, tag: &str, good: &str, sweeps: bool) {
    let out = Command::new(bin).arg("--help").output().expect("run --help");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "--help exits 0: {out:?}");
    assert!(stdout.starts_with("usage: "), "{stdout}");
    assert!(out.stderr.is_empty(), "--help prints no error");
    assert_eq!(stdout.contains("--shard"), sweeps, "{stdout}");
    assert_eq!(stdout.contains("--merge"), sweeps, "{stdout}");
    let dir = scratch(&format!("{tag}-figures-file"));
    std::fs::write(dir.join("figures"), "a file, not a folder").expect("write");
    let (ok, err) = run(bin, &dir, good);
    assert!(!ok, "an unwritable figures location must fail");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line of error, got: {err}");
    assert!(lines[0].contains("cannot write figures to"), "{err}");
    assert!(
        !err.contains("Os {") && !err.contains("BackendError"),
        "a sentence, not Debug: {err}"
    );
    let written: Vec<PathBuf> = outputs(&dir)
        .into_iter()
        .filter(|p| p.file_name().is_none_or(|n| n != "figures"))
        .collect();
    assert!(written.is_empty(), "nothing written before the check: {written:?}");
    std::fs::remove_dir_all(dir).ok();
}

/// The pid of a process that has exited (a `true` run to its end).
pub fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("run `true`");
    let pid = child.id();
    child.wait().expect("wait for `true`");
    pid
}

/// Check that each `(bad config, expected substring)` fails with one
/// line on stderr naming the problem, and writes nothing; and that the
/// good config runs and writes `expect_files` (relative to `dir`).
pub fn check_cli(bin: &str, tag: &str, good: &str, bad: &[(String, &str)], expect_files: &[&str]) {
    for (k, (cfg, want)) in bad.iter().enumerate() {
        let dir = scratch(&format!("{tag}-bad{k}"));
        let (ok, err) = run(bin, &dir, cfg);
        assert!(!ok, "bad config {k} should fail:\n{cfg}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line of error, got: {err}");
        assert!(
            lines[0].contains("error") && lines[0].contains(want),
            "error should mention `{want}`: {err}"
        );
        assert!(!err.contains("panicked"), "no panic: {err}");
        assert!(
            outputs(&dir).is_empty(),
            "no files written for a bad config: {:?}",
            outputs(&dir)
        );
        std::fs::remove_dir_all(dir).ok();
    }
    let dir = scratch(&format!("{tag}-good"));
    // What a run killed between a temporary write and its rename leaves
    // behind: the next run removes it (checked with the other temporaries below).
    let stale = dir.join(format!("results/{tag}/.record.json.{}.tmp", dead_pid()));
    std::fs::create_dir_all(stale.parent().expect("a folder")).expect("results folder");
    std::fs::write(&stale, "half a record").expect("stale temporary");
    let (ok, err) = run(bin, &dir, good);
    assert!(ok, "the quick config should run: {err}");
    assert!(
        !stale.exists(),
        "a stale temporary file is removed: {}",
        stale.display()
    );
    for f in expect_files {
        let p = dir.join(f);
        assert!(p.is_file(), "missing output {}", p.display());
    }
    let record = std::fs::read_to_string(dir.join(format!("results/{tag}/record.json"))).expect("record.json");
    for key in [
        "\"provenance\"",
        "\"git_commit\"",
        "\"version\"",
        "\"seed\"",
        "\"config\"",
    ] {
        assert!(record.contains(key), "record.json lacks {key}");
    }
    assert!(
        !outputs(&dir).iter().any(|p| p.to_string_lossy().contains(".tmp")),
        "no temporary files left"
    );
    std::fs::remove_dir_all(dir).ok();
}

/// Every file under `dir` (recursively) with its bytes, keyed by the path
/// relative to `dir`; the journal folder left out when `skip_journal`.
fn snapshot(dir: &Path, skip_journal: bool) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    for p in outputs(dir) {
        let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
        if p.is_file()
            && rel != Path::new("config.toml")
            && !(skip_journal && rel.components().any(|c| c.as_os_str() == "journal"))
        {
            out.insert(rel, std::fs::read(&p).expect("read an output"));
        }
    }
    out
}

/// The report-stage fault test: with the sweep's journal complete, the
/// binary is killed (SIGKILL) at `points` moments spread over its report
/// stage (reading the journal, writing CSVs, `record.json` and figures),
/// each time after every result and figure file was deleted. After each
/// kill, every file present is whole (byte-identical to the reference run's:
/// atomic writes never leave half a file under its real name); a rerun then
/// restores every file byte for byte, and no temporary file is left
/// anywhere under `results/` or `figures/`.
pub fn check_report_faults(bin: &str, tag: &str, good: &str, points: usize) {
    let dir = scratch(&format!("{tag}-report-faults"));
    let (ok, err) = run(bin, &dir, good);
    assert!(ok, "{err}");
    // A rerun on the complete journal is the report stage alone: time it.
    let start = std::time::Instant::now();
    let (ok, err) = run(bin, &dir, good);
    let report = start.elapsed();
    assert!(ok, "{err}");
    let reference = snapshot(&dir, true);
    assert!(!reference.is_empty(), "the run wrote result files");
    let clear = || {
        for rel in reference.keys() {
            std::fs::remove_file(dir.join(rel)).ok();
        }
    };
    let mut killed = 0;
    for i in 1..=points {
        clear();
        let at = report.mul_f64(i as f64 / (points + 1) as f64);
        let mut child = command(bin, &dir, good, &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the binary");
        std::thread::sleep(at);
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("kill");
            killed += 1;
        }
        child.wait().expect("reap");
        for (rel, bytes) in snapshot(&dir, true) {
            if rel.file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp")) {
                continue; // a temporary of the killed run: the rerun removes it
            }
            let want = reference
                .get(&rel)
                .unwrap_or_else(|| panic!("kill {i}: unexpected file {}", rel.display()));
            assert!(&bytes == want, "kill {i} at {at:?}: {} is not whole", rel.display());
        }
        let (ok, err) = run(bin, &dir, good);
        assert!(ok, "rerun after kill {i}: {err}");
        let again = snapshot(&dir, true);
        assert_eq!(
            again.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "kill {i} at {at:?}: the rerun's files differ from the reference run's"
        );
        for (rel, bytes) in &again {
            assert!(
                bytes == &reference[rel],
                "kill {i} at {at:?}: {} differs after the rerun",
                rel.display()
            );
        }
        let stray: Vec<PathBuf> = outputs(&dir)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp")))
            .collect();
        assert!(
            stray.is_empty(),
            "kill {i} at {at:?}: temporary files left after the rerun: {stray:?}"
        );
    }
    assert!(
        killed * 2 >= points,
        "only {killed} of {points} runs were killed before they ended"
    );
    std::fs::remove_dir_all(dir).ok();
}
