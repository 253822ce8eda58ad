//! The model crate's error.

/// Errors of the model crate, carrying the offending values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A configuration value is out of range.
    #[error("invalid model parameter `{field}` = {value}: {reason}")]
    InvalidParam {
        /// The config key.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// The valid range.
        reason: &'static str,
    },
    /// Array shapes do not fit together.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// The expected shape.
        expected: String,
        /// The shape given.
        got: String,
    },
    /// An error of code outside gengap: a downstream activation, loss or model (see [`gengap_data::Foreign`]).
    #[error(transparent)]
    Other(#[from] gengap_data::Foreign),
}

pub(crate) fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> ModelError {
    ModelError::InvalidParam {
        field,
        value: value.to_string(),
        reason,
    }
}
