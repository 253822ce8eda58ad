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

/// GD at lr = 1e300 diverges in the main run and in the λ sweep: every
/// output says so, and no diverged run has a test error below 1.
#[test]
fn diverged_runs_are_marked_in_every_output() {
    let cfg = include_str!("../quick.toml").replace("lr = 0.5", "lr = 1e300");
    let dir = gengap::train::experiment::testing::scratch("avg-diverged");
    let (ok, err) = gengap::train::experiment::testing::run(env!("CARGO_BIN_EXE_adam-vs-gd"), &dir, &cfg);
    assert!(ok, "a diverging run is recorded, not a crash: {err}");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    // lambda_sweep.csv: optimizer,lambda,status,steps,train_loss,train_error,test_error
    let sweep = read("results/adam-vs-gd/lambda_sweep.csv");
    let gd: Vec<Vec<&str>> = sweep
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .filter(|r: &Vec<&str>| r[0] == "GD")
        .collect();
    assert_eq!(gd.len(), 2);
    for r in gd {
        assert_eq!(r[2], "diverged", "{r:?}");
        assert_eq!(r[6].parse::<f64>().unwrap(), 1.0, "{r:?}");
    }
    // curves.csv: the GD curve ends diverged, with test error 1.
    let curves = read("results/adam-vs-gd/curves.csv");
    let last_gd: Vec<&str> = curves
        .lines()
        .filter(|l| l.starts_with("GD,"))
        .last()
        .expect("a GD row")
        .split(',')
        .collect();
    assert_eq!(last_gd[5].parse::<f64>().unwrap(), 1.0, "{last_gd:?}");
    let record = read("results/adam-vs-gd/record.json");
    assert!(record.contains("\"diverged\""), "{record}");
    // The figures name the diverged runs.
    assert!(read("figures/adam_vs_gd.svg").contains("GD diverged at step"));
    assert!(read("figures/adam_vs_gd_lambda.svg").contains("GD diverged at λ"));
    std::fs::remove_dir_all(dir).ok();
}
