//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap::train::experiment::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("seeds = 2", "seeds = 2\nsees = 1"), "sees"),
        (good.replace("seeds = 2", "seeds = 0"), "seeds"),
        (
            good.replace(
                "lrs = { c22 = [0.005, 0.01, 0.02]",
                "lrs = { c22 = [-0.005, 0.01, 0.02]",
            ),
            "`lr` = -0.005",
        ),
        (good.replace("mu_norm = 8.0", "mu_norm = nan"), "mu_norm"),
        (good.replace("[[optimizers]]", "[[optimizers]"), "config"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_optimizer-table"),
        "optimizer-table",
        good,
        &bad,
        &[
            "results/optimizer-table/table.md",
            "results/optimizer-table/table.csv",
            "figures/optimizer_table.md",
        ],
    );
}

#[test]
fn three_shards_merged_equal_one_run() {
    check_shards(
        env!("CARGO_BIN_EXE_optimizer-table"),
        "optimizer-table",
        include_str!("../quick.toml"),
        &["lr_grid.csv", "runs.csv", "table.csv"],
    );
}
