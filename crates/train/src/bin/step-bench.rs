//! Step benchmark: one full-space GD step, one Adam step and one reduced-space
//! GD step, against the bare two-GEMM cost, at several (d, n, m), in f32 and f64.
//!
//! Run with `cargo xtask bench [--peer numpy]` (or `cargo run --release -p
//! gengap-train --bin step-bench`). Options: `--quick` (two small sizes,
//! short timing); `--threads K[,K…]` (OpenBLAS thread counts, one table each;
//! default 1,2); `--blas-kernel portable|fastest|openblas` (the OpenBLAS
//! kernel, as for the experiment binaries; default `GENGAP_BLAS_KERNEL`, else
//! portable); `--peer-python PY`: also run the numpy implementation of the
//! same steps (`crates/train/bench/numpy_step.py`) with that interpreter, at
//! the same sizes and thread counts, and print gengap/numpy ratios;
//! `--rounds R`: time every size R times (default 3 with a peer, else 1),
//! each round gengap and then numpy at that size, and report medians (a
//! ratio as the median of the rounds' ratios, with their range).
//!
//! A second table times the linear model's step (`LinearTrainer`, the
//! implicit-bias study's) at one thread against its own numpy peer
//! (`numpy_step.py linear`), `4·n·D` flops per step.
//!
//! Flops per step are counted as `16·n·m·d` (P = 2: two GEMMs of `2·(nP)·(2m)·d`).
//! The GEMM peak is a square `1024³` GEMM of the same precision and thread
//! count, measured in the same run.

use std::hint::black_box;
use std::io::Write;

use gengap_analysis::ReducedGd;
use gengap_data::{C22Params, Dataset, Direction, NoiseKind, rng};
use gengap_model::{Batch, Cnn, CnnConfig, Real, Workspace};
use gengap_optim::{OptimConfig, Optimizer};
use ndarray::Array2;
use ndarray::linalg::general_mat_mul;

#[path = "common/linear_bench.rs"]
mod linear_bench;
#[path = "common/timing.rs"]
mod timing;
use timing::{median, median_sorted, time};

struct Row {
    d: usize,
    n: usize,
    m: usize,
    prec: &'static str,
    gemm: f64,
    gd: f64,
    adam: f64,
    reduced: Option<f64>,
    peer: Option<PeerCell>,
}

/// One round at one size: the reduced step, `(2 GEMMs, GD step, Adam
/// step)` in f64 and f32, and the numpy peer's run (if any), timed one right
/// after the other.
struct Round {
    reduced: f64,
    steps: [(f64, f64, f64); 2],
    peer: Option<Peer>,
}

/// The numpy peer at one size and precision, over the rounds: its median
/// times, and gengap/numpy per round (each round times both sides one right
/// after the other, so slow drift of the machine's speed cancels).
struct PeerCell {
    gd: f64,
    adam: f64,
    gd_ratio: Spread,
    adam_ratio: Spread,
}

/// Median, minimum and maximum of per-round values.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        Spread {
            median: median_sorted(&v),
            min: v[0],
            max: v[v.len() - 1],
        }
    }

    /// `0.95` for one round, `0.95 (0.90–1.02)` for several.
    fn show(&self) -> String {
        if self.min == self.max {
            format!("{:.2}", self.median)
        } else {
            format!("{:.2} ({:.2}–{:.2})", self.median, self.min, self.max)
        }
    }
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

/// A square GEMM's GFLOP/s: the peak the steps are measured against.
fn gemm_peak<T: Real>(budget: f64) -> f64 {
    let k = 1024;
    let a = Array2::<T>::from_shape_fn((k, k), |(i, j)| T::from_f64c(((i * 7 + j * 3) % 11) as f64 * 0.1));
    let b = a.t().to_owned();
    let mut c = Array2::<T>::zeros((k, k));
    let t = time(budget, || {
        general_mat_mul(T::one(), &a, &b, T::zero(), &mut c);
        black_box(&c);
    });
    2.0 * (k * k * k) as f64 / t / 1e9
}

/// A benchmark size and precision: `(d, n, m, prec)`.
type Size = (usize, usize, usize, String);

/// The numpy peer's times for one thread count: size → (GD step, Adam step) seconds.
struct Peer {
    label: String,
    times: Vec<(Size, (f64, f64))>,
}

/// Why the numpy peer gave no times.
#[derive(Debug, thiserror::Error)]
enum PeerError {
    /// The interpreter could not be started.
    #[error("cannot start {python}: {source}")]
    Start { python: String, source: std::io::Error },
    /// The script could not be handed to it, or it could not be waited for.
    #[error("{python}: {source}")]
    Io { python: String, source: std::io::Error },
    /// It exited with a failure.
    #[error("the numpy peer failed ({0})")]
    Status(std::process::ExitStatus),
    /// Its output is not the JSON the script prints.
    #[error("the numpy peer's output: {0}")]
    Output(#[from] serde_json::Error),
    /// Its output has no rows.
    #[error("the numpy peer printed no rows")]
    NoRows,
}

/// Run the numpy peer `crates/train/bench/numpy_step.py` (piped on stdin)
/// with `args` at `threads` OpenBLAS threads; its JSON output.
fn run_script(python: &str, threads: usize, args: &[String]) -> Result<serde_json::Value, PeerError> {
    let io = |source| PeerError::Io {
        python: python.to_string(),
        source,
    };
    let mut child = std::process::Command::new(python)
        .arg("-")
        .args(args)
        .env("OPENBLAS_NUM_THREADS", threads.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| PeerError::Start {
            python: python.to_string(),
            source,
        })?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(include_str!("../../bench/numpy_step.py").as_bytes())
        .map_err(io)?;
    let out = child.wait_with_output().map_err(io)?;
    if !out.status.success() {
        return Err(PeerError::Status(out.status));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The peer's label: `numpy <version>, <its BLAS>`.
fn peer_label(v: &serde_json::Value) -> String {
    format!(
        "numpy {}, {}",
        v["numpy"].as_str().unwrap_or("?"),
        v["blas"].as_str().unwrap_or("?")
    )
}

fn run_peer(python: &str, threads: usize, budget: f64, sizes: &[(usize, usize, usize)]) -> Result<Peer, PeerError> {
    let mut args = vec![budget.to_string()];
    args.extend(sizes.iter().map(|(d, n, m)| format!("{d},{n},{m}")));
    let v = run_script(python, threads, &args)?;
    let times = v["rows"]
        .as_array()
        .ok_or(PeerError::NoRows)?
        .iter()
        .map(|r| {
            let u = |k: &str| r[k].as_u64().unwrap_or(0) as usize;
            let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
            let prec = r["prec"].as_str().unwrap_or("?").to_string();
            ((u("d"), u("n"), u("m"), prec), (f("gd"), f("adam")))
        })
        .collect();
    Ok(Peer {
        label: peer_label(&v),
        times,
    })
}

fn fail(msg: &str) -> ! {
    eprintln!("step-bench: {msg}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter().position(|a| a == flag).map(|i| {
            args.get(i + 1)
                .cloned()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        })
    };
    let quick = args.iter().any(|a| a == "--quick");
    // May re-execute this binary once, with OPENBLAS_CORETYPE set.
    let selected = match value("--blas-kernel") {
        Some(p) => p.parse().and_then(gengap_model::select_kernel),
        None => gengap_model::select_kernel_from_env(),
    };
    selected.unwrap_or_else(|e| fail(&e.to_string()));
    let thread_counts: Vec<usize> = match value("--threads") {
        Some(v) => v
            .split(',')
            .map(|t| match t.parse::<usize>() {
                Ok(k) if k > 0 => k,
                _ => fail("--threads needs positive integers, e.g. 1,2"),
            })
            .collect(),
        None => vec![1, 2],
    };
    let python = value("--peer-python");
    let rounds = match value("--rounds") {
        Some(v) => match v.parse::<usize>() {
            Ok(r) if r > 0 => r,
            _ => fail("--rounds needs a positive integer"),
        },
        None if python.is_some() => 3,
        None => 1,
    };
    let sizes: &[(usize, usize, usize)] = if quick {
        &[(1000, 20, 10), (1000, 200, 10)]
    } else {
        &[(1000, 20, 10), (1000, 200, 10), (10_000, 100, 20), (100_000, 100, 20)]
    };
    let budget = if quick { 0.2 } else { 1.0 };
    let datasets: Vec<Dataset> = sizes
        .iter()
        .map(|&(d, n, _)| {
            C22Params {
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
            .unwrap()
        })
        .collect();
    for &threads in &thread_counts {
        gengap_model::set_blas_threads(threads);
        let info = gengap_model::BlasInfo::current();
        let peak = [gemm_peak::<f64>(budget), gemm_peak::<f32>(budget)];
        let mut rows = vec![];
        let mut peer_label = None;
        for (&(d, n, m), ds) in sizes.iter().zip(&datasets) {
            let cfg = CnnConfig {
                m,
                sigma0: 0.01,
                ..Default::default()
            };
            let w0: Array2<f64> = cfg.init(d, &mut rng::seeded(1)).unwrap();
            let mut red = ReducedGd::new(ds, &cfg, w0.view(), 1e-6, 0.0).unwrap();
            let mut runs = vec![];
            for _ in 0..rounds {
                let reduced = time(budget, || {
                    black_box(red.step());
                });
                let t64 = bench::<f64>(ds, m, budget);
                let t32 = bench::<f32>(ds, m, budget);
                let peer = python.as_deref().map(|py| {
                    let p = run_peer(py, threads, budget, &[(d, n, m)]).unwrap_or_else(|e| fail(&e.to_string()));
                    peer_label.get_or_insert_with(|| p.label.clone());
                    p
                });
                runs.push(Round {
                    reduced,
                    steps: [t64, t32],
                    peer,
                });
            }
            for (prec, pick) in [("f64", 0usize), ("f32", 1)] {
                let ours = |r: &Round| r.steps[pick];
                let peer = python.as_ref().map(|_| {
                    let theirs: Vec<(f64, f64)> = runs
                        .iter()
                        .map(|r| {
                            let p = r.peer.as_ref().expect("a peer run per round");
                            let key = (d, n, m, prec.to_string());
                            p.times
                                .iter()
                                .find(|(k, _)| *k == key)
                                .map(|(_, t)| *t)
                                .unwrap_or_else(|| fail("the numpy peer left out a size"))
                        })
                        .collect();
                    PeerCell {
                        gd: median(theirs.iter().map(|t| t.0).collect()),
                        adam: median(theirs.iter().map(|t| t.1).collect()),
                        gd_ratio: Spread::of(runs.iter().zip(&theirs).map(|(r, t)| ours(r).1 / t.0).collect()),
                        adam_ratio: Spread::of(runs.iter().zip(&theirs).map(|(r, t)| ours(r).2 / t.1).collect()),
                    }
                });
                rows.push(Row {
                    d,
                    n,
                    m,
                    prec,
                    gemm: median(runs.iter().map(|r| ours(r).0).collect()),
                    gd: median(runs.iter().map(|r| ours(r).1).collect()),
                    adam: median(runs.iter().map(|r| ours(r).2).collect()),
                    reduced: (pick == 0).then(|| median(runs.iter().map(|r| r.reduced).collect())),
                    peer,
                });
            }
        }
        if threads == thread_counts[0] {
            print_coupling(budget);
            linear_bench::print_linear(budget, python.as_deref(), rounds).unwrap_or_else(|e| fail(&e.to_string()));
        }
        print_table(&info, threads, peak, &rows, peer_label.as_deref(), rounds);
    }
}

/// The reduced solver's coupling product `G_S·Γᵀ` (`K × K` by `K × 2m`,
/// `2·K²·2m` flops): gengap's kernel against OpenBLAS's `dgemm` on the same
/// operands, one thread each, in this run.
fn print_coupling(budget: f64) {
    println!("# coupling product G·Γᵀ of the reduced solver, one thread: gengap_analysis::coupling vs dgemm");
    println!("| K | 2m | kernel GFLOP/s | dgemm GFLOP/s | kernel / dgemm time |");
    println!("|---|---|---|---|---|");
    let threads = gengap_model::BlasInfo::current().threads;
    gengap_model::set_blas_threads(1);
    for (k, w) in [(21, 20), (101, 20), (201, 20), (201, 40)] {
        let g = Array2::from_shape_fn((k, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let b = Array2::from_shape_fn((k, w), |(i, j)| ((i * 5 + j) % 7) as f64 * 0.1);
        let mut out = Array2::<f64>::zeros((k, w));
        let mut scratch = Array2::<f64>::zeros((k, w));
        let kernel = time(budget, || {
            gengap_analysis::coupling::gram_update(g.view(), b.view(), -1e-9, 1.0, &mut out, &mut scratch);
            black_box(&out);
        });
        let dgemm = time(budget, || {
            general_mat_mul(-1e-9, &g, &b, 1.0, &mut out);
            black_box(&out);
        });
        let flops = 2.0 * (k * k * w) as f64;
        println!(
            "| {k} | {w} | {:.1} | {:.1} | {:.2} |",
            flops / kernel / 1e9,
            flops / dgemm / 1e9,
            kernel / dgemm
        );
    }
    println!();
    gengap_model::set_blas_threads(threads);
}

fn print_table(
    info: &gengap_model::BlasInfo,
    threads: usize,
    peak: [f64; 2],
    rows: &[Row],
    peer: Option<&str>,
    rounds: usize,
) {
    println!(
        "# step benchmark, {threads} BLAS thread(s): {} {}, kernel {} ({}); GEMM peak (1024³) {:.1} GFLOP/s f64, {:.1} f32",
        info.library, info.version, info.kernel, info.chosen_by, peak[0], peak[1]
    );
    if let Some(p) = peer {
        println!("# peer: {p} (its own OpenBLAS, OPENBLAS_NUM_THREADS={threads})");
    }
    println!(
        "# flops/step = 16·n·m·d; times are medians of 5 batches{}; ratios < 1 mean gengap is faster",
        if rounds > 1 {
            format!(
                ", then of {rounds} rounds; a ratio is the median of the rounds' ratios (min–max), each round timing gengap and then numpy at that size"
            )
        } else {
            String::new()
        }
    );
    let (ph, pl) = if peer.is_some() {
        (
            " numpy GD (ms) | GD gengap/numpy | numpy Adam (ms) | Adam gengap/numpy |",
            "---|---|---|---|",
        )
    } else {
        ("", "")
    };
    println!(
        "| d | n | m | prec | 2 GEMMs (ms) | GD step (ms) | GD GFLOP/s | GD % of peak | GD / GEMMs | Adam step (ms) | Adam / GEMMs | reduced step (ms) | full / reduced |{ph}"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|{pl}");
    for r in rows {
        let flops = 16.0 * (r.n * r.m * r.d) as f64;
        let gflops = flops / r.gd / 1e9;
        let pk = if r.prec == "f64" { peak[0] } else { peak[1] };
        let (red, speed) = match r.reduced {
            Some(t) => (format!("{:.4}", t * 1e3), format!("{:.0}×", r.gd / t)),
            None => ("—".into(), "—".into()),
        };
        let cmp = match &r.peer {
            Some(p) => format!(
                " {:.3} | {} | {:.3} | {} |",
                p.gd * 1e3,
                p.gd_ratio.show(),
                p.adam * 1e3,
                p.adam_ratio.show()
            ),
            None => String::new(),
        };
        println!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.1} | {:.0}% | {:.2} | {:.3} | {:.2} | {} | {} |{cmp}",
            r.d,
            r.n,
            r.m,
            r.prec,
            r.gemm * 1e3,
            r.gd * 1e3,
            gflops,
            100.0 * gflops / pk,
            r.gd / r.gemm,
            r.adam * 1e3,
            r.adam / r.gemm,
            red,
            speed
        );
    }
    println!();
}
