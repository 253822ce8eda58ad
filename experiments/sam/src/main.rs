//! `sam` — SAM against GD where GD overfits harmfully (Chen et al., NeurIPS
//! 2023; `docs/experiments.md` §12). The study is [`sam::Sam`].

fn main() {
    gengap::lab::main(sam::Sam);
}
