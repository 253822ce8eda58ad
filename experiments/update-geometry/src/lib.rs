//! `update-geometry` — the talk's noisy-MNIST slides (`docs/theory.md#claims`, claim 4).
//!
//! One real digit plus Gaussian pixel noise, `x`, label `y = +1`, and linear
//! logistic regression `ℓ(y·θᵀx)` from `θ = 0`. The gradient is
//! `ℓ′(yθᵀx)·y·x`, so the GD update `θ⁽ᵗ⁺¹⁾ − θ⁽ᵗ⁾` is a multiple of `x`
//! (it looks like the digit), while Adam's update with a small η is
//! `≈ η·sign(x)`: every pixel moves by the same amount, noise pixels included.

//!
//! A single run: the study has one cell, whose stream draws the pixel noise.

use gengap::data::mnist::Mnist;
use gengap::data::{DataError, rng};
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Setup, SetupRng, Study, StudyError, Validate, resolve_dir};
use gengap::ndarray::ArrayView2;
use gengap::optim::{OptimConfig, Optimizer};
use gengap::plot::{Heatmap, Panel, render};
use serde::{Deserialize, Serialize};

/// The `update-geometry` configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The IDX cache (`cargo xtask fetch-mnist`).
    #[serde(default = "dir")]
    data_dir: String,
    /// Which digit, and which instance of it in the cache.
    digit: u8,
    index: usize,
    /// Pixel noise `N(0, noise_sigma²)`.
    noise_sigma: f64,
    /// The update shown is the one of step `steps` (≥ 1).
    steps: u64,
    /// Plain GD.
    gd: OptimConfig,
    /// Adam with a small learning rate.
    adam: OptimConfig,
}

fn dir() -> String {
    "data/mnist".into()
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        if self.digit > 9 {
            return Err(LabError::invalid("digit", self.digit, "must be 0-9"));
        }
        if !(self.noise_sigma.is_finite() && self.noise_sigma >= 0.0) {
            return Err(LabError::invalid(
                "noise_sigma",
                self.noise_sigma,
                "must be finite and >= 0",
            ));
        }
        gengap::lab::config::check_steps("steps", self.steps)?;
        for o in [&self.gd, &self.adam] {
            o.resolve()
                .map_err(|e| LabError::from(e).at(format!("[{}]", o.name())))?;
        }
        Ok(())
    }

    fn resolve_paths(&mut self, config_dir: &std::path::Path) -> Result<(), LabError> {
        self.data_dir = resolve_dir(config_dir, "data_dir", &self.data_dir)?;
        Ok(())
    }
}

/// `cos(a, b)`, computed on `a/max|a|` and `b/max|b|` (the cosine does not
/// depend on the scale): an update of size 1e160 (Adam at a huge step) would
/// otherwise overflow `‖a‖²` and report 0 instead of its true direction.
/// NaN if either vector is zero or not finite.
fn cos(a: &[f64], b: &[f64]) -> f64 {
    let scaled = |v: &[f64]| {
        let m = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        v.iter().map(|x| x / m).collect::<Vec<f64>>()
    };
    let (a, b) = (scaled(a), scaled(b));
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// `steps` steps of `opt` on `ℓ(θᵀx)` from θ = 0; returns the last update.
fn last_update(opt: &OptimConfig, x: &[f64], steps: u64) -> Result<Vec<f64>, StudyError> {
    let mut o = opt.build::<f64>()?;
    let mut theta = vec![0.0; x.len()];
    let mut g = vec![0.0; x.len()];
    let mut prev = theta.clone();
    for _ in 0..steps {
        let margin: f64 = theta.iter().zip(x).map(|(t, v)| t * v).sum();
        let dl = gengap::model::logistic_deriv(margin);
        for (gi, xi) in g.iter_mut().zip(x) {
            *gi = dl * xi;
        }
        prev.clone_from(&theta);
        o.step(&mut theta, &g)?;
    }
    Ok(theta.iter().zip(&prev).map(|(a, b)| a - b).collect())
}

/// The cosines of the two updates with the input and its sign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    image_index: usize,
    cos_gd_x: f64,
    cos_gd_sign_x: f64,
    cos_adam_x: f64,
    cos_adam_sign_x: f64,
    adam_update_over_lr_mean_abs: f64,
}

/// The digit every run starts from.
#[derive(Debug)]
pub struct Shared {
    clean: Vec<f64>,
    image_index: usize,
    rows: usize,
    cols: usize,
}

/// The one cell's result: the noisy input, both updates and their cosines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    x: Vec<f64>,
    gd: Vec<f64>,
    adam: Vec<f64>,
    results: Results,
}

/// A row of `pixels.csv`.
#[derive(Serialize)]
struct PixelRow {
    pixel: usize,
    clean: f64,
    noisy_input: f64,
    gd_update: f64,
    adam_update: f64,
}

/// The update-geometry study (a single run).
#[derive(Debug, Clone, Copy)]
pub struct UpdateGeometry;

/// The digit (no draws).
impl Setup<Config> for Shared {
    fn setup(cfg: &Config, _: &mut SetupRng) -> Result<Self, StudyError> {
        let m = Mnist::load_dir(std::path::Path::new(&cfg.data_dir)).map_err(|e| DataError::Mnist {
            path: cfg.data_dir.clone(),
            source: std::sync::Arc::new(e),
        })?;
        let image_index = *m
            .of_digit(cfg.digit)
            .get(cfg.index)
            .ok_or_else(|| StudyError::Invalid {
                key: "index".into(),
                value: cfg.index.to_string(),
                reason: format!("only {} images of digit {}", m.of_digit(cfg.digit).len(), cfg.digit),
            })?;
        Ok(Shared {
            clean: m.images.row(image_index).to_vec(),
            image_index,
            rows: m.rows,
            cols: m.cols,
        })
    }
}

impl Study for UpdateGeometry {
    type Config = Config;
    type Shared = Shared;
    type Cell = ();
    type Row = Row;
    type Summary = Results;

    fn name(&self) -> &str {
        "update-geometry"
    }

    fn is_sweep(&self) -> bool {
        false
    }

    fn cells(&self, _: &Config, _: &Shared) -> Vec<()> {
        vec![()]
    }

    fn run(&self, cfg: &Config, sh: &Shared, _: &(), r: &mut CellRng, _: &mut Arrays) -> Result<Row, StudyError> {
        let x: Vec<f64> = sh
            .clean
            .iter()
            .map(|v| v + cfg.noise_sigma * rng::standard_normal(r))
            .collect();
        let sign_x: Vec<f64> = x.iter().map(|v| v.signum()).collect();
        let gd = last_update(&cfg.gd, &x, cfg.steps)?;
        let adam = last_update(&cfg.adam, &x, cfg.steps)?;
        let results = Results {
            image_index: sh.image_index,
            cos_gd_x: cos(&gd, &x),
            cos_gd_sign_x: cos(&gd, &sign_x),
            cos_adam_x: cos(&adam, &x),
            cos_adam_sign_x: cos(&adam, &sign_x),
            adam_update_over_lr_mean_abs: adam.iter().map(|v| v.abs()).sum::<f64>() / adam.len() as f64 / cfg.adam.lr(),
        };
        Ok(Row { x, gd, adam, results })
    }

    fn report(&self, cfg: &Config, sh: &Shared, rows: &[((), Row)], ctx: &Ctx) -> Result<Results, LabError> {
        let row = &rows[0].1;
        let mut images = Arrays::for_output(ctx.output());
        for (name, v) in [
            ("clean", &sh.clean),
            ("x", &row.x),
            ("gd_update", &row.gd),
            ("adam_update", &row.adam),
        ] {
            let image = ArrayView2::from_shape((sh.rows, sh.cols), v.as_slice()).map_err(|e| LabError::Invalid {
                key: "image".into(),
                value: format!("{} pixels", v.len()),
                reason: e.to_string(),
            })?;
            images.put(name, image);
        }
        ctx.write_arrays("images.npz", &images)?;
        report(cfg, sh, row, ctx)
    }
}

fn report(cfg: &Config, sh: &Shared, row: &Row, ctx: &Ctx) -> Result<Results, LabError> {
    let res = &row.results;
    eprintln!(
        "update-geometry: cos(GD, x) = {:.4}, cos(GD, sign x) = {:.4}, cos(Adam, x) = {:.4}, cos(Adam, sign x) = {:.4}",
        res.cos_gd_x, res.cos_gd_sign_x, res.cos_adam_x, res.cos_adam_sign_x
    );
    let pixels: Vec<PixelRow> = (0..row.x.len())
        .map(|i| PixelRow {
            pixel: i,
            clean: sh.clean[i],
            noisy_input: row.x[i],
            gd_update: row.gd[i],
            adam_update: row.adam[i],
        })
        .collect();
    ctx.write_rows("pixels.csv", &pixels)?;
    let (h, w) = (sh.rows, sh.cols);
    let image = |title: String, v: &[f64], symmetric: bool| {
        let hi = v.iter().fold(0.0f64, |a, b| a.max(b.abs())).max(1e-300);
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        Panel::Heat(Heatmap {
            title,
            x_label: "pixel column".into(),
            y_label: "pixel row (top = 27)".into(),
            x: (0..w).map(|c| c as f64).collect(),
            y: (0..h).map(|r| r as f64).collect(),
            // Row 0 of the image is drawn at the top.
            values: (0..h)
                .map(|r| (0..w).map(|c| v[(h - 1 - r) * w + c]).collect())
                .collect(),
            range: if symmetric { (-hi, hi) } else { (lo.min(0.0), hi) },
            colorbar_label: "value".into(),
            ..Default::default()
        })
    };
    let panels = [
        image("clean digit".into(), &sh.clean, false),
        image(format!("noisy input x (σ = {})", cfg.noise_sigma), &row.x, false),
        image(
            format!("GD update: cos(Δ, x) = {:.3}", row.results.cos_gd_x),
            &row.gd,
            true,
        ),
        image(
            format!("Adam update: cos(Δ, sign x) = {:.3}", row.results.cos_adam_sign_x),
            &row.adam,
            true,
        ),
    ];
    render(&ctx.figure(""), (1, 4), (430, 400), &panels)?;
    Ok(row.results.clone())
}
