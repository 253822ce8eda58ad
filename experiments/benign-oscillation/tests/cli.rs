//! The binary on its quick config, on bad configs (one line, exit 1, no
//! files), sharded; and the claim on the quick config: a small step never
//! learns the weak feature, an oscillating one does, and a divergent one is
//! counted wrong.

use gengap_lab::testing::{check_cli, check_shards, run, scratch};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("lrs = [0.001, 0.01, 0.04, 0.1]", "lrs = [0.01, 0.001]"),
            "lrs",
        ),
        (
            good.replace("lrs = [0.001, 0.01, 0.04, 0.1]", "lrs = [0.001, inf]"),
            "lrs",
        ),
        (good.replace("batch = 1", "batch = 21"), "batch"),
        (good.replace("q = 2.0", "q = 0.5"), "q"),
        (good.replace("seeds = 2", "seeds = 0"), "seeds"),
        (good.replace("steps = 5000", "steps = 100000000000000"), "steps"),
        (
            good.replace("strong_fraction = 0.5", "strong_fraction = 1.5"),
            "data.strong_fraction",
        ),
        (good.replace("weak_norm = 1.0", "weak_norm = nan"), "data.weak_norm"),
        (good.replace("d = 100", "d = 2"), "data.d"),
        (good.replace("d = 100", "d = 1000000000000"), "data.d"),
        (good.replace("sigma_p = 1.0", "sigma_p = 1.0\nsigma = 1.0"), "sigma"),
        (
            good.replace("success_error = 0.1", "success_error = 0.7"),
            "success_error",
        ),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_benign-oscillation"),
        "benign-oscillation",
        good,
        &bad,
        &[
            "results/benign-oscillation/curves.csv",
            "results/benign-oscillation/by_lr.csv",
            "figures/benign_oscillation.png",
            "figures/benign_oscillation.svg",
        ],
    );
}

#[test]
fn shards_merge_to_the_unsharded_csv() {
    check_shards(
        env!("CARGO_BIN_EXE_benign-oscillation"),
        "benign-oscillation",
        include_str!("../quick.toml"),
        &["curves.csv", "by_lr.csv"],
    );
}

/// Measured on the quick config (2 seeds, 5000 steps): at η = 0.001 and
/// 0.01 the weak-only test error is 0.52–0.54 and the weak coefficient stays
/// near its start; at η = 0.04 the loss rises between a quarter of the
/// records and the weak-only test error is 0; at η = 0.1 every run diverges
/// and counts as error 1.
#[test]
fn only_the_oscillating_step_learns_the_weak_feature() {
    let dir = scratch("benign-oscillation-claim");
    let (ok, err) = run(
        env!("CARGO_BIN_EXE_benign-oscillation"),
        &dir,
        include_str!("../quick.toml"),
    );
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(dir.join("results/benign-oscillation/by_lr.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|f| f.parse::<f64>().unwrap_or(f64::NAN)).collect())
        .collect();
    let at = |lr: f64| rows.iter().find(|r| r[col("lr")] == lr).unwrap();
    for small in [0.001, 0.01] {
        assert!(at(small)[col("test_error")] > 0.4, "η = {small}: {:?}", at(small));
        assert!(at(small)[col("weak")] < 0.2, "η = {small}: {:?}", at(small));
    }
    let large = at(0.04);
    assert!(large[col("test_error")] < 0.1 && large[col("weak")] > 1.0, "{large:?}");
    assert!(large[col("loss_rises")] > at(0.001)[col("loss_rises")], "{large:?}");
    let divergent = at(0.1);
    assert_eq!(divergent[col("diverged")], 2.0);
    assert_eq!(divergent[col("test_error")], 1.0);
    std::fs::remove_dir_all(dir).ok();
}
