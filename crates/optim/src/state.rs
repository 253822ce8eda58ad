//! The explicit optimizer state, one shape per rule family, so a buffer a
//! rule does not use cannot exist.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Real, Rule};

/// The moment buffers of a rule family (`docs/theory.md#optimizers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", bound(deserialize = "T: Real"))]
pub enum Buffers<T> {
    /// GD, signGD: no state beyond `t`.
    None,
    /// SGD-momentum: the momentum buffer `b`.
    Momentum {
        /// `b`.
        b: Vec<T>,
    },
    /// Adam-type rules: first and second moments.
    Adam {
        /// `M`.
        m: Vec<T>,
        /// `V`.
        v: Vec<T>,
    },
    /// Adam-type rules with the running max (AMSGrad, Padam with `amsgrad`).
    /// Serialized `amsgrad`, the config's spelling (`ams_grad`, the former
    /// one, is still read).
    #[serde(rename = "amsgrad", alias = "ams_grad")]
    AmsGrad {
        /// `M`.
        m: Vec<T>,
        /// `V`.
        v: Vec<T>,
        /// `V_max`.
        v_max: Vec<T>,
    },
}

impl<T> Buffers<T> {
    /// The empty buffers `rule` keeps (sized on the first step); see [`Rule::buffers`].
    pub fn for_rule(rule: Rule) -> Self {
        rule.buffers()
    }

    /// The family's name, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Buffers::None => "none",
            Buffers::Momentum { .. } => "momentum",
            Buffers::Adam { .. } => "adam",
            Buffers::AmsGrad { .. } => "amsgrad",
        }
    }

    /// Every buffer, with its name.
    pub fn all(&self) -> Vec<(BufferName, &[T])> {
        match self {
            Buffers::None => vec![],
            Buffers::Momentum { b } => vec![(BufferName::B, b)],
            Buffers::Adam { m, v } => vec![(BufferName::M, m), (BufferName::V, v)],
            Buffers::AmsGrad { m, v, v_max } => vec![(BufferName::M, m), (BufferName::V, v), (BufferName::VMax, v_max)],
        }
    }

    /// The buffers' common length (`None` without buffers).
    pub fn common_len(&self) -> Option<usize> {
        self.all().first().map(|(_, b)| b.len())
    }
}

/// The name of one buffer of [`Buffers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferName {
    /// The momentum buffer `b`.
    B,
    /// The first moment `M`.
    M,
    /// The second moment `V` (AdaBelief's `S`).
    V,
    /// The running max `V_max`.
    VMax,
}

impl BufferName {
    /// Its key in a serialized state (`b`, `m`, `v`, `v_max`).
    pub fn key(self) -> &'static str {
        match self {
            BufferName::B => "b",
            BufferName::M => "m",
            BufferName::V => "v",
            BufferName::VMax => "v_max",
        }
    }

    /// Its name in errors (`state.m`).
    pub fn field(self) -> &'static str {
        match self {
            BufferName::B => "state.b",
            BufferName::M => "state.m",
            BufferName::V => "state.v",
            BufferName::VMax => "state.v_max",
        }
    }

    /// Whether it holds second moments, which are never negative.
    pub fn is_second_moment(self) -> bool {
        matches!(self, BufferName::V | BufferName::VMax)
    }
}

/// The state of an optimizer: the step count and the rule's buffers.
/// Serializing it (serde_json round-trips floats exactly) and restoring it
/// with [`crate::Optim::load_state`] continues a run bit-identically.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Real"))]
pub struct OptState<T> {
    /// Steps taken, `t`.
    pub t: u64,
    /// The rule's buffers.
    pub buffers: Buffers<T>,
}

impl<T: Real> OptState<T> {
    /// The fresh state of `rule` (`t = 0`, unsized buffers).
    pub fn new(rule: Rule) -> Self {
        OptState {
            t: 0,
            buffers: Buffers::for_rule(rule),
        }
    }

    /// Check that this state can be the state of `rule`: the same buffer
    /// family; buffers of one common length; `t = 0` exactly when the
    /// buffers are unsized (a rule without buffers may have any `t`); second
    /// moments not negative. (The length against the parameters is checked
    /// by the next step.)
    pub fn check(&self, rule: Rule) -> Result<(), OptimError> {
        let want = Buffers::<T>::for_rule(rule);
        if want.kind() != self.buffers.kind() {
            return Err(OptimError::State {
                reason: format!(
                    "the state holds `{}` buffers, but this rule keeps `{}` buffers",
                    self.buffers.kind(),
                    want.kind()
                ),
            });
        }
        let all = self.buffers.all();
        let Some(len) = self.buffers.common_len() else {
            return Ok(());
        };
        for (what, b) in &all {
            if b.len() != len {
                return Err(OptimError::Length {
                    what: what.field(),
                    expected: len,
                    got: b.len(),
                });
            }
        }
        match (self.t, len) {
            (0, 0) => return Ok(()),
            (0, _) => {
                return Err(OptimError::State {
                    reason: format!("t = 0 but the buffers hold {len} entries (they are sized on the first step)"),
                });
            }
            (t, 0) => {
                return Err(OptimError::State {
                    reason: format!("t = {t} but the buffers are empty"),
                });
            }
            _ => {}
        }
        for (what, b) in &all {
            if what.is_second_moment() && b.iter().any(|x| *x < T::zero()) {
                return Err(OptimError::State {
                    reason: format!("the second moment `{}` has a negative entry", what.key()),
                });
            }
        }
        Ok(())
    }
}
