//! Full-space step gradients: the public trait [`StepGradient`] through
//! which an algorithm forms the gradient a step takes, from as many loss
//! gradients as it needs ([`GradientOracle`]), and the built-in rules of
//! [`AlgorithmConfig`]. The [`crate::Trainer`] hands the result to its optimizer.

use gengap_model::{Batch, Cnn, Metrics, Real, Workspace};
use ndarray::{Array2, ArrayView1};
use rand_chacha::ChaCha8Rng;

use super::{AlgorithmConfig, flip_labels, mixup_pairs, sam_scale};
use crate::TrainError;

/// How a full-space step's gradient is formed (SAM, label-noise GD, mixup,
/// or an algorithm written outside the crate); the trainer's optimizer then
/// steps on it (`docs/theory.md#span-preserving-algorithms`).
///
/// ```
/// use gengap_model::{Metrics, Real};
/// use gengap_train::{GradientOracle, StepGradient, TrainError};
/// use ndarray::Array2;
/// use rand_chacha::ChaCha8Rng;
///
/// /// The loss gradient, scaled down to a global norm of at most `c`.
/// struct Clipped { c: f64 }
///
/// impl<T: Real> StepGradient<T> for Clipped {
///     fn name(&self) -> &str { "clipped" }
///     fn gradient(&mut self, o: &mut GradientOracle<'_, T>, w: &Array2<T>, _: Option<&mut ChaCha8Rng>,
///                 out: &mut Array2<T>) -> Result<Metrics, TrainError> {
///         let met = o.loss_grad(w, out)?;
///         let norm = out.iter().map(|g| g.to_f64c().powi(2)).sum::<f64>().sqrt();
///         if norm > self.c {
///             out.mapv_inplace(|g| g * T::from_f64c(self.c / norm));
///         }
///         Ok(met)
///     }
/// }
/// ```
pub trait StepGradient<T: Real>: Send {
    /// A name for logs and errors.
    fn name(&self) -> &str;
    /// Whether a step draws from the run's stream (then the trainer needs
    /// one: [`crate::Trainer::with_stream`]).
    fn needs_stream(&self) -> bool {
        false
    }
    /// Write the gradient the optimizer steps on at `w` into `out` (the
    /// shape of `w`), from loss gradients on the step's samples through
    /// `oracle`; `rng` is the run's algorithm stream (when
    /// [`StepGradient::needs_stream`]). Returns the metrics of the step's
    /// samples that it evaluated (read only to detect divergence).
    fn gradient(
        &mut self,
        oracle: &mut GradientOracle<'_, T>,
        w: &Array2<T>,
        rng: Option<&mut ChaCha8Rng>,
        out: &mut Array2<T>,
    ) -> Result<Metrics, TrainError>;
}

/// Reusable buffers of the oracle (kept by the trainer, so a step allocates
/// nothing once every batch size has been seen).
#[derive(Debug)]
pub(crate) struct OracleScratch<T> {
    w: Array2<T>,
    g: Array2<T>,
    labels: Vec<T>,
    partners: Vec<usize>,
    /// Mixed batches, by size.
    mixed: Vec<(Batch<T>, Vec<T>)>,
}

impl<T: Real> OracleScratch<T> {
    pub(crate) fn new(w_dim: (usize, usize)) -> Self {
        OracleScratch {
            w: Array2::zeros(w_dim),
            g: Array2::zeros(w_dim),
            labels: vec![],
            partners: vec![],
            mixed: vec![],
        }
    }
}

/// The loss gradients a [`StepGradient`] may take at any weights, on the
/// step's samples (the whole training set, or the step's mini-batch).
pub struct GradientOracle<'a, T: Real> {
    pub(crate) cnn: &'a Cnn<T>,
    pub(crate) batch: &'a Batch<T>,
    pub(crate) ws: &'a mut Workspace<T>,
    /// The loss gradient at the step's `w` on these samples, when the
    /// trainer has it already (full batch), with its metrics.
    pub(crate) at_w: Option<(&'a Array2<T>, Metrics)>,
    pub(crate) scratch: &'a mut OracleScratch<T>,
}

impl<T: Real> std::fmt::Debug for GradientOracle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradientOracle").field("n", &self.batch.n()).finish()
    }
}

impl<T: Real> GradientOracle<'_, T> {
    /// The step's samples.
    pub fn batch(&self) -> &Batch<T> {
        self.batch
    }

    /// The model.
    pub fn cnn(&self) -> &Cnn<T> {
        self.cnn
    }

    /// The mean loss gradient at `v` on the step's samples, into `out`.
    pub fn loss_grad(&mut self, v: &Array2<T>, out: &mut Array2<T>) -> Result<Metrics, TrainError> {
        Ok(self.cnn.loss_grad(v, self.batch, self.ws, out)?)
    }

    /// [`GradientOracle::loss_grad`] with other labels (in the samples' order).
    pub fn loss_grad_labels(
        &mut self,
        v: &Array2<T>,
        labels: ArrayView1<T>,
        out: &mut Array2<T>,
    ) -> Result<Metrics, TrainError> {
        Ok(self.cnn.loss_grad_labels(v, self.batch, labels, self.ws, out)?)
    }

    /// The mixup loss gradient at `v`: sample `k` mixed with sample
    /// `partners[k]` as `λ·x_k + (1 − λ)·x_{partners[k]}` (patch by patch),
    /// with the loss `λ·ℓ(y_k f) + (1 − λ)·ℓ(y_{partners[k]} f)`.
    pub fn loss_grad_mixup(
        &mut self,
        v: &Array2<T>,
        partners: &[usize],
        lambda: f64,
        out: &mut Array2<T>,
    ) -> Result<Metrics, TrainError> {
        let (b, p) = (self.batch.n(), self.batch.patches);
        if !(0.0..=1.0).contains(&lambda) {
            return Err(TrainError::InvalidParam {
                field: "mixup lambda",
                value: lambda.to_string(),
                reason: "must be in [0, 1]",
            });
        }
        if partners.len() != b || partners.iter().any(|&j| j >= b) {
            return Err(TrainError::InvalidParam {
                field: "mixup partners",
                value: format!("{} partners", partners.len()),
                reason: "must pair every sample of the step with one of them",
            });
        }
        if lambda == 1.0 {
            // λ = 1 mixes nothing: the plain gradient, bit for bit.
            return self.loss_grad(v, out);
        }
        let at = match self.scratch.mixed.iter().position(|(m, _)| m.n() == b) {
            Some(at) => at,
            None => {
                self.scratch.mixed.push((self.batch.clone(), vec![T::zero(); b]));
                self.scratch.mixed.len() - 1
            }
        };
        let (mixed, y_b) = &mut self.scratch.mixed[at];
        let (l, r) = (T::from_f64c(lambda), T::from_f64c(1.0 - lambda));
        let d = self.batch.d();
        let x = self.batch.x.as_slice().expect("standard layout");
        let xm = mixed.x.as_slice_mut().expect("standard layout");
        for (k, &j) in partners.iter().enumerate() {
            for q in 0..p {
                let (dst, a, bb) = ((k * p + q) * d, (k * p + q) * d, (j * p + q) * d);
                for t in 0..d {
                    xm[dst + t] = l * x[a + t] + r * x[bb + t];
                }
            }
            mixed.y[k] = self.batch.y[k];
            y_b[k] = self.batch.y[j];
        }
        Ok(self
            .cnn
            .loss_grad_mixed(v, mixed, ArrayView1::from(&y_b[..]), T::from_f64c(lambda), self.ws, out)?)
    }
}

/// The built-in rules of [`AlgorithmConfig`] as a [`StepGradient`].
#[derive(Debug, Clone, Copy)]
pub struct BuiltinGradient(pub AlgorithmConfig);

impl<T: Real> StepGradient<T> for BuiltinGradient {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn needs_stream(&self) -> bool {
        self.0.needs_stream()
    }

    fn gradient(
        &mut self,
        o: &mut GradientOracle<'_, T>,
        w: &Array2<T>,
        rng: Option<&mut ChaCha8Rng>,
        out: &mut Array2<T>,
    ) -> Result<Metrics, TrainError> {
        let no_stream = || TrainError::InvalidParam {
            field: "algorithm",
            value: self.0.name().into(),
            reason: "draws from the run's stream: call Trainer::with_stream (or train_from_stream)",
        };
        match self.0 {
            AlgorithmConfig::Plain => match o.at_w {
                Some((g, met)) => {
                    out.assign(g);
                    Ok(met)
                }
                None => o.loss_grad(w, out),
            },
            AlgorithmConfig::Sam { rho, normalized } => {
                // g = ∇L_B(W): the trainer's, or taken here.
                let (g, met) = match o.at_w {
                    Some((g, met)) => (g, met),
                    None => {
                        let met = o.cnn.loss_grad(w, o.batch, o.ws, &mut o.scratch.g)?;
                        (&o.scratch.g, met)
                    }
                };
                if rho == 0.0 {
                    out.assign(g);
                    return Ok(met);
                }
                let norm = g.iter().map(|v| v.to_f64c().powi(2)).sum::<f64>().sqrt();
                let scale = sam_scale(rho, normalized, norm);
                // W̃ = W + scale·g, then the gradient there.
                let s = T::from_f64c(scale);
                o.scratch.w.zip_mut_with(w, |t, &v| *t = v);
                o.scratch.w.zip_mut_with(g, |t, &gv| *t += s * gv);
                o.cnn.loss_grad(&o.scratch.w, o.batch, o.ws, out)?;
                Ok(met)
            }
            AlgorithmConfig::LabelNoiseGd { p } => {
                let rng = rng.ok_or_else(no_stream)?;
                let labels = &mut o.scratch.labels;
                labels.clear();
                labels.extend(o.batch.y.iter().copied());
                flip_labels(rng, p, labels);
                Ok(o.cnn
                    .loss_grad_labels(w, o.batch, ArrayView1::from(&labels[..]), o.ws, out)?)
            }
            AlgorithmConfig::Mixup { alpha } => {
                let rng = rng.ok_or_else(no_stream)?;
                let mut partners = std::mem::take(&mut o.scratch.partners);
                let lambda = mixup_pairs(rng, alpha, o.batch.n(), &mut partners);
                let met = o.loss_grad_mixup(w, &partners, lambda, out);
                o.scratch.partners = partners;
                met
            }
        }
    }
}
