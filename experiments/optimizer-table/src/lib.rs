//! \[P20\]'s optimizer table, in shape: test accuracy of several optimizers
//! on several tasks, mean ± std over seeds, with per-optimizer learning rates
//! chosen on seed 0 by final *training* loss (test data is never used to
//! choose). All optimizers see the same data and `W⁽⁰⁾` for a given seed.
//! Shared by the `optimizer-table` and `noisy-mnist` experiments.
//!
//! As a [`Study`]: the setup draws, for every (task, seed), the data set and
//! `W⁽⁰⁾` from the setup stream (so every optimizer of a seed starts from the
//! same point); the cells are the learning-rate grid on seed 0; the
//! follow-up cells are the other seeds at each optimizer's chosen rate.

use std::collections::BTreeMap;

use gengap::data::{DataConfig, Dataset};
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Setup, SetupRng, Study, StudyError, Validate, resolve_dir};
use gengap::model::CnnConfig;
use gengap::ndarray::Array2;
use gengap::optim::OptimConfig;
use gengap::train::{MiniBatch, RunRecord, Status, TrainConfig, best_per_group, train_from_stream};
use serde::{Deserialize, Serialize};

/// The table configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Seeds per (task, optimizer) (≥ 5 for the table).
    pub seeds: usize,
    /// Tasks by name (column order = name order).
    pub tasks: BTreeMap<String, Task>,
    /// Optimizers (row order as listed).
    pub optimizers: Vec<Entry>,
}

/// One task (a column).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Column heading.
    pub title: String,
    /// The data model.
    pub data: DataConfig,
    /// The network.
    pub model: CnnConfig,
    /// Steps.
    pub train: TrainConfig,
}

/// One optimizer (a row).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Row label.
    pub label: String,
    /// The optimizer; its `lr` is replaced by each value of the task's grid.
    pub optimizer: OptimConfig,
    /// Learning-rate grid per task name.
    pub lrs: BTreeMap<String, Vec<f64>>,
    /// Mini-batch training for this row: the batch size as a fraction of
    /// each task's `n`, `B = round(fraction·n)` clamped to `1..=n`, for the
    /// task's `max_steps` optimizer steps (`max_steps·B/n` epochs); the
    /// batch order comes from the cell's stream. Absent: the task's `[train]`.
    #[serde(default)]
    pub batch_fraction: Option<f64>,
}

impl Entry {
    /// The training config of this row on task `t`.
    pub fn train(&self, t: &Task) -> TrainConfig {
        let n = t.data.n();
        match self.batch_fraction {
            Some(f) => TrainConfig {
                batch: Some(MiniBatch::fraction_of(f, n)),
                ..t.train.clone()
            },
            None => t.train.clone(),
        }
    }
}

impl Validate for TableConfig {
    fn validate(&self) -> Result<(), LabError> {
        if self.seeds == 0 {
            return Err(LabError::invalid("seeds", 0, "must be >= 1"));
        }
        if self.tasks.is_empty() {
            return Err(LabError::invalid("tasks", "{}", "must not be empty"));
        }
        if self.optimizers.is_empty() {
            return Err(LabError::invalid("optimizers", "[]", "must not be empty"));
        }
        for (name, t) in &self.tasks {
            let at = |part: &str| format!("[tasks.{name}.{part}]");
            t.data.validate().map_err(|e| LabError::from(e).at(at("data")))?;
            t.model.validate().map_err(|e| LabError::from(e).at(at("model")))?;
            t.train
                .validate_for(t.data.n())
                .map_err(|e| LabError::from(e).at(at("train")))?;
        }
        for (i, e) in self.optimizers.iter().enumerate() {
            let at = format!("optimizer `{}`:", e.label);
            // Two rows with one label would be merged into one figure.
            if self.optimizers[..i].iter().any(|o| o.label == e.label) {
                return Err(LabError::invalid(
                    format!("optimizers[{i}].label"),
                    &e.label,
                    "labels must differ (two rows with one label would be pooled)",
                ));
            }
            if let Some(f) = e.batch_fraction
                && !(f > 0.0 && f <= 1.0)
            {
                return Err(LabError::invalid("batch_fraction", f, "must be in (0, 1]").at(at));
            }
            // Its own `lr` is replaced by the grid's, but a NaN or an
            // infinite one is still an invalid optimizer, not a silent no-op.
            e.optimizer
                .resolve()
                .map_err(|err| LabError::from(err).at(format!("optimizers[{i}].optimizer:")))?;
            for (task, lrs) in &e.lrs {
                if let Some(lr) = lrs.iter().find(|lr| !(lr.is_finite() && **lr > 0.0)) {
                    return Err(LabError::invalid(
                        format!("optimizers[{i}].lrs.{task}"),
                        lr,
                        "every learning rate must be finite and > 0",
                    ));
                }
                if !self.tasks.contains_key(task) {
                    return Err(LabError::invalid(format!("lrs.{task}"), format!("{lrs:?}"), "names no task").at(at));
                }
                if lrs.is_empty() {
                    return Err(LabError::invalid(format!("lrs.{task}"), "[]", "must not be empty").at(at));
                }
                // A repeated rate would run (and count) the same seeds twice.
                if lrs.iter().enumerate().any(|(k, a)| lrs[..k].iter().any(|b| b == a)) {
                    return Err(LabError::invalid(
                        format!("lrs.{task}"),
                        format!("{lrs:?}"),
                        "the learning rates must differ",
                    )
                    .at(at));
                }
                for &lr in lrs {
                    e.optimizer
                        .with_lr(lr)
                        .resolve()
                        .map_err(|err| LabError::from(err).at(format!("optimizer `{}` (lr {lr}):", e.label)))?;
                }
            }
            if let Some(t) = self.tasks.keys().find(|t| !e.lrs.contains_key(*t)) {
                return Err(
                    LabError::invalid(format!("lrs.{t}"), "missing", "every task needs a learning-rate grid").at(at),
                );
            }
        }
        Ok(())
    }

    /// Each task's `data_dir`, if its data model reads one.
    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), LabError> {
        for (name, t) in self.tasks.iter_mut() {
            if let Some(dir) = t.data.data_dir_mut() {
                *dir = resolve_dir(config_dir, &format!("tasks.{name}.data.data_dir"), dir)?;
            }
        }
        Ok(())
    }

    /// Every (task, seed)'s data set is held at once; the largest task's
    /// training runs once per parallel cell.
    fn memory(&self) -> Option<MemoryEstimate> {
        let data = self
            .tasks
            .iter()
            .map(|(name, t)| {
                memory::dataset(&t.data)
                    .under(&format!("tasks.{name}"))
                    .times_by("seeds", self.seeds)
            })
            .reduce(MemoryEstimate::plus)?;
        let train = self
            .tasks
            .iter()
            .map(|(name, t)| {
                memory::training(&t.data, &t.model, t.train.decompose)
                    .under(&format!("tasks.{name}"))
                    .times(memory::parallel_cells())
            })
            .reduce(MemoryEstimate::max)?;
        Some(data.plus(train))
    }
}

/// One run: optimizer `optimizer` (index into the config's list) at
/// learning rate `lr` on task `task` (index in name order), seed `seed`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// Task index (name order).
    pub task: usize,
    /// Optimizer index (config order).
    pub optimizer: usize,
    /// Learning rate.
    pub lr: f64,
    /// Seed index (`0..seeds`; the grid runs on seed 0).
    pub seed: usize,
}

/// What every run of a (task, seed) shares: the data set and `W⁽⁰⁾`.
#[derive(Debug)]
pub struct Shared {
    /// `[task][seed]`.
    draws: Vec<Vec<(Dataset, Array2<f64>)>>,
}

/// A row of `lr_grid.csv` and `runs.csv`.
#[derive(Debug, Clone, Serialize)]
struct RunRow {
    task: String,
    optimizer: String,
    lr: f64,
    seed: usize,
    status: Status,
    train_loss: f64,
    train_acc: f64,
    test_acc: f64,
}

/// One row of the table, per (task, optimizer).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Task name.
    pub task: String,
    /// Optimizer label.
    pub optimizer: String,
    /// The chosen learning rate.
    pub lr: f64,
    /// Mean test accuracy (%).
    pub test_acc_mean: f64,
    /// Sample standard deviation of the test accuracy (%).
    pub test_acc_std: f64,
    /// Mean final training accuracy (%).
    pub train_acc_mean: f64,
    /// Runs that diverged.
    pub diverged: usize,
}

/// The optimizer-table study. Its result files are `<prefix>lr_grid.csv`,
/// `<prefix>runs.csv`, `<prefix>table.csv` and `<prefix>table.md` under the
/// results folder, and the table again as `<figures>/<markdown>`.
#[derive(Debug, Clone, Copy)]
pub struct OptimizerTable {
    /// The binary's name.
    pub name: &'static str,
    /// Prefix of the result files.
    pub prefix: &'static str,
    /// The table's file name in the figures folder.
    pub markdown: &'static str,
}

/// The `optimizer-table` binary's study.
pub const OPTIMIZER_TABLE: OptimizerTable = OptimizerTable {
    name: "optimizer-table",
    prefix: "",
    markdown: "optimizer_table.md",
};

/// For each task (name order) and seed: the data set, then `W⁽⁰⁾`.
impl Setup<TableConfig> for Shared {
    fn setup(cfg: &TableConfig, rng: &mut SetupRng) -> Result<Self, StudyError> {
        let mut draws = vec![];
        for t in cfg.tasks.values() {
            let mut per_seed = vec![];
            for _ in 0..cfg.seeds {
                let ds = t.data.generate(rng)?;
                let w0 = t.model.init::<f64, _>(ds.train.d(), rng)?;
                per_seed.push((ds, w0));
            }
            draws.push(per_seed);
        }
        Ok(Shared { draws })
    }
}

impl Study for OptimizerTable {
    type Config = TableConfig;
    type Shared = Shared;
    type Cell = Cell;
    type Row = RunRecord;
    type Summary = Vec<Summary>;

    fn name(&self) -> &str {
        self.name
    }

    /// Every learning rate of every grid, on seed 0.
    fn cells(&self, cfg: &TableConfig, _: &Shared) -> Vec<Cell> {
        let mut cells = vec![];
        for (task, name) in cfg.tasks.keys().enumerate() {
            for (optimizer, e) in cfg.optimizers.iter().enumerate() {
                for &lr in &e.lrs[name] {
                    cells.push(Cell {
                        task,
                        optimizer,
                        lr,
                        seed: 0,
                    });
                }
            }
        }
        cells
    }

    /// The other seeds at the rate chosen per (task, optimizer) by final
    /// training loss on seed 0.
    fn follow_up(&self, cfg: &TableConfig, _: &Shared, first: &[(Cell, RunRecord)]) -> Vec<Cell> {
        chosen(first)
            .into_iter()
            .flat_map(|c| (1..cfg.seeds).map(move |seed| Cell { seed, ..c }))
            .collect()
    }

    /// Keeps the run's final `W` and its decomposition.
    fn run(
        &self,
        cfg: &TableConfig,
        sh: &Shared,
        c: &Cell,
        r: &mut CellRng,
        keep: &mut Arrays,
    ) -> Result<RunRecord, StudyError> {
        let t = cfg.tasks.values().nth(c.task).expect("cells index tasks");
        let (ds, w0) = &sh.draws[c.task][c.seed];
        let opt = cfg.optimizers[c.optimizer].optimizer.with_lr(c.lr);
        let (record, w) = train_from_stream(ds, &t.model, &opt, &cfg.optimizers[c.optimizer].train(t), w0, r)?;
        keep.put_run(ds, w0.view(), w.view())?;
        Ok(record)
    }

    fn report(
        &self,
        cfg: &TableConfig,
        _: &Shared,
        rows: &[(Cell, RunRecord)],
        ctx: &Ctx,
    ) -> Result<Vec<Summary>, LabError> {
        report(self, cfg, rows, ctx)
    }
}

/// The grid cell chosen per (task, optimizer), in (task, optimizer) order:
/// the seed-0 learning rate with the lowest final training loss
/// ([`best_per_group`]).
fn chosen(grid: &[(Cell, RunRecord)]) -> Vec<Cell> {
    let mut best = best_per_group(
        grid,
        |(c, _)| (c.seed == 0).then_some((c.task, c.optimizer)),
        |(c, _)| c.lr,
        |(_, r)| r,
    );
    best.sort_by_key(|(key, _)| *key);
    best.into_iter().map(|(_, (c, _))| *c).collect()
}

fn report(
    study: &OptimizerTable,
    cfg: &TableConfig,
    rows: &[(Cell, RunRecord)],
    ctx: &Ctx,
) -> Result<Vec<Summary>, LabError> {
    let prefix = study.prefix;
    let tasks: Vec<(&String, &Task)> = cfg.tasks.iter().collect();
    let row = |c: &Cell, r: &RunRecord| -> Result<RunRow, LabError> {
        let l = r.final_record()?;
        Ok(RunRow {
            task: tasks[c.task].0.clone(),
            optimizer: cfg.optimizers[c.optimizer].label.clone(),
            lr: c.lr,
            seed: c.seed,
            status: r.status,
            train_loss: l.train.loss,
            // A diverged run counts as every prediction wrong.
            train_acc: 1.0 - r.status.scored(l.train.error),
            test_acc: 1.0 - r.status.scored(l.test.error),
        })
    };
    let n_grid = rows.iter().take_while(|(c, _)| c.seed == 0).count();
    let (grid, rest) = rows.split_at(n_grid);
    let grid_rows: Vec<RunRow> = grid.iter().map(|(c, r)| row(c, r)).collect::<Result<_, _>>()?;
    ctx.write_rows(&format!("{prefix}lr_grid.csv"), &grid_rows)?;
    let picked = chosen(grid);
    let mut cells: Vec<RunRow> = grid
        .iter()
        .filter(|(c, _)| {
            picked
                .iter()
                .any(|p| p.task == c.task && p.optimizer == c.optimizer && p.lr == c.lr)
        })
        .chain(rest)
        .map(|(c, r)| row(c, r))
        .collect::<Result<_, _>>()?;
    cells.sort_by(|a, b| (&a.task, &a.optimizer, a.seed).cmp(&(&b.task, &b.optimizer, b.seed)));
    ctx.write_rows(&format!("{prefix}runs.csv"), &cells)?;
    let chosen_lr = |ti: usize, oi: usize| {
        picked
            .iter()
            .find(|p| p.task == ti && p.optimizer == oi)
            .map_or(f64::NAN, |p| p.lr)
    };

    // The table: rows optimizers, columns tasks, "mean ± std" of test accuracy (%).
    let stats = |v: Vec<f64>| {
        let k = v.len() as f64;
        let mean = v.iter().sum::<f64>() / k;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt()
        } else {
            0.0
        };
        (mean, sd)
    };
    let mut summary = vec![];
    let mut md = String::from("| Methods |");
    for (_, t) in &tasks {
        md.push_str(&format!(" {} |", t.title));
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(tasks.len()));
    md.push('\n');
    for (oi, e) in cfg.optimizers.iter().enumerate() {
        md.push_str(&format!("| {} |", e.label));
        for (ti, (name, _)) in tasks.iter().enumerate() {
            let mine: Vec<&RunRow> = cells
                .iter()
                .filter(|c| &c.task == *name && c.optimizer == e.label)
                .collect();
            let (m, s) = stats(mine.iter().map(|c| 100.0 * c.test_acc).collect());
            let (tr, _) = stats(mine.iter().map(|c| 100.0 * c.train_acc).collect());
            let div = mine.iter().filter(|c| c.status == Status::Diverged).count();
            let lr = chosen_lr(ti, oi);
            // A diverged run is marked in the cell itself: its accuracy is
            // counted as 0 (a NaN output is never a correct prediction).
            let mark = if div > 0 {
                format!(", **{div}/{} diverged**", mine.len())
            } else {
                String::new()
            };
            md.push_str(&format!(" {m:.1} ± {s:.1} (train {tr:.0}, lr {lr:.0e}{mark}) |"));
            summary.push(Summary {
                task: name.to_string(),
                optimizer: e.label.clone(),
                lr,
                test_acc_mean: m,
                test_acc_std: s,
                train_acc_mean: tr,
                diverged: div,
            });
        }
        md.push('\n');
    }
    let mut note = format!(
        "\nTest accuracy (%), mean ± sample std over {} seeds; in parentheses the mean final training accuracy and the chosen learning rate.\n",
        cfg.seeds
    );
    if summary.iter().any(|x| x.diverged > 0) {
        note.push_str(
            "**k/S diverged**: k of the S runs of that cell diverged (non-finite loss); their outputs count as wrong predictions.\n",
        );
    }
    md.push_str(&note);
    ctx.write_rows(&format!("{prefix}table.csv"), &summary)?;
    let path = ctx.results.join(format!("{prefix}table.md"));
    ctx.write(&path, md.as_bytes())?;
    ctx.write(&ctx.figures.join(study.markdown), md.as_bytes())?;
    eprint!("{md}");
    Ok(summary)
}
