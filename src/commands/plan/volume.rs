//! Plain PVC targets (`plan --pvc NAME`): PersistentVolumeClaims the chart renders itself, beside
//! a Deployment (MongoDB standalone, Grafana, Prometheus server). No claim template is involved:
//! the values edit and the upgrade grow them. Helm's upgrade patches a changed object with a
//! three-way merge of the release's manifest, the new render and the live object (helm's
//! `pkg/kube/client.go`, `createPatch`: `strategicpatch.CreateThreeWayMergePatch`; server-side
//! apply in Helm 4 sets the field it owns the same way), so the live PVC's
//! `spec.resources.requests.storage` becomes the new render's size. The API server grows the
//! volume from there as it does for a `kubectl patch`; a live request above the render's size
//! would be a shrink, refused, and the upgrade would fail: the plan and the script's preflight stop
//! before that.

use super::{
    Cluster, Finding, Input, Location, Pvc, SizeInfo, Target, blocking, class_of, s, snapshot_state,
};
use crate::fsutil::hinted;
use crate::k8s::names::check_name;
use crate::k8s::objects;
use crate::k8s::quantity::Quantity;
use crate::k8s::release::{self, Filter, Release, Want};

/// The kinds whose pod template may mount a plain PVC, and the name kubectl gives them in
/// `kubectl exec TYPE/NAME`.
const WORKLOADS: [(&str, &str); 4] = [
    ("Deployment", "deployment"),
    ("StatefulSet", "statefulset"),
    ("DaemonSet", "daemonset"),
    ("ReplicaSet", "replicaset"),
];

/// The plain PVC targets `--pvc` names (exact names or globs), in the order given.
pub(super) fn targets(
    input: &Input<'_>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Target>, String> {
    if input.pvcs.is_empty() {
        return Ok(Vec::new());
    }
    let want = Want {
        filter: Filter::everything(),
        ..Want::default()
    };
    let render = Release::read(input.manifests, &want)
        .map_err(|e| release::syntax_finding(input.manifests_name, &e).to_string())?;
    let mut out: Vec<Target> = Vec::new();
    for pattern in input.pvcs {
        let matched: Vec<_> = render
            .pvcs()
            .filter(|(_, o)| !o.hook && objects::glob_match(pattern, &o.name))
            .collect();
        if matched.is_empty() {
            let names: Vec<&str> = render.pvcs().map(|(_, o)| o.name.as_str()).collect();
            return Err(hinted(
                format!(
                    "{}: no PersistentVolumeClaim matches --pvc {pattern}",
                    input.manifests_name
                ),
                if names.is_empty() {
                    "the render has no PersistentVolumeClaim object; a StatefulSet's claims are grown with --statefulset".to_owned()
                } else {
                    format!("pass --pvc with one of: {}", names.join(", "))
                },
            ));
        }
        for (parsed, o) in matched {
            if out
                .iter()
                .any(|t| t.pvc.as_deref() == Some(o.name.as_str()))
            {
                continue;
            }
            super::check_instance(input, o, parsed_line(&render, parsed))?;
            out.push(target(input, &render, parsed, o, cluster, findings)?);
        }
    }
    Ok(out)
}

fn parsed_line(render: &Release<'_>, parsed: &release::Parsed) -> usize {
    render.chunks[parsed.chunk].line
}

fn target(
    input: &Input<'_>,
    render: &Release<'_>,
    parsed: &release::Parsed,
    o: &release::Object,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Target, String> {
    let here = |e: String| format!("{}:{}: {e}", input.manifests_name, o.pos);
    check_name("PVC", &o.name, 253, true).map_err(here)?;
    let claim = objects::pvc(parsed.root(o), parsed.node(o));
    let old_text = claim.storage.and_then(|n| n.as_str()).unwrap_or_default();
    let (workload, mount) = mounted_by(render, &o.name);
    let mut pvc = Pvc {
        name: o.name.clone(),
        ordinal: 0,
        pod: workload.clone().unwrap_or_default(),
        state: "unknown".to_owned(),
        capacity: None,
        patch: true,
        attributes_class: None,
        set_class: false,
    };
    let missing = format!(
        "{} is not in the snapshot: the upgrade creates it at the new size",
        o.name
    );
    snapshot_state(input, &mut pvc, cluster, findings, missing);
    if let Some(f) = cluster.and_then(|c| request_above(input, c, &o.name)) {
        findings.push(f.at(Location::new(input.manifests_name, o.pos)));
    }
    let pvcs = vec![pvc];
    let storage_class = class_of(claim.storage_class.as_deref(), cluster, &pvcs).map_err(here)?;
    let at = Location::new(
        input.manifests_name,
        claim.storage.map_or(claim.pos, |n| n.pos),
    );
    Ok(Target {
        statefulset: String::new(),
        pvc: Some(o.name.clone()),
        resource: None,
        selector: None,
        workload,
        replicas: 1,
        render_replicas: 1,
        render_history_limit: 10,
        ordinals_start: 0,
        claim: o.name.clone(),
        old: SizeInfo::of(old_text),
        new: SizeInfo::of(&input.size.text),
        storage_class,
        mount_path: mount.as_ref().map(|(_, p)| p.clone()),
        container: mount.map(|(c, _)| c),
        values_path: None,
        when_scaled: String::new(),
        attributes_class: None,
        kruise: None,
        pvcs,
        at: Some(at),
    })
}

/// The first workload of the render whose pod template mounts PVC `name` (`deployment/NAME`), and
/// the `(container, mountPath)` of its last container that mounts it (init containers come first).
fn mounted_by(render: &Release<'_>, name: &str) -> (Option<String>, Option<(String, String)>) {
    for (parsed, o) in render.objects() {
        let Some((_, kind)) = WORKLOADS.iter().find(|(k, _)| *k == o.kind) else {
            continue;
        };
        let (root, node) = (parsed.root(o), parsed.node(o));
        let volumes = objects::claim_volumes(root, node);
        let Some((volume, _)) = volumes.iter().find(|(_, claim)| claim == name) else {
            continue;
        };
        let (mounts, _) = objects::pod_mounts(root, node);
        let mount = mounts
            .into_iter()
            .rfind(|(_, v, _)| v == volume)
            .map(|(c, _, p)| (c, p));
        return (Some(format!("{kind}/{}", o.name)), mount);
    }
    (None, None)
}

/// The live PVC requests more than the new size: Helm's upgrade would set the request to the
/// render's size, a shrink the API server refuses, and the upgrade would fail.
pub(super) fn request_above(input: &Input<'_>, c: &Cluster, name: &str) -> Option<Finding> {
    let who = "Helm's upgrade sets the request to the render's size, which the API server refuses as a shrink (spec.resources.requests.storage: Forbidden: field can not be less than previous value), and the upgrade fails";
    request_above_by(input, c, name, who)
}

/// `pvc-request-above` for PVC `name`, whose request `who` would set to the new size.
pub(super) fn request_above_by(
    input: &Input<'_>,
    c: &Cluster,
    name: &str,
    who: &str,
) -> Option<Finding> {
    let live = c.pvcs.get(name)?;
    let text = s(live, "/spec/resources/requests/storage")?;
    let request = Quantity::parse(text).ok()?;
    (request > input.size.quantity).then(|| {
        blocking(
            "pvc-request-above",
            format!(
                "{name} requests {text} in the cluster, more than {}: {who}",
                input.size.text
            ),
            Some(format!(
                "plan with --size {text} or more (the chart must render at least what the PVC requests)"
            )),
        )
    })
}
