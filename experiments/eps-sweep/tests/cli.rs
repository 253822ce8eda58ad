//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("epsilons = [1e-8, 1e-2, 1.0]", "epsilons = [1e-8, -1.0]"),
            "`epsilons` = -1: each ε must be finite and >= 0",
        ),
        (
            good.replace("epsilons = [1e-8, 1e-2, 1.0]", "epsilons = []"),
            "epsilons",
        ),
        (good.replace("lr_sgd = 0.5", "lr_sgd = 0.0"), "lr_sgd"),
        (good.replace("\"adabelief\"]", "\"lion\"]"), "lion"),
        (
            good.replace("lr_factors = [0.5, 1.0]", "lr_factors = [0.5, -1.0]"),
            "lr_factors",
        ),
        (good.replace("n = 30", "n = 0"), "`n` = 0"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_eps-sweep"),
        "eps-sweep",
        good,
        &bad,
        &[
            "results/eps-sweep/runs.csv",
            "results/eps-sweep/chosen.csv",
            "figures/eps_sweep.png",
            "figures/eps_sweep.svg",
        ],
    );
}

#[test]
fn three_shards_merged_equal_one_run() {
    check_shards(
        env!("CARGO_BIN_EXE_eps-sweep"),
        "eps-sweep",
        include_str!("../quick.toml"),
        &["runs.csv", "chosen.csv"],
    );
}

/// Steps so large that every run diverges: each chosen row counts as test
/// error 1, and the figure names the groups that diverged at every learning
/// rate instead of plotting them silently.
#[test]
fn diverged_groups_are_counted_and_named() {
    let dir = gengap_lab::testing::scratch("eps-sweep-diverged");
    let cfg = include_str!("../quick.toml")
        .replace("lr_adam = 1e-3", "lr_adam = 1e300")
        .replace("lr_sgd = 0.5", "lr_sgd = 1e300");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_eps-sweep"), &dir, &cfg);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("results/eps-sweep/chosen.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |h: &str| head.iter().position(|c| *c == h).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r[col("status")], "diverged", "{r:?}");
        assert_eq!(r[col("test_error")], "1.0", "{r:?}");
    }
    let svg = std::fs::read_to_string(dir.join("figures/eps_sweep.svg")).unwrap();
    assert!(svg.contains("diverged at every learning rate"), "the figure names them");
    std::fs::remove_dir_all(dir).ok();
}
