//! `benign-oscillation` — SGD with large and small learning rates on
//! weak/strong-feature data (Lu, Wu, Yang, Zou, ICLR 2024). The study is
//! [`benign_oscillation::BenignOscillation`].

fn main() {
    gengap::lab::main(benign_oscillation::BenignOscillation);
}
