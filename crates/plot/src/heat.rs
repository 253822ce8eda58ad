//! Drawing a [`Heatmap`]: one rectangle per cell, a colour bar, overlays.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::*;

/// Cell edges: geometric (log) or arithmetic midpoints between centres, extended at the ends.
pub(crate) fn edges(c: &[f64], log: bool) -> Vec<f64> {
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

pub(crate) fn draw_heat<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, h: &Heatmap) -> AreaResult<DB> {
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
