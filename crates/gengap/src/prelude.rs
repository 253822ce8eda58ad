//! What a typical program needs, in one `use gengap::prelude::*;`: the data
//! models, the network, the optimizers, training, the decomposition, the
//! seeded streams, `ndarray`'s arrays and (feature `lab`) the `Study` API.
//!
//! ```
//! use gengap::prelude::*;
//!
//! let ds = DataConfig::Z23(Z23Params { d: 60, n: 10, n_test: 100, s: 20, ..Default::default() })
//!     .generate(&mut rng::stream(7, 0))
//!     .unwrap();
//! let model = CnnConfig::default();
//! let run = train_run(&ds, &model, &OptimConfig::padam(1e-3, 0.125), &TrainConfig::steps(10), &mut rng::stream(7, 1))
//!     .unwrap();
//! assert_eq!(run.record.steps, 10);
//! ```

pub use crate::analysis::{
    Basis, Decomposer, Decomposition, ReducedGd, SpanDirection, SpanPoint, SpanProblem, SpanWorkspace, Summary, Targets,
};
pub use crate::data::{C22Params, DataConfig, Dataset, Foreign, NoisyMnistParams, UserSplit, Z23Params, rng};
pub use crate::model::{Activation, ActivationFn, Cnn, CnnConfig, Loss, LossFn, Metrics, OutputScale, Real};
pub use crate::ndarray::{Array1, Array2, ArrayView1, ArrayView2};
pub use crate::optim::{OptimChoice, OptimConfig, OptimError, Optimizer, OptimizerSpec, SavedState, WeightDecay};
pub use crate::train::{
    AlgorithmConfig, DecompositionRecorder, Dynamics, GradientOracle, MiniBatch, Observer, Precision, Record, Run,
    RunRecord, Schedule, SpanAlgorithm, SpanSgd, SpanStep, SpanTrainer, SpanUpdate, Status, StepGradient, Stop,
    TrainConfig, TrainError, Trainer, Watch, WeightsOf, drive, train_from, train_from_stream, train_run,
};
pub use crate::{select_blas_kernel, set_blas_threads, single_threaded_blas};

#[cfg(feature = "lab")]
pub use crate::lab::{CellRng, Ctx, LabError, SetupRng, Study, StudyError, Validate};
