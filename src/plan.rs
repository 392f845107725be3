//! `plan`: the whole resize procedure for one release, as data. The renderers in
//! [`crate::plan_render`] turn it into text, markdown, JSON and a bash script.

use crate::manifest::{self, StatefulSet};
use crate::post_render::{self, Options};
use crate::quantity::{Quantity, Size, decimal_for_binary, group};
use crate::stream;
use crate::validate;
use crate::values::{self, Change, ValuesPath};
use crate::yaml;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The plan JSON format version (`schema/plan.schema.json`).
pub const PLAN_VERSION: u32 = 1;

/// What `plan` is given.
pub struct Input<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub size: &'a Size,
    pub manifests_name: &'a str,
    pub manifests: &'a str,
    /// `(file name, text)` of the values file to change.
    pub values: Option<(&'a str, &'a str)>,
    pub values_path: Option<&'a str>,
    pub statefulsets: &'a [String],
    pub claim: &'a str,
    pub chart: Option<&'a str>,
    /// `(file name, text)` of `kubectl get storageclass,pvc,statefulset -n NS -o yaml`.
    pub cluster: Option<(&'a str, &'a str)>,
    pub kubernetes_version: &'a str,
}

/// A size in three readings.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SizeInfo {
    pub text: String,
    pub canonical: String,
    pub bytes: Option<i64>,
}

impl SizeInfo {
    fn of(text: &str) -> SizeInfo {
        let q = Quantity::parse(text).ok();
        SizeInfo {
            text: text.to_owned(),
            canonical: q
                .as_ref()
                .map_or_else(|| text.to_owned(), Quantity::canonical),
            bytes: q.and_then(|q| q.bytes()),
        }
    }
}

/// What is known of one PVC.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Pvc {
    pub name: String,
    pub ordinal: i64,
    pub pod: String,
    /// `unknown` (no snapshot), `bound`, `not-bound`, `missing`, `grown` (already at the size).
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<String>,
    /// True when the plan patches it.
    pub patch: bool,
}

/// One StatefulSet the plan grows.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub statefulset: String,
    pub replicas: i64,
    pub claim: String,
    pub old: SizeInfo,
    pub new: SizeInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_path: Option<String>,
    /// The effective `persistentVolumeClaimRetentionPolicy.whenScaled` (`Retain` by default).
    pub when_scaled: String,
    pub pvcs: Vec<Pvc>,
}

/// A preflight finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// `blocking`, `warning` or `info`.
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// A command as an argument vector; quoted only when printed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    /// True when it changes the cluster or a file.
    pub mutating: bool,
}

/// One step of the procedure.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: &'static str,
    /// `main`, or `fallback` for the scale-to-zero branch.
    pub branch: &'static str,
    pub title: String,
    pub detail: String,
    pub commands: Vec<Command>,
}

/// The values change.
#[derive(Debug, Clone, Serialize)]
pub struct ValuesChange {
    pub file: String,
    pub path: String,
    /// `replaced`, `inserted` or `unchanged`.
    pub change: &'static str,
    pub diff: String,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub version: u32,
    pub release: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    pub size: SizeInfo,
    pub cluster_snapshot: bool,
    pub targets: Vec<Target>,
    pub findings: Vec<Finding>,
    pub blocking: bool,
    pub steps: Vec<Step>,
    pub fallback_offered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<ValuesChange>,
    pub manifest_diff: String,
    pub rollback: Vec<String>,
}

/// Kubernetes' DNS-1123 rules, checked before a name goes into a command.
pub fn check_name(what: &str, name: &str, max: usize, dots: bool) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let ok = name.len() <= max
        && if dots {
            name.split('.').all(label_ok)
        } else {
            label_ok(name)
        };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} is not a valid Kubernetes name (DNS-1123: lowercase letters, digits and '-'{}, at most {max} characters); refusing to put it in a command",
            if dots { ", labels joined by '.'" } else { "" }
        ))
    }
}

/// Objects of a `kubectl get ... -o yaml` snapshot.
#[derive(Default)]
struct Cluster {
    classes: BTreeMap<String, Value>,
    pvcs: BTreeMap<String, Value>,
    statefulsets: BTreeMap<String, Value>,
}

fn read_cluster(name: &str, text: &str) -> Result<Cluster, String> {
    let mut c = Cluster::default();
    for chunk in stream::split(text) {
        let doc = &text[chunk.range.clone()];
        if !stream::has_content(doc) {
            continue;
        }
        let (json, _) = validate::parse_document(name, doc, chunk.range.start, chunk.line)?;
        let items = match json.get("kind").and_then(Value::as_str) {
            Some("List") => json
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => vec![json],
        };
        for item in items {
            let n = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            match item.get("kind").and_then(Value::as_str) {
                Some("StorageClass") => c.classes.insert(n, item),
                Some("PersistentVolumeClaim") => c.pvcs.insert(n, item),
                Some("StatefulSet") => c.statefulsets.insert(n, item),
                _ => None,
            };
        }
    }
    if c.classes.is_empty() && c.pvcs.is_empty() && c.statefulsets.is_empty() {
        return Err(format!(
            "{name}: no StorageClass, PersistentVolumeClaim or StatefulSet in the snapshot; make it with `kubectl get storageclass,pvc,statefulset -n NAMESPACE -o yaml`"
        ));
    }
    Ok(c)
}

fn s<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn info(code: &'static str, message: String) -> Finding {
    Finding {
        severity: "info",
        code,
        message,
        fix: None,
    }
}

fn warning(code: &'static str, message: String, fix: Option<String>) -> Finding {
    Finding {
        severity: "warning",
        code,
        message,
        fix,
    }
}

fn blocking(code: &'static str, message: String, fix: Option<String>) -> Finding {
    Finding {
        severity: "blocking",
        code,
        message,
        fix,
    }
}

fn argv(mutating: bool, words: &[&str]) -> Command {
    Command {
        argv: words.iter().map(|w| (*w).to_owned()).collect(),
        mutating,
    }
}

/// Builds the plan. `Err` when the inputs can't be used (exit 2).
pub fn build(input: &Input<'_>) -> Result<Plan, String> {
    check_name("release", input.release, 53, true)?;
    check_name("namespace", input.namespace, 63, false)?;
    let size = input.size;
    let cluster = match input.cluster {
        Some((name, text)) => Some(read_cluster(name, text)?),
        None => None,
    };

    let selected = post_render::select_statefulsets(input.manifests, input.statefulsets)
        .map_err(|e| format!("{}:{e}", input.manifests_name))?;
    let mut findings = Vec::new();
    let mut targets = Vec::new();
    for (chunk, name) in &selected {
        let text = &input.manifests[chunk.range.clone()];
        let docs = yaml::parse_stream(text, chunk.range.start, chunk.line - 1)
            .map_err(|e| format!("{}:{e}", input.manifests_name))?;
        let Some(sts) = docs
            .iter()
            .filter_map(|d| d.root.as_ref())
            .filter_map(|r| manifest::statefulset(r, stream::source_comment(text)))
            .find(|s| &s.name == name)
        else {
            continue;
        };
        targets.push(target(input, &sts, cluster.as_ref(), &mut findings)?);
    }

    let new = SizeInfo::of(&size.text);
    for t in &targets {
        target_findings(input, t, cluster.as_ref(), &mut findings);
    }
    if cluster.is_none() {
        findings.push(warning(
            "storageclass-unknown",
            "without --cluster the StorageClass's allowVolumeExpansion is not known; the script checks it before changing anything".to_owned(),
            Some(format!(
                "kubectl get storageclass,pvc,statefulset -n {} -o yaml > cluster.yaml, then pass --cluster cluster.yaml",
                input.namespace
            )),
        ));
        findings.push(info(
            "cloud-notes",
            "clouds differ: AWS EBS allows one modification per volume every 6 hours (VolumeModificationRateExceeded); Azure Disk may refuse to grow an attached disk (use the scale-to-zero fallback); GCE and Azure round sizes up to whole GiB".to_owned(),
        ));
    }

    // The values change, when a values file is given.
    let values_path = input
        .values_path
        .map(str::to_owned)
        .or_else(|| targets.iter().find_map(|t| t.values_path.clone()));
    let values = match (input.values, &values_path) {
        (Some((file, text)), Some(p)) => {
            let path = ValuesPath::parse(p)?;
            match values::set_size(text, &path, size) {
                Ok(edit) => Some(ValuesChange {
                    file: file.to_owned(),
                    path: p.clone(),
                    change: match edit.change {
                        Change::Replaced { .. } => "replaced",
                        Change::Inserted { .. } => "inserted",
                        Change::Unchanged { .. } => "unchanged",
                    },
                    diff: crate::render::unified_diff(text, &edit.output, file),
                }),
                Err(e) if e.message.contains("refusing to shrink") => {
                    findings.push(blocking("shrink", format!("{file}:{e}"), None));
                    None
                }
                Err(e) => return Err(format!("{file}:{e}")),
            }
        }
        (Some((file, _)), None) => {
            return Err(format!(
                "{file}: the values path of the size could not be inferred from the chart; pass --path (e.g. kafka.persistence.size)"
            ));
        }
        _ => None,
    };

    // The rendered StatefulSets after the change (refused on a shrink, which is a finding).
    let shrinking = targets
        .iter()
        .any(|t| matches!((t.new.bytes, t.old.bytes), (Some(n), Some(o)) if n < o));
    let manifest_diff = if shrinking {
        String::new()
    } else {
        let opts = Options {
            size: Some(size.clone()),
            statefulsets: targets.iter().map(|t| t.statefulset.clone()).collect(),
            claim: input.claim.to_owned(),
            kubernetes_version: input.kubernetes_version.to_owned(),
            ..Options::default()
        };
        let out = post_render::post_render(input.manifests, &opts)
            .map_err(|e| format!("{}:{e}", input.manifests_name))?;
        crate::render::unified_diff(input.manifests, &out.output, input.manifests_name)
    };

    let is_blocking = findings.iter().any(|f| f.severity == "blocking");
    let fallback_offered = !targets.iter().any(|t| t.when_scaled == "Delete");
    let steps = if is_blocking {
        Vec::new()
    } else {
        steps(input, &targets, &values_path, fallback_offered)
    };
    let rollback = rollback_notes(input, &targets);
    Ok(Plan {
        version: PLAN_VERSION,
        release: input.release.to_owned(),
        namespace: input.namespace.to_owned(),
        chart: input.chart.map(str::to_owned),
        size: new,
        cluster_snapshot: cluster.is_some(),
        targets,
        findings,
        blocking: is_blocking,
        steps,
        fallback_offered,
        values,
        manifest_diff,
        rollback,
    })
}

fn target(
    input: &Input<'_>,
    sts: &StatefulSet<'_>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Target, String> {
    check_name("StatefulSet", &sts.name, 253, true)?;
    let claim = sts
        .claims
        .iter()
        .find(|c| c.name == input.claim)
        .ok_or_else(|| {
            format!(
                "StatefulSet {} has no volumeClaimTemplate named {:?}",
                sts.name, input.claim
            )
        })?;
    let old_text = claim.storage.and_then(|n| n.as_str()).unwrap_or_default();
    let old = SizeInfo::of(old_text);
    let new = SizeInfo::of(&input.size.text);
    let live = cluster.and_then(|c| c.statefulsets.get(&sts.name));
    let when_scaled = live
        .and_then(|l| s(l, "/spec/persistentVolumeClaimRetentionPolicy/whenScaled"))
        .map(str::to_owned)
        .or_else(|| sts.when_scaled.clone())
        .unwrap_or_else(|| "Retain".to_owned());
    let replicas = live
        .and_then(|l| l.pointer("/spec/replicas"))
        .and_then(Value::as_i64)
        .unwrap_or(sts.replicas);
    let mount = sts.mounts.iter().find(|(_, v, _)| *v == input.claim);

    let mut pvcs = Vec::new();
    let mut ordinals: Vec<i64> = (0..replicas).collect();
    if let Some(c) = cluster {
        // PVCs of higher ordinals left by an earlier scale-down are reused on scale-up: grow them too.
        let prefix = format!("{}-{}-", input.claim, sts.name);
        for name in c.pvcs.keys() {
            if let Some(n) = name
                .strip_prefix(&prefix)
                .and_then(|o| o.parse::<i64>().ok())
                && !ordinals.contains(&n)
            {
                ordinals.push(n);
                findings.push(info(
                    "pvc-beyond-replicas",
                    format!("{name} exists beyond the {replicas} replicas (left by a scale-down); it is grown too, as a scale-up would reuse it"),
                ));
            }
        }
    }
    for i in ordinals {
        let name = format!("{}-{}-{i}", input.claim, sts.name);
        check_name("PVC", &name, 253, true)?;
        let mut pvc = Pvc {
            pod: format!("{}-{i}", sts.name),
            name: name.clone(),
            ordinal: i,
            state: "unknown".to_owned(),
            capacity: None,
            patch: true,
        };
        if let Some(c) = cluster {
            match c.pvcs.get(&name) {
                None => {
                    pvc.state = "missing".to_owned();
                    pvc.patch = false;
                    findings.push(warning(
                        "pvc-missing",
                        format!("{name} is not in the snapshot: nothing to patch; the StatefulSet creates it from the new template after the upgrade"),
                        None,
                    ));
                }
                Some(p) => {
                    pvc.capacity = s(p, "/status/capacity/storage").map(str::to_owned);
                    let cap = pvc
                        .capacity
                        .as_deref()
                        .and_then(|c| Quantity::parse(c).ok());
                    let phase = s(p, "/status/phase").unwrap_or("Unknown");
                    if phase != "Bound" {
                        pvc.state = "not-bound".to_owned();
                        findings.push(blocking(
                            "pvc-not-bound",
                            format!(
                                "{name} is {phase}, not Bound: only a Bound PVC can be expanded"
                            ),
                            Some(format!(
                                "kubectl -n {} describe pvc {name}",
                                input.namespace
                            )),
                        ));
                    } else if cap.is_some_and(|c| c >= input.size.quantity) {
                        pvc.state = "grown".to_owned();
                        pvc.patch = false;
                        findings.push(info(
                            "pvc-grown",
                            format!(
                                "{name} already has {} (>= {}): skipped",
                                pvc.capacity.as_deref().unwrap_or("?"),
                                input.size.text
                            ),
                        ));
                    } else {
                        pvc.state = "bound".to_owned();
                    }
                }
            }
        }
        pvcs.push(pvc);
    }
    let storage_class = claim.storage_class.clone().or_else(|| {
        let c = cluster?;
        pvcs.iter()
            .find_map(|p| {
                c.pvcs
                    .get(&p.name)
                    .and_then(|v| s(v, "/spec/storageClassName"))
                    .map(str::to_owned)
            })
            .or_else(|| {
                c.classes
                    .iter()
                    .find(|(_, v)| {
                        s(
                            v,
                            "/metadata/annotations/storageclass.kubernetes.io~1is-default-class",
                        ) == Some("true")
                    })
                    .map(|(n, _)| n.clone())
            })
    });
    if let Some(sc) = &storage_class {
        check_name("StorageClass", sc, 253, true)?;
    }
    let log_bytes = sts
        .env
        .iter()
        .find(|(_, n, _)| n == "KAFKA_CFG_LOG_RETENTION_BYTES")
        .and_then(|(_, _, v)| v.replace('_', "").parse::<i64>().ok());
    if let (Some(lb), Some(nb)) = (log_bytes, new.bytes)
        && lb > nb
    {
        findings.push(warning(
            "log-retention",
            format!(
                "{}: KAFKA_CFG_LOG_RETENTION_BYTES is {} bytes, more than the new disk ({} bytes); the disk fills before retention deletes anything (the limit is per partition)",
                sts.name,
                group(lb),
                group(nb)
            ),
            Some("lower logRetentionBytes in the chart's values, or grow the disk further".to_owned()),
        ));
    }
    Ok(Target {
        statefulset: sts.name.clone(),
        replicas,
        claim: input.claim.to_owned(),
        old,
        new,
        storage_class,
        mount_path: mount.map(|(_, _, p)| p.clone()),
        container: mount.map(|(c, _, _)| c.clone()),
        values_path: input
            .values_path
            .map(str::to_owned)
            .or_else(|| manifest::infer_values_path(sts.source.as_deref(), input.claim)),
        when_scaled,
        pvcs,
    })
}

fn target_findings(
    input: &Input<'_>,
    t: &Target,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) {
    let old = Quantity::parse(&t.old.text).ok();
    let new = &input.size.quantity;
    match &old {
        Some(o) if new < o => findings.push(blocking(
            "shrink",
            format!(
                "{}: {} is smaller than the rendered {} ({} < {} bytes): Kubernetes forbids shrinking a PVC",
                t.statefulset,
                t.new.text,
                t.old.text,
                group(input.size.bytes),
                o.bytes_grouped()
            ),
            Some("give a size at least as large as the current one".to_owned()),
        )),
        Some(o) if new == o => findings.push(info(
            "render-at-size",
            format!("{}: the render already asks for {} (values.yaml has caught up); the PVCs may still need growing", t.statefulset, t.old.text),
        )),
        _ => {}
    }
    if let Some(o) = &old
        && let Some(message) = decimal_for_binary(&t.old.text, o, &t.new.text, new)
    {
        findings.push(warning(
            "decimal-size",
            format!("{}: {message}", t.statefulset),
            None,
        ));
    }
    if t.when_scaled == "Delete" {
        findings.push(warning(
            "retention-delete",
            format!(
                "{} has persistentVolumeClaimRetentionPolicy.whenScaled: Delete: scaling it to 0 DELETES its PVCs, so the scale-to-zero fallback is not offered",
                t.statefulset
            ),
            Some("if the cloud can't grow an attached disk, set whenScaled: Retain first (a separate, reviewed change)".to_owned()),
        ));
    }
    let Some(c) = cluster else { return };
    match t.storage_class.as_deref().map(|sc| (sc, c.classes.get(sc))) {
        None => findings.push(warning(
            "storageclass-unknown",
            format!("{}: no StorageClass is named by the claim template, the PVCs or a default class in the snapshot", t.statefulset),
            None,
        )),
        Some((sc, None)) => findings.push(warning(
            "storageclass-unknown",
            format!("StorageClass {sc} is not in the snapshot; its allowVolumeExpansion is unknown"),
            Some(format!("kubectl get storageclass {sc} -o yaml")),
        )),
        Some((sc, Some(v))) => {
            if v.get("allowVolumeExpansion").and_then(Value::as_bool) == Some(true) {
                findings.push(info("storageclass-expands", format!("StorageClass {sc} has allowVolumeExpansion: true")));
            } else {
                findings.push(blocking(
                    "storageclass-no-expansion",
                    format!("StorageClass {sc} does not allow volume expansion (allowVolumeExpansion is not true): the PVC patch would be refused"),
                    Some(format!(
                        "kubectl patch storageclass {sc} -p '{{\"allowVolumeExpansion\":true}}' (only if its CSI driver supports expansion)"
                    )),
                ));
            }
            let provisioner = s(v, "/provisioner").unwrap_or("");
            if provisioner.contains("ebs") {
                findings.push(warning(
                    "cloud-ebs",
                    format!("{sc} is AWS EBS ({provisioner}): one modification per volume every 6 hours; a second resize within that window fails with VolumeModificationRateExceeded"),
                    None,
                ));
            } else if provisioner.contains("azure") && provisioner.contains("disk") {
                findings.push(warning(
                    "cloud-azure-disk",
                    format!("{sc} is Azure Disk ({provisioner}): growing an attached disk may fail with \"disk resize is only supported on Unattached disk\"; then use the scale-to-zero fallback"),
                    None,
                ));
            } else if provisioner.contains("pd.csi.storage.gke.io") || provisioner.contains("gce-pd") {
                findings.push(info("cloud-gce", format!("{sc} is GCE PD ({provisioner}): sizes are rounded up to whole GiB")));
            }
        }
    }
}

fn steps(
    input: &Input<'_>,
    targets: &[Target],
    values_path: &Option<String>,
    fallback: bool,
) -> Vec<Step> {
    let ns = input.namespace;
    let size = &input.size.text;
    let payload =
        format!("{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{size}\"}}}}}}}}");
    let patches: Vec<Command> = targets
        .iter()
        .flat_map(|t| t.pvcs.iter().filter(|p| p.patch))
        .map(|p| {
            argv(
                true,
                &["kubectl", "-n", ns, "patch", "pvc", &p.name, "-p", &payload],
            )
        })
        .collect();
    let capacity_checks: Vec<Command> = targets
        .iter()
        .flat_map(|t| t.pvcs.iter().filter(|p| p.state != "missing"))
        .map(|p| {
            argv(false, &[
                "kubectl",
                "-n",
                ns,
                "get",
                "pvc",
                &p.name,
                "-o",
                "jsonpath={.status.capacity.storage}{\" \"}{.status.conditions[*].type}{\"\\n\"}",
            ])
        })
        .collect();
    let bytes = group(input.size.bytes);
    let mut out = Vec::new();

    let mut pre = Vec::new();
    for t in targets {
        match &t.storage_class {
            Some(sc) => pre.push(argv(
                false,
                &[
                    "kubectl",
                    "get",
                    "storageclass",
                    sc,
                    "-o",
                    "jsonpath={.allowVolumeExpansion}",
                ],
            )),
            None => {
                if let Some(p) = t.pvcs.first() {
                    pre.push(argv(
                        false,
                        &[
                            "kubectl",
                            "-n",
                            ns,
                            "get",
                            "pvc",
                            &p.name,
                            "-o",
                            "jsonpath={.spec.storageClassName}",
                        ],
                    ));
                }
            }
        }
        pre.push(argv(
            false,
            &[
                "kubectl",
                "-n",
                ns,
                "get",
                "statefulset",
                &t.statefulset,
                "-o",
                "jsonpath={.spec.persistentVolumeClaimRetentionPolicy.whenScaled}",
            ],
        ));
    }
    out.push(Step {
        id: "preflight",
        branch: "main",
        title: "Check that the StorageClass allows expansion and the PVCs are Bound".to_owned(),
        detail: "allowVolumeExpansion must print true; nothing changes until these checks pass. whenScaled must not be Delete if the fallback is used.".to_owned(),
        commands: pre,
    });
    out.push(Step {
        id: "patch-pvcs",
        branch: "main",
        title: format!("Grow each PVC to {size}"),
        detail: "A PVC already at the size is skipped by the script. If the cloud refuses to grow an attached disk (Azure: \"disk resize is only supported on Unattached disk\"), use the fallback branch instead.".to_owned(),
        commands: patches.clone(),
    });
    out.push(Step {
        id: "wait-resize",
        branch: "main",
        title: "Wait until every PVC reports the new capacity".to_owned(),
        detail: format!(
            "Repeat until status.capacity.storage is at least {size} ({bytes} bytes), compared by value: clouds round sizes up, so waiting for the exact string (kubectl wait --for=jsonpath) can hang, and the Resizing condition is removed rather than set to false. FileSystemResizePending means the filesystem grows when the pod restarts."
        ),
        commands: capacity_checks.clone(),
    });
    if fallback {
        for t in targets {
            let pods: Vec<Command> = t
                .pvcs
                .iter()
                .filter(|p| p.ordinal < t.replicas)
                .map(|p| {
                    argv(
                        false,
                        &[
                            "kubectl",
                            "-n",
                            ns,
                            "wait",
                            "--for=delete",
                            &format!("pod/{}", p.pod),
                            "--timeout=600s",
                        ],
                    )
                })
                .collect();
            let scale = |replicas: i64| {
                let flag = format!("--replicas={replicas}");
                argv(
                    true,
                    &[
                        "kubectl",
                        "-n",
                        ns,
                        "scale",
                        "statefulset",
                        &t.statefulset,
                        &flag,
                    ],
                )
            };
            let mut cmds = vec![scale(0)];
            cmds.extend(pods);
            out.push(Step {
                id: "fallback-scale-down",
                branch: "fallback",
                title: format!("FALLBACK ONLY: scale {} to 0 so the disks detach", t.statefulset),
                detail: "Only when the patch failed because the disk is attached. The brokers are down and events are dropped until the scale-up. Then run the patch and wait steps, and scale back.".to_owned(),
                commands: cmds,
            });
            out.push(Step {
                id: "fallback-scale-up",
                branch: "fallback",
                title: format!(
                    "FALLBACK ONLY: scale {} back to {} replicas after the resize",
                    t.statefulset, t.replicas
                ),
                detail: "After every PVC reports the new capacity.".to_owned(),
                commands: vec![scale(t.replicas)],
            });
        }
    }
    out.push(Step {
        id: "orphan-delete",
        branch: "main",
        title: "Delete the StatefulSet object only (pods and PVCs stay)".to_owned(),
        detail: "volumeClaimTemplates are immutable; helm upgrade re-creates the StatefulSet with the new template and it adopts the running pods.".to_owned(),
        commands: targets
            .iter()
            .map(|t| argv(true, &["kubectl", "-n", ns, "delete", "statefulset", &t.statefulset, "--cascade=orphan"]))
            .collect(),
    });
    let values_file = input.values.map_or("VALUES_FILE", |(f, _)| f);
    let vpath = values_path.as_deref().unwrap_or("kafka.persistence.size");
    out.push(Step {
        id: "values",
        branch: "main",
        title: format!("Set {vpath} to {size} in {values_file}"),
        detail:
            "The diff is below. pvc-resize writes the file atomically and changes nothing else."
                .to_owned(),
        commands: vec![argv(
            true,
            &[
                "pvc-resize",
                "values",
                values_file,
                "--size",
                size,
                "--path",
                vpath,
                "--write",
            ],
        )],
    });
    let chart = input.chart.unwrap_or("CHART");
    out.push(Step {
        id: "helm-upgrade",
        branch: "main",
        title: "Upgrade the release".to_owned(),
        detail: format!(
            "Without the values change, keep the template in step with the post-renderer instead: helm upgrade {} {chart} -n {ns} -f {values_file} --post-renderer pvc-resize --post-renderer-args post-render --post-renderer-args --size --post-renderer-args {size}",
            input.release
        ),
        commands: vec![argv(true, &["helm", "upgrade", input.release, chart, "-n", ns, "-f", values_file])],
    });
    let mut verify = Vec::new();
    for t in targets {
        for p in t.pvcs.iter().filter(|p| p.ordinal < t.replicas) {
            let mut words = vec!["kubectl", "-n", ns, "exec", &p.pod];
            if let Some(c) = &t.container {
                words.extend(["-c", c]);
            }
            words.extend(["--", "df", "-h", t.mount_path.as_deref().unwrap_or("/")]);
            verify.push(argv(false, &words));
        }
    }
    verify.extend(capacity_checks);
    out.push(Step {
        id: "verify",
        branch: "main",
        title: "Verify the filesystems and the PVCs".to_owned(),
        detail: format!(
            "df -h prints powers of 1024 with a bare G: {size} shows as about {}.",
            df_reading(input.size.bytes)
        ),
        commands: verify,
    });
    out
}

/// What `df -h` shows for a size: powers of 1024 with a bare unit letter, whole units rounded up
/// (integers only, like everything that handles sizes here).
fn df_reading(bytes: i64) -> String {
    let units = ["B", "K", "M", "G", "T", "P", "E"];
    let (v, mut i) = (bytes.max(0) as u128, 0);
    let mut divisor: u128 = 1;
    while v / divisor >= 1024 && i < units.len() - 1 {
        divisor *= 1024;
        i += 1;
    }
    format!("{}{}", v.div_ceil(divisor), units[i])
}

fn rollback_notes(input: &Input<'_>, targets: &[Target]) -> Vec<String> {
    let names: Vec<&str> = targets.iter().map(|t| t.statefulset.as_str()).collect();
    vec![
        "A grown PVC can't be shrunk back: the disk change is one-way. Everything else can be undone.".to_owned(),
        format!(
            "If helm upgrade fails after the orphan delete, the pods keep running without a controller: fix the values and run helm upgrade again, or `helm rollback {} -n {}`. A rollback re-creates the StatefulSet with the old, smaller template: the grown PVCs keep their {} (only new replicas would get the old size), and the next resize needs the orphan delete again.",
            input.release, input.namespace, input.size.text
        ),
        format!(
            "If a resize stays in ControllerResizeError or NodeResizeError, `kubectl -n {} describe pvc` shows the cloud's message; with RecoverVolumeExpansionFailure (GA in 1.34) a smaller retry is allowed while still above status.capacity.",
            input.namespace
        ),
        format!("The StatefulSets involved: {}.", names.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("release", "posthog", 53, true).is_ok());
        assert!(check_name("release", "x;rm -rf /", 53, true).is_err());
        assert!(check_name("namespace", "a.b", 63, false).is_err());
        assert!(check_name("namespace", "-a", 63, false).is_err());
        assert!(check_name("StatefulSet", &"a".repeat(254), 253, true).is_err());
    }

    #[test]
    fn df() {
        assert_eq!(df_reading(53_687_091_200), "50G");
        assert_eq!(df_reading(50_000_000_000), "47G");
        assert_eq!(df_reading(1023), "1023B");
    }
}
