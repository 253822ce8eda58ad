//! `noisy-mnist` — the talk's "signal patch + noise patches" model with a real
//! signal: each input's signal patch is a real MNIST digit (two classes), the
//! other patches are dense Gaussian noise. The same two-layer CNN, few
//! training images (over-parameterized), held-out digits for testing.
//!
//! Runs `gengap::train::compare` (GD vs Adam curves, the decomposition on the
//! basis {class-mean difference, the training digits but one, every noise
//! patch}, a λ sweep) and `gengap::train::table` (the seven-optimizer table on
//! this task).

use gengap::train::compare::{self, CompareConfig};
use gengap::train::experiment::{self, ExperimentError, Validate};
use gengap::train::table::{self, TableConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// GD vs Adam on the noisy-MNIST task.
    compare: CompareConfig,
    /// The optimizer table on the same kind of task.
    table: TableConfig,
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ExperimentError> {
        self.compare.validate().map_err(|e| e.at("[compare]"))?;
        self.table.validate().map_err(|e| e.at("[table]"))
    }

    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), ExperimentError> {
        self.compare.resolve_paths(config_dir).map_err(|e| e.at("[compare]"))?;
        self.table.resolve_paths(config_dir).map_err(|e| e.at("[table]"))
    }

    /// The comparison and the table run one after the other.
    fn memory(&self) -> Option<gengap::train::memory::MemoryEstimate> {
        let c = self.compare.memory().map(|e| e.under("compare"));
        let t = self.table.memory().map(|e| e.under("table"));
        match (c, t) {
            (Some(c), Some(t)) => Some(c.max(t)),
            (c, t) => c.or(t),
        }
    }
}

fn main() {
    experiment::main_sweep("noisy-mnist", |ctx, cfg: Config| {
        #[derive(Serialize)]
        struct Results {
            compare: Vec<compare::Final>,
            table: Vec<table::Summary>,
        }
        let compare = compare::run(ctx, &cfg.compare, "noisy_mnist")?;
        let table = table::run(ctx, &cfg.table, "table_", "noisy_mnist_table.md")?;
        if let (Some(compare), Some(table)) = (compare, table) {
            ctx.write_record("record.json", &cfg, cfg.compare.seed, &Results { compare, table })?;
        }
        Ok(())
    });
}
