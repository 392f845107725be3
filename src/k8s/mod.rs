//! Kubernetes as the API server reads it: exact quantities, manifest streams split into documents,
//! the objects of a render (StatefulSets, claim templates, PVC names), the StatefulSet update
//! rules, the bundled schemas, and RFC 6902 patches over documents; `release` is the one reader of
//! a manifest stream (the release model every command reads).
//!
//! Knows nothing of charts (which values path sizes what: `charts`) nor of any command.

pub mod names;
pub mod objects;
pub mod patch;
pub mod quantity;
pub mod quota;
pub mod release;
pub mod schema;
pub mod snapshot;
pub mod stream;
pub mod update_rules;
pub mod versions;
