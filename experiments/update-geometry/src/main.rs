//! `update-geometry` — the talk's noisy-MNIST slides (`docs/theory.md#claims`,
//! claim 4). The study is [`update_geometry::UpdateGeometry`].

fn main() {
    gengap::lab::main(update_geometry::UpdateGeometry);
}
