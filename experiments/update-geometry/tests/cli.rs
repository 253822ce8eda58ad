//! The binary on its config over a fake digit written here: the cosines meet
//! the claim (GD ∝ x, Adam ≈ sign x); bad configs fail with one line.

use gengap::data::mnist::{IMAGES, LABELS, write_idx};
use gengap_lab::testing::{check_cli, scratch};

#[test]
fn cosines_meet_the_claim_and_bad_configs_fail_cleanly() {
    let cache = scratch("update-geometry-cache");
    let pix: Vec<u8> = (0..2 * 784).map(|i| if (i % 784) % 5 == 0 { 255 } else { 0 }).collect();
    write_idx(&cache.join(IMAGES), &[2, 28, 28], &pix).unwrap();
    write_idx(&cache.join(LABELS), &[2], &[3, 8]).unwrap();
    let good = format!("data_dir = \"{}\"\n{}", cache.display(), include_str!("../quick.toml"));
    let bad = vec![
        (good.replace("steps = 5", "steps = 5\nstepz = 1"), "stepz"),
        (good.replace("steps = 5", "steps = 0"), "`steps` = 0"),
        (good.replace("lr = 0.1", "lr = -0.1"), "`lr` = -0.1"),
        (good.replace("noise_sigma = 0.3", "noise_sigma = nan"), "noise_sigma"),
        (good.replace("digit = 3", "digit = 3 3"), "config"),
        // Found in the setup (the cache holds one 3): one line, and no empty
        // `out/update-geometry/` left behind.
        (good.replace("index = 0", "index = 100000000"), "`index` = 100000000"),
    ];
    check_cli(
        env!("CARGO_BIN_EXE_update-geometry"),
        "update-geometry",
        &good,
        &bad,
        &[
            "results/update-geometry/pixels.csv",
            "figures/update_geometry.png",
            "figures/update_geometry.svg",
        ],
    );
    // Rerun to read the cosines.
    let d = scratch("update-geometry-cos");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_update-geometry"), &d, &good);
    assert!(ok, "{err}");
    let rec = std::fs::read_to_string(d.join("results/update-geometry/record.json")).unwrap();
    let get = |k: &str| -> f64 {
        let i = rec.find(&format!("\"{k}\": ")).unwrap() + k.len() + 4;
        rec[i..].split([',', '\n']).next().unwrap().trim().parse().unwrap()
    };
    assert!(get("cos_gd_x") > 0.999999, "GD update is a multiple of x");
    assert!(get("cos_adam_sign_x") > 0.99, "Adam update is ≈ sign(x)");
    assert!(get("cos_adam_x") < 0.95 && get("cos_gd_sign_x") < 0.95);
    // A huge Adam step: the update is ≈ 1e160·sign(x) and its cosine with
    // sign(x) is still ≈ 1 (its squared norm overflowed, and the cosine read 0).
    let huge = scratch("update-geometry-huge");
    let big = good.replace(
        "adam = { name = \"adam\", lr = 1e-5 }",
        "adam = { name = \"adam\", lr = 1e160 }",
    );
    assert_ne!(big, good);
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_update-geometry"), &huge, &big);
    assert!(ok, "{err}");
    let rec = std::fs::read_to_string(huge.join("results/update-geometry/record.json")).unwrap();
    let i = rec.find("\"cos_adam_sign_x\": ").unwrap() + "\"cos_adam_sign_x\": ".len();
    let c: f64 = rec[i..].split([',', '\n']).next().unwrap().trim().parse().unwrap();
    assert!(c > 0.99, "cos(Adam, sign x) at lr 1e160 = {c}");
    std::fs::remove_dir_all(huge).ok();
    std::fs::remove_dir_all(cache).ok();
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn help_exits_zero_and_outputs_are_checked_first() {
    gengap_lab::testing::check_help_and_outputs(
        env!("CARGO_BIN_EXE_update-geometry"),
        "update-geometry",
        // An absolute data_dir: the config loads; the digits are not read
        // because the figures check comes first.
        &format!(
            "data_dir = \"{}\"\n{}",
            std::env::temp_dir().display(),
            include_str!("../quick.toml")
        ),
        false,
    );
}

/// A relative `data_dir` is found from the config file's folder upward, not
/// from the current directory; a missing one names every path tried.
#[test]
fn relative_data_dir_resolves_against_the_config_file() {
    let root = scratch("update-geometry-relative");
    let cache = root.join("mnist-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let pix: Vec<u8> = (0..2 * 784).map(|i| if (i % 784) % 5 == 0 { 255 } else { 0 }).collect();
    write_idx(&cache.join(IMAGES), &[2, 28, 28], &pix).unwrap();
    write_idx(&cache.join(LABELS), &[2], &[3, 8]).unwrap();
    let exp = root.join("experiments").join("update-geometry");
    std::fs::create_dir_all(&exp).unwrap();
    let elsewhere = scratch("update-geometry-cwd");
    let run = |data_dir: &str| {
        std::fs::write(
            exp.join("config.toml"),
            format!("data_dir = \"{data_dir}\"\n{}", include_str!("../quick.toml")),
        )
        .unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_update-geometry"))
            .arg("--config")
            .arg(exp.join("config.toml"))
            .arg("--out")
            .arg(root.join("out"))
            .arg("--figures")
            .arg(root.join("figs"))
            .current_dir(&elsewhere)
            .output()
            .unwrap()
    };
    let ok = run("mnist-cache");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bad = run("no-such-cache");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    let tried = exp.join("no-such-cache").display().to_string();
    assert!(err.contains("tried") && err.contains(&tried), "{err}");
    std::fs::remove_dir_all(root).ok();
    std::fs::remove_dir_all(elsewhere).ok();
}
