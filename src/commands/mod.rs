//! One module per command. Each takes parsed arguments and returns data (an edited buffer, a
//! plan, findings); the binary prints. A command may use `charts`, `k8s`, `output`, `finding` and
//! `yaml`, never another command's internals (a shared need moves down a layer).

pub mod advise;
pub mod argocd;
pub mod check;
pub mod gitops;
pub mod plan;
pub mod post_render;
pub mod quota_check;
pub mod validate;
pub mod values;
