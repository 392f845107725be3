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

/// The charts whose values layouts the tool knows (FACTS.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// PostHog's chart: Kafka and ZooKeeper are subcharts, under `kafka.` and `zookeeper.`.
    PostHog,
    /// Bitnami Kafka 14.x installed by itself: `persistence` at the root.
    Kafka14,
    /// Bitnami Kafka >= 24 (KRaft) installed by itself: `controller.` and `broker.` blocks.
    KafkaKraft,
}

impl Chart {
    pub fn describe(self) -> &'static str {
        match self {
            Chart::PostHog => "PostHog's chart (Kafka as the `kafka` subchart)",
            Chart::Kafka14 => "the Bitnami Kafka chart itself (14.x: `persistence` at the root)",
            Chart::KafkaKraft => {
                "the Bitnami Kafka chart itself (>= 24, KRaft: `controller` and `broker` blocks)"
            }
        }
    }
}

/// One persistence block of a known chart layout: where it is in the values file and which
/// StatefulSet it sizes (`RELEASE` stands for the Helm release name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLayout {
    pub chart: Chart,
    pub block: &'static str,
    pub statefulset: &'static str,
    pub claim: &'static str,
}

const fn layout(
    chart: Chart,
    block: &'static str,
    statefulset: &'static str,
    claim: &'static str,
) -> BlockLayout {
    BlockLayout {
        chart,
        block,
        statefulset,
        claim,
    }
}

/// The persistence blocks of the charts the tool knows. The one place that says where a chart
/// reads its sizes: `values` refuses a path the file's chart would ignore, `check` and
/// `validate` look at these blocks, and `plan` infers the path from a render the same way
/// (`infer_values_path`).
pub const BLOCK_LAYOUTS: &[BlockLayout] = &[
    layout(
        Chart::PostHog,
        "kafka.persistence",
        "RELEASE-posthog-kafka",
        "data",
    ),
    layout(
        Chart::PostHog,
        "kafka.logPersistence",
        "RELEASE-posthog-kafka",
        "logs",
    ),
    layout(
        Chart::PostHog,
        "zookeeper.persistence",
        "RELEASE-posthog-zookeeper",
        "data",
    ),
    layout(Chart::Kafka14, "persistence", "RELEASE-kafka", "data"),
    layout(Chart::Kafka14, "logPersistence", "RELEASE-kafka", "logs"),
    layout(
        Chart::Kafka14,
        "zookeeper.persistence",
        "RELEASE-zookeeper",
        "data",
    ),
    layout(
        Chart::KafkaKraft,
        "controller.persistence",
        "RELEASE-kafka-controller",
        "data",
    ),
    layout(
        Chart::KafkaKraft,
        "controller.logPersistence",
        "RELEASE-kafka-controller",
        "logs",
    ),
    layout(
        Chart::KafkaKraft,
        "broker.persistence",
        "RELEASE-kafka-broker",
        "data",
    ),
    layout(
        Chart::KafkaKraft,
        "broker.logPersistence",
        "RELEASE-kafka-broker",
        "logs",
    ),
];

/// The persistence block paths the tool knows, each once, in table order.
pub fn persistence_blocks() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for l in BLOCK_LAYOUTS {
        if !out.contains(&l.block) {
            out.push(l.block);
        }
    }
    out
}

/// The StatefulSet (with `RELEASE` for the release name) a known persistence block sizes.
pub fn statefulset_of_block(block: &str) -> Option<&'static str> {
    BLOCK_LAYOUTS
        .iter()
        .find(|l| l.block == block)
        .map(|l| l.statefulset)
}

/// The chart a values file is written for, judged by its root keys, and the key that shows it:
/// a `kafka` mapping (PostHog), `controller` or `broker` (Bitnami Kafka >= 24), a `persistence`
/// or `logPersistence` mapping (Bitnami Kafka 14.x; PostHog's values have neither at the root).
/// `None` when nothing shows.
pub fn values_chart(root: &Node) -> Option<(Chart, &Node)> {
    let mapping = |key: &str| {
        root.entry(key)
            .filter(|(_, v)| matches!(v.kind, Kind::Mapping { .. }))
            .map(|(k, _)| k)
    };
    if let Some(k) = mapping("kafka") {
        return Some((Chart::PostHog, k));
    }
    if let Some(k) = mapping("controller").or_else(|| mapping("broker")) {
        return Some((Chart::KafkaKraft, k));
    }
    mapping("persistence")
        .or_else(|| mapping("logPersistence"))
        .map(|k| (Chart::Kafka14, k))
}

/// A values path that is absent from a file whose chart would ignore it: where the evidence is,
/// what is wrong and the path(s) to use instead. `None` when the path is one the file's chart
/// reads, is not a known persistence path, is present, or the chart can't be told.
pub fn ignored_path(root: &Node, path: &[String]) -> Option<(Pos, String, String)> {
    let (size, block) = path.split_last()?;
    let block = block.join(".");
    let wanted = BLOCK_LAYOUTS.iter().find(|l| l.block == block)?;
    if root.entry(&path[0]).is_some() {
        return None;
    }
    let (chart, evidence) = values_chart(root)?;
    if BLOCK_LAYOUTS
        .iter()
        .any(|l| l.chart == chart && l.block == block)
    {
        return None;
    }
    let instead: Vec<String> = BLOCK_LAYOUTS
        .iter()
        .filter(|l| l.chart == chart && l.claim == wanted.claim)
        .filter(|l| !l.block.starts_with("zookeeper."))
        .map(|l| format!("--path {}.{size}", l.block))
        .collect();
    let key = evidence.as_str().unwrap_or_default();
    Some((
        evidence.pos,
        format!(
            "`{key}:` makes this a values file of {}, which ignores {}: inserting it would change nothing",
            chart.describe(),
            path.join("."),
        ),
        format!("use {}", instead.join(" and/or ")),
    ))
}

/// The values path that sets a claim template's size, inferred from where the StatefulSet was
/// rendered: subcharts nest their values under their names (`posthog/charts/kafka/...` ->
/// `kafka.`), Bitnami Kafka >= 24 has `broker.` and `controller.` blocks, and the `logs` claim is
/// `logPersistence`.
pub fn infer_values_path(source: Option<&str>, claim: &str) -> Option<String> {
    let source = source?;
    let (chart_path, template) = source.split_once("/templates/")?;
    let mut prefix: Vec<&str> = chart_path.split("/charts/").skip(1).collect();
    if template.starts_with("broker/") {
        prefix.push("broker");
    } else if template.starts_with("controller-eligible/") || template.starts_with("controller/") {
        prefix.push("controller");
    }
    let block = match claim {
        "data" => "persistence",
        "logs" => "logPersistence",
        _ => return None,
    };
    prefix.push(block);
    prefix.push("size");
    Some(prefix.join("."))
}

/// The values path of the replica count beside a size's values path, in Bitnami's layout (which
/// PostHog's Kafka subchart has): `kafka.persistence.size` -> `kafka.replicaCount`,
/// `controller.logPersistence.size` -> `controller.replicaCount`. `None` for any other shape.
pub fn replica_values_path(size_path: &str) -> Option<String> {
    let block = size_path.strip_suffix(".size")?;
    let prefix = ["persistence", "logPersistence"]
        .iter()
        .find_map(|b| block.strip_suffix(b))?;
    if !(prefix.is_empty() || prefix.ends_with('.')) {
        return None;
    }
    Some(format!("{prefix}replicaCount"))
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
    fn values_paths() {
        let f = |s, c| infer_values_path(Some(s), c);
        assert_eq!(
            f("posthog/charts/kafka/templates/statefulset.yaml", "data").as_deref(),
            Some("kafka.persistence.size")
        );
        assert_eq!(
            f("posthog/charts/kafka/templates/statefulset.yaml", "logs").as_deref(),
            Some("kafka.logPersistence.size")
        );
        assert_eq!(
            f("kafka/templates/broker/statefulset.yaml", "data").as_deref(),
            Some("broker.persistence.size")
        );
        assert_eq!(
            f(
                "kafka/templates/controller-eligible/statefulset.yaml",
                "data"
            )
            .as_deref(),
            Some("controller.persistence.size")
        );
        assert_eq!(
            f("kafka/templates/statefulset.yaml", "data").as_deref(),
            Some("persistence.size")
        );
        assert_eq!(
            f("kafka/charts/zookeeper/templates/statefulset.yaml", "data").as_deref(),
            Some("zookeeper.persistence.size")
        );
        assert_eq!(f("kafka/templates/statefulset.yaml", "other"), None);
    }

    #[test]
    fn replica_values_paths() {
        let r = |p| replica_values_path(p);
        assert_eq!(
            r("kafka.persistence.size").as_deref(),
            Some("kafka.replicaCount")
        );
        assert_eq!(r("persistence.size").as_deref(), Some("replicaCount"));
        assert_eq!(
            r("broker.logPersistence.size").as_deref(),
            Some("broker.replicaCount")
        );
        // Not Bitnami's shape: no guess.
        assert_eq!(r("kafka.mypersistence.size"), None);
        assert_eq!(r("kafka.storage.size"), None);
        assert_eq!(r("kafka.persistence.capacity"), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match("kafka", "kafka"));
        assert!(!glob_match("kafka", "kafka-broker"));
        assert!(glob_match("kafka-*", "kafka-broker"));
        assert!(glob_match("*-posthog-kafka", "posthog-posthog-kafka"));
        assert!(glob_match("k?fka", "kafka"));
        assert_eq!(glob_literal("*-posthog-kafka*"), "-posthog-kafka");
    }

    fn refusal(src: &str, path: &str) -> Option<(Pos, String, String)> {
        let root = crate::yaml::parse_stream(src, 0, 0).unwrap()[0]
            .root
            .clone()
            .unwrap();
        let path: Vec<String> = path.split('.').map(str::to_owned).collect();
        ignored_path(&root, &path)
    }

    #[test]
    fn a_values_file_knows_its_chart() {
        let standalone = "replicaCount: 3\npersistence:\n  size: 8Gi\n";
        let (pos, message, hint) = refusal(standalone, "kafka.persistence.size").unwrap();
        assert_eq!(pos, Pos { line: 2, col: 1 });
        assert!(
            message.contains("Bitnami Kafka chart itself (14.x"),
            "{message}"
        );
        assert_eq!(hint, "use --path persistence.size");
        let (_, _, hint) = refusal(standalone, "kafka.logPersistence.size").unwrap();
        assert_eq!(hint, "use --path logPersistence.size");

        let kraft = "controller:\n  replicaCount: 3\nbroker:\n  replicaCount: 0\n";
        let (pos, _, hint) = refusal(kraft, "kafka.persistence.size").unwrap();
        assert_eq!(pos, Pos { line: 1, col: 1 });
        assert_eq!(
            hint,
            "use --path controller.persistence.size and/or --path broker.persistence.size"
        );
        let posthog = "cloud: aws\nkafka:\n  enabled: true\n";
        let (_, _, hint) = refusal(posthog, "persistence.size").unwrap();
        assert_eq!(hint, "use --path kafka.persistence.size");

        // What the chart reads, a path already there, an unknown layout: no refusal.
        assert!(refusal(standalone, "persistence.size").is_none());
        assert!(refusal(standalone, "zookeeper.persistence.size").is_none());
        assert!(refusal(posthog, "kafka.persistence.size").is_none());
        assert!(
            refusal(
                "kafka:\n  persistence: {}\npersistence: {size: 1Gi}\n",
                "kafka.persistence.size"
            )
            .is_none()
        );
        assert!(refusal("cloud: aws\n", "kafka.persistence.size").is_none());
        assert!(refusal(standalone, "clickhouse.persistence.size").is_none());
        assert_eq!(
            statefulset_of_block("broker.persistence"),
            Some("RELEASE-kafka-broker")
        );
        assert_eq!(persistence_blocks().len(), 9);
    }
}
