//! `plan`: the whole resize procedure for one release, as data. The renderers in
//! [`crate::commands::plan::render`] turn it into text, markdown, JSON and a bash script.

pub mod render;

pub mod attributes;
pub mod chart;
pub mod kruise;

pub mod volume;

mod operators;

use crate::commands::post_render::{self, Options};
use crate::fsutil::hinted;
use crate::k8s::names::check_name;
use crate::k8s::objects::{self, StatefulSet};
use crate::k8s::quantity::{Quantity, Size, decimal_for_binary, group};
use crate::k8s::release::{self, Filter, Release, Want};
use crate::k8s::{quota, stream};
use crate::yaml;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The plan JSON format version (`schema/plan.schema.json`).
pub const PLAN_VERSION: u32 = 3;

/// What `plan` is given.
pub struct Input<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub size: &'a Size,
    /// `--volume-attributes-class`: the class the claim templates and the PVCs get.
    pub attributes_class: Option<&'a str>,
    /// `--volume-attributes-class-path`: the values path the chart reads the class from.
    pub attributes_class_path: Option<&'a str>,
    pub manifests_name: &'a str,
    pub manifests: &'a str,
    /// `(file name, text)` of the values file to change.
    pub values: Option<(&'a str, &'a str)>,
    pub values_path: Option<&'a str>,
    pub statefulsets: &'a [String],
    /// `--pvc`: PersistentVolumeClaims the chart renders itself (a Deployment's disk), by name or glob.
    pub pvcs: &'a [String],
    /// Claim templates of custom resources to grow (`--resource KIND/NAME[/CLAIM]`, NAME may be a
    /// glob): their operator grows the PVCs after the upgrade.
    pub resources: &'a [String],
    pub claim: &'a str,
    pub chart: Option<&'a str>,
    /// `(file name, text)` of `kubectl get storageclass,pvc,statefulset,resourcequota,limitrange -n NS -o yaml`.
    pub cluster: Option<(&'a str, &'a str)>,
    pub kubernetes_version: &'a str,
    /// `--kube-context`: passed to every kubectl and helm call.
    pub kube_context: Option<&'a str>,
    /// `--version`: the chart version to pin (default: the render's top-chart label).
    pub chart_version: Option<&'a str>,
    /// The top chart's name, from the render (set by [`build`]).
    pub chart_name: Option<&'a str>,
    /// The change goes through the post-renderer only (`--format flux`), never the values path: the
    /// targets may then be sized by different values paths.
    pub post_renderer_only: bool,
    /// Proves the values path of each target on the chart (`--chart DIR|TGZ` with Helm on PATH).
    pub discover: Option<&'a chart::Discover<'a>>,
    /// Finds the values path of each target's volumeAttributesClassName on the local chart.
    pub discover_class: Option<&'a attributes::DiscoverClass<'a>>,
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
    /// Its `spec.volumeAttributesClassName` in the snapshot (with `--volume-attributes-class`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes_class: Option<String>,
    /// True when the plan sets its class (`--volume-attributes-class`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub set_class: bool,
}

impl Target {
    /// The StatefulSet's, the plain PVC's, or the custom resource's `Kind/name`.
    pub fn name(&self) -> &str {
        self.pvc
            .as_deref()
            .or(self.resource.as_deref())
            .unwrap_or(&self.statefulset)
    }

    /// "StatefulSet NAME", "PersistentVolumeClaim NAME" or "Kind NAME", for messages.
    pub fn object(&self) -> String {
        match (&self.pvc, &self.resource) {
            (Some(p), _) => format!("PersistentVolumeClaim {p}"),
            (None, Some(r)) => r.replacen('/', " ", 1),
            (None, None) => format!("StatefulSet {}", self.statefulset),
        }
    }

    /// True for a StatefulSet target (its claim template is re-created), false for a plain PVC
    /// or a custom resource's claim template.
    pub fn is_statefulset(&self) -> bool {
        self.pvc.is_none() && self.resource.is_none()
    }

    /// True for a custom resource's claim template (its operator grows the PVCs).
    pub fn is_operator(&self) -> bool {
        self.resource.is_some()
    }

    /// The ordinals of the StatefulSet's pods.
    pub fn ordinals(&self) -> objects::Ordinals {
        objects::Ordinals {
            start: self.ordinals_start,
            replicas: self.replicas,
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One StatefulSet the plan grows, or one PersistentVolumeClaim the chart renders itself.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The StatefulSet; empty (and left out of the JSON) for a plain PVC target.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub statefulset: String,
    /// A PersistentVolumeClaim rendered by the chart (not a claim template): Helm's upgrade patches
    /// its request itself, so there is no orphan delete and no PVC patch by the script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pvc: Option<String>,
    /// `Kind/name` of the custom resource whose claim template this is (`--resource`): its
    /// operator grows the PVCs; none of them is patched by the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The label selector of the resource's PVCs (`clickhouse.altinity.com/chi=NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The workload of the render whose pods mount the plain PVC, as kubectl names it
    /// (`deployment/NAME`): where the filesystem is checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    pub replicas: i64,
    /// The render's `spec.replicas` (`replicas` is the live one with `--cluster`); in the JSON only
    /// in the findings (`replicas-differ`) when they differ.
    #[serde(skip)]
    pub render_replicas: i64,
    /// The render's `spec.revisionHistoryLimit` (10 when unset): a StatefulSet the upgrade updates
    /// in place (not re-created) may change it only where the server allows it (from 1.35).
    #[serde(skip)]
    pub render_history_limit: i64,
    /// `spec.ordinals.start`: the pods are `<sts>-<start>..`; left out when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub ordinals_start: i64,
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
    /// The effective `persistentVolumeClaimRetentionPolicy.whenScaled` (`Retain` by default);
    /// empty for a plain PVC target.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub when_scaled: String,
    /// The claim template's volumeAttributesClassName, rendered and asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes_class: Option<attributes::ClassChange>,
    /// An OpenKruise Advanced StatefulSet: updated in place, its PVCs grown by its controller or the
    /// script (`kruise.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kruise: Option<kruise::Kruise>,
    pub pvcs: Vec<Pvc>,
    /// The claim template's size in the render (where findings about the render point).
    #[serde(skip)]
    pub at: Option<Location>,
}

/// A preflight finding: the shared model (`crate::finding`). A blocking finding is an error.
pub use crate::finding::{Finding, Location, Severity};

/// The findings about what the render says, which point at the claim template's size in it
/// (the others are about the cluster or the procedure).
const RENDER_IDS: [&str; 5] = [
    "shrink",
    "render-at-size",
    "decimal-size",
    "retention-delete",
    "log-retention",
];

/// Places the render's findings among `findings` at `at`.
fn place_in_render(findings: &mut [Finding], at: &Location) {
    for f in findings {
        if f.location.is_none() && RENDER_IDS.contains(&f.id) {
            f.location = Some(at.clone());
        }
    }
}

/// A command as an argument vector; quoted only when printed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Command {
    pub argv: Vec<String>,
    /// True when it changes the cluster or a file.
    pub mutating: bool,
}

/// One step of the procedure; its `id` names the script's function (`step_<id>`).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: &'static str,
    /// `main`, or `fallback` for the scale-to-zero branch.
    pub branch: &'static str,
    pub title: String,
    pub detail: String,
    pub commands: Vec<Command>,
    /// The read-only checks of the `preflight` step, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// One read-only check of the preflight; its `id` names the script's function (`check_<id>`).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub title: String,
    pub commands: Vec<Command>,
}

/// The `--post-renderer` form of the upgrade for one Helm major version.
#[derive(Debug, Clone, Serialize)]
pub struct PostRendererForm {
    pub helm: u32,
    pub command: Command,
}

/// The values change.
#[derive(Debug, Clone, Serialize)]
pub struct ValuesChange {
    pub file: String,
    /// The values path; several, space-separated, when the targets are sized by several (`paths`).
    pub path: String,
    /// Every values path set, in the targets' order.
    pub paths: Vec<String>,
    /// The values paths set to the VolumeAttributesClass (`--volume-attributes-class`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class_paths: Vec<String>,
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
    /// The top chart's name and the pinned version (from the render's `helm.sh/chart` label or `--version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_context: Option<String>,
    /// Where the script keeps the saved StatefulSets and its scratch files.
    pub work_dir: String,
    pub size: SizeInfo,
    /// `--volume-attributes-class`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes_class: Option<String>,
    pub cluster_snapshot: bool,
    pub targets: Vec<Target>,
    pub findings: Vec<Finding>,
    pub blocking: bool,
    pub steps: Vec<Step>,
    pub fallback_offered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<ValuesChange>,
    pub manifest_diff: String,
    /// The alternative to the values change: the same upgrade with the post-renderer, per Helm major.
    pub post_renderer: Vec<PostRendererForm>,
    pub rollback: Vec<String>,
}

/// Objects of a `kubectl get ... -o yaml` snapshot.
#[derive(Default)]
struct Cluster {
    classes: BTreeMap<String, Value>,
    pvcs: BTreeMap<String, Value>,
    statefulsets: BTreeMap<String, Value>,
    /// The namespace's ResourceQuotas and LimitRanges.
    limits: Vec<Value>,
    /// The VolumeAttributesClasses (cluster-scoped) by name.
    attributes_classes: BTreeMap<String, Value>,
}

/// Objects of other namespaces (a `kubectl get -A` snapshot) are left out; a snapshot whose
/// PVCs and StatefulSets are all in other namespaces is refused.
fn read_cluster(name: &str, text: &str, namespace: &str) -> Result<Cluster, String> {
    let mut c = Cluster::default();
    let mut elsewhere = std::collections::BTreeSet::new();
    for o in crate::k8s::snapshot::read(name, text)? {
        if !o.namespace.is_empty() && o.namespace != namespace {
            elsewhere.insert(o.namespace);
            continue;
        }
        match o.kind.as_str() {
            "StorageClass" => c.classes.insert(o.name, o.json),
            "PersistentVolumeClaim" => c.pvcs.insert(o.name, o.json),
            "StatefulSet" => c.statefulsets.insert(o.name, o.json),
            "VolumeAttributesClass" => c.attributes_classes.insert(o.name, o.json),
            "ResourceQuota" | "LimitRange" => {
                c.limits.push(o.json);
                None
            }
            _ => None,
        };
    }
    if c.pvcs.is_empty() && c.statefulsets.is_empty() && !elsewhere.is_empty() {
        let other: Vec<_> = elsewhere.into_iter().collect();
        return Err(format!(
            "{name}: the snapshot's objects are in namespace {}, not in {namespace}: the plan would describe another install's PVCs\n  hint: make it with `kubectl get storageclass,pvc,statefulset,resourcequota,limitrange -n {namespace} -o yaml`",
            other.join(", ")
        ));
    }
    if c.classes.is_empty() && c.pvcs.is_empty() && c.statefulsets.is_empty() {
        return Err(hinted(
            format!(
                "{name}: no StorageClass, PersistentVolumeClaim or StatefulSet in the snapshot"
            ),
            format!(
                "make it with `kubectl get storageclass,pvc,statefulset,resourcequota,limitrange -n {namespace} -o yaml > cluster.yaml`"
            ),
        ));
    }
    Ok(c)
}

fn s<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn info(id: &'static str, message: String) -> Finding {
    Finding::new(id, Severity::Notice, message)
}

fn warning(id: &'static str, message: String, hint: Option<String>) -> Finding {
    let f = Finding::new(id, Severity::Warning, message);
    match hint {
        Some(h) => f.hint(h),
        None => f,
    }
}

/// `--path` is the size path a known chart layout (`crate::charts::layout::BLOCK_LAYOUTS`) sizes another
/// claim by: of ANOTHER StatefulSet of the render (`--path zookeeper.persistence.size` for
/// Kafka's), where the upgrade after the orphan delete would change that StatefulSet's claim
/// template and fail with `spec: Forbidden`, which the script's dry run can't see (it patches
/// nothing); or another claim of a target (`kafka.logPersistence.size` with `--claim data`), which
/// the re-created StatefulSet would grow instead of the `--claim` one. A path that is no layout's
/// size path stays the warning `values-path-differs`.
fn path_sizes_another(input: &Input<'_>, targets: &[Target]) -> Result<Option<Finding>, String> {
    let Some(given) = input.values_path else {
        return Ok(None);
    };
    let known = crate::charts::layout::BLOCK_LAYOUTS
        .iter()
        .any(|l| given.strip_suffix(".size") == Some(l.block));
    if !known {
        return Ok(None);
    }
    let want = Want {
        filter: Filter::of(&["StatefulSet"]),
        ..Want::default()
    };
    let render = Release::read(input.manifests, &want)
        .map_err(|e| format!("{}:{e}", input.manifests_name))?;
    for (_, s) in render.statefulsets() {
        let target = targets.iter().any(|t| t.statefulset == s.name);
        let claim = s
            .claims
            .iter()
            .find(|c| {
                !(target && c.name == input.claim)
                    && crate::charts::layout::infer_values_path(s.source.as_deref(), &c.name)
                        .as_deref()
                        == Some(given)
            })
            .map(|claim| claim.name.clone());
        let found = claim.map(|claim| (target, claim, s));
        let Some((target, claim, other)) = found else {
            continue;
        };
        if target {
            return Ok(Some(sizes_another_claim(input, given, &claim, &other)));
        }
        let targeted: Vec<&str> = targets.iter().map(Target::name).collect();
        let f = blocking(
            "values-path-sizes-another",
            format!(
                "--path {given} sizes StatefulSet {}, which is not a target ({}): the upgrade (after the orphan delete of the targets, if any) would change its claim template and fail with spec: Forbidden, and the dry run before can't see it (it patches nothing)",
                other.name,
                targeted.join(", ")
            ),
            Some(format!(
                "leave out --path (the plan infers the targets' own path from the render), or make a plan for that StatefulSet: --statefulset {} --path {given}",
                other.name
            )),
        );
        return Ok(Some(f.at(Location::new(input.manifests_name, other.pos))));
    }
    Ok(None)
}

/// `--path` sizes claim `claim` of target `sts`, not the `--claim` one: the upgrade after the
/// orphan delete would re-create the StatefulSet with that claim template grown and the
/// `--claim` one at its old size.
fn sizes_another_claim(
    input: &Input<'_>,
    given: &str,
    claim: &str,
    sts: &objects::StatefulSet,
) -> Finding {
    let own = crate::charts::layout::infer_values_path(sts.source.as_deref(), input.claim);
    let path = own.map_or_else(String::new, |p| format!(" (or pass --path {p})"));
    blocking(
        "values-path-sizes-another",
        format!(
            "--path {given} sizes claim template {claim:?} of StatefulSet {}, not {:?}: the upgrade after the orphan delete would re-create it with {claim:?} grown and {:?} at its old size",
            sts.name, input.claim, input.claim
        ),
        Some(format!(
            "leave out --path{path}, or make a plan for that claim: --claim {claim} --path {given}"
        )),
    )
    .at(Location::new(input.manifests_name, sts.pos))
}

/// The live StatefulSet's pods start at another ordinal than the render's: the orphan delete and
/// the upgrade re-create it from the render, which would delete some of its pods and start others.
fn ordinals_differ(name: &str, live: objects::Ordinals, render_start: i64) -> Finding {
    let render = objects::Ordinals {
        start: render_start,
        replicas: live.replicas,
    };
    // The pods of `a` that `b` has not.
    let only = |a: objects::Ordinals, b: objects::Ordinals| {
        let pods: Vec<String> = a
            .range()
            .filter(|&i| !b.contains(i))
            .map(|i| objects::pod_name(name, i))
            .collect();
        pods.join(", ")
    };
    blocking(
        "ordinals-differ",
        format!(
            "StatefulSet {name} starts at ordinal {} in the cluster (spec.ordinals.start) but at {render_start} in the render: the orphan delete and the upgrade re-create it from the render, which would delete pods [{}] and start [{}] on other PVCs",
            live.start,
            only(live, render),
            only(render, live)
        ),
        Some(format!(
            "make the chart render spec.ordinals.start: {} (or set the live StatefulSet back to {render_start}), then make the plan again",
            live.start
        )),
    )
}

/// The live StatefulSet has another replica count than the render (a `kubectl scale`): the orphan
/// delete and the upgrade re-create it with the render's, which deletes the pods above it (and their
/// PVCs with `whenScaled: Delete`): blocking; or adds pods: a warning. A live 0 (the fallback's
/// scale-down, before a rerun) is neither.
fn replicas_differ(
    name: &str,
    live: objects::Ordinals,
    render: i64,
    when_scaled: &str,
    values_path: Option<&str>,
) -> Option<Finding> {
    if live.replicas == render || live.replicas == 0 {
        return None;
    }
    let (low, high) = (live.replicas.min(render), live.replicas.max(render));
    let pods: Vec<String> = (live.start + low..live.start + high)
        .map(|i| objects::pod_name(name, i))
        .collect();
    let pods = pods.join(", ");
    let head = format!(
        "StatefulSet {name} has {} replicas in the cluster (spec.replicas) but {render} in the render: the orphan delete and the upgrade re-create it from the render",
        live.replicas
    );
    let setting = values_path
        .and_then(crate::charts::layout::replica_values_path)
        .map_or("the chart's replica count".to_owned(), |p| {
            format!("the chart's replica count ({p}: {})", live.replicas)
        });
    if live.replicas < render {
        return Some(warning(
            "replicas-differ",
            format!(
                "{head}, which adds pods [{pods}] (on their PVCs if they exist, else on new ones of the new size)"
            ),
            Some(format!(
                "nothing to do if {render} is the count wanted; to keep {}, set {setting} in the values and render again",
                live.replicas
            )),
        ));
    }
    let pvcs = if when_scaled == "Delete" {
        " and, as whenScaled is Delete, their PVCs (data loss)"
    } else {
        " (their PVCs are kept)"
    };
    Some(blocking(
        "replicas-differ",
        format!("{head}, which would delete pods [{pods}]{pvcs}"),
        Some(format!(
            "set {setting} in the values and render again, or scale the StatefulSet back to {render} first; then make the plan again"
        )),
    ))
}

/// The snapshot's ResourceQuotas and LimitRanges that the grows would exceed: each stops the plan
/// (the script's preflight `quota` check applies the same rule to the live objects). Every PVC
/// the plan patches is charged its growth; a PVC of the replicas that does not exist yet is made
/// by the re-created StatefulSet at the new size, and charged all of it.
fn quota_findings(input: &Input<'_>, targets: &[Target], c: &Cluster) -> Vec<Finding> {
    let zero = Quantity::parse("0").expect("0 is a quantity");
    let mut grows = Vec::new();
    for t in targets {
        for p in &t.pvcs {
            let live = c.pvcs.get(&p.name);
            let from = live
                .and_then(|v| s(v, "/spec/resources/requests/storage"))
                .and_then(|q| Quantity::parse(q).ok());
            let from = match (p.patch, from, p.state.as_str()) {
                (true, Some(q), _) => q,
                (_, None, "missing") if t.ordinals().contains(p.ordinal) => zero.clone(),
                _ => continue,
            };
            let class = live
                .and_then(|v| s(v, "/spec/storageClassName"))
                .or(t.storage_class.as_deref());
            grows.push(quota::Grow {
                pvc: p.name.clone(),
                class: class.map(str::to_owned),
                from,
                to: input.size.quantity.clone(),
            });
        }
    }
    quota::refusals(&c.limits, &grows)
        .into_iter()
        .map(|r| {
            let (id, hint) = match r.kind {
                "ResourceQuota" => (
                    "quota-exceeded",
                    format!(
                        "raise spec.hard[\"{}\"] of ResourceQuota {} (`{}`), or grow to a size within it; the API server would refuse the PVC patch (exceeded quota)",
                        r.resource,
                        r.name,
                        shown(&kubectl(input, true, &["edit", "resourcequota", &r.name]))
                    ),
                ),
                _ => (
                    "limitrange-exceeded",
                    format!(
                        "raise the PersistentVolumeClaim max.storage of LimitRange {} (`{}`), or grow to a size within it",
                        r.name,
                        shown(&kubectl(input, true, &["edit", "limitrange", &r.name]))
                    ),
                ),
            };
            blocking(id, r.message, Some(hint))
        })
        .collect()
}

/// A finding that stops the plan (exit 1, no script).
fn blocking(id: &'static str, message: String, hint: Option<String>) -> Finding {
    let f = Finding::new(id, Severity::Error, message);
    match hint {
        Some(h) => f.hint(h),
        None => f,
    }
}

/// A render error in FILE: `FILE:LINE:COL: ...` where the error has a place, `FILE: ...` otherwise;
/// always with a `hint:`.
fn placed(file: &str, e: &post_render::RenderError) -> String {
    let sep = if e.pos.is_some() { ":" } else { ": " };
    match e.hint {
        Some(_) => format!("{file}{sep}{e}"),
        None => hinted(
            format!("{file}{sep}{e}"),
            "check the render with `pvc-resize validate --manifests FILE`",
        ),
    }
}

/// Builds the plan. `Err` when the inputs can't be used (exit 2).
pub fn build(input: &Input<'_>) -> Result<Plan, String> {
    check_name("release", input.release, 53, true).map_err(|e| format!("--release: {e}"))?;
    check_name("namespace", input.namespace, 63, false).map_err(|e| format!("--namespace: {e}"))?;
    // The render is split once: the chart's name and version, then the scan, read the chunks.
    let chunks = stream::split(input.manifests);
    let (chart_name, chart_version) = chart_of(input, &chunks)?;
    let input = &Input {
        chart_name: chart_name.as_deref(),
        chart_version: chart_version.as_deref(),
        ..*input
    };
    plan_of(input, chunks)
}

/// The plan of inputs checked and named (the chart's name and version read from the render): the
/// scan, the targets, the values change, the steps and the findings.
fn plan_of(input: &Input<'_>, chunks: Vec<stream::Chunk>) -> Result<Plan, String> {
    let cluster = match input.cluster {
        Some((name, text)) => Some(read_cluster(name, text, input.namespace)?),
        None => None,
    };

    // One scan picks the StatefulSets; the resized stream for the diff comes from the same scan.
    let opts = scan_options(input);
    // The same scan reads the volume owners (the operators' notices), so the render is read once.
    let selection = Some(
        post_render::Selection::new(input.manifests, chunks, &opts)
            .map_err(|e| placed(input.manifests_name, &e))?,
    );
    let mut findings = Vec::new();
    let targets = all_targets(input, selection.as_ref(), cluster.as_ref(), &mut findings)?;
    let new = SizeInfo::of(&input.size.text);

    // The values change, when a values file is given: every target's path, in one edit.
    let values_paths = chart::values_paths(input, &targets);
    let class_paths = attributes::class_paths(&targets);
    let values = chart::values_change(input, &values_paths, &class_paths, &mut findings)?;

    let manifest_diff = manifest_diff(input, &targets, selection.as_ref(), &opts)?;

    let is_blocking = findings.iter().any(|f| f.blocking);
    let fallback_offered = fallback_offered(&targets);
    let steps = if is_blocking {
        Vec::new()
    } else {
        steps(input, &targets, &values_paths, fallback_offered)
    };
    findings.extend(procedure_findings(input));
    findings.extend(operators::findings(
        input.manifests_name,
        selection.iter().flat_map(|s| s.owners()),
        input.resources,
    ));
    let rollback = rollback_notes(input, &targets);
    Ok(Plan {
        version: PLAN_VERSION,
        release: input.release.to_owned(),
        namespace: input.namespace.to_owned(),
        chart: input.chart.map(str::to_owned),
        chart_name: input.chart_name.map(str::to_owned),
        chart_version: input.chart_version.map(str::to_owned),
        kube_context: input.kube_context.map(str::to_owned),
        work_dir: work_dir(input.release),
        post_renderer: post_renderer_forms(input, &values_file_name(input), &targets),
        size: new,
        attributes_class: input.attributes_class.map(str::to_owned),
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

/// Every target: the StatefulSets the scan picked, the plain PVCs, the operators' volumes; then
/// the plan's findings on them.
fn all_targets(
    input: &Input<'_>,
    selection: Option<&post_render::Selection<'_>>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Target>, String> {
    let mut targets = picked_targets(input, selection, cluster, findings)?;
    targets.extend(volume::targets(input, cluster, findings)?);
    let owners = selection.into_iter().flat_map(|s| s.owners());
    targets.extend(operators::targets(input, owners, cluster, findings)?);
    plan_findings(input, &mut targets, cluster, findings)?;
    Ok(targets)
}

/// Whether the fallback is offered. It scales StatefulSets to 0; a plain PVC's workload is not
/// scaled by the script. (An Advanced StatefulSet is not scaled by the script either: its PVCs
/// grow after the upgrade.)
fn fallback_offered(targets: &[Target]) -> bool {
    !targets
        .iter()
        .any(|t| t.when_scaled == "Delete" || !t.is_statefulset() || t.kruise.is_some())
}

/// The post-renderer's options for the plan's one scan: its targets, kept with their trees.
fn scan_options(input: &Input<'_>) -> Options {
    Options {
        size: Some(input.size.clone()),
        volume_attributes_class: input.attributes_class.map(str::to_owned),
        statefulsets: input.statefulsets.to_vec(),
        claim: input.claim.to_owned(),
        kubernetes_version: input.kubernetes_version.to_owned(),
        keep_documents: true,
        owners: true,
        // `--pvc` alone targets plain PVCs only: no StatefulSet is picked (not even the default Kafka).
        pick_none: input.statefulsets.is_empty()
            && (!input.pvcs.is_empty() || !input.resources.is_empty()),
        ..Options::default()
    }
}

/// The version of the chart the render was made from (its top chart's `helm.sh/chart` label),
/// as the upgrade pins it without `--version`.
pub fn rendered_chart_version(
    manifests_name: &str,
    manifests: &str,
) -> Result<Option<String>, String> {
    let chunks = stream::split(manifests);
    let top = top_chart(manifests_name, manifests, &chunks)?;
    Ok(top.map(|t| t.version))
}

/// The chart's name and version as the render says them: the top chart's `helm.sh/chart`
/// label (else the first part of every `# Source:` path, for the name), the version as pinned.
fn chart_of(
    input: &Input<'_>,
    chunks: &[stream::Chunk],
) -> Result<(Option<String>, Option<String>), String> {
    let top = top_chart(input.manifests_name, input.manifests, chunks)?;
    let chart_version = pinned_version(input, top.as_ref())?;
    // Without a top-chart label, the name is the first part of every `# Source:` path.
    let source_name = chunks.iter().find_map(|c| {
        stream::source_comment(&input.manifests[c.range.clone()])
            .and_then(|p| p.split_once('/'))
            .map(|(chart, _)| chart.to_owned())
    });
    Ok((top.map(|t| t.name).or(source_name), chart_version))
}

/// The StatefulSet targets: those the scan picked, each read from the tree the scan kept.
fn picked_targets(
    input: &Input<'_>,
    selection: Option<&post_render::Selection<'_>>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for (chunk, _, kept) in selection.iter().flat_map(|s| s.picked()) {
        let (parsed, object) = kept.ok_or("internal: the picked StatefulSet was not kept")?;
        let Some(sts) = parsed.statefulset(object) else {
            continue;
        };
        check_instance(input, object, chunk.line)?;
        let mut t = target(input, &sts, cluster, findings)?;
        t.render_history_limit =
            objects::str_at(parsed.node(object), &["spec", "revisionHistoryLimit"])
                .and_then(|v| v.parse().ok())
                .unwrap_or(10);
        if object.is_kruise_statefulset() {
            let index = sts.claims.iter().position(|c| c.name == input.claim);
            let (k, finding) = kruise::read(input, parsed, object, index.unwrap_or(0), &t);
            t.kruise = Some(k);
            findings.push(finding);
        }
        targets.push(t);
    }
    Ok(targets)
}

/// The findings about the targets together: each target's, the quota, the attributes class,
/// the chart's values paths, and what is unknown without a cluster snapshot.
fn plan_findings(
    input: &Input<'_>,
    targets: &mut [Target],
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<(), String> {
    for t in targets.iter() {
        target_findings(input, t, cluster, findings);
    }
    if let Some(c) = cluster {
        findings.extend(quota_findings(input, targets, c));
    }
    attributes::apply(input, targets, cluster, findings);
    chart::apply(input, targets, findings);
    if !input.post_renderer_only
        && let Some(f) = path_sizes_another(input, targets)?
    {
        // The plain warning said the same less sharply; the blocking finding replaces it.
        findings.retain(|f| f.id != "values-path-differs");
        findings.push(f);
    }
    if cluster.is_none() {
        findings.push(warning(
            "storageclass-unknown",
            "without --cluster the StorageClass's allowVolumeExpansion is not known; the script checks it before changing anything".to_owned(),
            Some(format!(
                "`{} > cluster.yaml`, then pass --cluster cluster.yaml",
                shown(&kubectl(input, false, &["get", "storageclass,pvc,statefulset", "-o", "yaml"]))
            )),
        ));
        findings.push(info(
            "cloud-notes",
            "clouds differ: AWS EBS allows one modification per volume every 6 hours (VolumeModificationRateExceeded); Azure Disk may refuse to grow an attached disk (use the scale-to-zero fallback); GCE and Azure round sizes up to whole GiB".to_owned(),
        ));
    }
    Ok(())
}

/// The rendered StatefulSets after the change, as a unified diff of the render (none on a
/// shrink, which is a finding, nor without a StatefulSet target).
fn manifest_diff(
    input: &Input<'_>,
    targets: &[Target],
    selection: Option<&post_render::Selection<'_>>,
    opts: &Options,
) -> Result<String, String> {
    let shrinking = targets
        .iter()
        .any(|t| matches!((t.new.bytes, t.old.bytes), (Some(n), Some(o)) if n < o));
    let (false, Some(selection)) = (shrinking, selection) else {
        return Ok(String::new());
    };
    let out = selection
        .render(opts)
        .map_err(|e| placed(input.manifests_name, &e))?;
    Ok(crate::output::diff::unified_diff_of_edits(
        input.manifests,
        out.output.edits(),
        input.manifests_name,
    ))
}

/// The top chart: the `helm.sh/chart` label of a document rendered from the top chart's own
/// templates (`# Source: NAME/templates/...`).
struct TopChart {
    name: String,
    version: String,
    /// Where the label is in the render.
    pos: yaml::Pos,
}

fn top_chart(
    name: &str,
    manifests: &str,
    chunks: &[stream::Chunk],
) -> Result<Option<TopChart>, String> {
    for (i, chunk) in chunks.iter().enumerate() {
        let doc = &manifests[chunk.range.clone()];
        let Some(chart) = stream::source_comment(doc)
            .and_then(|p| p.split_once("/templates/"))
            .map(|(chart, _)| chart)
            .filter(|c| !c.contains('/'))
        else {
            continue;
        };
        let parsed = release::read_chunk(manifests, chunks, i)
            .map_err(|e| release::syntax_finding(name, &e).to_string())?;
        for o in &parsed.objects {
            let label = o.labels.iter().find(|(k, _)| k == "helm.sh/chart");
            if let Some(version) = label.and_then(|(_, l)| l.strip_prefix(&format!("{chart}-"))) {
                let pos = release::read_node(
                    parsed.root(o),
                    parsed.node(o),
                    &["metadata", "labels", "helm.sh/chart"],
                )
                .map_or(o.pos, |n| n.pos);
                return Ok(Some(TopChart {
                    name: chart.to_owned(),
                    version: version.to_owned(),
                    pos,
                }));
            }
        }
    }
    Ok(None)
}

/// `--version`, or the render's; a `--version` other than the render's is refused: the render must be
/// of the chart version the upgrade pins.
fn pinned_version(input: &Input<'_>, top: Option<&TopChart>) -> Result<Option<String>, String> {
    match (input.chart_version, top) {
        (Some(v), Some(t)) if v != t.version => Err(format!(
            "{}:{}: the manifests were rendered from {}-{} (helm.sh/chart), but --version is {v}\n  hint: render the chart at the version the upgrade pins (`helm template {} CHART --version {}`), or drop --version",
            input.manifests_name,
            t.pos,
            t.name,
            t.version,
            crate::shell::shell_quote(input.release),
            crate::shell::shell_quote(v)
        )),
        (Some(v), _) => Ok(Some(v.to_owned())),
        (None, top) => Ok(top.map(|t| t.version.clone())),
    }
}

/// The StatefulSet must have been rendered for this release (`app.kubernetes.io/instance`, as
/// the release model reads its labels: merge keys and aliases applied).
pub(super) fn check_instance(
    input: &Input<'_>,
    sts: &release::Object,
    line: usize,
) -> Result<(), String> {
    let instance = sts
        .labels
        .iter()
        .find(|(k, _)| k == "app.kubernetes.io/instance")
        .map(|(_, v)| v.as_str());
    match instance {
        Some(instance) if instance != input.release => Err(format!(
            "{}:{line}:1: {} {} was rendered for release {instance:?} (app.kubernetes.io/instance), not {:?}\n  hint: pass --release {instance}, or render the manifests with the release name: `helm template {} CHART`",
            input.manifests_name,
            sts.kind,
            sts.name,
            input.release,
            crate::shell::shell_quote(input.release)
        )),
        _ => Ok(()),
    }
}

/// A command as the user types it (pinned to the context and namespace, like every command).
fn shown(c: &Command) -> String {
    crate::commands::plan::render::command_line(c)
}

fn values_file_name(input: &Input<'_>) -> String {
    input.values.map_or("VALUES_FILE", |(f, _)| f).to_owned()
}

/// The `--post-renderer` upgrade per Helm major: Helm 3 runs the executable with `post-render` as its
/// first argument; Helm 4 takes the plugin NAME, whose plugin.yaml already passes `post-render`.
fn post_renderer_forms(
    input: &Input<'_>,
    values_file: &str,
    targets: &[Target],
) -> Vec<PostRendererForm> {
    let version = input.chart_version.unwrap_or("VERSION");
    if targets.is_empty() || !targets.iter().all(Target::is_statefulset) {
        // The post-renderer grows StatefulSets' claim templates only; a plain PVC or a custom
        // resource's claim template is grown by the values change alone, so a post-rendered
        // upgrade without it would leave them as they are.
        return Vec::new();
    }
    let mut args: Vec<String> = vec!["--size".to_owned(), input.size.text.clone()];
    if let Some(class) = input.attributes_class {
        args.extend(["--volume-attributes-class".to_owned(), class.to_owned()]);
    }
    for t in targets.iter().filter(|t| t.is_statefulset()) {
        args.extend(["--statefulset".to_owned(), t.statefulset.clone()]);
    }
    if input.claim != "data" {
        args.extend(["--claim".to_owned(), input.claim.to_owned()]);
    }
    [3, 4]
        .into_iter()
        .map(|helm| {
            let mut command = upgrade(input, values_file, version, false);
            let at = command
                .argv
                .iter()
                .position(|w| w == "--")
                .unwrap_or(command.argv.len());
            let mut extra = vec!["--post-renderer".to_owned(), "pvc-resize".to_owned()];
            let words = if helm == 3 {
                std::iter::once("post-render".to_owned())
                    .chain(args.iter().cloned())
                    .collect()
            } else {
                args.clone()
            };
            for w in words {
                extra.extend(["--post-renderer-args".to_owned(), w]);
            }
            command.argv.splice(at..at, extra);
            PostRendererForm { helm, command }
        })
        .collect()
}

/// What the procedure itself must tell: the context, the pinned version, the Helm 4 post-renderer cost.
fn procedure_findings(input: &Input<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    if input.kube_context.is_none() {
        out.push(warning(
            "kube-context-unnamed",
            "no --kube-context: the commands show CONTEXT; the script needs the context named, so that it never acts on whatever context happens to be current".to_owned(),
            Some("pass --kube-context NAME (`kubectl config get-contexts` lists them)".to_owned()),
        ));
    }
    match (input.chart_version, input.chart_name) {
        (Some(v), Some(n)) => out.push(info("chart-pinned", format!("the upgrade pins chart {n} version {v} (the render's helm.sh/chart label), never the newest"))),
        (Some(v), None) => out.push(info("chart-pinned", format!("the upgrade pins chart version {v}"))),
        (None, _) => out.push(warning(
            "chart-version-unknown",
            "the render has no top-chart helm.sh/chart label: the chart version to pin is unknown".to_owned(),
            Some(format!(
                "pass --version (`{}` shows the release's chart version)",
                shown(&helm(input, false, &["list"]))
            )),
        )),
    }
    out.push(warning(
        "helm4-post-renderer",
        "with Helm 4, ANY post-renderer makes Helm re-serialise the whole release: on the real PostHog chart four unrelated Deployments change and roll on upgrade. That is why the values change, not the post-renderer, is the default path".to_owned(),
        None,
    ));
    out
}

fn target(
    input: &Input<'_>,
    sts: &StatefulSet<'_>,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Target, String> {
    let here = |e: String| format!("{}:{}: {e}", input.manifests_name, sts.pos);
    check_name("StatefulSet", &sts.name, 253, true).map_err(here)?;
    let first_finding = findings.len();
    let claim = claim_of(input, sts).map_err(here)?;
    let old_text = claim.storage.and_then(|n| n.as_str()).unwrap_or_default();
    let old = SizeInfo::of(old_text);
    let new = SizeInfo::of(&input.size.text);
    let live = cluster.and_then(|c| c.statefulsets.get(&sts.name));
    let when_scaled = when_scaled_of(live, sts);
    let range = live_ordinals(live, sts);
    let replicas = range.replicas;
    // `exec` needs a running container: init containers come first in `mounts`, so take the last.
    let mount = sts.mounts.iter().rfind(|(_, v, _)| *v == input.claim);
    let values_path = render_differences(input, sts, range, &when_scaled, findings);
    let mut pvcs = Vec::new();
    let ordinals = ordinals_to_grow(input, sts, range, cluster, findings);
    for i in ordinals {
        let pvc = pvc_of(input, sts, i, cluster, findings).map_err(here)?;
        pvcs.push(pvc);
    }
    let storage_class = class_of(claim.storage_class.as_deref(), cluster, &pvcs).map_err(here)?;
    findings.extend(log_retention(sts, &new));
    let at = Location::new(
        input.manifests_name,
        claim.storage.map_or(claim.pos, |n| n.pos),
    );
    place_in_render(&mut findings[first_finding..], &at);
    Ok(Target {
        at: Some(at),
        statefulset: sts.name.clone(),
        pvc: None,
        resource: None,
        selector: None,
        workload: None,
        replicas,
        ordinals_start: range.start,
        claim: input.claim.to_owned(),
        old,
        new,
        storage_class,
        mount_path: mount.map(|(_, _, p)| p.clone()),
        container: mount.map(|(c, _, _)| c.clone()),
        values_path,
        render_replicas: sts.replicas,
        render_history_limit: 10,
        when_scaled,
        attributes_class: class_change(input, claim),
        kruise: None,
        pvcs,
    })
}

/// The values path of the StatefulSet's size (`--path`, else the one its chart's layout implies),
/// after the findings on where the live StatefulSet or `--path` differ from the render.
fn render_differences(
    input: &Input<'_>,
    sts: &StatefulSet<'_>,
    range: objects::Ordinals,
    when_scaled: &str,
    findings: &mut Vec<Finding>,
) -> Option<String> {
    // Where the fix goes: the StatefulSet in the render (the chart's values make it).
    let in_render = Location::new(input.manifests_name, sts.pos);
    if range.start != sts.ordinal_start {
        findings.push(ordinals_differ(&sts.name, range, sts.ordinal_start).at(in_render.clone()));
    }
    let inferred = crate::charts::layout::infer_values_path(sts.source.as_deref(), input.claim);
    if let (Some(given), Some(layout)) = (input.values_path, &inferred)
        && given != layout
    {
        findings.push(values_path_differs(sts, given, layout).at(in_render.clone()));
    }
    let values_path = input.values_path.map(str::to_owned).or(inferred);
    findings.extend(
        replicas_differ(
            &sts.name,
            range,
            sts.replicas,
            when_scaled,
            values_path.as_deref(),
        )
        .map(|f| f.at(in_render)),
    );
    values_path
}

/// The StatefulSet's `whenScaled` retention policy: the live one's, else the render's, else
/// Kubernetes' default `Retain`.
fn when_scaled_of(live: Option<&Value>, sts: &StatefulSet<'_>) -> String {
    live.and_then(|l| s(l, "/spec/persistentVolumeClaimRetentionPolicy/whenScaled"))
        .map(str::to_owned)
        .or_else(|| sts.when_scaled.clone())
        .unwrap_or_else(|| "Retain".to_owned())
}

/// The StatefulSet's ordinals: the live one's (its pods are the ones whose PVCs exist), else the
/// render's.
fn live_ordinals(live: Option<&Value>, sts: &StatefulSet<'_>) -> objects::Ordinals {
    let replicas = live
        .and_then(|l| l.pointer("/spec/replicas"))
        .and_then(Value::as_i64)
        .unwrap_or(sts.replicas);
    // No `ordinals` in the live StatefulSet means 0.
    let start = live.map_or(sts.ordinal_start, |l| {
        l.pointer("/spec/ordinals/start")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    });
    objects::Ordinals { start, replicas }
}

/// The warning that `--path` is not the values path the StatefulSet's chart sizes it by.
fn values_path_differs(sts: &StatefulSet<'_>, given: &str, layout: &str) -> Finding {
    warning(
        "values-path-differs",
        format!(
            "--path {given}, but StatefulSet {} comes from {}, whose chart sizes it by {layout}: a key the chart does not read leaves the re-created StatefulSet at its old size (the script stops after the upgrade), and the size of another StatefulSet fails the upgrade with spec: Forbidden after the orphan delete",
            sts.name,
            sts.source.as_deref().unwrap_or("?")
        ),
        Some(format!("leave out --path (or pass --path {layout})")),
    )
}

/// The class change `--attributes-class` asks for, from the claim template's rendered class.
fn class_change(
    input: &Input<'_>,
    claim: &objects::ClaimTemplate<'_>,
) -> Option<attributes::ClassChange> {
    input.attributes_class.map(|to| attributes::ClassChange {
        from: claim
            .attributes_class
            .and_then(|n| n.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        to: to.to_owned(),
        values_path: None,
    })
}

/// The claim template `--claim` names in the StatefulSet, or what to pass instead.
fn claim_of<'s, 'a>(
    input: &Input<'_>,
    sts: &'s StatefulSet<'a>,
) -> Result<&'s crate::k8s::objects::ClaimTemplate<'a>, String> {
    sts.claims
        .iter()
        .find(|c| c.name == input.claim)
        .ok_or_else(|| {
            let names: Vec<&str> = sts.claims.iter().map(|c| c.name.as_str()).collect();
            hinted(
                format!(
                    "StatefulSet {} has no volumeClaimTemplate named {:?}",
                    sts.name, input.claim
                ),
                if names.is_empty() {
                    "this StatefulSet has no volumeClaimTemplates (no PVCs to grow); pick another with --statefulset".to_owned()
                } else {
                    format!("pass --claim with one of: {}", names.join(", "))
                },
            )
        })
}

/// The ordinals whose PVCs grow: those of the replicas, and with a snapshot the PVCs beyond them
/// (left by a scale-down, reused by a scale-up); those below `ordinals.start` are left alone.
fn ordinals_to_grow(
    input: &Input<'_>,
    sts: &StatefulSet<'_>,
    range: objects::Ordinals,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Vec<i64> {
    let replicas = range.replicas;
    let mut ordinals: Vec<i64> = range.range().collect();
    if let Some(c) = cluster {
        for name in c.pvcs.keys() {
            let Some(n) = objects::pvc_ordinal(name, input.claim, &sts.name) else {
                continue;
            };
            if n < range.start {
                // Below `ordinals.start` (left from before it was set): no pod of this StatefulSet mounts it.
                findings.push(info(
                    "pvc-below-ordinals",
                    format!("{name} is below the StatefulSet's first ordinal {} (ordinals.start): no pod uses it; it is left as it is", range.start),
                ));
            } else if !ordinals.contains(&n) {
                // PVCs of higher ordinals left by an earlier scale-down are reused on scale-up: grow them too.
                ordinals.push(n);
                findings.push(info(
                    "pvc-beyond-replicas",
                    format!("{name} exists beyond the {replicas} replicas (left by a scale-down); it is grown too, as a scale-up would reuse it"),
                ));
            }
        }
    }
    ordinals
}

/// One PVC of the target and its state in the snapshot (missing, not bound, already grown).
fn pvc_of(
    input: &Input<'_>,
    sts: &StatefulSet<'_>,
    i: i64,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) -> Result<Pvc, String> {
    let name = objects::pvc_name(input.claim, &sts.name, i);
    check_name("PVC", &name, 253, true)?;
    let mut pvc = Pvc {
        pod: objects::pod_name(&sts.name, i),
        name: name.clone(),
        ordinal: i,
        state: "unknown".to_owned(),
        capacity: None,
        patch: true,
        attributes_class: None,
        set_class: input.attributes_class.is_some(),
    };
    let missing = format!(
        "{name} is not in the snapshot: nothing to patch; the StatefulSet creates it from the new template after the upgrade"
    );
    snapshot_state(input, &mut pvc, cluster, findings, missing);
    Ok(pvc)
}

/// A PVC's state in the snapshot (missing, not Bound, already grown, bound), with its findings;
/// `missing` says what happens to a PVC the snapshot does not hold.
fn snapshot_state(
    input: &Input<'_>,
    pvc: &mut Pvc,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
    missing: String,
) {
    let name = pvc.name.clone();
    if let Some(c) = cluster {
        match c.pvcs.get(&name) {
            None => {
                pvc.state = "missing".to_owned();
                pvc.patch = false;
                findings.push(warning("pvc-missing", missing, None));
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
                        format!("{name} is {phase}, not Bound: only a Bound PVC can be expanded"),
                        Some(format!(
                            "`{}` says why",
                            shown(&kubectl(input, false, &["describe", "pvc", &name]))
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
}

/// The target's StorageClass: the claim's own, else its PVCs' in the snapshot, else the
/// snapshot's default class; checked as a name before it goes into a command.
fn class_of(
    claim: Option<&str>,
    cluster: Option<&Cluster>,
    pvcs: &[Pvc],
) -> Result<Option<String>, String> {
    let class = claim
        .map(str::to_owned)
        .or_else(|| cluster.and_then(|c| storage_class_from(c, pvcs)));
    if let Some(sc) = &class {
        check_name("StorageClass", sc, 253, true)?;
    }
    Ok(class)
}

/// The StorageClass of the target's PVCs in the snapshot, else the cluster's default class.
fn storage_class_from(c: &Cluster, pvcs: &[Pvc]) -> Option<String> {
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
}

/// Kafka's log retention in bytes above the new disk: the disk fills before retention deletes.
fn log_retention(sts: &StatefulSet<'_>, new: &SizeInfo) -> Option<Finding> {
    let log_bytes = sts
        .env
        .iter()
        .find(|(_, n, _)| n == "KAFKA_CFG_LOG_RETENTION_BYTES")
        .and_then(|(_, _, v)| v.replace('_', "").parse::<i64>().ok());
    let (lb, nb) = (log_bytes?, new.bytes?);
    (lb > nb).then(|| {
        warning(
            "log-retention",
            format!(
                "{}: KAFKA_CFG_LOG_RETENTION_BYTES is {} bytes, more than the new disk ({} bytes); the disk fills before retention deletes anything (the limit is per partition)",
                sts.name,
                group(lb),
                group(nb)
            ),
            Some("lower logRetentionBytes in the chart's values, or grow the disk further".to_owned()),
        )
    })
}

fn expands(class: &Value) -> bool {
    class.get("allowVolumeExpansion").and_then(Value::as_bool) == Some(true)
}

/// StorageClass `sc` can't grow volumes: the PVC patch would be refused. `what` says which PVCs,
/// when not those of the claim template's class.
fn no_expansion(input: &Input<'_>, sc: &str, what: &str) -> Finding {
    let patch = kubectl(
        input,
        true,
        &[
            "patch",
            "storageclass",
            sc,
            "-p",
            r#"{"allowVolumeExpansion":true}"#,
        ],
    );
    blocking(
        "storageclass-no-expansion",
        format!(
            "{what}StorageClass {sc} does not allow volume expansion (allowVolumeExpansion is not true): the PVC patch would be refused"
        ),
        Some(format!(
            "`{}` (only if its CSI driver supports expansion)",
            shown(&patch)
        )),
    )
}

/// PVCs bound to another StorageClass than the claim template's (made before the chart changed
/// it): each such class must allow expansion too.
fn other_classes(input: &Input<'_>, t: &Target, c: &Cluster, findings: &mut Vec<Finding>) {
    let mut by_class: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for p in t.pvcs.iter().filter(|p| p.patch) {
        let class = c
            .pvcs
            .get(&p.name)
            .and_then(|v| s(v, "/spec/storageClassName"));
        if let Some(sc) = class.filter(|sc| Some(*sc) != t.storage_class.as_deref()) {
            by_class.entry(sc).or_default().push(&p.name);
        }
    }
    for (sc, pvcs) in by_class {
        let what = format!(
            "{} {} bound to another StorageClass than the claim template's: ",
            pvcs.join(", "),
            if pvcs.len() == 1 { "is" } else { "are" }
        );
        match c.classes.get(sc) {
            Some(v) if expands(v) => {}
            Some(_) => findings.push(no_expansion(input, sc, &what)),
            None => findings.push(warning(
                "storageclass-unknown",
                format!("{what}StorageClass {sc} is not in the snapshot; its allowVolumeExpansion is unknown"),
                Some(format!(
                "`{}` shows it",
                shown(&kubectl(input, false, &["get", "storageclass", sc, "-o", "yaml"]))
            )),
            )),
        }
    }
}

fn target_findings(
    input: &Input<'_>,
    t: &Target,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) {
    let first_finding = findings.len();
    target_checks(input, t, cluster, findings);
    if let Some(at) = &t.at {
        place_in_render(&mut findings[first_finding..], at);
    }
}

fn target_checks(
    input: &Input<'_>,
    t: &Target,
    cluster: Option<&Cluster>,
    findings: &mut Vec<Finding>,
) {
    size_checks(input, t, findings);
    if t.when_scaled == "Delete" {
        findings.push(warning(
            "retention-delete",
            format!(
                "{} has persistentVolumeClaimRetentionPolicy.whenScaled: Delete: scaling it to 0 DELETES its PVCs, so the scale-to-zero fallback is not offered",
                t.name()
            ),
            Some("if the cloud can't grow an attached disk, set whenScaled: Retain first (a separate, reviewed change)".to_owned()),
        ));
    }
    let Some(c) = cluster else { return };
    other_classes(input, t, c, findings);
    class_checks(input, t, c, findings);
}

/// The findings on the target's new size beside the rendered one: a shrink, a render already
/// at the size, a decimal size beside a binary one.
fn size_checks(input: &Input<'_>, t: &Target, findings: &mut Vec<Finding>) {
    let old = Quantity::parse(&t.old.text).ok();
    let new = &input.size.quantity;
    match &old {
        Some(o) if new < o => findings.push(blocking(
            "shrink",
            format!(
                "{}: {} is smaller than the rendered {} ({} < {} bytes): Kubernetes forbids shrinking a PVC",
                t.name(),
                t.new.text,
                t.old.text,
                new.bytes_beside(o),
                o.bytes_beside(new)
            ),
            Some("give a size at least as large as the current one".to_owned()),
        )),
        Some(o) if new == o && input.attributes_class.is_none() => findings.push(info(
            "render-at-size",
            format!("{}: the render already asks for {} (values.yaml has caught up); the PVCs may still need growing", t.name(), t.old.text),
        )),
        _ => {}
    }
    if let Some(o) = &old
        && let Some(message) = decimal_for_binary(&t.old.text, o, &t.new.text, new)
    {
        findings.push(warning(
            "decimal-size",
            format!("{}: {message}", t.name()),
            None,
        ));
    }
}

/// The findings on the target's StorageClass in the snapshot: unknown, whether it expands, and
/// what its cloud's disks allow.
fn class_checks(input: &Input<'_>, t: &Target, c: &Cluster, findings: &mut Vec<Finding>) {
    match t.storage_class.as_deref().map(|sc| (sc, c.classes.get(sc))) {
        None => findings.push(warning(
            "storageclass-unknown",
            format!("{}: no StorageClass is named by the claim template, the PVCs or a default class in the snapshot", t.name()),
            None,
        )),
        Some((sc, None)) => findings.push(warning(
            "storageclass-unknown",
            format!("StorageClass {sc} is not in the snapshot; its allowVolumeExpansion is unknown"),
            Some(format!(
                "`{}` shows it",
                shown(&kubectl(input, false, &["get", "storageclass", sc, "-o", "yaml"]))
            )),
        )),
        Some((sc, Some(v))) => {
            if expands(v) {
                findings.push(info("storageclass-expands", format!("StorageClass {sc} has allowVolumeExpansion: true")));
            } else {
                findings.push(no_expansion(input, sc, ""));
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

/// `kubectl --context=C --namespace=N WORDS...` (a placeholder context when none is named).
fn kubectl(input: &Input<'_>, mutating: bool, words: &[&str]) -> Command {
    let mut argv = vec![
        "kubectl".to_owned(),
        format!("--context={}", input.kube_context.unwrap_or("CONTEXT")),
        format!("--namespace={}", input.namespace),
    ];
    argv.extend(words.iter().map(|w| (*w).to_owned()));
    Command { argv, mutating }
}

/// `helm --kube-context=C --namespace=N WORDS...`.
fn helm(input: &Input<'_>, mutating: bool, words: &[&str]) -> Command {
    let mut argv = vec![
        "helm".to_owned(),
        format!("--kube-context={}", input.kube_context.unwrap_or("CONTEXT")),
        format!("--namespace={}", input.namespace),
    ];
    argv.extend(words.iter().map(|w| (*w).to_owned()));
    Command { argv, mutating }
}

/// The scratch folder of the script (saved StatefulSets, the preflight's values), relative to where it runs.
pub fn work_dir(release: &str) -> String {
    format!("pvc-resize-{release}")
}

/// The upgrade, and its dry run on a scratch copy of the values file already set to the new size.
/// Flags before `--`, so that a chart reference beginning with `-` stays a chart reference.
pub fn upgrade(input: &Input<'_>, values_file: &str, version: &str, dry_run: bool) -> Command {
    let chart = input.chart.unwrap_or("CHART");
    let mut words = vec!["upgrade".to_owned()];
    if dry_run {
        words.push("--dry-run=server".to_owned());
    }
    words.push(format!("--values={values_file}"));
    words.push(format!("--version={version}"));
    words.extend(["--".to_owned(), input.release.to_owned(), chart.to_owned()]);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    helm(input, !dry_run, &words)
}

/// The read-only checks of the preflight, in the script's order (`check_<id>` in src/script/resize.sh).
/// Kept whole: one list of the checks in the script's order, each entry a check.
fn preflight(
    input: &Input<'_>,
    targets: &[Target],
    values_file: &str,
    vpath: &str,
    version: &str,
) -> Vec<Check> {
    let work = work_dir(input.release);
    let size = &input.size.text;
    let chart = input.chart.unwrap_or("CHART");
    let check = |id: &'static str, title: String, commands: Vec<Command>| Check {
        id,
        title,
        commands,
    };
    let (sts, pvcs) = target_reads(input, targets);
    let mut checks = vec![
        check("tools", format!("kubectl, helm and pvc-resize are on PATH; {values_file} exists"), vec![]),
        check(
            "context",
            format!("the kube context {} reaches namespace {}", input.kube_context.unwrap_or("CONTEXT"), input.namespace),
            vec![kubectl(input, false, &["get", "namespace", input.namespace, "-o", "name"])],
        ),
        check(
            "release",
            format!("release {} exists in namespace {}, is deployed (or failed, from an earlier attempt), and runs {}", input.release, input.namespace, chart_label(input, version)),
            vec![helm(input, false, &["list", "--deployed", "--failed", "--pending", "--filter", &format!("^{}$", input.release.replace('.', "\\.")), "-o", "json"])],
        ),
        check(
            "chart",
            format!("the chart reference {chart} resolves at the pinned version {version}"),
            vec![helm(input, false, &["show", "chart", &format!("--version={version}"), "--", chart])],
        ),
        check(
            "values",
            format!("`helm upgrade -f {values_file}` replaces the release's user-supplied values with the file, so anything set another way (--set, a second -f) would be dropped: the release's values (helm get values) and {values_file}, both with {vpath} set to {size}, must read the same to Helm; any difference stops the script"),
            vec![helm(input, false, &["get", "values", input.release, "-o", "yaml"])],
        ),
        check(
            "upgrade",
            "a dry run of the exact upgrade command, on a copy of the values file already at the new size; its render (MANIFEST:) must hold every target claim template at the new size and every other claim as the release has it (pvc-resize verify-render)".to_owned(),
            vec![
                upgrade(input, &format!("{work}/values.preflight.yaml"), version, true),
                helm(input, false, &["get", "manifest", input.release]),
            ],
        ),
        check(
            "statefulsets",
            "each StatefulSet exists (or was saved by an earlier run that deleted it); no whenScaled: Delete with the fallback; an in-place claim template update is recognised and skips the orphan delete only when the live StatefulSet read back from the API server carries KEP-4650's volumeClaimUpdateStrategy.type (or the older draft's volumeClaimUpdatePolicy) InPlace: in no Kubernetes release yet, and a server without its gate drops the field".to_owned(),
            sts,
        ),
        check(
            "pvcs",
            "every PVC is Bound, its StorageClass has allowVolumeExpansion: true, and its request is a quantity the script can compare; every pod of the replicas that exists is Ready (waited for): the procedure restarts pods one at a time and re-creates the StatefulSet, which a pod already down would make a second outage".to_owned(),
            pvcs,
        ),
        check(
            "quota",
            format!("no ResourceQuota of namespace {} (requests.storage, <class>.storageclass.storage.k8s.io/requests.storage) and no LimitRange (PersistentVolumeClaim max.storage) refuses growing the PVCs to {size}: their used + the growth against the hard limit, in exact quantities (pvc-resize quota-check, the rule of plan --cluster)", input.namespace),
            vec![kubectl(input, false, &["get", "resourcequota,limitrange,pvc", "-o", "yaml"])],
        ),
    ];
    checks.extend(kruise::check(input, targets));
    if let Some(class) = input.attributes_class {
        checks.push(check(
            "attributes-class",
            format!("VolumeAttributesClass {class} exists (the API is storage.k8s.io/v1 from Kubernetes 1.34, v1beta1 behind the VolumeAttributesClass gate in 1.31-1.33): a PVC that names a missing class waits for it for ever"),
            vec![kubectl(input, false, &["get", "volumeattributesclass", class, "-o", "jsonpath={.driverName}"])],
        ));
    }
    checks
}

/// The preflight's reads of each target: its StatefulSet's retention and update fields, and its
/// PVCs, their pods' readiness and their StorageClass's expansion (checks `statefulsets`, `pvcs`).
fn target_reads(input: &Input<'_>, targets: &[Target]) -> (Vec<Command>, Vec<Command>) {
    let mut sts = Vec::new();
    let mut pvcs = Vec::new();
    for t in targets {
        if t.is_statefulset() {
            let resource = if t.kruise.is_some() {
                kruise::RESOURCE
            } else {
                "statefulset"
            };
            sts.push(kubectl(input, false, &[
            "get",
            resource,
            &t.statefulset,
            "-o",
            "jsonpath={.spec.persistentVolumeClaimRetentionPolicy}{.spec.volumeClaimUpdateStrategy}{.spec.volumeClaimUpdatePolicy}",
            ]));
        }
        pvcs.extend(pvc_reads(input, t));
    }
    (sts, pvcs)
}

/// The preflight's reads of one target's PVCs (check `pvcs`): each PVC's phase, class and request,
/// its pod's readiness, and its StorageClass's expansion.
fn pvc_reads(input: &Input<'_>, t: &Target) -> Vec<Command> {
    let mut pvcs = Vec::new();
    if let Some(selector) = &t.selector {
        let selector = format!("--selector={selector}");
        pvcs.push(kubectl(input, false, &[
            "get",
            "pvc",
            &selector,
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.storageClassName} {.spec.resources.requests.storage}{\"\\n\"}{end}",
        ]));
    }
    for p in &t.pvcs {
        pvcs.push(kubectl(input, false, &[
            "get",
            "pvc",
            &p.name,
            "-o",
            "jsonpath={.status.phase} {.spec.storageClassName} {.spec.resources.requests.storage}",
        ]));
    }
    for p in t
        .pvcs
        .iter()
        .filter(|p| t.is_statefulset() && t.ordinals().contains(p.ordinal))
    {
        pvcs.push(kubectl(
            input,
            false,
            &[
                "get",
                "pod",
                &p.pod,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ],
        ));
    }
    if let Some(sc) = &t.storage_class {
        pvcs.push(kubectl(
            input,
            false,
            &[
                "get",
                "storageclass",
                sc,
                "-o",
                "jsonpath={.allowVolumeExpansion}",
            ],
        ));
    }
    pvcs
}

fn chart_label(input: &Input<'_>, version: &str) -> String {
    format!("{}-{version}", input.chart_name.unwrap_or("CHART_NAME"))
}

fn step(
    id: &'static str,
    branch: &'static str,
    title: String,
    detail: &str,
    commands: Vec<Command>,
) -> Step {
    Step {
        id,
        branch,
        title,
        detail: detail.to_owned(),
        commands,
        checks: Vec::new(),
    }
}

/// What every step is built from.
struct Steps<'a, 'i> {
    input: &'a Input<'i>,
    targets: &'a [Target],
    values_file: &'a str,
    vpath: &'a str,
    vpaths: &'a [String],
    version: &'a str,
    work: String,
}

/// The procedure, in the script's order (`step_<id>` in src/script/resize.sh).
fn steps(
    input: &Input<'_>,
    targets: &[Target],
    values_paths: &[String],
    fallback: bool,
) -> Vec<Step> {
    let joined = values_paths.join(" ");
    let s = Steps {
        input,
        targets,
        values_file: input.values.map_or("VALUES_FILE", |(f, _)| f),
        vpath: if joined.is_empty() {
            "VALUES_PATH"
        } else {
            &joined
        },
        vpaths: values_paths,
        version: input.chart_version.unwrap_or("VERSION"),
        work: work_dir(input.release),
    };
    let mut out = vec![s.preflight(), s.values()];
    if s.statefulsets().next().is_none() {
        // Only PVCs the chart renders itself: the upgrade grows them; nothing to patch, save or delete.
        out.extend([s.replace(), s.verify()]);
        return out;
    }
    // The apps/v1 StatefulSets: PVCs grown first, then the orphan delete and the upgrade. The
    // Advanced StatefulSets (OpenKruise): the upgrade changes them in place, then their PVCs grow.
    let replaced = s.replaced().next().is_some();
    if fallback {
        out.push(s.scale(true));
    }
    if replaced {
        out.extend([s.patch(), s.wait()]);
    }
    if fallback {
        out.push(s.scale(false));
    }
    if replaced {
        out.push(s.save());
    }
    out.push(s.replace());
    if s.statefulsets().any(|t| t.kruise.is_some()) {
        out.push(kruise::pvcs_step(input, targets));
    }
    out.extend([s.rollout(), s.verify()]);
    out
}

impl Steps<'_, '_> {
    fn size(&self) -> &str {
        &self.input.size.text
    }

    /// The PVCs of the re-created StatefulSets (the script patches them before the orphan delete; a
    /// plain PVC is grown by the upgrade, an Advanced StatefulSet's after it).
    fn pvcs(&self) -> impl Iterator<Item = &Pvc> {
        self.replaced().flat_map(|t| t.pvcs.iter())
    }

    fn statefulsets(&self) -> impl Iterator<Item = &Target> {
        self.targets.iter().filter(|t| t.is_statefulset())
    }

    /// The apps/v1 StatefulSets: re-created by the orphan delete and the upgrade.
    fn replaced(&self) -> impl Iterator<Item = &Target> {
        self.statefulsets().filter(|t| t.kruise.is_none())
    }

    /// The PVCs of a custom resource's claim template, by its operator's label: name, request,
    /// capacity (the operator sets the request; the resizer the capacity).
    fn labelled(&self, t: &Target) -> Command {
        let selector = format!("--selector={}", t.selector.as_deref().unwrap_or(""));
        let jsonpath = "jsonpath={range .items[*]}{.metadata.name} {.spec.resources.requests.storage} {.status.capacity.storage}{\"\\n\"}{end}";
        kubectl(
            self.input,
            false,
            &["get", "pvc", &selector, "-o", jsonpath],
        )
    }

    fn capacity(&self, p: &Pvc) -> Command {
        let jsonpath = "jsonpath={.status.capacity.storage} {.status.conditions[*].type}";
        kubectl(self.input, false, &["get", "pvc", &p.name, "-o", jsonpath])
    }

    fn preflight(&self) -> Step {
        let mut checks = preflight(
            self.input,
            self.targets,
            self.values_file,
            self.vpath,
            self.version,
        );
        if self.statefulsets().next().is_none() {
            checks.retain(|c| c.id != "statefulsets");
        }
        Step {
            checks,
            ..step(
                "preflight",
                "main",
                "Preflight: prove everything the procedure needs, read-only".to_owned(),
                "Nothing changes until every check passes; any failure stops with a non-zero exit.",
                vec![],
            )
        }
    }

    fn values(&self) -> Step {
        // `pvc-resize values --FLAG VALUE --path P --write -- FILE`: the size, or the class.
        let write = |flag: &str, value: &str, p: &str| Command {
            argv: [
                "pvc-resize",
                "values",
                flag,
                value,
                "--path",
                p,
                "--write",
                "--",
                self.values_file,
            ]
            .map(str::to_owned)
            .to_vec(),
            mutating: true,
        };
        let mut commands: Vec<Command> = self
            .vpaths
            .iter()
            .map(|p| write("--size", self.size(), p))
            .collect();
        let class_paths = attributes::class_paths(self.targets);
        let mut title = format!(
            "Set {} to {} in {} (offline)",
            self.vpath,
            self.size(),
            self.values_file
        );
        if let Some(class) = self.input.attributes_class
            && !class_paths.is_empty()
        {
            title.push_str(&format!(", and {} to {class}", class_paths.join(" ")));
            commands.extend(
                class_paths
                    .iter()
                    .map(|p| write("--volume-attributes-class", class, p)),
            );
        }
        step(
            "values",
            "main",
            title,
            "The diff is below. pvc-resize writes the file atomically and changes nothing else; a second run finds it done.",
            commands,
        )
    }

    /// The fallback's scale to 0 (`down`) or back to the replicas.
    fn scale(&self, down: bool) -> Step {
        let commands = self
            .replaced()
            .map(|t| {
                let flag = format!("--replicas={}", if down { 0 } else { t.replicas });
                kubectl(
                    self.input,
                    true,
                    &["scale", "statefulset", &t.statefulset, &flag],
                )
            })
            .collect();
        if down {
            step(
                "fallback-scale-down",
                "fallback",
                "FALLBACK ONLY (--fallback-scale-to-zero): scale the StatefulSets to 0 so the disks detach".to_owned(),
                "For clouds that can't grow an attached disk (Azure Disk: \"disk resize is only supported on Unattached disk\"). The pods are down (the service refuses or drops requests) until the scale-up; waits until the pods are gone.",
                commands,
            )
        } else {
            step(
                "fallback-scale-up",
                "fallback",
                "FALLBACK ONLY: scale the StatefulSets back".to_owned(),
                "After every PVC reports the new capacity.",
                commands,
            )
        }
    }

    fn patch(&self) -> Step {
        let class = self.input.attributes_class;
        let payload = |p: &Pvc| {
            let mut spec = serde_json::Map::new();
            if p.patch {
                spec.insert(
                    "resources".into(),
                    serde_json::json!({"requests": {"storage": self.size()}}),
                );
            }
            if let (true, Some(c)) = (p.set_class, class) {
                spec.insert("volumeAttributesClassName".into(), c.into());
            }
            serde_json::json!({ "spec": spec }).to_string()
        };
        let mut title = format!("Grow each PVC to {}", self.size());
        let mut detail = "A PVC already requesting at least the size (compared in bytes) is skipped. On AWS EBS the script says first that a volume can be modified once every 6 hours.".to_owned();
        if let Some(c) = class {
            title.push_str(&format!(" and set its VolumeAttributesClass to {c}"));
            detail.push_str(&format!(" spec.volumeAttributesClassName is set to {c} in the same patch (a PVC that already names it is skipped): the driver modifies the volume (ModifyVolume), and a PVC that names a class can't go back to none."));
        }
        step(
            "patch-pvcs",
            "main",
            title,
            &detail,
            self.pvcs()
                .filter(|p| p.patch || (p.set_class && class.is_some()))
                .map(|p| {
                    kubectl(
                        self.input,
                        true,
                        &["patch", "pvc", &p.name, "--type=merge", "-p", &payload(p)],
                    )
                })
                .collect(),
        )
    }

    fn wait(&self) -> Step {
        let mut commands: Vec<Command> = self
            .pvcs()
            .filter(|p| p.state != "missing")
            .map(|p| self.capacity(p))
            .collect();
        let mut title = "Wait until every PVC reports the new capacity".to_owned();
        let mut detail = self.wait_detail();
        if let Some(c) = self.input.attributes_class {
            title = format!(
                "Wait until every PVC reports the new capacity and VolumeAttributesClass {c}"
            );
            detail.push_str(&format!(" The class is done when status.currentVolumeAttributesClassName is {c}; status.modifyVolumeStatus says Pending (the class or the driver's quota is missing), InProgress, or Infeasible (the driver refuses the parameters: that stops the wait, with the status)."));
            let jsonpath = "jsonpath={.status.currentVolumeAttributesClassName} {.status.modifyVolumeStatus.status}";
            commands.extend(
                self.pvcs()
                    .filter(|p| p.state != "missing" && p.set_class)
                    .map(|p| kubectl(self.input, false, &["get", "pvc", &p.name, "-o", jsonpath])),
            );
        }
        step("wait-pvcs", "main", title, &detail, commands)
    }

    fn wait_detail(&self) -> String {
        format!(
            "Poll until status.capacity.storage is at least {} ({} bytes), compared in bytes: clouds round sizes up, so `kubectl wait --for=jsonpath` on the exact string can hang. FileSystemResizePending means the disk has grown and the filesystem waits for the pod (handled in verify). A ControllerResizeError stops the script: an attached-disk refusal points to --fallback-scale-to-zero; an infeasible size can be retried, with RecoverVolumeExpansionFailure (GA in 1.34), with a size above the current capacity.",
            self.size(),
            group(self.input.size.bytes)
        )
    }

    fn save(&self) -> Step {
        step(
            "save-statefulsets",
            "main",
            format!(
                "Save each StatefulSet object to {}/ before it is deleted",
                self.work
            ),
            "Without resourceVersion, uid and status, so that `kubectl create -f` takes it back. Skipped for a StatefulSet whose claim template is already at the size, or that updates claim templates in place.",
            self.replaced()
                .map(|t| {
                    kubectl(
                        self.input,
                        false,
                        &["get", "statefulset", &t.statefulset, "-o", "yaml"],
                    )
                })
                .collect(),
        )
    }

    fn replace(&self) -> Step {
        let mut commands: Vec<Command> = self
            .replaced()
            .map(|t| {
                let words = [
                    "delete",
                    "statefulset",
                    &t.statefulset,
                    "--cascade=orphan",
                    "--ignore-not-found",
                    "--wait=true",
                ];
                kubectl(self.input, true, &words)
            })
            .collect();
        commands.push(upgrade(self.input, self.values_file, self.version, false));
        let kruise: Vec<&str> = self
            .statefulsets()
            .filter(|t| t.kruise.is_some())
            .map(|t| t.statefulset.as_str())
            .collect();
        let grows = self.upgrade_grows(&kruise);
        let (title, detail) = if commands.len() == 1 && !kruise.is_empty() {
            (
                "Upgrade the release: the Advanced StatefulSets' claim templates change in place"
                    .to_owned(),
                format!(
                    "Nothing is deleted.{grows} If the upgrade fails, fix the cause and run the script again: it resumes at the upgrade."
                ),
            )
        } else if commands.len() == 1 {
            (
                if self.targets.iter().any(Target::is_operator) {
                    "Upgrade the release: Helm grows the PVCs the chart renders, and the claim templates whose operator grows the PVCs".to_owned()
                } else {
                    "Upgrade the release: Helm grows the PVCs the chart renders".to_owned()
                },
                format!(
                    "No StatefulSet claim template of the render is a target, so the script deletes nothing.{grows} If the upgrade fails, fix the cause and run the script again: it resumes at the upgrade."
                ),
            )
        } else {
            (
                "Delete the StatefulSet objects only (pods and PVCs stay), then at once upgrade the release to re-create them".to_owned(),
                format!(
                    "volumeClaimTemplates are immutable (helm upgrade alone fails with `spec: Forbidden: updates to statefulset spec for fields other than ...`). The upgrade follows the delete directly; the re-created StatefulSet adopts the running pods.{grows} If the upgrade fails, the script prints how to put each StatefulSet back (`kubectl create -f {}/statefulset-NAME.yaml`, the pods are adopted again) and how to resume (run the script again).",
                    self.work
                ),
            )
        };
        step("replace-statefulsets", "main", title, &detail, commands)
    }

    /// What the upgrade grows besides the claim templates, as sentences of the replace step's
    /// detail: the PVCs the chart renders, the operators' claims, the Advanced StatefulSets'.
    fn upgrade_grows(&self, kruise: &[&str]) -> String {
        let plain: Vec<&str> = self
            .targets
            .iter()
            .filter_map(|t| t.pvc.as_deref())
            .collect();
        let operated = self.operated_detail();
        let grows = if plain.is_empty() {
            operated
        } else {
            format!(
                " The upgrade also grows the PVCs the chart renders itself ({}): Helm patches each changed object with a three-way merge of the release's manifest, the new render and the live object, which sets the PVC's spec.resources.requests.storage to {}; no orphan delete and no patch by hand are needed for them. After the upgrade each must request {}, or the script stops and names the values path.",
                plain.join(", "),
                self.size(),
                self.size()
            ) + &operated
        };
        if kruise.is_empty() {
            grows
        } else {
            format!(
                "{grows} The upgrade changes the claim templates of the Advanced StatefulSets ({}) in place: OpenKruise's webhook accepts it (no orphan delete); their PVCs grow in the next step.",
                kruise.join(", ")
            )
        }
    }

    /// What the upgrade does to the custom resources' claim templates (empty without any).
    fn operated_detail(&self) -> String {
        let operated: Vec<String> = self
            .targets
            .iter()
            .filter(|t| t.is_operator())
            .map(|t| format!("{} claim template {}", t.object(), t.claim))
            .collect();
        if operated.is_empty() {
            return String::new();
        }
        format!(
            " The upgrade sets {} to {}; its operator then sets each existing PVC's request to it when it reconciles the installation (clickhouse-operator: reconcilePVC, VolumeClaimTemplateApplyResourcesRequestsOnPVC), so the script deletes and patches nothing (the operator itself may re-create each host's StatefulSet: see operator-recreates-statefulsets). After the upgrade the release's values must hold the size, or the script stops and names the values path.",
            operated.join(", "),
            self.size()
        )
    }

    fn rollout(&self) -> Step {
        step(
            "rollout",
            "main",
            "Wait for the re-created StatefulSets to roll out".to_owned(),
            if self.statefulsets().any(|t| t.kruise.is_some()) {
                "kubectl rollout status: every pod of the re-created StatefulSet is Ready and current. An Advanced StatefulSet (which `rollout status` does not know): every replica Ready."
            } else {
                "kubectl rollout status: every pod of the re-created StatefulSet is Ready and current."
            },
            self.statefulsets()
                .map(|t| {
                    if t.kruise.is_some() {
                        let words = [
                            "get",
                            kruise::RESOURCE,
                            &t.statefulset,
                            "-o",
                            "jsonpath={.status.readyReplicas}",
                        ];
                        return kubectl(self.input, false, &words);
                    }
                    let sts = format!("statefulset/{}", t.statefulset);
                    kubectl(
                        self.input,
                        false,
                        &["rollout", "status", &sts, "--timeout=900s"],
                    )
                })
                .collect(),
        )
    }

    fn verify(&self) -> Step {
        let mut commands = Vec::new();
        for t in self.targets.iter().filter(|t| t.is_operator()) {
            commands.push(self.labelled(t));
        }
        for t in self.targets.iter().filter(|t| !t.is_statefulset()) {
            for p in &t.pvcs {
                commands.push(self.capacity(p));
                if p.pod.is_empty() {
                    continue;
                }
                let mut words = vec!["exec", &p.pod];
                if let Some(c) = &t.container {
                    words.extend(["-c", c]);
                }
                words.extend(["--", "df", "-Pk", t.mount_path.as_deref().unwrap_or("/")]);
                commands.push(kubectl(self.input, false, &words));
            }
        }
        for t in self.statefulsets() {
            for p in t
                .pvcs
                .iter()
                .filter(|p| t.ordinals().contains(p.ordinal))
                .rev()
            {
                commands.push(self.capacity(p));
                let mut words = vec!["exec", &p.pod];
                if let Some(c) = &t.container {
                    words.extend(["-c", c]);
                }
                words.extend(["--", "df", "-Pk", t.mount_path.as_deref().unwrap_or("/")]);
                commands.push(kubectl(self.input, false, &words));
            }
        }
        step(
            "verify",
            "main",
            "Verify by value: capacity in bytes, and the filesystem each pod sees".to_owned(),
            &format!(
                "Pod by pod, highest ordinal first: the PVC's capacity must be at least {} bytes; a PVC still FileSystemResizePending after a grace period gets its pod restarted (kubectl delete pod, only while the StatefulSet owns it, then wait for Ready), one pod at a time; then `df` in the pod must show at least 95% of {} (filesystems keep some space for metadata; df -h shows it as about {}).{} Anything else stops with the reason, never \"done\".",
                group(self.input.size.bytes),
                self.size(),
                df_reading(self.input.size.bytes),
                if self.targets.iter().any(Target::is_operator) {
                    " The PVCs of a custom resource's claim template are found by its operator's label: each must first request the size (set by the operator when it reconciles), then report it in status.capacity; one still FileSystemResizePending gets its pod restarted (the pod of the host's StatefulSet, which the operator owns), then `df` in that pod."
                } else if self.targets.iter().all(Target::is_statefulset) {
                    ""
                } else {
                    " A PVC the chart renders itself is read through the workload that mounts it (kubectl exec deployment/NAME); one still FileSystemResizePending stops the script with the pinned kubectl rollout restart (it restarts only a StatefulSet's pods)."
                }
            ),
            commands,
        )
    }
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
    let names: Vec<&str> = targets
        .iter()
        .filter(|t| t.is_statefulset())
        .map(|t| t.statefulset.as_str())
        .collect();
    let plain: Vec<&str> = targets.iter().filter_map(|t| t.pvc.as_deref()).collect();
    let mut notes = vec![
        "A grown PVC can't be shrunk back: the disk change is one-way. Everything else can be undone.".to_owned(),
    ];
    if targets.iter().any(|t| t.kruise.is_some()) {
        notes.push(format!(
            "An Advanced StatefulSet (OpenKruise) is never deleted: a failed upgrade leaves it as it was (or with the new template, which its webhook accepted); fix the cause and run the script again. `{}` puts its old, smaller template back in place; the grown PVCs keep their {}.",
            shown(&helm(input, true, &["rollback", input.release])),
            input.size.text,
        ));
    }
    if targets
        .iter()
        .any(|t| t.is_statefulset() && t.kruise.is_none())
    {
        notes.push(format!(
            "If helm upgrade fails after the orphan delete, the pods keep running without a controller. Put the StatefulSet back as it was with `{}` (the pods are adopted again), or fix the cause and run the script again: it resumes at the upgrade. `{}` also re-creates it, with the old, smaller template: the grown PVCs keep their {} (only new replicas would get the old size), and the next resize needs the orphan delete again.",
            shown(&kubectl(input, true, &["create", "-f", &format!("{}/statefulset-NAME.yaml", work_dir(input.release))])),
            shown(&helm(input, true, &["rollback", input.release])),
            input.size.text,
        ));
    }
    notes.push(format!(
            "If a resize stays in ControllerResizeError or NodeResizeError, `{}` shows the cloud's message; with RecoverVolumeExpansionFailure (GA in 1.34) a smaller retry is allowed while still above status.capacity.",
            shown(&kubectl(input, false, &["describe", "pvc"]))
        ));
    if !names.is_empty() {
        notes.push(format!("The StatefulSets involved: {}.", names.join(", ")));
    }
    if !plain.is_empty() {
        notes.push(format!(
            "The PVCs the chart renders itself ({}) are grown by the upgrade alone: `{}` puts the chart's values back but not their size (Helm would ask for the smaller size, which the API server refuses: the rollback fails on them until the chart renders at least {}).",
            plain.join(", "),
            shown(&helm(input, true, &["rollback", input.release])),
            input.size.text
        ));
    }
    notes
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
