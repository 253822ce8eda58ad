//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap::train::experiment::testing::check_cli;

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("seeds = 1", "seeds = 1\nseedz = 2"), "seedz"),
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
