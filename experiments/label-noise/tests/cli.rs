//! The binary on its quick config, on bad configs (one line, exit 1, no
//! files), sharded, and on one and two threads.

use gengap_lab::testing::{check_cli, check_shards, run, scratch};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (good.replace("p_flip = 0.1", "p_flip = 0.5"), "p_flip"),
        (good.replace("seeds = 2", "seeds = 2\nseedz = 2"), "seedz"),
        (
            good.replace(
                "mu = { first = 0.0, step = 2.0, count = 6 }",
                "mu = { first = 0.0, step = 2.0, count = 1000000000000 }",
            ),
            "`mu.count` = 1000000000000",
        ),
        (
            good.replace("test_samples = 400", "test_samples = 1000000000000"),
            "test_samples",
        ),
        (
            good.replace("seeds = 2", "seeds = 1000000000000"),
            "`seeds` = 1000000000000: the grid would have",
        ),
        (good.replace("lr = 0.1", "lr = -0.1"), "lr"),
        (
            good.replace("n = 20", "n = 2000000000"),
            "`n` = 2000000000: the run needs an estimated",
        ),
        (good.replace("lr = 0.1", "lr = nan"), "lr"),
        (good.replace("count = 6", "count = 1"), "mu.count"),
        (
            good.replace("max_steps = 4000", "max_steps = 10"),
            "interpolate.max_steps",
        ),
        (good.replace("\"isotropic\"]", "\"sideways\"]"), "config"),
        (
            good.replace(
                "sigma0 = 0.01",
                "sigma0 = 0.01\nactivation = { kind = \"leaky_relu\", slope = 2.0 }",
            ),
            "activation",
        ),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_label-noise"),
        "label-noise",
        good,
        &bad,
        &[
            "results/label-noise/runs.csv",
            "results/label-noise/orthogonal_kou_test_error.csv",
            "results/label-noise/isotropic_interp_test_error.csv",
            "figures/label_noise_orthogonal_kou.png",
            "figures/label_noise_isotropic_interp.svg",
            "figures/label_noise_collapse.png",
        ],
    );
}

#[test]
fn shards_merge_to_the_unsharded_csv() {
    check_shards(
        env!("CARGO_BIN_EXE_label-noise"),
        "label-noise",
        include_str!("../quick.toml"),
        &["runs.csv", "means.csv", "orthogonal_kou_test_error.csv"],
    );
}

/// One thread and two threads give the same bytes (each training set's
/// draws come from its cell's stream, whatever runs beside it).
#[test]
fn one_and_two_threads_give_identical_results() {
    let bin = env!("CARGO_BIN_EXE_label-noise");
    let good = include_str!("../quick.toml");
    let dirs: Vec<_> = ["1", "2"]
        .iter()
        .map(|t| {
            let dir = scratch(&format!("ln-threads-{t}"));
            let cfg = dir.join("config.toml");
            std::fs::write(&cfg, good).unwrap();
            let out = std::process::Command::new(bin)
                .env("RAYON_NUM_THREADS", t)
                .args(["--config", cfg.to_str().unwrap(), "--out"])
                .arg(dir.join("results"))
                .arg("--figures")
                .arg(dir.join("figures"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            dir
        })
        .collect();
    for f in [
        "runs.csv",
        "means.csv",
        "boundary.csv",
        "isotropic_interp_test_error.csv",
    ] {
        let read = |d: &std::path::Path| std::fs::read(d.join("results/label-noise").join(f)).unwrap();
        assert_eq!(read(&dirs[0]), read(&dirs[1]), "{f}: 1 thread vs 2 threads");
    }
    for d in dirs {
        std::fs::remove_dir_all(d).ok();
    }
}

/// Kou's layout: one line per d, one column per ‖μ‖, no header; the
/// benign corner (large ‖μ‖, small d) is near p and the ‖μ‖ = 0 column near 1/2.
#[test]
fn the_grid_csv_has_kous_layout_and_the_expected_corners() {
    let dir = scratch("ln-layout");
    let (ok, err) = run(env!("CARGO_BIN_EXE_label-noise"), &dir, include_str!("../quick.toml"));
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(dir.join("results/label-noise/orthogonal_interp_test_error.csv")).unwrap();
    let grid: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!((grid.len(), grid[0].len()), (4, 6), "rows d, columns ‖μ‖");
    assert!(
        (grid[0][5] - 0.1).abs() < 0.05,
        "strong signal, small d: {}",
        grid[0][5]
    );
    for row in &grid {
        assert!((row[0] - 0.5).abs() < 0.06, "‖μ‖ = 0 is a coin flip: {}", row[0]);
        assert!(
            row.iter().all(|&e| e >= 0.1 - 0.04),
            "never much below the Bayes error p: {row:?}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// GD at lr 1e200: each run's weights leave floating-point range after one
/// step (it read "converged" with test error 0.9); every run is diverged and
/// counts as test error 1.
#[test]
fn weights_beyond_range_are_diverged_with_test_error_one() {
    let dir = gengap_lab::testing::scratch("label-noise-huge-lr");
    let cfg = include_str!("../quick.toml").replace("lr = 0.1", "lr = 1e200");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_label-noise"), &dir, &cfg);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("results/label-noise/runs.csv")).unwrap();
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
