//! The open optimizer interface: what the trainers need of an optimizer, so
//! that one written in another crate runs wherever a built-in one does.
//!
//! * [`Optimizer`]: one step, a name, the learning rate, and a state that
//!   can be saved ([`SavedState`]) and restored bit for bit;
//! * [`OptimizerSpec`]: a validated, serializable description that builds an
//!   optimizer in either precision (what `train_run`, `train_from` and the
//!   studies take); [`OptimConfig`] is one;
//! * [`OptimChoice`]: a config table that names either a built-in optimizer
//!   or a study's own (`name = "adam"` or `name = "my_rule"`).
//!
//! The built-in [`crate::Optim`] implements the same trait; its single-pass
//! (AVX2 where the CPU has it) update is untouched.
//!
//! Adding an optimizer from outside — Adam with a decaying
//! `ε_t = ε₀/√t`, its state its own type:
//!
//! ```
//! use gengap_optim::{Optimizer, OptimError, OptimizerSpec, Real, SavedState};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Clone, Serialize, Deserialize)]
//! struct DecayingEpsAdam { lr: f64, eps0: f64 }
//!
//! #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//! #[serde(bound(deserialize = "T: Real"))]
//! struct Moments<T> { t: u64, m: Vec<T>, v: Vec<T> }
//!
//! struct Running<T> { cfg: DecayingEpsAdam, s: Moments<T> }
//!
//! impl<T: Real> Optimizer<T> for Running<T> {
//!     fn name(&self) -> &str { "decaying_eps_adam" }
//!     fn step(&mut self, w: &mut [T], g: &[T]) -> Result<(), OptimError> {
//!         if self.s.m.is_empty() { self.s.m = vec![T::zero(); w.len()]; self.s.v = vec![T::zero(); w.len()]; }
//!         self.s.t += 1;
//!         let (b1, b2): (f64, f64) = (0.9, 0.999);
//!         let t = self.s.t as f64;
//!         let eps = self.cfg.eps0 / t.sqrt();
//!         for i in 0..w.len() {
//!             let gi = g[i].to_f64c();
//!             let m = b1 * self.s.m[i].to_f64c() + (1.0 - b1) * gi;
//!             let v = b2 * self.s.v[i].to_f64c() + (1.0 - b2) * gi * gi;
//!             let step = self.cfg.lr * (m / (1.0 - b1.powf(t))) / ((v / (1.0 - b2.powf(t))).sqrt() + eps);
//!             (self.s.m[i], self.s.v[i]) = (T::from_f64c(m), T::from_f64c(v));
//!             w[i] -= T::from_f64c(step);
//!         }
//!         Ok(())
//!     }
//!     fn learning_rate(&self) -> f64 { self.cfg.lr }
//!     fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError> {
//!         self.cfg.lr = lr;
//!         Ok(())
//!     }
//!     fn save_state(&self) -> Result<SavedState, OptimError> { SavedState::new(self.name(), &self.s) }
//!     fn restore_state(&mut self, saved: &SavedState) -> Result<(), OptimError> {
//!         self.s = saved.read(self.name())?;
//!         Ok(())
//!     }
//! }
//!
//! impl OptimizerSpec for DecayingEpsAdam {
//!     fn name(&self) -> &str { "decaying_eps_adam" }
//!     fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError> {
//!         Ok(Box::new(Running { cfg: self.clone(), s: Moments::default() }))
//!     }
//!     fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError> {
//!         Ok(Box::new(Running { cfg: self.clone(), s: Moments::default() }))
//!     }
//! }
//!
//! let spec = DecayingEpsAdam { lr: 0.01, eps0: 1e-8 };
//! let mut opt = spec.build_f64().unwrap();
//! let mut w = vec![1.0, -1.0];
//! opt.step(&mut w, &[0.5, -2.0]).unwrap();
//! let saved = opt.save_state().unwrap();
//! assert_eq!(saved.optimizer, "decaying_eps_adam");
//! // A restored copy continues bit for bit.
//! let mut copy = spec.build_f64().unwrap();
//! copy.restore_state(&saved).unwrap();
//! let mut w2 = w.clone();
//! opt.step(&mut w, &[0.1, 0.2]).unwrap();
//! copy.step(&mut w2, &[0.1, 0.2]).unwrap();
//! assert_eq!(w, w2);
//! ```

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{OptimConfig, OptimError, Real};

/// The common interface of all optimizers, built-in or outside: the
/// trainers (`gengap-train`'s `Trainer` and `LinearTrainer`) call only these.
pub trait Optimizer<T: Real> {
    /// The name a record and a saved state carry (the config `name`).
    fn name(&self) -> &str;
    /// One step: update `w` in place from the gradient `grad` (same length).
    /// The built-in rules size their buffers on the first call and allocate
    /// nothing afterwards.
    fn step(&mut self, w: &mut [T], grad: &[T]) -> Result<(), OptimError>;
    /// The learning rate `η`.
    fn learning_rate(&self) -> f64;
    /// Set `η` (checked by the implementation), e.g. for a schedule.
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError>;
    /// The `ε` of an adaptive rule; `None` (the default) for a rule without one.
    fn eps(&self) -> Option<f64> {
        None
    }
    /// Set `ε` (checked), e.g. for an ε schedule; the default refuses: the
    /// optimizer has none.
    fn set_eps(&mut self, eps: f64) -> Result<(), OptimError> {
        Err(OptimError::InvalidParam {
            field: "eps",
            value: eps.to_string(),
            reason: "this optimizer has no ε",
        })
    }
    /// Everything later steps depend on, in serializable form: a run resumed
    /// from it ([`Optimizer::restore_state`]) continues bit for bit.
    fn save_state(&self) -> Result<SavedState, OptimError>;
    /// Replace the state with a saved one after checking it belongs to this
    /// optimizer; on an error the state is unchanged.
    fn restore_state(&mut self, saved: &SavedState) -> Result<(), OptimError>;
}

/// An optimizer's state, saved: the optimizer's name and its own state type
/// as a JSON value (`f64` and `f32` entries round-trip exactly). Part of a
/// training checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    /// The name of the optimizer that saved it ([`Optimizer::name`]).
    pub optimizer: String,
    /// Its state.
    pub state: serde_json::Value,
}

impl SavedState {
    /// Save `state` of the optimizer `optimizer`.
    pub fn new<S: Serialize + ?Sized>(optimizer: &str, state: &S) -> Result<Self, OptimError> {
        let state = serde_json::to_value(state).map_err(|e| OptimError::State {
            reason: format!("cannot save the state of `{optimizer}`: {e}"),
        })?;
        Ok(SavedState {
            optimizer: optimizer.to_string(),
            state,
        })
    }

    /// The state as `S`, if it was saved by `optimizer` and has that shape.
    pub fn read<S: DeserializeOwned>(&self, optimizer: &str) -> Result<S, OptimError> {
        if self.optimizer != optimizer {
            return Err(OptimError::State {
                reason: format!("the state was saved by `{}`, not `{optimizer}`", self.optimizer),
            });
        }
        S::deserialize(&self.state).map_err(|e| OptimError::State {
            reason: format!("not a state of `{optimizer}`: {e}"),
        })
    }
}

/// A validated description of an optimizer that builds it in either
/// precision: what every entry point that trains takes (`&OptimConfig`
/// coerces to `&dyn OptimizerSpec`).
pub trait OptimizerSpec: std::fmt::Debug + Send + Sync {
    /// The config name of the optimizer it builds.
    fn name(&self) -> &str;
    /// Check the hyperparameters (the default builds one in `f64`).
    fn validate(&self) -> Result<(), OptimError> {
        self.build_f64().map(|_| ())
    }
    /// Non-fatal remarks on the config, printed by the binaries.
    fn warnings(&self) -> Vec<String> {
        vec![]
    }
    /// Build it for `f64` parameters.
    fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError>;
    /// Build it for `f32` parameters.
    fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError>;
}

impl OptimizerSpec for OptimConfig {
    fn name(&self) -> &str {
        OptimConfig::name(self)
    }

    fn validate(&self) -> Result<(), OptimError> {
        self.resolve().map(|_| ())
    }

    fn warnings(&self) -> Vec<String> {
        OptimConfig::warnings(self)
    }

    fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError> {
        Ok(Box::new(self.build::<f64>()?))
    }

    fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError> {
        Ok(Box::new(self.build::<f32>()?))
    }
}

/// An optimizer table that names a built-in optimizer or a study's own
/// (`C`, any serde type that is an [`OptimizerSpec`]): a table whose `name`
/// is one of [`OptimConfig::NAMES`] is read as an [`OptimConfig`], any other
/// as a `C`. A study registers its optimizers by using `OptimChoice<Own>`
/// where it would use `OptimConfig` (with `C` an enum tagged by `name` for
/// several).
///
/// ```
/// use gengap_optim::{OptimChoice, OptimConfig, Optimizer, OptimError, OptimizerSpec};
/// use serde::{Deserialize, Serialize};
///
/// // The study's own optimizers, one enum tagged by `name`.
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// #[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
/// enum Own { HalfGd { lr: f64 } }
/// # impl OptimizerSpec for Own {
/// #     fn name(&self) -> &str { "half_gd" }
/// #     fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError> { let Own::HalfGd { lr } = self; OptimConfig::gd(lr / 2.0).build_f64() }
/// #     fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError> { let Own::HalfGd { lr } = self; OptimConfig::gd(lr / 2.0).build_f32() }
/// # }
///
/// let own: OptimChoice<Own> = toml::from_str("name = \"half_gd\"\nlr = 0.1").unwrap();
/// assert_eq!(own, OptimChoice::Own(Own::HalfGd { lr: 0.1 }));
/// let builtin: OptimChoice<Own> = toml::from_str("name = \"adam\"\nlr = 0.1").unwrap();
/// assert_eq!(builtin.name(), "adam");
/// // A built-in name is read as the built-in config, its keys checked as usual.
/// assert!(toml::from_str::<OptimChoice<Own>>("name = \"adam\"\nrate = 0.1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum OptimChoice<C> {
    /// One of gengap's optimizers.
    Builtin(OptimConfig),
    /// The study's own.
    Own(C),
}

impl<C: Serialize> Serialize for OptimChoice<C> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OptimChoice::Builtin(c) => c.serialize(s),
            OptimChoice::Own(c) => c.serialize(s),
        }
    }
}

impl<'de, C: DeserializeOwned> Deserialize<'de> for OptimChoice<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A TOML value keeps what a config can hold (NaN and infinite
        // floats included, which the checks then name).
        let table = toml::Value::deserialize(d)?;
        let name = table.get("name").and_then(|n| n.as_str());
        let builtin = name.is_some_and(|n| OptimConfig::NAMES.contains(&n));
        if builtin {
            table.try_into().map(OptimChoice::Builtin).map_err(D::Error::custom)
        } else {
            table.try_into().map(OptimChoice::Own).map_err(D::Error::custom)
        }
    }
}

impl<C: OptimizerSpec> OptimizerSpec for OptimChoice<C> {
    fn name(&self) -> &str {
        match self {
            OptimChoice::Builtin(c) => OptimConfig::name(c),
            OptimChoice::Own(c) => c.name(),
        }
    }

    fn validate(&self) -> Result<(), OptimError> {
        match self {
            OptimChoice::Builtin(c) => OptimizerSpec::validate(c),
            OptimChoice::Own(c) => c.validate(),
        }
    }

    fn warnings(&self) -> Vec<String> {
        match self {
            OptimChoice::Builtin(c) => c.warnings(),
            OptimChoice::Own(c) => c.warnings(),
        }
    }

    fn build_f64(&self) -> Result<Box<dyn Optimizer<f64> + Send>, OptimError> {
        match self {
            OptimChoice::Builtin(c) => c.build_f64(),
            OptimChoice::Own(c) => c.build_f64(),
        }
    }

    fn build_f32(&self) -> Result<Box<dyn Optimizer<f32> + Send>, OptimError> {
        match self {
            OptimChoice::Builtin(c) => c.build_f32(),
            OptimChoice::Own(c) => c.build_f32(),
        }
    }
}
