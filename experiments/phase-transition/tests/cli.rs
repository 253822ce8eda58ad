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

#[test]
fn shards_merge_to_the_unsharded_csv_and_a_killed_run_resumes_exactly() {
    use gengap::train::experiment::testing::scratch;
    use std::process::Command;
    let bin = env!("CARGO_BIN_EXE_phase-transition");
    let good = include_str!("../quick.toml");
    let run = |dir: &std::path::Path, extra: &[&str]| {
        std::fs::write(dir.join("config.toml"), good).unwrap();
        let out = Command::new(bin)
            .arg("--config")
            .arg(dir.join("config.toml"))
            .arg("--out")
            .arg(dir.join("results"))
            .arg("--figures")
            .arg(dir.join("figures"))
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let csv = |dir: &std::path::Path| std::fs::read(dir.join("results/phase-transition/main_cells.csv")).unwrap();
    let one = scratch("pt-one");
    run(&one, &[]);
    // Three shards into one results folder, then --merge.
    let sh = scratch("pt-shards");
    for k in 0..3 {
        run(&sh, &["--shard", &format!("{k}/3")]);
        assert!(
            !sh.join("results/phase-transition/main_cells.csv").exists(),
            "a shard writes no CSV"
        );
    }
    run(&sh, &["--merge"]);
    assert_eq!(
        csv(&one),
        csv(&sh),
        "3 shards merged give the unsharded CSV byte for byte"
    );
    // A run killed with SIGKILL part-way, then rerun, gives the same CSV.
    let k = scratch("pt-killed");
    std::fs::write(k.join("config.toml"), good).unwrap();
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(k.join("config.toml"))
        .arg("--out")
        .arg(k.join("results"))
        .arg("--figures")
        .arg(k.join("figures"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    run(&k, &[]);
    assert_eq!(csv(&one), csv(&k), "killed then resumed equals uninterrupted");
    for d in [one, sh, k] {
        std::fs::remove_dir_all(d).ok();
    }
}
