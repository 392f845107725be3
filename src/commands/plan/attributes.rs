//! `plan --volume-attributes-class NAME`: the class the claim templates and the PVCs get. A
//! claim template's `volumeAttributesClassName` is as frozen as its size (the same orphan delete
//! and upgrade), a PVC's may change (kubernetes `ValidatePersistentVolumeClaimUpdate`; the
//! `VolumeAttributesClass` gate: beta 1.31, GA 1.34). What this module adds to the plan: the class
//! in the cluster, each PVC's class, and the values path that sets it in the chart (or why none).

use super::{Cluster, Finding, Input, Target, blocking, info, kubectl, s, shown, warning};
pub use crate::charts::paths::ClassPath;
use crate::charts::prove::ClaimId;
use serde::Serialize;

/// A claim template's class: rendered (`from`), asked for (`to`), and the values path the chart
/// reads it from, when proven.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClassChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_path: Option<String>,
}

/// Finds and proves, on the local chart (`--chart DIR|TGZ`, Helm on PATH), the values path of
/// each claim's class, rendering the chart with the class asked for.
pub type DiscoverClass<'a> =
    dyn Fn(&[ClaimId], &str, Option<&str>) -> Result<Vec<ClassPath>, String> + 'a;

/// The values paths of the class, each once, in the targets' order.
pub fn class_paths(targets: &[Target]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in targets
        .iter()
        .filter_map(|t| t.attributes_class.as_ref()?.values_path.as_ref())
    {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// The class in the cluster, each PVC's class, and the values path of each target.
pub(super) fn apply(
    input: &Input<'_>,
    targets: &mut [Target],
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) {
    let Some(class) = input.attributes_class else {
        return;
    };
    findings.extend(in_cluster(input, class, cluster));
    if let Some(c) = cluster {
        for p in targets.iter_mut().flat_map(|t| t.pvcs.iter_mut()) {
            let live = c.pvcs.get(&p.name);
            p.attributes_class = live
                .and_then(|v| s(v, "/spec/volumeAttributesClassName"))
                .map(str::to_owned);
            if live.is_none() {
                p.set_class = false;
            } else if p.attributes_class.as_deref() == Some(class) {
                p.set_class = false;
                findings.push(info(
                    "pvc-class-set",
                    format!(
                        "{} already names VolumeAttributesClass {class}: skipped",
                        p.name
                    ),
                ));
            }
        }
    }
    if !input.post_renderer_only && !targets.is_empty() {
        values_paths(input, targets, class, findings);
    }
}

/// The class must exist (a PVC naming a missing class waits for it, `ModifyVolumeStatus`
/// Pending, and the wait would never end).
fn in_cluster(input: &Input<'_>, class: &str, cluster: Option<&Cluster>) -> Option<Finding> {
    let get = shown(&kubectl(
        input,
        false,
        &["get", "volumeattributesclass", class, "-o", "yaml"],
    ));
    match cluster.map(|c| (c.attributes_classes.get(class), c.attributes_classes.len())) {
        Some((Some(v), _)) => Some(info(
            "attributes-class-exists",
            format!(
                "VolumeAttributesClass {class} exists (driver {})",
                s(v, "/driverName").unwrap_or("?")
            ),
        )),
        Some((None, n)) if n > 0 => Some(blocking(
            "attributes-class-missing",
            format!(
                "VolumeAttributesClass {class} is not in the snapshot, which lists {n} others: a PVC that names a missing class stays at its old attributes (ModifyVolumeStatus Pending) and the procedure would wait for ever"
            ),
            Some(format!(
                "create the class first (a reviewed change), or name one of the snapshot's; check with `{get}`"
            )),
        )),
        _ => Some(warning(
            "attributes-class-unknown",
            format!(
                "whether VolumeAttributesClass {class} exists is not known here (no snapshot, or one without VolumeAttributesClasses); the script's preflight checks it before any change"
            ),
            Some(format!(
                "`{get}`; make the snapshot with `kubectl get storageclass,volumeattributesclass,pvc,statefulset,resourcequota,limitrange -n {} -o yaml`",
                input.namespace
            )),
        )),
    }
}

fn claim_id(t: &Target) -> ClaimId {
    ClaimId {
        object: format!("StatefulSet/{}", t.statefulset),
        claim: t.claim.clone(),
    }
}

/// The values path of each target's class, proven on the local chart; otherwise blocking: the
/// upgrade would render the claim template without the class, and `helm upgrade` would then
/// leave the re-created StatefulSet without it.
fn values_paths(
    input: &Input<'_>,
    targets: &mut [Target],
    class: &str,
    findings: &mut Vec<Finding>,
) {
    let way = post_renderer_way(class);
    let Some(discover) = input.discover_class else {
        return without_chart(input, targets, class, &way, findings);
    };
    let wants: Vec<ClaimId> = targets.iter().map(claim_id).collect();
    let found = match discover(&wants, class, input.attributes_class_path) {
        Ok(found) => found,
        Err(e) => {
            findings.push(blocking(
                "chart-render-failed",
                format!("Helm can't render the chart given with --chart, so the values path of volumeAttributesClassName can't be found: {e}"),
                Some("render the chart as the release does (helm dependency build for a folder; --values FILE with the release's values)".to_owned()),
            ));
            return;
        }
    };
    for (t, f) in targets.iter_mut().zip(found) {
        findings.push(class_path_finding(t, f, class, &way));
    }
}

/// Without a local chart: `--volume-attributes-class-path` taken as given (a warning), else
/// blocking.
fn without_chart(
    input: &Input<'_>,
    targets: &mut [Target],
    class: &str,
    way: &str,
    findings: &mut Vec<Finding>,
) {
    if let Some(given) = input.attributes_class_path {
        for t in targets.iter_mut() {
            if let Some(c) = t.attributes_class.as_mut() {
                c.values_path = Some(given.to_owned());
            }
        }
        findings.push(warning(
            "attributes-class-path-unproven",
            format!("--volume-attributes-class-path {given} is taken as given (no local chart proves it); the script's preflight proves it before any change: the dry run of the upgrade must render every target claim template with {class} (pvc-resize verify-render)"),
            Some("pass --chart with the chart's folder or .tgz to prove it now".to_owned()),
        ));
        return;
    }
    findings.push(blocking(
        "attributes-class-not-in-values",
        format!(
            "the chart's values path of volumeAttributesClassName is read in the chart's templates, and no local chart was given (--chart DIR|TGZ, with Helm on PATH): the plan can't tell whether {} sets it from values (the charts read for this tool, PostHog 30.46, Bitnami Kafka 14 and 32, PostgreSQL 17 and Redis 23, don't)",
            input.chart.or(input.chart_name).unwrap_or("the chart")
        ),
        Some(format!("pass --chart with the chart's folder or .tgz; {way}")),
    ));
}

/// The finding on one target's class path as the chart proved it (recorded in the target), or
/// why the chart can't set the class.
fn class_path_finding(t: &mut Target, f: ClassPath, class: &str, way: &str) -> Finding {
    let template = f.source.as_deref().unwrap_or("its template");
    match (&f.proven, t.attributes_class.as_mut()) {
        (Some(p), Some(c)) => {
            c.values_path = Some(p.clone());
            info(
                "attributes-class-path-proven",
                format!(
                    "StatefulSet {} claim {}: {template} reads volumeAttributesClassName from {p}; Helm renders the claim template with {class} when {p} is {class}",
                    t.statefulset, t.claim
                ),
            )
        }
        _ if f.reads.is_empty() => at_opt(
            blocking(
                "attributes-class-not-in-values",
                format!(
                    "StatefulSet {} claim {}: {template} renders no volumeAttributesClassName from .Values, so no values file can set it and `helm upgrade` would re-create the StatefulSet without it",
                    t.statefulset, t.claim
                ),
                Some(way.to_owned()),
            ),
            t.at.clone(),
        ),
        _ => {
            let tried: Vec<String> = f.tried.iter().map(|(p, e)| format!("{p}: {e}")).collect();
            at_opt(
                blocking(
                    "attributes-class-not-in-values",
                    format!(
                        "StatefulSet {} claim {}: {template} reads {} on its volumeAttributesClassName line, but Helm's render with it set to {class} does not give the claim template that class ({})",
                        t.statefulset,
                        t.claim,
                        f.reads.join(", "),
                        tried.join("; ")
                    ),
                    Some(way.to_owned()),
                ),
                t.at.clone(),
            )
        }
    }
}

/// The hint of a chart that can't set the class: the post-renderer sets it at upgrade time.
fn post_renderer_way(class: &str) -> String {
    format!(
        "the post-renderer form sets it at upgrade time (`pvc-resize post-render --volume-attributes-class {class}`, the upgrade commands under \"post-renderer\" in this plan; with Flux: `--format flux`); or add `volumeAttributesClassName: {{{{ .Values... }}}}` to the chart's claim template"
    )
}

fn at_opt(f: Finding, at: Option<crate::finding::Location>) -> Finding {
    match at {
        Some(l) => f.at(l),
        None => f,
    }
}

/// The size the render asks for, for a plan that changes only the class: every picked claim
/// template must ask for the same size (by value), which the plan then keeps.
pub fn rendered_size(
    name: &str,
    manifests: &str,
    statefulsets: &[String],
    claim: &str,
) -> Result<crate::k8s::quantity::Size, String> {
    use crate::commands::post_render::{Options, Selection};
    use crate::k8s::quantity::{Quantity, Size};
    let opts = Options {
        volume_attributes_class: Some("x".to_owned()),
        statefulsets: statefulsets.to_vec(),
        claim: claim.to_owned(),
        keep_documents: true,
        ..Options::default()
    };
    let chunks = crate::k8s::stream::split(manifests);
    let selection =
        Selection::new(manifests, chunks, &opts).map_err(|e| super::placed(name, &e))?;
    let mut sizes: Vec<(String, String)> = Vec::new();
    for (_, sts, kept) in selection.picked() {
        let text = kept
            .and_then(|(p, o)| p.statefulset(o))
            .and_then(|s| {
                let c = s.claims.iter().find(|c| c.name == claim)?;
                c.storage.and_then(|n| n.as_str()).map(str::to_owned)
            })
            .unwrap_or_default();
        sizes.push((sts.to_owned(), text));
    }
    let quantities: Vec<Option<Quantity>> =
        sizes.iter().map(|(_, t)| Quantity::parse(t).ok()).collect();
    match (sizes.first(), quantities.first()) {
        (Some((_, text)), Some(Some(q))) if quantities.iter().all(|x| x.as_ref() == Some(q)) => {
            Size::parse(text).map_err(|e| format!("{name}: the rendered size {text:?}: {e}"))
        }
        _ => Err(crate::fsutil::hinted(
            format!(
                "{name}: --volume-attributes-class without --size keeps the rendered size, but the claim templates {claim:?} ask for {}",
                sizes
                    .iter()
                    .map(|(s, t)| format!("{s}: {t:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pass --size (the size the claim templates should have), or pick StatefulSets of one size with --statefulset",
        )),
    }
}
