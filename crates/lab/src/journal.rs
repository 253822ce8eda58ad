//! Grids of independent runs ("cells"), in parallel, reproducibly.
//!
//! Cell `k` of a sweep seeded with `seed` draws only from its
//! [`CellRng`] (`stream(seed, k)`), which this runner alone builds, so its
//! result does not depend on the thread count, the order cells run in, or
//! which other cells run.
//!
//! [`run_journaled`] adds what long sweeps need: it runs only the cells of a
//! [`Shard`] (`k/N`: cells `c` with `c mod N = k`), appends each finished cell
//! as one JSON line to a journal (written whole, then fsync'ed), and on a
//! rerun skips the cells already in the journal — a process killed at any
//! point loses only the cells in flight and duplicates nothing. [`merge`]
//! joins the shards' journals into the same cell-ordered results as one
//! unsharded run.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::streams::CellRng;
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Run `f(k, rng_k)` for every cell `k = 0..cells` in parallel and return the
/// results in cell order. `rng_k` is cell `k`'s [`CellRng`], `stream(seed, k)`.
///
/// Progress: an indicatif bar when stderr is a terminal, and in any case a
/// plain line on stderr about every 10% (`label: 40/100 cells, 12.3 s`).
pub fn run_cells<R, F>(label: &str, seed: u64, cells: usize, f: F) -> Vec<R>
where
    R: Send,
    F: Fn(usize, &mut CellRng) -> R + Sync,
{
    let all: Vec<usize> = (0..cells).collect();
    run_list(label, seed, &all, |k, r| f(k, r))
}

/// Whether the per-cell progress (the bar on a terminal, `k/N cells` lines
/// otherwise) is shown; on unless [`show_progress`] turned it off.
static PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Show or hide the per-cell progress of every sweep of the process (the
/// Python package's `run_study(progress=False)`); the binaries keep it on.
pub fn show_progress(on: bool) {
    PROGRESS.store(on, Ordering::Relaxed);
}

/// Run `f` on the listed cells in parallel (progress as in [`run_cells`]);
/// results in the order of `list`.
fn run_list<R, F>(label: &str, seed: u64, list: &[usize], f: F) -> Vec<R>
where
    R: Send,
    F: Fn(usize, &mut CellRng) -> R + Sync,
{
    let cells = list.len();
    let bar = indicatif::ProgressBar::new(cells as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let shown = PROGRESS.load(Ordering::Relaxed);
    if !shown {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let plain = shown && !console_is_tty();
    let done = AtomicUsize::new(0);
    let start = Instant::now();
    let step = (cells / 10).max(1);
    let out = list
        .par_iter()
        .map(|&k| {
            let mut r = CellRng::new(seed, k);
            let res = f(k, &mut r);
            let c = done.fetch_add(1, Ordering::Relaxed) + 1;
            bar.inc(1);
            if plain && (c.is_multiple_of(step) || c == cells) {
                eprintln!("{label}: {c}/{cells} cells, {:.1} s", start.elapsed().as_secs_f64());
            }
            res
        })
        .collect();
    bar.finish_and_clear();
    out
}

/// The part of a sweep one process runs: the cells `c` with `c mod count = index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// `k`, in `0..count`.
    pub index: usize,
    /// `N ≥ 1`.
    pub count: usize,
}

impl Shard {
    /// The whole sweep (`0/1`).
    pub const ALL: Shard = Shard { index: 0, count: 1 };
    /// Whether cell `c` belongs to this shard.
    pub fn owns(&self, c: usize) -> bool {
        c % self.count == self.index
    }
}

/// A `--shard` value that is not `k/N` with `0 ≤ k < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard `{value}`: expected k/N with 0 <= k < N, e.g. 0/4")]
pub struct ShardParseError {
    /// The rejected value.
    pub value: String,
}

impl std::str::FromStr for Shard {
    type Err = ShardParseError;
    /// Parse `k/N` with `0 ≤ k < N` (a Slurm array task id over the array size).
    fn from_str(s: &str) -> Result<Self, ShardParseError> {
        let bad = || ShardParseError { value: s.to_string() };
        let (a, b) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Errors of the journaled runner.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The run was stopped from outside (Ctrl-C) while cell `cell` ran; the
    /// cells journaled before it are kept, and a rerun resumes from them.
    #[error("interrupted at cell {cell}; the cells already journaled are kept and a rerun resumes from them")]
    Interrupted {
        /// A cell that was running.
        cell: usize,
    },
    /// Reading or writing a journal failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A complete line of a journal is not a record (cut short, or edited
    /// into invalid JSON).
    #[error(
        "journal {path}, line {line}: not a valid record ({msg}); the line was cut short or edited. Delete that line (`sed -i '{line}d' {path}`) to recompute its cell, or delete the journal to recompute the whole sweep"
    )]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's message.
        msg: String,
    },
    /// A line's checksum does not match its cell and result: it was changed
    /// after it was written.
    #[error(
        "journal {path}, line {line} (cell {cell}): the checksum does not match the content, so the line was changed after it was written. Delete that line (`sed -i '{line}d' {path}`) to recompute the cell"
    )]
    Checksum {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The cell the line claims.
        cell: usize,
    },
    /// Two lines hold the same cell with different results.
    #[error(
        "journal {path}: cell {cell} is on line {first} and again on line {line} with a different result. Delete both lines to recompute the cell, or keep the one you trust"
    )]
    Duplicate {
        /// The journal.
        path: PathBuf,
        /// The cell.
        cell: usize,
        /// The first line holding it.
        first: usize,
        /// The conflicting line.
        line: usize,
    },
    /// Another process is running the same sweep into the same journal.
    #[error(
        "journal {path} is in use by another run of the same sweep (same --out, config and shard); wait for it to finish, or give this run another --out"
    )]
    Locked {
        /// The journal.
        path: PathBuf,
    },
    /// A line was written by another sweep (another config, seed, binary or
    /// kernel): the journal was renamed or copied.
    #[error(
        "journal {path}, line {line}: written by another sweep (`{found}`, this sweep is `{expected}`): the file was renamed or copied from another config, seed or build. Move it back or delete it to run this sweep"
    )]
    Foreign {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The identity on the line.
        found: String,
        /// This sweep's identity.
        expected: String,
    },
    /// Two shard journals hold the same cell with different results.
    #[error(
        "cell {cell} is in {first} and in {second} with different results: two runs of the same sweep disagree. Delete the cell's line from the journal you do not trust (`grep -n '\"cell\":{cell},'` finds it)"
    )]
    Conflict {
        /// The cell.
        cell: usize,
        /// The first journal holding it.
        first: PathBuf,
        /// The other one.
        second: PathBuf,
    },
    /// Merging found cells that no shard has finished.
    #[error("{missing} of {cells} cells are in no journal (first: cell {first}); run the missing shards first")]
    Missing {
        /// How many.
        missing: usize,
        /// Sweep size.
        cells: usize,
        /// The first missing cell.
        first: usize,
    },
}

/// One journal line: the cell, the sweep it belongs to, its result, and a
/// checksum of all three.
#[derive(Serialize, serde::Deserialize)]
struct Line {
    cell: usize,
    /// The sweep's identity (the journal's stem, a fingerprint of config,
    /// seed, cell count, binary and kernel), checked on every read, so a
    /// renamed or copied journal is never resumed or merged as this sweep's.
    #[serde(default)]
    id: String,
    /// FNV-1a of the JSON of `(id, cell, result)`, as 16 hex digits.
    sum: String,
    result: serde_json::Value,
}

fn line_sum(id: &str, cell: usize, result: &serde_json::Value) -> String {
    format!("{:016x}", fingerprint(&(id, cell, result)))
}

/// The journal line (with its newline) of cell `k`'s result in sweep `id`.
fn encode_line<R: Serialize>(id: &str, k: usize, result: &R) -> Vec<u8> {
    let value = serde_json::to_value(result).expect("results serialize");
    let mut line = serde_json::to_vec(&Line {
        cell: k,
        id: id.to_string(),
        sum: line_sum(id, k, &value),
        result: value,
    })
    .expect("journal lines serialize");
    line.push(b'\n');
    line
}

/// A journal's records by cell, each with its line's checksum.
type Records<R> = BTreeMap<usize, (R, String)>;

/// Read a journal: the complete lines' records, and the byte length of the
/// complete part (a final line without its newline is what a kill mid-write
/// leaves, and is dropped). Every line's checksum is verified and its sweep
/// must be `id`; a cell that appears twice must have the same result both
/// times. The checksums come back with the records, for [`merge`].
fn read_journal<R: DeserializeOwned>(path: &Path, id: &str) -> Result<(Records<R>, u64), SweepError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((BTreeMap::new(), 0)),
        Err(e) => {
            return Err(SweepError::Io {
                path: path.into(),
                source: e,
            });
        }
    };
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let mut seen: BTreeMap<usize, (usize, String)> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (i, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let corrupt = |msg: String| SweepError::Corrupt {
            path: path.into(),
            line: i + 1,
            msg,
        };
        let l: Line = serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))?;
        if l.id != id {
            return Err(SweepError::Foreign {
                path: path.into(),
                line: i + 1,
                found: l.id,
                expected: id.into(),
            });
        }
        if line_sum(id, l.cell, &l.result) != l.sum {
            return Err(SweepError::Checksum {
                path: path.into(),
                line: i + 1,
                cell: l.cell,
            });
        }
        if let Some((first, sum)) = seen.get(&l.cell) {
            if *sum != l.sum {
                return Err(SweepError::Duplicate {
                    path: path.into(),
                    cell: l.cell,
                    first: *first,
                    line: i + 1,
                });
            }
            continue;
        }
        seen.insert(l.cell, (i + 1, l.sum.clone()));
        let r: R = serde_json::from_value(l.result).map_err(|e| corrupt(e.to_string()))?;
        out.insert(l.cell, (r, l.sum));
    }
    Ok((out, complete as u64))
}

/// Run the cells of `shard` (out of the range `cells`) that `journal` does not hold
/// yet, appending each result as it finishes; return every result of the
/// shard (old and new) by cell. Every line carries the sweep's identity `id`
/// (and a line of another sweep is refused). See the module docs.
pub fn run_journaled<R, F>(
    label: &str,
    seed: u64,
    id: &str,
    cells: std::ops::Range<usize>,
    shard: Shard,
    journal: &Path,
    f: F,
) -> Result<BTreeMap<usize, R>, SweepError>
where
    R: Serialize + DeserializeOwned + Send,
    F: Fn(usize, &mut CellRng) -> R + Sync,
{
    let io = |e| SweepError::Io {
        path: journal.into(),
        source: e,
    };
    if let Some(dir) = journal.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)
        .map_err(io)?;
    // One run per journal: a second run of the same sweep into the same
    // folder is refused instead of computing the same cells twice. The lock
    // is released when `file` is closed (also when the process is killed).
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => SweepError::Locked { path: journal.into() },
        std::fs::TryLockError::Error(e) => io(e),
    })?;
    let (done, complete) = read_journal::<R>(journal, id)?;
    let mut done: BTreeMap<usize, R> = done.into_iter().map(|(c, (r, _))| (c, r)).collect();
    done.retain(|&c, _| cells.contains(&c) && shard.owns(c));
    // Drop a partial last line left by a kill.
    file.set_len(complete).map_err(io)?;
    let file = Mutex::new(file);
    let todo: Vec<usize> = cells
        .clone()
        .filter(|&c| shard.owns(c) && !done.contains_key(&c))
        .collect();
    if !done.is_empty() {
        eprintln!(
            "{label}: resuming: {} cells already in {}, {} to run",
            done.len(),
            journal.display(),
            todo.len()
        );
    }
    let new: Vec<Result<(usize, R), SweepError>> = run_list(label, seed, &todo, |k, r| {
        let result = f(k, r);
        if gengap_train::interrupt::stopping_everywhere() {
            // Stopped from outside (Ctrl-C): not journaled, so that a
            // resumed run runs the cell again instead of reusing a result
            // that is an interruption.
            return Err(SweepError::Interrupted { cell: k });
        }
        let line = encode_line(id, k, &result);
        let mut fh = file.lock().expect("journal lock");
        fh.write_all(&line).and_then(|_| fh.sync_data()).map_err(io)?;
        Ok((k, result))
    });
    for r in new {
        let (k, v) = r?;
        done.insert(k, v);
    }
    Ok(done)
}

/// Join the journals of all shards of sweep `id` into the results of cells
/// `0..cells`, in cell order — the same as one unsharded run. Fails if a cell
/// is missing, or if two journals hold one cell with different results.
pub fn merge<R: DeserializeOwned>(journals: &[PathBuf], id: &str, cells: usize) -> Result<Vec<R>, SweepError> {
    let mut all: BTreeMap<usize, (R, String, &PathBuf)> = BTreeMap::new();
    for j in journals {
        let (m, _) = read_journal::<R>(j, id)?;
        for (c, (r, sum)) in m {
            match all.get(&c) {
                Some((_, s, first)) if *s != sum => {
                    return Err(SweepError::Conflict {
                        cell: c,
                        first: first.to_path_buf(),
                        second: j.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    all.insert(c, (r, sum, j));
                }
            }
        }
    }
    let missing: Vec<usize> = (0..cells).filter(|c| !all.contains_key(c)).collect();
    if let Some(&first) = missing.first() {
        return Err(SweepError::Missing {
            missing: missing.len(),
            cells,
            first,
        });
    }
    Ok(all.into_iter().filter(|(c, _)| *c < cells).map(|(_, v)| v.0).collect())
}

/// The shard journals `<stem>.shard-*-of-*.jsonl` next to `stem`, sorted.
pub fn shard_journals(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let prefix = format!("{stem}.shard-");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n.to_string_lossy().starts_with(&prefix) && n.to_string_lossy().ends_with(".jsonl")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The journal file of `shard` for a sweep whose journals are named after `stem`.
pub fn journal_path(dir: &Path, stem: &str, shard: Shard) -> PathBuf {
    if shard == Shard::ALL {
        dir.join(format!("{stem}.jsonl"))
    } else {
        dir.join(format!("{stem}.shard-{}-of-{}.jsonl", shard.index, shard.count))
    }
}

/// A stable 64-bit fingerprint (FNV-1a) of a value's JSON form: journals are
/// named after it, so a changed config never resumes from a stale journal.
pub fn fingerprint<V: Serialize>(v: &V) -> u64 {
    let bytes = serde_json::to_vec(v).expect("configs serialize");
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A fingerprint of the running executable's bytes (0 if it cannot be read).
/// Put it into a journal's name with the config's, so that a rebuilt binary
/// (changed code) never resumes from results of the old one.
pub fn binary_fingerprint() -> u64 {
    std::env::current_exe()
        .and_then(std::fs::read)
        .map(|b| {
            b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
                (h ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3)
            })
        })
        .unwrap_or(0)
}

fn console_is_tty() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
