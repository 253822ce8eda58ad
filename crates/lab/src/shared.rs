//! What most studies share across their cells: one data set and one `W⁽⁰⁾`,
//! drawn once from the setup stream.

use gengap_data::{DataConfig, Dataset};
use gengap_model::CnnConfig;
use ndarray::Array2;

use crate::arrays::{Arrays, Output};
use crate::ctx::Ctx;
use crate::error::{LabError, StudyError};
use crate::streams::SetupRng;

/// The data set and the initial weights every run of a study starts from.
#[derive(Debug)]
pub struct DataAndInit {
    /// The data set, with every latent part.
    pub ds: Dataset,
    /// `W⁽⁰⁾`, shape `(2m, d)`.
    pub w0: Array2<f64>,
}

impl DataAndInit {
    /// Draw the data set of `data`, then `W⁽⁰⁾` of `model`, from the setup stream.
    pub fn draw(data: &DataConfig, model: &CnnConfig, rng: &mut SetupRng) -> Result<Self, StudyError> {
        let ds = data.generate(rng)?;
        let w0 = model.init::<f64, _>(ds.train.d(), rng)?;
        Ok(DataAndInit { ds, w0 })
    }

    /// With `output.arrays`, write the data set (every latent part) and `W⁽⁰⁾`
    /// (as `W0`) to `arrays/<file>`.
    pub fn write_arrays(&self, output: Output, ctx: &Ctx, file: &str) -> Result<(), LabError> {
        let mut data = Arrays::for_output(output);
        data.put_dataset(&self.ds).put("W0", self.w0.view());
        ctx.write_arrays(file, &data)
    }
}
