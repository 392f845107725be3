//! OpenKruise's Advanced StatefulSet (`apps.kruise.io/v1beta1`, `kind: StatefulSet`): its own
//! update rules, those of its validating webhook, not Kubernetes'. Read in openkruise/kruise at
//! 07169cfac, `pkg/webhook/statefulset/validating/statefulset_validation.go`:
//!
//! - `ValidateStatefulSetUpdate` copies `replicas`, `template`, `updateStrategy`,
//!   `persistentVolumeClaimRetentionPolicy`, `scaleStrategy`, `volumeClaimTemplates`,
//!   `volumeClaimUpdateStrategy`, `reserveOrdinals`, `lifecycle`, `revisionHistoryLimit` and
//!   `ordinals` from the old object; any other spec difference is `spec: Forbidden`.
//! - `ValidateVolumeClaimTemplateUpdate`: with `volumeClaimUpdateStrategy.type` unset or `OnDelete`
//!   the claim templates may change freely (the PVCs keep theirs until deleted); with
//!   `OnPodRollingUpdate` (and the kruise-manager's gate `StatefulSetAutoResizePVCGate`, which the
//!   render can't show) no template may be added, removed or renamed, its `accessModes` and
//!   `storageClassName` (set on both sides) may not change (`pvc.CompareWithCheckFn` with
//!   `IsClaimCompatibleWithoutSize`), and its size only on a StorageClass that allows expansion: the
//!   controller then grows the PVCs as it rolls the pods. Other changes (labels, annotations, a
//!   volumeAttributesClassName) pass, and existing PVCs keep what they have.

use super::*;

/// The spec fields the webhook copies from the old object before comparing.
const MUTABLE: [&str; 11] = [
    "replicas",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "scaleStrategy",
    "volumeClaimTemplates",
    "volumeClaimUpdateStrategy",
    "reserveOrdinals",
    "lifecycle",
    "revisionHistoryLimit",
    "ordinals",
];

const REFUSED: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'reserveOrdinals', 'lifecycle', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', `volumeClaimTemplates`, `VolumeClaimUpdateStrategy` and 'updateStrategy' are forbidden";

/// Compares an Advanced StatefulSet with its old self by the webhook's rules.
pub(super) fn compare(o: &Sts<'_>, n: &Sts<'_>, out: &mut Vec<Finding>) {
    let strip = |spec: &Value| {
        let mut m = spec.as_object().cloned().unwrap_or_default();
        for k in MUTABLE {
            m.remove(k);
        }
        m.entry("podManagementPolicy")
            .or_insert_with(|| Value::String("OrderedReady".into()));
        let mut v = Value::Object(m);
        prune(&mut v);
        v
    };
    let mut diffs = Vec::new();
    diff(
        &strip(&o.json["spec"]),
        &strip(&n.json["spec"]),
        &mut Vec::new(),
        &mut diffs,
    );
    for d in diffs {
        out.push(
            finding(
                n,
                &d.path,
                Severity::Error,
                "kruise-spec-field",
                format!(
                    "Advanced StatefulSet {} spec.{} changes {} -> {}: OpenKruise's webhook refuses it (`spec: Forbidden: {REFUSED}`)",
                    n.name,
                    show_path(&d.path),
                    show(&d.old),
                    show(&d.new)
                ),
            )
            .hint(format!(
                "keep the old value, or re-create it: `kubectl delete statefulsets.apps.kruise.io {} --cascade=orphan` (pods and PVCs stay), then upgrade",
                n.name
            )),
        );
    }
    compare_claims(o, n, out);
}

/// The findings on the claim templates' changes, by the webhook's rules for the new
/// StatefulSet's volumeClaimUpdateStrategy.
fn compare_claims(o: &Sts<'_>, n: &Sts<'_>, out: &mut Vec<Finding>) {
    let strategy = n
        .json
        .pointer("/spec/volumeClaimUpdateStrategy/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let rolling = strategy == "OnPodRollingUpdate";
    let (oc, nc) = (claims(&o.json), claims(&n.json));
    let at = |i: usize| vec![Seg::Key("volumeClaimTemplates".into()), Seg::Index(i)];
    if rolling && oc.len() != nc.len() {
        out.push(refused(
            n,
            &[Seg::Key("volumeClaimTemplates".into())],
            format!("has {} claim templates instead of {}: `volumeClaimTemplate can not be added or deleted when OnRollingUpdate`", nc.len(), oc.len()),
        ));
        return;
    }
    for (i, c) in nc.iter().enumerate() {
        let name = claim_name(c);
        let Some(old) = oc.iter().find(|x| claim_name(x) == name) else {
            out.push(if rolling {
                refused(n, &at(i), format!("claim template {name:?} is new: `volumeClaimTemplate name can not be modified`"))
            } else {
                accepted(n, &at(i), strategy, format!("gains claim template {name:?}"))
            });
            continue;
        };
        let ((a, sa), (b, sb)) = (without_storage(old), without_storage(c));
        let mut diffs = Vec::new();
        diff(&a, &b, &mut at(i), &mut diffs);
        out.extend(claim_change(n, name, &diffs, rolling, strategy));
        let mut path = at(i);
        path.extend(["spec", "resources", "requests", "storage"].map(|k| Seg::Key(k.into())));
        grow(
            n,
            name,
            &path,
            rolling,
            strategy,
            (sa.as_ref(), sb.as_ref()),
            out,
        );
    }
}

/// A claim template normalized for comparing (limits removed, pruned) without its storage
/// request, and that request.
fn without_storage(c: &Value) -> (Value, Option<Value>) {
    let mut v = normalize_claim(c);
    let storage = v
        .pointer_mut("/spec/resources/requests")
        .and_then(Value::as_object_mut)
        .and_then(|r| r.remove("storage"));
    if let Some(r) = v
        .pointer_mut("/spec/resources")
        .and_then(Value::as_object_mut)
    {
        r.remove("limits");
    }
    prune(&mut v);
    (v, storage)
}

/// Whether the webhook refuses the difference `d` of a claim template. Under OnPodRollingUpdate it
/// refuses only what `IsClaimCompatibleWithoutSize` (pkg/util/pvc) compares: accessModes, and a
/// storageClassName set on both sides.
fn webhook_refuses(d: &Diff, rolling: bool) -> bool {
    let key = |k: usize| match d.path.get(k) {
        Some(Seg::Key(s)) => s.as_str(),
        _ => "",
    };
    rolling
        && key(2) == "spec"
        && (key(3) == "accessModes"
            || (key(3) == "storageClassName" && !d.old.is_null() && !d.new.is_null()))
}

/// The finding on the claim template `name`'s `diffs` (besides its size): the first one the
/// webhook refuses, else the first one, accepted.
fn claim_change(
    n: &Sts<'_>,
    name: &str,
    diffs: &[Diff],
    rolling: bool,
    strategy: &str,
) -> Option<Finding> {
    let refuses = |d: &Diff| webhook_refuses(d, rolling);
    let d = diffs.iter().find(|d| refuses(d)).or(diffs.first())?;
    let what = format!(
        "claim template {name:?} changes ({}: {} -> {})",
        show_path(&d.path[2..]),
        show(&d.old),
        show(&d.new)
    );
    Some(if refuses(d) {
        refused(
            n,
            &d.path,
            format!(
                "{what}: `volumeClaimTemplate can not be modified when OnRollingUpdate` (its accessModes and storageClassName may not change)"
            ),
        )
    } else {
        accepted(n, &d.path, strategy, what)
    })
}

/// A storage request that changes: a shrink is refused by the PVCs; a grow is the controller's
/// job under `OnPodRollingUpdate`, else the PVCs keep their size.
fn grow(
    n: &Sts<'_>,
    claim: &str,
    path: &[Seg],
    rolling: bool,
    strategy: &str,
    (old, new): (Option<&Value>, Option<&Value>),
    out: &mut Vec<Finding>,
) {
    let (Some(Ok((ot, oq))), Some(Ok((nt, nq)))) = (quantity(old), quantity(new)) else {
        return;
    };
    let pvcs: Vec<String> = pvc_names(n)
        .into_iter()
        .filter(|p| p.starts_with(&format!("{claim}-")))
        .collect();
    if nq < oq {
        out.push(finding(n, path, Severity::Error, "shrink", format!(
            "Advanced StatefulSet {} claim template {claim:?} shrinks {ot} -> {nt}: its webhook lets the template change, but a PersistentVolumeClaim can't shrink (`field can not be less than previous value`)", n.name
        )).hint(format!("keep {ot}")));
        return;
    }
    if nq == oq {
        return;
    }
    let (message, hint) = if rolling {
        (
            format!("Advanced StatefulSet {} claim template {claim:?} grows {ot} -> {nt}: OpenKruise accepts it in place (volumeClaimUpdateStrategy OnPodRollingUpdate; no orphan delete), and its controller grows PVCs {} as it rolls the pods, provided the kruise-manager runs with the feature gate StatefulSetAutoResizePVCGate (alpha, off by default: without it no PVC grows); its webhook refuses it when the StorageClass does not allow expansion", n.name, pvcs.join(", ")),
            "plan writes this procedure (its preflight proves the gate with a server-side dry run); by hand: the values change and `helm upgrade`, then wait until each PVC's status.capacity.storage reaches the size (compare by value) and check `df` in the pods".to_owned(),
        )
    } else {
        (
            format!(
                "Advanced StatefulSet {} claim template {claim:?} grows {ot} -> {nt}: OpenKruise accepts the new template in place (volumeClaimUpdateStrategy {}; no orphan delete), but the PVCs {} keep their size: only a PVC created after it gets {nt}",
                n.name,
                if strategy.is_empty() {
                    "unset"
                } else {
                    strategy
                },
                pvcs.join(", ")
            ),
            format!(
                "grow each PVC too (`kubectl patch pvc NAME --type=merge -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{nt}\"}}}}}}}}'`), or set spec.volumeClaimUpdateStrategy.type: OnPodRollingUpdate so that the controller does"
            ),
        )
    };
    out.push(finding(n, path, Severity::Notice, "kruise-grow", message).hint(hint));
}

fn refused(n: &Sts<'_>, path: &[Seg], what: String) -> Finding {
    finding(
        n,
        path,
        Severity::Error,
        "kruise-claim-template-refused",
        format!(
            "Advanced StatefulSet {} {what}: OpenKruise's webhook refuses it",
            n.name
        ),
    )
    .hint("with volumeClaimUpdateStrategy OnPodRollingUpdate a claim template's accessModes and storageClassName may not change; keep them as they are")
}

fn accepted(n: &Sts<'_>, path: &[Seg], strategy: &str, what: String) -> Finding {
    finding(
        n,
        path,
        Severity::Warning,
        "kruise-claim-template-changed",
        format!(
            "Advanced StatefulSet {} {what}: OpenKruise's webhook accepts it (volumeClaimUpdateStrategy {}), but existing PVCs keep what they have: only PVCs created after it (a PVC deleted and re-created: its data gone) take it",
            n.name,
            if strategy.is_empty() { "unset" } else { strategy }
        ),
    )
    .hint("if the existing PVCs must change too, that is a migration: copy the data, then delete and re-create each PVC with its pod")
}
