//! A span-preserving algorithm written outside the crates: GD with the
//! gradient clipped to a global Frobenius norm `c`,
//! `W ← W − η·min(1, c/‖∇L_S(W)‖_F)·∇L_S(W)`. The step is a multiple of the
//! gradient, so the weights stay in `span{w⁽⁰⁾} + span{μ, ξ_i}` and the
//! exact reduced engine runs it (`docs/theory.md#span-preserving-algorithms`).
//!
//! It uses only the public pieces: [`SpanAlgorithm`] for the reduced step
//! (the gradient in coordinates, its norm `tr(Γ·G_S·Γᵀ)` from the one
//! `Γ·G_S` product, which also moves `I`), [`StepGradient`] for the same rule
//! in full space, an [`Observer`] that records the exact decomposition, and
//! the lab runner (command line, config checks, per-cell streams, journal,
//! `--shard k/N` / `--merge`, resume, provenance). Each cell runs both spaces
//! from the same `W⁽⁰⁾` and reports how far apart they end. Run:
//! `cargo run --release -p gengap --example clipped_gd -- --config crates/gengap/examples/clipped_gd.toml`
//! (`cargo xtask downstream` builds and runs it from a crate outside the workspace).

use gengap::data::rng::ChaCha8Rng;
use gengap::lab::{Arrays, CellRng, Ctx, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::prelude::*;
use serde::{Deserialize, Serialize};

/// GD on the clipped gradient, in the coordinates of a [`SpanProblem`].
struct ClippedGd {
    lr: f64,
    clip: f64,
    g: Option<SpanDirection>,
}

impl SpanAlgorithm for ClippedGd {
    fn name(&self) -> &str {
        "clipped_gd"
    }

    fn step(&mut self, ctx: &mut SpanStep<'_>) -> Result<(), TrainError> {
        let p = ctx.problem;
        let g = self.g.get_or_insert_with(|| p.zero_direction());
        ctx.batch_gradient(g)?; // Γ on the step's samples (the driver's, for a full batch)
        let (inner, scratch) = ctx.ws.buffers();
        p.inner_of(g, inner, scratch); // Γ·G_S: the norm and the move of I = W·Sᵀ
        let norm = p.norm_sq(g, inner).sqrt();
        let scale = if norm > self.clip { self.clip / norm } else { 1.0 };
        ctx.point.add_known(-self.lr * scale, g, &ctx.ws.inner);
        Ok(())
    }
}

/// The same rule in full space: the optimizer (plain GD) steps on the clipped gradient.
struct ClippedGradient {
    clip: f64,
}

impl StepGradient<f64> for ClippedGradient {
    fn name(&self) -> &str {
        "clipped"
    }

    fn gradient(
        &mut self,
        o: &mut GradientOracle<'_, f64>,
        w: &Array2<f64>,
        _: Option<&mut ChaCha8Rng>,
        out: &mut Array2<f64>,
    ) -> Result<Metrics, TrainError> {
        let met = o.loss_grad(w, out)?;
        let norm = out.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > self.clip {
            out.mapv_inplace(|v| v * (self.clip / norm));
        }
        Ok(met)
    }
}

/// The exact decomposition's summary at each observed step.
#[derive(Default)]
struct Signal(Vec<Summary>);

impl Observer<SpanTrainer> for Signal {
    fn observe(&mut self, t: &SpanTrainer, _: &Record) -> Result<(), TrainError> {
        self.0.push(t.decomposition().summary(t.problem().basis()));
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    data: C22Params,
    model: CnnConfig,
    train: TrainConfig,
    lr: f64,
    clips: Vec<f64>,
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        self.data.validate()?;
        self.model.validate()?;
        self.train.validate_for(self.data.n)?;
        gengap::lab::config::check_positive("lr", self.lr)?;
        if self.clips.is_empty() {
            return Err(LabError::invalid("clips", "[]", "give at least one clip threshold"));
        }
        let bad = self.clips.iter().find(|c| !(c.is_finite() && **c > 0.0));
        bad.map_or(Ok(()), |c| {
            Err(LabError::invalid("clips", c, "each must be finite and > 0"))
        })
    }
}

#[derive(Debug, Serialize)]
struct Cell {
    clip: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    clip: f64,
    outcome: Status,
    steps: u64,
    train_loss: f64,
    test_error: f64,
    max_gamma: f64,
    max_rho_bar: f64,
    /// `‖W_reduced − W_full‖_F / ‖W_full‖_F` at the end.
    full_space_gap: f64,
}

struct ClippedGdStudy;

/// The one training set every cell shares, from the setup stream (the
/// config's `seed` is the lab's: no study declares it).
impl Setup<Config> for Dataset {
    fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
        Ok(DataConfig::C22(cfg.data.clone()).generate(rng)?)
    }
}

impl Study for ClippedGdStudy {
    type Config = Config;
    type Shared = Dataset;
    type Cell = Cell;
    type Row = Row;
    type Summary = Vec<Row>;

    fn name(&self) -> &str {
        "clipped-gd"
    }
    /// This crate's name, version and commit go into `record.json` beside gengap's.
    fn package(&self) -> Option<gengap::lab::Package> {
        Some(gengap::lab::package!())
    }
    fn cells(&self, cfg: &Config, _: &Dataset) -> Vec<Cell> {
        cfg.clips.iter().map(|&clip| Cell { clip }).collect()
    }
    fn run(&self, cfg: &Config, ds: &Dataset, c: &Cell, rng: &mut CellRng, _: &mut Arrays) -> Result<Row, StudyError> {
        let w0 = cfg.model.init::<f64, _>(ds.train.d(), rng)?; // W⁽⁰⁾ from the cell's stream
        let problem = SpanProblem::new(ds, &cfg.model, w0.view())?;
        let algorithm = ClippedGd {
            lr: cfg.lr,
            clip: c.clip,
            g: None,
        };
        let mut reduced =
            SpanTrainer::with_algorithm(problem, Box::new(algorithm), cfg.train.clone())?.with_stream(rng);
        let mut signal = Signal::default();
        let run = reduced.run(&mut [Watch::new(&mut signal, Schedule::End)])?;
        // The same rule in full space, for the check.
        let full = Trainer::new(
            ds,
            &cfg.model,
            w0,
            Box::new(OptimConfig::gd(cfg.lr).build::<f64>()?),
            cfg.train.clone(),
        )?
        .with_gradient(Box::new(ClippedGradient { clip: c.clip }));
        let (_, w_full) = full.run(&mut [])?;
        let w_red = reduced.weights().expect("a data set with a test split");
        let gap = (&w_red - &w_full).mapv(|v| v * v).sum().sqrt() / w_full.mapv(|v| v * v).sum().sqrt();
        let last = run.final_record()?;
        let s = signal.0.last().expect("observed at the end");
        Ok(Row {
            clip: c.clip,
            outcome: run.status,
            steps: run.steps,
            train_loss: last.train.loss,
            test_error: last.test.error,
            max_gamma: s.max_gamma,
            max_rho_bar: s.max_rho_bar,
            full_space_gap: gap,
        })
    }
    fn report(&self, _: &Config, _: &Dataset, rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Vec<Row>, LabError> {
        let rows: Vec<Row> = rows.iter().map(|(_, r)| r.clone()).collect();
        for r in &rows {
            println!(
                "clip {:>6}: {:?} after {} steps, train loss {:.3e}, test error {:.3}, γ {:.3}, ρ̄ {:.3}, reduced vs full {:.1e}",
                r.clip, r.outcome, r.steps, r.train_loss, r.test_error, r.max_gamma, r.max_rho_bar, r.full_space_gap
            );
        }
        ctx.write_rows("clipped_gd.csv", &rows)?;
        Ok(rows)
    }
}

fn main() {
    gengap::lab::main(ClippedGdStudy);
}
