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

use gengap::analysis::{ReducedGd, ReducedOutcome};
use gengap::data::{C22Params, DataConfig, Direction, NoiseKind};
use gengap::model::{Activation, CnnConfig};
use gengap::plot::{Heatmap, Panel, Series, render};
use gengap::train::error::CellError;
use gengap::train::experiment::{self, Ctx, ExperimentError, Validate, f};
use gengap::train::memory::{self, MemoryEstimate};
use gengap::train::sweep::{self, nonfinite};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// File stem of the figures and prefix of the CSV files. Default `phase_transition`.
    #[serde(default = "default_name")]
    name: String,
    seed: u64,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Grid {
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
    fn validate(&self, t: &str) -> Result<(), ExperimentError> {
        let bad = |k: &str, v: String, why: &str| Err(ExperimentError::invalid(format!("{t}.{k}"), v, why));
        if self.d < 2 {
            return bad("d", self.d.to_string(), "must be >= 2");
        }
        if !(self.sigma_p.is_finite() && self.sigma_p > 0.0) {
            return bad("sigma_p", self.sigma_p.to_string(), "must be finite and > 0");
        }
        if self.m == 0 {
            return bad("m", "0".into(), "must be >= 1");
        }
        if !(self.sigma0.is_finite() && self.sigma0 > 0.0) {
            return bad("sigma0", self.sigma0.to_string(), "must be finite and > 0");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", self.lr.to_string(), "must be finite and > 0");
        }
        if !(self.target_loss.is_finite() && self.target_loss > 0.0) {
            return bad("target_loss", self.target_loss.to_string(), "must be finite and > 0");
        }
        if self.max_steps == 0 {
            return bad("max_steps", "0".into(), "must be >= 1");
        }
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

fn default_name() -> String {
    "phase_transition".into()
}

impl Validate for Config {
    fn validate(&self) -> Result<(), ExperimentError> {
        if !(self.threshold > 0.0 && self.threshold < 0.5) {
            return Err(ExperimentError::invalid(
                "threshold",
                self.threshold,
                "must be in (0, 0.5)",
            ));
        }
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ExperimentError::invalid(
                "name",
                format!("{:?}", self.name),
                "use letters, digits, '_' and '-'",
            ));
        }
        if self.test_samples == 0 {
            return Err(ExperimentError::invalid("test_samples", 0, "must be >= 1"));
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cell {
    q: f64,
    n: usize,
    mu: f64,
    seed: usize,
    outcome: ReducedOutcome,
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

#[derive(Debug, Clone, Serialize)]
struct Fit {
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

fn main() {
    experiment::main_sweep("phase-transition", run);
}

/// Run (a shard of) a grid through a journal under `<results>/journal/`,
/// named after the grid's config, so a killed run resumes where it stopped.
/// Returns the cells in cell order, or `None` for a shard (merge them later).
fn run_grid(
    ctx: &Ctx,
    tag: &str,
    seed: u64,
    g: &Grid,
    test_samples: usize,
) -> Result<Option<Vec<Cell>>, ExperimentError> {
    let mus = g.mus();
    let (nq, nn, nm, ns) = (g.qs.len(), g.n.len(), mus.len(), g.seeds);
    let cells = nq * nn * nm * ns;
    let out = ctx.sweep(
        tag,
        &(g, test_samples),
        seed,
        cells,
        |k, r| -> Result<Cell, CellError> {
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
            let (steps, outcome) = red.train_to(g.max_steps, g.target_loss);
            let train_loss = red.train_metrics().loss;
            let test_error = if outcome == ReducedOutcome::Diverged {
                f64::NAN
            } else {
                red.gaussian_test_error(g.sigma_p, test_samples, r)
            };
            let dec = red.decomposition();
            let max = |a: &mut dyn Iterator<Item = f64>| a.fold(f64::NEG_INFINITY, f64::max);
            Ok(Cell {
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
        },
    )?;
    // A cell's own failure (bad data, say) is stored as Err and reported here.
    match out {
        Some(cells) => Ok(Some(cells.into_iter().collect::<Result<Vec<Cell>, CellError>>()?)),
        None => Ok(None),
    }
}

/// Mean test error per (q, n, μ): `[q][n][μ]`.
fn means(g: &Grid, cells: &[Cell]) -> Vec<Vec<Vec<f64>>> {
    let mus = g.mus();
    g.qs.iter()
        .map(|&q| {
            g.n.iter()
                .map(|&n| {
                    mus.iter()
                        .map(|&mu| {
                            let v: Vec<f64> = cells
                                .iter()
                                .filter(|c| c.q == q && c.n == n && c.mu == mu)
                                .map(|c| c.test_error)
                                .collect();
                            v.iter().sum::<f64>() / v.len() as f64
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// ‖μ‖* where the mean error first drops below `thr` as ‖μ‖ grows (log-linear interpolation).
fn crossing(mus: &[f64], errs: &[f64], thr: f64) -> Option<f64> {
    (1..mus.len()).find_map(|i| {
        let (e0, e1) = (errs[i - 1], errs[i]);
        (e0.is_finite() && e1.is_finite() && e0 > thr && e1 <= thr).then(|| {
            let t = (e0 - thr) / (e0 - e1);
            (mus[i - 1].ln() + t * (mus[i].ln() - mus[i - 1].ln())).exp()
        })
    })
}

fn fit(q: f64, boundary: Vec<(usize, f64)>) -> Fit {
    let pts: Vec<(f64, f64)> = boundary.iter().map(|&(n, m)| ((n as f64).ln(), m.ln())).collect();
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = if pts.len() >= 2 { sxy / sxx } else { f64::NAN };
    let intercept = my - slope * mx;
    let c = (pts.iter().map(|p| p.0 + q * p.1).sum::<f64>() / k).exp();
    Fit {
        q,
        boundary,
        slope,
        intercept,
        theory_slope: -1.0 / q,
        c,
    }
}

fn report(ctx: &Ctx, name: &str, tag: &str, g: &Grid, cells: &[Cell], thr: f64) -> Result<Vec<Fit>, ExperimentError> {
    let rows: Vec<Vec<String>> = cells
        .iter()
        .map(|c| {
            vec![
                f(c.q),
                c.n.to_string(),
                f(c.mu),
                c.seed.to_string(),
                format!("{:?}", c.outcome).to_lowercase(),
                c.steps.to_string(),
                f(c.train_loss),
                f(c.test_error),
                f(c.max_gamma),
                f(c.max_rho_bar),
            ]
        })
        .collect();
    ctx.write_csv(
        &if name == "phase_transition" {
            format!("{tag}_cells.csv")
        } else {
            format!("{name}_{tag}_cells.csv")
        },
        &[
            "q",
            "n",
            "mu_norm",
            "seed",
            "outcome",
            "steps",
            "train_loss",
            "test_error",
            "max_gamma",
            "max_rho_bar",
        ],
        &rows,
    )?;
    let mus = g.mus();
    let mean = means(g, cells);
    let fits: Vec<Fit> =
        g.qs.iter()
            .enumerate()
            .map(|(qi, &q)| {
                fit(
                    q,
                    g.n.iter()
                        .enumerate()
                        .filter_map(|(ni, &n)| crossing(&mus, &mean[qi][ni], thr).map(|m| (n, m)))
                        .collect(),
                )
            })
            .collect();
    let not_conv = cells.iter().filter(|c| c.outcome != ReducedOutcome::Converged).count();
    let diverged = cells.iter().filter(|c| c.outcome == ReducedOutcome::Diverged).count();
    let panels: Vec<Panel> = fits
        .iter()
        .enumerate()
        .map(|(qi, ft)| {
            let nx: Vec<f64> = g.n.iter().map(|&n| n as f64).collect();
            let (n0, n1) = (nx[0], nx[nx.len() - 1]);
            let line: Vec<f64> = (0..50)
                .map(|i| (n0.ln() + (n1.ln() - n0.ln()) * i as f64 / 49.0).exp())
                .collect();
            let theory: Vec<f64> = line.iter().map(|n| (ft.c / n).powf(1.0 / ft.q)).collect();
            let fitted: Vec<f64> = line.iter().map(|n| (ft.intercept + ft.slope * n.ln()).exp()).collect();
            let mut notes = vec![
                format!("fitted slope d log‖μ‖*/d log n = {:.3}", ft.slope),
                format!("theory −1/q = {:.3};  n·‖μ‖^q = C, C = {:.3e}", ft.theory_slope, ft.c),
            ];
            if not_conv > 0 {
                notes.push(format!("cells short of the loss target: {not_conv}"));
            }
            if diverged > 0 {
                notes.push(format!("grey: a run diverged ({diverged} runs)"));
            }
            Panel::Heat(Heatmap {
                title: format!("GD test error, ReLU^{}  (d = {}, {} seeds/cell)", ft.q, g.d, g.seeds),
                x_label: "training samples n".into(),
                y_label: "signal strength ‖μ‖".into(),
                x: nx,
                y: mus.clone(),
                values: (0..mus.len())
                    .map(|mi| (0..g.n.len()).map(|ni| mean[qi][ni][mi]).collect())
                    .collect(),
                log_x: true,
                log_y: true,
                range: (0.0, 0.5),
                colorbar_label: "mean test error".into(),
                overlays: vec![
                    Series::line("theory n·SNR^q = C", line.clone(), theory, 7).dashed(),
                    Series::line(format!("fit: slope {:.2}", ft.slope), line, fitted, 1),
                    Series::points(
                        format!("‖μ‖* (error = {thr})"),
                        ft.boundary.iter().map(|b| b.0 as f64).collect(),
                        ft.boundary.iter().map(|b| b.1).collect(),
                        4,
                    ),
                ],
                notes,
            })
        })
        .collect();
    let file = if tag == "main" {
        name.to_string()
    } else {
        format!("{name}_{tag}")
    };
    render(&ctx.figure(&file), (1, panels.len()), (640, 520), &panels)?;
    for ft in &fits {
        eprintln!(
            "phase-transition [{tag}] q = {}: boundary {:?}, slope {:.3} (theory {:.3})",
            ft.q, ft.boundary, ft.slope, ft.theory_slope
        );
    }
    Ok(fits)
}

fn run(ctx: &Ctx, cfg: Config) -> Result<(), ExperimentError> {
    sweep::single_threaded_blas();
    #[derive(Serialize)]
    struct Results {
        main: Vec<Fit>,
        main_seconds: f64,
        large: Option<Vec<Fit>>,
        large_seconds: Option<f64>,
    }
    let t = std::time::Instant::now();
    let main_cells = run_grid(ctx, "main", cfg.seed, &cfg.main, cfg.test_samples)?;
    let main_seconds = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    // The large grid draws from its own streams.
    let large_cells = match &cfg.large {
        Some(g) => run_grid(ctx, "large", cfg.seed ^ 0x9e37_79b9_7f4a_7c15, g, cfg.test_samples)?,
        None => None,
    };
    let large_seconds = t.elapsed().as_secs_f64();
    let Some(main_cells) = main_cells else {
        return Ok(()); // a shard: nothing to report yet
    };
    let main = report(ctx, &cfg.name, "main", &cfg.main, &main_cells, cfg.threshold)?;
    let (large, large_seconds) = match (&cfg.large, large_cells) {
        (Some(g), Some(c)) => (
            Some(report(ctx, &cfg.name, "large", g, &c, cfg.threshold)?),
            Some(large_seconds),
        ),
        _ => (None, None),
    };
    ctx.write_record(
        &if cfg.name == "phase_transition" {
            "record.json".to_string()
        } else {
            format!("{}_record.json", cfg.name)
        },
        &cfg,
        cfg.seed,
        &Results {
            main,
            main_seconds,
            large,
            large_seconds,
        },
    )?;
    Ok(())
}
