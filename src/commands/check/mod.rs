//! `check`: the pre-merge gate. Compares two versions of a values file and classifies every
//! change under the persistence blocks the tool knows (and any `--path`).

pub use crate::finding::{Finding, Location, Severity};
use crate::k8s::quantity::Quantity;
use crate::yaml::{self, Node, Pos};
use serde_json::Value;

mod claims;
mod identity;
pub mod rendered;

/// A parsed values file: data for comparing, the tree for line numbers.
pub struct Side {
    /// The name its findings carry (the head's file as annotations need it).
    pub name: String,
    pub json: Value,
    pub tree: Option<Node>,
}

impl Side {
    /// Parses one version of the values file. Errors name the file, line and column.
    pub fn parse(name: &str, text: &str) -> Result<Side, String> {
        Side::load(name, text).map_err(|f| f.to_string())
    }

    /// The same, with the error as a finding (`invalid-yaml`, `multiple-documents`) at its place.
    pub fn load(name: &str, text: &str) -> Result<Side, Box<Finding>> {
        let loaded = crate::k8s::schema::load_values(name, text)?;
        Ok(Side {
            name: name.to_owned(),
            json: loaded.json,
            tree: loaded.tree,
        })
    }

    fn get(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.json, |v, k| v.get(k))
    }

    /// Position of the deepest node of `path` present in the file: a scalar value's own
    /// position, or the key of a mapping or list.
    fn pos(&self, path: &[&str]) -> Pos {
        let Some(root) = self.tree.as_ref() else {
            return Pos { line: 1, col: 1 };
        };
        let (mut node, mut best) = (root, root.pos);
        for key in path {
            let Some((k, v)) = node.entry(key) else { break };
            best = node_pos(k, v);
            node = v;
        }
        best
    }

    /// Position of `path` when the file has all of it.
    fn exact_pos(&self, path: &[&str]) -> Option<Pos> {
        let mut node = self.tree.as_ref()?;
        let mut best = node.pos;
        for key in path {
            let (k, v) = node.entry(key)?;
            best = node_pos(k, v);
            node = v;
        }
        Some(best)
    }
}

/// A scalar's own position; for a mapping or a list, its key's.
fn node_pos(key: &Node, value: &Node) -> Pos {
    if matches!(value.kind, yaml::Kind::Scalar { .. } | yaml::Kind::Alias(_)) {
        value.pos
    } else {
        key.pos
    }
}

/// Classifies the changes between two versions under the persistence blocks of the built-in
/// table. `extra` adds persistence block paths.
pub fn compare(base: &Side, head: &Side, extra: &[String]) -> Vec<Finding> {
    let table: Vec<String> = crate::charts::layout::persistence_blocks()
        .into_iter()
        .map(str::to_owned)
        .collect();
    compare_blocks(base, head, &table, extra)
}

/// The same under `layout`: the persistence blocks of a chart (its proven size paths without
/// `.size`, from `--chart`) or of the table; `extra` adds more.
pub fn compare_blocks(
    base: &Side,
    head: &Side,
    layout: &[String],
    extra: &[String],
) -> Vec<Finding> {
    let mut out = by_blocks(base, head, layout, extra);
    identity::check(base, head, &mut out);
    claims::check(base, head, &mut out);
    finish(out)
}

/// The same with the chart at hand: the blocks of its proven size paths, and in place of the
/// table's StatefulSet and claim checks, the chart's two renders compared (`rendered`).
pub fn compare_rendered(
    base: &Side,
    head: &Side,
    layout: &[String],
    extra: &[String],
    renders: &rendered::Renders,
    version: crate::k8s::versions::KubeVersion,
) -> Result<Vec<Finding>, String> {
    let out = by_blocks(base, head, layout, extra);
    Ok(finish(rendered::merge(base, head, renders, version, out)?))
}

/// Every block's changes, value by value.
fn by_blocks(base: &Side, head: &Side, layout: &[String], extra: &[String]) -> Vec<Finding> {
    let mut blocks: Vec<String> = Vec::new();
    for p in layout.iter().chain(extra) {
        let p = p.strip_suffix(".size").unwrap_or(p).to_owned();
        if !blocks.contains(&p) {
            blocks.push(p);
        }
    }
    let mut out = Vec::new();
    for block in &blocks {
        let path: Vec<&str> = block.split('.').collect();
        compare_block(base, head, &path, &mut out);
    }
    out
}

/// Blocks that share a replica count report its change once; then in the file's order.
fn finish(mut out: Vec<Finding>) -> Vec<Finding> {
    let mut seen = Vec::new();
    out.retain(|f| {
        let key = (f.id, f.path.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    out.sort_by_key(|f| {
        (
            f.location.as_ref().map_or(0, |l| l.line),
            std::cmp::Reverse(f.severity),
        )
    });
    out
}

/// A finding at `path` in the head file, with the base's value as a related place when the
/// base has it.
fn finding(
    head: &Side,
    base: &Side,
    severity: Severity,
    id: &'static str,
    path: &[&str],
    message: String,
) -> Finding {
    let mut f = Finding::new(id, severity, message)
        .at(Location::new(&head.name, head.pos(path)))
        .path(path.join("."));
    if let Some(pos) = base.exact_pos(path) {
        f = f.related(Location::new(&base.name, pos).labelled("base"));
    }
    f
}

fn replicas_path<'a>(block: &[&'a str]) -> Vec<&'a str> {
    let mut p = block[..block.len() - 1].to_vec();
    p.push("replicaCount");
    p
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(unset)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The values paths of one persistence block, and the two versions of it.
struct Block<'a> {
    path: &'a [&'a str],
    name: String,
    base: Option<&'a Value>,
    head: Option<&'a Value>,
}

impl Block<'_> {
    fn with(&self, key: &'static str) -> Vec<&str> {
        let mut p = self.path.to_vec();
        p.push(key);
        p
    }
}

fn compare_block(base: &Side, head: &Side, path: &[&str], out: &mut Vec<Finding>) {
    let block = Block {
        path,
        name: path.join("."),
        base: base.get(path),
        head: head.get(path),
    };
    if block.base.is_none() && block.head.is_none() {
        // No block on either side (the chart's defaults): its replica count still counts.
        replicas(base, head, &block, out);
        return;
    }
    presence(base, head, &block, out);
    enabled(base, head, &block, out);
    size(base, head, &block, out);
    immutable_fields(base, head, &block, out);
    replicas(base, head, &block, out);
}

/// The settings a block makes, for a message: `size: 50Gi, storageClass: gp3`.
fn settings(v: &Value) -> String {
    let Some(map) = v.as_object() else {
        return show(Some(v));
    };
    let parts: Vec<String> = map
        .iter()
        .filter(|(_, v)| !v.is_object())
        .map(|(k, v)| format!("{k}: {}", show(Some(v))))
        .collect();
    if parts.is_empty() {
        "no settings of its own".to_owned()
    } else {
        parts.join(", ")
    }
}

/// A block added to or removed from the file.
fn presence(base: &Side, head: &Side, b: &Block, out: &mut Vec<Finding>) {
    let name = &b.name;
    match (b.base, b.head) {
        (None, Some(h)) => out.push(
            finding(
                head,
                base,
                Severity::Notice,
                "block-added",
                b.path,
                format!(
                    "{name} is now set in this file ({}) where the chart's defaults applied",
                    settings(h)
                ),
            )
            .hint(
                "on the next upgrade a size larger than the chart's default needs the PVCs grown first \
                 (`pvc-resize plan --release RELEASE --namespace NAMESPACE --size SIZE --manifests RENDERED.yaml`), a smaller one is refused by Kubernetes, and a storageClass, accessModes \
                 or selector other than the default needs a data migration; compare with `helm show values CHART`",
            ),
        ),
        (Some(_), None) => {
            let size = show(base.get(&b.with("size")));
            out.push(
                finding(
                    head,
                    base,
                    Severity::Notice,
                    "block-removed",
                    b.path,
                    format!("{name} was removed from this file: the chart's defaults apply again"),
                )
                .hint(format!(
                    "if the chart's default size is smaller than {size}, the upgrade would try to shrink the \
                     claim templates, which Kubernetes refuses: keep `{name}.size: {size}`"
                )),
            );
        }
        _ => {}
    }
}

/// `enabled` turned off (data loss) or on (new PVCs).
fn enabled(base: &Side, head: &Side, b: &Block, out: &mut Vec<Finding>) {
    let name = &b.name;
    let path = b.with("enabled");
    // As the chart's `{{ if .Values...enabled }}` reads it (a null deletes the key in Helm's merge
    // of values, so the template sees nothing: false too).
    let read = |s: &Side| s.get(&path).map(truthy);
    match (read(base), read(head)) {
        (Some(true) | None, Some(false)) if b.base.is_some() => out.push(
            finding(
                head,
                base,
                Severity::Error,
                "disable",
                &path,
                format!("{name}.enabled turns false: the StatefulSet loses its volume and the pods start on empty disks (data loss)"),
            )
            .hint("keep it true, or migrate the data first"),
        ),
        (Some(false), Some(true) | None) if b.head.is_some() => out.push(
            finding(
                head,
                base,
                Severity::Notice,
                "enable",
                &path,
                format!("{name}.enabled turns true: new PVCs are created for every replica"),
            )
            .hint("claim templates are immutable: the StatefulSet must be deleted (`kubectl delete statefulset NAME --cascade=orphan`) before `helm upgrade` re-creates it"),
        ),
        _ => {}
    }
}

/// Go template truthiness (`{{ if }}`): false, 0, 0.0, "", [], {} and null are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A size that changes: invalid, shrunk, grown.
fn size(base: &Side, head: &Side, b: &Block, out: &mut Vec<Finding>) {
    let name = &b.name;
    let path = b.with("size");
    let (bs, hs) = (base.get(&path), head.get(&path));
    if let (Some(old), None, Some(_)) = (bs, hs, b.head) {
        out.push(size_removed(base, head, &path, name, old));
        return;
    }
    let Some(hv) = hs.filter(|_| bs != hs) else {
        return;
    };
    let text = show(Some(hv));
    let invalid =
        |message: String| finding(head, base, Severity::Error, "invalid-size", &path, message);
    match hv.as_str().map(Quantity::parse) {
        Some(Err(e)) => out.push(
            invalid(format!("{name}.size {text:?} is not a Kubernetes quantity: {e}"))
                .hint(crate::k8s::quantity::suggest(&text)),
        ),
        None => out.push(
            invalid(format!(
                "{name}.size is {text}, not a string: Helm renders an unquoted number as a float (`20` is 20 bytes)"
            ))
            .hint("write a quoted quantity, e.g. \"20Gi\""),
        ),
        Some(Ok(new)) => size_change(base, head, &path, name, bs, &text, &new, out),
    }
}

/// The size was removed from a block that stays: the chart's default applies again, which the
/// check can't see, so it can't tell a shrink (refused by Kubernetes) from a growth.
fn size_removed(base: &Side, head: &Side, path: &[&str], name: &str, old: &Value) -> Finding {
    let old = show(Some(old));
    finding(
        head,
        base,
        Severity::Error,
        "size-removed",
        path,
        format!(
            "{name}.size ({old}) was removed: the chart's default size applies again, and this check can't \
             see it; if it is smaller than {old}, the upgrade shrinks the claim templates, which Kubernetes refuses"
        ),
    )
    .hint(format!(
        "keep `{name}.size: {old}`, or write the size you want out (the chart's default is in `helm show values CHART`) \
         so that the check can compare it"
    ))
}

fn plan_hint(text: &str) -> String {
    format!(
        "grow each PVC first (`kubectl patch pvc`), delete the StatefulSet with --cascade=orphan, then upgrade; \
         the exact commands and the script that runs them: `pvc-resize plan --release RELEASE --namespace NAMESPACE --size {text} \
         --manifests RENDERED.yaml --values VALUES.yaml --chart CHART --kube-context CONTEXT --format script --output resize.sh`"
    )
}

#[allow(clippy::too_many_arguments)]
fn size_change(
    base: &Side,
    head: &Side,
    size_path: &[&str],
    name: &str,
    bs: Option<&Value>,
    text: &str,
    new: &Quantity,
    out: &mut Vec<Finding>,
) {
    let at = |severity, id, message| finding(head, base, severity, id, size_path, message);
    let Some(old_text) = bs.and_then(Value::as_str) else {
        out.push(
            at(
                Severity::Notice,
                "grow",
                format!("{name}.size is set to {text} where the chart default applied before"),
            )
            .hint(format!(
                "if {text} is larger than the chart's default, the PVCs must be grown before `helm upgrade`: {}",
                plan_hint(text)
            )),
        );
        return;
    };
    let Ok(old) = Quantity::parse(old_text) else {
        return;
    };
    if *new < old {
        out.push(
            at(
                Severity::Error,
                "shrink",
                format!(
                    "{name}.size shrinks from {old_text} ({} bytes) to {text} ({} bytes): Kubernetes forbids shrinking a PersistentVolumeClaim",
                    old.bytes_beside(new),
                    new.bytes_beside(&old)
                ),
            )
            .hint(format!(
                "keep {old_text} or more; a smaller disk needs new PVCs and a data migration"
            )),
        );
        return;
    }
    if *new == old {
        return;
    }
    if let Some(message) = crate::k8s::quantity::decimal_for_binary(old_text, &old, text, new) {
        out.push(
            at(Severity::Warning, "decimal-size", format!("{name}.size: {message}"))
                .hint("write the size with the same kind of suffix as before (Ki, Mi, Gi, Ti are powers of 2)"),
        );
    }
    out.push(
        at(
            Severity::Notice,
            "grow",
            format!(
                "{name}.size grows {old_text} -> {text} ({} -> {} bytes): claim templates are immutable, so `helm upgrade` alone fails",
                old.bytes_beside(new),
                new.bytes_beside(&old)
            ),
        )
        .hint(plan_hint(text)),
    );
}

/// Fields of the claim templates Kubernetes won't change.
fn immutable_fields<'a>(base: &'a Side, head: &'a Side, b: &Block, out: &mut Vec<Finding>) {
    if b.base.is_none() || b.head.is_none() {
        return;
    }
    // What the claim templates render: `labels` only in Bitnami Kafka >= 24 (a block of another
    // chart, or of an unknown one from `--path`, is read as if it did).
    let chart = crate::charts::layout::BLOCK_LAYOUTS
        .iter()
        .find(|l| l.block == b.name)
        .map(|l| l.chart);
    let labels = chart.is_none_or(|c| c == crate::charts::layout::Chart::KafkaKraft);
    let keys = [
        "storageClass",
        "accessModes",
        "existingClaim",
        "selector",
        "annotations",
        "labels",
    ];
    for key in keys.into_iter().filter(|k| labels || *k != "labels") {
        let p = b.with(key);
        // The templates test all but `accessModes` with `{{ if }}`: an empty one renders nothing.
        let read = |v: Option<&'a Value>| v.filter(|v| key == "accessModes" || truthy(v));
        let (bv, hv) = (read(base.get(&p)), read(head.get(&p)));
        if bv != hv {
            out.push(
                finding(
                    head,
                    base,
                    Severity::Error,
                    "immutable",
                    &p,
                    format!(
                        "{}.{key} changes ({} -> {}): a StatefulSet's volumeClaimTemplates are immutable and existing PVCs keep their {key}",
                        b.name,
                        show(bv),
                        show(hv)
                    ),
                )
                .hint(format!(
                    "keep {}; changing it needs new PVCs and a data migration, not a resize",
                    show(bv)
                )),
            );
        }
    }
}

/// The StatefulSet's PVC names for ordinals `from..to` (exclusive), `data-STS-N` for the block's
/// claim; at most four are listed.
fn pvc_names(block: &[&str], from: i64, to: i64) -> String {
    let layout = crate::charts::layout::BLOCK_LAYOUTS
        .iter()
        .find(|l| l.block == block.join("."));
    let (sts, claim) = layout.map_or(("STATEFULSET", "data"), |l| (l.statefulset, l.claim));
    let names: Vec<String> = (from..to)
        .take(4)
        .map(|i| crate::k8s::objects::pvc_name(claim, sts, i))
        .collect();
    let more = if to - from > 4 { ", ..." } else { "" };
    format!("{}{more}", names.join(", "))
}

/// The replica count next to the block: scaling up creates PVCs, scaling down leaves them.
/// A change of the replica count beside a persistence block. Checked whether or not the head
/// (or either side) still has the block: a scale-down leaves PVCs behind all the same.
fn replicas(base: &Side, head: &Side, b: &Block, out: &mut Vec<Finding>) {
    let rp = replicas_path(b.path);
    let key = rp.join(".");
    let count = |s: &Side| s.get(&rp).and_then(Value::as_i64);
    let at = |severity, id, message| finding(head, base, severity, id, &rp, message);
    match (count(base), count(head)) {
        (Some(from), Some(to)) if to > from => out.push(
            at(
                Severity::Notice,
                "replicas-up",
                format!(
                    "{key} changes {from} -> {to}: new PVCs are created for ordinals {from}..{} with the claim template's size",
                    to - 1
                ),
            )
            .hint(format!("make sure the storage class can provision {} more volume(s)", to - from)),
        ),
        (Some(from), Some(to)) if to < from => out.push(
            at(
                Severity::Warning,
                "replicas-down",
                format!(
                    "{key} changes {from} -> {to}: the PVCs of ordinals {to}..{} are left behind (kept, still billed): {}",
                    from - 1,
                    pvc_names(b.path, to, from)
                ),
            )
            .hint("move the data off those brokers first (reassign their partitions); delete the PVCs afterwards with `kubectl delete pvc`, or keep them to scale back up. A StatefulSet with persistentVolumeClaimRetentionPolicy.whenScaled: Delete deletes them itself"),
        ),
        (Some(from), None) => out.push(
            at(
                Severity::Warning,
                "replicas-unset",
                format!(
                    "{key} ({from}) is removed, so the chart's default applies: if it is lower than {from}, the PVCs of the ordinals from it up to {} are left behind (kept, still billed), e.g. {}",
                    from - 1,
                    pvc_names(b.path, from - 1, from)
                ),
            )
            .hint(format!("keep `{key}: {from}` unless the scale-down is meant; then move the data off those brokers first")),
        ),
        (None, Some(to)) => out.push(
            at(
                Severity::Notice,
                "replicas-set",
                format!("{key} is now set to {to} where the chart's default applied"),
            )
            .hint(format!(
                "if {to} is more than the chart's default, new PVCs are created for the new ordinals; if fewer, the PVCs of ordinals {to} and up are left behind ({}, ...)",
                pvc_names(b.path, to, to + 1),
            )),
        ),
        _ => {}
    }
}

/// Sets `blocking` on every finding: errors always; with `strict` also warnings and growth.
pub fn mark_blocking(findings: &mut [Finding], strict: bool) {
    for f in findings {
        f.blocking = blocks(f, strict);
    }
}

/// True when a finding stops the merge: errors always, warnings and notices of growth (or of a
/// new VolumeAttributesClass) with `strict`.
pub fn blocks(f: &Finding, strict: bool) -> bool {
    match f.severity {
        Severity::Error => true,
        Severity::Warning => strict,
        Severity::Notice => strict && matches!(f.id, "grow" | "attributes-class" | "kruise-grow"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(base: &str, head: &str) -> Vec<Finding> {
        compare(
            &Side::parse("base", base).unwrap(),
            &Side::parse("head", head).unwrap(),
            &[],
        )
    }

    #[test]
    fn grow_shrink_and_lines() {
        let base = "kafka:\n  persistence:\n    size: 20Gi\n";
        let f = run(base, "# c\nkafka:\n  persistence:\n    size: 50Gi\n");
        assert_eq!(f.len(), 1);
        let line = |f: &Finding| f.location.as_ref().unwrap().line;
        assert_eq!(
            (f[0].id, f[0].severity, line(&f[0]), f[0].related[0].line),
            ("grow", Severity::Notice, 4, 3)
        );
        let f = run(base, "kafka:\n  persistence:\n    size: 10Gi\n");
        assert_eq!((f[0].id, f[0].severity), ("shrink", Severity::Error));
        assert!(f[0].message.contains("21,474,836,480"));
        assert!(run(base, "kafka:\n  persistence:\n    size: 20480Mi\n").is_empty());
        let f = run(base, "kafka:\n  persistence:\n    size: 50G\n");
        assert_eq!(
            f.iter().map(|x| x.id).collect::<Vec<_>>(),
            vec!["decimal-size", "grow"]
        );
    }

    fn place(f: &Finding) -> (usize, usize) {
        let l = f.location.as_ref().unwrap();
        (l.line, l.column)
    }

    #[test]
    fn replicas_added_removed_and_scaled_down() {
        let base = "kafka:\n  persistence:\n    size: 20Gi\n";
        let f = run(
            base,
            "kafka:\n  replicaCount: 3\n  persistence:\n    size: 20Gi\n",
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            (f[0].id, f[0].severity, place(&f[0])),
            ("replicas-set", Severity::Notice, (2, 17))
        );
        assert!(
            f[0].related.is_empty(),
            "the base has no replica count: no base place"
        );

        let three = "kafka:\n  replicaCount: 5\n  persistence:\n    size: 20Gi\n  logPersistence:\n    size: 8Gi\n";
        let f = run(three, &three.replace("replicaCount: 5", "replicaCount: 2"));
        assert_eq!(
            f.len(),
            1,
            "one finding although two blocks share the count: {f:#?}"
        );
        assert_eq!(
            (f[0].id, f[0].severity),
            ("replicas-down", Severity::Warning)
        );
        assert!(
            f[0].message.ends_with("data-RELEASE-posthog-kafka-2, data-RELEASE-posthog-kafka-3, data-RELEASE-posthog-kafka-4"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].related[0].line, 2);
        assert!(blocks(&f[0], true) && !blocks(&f[0], false));
        let bitnami = "broker:\n  replicaCount: 3\n  persistence:\n    size: 8Gi\n";
        let f = run(bitnami, &bitnami.replace("3", "1"));
        assert!(
            f[0].message
                .contains("data-RELEASE-kafka-broker-1, data-RELEASE-kafka-broker-2"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn block_added_has_no_base_place_and_says_what_applies() {
        let base = "kafka:\n  persistence:\n    size: 20Gi\n";
        let head =
            format!("{base}zookeeper:\n  persistence:\n    size: 4Gi\n    storageClass: gp3\n");
        let f = run(base, &head);
        let added = f
            .iter()
            .find(|f| f.id == "block-added")
            .expect("block-added");
        assert_eq!(place(added), (5, 3));
        assert!(added.related.is_empty(), "{added:#?}");
        assert!(
            added.message.contains("(size: 4Gi, storageClass: gp3)"),
            "{}",
            added.message
        );
        let hint = added.hint.as_deref().unwrap();
        assert!(
            hint.contains("larger than the chart's default") && hint.contains("data migration"),
            "{hint}"
        );
        // Its size is reported against the chart's default, also without a base place.
        let grow = f.iter().find(|f| f.id == "grow").expect("grow");
        assert!(grow.related.is_empty());
    }

    #[test]
    fn every_falsy_enabled_is_a_disable() {
        let base = "kafka:\n  persistence:\n    enabled: true\n    size: 20Gi\n";
        for falsy in [
            "false", "0", "\"\"", "[]", "{}", "0.0", "null", "~", "", "off", "no",
        ] {
            let head = format!("kafka:\n  persistence:\n    enabled: {falsy}\n    size: 20Gi\n");
            let f = run(base, &head);
            assert!(f.iter().any(|x| x.id == "disable"), "{falsy}: {f:?}");
        }
        let head = "kafka:\n  persistence:\n    enabled: \"false\"\n    size: 20Gi\n";
        assert!(
            !run(base, head).iter().any(|x| x.id == "disable"),
            "the string \"false\" is true to a template"
        );
    }

    #[test]
    fn every_finding_has_a_hint() {
        let base = "kafka:\n  replicaCount: 3\n  persistence:\n    enabled: false\n    size: 20Gi\n    storageClass: gp2\nzookeeper:\n  persistence:\n    enabled: true\n    size: 8Gi\n";
        let head = "kafka:\n  replicaCount: 1\n  persistence:\n    enabled: true\n    size: 10G\n    storageClass: gp3\nzookeeper:\n  persistence:\n    enabled: false\n    size: 8 Gi\npersistence:\n  size: 1\n";
        let f = run(base, head);
        let ids: Vec<&str> = f.iter().map(|f| f.id).collect();
        for id in [
            "replicas-down",
            "enable",
            "shrink",
            "immutable",
            "disable",
            "invalid-size",
            "block-added",
        ] {
            assert!(ids.contains(&id), "{id}: {ids:?}");
        }
        assert!(
            f.iter()
                .all(|f| f.hint.is_some() && crate::finding::describe(f.id).is_some()),
            "{f:#?}"
        );
    }
}
