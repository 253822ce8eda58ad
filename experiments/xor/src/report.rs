//! From the runs to the tables and the three figures: the linear baseline
//! against ReLU, the `(n, ‖a‖)` phase diagram, and the boundary against the
//! feature correlation.

use gengap::analysis::boundary::{PowerFit, crossing, geometric_mean, sample_sd};
use gengap::lab::{Ctx, LabError};
use gengap::plot::{Heatmap, LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, Net, Point};

/// The boundary at one feature correlation.
#[derive(Debug, Clone, Serialize)]
pub struct Boundary {
    /// `cos∠(a, b)`.
    pub cos_angle: f64,
    /// `(n, ‖a‖*)` for every `n` whose row crosses the threshold.
    pub crossings: Vec<(usize, f64)>,
    /// Fitted slope of `log ‖a‖* = a + b·log n` (the `n·‖a‖⁴ ∝ σ_p⁴d`
    /// scaling of \[K23\] would give −1/4).
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// `C` of `n·‖a‖*⁴ = C·σ_p⁴·d` (geometric mean over rows).
    pub c: f64,
    /// Mean test error of the strongest-signal column (largest `‖a‖`).
    pub strongest_signal_error: f64,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One boundary per `cos∠(a, b)` (ReLU).
    pub boundaries: Vec<Boundary>,
    /// Mean test error of the linear baseline over all its cells.
    pub linear_mean_error: f64,
    /// Its smallest cell mean.
    pub linear_min_error: f64,
    /// Mean test error of ReLU at the largest `n` and `‖a‖`, first `cos`.
    pub relu_best_error: f64,
    /// Runs that missed the loss target or diverged, per activation.
    pub short_relu: usize,
    /// The same for the linear baseline.
    pub short_linear: usize,
}

/// A row of `means.csv`.
#[derive(Serialize)]
struct MeanRow {
    net: Net,
    cos_angle: f64,
    n: usize,
    a_norm: f64,
    mean_test_error: f64,
    sd_test_error: f64,
    excess_error: f64,
    seeds: usize,
}

/// Mean test error `[n][a]` of one activation at one `cos`, and its sd.
fn means(cfg: &Config, rows: &[(Cell, Point)], net: Net, cos: f64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let avals = cfg.a_values();
    let mut v = vec![vec![vec![]; avals.len()]; cfg.n.len()];
    for (c, p) in rows {
        if c.net == net && c.cos_angle == cos {
            let ni = cfg.n.iter().position(|&n| n == c.n).expect("n on the grid");
            let ai = avals.iter().position(|&a| a == c.a_norm).expect("‖a‖ on the grid");
            v[ni][ai].push(p.test_error);
        }
    }
    let mean = |x: &Vec<f64>| x.iter().sum::<f64>() / x.len() as f64;
    (
        v.iter().map(|r| r.iter().map(mean).collect()).collect(),
        v.iter().map(|r| r.iter().map(|x| sample_sd(x)).collect()).collect(),
    )
}

/// The `means.csv` rows of one activation at one `cos`, from its `[n][a]` means and sds.
fn mean_rows_of(cfg: &Config, net: Net, cos: f64, m: &[Vec<f64>], sd: &[Vec<f64>]) -> Vec<MeanRow> {
    let avals = cfg.a_values();
    let mut out = vec![];
    for (ni, &n) in cfg.n.iter().enumerate() {
        for (ai, &a) in avals.iter().enumerate() {
            out.push(MeanRow {
                net,
                cos_angle: cos,
                n,
                a_norm: a,
                mean_test_error: m[ni][ai],
                sd_test_error: sd[ni][ai],
                excess_error: m[ni][ai] - cfg.p_flip,
                seeds: cfg.seeds,
            });
        }
    }
    out
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Point)], ctx: &Ctx) -> Result<Results, LabError> {
    let points: Vec<&Point> = rows.iter().map(|(_, p)| p).collect();
    ctx.write_rows("cells.csv", &points)?;
    let avals = cfg.a_values();
    let (s4, d) = (cfg.sigma_p.powi(4), cfg.d as f64);
    let mut mean_rows = vec![];
    let mut boundaries = vec![];
    let mut grids = vec![];
    for &cos in &cfg.cos_angles {
        let (m, sd) = means(cfg, rows, Net::Relu, cos);
        mean_rows.extend(mean_rows_of(cfg, Net::Relu, cos, &m, &sd));
        let crossings: Vec<(usize, f64)> = cfg
            .n
            .iter()
            .zip(&m)
            .filter_map(|(&n, row)| {
                let excess: Vec<f64> = row.iter().map(|e| e - cfg.p_flip).collect();
                crossing(&avals, &excess, cfg.threshold, true).map(|a| (n, a))
            })
            .collect();
        let fit = PowerFit::fit(&crossings.iter().map(|&(n, a)| (n as f64, a)).collect::<Vec<_>>());
        let c = geometric_mean(crossings.iter().map(|&(n, a)| n as f64 * a.powi(4) / (s4 * d)));
        let strongest = m.iter().map(|r| r[r.len() - 1]).sum::<f64>() / m.len() as f64;
        eprintln!(
            "xor [cos {cos}] boundary in {} of {} rows {:?}, slope d log‖a‖*/d log n = {:.3}, C = {:.3e}; strongest-signal error {:.4} (p = {})",
            crossings.len(),
            cfg.n.len(),
            crossings,
            fit.slope,
            c,
            strongest,
            cfg.p_flip
        );
        boundaries.push(Boundary {
            cos_angle: cos,
            crossings,
            slope: fit.slope,
            intercept: fit.intercept,
            c,
            strongest_signal_error: strongest,
        });
        grids.push(m);
    }
    let cos0 = cfg.cos_angles[0];
    let (lin, lin_sd) = means(cfg, rows, Net::Linear, cos0);
    mean_rows.extend(mean_rows_of(cfg, Net::Linear, cos0, &lin, &lin_sd));
    ctx.write_rows("means.csv", &mean_rows)?;
    #[derive(Serialize)]
    struct Crossing {
        cos_angle: f64,
        n: usize,
        a_star: f64,
    }
    let crossing_rows: Vec<Crossing> = boundaries
        .iter()
        .flat_map(|b| {
            b.crossings.iter().map(|&(n, a_star)| Crossing {
                cos_angle: b.cos_angle,
                n,
                a_star,
            })
        })
        .collect();
    ctx.write_rows("boundary.csv", &crossing_rows)?;
    let flat: Vec<f64> = lin.iter().flatten().copied().collect();
    let short = |net: Net| {
        rows.iter()
            .filter(|(c, p)| c.net == net && p.outcome != Status::Converged)
            .count()
    };
    let results = Results {
        boundaries,
        linear_mean_error: flat.iter().sum::<f64>() / flat.len() as f64,
        linear_min_error: flat.iter().copied().fold(f64::INFINITY, f64::min),
        relu_best_error: grids[0][cfg.n.len() - 1][avals.len() - 1],
        short_relu: short(Net::Relu),
        short_linear: short(Net::Linear),
    };
    eprintln!(
        "xor: linear baseline mean test error {:.4} (min {:.4}); ReLU at the largest n and ‖a‖ {:.4}; runs short of the loss target: ReLU {}, linear {}",
        results.linear_mean_error,
        results.linear_min_error,
        results.relu_best_error,
        results.short_relu,
        results.short_linear
    );
    figures(cfg, ctx, &grids, &lin, &results)?;
    Ok(results)
}

fn figures(cfg: &Config, ctx: &Ctx, grids: &[Vec<Vec<f64>>], lin: &[Vec<f64>], res: &Results) -> Result<(), LabError> {
    let avals = cfg.a_values();
    let cos0 = cfg.cos_angles[0];
    let p_line = |label: &str| {
        Series::line(
            label.to_string(),
            vec![avals[0], avals[avals.len() - 1]],
            vec![cfg.p_flip; 2],
            7,
        )
        .dashed()
    };
    // 1. Linear vs ReLU against ‖a‖, one colour per n.
    let mut series = vec![];
    for (ni, &n) in cfg.n.iter().enumerate() {
        series.push(Series::line(format!("ReLU, n = {n}"), avals.clone(), grids[0][ni].clone(), ni).with_markers());
        series.push(Series::line(format!("linear, n = {n}"), avals.clone(), lin[ni].clone(), ni).dashed());
    }
    series.push(p_line("Bayes error p"));
    let mut notes = vec![format!(
        "linear: mean test error {:.3} (min {:.3}) over all cells",
        res.linear_mean_error, res.linear_min_error
    )];
    if res.short_linear + res.short_relu > 0 {
        notes.push(format!(
            "runs short of the loss target: ReLU {}, linear {}",
            res.short_relu, res.short_linear
        ));
    }
    let panel = Panel::Line(LinePlot {
        title: format!("XOR data, cos∠(a,b) = {cos0}: ReLU CNN vs linear (d = {})", cfg.d),
        x_label: "feature strength ‖a‖".into(),
        y_label: "test error (observed labels)".into(),
        log_x: true,
        series,
        y_range: Some((0.0, 0.6)),
        notes,
        ..Default::default()
    });
    render(&ctx.figure("linear_vs_relu"), (1, 1), (760, 520), &[panel])?;
    // 2. The phase diagram at the first cos.
    let b0 = &res.boundaries[0];
    let nx: Vec<f64> = cfg.n.iter().map(|&n| n as f64).collect();
    let (n0, n1) = (nx[0], nx[nx.len() - 1]);
    let line: Vec<f64> = (0..50)
        .map(|i| (n0.ln() + (n1.ln() - n0.ln()) * i as f64 / 49.0).exp())
        .collect();
    let mut overlays = vec![];
    if b0.c.is_finite() {
        let theory: Vec<f64> = line
            .iter()
            .map(|n| (b0.c * cfg.sigma_p.powi(4) * cfg.d as f64 / n).powf(0.25))
            .collect();
        overlays.push(Series::line("n‖a‖⁴ = C·σ_p⁴·d", line.clone(), theory, 7).dashed());
    }
    if b0.slope.is_finite() {
        let fit = PowerFit {
            slope: b0.slope,
            intercept: b0.intercept,
        };
        overlays.push(Series::line(
            format!("fit: slope {:.2}", b0.slope),
            line.clone(),
            line.iter().map(|&n| fit.at(n)).collect(),
            1,
        ));
    }
    overlays.push(Series::points(
        format!("‖a‖* (excess = {})", cfg.threshold),
        b0.crossings.iter().map(|c| c.0 as f64).collect(),
        b0.crossings.iter().map(|c| c.1).collect(),
        4,
    ));
    let heat = Panel::Heat(Heatmap {
        title: format!(
            "ReLU CNN on XOR data, cos∠(a,b) = {cos0}, d = {}, p = {}",
            cfg.d, cfg.p_flip
        ),
        x_label: "training samples n".into(),
        y_label: "feature strength ‖a‖".into(),
        x: nx.clone(),
        y: avals.clone(),
        values: (0..avals.len())
            .map(|ai| (0..cfg.n.len()).map(|ni| grids[0][ni][ai]).collect())
            .collect(),
        log_x: true,
        log_y: true,
        range: (0.0, 0.5),
        colorbar_label: "mean test error".into(),
        overlays,
        notes: vec![format!("fitted slope d log‖a‖*/d log n = {:.3}", b0.slope)],
    });
    render(&ctx.figure("phase"), (1, 1), (680, 560), &[heat])?;
    // 3. The boundary against the feature correlation.
    let series: Vec<Series> = res
        .boundaries
        .iter()
        .enumerate()
        .map(|(k, b)| {
            Series::line(
                format!("cos∠(a,b) = {}: slope {:.2}", b.cos_angle, b.slope),
                b.crossings.iter().map(|c| c.0 as f64).collect(),
                b.crossings.iter().map(|c| c.1).collect(),
                k,
            )
            .with_markers()
        })
        .collect();
    let cs: Vec<f64> = res.boundaries.iter().map(|b| b.cos_angle).collect();
    let by_cos = Panel::Line(LinePlot {
        title: format!("boundary ‖a‖*(n) as the features correlate (d = {})", cfg.d),
        x_label: "training samples n".into(),
        y_label: "‖a‖* (excess error = threshold)".into(),
        log_x: true,
        log_y: true,
        series,
        ..Default::default()
    });
    let c_panel = Panel::Line(LinePlot {
        title: "C of n‖a‖*⁴ = C·σ_p⁴·d against cos∠(a,b)".into(),
        x_label: "cos∠(a, b)".into(),
        y_label: "fitted C".into(),
        log_y: true,
        series: vec![Series::line("C", cs, res.boundaries.iter().map(|b| b.c).collect(), 0).with_markers()],
        ..Default::default()
    });
    render(&ctx.figure("correlation"), (1, 2), (640, 500), &[by_cos, c_panel])?;
    Ok(())
}
