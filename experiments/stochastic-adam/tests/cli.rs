//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards, run, scratch};

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
            "results/stochastic-adam/same_steps.csv",
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
        &["grid.csv", "curves.csv", "same_steps.csv"],
    );
}

/// The same-steps control is the full-batch curve run continued: over the
/// first `epochs` steps its records are those of the `epochs`-epoch run, bit
/// for bit, and it runs to the smallest batch's step count.
#[test]
fn the_same_steps_control_continues_the_full_batch_run() {
    let dir = scratch("stochastic-adam-same-steps");
    let (ok, err) = run(
        env!("CARGO_BIN_EXE_stochastic-adam"),
        &dir,
        include_str!("../quick.toml"),
    );
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("results/stochastic-adam/curves.csv")).unwrap();
    // run,batch,step,…: the full batch (B = n = 30) of both runs, by step.
    let rows = |run: &str| -> Vec<(u64, String)> {
        csv.lines()
            .filter_map(|l| l.strip_prefix(&format!("{run},30,")))
            .map(|rest| {
                let (step, values) = rest.split_once(',').unwrap();
                (step.parse().unwrap(), values.to_string())
            })
            .collect()
    };
    let (epochs, same) = (rows("epochs"), rows("same_steps"));
    // quick.toml: 20 epochs; the smallest batch is B = 3, 10 steps an epoch.
    assert_eq!(epochs.last().unwrap().0, 20);
    assert_eq!(same.last().unwrap().0, 200);
    // The log-spaced records are shared; the 20-epoch run also records its end.
    let prefix: Vec<_> = same.iter().filter(|(s, _)| *s <= 20).cloned().collect();
    assert_eq!(prefix, epochs[..epochs.len() - 1]);
    assert!(prefix.len() >= 10);
    let table = std::fs::read_to_string(dir.join("results/stochastic-adam/same_steps.csv")).unwrap();
    assert_eq!(table.lines().count(), 1 + 2 * 2, "header, 2 optimizers × 2 λ:\n{table}");
    assert!(table.lines().skip(1).all(|l| l.contains(",200,")), "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A step so large that every run diverges: the grid CSV counts each as test
/// error 1, and the heatmaps name the diverged runs instead of painting
/// their loss in the colour of the smallest loss.
#[test]
fn diverged_runs_count_as_errors_and_are_named_on_the_figure() {
    let dir = scratch("stochastic-adam-diverged");
    let cfg = include_str!("../quick.toml").replace("lr = 1e-3", "lr = 1e300");
    let (ok, err) = run(env!("CARGO_BIN_EXE_stochastic-adam"), &dir, &cfg);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(dir.join("results/stochastic-adam/grid.csv")).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |h: &str| head.iter().position(|c| *c == h).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r[col("status")], "diverged", "{r:?}");
        assert_eq!(r[col("test_error")], "1.0", "{r:?}");
    }
    let svg = std::fs::read_to_string(dir.join("figures/stochastic_adam.svg")).unwrap();
    assert!(svg.contains("runs diverged"), "the heatmaps name the diverged runs");
    std::fs::remove_dir_all(dir).ok();
}
