//! What a figure is made of: [`Series`], [`LinePlot`], [`Heatmap`], [`Panel`], and the colours.

use plotters::prelude::*;

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
    /// Marker shape.
    pub shape: Shape,
}

/// The shape of a series' markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// A filled circle.
    #[default]
    Circle,
    /// A filled triangle.
    Triangle,
    /// A filled square.
    Square,
    /// A cross.
    Cross,
    /// A hollow circle.
    Ring,
    /// A hollow square.
    Box,
}

impl Shape {
    /// The `i`-th shape, cycling.
    pub fn nth(i: usize) -> Shape {
        [
            Shape::Circle,
            Shape::Triangle,
            Shape::Square,
            Shape::Cross,
            Shape::Ring,
            Shape::Box,
        ][i % 6]
    }
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
            shape: Shape::Circle,
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
            shape: Shape::Circle,
        }
    }
    /// Builder: dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
    /// Builder: markers of shape `shape`.
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }
    /// Builder: with markers.
    pub fn with_markers(mut self) -> Self {
        self.markers = true;
        self
    }
    pub(crate) fn finite_points(&self, log_x: bool, log_y: bool) -> Vec<(f64, f64)> {
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
