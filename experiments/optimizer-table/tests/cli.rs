//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("d = 200, n = 20", "d = 10000000000000, n = 20"),
            "`tasks.c22.data.d` = 10000000000000: the run needs an estimated",
        ),
        (good.replace("seeds = 2", "seeds = 2\nsees = 1"), "sees"),
        (good.replace("seeds = 2", "seeds = 0"), "seeds"),
        // The memory check names the key that makes the estimate absurd.
        (
            good.replace("seeds = 2", "seeds = 1000000000000"),
            "`seeds` = 1000000000000",
        ),
        // Duplicates would be pooled into one mean: a repeated rate, a repeated label.
        (
            good.replace("lrs = { c22 = [0.005, 0.01, 0.02]", "lrs = { c22 = [0.01, 0.01, 0.02]"),
            "the learning rates must differ",
        ),
        (
            good.replace("label = \"AMSGrad\"", "label = \"Adam\""),
            "labels must differ",
        ),
        (
            good.replace(
                "lrs = { c22 = [0.005, 0.01, 0.02]",
                "lrs = { c22 = [-0.005, 0.01, 0.02]",
            ),
            "`optimizers[12].lrs.c22` = -0.005: every learning rate must be finite and > 0",
        ),
        (good.replace("mu_norm = 8.0", "mu_norm = nan"), "mu_norm"),
        (good.replace("[[optimizers]]", "[[optimizers]"), "config"),
        // The keys of the optimizers that claim to close the gap, and mini-batches.
        (
            good.replace("{ name = \"lion\" }", "{ name = \"lion\", betas = [1.0, 0.99] }"),
            "`betas[0]` = 1",
        ),
        (
            good.replace("{ name = \"lion\" }", "{ name = \"lion\", betas = [0.9, -0.1] }"),
            "`betas[1]` = -0.1",
        ),
        (
            good.replace("{ name = \"adabelief\" }", "{ name = \"adabelief\", eps = -1e-8 }"),
            "`eps` = -1e-8",
        ),
        (
            good.replace("batch_fraction = 0.1", "batch_fraction = 0.0"),
            "`batch_fraction` = 0",
        ),
        (
            good.replace("batch_fraction = 0.1", "batch_fraction = 1.5"),
            "`batch_fraction` = 1.5",
        ),
        (
            good.replace(
                "max_steps = 100, record = \"end\" }\n\n# [Z23]",
                "max_steps = 100, record = \"end\", batch = { size = 0 } }\n\n# [Z23]",
            ),
            "`batch.size` = 0",
        ),
        (
            good.replace(
                "train = { max_steps = 100, record = \"end\" }\n\n[[",
                "train = { max_steps = 100, record = \"end\", batch = { size = 31 } }\n\n[[",
            ),
            "`batch.size` = 31",
        ),
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

/// A run that diverges is never reported as accurate: with GD at lr = 1e300
/// every output file says so (defect: `NaN <= 0` is false, so NaN outputs
/// used to count as correct predictions and the table showed 100%).
#[test]
fn diverged_runs_are_marked_in_every_output() {
    let cfg = r#"
seed = 1
seeds = 2
[tasks.c22]
title = "[C22] task"
data = { model = "c22", d = 100, n = 10, n_test = 50, mu_norm = 8.0, sigma_p = 1.0 }
model = { m = 2, sigma0 = 0.014 }
train = { max_steps = 20, record = "end" }
[[optimizers]]
label = "GD"
optimizer = { name = "gd", lr = 0.01 }
lrs = { c22 = [1e300] }
"#;
    let dir = gengap_lab::testing::scratch("table-diverged");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_optimizer-table"), &dir, cfg);
    assert!(ok, "a diverging run is recorded, not a crash: {err}");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    // Rows as maps from the header's column names.
    let csv = |p: &str| -> Vec<std::collections::HashMap<String, String>> {
        let text = read(p);
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
        lines
            .map(|l| header.iter().cloned().zip(l.split(',').map(str::to_string)).collect())
            .collect()
    };
    let num = |row: &std::collections::HashMap<String, String>, k: &str| row[k].parse::<f64>().unwrap();
    for row in csv("results/optimizer-table/lr_grid.csv") {
        assert_eq!(row["status"], "diverged", "{row:?}");
        assert_eq!(num(&row, "test_acc"), 0.0, "test accuracy of a diverged run: {row:?}");
    }
    let runs = csv("results/optimizer-table/runs.csv");
    assert_eq!(runs.len(), 2);
    for row in runs {
        assert_eq!(row["status"], "diverged", "{row:?}");
        assert_eq!(num(&row, "train_acc"), 0.0, "{row:?}");
        assert_eq!(num(&row, "test_acc"), 0.0, "{row:?}");
    }
    let table = csv("results/optimizer-table/table.csv");
    assert_eq!(num(&table[0], "test_acc_mean"), 0.0);
    assert_eq!(table[0]["diverged"], "2");
    for md in ["results/optimizer-table/table.md", "figures/optimizer_table.md"] {
        let text = read(md);
        assert!(text.contains("0.0 ± 0.0"), "{md}: {text}");
        assert!(text.contains("2/2 diverged"), "{md}: {text}");
        assert!(!text.contains("100.0"), "{md}: {text}");
    }
    std::fs::remove_dir_all(dir).ok();
}
