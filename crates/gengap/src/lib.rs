//! # gengap — why Adam overfits where GD generalizes
//!
//! The facade crate: one dependency that re-exports the workspace's crates for
//! other lab projects.
//!
//! * [`data`] — the \[C22\] and \[Z23\] data models (signal patch + noise patches).
//! * [`model`] — the two-layer CNN with a fixed second layer, loss and gradient.
//! * [`optim`] — GD, SGD-momentum, signGD, Adam (seed and PyTorch forms),
//!   AMSGrad, AdamW, Yogi, AdaBound and Padam, with L2 or decoupled decay.
//! * [`analysis`] — the signal–noise decomposition and the exact reduced-space GD solver.
//! * [`train`] — the one training loop: observers, stopping rules, checkpoints, sweeps.
//! * [`plot`] — figure code.
//!
//! References: \[C22\] Cao, Chen, Belkin, Gu, NeurIPS 2022; \[Z23\] Zou, Cao, Li,
//! Gu, ICLR 2023; \[P20\] Chen, Zhou, Tang, Yang, Cao, Gu, IJCAI 2020.

pub use gengap_analysis as analysis;
pub use gengap_data as data;
pub use gengap_model as model;
pub use gengap_optim as optim;
pub use gengap_plot as plot;
pub use gengap_train as train;
