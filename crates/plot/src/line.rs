//! Drawing a [`LinePlot`].

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::*;

pub(crate) fn draw_line<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &LinePlot) -> AreaResult<DB> {
    let xr = p
        .x_range
        .map(|r| Ok(cap_log(r, p.log_x)))
        .unwrap_or_else(|| range_of(p.series.iter().flat_map(|s| s.x.clone()), p.log_x, &p.title));
    let yr = p
        .y_range
        .map(|r| Ok(cap_log(r, p.log_y)))
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
