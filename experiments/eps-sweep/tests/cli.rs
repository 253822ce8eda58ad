//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("epsilons = [1e-8, 1e-2, 1.0]", "epsilons = [1e-8, -1.0]"),
            "`eps` = -1.0",
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
