//! # gengap-plot — the figure code of gengap
//!
//! Two kinds of panel, drawn with plotters into PNG and SVG at once:
//!
//! * [`LinePlot`] — curves with optional log axes, a legend, and text notes
//!   (training curves, λ and p sweeps, boundary fits);
//! * [`Heatmap`] — one rectangle per grid cell, coloured by the viridis map,
//!   with a colorbar and optional curve overlays (the phase diagram with the
//!   theory curve `n·SNR^q = C`).
//!
//! [`render`] lays out panels on a grid and writes `<stem>.png` and
//! `<stem>.svg`; both files are written to a temporary name and renamed, so a
//! figure is never half-written. Text uses the system's sans-serif font
//! (DejaVu on Debian; `fonts-dejavu-core`).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

/// Errors while drawing or writing a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters failed (backend or font).
    #[error("drawing {path}: {msg}")]
    Draw {
        /// The figure being drawn.
        path: PathBuf,
        /// plotters' message.
        msg: String,
    },
    /// The data cannot be plotted (empty, non-finite range, non-positive on a log axis).
    #[error("cannot plot {what}: {why}")]
    Data {
        /// Which panel or series.
        what: String,
        /// Why.
        why: String,
    },
    /// Writing the file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A curve (or scatter) of a [`LinePlot`] or an overlay on a [`Heatmap`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label (empty: not in the legend).
    pub label: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values (same length; non-finite points are skipped).
    pub y: Vec<f64>,
    /// Palette index (see [`palette`]).
    pub color: usize,
    /// Draw markers at the points instead of (`line = false`) or in addition to the line.
    pub markers: bool,
    /// Draw the connecting line.
    pub line: bool,
    /// Dashed line.
    pub dashed: bool,
}

impl Series {
    /// A solid line.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, color: usize) -> Self {
        Series {
            label: label.into(),
            x,
            y,
            color,
            markers: false,
            line: true,
            dashed: false,
        }
    }
    /// Markers only.
    pub fn points(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, color: usize) -> Self {
        Series {
            label: label.into(),
            x,
            y,
            color,
            markers: true,
            line: false,
            dashed: false,
        }
    }
    /// Builder: dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
    /// Builder: with markers.
    pub fn with_markers(mut self) -> Self {
        self.markers = true;
        self
    }
    fn finite_points(&self, log_x: bool, log_y: bool) -> Vec<(f64, f64)> {
        self.x
            .iter()
            .zip(&self.y)
            .map(|(&x, &y)| (x, y))
            .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!log_x || x > 0.0) && (!log_y || y > 0.0))
            .collect()
    }
}

/// A line-plot panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinePlot {
    /// Title above the panel.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Curves.
    pub series: Vec<Series>,
    /// Fixed y range (otherwise fitted to the data).
    pub y_range: Option<(f64, f64)>,
    /// Fixed x range (otherwise fitted to the data).
    pub x_range: Option<(f64, f64)>,
    /// Lines of text drawn in the upper-left corner of the plotting area.
    pub notes: Vec<String>,
    /// Put the legend in the upper-left corner instead of the upper right.
    pub legend_left: bool,
}

/// A heatmap panel: `values[row][col]` at `(x[col], y[row])`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heatmap {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Column centres (increasing).
    pub x: Vec<f64>,
    /// Row centres (increasing).
    pub y: Vec<f64>,
    /// Cell values, `y.len()` rows of `x.len()` columns; non-finite cells are grey.
    pub values: Vec<Vec<f64>>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Colour scale range.
    pub range: (f64, f64),
    /// Colorbar label.
    pub colorbar_label: String,
    /// Curves drawn over the cells.
    pub overlays: Vec<Series>,
    /// Text lines in the upper-left corner.
    pub notes: Vec<String>,
}

/// One panel of a figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    /// A line plot.
    Line(LinePlot),
    /// A heatmap.
    Heat(Heatmap),
}

/// The colour of palette entry `i` (a colour-blind-safe qualitative palette, cycled).
pub fn palette(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(120, 120, 120),
        RGBColor(0, 0, 0),
    ];
    P[i % P.len()]
}

/// The viridis colour map at `t ∈ [0, 1]` (piecewise-linear through 9 anchors).
pub fn viridis(t: f64) -> RGBColor {
    const A: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let s = t * (A.len() - 1) as f64;
    let i = (s.floor() as usize).min(A.len() - 2);
    let f = s - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    RGBColor(
        lerp(A[i].0, A[i + 1].0),
        lerp(A[i].1, A[i + 1].1),
        lerp(A[i].2, A[i + 1].2),
    )
}

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        msg: e.to_string(),
    }
}

fn range_of(vals: impl Iterator<Item = f64>, log: bool, what: &str) -> Result<(f64, f64), PlotError> {
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

fn fmt_tick(v: f64) -> String {
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

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_series<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    s: &Series,
    log_x: bool,
    log_y: bool,
) -> DrawResult<DB>
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
        let ann = chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        if !labelled && !s.label.is_empty() {
            ann.label(s.label.clone())
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
        }
    }
    Ok(())
}

fn draw_notes<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, notes: &[String]) -> DrawResult<DB> {
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

fn draw_line<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &LinePlot) -> DrawResult<DB> {
    let xr = p
        .x_range
        .map(Ok)
        .unwrap_or_else(|| range_of(p.series.iter().flat_map(|s| s.x.clone()), p.log_x, &p.title));
    let yr = p
        .y_range
        .map(Ok)
        .unwrap_or_else(|| range_of(p.series.iter().flat_map(|s| s.y.clone()), p.log_y, &p.title));
    let (xr, yr) = match (xr, yr) {
        (Ok(x), Ok(y)) => (x, y),
        _ => {
            area.draw(&Text::new(
                format!("{}: no data", p.title),
                (20, 20),
                ("sans-serif", 18).into_font(),
            ))?;
            return Ok(());
        }
    };
    with_axes!(area, p.title.as_str(), xr, yr, p.log_x, p.log_y, 16, |chart| {
        chart
            .configure_mesh()
            .x_labels(8)
            .x_desc(p.x_label.as_str())
            .y_desc(p.y_label.as_str())
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&|v| fmt_tick(*v))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for s in &p.series {
            draw_series(&mut chart, s, p.log_x, p.log_y)?;
        }
        if p.series.iter().any(|s| !s.label.is_empty()) {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 14))
                .position(if p.legend_left {
                    SeriesLabelPosition::UpperLeft
                } else {
                    SeriesLabelPosition::UpperRight
                })
                .draw()?;
        }
    });
    draw_notes(area, &p.notes)
}

/// Cell edges: geometric (log) or arithmetic midpoints between centres, extended at the ends.
fn edges(c: &[f64], log: bool) -> Vec<f64> {
    let t = |v: f64| if log { v.ln() } else { v };
    let u = |v: f64| if log { v.exp() } else { v };
    let n = c.len();
    if n == 1 {
        return if log {
            vec![c[0] / 1.5, c[0] * 1.5]
        } else {
            vec![c[0] - 0.5, c[0] + 0.5]
        };
    }
    let mut e = Vec::with_capacity(n + 1);
    e.push(u(t(c[0]) - (t(c[1]) - t(c[0])) / 2.0));
    for i in 0..n - 1 {
        e.push(u((t(c[i]) + t(c[i + 1])) / 2.0));
    }
    e.push(u(t(c[n - 1]) + (t(c[n - 1]) - t(c[n - 2])) / 2.0));
    e
}

fn draw_heat<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, h: &Heatmap) -> DrawResult<DB> {
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(90));
    let (xe, ye) = (edges(&h.x, h.log_x), edges(&h.y, h.log_y));
    let xr = (xe[0], xe[xe.len() - 1]);
    let yr = (ye[0], ye[ye.len() - 1]);
    let (lo, hi) = h.range;
    with_axes!(&main, h.title.as_str(), xr, yr, h.log_x, h.log_y, 8, |chart| {
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(8)
            .x_desc(h.x_label.as_str())
            .y_desc(h.y_label.as_str())
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&|v| fmt_tick(*v))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        chart.draw_series(h.values.iter().enumerate().flat_map(|(r, row)| {
            let (xe, ye) = (&xe, &ye);
            row.iter().enumerate().map(move |(c, &v)| {
                let color = if v.is_finite() {
                    viridis((v - lo) / (hi - lo))
                } else {
                    RGBColor(200, 200, 200)
                };
                Rectangle::new([(xe[c], ye[r]), (xe[c + 1], ye[r + 1])], color.filled())
            })
        }))?;
        for s in &h.overlays {
            let mut s = s.clone();
            s.x.iter_mut().zip(s.y.iter_mut()).for_each(|(x, y)| {
                if *x < xr.0 || *x > xr.1 || *y < yr.0 || *y > yr.1 {
                    *y = f64::NAN;
                }
            });
            draw_series(&mut chart, &s, h.log_x, h.log_y)?;
        }
        if h.overlays.iter().any(|s| !s.label.is_empty()) {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font(("sans-serif", 14))
                .position(SeriesLabelPosition::LowerLeft)
                .draw()?;
        }
    });
    draw_notes(&main, &h.notes)?;
    // Colorbar.
    let mut cb = ChartBuilder::on(&bar);
    cb.margin_top(36)
        .margin_bottom(50)
        .margin_right(8)
        .y_label_area_size(44);
    let mut chart = cb.build_cartesian_2d(0.0..1.0, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(h.colorbar_label.as_str())
        .y_label_formatter(&|v| fmt_tick(*v))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let k = 100;
    chart.draw_series((0..k).map(|i| {
        let (a, b) = (
            lo + (hi - lo) * i as f64 / k as f64,
            lo + (hi - lo) * (i + 1) as f64 / k as f64,
        );
        Rectangle::new([(0.0, a), (1.0, b)], viridis((i as f64 + 0.5) / k as f64).filled())
    }))?;
    Ok(())
}

fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    grid: (usize, usize),
    panels: &[Panel],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let areas = root.split_evenly(grid);
    for (area, panel) in areas.iter().zip(panels) {
        match panel {
            Panel::Line(p) => draw_line(area, p)?,
            Panel::Heat(h) => draw_heat(area, h)?,
        }
    }
    root.present()?;
    Ok(())
}

/// Draw `panels` on a `(rows, cols)` grid of `panel_size` pixels each and write
/// `<stem>.png` and `<stem>.svg` (atomically: temporary file, then rename).
/// Returns the two paths.
pub fn render(
    stem: &Path,
    grid: (usize, usize),
    panel_size: (u32, u32),
    panels: &[Panel],
) -> Result<[PathBuf; 2], PlotError> {
    if panels.is_empty() || panels.len() > grid.0 * grid.1 {
        return Err(PlotError::Data {
            what: stem.display().to_string(),
            why: format!("{} panels for a {}×{} grid", panels.len(), grid.0, grid.1),
        });
    }
    for p in panels {
        if let Panel::Heat(h) = p {
            let ok = !h.x.is_empty()
                && !h.y.is_empty()
                && h.values.len() == h.y.len()
                && h.values.iter().all(|r| r.len() == h.x.len())
                && h.range.0 < h.range.1;
            if !ok {
                return Err(PlotError::Data {
                    what: h.title.clone(),
                    why: "grid shape or colour range is inconsistent".into(),
                });
            }
        }
    }
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| PlotError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    let size = (panel_size.0 * grid.1 as u32, panel_size.1 * grid.0 as u32);
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    let tmp = |p: &Path| {
        p.with_file_name(format!(
            ".{}.tmp.{}",
            p.file_name().unwrap().to_string_lossy(),
            p.extension().unwrap().to_string_lossy()
        ))
    };
    let (png_tmp, svg_tmp) = (tmp(&png), tmp(&svg));
    {
        let root = BitMapBackend::new(&png_tmp, size).into_drawing_area();
        draw_all(&root, grid, panels).map_err(err(&png))?;
    }
    {
        let root = SVGBackend::new(&svg_tmp, size).into_drawing_area();
        draw_all(&root, grid, panels).map_err(err(&svg))?;
    }
    for (t, p) in [(&png_tmp, &png), (&svg_tmp, &svg)] {
        std::fs::rename(t, p).map_err(|e| PlotError::Io {
            path: p.clone(),
            source: e,
        })?;
    }
    Ok([png, svg])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gengap-plot-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn png_size(p: &Path) -> (u32, u32) {
        let b = std::fs::read(p).unwrap();
        assert_eq!(&b[1..4], b"PNG");
        (
            u32::from_be_bytes(b[16..20].try_into().unwrap()),
            u32::from_be_bytes(b[20..24].try_into().unwrap()),
        )
    }

    #[test]
    fn line_plot_with_log_axes_renders_png_and_svg() {
        let d = tmpdir("line");
        let x: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        let p = LinePlot {
            title: "loss".into(),
            x_label: "step".into(),
            y_label: "L".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series::line("GD", x.clone(), x.iter().map(|v| 1.0 / v).collect(), 0),
                Series::line("Adam", x.clone(), x.iter().map(|v| 2.0 / v.sqrt()).collect(), 1).dashed(),
                Series::points("pts", vec![1.0, 10.0], vec![0.5, f64::NAN], 2),
            ],
            notes: vec!["slope = -1".into()],
            ..Default::default()
        };
        let [png, svg] = render(
            &d.join("fig"),
            (1, 2),
            (400, 300),
            &[Panel::Line(p.clone()), Panel::Line(p)],
        )
        .unwrap();
        assert_eq!(png_size(&png), (800, 300));
        let s = std::fs::read_to_string(&svg).unwrap();
        assert!(
            s.contains("Adam") && s.contains("slope = -1"),
            "legend and notes are text in the SVG"
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn heatmap_with_colorbar_and_overlay_renders() {
        let d = tmpdir("heat");
        let x = vec![10.0, 20.0, 40.0, 80.0];
        let y = vec![1.0, 2.0, 4.0];
        let values = vec![vec![0.5, 0.4, 0.3, f64::NAN], vec![0.2, 0.1, 0.0, 0.0], vec![0.0; 4]];
        let h = Heatmap {
            title: "test error".into(),
            x_label: "n".into(),
            y_label: "‖μ‖".into(),
            x,
            y,
            values,
            log_x: true,
            log_y: true,
            range: (0.0, 0.5),
            colorbar_label: "error".into(),
            overlays: vec![Series::line("n·SNR^q = C", vec![10.0, 80.0], vec![3.0, 1.5], 7).dashed()],
            notes: vec![],
        };
        let [png, svg] = render(&d.join("heat"), (1, 1), (500, 400), &[Panel::Heat(h.clone())]).unwrap();
        assert_eq!(png_size(&png), (500, 400));
        assert!(std::fs::read_to_string(svg).unwrap().contains("SNR"));
        let bad = Heatmap {
            values: vec![vec![0.0]],
            ..h
        };
        assert!(matches!(
            render(&d.join("bad"), (1, 1), (100, 100), &[Panel::Heat(bad)]),
            Err(PlotError::Data { .. })
        ));
        assert!(!d.join("bad.png").exists());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn colormap_ends_and_edges() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        let e = edges(&[1.0, 4.0, 16.0], true);
        assert!((e[1] - 2.0).abs() < 1e-12 && (e[0] - 0.5).abs() < 1e-12 && (e[3] - 32.0).abs() < 1e-9);
        assert_eq!(edges(&[0.0, 1.0], false), vec![-0.5, 0.5, 1.5]);
        assert_eq!(fmt_tick(0.25), "0.25");
        assert_eq!(fmt_tick(1e-5), "1e-5");
    }
}
