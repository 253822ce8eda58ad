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

#[macro_use]
mod axes;
mod heat;
mod line;
mod panels;
mod render;

use std::path::PathBuf;

pub(crate) use axes::*;
pub(crate) use heat::*;
pub(crate) use line::*;
pub use panels::*;
pub use render::render;

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

#[cfg(test)]
mod tests;
