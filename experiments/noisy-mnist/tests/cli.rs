//! The binary on its quick config over a fake digit cache written here, and on
//! bad configs (one line, exit 1, no files).

use gengap::data::mnist::{IMAGES, LABELS, write_idx};
use gengap_lab::testing::{check_cli, scratch};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    // 60 fake 28×28 "digits", labels alternating 3 and 8.
    let cache = scratch("noisy-mnist-cache");
    let pix: Vec<u8> = (0..60 * 784).map(|i| ((i * 7919) % 251) as u8).collect();
    let labels: Vec<u8> = (0..60).map(|i| if i % 2 == 0 { 3 } else { 8 }).collect();
    write_idx(&cache.join(IMAGES), &[60, 28, 28], &pix).unwrap();
    write_idx(&cache.join(LABELS), &[60], &labels).unwrap();
    let dir = format!("data_dir = \"{}\", digits", cache.display());
    let good = include_str!("../quick.toml")
        .replace(
            "digits = [3, 8]\n",
            &format!("data_dir = \"{}\"\ndigits = [3, 8]\n", cache.display()),
        )
        .replace(
            "data = { model = \"noisy_mnist\", digits",
            &format!("data = {{ model = \"noisy_mnist\", {dir}"),
        );
    let bad = vec![
        (
            good.replace("[compare.train]", "[compare.train]\nmax_stepz = 3"),
            "max_stepz",
        ),
        // More digits than the cache holds: found in the setup, named by the
        // key the user wrote (it said `n_test` = n + n_test), nothing written.
        (good.replacen("n = 12", "n = 100000", 1), "`n` = 100000"),
        (good.replace("n = 12\n", "n = 0\n"), "`n` = 0"),
        (good.replace("lr = 0.05", "lr = -0.05"), "`lr` = -0.05"),
        (good.replace("lr = 0.05", "lr = nan"), "`lr` = NaN"),
        (good.replace("[compare.gd]", "[compare.gd"), "config"),
        (good.replace("digits = [3, 8]\n", "digits = [3, 3]\n"), "digits"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_noisy-mnist"),
        "noisy-mnist",
        &good,
        &bad,
        &[
            "results/noisy-mnist/curves.csv",
            "results/noisy-mnist/table_table.md",
            "figures/noisy_mnist.png",
            "figures/noisy_mnist_table.md",
        ],
    );
    // A missing cache is one clear line, not a panic.
    let missing = good.replace(&cache.display().to_string(), "/nonexistent/mnist");
    let d = scratch("noisy-mnist-missing");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_noisy-mnist"), &d, &missing);
    assert!(!ok && err.contains("fetch-mnist") && err.lines().count() == 1, "{err}");
    std::fs::remove_dir_all(cache).ok();
}
