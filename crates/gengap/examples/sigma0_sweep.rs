//! A new study in one file: GD's and Adam's final test error against the
//! initialisation scale σ₀ on \[Z23\] data. The lab adds the command line, config
//! checks, per-cell streams, resume, `--shard k/N`/`--merge` and provenance. Run:
//! `cargo run --release -p gengap --example sigma0_sweep -- --config crates/gengap/examples/sigma0_sweep.toml`

use gengap::lab::{Arrays, CellRng, Ctx, LabError, Setup, SetupRng, Study, StudyError, Validate};
use gengap::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    data: Z23Params,
    model: CnnConfig,
    train: TrainConfig,
    sigma0s: Vec<f64>,
    gd: OptimConfig,
    adam: OptimConfig,
}

impl Validate for Config {
    fn validate(&self) -> Result<(), LabError> {
        self.data.validate()?;
        self.train.validate()?;
        self.gd.resolve()?;
        self.adam.resolve()?;
        let bad = self.sigma0s.iter().find(|s| !(s.is_finite() && **s > 0.0));
        bad.map_or(Ok(()), |s| {
            Err(LabError::invalid("sigma0s", s, "each must be finite and > 0"))
        })
    }
}

#[derive(Debug, Serialize)]
struct Cell {
    sigma0: f64,
    adam: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    sigma0: f64,
    optimizer: String,
    train_loss: f64,
    test_error: f64,
}

struct Sigma0Sweep;

/// The one training set every cell shares, from the setup stream (the
/// config's `seed` is the lab's: no study declares it).
impl Setup<Config> for Dataset {
    fn setup(cfg: &Config, rng: &mut SetupRng) -> Result<Self, StudyError> {
        Ok(DataConfig::Z23(cfg.data.clone()).generate(rng)?)
    }
}

impl Study for Sigma0Sweep {
    type Config = Config;
    type Shared = Dataset;
    type Cell = Cell;
    type Row = Row;
    type Summary = Vec<Row>;

    fn name(&self) -> &str {
        "sigma0-sweep"
    }
    fn cells(&self, cfg: &Config, _: &Dataset) -> Vec<Cell> {
        let both = |&sigma0: &f64| [false, true].map(|adam| Cell { sigma0, adam });
        cfg.sigma0s.iter().flat_map(both).collect()
    }
    fn run(&self, cfg: &Config, ds: &Dataset, c: &Cell, rng: &mut CellRng, _: &mut Arrays) -> Result<Row, StudyError> {
        let model = CnnConfig {
            sigma0: c.sigma0,
            ..cfg.model.clone()
        };
        let opt = if c.adam { &cfg.adam } else { &cfg.gd };
        let run = train_run(ds, &model, opt, &cfg.train, rng)?; // W⁽⁰⁾ from the cell's stream
        let last = run.record.final_record()?;
        let (sigma0, optimizer, train_loss, test_error) =
            (c.sigma0, opt.name().into(), last.train.loss, last.test.error);
        Ok(Row {
            sigma0,
            optimizer,
            train_loss,
            test_error,
        })
    }
    fn report(&self, _: &Config, _: &Dataset, rows: &[(Cell, Row)], ctx: &Ctx) -> Result<Vec<Row>, LabError> {
        let rows: Vec<Row> = rows.iter().map(|(_, r)| r.clone()).collect();
        ctx.write_rows("sigma0_sweep.csv", &rows)?; // record.json (config, seed, provenance) is the lab's
        Ok(rows)
    }
}

fn main() {
    gengap::lab::main(Sigma0Sweep);
}
