//! Volumes an operator owns: custom resources of the render whose claims an operator makes (an
//! Altinity ClickHouseInstallation, prometheus-operator's Prometheus and Alertmanager, Strimzi's
//! Kafka and KafkaNodePool). `plan` does not grow them; it says, per resource, how its operator
//! treats a bigger size (from the operators' sources and documentation), so that nobody takes the
//! plan's silence for "nothing to do".

use super::{Finding, Location, Severity};
use crate::k8s::release::{self, Parsed};
use crate::yaml::Node;

/// One `operator-volume` notice per volume owner of the render (those with claim templates,
/// then Strimzi's, each in stream order), from the owners the plan's one scan read.
pub(super) fn findings<'p>(
    file: &str,
    owners: impl Iterator<Item = (&'p Parsed, &'p release::Object)>,
) -> Vec<Finding> {
    let mut found: Vec<(bool, Finding)> = owners.map(|(p, o)| owner_notice(file, p, o)).collect();
    // A stable sort: the owners of claim templates first, Strimzi's after, each in stream order.
    found.sort_by_key(|(strimzi, _)| *strimzi);
    found.into_iter().map(|(_, f)| f).collect()
}

/// The notice of one owner, marked true when it is Strimzi's.
fn owner_notice(file: &str, p: &Parsed, o: &release::Object) -> (bool, Finding) {
    let templates = p.claim_templates(o);
    let names: Vec<&str> = templates.iter().filter_map(|t| claim_name(t)).collect();
    let what = match names.len() {
        0 => format!("{} {}", o.kind, o.name),
        1 => format!("{} {} (claim template {})", o.kind, o.name, names[0]),
        _ => format!(
            "{} {} (claim templates {})",
            o.kind,
            o.name,
            names.join(", ")
        ),
    };
    let strimzi = templates.is_empty() && o.is_strimzi_storage();
    let message = explain(&o.api_version, &o.kind, &o.name, &what);
    (strimzi, notice(file, o, message))
}

fn claim_name(t: &Node) -> Option<&str> {
    t.get("name")
        .or_else(|| t.get("metadata").and_then(|m| m.get("name")))
        .and_then(Node::as_str)
}

fn notice(file: &str, o: &release::Object, message: String) -> Finding {
    Finding::new("operator-volume", Severity::Notice, message).at(Location::new(file, o.pos))
}

/// What the operator of `kind` does with a bigger size, and what is left to the user.
fn explain(api_version: &str, kind: &str, name: &str, what: &str) -> String {
    let group = api_version.split('/').next().unwrap_or_default();
    match (group, kind) {
        ("clickhouse.altinity.com", "ClickHouseInstallation") => format!(
            "{what} is owned by the Altinity ClickHouse operator, not grown by this plan. The operator sets each existing PVC's requests from the claim template when it reconciles (reconcilePVC: VolumeClaimTemplateApplyResourcesRequestsOnPVC, then an update), so the procedure is the values change that sizes the template (plan --chart proves which path: clickhouse.persistence.size in PostHog's chart) and the helm upgrade, on a StorageClass with allowVolumeExpansion; then wait until every PVC of the installation (kubectl get pvc -l clickhouse.altinity.com/chi={name}) reports the size in status.capacity and df in each pod shows it"
        ),
        ("monitoring.coreos.com", "Prometheus" | "Alertmanager" | "ThanosRuler") => format!(
            "{what} is owned by prometheus-operator, not grown by this plan. The operator does not grow existing PVCs (its documentation, \"Resizing volumes\"): set spec.paused: true with the new storage request in spec.storage, patch every PVC (label operator.prometheus.io/name={name}), delete the StatefulSet with --cascade=orphan, then set spec.paused: false and the operator re-creates it. A helm upgrade that changes only the size leaves the PVCs as they are"
        ),
        ("kafka.strimzi.io", _) => format!(
            "{what} is owned by the Strimzi operator, not grown by this plan. Strimzi grows the PVCs itself when the storage size of a persistent-claim volume grows and the StorageClass allows expansion (it compares sizes, skips a PVC that is Resizing, and restarts the broker whose PVC is FileSystemResizePending); it refuses to shrink. The procedure is the values change that sizes spec.storage and the helm upgrade, then a wait on the PVCs' status.capacity"
        ),
        _ => format!(
            "{what} holds claims that an operator makes; this plan does not grow them and can't tell how that operator treats a bigger size: see its documentation before changing the value that sizes them"
        ),
    }
}
