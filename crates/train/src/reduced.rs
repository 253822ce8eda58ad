//! The exact reduced-space GD solver of `gengap-analysis` as [`Dynamics`]:
//! the same driver, stopping rule and [`crate::Status`] as the full-space
//! trainer.

use gengap_analysis::ReducedGd;
use gengap_model::Metrics;

use crate::{Dynamics, Record, TrainError, WeightsOf};

impl WeightsOf for ReducedGd {
    fn weights_f64(&self) -> Option<ndarray::Array2<f64>> {
        self.weights()
    }
}

impl Dynamics for ReducedGd {
    fn evaluate(&mut self) -> Result<Metrics, TrainError> {
        Ok(self.loss_grad())
    }

    fn advance(&mut self) -> Result<(), TrainError> {
        self.apply();
        Ok(())
    }

    /// The coordinates' and inner products' squares sum to a finite value.
    fn healthy(&self) -> bool {
        self.point().in_range()
    }

    /// Test metrics through the cross-Gram (NaN when built from blocked
    /// products, which have no test split); no decomposition summary (the
    /// exact decomposition is [`ReducedGd::decomposition`]).
    fn record(&mut self, step: u64, train: Metrics) -> Result<Record, TrainError> {
        Ok(Record {
            step,
            train,
            test: self.test_metrics(),
            grad_norm: self.grad_norm(),
            summary: None,
            normalized_margin: None,
        })
    }
}
