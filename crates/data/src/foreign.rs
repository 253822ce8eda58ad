//! The error of code outside the crates, carried through gengap's own errors.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// An error raised by code outside gengap (a downstream optimizer, data
/// source, observer or study), kept whole — message and `source()` chain —
/// inside gengap's error enums (their `Other` variant), so a downstream
/// failure need not be squeezed into a gengap variant that means something
/// else.
///
/// Cheap to clone (shared); two `Foreign`s are equal when they hold the same
/// error value.
///
/// ```
/// use gengap_data::{DataError, Foreign};
///
/// #[derive(Debug)]
/// struct Unreadable(String);
/// impl std::fmt::Display for Unreadable {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "cannot read {}", self.0)
///     }
/// }
/// impl std::error::Error for Unreadable {}
///
/// let e = DataError::from(Foreign::new(Unreadable("scan.h5".into())));
/// assert_eq!(e.to_string(), "cannot read scan.h5");
/// let DataError::Other(f) = e else { panic!("filed as Other") };
/// assert!(f.downcast_ref::<Unreadable>().is_some());
/// ```
#[derive(Clone)]
pub struct Foreign(Arc<dyn Error + Send + Sync + 'static>);

impl Foreign {
    /// Wrap any error.
    pub fn new<E: Error + Send + Sync + 'static>(e: E) -> Self {
        Foreign(Arc::new(e))
    }

    /// Wrap a message (for code whose failure is a string).
    pub fn msg(message: impl Into<String>) -> Self {
        #[derive(Debug)]
        struct Message(String);
        impl fmt::Display for Message {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl Error for Message {}
        Foreign::new(Message(message.into()))
    }

    /// The wrapped error.
    pub fn inner(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The wrapped error as `E`, if it is one.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl From<Box<dyn Error + Send + Sync + 'static>> for Foreign {
    fn from(e: Box<dyn Error + Send + Sync + 'static>) -> Self {
        Foreign(Arc::from(e))
    }
}

impl fmt::Debug for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Foreign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Error for Foreign {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Foreign {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
