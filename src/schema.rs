//! JSON Schema validation with the schemas in `schema/`, compiled once, offline (the jsonschema
//! crate is built without its HTTP and file resolvers), with errors mapped back to YAML lines.

use crate::yaml::{self, Kind, Node, Pos};
use serde_json::Value;
use std::sync::OnceLock;

/// The patch file format of `post-render --patch`.
pub const PATCH_FILE_SCHEMA: &str = include_str!("../schema/patch-file.schema.json");

/// One schema violation: where in the instance (a JSON pointer) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

fn compile(text: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(text).expect("bundled schema is JSON");
    jsonschema::validator_for(&schema).expect("bundled schema compiles")
}

fn collect(validator: &jsonschema::Validator, instance: &Value) -> Vec<Violation> {
    validator
        .iter_errors(instance)
        .map(|e| Violation {
            pointer: e.instance_path().as_str().to_owned(),
            message: e.to_string(),
        })
        .collect()
}

/// Validates a patch file against `schema/patch-file.schema.json`.
pub fn validate_patch_file(instance: &Value) -> Vec<Violation> {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    collect(V.get_or_init(|| compile(PATCH_FILE_SCHEMA)), instance)
}

/// A YAML file read twice: as JSON data for the validator, and as a span tree for positions.
pub struct YamlForValidation {
    pub json: Value,
    pub tree: Option<Node>,
}

/// Parses a single-document YAML file for validation. Errors name the file, line and column.
pub fn load_yaml_for_validation(name: &str, text: &str) -> Result<YamlForValidation, String> {
    let docs = yaml::parse_stream(text, 0, 0).map_err(|e| format!("{name}:{e}"))?;
    if docs.len() > 1 {
        return Err(format!(
            "{name}: holds {} YAML documents; expected one",
            docs.len()
        ));
    }
    let tree = docs.into_iter().next().and_then(|d| d.root);
    let json: Value = if tree.is_none() {
        Value::Null
    } else {
        serde_yaml::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("{name}:{}:{}: {e}", l.line(), l.column()),
            None => format!("{name}: {e}"),
        })?
    };
    Ok(YamlForValidation { json, tree })
}

impl YamlForValidation {
    /// `file:line:col: message` for a violation, pointing at the offending node.
    pub fn describe(&self, name: &str, v: &Violation) -> String {
        let pos = self.tree.as_ref().map_or(Pos { line: 1, col: 1 }, |t| {
            node_at_pointer(t, &v.pointer).pos
        });
        let at = if v.pointer.is_empty() {
            "/".to_owned()
        } else {
            v.pointer.clone()
        };
        format!("{name}:{pos}: {} (at {at})", v.message)
    }
}

/// The deepest node of a tree that a JSON pointer reaches (the root when nothing matches).
pub fn node_at_pointer<'a>(root: &'a Node, pointer: &str) -> &'a Node {
    let mut node = root;
    for raw in pointer.split('/').skip(1) {
        let key = raw.replace("~1", "/").replace("~0", "~");
        let next = match &node.kind {
            Kind::Mapping { .. } => node.get(&key),
            Kind::Sequence { items, .. } => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_positions() {
        let src = "a:\n  - x\n  - {b: 1}\n";
        let l = load_yaml_for_validation("f", src).unwrap();
        let tree = l.tree.as_ref().unwrap();
        assert_eq!(node_at_pointer(tree, "/a/1/b").pos, Pos { line: 3, col: 9 });
        assert_eq!(node_at_pointer(tree, "/a/9").pos, Pos { line: 2, col: 3 });
    }

    #[test]
    fn patch_schema_reports_all_errors() {
        let l = load_yaml_for_validation(
            "p.yaml",
            "patches:\n  - target: {kind: 3}\n    patch:\n      - {op: frob, path: x}\n",
        )
        .unwrap();
        let v = validate_patch_file(&l.json);
        assert!(v.len() >= 3, "{v:?}");
        let text: Vec<String> = v.iter().map(|x| l.describe("p.yaml", x)).collect();
        assert!(
            text.iter().any(|t| t.starts_with("p.yaml:2:20:")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.starts_with("p.yaml:4:")), "{text:?}");
    }
}
