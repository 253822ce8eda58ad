//! `phase-transition` — the \[C22\] phase transition between benign and
//! harmful overfitting (`docs/theory.md#claims`, claim 1). The study is
//! [`phase_transition::PhaseTransition`].

fn main() {
    gengap::lab::main(phase_transition::PhaseTransition);
}
