//! The binary on its quick config, on bad configs (one line, exit 1, no
//! files), and sharded; the linear baseline fails where ReLU does not.

use gengap_lab::testing::{check_cli, check_report_faults, check_shards, run, scratch};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("p_flip = 0.1", "p_flip = 0.7"), "p_flip"),
        (good.replace("seeds = 1", "seeds = 1\nseedz = 2"), "seedz"),
        (
            good.replace("test_samples = 400", "test_samples = 1000000000000"),
            "test_samples",
        ),
        (
            good.replace("a_count = 4", "a_count = 1000000000000"),
            "`a_count` = 1000000000000: the grid would have",
        ),
        (good.replace("lr = 0.2", "lr = -0.2"), "lr"),
        (
            good.replace("cos_angles = [0.0, 0.6]", "cos_angles = [0.0, 1.0]"),
            "cos_angles",
        ),
        (good.replace("n = [10, 30]", "n = [0, 30]"), "n"),
        (good.replace("d = 200", "d = 100000000000"), "d"),
        (good.replace("a_max = 12.0", "a_max = 0.5"), "a_max"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_xor"),
        "xor",
        good,
        &bad,
        &[
            "results/xor/cells.csv",
            "results/xor/means.csv",
            "figures/xor_linear_vs_relu.png",
            "figures/xor_phase.png",
            "figures/xor_correlation.svg",
        ],
    );
}

#[test]
fn shards_merge_to_the_unsharded_csv() {
    check_shards(
        env!("CARGO_BIN_EXE_xor"),
        "xor",
        include_str!("../quick.toml"),
        &["cells.csv", "means.csv"],
    );
}

/// Killed at 24 points of its report stage (CSVs, record, three figures),
/// the study leaves only whole files, and a rerun restores every file byte
/// for byte with no temporary file left.
#[test]
fn a_kill_during_the_report_leaves_whole_files_and_a_rerun_restores_them() {
    check_report_faults(env!("CARGO_BIN_EXE_xor"), "xor", include_str!("../quick.toml"), 24);
}

/// On the quick grid every linear-baseline cell is within Monte-Carlo error
/// of 1/2 while ReLU at the strongest signal is near the Bayes error p.
#[test]
fn the_linear_baseline_is_at_chance_and_relu_is_not() {
    let dir = scratch("xor-linear");
    let (ok, err) = run(env!("CARGO_BIN_EXE_xor"), &dir, include_str!("../quick.toml"));
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(dir.join("results/xor/means.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (net, a, err_col) = (col("net"), col("a_norm"), col("mean_test_error"));
    let mut checked = (0, 0);
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let e: f64 = f[err_col].parse().unwrap();
        if f[net] == "linear" {
            // 400 Monte-Carlo points: SE 0.025.
            assert!((e - 0.5).abs() < 0.08, "linear: {l}");
            checked.0 += 1;
        } else if f[a].parse::<f64>().unwrap() >= 12.0 - 1e-9 && f[col("cos_angle")] == "0.0" {
            assert!(e < 0.1 + 0.05, "ReLU, strong signal: {l}");
            checked.1 += 1;
        }
    }
    assert!(checked.0 > 0 && checked.1 > 0, "{checked:?}");
    std::fs::remove_dir_all(dir).ok();
}

/// GD at lr 1e200 fits the training set in one step with a loss of 0 while
/// the weights leave the floating-point range: every cell is diverged and
/// counts as test error 1 (it was "converged" with a test error of 0.9,
/// computed from overflowed quantities).
#[test]
fn weights_beyond_range_are_diverged_not_converged() {
    let dir = gengap_lab::testing::scratch("xor-huge-lr");
    let cfg = include_str!("../quick.toml").replace("lr = 0.2", "lr = 1e200");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_xor"), &dir, &cfg);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("results/xor/cells.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |h: &str| head.iter().position(|c| *c == h).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r[col("outcome")], "diverged", "{r:?}");
        assert_eq!(r[col("test_error")], "1.0", "{r:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}
