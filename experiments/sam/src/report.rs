//! From the runs to the tables and the three figures: the `(n, ‖μ‖)` phase
//! diagram of GD and of SAM at each radius, the boundaries against `n`, and
//! the early curves of noise memorization at one cell.

use gengap::analysis::boundary::{crossing, geometric_mean, sample_sd};
use gengap::lab::{Ctx, LabError};
use gengap::plot::{Heatmap, LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, CurvePoint, Point};

/// The boundary of one radius.
#[derive(Debug, Clone, Serialize)]
pub struct Boundary {
    /// SAM radius (`0`: GD).
    pub rho: f64,
    /// `(n, ‖μ‖*)` for every row `n` whose mean test error crosses `p + excess`.
    pub crossings: Vec<(usize, f64)>,
    /// `‖μ‖*_SAM / ‖μ‖*_GD`, geometric mean over the rows where both cross
    /// (`< 1`: SAM's benign region reaches weaker signals). NaN without such rows.
    pub shift_vs_gd: f64,
    /// Mean test error over the whole grid.
    pub mean_test_error: f64,
    /// Runs that stopped at the step budget above the loss target.
    pub short: usize,
    /// Runs that diverged (test error 1 in every mean).
    pub diverged: usize,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The test-error level of the boundary, `p_flip + excess`.
    pub threshold: f64,
    /// One boundary per radius, GD first.
    pub boundaries: Vec<Boundary>,
}

#[derive(Serialize)]
struct CellRow {
    rho: f64,
    n: usize,
    mu: f64,
    seed: usize,
    outcome: Status,
    steps: u64,
    train_loss: f64,
    test_error: f64,
    max_gamma: f64,
    max_rho_bar: f64,
    min_rho: f64,
}

#[derive(Serialize)]
struct MeanRow {
    rho: f64,
    n: usize,
    mu: f64,
    mean_test_error: f64,
    sd_test_error: f64,
    mean_max_rho_bar: f64,
    mean_max_gamma: f64,
    mean_steps: f64,
    seeds: usize,
    short: usize,
    diverged: usize,
}

#[derive(Serialize)]
struct BoundaryRow {
    rho: f64,
    n: usize,
    mu_star: f64,
}

#[derive(Serialize)]
struct CurveRow {
    rho: f64,
    seed: usize,
    step: u64,
    train_loss: f64,
    test_error: f64,
    max_gamma: f64,
    max_rho_bar: f64,
    min_rho: f64,
}

/// A run's final test error, counted as 1 (wrong) when it diverged or is not finite.
fn test_error(pt: &Point) -> f64 {
    let e = pt.last.test_error;
    if pt.outcome == Status::Diverged || !e.is_finite() {
        1.0
    } else {
        e
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
    let pts: Vec<&Point> = rows.iter().map(|(_, p)| p).collect();
    let mus = cfg.mu_values();
    let cells: Vec<CellRow> = pts
        .iter()
        .map(|p| CellRow {
            rho: p.rho,
            n: p.n,
            mu: p.mu,
            seed: p.seed,
            outcome: p.outcome,
            steps: p.steps,
            train_loss: p.last.train_loss,
            test_error: test_error(p),
            max_gamma: p.last.max_gamma,
            max_rho_bar: p.last.max_rho_bar,
            min_rho: p.last.min_rho,
        })
        .collect();
    ctx.write_rows("cells.csv", &cells)?;
    let curves: Vec<CurveRow> = pts
        .iter()
        .flat_map(|p| {
            p.curve.iter().map(|c| CurveRow {
                rho: p.rho,
                seed: p.seed,
                step: c.step,
                train_loss: c.train_loss,
                test_error: c.test_error,
                max_gamma: c.max_gamma,
                max_rho_bar: c.max_rho_bar,
                min_rho: c.min_rho,
            })
        })
        .collect();
    ctx.write_rows("curves.csv", &curves)?;
    // grids[ri][mi][ni]: the mean test error.
    let mut grids = vec![vec![vec![f64::NAN; cfg.n.len()]; mus.len()]; cfg.rho.len()];
    let mut means = vec![];
    for (ri, &rho) in cfg.rho.iter().enumerate() {
        for (ni, &n) in cfg.n.iter().enumerate() {
            for (mi, &mu) in mus.iter().enumerate() {
                let runs: Vec<&Point> = pts
                    .iter()
                    .copied()
                    .filter(|p| p.rho == rho && p.n == n && p.mu == mu)
                    .collect();
                let errs: Vec<f64> = runs.iter().map(|p| test_error(p)).collect();
                grids[ri][mi][ni] = mean(&errs);
                means.push(MeanRow {
                    rho,
                    n,
                    mu,
                    mean_test_error: mean(&errs),
                    sd_test_error: sample_sd(&errs),
                    mean_max_rho_bar: mean(&runs.iter().map(|p| p.last.max_rho_bar).collect::<Vec<_>>()),
                    mean_max_gamma: mean(&runs.iter().map(|p| p.last.max_gamma).collect::<Vec<_>>()),
                    mean_steps: mean(&runs.iter().map(|p| p.steps as f64).collect::<Vec<_>>()),
                    seeds: runs.len(),
                    short: runs.iter().filter(|p| p.outcome == Status::MaxSteps).count(),
                    diverged: runs.iter().filter(|p| p.outcome == Status::Diverged).count(),
                });
            }
        }
    }
    ctx.write_rows("means.csv", &means)?;
    let threshold = cfg.p_flip + cfg.excess;
    // The boundary of row n: the first ‖μ‖ where the mean error falls to the threshold.
    let stars: Vec<Vec<Option<f64>>> = grids
        .iter()
        .map(|g| {
            (0..cfg.n.len())
                .map(|ni| {
                    crossing(
                        &mus,
                        &(0..mus.len()).map(|mi| g[mi][ni]).collect::<Vec<_>>(),
                        threshold,
                        true,
                    )
                })
                .collect()
        })
        .collect();
    let rows_b: Vec<BoundaryRow> = cfg
        .rho
        .iter()
        .zip(&stars)
        .flat_map(|(&rho, s)| {
            cfg.n.iter().zip(s).map(move |(&n, m)| BoundaryRow {
                rho,
                n,
                mu_star: m.unwrap_or(f64::NAN),
            })
        })
        .collect();
    ctx.write_rows("boundaries.csv", &rows_b)?;
    let boundaries: Vec<Boundary> = cfg
        .rho
        .iter()
        .enumerate()
        .map(|(ri, &rho)| {
            let runs: Vec<&Point> = pts.iter().copied().filter(|p| p.rho == rho).collect();
            let ratios: Vec<f64> = stars[ri]
                .iter()
                .zip(&stars[0])
                .filter_map(|(s, g)| Some(s.as_ref()? / g.as_ref()?))
                .collect();
            Boundary {
                rho,
                crossings: cfg
                    .n
                    .iter()
                    .zip(&stars[ri])
                    .filter_map(|(&n, s)| s.map(|m| (n, m)))
                    .collect(),
                shift_vs_gd: if ratios.is_empty() {
                    f64::NAN
                } else {
                    geometric_mean(ratios)
                },
                mean_test_error: mean(&runs.iter().map(|p| test_error(p)).collect::<Vec<_>>()),
                short: runs.iter().filter(|p| p.outcome == Status::MaxSteps).count(),
                diverged: runs.iter().filter(|p| p.outcome == Status::Diverged).count(),
            }
        })
        .collect();
    let res = Results { threshold, boundaries };
    figures(cfg, &pts, &grids, &res, ctx)?;
    Ok(res)
}

fn label(rho: f64) -> String {
    if rho == 0.0 {
        "GD".into()
    } else {
        format!("SAM ρ = {rho}")
    }
}

fn figures(cfg: &Config, pts: &[&Point], grids: &[Vec<Vec<f64>>], res: &Results, ctx: &Ctx) -> Result<(), LabError> {
    let mus = cfg.mu_values();
    let nx: Vec<f64> = cfg.n.iter().map(|&n| n as f64).collect();
    // 1. Phase diagrams, GD and each radius side by side, with the boundary.
    let heats: Vec<Panel> = cfg
        .rho
        .iter()
        .enumerate()
        .map(|(ri, &rho)| {
            let b = &res.boundaries[ri];
            let mut notes = vec![format!(
                "boundary: test error = p + {} = {:.2}",
                cfg.excess, res.threshold
            )];
            if b.diverged > 0 {
                notes.push(format!("{} diverged run(s), counted as test error 1", b.diverged));
            }
            if b.short > 0 {
                notes.push(format!("{} run(s) stopped above the loss target", b.short));
            }
            let overlay = Series::line(
                "boundary",
                b.crossings.iter().map(|c| c.0 as f64).collect(),
                b.crossings.iter().map(|c| c.1).collect(),
                7,
            )
            .with_markers();
            Panel::Heat(Heatmap {
                title: format!("{}, d = {}, p = {}", label(rho), cfg.d, cfg.p_flip),
                x_label: "training samples n".into(),
                y_label: "signal strength ‖μ‖".into(),
                x: nx.clone(),
                y: mus.clone(),
                values: grids[ri].clone(),
                log_x: true,
                log_y: true,
                range: (cfg.p_flip, 0.5),
                colorbar_label: "test error".into(),
                overlays: vec![overlay],
                notes,
            })
        })
        .collect();
    render(&ctx.figure("phase"), (1, heats.len()), (520, 460), &heats)?;
    // 2. The boundaries.
    let series: Vec<Series> = res
        .boundaries
        .iter()
        .enumerate()
        .map(|(ri, b)| {
            let s = Series::line(
                if b.rho == 0.0 {
                    "GD".to_string()
                } else {
                    format!("SAM ρ = {}: ‖μ‖* ×{:.2} of GD's", b.rho, b.shift_vs_gd)
                },
                b.crossings.iter().map(|c| c.0 as f64).collect(),
                b.crossings.iter().map(|c| c.1).collect(),
                ri,
            )
            .with_markers();
            if b.rho == 0.0 { s.dashed() } else { s }
        })
        .collect();
    let boundary = Panel::Line(LinePlot {
        title: format!("benign boundary (test error ≤ p + {})", cfg.excess),
        x_label: "training samples n".into(),
        y_label: "‖μ‖*".into(),
        log_x: true,
        log_y: true,
        series,
        ..Default::default()
    });
    render(&ctx.figure("boundary"), (1, 1), (640, 480), &[boundary])?;
    // 3. Curves at one cell: test error, own-class and other-class noise memorization.
    let mu0 = mus[cfg.curve_mu_index];
    let curve = |f: fn(&CurvePoint) -> f64| -> Vec<Series> {
        cfg.rho
            .iter()
            .enumerate()
            .map(|(ri, &rho)| {
                let runs: Vec<&Point> = pts
                    .iter()
                    .copied()
                    .filter(|p| p.rho == rho && !p.curve.is_empty())
                    .collect();
                let len = runs.iter().map(|p| p.curve.len()).min().unwrap_or(0);
                let x: Vec<f64> = runs
                    .first()
                    .map_or(vec![], |p| p.curve[..len].iter().map(|c| (c.step + 1) as f64).collect());
                let y: Vec<f64> = (0..len)
                    .map(|k| mean(&runs.iter().map(|p| f(&p.curve[k])).collect::<Vec<_>>()))
                    .collect();
                let s = Series::line(label(rho), x, y, ri);
                if rho == 0.0 { s.dashed() } else { s }
            })
            .collect()
    };
    let panel = |title: String, y_label: &str, log_y: bool, s: Vec<Series>| {
        Panel::Line(LinePlot {
            title,
            x_label: "step t + 1".into(),
            y_label: y_label.into(),
            log_x: true,
            log_y,
            series: s,
            ..Default::default()
        })
    };
    render(
        &ctx.figure("curves"),
        (1, 3),
        (520, 440),
        &[
            panel(
                format!("test error, n = {}, ‖μ‖ = {mu0:.2}", cfg.curve_n),
                "population test error",
                false,
                curve(|c| c.test_error),
            ),
            panel(
                "own-class noise memorization".into(),
                "max ρ̄",
                true,
                curve(|c| c.max_rho_bar),
            ),
            panel(
                "other-class noise memorization".into(),
                "−min ρ",
                true,
                curve(|c| -c.min_rho),
            ),
        ],
    )?;
    Ok(())
}
