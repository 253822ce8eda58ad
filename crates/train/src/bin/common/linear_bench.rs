//! `step-bench`'s linear-model table: one full-batch GD and one Adam step of
//! logistic regression `⟨w, x⟩` (`gengap_train::LinearTrainer`, the
//! implicit-bias study's step), one thread, against the numpy peer
//! (`crates/train/bench/numpy_step.py linear`) measured in the same run.

use std::hint::black_box;

use gengap_model::{LinearData, Loss};
use gengap_optim::OptimConfig;
use gengap_train::{Dynamics, LinearTrainer};
use ndarray::Array2;

use super::timing::{median, time};
use super::{PeerError, peer_label, run_script};

/// `(D, n)` of the table.
const SIZES: [(usize, usize); 3] = [(200, 8), (1000, 20), (10_000, 100)];

fn data(dim: usize, n: usize) -> LinearData<f64> {
    let mut r = gengap_data::rng::seeded(7);
    let x = Array2::from_shape_fn((n, dim), |_| {
        gengap_data::rng::standard_normal(&mut r) / (dim as f64).sqrt()
    });
    let y: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    LinearData::new(x.view(), &y).expect("finite data, labels ±1")
}

fn step(dim: usize, n: usize, opt: &str, budget: f64) -> f64 {
    let o = toml::from_str::<OptimConfig>(&format!("name = \"{opt}\"\nlr = 1e-3"))
        .expect("a built-in optimizer")
        .build::<f64>()
        .expect("valid");
    let mut t =
        LinearTrainer::new(data(dim, n), None, vec![0.0; dim], Box::new(o), Loss::Logistic).expect("shapes fit");
    time(budget, || {
        t.evaluate().expect("finite");
        t.advance().expect("a step");
        black_box(t.weights());
    })
}

/// numpy's label and `(GD, Adam)` seconds per step at each size.
fn peer(python: &str, budget: f64) -> Result<(String, Vec<(f64, f64)>), PeerError> {
    let mut args = vec!["linear".to_string(), budget.to_string()];
    args.extend(SIZES.iter().map(|(d, n)| format!("{d},{n}")));
    let v = run_script(python, 1, &args)?;
    let times = v["rows"]
        .as_array()
        .ok_or(PeerError::NoRows)?
        .iter()
        .map(|r| {
            (
                r["gd"].as_f64().unwrap_or(f64::NAN),
                r["adam"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    Ok((peer_label(&v), times))
}

/// Print the table (medians over `rounds`, each round gengap then numpy).
pub fn print_linear(budget: f64, python: Option<&str>, rounds: usize) -> Result<(), PeerError> {
    let threads = gengap_model::BlasInfo::current().threads;
    gengap_model::set_blas_threads(1);
    let mut ours = vec![vec![]; SIZES.len()];
    let mut theirs = vec![vec![]; SIZES.len()];
    let mut label = None;
    for _ in 0..rounds {
        for (k, &(d, n)) in SIZES.iter().enumerate() {
            ours[k].push((step(d, n, "gd", budget), step(d, n, "adam", budget)));
        }
        if let Some(py) = python {
            let (l, t) = peer(py, budget)?;
            label.get_or_insert(l);
            for (k, v) in t.into_iter().enumerate() {
                theirs[k].push(v);
            }
        }
    }
    gengap_model::set_blas_threads(threads);
    println!(
        "# linear model step (implicit-bias): full-batch logistic regression, f64, one thread; fixed-order loops, no BLAS"
    );
    if let Some(l) = &label {
        println!(
            "# peer: {l} (two BLAS matrix-vector products per step, OPENBLAS_NUM_THREADS=1); ratios < 1 mean gengap is faster"
        );
    }
    let extra = if python.is_some() {
        (
            " numpy GD (µs) | GD gengap/numpy | numpy Adam (µs) | Adam gengap/numpy |",
            "---|---|---|---|",
        )
    } else {
        ("", "")
    };
    println!("| D | n | GD step (µs) | GD GFLOP/s | Adam step (µs) |{}", extra.0);
    println!("|---|---|---|---|---|{}", extra.1);
    for (k, &(d, n)) in SIZES.iter().enumerate() {
        let gd = median(ours[k].iter().map(|t| t.0).collect());
        let adam = median(ours[k].iter().map(|t| t.1).collect());
        let cmp = if theirs[k].is_empty() {
            String::new()
        } else {
            let (pg, pa) = (
                median(theirs[k].iter().map(|t| t.0).collect()),
                median(theirs[k].iter().map(|t| t.1).collect()),
            );
            let rg = median(ours[k].iter().zip(&theirs[k]).map(|(o, t)| o.0 / t.0).collect());
            let ra = median(ours[k].iter().zip(&theirs[k]).map(|(o, t)| o.1 / t.1).collect());
            format!(" {:.2} | {rg:.2} | {:.2} | {ra:.2} |", pg * 1e6, pa * 1e6)
        };
        println!(
            "| {d} | {n} | {:.2} | {:.2} | {:.2} |{cmp}",
            gd * 1e6,
            4.0 * (d * n) as f64 / gd / 1e9,
            adam * 1e6
        );
    }
    println!();
    Ok(())
}
