//! Tests of the figure code.

use super::*;
use plotters::prelude::RGBColor;
use std::path::Path;

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

/// A loss curve that falls to 1e−300 (or is given such a range) is drawn on
/// at most `LOG_DECADES` decades: plotters' log-axis tick search over 300
/// decades would stall the figure for many minutes.
#[test]
fn a_log_axis_over_hundreds_of_decades_is_capped() {
    let r = range_of([1e-300, 1e-33, 1.0].into_iter(), true, "loss").unwrap();
    // Twenty decades below the top, and a little padding.
    assert!(
        r.1 > 1.0 && r.0 >= 10f64.powf(-LOG_DECADES - 1.0) && r.0 < 1e-19,
        "{r:?}"
    );
    assert_eq!(cap_log((1e-300, 10.0), true).0, 10.0 * 10f64.powf(-LOG_DECADES));
    assert_eq!(cap_log((-5.0, 10.0), false), (-5.0, 10.0));
    let d = tmpdir("decades");
    let x: Vec<f64> = (1..=400).map(|i| i as f64).collect();
    let p = LinePlot {
        title: "loss".into(),
        log_x: true,
        log_y: true,
        series: vec![Series::line(
            "GD",
            x.clone(),
            x.iter().map(|v| 10f64.powf(-v.min(300.0))).collect(),
            0,
        )],
        ..Default::default()
    };
    let explicit = LinePlot {
        y_range: Some((1e-300, 1.0)),
        ..p.clone()
    };
    render(
        &d.join("fig"),
        (1, 2),
        (300, 200),
        &[Panel::Line(p), Panel::Line(explicit)],
    )
    .unwrap();
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
