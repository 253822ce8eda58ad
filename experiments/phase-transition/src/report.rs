//! From the cells to the boundary: mean test errors, the crossing `‖μ‖*(n)`,
//! the fitted slope, the CSV and the heatmaps.

use gengap::analysis::boundary;
use gengap::lab::{Ctx, LabError};
use gengap::plot::{Heatmap, Panel, Series, render};
use gengap::train::Status;

use crate::{Fit, Grid, Point};

/// Mean test error per (q, n, μ): `[q][n][μ]`.
pub(crate) fn means(g: &Grid, cells: &[Point]) -> Vec<Vec<Vec<f64>>> {
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

/// ‖μ‖* where the mean error first drops below `thr` as ‖μ‖ grows (interpolated in log ‖μ‖).
pub(crate) fn crossing(mus: &[f64], errs: &[f64], thr: f64) -> Option<f64> {
    boundary::crossing(mus, errs, thr, true)
}

fn fit(q: f64, boundary: Vec<(usize, f64)>) -> Fit {
    let pts: Vec<(f64, f64)> = boundary.iter().map(|&(n, m)| (n as f64, m)).collect();
    let boundary::PowerFit { slope, intercept } = boundary::PowerFit::fit(&pts);
    let c = (pts.iter().map(|p| p.0.ln() + q * p.1.ln()).sum::<f64>() / pts.len() as f64).exp();
    Fit {
        q,
        boundary,
        slope,
        intercept,
        theory_slope: -1.0 / q,
        c,
    }
}

pub(crate) fn report(ctx: &Ctx, tag: &str, g: &Grid, cells: &[Point], thr: f64) -> Result<Vec<Fit>, LabError> {
    ctx.write_rows(&format!("{tag}_cells.csv"), cells)?;
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
    let not_conv = cells.iter().filter(|c| c.outcome != Status::Converged).count();
    let diverged = cells.iter().filter(|c| c.outcome == Status::Diverged).count();
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
                notes.push(format!("{diverged} runs diverged (counted as test error 1)"));
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
    let file = if tag == "main" { "" } else { tag };
    render(&ctx.figure(file), (1, panels.len()), (640, 520), &panels)?;
    for ft in &fits {
        eprintln!(
            "phase-transition [{tag}] q = {}: boundary {:?}, slope {:.3} (theory {:.3})",
            ft.q, ft.boundary, ft.slope, ft.theory_slope
        );
    }
    Ok(fits)
}
