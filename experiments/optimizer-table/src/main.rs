//! `optimizer-table` — the shape of \[P20\]'s table (Chen et al., IJCAI 2020),
//! `docs/theory.md#claims`, claim 3: test accuracy of SGD-momentum, Adam, AMSGrad, AdamW, Yogi,
//! AdaBound, Padam (and GD) on the \[C22\] and \[Z23\] tasks, mean ± std over
//! seeds. The study is [`optimizer_table::OptimizerTable`].

fn main() {
    gengap::lab::main(optimizer_table::OPTIMIZER_TABLE);
}
