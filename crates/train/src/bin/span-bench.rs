//! Span-engine benchmark: one step of SAM and of momentum SGD (and plain
//! GD, as the reference) in the exact reduced engine ([`SpanTrainer`])
//! against the same step of the full-space [`Trainer`], measured in the same
//! run at d = 10³, 10⁴, 10⁵ (n = 20 and 100, m = 10, \[C22\] data, f64). The
//! reduced step costs `O(m·n²)`, so its time must not grow with `d`; the
//! full-space step is two GEMMs of `O(m·n·d)` (SAM: four).
//!
//! Run with `cargo xtask bench --span` (or `cargo run --release -p
//! gengap-train --bin span-bench`). Options: `--quick` (d = 10³ and 10⁴,
//! short timing), `--threads K` (OpenBLAS threads, default 1).

use std::hint::black_box;

use gengap_data::{C22Params, Dataset, rng};
use gengap_model::CnnConfig;
use gengap_optim::OptimConfig;
use gengap_train::{AlgorithmConfig, Dynamics, Schedule, SpanTrainer, TrainConfig, Trainer};
use ndarray::Array2;

#[path = "common/timing.rs"]
mod timing;
use timing::time;

/// One driver step (`evaluate`, then `advance`), as a run takes it.
fn step<D: Dynamics>(d: &mut D) {
    black_box(d.evaluate().expect("a healthy step"));
    d.advance().expect("a healthy step");
}

fn fail(msg: &str) -> ! {
    eprintln!("span-bench: {msg}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let threads = match args.iter().position(|a| a == "--threads").map(|i| args.get(i + 1)) {
        None => 1,
        Some(Some(t)) => t
            .parse::<usize>()
            .ok()
            .filter(|&t| t > 0)
            .unwrap_or_else(|| fail("--threads needs a positive integer")),
        Some(None) => fail("--threads needs a value"),
    };
    gengap_model::select_kernel_from_env().unwrap_or_else(|e| fail(&e.to_string()));
    gengap_model::set_blas_threads(threads);
    let info = gengap_model::BlasInfo::current();
    let dims: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let budget = if quick { 0.1 } else { 0.6 };
    let algorithms: [(&str, OptimConfig, AlgorithmConfig); 3] = [
        ("gd", OptimConfig::gd(1e-4), AlgorithmConfig::Plain),
        (
            "momentum 0.9",
            OptimConfig::sgd_momentum(1e-4, 0.9),
            AlgorithmConfig::Plain,
        ),
        (
            "sam ρ=0.05",
            OptimConfig::gd(1e-4),
            AlgorithmConfig::Sam {
                rho: 0.05,
                normalized: true,
            },
        ),
    ];
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "span-bench: one step, reduced engine vs full space, f64, m = 10, {threads} BLAS thread(s); CPU: {cpu}; BLAS: {info:?}"
    );
    println!("| algorithm | d | n | full space (ms) | reduced (ms) | full / reduced |");
    println!("|---|---|---|---|---|---|");
    for &n in &[20usize, 100] {
        for &d in dims {
            let ds: Dataset = C22Params {
                d,
                n,
                n_test: 20,
                mu_norm: 10.0,
                sigma_p: 1.0,
                ..Default::default()
            }
            .generate(&mut rng::seeded(7))
            .unwrap_or_else(|e| fail(&e.to_string()));
            let model = CnnConfig {
                m: 10,
                sigma0: 0.01,
                ..Default::default()
            };
            let w0: Array2<f64> = model
                .init(d, &mut rng::seeded(1))
                .unwrap_or_else(|e| fail(&e.to_string()));
            for (name, opt, alg) in &algorithms {
                let cfg = TrainConfig {
                    record: Schedule::End,
                    algorithm: *alg,
                    ..TrainConfig::steps(gengap_train::MAX_STEPS)
                };
                let built = opt.build::<f64>().unwrap_or_else(|e| fail(&e.to_string()));
                let mut full = Trainer::new(&ds, &model, w0.clone(), Box::new(built), cfg.clone())
                    .unwrap_or_else(|e| fail(&e.to_string()));
                let mut red =
                    SpanTrainer::new(&ds, &model, w0.view(), opt, cfg).unwrap_or_else(|e| fail(&e.to_string()));
                let t_full = time(budget, || step(&mut full));
                let t_red = time(budget, || step(&mut red));
                println!(
                    "| {name} | {d} | {n} | {:.3} | {:.4} | {:.0} |",
                    t_full * 1e3,
                    t_red * 1e3,
                    t_full / t_red
                );
            }
        }
    }
}
