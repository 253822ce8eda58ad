//! The library's switch for thread-independent results: with
//! `gengap::single_threaded_blas()`, runs made side by side on a rayon pool
//! of 2 threads are bit-identical to the same runs made one at a time.

use gengap::data::{DataConfig, rng};
use gengap::model::CnnConfig;
use gengap::optim::OptimConfig;
use gengap::train::{TrainConfig, train_run};

fn final_bits(seed: u64) -> Vec<u64> {
    let data: DataConfig = toml::from_str(
        "model = \"z23\"\nd = 300\nn = 40\nn_test = 50\nv_norm = 1.0\nsigma_p = 0.1\ns = 40\nalpha = 0.2",
    )
    .unwrap();
    let model: CnnConfig = toml::from_str("m = 8\nscale = \"one\"\nsigma0 = 0.01").unwrap();
    let opt: OptimConfig = toml::from_str("name = \"adam\"\nlr = 1e-3").unwrap();
    let train: TrainConfig = toml::from_str("max_steps = 50\nrecord = \"end\"").unwrap();
    let ds = data.generate(&mut rng::stream(seed, 0)).unwrap();
    let run = train_run(&ds, &model, &opt, &train, &mut rng::stream(seed, 1)).unwrap();
    let (last, w) = (run.record.last().unwrap(), &run.w);
    let mut bits = vec![last.train.loss.to_bits(), last.test.loss.to_bits()];
    bits.extend(w.iter().map(|v| v.to_bits()));
    bits
}

#[test]
fn single_threaded_blas_makes_parallel_runs_match_sequential_ones() {
    gengap::single_threaded_blas();
    let sequential: Vec<Vec<u64>> = (0..4).map(final_bits).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let parallel: Vec<Vec<u64>> = pool.install(|| {
        use rayon::prelude::*;
        (0..4u64).into_par_iter().map(final_bits).collect()
    });
    assert_eq!(sequential, parallel);
}
