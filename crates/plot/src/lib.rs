//! gengap-plot: filled in by its own issue.
