//! From the runs to the boundary of each variant, its ratio to Kou's
//! published boundary row by row, the shift each switch causes against the
//! first variant, the CSVs and the figure.

use gengap::analysis::boundary::{PowerFit, crossing, geometric_mean};
use gengap::lab::{Ctx, LabError};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, Row, Variant};

/// The measured boundary of one variant.
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    /// The variant (its switches).
    pub variant: Variant,
    /// `(d, ‖μ‖*)` for every row that crosses the threshold.
    pub crossings: Vec<(usize, f64)>,
    /// Rows that never cross.
    pub rows_without_crossing: usize,
    /// Fitted slope `d log‖μ‖*/d log d`.
    pub slope: f64,
    /// Geometric mean over the rows of `‖μ‖*/‖μ‖*_first variant` (1 for the first).
    pub shift: f64,
    /// Rows compared with Kou's file (both cross).
    pub kou_rows: usize,
    /// Geometric mean of `‖μ‖*/‖μ‖*_Kou` over those rows.
    pub kou_ratio: f64,
    /// The smallest and the largest ratio to Kou's row.
    pub kou_ratio_range: (f64, f64),
    /// Rows within `±tolerance` of Kou's.
    pub kou_rows_within: usize,
    /// Every compared row within `±tolerance` (and at least one compared).
    pub matches_kou: bool,
    /// Mean test error over the cells with `‖μ‖ ≥ benign_from` (NaN if none):
    /// the benign side, against the Bayes error `p`.
    pub benign_side_error: f64,
    /// Mean test error at the first `‖μ‖` (the weakest signal).
    pub weakest_signal_error: f64,
    /// Runs whose loss or weights stopped being finite (counted as test error 1).
    pub diverged: usize,
    /// Mean fraction of training points fitted.
    pub fitted: f64,
}

/// What one switch does, measured from both ends.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    /// The switch (`scale`, `init`, `bias`, `precision`, `test`).
    pub switch: &'static str,
    /// The variant that differs from the baseline in this switch alone, and
    /// its boundary's shift against the baseline (geometric mean of the
    /// rows' `‖μ‖*` ratios).
    pub from_baseline: Option<(String, f64)>,
    /// The variant that differs from the target in this switch alone, and
    /// the target's shift against it: what the switch adds with every other
    /// difference on.
    pub at_target: Option<(String, f64)>,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One entry per variant, in config order.
    pub variants: Vec<VariantResult>,
    /// The per-cause shift table.
    pub causes: Vec<Cause>,
    /// Networks trained.
    pub runs: usize,
}

#[derive(Serialize)]
struct RunRow<'a> {
    variant: &'a str,
    d: usize,
    mu_norm: f64,
    seed: usize,
    flipped: f64,
    outcome: Status,
    train_loss: f64,
    train_error: f64,
    test_error: f64,
}

#[derive(Serialize)]
struct BoundaryRow<'a> {
    variant: &'a str,
    d: usize,
    mu_star: f64,
    kou_mu_star: f64,
    ratio_to_kou: f64,
}

fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let (s, k) = v.into_iter().fold((0.0, 0usize), |(s, k), x| (s + x, k + 1));
    if k == 0 { f64::NAN } else { s / k as f64 }
}

pub(crate) fn report(cfg: &Config, rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Results, LabError> {
    let mus = cfg.mu.values();
    let mut run_rows = vec![];
    for (c, r) in rows {
        for (vi, v) in cfg.variant.iter().enumerate() {
            for (mi, run) in r.runs[vi].iter().enumerate() {
                run_rows.push(RunRow {
                    variant: &v.name,
                    d: c.d,
                    mu_norm: mus[mi],
                    seed: c.seed,
                    flipped: r.flipped,
                    outcome: run.outcome,
                    train_loss: run.train_loss,
                    train_error: run.train_error,
                    test_error: run.test_error,
                });
            }
        }
    }
    ctx.write_rows("runs.csv", &run_rows)?;
    let mut results: Vec<VariantResult> = vec![];
    let mut boundary_rows = vec![];
    for (vi, v) in cfg.variant.iter().enumerate() {
        // grid[di][mi]: mean test error over seeds (Kou's layout).
        let grid: Vec<Vec<f64>> = cfg
            .d
            .iter()
            .map(|&d| {
                let of: Vec<&Row> = rows.iter().filter(|(c, _)| c.d == d).map(|(_, r)| r).collect();
                (0..mus.len())
                    .map(|mi| mean(of.iter().map(|r| r.runs[vi][mi].test_error)))
                    .collect()
            })
            .collect();
        ctx.write_rows(&format!("{}_test_error.csv", v.name), &grid)?;
        let crossings: Vec<(usize, f64)> = cfg
            .d
            .iter()
            .zip(&grid)
            .filter_map(|(&d, g)| {
                let excess: Vec<f64> = g.iter().map(|e| e - cfg.p_flip).collect();
                crossing(&mus, &excess, cfg.threshold, false).map(|m| (d, m))
            })
            .collect();
        let ratios: Vec<(usize, f64, f64)> = crossings
            .iter()
            .filter_map(|&(d, m)| cfg.reference_at(d).map(|k| (d, m, m / k)))
            .collect();
        for &(d, m) in &crossings {
            let k = cfg.reference_at(d).unwrap_or(f64::NAN);
            boundary_rows.push(BoundaryRow {
                variant: &v.name,
                d,
                mu_star: m,
                kou_mu_star: k,
                ratio_to_kou: m / k,
            });
        }
        let shift = match results.first() {
            None => 1.0,
            Some(base) => geometric_mean(
                crossings
                    .iter()
                    .filter_map(|&(d, m)| base.crossings.iter().find(|b| b.0 == d).map(|b| m / b.1)),
            ),
        };
        let within = ratios.iter().filter(|r| (r.2 - 1.0).abs() <= cfg.tolerance).count();
        let benign = mean(grid.iter().flat_map(|g| {
            g.iter()
                .zip(&mus)
                .filter(|&(_, &mu)| mu >= cfg.benign_from)
                .map(|(e, _)| *e)
        }));
        let all: Vec<_> = rows.iter().flat_map(|(_, r)| r.runs[vi].iter()).collect();
        let res = VariantResult {
            variant: v.clone(),
            rows_without_crossing: cfg.d.len() - crossings.len(),
            slope: PowerFit::fit(&crossings.iter().map(|&(d, m)| (d as f64, m)).collect::<Vec<_>>()).slope,
            shift,
            kou_rows: ratios.len(),
            kou_ratio: geometric_mean(ratios.iter().map(|r| r.2)),
            kou_ratio_range: ratios.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(r.2), hi.max(r.2))
            }),
            kou_rows_within: within,
            matches_kou: !ratios.is_empty() && within == ratios.len(),
            benign_side_error: benign,
            weakest_signal_error: mean(grid.iter().map(|g| g[0])),
            diverged: all.iter().filter(|r| r.outcome == Status::Diverged).count(),
            fitted: 1.0 - mean(all.iter().map(|r| r.train_error)),
            crossings,
        };
        eprintln!(
            "label-noise-kou [{}] boundary in {} of {} rows, shift ×{:.3} against [{}]; against Kou's file: ratio {:.3} (range {:.3}–{:.3}), {} of {} rows within ±{:.0}%; error at ‖μ‖ ≥ {} {:.4}; {} diverged",
            v.name,
            res.crossings.len(),
            cfg.d.len(),
            res.shift,
            cfg.variant[0].name,
            res.kou_ratio,
            res.kou_ratio_range.0,
            res.kou_ratio_range.1,
            res.kou_rows_within,
            res.kou_rows,
            100.0 * cfg.tolerance,
            cfg.benign_from,
            res.benign_side_error,
            res.diverged
        );
        results.push(res);
    }
    ctx.write_rows("boundary.csv", &boundary_rows)?;
    let causes = causes(cfg, &results);
    for c in &causes {
        let f = |o: &Option<(String, f64)>| {
            o.as_ref()
                .map_or("not run".to_string(), |(n, s)| format!("×{s:.3} ({n})"))
        };
        eprintln!(
            "label-noise-kou cause [{}]: from [{}] {}; at [{}] {}",
            c.switch,
            cfg.baseline,
            f(&c.from_baseline),
            cfg.target,
            f(&c.at_target)
        );
    }
    figure(cfg, ctx, &results)?;
    Ok(Results {
        causes,
        runs: rows
            .iter()
            .map(|(_, r)| r.runs.iter().map(Vec::len).sum::<usize>())
            .sum(),
        variants: results,
    })
}

/// The geometric-mean shift of `a`'s boundary against `b`'s over the rows where both cross.
fn shift(a: &VariantResult, b: &VariantResult) -> f64 {
    geometric_mean(
        a.crossings
            .iter()
            .filter_map(|&(d, m)| b.crossings.iter().find(|c| c.0 == d).map(|c| m / c.1)),
    )
}

fn by_name<'a>(results: &'a [VariantResult], name: &str) -> &'a VariantResult {
    results
        .iter()
        .find(|r| r.variant.name == name)
        .expect("the baseline and the target are validated variants")
}

/// For each switch: the variant one switch away from the baseline, and the
/// one one switch away from the target.
fn causes(cfg: &Config, results: &[VariantResult]) -> Vec<Cause> {
    let (base, target) = (by_name(results, &cfg.baseline), by_name(results, &cfg.target));
    target
        .variant
        .differences(&base.variant)
        .into_iter()
        .map(|switch| {
            let alone = |of: &VariantResult| results.iter().find(|r| r.variant.differences(&of.variant) == [switch]);
            Cause {
                switch,
                from_baseline: alone(base).map(|r| (r.variant.name.clone(), shift(r, base))),
                at_target: alone(target).map(|r| (r.variant.name.clone(), shift(target, r))),
            }
        })
        .collect()
}

fn figure(cfg: &Config, ctx: &Ctx, results: &[VariantResult]) -> Result<(), LabError> {
    let (base, target) = (by_name(results, &cfg.baseline), by_name(results, &cfg.target));
    let kou: Vec<(f64, f64)> = cfg
        .reference
        .d
        .iter()
        .zip(&cfg.reference.mu_star)
        .filter(|(d, _)| cfg.d.contains(d))
        .map(|(&d, &m)| (d as f64, m))
        .collect();
    let label = |r: &VariantResult| {
        if r.diverged > 0 {
            format!("{} ({} diverged, counted as error 1)", r.variant.name, r.diverged)
        } else {
            r.variant.name.clone()
        }
    };
    let line = |r: &VariantResult, f: &dyn Fn(usize, f64) -> Option<f64>, name: String, color: usize| {
        let (x, y): (Vec<f64>, Vec<f64>) = r
            .crossings
            .iter()
            .filter_map(|&(d, m)| f(d, m).map(|v| (d as f64, v)))
            .unzip();
        Series::line(name, x, y, color).with_markers()
    };
    let bounds = vec![
        line(base, &|_, m| Some(m), label(base), 0),
        line(target, &|_, m| Some(m), label(target), 1),
        Series::points(
            "Kou's published file (same rule)",
            kou.iter().map(|p| p.0).collect(),
            kou.iter().map(|p| p.1).collect(),
            2,
        ),
    ];
    let to_kou = |d: usize, m: f64| cfg.reference_at(d).map(|k| m / k);
    let mut ratios = vec![
        line(base, &to_kou, label(base), 0),
        line(target, &to_kou, label(target), 1),
    ];
    let xs: Vec<f64> = kou.iter().map(|p| p.0).collect();
    if !xs.is_empty() {
        ratios.push(
            Series::line(
                format!("±{:.0}%", 100.0 * cfg.tolerance),
                xs.clone(),
                vec![1.0 + cfg.tolerance; xs.len()],
                2,
            )
            .dashed(),
        );
        ratios.push(Series::line("", xs.clone(), vec![1.0 - cfg.tolerance; xs.len()], 2).dashed());
    }
    let of_base = |d: usize, m: f64| base.crossings.iter().find(|c| c.0 == d).map(|c| m / c.1);
    let causes = causes(cfg, results);
    let mut from_base = vec![];
    let mut at_target = vec![];
    for (i, c) in causes.iter().enumerate() {
        if let Some((name, s)) = &c.from_baseline {
            let r = by_name(results, name);
            from_base.push(line(r, &of_base, format!("{} (×{s:.3})", c.switch), i));
        }
        if let Some((name, s)) = &c.at_target {
            let r = by_name(results, name);
            // The target against the variant without this switch.
            let f = |d: usize, _: f64| {
                let t = target.crossings.iter().find(|c| c.0 == d)?;
                r.crossings.iter().find(|c| c.0 == d).map(|c| t.1 / c.1)
            };
            at_target.push(line(r, &f, format!("{} (×{s:.3})", c.switch), i));
        }
    }
    let setup = format!(
        "boundary ‖μ‖*(d): test error − p falls to {} (n = {}, GD η = {}, {} steps, {} seeds)",
        cfg.threshold, cfg.n, cfg.lr, cfg.steps, cfg.seeds
    );
    let plot = |title: String, y: &str, series: Vec<Series>, notes: Vec<String>| {
        Panel::Line(LinePlot {
            title,
            x_label: "dimension d".into(),
            y_label: y.into(),
            log_x: true,
            series,
            notes,
            legend_left: true,
            ..Default::default()
        })
    };
    let panels = [
        plot(setup, "‖μ‖*", bounds, vec![]),
        plot(
            "ratio to Kou's boundary, row by row".into(),
            "‖μ‖* / ‖μ‖*_Kou",
            ratios,
            vec![],
        ),
        plot(
            format!("one difference switched on, against [{}]", cfg.baseline),
            "‖μ‖* / ‖μ‖*_baseline",
            from_base,
            vec![],
        ),
        plot(
            format!("[{}] against it with one difference switched off", cfg.target),
            "‖μ‖*_target / ‖μ‖*",
            at_target,
            vec![],
        ),
    ];
    render(&ctx.figure(""), (2, 2), (720, 520), &panels)?;
    Ok(())
}
