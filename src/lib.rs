//! pvc-resize: grow the volumes of Helm-managed StatefulSets, offline.
//!
//! The library never prints: it returns data (edited buffers, outcomes, findings with positions),
//! and the binary turns that into text and exit codes.
//!
//! Layers, each importing only the ones below it:
//! - `commands`: one module per command (values, post-render, validate, check, plan, gitops, argocd).
//! - `charts`: chart layouts (which values path sizes which claim).
//! - `k8s`: Kubernetes objects as the API server reads them: quantities, streams, the objects of a
//!   render, the StatefulSet update rules, schemas, RFC 6902 patches.
//! - `output`: one renderer per format (text, JSON, GitHub annotations, SARIF, unified diffs).
//! - `finding`: the one finding model every command reports in.
//! - `yaml`: the span tree over the event parser, and YAML data exactly as Helm reads it.
//! - `fsutil`: reading and atomic writing of files; `shell`: quoting words for bash.

pub mod charts;
pub mod commands;
pub mod finding;
pub mod fsutil;
pub mod k8s;
pub mod output;
pub mod shell;
pub mod yaml;
