//! The StatefulSets themselves: a change that removes one (a subchart's `enabled` condition turns
//! false) or renames one (`nameOverride` / `fullnameOverride`) leaves its PVCs behind.

use super::{Side, finding, show};
use crate::charts::layout::{BLOCK_LAYOUTS, Chart};
use crate::finding::{Finding, Severity};
use serde_json::Value;

/// The chart that renders a block's StatefulSet, as the values prefix of its keys: a subchart
/// (`kafka`, `zookeeper`: its `enabled` is the condition in the parent's Chart.yaml) or the
/// root chart (`""`: a Bitnami chart installed by itself, which has no condition).
pub(super) fn owner(chart: Chart, block: &'static str) -> &'static str {
    let first = block.split('.').next().unwrap_or_default();
    match chart {
        Chart::PostHog => first,
        Chart::Kafka14 | Chart::KafkaKraft if first == "zookeeper" => first,
        Chart::Kafka14 | Chart::KafkaKraft => "",
    }
}

/// The name a chart gives its StatefulSet without overrides: PostHog's `nameOverride` defaults,
/// the Bitnami charts' own names.
fn default_name(owner: &str, chart: Chart) -> &'static str {
    match (chart, owner) {
        (Chart::PostHog, "kafka") => "posthog-kafka",
        (Chart::PostHog, "zookeeper") => "posthog-zookeeper",
        (_, "zookeeper") => "zookeeper",
        _ => "kafka",
    }
}

/// Reports removed and renamed StatefulSets of the charts the files are written for.
pub fn check(base: &Side, head: &Side, out: &mut Vec<Finding>) {
    let charts = charts(base, head);
    let mut seen = Vec::new();
    for l in BLOCK_LAYOUTS {
        let own = owner(l.chart, l.block);
        // The root keys name a Kafka chart only in a file written for one; a subchart is the
        // one of the files' chart (Bitnami Kafka's `zookeeper` is not PostHog's), or PostHog's
        // when the files don't show their chart.
        let other = !charts.is_empty() && !charts.contains(&l.chart);
        if (own.is_empty() && charts.is_empty()) || other || seen.contains(&own) {
            continue;
        }
        seen.push(own);
        let sts = l.statefulset;
        let path = key(own, "enabled");
        if !own.is_empty() {
            condition(base, head, own, sts, out);
        }
        // A subchart that is gone is not renamed as well.
        if head.get(&path) != Some(&Value::Bool(false)) {
            rename(base, head, own, default_name(own, l.chart), out);
        }
    }
}

/// The charts the two files are written for, as their root keys show (none, one or two).
pub(super) fn charts(base: &Side, head: &Side) -> Vec<Chart> {
    [base, head]
        .iter()
        .filter_map(|s| s.tree.as_ref())
        .filter_map(|t| crate::charts::layout::values_chart(t).map(|(c, _)| c))
        .collect()
}

fn key<'a>(own: &'a str, name: &'a str) -> Vec<&'a str> {
    own.split('.')
        .filter(|s| !s.is_empty())
        .chain([name])
        .collect()
}

/// `OWNER.enabled` as Helm reads a Chart.yaml condition: only a boolean counts; any other value
/// (`0`, `""`, null) is ignored with a warning and the subchart stays.
fn condition(base: &Side, head: &Side, own: &str, sts: &str, out: &mut Vec<Finding>) {
    let path = key(own, "enabled");
    let off = |s: &Side| s.get(&path) == Some(&Value::Bool(false));
    match head.get(&path) {
        Some(Value::Bool(false)) if !off(base) => out.push(
            finding(
                head,
                base,
                Severity::Error,
                "subchart-disabled",
                &path,
                format!(
                    "{own}.enabled turns false: Helm no longer renders the {own} subchart, so the upgrade deletes \
                     the StatefulSet {sts} and its PVCs are orphaned (the data stays on disks nothing uses)"
                ),
            )
            .hint(format!(
                "keep `{own}.enabled: true`; to move to another {own}, migrate the data first, then delete the \
                 PVCs (`kubectl get pvc -l app.kubernetes.io/instance=RELEASE`) deliberately"
            )),
        ),
        Some(v) if !v.is_boolean() && base.get(&path) != Some(v) => out.push(
            finding(
                head,
                base,
                Severity::Warning,
                "condition-not-bool",
                &path,
                format!(
                    "{own}.enabled is {}, not a boolean: Helm ignores a non-boolean condition (\"returned \
                     non-bool value\") and still renders the {own} subchart",
                    show(Some(v))
                ),
            )
            .hint("write `true` or `false`"),
        ),
        _ => {}
    }
}

/// The name the Bitnami `common.names.fullname` gives: `fullnameOverride` when set, otherwise
/// `RELEASE-` and `nameOverride` (or the chart's default name).
fn fullname(s: &Side, own: &str, default: &str) -> (String, &'static str) {
    if let Some(full) = text(s, own, "fullnameOverride") {
        return (full, "fullnameOverride");
    }
    (format!("RELEASE-{}", name(s, own, default)), "nameOverride")
}

/// The `app.kubernetes.io/name` label of the selector (`common.names.name`): `nameOverride` when
/// not empty; the default (PostHog's `posthog-kafka`, from the parent's values) when the file
/// doesn't set it; the subchart's own name (`kafka`, `zookeeper`) when the file empties it (`""`
/// replaces the parent's default, null deletes it: both render `RELEASE-kafka` in Helm 3 and 4).
fn name(s: &Side, own: &str, default: &str) -> String {
    if s.get(&key(own, "nameOverride")).is_none() {
        return default.to_owned();
    }
    let chart = if own == "zookeeper" {
        "zookeeper"
    } else {
        "kafka"
    };
    text(s, own, "nameOverride").unwrap_or_else(|| chart.to_owned())
}

/// `OWN.NAME` as a template prints it, `None` when unset, null or empty.
fn text(s: &Side, own: &str, name: &str) -> Option<String> {
    match s.get(&key(own, name)) {
        Some(Value::Null) | None => None,
        Some(v) => Some(show(Some(v))).filter(|t| !t.is_empty()),
    }
}

/// `nameOverride` / `fullnameOverride` that give the StatefulSet another name.
fn rename(base: &Side, head: &Side, own: &str, default: &str, out: &mut Vec<Finding>) {
    let (from, _) = fullname(base, own, default);
    let (to, by) = fullname(head, own, default);
    if from == to {
        relabel(base, head, own, default, out);
        return;
    }
    // The key that made the difference in the head, or the one that was removed.
    let changed = ["fullnameOverride", "nameOverride"]
        .into_iter()
        .find(|k| base.get(&key(own, k)) != head.get(&key(own, k)))
        .unwrap_or(by);
    let path = key(own, changed);
    out.push(
        finding(
            head,
            base,
            Severity::Error,
            "rename",
            &path,
            format!(
                "{} renames the StatefulSet{}: {from} -> {to}; the upgrade creates a new StatefulSet whose \
                 pods start on new, empty PVCs and leaves the old PVCs orphaned",
                path.join("."),
                if own.is_empty() { String::new() } else { format!(" of {own}") }
            ),
        )
        .hint(format!(
            "keep the name ({from}): restore `{}` as in the base; to rename, migrate the data to the new PVCs first",
            path.join(".")
        )),
    );
}

/// `nameOverride` changed under a `fullnameOverride` that keeps the name: the selector's
/// `app.kubernetes.io/name` label changes, which Kubernetes refuses on update.
fn relabel(base: &Side, head: &Side, own: &str, default: &str, out: &mut Vec<Finding>) {
    let (from, to) = (name(base, own, default), name(head, own, default));
    if from == to {
        return;
    }
    let path = key(own, "nameOverride");
    out.push(
        finding(
            head,
            base,
            Severity::Error,
            "selector",
            &path,
            format!(
                "{} changes the StatefulSet's selector (app.kubernetes.io/name: {from} -> {to}) while \
                 fullnameOverride keeps its name: Kubernetes refuses the upgrade (`spec: Forbidden`), and a \
                 re-created StatefulSet would not adopt the running pods",
                path.join(".")
            ),
        )
        .hint(format!("keep `{}: {from}` as in the base", path.join("."))),
    );
}

#[cfg(test)]
mod tests {
    use super::super::{Side, compare};

    fn ids(base: &str, head: &str) -> Vec<(&'static str, usize)> {
        let (b, h) = (
            Side::parse("b", base).unwrap(),
            Side::parse("h", head).unwrap(),
        );
        compare(&b, &h, &[])
            .iter()
            .filter(|f| !f.id.starts_with("block-"))
            .map(|f| (f.id, f.location.as_ref().unwrap().line))
            .collect()
    }

    #[test]
    fn removed_and_renamed_statefulsets() {
        let base = "kafka:\n  persistence:\n    size: 20Gi\n";
        let posthog = |head| ids(base, head);
        assert_eq!(
            posthog("kafka:\n  enabled: false\n"),
            [("subchart-disabled", 2)]
        );
        assert_eq!(posthog("kafka:\n  enabled: 0\n")[0].0, "condition-not-bool");
        assert_eq!(posthog("kafka:\n  nameOverride: x\n"), [("rename", 2)]);
        assert_eq!(posthog("kafka:\n  fullnameOverride: y\n"), [("rename", 2)]);
        assert_eq!(
            posthog("zookeeper:\n  enabled: false\nkafka: {}\n")[0].0,
            "subchart-disabled"
        );
        // The chart's own default, an empty override and null name nothing new.
        assert!(posthog("kafka:\n  nameOverride: posthog-kafka\n  fullnameOverride: ''\n  persistence:\n    size: 20Gi\n").is_empty());
        assert!(
            posthog("kafka:\n  fullnameOverride: null\n  persistence:\n    size: 20Gi\n")
                .is_empty()
        );
        // An empty or null nameOverride replaces PostHog's `posthog-kafka` with the chart's name.
        assert_eq!(posthog("kafka:\n  nameOverride: ''\n"), [("rename", 2)]);
        assert_eq!(posthog("kafka:\n  nameOverride: null\n"), [("rename", 2)]);
        assert_eq!(
            posthog("kafka:\n  nameOverride: kafka\n  fullnameOverride: x\n"),
            [("rename", 3)]
        );
        // Bitnami Kafka installed by itself: the root keys.
        let base = "persistence:\n  size: 20Gi\n";
        assert_eq!(
            ids(base, "nameOverride: k\npersistence:\n  size: 20Gi\n"),
            [("rename", 1)]
        );
        assert!(ids(base, "nameOverride: kafka\npersistence:\n  size: 20Gi\n").is_empty());
    }
}
