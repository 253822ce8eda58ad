//! [`render`]: panels on a grid, to PNG and SVG.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::*;

pub(crate) fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    grid: (usize, usize),
    panels: &[Panel],
) -> AreaResult<DB> {
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
