//! The collapse: every cell of every grid (all `d`, `n`, `‖μ‖`), its mean
//! test error against the theory's scaling variable `n·SNR^q` alone, with
//! `SNR = ‖μ‖/(σ_p√d)`. If the boundary is `n·SNR^q = C`, the rows of all
//! grids cross the threshold at one value of `n·SNR^q`; the spread of those
//! crossings, against the spread of the same crossings in `‖μ‖` and in SNR,
//! says how well they collapse. The spreads are compared in units of
//! `ln ‖μ‖`: `ln(n·SNR^q)` is divided by `q` first, or it would carry the
//! same spread multiplied by `q`.

use gengap::lab::{Ctx, LabError};
use gengap::plot::{LinePlot, Panel, Series, Shape, render};
use serde::Serialize;

use gengap::analysis::boundary::sample_sd as sd;

use crate::report::{crossing, means};
use crate::{Grid, Point};

/// Where one `(d, n)` row crosses the threshold.
#[derive(Debug, Clone, Serialize)]
pub struct Crossing {
    /// Patch dimension.
    pub d: usize,
    /// Training samples.
    pub n: usize,
    /// `‖μ‖*`.
    pub mu_star: f64,
    /// `SNR* = ‖μ‖*/(σ_p√d)`.
    pub snr_star: f64,
    /// `n·SNR*^q`.
    pub n_snr_q: f64,
}

/// The collapse of one activation exponent `q`.
#[derive(Debug, Clone, Serialize)]
pub struct Collapse {
    /// `q`.
    pub q: f64,
    /// Every row's crossing.
    pub crossings: Vec<Crossing>,
    /// Sample standard deviation of `ln(n·SNR*^q)` over the rows.
    pub sd_ln_n_snr_q: f64,
    /// The same divided by `q`: the spread left after the scaling, in units
    /// of `ln ‖μ‖` (`(1/q)·ln(n·SNR^q) = ln ‖μ‖ + (1/q) ln n − ½ ln d + const`),
    /// so it compares directly with `sd_ln_mu` and `sd_ln_snr`.
    pub sd_per_q: f64,
    /// The same for `ln ‖μ‖*`.
    pub sd_ln_mu: f64,
    /// The same for `ln SNR*`.
    pub sd_ln_snr: f64,
}

/// A row of `collapse.csv`: one (q, d, n, ‖μ‖) mean over seeds.
#[derive(Serialize)]
struct Row {
    q: f64,
    d: usize,
    n: usize,
    mu_norm: f64,
    snr: f64,
    n_snr_q: f64,
    mean_test_error: f64,
}

/// Write `collapse.csv` and the figure `<stem>_collapse`, one panel per `q`.
pub(crate) fn collapse(ctx: &Ctx, grids: &[(&Grid, Vec<Point>)], thr: f64) -> Result<Vec<Collapse>, LabError> {
    let mut qs: Vec<f64> = grids.iter().flat_map(|(g, _)| g.qs.clone()).collect();
    qs.sort_by(f64::total_cmp);
    qs.dedup();
    let mut rows = vec![];
    let mut out = vec![];
    let mut panels = vec![];
    for &q in &qs {
        let mut series = vec![];
        let mut crossings = vec![];
        for (gi, (g, cells)) in grids.iter().enumerate() {
            let Some(qi) = g.qs.iter().position(|&x| x == q) else {
                continue;
            };
            let mus = g.mus();
            let mean = means(g, cells);
            let snr = |mu: f64| mu / (g.sigma_p * (g.d as f64).sqrt());
            for (ni, &n) in g.n.iter().enumerate() {
                let x: Vec<f64> = mus.iter().map(|&mu| n as f64 * snr(mu).powf(q)).collect();
                let y = mean[qi][ni].clone();
                for (mi, &mu) in mus.iter().enumerate() {
                    rows.push(Row {
                        q,
                        d: g.d,
                        n,
                        mu_norm: mu,
                        snr: snr(mu),
                        n_snr_q: x[mi],
                        mean_test_error: y[mi],
                    });
                }
                if let Some(mu_star) = crossing(&mus, &y, thr) {
                    crossings.push(Crossing {
                        d: g.d,
                        n,
                        mu_star,
                        snr_star: snr(mu_star),
                        n_snr_q: n as f64 * snr(mu_star).powf(q),
                    });
                }
                series.push(Series::points(format!("d = {}, n = {n}", g.d), x, y, gi).with_shape(Shape::nth(ni)));
            }
        }
        let ln = |f: fn(&Crossing) -> f64| -> Vec<f64> { crossings.iter().map(|c| f(c).ln()).collect() };
        let sd_ln_n_snr_q = sd(&ln(|c| c.n_snr_q));
        let c = Collapse {
            q,
            sd_ln_n_snr_q,
            sd_per_q: sd_ln_n_snr_q / q,
            sd_ln_mu: sd(&ln(|c| c.mu_star)),
            sd_ln_snr: sd(&ln(|c| c.snr_star)),
            crossings,
        };
        panels.push(Panel::Line(LinePlot {
            title: format!("Collapse, ReLU^{q}: mean test error against n·SNR^{q}"),
            x_label: format!("n·SNR^{q},  SNR = ‖μ‖/(σ_p √d)"),
            y_label: "mean test error".into(),
            log_x: true,
            series,
            notes: vec![
                format!(
                    "crossings of error = {thr}, sd in units of ln ‖μ‖: (1/q)·ln(n·SNR^q) {:.3}, ln SNR {:.3}, ln ‖μ‖ {:.3}",
                    c.sd_per_q, c.sd_ln_snr, c.sd_ln_mu
                ),
                format!("{} rows (d, n) crossed the threshold", c.crossings.len()),
            ],
            legend_left: false,
            ..Default::default()
        }));
        eprintln!(
            "phase-transition [collapse] q = {q}: sd ln(n·SNR*^q) = {:.3} (/q: {:.3}), sd ln SNR* = {:.3}, sd ln ‖μ‖* = {:.3} over {} rows",
            c.sd_ln_n_snr_q,
            c.sd_per_q,
            c.sd_ln_snr,
            c.sd_ln_mu,
            c.crossings.len()
        );
        out.push(c);
    }
    ctx.write_rows("collapse.csv", &rows)?;
    render(&ctx.figure("collapse"), (1, panels.len()), (640, 520), &panels)?;
    Ok(out)
}
