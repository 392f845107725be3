//! Chart layouts: which values path sizes which claim template of which StatefulSet, for the
//! charts the tool knows by their layout (FACTS.md section 5). The one place that says where a
//! chart reads its sizes: `values` refuses a path the file's chart would ignore, `check` and
//! `validate` look at these blocks, and `plan` infers a path from a render.
//!
//! Knows charts, not commands: it reads values trees and render sources, and returns paths.

use crate::yaml::{Kind, Node, Pos};

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

/// One entry of the fallback table: the chart (the folder its templates render under: a top
/// chart's name, a subchart's name), the template, the claim, and the chart-relative size path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KnownPath {
    pub chart: &'static str,
    pub template: &'static str,
    pub claim: &'static str,
    pub path: &'static str,
}

const fn known(
    chart: &'static str,
    template: &'static str,
    claim: &'static str,
    path: &'static str,
) -> KnownPath {
    KnownPath {
        chart,
        template,
        claim,
        path,
    }
}

/// The fallback table, used when the chart is not at hand (`plan --chart DIR|TGZ` reads the chart
/// and proves the path with Helm instead). Every entry is checked against the real chart with the
/// real Helm in `tests/chart_paths.rs`; nothing outside it is guessed.
pub const KNOWN_PATHS: &[KnownPath] = &[
    known("kafka", "statefulset.yaml", "data", "persistence.size"),
    known("kafka", "statefulset.yaml", "logs", "logPersistence.size"),
    known(
        "kafka",
        "controller-eligible/statefulset.yaml",
        "data",
        "controller.persistence.size",
    ),
    known(
        "kafka",
        "controller-eligible/statefulset.yaml",
        "logs",
        "controller.logPersistence.size",
    ),
    known(
        "kafka",
        "broker/statefulset.yaml",
        "data",
        "broker.persistence.size",
    ),
    known(
        "kafka",
        "broker/statefulset.yaml",
        "logs",
        "broker.logPersistence.size",
    ),
    known("zookeeper", "statefulset.yaml", "data", "persistence.size"),
    known(
        "zookeeper",
        "statefulset.yaml",
        "data-log",
        "persistence.dataLogDir.size",
    ),
    known("postgresql", "statefulset.yaml", "data", "persistence.size"),
    known(
        "postgresql",
        "primary/statefulset.yaml",
        "data",
        "primary.persistence.size",
    ),
    known(
        "postgresql",
        "read/statefulset.yaml",
        "data",
        "readReplicas.persistence.size",
    ),
    known(
        "redis",
        "master/application.yaml",
        "redis-data",
        "master.persistence.size",
    ),
    known(
        "redis",
        "replicas/application.yaml",
        "redis-data",
        "replica.persistence.size",
    ),
    known(
        "redis",
        "replicas/statefulset.yaml",
        "redis-data",
        "replica.persistence.size",
    ),
];

/// The table entry for a claim of an object rendered from `source` (`posthog/charts/kafka/templates/statefulset.yaml`).
pub fn known_path(source: &str, claim: &str) -> Option<&'static KnownPath> {
    let (chart_path, template) = source.split_once("/templates/")?;
    let chart = chart_path.rsplit("/charts/").next()?;
    KNOWN_PATHS
        .iter()
        .find(|k| k.chart == chart && k.template == template && k.claim == claim)
}

/// The values path that sets a claim template's size, from the fallback table ([`KNOWN_PATHS`]):
/// the chart-relative path under the subcharts' keys (`posthog/charts/kafka/...` -> `kafka.`).
/// `None` for a chart, template or claim the table does not hold: never a guess.
pub fn infer_values_path(source: Option<&str>, claim: &str) -> Option<String> {
    let source = source?;
    let k = known_path(source, claim)?;
    let (chart_path, _) = source.split_once("/templates/")?;
    let mut prefix: Vec<&str> = chart_path.split("/charts/").skip(1).collect();
    prefix.push(k.path);
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
        // Not in the table: no guess (Bitnami PostgreSQL's size is primary.persistence.size).
        assert_eq!(f("mychart/templates/statefulset.yaml", "data"), None);
        assert_eq!(
            f("postgresql/templates/primary/statefulset.yaml", "data").as_deref(),
            Some("primary.persistence.size")
        );
        assert_eq!(
            f(
                "shop/charts/postgresql/templates/read/statefulset.yaml",
                "data"
            )
            .as_deref(),
            Some("postgresql.readReplicas.persistence.size")
        );
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
