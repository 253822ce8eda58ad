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
    let plain = !console_is_tty();
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

/// One journal line: the cell, its result, and a checksum of both.
#[derive(Serialize, serde::Deserialize)]
struct Line {
    cell: usize,
    /// FNV-1a of the JSON of `(cell, result)`, as 16 hex digits.
    sum: String,
    result: serde_json::Value,
}

fn line_sum(cell: usize, result: &serde_json::Value) -> String {
    format!("{:016x}", fingerprint(&(cell, result)))
}

/// The journal line (with its newline) of cell `k`'s result.
fn encode_line<R: Serialize>(k: usize, result: &R) -> Vec<u8> {
    let value = serde_json::to_value(result).expect("results serialize");
    let mut line = serde_json::to_vec(&Line {
        cell: k,
        sum: line_sum(k, &value),
        result: value,
    })
    .expect("journal lines serialize");
    line.push(b'\n');
    line
}

/// Read a journal: the complete lines' records, and the byte length of the
/// complete part (a final line without its newline is what a kill mid-write
/// leaves, and is dropped). Every line's checksum is verified; a cell that
/// appears twice must have the same result both times.
fn read_journal<R: DeserializeOwned>(path: &Path) -> Result<(BTreeMap<usize, R>, u64), SweepError> {
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
        if line_sum(l.cell, &l.result) != l.sum {
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
        out.insert(l.cell, r);
    }
    Ok((out, complete as u64))
}

/// Run the cells of `shard` (out of the range `cells`) that `journal` does not hold
/// yet, appending each result as it finishes; return every result of the
/// shard (old and new) by cell. See the module docs.
pub fn run_journaled<R, F>(
    label: &str,
    seed: u64,
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
    let (mut done, complete) = read_journal::<R>(journal)?;
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
        let line = encode_line(k, &result);
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

/// Join the journals of all shards into the results of cells `0..cells`, in
/// cell order — the same as one unsharded run. Fails if a cell is missing.
pub fn merge<R: DeserializeOwned>(journals: &[PathBuf], cells: usize) -> Result<Vec<R>, SweepError> {
    let mut all = BTreeMap::new();
    for j in journals {
        let (m, _) = read_journal::<R>(j)?;
        all.extend(m);
    }
    let missing: Vec<usize> = (0..cells).filter(|c| !all.contains_key(c)).collect();
    if let Some(&first) = missing.first() {
        return Err(SweepError::Missing {
            missing: missing.len(),
            cells,
            first,
        });
    }
    Ok(all.into_iter().filter(|(c, _)| *c < cells).map(|(_, v)| v).collect())
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
mod tests {
    use super::*;
    use gengap_data::rng;
    use gengap_model::nonfinite;
    use rand::Rng;

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let f = |k: usize, r: &mut CellRng| (k, r.next_u64(), rng::standard_normal(r));
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| run_cells("t", 5, 37, f));
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| run_cells("t", 5, 37, f));
        assert_eq!(one, two);
        // A cell's draw is the same in a smaller sweep.
        let small = run_cells("t", 5, 5, f);
        assert_eq!(small[..], one[..5]);
    }

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Res {
        k: usize,
        #[serde(with = "nonfinite")]
        x: f64,
        bits: u64,
    }

    fn cell(k: usize, r: &mut CellRng) -> Res {
        let x = match k % 7 {
            3 => f64::NAN,
            5 => f64::NEG_INFINITY,
            _ => rng::standard_normal(r),
        };
        Res {
            k,
            x,
            bits: r.next_u64(),
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gengap-sweep-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn same(a: &[Res], b: &[Res]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(u, v)| u.k == v.k && u.bits == v.bits && u.x.to_bits() == v.x.to_bits())
    }

    #[test]
    fn killed_then_resumed_equals_uninterrupted() {
        let d = tmp("resume");
        let whole: Vec<Res> = run_journaled("t", 9, 0..40, Shard::ALL, &d.join("a.jsonl"), cell)
            .unwrap()
            .into_values()
            .collect();
        assert!(same(&whole, &run_cells("t", 9, 40, cell)));
        // A kill after 15 cells, in the middle of writing the 16th line.
        let text = std::fs::read_to_string(d.join("a.jsonl")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut cut = lines[..15].join("\n");
        cut.push('\n');
        cut.push_str(&lines[15][..lines[15].len() / 2]);
        std::fs::write(d.join("b.jsonl"), &cut).unwrap();
        let calls = AtomicUsize::new(0);
        let resumed: Vec<Res> = run_journaled("t", 9, 0..40, Shard::ALL, &d.join("b.jsonl"), |k, r| {
            calls.fetch_add(1, Ordering::Relaxed);
            cell(k, r)
        })
        .unwrap()
        .into_values()
        .collect();
        assert!(same(&whole, &resumed));
        assert_eq!(calls.load(Ordering::Relaxed), 25, "only the unfinished cells run again");
        let again = std::fs::read_to_string(d.join("b.jsonl")).unwrap();
        assert_eq!(again.lines().count(), 40, "nothing lost, nothing duplicated");
        assert!(again.ends_with('\n'));
        // A rerun of a finished sweep runs nothing.
        calls.store(0, Ordering::Relaxed);
        let _ = run_journaled("t", 9, 0..40, Shard::ALL, &d.join("b.jsonl"), |k, r| {
            calls.fetch_add(1, Ordering::Relaxed);
            cell(k, r)
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 0);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn three_shards_merged_equal_one_and_threads_do_not_matter() {
        let d = tmp("shards");
        let one: Vec<Res> = run_journaled("t", 4, 0..31, Shard::ALL, &journal_path(&d, "s", Shard::ALL), cell)
            .unwrap()
            .into_values()
            .collect();
        for k in 0..3 {
            let sh = Shard { index: k, count: 3 };
            let threads = 1 + k % 2;
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    run_journaled("t", 4, 0..31, sh, &journal_path(&d, "s", sh), cell).unwrap();
                });
        }
        let shards = shard_journals(&d, "s");
        assert_eq!(shards.len(), 3);
        assert!(same(&one, &merge::<Res>(&shards, 31).unwrap()));
        assert!(matches!(
            merge::<Res>(&shards[..2], 31),
            Err(SweepError::Missing { .. })
        ));
        std::fs::write(d.join("bad.jsonl"), "{\"cell\": 1}\n").unwrap();
        assert!(matches!(
            merge::<Res>(&[d.join("bad.jsonl")], 1),
            Err(SweepError::Corrupt { line: 1, .. })
        ));
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1", "a/2", "0/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_ne!(fingerprint(&(1, "a")), fingerprint(&(2, "a")));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn edited_duplicated_or_cut_lines_are_refused_with_a_way_to_recover() {
        let d = tmp("tamper");
        let j = d.join("t.jsonl");
        let good: Vec<Res> = run_journaled("t", 3, 0..6, Shard::ALL, &j, cell)
            .unwrap()
            .into_values()
            .collect();
        let text = std::fs::read_to_string(&j).unwrap();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let rerun = |body: &str| {
            std::fs::write(&j, body).unwrap();
            run_journaled::<Res, _>("t", 3, 0..6, Shard::ALL, &j, cell)
        };
        // An edit that keeps the line valid JSON: the checksum catches it.
        let line2 = lines.iter().position(|l| l.contains("\"bits\":")).unwrap();
        let mut edited = lines.clone();
        let v: serde_json::Value = serde_json::from_str(&edited[line2]).unwrap();
        let bits = v["result"]["bits"].as_u64().unwrap();
        edited[line2] = edited[line2].replace(&format!("\"bits\":{bits}"), &format!("\"bits\":{}", bits ^ 1));
        let e = rerun(&(edited.join("\n") + "\n")).unwrap_err();
        assert!(
            matches!(e, SweepError::Checksum { line, .. } if line == line2 + 1),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("sed -i '{}d'", line2 + 1)), "{e}");
        // The same cell twice with different results: refused, naming both lines.
        let other = encode_line(0, &cell(1, &mut CellRng::new(3, 1)));
        let dup = format!("{}\n{}", lines.join("\n"), String::from_utf8(other).unwrap());
        let e = rerun(&dup).unwrap_err();
        let first0 = lines.iter().position(|l| l.starts_with("{\"cell\":0,")).unwrap() + 1;
        assert!(
            matches!(e, SweepError::Duplicate { cell: 0, first, line, .. } if first == first0 && line == 7),
            "{e}"
        );
        // The same cell twice with the same result is harmless.
        let same_twice = format!("{}\n{}\n", lines.join("\n"), lines[0]);
        let again: Vec<Res> = rerun(&same_twice).unwrap().into_values().collect();
        assert!(same(&good, &again));
        // A line cut short but followed by a newline: a parse error that says what to do.
        let mut cut = lines.clone();
        let half = cut[3].len() / 2;
        cut[3].truncate(half);
        let e = rerun(&(cut.join("\n") + "\n")).unwrap_err();
        assert!(matches!(e, SweepError::Corrupt { line: 4, .. }), "{e}");
        assert!(
            e.to_string().contains("sed -i '4d'") && e.to_string().contains("delete the journal"),
            "{e}"
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_second_run_on_the_same_journal_is_refused_while_the_first_holds_it() {
        let d = tmp("lock");
        let j = d.join("l.jsonl");
        let holder = std::fs::OpenOptions::new().create(true).append(true).open(&j).unwrap();
        holder.lock().unwrap();
        let calls = AtomicUsize::new(0);
        let e = run_journaled("t", 1, 0..4, Shard::ALL, &j, |k, r| {
            calls.fetch_add(1, Ordering::Relaxed);
            cell(k, r)
        })
        .unwrap_err();
        assert!(matches!(e, SweepError::Locked { .. }), "{e}");
        assert!(e.to_string().contains("in use by another run"), "{e}");
        assert_eq!(calls.load(Ordering::Relaxed), 0, "no cell ran");
        drop(holder);
        assert_eq!(run_journaled("t", 1, 0..4, Shard::ALL, &j, cell).unwrap().len(), 4);
        std::fs::remove_dir_all(d).unwrap();
    }
}
