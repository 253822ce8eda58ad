//! From the runs to the tables, the boundary and the figures.
//!
//! For each noise kind and horizon: the grid of mean test errors (rows `d`,
//! columns `‖μ‖`, Kou's layout), the boundary `‖μ‖*(d)` where the mean
//! excess error (test error − p) first drops to the threshold, the fitted
//! slope `d log‖μ‖*/d log d` (theory 1/4, from `n·‖μ‖⁴ = C·σ_p⁴·d`), and the
//! mean test error in the strong-signal region against `p`.

use gengap::analysis::boundary::{PowerFit, crossing, geometric_mean, sample_sd};
use gengap::data::NoiseKind;
use gengap::lab::{Ctx, LabError};
use gengap::plot::{Heatmap, LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, Horizon, MuRun, Row};

impl Config {
    /// \[K23\]'s scaling variable `n·‖μ‖⁴/(σ_p⁴·d)`: the boundary is where it equals `C`.
    fn k23(&self, d: usize, mu: f64) -> f64 {
        self.n as f64 * mu.powi(4) / (self.sigma_p.powi(4) * d as f64)
    }
}

/// The two horizons: Kou's fixed step count, and interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// After `steps` GD steps.
    Kou,
    /// At training loss ≤ the interpolation target.
    Interp,
}

impl Which {
    fn tag(self) -> &'static str {
        match self {
            Which::Kou => "kou",
            Which::Interp => "interp",
        }
    }
    fn of(self, r: &MuRun) -> Option<Horizon> {
        match self {
            Which::Kou => Some(r.kou),
            Which::Interp => r.interp,
        }
    }
}

fn noise_tag(n: NoiseKind) -> &'static str {
    match n {
        NoiseKind::Orthogonal => "orthogonal",
        NoiseKind::Isotropic => "isotropic",
    }
}

/// The measured boundary of one noise kind at one horizon.
#[derive(Debug, Clone, Serialize)]
pub struct Boundary {
    /// Noise kind.
    pub noise: NoiseKind,
    /// Horizon.
    pub horizon: Which,
    /// `(d, ‖μ‖*)` for every row that crosses the threshold.
    pub crossings: Vec<(usize, f64)>,
    /// Fitted slope of `log ‖μ‖* = a + b·log d` (theory 1/4).
    pub slope: f64,
    /// Intercept `a`.
    pub intercept: f64,
    /// `C` of `n·‖μ‖⁴ = C·σ_p⁴·d` with the slope fixed at 1/4 (geometric mean over rows).
    pub c: f64,
    /// Mean test error over the strong-signal cells, `‖μ‖ ≥ 2·‖μ‖*_theory(d)` (NaN if none).
    pub strong_signal_error: f64,
    /// Number of strong-signal cells.
    pub strong_signal_cells: usize,
    /// The flip rate `p` (the Bayes error) for comparison.
    pub p_flip: f64,
    /// Mean test error over the weakest-signal column (`‖μ‖` = first value).
    pub weakest_signal_error: f64,
    /// Runs that did not reach the horizon's stopping rule (interpolation:
    /// loss target missed within the budget) or diverged.
    pub runs_short: usize,
    /// Mean fraction of training points fitted at this horizon.
    pub fitted: f64,
}

/// How well the rows' crossings collapse onto one value of a scaling
/// variable. Every spread is in units of `ln ‖μ‖`: the sample sd over the
/// rows of `ln ‖μ‖*(d)` minus the scaling's prediction of its `d`-trend, so
/// the three numbers compare directly (a variable `n‖μ‖⁴/d` would otherwise
/// multiply the same spread by 4).
#[derive(Debug, Clone, Serialize)]
pub struct Collapse {
    /// Noise kind.
    pub noise: NoiseKind,
    /// Horizon.
    pub horizon: Which,
    /// Rows that cross.
    pub rows: usize,
    /// Sample sd of `ln ‖μ‖*` over the rows (no scaling).
    pub sd_ln_mu: f64,
    /// Sample sd of `¼·ln(n·‖μ‖*⁴/(σ_p⁴·d))` (\[K23\]'s variable):
    /// `ln ‖μ‖* − ¼ ln d` up to a constant.
    pub sd_k23: f64,
    /// Sample sd of `ln(n·SNR*)`, `SNR = ‖μ‖/(σ_p√d)` (\[C22\]'s variable at
    /// `q = 1`): `ln ‖μ‖* − ½ ln d` up to a constant.
    pub sd_n_snr: f64,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One boundary per noise kind and horizon.
    pub boundaries: Vec<Boundary>,
    /// One collapse per noise kind and horizon.
    pub collapse: Vec<Collapse>,
    /// Runs in the study (training sets × `‖μ‖` values).
    pub runs: usize,
}

/// A row of `runs.csv`: one run at one horizon.
#[derive(Serialize)]
struct RunRow {
    noise: NoiseKind,
    horizon: Which,
    d: usize,
    mu_norm: f64,
    seed: usize,
    flipped: f64,
    outcome: Status,
    steps: u64,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
}

/// A row of `means.csv`: one grid cell averaged over seeds.
#[derive(Serialize)]
struct MeanRow {
    noise: NoiseKind,
    horizon: Which,
    d: usize,
    mu_norm: f64,
    mean_test_error: f64,
    sd_test_error: f64,
    excess_error: f64,
    mean_train_error: f64,
    seeds: usize,
}

/// Mean and sd over seeds of one horizon's test error, and the mean training error.
struct Grid {
    /// `[d][μ]`.
    test: Vec<Vec<f64>>,
    sd: Vec<Vec<f64>>,
    train: Vec<Vec<f64>>,
    short: usize,
}

fn grid(cfg: &Config, rows: &[(&Cell, &Row)], w: Which) -> Grid {
    let ds = cfg.d.values();
    let nm = cfg.mu.count;
    let mut vals = vec![vec![vec![]; nm]; ds.len()];
    let mut train = vec![vec![vec![]; nm]; ds.len()];
    let mut short = 0;
    for (c, r) in rows {
        let di = ds.iter().position(|&d| d == c.d).expect("a cell's d is on the grid");
        for (mi, run) in r.runs.iter().enumerate() {
            let h = w.of(run).expect("the horizon was run");
            let ok = match w {
                Which::Kou => h.outcome != Status::Diverged,
                Which::Interp => h.outcome == Status::Converged,
            };
            short += usize::from(!ok);
            vals[di][mi].push(h.test_error);
            train[di][mi].push(h.train_error);
        }
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    Grid {
        test: vals.iter().map(|row| row.iter().map(mean).collect()).collect(),
        sd: vals
            .iter()
            .map(|row| row.iter().map(|v| sample_sd(v)).collect())
            .collect(),
        train: train.iter().map(|row| row.iter().map(mean).collect()).collect(),
        short,
    }
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Results, LabError> {
    let ds = cfg.d.values();
    let mus = cfg.mu.values();
    let (n, s4) = (cfg.n as f64, cfg.sigma_p.powi(4));
    let mut horizons = vec![Which::Kou];
    if cfg.interpolate.is_some() {
        horizons.push(Which::Interp);
    }
    let mut run_rows = vec![];
    for (c, r) in rows {
        for run in &r.runs {
            for &w in &horizons {
                let h = w.of(run).expect("the horizon was run");
                run_rows.push(RunRow {
                    noise: c.noise,
                    horizon: w,
                    d: c.d,
                    mu_norm: run.mu,
                    seed: c.seed,
                    flipped: r.flipped,
                    outcome: h.outcome,
                    steps: h.steps,
                    train_loss: h.train_loss,
                    train_error: h.train_error,
                    test_error: h.test_error,
                });
            }
        }
    }
    ctx.write_rows("runs.csv", &run_rows)?;
    let (mut boundaries, mut collapses, mut mean_rows, mut collapse_panels) = (vec![], vec![], vec![], vec![]);
    for &noise in &cfg.noise {
        let of: Vec<(&Cell, &Row)> = rows
            .iter()
            .filter(|(c, _)| c.noise == noise)
            .map(|(c, r)| (c, r))
            .collect();
        for &w in &horizons {
            let g = grid(cfg, &of, w);
            let tag = format!("{}_{}", noise_tag(noise), w.tag());
            // Kou's layout: rows d, columns ‖μ‖, no header.
            ctx.write_rows(&format!("{tag}_test_error.csv"), &g.test)?;
            for (di, &d) in ds.iter().enumerate() {
                for (mi, &mu) in mus.iter().enumerate() {
                    mean_rows.push(MeanRow {
                        noise,
                        horizon: w,
                        d,
                        mu_norm: mu,
                        mean_test_error: g.test[di][mi],
                        sd_test_error: g.sd[di][mi],
                        excess_error: g.test[di][mi] - cfg.p_flip,
                        mean_train_error: g.train[di][mi],
                        seeds: cfg.seeds,
                    });
                }
            }
            let excess: Vec<Vec<f64>> = g
                .test
                .iter()
                .map(|r| r.iter().map(|e| e - cfg.p_flip).collect())
                .collect();
            let crossings: Vec<(usize, f64)> = ds
                .iter()
                .zip(&excess)
                .filter_map(|(&d, row)| crossing(&mus, row, cfg.threshold, false).map(|m| (d, m)))
                .collect();
            let fit = PowerFit::fit(&crossings.iter().map(|&(d, m)| (d as f64, m)).collect::<Vec<_>>());
            let c = geometric_mean(crossings.iter().map(|&(d, m)| cfg.k23(d, m)));
            let theory_mu = |d: usize| (c * s4 * d as f64 / n).powf(0.25);
            let strong: Vec<f64> = ds
                .iter()
                .enumerate()
                .flat_map(|(di, &d)| {
                    mus.iter()
                        .enumerate()
                        .filter(move |&(_, &mu)| c.is_finite() && mu >= 2.0 * theory_mu(d))
                        .map(move |(mi, _)| (di, mi))
                })
                .map(|(di, mi)| g.test[di][mi])
                .collect();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let weakest: Vec<f64> = g.test.iter().map(|r| r[0]).collect();
            let fitted = 1.0 - mean(&g.train.iter().flatten().copied().collect::<Vec<_>>());
            let b = Boundary {
                noise,
                horizon: w,
                crossings: crossings.clone(),
                slope: fit.slope,
                intercept: fit.intercept,
                c,
                strong_signal_error: mean(&strong),
                strong_signal_cells: strong.len(),
                p_flip: cfg.p_flip,
                weakest_signal_error: mean(&weakest),
                runs_short: g.short,
                fitted,
            };
            eprintln!(
                "label-noise [{tag}] boundary in {} of {} rows, slope d log‖μ‖*/d log d = {:.3} (theory 0.25), C = {:.3e}; strong-signal error {:.4} (p = {}) over {} cells; weakest-signal error {:.4}; {:.4} of training points fitted; {} runs short",
                crossings.len(),
                ds.len(),
                b.slope,
                b.c,
                b.strong_signal_error,
                cfg.p_flip,
                b.strong_signal_cells,
                b.weakest_signal_error,
                b.fitted,
                b.runs_short
            );
            figure(cfg, ctx, &tag, &g, &excess, &b, fit, &theory_mu)?;
            let (col, panel) = collapse(cfg, noise, w, &g, &b);
            eprintln!(
                "label-noise [{tag}] collapse: sd of the crossings in units of ln ‖μ‖: raw {:.3}, after n‖μ‖⁴/(σ_p⁴d) {:.3}, after n·SNR {:.3}",
                col.sd_ln_mu, col.sd_k23, col.sd_n_snr
            );
            collapses.push(col);
            collapse_panels.push(panel);
            boundaries.push(b);
        }
    }
    ctx.write_rows("means.csv", &mean_rows)?;
    #[derive(Serialize)]
    struct Crossing {
        noise: NoiseKind,
        horizon: Which,
        d: usize,
        mu_star: f64,
    }
    let crossing_rows: Vec<Crossing> = boundaries
        .iter()
        .flat_map(|b| {
            b.crossings.iter().map(|&(d, mu_star)| Crossing {
                noise: b.noise,
                horizon: b.horizon,
                d,
                mu_star,
            })
        })
        .collect();
    ctx.write_rows("boundary.csv", &crossing_rows)?;
    let cols = collapse_panels.len().min(2);
    let rows_n = collapse_panels.len().div_ceil(cols);
    render(&ctx.figure("collapse"), (rows_n, cols), (640, 480), &collapse_panels)?;
    Ok(Results {
        boundaries,
        collapse: collapses,
        runs: rows.iter().map(|(_, r)| r.runs.len()).sum(),
    })
}

/// The three heatmaps of one noise kind and horizon: test error with the
/// boundary, excess error, and the thresholded (benign/harmful) map.
fn figure(
    cfg: &Config,
    ctx: &Ctx,
    tag: &str,
    g: &Grid,
    excess: &[Vec<f64>],
    b: &Boundary,
    fit: PowerFit,
    theory_mu: &dyn Fn(usize) -> f64,
) -> Result<(), LabError> {
    let ds = cfg.d.values();
    let mus = cfg.mu.values();
    let dx: Vec<f64> = ds.iter().map(|&d| d as f64).collect();
    let horizon = match b.horizon {
        Which::Kou => format!("{} GD steps", cfg.steps),
        Which::Interp => "to interpolation".into(),
    };
    let title = |what: &str| format!("{what}: {} noise, {horizon}", noise_tag(b.noise));
    let overlays = || {
        let mut o = vec![];
        if b.c.is_finite() {
            o.push(
                Series::line(
                    "theory n‖μ‖⁴ = C·σ_p⁴·d",
                    ds.iter().map(|&d| theory_mu(d)).collect(),
                    dx.clone(),
                    7,
                )
                .dashed(),
            );
        }
        if fit.slope.is_finite() {
            o.push(Series::line(
                format!("fit: slope {:.2}", fit.slope),
                dx.iter().map(|&d| fit.at(d)).collect(),
                dx.clone(),
                1,
            ));
        }
        o.push(Series::points(
            format!("‖μ‖* (excess = {})", cfg.threshold),
            b.crossings.iter().map(|c| c.1).collect(),
            b.crossings.iter().map(|c| c.0 as f64).collect(),
            4,
        ));
        o
    };
    let heat = |title: String,
                values: Vec<Vec<f64>>,
                range: (f64, f64),
                label: &str,
                overlays: Vec<Series>,
                notes: Vec<String>| {
        Panel::Heat(Heatmap {
            title,
            x_label: "signal strength ‖μ‖".into(),
            y_label: "dimension d".into(),
            x: mus.clone(),
            y: dx.clone(),
            values,
            log_x: false,
            log_y: false,
            range,
            colorbar_label: label.into(),
            overlays,
            notes,
        })
    };
    let mut notes = vec![
        format!("slope d log‖μ‖*/d log d = {:.3} (theory 0.25)", b.slope),
        format!(
            "strong signal: error {:.3} vs p = {}",
            b.strong_signal_error, cfg.p_flip
        ),
    ];
    if b.runs_short > 0 {
        notes.push(format!("runs short of the stopping rule: {}", b.runs_short));
    }
    let thresholded: Vec<Vec<f64>> = excess
        .iter()
        .map(|r| {
            r.iter()
                .map(|e| {
                    if !e.is_finite() {
                        f64::NAN
                    } else if *e <= cfg.threshold {
                        0.0
                    } else {
                        1.0
                    }
                })
                .collect()
        })
        .collect();
    let panels = vec![
        heat(
            title("test error"),
            g.test.clone(),
            (0.0, 0.5),
            "mean test error",
            overlays(),
            notes,
        ),
        heat(
            title("test error − p"),
            excess.to_vec(),
            (0.0, 0.4),
            "mean excess error",
            vec![],
            vec![format!("benign: ≈ 0 (Bayes error p = {})", cfg.p_flip)],
        ),
        heat(
            title("thresholded"),
            thresholded,
            (0.0, 1.0),
            "harmful (excess > threshold)",
            overlays(),
            vec![format!("dark: excess ≤ {} (benign)", cfg.threshold)],
        ),
    ];
    render(&ctx.figure(tag), (1, 3), (620, 520), &panels)?;
    Ok(())
}

/// The collapse panel of one noise kind and horizon: mean excess error of
/// every cell against `n·‖μ‖⁴/(σ_p⁴·d)`, eight `d` rows drawn (all rows in
/// the spreads).
fn collapse(cfg: &Config, noise: NoiseKind, w: Which, g: &Grid, b: &Boundary) -> (Collapse, Panel) {
    let ds = cfg.d.values();
    let mus = cfg.mu.values();
    let (n, sp) = (cfg.n as f64, cfg.sigma_p);
    let ln = |v: Vec<f64>| v.into_iter().map(f64::ln).collect::<Vec<_>>();
    let col = Collapse {
        noise,
        horizon: w,
        rows: b.crossings.len(),
        sd_ln_mu: sample_sd(&ln(b.crossings.iter().map(|c| c.1).collect())),
        sd_k23: sample_sd(&ln(b.crossings.iter().map(|&(d, m)| cfg.k23(d, m)).collect())) / 4.0,
        sd_n_snr: sample_sd(&ln(b
            .crossings
            .iter()
            .map(|&(d, m)| n * m / (sp * (d as f64).sqrt()))
            .collect())),
    };
    // Eight rows evenly spaced over d (all of them when there are fewer).
    let shown: Vec<usize> = if ds.len() <= 8 {
        (0..ds.len()).collect()
    } else {
        (0..8).map(|i| i * (ds.len() - 1) / 7).collect()
    };
    let mut series: Vec<Series> = shown
        .iter()
        .enumerate()
        .map(|(k, &di)| {
            Series::points(
                format!("d = {}", ds[di]),
                mus.iter().map(|&mu| cfg.k23(ds[di], mu)).collect(),
                g.test[di].iter().map(|e| e - cfg.p_flip).collect(),
                k,
            )
        })
        .collect();
    if b.c.is_finite() {
        series.push(Series::line("C (fitted)", vec![b.c, b.c], vec![0.0, 0.45], 7).dashed());
    }
    let panel = Panel::Line(LinePlot {
        title: format!("collapse: {} noise, {}", noise_tag(noise), w.tag()),
        x_label: "n·‖μ‖⁴/(σ_p⁴·d)".into(),
        y_label: "mean test error − p".into(),
        log_x: true,
        series,
        y_range: Some((-0.02, 0.45)),
        notes: vec![
            "spread of the crossings (sd, units of ln ‖μ‖):".to_string(),
            format!(
                "  ‖μ‖* {:.3}; n‖μ‖*⁴/(σ_p⁴d) {:.3}; n·SNR* {:.3}",
                col.sd_ln_mu, col.sd_k23, col.sd_n_snr
            ),
        ],
        ..Default::default()
    });
    (col, panel)
}
