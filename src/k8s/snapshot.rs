//! A cluster snapshot: what `kubectl get storageclass,pvc,statefulset [-n NS | -A] -o yaml`
//! prints (a `List`), or a stream of objects. Read once into its objects, each with the line it
//! starts on; `plan --cluster` keeps one namespace of it, `advise` reads every namespace.

use crate::k8s::release::{self, Want};
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

/// Every object of the snapshot, in file order, as the release model reads a stream (`List`s,
/// `*List`s and Lists in Lists expanded).
pub fn read(name: &str, text: &str) -> Result<Vec<Object>, String> {
    let (render, objects) =
        release::read_data(name, text, &Want::default(), |_| true).map_err(|f| f.to_string())?;
    Ok(objects
        .into_iter()
        .map(|(p, o, json)| object(json, render.parsed[p].objects[o].pos.line))
        .collect())
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
