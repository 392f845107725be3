//! What a namespace's ResourceQuotas and LimitRanges allow a PVC grow, as the API server's
//! admission plugins decide it:
//! - `ResourceQuota` (kubernetes `plugin/pkg/admission/resourcequota`, the PVC evaluator of
//!   `pkg/quota/v1/evaluator/core/persistent_volume_claims.go`): an update that raises
//!   `spec.resources.requests.storage` is charged the difference, against `requests.storage` and
//!   `<class>.storageclass.storage.k8s.io/requests.storage` (the PVC's `spec.storageClassName`);
//!   refused when `status.used` plus the charge exceeds `spec.hard`, with `exceeded quota: NAME,
//!   requested: ..., used: ..., limited: ...`.
//! - `LimitRange` (`plugin/pkg/admission/limitranger`, PVCs are checked on update too): an item of
//!   `type: PersistentVolumeClaim` with `max.storage` refuses a request above it.
//!
//! Quantities are added exactly ([`Quantity::add`]); nothing here prints.

use crate::k8s::quantity::Quantity;
use serde_json::Value;

/// One PVC that grows: its name, StorageClass and requests before and after.
#[derive(Debug, Clone)]
pub struct Grow {
    pub pvc: String,
    pub class: Option<String>,
    pub from: Quantity,
    pub to: Quantity,
}

/// A limit the grows would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `ResourceQuota` or `LimitRange`.
    pub kind: &'static str,
    pub name: String,
    /// The resource (`requests.storage`, `fast.storageclass.storage.k8s.io/requests.storage`,
    /// `max.storage`).
    pub resource: String,
    pub message: String,
}

const STORAGE: &str = "requests.storage";
const CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/requests.storage";

/// Every quota and LimitRange among `objects` (of one namespace) that the grows exceed.
pub fn refusals(objects: &[Value], grows: &[Grow]) -> Vec<Refusal> {
    let mut out = Vec::new();
    for o in objects {
        let name = o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?");
        match o.get("kind").and_then(Value::as_str) {
            Some("ResourceQuota") => out.extend(quota(name, o, grows)),
            Some("LimitRange") => out.extend(limit_range(name, o, grows)),
            _ => {}
        }
    }
    out
}

fn quantity_at(o: &Value, pointer: &str, key: &str) -> Option<Quantity> {
    let v = o.pointer(pointer)?.get(key)?;
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Quantity::parse(&text).ok()
}

fn quota(name: &str, o: &Value, grows: &[Grow]) -> Vec<Refusal> {
    let Some(hard) = o.pointer("/spec/hard").and_then(Value::as_object) else {
        return Vec::new();
    };
    let zero = Quantity::parse("0").expect("0 is a quantity");
    let mut out = Vec::new();
    for key in hard.keys() {
        let class = key.strip_suffix(CLASS_SUFFIX);
        if key != STORAGE && class.is_none() {
            continue;
        }
        let charged: Vec<&Grow> = grows
            .iter()
            .filter(|g| class.is_none() || g.class.as_deref() == class)
            .collect();
        let Some(charge) = charged.iter().try_fold(zero.clone(), |sum, g| {
            g.to.minus(&g.from).and_then(|d| sum.add(&d))
        }) else {
            continue;
        };
        if charge.is_zero() {
            continue;
        }
        let Some(limit) = quantity_at(o, "/spec/hard", key) else {
            continue;
        };
        let used = quantity_at(o, "/status/used", key).unwrap_or_else(|| zero.clone());
        let Some(needed) = used.add(&charge) else {
            continue;
        };
        if needed > limit {
            let pvcs: Vec<&str> = charged.iter().map(|g| g.pvc.as_str()).collect();
            out.push(Refusal {
                kind: "ResourceQuota",
                name: name.to_owned(),
                resource: key.clone(),
                message: format!(
                    "ResourceQuota {name} refuses the grow: {key} used {} + requested {} = {} exceeds the hard limit {} by {} ({} bytes needed, {} allowed; PVCs {})",
                    used.canonical(),
                    charge.canonical(),
                    needed.canonical(),
                    limit.canonical(),
                    needed.minus(&limit).map_or_else(String::new, |q| q.canonical()),
                    needed.bytes_grouped(),
                    limit.bytes_grouped(),
                    pvcs.join(", ")
                ),
            });
        }
    }
    out
}

fn limit_range(name: &str, o: &Value, grows: &[Grow]) -> Vec<Refusal> {
    let items = o
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for item in items
        .iter()
        .filter(|i| i.get("type").and_then(Value::as_str) == Some("PersistentVolumeClaim"))
    {
        let Some(max) = quantity_at(item, "/max", "storage") else {
            continue;
        };
        for g in grows.iter().filter(|g| g.to > max) {
            out.push(Refusal {
                kind: "LimitRange",
                name: name.to_owned(),
                resource: "max.storage".into(),
                message: format!(
                    "LimitRange {name} refuses the grow of PVC {}: its maximum storage per PersistentVolumeClaim is {}, the request would be {} ({} > {} bytes)",
                    g.pvc,
                    max.canonical(),
                    g.to.canonical(),
                    g.to.bytes_grouped(),
                    max.bytes_grouped()
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(t: &str) -> Quantity {
        Quantity::parse(t).unwrap()
    }

    fn grow(pvc: &str, class: &str, from: &str, to: &str) -> Grow {
        Grow {
            pvc: pvc.into(),
            class: Some(class.into()),
            from: q(from),
            to: q(to),
        }
    }

    #[test]
    fn quotas_charge_the_growth_exactly() {
        let quota = json!({"kind": "ResourceQuota", "metadata": {"name": "storage"},
            "spec": {"hard": {"requests.storage": "100Gi", "fast.storageclass.storage.k8s.io/requests.storage": "1Ti", "pods": "10"}},
            "status": {"used": {"requests.storage": "60Gi", "fast.storageclass.storage.k8s.io/requests.storage": "60Gi"}}});
        let grows = [
            grow("data-k-0", "fast", "20Gi", "40Gi"),
            grow("data-k-1", "fast", "20Gi", "40Gi"),
        ];
        // 60Gi + 40Gi = 100Gi: exactly at the limit is allowed.
        assert!(refusals(std::slice::from_ref(&quota), &grows).is_empty());
        let more = [grows[0].clone(), grow("data-k-1", "fast", "20Gi", "40.5Gi")];
        let r = refusals(std::slice::from_ref(&quota), &more);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(
            (r[0].kind, r[0].resource.as_str()),
            ("ResourceQuota", "requests.storage")
        );
        assert!(
            r[0].message.contains(
                "used 60Gi + requested 41472Mi = 102912Mi exceeds the hard limit 100Gi by 512Mi"
            ),
            "{}",
            r[0].message
        );
        // The class-scoped quota counts only its class.
        let scoped = json!({"kind": "ResourceQuota", "metadata": {"name": "fast-only"},
            "spec": {"hard": {"fast.storageclass.storage.k8s.io/requests.storage": "50Gi"}},
            "status": {"used": {"fast.storageclass.storage.k8s.io/requests.storage": "40Gi"}}});
        let r = refusals(
            std::slice::from_ref(&scoped),
            &[grow("a", "slow", "1Gi", "100Gi")],
        );
        assert!(r.is_empty(), "{r:?}");
        let r = refusals(&[scoped], &[grow("a", "fast", "20Gi", "40Gi")]);
        assert_eq!(
            r[0].resource,
            "fast.storageclass.storage.k8s.io/requests.storage"
        );
        // No status yet: used counts as nothing.
        let fresh = json!({"kind": "ResourceQuota", "metadata": {"name": "n"}, "spec": {"hard": {"requests.storage": "10G"}}});
        assert!(refusals(std::slice::from_ref(&fresh), &[grow("a", "x", "1G", "10G")]).is_empty());
        assert_eq!(
            refusals(&[fresh], &[grow("a", "x", "1G", "11.5G")]).len(),
            1
        );
    }

    #[test]
    fn limit_ranges_cap_each_request() {
        let lr = json!({"kind": "LimitRange", "metadata": {"name": "pvc-max"}, "spec": {"limits": [
            {"type": "Container", "max": {"cpu": "2"}},
            {"type": "PersistentVolumeClaim", "max": {"storage": "50Gi"}, "min": {"storage": "1Gi"}}]}});
        assert!(refusals(std::slice::from_ref(&lr), &[grow("a", "x", "20Gi", "50Gi")]).is_empty());
        let r = refusals(
            &[lr],
            &[
                grow("a", "x", "20Gi", "51200Mi"),
                grow("b", "x", "20Gi", "51201Mi"),
            ],
        );
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].message.contains("PVC b: its maximum storage per PersistentVolumeClaim is 50Gi, the request would be 51201Mi"), "{}", r[0].message);
    }
}
