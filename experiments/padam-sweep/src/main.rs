//! `padam-sweep` — Padam's partial adaptivity on the \[Z23\] task
//! (`docs/theory.md#claims`, claim 3). The study is [`padam_sweep::PadamSweep`].

fn main() {
    gengap::lab::main(padam_sweep::PadamSweep);
}
