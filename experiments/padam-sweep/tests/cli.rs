//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("d = 200", "d = 10000000000000"),
            "`data.d` = 10000000000000: the run needs an estimated",
        ),
        (good.replace("lr_sgd = 0.5", "lr_sgd = 0.5\nlr_sdg = 1"), "lr_sdg"),
        (good.replace("n = 30", "n = 0"), "`n` = 0"),
        (good.replace("lr_sgd = 0.5", "lr_sgd = -0.5"), "lr_sgd"),
        (good.replace("lr_adam = 1e-4", "lr_adam = nan"), "lr_adam"),
        // A finite rate whose grid overflows: the error names it, not the derived `lr` = inf.
        (good.replace("lr_adam = 1e-4", "lr_adam = 1e300"), "`lr_adam` = 1e300"),
        (good.replace("[model]", "[model"), "config"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_padam-sweep"),
        "padam-sweep",
        good,
        &bad,
        &[
            "results/padam-sweep/chosen.csv",
            "figures/padam_sweep.png",
            "figures/padam_sweep.svg",
        ],
    );
}

#[test]
fn three_shards_merged_equal_one_run() {
    check_shards(
        env!("CARGO_BIN_EXE_padam-sweep"),
        "padam-sweep",
        include_str!("../quick.toml"),
        &["all_runs.csv", "chosen.csv"],
    );
}
