//! `pvc-resize quota-check` (hidden; the resize script's preflight `quota` check): reads
//! `kubectl get resourcequota,limitrange,pvc -o yaml` of the namespace and says which
//! ResourceQuota or LimitRange would refuse growing the named PVCs to SIZE, by the same rule as
//! `plan --cluster` ([`crate::k8s::quota`]), with exact quantities.

use crate::k8s::quantity::{Quantity, Size};
use crate::k8s::quota::{self, Grow, Refusal};
use crate::k8s::snapshot;
use serde_json::Value;
use std::collections::BTreeMap;

/// The PVCs to grow: `in_replicas` are charged their growth, or the whole size when they do not
/// exist yet (the re-created StatefulSet makes them); `if_exist` only when they exist.
pub struct Pvcs<'a> {
    pub in_replicas: &'a [String],
    pub if_exist: &'a [String],
}

/// The refusals, or Err when the objects can't be read.
pub fn run(file: &str, text: &str, size: &Size, pvcs: &Pvcs<'_>) -> Result<Vec<Refusal>, String> {
    let mut limits = Vec::new();
    let mut claims = BTreeMap::new();
    for o in snapshot::read(file, text)? {
        match o.kind.as_str() {
            "ResourceQuota" | "LimitRange" => limits.push(o.json),
            "PersistentVolumeClaim" => {
                claims.insert(o.name, o.json);
            }
            _ => {}
        }
    }
    let zero = Quantity::parse("0").expect("0 is a quantity");
    let mut grows = Vec::new();
    let all = pvcs.in_replicas.iter().map(|p| (p, true));
    for (name, in_replicas) in all.chain(pvcs.if_exist.iter().map(|p| (p, false))) {
        let live = claims.get(name);
        let text_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let from = match live.and_then(|v| text_at(v, "/spec/resources/requests/storage")) {
            Some(q) => Quantity::parse(&q)
                .map_err(|e| format!("{file}: PVC {name} requests {q:?}: {e}"))?,
            None if live.is_none() && in_replicas => zero.clone(),
            None => continue,
        };
        if from >= size.quantity {
            continue;
        }
        grows.push(Grow {
            pvc: name.clone(),
            class: live.and_then(|v| text_at(v, "/spec/storageClassName")),
            from,
            to: size.quantity.clone(),
        });
    }
    Ok(quota::refusals(&limits, &grows))
}
