//! gengap-optim: filled in by its own issue.
