//! The noisy-MNIST study: [`adam_vs_gd::Comparison`] (GD vs Adam curves,
//! the decomposition on the basis {class-mean difference, the training
//! digits but one, every noise patch}, a λ sweep) and
//! [`optimizer_table::OptimizerTable`] (the seven-optimizer table) on the
//! same kind of task, as one study: one seed, one command line, one journal.
//!
//! The composition is the pattern for any study made of two: the cells and
//! rows are the two studies' side by side, the setup draws the comparison's
//! shared data first and then the table's, and each part reports its own.

use adam_vs_gd::{CompareConfig, Comparison};
use gengap::lab::memory::MemoryEstimate;
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::train::RunRecord;
use optimizer_table::{OptimizerTable, TableConfig};
use serde::{Deserialize, Serialize};

const COMPARE: Comparison = Comparison {
    name: "noisy-mnist",
    data_file: "compare_data.npz",
};
const TABLE: OptimizerTable = OptimizerTable {
    name: "noisy-mnist",
    prefix: "table_",
    markdown: "noisy_mnist_table.md",
};

/// The `noisy-mnist` configuration: `[compare]` and `[table]`; the run-level
/// `seed` and `[output]` at the top (the lab's, one for both parts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// GD vs Adam on the noisy-MNIST task.
    pub compare: CompareConfig,
    /// The optimizer table on the same kind of task.
    pub table: TableConfig,
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        self.compare.validate().map_err(|e| e.at("[compare]"))?;
        self.table.validate().map_err(|e| e.at("[table]"))?;
        Ok(())
    }

    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), LabError> {
        self.compare.resolve_paths(config_dir).map_err(|e| e.at("[compare]"))?;
        self.table.resolve_paths(config_dir).map_err(|e| e.at("[table]"))
    }

    /// The comparison's data and the table's are held at once; their runs
    /// share the parallel cells.
    fn memory(&self) -> Option<MemoryEstimate> {
        let c = self.compare.memory().map(|e| e.under("compare"));
        let t = self.table.memory().map(|e| e.under("table"));
        match (c, t) {
            (Some(c), Some(t)) => Some(c.plus(t)),
            (c, t) => c.or(t),
        }
    }
}

/// A cell of either part.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Cell {
    /// A comparison run.
    Compare(adam_vs_gd::Cell),
    /// A table run.
    Table(optimizer_table::Cell),
}

/// Both parts' results (in `record.json`).
#[derive(Debug, Serialize)]
pub struct Results {
    compare: Vec<adam_vs_gd::Final>,
    table: Vec<optimizer_table::Summary>,
}

/// The noisy-MNIST study.
#[derive(Debug, Clone, Copy)]
pub struct NoisyMnist;

type Shared = (adam_vs_gd::Shared, optimizer_table::Shared);

fn split<A: Copy>(rows: &[(Cell, RunRecord)], pick: impl Fn(&Cell) -> Option<A>) -> Vec<(A, RunRecord)> {
    rows.iter()
        .filter_map(|(c, r)| pick(c).map(|a| (a, r.clone())))
        .collect()
}

fn compare_cell(c: &Cell) -> Option<adam_vs_gd::Cell> {
    match c {
        Cell::Compare(x) => Some(*x),
        Cell::Table(_) => None,
    }
}

fn table_cell(c: &Cell) -> Option<optimizer_table::Cell> {
    match c {
        Cell::Table(x) => Some(*x),
        Cell::Compare(_) => None,
    }
}

impl Setup<Config> for Shared {
    fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
        Ok((Setup::setup(&cfg.compare, rng)?, Setup::setup(&cfg.table, rng)?))
    }
}

impl Study for NoisyMnist {
    type Config = Config;
    type Shared = Shared;
    type Cell = Cell;
    type Row = RunRecord;
    type Summary = Results;

    fn name(&self) -> &str {
        "noisy-mnist"
    }

    fn cells(&self, cfg: &Config, sh: &Shared) -> Vec<Cell> {
        let c = COMPARE.cells(&cfg.compare, &sh.0).into_iter().map(Cell::Compare);
        let t = TABLE.cells(&cfg.table, &sh.1).into_iter().map(Cell::Table);
        c.chain(t).collect()
    }

    fn follow_up(&self, cfg: &Config, sh: &Shared, first: &[(Cell, RunRecord)]) -> Vec<Cell> {
        let table = split(first, table_cell);
        TABLE
            .follow_up(&cfg.table, &sh.1, &table)
            .into_iter()
            .map(Cell::Table)
            .collect()
    }

    fn run(
        &self,
        cfg: &Config,
        sh: &Shared,
        cell: &Cell,
        r: &mut CellRng,
        keep: &mut Arrays,
    ) -> Result<RunRecord, StudyError> {
        match cell {
            Cell::Compare(c) => COMPARE.run(&cfg.compare, &sh.0, c, r, keep),
            Cell::Table(c) => TABLE.run(&cfg.table, &sh.1, c, r, keep),
        }
    }

    fn report(&self, cfg: &Config, sh: &Shared, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Results, LabError> {
        let compare = COMPARE.report(&cfg.compare, &sh.0, &split(rows, compare_cell), ctx)?;
        let table = TABLE.report(&cfg.table, &sh.1, &split(rows, table_cell), ctx)?;
        Ok(Results { compare, table })
    }
}
