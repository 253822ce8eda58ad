//! Step benchmark: one full-space GD step, one Adam step and one reduced-space
//! GD step, against the bare two-GEMM cost, at several (d, n, m), in f32 and f64.
//!
//! Run with `cargo xtask bench` (or `cargo run --release -p gengap-train --bin step-bench`).
//! Options: `--quick` (two small sizes, short timing), `--threads K` (sets
//! OpenBLAS's thread count; default: OpenBLAS's own choice).
//!
//! Flops per step are counted as `16·n·m·d` (P = 2: two GEMMs of `2·(nP)·(2m)·d`).

use std::hint::black_box;
use std::time::Instant;

use gengap_analysis::ReducedGd;
use gengap_data::{C22Params, Dataset, Direction, NoiseKind, rng};
use gengap_model::{Batch, Cnn, CnnConfig, Real, Workspace};
use gengap_optim::{OptimConfig, Optimizer};
use ndarray::Array2;
use ndarray::linalg::general_mat_mul;

/// Median seconds per call of `f`, timing batches for about `budget` seconds.
fn time(budget: f64, mut f: impl FnMut()) -> f64 {
    f();
    let t0 = Instant::now();
    f();
    let one = t0.elapsed().as_secs_f64().max(1e-7);
    let per_batch = ((budget / 5.0) / one).ceil().max(1.0) as usize;
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_secs_f64() / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[2]
}

struct Row {
    d: usize,
    n: usize,
    m: usize,
    prec: &'static str,
    gemm: f64,
    gd: f64,
    adam: f64,
    reduced: Option<f64>,
}

fn bench<T: Real>(ds: &Dataset, m: usize, budget: f64) -> (f64, f64, f64) {
    let cfg = CnnConfig {
        m,
        sigma0: 0.01,
        ..Default::default()
    };
    let d = ds.train.d();
    let cnn = Cnn::<T>::new(&cfg).unwrap();
    let b = Batch::<T>::from_split(&ds.train);
    let mut ws = Workspace::for_batch(&b, m);
    let w0: Array2<T> = cfg.init(d, &mut rng::seeded(1)).unwrap();
    let mut g = Array2::<T>::zeros(w0.dim());
    // The peer: the two GEMMs alone, on the same buffers. Timed before and
    // after the steps, keeping the faster, so warm-up does not favour either.
    let mut w = w0.clone();
    let gemms = |w: &Array2<T>, ws: &mut Workspace<T>, g: &mut Array2<T>| {
        time(budget, || {
            general_mat_mul(T::one(), &b.x, &w.t(), T::zero(), &mut ws.z);
            general_mat_mul(T::one(), &ws.dz.t(), &b.x, T::zero(), g);
            black_box(&g);
        })
    };
    let gemm_before = gemms(&w, &mut ws, &mut g);
    let mut step_with = |name: &str| {
        let mut opt = toml::from_str::<OptimConfig>(&format!("name = \"{name}\"\nlr = 1e-6"))
            .unwrap()
            .build::<T>()
            .unwrap();
        w.assign(&w0);
        time(budget, || {
            cnn.loss_grad(&w, &b, &mut ws, &mut g).unwrap();
            opt.step(w.as_slice_mut().unwrap(), g.as_slice().unwrap()).unwrap();
            black_box(&w);
        })
    };
    let gd = step_with("gd");
    let adam = step_with("adam");
    let gemm = gemm_before.min(gemms(&w, &mut ws, &mut g));
    (gemm, gd, adam)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut threads = std::env::var("OPENBLAS_NUM_THREADS").unwrap_or_else(|_| "default".into());
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        match args.get(i + 1).and_then(|v| v.parse::<usize>().ok()) {
            Some(k) if k > 0 => {
                gengap_model::set_blas_threads(k);
                threads = k.to_string();
            }
            _ => {
                eprintln!("step-bench: --threads needs a positive integer");
                std::process::exit(2);
            }
        }
    }
    let sizes: &[(usize, usize, usize)] = if quick {
        &[(1000, 20, 10), (1000, 200, 10)]
    } else {
        &[(1000, 20, 10), (1000, 200, 10), (10_000, 100, 20), (100_000, 100, 20)]
    };
    let budget = if quick { 0.2 } else { 1.0 };
    let mut rows = vec![];
    for &(d, n, m) in sizes {
        let ds = C22Params {
            d,
            n,
            n_test: 50,
            mu_norm: 10.0,
            sigma_p: 1.0,
            noise: NoiseKind::Orthogonal,
            direction: Direction::E1,
            p_flip: 0.0,
        }
        .generate(&mut rng::seeded(7))
        .unwrap();
        let cfg = CnnConfig {
            m,
            sigma0: 0.01,
            ..Default::default()
        };
        let w0: Array2<f64> = cfg.init(d, &mut rng::seeded(1)).unwrap();
        let mut red = ReducedGd::new(&ds, &cfg, w0.view(), 1e-6, 0.0).unwrap();
        let reduced = time(budget, || {
            black_box(red.step());
        });
        let (gemm, gd, adam) = bench::<f64>(&ds, m, budget);
        rows.push(Row {
            d,
            n,
            m,
            prec: "f64",
            gemm,
            gd,
            adam,
            reduced: Some(reduced),
        });
        let (gemm, gd, adam) = bench::<f32>(&ds, m, budget);
        rows.push(Row {
            d,
            n,
            m,
            prec: "f32",
            gemm,
            gd,
            adam,
            reduced: None,
        });
    }
    println!("# step benchmark (BLAS threads: {threads}); flops/step = 16·n·m·d; times are medians of 5 batches");
    println!(
        "| d | n | m | prec | 2 GEMMs (ms) | GD step (ms) | GD GFLOP/s | GD / GEMMs | Adam step (ms) | Adam / GEMMs | reduced step (ms) | full / reduced |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let flops = 16.0 * (r.n * r.m * r.d) as f64;
        let (red, speed) = match r.reduced {
            Some(t) => (format!("{:.4}", t * 1e3), format!("{:.0}×", r.gd / t)),
            None => ("—".into(), "—".into()),
        };
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.1} | {:.2} | {:.3} | {:.2} | {} | {} |",
            r.d,
            r.n,
            r.m,
            r.prec,
            r.gemm * 1e3,
            r.gd * 1e3,
            flops / r.gd / 1e9,
            r.gd / r.gemm,
            r.adam * 1e3,
            r.adam / r.gemm,
            red,
            speed
        );
    }
}
