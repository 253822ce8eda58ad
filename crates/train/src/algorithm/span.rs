//! Reduced-space algorithms: the public trait [`SpanAlgorithm`] (one step of
//! any span-preserving algorithm, written from the exact pieces of
//! `gengap_analysis::SpanProblem`), the span-preserving update rules
//! ([`SpanUpdate`]) and the built-in algorithms ([`SpanSgd`]), all run by
//! [`crate::SpanTrainer`] (`docs/theory.md#span-preserving-algorithms`).

use gengap_analysis::{SpanDirection, SpanPoint, SpanProblem, SpanWorkspace, Targets};
use gengap_model::Metrics;
use gengap_optim::{OptimConfig, Rule, WeightDecay};
use rand_chacha::ChaCha8Rng;

use super::{AlgorithmConfig, flip_labels, mixup_pairs, sam_scale};
use crate::TrainError;

/// What one step of a [`SpanAlgorithm`] sees: the problem's exact pieces,
/// the point to move, buffers, the whole set's loss gradient at the point
/// (already taken by the driver's evaluation), the step's mini-batch rows
/// and the run's algorithm stream.
pub struct SpanStep<'a> {
    /// The data and pieces.
    pub problem: &'a SpanProblem,
    /// The weights to move (`W⁽ᵗ⁾` → `W⁽ᵗ⁺¹⁾`).
    pub point: &'a mut SpanPoint,
    /// Buffers for the pieces.
    pub ws: &'a mut SpanWorkspace,
    /// `Γ` of `L_S` (the whole training set, observed labels) at `point`.
    pub full_gradient: &'a SpanDirection,
    /// Its metrics (the driver's evaluation at `point`).
    pub full_metrics: Metrics,
    /// The step's mini-batch, in batch order (`None`: the whole set).
    pub rows: Option<&'a [usize]>,
    /// The run's algorithm stream (when [`SpanAlgorithm::needs_stream`]).
    pub rng: Option<&'a mut ChaCha8Rng>,
}

impl std::fmt::Debug for SpanStep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanStep")
            .field("rows", &self.rows.map(<[usize]>::len))
            .finish()
    }
}

impl SpanStep<'_> {
    /// The step's samples as [`Targets`] (all, or the mini-batch rows).
    pub fn targets(&self) -> Targets<'_> {
        targets_of(self.rows)
    }

    /// The number of samples in the step.
    pub fn batch_len(&self) -> usize {
        self.rows.map_or(self.problem.n(), <[usize]>::len)
    }

    /// The loss gradient on the step's samples at `point` into `out`: the
    /// driver's for a full batch (copied), else taken here.
    pub fn batch_gradient(&mut self, out: &mut SpanDirection) -> Result<Metrics, TrainError> {
        match self.rows {
            None => {
                out.assign(self.full_gradient);
                Ok(self.full_metrics)
            }
            Some(r) => Ok(self
                .problem
                .gradient(self.point, Targets::all().rows(r), self.ws, out)?),
        }
    }

    /// The stream, or the error that the run was given none.
    pub fn stream(&mut self, algorithm: &str) -> Result<&mut ChaCha8Rng, TrainError> {
        match self.rng.as_deref_mut() {
            Some(r) => Ok(r),
            None => Err(TrainError::InvalidParam {
                field: "algorithm",
                value: algorithm.to_string(),
                reason: "draws from the run's stream: give the SpanTrainer one (with_stream)",
            }),
        }
    }
}

/// The samples `rows` (or all) as [`Targets`].
pub fn targets_of(rows: Option<&[usize]>) -> Targets<'_> {
    match rows {
        Some(r) => Targets::all().rows(r),
        None => Targets::all(),
    }
}

/// One step of a span-preserving training algorithm, exact in the
/// coordinates of a [`SpanProblem`]. Implemented by the built-in
/// [`SpanSgd`] and by outside code: an implementation moves `ctx.point` only
/// through `SpanPoint`'s methods (so the weights stay in the span and `I`
/// stays consistent), from gradients and norms taken with the problem's pieces.
///
/// See `crates/gengap/examples/clipped_gd.rs` for GD with the gradient
/// clipped to a global norm, written outside the crates.
pub trait SpanAlgorithm: Send + Sync {
    /// A name for logs and errors.
    fn name(&self) -> &str;
    /// Whether a step draws from the run's stream.
    fn needs_stream(&self) -> bool {
        false
    }
    /// Take one step from `ctx.point`.
    fn step(&mut self, ctx: &mut SpanStep<'_>) -> Result<(), TrainError>;
}

/// The span-preserving update rules of `gengap-optim`, in coordinates: GD
/// and SGD with momentum `μ` (PyTorch form: `b ← μ·b + g`, step `b`, or
/// `g + μ·b` with Nesterov), with L2 (`g ← g + λW`) or decoupled
/// (`W ← W − ηλW` first) weight decay. The coordinate-wise rules (Adam and
/// its family, signGD, Lion) leave the span and are refused.
#[derive(Debug, Clone)]
pub struct SpanUpdate {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    decay: WeightDecay,
    buffer: Option<SpanDirection>,
    d: Option<SpanDirection>,
}

impl SpanUpdate {
    /// The rule of a validated optimizer config, or
    /// [`TrainError::NotSpanPreserving`].
    pub fn from_optim(opt: &OptimConfig) -> Result<Self, TrainError> {
        let h = opt.resolve()?;
        let (momentum, nesterov) = match h.rule() {
            Rule::Gd => (0.0, false),
            Rule::SgdMomentum { momentum, nesterov } => (momentum, nesterov),
            _ => {
                return Err(TrainError::NotSpanPreserving {
                    optimizer: opt.name().to_string(),
                });
            }
        };
        Ok(SpanUpdate {
            lr: h.lr(),
            momentum,
            nesterov,
            decay: h.weight_decay(),
            buffer: None,
            d: None,
        })
    }

    /// The learning rate `η`.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// The momentum buffer `b` (after the first step with `μ > 0`).
    pub fn buffer(&self) -> Option<&SpanDirection> {
        self.buffer.as_ref()
    }

    /// `W ← update(W, g)` for the step gradient `g` (in coordinates).
    ///
    /// Without momentum: `W ← (1 − ηλ)·W − η·g` for either decay (the L2 form
    /// `W − η(g + λW)` is the same map; this is [`gengap_analysis::ReducedGd`]'s
    /// step, bit for bit). With momentum the buffer `b` and the step are
    /// directions with a `W⁽⁰⁾` part (from `λW`), moved by
    /// [`SpanPoint::add`]. One `K × K × 2m` product per step; allocation-free
    /// after the first.
    pub fn apply(&mut self, problem: &SpanProblem, point: &mut SpanPoint, g: &SpanDirection, ws: &mut SpanWorkspace) {
        let (lr, lambda) = (self.lr, self.decay.lambda());
        if self.momentum == 0.0 {
            point.shrink_add(problem, 1.0 - lr * lambda, -lr, g, &mut ws.scratch);
            return;
        }
        let d = self.d.get_or_insert_with(|| problem.zero_direction());
        d.assign(g);
        match self.decay {
            WeightDecay::L2 { .. } => d.add_point(lambda, point),
            WeightDecay::Decoupled { .. } => point.scale(1.0 - lr * lambda),
            WeightDecay::None => {}
        }
        let b = self.buffer.get_or_insert_with(|| problem.zero_direction());
        b.scale(self.momentum);
        b.add(1.0, d);
        if self.nesterov {
            // The step g + μ·b, built in d.
            d.add(self.momentum, b);
            point.add(problem, -lr, d, &mut ws.scratch);
        } else {
            point.add(problem, -lr, b, &mut ws.scratch);
        }
    }
}

/// The built-in span algorithms: a step gradient of [`AlgorithmConfig`]
/// (plain, SAM, label-noise GD, mixup) on the step's samples, then a
/// [`SpanUpdate`] (GD or SGD with momentum / Nesterov, L2 or decoupled decay).
#[derive(Debug, Clone)]
pub struct SpanSgd {
    rule: AlgorithmConfig,
    update: SpanUpdate,
    g: Option<SpanDirection>,
    ascent: Option<SpanDirection>,
    perturbed: Option<SpanPoint>,
    labels: Vec<f64>,
    partners: Vec<usize>,
}

impl SpanSgd {
    /// `rule` with the update of `opt` (validated; refused unless GD or SGD-momentum).
    pub fn new(rule: AlgorithmConfig, opt: &OptimConfig) -> Result<Self, TrainError> {
        rule.validate()?;
        Ok(SpanSgd {
            rule,
            update: SpanUpdate::from_optim(opt)?,
            g: None,
            ascent: None,
            perturbed: None,
            labels: vec![],
            partners: vec![],
        })
    }

    /// The update rule (with its momentum buffer).
    pub fn update(&self) -> &SpanUpdate {
        &self.update
    }
}

impl SpanAlgorithm for SpanSgd {
    fn name(&self) -> &str {
        self.rule.name()
    }

    fn needs_stream(&self) -> bool {
        self.rule.needs_stream()
    }

    fn step(&mut self, ctx: &mut SpanStep<'_>) -> Result<(), TrainError> {
        let problem = ctx.problem;
        // Full-batch plain (and ρ = 0) steps use the driver's gradient as it is.
        let use_full = ctx.rows.is_none()
            && match self.rule {
                AlgorithmConfig::Plain => true,
                AlgorithmConfig::Sam { rho, .. } => rho == 0.0,
                _ => false,
            };
        if use_full {
            self.update.apply(problem, ctx.point, ctx.full_gradient, ctx.ws);
            return Ok(());
        }
        let g = self.g.get_or_insert_with(|| problem.zero_direction());
        match self.rule {
            AlgorithmConfig::Plain => {
                ctx.batch_gradient(g)?;
            }
            AlgorithmConfig::Sam { rho, normalized } => {
                let asc = self.ascent.get_or_insert_with(|| problem.zero_direction());
                ctx.batch_gradient(asc)?;
                if rho == 0.0 {
                    g.assign(asc);
                } else {
                    // ‖g‖²_F = tr(Γ G_S Γᵀ) from Γ·G_S, which also moves I:
                    // one product for the norm and the ascent step together.
                    let (inner, scratch) = ctx.ws.buffers();
                    problem.inner_of(asc, inner, scratch);
                    let norm = problem.norm_sq(asc, inner).sqrt();
                    let scale = sam_scale(rho, normalized, norm);
                    let tilde = self.perturbed.get_or_insert_with(|| ctx.point.clone());
                    tilde.assign(ctx.point);
                    tilde.add_known(scale, asc, &ctx.ws.inner);
                    problem.gradient(tilde, targets_of(ctx.rows), ctx.ws, g)?;
                }
            }
            AlgorithmConfig::LabelNoiseGd { p } => {
                let n = ctx.batch_len();
                self.labels.clear();
                match ctx.rows {
                    Some(r) => self.labels.extend(r.iter().map(|&i| problem.labels()[i])),
                    None => self.labels.extend(problem.labels().iter().copied()),
                }
                debug_assert_eq!(self.labels.len(), n);
                flip_labels(ctx.stream("label_noise_gd")?, p, &mut self.labels);
                let t = targets_of(ctx.rows).with_labels(&self.labels);
                problem.gradient(ctx.point, t, ctx.ws, g)?;
            }
            AlgorithmConfig::Mixup { alpha } => {
                let b = ctx.batch_len();
                let lambda = mixup_pairs(ctx.stream("mixup")?, alpha, b, &mut self.partners);
                let t = targets_of(ctx.rows).mixup(&self.partners, lambda);
                problem.gradient(ctx.point, t, ctx.ws, g)?;
            }
        }
        self.update.apply(problem, ctx.point, g, ctx.ws);
        Ok(())
    }
}
