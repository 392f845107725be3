//! Volumes an operator owns: custom resources of the render whose claims an operator makes (an
//! Altinity ClickHouseInstallation, prometheus-operator's Prometheus and Alertmanager, Strimzi's
//! Kafka and KafkaNodePool). Every one gets a notice that says how its operator treats a bigger
//! size (from the operators' sources and documentation), so that nobody takes the plan's silence
//! for "nothing to do"; `--resource KIND/NAME[/CLAIM]` targets a claim template, which the plan
//! grows through the values change and the upgrade when its operator grows existing PVCs (the
//! Altinity operator), and refuses with the reason otherwise.
//!
//! What the Altinity operator does, read in Altinity/clickhouse-operator at 50e8d04:
//! - `pkg/controller/common/storage/storage-reconciler.go`, `reconcilePVC`: on every reconcile of
//!   a host, each existing PVC of a claim template gets the template's requests
//!   (`model.VolumeClaimTemplateApplyResourcesRequestsOnPVC`, `pkg/model/volumeClaimTemplate.go`,
//!   through `k8s.ResourcesListApply`, which copies any request that is not Equal: it does not
//!   refuse a shrink itself, the API server does, and the operator logs "Unable to reconcile PVC")
//!   and is updated. It patches nothing else of the size and never waits for the capacity.
//! - PVC names: `<template>-<pod>` (`pkg/model/chi/namer/name.go`, `createPVCName`), the pod
//!   being `<statefulset>-0`; labels `clickhouse.altinity.com/chi=<CHI name>` and the host's
//!   (`pkg/model/chi/tags/labeler/list.go`: LabelCRName).
//! - Who makes the PVC (`pkg/model/common/volume/volumer.go`, `GetPVCProvisioner`): the template's
//!   `provisioner`, else `spec.defaults.storageManagement.provisioner`, else `StatefulSet`. With
//!   `StatefulSet` the template is in the host's StatefulSet's volumeClaimTemplates
//!   (`pkg/model/common/creator/stateful-set-storage.go`, `stsSetupVolumeForPVCTemplate`), whose
//!   update then fails (immutable) and is turned into a re-creation
//!   (`pkg/controller/common/statefulset/statefulset-reconciler.go`, `updateStatefulSet`:
//!   `ErrCRUDRecreate` -> `recreateStatefulSet`: scaled to 0, deleted, PVCs reconciled, created):
//!   every host's pod restarts, one host after another. With `Operator` the pod mounts the PVC as
//!   a volume and nothing restarts.
//! - A suspended installation (`spec.suspend`, `pkg/controller/chi/controller.go`,
//!   `shouldEnqueue`) is not reconciled at all: its PVCs would never grow.

use super::{Cluster, Finding, Input, Location, Pvc, Severity, SizeInfo, Target};
use crate::fsutil::hinted;
use crate::k8s::names::check_name;
use crate::k8s::objects;
use crate::k8s::release::{self, Parsed};
use crate::yaml::Node;
use serde_json::Value;

/// One `operator-volume` notice per volume owner of the render (those with claim templates,
/// then Strimzi's, each in stream order), from the owners the plan's one scan read.
/// The resources a `--resource` pattern names have their own findings instead (a target's, or
/// `operator-volume-refused`).
pub(super) fn findings<'p>(
    file: &str,
    owners: impl Iterator<Item = (&'p Parsed, &'p release::Object)>,
    patterns: &[String],
) -> Vec<Finding> {
    let targeted = |o: &release::Object| {
        patterns.iter().any(|p| {
            parse_pattern(p).is_ok_and(|(kind, name, _)| {
                o.kind.eq_ignore_ascii_case(kind) && objects::glob_match(name, &o.name)
            })
        })
    };
    let mut found: Vec<(bool, Finding)> = owners
        .filter(|(_, o)| !targeted(o))
        .map(|(p, o)| owner_notice(file, p, o))
        .collect();
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
            "{what} is owned by the Altinity ClickHouse operator, grown by a plan only as its target (plan --resource {kind}/{name}). The operator sets each existing PVC's requests from the claim template when it reconciles (reconcilePVC: VolumeClaimTemplateApplyResourcesRequestsOnPVC, then an update), so the procedure is the values change that sizes the template (plan --chart finds and proves the values path) and the helm upgrade, on a StorageClass with allowVolumeExpansion; then wait until every PVC of the installation (kubectl get pvc -l clickhouse.altinity.com/chi={name}) reports the size in status.capacity and df in each pod shows it"
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

/// The operator of a targeted resource, by its API group and kind.
enum Operator {
    /// Altinity's ClickHouse operator: grows the PVCs of a claim template (`reconcilePVC`).
    Altinity,
    /// An operator that does not grow them, or that this plan can't target: why.
    Refused(String),
}

fn operator_of(o: &release::Object) -> Operator {
    let group = o.api_version.split('/').next().unwrap_or_default();
    let what = format!("{} {}", o.kind, o.name);
    match (group, o.kind.as_str()) {
        ("clickhouse.altinity.com", "ClickHouseInstallation") => Operator::Altinity,
        ("kafka.strimzi.io", _) => Operator::Refused(format!(
            "{what} is Strimzi's: its size is spec.storage, not a claim template, and plan does not target it yet; {}",
            explain(&o.api_version, &o.kind, &o.name, &what)
        )),
        _ => Operator::Refused(explain(&o.api_version, &o.kind, &o.name, &what)),
    }
}

/// The `--resource KIND/NAME[/CLAIM]` targets, in the order given, each claim template once.
pub(super) fn targets<'p>(
    input: &Input<'_>,
    owners: impl Iterator<Item = (&'p Parsed, &'p release::Object)>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Target>, String> {
    if input.resources.is_empty() {
        return Ok(Vec::new());
    }
    let owners: Vec<(&Parsed, &release::Object)> = owners.filter(|(_, o)| !o.hook).collect();
    let mut out: Vec<Target> = Vec::new();
    for pattern in input.resources {
        let (kind, name, claim) = parse_pattern(pattern)?;
        let matched: Vec<_> = owners
            .iter()
            .filter(|(_, o)| {
                o.kind.eq_ignore_ascii_case(kind) && objects::glob_match(name, &o.name)
            })
            .collect();
        if matched.is_empty() {
            let all: Vec<String> = owners
                .iter()
                .map(|(_, o)| format!("{}/{}", o.kind, o.name))
                .collect();
            return Err(hinted(
                format!(
                    "{}: no custom resource that holds claims matches --resource {pattern}",
                    input.manifests_name
                ),
                if all.is_empty() {
                    "the render has no custom resource with a claim template; StatefulSets are grown with --statefulset, PVCs the chart renders with --pvc".to_owned()
                } else {
                    format!("pass --resource with one of: {}", all.join(", "))
                },
            ));
        }
        for (p, o) in matched {
            let Some(t) = target(input, p, o, claim, cluster, findings)? else {
                continue;
            };
            if !out
                .iter()
                .any(|x| x.resource == t.resource && x.claim == t.claim)
            {
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// `KIND/NAME` or `KIND/NAME/CLAIM`.
fn parse_pattern(pattern: &str) -> Result<(&str, &str, Option<&str>), String> {
    let mut parts = pattern.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(kind), Some(name), claim) if !kind.is_empty() && !name.is_empty() => {
            Ok((kind, name, claim.filter(|c| !c.is_empty())))
        }
        _ => Err(hinted(
            format!("--resource {pattern}: expected KIND/NAME or KIND/NAME/CLAIM"),
            "e.g. --resource ClickHouseInstallation/posthog (NAME may be a glob)",
        )),
    }
}

/// The claim template of one resource as a target (`None` when the resource has none, after a
/// blocking finding that says why).
fn target(
    input: &Input<'_>,
    p: &Parsed,
    o: &release::Object,
    claim: Option<&str>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Option<Target>, String> {
    let here = |e: String| format!("{}:{}: {e}", input.manifests_name, o.pos);
    check_name(&o.kind, &o.name, 63, true).map_err(here)?;
    super::check_instance(input, o, o.pos.line)?;
    let operator = operator_of(o);
    let templates = p.claim_templates(o);
    let Some(template) = pick_template(o, &templates, claim).map_err(here)? else {
        if let Operator::Refused(why) = operator {
            findings.push(refused(input, o, why));
        }
        return Ok(None);
    };
    let claim = claim_name(template).unwrap_or_default().to_owned();
    check_name("claim template", &claim, 63, true).map_err(here)?;
    let storage = release::read_node(
        p.root(o),
        template,
        &["spec", "resources", "requests", "storage"],
    );
    let class = objects::str_at(template, &["spec", "storageClassName"]);
    let data = p
        .data(&|x| std::ptr::eq(x, o))
        .map_err(|e| here(e.to_string()))?;
    let spec = data
        .first()
        .map_or(&Value::Null, |(_, v)| v)
        .get("spec")
        .unwrap_or(&Value::Null);
    let mut t = empty_target(
        input,
        o,
        &claim,
        storage.and_then(Node::as_str).unwrap_or_default(),
    );
    t.at = Some(Location::new(
        input.manifests_name,
        storage.map_or(o.pos, |n| n.pos),
    ));
    match operator {
        Operator::Refused(why) => findings.push(refused(input, o, why)),
        Operator::Altinity => {
            let selector = format!("clickhouse.altinity.com/chi={}", o.name);
            t.pvcs = live_pvcs(input, cluster, &o.name, &claim, findings);
            (t.container, t.mount_path) = chi_mount(spec, &claim).unzip();
            (t.replicas, t.render_replicas) = (chi_hosts(spec), chi_hosts(spec));
            t.storage_class = super::class_of(class.as_deref(), cluster, &t.pvcs).map_err(here)?;
            findings.extend(chi_findings(input, o, spec, &claim, template));
            t.selector = Some(selector);
        }
    }
    Ok(Some(t))
}

/// The claim template `claim` names, or the only one; an error lists them otherwise.
fn pick_template<'n>(
    o: &release::Object,
    templates: &[&'n Node],
    claim: Option<&str>,
) -> Result<Option<&'n Node>, String> {
    let names: Vec<&str> = templates.iter().filter_map(|t| claim_name(t)).collect();
    match claim {
        _ if templates.is_empty() => Ok(None),
        Some(c) => templates
            .iter()
            .find(|t| claim_name(t) == Some(c))
            .map(|t| Some(*t))
            .ok_or_else(|| {
                hinted(
                    format!("{} {} has no claim template {c}", o.kind, o.name),
                    format!("its claim templates: {}", names.join(", ")),
                )
            }),
        None if templates.len() == 1 => Ok(Some(templates[0])),
        None => Err(hinted(
            format!(
                "{} {} has {} claim templates ({}): say which",
                o.kind,
                o.name,
                templates.len(),
                names.join(", ")
            ),
            format!("pass --resource {}/{}/CLAIM", o.kind, o.name),
        )),
    }
}

fn empty_target(input: &Input<'_>, o: &release::Object, claim: &str, old: &str) -> Target {
    Target {
        statefulset: String::new(),
        pvc: None,
        resource: Some(format!("{}/{}", o.kind, o.name)),
        selector: None,
        workload: None,
        replicas: 0,
        render_replicas: 0,
        render_history_limit: 10,
        ordinals_start: 0,
        claim: claim.to_owned(),
        old: SizeInfo::of(old),
        new: SizeInfo::of(&input.size.text),
        storage_class: None,
        mount_path: None,
        container: None,
        values_path: None,
        when_scaled: String::new(),
        attributes_class: None,
        kruise: None,
        pvcs: Vec::new(),
        at: None,
    }
}

/// The installation's PVCs of the claim template in the snapshot: labelled with the CHI's name,
/// named `<template>-<pod>` (the operator's namer), each with its state and findings.
fn live_pvcs(
    input: &Input<'_>,
    cluster: Option<&Cluster>,
    chi: &str,
    claim: &str,
    findings: &mut Vec<Finding>,
) -> Vec<Pvc> {
    let Some(c) = cluster else {
        return Vec::new();
    };
    let prefix = format!("{claim}-");
    let host = format!("chi-{chi}-");
    let mut out = Vec::new();
    for (name, v) in &c.pvcs {
        let label = v.pointer("/metadata/labels/clickhouse.altinity.com~1chi");
        // `<template>-chi-<name>-...`: a sibling template whose name starts with this one's
        // (`<template>-logs`) is not this template's.
        let Some(pod) = name.strip_prefix(&prefix).filter(|p| p.starts_with(&host)) else {
            continue;
        };
        if label.and_then(Value::as_str) != Some(chi) {
            continue;
        }
        let mut pvc = Pvc {
            name: name.clone(),
            ordinal: 0,
            pod: pod.to_owned(),
            state: "unknown".to_owned(),
            capacity: None,
            patch: false,
            attributes_class: None,
            set_class: false,
        };
        super::snapshot_state(input, &mut pvc, cluster, findings, String::new());
        pvc.patch = false;
        let who = "its operator would set the request to the template's size, which the API server refuses as a shrink: the upgrade succeeds, the operator only logs \"Unable to reconcile PVC\", and the PVC never grows";
        if let Some(f) = super::volume::request_above_by(input, c, name, who) {
            findings.push(f);
        }
        out.push(pvc);
    }
    out
}

/// The installation's hosts in the render: per cluster of `spec.configuration.clusters`, its
/// layout's shards (`shards`, else `shardsCount`, 1 by default) times `replicasCount` (1).
fn chi_hosts(spec: &Value) -> i64 {
    let count = |v: Option<&Value>| {
        v.and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(1)
    };
    let clusters = spec
        .pointer("/configuration/clusters")
        .and_then(Value::as_array);
    clusters
        .into_iter()
        .flatten()
        .map(|c| {
            let layout = c.get("layout");
            let shards = match layout
                .and_then(|l| l.get("shards"))
                .and_then(Value::as_array)
            {
                Some(list) => list.len() as i64,
                None => count(layout.and_then(|l| l.get("shardsCount"))),
            };
            shards * count(layout.and_then(|l| l.get("replicasCount")))
        })
        .sum()
}

/// The container and mount path of the claim template in the CHI's pod templates (the
/// operator mounts a template by the volumeMount of its name).
fn chi_mount(spec: &Value, claim: &str) -> Option<(String, String)> {
    let pods = spec.pointer("/templates/podTemplates")?.as_array()?;
    pods.iter()
        .filter_map(|p| p.pointer("/spec/containers")?.as_array())
        .flatten()
        .find_map(|c| {
            let mount = c
                .get("volumeMounts")?
                .as_array()?
                .iter()
                .find(|m| m.get("name").and_then(Value::as_str) == Some(claim))?;
            Some((
                c.get("name")?.as_str()?.to_owned(),
                mount.get("mountPath")?.as_str()?.to_owned(),
            ))
        })
}

/// What the Altinity operator's modes mean for this template: a suspended installation is not
/// reconciled (blocking); the StatefulSet provisioner re-creates every host's StatefulSet.
fn chi_findings(
    input: &Input<'_>,
    o: &release::Object,
    spec: &Value,
    claim: &str,
    template: &Node,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let at = |f: Finding| f.at(Location::new(input.manifests_name, o.pos));
    let suspend = spec.get("suspend").map(scalar).unwrap_or_default();
    if matches!(
        suspend.as_str(),
        "1" | "true"
            | "True"
            | "yes"
            | "Yes"
            | "on"
            | "On"
            | "enable"
            | "Enable"
            | "enabled"
            | "Enabled"
    ) {
        out.push(at(super::blocking(
            "operator-suspended",
            format!("{} {} has spec.suspend: {suspend}: the operator does not reconcile a suspended installation (clickhouse-operator, pkg/controller/chi/controller.go, shouldEnqueue), so its PVCs would never grow after the upgrade", o.kind, o.name),
            Some("render the installation without spec.suspend (the chart's values or templates set it), then make the plan again; the field was read in clickhouse-operator at 50e8d04, and an older operator may not know it".to_owned()),
        )));
    }
    let own = objects::str_at(template, &["provisioner"]);
    let default = spec
        .pointer("/defaults/storageManagement/provisioner")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let provisioner = own.or(default).unwrap_or_else(|| "StatefulSet".to_owned());
    if provisioner != "Operator" {
        out.push(at(super::warning(
            "operator-recreates-statefulsets",
            format!("{} {}: claim template {claim} is provisioned by {provisioner} (the template's provisioner, else spec.defaults.storageManagement.provisioner, else StatefulSet: GetPVCProvisioner), so it is in each host's StatefulSet, whose claim templates are immutable: the operator re-creates each host's StatefulSet (scaled to 0, deleted, its PVCs grown, created: updateStatefulSet -> recreateStatefulSet), so every ClickHouse host restarts once, one after another", o.kind, o.name),
            Some("plan it for a quiet hour; with provisioner: Operator (spec.defaults.storageManagement) the operator grows the PVCs without restarting the hosts, from clickhouse-operator 0.20.0 on (its CHANGELOG: \"Operator managed PV provisioning\"; check the tag of the operator's image: an older operator has no such provisioner)".to_owned()),
        )));
    }
    out
}

/// A JSON scalar as text (`true` for a boolean, the string itself for a string).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A targeted resource whose operator does not grow its PVCs, or that plan can't target.
fn refused(input: &Input<'_>, o: &release::Object, why: String) -> Finding {
    super::blocking(
        "operator-volume-refused",
        format!("--resource {}/{}: {why}", o.kind, o.name),
        Some("follow the procedure the message names by hand; plan grows a ClickHouseInstallation's claim template (the Altinity operator grows its PVCs), StatefulSets (--statefulset) and PVCs the chart renders (--pvc)".to_owned()),
    )
    .at(Location::new(input.manifests_name, o.pos))
}
