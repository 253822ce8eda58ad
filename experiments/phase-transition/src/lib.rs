//! `phase-transition` — Cao, Chen, Belkin, Gu (NeurIPS 2022, \[C22\]), `docs/theory.md#claims`, claim 1.
//!
//! GD to a small training loss on the \[C22\] model over a grid of
//! `(n, ‖μ‖)`, for each activation exponent `q`. Every cell is run by the
//! exact reduced-space GD solver (identical to full-space GD, tested in
//! `gengap-analysis`), and its test error is the exact population error for
//! orthogonal noise (a `2m`-dimensional Gaussian integral, by Monte Carlo).
//! From each row `n` the boundary `‖μ‖*(n)` where the mean test error crosses
//! the threshold is interpolated, and `log ‖μ‖* = a + b·log n` is fitted; the
//! theory predicts `b = −1/q` (`n·SNR^q = const`).

//!
//! Cell `k` of the study (main grid first, then the large grid) draws its
//! data set, `W⁽⁰⁾` and Monte-Carlo test points from its own stream.

use gengap::analysis::ReducedGd;
use gengap::data::{C22Params, DataConfig, Direction, NoiseKind};
use gengap::lab::config::{MAX_CELLS, check_grid, check_positive};
use gengap::lab::memory::{self, MemoryEstimate};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Study, StudyError, Validate};
use gengap::model::{Activation, CnnConfig, nonfinite};
use gengap::train::{Schedule, Status, Stop, drive};
use serde::{Deserialize, Serialize};

/// The `phase-transition` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Test-error threshold that defines the boundary.
    threshold: f64,
    /// Monte-Carlo draws for each cell's population test error.
    test_samples: usize,
    /// The main grid.
    main: Grid,
    /// An optional second, large-d grid.
    #[serde(default)]
    large: Option<Grid>,
}

/// One grid of cells.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Patch dimension d.
    d: usize,
    /// Noise scale σ_p.
    sigma_p: f64,
    /// Filters per class m.
    m: usize,
    /// Initialisation σ₀.
    sigma0: f64,
    /// GD step η.
    lr: f64,
    /// Stop when the training loss is ≤ this.
    target_loss: f64,
    /// Step budget per cell.
    max_steps: u64,
    /// Training-set sizes.
    n: Vec<usize>,
    /// ‖μ‖ grid: `mu_count` values log-spaced in `[mu_min, mu_max]`.
    mu_min: f64,
    mu_max: f64,
    mu_count: usize,
    /// Seeds per cell.
    seeds: usize,
    /// Activation exponents q (ReLU^q), one panel each.
    qs: Vec<f64>,
    /// Build each cell from blocked Gram products (`C22Params::blocked_products`)
    /// instead of materializing the data: memory independent of d, for d = 1e5–1e6.
    #[serde(default)]
    blocked: bool,
}

impl Grid {
    fn validate(&self, t: &str) -> Result<(), LabError> {
        let bad = |k: &str, v: String, why: &str| Err(LabError::invalid(format!("{t}.{k}"), v, why));
        if self.d < 2 {
            return bad("d", self.d.to_string(), "must be >= 2");
        }
        check_positive(&format!("{t}.sigma_p"), self.sigma_p)?;
        if self.m == 0 {
            return bad("m", "0".into(), "must be >= 1");
        }
        check_positive(&format!("{t}.sigma0"), self.sigma0)?;
        check_positive(&format!("{t}.lr"), self.lr)?;
        check_positive(&format!("{t}.target_loss"), self.target_loss)?;
        gengap::lab::config::check_steps(&format!("{t}.max_steps"), self.max_steps)?;
        if self.n.is_empty() || self.n.contains(&0) {
            return bad("n", format!("{:?}", self.n), "must be a non-empty list of values >= 1");
        }
        if !(self.mu_min.is_finite() && self.mu_min > 0.0 && self.mu_max.is_finite() && self.mu_max > self.mu_min) {
            return bad(
                "mu_min",
                format!("{} (mu_max = {})", self.mu_min, self.mu_max),
                "need 0 < mu_min < mu_max",
            );
        }
        if self.mu_count < 2 {
            return bad("mu_count", self.mu_count.to_string(), "must be >= 2");
        }
        if self.seeds == 0 {
            return bad("seeds", "0".into(), "must be >= 1");
        }
        let keys = ["qs", "n", "mu_count", "seeds"].map(|k| format!("{t}.{k}"));
        let lens = [self.qs.len(), self.n.len(), self.mu_count, self.seeds];
        let axes: Vec<(&str, usize)> = keys.iter().map(String::as_str).zip(lens).collect();
        check_grid(&axes, MAX_CELLS)?;
        if self.qs.is_empty() || self.qs.iter().any(|q| !q.is_finite() || *q < 1.0) {
            return bad(
                "qs",
                format!("{:?}", self.qs),
                "must be a non-empty list of values >= 1",
            );
        }
        Ok(())
    }
    /// Peak memory of the grid: one cell per parallel worker, at the
    /// largest `n`. A materialized cell holds the data set (`n_test = 1`)
    /// and the reduced solver's Gram products; a blocked one holds one column
    /// block of the data at a time.
    fn memory(&self, t: &str) -> MemoryEstimate {
        let n = self.n.iter().copied().max().unwrap_or(1);
        let data = DataConfig::C22(self.cell_data(n, 1.0));
        let model = CnnConfig {
            m: self.m,
            ..Default::default()
        };
        let rows = (2 * n + 2 * self.m + 2) as u128;
        let gram = 8 * 4 * rows * rows;
        let cell = if self.blocked {
            let block = self.d.min(gengap::data::GRAM_BLOCK) as u128;
            let (key, value) = if n as u128 > block {
                ("n", n.to_string())
            } else {
                ("d", self.d.to_string())
            };
            MemoryEstimate {
                key: key.into(),
                value,
                bytes: 8 * 4 * rows * block + gram,
            }
        } else {
            let mut e = memory::run(&data, &model, false);
            e.bytes = e.bytes.saturating_add(gram);
            e.key = e.key.trim_start_matches("data.").into();
            e
        };
        cell.under(t).times(memory::parallel_cells())
    }
    /// The data model of one cell.
    fn cell_data(&self, n: usize, mu: f64) -> C22Params {
        C22Params {
            d: self.d,
            n,
            n_test: 1,
            mu_norm: mu,
            sigma_p: self.sigma_p,
            noise: NoiseKind::Orthogonal,
            direction: Direction::E1,
            p_flip: 0.0,
        }
    }
    fn mus(&self) -> Vec<f64> {
        let (a, b) = (self.mu_min.ln(), self.mu_max.ln());
        (0..self.mu_count)
            .map(|i| (a + (b - a) * i as f64 / (self.mu_count - 1) as f64).exp())
            .collect()
    }
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        if !(self.threshold > 0.0 && self.threshold < 0.5) {
            return Err(LabError::invalid("threshold", self.threshold, "must be in (0, 0.5)"));
        }
        if !(1..=10_000_000).contains(&self.test_samples) {
            return Err(LabError::invalid(
                "test_samples",
                self.test_samples,
                "must be in 1..=1e7",
            ));
        }
        self.main.validate("main")?;
        if let Some(l) = &self.large {
            l.validate("large")?;
        }
        Ok(())
    }

    /// The main and large grids run one after the other.
    fn memory(&self) -> Option<MemoryEstimate> {
        let main = self.main.memory("main");
        Some(match &self.large {
            Some(l) => main.max(l.memory("large")),
            None => main,
        })
    }
}

/// The result of one cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    q: f64,
    n: usize,
    #[serde(rename = "mu_norm")]
    mu: f64,
    seed: usize,
    outcome: Status,
    steps: u64,
    #[serde(with = "nonfinite")]
    train_loss: f64,
    #[serde(with = "nonfinite")]
    test_error: f64,
    #[serde(with = "nonfinite")]
    max_gamma: f64,
    #[serde(with = "nonfinite")]
    max_rho_bar: f64,
}

/// The fitted boundary of one activation exponent.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    q: f64,
    /// (n, ‖μ‖*) per row where the crossing exists.
    boundary: Vec<(usize, f64)>,
    /// Fitted slope b of log‖μ‖* = a + b log n, and intercept a.
    slope: f64,
    intercept: f64,
    /// Theory slope −1/q.
    theory_slope: f64,
    /// C of n·‖μ‖^q = C, fitted with the slope fixed at −1/q (geometric mean of n·‖μ‖*^q).
    c: f64,
}

/// Which grid a cell belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// `[main]`.
    Main,
    /// `[large]`.
    Large,
}

/// Cell `index` of grid `grid` (index order: q, n, ‖μ‖, seed).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cell {
    /// The grid.
    pub grid: Which,
    /// The index in that grid.
    pub index: usize,
}

/// The phase-transition study.
#[derive(Debug, Clone, Copy)]
pub struct PhaseTransition;

impl Config {
    fn grid(&self, w: Which) -> &Grid {
        match w {
            Which::Main => &self.main,
            Which::Large => self.large.as_ref().expect("large cells exist only with [large]"),
        }
    }
}

impl Grid {
    fn cells(&self) -> usize {
        self.qs.len() * self.n.len() * self.mu_count * self.seeds
    }

    /// Run cell `k`: reduced-space GD to the loss target, then the population test error.
    fn run_cell(&self, k: usize, test_samples: usize, r: &mut CellRng, keep: &mut Arrays) -> Result<Point, StudyError> {
        let g = self;
        let mus = g.mus();
        let (nn, nm, ns) = (g.n.len(), mus.len(), g.seeds);
        let (qi, rest) = (k / (nn * nm * ns), k % (nn * nm * ns));
        let (ni, rest) = (rest / (nm * ns), rest % (nm * ns));
        let (mi, si) = (rest / ns, rest % ns);
        let (q, n, mu) = (g.qs[qi], g.n[ni], mus[mi]);
        let data = g.cell_data(n, mu);
        let model = CnnConfig {
            m: g.m,
            activation: Activation::ReluPow { q },
            sigma0: g.sigma0,
            ..Default::default()
        };
        let mut red = if g.blocked {
            let bl = data.blocked_products(g.sigma0, 2 * g.m, r)?;
            ReducedGd::from_blocked(&bl, &model, g.lr, 0.0)?
        } else {
            let ds = data.generate(r)?;
            let w0 = model.init::<f64, _>(g.d, r)?;
            ReducedGd::new(&ds, &model, w0.view(), g.lr, 0.0)?
        };
        let stop = Stop::to_loss(g.max_steps, g.target_loss);
        let run = drive(&mut red, stop, Schedule::End, &mut [])?;
        let (steps, outcome) = (run.steps, run.status);
        let train_loss = run.final_record()?.train.loss;
        // A diverged run counts as every prediction wrong (`Status::scored`),
        // in the CSV, the means and the heatmap alike.
        let test_error = match outcome {
            Status::Diverged => outcome.scored(f64::NAN),
            _ => outcome.scored(red.gaussian_test_error(g.sigma_p, test_samples, r)),
        };
        let dec = red.decomposition();
        if keep.is_on() {
            // W only where the solver holds S (not from Gram products alone).
            if let Some(w) = red.weights() {
                keep.put("W", w.view());
            }
            keep.put("theta", red.theta()).put_decomposition(&dec);
        }
        let max = |a: &mut dyn Iterator<Item = f64>| a.fold(f64::NEG_INFINITY, f64::max);
        Ok(Point {
            q,
            n,
            mu,
            seed: si,
            outcome,
            steps,
            train_loss,
            test_error,
            max_gamma: max(&mut dec.gamma.iter().copied()),
            max_rho_bar: max(&mut dec.rho_bar.iter().copied()),
        })
    }
}

/// The fits of the main grid and (if configured) the large one.
#[derive(Debug, Serialize)]
pub struct Results {
    main: Vec<Fit>,
    large: Option<Vec<Fit>>,
    /// Every grid's cells against `n·SNR^q` (see [`collapse`]).
    collapse: Vec<collapse::Collapse>,
}

impl Study for PhaseTransition {
    type Config = Config;
    type Shared = ();
    type Cell = Cell;
    type Row = Point;
    type Summary = Results;

    fn name(&self) -> &str {
        "phase-transition"
    }

    fn cells(&self, cfg: &Config, _: &()) -> Vec<Cell> {
        let mut cells: Vec<Cell> = (0..cfg.main.cells())
            .map(|index| Cell {
                grid: Which::Main,
                index,
            })
            .collect();
        if let Some(l) = &cfg.large {
            cells.extend((0..l.cells()).map(|index| Cell {
                grid: Which::Large,
                index,
            }));
        }
        cells
    }

    /// Keeps the cell's final `W` (not for a `blocked` grid, which never
    /// holds a `d`-vector), its coordinates `theta` and its decomposition
    /// (with `[output] arrays = true`: its grid, q, n, ‖μ‖ and seed in
    /// `arrays/cells.json`).
    fn run(&self, cfg: &Config, _: &(), c: &Cell, r: &mut CellRng, keep: &mut Arrays) -> Result<Point, StudyError> {
        cfg.grid(c.grid).run_cell(c.index, cfg.test_samples, r, keep)
    }

    fn report(&self, cfg: &Config, _: &(), rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
        let of = |w: Which| -> Vec<Point> {
            rows.iter()
                .filter(|(c, _)| c.grid == w)
                .map(|(_, p)| p.clone())
                .collect()
        };
        // Each grid's cells, split out once for its heatmap and the collapse.
        let mut grids = vec![(&cfg.main, of(Which::Main))];
        if let Some(g) = &cfg.large {
            grids.push((g, of(Which::Large)));
        }
        let main = report(ctx, "main", grids[0].0, &grids[0].1, cfg.threshold)?;
        let large = match grids.get(1) {
            Some((g, cells)) => Some(report(ctx, "large", g, cells, cfg.threshold)?),
            None => None,
        };
        let collapse = collapse::collapse(ctx, &grids, cfg.threshold)?;
        Ok(Results { main, large, collapse })
    }
}

pub mod collapse;
mod report;
use report::report;
