//! The `ε` sweep as a [`Study`]: Adam (PyTorch form) and AdaBelief on the
//! \[Z23\] task of `adam-vs-gd`, at every `ε` of the config, each at its own
//! learning rate. When `ε ≫ √V` an Adam step is `≈ (η/ε)·M`, a momentum-SGD
//! step with rate `η/ε`; so the rate for `ε` is centred at
//! `η₀(ε) = max(lr_adam, lr_sgd·ε)` and the grid `η₀(ε)·lr_factors` is run,
//! keeping the rate with the lowest final *training* loss (test data never
//! chooses). AdaBelief adds `ε` to `S` at every step as well, so its `S`
//! settles near `ε/(1−β₂)` and its denominator is `≈ √(ε/(1−β₂)) + ε`; its
//! grid adds a second centre `max(lr_adam, lr_sgd·(√(ε/(1−β₂)) + ε))`
//! ([`Config::centres`]). One data set and one `W⁽⁰⁾` for every run (setup
//! stream).

use gengap::data::{DataConfig, Z23Params};
use gengap::lab::config::check_positive;
use gengap::lab::memory;
use gengap::lab::{Arrays, CellRng, Ctx, DataAndInit, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::model::CnnConfig;
use gengap::optim::{AdaBeliefConfig, AdamConfig, OptimConfig};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::{RunRecord, Schedule, Status, TrainConfig, best_per_group, train_from_stream};
use serde::{Deserialize, Serialize};

/// The optimizers whose `ε` is swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// Adam, PyTorch form (`ε` outside the square root).
    Adam,
    /// AdaBelief (`ε` added to `S` and to the denominator).
    Adabelief,
}

impl Which {
    fn label(self) -> &'static str {
        match self {
            Which::Adam => "Adam",
            Which::Adabelief => "AdaBelief",
        }
    }
    fn optimizer(self, lr: f64, eps: f64) -> OptimConfig {
        match self {
            Which::Adam => OptimConfig::Adam(AdamConfig {
                lr,
                eps,
                ..Default::default()
            }),
            Which::Adabelief => OptimConfig::AdaBelief(AdaBeliefConfig {
                lr,
                eps,
                ..Default::default()
            }),
        }
    }
}

/// The `eps-sweep` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The \[Z23\] data model.
    pub data: Z23Params,
    /// The network.
    pub model: CnnConfig,
    /// Steps (full batch); the decomposition is recorded at the end.
    pub train: TrainConfig,
    /// The optimizers.
    pub optimizers: Vec<Which>,
    /// The `ε` values (≥ 0).
    pub epsilons: Vec<f64>,
    /// Learning-rate centre at small `ε`.
    pub lr_adam: f64,
    /// The SGD-like rate `η/ε` at large `ε`.
    pub lr_sgd: f64,
    /// Multipliers of the centre tried for each `ε`.
    pub lr_factors: Vec<f64>,
}

impl Config {
    /// The centre of the learning-rate grid at `ε` for a denominator `≈ scale`.
    fn centre(&self, scale: f64) -> f64 {
        self.lr_adam.max(self.lr_sgd * scale)
    }

    /// The centres of `which`'s learning-rate grid at `ε`: `max(lr_adam,
    /// lr_sgd·ε)`, and for AdaBelief also `max(lr_adam, lr_sgd·(√(ε/(1−β₂)) +
    /// ε))` (its denominator when `ε` dominates), when it differs.
    pub fn centres(&self, which: Which, eps: f64) -> Vec<f64> {
        let mut c = vec![self.centre(eps)];
        if which == Which::Adabelief {
            let beta2 = AdaBeliefConfig::default().betas[1];
            let second = self.centre((eps / (1.0 - beta2)).sqrt() + eps);
            if second != c[0] {
                c.push(second);
            }
        }
        c
    }

    /// The learning rates run for `which` at `ε`: every centre times every factor.
    pub fn lrs(&self, which: Which, eps: f64) -> Vec<f64> {
        let centres = self.centres(which, eps);
        centres
            .iter()
            .flat_map(|c| self.lr_factors.iter().map(move |k| c * k))
            .collect()
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        DataConfig::Z23(self.data.clone()).validate()?;
        self.model.validate()?;
        self.train.validate_for(self.data.n)?;
        if self.optimizers.is_empty() {
            return Err(LabError::invalid("optimizers", "[]", "must not be empty"));
        }
        if self.epsilons.is_empty() {
            return Err(LabError::invalid("epsilons", "[]", "must not be empty"));
        }
        if let Some(e) = self.epsilons.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
            return Err(LabError::invalid("epsilons", e, "each ε must be finite and >= 0"));
        }
        for (k, v) in [("lr_adam", self.lr_adam), ("lr_sgd", self.lr_sgd)] {
            check_positive(k, v)?;
        }
        if self.lr_factors.is_empty() || self.lr_factors.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(LabError::invalid(
                "lr_factors",
                format!("{:?}", self.lr_factors),
                "must be a non-empty list of positive numbers",
            ));
        }
        for &w in &self.optimizers {
            for &e in &self.epsilons {
                for lr in self.lrs(w, e) {
                    w.optimizer(lr, e)
                        .resolve()
                        .map_err(|err| LabError::from(err).at(format!("{} at ε = {e}:", w.label())))?;
                }
            }
        }
        Ok(())
    }

    fn memory(&self) -> Option<memory::MemoryEstimate> {
        Some(memory::shared_dataset_sweep(
            &DataConfig::Z23(self.data.clone()),
            &self.model,
            true,
        ))
    }
}

/// One run: an optimizer at one `ε` and one learning rate.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The optimizer.
    pub which: Which,
    /// `ε`.
    pub eps: f64,
    /// The learning rate.
    pub lr: f64,
}

/// The data set and `W⁽⁰⁾` every run shares.
pub type Shared = DataAndInit;

/// A row of `runs.csv` and `chosen.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The optimizer.
    pub optimizer: &'static str,
    /// `ε`.
    pub eps: f64,
    /// The learning rate.
    pub lr: f64,
    /// How the run ended.
    pub status: Status,
    /// Final training loss.
    pub train_loss: f64,
    /// Final training error.
    pub train_error: f64,
    /// Final test error.
    pub test_error: f64,
    /// `max_{j,r}⟨w_{j,r}, j·v⟩`.
    pub signal_inner: Option<f64>,
    /// `min_i max_r⟨w_{y_i,r}, ξ_i⟩`.
    pub noise_inner: Option<f64>,
}

/// The study (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct EpsSweep;

impl Setup<Config> for Shared {
    fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
        DataAndInit::draw(&DataConfig::Z23(cfg.data.clone()), &cfg.model, rng)
    }
}

impl Study for EpsSweep {
    type Config = Config;
    type Shared = Shared;
    type Cell = Cell;
    type Row = RunRecord;
    type Summary = Vec<Row>;

    fn name(&self) -> &str {
        "eps-sweep"
    }

    fn cells(&self, cfg: &Config, _: &Shared) -> Vec<Cell> {
        let mut cells = vec![];
        for &which in &cfg.optimizers {
            for &eps in &cfg.epsilons {
                for lr in cfg.lrs(which, eps) {
                    cells.push(Cell { which, eps, lr });
                }
            }
        }
        cells
    }

    fn run(
        &self,
        cfg: &Config,
        sh: &Shared,
        c: &Cell,
        r: &mut CellRng,
        _: &mut Arrays,
    ) -> Result<RunRecord, StudyError> {
        let train = TrainConfig {
            decompose: true,
            record: Schedule::End,
            ..cfg.train.clone()
        };
        Ok(train_from_stream(&sh.ds, &cfg.model, &c.which.optimizer(c.lr, c.eps), &train, &sh.w0, r)?.0)
    }

    fn report(&self, cfg: &Config, _: &Shared, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Vec<Row>, LabError> {
        report(cfg, rows, ctx)
    }
}

fn row(c: &Cell, r: &RunRecord) -> Result<Row, LabError> {
    let last = r.final_record()?;
    Ok(Row {
        optimizer: c.which.label(),
        eps: c.eps,
        lr: c.lr,
        status: r.status,
        train_loss: last.train.loss,
        train_error: last.train.error,
        // A diverged run counts as every prediction wrong.
        test_error: r.status.scored(last.test.error),
        signal_inner: last.summary.map(|s| s.signal_inner),
        noise_inner: last.summary.map(|s| s.noise_inner),
    })
}

fn report(cfg: &Config, rows: &[(Cell, RunRecord)], ctx: &Ctx) -> Result<Vec<Row>, LabError> {
    let all: Vec<Row> = rows.iter().map(|(c, r)| row(c, r)).collect::<Result<_, _>>()?;
    ctx.write_rows("runs.csv", &all)?;
    let mut chosen = vec![];
    // The learning rate per (optimizer, ε), by final training loss.
    let groups = best_per_group(
        rows,
        |(c, _)| Some((c.which, c.eps.to_bits())),
        |(c, _)| c.lr,
        |(_, r)| r,
    );
    for &which in &cfg.optimizers {
        for &eps in &cfg.epsilons {
            let Some((_, (c, r))) = groups.iter().find(|(key, _)| *key == (which, eps.to_bits())) else {
                continue;
            };
            let best = row(c, r)?;
            eprintln!(
                "eps-sweep: {:>9} ε = {:e}: lr {:e}, train loss {:.2e}, test error {:.3}, signal {:.3}, noise {:.3}",
                best.optimizer,
                eps,
                best.lr,
                best.train_loss,
                best.test_error,
                best.signal_inner.unwrap_or(f64::NAN),
                best.noise_inner.unwrap_or(f64::NAN)
            );
            chosen.push(best);
        }
    }
    ctx.write_rows("chosen.csv", &chosen)?;
    // Diverged runs are never chosen while any learning rate of the group
    // trains; a group where every one diverged is plotted (test error 1) and
    // named on every panel.
    let diverged = all.iter().filter(|r| r.status == Status::Diverged).count();
    let mut notes = vec![];
    if diverged > 0 {
        notes.push(format!("{diverged} of {} runs diverged (never chosen)", all.len()));
    }
    let lost: Vec<String> = chosen
        .iter()
        .filter(|r| r.status == Status::Diverged)
        .map(|r| format!("{} ε = {:e}", r.optimizer, r.eps))
        .collect();
    if !lost.is_empty() {
        notes.push(format!(
            "diverged at every learning rate (test error 1): {}",
            lost.join(", ")
        ));
    }

    let panel = |title: &str, y: &str, field: fn(&Row) -> f64| {
        let series = cfg
            .optimizers
            .iter()
            .enumerate()
            .map(|(k, &w)| {
                let pts: Vec<&Row> = chosen.iter().filter(|r| r.optimizer == w.label()).collect();
                Series::line(
                    w.label(),
                    pts.iter().map(|r| r.eps).collect(),
                    pts.iter().map(|r| field(r)).collect(),
                    k,
                )
            })
            .collect();
        Panel::Line(LinePlot {
            title: title.into(),
            x_label: "ε".into(),
            y_label: y.into(),
            log_x: true,
            series,
            notes: notes.clone(),
            ..Default::default()
        })
    };
    let panels = vec![
        panel("Test error at the chosen learning rate", "test error", |r| r.test_error),
        panel("Signal learning max_r⟨w_j,r, j·v⟩", "inner product", |r| {
            r.signal_inner.unwrap_or(f64::NAN)
        }),
        panel(
            "Noise memorization min_i max_r⟨w_y,r, ξ_i⟩",
            "inner product",
            |r| r.noise_inner.unwrap_or(f64::NAN),
        ),
    ];
    render(&ctx.figure(""), (1, 3), (460, 400), &panels)?;
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let whole: gengap::lab::Configured<Config> =
            toml::from_str(include_str!("../config.toml")).expect("the committed config parses");
        whole.study
    }

    /// Adam's grid is centred at `max(lr_adam, lr_sgd·ε)`; AdaBelief's adds
    /// `max(lr_adam, lr_sgd·(√(1000·ε) + ε))` (β₂ = 0.999) where that differs.
    #[test]
    fn the_learning_rate_centres_follow_each_denominator() {
        let c = config();
        assert_eq!(c.centres(Which::Adam, 1e-8), [1e-4]);
        assert_eq!(c.centres(Which::Adam, 1e-2), [5e-3]);
        for eps in [1e-8, 1e-4, 1e-2, 1.0] {
            let ab = c.centres(Which::Adabelief, eps);
            let want = (0.5 * ((eps / (1.0 - 0.999_f64)).sqrt() + eps)).max(1e-4);
            assert_eq!(ab[0], c.centres(Which::Adam, eps)[0]);
            assert_eq!(ab.len(), 2, "ε = {eps}: {ab:?}");
            assert!((ab[1] / want - 1.0).abs() < 1e-12, "ε = {eps}: {ab:?} vs {want}");
        }
        // Below lr_adam both centres are lr_adam: one grid, no duplicate runs.
        let tiny = Config {
            lr_adam: 1.0,
            ..c.clone()
        };
        assert_eq!(tiny.centres(Which::Adabelief, 1e-8), [1.0]);
        assert_eq!(c.lrs(Which::Adabelief, 1e-2).len(), 2 * c.lr_factors.len());
    }
}
