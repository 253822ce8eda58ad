//! From the runs to the tables (`separators.csv`, `curves.csv`, the limit
//! table `limits.csv`) and one figure per data set.

use gengap::analysis::margin::{MarginNorm, cosine};
use gengap::lab::{Ctx, LabError};
use gengap::plot::{LinePlot, Panel, Series, render};
use gengap::train::Status;
use serde::Serialize;

use crate::{Cell, Config, CurvePoint, Run, Shared};

/// One optimizer on one data model, over its seeds: where it ends.
#[derive(Debug, Clone, Serialize)]
pub struct Limit {
    /// Data set label.
    pub data: String,
    /// Optimizer label.
    pub optimizer: String,
    /// `a` of `η_t = η₀(t + 1)^{−a}`.
    pub lr_decay: f64,
    /// Steps per run.
    pub steps: u64,
    /// Mean final `cos(w, ŵ₂)`.
    pub cos_l2: f64,
    /// Mean final `cos(w, ŵ_∞)`.
    pub cos_linf: f64,
    /// Mean final `cos(w, ŵ₁)`.
    pub cos_l1: f64,
    /// Mean final `γ₂(w)/γ₂*`.
    pub margin_l2: f64,
    /// Mean final `γ_∞(w)/γ_∞*`.
    pub margin_linf: f64,
    /// Mean final `γ₁(w)/γ₁*`.
    pub margin_l1: f64,
    /// The norm with the largest mean final margin ratio, if at least
    /// `tends_to_at` (`l2`, `linf`, `l1`), else `none`.
    pub tends_to: String,
    /// For that norm (or `ℓ2` if none), the margin gap `1 − γ_p/γ_p*` at the
    /// end over the gap a decade of steps earlier (mean over seeds; `< 1`:
    /// still closing).
    pub gap_decade_ratio: f64,
    /// Mean final test error.
    pub test_error: f64,
    /// Mean test error of the `ℓ2` max-margin separator.
    pub test_error_l2_separator: f64,
    /// Mean test error of the `ℓ∞` max-margin separator.
    pub test_error_linf_separator: f64,
    /// Mean final training loss.
    pub train_loss: f64,
    /// Runs that diverged (counted with NaN margins and test error 1).
    pub diverged: usize,
}

/// What `record.json` keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// One row per (data set, optimizer).
    pub limits: Vec<Limit>,
    /// The largest KKT residual of any separator (all recomputed from the data).
    pub worst_kkt: f64,
}

#[derive(Serialize)]
struct SeparatorRow {
    data: String,
    seed: usize,
    n: usize,
    dim: usize,
    norm: &'static str,
    max_margin: f64,
    support_vectors: usize,
    kkt_primal: f64,
    kkt_dual: f64,
    kkt_complementarity: f64,
    kkt_gap: f64,
    iterations: u32,
    test_error: f64,
    cos_l2: f64,
    cos_linf: f64,
    cos_l1: f64,
}

#[derive(Serialize)]
struct CurveRow<'a> {
    data: &'a str,
    seed: usize,
    optimizer: &'a str,
    outcome: Status,
    step: u64,
    train_loss: f64,
    test_error: f64,
    w_norm: f64,
    cos_l2: f64,
    cos_linf: f64,
    cos_l1: f64,
    margin_l2: f64,
    margin_linf: f64,
    margin_l1: f64,
}

fn mean(v: impl IntoIterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.into_iter().collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// The final point of a run as counted: a diverged run has NaN cosines and
/// margins and test error 1.
fn counted(r: &Run) -> CurvePoint {
    let mut p = *r.last().expect("the last step is observed");
    if r.outcome == Status::Diverged {
        p.test_error = 1.0;
        for v in [
            &mut p.cos_l2,
            &mut p.cos_linf,
            &mut p.cos_l1,
            &mut p.margin_l2,
            &mut p.margin_linf,
            &mut p.margin_l1,
        ] {
            *v = f64::NAN;
        }
    }
    p
}

/// `gap(T) / gap(T/10)` for norm index `k`: the record at the end against the
/// last record at most a tenth of the way.
fn decade_ratio(r: &Run, k: usize) -> f64 {
    let last = counted(r);
    let early = r.curve.iter().rev().find(|p| p.step * 10 <= last.step);
    match early {
        Some(e) => (1.0 - last.margins()[k]) / (1.0 - e.margins()[k]),
        None => f64::NAN,
    }
}

pub(crate) fn report(cfg: &Config, sh: &Shared, rows: &[(Cell, Run)], ctx: &Ctx) -> Result<Results, LabError> {
    // The separators.
    let mut seps = vec![];
    let mut worst_kkt = 0.0f64;
    for d in &sh.drawn {
        for s in &d.separators {
            worst_kkt = worst_kkt.max(s.kkt.worst());
            let c = |k: usize| cosine(&s.direction, &d.separators[k].direction);
            seps.push(SeparatorRow {
                data: cfg.data[d.data].label.clone(),
                seed: d.seed,
                n: d.train.n(),
                dim: d.train.dim(),
                norm: s.solution.norm.name(),
                max_margin: s.solution.margin,
                support_vectors: s.solution.support(1e-6).len(),
                kkt_primal: s.kkt.primal,
                kkt_dual: s.kkt.dual,
                kkt_complementarity: s.kkt.complementarity,
                kkt_gap: s.kkt.gap,
                iterations: s.solution.iterations,
                test_error: s.test_error,
                cos_l2: c(0),
                cos_linf: c(1),
                cos_l1: c(2),
            });
        }
    }
    ctx.write_rows("separators.csv", &seps)?;
    let curves: Vec<CurveRow> = rows
        .iter()
        .flat_map(|(c, r)| {
            r.curve.iter().map(move |p| CurveRow {
                data: &cfg.data[c.data].label,
                seed: c.seed,
                optimizer: &cfg.optimizer[c.optimizer].label,
                outcome: r.outcome,
                step: p.step,
                train_loss: p.train_loss,
                test_error: p.test_error,
                w_norm: p.w_norm,
                cos_l2: p.cos_l2,
                cos_linf: p.cos_linf,
                cos_l1: p.cos_l1,
                margin_l2: p.margin_l2,
                margin_linf: p.margin_linf,
                margin_l1: p.margin_l1,
            })
        })
        .collect();
    ctx.write_rows("curves.csv", &curves)?;

    // The limit table.
    let mut limits = vec![];
    for (di, d) in cfg.data.iter().enumerate() {
        let drawn: Vec<_> = sh.drawn.iter().filter(|x| x.data == di).collect();
        for (oi, o) in cfg.optimizer.iter().enumerate() {
            let runs: Vec<&Run> = rows
                .iter()
                .filter(|(c, _)| c.data == di && c.optimizer == oi)
                .map(|(_, r)| r)
                .collect();
            let last: Vec<CurvePoint> = runs.iter().map(|r| counted(r)).collect();
            let m = |f: fn(&CurvePoint) -> f64| mean(last.iter().map(f));
            let margins = [m(|p| p.margin_l2), m(|p| p.margin_linf), m(|p| p.margin_l1)];
            let best = (0..3)
                .filter(|&k| margins[k].is_finite())
                .max_by(|&a, &b| margins[a].total_cmp(&margins[b]));
            let tends = best.filter(|&k| margins[k] >= cfg.tends_to_at);
            let k = tends.unwrap_or(0);
            limits.push(Limit {
                data: d.label.clone(),
                optimizer: o.label.clone(),
                lr_decay: o.lr_decay,
                steps: d.steps,
                cos_l2: m(|p| p.cos_l2),
                cos_linf: m(|p| p.cos_linf),
                cos_l1: m(|p| p.cos_l1),
                margin_l2: margins[0],
                margin_linf: margins[1],
                margin_l1: margins[2],
                tends_to: tends.map_or("none", |k| MarginNorm::ALL[k].name()).into(),
                gap_decade_ratio: mean(runs.iter().map(|r| decade_ratio(r, k))),
                test_error: m(|p| p.test_error),
                test_error_l2_separator: mean(drawn.iter().map(|x| x.separators[0].test_error)),
                test_error_linf_separator: mean(drawn.iter().map(|x| x.separators[1].test_error)),
                train_loss: m(|p| p.train_loss),
                diverged: runs.iter().filter(|r| r.outcome == Status::Diverged).count(),
            });
        }
    }
    ctx.write_rows("limits.csv", &limits)?;
    for l in &limits {
        eprintln!(
            "implicit-bias: {:<10} {:<14} cos(ℓ2) {:.4} cos(ℓ∞) {:.4} γ2/γ2* {:.4} γ∞/γ∞* {:.4} → {:<4} test error {:.3} (ℓ2 sep {:.3}, ℓ∞ sep {:.3})",
            l.data,
            l.optimizer,
            l.cos_l2,
            l.cos_linf,
            l.margin_l2,
            l.margin_linf,
            l.tends_to,
            l.test_error,
            l.test_error_l2_separator,
            l.test_error_linf_separator
        );
    }

    // One figure per data set: mean over seeds against the step.
    for (di, d) in cfg.data.iter().enumerate() {
        let series = |f: fn(&CurvePoint) -> f64| -> Vec<Series> {
            cfg.optimizer
                .iter()
                .enumerate()
                .map(|(oi, o)| {
                    let runs: Vec<&Run> = rows
                        .iter()
                        .filter(|(c, r)| c.data == di && c.optimizer == oi && r.outcome != Status::Diverged)
                        .map(|(_, r)| r)
                        .collect();
                    let len = runs.iter().map(|r| r.curve.len()).min().unwrap_or(0);
                    let x: Vec<f64> = runs
                        .first()
                        .map_or(vec![], |r| r.curve[..len].iter().map(|p| (p.step + 1) as f64).collect());
                    let y: Vec<f64> = (0..len).map(|k| mean(runs.iter().map(|r| f(&r.curve[k])))).collect();
                    let s = Series::line(o.label.clone(), x, y, oi);
                    // Eight colours: solid, then dashed, then with markers.
                    match oi / 8 {
                        0 => s,
                        1 => s.dashed(),
                        _ => s.with_markers(),
                    }
                })
                .collect()
        };
        let drawn: Vec<_> = sh.drawn.iter().filter(|x| x.data == di).collect();
        let steps = (d.steps + 1) as f64;
        let level =
            |label: &str, v: f64, color: usize| Series::line(label, vec![1.0, steps], vec![v, v], color).dashed();
        let mut err = series(|p| p.test_error);
        err.push(level(
            "ℓ2 max-margin",
            mean(drawn.iter().map(|x| x.separators[0].test_error)),
            6,
        ));
        err.push(level(
            "ℓ∞ max-margin",
            mean(drawn.iter().map(|x| x.separators[1].test_error)),
            7,
        ));
        let panel = |title: &str, y_label: &str, s: Vec<Series>, y_range: Option<(f64, f64)>| {
            Panel::Line(LinePlot {
                title: format!("{}: {title}", d.label),
                x_label: "step t + 1".into(),
                y_label: y_label.into(),
                log_x: true,
                series: s,
                y_range,
                ..Default::default()
            })
        };
        let unit = Some((-0.05, 1.02));
        render(
            &ctx.figure(&d.label),
            (2, 3),
            (560, 440),
            &[
                panel("direction vs ℓ2 max-margin", "cos(w, ŵ₂)", series(|p| p.cos_l2), unit),
                panel("direction vs ℓ∞ max-margin", "cos(w, ŵ∞)", series(|p| p.cos_linf), unit),
                panel("direction vs ℓ1 max-margin", "cos(w, ŵ₁)", series(|p| p.cos_l1), unit),
                panel("normalized ℓ2 margin", "γ₂(w) / γ₂*", series(|p| p.margin_l2), unit),
                panel("normalized ℓ∞ margin", "γ∞(w) / γ∞*", series(|p| p.margin_linf), unit),
                panel("test error", "test error", err, None),
            ],
        )?;
    }
    Ok(Results { limits, worst_kkt })
}
