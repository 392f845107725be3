//! `check`: the pre-merge gate. Compares two versions of a values file and classifies every
//! change under the persistence blocks the tool knows (and any `--path`).

use crate::quantity::Quantity;
use crate::schema::PERSISTENCE_PATHS;
use crate::yaml::{self, Node, Pos};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One classified change, placed in the head file (and the base file where useful).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable name: `grow`, `shrink`, `invalid-size`, `decimal-size`, `disable`, `enable`,
    /// `immutable`, `block-added`, `block-removed`, `replicas-up`, `replicas-down`.
    pub code: &'static str,
    /// The values path the finding is about.
    pub path: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_line: Option<usize>,
    pub message: String,
}

/// A parsed values file: data for comparing, the tree for line numbers.
pub struct Side {
    pub name: String,
    pub json: Value,
    pub tree: Option<Node>,
}

impl Side {
    /// Parses one version of the values file. Errors name the file, line and column.
    pub fn parse(name: &str, text: &str) -> Result<Side, String> {
        let loaded = crate::schema::load_yaml_for_validation(name, text)?;
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
            best = if matches!(v.kind, yaml::Kind::Scalar { .. } | yaml::Kind::Alias(_)) {
                v.pos
            } else {
                k.pos
            };
            node = v;
        }
        best
    }
}

/// Classifies the changes between two versions. `extra` adds persistence block paths.
pub fn compare(base: &Side, head: &Side, extra: &[String]) -> Vec<Finding> {
    let mut blocks: Vec<String> = PERSISTENCE_PATHS.iter().map(|s| s.to_string()).collect();
    for p in extra {
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
    out.sort_by_key(|f| (f.line, std::cmp::Reverse(f.severity)));
    out
}

fn finding(
    head: &Side,
    base: &Side,
    severity: Severity,
    code: &'static str,
    path: &[&str],
    message: String,
) -> Finding {
    let pos = head.pos(path);
    let base_line = base.tree.as_ref().map(|_| base.pos(path).line);
    Finding {
        severity,
        code,
        path: path.join("."),
        line: pos.line,
        column: pos.col,
        base_line,
        message,
    }
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

fn compare_block(base: &Side, head: &Side, block: &[&str], out: &mut Vec<Finding>) {
    let (b, h) = (base.get(block), head.get(block));
    let name = block.join(".");
    let with = |key: &'static str| -> Vec<&str> {
        let mut p = block.to_vec();
        p.push(key);
        p
    };
    match (b, h) {
        (None, None) => return,
        (None, Some(_)) => out.push(finding(
            head,
            base,
            Severity::Notice,
            "block-added",
            block,
            format!("{name} is now set in this file: where it changes the chart's defaults (size, class, enabled), the rules below apply on the next upgrade"),
        )),
        (Some(_), None) => out.push(finding(
            head,
            base,
            Severity::Notice,
            "block-removed",
            block,
            format!("{name} was removed from this file: the chart's defaults apply again; if its default size is smaller than {}, the upgrade would try to shrink the claim templates", show(base.get(&with("size")))),
        )),
        (Some(_), Some(_)) => {}
    }

    // enabled
    let enabled = |s: &Side| s.get(&with("enabled")).and_then(Value::as_bool);
    match (enabled(base), enabled(head)) {
        (Some(true) | None, Some(false)) if b.is_some() => out.push(finding(
            head,
            base,
            Severity::Error,
            "disable",
            &with("enabled"),
            format!("{name}.enabled turns false: the StatefulSet loses its volume and the pods start on empty disks (data loss); keep it true, or migrate the data first"),
        )),
        (Some(false), Some(true) | None) if h.is_some() => out.push(finding(
            head,
            base,
            Severity::Notice,
            "enable",
            &with("enabled"),
            format!("{name}.enabled turns true: new PVCs are created for every replica; the StatefulSet must be re-created (claim templates are immutable)"),
        )),
        _ => {}
    }

    // size
    let size_path = with("size");
    let (bs, hs) = (base.get(&size_path), head.get(&size_path));
    if bs != hs
        && let Some(hv) = hs
    {
        let text = show(Some(hv));
        match (hv.as_str().map(Quantity::parse), hv) {
            (Some(Err(e)), _) => out.push(finding(
                head,
                base,
                Severity::Error,
                "invalid-size",
                &size_path,
                format!("{name}.size {text:?} is not a Kubernetes quantity: {e}; {}", crate::quantity::suggest(&text)),
            )),
            (None, _) => out.push(finding(
                head,
                base,
                Severity::Error,
                "invalid-size",
                &size_path,
                format!("{name}.size is {text}, not a string: Helm renders an unquoted number as a float (`20` is 20 bytes); write e.g. \"20Gi\""),
            )),
            (Some(Ok(new)), _) => size_change(base, head, &size_path, &name, bs, &text, &new, out),
        }
    }

    // immutable claim template fields
    for key in ["storageClass", "accessModes", "existingClaim", "selector"] as [&'static str; 4] {
        let p = with(key);
        let (bv, hv) = (base.get(&p), head.get(&p));
        if b.is_some() && h.is_some() && bv != hv {
            out.push(finding(
                head,
                base,
                Severity::Error,
                "immutable",
                &p,
                format!(
                    "{name}.{key} changes ({} -> {}): a StatefulSet's volumeClaimTemplates are immutable and existing PVCs keep their {key}; this needs a data migration, not a resize",
                    show(bv),
                    show(hv)
                ),
            ));
        }
    }

    // replicas next to the block
    let rp = replicas_path(block);
    let count = |s: &Side| s.get(&rp).and_then(Value::as_i64);
    if let (Some(from), Some(to)) = (count(base), count(head))
        && from != to
        && h.is_some()
    {
        let (code, what) = if to > from {
            (
                "replicas-up",
                format!(
                    "new PVCs are created for ordinals {from}..{} with the claim template's size",
                    to - 1
                ),
            )
        } else {
            (
                "replicas-down",
                format!(
                    "the PVCs of ordinals {to}..{} are left behind (kept, still billed) unless the StatefulSet's persistentVolumeClaimRetentionPolicy.whenScaled is Delete, which deletes them",
                    from - 1
                ),
            )
        };
        out.push(finding(
            head,
            base,
            Severity::Notice,
            code,
            &rp,
            format!("{} changes {from} -> {to}: {what}", rp.join(".")),
        ));
    }
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
    let Some(old_text) = bs.and_then(Value::as_str) else {
        out.push(finding(
            head,
            base,
            Severity::Notice,
            "grow",
            size_path,
            format!(
                "{name}.size is set to {text} where the chart default applied before: if that is larger than the default, the PVCs must be grown before `helm upgrade`; see `pvc-resize plan --release RELEASE --namespace NAMESPACE --size {text} --manifests RENDERED.yaml --values VALUES.yaml`"
            ),
        ));
        return;
    };
    let Ok(old) = Quantity::parse(old_text) else {
        return;
    };
    let bytes = Quantity::bytes_grouped;
    if *new < old {
        out.push(finding(
            head,
            base,
            Severity::Error,
            "shrink",
            size_path,
            format!(
                "{name}.size shrinks from {old_text} ({} bytes) to {text} ({} bytes): Kubernetes forbids shrinking a PersistentVolumeClaim",
                bytes(&old),
                bytes(new)
            ),
        ));
        return;
    }
    if *new == old {
        return;
    }
    if let Some(message) = crate::quantity::decimal_for_binary(old_text, &old, text, new) {
        out.push(finding(
            head,
            base,
            Severity::Warning,
            "decimal-size",
            size_path,
            format!("{name}.size: {message}"),
        ));
    }
    out.push(finding(
        head,
        base,
        Severity::Notice,
        "grow",
        size_path,
        format!(
            "{name}.size grows {old_text} -> {text} ({} -> {} bytes). Claim templates are immutable, so `helm upgrade` alone fails: first grow each PVC (`kubectl patch pvc`), delete the StatefulSet with --cascade=orphan, then upgrade. The exact commands: `pvc-resize plan --release RELEASE --namespace NAMESPACE --size {text} --manifests RENDERED.yaml --values VALUES.yaml`",
            bytes(&old),
            bytes(new)
        ),
    ));
}

/// True when a finding stops the merge: errors always, warnings and notices of growth with `strict`.
pub fn blocks(f: &Finding, strict: bool) -> bool {
    match f.severity {
        Severity::Error => true,
        Severity::Warning => strict,
        Severity::Notice => strict && f.code == "grow",
    }
}

/// `%`, CR and LF escaped for a GitHub workflow command's message.
pub fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command property value: also `:` and `,`.
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One line of GitHub workflow command for a finding in `file`.
pub fn github_line(file: &str, f: &Finding) -> String {
    format!(
        "::{} file={},line={},col={},title={}::{}",
        f.severity,
        github_property(file),
        f.line,
        f.column,
        github_property(&format!("pvc-resize {}", f.code)),
        github_data(&f.message)
    )
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
        assert_eq!(
            (f[0].code, f[0].severity, f[0].line, f[0].base_line),
            ("grow", Severity::Notice, 4, Some(3))
        );
        let f = run(base, "kafka:\n  persistence:\n    size: 10Gi\n");
        assert_eq!((f[0].code, f[0].severity), ("shrink", Severity::Error));
        assert!(f[0].message.contains("21,474,836,480"));
        assert!(run(base, "kafka:\n  persistence:\n    size: 20480Mi\n").is_empty());
        let f = run(base, "kafka:\n  persistence:\n    size: 50G\n");
        assert_eq!(
            f.iter().map(|x| x.code).collect::<Vec<_>>(),
            vec!["decimal-size", "grow"]
        );
    }

    #[test]
    fn github_escaping() {
        assert_eq!(github_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(github_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
