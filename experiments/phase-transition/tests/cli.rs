//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("d = 300", "d = 10000000000000"),
            "`main.d` = 10000000000000: the run needs an estimated",
        ),
        (good.replace("seeds = 1", "seeds = 1\nseedz = 2"), "seedz"),
        // A cell count that once aborted the binary with a failed allocation.
        (
            good.replace("mu_count = 3", "mu_count = 1000000000000"),
            "`main.mu_count` = 1000000000000: the grid would have",
        ),
        (
            good.replace("test_samples = 500", "test_samples = 1000000000000"),
            "test_samples",
        ),
        (good.replace("n = [10, 20]", "n = [0, 20]"), "main.n"),
        (good.replace("lr = 0.05", "lr = -0.05"), "main.lr"),
        (good.replace("lr = 0.05", "lr = nan"), "main.lr"),
        (good.replace("threshold = 0.25", "threshold = "), "config"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_phase-transition"),
        "phase-transition",
        good,
        &bad,
        &[
            "results/phase-transition/main_cells.csv",
            "figures/phase_transition.png",
            "figures/phase_transition.svg",
        ],
    );
}

#[test]
fn shards_merge_to_the_unsharded_csv() {
    check_shards(
        env!("CARGO_BIN_EXE_phase-transition"),
        "phase-transition",
        include_str!("../quick.toml"),
        &["main_cells.csv"],
    );
}

#[test]
fn a_killed_run_resumes_exactly() {
    use gengap_lab::testing::{command, run, scratch};
    let bin = env!("CARGO_BIN_EXE_phase-transition");
    let good = include_str!("../quick.toml");
    let csv = |dir: &std::path::Path| std::fs::read(dir.join("results/phase-transition/main_cells.csv")).unwrap();
    let one = scratch("pt-one-kill");
    assert!(run(bin, &one, good).0);
    // A run killed with SIGKILL part-way, then rerun, gives the same CSV.
    let k = scratch("pt-killed");
    let mut child = command(bin, &k, good, &[])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    let (ok, err) = run(bin, &k, good);
    assert!(ok, "{err}");
    assert_eq!(csv(&one), csv(&k), "killed then resumed equals uninterrupted");
    for d in [one, k] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn help_exits_zero_and_outputs_are_checked_first() {
    gengap_lab::testing::check_help_and_outputs(
        env!("CARGO_BIN_EXE_phase-transition"),
        "phase-transition",
        include_str!("../quick.toml"),
        true,
    );
}

/// A step so large that every run diverges: each cell's test error is
/// written as 1 (every prediction wrong), never NaN, and the figure names
/// the diverged cells.
#[test]
fn diverged_cells_count_as_test_error_one() {
    let dir = gengap_lab::testing::scratch("phase-transition-diverged");
    let cfg = include_str!("../quick.toml").replace("lr = 0.05", "lr = 1e300");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_phase-transition"), &dir, &cfg);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("results/phase-transition/main_cells.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |h: &str| head.iter().position(|c| *c == h).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r[col("outcome")], "diverged", "{r:?}");
        assert_eq!(r[col("test_error")], "1.0", "{r:?}");
    }
    let svg = std::fs::read_to_string(dir.join("figures/phase_transition.svg")).unwrap();
    assert!(svg.contains("diverged"), "the figure names the diverged cells");
    std::fs::remove_dir_all(dir).ok();
}
