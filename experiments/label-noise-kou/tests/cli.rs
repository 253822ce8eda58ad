//! The binary on its quick config, on bad configs (one line, exit 1, no
//! files), and sharded.

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("p_flip = 0.1", "p_flip = 0.5"), "p_flip"),
        (good.replace("d = [100, 400]", "d = [400, 100]"), "d"),
        (good.replace("d = [100, 400]", "d = [100, 1000000000000]"), "d"),
        (good.replace("seeds = 2", "seeds = 0"), "seeds"),
        (good.replace("seeds = 2", "seeds = 2\nseedz = 2"), "seedz"),
        (good.replace("lr = 0.1", "lr = nan"), "lr"),
        (good.replace("steps = 100", "steps = 100000000000000"), "steps"),
        (
            good.replace("test_points = 300", "test_points = 1000000000000"),
            "test_points",
        ),
        (good.replace("fixed = 0.5", "fixed = -0.5"), "variant[1].scale"),
        (
            good.replace("name = \"kou_script\"", "name = \"ours\""),
            "variant[1].name",
        ),
        // A bad enum value: the TOML error names the value and its line (not the key).
        (good.replace("init = \"pytorch\"", "init = \"xavier\""), "xavier"),
        (
            good.replace("mu_star = [2.60, 3.48]", "mu_star = [2.60]"),
            "reference.mu_star",
        ),
        (good.replace("tolerance = 0.1", "tolerance = 0"), "tolerance"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_label-noise-kou"),
        "label-noise-kou",
        good,
        &bad,
        &[
            "results/label-noise-kou/runs.csv",
            "results/label-noise-kou/boundary.csv",
            "results/label-noise-kou/ours_test_error.csv",
            "results/label-noise-kou/kou_script_test_error.csv",
            "figures/label_noise_kou.png",
            "figures/label_noise_kou.svg",
        ],
    );
}

#[test]
fn shards_merge_to_the_unsharded_csv() {
    check_shards(
        env!("CARGO_BIN_EXE_label-noise-kou"),
        "label-noise-kou",
        include_str!("../quick.toml"),
        &["runs.csv", "boundary.csv"],
    );
}
