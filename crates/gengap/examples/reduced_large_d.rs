//! GD on the \[C22\] model at `d = 10⁶` without ever holding the data: the
//! Gram products are accumulated over column blocks
//! (`C22Params::blocked_products`), and the exact reduced-space solver runs
//! from them (`docs/theory.md#reduced-space-recursion`). Memory is
//! independent of `d`; the population test error is exact up to Monte Carlo.
//!
//! `cargo run --release -p gengap --example reduced_large_d`

use gengap::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    single_threaded_blas();
    let d = 1_000_000;
    let sigma_p = 1.0;
    let model = CnnConfig {
        m: 5,
        sigma0: 0.01 / (d as f64 / 2000.0).sqrt(),
        ..Default::default()
    };
    // Two signal strengths either side of the benign/harmful boundary at n = 20.
    for snr in [0.15, 0.6] {
        let data = C22Params {
            d,
            n: 20,
            n_test: 1,
            mu_norm: snr * sigma_p * (d as f64).sqrt(),
            sigma_p,
            ..Default::default()
        };
        let start = std::time::Instant::now();
        let blocked = data.blocked_products(model.sigma0, 2 * model.m, &mut rng::stream(7, 0))?;
        let mut gd = ReducedGd::from_blocked(&blocked, &model, 0.01 * 2000.0 / d as f64, 0.0)?;
        let stop = Stop::to_loss(20_000, 0.01);
        let run = drive(&mut gd, stop, Schedule::End, &mut [])?; // the same driver as full-space training
        let test_error = gd.gaussian_test_error(sigma_p, 4000, &mut rng::stream(7, 1));
        println!(
            "d = {d}, SNR = {snr}: {:?} after {} steps, train loss {:.3e}, test error {test_error:.3} ({:.1} s)",
            run.status,
            run.steps,
            run.final_record()?.train.loss,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
