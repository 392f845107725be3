//! A cluster snapshot: what `kubectl get storageclass,pvc,statefulset [-n NS | -A] -o yaml`
//! prints (a `List`), or a stream of objects. Read once into its objects, each with the line it
//! starts on; `plan --cluster` keeps one namespace of it, `advise` reads every namespace.

use crate::finding::{Finding, Location, Severity};
use crate::k8s::schema::syntax_finding;
use crate::k8s::stream;
use crate::yaml;
use serde_json::Value;

/// One object of the snapshot.
#[derive(Debug, Clone)]
pub struct Object {
    pub kind: String,
    /// Empty for a cluster-scoped object (a StorageClass).
    pub namespace: String,
    pub name: String,
    pub json: Value,
    /// The 1-based line where the object starts in the file.
    pub line: usize,
}

impl Object {
    /// The string at a JSON pointer.
    pub fn str(&self, pointer: &str) -> Option<&str> {
        self.json.pointer(pointer).and_then(Value::as_str)
    }
}

/// Every object of the snapshot, `List`s expanded, in file order.
pub fn read(name: &str, text: &str) -> Result<Vec<Object>, String> {
    let mut out = Vec::new();
    for chunk in stream::split(text) {
        let doc = &text[chunk.range.clone()];
        if !stream::has_content(doc) {
            continue;
        }
        let docs = yaml::parse_stream(doc, chunk.range.start, chunk.line - 1)
            .map_err(|e| syntax_finding(name, &e).to_string())?;
        let Some(tree) = docs.into_iter().find_map(|d| d.root) else {
            continue;
        };
        let json = yaml::data::to_json(&tree).map_err(|e| {
            Finding::new("invalid-yaml", Severity::Error, e)
                .at(Location::new(name, tree.pos))
                .hint("write the document out instead of through nested aliases")
                .to_string()
        })?;
        if json
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
        {
            let lines: Vec<usize> = tree
                .get("items")
                .map(|i| i.items().iter().map(|n| n.pos.line).collect())
                .unwrap_or_default();
            let items = match json {
                Value::Object(mut o) => match o.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            for (i, item) in items.into_iter().enumerate() {
                out.push(object(item, lines.get(i).copied().unwrap_or(chunk.line)));
            }
        } else {
            out.push(object(json, tree.pos.line));
        }
    }
    Ok(out)
}

fn object(json: Value, line: usize) -> Object {
    let s = |p: &str| {
        json.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Object {
        kind: s("/kind"),
        namespace: s("/metadata/namespace"),
        name: s("/metadata/name"),
        line,
        json,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_expanded_with_lines() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: PersistentVolumeClaim\n  metadata:\n    name: data-k-0\n    namespace: ns\n- kind: StorageClass\n  metadata:\n    name: gp3\n---\nkind: StatefulSet\nmetadata:\n  name: k\n  namespace: ns\n";
        let objs = read("c.yaml", text).unwrap();
        let got: Vec<(&str, &str, &str, usize)> = objs
            .iter()
            .map(|o| {
                (
                    o.kind.as_str(),
                    o.namespace.as_str(),
                    o.name.as_str(),
                    o.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("PersistentVolumeClaim", "ns", "data-k-0", 4),
                ("StorageClass", "", "gp3", 9),
                ("StatefulSet", "ns", "k", 13),
            ]
        );
        let e = read("c.yaml", "kind: [\n").unwrap_err();
        assert!(e.starts_with("c.yaml:"), "{e}");
    }
}
