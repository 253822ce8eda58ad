//! `label-noise-gd` — label-noise GD against GD in the low-SNR regime
//! (Huang et al., arXiv 2510.17526; `docs/experiments.md` §11). The study
//! is [`label_noise_gd::LabelNoiseGd`].

fn main() {
    gengap::lab::main(label_noise_gd::LabelNoiseGd);
}
