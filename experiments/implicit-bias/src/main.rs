//! `implicit-bias` — the limit direction of every optimizer on separable
//! data against the max-margin separators (`docs/experiments.md` §16). The
//! study is [`implicit_bias::ImplicitBias`].

fn main() {
    gengap::lab::main(implicit_bias::ImplicitBias);
}
