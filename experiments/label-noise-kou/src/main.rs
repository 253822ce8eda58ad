//! `label-noise-kou` — \[K23\]'s label-noise boundary with Kou's script
//! matched one difference at a time. The study is
//! [`label_noise_kou::LabelNoiseKou`].

fn main() {
    gengap::lab::main(label_noise_kou::LabelNoiseKou);
}
