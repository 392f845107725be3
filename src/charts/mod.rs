//! Charts: where a chart reads the sizes of its claims (the values path behind each claim
//! template). Above `k8s` (it reads renders and values trees), below the commands.

pub mod layout;
