//! `moderate-d` — benign overfitting at moderate input dimension (Karhadkar
//! et al., NeurIPS 2024; `docs/experiments.md` §13). The study is
//! [`moderate_d::ModerateD`].

fn main() {
    gengap::lab::main(moderate_d::ModerateD);
}
