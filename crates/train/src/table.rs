//! \[P20\]'s optimizer table, in shape: test accuracy of several optimizers
//! on several tasks, mean ± std over seeds, with per-optimizer learning rates
//! chosen on seed 0 by final *training* loss (test data is never used to
//! choose). All optimizers see the same data and `W⁽⁰⁾` for a given seed.
//! Shared by the `optimizer-table` and `noisy-mnist` experiments.

use std::collections::BTreeMap;

use gengap_data::{DataConfig, rng};
use gengap_model::CnnConfig;
use gengap_optim::OptimConfig;
use serde::{Deserialize, Serialize};

use crate::error::{CellError, ExperimentError};
use crate::experiment::{Ctx, Validate, f};
use crate::{RunRecord, TrainConfig, best_by_train_loss, sweep, train_run};

/// The table configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    /// Base seed of the per-(task, seed) streams.
    pub seed: u64,
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
}

impl Validate for TableConfig {
    fn validate(&self) -> Result<(), ExperimentError> {
        if self.seeds == 0 {
            return Err(ExperimentError::invalid("seeds", 0, "must be >= 1"));
        }
        if self.tasks.is_empty() {
            return Err(ExperimentError::invalid("tasks", "{}", "must not be empty"));
        }
        if self.optimizers.is_empty() {
            return Err(ExperimentError::invalid("optimizers", "[]", "must not be empty"));
        }
        for (name, t) in &self.tasks {
            let at = |part: &str| format!("[tasks.{name}.{part}]");
            t.data.validate().map_err(|e| ExperimentError::from(e).at(at("data")))?;
            t.model
                .validate()
                .map_err(|e| ExperimentError::from(e).at(at("model")))?;
            t.train
                .validate()
                .map_err(|e| ExperimentError::from(e).at(at("train")))?;
        }
        for e in &self.optimizers {
            let at = format!("optimizer `{}`:", e.label);
            for (task, lrs) in &e.lrs {
                if !self.tasks.contains_key(task) {
                    return Err(
                        ExperimentError::invalid(format!("lrs.{task}"), format!("{lrs:?}"), "names no task").at(at),
                    );
                }
                if lrs.is_empty() {
                    return Err(ExperimentError::invalid(format!("lrs.{task}"), "[]", "must not be empty").at(at));
                }
                for &lr in lrs {
                    e.optimizer
                        .with_lr(lr)
                        .resolve()
                        .map_err(|err| ExperimentError::from(err).at(format!("optimizer `{}` (lr {lr}):", e.label)))?;
                }
            }
            if let Some(t) = self.tasks.keys().find(|t| !e.lrs.contains_key(*t)) {
                return Err(ExperimentError::invalid(
                    format!("lrs.{t}"),
                    "missing",
                    "every task needs a learning-rate grid",
                )
                .at(at));
            }
        }
        Ok(())
    }

    /// Each task's `data_dir`, if its data model reads one.
    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), ExperimentError> {
        for (name, t) in self.tasks.iter_mut() {
            if let Some(dir) = t.data.data_dir_mut() {
                *dir = crate::experiment::resolve_dir(config_dir, &format!("tasks.{name}.data.data_dir"), dir)?;
            }
        }
        Ok(())
    }

    /// Every cell draws its own data set and trains on it; the largest task
    /// decides, once per parallel cell.
    fn memory(&self) -> Option<crate::memory::MemoryEstimate> {
        use crate::memory;
        self.tasks
            .iter()
            .map(|(name, t)| {
                memory::run(&t.data, &t.model, t.train.decompose)
                    .under(&format!("tasks.{name}"))
                    .times(memory::parallel_cells())
            })
            .reduce(memory::MemoryEstimate::max)
    }
}

#[derive(Debug, Clone, Serialize)]
struct Cell {
    task: String,
    optimizer: String,
    lr: f64,
    seed: usize,
    status: String,
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

/// Run the table: the learning-rate grids on seed 0, then every seed at the
/// chosen rate. Writes `<results>/<prefix>lr_grid.csv`, `<prefix>runs.csv`,
/// `<prefix>table.csv`, `<prefix>table.md` and `<figures>/<md_name>`.
/// With `--shard k/N` it runs that shard of the learning-rate grid and
/// returns `None`; `--merge` joins the grid and runs the seeds stage.
pub fn run(ctx: &Ctx, cfg: &TableConfig, prefix: &str, md_name: &str) -> Result<Option<Vec<Summary>>, ExperimentError> {
    sweep::single_threaded_blas();
    let tasks: Vec<(&String, &Task)> = cfg.tasks.iter().collect();
    let one = |ti: usize, oi: usize, lr: f64, s: usize| -> Result<RunRecord, CellError> {
        let (_, t) = tasks[ti];
        let base = 1000 * ti as u64 + 2 * s as u64;
        let ds = t.data.generate(&mut rng::stream(cfg.seed, base))?;
        let opt = cfg.optimizers[oi].optimizer.with_lr(lr);
        train_run(&ds, &t.model, &opt, &t.train, &mut rng::stream(cfg.seed, base + 1))
            .map(|(r, _)| r)
            .map_err(CellError::from)
    };
    // Stage 1: every learning rate of every grid, on seed 0.
    let grid: Vec<(usize, usize, f64)> = (0..tasks.len())
        .flat_map(|ti| (0..cfg.optimizers.len()).map(move |oi| (ti, oi)))
        .flat_map(|(ti, oi)| cfg.optimizers[oi].lrs[tasks[ti].0].iter().map(move |&lr| (ti, oi, lr)))
        .collect();
    let grid_runs: Option<Vec<Result<RunRecord, CellError>>> =
        ctx.sweep(&format!("{prefix}lr-grid"), cfg, cfg.seed, grid.len(), |k, _| {
            one(grid[k].0, grid[k].1, grid[k].2, 0)
        })?;
    let Some(grid_runs) = grid_runs else {
        return Ok(None); // a shard of the learning-rate grid: report after --merge
    };
    let grid_runs: Vec<RunRecord> = grid_runs.into_iter().collect::<Result<_, _>>()?;
    // Choose per (task, optimizer) by final training loss.
    let mut chosen: BTreeMap<(usize, usize), (f64, RunRecord)> = BTreeMap::new();
    for ti in 0..tasks.len() {
        for oi in 0..cfg.optimizers.len() {
            let idx: Vec<usize> = (0..grid.len())
                .filter(|&k| grid[k].0 == ti && grid[k].1 == oi)
                .collect();
            let group: Vec<&RunRecord> = idx.iter().map(|&k| &grid_runs[k]).collect();
            let k = idx[best_by_train_loss(&group).unwrap_or(0)];
            chosen.insert((ti, oi), (grid[k].2, grid_runs[k].clone()));
        }
    }
    // Stage 2: the other seeds at the chosen rate.
    let rest: Vec<(usize, usize, f64, usize)> = chosen
        .iter()
        .flat_map(|(&(ti, oi), (lr, _))| (1..cfg.seeds).map(move |s| (ti, oi, *lr, s)))
        .collect();
    // The seeds stage depends on the merged grid, so it always runs whole
    // (journaled: a killed run resumes).
    let rest_runs: Vec<Result<RunRecord, CellError>> = ctx.sweep_all(
        &format!("{prefix}seeds"),
        &(cfg, &rest),
        cfg.seed,
        rest.len(),
        |k, _| one(rest[k].0, rest[k].1, rest[k].2, rest[k].3),
    )?;
    let rest_runs: Vec<RunRecord> = rest_runs.into_iter().collect::<Result<_, _>>()?;
    let cell = |ti: usize, oi: usize, lr: f64, s: usize, r: &RunRecord| {
        let l = r.last().expect("a run records its last step");
        Cell {
            task: tasks[ti].0.clone(),
            optimizer: cfg.optimizers[oi].label.clone(),
            lr,
            seed: s,
            status: format!("{:?}", r.status).to_lowercase(),
            train_loss: l.train.loss,
            train_acc: 1.0 - l.train.error,
            test_acc: 1.0 - l.test.error,
        }
    };
    let mut cells: Vec<Cell> = chosen
        .iter()
        .map(|(&(ti, oi), (lr, r))| cell(ti, oi, *lr, 0, r))
        .collect();
    cells.extend(
        rest.iter()
            .zip(&rest_runs)
            .map(|(&(ti, oi, lr, s), r)| cell(ti, oi, lr, s, r)),
    );
    let grid_rows: Vec<Vec<String>> = grid
        .iter()
        .zip(&grid_runs)
        .map(|(&(ti, oi, lr), r)| {
            let c = cell(ti, oi, lr, 0, r);
            vec![
                c.task,
                c.optimizer,
                f(lr),
                c.status,
                f(c.train_loss),
                f(c.train_acc),
                f(c.test_acc),
            ]
        })
        .collect();
    let header = [
        "task",
        "optimizer",
        "lr",
        "status",
        "train_loss",
        "train_acc",
        "test_acc",
    ];
    ctx.write_csv(&format!("{prefix}lr_grid.csv"), &header, &grid_rows)?;
    let mut rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            vec![
                c.task.clone(),
                c.optimizer.clone(),
                f(c.lr),
                c.seed.to_string(),
                c.status.clone(),
                f(c.train_loss),
                f(c.train_acc),
                f(c.test_acc),
            ]
        })
        .collect();
    rows.sort();
    ctx.write_csv(
        "runs.csv",
        &[
            "task",
            "optimizer",
            "lr",
            "seed",
            "status",
            "train_loss",
            "train_acc",
            "test_acc",
        ],
        &rows,
    )?;

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
    let mut csv_rows = vec![];
    for (oi, e) in cfg.optimizers.iter().enumerate() {
        md.push_str(&format!("| {} |", e.label));
        for (ti, (name, _)) in tasks.iter().enumerate() {
            let mine: Vec<&Cell> = cells
                .iter()
                .filter(|c| &c.task == *name && c.optimizer == e.label)
                .collect();
            let (m, s) = stats(mine.iter().map(|c| 100.0 * c.test_acc).collect());
            let (tr, _) = stats(mine.iter().map(|c| 100.0 * c.train_acc).collect());
            let div = mine.iter().filter(|c| c.status == "diverged").count();
            let lr = chosen[&(ti, oi)].0;
            // A diverged run is marked in the cell itself: its accuracy is
            // counted as 0 (a NaN output is never a correct prediction).
            let mark = if div > 0 {
                format!(", **{div}/{} diverged**", mine.len())
            } else {
                String::new()
            };
            md.push_str(&format!(" {m:.1} ± {s:.1} (train {tr:.0}, lr {lr:.0e}{mark}) |"));
            csv_rows.push(vec![
                name.to_string(),
                e.label.clone(),
                f(lr),
                f(m),
                f(s),
                f(tr),
                div.to_string(),
            ]);
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
    ctx.write_csv(
        "table.csv",
        &[
            "task",
            "optimizer",
            "lr",
            "test_acc_mean",
            "test_acc_std",
            "train_acc_mean",
            "diverged",
        ],
        &csv_rows,
    )?;
    let path = ctx.results.join(format!("{prefix}table.md"));
    ctx.write(&path, md.as_bytes())?;
    let fig = ctx.figures.join(md_name);
    ctx.write(&fig, md.as_bytes())?;
    eprint!("{md}");
    Ok(Some(summary))
}
