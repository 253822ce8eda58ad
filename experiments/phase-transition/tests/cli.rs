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
