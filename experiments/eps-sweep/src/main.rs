//! `eps-sweep` — Adam's (and AdaBelief's) `ε` from sign-like to SGD-like on
//! the \[Z23\] task (`docs/theory.md#claims`, claims 2 and 3). The study is
//! [`eps_sweep::EpsSweep`].

fn main() {
    gengap::lab::main(eps_sweep::EpsSweep);
}
