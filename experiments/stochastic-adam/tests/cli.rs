//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("epochs = 20", "epochs = 0"), "`epochs` = 0"),
        (
            good.replace("batch_fractions = [1.0, 0.5, 0.1]", "batch_fractions = [1.0, 0.0]"),
            "batch_fractions",
        ),
        (
            good.replace("batch_fractions = [1.0, 0.5, 0.1]", "batch_fractions = [1.5]"),
            "batch_fractions",
        ),
        (good.replace("lambdas = [0.0, 1e-2]", "lambdas = [-1e-2]"), "lambdas"),
        (good.replace("lr = 1e-3", "lr = -1e-3"), "`lr` = -0.001"),
        (good.replace("lr_rule = \"constant\"", "lr_rule = \"linear\""), "linear"),
        (good.replace("seed = 1", "seed = 1\nbatch = 3"), "batch"),
        (good.replace("n = 30", "n = 0"), "`n` = 0"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_stochastic-adam"),
        "stochastic-adam",
        good,
        &bad,
        &[
            "results/stochastic-adam/grid.csv",
            "results/stochastic-adam/curves.csv",
            "figures/stochastic_adam.png",
            "figures/stochastic_adam_curves.svg",
        ],
    );
}

/// The cells draw their batch orders from their own streams: three shards
/// merged give the one-run CSVs byte for byte (thread and order independence).
#[test]
fn three_shards_merged_equal_one_run() {
    check_shards(
        env!("CARGO_BIN_EXE_stochastic-adam"),
        "stochastic-adam",
        include_str!("../quick.toml"),
        &["grid.csv", "curves.csv"],
    );
}
