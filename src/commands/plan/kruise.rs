//! `plan` on OpenKruise's Advanced StatefulSet (`apps.kruise.io`, `kind: StatefulSet`): its own
//! procedure, read in openkruise/kruise at 07169cfac.
//!
//! - Its webhook lets the claim templates change in place (`ValidateStatefulSetUpdate` in
//!   `pkg/webhook/statefulset/validating/statefulset_validation.go` copies `volumeClaimTemplates`
//!   since v1.4.0, #1118): no orphan delete; the values change and `helm upgrade` change the template.
//! - `spec.volumeClaimUpdateStrategy.type` (v1beta1 only, since v1.7.5/v1.8.0) `OnPodRollingUpdate`
//!   works only with the kruise-manager's feature gate `StatefulSetAutoResizePVCGate` (alpha, off by
//!   default, `pkg/features/kruise_features.go`). With it, the webhook
//!   (`ValidateVolumeClaimTemplateUpdate`) refuses a template added, removed or renamed, a changed
//!   storageClassName or accessModes, and a size change on a StorageClass with
//!   `allowVolumeExpansion: false`; the controller (`rollingUpdateStatefulsetPods` in
//!   `pkg/controller/statefulset/stateful_set_control.go`, `TryPatchPVC` in
//!   `statefulset_resize_pvc.go`) patches each pod's PVCs to the template's `spec.resources` as it
//!   walks the pods to update: highest ordinal first, none below `rollingUpdate.partition`, none while
//!   `paused`, none at all with `updateStrategy.type: OnDelete`, and a pod whose PVC has not reached its
//!   request (`IsOwnedPVCsReady`: status.capacity >= request) counts as unavailable against
//!   `maxUnavailable`, so it grows the PVCs one pod at a time.
//! - `OnDelete` (the default the gate's defaulting sets) or unset: the PVCs keep their size; the
//!   script patches them after the upgrade, as for a plain StatefulSet.

use super::*;

/// How an Advanced StatefulSet target is grown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Kruise {
    /// The render's apiVersion (`apps.kruise.io/v1beta1`).
    pub api_version: String,
    /// The render's `spec.volumeClaimUpdateStrategy.type` (empty when unset).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub strategy: String,
    /// Who grows the PVCs after the upgrade: `controller` (OnPodRollingUpdate) or `script`.
    pub pvcs_by: &'static str,
    /// The index of the claim template in `spec.volumeClaimTemplates` (the dry runs' JSON patch).
    pub claim_index: usize,
}

/// The resource kubectl names an Advanced StatefulSet by (`statefulset` is apps/v1's).
pub const RESOURCE: &str = "statefulsets.apps.kruise.io";

/// The Advanced StatefulSet's procedure: its `Kruise` and the finding that says it (a notice), or
/// the finding that blocks it (`kruise-statefulset`) when the controller would not grow the PVCs.
pub(super) fn read(
    input: &Input<'_>,
    parsed: &release::Parsed,
    object: &release::Object,
    claim_index: usize,
    t: &Target,
) -> (Kruise, Finding) {
    let at = |path: &[&str]| objects::str_at(parsed.node(object), path);
    let strategy = at(&["spec", "volumeClaimUpdateStrategy", "type"]).unwrap_or_default();
    let kruise = Kruise {
        api_version: object.api_version.clone(),
        pvcs_by: if strategy == "OnPodRollingUpdate" {
            "controller"
        } else {
            "script"
        },
        strategy,
        claim_index,
    };
    let update_type = at(&["spec", "updateStrategy", "type"]).unwrap_or_default();
    let paused = at(&["spec", "updateStrategy", "rollingUpdate", "paused"]).unwrap_or_default();
    let partition = at(&["spec", "updateStrategy", "rollingUpdate", "partition"])
        .unwrap_or_default()
        .parse::<i64>()
        .unwrap_or(0);
    let why_not = if input.attributes_class.is_some() {
        Some("--volume-attributes-class is not planned for it: its controller copies only spec.resources into the PVCs (TryPatchPVC), and this plan's class steps act on apps/v1 StatefulSets; change the class apart from the size".to_owned())
    } else {
        why_not(&kruise, &update_type, &paused, partition)
    };
    let finding = match why_not {
        Some(why) => blocking(
            "kruise-statefulset",
            format!(
                "{} is OpenKruise's Advanced StatefulSet ({}), and its PVCs can't be grown by this plan: {why}",
                t.statefulset, kruise.api_version
            ),
            Some(if input.attributes_class.is_some() {
                "make the plan with --size alone; change the class of its PVCs apart from it"
                    .to_owned()
            } else {
                "render it with volumeClaimUpdateStrategy.type OnDelete (the script then patches the PVCs itself), or so that the controller rolls every pod (no partition, not paused, updateStrategy RollingUpdate), then make the plan again".to_owned()
            }),
        ),
        None => info("kruise-procedure", procedure(input, t, &kruise)),
    };
    (kruise, finding)
}

/// Why Kruise's controller (or this plan) would not grow the PVCs of this Advanced StatefulSet as
/// rendered, if it would not.
fn why_not(kruise: &Kruise, update_type: &str, paused: &str, partition: i64) -> Option<String> {
    match kruise.strategy.as_str() {
        "" | "OnDelete" | "OnPodRollingUpdate" if !kruise.api_version.ends_with("/v1beta1") && !kruise.strategy.is_empty() => Some(format!(
            "{} has no spec.volumeClaimUpdateStrategy (only apps.kruise.io/v1beta1 has it): the API server drops it, so {} would not be what the cluster runs",
            kruise.api_version, kruise.strategy
        )),
        "" | "OnDelete" => None,
        "OnPodRollingUpdate" if update_type == "OnDelete" => Some("updateStrategy.type is OnDelete: Kruise's controller grows PVCs only as it rolls pods (rollingUpdateStatefulsetPods), which it never does under OnDelete".to_owned()),
        "OnPodRollingUpdate" if paused == "true" => Some("updateStrategy.rollingUpdate.paused is true: the controller rolls no pod, so it grows no PVC".to_owned()),
        "OnPodRollingUpdate" if partition > 0 => Some(format!(
            "updateStrategy.rollingUpdate.partition is {partition}: the controller never rolls the pods below it (sortPodsToUpdate), so their PVCs would keep their size"
        )),
        "OnPodRollingUpdate" => None,
        other => Some(format!("spec.volumeClaimUpdateStrategy.type {other:?} is none of OnPodRollingUpdate, OnDelete: what Kruise does with it is unknown")),
    }
}

fn procedure(input: &Input<'_>, t: &Target, k: &Kruise) -> String {
    let pvcs: Vec<&str> = t.pvcs.iter().map(|p| p.name.as_str()).collect();
    let by = if k.pvcs_by == "controller" {
        format!(
            "with volumeClaimUpdateStrategy OnPodRollingUpdate Kruise's controller patches PVCs {} to {} itself, one pod at a time, highest ordinal first (it needs the kruise-manager feature gate StatefulSetAutoResizePVCGate, alpha and off by default: the preflight proves it with a server-side dry run that the gated webhook must refuse)",
            pvcs.join(", "),
            input.size.text
        )
    } else {
        format!(
            "with volumeClaimUpdateStrategy {} the PVCs keep their size, so the script patches {} after the upgrade",
            if k.strategy.is_empty() {
                "unset"
            } else {
                &k.strategy
            },
            pvcs.join(", ")
        )
    };
    format!(
        "{} is OpenKruise's Advanced StatefulSet ({}): its webhook lets the claim template change in place, so there is no orphan delete: the values change and `helm upgrade` change it (the preflight's server-side dry run proves the webhook accepts it); {by}; then the script waits for each PVC's status.capacity.storage by value and checks `df` in the pods",
        t.statefulset, k.api_version
    )
}

/// The preflight's `kruise` check: server-side dry runs of the claim template change on each
/// Advanced StatefulSet, which Kruise's webhook answers (it is registered with `sideEffects: None`).
pub(super) fn check(input: &Input<'_>, targets: &[Target]) -> Option<Check> {
    let kruise: Vec<&Target> = targets.iter().filter(|t| t.kruise.is_some()).collect();
    if kruise.is_empty() {
        return None;
    }
    let mut commands = Vec::new();
    for t in kruise {
        let Some(k) = &t.kruise else { continue };
        for patch in dry_run_patches(input, k) {
            commands.push(kubectl(
                input,
                false,
                &[
                    "patch",
                    RESOURCE,
                    &t.statefulset,
                    "--dry-run=server",
                    "--type=json",
                    "-p",
                    &patch,
                ],
            ));
        }
    }
    Some(Check {
        id: "kruise",
        title: format!(
            "OpenKruise's webhook accepts claim template {} at {} in place (a server-side dry run of that change on the live Advanced StatefulSet: a Kruise older than 1.4 refuses it, and under OnPodRollingUpdate a StorageClass without expansion); under OnPodRollingUpdate a second dry run that changes the template's accessModes must be refused with `volumeClaimTemplate can not be modified when OnRollingUpdate`, which proves that the kruise-manager runs with StatefulSetAutoResizePVCGate (else its controller would grow no PVC)",
            input.claim, input.size.text
        ),
        commands,
    })
}

/// The JSON patches of the preflight's dry runs: the claim template at the size (with the render's
/// strategy, which the webhook reads from the new object); under OnPodRollingUpdate, also the
/// accessModes changed, which only the gated webhook refuses (the script picks a mode other than
/// the live one for `MODE`).
fn dry_run_patches(input: &Input<'_>, k: &Kruise) -> Vec<String> {
    let at = format!("/spec/volumeClaimTemplates/{}/spec", k.claim_index);
    let strategy = (!k.strategy.is_empty()).then(|| {
        serde_json::json!({"op": "add", "path": "/spec/volumeClaimUpdateStrategy", "value": {"type": k.strategy}})
    });
    let size = serde_json::json!({"op": "replace", "path": format!("{at}/resources/requests/storage"), "value": input.size.text});
    let mut out = vec![
        serde_json::Value::Array(strategy.iter().cloned().chain([size]).collect()).to_string(),
    ];
    if k.pvcs_by == "controller" {
        let modes = serde_json::json!({"op": "replace", "path": format!("{at}/accessModes"), "value": ["MODE"]});
        out.push(
            serde_json::Value::Array(strategy.into_iter().chain([modes]).collect()).to_string(),
        );
    }
    out
}

/// The step after the upgrade: the script patches the PVCs of the Advanced StatefulSets whose
/// strategy leaves them alone, and waits by value for every Advanced StatefulSet's PVC (those of
/// `OnPodRollingUpdate` patched by Kruise's controller, one pod at a time).
pub(super) fn pvcs_step(input: &Input<'_>, targets: &[Target]) -> Step {
    let mut commands = Vec::new();
    let payload = format!(
        "{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{}\"}}}}}}}}",
        input.size.text
    );
    for t in targets.iter().filter(|t| t.kruise.is_some()) {
        let by_script = t.kruise.as_ref().is_some_and(|k| k.pvcs_by == "script");
        for p in t.pvcs.iter().filter(|p| p.state != "missing") {
            if by_script && p.patch {
                commands.push(kubectl(
                    input,
                    true,
                    &["patch", "pvc", &p.name, "--type=merge", "-p", &payload],
                ));
            }
            let jsonpath = "jsonpath={.spec.resources.requests.storage} {.status.capacity.storage} {.status.conditions[*].type}";
            commands.push(kubectl(
                input,
                false,
                &["get", "pvc", &p.name, "-o", jsonpath],
            ));
        }
    }
    step(
        "kruise-pvcs",
        "main",
        format!(
            "Grow the Advanced StatefulSets' PVCs to {}: by the script, or by Kruise's controller under OnPodRollingUpdate",
            input.size.text
        ),
        &format!(
            "Under OnDelete or no volumeClaimUpdateStrategy the script patches each PVC still below {} (after the upgrade: if the upgrade fails, no PVC has grown). Under OnPodRollingUpdate it patches nothing: it waits, pod by pod in the controller's order (highest ordinal first), until Kruise's controller has raised the PVC's request, then until its capacity reaches the size by value; a PVC FileSystemResizePending past the grace period gets its pod restarted (the controller counts that pod unavailable and would go no further).",
            input.size.text
        ),
        commands,
    )
}
