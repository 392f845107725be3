//! Typed views of the Kubernetes objects the tool reads, over the span tree.

use crate::yaml::{Kind, Node, Pos};

/// The annotation Helm 4 puts on every document it hands to a post-renderer (and removes after).
pub const HELM4_FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// A StatefulSet as rendered by Helm, read by the release model (`k8s::release`).
#[derive(Debug)]
pub struct StatefulSet<'a> {
    pub name: String,
    pub namespace: Option<String>,
    pub pos: Pos,
    /// `helm.sh/chart`, e.g. `kafka-14.9.3`.
    pub chart_label: Option<String>,
    /// The template path: `# Source:` (Helm 3) or the Helm 4 annotation.
    pub source: Option<String>,
    pub claims: Vec<ClaimTemplate<'a>>,
    /// `spec.replicas` (Kubernetes' default is 1).
    pub replicas: i64,
    /// `spec.ordinals.start` (default 0): the first pod's ordinal.
    pub ordinal_start: i64,
    /// `spec.persistentVolumeClaimRetentionPolicy.whenScaled` / `.whenDeleted` (default Retain).
    pub when_scaled: Option<String>,
    pub when_deleted: Option<String>,
    /// `(container, volume name, mountPath)` of every volume mount of the pod template.
    pub mounts: Vec<(String, String, String)>,
    /// `(container, env name, value)` of every plain env value of the pod template.
    pub env: Vec<(String, String, String)>,
}

/// One entry of `spec.volumeClaimTemplates`.
#[derive(Debug)]
pub struct ClaimTemplate<'a> {
    pub name: String,
    pub pos: Pos,
    /// The whole template.
    pub node: &'a Node,
    /// The `spec.resources.requests.storage` scalar Kubernetes reads.
    pub storage: Option<&'a Node>,
    /// The value at `spec.resources.requests.storage` when it is no scalar (an alias, a mapping,
    /// a list).
    pub storage_other: Option<&'a Node>,
    /// The merge key (`<<`) that the storage Kubernetes reads comes through, at any level of
    /// the path: then the text written at `storage` (if any) is not what Kubernetes reads.
    pub storage_merge: Option<&'a Node>,
    /// `spec.storageClassName`, when set.
    pub storage_class: Option<String>,
    /// `spec.accessModes`.
    pub access_modes: Vec<String>,
    /// The template's `spec` mapping, where a missing `volumeAttributesClassName` is written.
    pub spec: Option<&'a Node>,
    /// The `spec.volumeAttributesClassName` node Kubernetes reads (any kind), and the merge key
    /// it comes through, if any.
    pub attributes_class: Option<&'a Node>,
    pub attributes_class_merge: Option<&'a Node>,
}

/// The string value at a path, when it is a scalar (explicit keys only: for data that has no
/// merge keys, such as a values file's own tree).
pub fn str_at(root: &Node, path: &[&str]) -> Option<String> {
    root.get_path(path)
        .and_then(Node::as_str)
        .map(str::to_owned)
}

/// The string at a path of `node` as Kubernetes reads it (merge keys applied, aliases followed;
/// `root` is the document).
fn read_str(root: &Node, node: &Node, path: &[&str]) -> Option<String> {
    let (last, path) = path.split_last()?;
    let parent = path
        .iter()
        .try_fold(node, |n, k| crate::yaml::data::lookup(root, n, k).value())?;
    crate::k8s::release::string(root, parent, last)
}

/// The node at a path as Kubernetes reads it, and the first merge key it comes through.
fn read_node<'a>(
    root: &'a Node,
    node: &'a Node,
    path: &[&str],
) -> (Option<&'a Node>, Option<&'a Node>) {
    let mut merge = None;
    let mut at = node;
    for (i, k) in path.iter().enumerate() {
        if i > 0 && matches!(at.kind, Kind::Alias(_)) {
            // An alias on the way: what it refers to is not this template's own text.
            return (None, merge);
        }
        let found = crate::yaml::data::lookup(root, at, k);
        merge = merge.or(found.merge());
        match found.value() {
            Some(v) => at = v,
            None => return (None, merge),
        }
    }
    (Some(at), merge)
}

fn claim_template<'a>(root: &'a Node, t: &'a Node) -> ClaimTemplate<'a> {
    let (storage, storage_merge) =
        read_node(root, t, &["spec", "resources", "requests", "storage"]);
    let access_modes = read_node(root, t, &["spec", "accessModes"])
        .0
        .map(|m| {
            m.items()
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let (attributes_class, attributes_class_merge) =
        read_node(root, t, &["spec", "volumeAttributesClassName"]);
    ClaimTemplate {
        spec: read_node(root, t, &["spec"]).0,
        attributes_class,
        attributes_class_merge,
        name: read_str(root, t, &["metadata", "name"]).unwrap_or_default(),
        pos: t.pos,
        node: t,
        storage: storage.filter(|n| matches!(n.kind, Kind::Scalar { .. })),
        storage_other: storage.filter(|n| !matches!(n.kind, Kind::Scalar { .. })),
        storage_merge,
        storage_class: read_str(root, t, &["spec", "storageClassName"]),
        access_modes,
    }
}

/// Reads a StatefulSet object (`node`, in the document `root`) named `name`; the release model
/// calls it for every object of kind StatefulSet.
pub fn statefulset<'a>(
    root: &'a Node,
    node: &'a Node,
    name: &str,
    source: Option<String>,
) -> StatefulSet<'a> {
    let at = |path: &[&str]| read_str(root, node, path);
    let claims = read_node(root, node, &["spec", "volumeClaimTemplates"])
        .0
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|t| claim_template(root, t))
        .collect();
    let (mounts, env) = pod_mounts(root, node);
    let number = |path: &[&str], default| at(path).and_then(|r| r.parse().ok()).unwrap_or(default);
    StatefulSet {
        name: name.to_owned(),
        namespace: at(&["metadata", "namespace"]),
        pos: node.pos,
        chart_label: at(&["metadata", "labels", "helm.sh/chart"]),
        source,
        claims,
        replicas: number(&["spec", "replicas"], 1),
        ordinal_start: number(&["spec", "ordinals", "start"], 0),
        when_scaled: at(&["spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"]),
        when_deleted: at(&[
            "spec",
            "persistentVolumeClaimRetentionPolicy",
            "whenDeleted",
        ]),
        mounts,
        env,
    }
}

/// `(container, name, value)`: a mount (volume, mountPath) or an env entry of a container.
pub type Triple = (String, String, String);

/// A PersistentVolumeClaim object read as a claim (its name, storage, class, access modes).
pub fn pvc<'a>(root: &'a Node, node: &'a Node) -> ClaimTemplate<'a> {
    claim_template(root, node)
}

/// The volumes of a workload's pod template (`spec.template.spec.volumes`: Deployment,
/// StatefulSet, DaemonSet, ReplicaSet) that mount a PVC: `(volume name, claimName)`.
pub fn claim_volumes(root: &Node, node: &Node) -> Vec<(String, String)> {
    read_node(root, node, &["spec", "template", "spec", "volumes"])
        .0
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            let name = read_str(root, v, &["name"])?;
            let claim = read_str(root, v, &["persistentVolumeClaim", "claimName"])?;
            Some((name, claim))
        })
        .collect()
}

/// The mounts `(container, volume, mountPath)` and the plain env values `(container, name,
/// value)` of a workload's pod template, init containers first.
pub fn pod_mounts(root: &Node, node: &Node) -> (Vec<Triple>, Vec<Triple>) {
    let mut mounts = Vec::new();
    let mut env = Vec::new();
    for list in ["initContainers", "containers"] {
        let containers = read_node(root, node, &["spec", "template", "spec", list])
            .0
            .map(Node::items)
            .unwrap_or_default();
        for c in containers {
            let cname = read_str(root, c, &["name"]).unwrap_or_default();
            let entries = |k| {
                read_node(root, c, &[k])
                    .0
                    .map(Node::items)
                    .unwrap_or_default()
            };
            for m in entries("volumeMounts") {
                let (n, p) = (
                    read_str(root, m, &["name"]),
                    read_str(root, m, &["mountPath"]),
                );
                if let (Some(n), Some(p)) = (n, p) {
                    mounts.push((cname.clone(), n, p));
                }
            }
            for e in entries("env") {
                if let (Some(n), Some(v)) =
                    (read_str(root, e, &["name"]), read_str(root, e, &["value"]))
                {
                    env.push((cname.clone(), n, v));
                }
            }
        }
    }
    (mounts, env)
}

/// The ordinals of a StatefulSet's pods: `start..start + replicas`, from `spec.ordinals.start`
/// (default 0). With [`pod_name`] and [`pvc_name`], the one place these names are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordinals {
    pub start: i64,
    pub replicas: i64,
}

impl Ordinals {
    pub fn range(self) -> std::ops::Range<i64> {
        self.start..self.start + self.replicas.max(0)
    }

    pub fn contains(self, ordinal: i64) -> bool {
        self.range().contains(&ordinal)
    }
}

/// The pod of ordinal `i`: `<sts>-<i>`.
pub fn pod_name(sts: &str, i: i64) -> String {
    format!("{sts}-{i}")
}

/// The PVC a StatefulSet makes for ordinal `i` from a claim template: `<claim>-<sts>-<i>`.
pub fn pvc_name(claim: &str, sts: &str, i: i64) -> String {
    format!("{claim}-{sts}-{i}")
}

/// The ordinal of a PVC named by [`pvc_name`] for this claim and StatefulSet, if it is one.
pub fn pvc_ordinal(name: &str, claim: &str, sts: &str) -> Option<i64> {
    name.strip_prefix(&format!("{claim}-{sts}-"))
        .filter(|o| o.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|o| o.parse().ok())
}

impl StatefulSet<'_> {
    /// True when the StatefulSet comes from a chart named `chart` (its `helm.sh/chart` label is
    /// `<chart>-<version>`, or its template path is under `<chart>/templates/`).
    pub fn from_chart(&self, chart: &str) -> bool {
        let label = self.chart_label.as_deref().is_some_and(|l| {
            l.strip_prefix(chart)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        });
        let templates = format!("{chart}/templates/");
        let source = self
            .source
            .as_deref()
            .is_some_and(|s| s.starts_with(&templates) || s.contains(&format!("/{templates}")));
        label || source
    }
}

/// Matches a name against a glob with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// The longest run of a glob without wildcards: a document that lacks it can't match.
pub fn glob_literal(pattern: &str) -> &str {
    pattern
        .split(['*', '?'])
        .max_by_key(|s| s.len())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("kafka", "kafka"));
        assert!(!glob_match("kafka", "kafka-broker"));
        assert!(glob_match("kafka-*", "kafka-broker"));
        assert!(glob_match("*-posthog-kafka", "posthog-posthog-kafka"));
        assert!(glob_match("k?fka", "kafka"));
        assert_eq!(glob_literal("*-posthog-kafka*"), "-posthog-kafka");
    }
}
