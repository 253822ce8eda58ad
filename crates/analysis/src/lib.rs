//! gengap-analysis: filled in by its own issue.
