//! pvc-resize: grow the volumes of Helm-managed StatefulSets, offline.
//!
//! The library never prints: it returns data (edited buffers, outcomes, errors with positions),
//! and the binary turns that into text and exit codes.

pub mod argocd;
pub mod check;
pub mod data;
pub mod finding;
pub mod fsutil;
pub mod gitops;
pub mod immutability;
pub mod manifest;
pub mod output;
pub mod patch;
pub mod plan;
pub mod plan_render;
pub mod post_render;
pub mod quantity;
pub mod render;
pub mod schema;
pub mod stream;
pub mod validate;
pub mod values;
pub mod yaml;
