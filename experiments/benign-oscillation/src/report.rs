//! From the runs to the per-learning-rate table, the curves and the figure.

use gengap::analysis::boundary::sample_sd;
use gengap::lab::{Ctx, LabError};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, CurvePoint, LrRun, Row};

/// The measured outcome at one learning rate, over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct LrResult {
    /// The learning rate.
    pub lr: f64,
    /// Mean final error on the weak-only test points (a diverged run counts 1).
    pub test_error: f64,
    /// Its sample standard deviation over the seeds.
    pub sd_test_error: f64,
    /// Fraction of seeds whose final weak-only test error is `≤ success_error`.
    pub learned_weak: f64,
    /// Mean final weak-feature coefficient `max j·⟨w, v⟩/‖v‖`.
    pub weak: f64,
    /// Mean final strong-feature coefficient `max j·⟨w, u⟩/‖u‖`.
    pub strong: f64,
    /// Mean final training loss.
    pub train_loss: f64,
    /// Mean final training error.
    pub train_error: f64,
    /// Oscillation: the fraction of consecutive records (log-spaced, from
    /// step 10 on) at which the training loss rose (0 for a loss that
    /// decreases smoothly).
    pub loss_rises: f64,
    /// Runs that diverged.
    pub diverged: usize,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One entry per learning rate, increasing.
    pub by_lr: Vec<LrResult>,
    /// Mean fraction of training points with the strong feature.
    pub strong_fraction: f64,
}

#[derive(Serialize)]
struct CurveRow {
    lr: f64,
    seed: usize,
    outcome: Status,
    step: u64,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
    weak: f64,
    strong: f64,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn last(run: &LrRun) -> &CurvePoint {
    run.curve.last().expect("every run records its last step")
}

/// The fraction of consecutive records from step `from` on at which the
/// training loss rose (NaN with fewer than two).
fn rises(run: &LrRun, from: u64) -> f64 {
    let late: Vec<f64> = run
        .curve
        .iter()
        .filter(|p| p.step >= from)
        .map(|p| p.train_loss)
        .collect();
    if late.len() < 2 {
        return f64::NAN;
    }
    late.windows(2).filter(|w| w[1] > w[0]).count() as f64 / (late.len() - 1) as f64
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Results, LabError> {
    let mut curve_rows = vec![];
    for (c, r) in rows {
        for run in &r.runs {
            for p in &run.curve {
                curve_rows.push(CurveRow {
                    lr: run.lr,
                    seed: c.seed,
                    outcome: run.outcome,
                    step: p.step,
                    train_loss: p.train_loss,
                    train_error: p.train_error,
                    test_error: p.test_error,
                    weak: p.weak,
                    strong: p.strong,
                });
            }
        }
    }
    ctx.write_rows("curves.csv", &curve_rows)?;
    let from = 10;
    let by_lr: Vec<LrResult> = cfg
        .lrs
        .iter()
        .enumerate()
        .map(|(li, &lr)| {
            let runs: Vec<&LrRun> = rows.iter().map(|(_, r)| &r.runs[li]).collect();
            let healthy: Vec<&LrRun> = runs.iter().copied().filter(|r| r.outcome != Status::Diverged).collect();
            let errs: Vec<f64> = runs.iter().map(|r| r.outcome.scored(last(r).test_error)).collect();
            let of = |f: &dyn Fn(&CurvePoint) -> f64| mean(&healthy.iter().map(|r| f(last(r))).collect::<Vec<_>>());
            LrResult {
                lr,
                test_error: mean(&errs),
                sd_test_error: sample_sd(&errs),
                learned_weak: errs.iter().filter(|&&e| e <= cfg.success_error).count() as f64 / errs.len() as f64,
                weak: of(&|p| p.weak),
                strong: of(&|p| p.strong),
                train_loss: of(&|p| p.train_loss),
                train_error: of(&|p| p.train_error),
                loss_rises: mean(&healthy.iter().map(|r| rises(r, from)).collect::<Vec<_>>()),
                diverged: runs.len() - healthy.len(),
            }
        })
        .collect();
    ctx.write_rows("by_lr.csv", &by_lr)?;
    for b in &by_lr {
        eprintln!(
            "benign-oscillation [lr {}] weak-only test error {:.4} ± {:.4}, weak feature learned in {:.0}% of seeds; weak {:.3}, strong {:.3}; training loss {:.3e}, rises {:.2}; {} diverged",
            b.lr,
            b.test_error,
            b.sd_test_error,
            100.0 * b.learned_weak,
            b.weak,
            b.strong,
            b.train_loss,
            b.loss_rises,
            b.diverged
        );
    }
    let strong_fraction = mean(&rows.iter().map(|(_, r)| r.strong_fraction).collect::<Vec<_>>());
    figure(cfg, rows, &by_lr, ctx)?;
    Ok(Results { by_lr, strong_fraction })
}

/// Up to `k` learning rates for the curve panels, spread over the healthy
/// runs of seed 0 (the smallest and the largest always among them).
fn pick(runs: &[LrRun], k: usize) -> Vec<usize> {
    let healthy: Vec<usize> = (0..runs.len())
        .filter(|&i| runs[i].outcome != Status::Diverged)
        .collect();
    if healthy.len() <= k {
        return healthy;
    }
    let mut idx: Vec<usize> = (0..k).map(|j| healthy[j * (healthy.len() - 1) / (k - 1)]).collect();
    idx.dedup();
    idx
}

fn figure(cfg: &Config, rows: &[(Cell, Row)], by_lr: &[LrResult], ctx: &Ctx) -> Result<(), LabError> {
    let first = rows.iter().find(|(c, _)| c.seed == 0).or(rows.first()).map(|(_, r)| r);
    let shown = first.map(|r| pick(&r.runs, 5)).unwrap_or_default();
    let curves = |f: &dyn Fn(&CurvePoint) -> f64| -> Vec<Series> {
        first
            .map(|r| {
                shown
                    .iter()
                    .enumerate()
                    .map(|(i, &li)| {
                        let run = &r.runs[li];
                        let pts: Vec<&CurvePoint> = run.curve.iter().filter(|p| f(p).is_finite()).collect();
                        Series::line(
                            format!("η = {}", run.lr),
                            pts.iter().map(|p| (p.step + 1) as f64).collect(),
                            pts.iter().map(|p| f(p)).collect(),
                            i,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let d = &cfg.data;
    // Short lines: the notes share the top of the panel with the legend.
    let mut notes = vec![
        format!(
            "d = {}, n = {}, σ_p = {}, ρ = {}",
            d.d, d.n, d.sigma_p, d.strong_fraction
        ),
        format!(
            "‖v‖ = {}, ‖u‖ = {}, ReLU^{}, m = {}",
            d.weak_norm, d.strong_norm, cfg.q, cfg.m
        ),
        format!("square loss, SGD with B = {}", cfg.batch),
    ];
    let diverged_lrs: Vec<String> = by_lr
        .iter()
        .filter(|b| b.diverged > 0)
        .map(|b| format!("{} ({}×)", b.lr, b.diverged))
        .collect();
    if !diverged_lrs.is_empty() {
        notes.push("diverged (error 1; not drawn on the left):".into());
        for chunk in diverged_lrs.chunks(3) {
            notes.push(format!("  η = {}", chunk.join(", ")));
        }
    }
    let lrs: Vec<f64> = by_lr.iter().map(|b| b.lr).collect();
    let panels = [
        Panel::Line(LinePlot {
            title: "training loss (seed 0)".into(),
            x_label: "step + 1".into(),
            y_label: "training loss".into(),
            log_x: true,
            log_y: true,
            series: curves(&|p| if p.train_loss > 0.0 { p.train_loss } else { f64::NAN }),
            legend_left: true,
            ..Default::default()
        }),
        Panel::Line(LinePlot {
            title: "weak feature max j·⟨w, v⟩/‖v‖ (seed 0)".into(),
            x_label: "step + 1".into(),
            y_label: "weak-feature coefficient".into(),
            log_x: true,
            series: curves(&|p| p.weak),
            legend_left: true,
            ..Default::default()
        }),
        Panel::Line(LinePlot {
            title: "strong feature max j·⟨w, u⟩/‖u‖ (seed 0)".into(),
            x_label: "step + 1".into(),
            y_label: "strong-feature coefficient".into(),
            log_x: true,
            series: curves(&|p| p.strong),
            legend_left: true,
            ..Default::default()
        }),
        Panel::Line(LinePlot {
            title: format!("after {} steps, over {} seeds", cfg.steps, cfg.seeds),
            x_label: "learning rate η".into(),
            y_label: "fraction".into(),
            log_x: true,
            series: vec![
                Series::line(
                    "error on weak-only test points",
                    lrs.clone(),
                    by_lr.iter().map(|b| b.test_error).collect(),
                    0,
                )
                .with_markers(),
                Series::line(
                    format!("seeds with test error ≤ {}", cfg.success_error),
                    lrs.clone(),
                    by_lr.iter().map(|b| b.learned_weak).collect(),
                    1,
                )
                .with_markers(),
                Series::line(
                    "loss rises between records",
                    lrs.clone(),
                    by_lr.iter().map(|b| b.loss_rises).collect(),
                    2,
                )
                .with_markers()
                .dashed(),
            ],
            // Room above 1 for the legend and the notes.
            y_range: Some((0.0, 1.7)),
            notes,
            ..Default::default()
        }),
    ];
    render(&ctx.figure(""), (2, 2), (640, 480), &panels)?;
    Ok(())
}
