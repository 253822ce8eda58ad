//! Ranges, ticks, series and notes shared by every panel kind.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::*;

pub(crate) fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

/// The most decades a log axis spans: below `hi·10^−LOG_DECADES` values are
/// off the axis. (plotters' log-axis tick search takes time that grows
/// steeply with the number of decades: a loss curve that reaches 1e−33
/// would otherwise stall the figure.)
pub(crate) const LOG_DECADES: f64 = 20.0;

/// An explicit range on a log axis, held to [`LOG_DECADES`] decades.
pub(crate) fn cap_log((lo, hi): (f64, f64), log: bool) -> (f64, f64) {
    if log && hi > 0.0 {
        (lo.max(hi * 10f64.powf(-LOG_DECADES)), hi)
    } else {
        (lo, hi)
    }
}

pub(crate) fn range_of(vals: impl Iterator<Item = f64>, log: bool, what: &str) -> Result<(f64, f64), PlotError> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return Err(PlotError::Data {
            what: what.into(),
            why: "no finite (positive, on a log axis) values".into(),
        });
    }
    if log {
        lo = lo.max(hi * 10f64.powf(-LOG_DECADES));
        if hi / lo < 1.0001 {
            return Ok((lo / 2.0, hi * 2.0));
        }
        let pad = (hi / lo).powf(0.04);
        Ok((lo / pad, hi * pad))
    } else {
        let span = hi - lo;
        if span <= 1e-12 * hi.abs().max(1.0) {
            let p = hi.abs().max(1.0) * 0.1;
            return Ok((lo - p, hi + p));
        }
        Ok((lo - 0.04 * span, hi + 0.04 * span))
    }
}

pub(crate) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.3}").trim_end_matches('0').to_string()
    }
}

macro_rules! with_axes {
    ($area:expr, $title:expr, $xr:expr, $yr:expr, $lx:expr, $ly:expr, $right:expr, |$chart:ident| $body:block) => {{
        let mut builder = ChartBuilder::on($area);
        builder
            .caption($title, ("sans-serif", 20))
            .margin(8)
            .margin_right($right)
            .x_label_area_size(42)
            .y_label_area_size(64);
        match ($lx, $ly) {
            (false, false) => {
                let mut $chart = builder.build_cartesian_2d($xr.0..$xr.1, $yr.0..$yr.1)?;
                $body
            }
            (true, false) => {
                let mut $chart = builder.build_cartesian_2d(($xr.0..$xr.1).log_scale(), $yr.0..$yr.1)?;
                $body
            }
            (false, true) => {
                let mut $chart = builder.build_cartesian_2d($xr.0..$xr.1, ($yr.0..$yr.1).log_scale())?;
                $body
            }
            (true, true) => {
                let mut $chart = builder.build_cartesian_2d(($xr.0..$xr.1).log_scale(), ($yr.0..$yr.1).log_scale())?;
                $body
            }
        }
    }};
}

pub(crate) type AreaResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

pub(crate) fn draw_series<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    s: &Series,
    log_x: bool,
    log_y: bool,
) -> AreaResult<DB>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let pts = s.finite_points(log_x, log_y);
    let color = palette(s.color);
    let style = color.stroke_width(2);
    let mut labelled = false;
    if s.line && pts.len() > 1 {
        let ann = if s.dashed {
            chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))?
        } else {
            chart.draw_series(LineSeries::new(pts.clone(), style))?
        };
        if !s.label.is_empty() {
            let dashed = s.dashed;
            ann.label(s.label.clone()).legend(move |(x, y)| {
                let segs: Vec<(i32, i32)> = if dashed {
                    vec![(x, y), (x + 7, y)]
                } else {
                    vec![(x, y), (x + 18, y)]
                };
                EmptyElement::at((x, y))
                    + PathElement::new(
                        segs.iter().map(|&(a, b)| (a - x, b - y)).collect::<Vec<_>>(),
                        color.stroke_width(2),
                    )
                    + PathElement::new(
                        if dashed { vec![(11, 0), (18, 0)] } else { vec![] },
                        color.stroke_width(2),
                    )
            });
            labelled = true;
        }
    }
    if s.markers || (s.line && pts.len() == 1) {
        let (fill, line) = (color.filled(), color.stroke_width(2));
        let label = (!labelled && !s.label.is_empty()).then(|| s.label.clone());
        // One branch per shape: each marker is its own element type.
        macro_rules! shaped {
            ($make:expr) => {{
                let ann = chart.draw_series(pts.iter().map(|&p| EmptyElement::at(p) + $make))?;
                if let Some(l) = label {
                    ann.label(l)
                        .legend(move |(x, y)| EmptyElement::at((x + 9, y)) + $make);
                }
            }};
        }
        match s.shape {
            Shape::Circle => shaped!(Circle::new((0, 0), 4, fill)),
            Shape::Ring => shaped!(Circle::new((0, 0), 4, line)),
            Shape::Triangle => shaped!(TriangleMarker::new((0, 0), 5, fill)),
            Shape::Square => shaped!(Rectangle::new([(-4, -4), (4, 4)], fill)),
            Shape::Box => shaped!(Rectangle::new([(-4, -4), (4, 4)], line)),
            Shape::Cross => shaped!(Cross::new((0, 0), 4, line)),
        }
    }
    Ok(())
}

pub(crate) fn draw_notes<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, notes: &[String]) -> AreaResult<DB> {
    if notes.is_empty() {
        return Ok(());
    }
    let width = notes.iter().map(|l| l.chars().count()).max().unwrap_or(0) as i32 * 8 + 12;
    let (x0, y0) = (72, 34);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + width, y0 + 18 * notes.len() as i32 + 6)],
        WHITE.mix(0.85).filled(),
    ))?;
    for (k, line) in notes.iter().enumerate() {
        area.draw(&Text::new(
            line.clone(),
            (x0 + 5, y0 + 4 + 18 * k as i32),
            ("sans-serif", 15).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}
