//! `noisy-mnist` — the talk's "signal patch + noise patches" model with a real
//! signal: each input's signal patch is a real MNIST digit (two classes), the
//! other patches are dense Gaussian noise. The study is
//! [`noisy_mnist::NoisyMnist`]: the GD-vs-Adam comparison and the optimizer
//! table on this task, run as one study.

fn main() {
    gengap::lab::main(noisy_mnist::NoisyMnist);
}
