//! Unified diffs; kept as a path for existing callers. The code lives in `output::diff`.

pub use crate::output::diff::unified_diff;
