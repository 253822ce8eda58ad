//! The binary on its quick config, and on bad configs (one line, exit 1, no files).

use gengap_lab::testing::{check_cli, check_shards};

#[test]
fn quick_config_runs_and_bad_configs_fail_cleanly() {
    let good = include_str!("../quick.toml");
    let bad = vec![
        (
            good.replace("d = 200", "d = 10000000000000"),
            "`data.d` = 10000000000000: the run needs an estimated",
        ),
        (good.replace("[lambda_sweep]", "[lambda_sweep]\nlambdaz = 1"), "lambdaz"),
        (good.replace("n = 30", "n = 0"), "`n` = 0"),
        (good.replace("lr = 0.5", "lr = -0.5"), "`lr` = -0.5"),
        (good.replace("lr = 0.5", "lr = nan"), "`lr` = NaN"),
        (good.replace("[train]", "[train"), "config"),
        (
            good.replace("lambdas = [0.0, 1e-2]", "lambdas = [0.0, -1.0]"),
            "lambdas",
        ),
        // Mini-batch: 1 <= B <= n, and no unknown key.
        (
            good.replace("[train]", "[train]\nbatch = { size = 0 }"),
            "`batch.size` = 0",
        ),
        (
            good.replace("[train]", "[train]\nbatch = { size = 31 }"),
            "`batch.size` = 31",
        ),
        (
            good.replace("[train]", "[train]\nbatch = { size = 5, shuffle = false }"),
            "shuffle",
        ),
        (
            good.replace("name = \"adam_seed\"", "name = \"lion\"\nbetas = [0.9, 1.0]"),
            "betas",
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
    let dir = gengap_lab::testing::scratch("avg-diverged");
    let (ok, err) = gengap_lab::testing::run(env!("CARGO_BIN_EXE_adam-vs-gd"), &dir, &cfg);
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
        .rfind(|l| l.starts_with("GD,"))
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

/// `record.json` names the commit the binary was built from, not the commit
/// of the directory it runs in (defect: it ran `git rev-parse HEAD` in the
/// current directory), and the binary's own path.
#[test]
fn provenance_names_the_build_commit_wherever_the_binary_runs() {
    let git = |dir: &std::path::Path, args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(["-c", "user.email=t@example.org", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let ours = git(std::path::Path::new(env!("CARGO_MANIFEST_DIR")), &["rev-parse", "HEAD"]);
    // Another repository, with a commit of its own, as the working directory.
    let dir = gengap_lab::testing::scratch("avg-provenance");
    git(&dir, &["init", "-q"]);
    std::fs::write(dir.join("other.txt"), "another project").unwrap();
    git(&dir, &["add", "other.txt"]);
    git(&dir, &["commit", "-qm", "other"]);
    let theirs = git(&dir, &["rev-parse", "HEAD"]);
    let bin = env!("CARGO_BIN_EXE_adam-vs-gd");
    let mut cmd = gengap_lab::testing::command(bin, &dir, include_str!("../quick.toml"), &[]);
    let out = cmd.current_dir(&dir).output().expect("run the binary");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results/adam-vs-gd/record.json")).unwrap()).unwrap();
    let p = &record["provenance"];
    let commit = p["git_commit"].as_str().unwrap();
    assert!(commit.starts_with(&ours), "built from {ours}, recorded {commit}");
    assert!(!commit.contains(&theirs), "the working directory's commit was recorded");
    assert_eq!(p["dirty"].as_bool().unwrap(), commit.ends_with("-dirty"));
    let recorded_bin = std::fs::canonicalize(p["binary"].as_str().unwrap()).unwrap();
    assert_eq!(recorded_bin, std::fs::canonicalize(bin).unwrap());
    assert_eq!(p["version"].as_str().unwrap(), env!("CARGO_PKG_VERSION"));
    std::fs::remove_dir_all(dir).ok();
}

/// The record names the BLAS that computed it, and who chose the kernel:
/// gengap's portable policy by default (Haswell wherever the CPU runs it),
/// never over the user's `OPENBLAS_CORETYPE`.
#[test]
fn the_record_names_the_blas_kernel_and_who_chose_it() {
    let cfg = include_str!("../quick.toml");
    let blas = |name: &str, env: &[(&str, &str)], extra: &[&str]| -> serde_json::Value {
        let dir = gengap_lab::testing::scratch(name);
        let mut cmd = gengap_lab::testing::command(env!("CARGO_BIN_EXE_adam-vs-gd"), &dir, cfg, extra);
        cmd.env_remove("OPENBLAS_CORETYPE")
            .env_remove("GENGAP_BLAS_KERNEL")
            .env_remove("GENGAP_BLAS_KERNEL_SELECTED");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("start the binary");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(dir.join("results/adam-vs-gd/record.json")).expect("record.json");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["provenance"]["blas"].clone()
    };
    let portable = blas("blas-portable", &[], &[]);
    assert_eq!(portable["library"], "OpenBLAS");
    assert_eq!(portable["threads"], 1, "the cells run one BLAS thread each");
    assert!(portable["version"].as_str().unwrap().starts_with("0."), "{portable}");
    if gengap::model::cpu_kernels().contains(&gengap::model::Kernel::Haswell) {
        assert_eq!(portable["kernel"], "Haswell", "{portable}");
        assert_eq!(portable["chosen_by"], "gengap:portable", "{portable}");
    }
    let own = blas("blas-openblas", &[], &["--blas-kernel", "openblas"]);
    assert_eq!(own["chosen_by"], "openblas", "{own}");
    // The user's variable is left alone, even when the policy would pick another kernel.
    // (The kernel OpenBLAS detects in this test process: one this CPU surely runs.)
    let detected = gengap::model::blas_kernel();
    let user = blas("blas-user", &[("OPENBLAS_CORETYPE", detected.as_str())], &[]);
    assert_eq!(user["kernel"].as_str().unwrap().to_lowercase(), detected.to_lowercase());
    assert_eq!(user["chosen_by"], "user", "{user}");
}

/// `[output] arrays = true` writes the final weights, the decomposition and
/// the data set as `.npz`; loaded back, they are the arrays of the same run
/// in memory, bit for bit.
#[test]
fn arrays_written_as_npz_are_the_runs_arrays() {
    use gengap::analysis::{Basis, Decomposer};
    use gengap::ndarray::{Array1, Array2, Array3};
    use gengap::train::train_from;
    use ndarray_npy::NpzReader;

    let text = format!("{}\n[output]\narrays = true\n", include_str!("../quick.toml"));
    let dir = gengap_lab::testing::scratch("avg-arrays");
    // One BLAS kernel on both sides of the comparison: OpenBLAS's own choice
    // (or the user's OPENBLAS_CORETYPE), as in this test process.
    let bin = env!("CARGO_BIN_EXE_adam-vs-gd");
    let (ok, err) = gengap_lab::testing::run_with(bin, &dir, &text, &["--blas-kernel", "openblas"]);
    assert!(ok, "{err}");
    let arrays = dir.join("results/adam-vs-gd/arrays");
    let open = |f: &str| NpzReader::new(std::fs::File::open(arrays.join(f)).unwrap()).unwrap();

    // The same setup in memory: the data set, then W0, from the setup stream.
    let whole: gengap_lab::Configured<adam_vs_gd::CompareConfig> = toml::from_str(&text).unwrap();
    let cfg = whole.study;
    let mut setup = gengap::data::rng::stream(whole.run.seed, gengap::lab::streams::SETUP_STREAM);
    let ds = cfg.data.generate(&mut setup).unwrap();
    let w0 = cfg.model.init::<f64, _>(ds.train.d(), &mut setup).unwrap();

    let mut data = open("data.npz");
    let x: Array3<f64> = data.by_name("train_x").unwrap();
    let y_clean: Array1<f64> = data.by_name("train_y_clean").unwrap();
    let noise_patches: Array2<i64> = data.by_name("train_noise_patches").unwrap();
    let w0_file: Array2<f64> = data.by_name("W0").unwrap();
    assert_eq!(x, ds.train.x);
    assert_eq!(y_clean, ds.train.y_clean);
    assert_eq!(noise_patches, ds.train.noise_patches.mapv(|k| k as i64));
    assert_eq!(w0_file, w0);

    // Cell 0 is the GD main run: its W and decomposition.
    let cells = std::fs::read_to_string(arrays.join("cells.json")).unwrap();
    assert!(
        cells.contains("\"file\": \"cell-00000.npz\"") && cells.contains("\"which\": \"GD\""),
        "{cells}"
    );
    let train = gengap::train::TrainConfig {
        decompose: true,
        ..cfg.train.clone()
    };
    let (_, w) = train_from(&ds, &cfg.model, &cfg.gd, &train, &w0).unwrap();
    let dec = Decomposer::new(Basis::from_dataset(&ds), w0.view())
        .unwrap()
        .decompose(w.view())
        .unwrap();
    let mut cell = open("cell-00000.npz");
    let w_file: Array2<f64> = cell.by_name("W").unwrap();
    assert_eq!(w_file.dim(), (2 * cfg.model.m, ds.train.d()));
    assert_eq!(w_file, w);
    let gamma: Array1<f64> = cell.by_name("gamma").unwrap();
    let rho: Array2<f64> = cell.by_name("rho").unwrap();
    assert_eq!(gamma, dec.gamma);
    assert_eq!(rho, dec.rho);
    // One file per cell: 2 main runs + 2 optimizers × 2 λ.
    let npz = std::fs::read_dir(&arrays)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("cell-"));
    assert_eq!(npz.count(), 6);
    std::fs::remove_dir_all(dir).ok();
}
