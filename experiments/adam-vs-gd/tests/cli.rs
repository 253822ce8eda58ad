//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap::train::experiment::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("[lambda_sweep]", "[lambda_sweep]\nlambdaz = 1"), "lambdaz"),
        (good.replace("n = 30", "n = 0"), "`n` = 0"),
        (good.replace("lr = 0.5", "lr = -0.5"), "`lr` = -0.5"),
        (good.replace("lr = 0.5", "lr = nan"), "`lr` = NaN"),
        (good.replace("[train]", "[train"), "config"),
        (
            good.replace("lambdas = [0.0, 1e-2]", "lambdas = [0.0, -1.0]"),
            "lambdas",
        ),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_adam-vs-gd"),
        "adam-vs-gd",
        good,
        &bad,
        &[
            "results/adam-vs-gd/curves.csv",
            "results/adam-vs-gd/lambda_sweep.csv",
            "figures/adam_vs_gd.png",
            "figures/adam_vs_gd.svg",
            "figures/adam_vs_gd_lambda.png",
        ],
    );
}

#[test]
fn three_shards_merged_equal_one_run() {
    check_shards(
        env!("CARGO_BIN_EXE_adam-vs-gd"),
        "adam-vs-gd",
        include_str!("../quick.toml"),
        &["curves.csv", "lambda_sweep.csv"],
    );
}
