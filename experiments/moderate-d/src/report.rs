//! From the runs to the tidy heatmap CSV and the figure: the test error over
//! `n × d/n`, and against `d/n`.

use gengap::analysis::boundary::sample_sd;
use gengap::lab::{Ctx, LabError};
use gengap::plot::{Heatmap, LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, Point};

/// The test error at one ratio `d/n`, over every `n` and seed.
#[derive(Debug, Clone, Serialize)]
pub struct AtRatio {
    /// `d/n`.
    pub d_over_n: usize,
    /// Mean test error (clean labels).
    pub mean_test_error: f64,
    /// Its sample standard deviation over the runs.
    pub sd_test_error: f64,
    /// Runs at this ratio.
    pub runs: usize,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One entry per ratio, increasing.
    pub by_ratio: Vec<AtRatio>,
    /// Runs that stopped at the step budget with training error > 0.
    pub not_interpolated: usize,
    /// Runs that diverged (test error 1).
    pub diverged: usize,
    /// The largest mean number of steps to interpolation of any cell.
    pub max_mean_steps: f64,
}

/// A row of the tidy heatmap.
#[derive(Serialize)]
struct HeatRow {
    n: usize,
    d_over_n: usize,
    test_error: f64,
    sd_test_error: f64,
    seeds: usize,
    mean_steps: f64,
    not_interpolated: usize,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
    let pts: Vec<&Point> = rows.iter().map(|(_, p)| p).collect();
    ctx.write_rows("cells.csv", &pts)?;
    let mut heat = vec![];
    // grid[ri][ni]: mean test error.
    let mut grid = vec![vec![f64::NAN; cfg.n.len()]; cfg.d_over_n.len()];
    for (ni, &n) in cfg.n.iter().enumerate() {
        for (ri, &r) in cfg.d_over_n.iter().enumerate() {
            let runs: Vec<&Point> = pts.iter().copied().filter(|p| p.n == n && p.d_over_n == r).collect();
            let errs: Vec<f64> = runs.iter().map(|p| p.test_error).collect();
            grid[ri][ni] = mean(&errs);
            heat.push(HeatRow {
                n,
                d_over_n: r,
                test_error: mean(&errs),
                sd_test_error: sample_sd(&errs),
                seeds: runs.len(),
                mean_steps: mean(&runs.iter().map(|p| p.steps as f64).collect::<Vec<_>>()),
                not_interpolated: runs.iter().filter(|p| p.outcome == Status::MaxSteps).count(),
            });
        }
    }
    ctx.write_rows("heatmap.csv", &heat)?;
    let by_ratio: Vec<AtRatio> = cfg
        .d_over_n
        .iter()
        .map(|&r| {
            let errs: Vec<f64> = pts.iter().filter(|p| p.d_over_n == r).map(|p| p.test_error).collect();
            AtRatio {
                d_over_n: r,
                mean_test_error: mean(&errs),
                sd_test_error: sample_sd(&errs),
                runs: errs.len(),
            }
        })
        .collect();
    let res = Results {
        by_ratio,
        not_interpolated: pts.iter().filter(|p| p.outcome == Status::MaxSteps).count(),
        diverged: pts.iter().filter(|p| p.outcome == Status::Diverged).count(),
        max_mean_steps: heat.iter().map(|h| h.mean_steps).fold(0.0, f64::max),
    };
    let mut notes = vec![format!(
        "leaky ReLU (slope {}), m = {}, hinge loss, γ = {}, p = {}, {} seeds",
        cfg.slope, cfg.neurons, cfg.gamma, cfg.p_flip, cfg.seeds
    )];
    if res.not_interpolated > 0 {
        notes.push(format!(
            "{} run(s) did not interpolate within the budget",
            res.not_interpolated
        ));
    }
    if res.diverged > 0 {
        notes.push(format!("{} diverged run(s), counted as test error 1", res.diverged));
    }
    let nx: Vec<f64> = cfg.n.iter().map(|&n| n as f64).collect();
    let ratios: Vec<f64> = cfg.d_over_n.iter().map(|&r| r as f64).collect();
    let map = Panel::Heat(Heatmap {
        title: "test error (clean labels) after interpolation".into(),
        x_label: "training samples n".into(),
        y_label: "d / n".into(),
        x: nx,
        y: ratios.clone(),
        values: grid,
        // Up to twice the flip rate: the interesting errors are below it.
        range: (0.0, (2.0 * cfg.p_flip).max(0.05)),
        colorbar_label: "test error".into(),
        notes: notes.clone(),
        ..Default::default()
    });
    let line = Panel::Line(LinePlot {
        title: "test error against d/n (mean over n and seeds)".into(),
        x_label: "d / n".into(),
        y_label: "test error".into(),
        series: vec![
            Series::line(
                "GD on the hinge loss, to training error 0",
                ratios.clone(),
                res.by_ratio.iter().map(|a| a.mean_test_error).collect(),
                0,
            )
            .with_markers(),
            Series::line(
                format!("flip rate p = {}", cfg.p_flip),
                ratios.clone(),
                vec![cfg.p_flip; ratios.len()],
                1,
            )
            .dashed(),
        ],
        y_range: Some((0.0, (2.0 * cfg.p_flip).max(0.05))),
        ..Default::default()
    });
    render(&ctx.figure(""), (1, 2), (620, 500), &[map, line])?;
    Ok(res)
}
