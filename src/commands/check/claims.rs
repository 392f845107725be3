//! What reaches a StatefulSet's immutable fields from outside its persistence block: the storage
//! class from `global` (Bitnami's storage-class helpers), and `podManagementPolicy`.

use super::{Side, finding, show, truthy};
use crate::charts::layout::{BLOCK_LAYOUTS, BlockLayout, Chart};
use crate::finding::{Finding, Severity};
use serde_json::Value;

/// Reports the storage class and pod management policy changes of the blocks' StatefulSets
/// that the block-by-block comparison can't see.
pub fn check(base: &Side, head: &Side, out: &mut Vec<Finding>) {
    let charts = super::identity::charts(base, head);
    let layouts = BLOCK_LAYOUTS
        .iter()
        .filter(|l| charts.is_empty() || charts.contains(&l.chart));
    for l in layouts {
        if rendered(base, l) || rendered(head, l) {
            storage_class(base, head, l, out);
        }
        pod_management_policy(base, head, l, out);
    }
}

/// Whether the block's claim template is rendered at all: `enabled` as a template's `{{ if }}`
/// reads it; unset, the charts' defaults (`persistence` on, `logPersistence` off).
fn rendered(s: &Side, l: &BlockLayout) -> bool {
    let path: Vec<&str> = l.block.split('.').chain(["enabled"]).collect();
    s.get(&path)
        .map_or(!l.block.ends_with("logPersistence"), truthy)
}

/// `global.KEY` as the chart of block `l` sees it: the root's, else (for a subchart, when the
/// root's `global` lacks the key, even as null) the subchart's own `global`. Measured with Helm
/// 3.17.2 and 4.1.4 on the PostHog chart: the root's `global.storageClass: ""` hides
/// `kafka.global.storageClass`.
fn global(s: &Side, l: &BlockLayout, key: &'static str) -> (Vec<&'static str>, Option<Value>) {
    let root = vec!["global", key];
    if s.get(&["global"]).and_then(|g| g.get(key)).is_some() {
        let v = s.get(&root).cloned();
        return (root, v);
    }
    let own = super::identity::owner(l.chart, l.block);
    if own.is_empty() {
        return (root, None);
    }
    let path = vec![own, "global", key];
    let v = s.get(&path).cloned();
    (path, v)
}

/// The storage class block `l`'s claim templates render, and the key it comes from: the first
/// non-empty of `global.storageClass`, the block's `storageClass` and, in Bitnami Kafka >= 24
/// only, `global.defaultStorageClass` (`common.storage.class` of each chart's bundled common);
/// no key and no class when all are empty.
fn class_of(s: &Side, l: &BlockLayout) -> (String, Option<Value>) {
    let own: Vec<&str> = l.block.split('.').chain(["storageClass"]).collect();
    let mut chain = vec![
        global(s, l, "storageClass"),
        (own.clone(), s.get(&own).cloned()),
    ];
    if l.chart == Chart::KafkaKraft {
        chain.push(global(s, l, "defaultStorageClass"));
    }
    chain
        .into_iter()
        .find(|(_, v)| v.as_ref().is_some_and(truthy))
        .map_or((String::new(), None), |(k, v)| (k.join("."), v))
}

/// The storage class a global key gives the claim templates changes (or stops or starts to
/// override the block's own). A change of the block's own `storageClass` alone is the block
/// comparison's (`immutable`, `block-added`).
fn storage_class(base: &Side, head: &Side, l: &BlockLayout, out: &mut Vec<Finding>) {
    let ((from_key, from), (to_key, to)) = (class_of(base, l), class_of(head, l));
    if from == to {
        return;
    }
    // The block's own key on both sides: the block comparison's (`immutable`, `block-added`).
    let global = |k: &str| k.contains("global.");
    if !global(&from_key) && !global(&to_key) {
        return;
    }
    let key = if global(&to_key) { to_key } else { from_key };
    let path: Vec<&str> = key.split('.').collect();
    let class = |v: &Option<Value>| match v {
        None => "none, the cluster's default class".to_owned(),
        Some(Value::String(s)) if s == "-" => "\"\" (no class)".to_owned(),
        v => show(v.as_ref()),
    };
    out.push(
        finding(
            head,
            base,
            Severity::Error,
            "immutable",
            &path,
            format!(
                "{key} changes the storageClassName of {}'s claim template {:?} ({}): {} -> {}: a StatefulSet's \
                 volumeClaimTemplates are immutable and existing PVCs keep their class",
                l.statefulset,
                l.claim,
                l.block,
                class(&from),
                class(&to)
            ),
        )
        .hint(format!(
            "keep the class the claims have ({}); changing it needs new PVCs and a data migration, not a resize",
            class(&from)
        )),
    );
}

/// `podManagementPolicy` next to the block: unset is the chart's default `Parallel` (Bitnami Kafka
/// 14 and 32, Zookeeper 7, PostHog's subcharts), null or empty renders nothing and the API server
/// defaults it to `OrderedReady`.
fn pod_management_policy(base: &Side, head: &Side, l: &BlockLayout, out: &mut Vec<Finding>) {
    let mut path: Vec<&str> = l.block.split('.').collect();
    path.pop();
    path.push("podManagementPolicy");
    let policy = |s: &Side| match s.get(&path) {
        None => "Parallel".to_owned(),
        Some(v) if !truthy(v) => "OrderedReady".to_owned(),
        v => show(v),
    };
    let (from, to) = (policy(base), policy(head));
    if from == to {
        return;
    }
    out.push(
        finding(
            head,
            base,
            Severity::Error,
            "pod-management-policy",
            &path,
            format!(
                "{} changes {}'s podManagementPolicy ({from} -> {to}): Kubernetes refuses the upgrade \
                 (`spec: Forbidden`)",
                path.join("."),
                l.statefulset
            ),
        )
        .hint(format!(
            "keep `{}: {from}`; to change it, delete the StatefulSet with --cascade=orphan and let the upgrade re-create it",
            path.join(".")
        )),
    );
}
