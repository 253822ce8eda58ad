//! `adam-vs-gd` — Zou, Cao, Li, Gu (ICLR 2023, \[Z23\]), `docs/theory.md#claims`, claim 2:
//! GD and Adam on the sparse-signal / dense-noise model, with L2 weight decay.
//! The study is [`adam_vs_gd::Comparison`].

fn main() {
    gengap::lab::main(adam_vs_gd::ADAM_VS_GD);
}
