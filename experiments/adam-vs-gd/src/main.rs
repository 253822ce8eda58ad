//! `adam-vs-gd` — Zou, Cao, Li, Gu (ICLR 2023, \[Z23\]), `docs/theory.md#claims`, claim 2.
//!
//! GD and Adam on the sparse-signal / dense-noise model, with L2 weight decay:
//! training curves, the signal/noise decomposition of both, and a λ sweep.
//! The work is `gengap::train::compare`; this binary reads the config,
//! runs it and writes the record.

use gengap::train::compare::{self, CompareConfig};
use gengap::train::experiment;

fn main() {
    experiment::main_sweep("adam-vs-gd", |ctx, cfg: CompareConfig| {
        if let Some(finals) = compare::run(ctx, &cfg, "adam_vs_gd")? {
            ctx.write_record("record.json", &cfg, cfg.seed, &finals)?;
        }
        Ok(())
    });
}
