//! `stochastic-adam` — Tang, Zhang, Cao, Zou (2025, \[T25\]), `docs/theory.md#claims`:
//! full-batch vs mini-batch Adam and AdamW over (batch size, weight decay) on
//! the \[Z23\] model. The study is [`stochastic_adam::StochasticAdam`].

fn main() {
    gengap::lab::main(stochastic_adam::StochasticAdam);
}
