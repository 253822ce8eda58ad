//! Tests of the journaled runner.

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
    let whole: Vec<Res> = run_journaled("t", 9, "sweep", 0..40, Shard::ALL, &d.join("a.jsonl"), cell)
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
    let resumed: Vec<Res> = run_journaled("t", 9, "sweep", 0..40, Shard::ALL, &d.join("b.jsonl"), |k, r| {
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
    let _ = run_journaled("t", 9, "sweep", 0..40, Shard::ALL, &d.join("b.jsonl"), |k, r| {
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
    let one: Vec<Res> = run_journaled(
        "t",
        4,
        "sweep",
        0..31,
        Shard::ALL,
        &journal_path(&d, "s", Shard::ALL),
        cell,
    )
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
                run_journaled("t", 4, "sweep", 0..31, sh, &journal_path(&d, "s", sh), cell).unwrap();
            });
    }
    let shards = shard_journals(&d, "s");
    assert_eq!(shards.len(), 3);
    assert!(same(&one, &merge::<Res>(&shards, "sweep", 31).unwrap()));
    assert!(matches!(
        merge::<Res>(&shards[..2], "sweep", 31),
        Err(SweepError::Missing { .. })
    ));
    std::fs::write(d.join("bad.jsonl"), "{\"cell\": 1}\n").unwrap();
    assert!(matches!(
        merge::<Res>(&[d.join("bad.jsonl")], "sweep", 1),
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
    let good: Vec<Res> = run_journaled("t", 3, "sweep", 0..6, Shard::ALL, &j, cell)
        .unwrap()
        .into_values()
        .collect();
    let text = std::fs::read_to_string(&j).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let rerun = |body: &str| {
        std::fs::write(&j, body).unwrap();
        run_journaled::<Res, _>("t", 3, "sweep", 0..6, Shard::ALL, &j, cell)
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
    let other = encode_line("sweep", 0, &cell(1, &mut CellRng::new(3, 1)));
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
    let e = run_journaled("t", 1, "sweep", 0..4, Shard::ALL, &j, |k, r| {
        calls.fetch_add(1, Ordering::Relaxed);
        cell(k, r)
    })
    .unwrap_err();
    assert!(matches!(e, SweepError::Locked { .. }), "{e}");
    assert!(e.to_string().contains("in use by another run"), "{e}");
    assert_eq!(calls.load(Ordering::Relaxed), 0, "no cell ran");
    drop(holder);
    assert_eq!(
        run_journaled("t", 1, "sweep", 0..4, Shard::ALL, &j, cell)
            .unwrap()
            .len(),
        4
    );
    std::fs::remove_dir_all(d).unwrap();
}

/// A journal renamed from another sweep (another config, seed or build) is
/// refused, not resumed; two shard journals that disagree on a cell are
/// refused at the merge (both journals named), not merged silently.
#[test]
fn foreign_journals_and_disagreeing_shards_are_refused() {
    let d = tmp("identity");
    let j = d.join("a.jsonl");
    run_journaled("t", 3, "sweep-2023", 0..4, Shard::ALL, &j, cell).unwrap();
    let calls = AtomicUsize::new(0);
    let e = run_journaled("t", 3, "sweep-2022", 0..4, Shard::ALL, &j, |k, r| {
        calls.fetch_add(1, Ordering::Relaxed);
        cell(k, r)
    })
    .unwrap_err();
    assert!(
        matches!(&e, SweepError::Foreign { line: 1, found, expected, .. } if found == "sweep-2023" && expected == "sweep-2022"),
        "{e}"
    );
    assert!(e.to_string().contains("renamed or copied"), "{e}");
    assert_eq!(calls.load(Ordering::Relaxed), 0, "no cell ran");
    assert!(matches!(
        merge::<Res>(std::slice::from_ref(&j), "sweep-2022", 4),
        Err(SweepError::Foreign { .. })
    ));
    // Two shards of one sweep, one of them holding cell 1 with another result.
    let (a, b) = (d.join("s0.jsonl"), d.join("s1.jsonl"));
    std::fs::write(&a, encode_line("s", 1, &cell(1, &mut CellRng::new(3, 1)))).unwrap();
    std::fs::write(&b, encode_line("s", 1, &cell(2, &mut CellRng::new(3, 2)))).unwrap();
    let e = merge::<Res>(&[a.clone(), b.clone()], "s", 2).unwrap_err();
    assert!(
        matches!(&e, SweepError::Conflict { cell: 1, first, second } if *first == a && *second == b),
        "{e}"
    );
    // The same result in both is harmless (cell 0 is missing, so the merge
    // stops there, after the duplicate was accepted).
    std::fs::write(&b, encode_line("s", 1, &cell(1, &mut CellRng::new(3, 1)))).unwrap();
    assert!(matches!(
        merge::<Res>(&[a, b], "s", 2),
        Err(SweepError::Missing { first: 0, .. })
    ));
    std::fs::remove_dir_all(d).unwrap();
}
