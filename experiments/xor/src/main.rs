//! `xor` — benign overfitting of a two-layer ReLU CNN on XOR-type data,
//! \[M24\] (`docs/theory.md#claims`, claim 7). The study is [`xor::Xor`].

fn main() {
    gengap::lab::main(xor::Xor);
}
