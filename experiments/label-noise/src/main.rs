//! `label-noise` — benign overfitting of a two-layer ReLU CNN with
//! label-flipping noise, \[K23\] (`docs/theory.md#claims`, claim 6). The
//! study is [`label_noise::LabelNoise`].

fn main() {
    gengap::lab::main(label_noise::LabelNoise);
}
