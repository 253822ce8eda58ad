//! gengap-train: filled in by its own issue.
