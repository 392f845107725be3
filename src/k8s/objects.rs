//! Typed views of the Kubernetes objects the tool reads, over the span tree.

use crate::yaml::{Kind, Node, Pos};

/// The annotation Helm 4 puts on every document it hands to a post-renderer (and removes after).
pub const HELM4_FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// A StatefulSet as rendered by Helm.
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
    /// The `spec.resources.requests.storage` scalar.
    pub storage: Option<&'a Node>,
    /// `spec.storageClassName`, when set.
    pub storage_class: Option<String>,
}

/// The string value at a path, when it is a scalar.
pub fn str_at(root: &Node, path: &[&str]) -> Option<String> {
    root.get_path(path)
        .and_then(Node::as_str)
        .map(str::to_owned)
}

/// Reads a StatefulSet document; `None` when the document is another kind.
pub fn statefulset<'a>(root: &'a Node, source_comment: Option<&str>) -> Option<StatefulSet<'a>> {
    if str_at(root, &["kind"]).as_deref() != Some("StatefulSet") {
        return None;
    }
    let meta = root.get("metadata");
    let name = meta.and_then(|m| str_at(m, &["name"])).unwrap_or_default();
    let namespace = meta.and_then(|m| str_at(m, &["namespace"]));
    let chart_label = meta.and_then(|m| str_at(m, &["labels", "helm.sh/chart"]));
    let source = source_comment
        .map(str::to_owned)
        .or_else(|| meta.and_then(|m| str_at(m, &["annotations", HELM4_FILENAME_ANNOTATION])));
    let claims = root
        .get_path(&["spec", "volumeClaimTemplates"])
        .map(|s| s.items())
        .unwrap_or_default()
        .iter()
        .map(|t| ClaimTemplate {
            name: str_at(t, &["metadata", "name"]).unwrap_or_default(),
            pos: t.pos,
            node: t,
            storage: t
                .get_path(&["spec", "resources", "requests", "storage"])
                .filter(|n| matches!(n.kind, Kind::Scalar { .. })),
            storage_class: str_at(t, &["spec", "storageClassName"]),
        })
        .collect();
    let replicas = str_at(root, &["spec", "replicas"])
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let ordinal_start = str_at(root, &["spec", "ordinals", "start"])
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let policy = |k| str_at(root, &["spec", "persistentVolumeClaimRetentionPolicy", k]);
    let mut mounts = Vec::new();
    let mut env = Vec::new();
    for list in ["initContainers", "containers"] {
        let containers = root
            .get_path(&["spec", "template", "spec", list])
            .map(Node::items)
            .unwrap_or_default();
        for c in containers {
            let cname = str_at(c, &["name"]).unwrap_or_default();
            for m in c.get("volumeMounts").map(Node::items).unwrap_or_default() {
                if let (Some(n), Some(p)) = (str_at(m, &["name"]), str_at(m, &["mountPath"])) {
                    mounts.push((cname.clone(), n, p));
                }
            }
            for e in c.get("env").map(Node::items).unwrap_or_default() {
                if let (Some(n), Some(v)) = (str_at(e, &["name"]), str_at(e, &["value"])) {
                    env.push((cname.clone(), n, v));
                }
            }
        }
    }
    Some(StatefulSet {
        name,
        namespace,
        pos: root.pos,
        chart_label,
        source,
        claims,
        replicas,
        ordinal_start,
        when_scaled: policy("whenScaled"),
        when_deleted: policy("whenDeleted"),
        mounts,
        env,
    })
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

/// The Kubernetes objects of a document: the document itself, or the items of a `kind: *List`
/// (`List`, `StatefulSetList`, ...), which Helm's client and kubectl apply one by one.
pub fn objects(root: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    collect_objects(root, &mut out, 0);
    out
}

fn collect_objects<'a>(node: &'a Node, out: &mut Vec<&'a Node>, depth: usize) {
    let is_list = str_at(node, &["kind"]).is_some_and(|k| k.ends_with("List"));
    match node.get("items") {
        Some(items) if is_list && depth < 64 => {
            for item in items.items() {
                collect_objects(item, out, depth + 1);
            }
        }
        _ => out.push(node),
    }
}

/// Every StatefulSet of a document, at the top or inside a `*List`.
pub fn statefulsets<'a>(root: &'a Node, source_comment: Option<&str>) -> Vec<StatefulSet<'a>> {
    objects(root)
        .into_iter()
        .filter_map(|o| statefulset(o, source_comment))
        .collect()
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
