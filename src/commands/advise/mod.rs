//! `advise`: from the kubelet's volume metrics and a cluster snapshot to the reviewed change,
//! before the disks fill. For every StatefulSet claim template (all ordinals together) and every
//! chart-rendered PVC: usage per ordinal (bytes and inodes), the fullest ordinal, days to full at
//! the observed growth, the size the policy proposes, drift between the values (or templates) and
//! the live PVCs, and the next step (the values diff and the `plan` command).
//!
//! Data in, data out: [`advise`] returns an [`Advice`]; `render` turns it into text and markdown,
//! serde into JSON, and its findings go through `output` like every command's.

pub mod metrics;
pub mod policy;
pub mod render;
pub mod sources;

use crate::commands::values::{self, ValuesPath};
use crate::finding::{Finding, Location, Severity};
use crate::k8s::quantity::Size;
use crate::k8s::snapshot;
use crate::shell::shell_quote;
use crate::yaml::Pos;
use metrics::{Key, Metrics};
use policy::{Policy, Proposal, Reading, Volume};
use serde::Serialize;
use sources::{Placed, Rendered, Volumes};
use std::collections::{BTreeSet, HashMap};

/// The `advise` JSON format version (`schema/advise.schema.json`).
pub const ADVISE_VERSION: u32 = 1;

/// What `advise` is given.
pub struct Input<'a> {
    pub metrics: &'a [metrics::Source<'a>],
    /// `(file name, text)` of `kubectl get pvc,sts,sc -A -o yaml`.
    pub cluster: (&'a str, &'a str),
    /// Every values file found under `--values` (path, text).
    pub values: &'a [(String, String)],
    /// Every render found under `--manifests` (path, text).
    pub manifests: &'a [(String, String)],
    pub policy: Policy,
    /// The policy as the user wrote it, for the output.
    pub settings: Settings,
}

/// The policy's flags as given.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub target_usage: String,
    pub min_step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    pub horizon: String,
}

/// The advice for the whole snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    pub settings: Settings,
    /// True when a group needs action within the horizon: the exit status is 1.
    pub needs_action: bool,
    pub groups: Vec<Group>,
    /// The cluster snapshot's file name (for the `plan` commands).
    #[serde(skip)]
    pub cluster_file: String,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// One claim template (all ordinals) or one lone chart-rendered PVC.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// `claim-template` or `pvc`.
    pub kind: &'static str,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statefulset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    pub ordinals: Vec<Ordinal>,
    /// The PVC with the highest usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fullest: Option<String>,
    /// The soonest any ordinal fills at its observed growth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_full: Option<f64>,
    /// The largest live PVC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_size: Option<String>,
    /// The sizes the release's files and the live StatefulSet say.
    pub sizes: Vec<SizeSource>,
    /// Sources smaller than the largest live PVC.
    pub drift: Vec<SizeSource>,
    /// The smallest size that keeps every ordinal at or below the target at the horizon.
    pub need_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_size: Option<String>,
    /// Why: `usage`, `inodes`, `drift`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub needs_action: bool,
    pub next: NextStep,
}

/// One PVC's usage.
#[derive(Debug, Clone, Serialize)]
pub struct Ordinal {
    pub pvc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordinal: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_size: Option<String>,
    /// False when no metrics name this PVC (not mounted, or the metrics don't cover its node).
    pub has_metrics: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// The latest readings of one PVC and its growth.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    pub capacity_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    /// `df`'s Use%: used / (used + available).
    pub usage_percent: f64,
    pub inodes: u64,
    pub inodes_used: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode_usage_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_per_day: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_full: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_inodes_full: Option<f64>,
    /// Milliseconds since the epoch of the latest sample.
    pub time_ms: i64,
    /// `FILE:LINE` of the latest used-bytes sample.
    pub at: String,
}

/// A size that a source says, and where.
#[derive(Debug, Clone, Serialize)]
pub struct SizeSource {
    /// `values`, `render`, `statefulset`.
    pub source: &'static str,
    pub size: String,
    /// `FILE:LINE:COL`.
    pub at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip)]
    pub location: Location,
}

/// What to do next.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NextStep {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_path: Option<String>,
    /// The values change as a unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_diff: Option<String>,
    /// The `pvc-resize plan` command for the release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_command: Option<String>,
    /// What stands in the way, or what else to do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn percent(bp: u64) -> f64 {
    bp as f64 / 100.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn line_at(file: &str, line: usize) -> Location {
    Location::new(file, Pos { line, col: 1 })
}

/// Reads everything and advises. Errors (exit 2) name their place.
pub fn advise(input: &Input<'_>) -> Result<Advice, String> {
    let (cluster_file, cluster_text) = input.cluster;
    let objects = snapshot::read(cluster_file, cluster_text)?;
    let m = metrics::read(input.metrics)?;
    let volumes = sources::groups(&objects);
    let mut findings = scope(&m, &objects, cluster_file)?;
    let renders = sources::renders(input.manifests)?;
    let index = sources::ValuesIndex::new(input.values);
    let mut groups = Vec::with_capacity(volumes.len());
    for v in &volumes {
        groups.push(group(input, &m, &renders, &index, v, &mut findings));
    }
    groups.sort_by(|a, b| {
        (
            !a.needs_action,
            &a.namespace,
            &a.statefulset,
            &a.claim,
            &a.fullest,
        )
            .cmp(&(
                !b.needs_action,
                &b.namespace,
                &b.statefulset,
                &b.claim,
                &b.fullest,
            ))
    });
    Ok(Advice {
        settings: input.settings.clone(),
        needs_action: groups.iter().any(|g| g.needs_action) || findings.iter().any(|f| f.blocking),
        groups,
        cluster_file: cluster_file.to_owned(),
        findings,
    })
}

/// Do the metrics and the snapshot describe the same cluster? One `cluster` label at most, and
/// at least one volume of the metrics must be a PVC of the snapshot; volumes of namespaces the
/// snapshot holds but PVCs it doesn't know are noted; other namespaces are left out.
fn scope(
    m: &Metrics,
    objects: &[snapshot::Object],
    cluster_file: &str,
) -> Result<Vec<Finding>, String> {
    if let [(a, pa), (b, pb), ..] = m.clusters.iter().collect::<Vec<_>>().as_slice() {
        return Err(format!(
            "{}: metrics from two clusters: `cluster=\"{b}\"` here, `cluster=\"{a}\"` at {}\n  hint: export one cluster's series (add cluster=\"NAME\" to the query), the one the snapshot was taken of",
            m.at(**pb),
            m.at(**pa)
        ));
    }
    let pvcs: BTreeSet<(&str, &str)> = objects
        .iter()
        .filter(|o| o.kind == "PersistentVolumeClaim")
        .map(|o| (o.namespace.as_str(), o.name.as_str()))
        .collect();
    let namespaces: BTreeSet<&str> = pvcs.iter().map(|(ns, _)| *ns).collect();
    let known = |k: &Key| pvcs.contains(&(k.namespace.as_str(), k.pvc.as_str()));
    if !m.series.is_empty() && !m.series.keys().any(known) {
        let (k, s) = m.series.iter().next().expect("not empty");
        let theirs: BTreeSet<&str> = m.series.keys().map(|k| k.namespace.as_str()).collect();
        return Err(format!(
            "{}: none of the {} volumes in the metrics is a PVC of {cluster_file} (this one is {}/{}): the metrics are from another cluster or namespace (metrics: {}; snapshot: {})\n  hint: take both from one cluster: `kubectl get --raw /api/v1/nodes/NODE/proxy/metrics` and `kubectl get pvc,sts,sc -A -o yaml` with the same context",
            s.first_place()
                .map_or_else(|| m.files[0].clone(), |p| m.at(p)),
            m.series.len(),
            k.namespace,
            k.pvc,
            list(theirs.iter().copied()),
            if namespaces.is_empty() {
                "no PVC".to_owned()
            } else {
                list(namespaces.iter().copied())
            },
        ));
    }
    let mut out = Vec::new();
    for (k, s) in &m.series {
        if known(k) || !namespaces.contains(k.namespace.as_str()) {
            continue;
        }
        let place = s.first_place().expect("a series has a sample");
        out.push(
            Finding::new(
                "metrics-unknown-pvc",
                Severity::Notice,
                format!(
                    "the metrics name PVC {}/{}, which the snapshot does not hold: deleted since, or metrics of another cluster",
                    k.namespace, k.pvc
                ),
            )
            .at(line_at(&m.files[place.file as usize], place.line as usize))
            .hint("take the metrics and the snapshot at the same time, from the same cluster"),
        );
    }
    Ok(out)
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = names.collect();
    if v.len() > 5 {
        format!("{} and {} more", v[..5].join(", "), v.len() - 5)
    } else {
        v.join(", ")
    }
}

/// The name of a group in messages: `posthog/posthog-posthog-kafka (claim data)`.
fn title(v: &Volumes) -> String {
    match (&v.statefulset, &v.claim) {
        (Some(s), Some(c)) => format!("{}/{s} (claim {c})", v.namespace),
        _ => format!("{}/{} (PVC)", v.namespace, v.pvcs[0].name),
    }
}

/// The readings of each PVC of a group; findings for PVCs without usable metrics and resets.
fn readings(
    m: &Metrics,
    v: &Volumes,
    cluster_file: &str,
    findings: &mut Vec<Finding>,
) -> Vec<Option<Reading>> {
    let mut out = Vec::with_capacity(v.pvcs.len());
    for p in &v.pvcs {
        let key = Key {
            namespace: v.namespace.clone(),
            pvc: p.name.clone(),
        };
        let Some(series) = m.series.get(&key) else {
            findings.push(
                Finding::new(
                    "pvc-no-metrics",
                    Severity::Warning,
                    format!("no metrics name PVC {}/{}: it is not mounted (no pod uses it), or the metrics don't cover the node it is on", v.namespace, p.name),
                )
                .at(line_at(cluster_file, p.line))
                .hint("give the metrics of every node (`kubectl get --raw /api/v1/nodes/NODE/proxy/metrics` for each), or start the pod that mounts it; its usage is unknown"),
            );
            out.push(None);
            continue;
        };
        let r = policy::reading(series);
        let at = |p: metrics::Place| line_at(&m.files[p.file as usize], p.line as usize);
        if let (Some(live), Some(place)) = (p.bytes, r.place)
            && r.capacity > live
        {
            findings.push(
                    Finding::new(
                        "metrics-not-this-pvc",
                        Severity::Error,
                        format!(
                            "the metrics of {}/{} say a filesystem of {} bytes, larger than the PVC ({}, {} bytes): they are of another volume (another cluster?)",
                            v.namespace, p.name, r.capacity, p.size.as_deref().unwrap_or("?"), live
                        ),
                    )
                    .at(at(place))
                    .related(line_at(cluster_file, p.line).labelled("the PVC"))
                    .hint("take the metrics and the snapshot from the same cluster; these readings are left out"),
                );
            out.push(None);
            continue;
        }
        if let Some(place) = r.reset {
            findings.push(
                Finding::new(
                    "metrics-reset",
                    Severity::Warning,
                    format!(
                        "the usage of {}/{} starts over here (it fell by more than half, or the filesystem shrank): a wiped or re-created volume; the growth is measured from this sample on",
                        v.namespace, p.name
                    ),
                )
                .at(at(place))
                .hint("if the volume was not re-created, check the export: a counter reset or series from two volumes under one name"),
            );
        }
        out.push(Some(r));
    }
    out
}

fn usage(m: &Metrics, r: &Reading) -> Usage {
    Usage {
        capacity_bytes: r.capacity,
        used_bytes: r.used,
        available_bytes: r.available,
        usage_percent: percent(r.usage_bp().unwrap_or(0)),
        inodes: r.inodes,
        inodes_used: r.inodes_used,
        inode_usage_percent: r.inode_usage_bp().map(percent),
        bytes_per_day: r.bytes_per_day.map(|x| x.round()),
        days_to_full: r.days_to_full().map(round2),
        days_to_inodes_full: r.days_to_inodes_full().map(round2),
        time_ms: r.t_ms,
        at: r.place.map_or_else(String::new, |p| m.at(p)),
    }
}

/// A release's values file, the values path of the group and the size at it.
type ValuesSide<'a> = (&'a (String, String), Option<String>, Option<Placed>);

/// The sizes of one release's sources, each with its place.
struct Sides<'a> {
    values: Option<ValuesSide<'a>>,
    render: Option<&'a Rendered>,
    render_size: Option<Placed>,
}

fn sides<'a>(
    index: &sources::ValuesIndex<'a>,
    renders: &'a HashMap<(String, String), Rendered>,
    v: &Volumes,
) -> Sides<'a> {
    let render = match (&v.statefulset, &v.claim) {
        (Some(s), Some(_)) => renders.get(&("StatefulSet".to_owned(), s.clone())),
        _ => renders.get(&("PersistentVolumeClaim".to_owned(), v.pvcs[0].name.clone())),
    };
    let render_size = render.and_then(|r| r.sizes.get(v.claim.as_deref().unwrap_or("")).cloned());
    let values = v.release.as_deref().and_then(|rel| {
        let file = index.find(rel, &v.namespace)?;
        let root = sources::values_root(&file.1);
        let path = sources::values_path(v, render, root.as_ref());
        let size = match (&root, &path) {
            (Some(root), Some(p)) => sources::size_at(&file.0, root, p),
            _ => None,
        };
        Some((file, path, size))
    });
    Sides {
        values,
        render,
        render_size,
    }
}

fn source(source: &'static str, p: &Placed, path: Option<&str>) -> SizeSource {
    SizeSource {
        source,
        size: p.text.clone(),
        at: format!("{}:{}:{}", p.file, p.pos.line, p.pos.col),
        path: path.map(str::to_owned),
        location: Location::new(&p.file, p.pos),
    }
}

/// Every size a source says for the group.
fn sizes(v: &Volumes, s: &Sides<'_>, cluster_file: &str) -> Vec<SizeSource> {
    let mut out = Vec::new();
    if let Some((_, path, Some(p))) = &s.values {
        out.push(source("values", p, path.as_deref()));
    }
    if let Some(p) = &s.render_size {
        out.push(source("render", p, None));
    }
    if let Some((t, line)) = &v.template_size {
        out.push(SizeSource {
            source: "statefulset",
            size: t.clone(),
            at: format!("{cluster_file}:{line}:1"),
            path: None,
            location: line_at(cluster_file, *line),
        });
    }
    out
}

/// The usage of each PVC of a group, the fullest and the soonest full.
fn ordinals(
    m: &Metrics,
    v: &Volumes,
    readings: &[Option<Reading>],
) -> (Vec<Ordinal>, Option<String>, Option<f64>) {
    let pairs = || v.pvcs.iter().zip(readings);
    let ordinals = pairs()
        .map(|(p, r)| Ordinal {
            pvc: p.name.clone(),
            ordinal: p.ordinal,
            live_size: p.size.clone(),
            has_metrics: r.is_some(),
            usage: r.as_ref().map(|r| usage(m, r)),
        })
        .collect();
    let fullest = pairs()
        .filter_map(|(p, r)| Some((r.as_ref()?.usage_bp()?, p)))
        .max_by_key(|(bp, _)| *bp)
        .map(|(_, p)| p.name.clone());
    let days_to_full = readings
        .iter()
        .flatten()
        .filter_map(Reading::days_to_full)
        .min_by(f64::total_cmp)
        .map(round2);
    (ordinals, fullest, days_to_full)
}

/// One group of volumes (a claim template's PVCs, or a PVC) advised: its sizes, the size to
/// propose and why, the next step; its findings go to `findings`.
fn group<'a>(
    input: &Input<'_>,
    m: &Metrics,
    renders: &'a HashMap<(String, String), Rendered>,
    index: &sources::ValuesIndex<'a>,
    v: &Volumes,
    findings: &mut Vec<Finding>,
) -> Group {
    let cluster_file = input.cluster.0;
    let readings = readings(m, v, cluster_file, findings);
    let live_max = v.pvcs.iter().filter_map(|p| p.bytes).max().unwrap_or(0);
    let proposal = propose(input, v, &readings, live_max);
    let s = sides(index, renders, v);
    let sizes = sizes(v, &s, cluster_file);
    let drift = drift(&sizes, live_max);
    let (ordinals, fullest, days_to_full) = ordinals(m, v, &readings);
    let (proposed, reason) = decide(&proposal, &drift, live_max);
    let live_size = v
        .pvcs
        .iter()
        .filter(|p| p.bytes == Some(live_max))
        .find_map(|p| p.size.clone());
    let mut g = Group {
        kind: if v.statefulset.is_some() {
            "claim-template"
        } else {
            "pvc"
        },
        namespace: v.namespace.clone(),
        release: v.release.clone(),
        statefulset: v.statefulset.clone(),
        claim: v.claim.clone(),
        ordinals,
        fullest,
        days_to_full,
        live_size,
        sizes,
        drift,
        need_bytes: proposal.need_bytes,
        proposed_size: proposed.as_ref().map(|z| z.text.clone()),
        reason,
        needs_action: proposed.is_some(),
        next: NextStep::default(),
    };
    let ctx = Ctx {
        input,
        m,
        v,
        readings: &readings,
    };
    g.next = next_step(input, v, &s, proposed.as_ref());
    ctx.inode_findings(findings);
    ctx.usage_finding(&g, &proposal, findings);
    ctx.max_finding(&proposal, findings);
    ctx.drift_finding(&g, findings);
    g
}

/// The policy's proposal for a group, from the volumes that have both a reading and a live size.
fn propose(
    input: &Input<'_>,
    v: &Volumes,
    readings: &[Option<Reading>],
    live_max: u64,
) -> Proposal {
    let volumes: Vec<Volume<'_>> = v
        .pvcs
        .iter()
        .zip(readings)
        .filter_map(|(p, r)| {
            Some(Volume {
                reading: r.as_ref()?,
                live_bytes: p.bytes?,
            })
        })
        .collect();
    policy::propose(&input.policy, &volumes, live_max)
}

/// The size sources smaller than the largest live PVC (drift).
fn drift(sizes: &[SizeSource], live_max: u64) -> Vec<SizeSource> {
    sizes
        .iter()
        .filter(|z| policy::bytes_of(&z.size).is_some_and(|b| b < live_max))
        .cloned()
        .collect()
}

/// The size to propose and why: the policy's when the usage needs it, else the largest live PVC
/// in whole GiB when a source is smaller than it (drift), else none.
fn decide(
    p: &Proposal,
    drift: &[SizeSource],
    live_max: u64,
) -> (Option<Size>, Option<&'static str>) {
    if let Some(size) = &p.size {
        let why = if p.for_inodes { "inodes" } else { "usage" };
        return (Some(size.clone()), Some(why));
    }
    if !drift.is_empty() && live_max > 0 {
        return (Some(policy::whole_gib(live_max)), Some("drift"));
    }
    (None, None)
}

/// What the findings about one group are made from.
struct Ctx<'a> {
    input: &'a Input<'a>,
    m: &'a Metrics,
    v: &'a Volumes,
    readings: &'a [Option<Reading>],
}

impl Ctx<'_> {
    /// A sample's place, else the group's place in the snapshot.
    fn at(&self, p: Option<metrics::Place>) -> Location {
        p.map(|p| line_at(&self.m.files[p.file as usize], p.line as usize))
            .unwrap_or_else(|| line_at(self.input.cluster.0, self.v.line))
    }

    /// True when `used` of `whole` is above the target.
    fn over(&self, used: u64, whole: u64) -> bool {
        whole > 0
            && u128::from(used) * 10_000
                > u128::from(whole) * u128::from(self.input.policy.target_bp)
    }

    /// Inodes past the target at the horizon while the bytes are not.
    fn inode_findings(&self, findings: &mut Vec<Finding>) {
        let h = self.input.policy.horizon_ms;
        for (pvc, r) in self.v.pvcs.iter().zip(self.readings) {
            let Some(r) = r else { continue };
            if !self.over(r.inodes_used_at(h), r.inodes)
                || self.over(r.used_at(h), r.used + r.available)
            {
                continue;
            }
            let full = r.days_to_inodes_full().map_or_else(String::new, |d| {
                format!(", full in {}", policy::days_text(d))
            });
            findings.push(
                Finding::new(
                    "inodes-exhausted",
                    Severity::Error,
                    format!(
                        "{}: {} runs out of inodes ({:.1}% used{full}) while {:.1}% of its bytes are free: growing the disk may not help on every filesystem",
                        title(self.v),
                        pvc.name,
                        percent(r.inode_usage_bp().unwrap_or(0)),
                        100.0 - percent(r.usage_bp().unwrap_or(0)),
                    ),
                )
                .at(self.at(r.inode_place.or(r.place)))
                .hint("ext4 adds inodes only in proportion to the size it grows by (its bytes-per-inode ratio is fixed at mkfs); XFS within imaxpct. Fewer, larger files, or a filesystem made with more inodes (mkfs.ext4's bytes-per-inode option, -i), fix it for good"),
            );
        }
    }

    /// The fullest ordinal passes the target within the horizon (or is above it).
    fn usage_finding(&self, g: &Group, p: &Proposal, findings: &mut Vec<Finding>) {
        let (Some(size), Some("usage")) = (&g.proposed_size, g.reason) else {
            return;
        };
        let fullest = self
            .v
            .pvcs
            .iter()
            .zip(self.readings)
            .find(|(p, _)| Some(&p.name) == g.fullest.as_ref());
        let Some((pvc, Some(r))) = fullest else {
            return;
        };
        let settings = &self.input.settings;
        let growth = match (r.bytes_per_day, r.days_to_full()) {
            (Some(rate), Some(d)) if rate > 0.0 => format!(
                ", growing {}/day, full in {}",
                render::bytes(rate as u64),
                policy::days_text(d)
            ),
            (Some(_), _) => ", not growing".to_owned(),
            (None, _) => ", no growth rate (one sample in time)".to_owned(),
        };
        let when = if self.over(r.used, r.used + r.available) {
            format!("is above the {} target now", settings.target_usage)
        } else {
            format!(
                "passes the {} target within {}",
                settings.target_usage, settings.horizon
            )
        };
        let then = if let Some(plan) = &g.next.plan_command {
            format!("apply the values change, then `{plan}`")
        } else if self.v.statefulset.is_some() {
            format!(
                "apply the values change, then `pvc-resize plan --release RELEASE --namespace NAMESPACE --size {size} --manifests FILE`"
            )
        } else {
            format!(
                "set the PVC's size in the values to {size} and upgrade the release (a PVC grows in place when its StorageClass allows expansion)"
            )
        };
        findings.push(
            Finding::new(
                "usage-above-target",
                Severity::Error,
                format!(
                    "{}: {} {when} ({:.1}% used{growth}); grow the claim to {size} ({} bytes needed)",
                    title(self.v),
                    pvc.name,
                    percent(r.usage_bp().unwrap_or(0)),
                    p.need_bytes
                ),
            )
            .at(self.at(r.place))
            .hint(then),
        );
    }

    fn max_finding(&self, p: &Proposal, findings: &mut Vec<Finding>) {
        if !p.capped {
            return;
        }
        let settings = &self.input.settings;
        findings.push(
            Finding::new(
                "size-at-max",
                Severity::Error,
                format!(
                    "{}: {} bytes are needed to stay at {} within {}, more than --max {}",
                    title(self.v),
                    p.need_bytes,
                    settings.target_usage,
                    settings.horizon,
                    settings.max.as_deref().unwrap_or("?")
                ),
            )
            .at(line_at(self.input.cluster.0, self.v.line))
            .hint("raise --max, free space (retention), or spread the data over more replicas"),
        );
    }

    fn drift_finding(&self, g: &Group, findings: &mut Vec<Finding>) {
        let Some(d) = g.drift.first() else {
            return;
        };
        let live = g.live_size.as_deref().unwrap_or("?");
        let all: Vec<String> = g
            .drift
            .iter()
            .map(|d| format!("{} {} ({})", d.source, d.size, d.at))
            .collect();
        let mut f = Finding::new(
            "values-drift",
            Severity::Warning,
            format!(
                "{}: the largest live PVC is {live}, larger than {}: the next re-creation of the StatefulSet or a new replica gets the smaller size",
                title(self.v),
                all.join(", ")
            ),
        )
        .at(d.location.clone())
        .hint(format!(
            "raise the values to {} (the diff below), so that git says what the cluster has",
            g.proposed_size.as_deref().unwrap_or(live)
        ));
        if let Some(path) = &d.path {
            f = f.path(path.clone());
        }
        f.blocking = true;
        findings.push(f);
    }
}

/// The values diff and the `plan` command for a proposed size.
fn next_step(input: &Input<'_>, v: &Volumes, s: &Sides<'_>, size: Option<&Size>) -> NextStep {
    let mut next = NextStep::default();
    let Some(size) = size else {
        return next;
    };
    let Some(release) = &v.release else {
        next.notes.push("no Helm release owns it (no meta.helm.sh/release-name): grow the PVC by hand with `kubectl patch pvc`".into());
        return next;
    };
    match &s.values {
        None => next.notes.push(format!(
            "no values file of release {release} was given (--values FILE_OR_DIR: a file named after the release, or in a folder named after it)"
        )),
        Some((file, None, _)) => next.notes.push(format!(
            "{}: the values path of this claim is not known: give the render (--manifests) so that it can be read from the chart",
            file.0
        )),
        Some((file, Some(path), _)) => {
            next.values_file = Some(file.0.clone());
            next.values_path = Some(path.clone());
            match ValuesPath::parse(path).map_err(|e| e.to_string()).and_then(|p| {
                values::set_size(&file.1, &p, size).map_err(|e| e.to_string())
            }) {
                Ok(edit) => {
                    let diff = crate::output::diff::unified_diff(&file.1, &edit.output, &file.0);
                    next.values_diff = (!diff.is_empty()).then_some(diff);
                }
                Err(e) => next.notes.push(format!("{}: {e}", file.0)),
            }
        }
    }
    match (&v.statefulset, &v.claim) {
        (Some(sts), Some(claim)) => next.plan_command = Some(plan_command(input, v, s, release, sts, claim, size)),
        _ => next.notes.push(
            "a PVC of the chart itself (no StatefulSet): after the values change, `helm upgrade` grows it in place when its StorageClass allows expansion".into(),
        ),
    }
    next
}

fn plan_command(
    input: &Input<'_>,
    v: &Volumes,
    s: &Sides<'_>,
    release: &str,
    sts: &str,
    claim: &str,
    size: &Size,
) -> String {
    let mut words: Vec<String> = vec![
        "pvc-resize".into(),
        "plan".into(),
        "--release".into(),
        release.into(),
        "--namespace".into(),
        v.namespace.clone(),
        "--size".into(),
        size.text.clone(),
        "--manifests".into(),
        s.render.map_or_else(|| "-".to_owned(), |r| r.file.clone()),
    ];
    if let Some((file, path, _)) = &s.values {
        words.extend(["--values".into(), file.0.clone()]);
        if let Some(p) = path {
            words.extend(["--path".into(), p.clone()]);
        }
    }
    words.extend([
        "--statefulset".into(),
        sts.into(),
        "--claim".into(),
        claim.into(),
        "--cluster".into(),
        input.cluster.0.into(),
    ]);
    let line = words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    if s.render.is_some() {
        line
    } else {
        format!(
            "helm get manifest {} -n {} | {line}",
            shell_quote(release),
            shell_quote(&v.namespace)
        )
    }
}
