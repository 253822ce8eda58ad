//! Train the two-layer CNN on \[Z23\] data with GD, Padam and Adam from the
//! same `W⁽⁰⁾` (GD and Padam at learning rates from `padam-sweep`), and print where each put its weight: signal learning
//! (`max ⟨w, j·v⟩`) against noise memorization (`min_i max_r ⟨w, ξ_i⟩`).
//!
//! `cargo run --release -p gengap --example padam_vs_adam`

use gengap::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    select_blas_kernel()?; // the binaries' kernel (may re-execute once) ...
    single_threaded_blas(); // ... and thread count: their bits, whatever the machine
    let data = DataConfig::Z23(Z23Params {
        d: 400,
        n: 60,
        n_test: 500,
        s: 40,
        ..Default::default()
    });
    let ds = data.generate(&mut rng::stream(2023, 0))?;
    let model = CnnConfig {
        m: 10,
        scale: OutputScale::One,
        ..Default::default()
    };
    let w0 = model.init::<f64, _>(ds.train.d(), &mut rng::stream(2023, 1))?;
    let decomposer = Decomposer::new(Basis::from_dataset(&ds), w0.view())?;
    let train = TrainConfig::steps(2000);

    println!("optimizer        train loss  test error  signal ⟨w,jv⟩  noise ⟨w,ξ⟩  residual");
    for (label, opt) in [
        ("GD", OptimConfig::gd(0.5)),
        ("Padam p = 1/8", OptimConfig::padam(0.06, 0.125)),
        ("Adam", OptimConfig::adam(1e-3)),
    ] {
        let (record, w) = train_from(&ds, &model, &opt, &train, &w0)?;
        let last = record.final_record()?;
        let summary = decomposer.decompose(w.view())?.summary(decomposer.basis());
        println!(
            "{label:<15}  {:>10.2e}  {:>10.3}  {:>13.3}  {:>11.3}  {:>8.3}",
            last.train.loss, last.test.error, summary.signal_inner, summary.noise_inner, summary.residual
        );
    }
    Ok(())
}
