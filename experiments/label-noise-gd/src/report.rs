//! From the runs to the tables and the two figures: the test error over
//! `(SNR, p)` with GD's row, and the curves of test error, noise
//! memorization and signal learning against steps at one SNR (`curve_mu`).

use gengap::analysis::boundary::sample_sd;
use gengap::lab::{Ctx, LabError};
use gengap::plot::{Heatmap, LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, CurvePoint, Point};

/// The comparison at one signal strength.
#[derive(Debug, Clone, Serialize)]
pub struct AtSnr {
    /// `‖μ‖`.
    pub mu: f64,
    /// `SNR = ‖μ‖/(σ_p √d)`.
    pub snr: f64,
    /// `n·SNR^q`, \[C22\]'s variable.
    pub n_snr_q: f64,
    /// GD's mean final test error.
    pub gd_test_error: f64,
    /// GD's mean final noise memorization `max ρ̄`.
    pub gd_max_rho_bar: f64,
    /// The flip probability with the lowest mean final test error (`0`: GD is best).
    pub best_p: f64,
    /// Its mean final test error.
    pub best_test_error: f64,
    /// Its mean final noise memorization.
    pub best_max_rho_bar: f64,
    /// `gd_test_error − best_test_error`.
    pub gain: f64,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One comparison per `‖μ‖`, increasing.
    pub by_snr: Vec<AtSnr>,
    /// Runs that diverged (each counted as test error 1 in every mean).
    pub diverged: usize,
}

/// A row of `cells.csv`.
#[derive(Serialize)]
struct CellRow {
    mu: f64,
    snr: f64,
    p: f64,
    seed: usize,
    outcome: Status,
    steps: u64,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
    max_gamma: f64,
    max_rho_bar: f64,
}

/// A row of `means.csv`.
#[derive(Serialize)]
struct MeanRow {
    mu: f64,
    snr: f64,
    p: f64,
    mean_test_error: f64,
    sd_test_error: f64,
    mean_max_rho_bar: f64,
    mean_max_gamma: f64,
    mean_train_error: f64,
    seeds: usize,
    diverged: usize,
}

/// A row of `curves.csv`.
#[derive(Serialize)]
struct CurveRow {
    mu: f64,
    p: f64,
    seed: usize,
    step: u64,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
    max_gamma: f64,
    max_rho_bar: f64,
}

/// A run's final test error, counted as 1 (wrong) when it diverged or is not finite.
fn test_error(pt: &Point) -> f64 {
    let e = pt.last().test_error;
    if pt.outcome == Status::Diverged || !e.is_finite() {
        1.0
    } else {
        e
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The mean over seeds of `f` along the curve of the `(mu, p)` runs (they
/// share their record steps: the schedule and step budget are the same).
fn mean_curve(pts: &[&Point], f: impl Fn(&CurvePoint) -> f64) -> (Vec<f64>, Vec<f64>) {
    let Some(first) = pts.first() else {
        return (vec![], vec![]);
    };
    let len = pts.iter().map(|p| p.curve.len()).min().unwrap_or(0);
    let x = first.curve[..len].iter().map(|c| (c.step + 1) as f64).collect();
    let y = (0..len)
        .map(|k| mean(&pts.iter().map(|p| f(&p.curve[k])).collect::<Vec<_>>()))
        .collect();
    (x, y)
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
    let pts: Vec<&Point> = rows.iter().map(|(_, p)| p).collect();
    let cells: Vec<CellRow> = pts
        .iter()
        .map(|p| {
            let l = p.last();
            CellRow {
                mu: p.mu,
                snr: cfg.snr(p.mu),
                p: p.p,
                seed: p.seed,
                outcome: p.outcome,
                steps: p.steps,
                train_loss: l.train_loss,
                train_error: l.train_error,
                test_error: test_error(p),
                max_gamma: l.max_gamma,
                max_rho_bar: l.max_rho_bar,
            }
        })
        .collect();
    ctx.write_rows("cells.csv", &cells)?;
    let curves: Vec<CurveRow> = pts
        .iter()
        .flat_map(|p| {
            p.curve.iter().map(|c| CurveRow {
                mu: p.mu,
                p: p.p,
                seed: p.seed,
                step: c.step,
                train_loss: c.train_loss,
                train_error: c.train_error,
                test_error: c.test_error,
                max_gamma: c.max_gamma,
                max_rho_bar: c.max_rho_bar,
            })
        })
        .collect();
    ctx.write_rows("curves.csv", &curves)?;
    let of = |mu: f64, p: f64| -> Vec<&Point> { pts.iter().copied().filter(|x| x.mu == mu && x.p == p).collect() };
    let mut means = vec![];
    // grid[pi][mi]: mean final test error.
    let mut grid = vec![vec![f64::NAN; cfg.mu.len()]; cfg.p.len()];
    for (mi, &mu) in cfg.mu.iter().enumerate() {
        for (pi, &p) in cfg.p.iter().enumerate() {
            let runs = of(mu, p);
            let errs: Vec<f64> = runs.iter().map(|x| test_error(x)).collect();
            let finite = |f: fn(&CurvePoint) -> f64| mean(&runs.iter().map(|x| f(x.last())).collect::<Vec<_>>());
            grid[pi][mi] = mean(&errs);
            means.push(MeanRow {
                mu,
                snr: cfg.snr(mu),
                p,
                mean_test_error: mean(&errs),
                sd_test_error: sample_sd(&errs),
                mean_max_rho_bar: finite(|c| c.max_rho_bar),
                mean_max_gamma: finite(|c| c.max_gamma),
                mean_train_error: finite(|c| c.train_error),
                seeds: runs.len(),
                diverged: runs.iter().filter(|x| x.outcome == Status::Diverged).count(),
            });
        }
    }
    ctx.write_rows("means.csv", &means)?;
    let at = |mu: f64, p: f64| {
        means
            .iter()
            .find(|m| m.mu == mu && m.p == p)
            .expect("every (mu, p) has a mean")
    };
    let by_snr: Vec<AtSnr> = cfg
        .mu
        .iter()
        .map(|&mu| {
            let gd = at(mu, 0.0);
            let best = cfg
                .p
                .iter()
                .map(|&p| at(mu, p))
                .min_by(|a, b| a.mean_test_error.total_cmp(&b.mean_test_error))
                .expect("p is not empty");
            AtSnr {
                mu,
                snr: cfg.snr(mu),
                n_snr_q: cfg.n as f64 * cfg.snr(mu).powf(cfg.q),
                gd_test_error: gd.mean_test_error,
                gd_max_rho_bar: gd.mean_max_rho_bar,
                best_p: best.p,
                best_test_error: best.mean_test_error,
                best_max_rho_bar: best.mean_max_rho_bar,
                gain: gd.mean_test_error - best.mean_test_error,
            }
        })
        .collect();
    let diverged = pts.iter().filter(|x| x.outcome == Status::Diverged).count();
    let res = Results { by_snr, diverged };
    figures(cfg, &pts, &grid, &res, ctx)?;
    Ok(res)
}

fn figures(cfg: &Config, pts: &[&Point], grid: &[Vec<f64>], res: &Results, ctx: &Ctx) -> Result<(), LabError> {
    let snr: Vec<f64> = cfg.mu.iter().map(|&m| cfg.snr(m)).collect();
    let diverged_note = if res.diverged > 0 {
        vec![format!("{} diverged run(s), counted as test error 1", res.diverged)]
    } else {
        vec![]
    };
    let mut notes = vec![format!(
        "d = {}, n = {}, m = {}, ReLU^{}, η = {}, {} steps, {} seeds",
        cfg.d, cfg.n, cfg.m, cfg.q, cfg.lr, cfg.steps, cfg.seeds
    )];
    notes.extend(diverged_note.iter().cloned());
    // 1. The grid, and the final test error against the SNR for every p.
    let heat = Panel::Heat(Heatmap {
        title: "final test error (population, clean labels)".into(),
        x_label: "SNR = ‖μ‖/(σ_p √d)".into(),
        y_label: "flip probability p (0 = GD)".into(),
        x: snr.clone(),
        y: cfg.p.clone(),
        values: grid.to_vec(),
        log_x: true,
        log_y: false,
        range: (0.0, 0.5),
        colorbar_label: "test error".into(),
        overlays: vec![],
        notes: notes.clone(),
    });
    let lines = Panel::Line(LinePlot {
        title: "GD (p = 0) against label-noise GD".into(),
        x_label: "SNR".into(),
        y_label: "mean final test error".into(),
        log_x: true,
        series: cfg
            .p
            .iter()
            .enumerate()
            .map(|(pi, &p)| {
                let label = if p == 0.0 {
                    "GD".to_string()
                } else {
                    format!("label-noise GD, p = {p}")
                };
                let s = Series::line(label, snr.clone(), grid[pi].clone(), pi).with_markers();
                if p == 0.0 { s.dashed() } else { s }
            })
            .collect(),
        y_range: Some((0.0, 0.55)),
        notes: diverged_note.clone(),
        ..Default::default()
    });
    render(&ctx.figure("grid"), (1, 2), (640, 500), &[heat, lines])?;
    // 2. Curves at `curve_mu`.
    let mu0 = cfg.curve_mu;
    let series = |f: fn(&CurvePoint) -> f64| -> Vec<Series> {
        cfg.p
            .iter()
            .enumerate()
            .map(|(pi, &p)| {
                let runs: Vec<&Point> = pts.iter().copied().filter(|x| x.mu == mu0 && x.p == p).collect();
                let (x, y) = mean_curve(&runs, f);
                let label = if p == 0.0 { "GD".to_string() } else { format!("p = {p}") };
                let s = Series::line(label, x, y, pi);
                if p == 0.0 { s.dashed() } else { s }
            })
            .collect()
    };
    let lost = pts
        .iter()
        .filter(|x| x.mu == mu0 && x.outcome == Status::Diverged)
        .count();
    let curve_note = if lost > 0 {
        vec![format!(
            "{lost} diverged run(s) here: their means are NaN past the divergence"
        )]
    } else {
        vec![]
    };
    let panel = |title: &str, y_label: &str, log_y: bool, s: Vec<Series>| {
        Panel::Line(LinePlot {
            title: title.into(),
            x_label: "step t + 1".into(),
            y_label: y_label.into(),
            log_x: true,
            log_y,
            series: s,
            notes: curve_note.clone(),
            ..Default::default()
        })
    };
    let head = format!("SNR = {:.3} (‖μ‖ = {mu0})", cfg.snr(mu0));
    render(
        &ctx.figure("curves"),
        (1, 3),
        (520, 440),
        &[
            panel(
                &format!("test error, {head}"),
                "population test error",
                false,
                series(|c| c.test_error),
            ),
            panel("noise memorization", "max ρ̄", true, series(|c| c.max_rho_bar)),
            panel("signal learning", "max γ", true, series(|c| c.max_gamma)),
        ],
    )?;
    Ok(())
}
