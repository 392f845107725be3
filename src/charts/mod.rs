//! Charts: where a chart reads the sizes of its claims (the values path behind each claim
//! template). Above `k8s` (it reads renders and values trees), below the commands.
//! [`paths`] reads the chart's own templates and proves the answer with Helm; [`layout`] is the
//! fallback table of the layouts known by heart.

pub mod layout;
pub mod paths;
pub mod prove;
pub mod source;
pub mod templates;
pub mod verify;
