//! Generic RFC 6902 JSON patches with targets, for what a chart does not expose (like
//! kustomize's `patches:`). Only the documents a patch applies to are re-serialised.
//!
//! The file format (YAML or JSON), described by `schema/patch-file.schema.json`:
//!
//! ```yaml
//! patches:
//!   - target: {kind: StatefulSet, name: "*-kafka", namespace: posthog, labelSelector: "app=kafka"}
//!     patch:
//!       - {op: add, path: /metadata/annotations/example.com~1owner, value: data-team}
//! ```

use crate::k8s::objects;
use crate::k8s::release::{self, Release, Want};
use crate::k8s::schema;
use crate::k8s::stream;
use crate::yaml::{Pos, data};
use serde::Deserialize;
use serde_json::Value;
use std::cell::Cell;

/// A failure of the post-renderer (or of a patch it applies), with the line in the input stream
/// where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.pos {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RenderError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchFile {
    patches: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    target: Target,
    patch: json_patch::Patch,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Target {
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    label_selector: Option<String>,
}

/// One term of an equality-based label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

#[derive(Debug)]
struct Loaded {
    file: String,
    index: usize,
    target: Target,
    selector: Vec<Term>,
    patch: json_patch::Patch,
    used: Cell<bool>,
}

/// The patches of one or more files, validated and ready to apply.
#[derive(Debug, Default)]
pub struct PatchSet {
    entries: Vec<Loaded>,
}

fn parse_selector(s: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    for raw in s.split(',') {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        if t.contains(" in ") || t.contains(" notin ") || t.contains('(') {
            return Err(format!(
                "set-based selector {t:?} is not supported; use equality terms (k=v, k!=v, k, !k)"
            ));
        }
        let term = if let Some((k, v)) = t.split_once("!=") {
            Term::NotEquals(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
            Term::Equals(k.trim().into(), v.trim().into())
        } else if let Some(k) = t.strip_prefix('!') {
            Term::NotExists(k.trim().into())
        } else {
            Term::Exists(t.into())
        };
        terms.push(term);
    }
    Ok(terms)
}

impl PatchSet {
    /// Loads and validates one patch file's text (`name` is used in messages).
    pub fn add_file(&mut self, name: &str, text: &str) -> Result<(), String> {
        let value = schema::load_yaml_for_validation(name, text)?;
        let errors = schema::validate_patch_file(&value.json);
        if !errors.is_empty() {
            let lines: Vec<String> = errors.iter().map(|e| value.describe(name, e)).collect();
            return Err(format!(
                "{} does not follow the patch file format:\n{}",
                name,
                lines.join("\n")
            ));
        }
        let file: PatchFile = serde_json::from_value(value.json.clone())
            .map_err(|e| format!("{name}: not a patch file: {e}"))?;
        for (index, entry) in file.patches.into_iter().enumerate() {
            let selector = match &entry.target.label_selector {
                Some(s) => parse_selector(s)
                    .map_err(|e| format!("{name}: patches[{index}].target.labelSelector: {e}"))?,
                None => Vec::new(),
            };
            self.entries.push(Loaded {
                file: name.to_owned(),
                index,
                target: entry.target,
                selector,
                patch: entry.patch,
                used: Cell::new(false),
            });
        }
        Ok(())
    }

    /// True when no patch was loaded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Applies the matching patches to one document. Returns the new text and a description, or
    /// `None` when no patch targets the document.
    pub fn apply(&self, text: &str, line: usize) -> Result<Option<(String, String)>, RenderError> {
        if !self.may_target(text) || !stream::has_content(text) {
            return Ok(None);
        }
        let pos = Some(Pos { line, col: 1 });
        let invalid = |e: String| RenderError {
            pos,
            message: format!("invalid YAML in the manifest stream: {e}"),
            hint: None,
        };
        // The chunk as the release model reads it: a patch applies to the objects of the
        // document, the items of its Lists included.
        let chunk = vec![stream::Chunk {
            range: 0..text.len(),
            line,
        }];
        let read = Release::read_chunks(text, chunk, &Want::default())
            .map_err(|e| invalid(release::syntax_finding("<stdin>", &e).to_string()))?;
        let Some((parsed, first)) = read.objects().next() else {
            return Ok(None);
        };
        let mut doc = data::read(parsed.root(first))
            .map_err(|e| invalid(release::data_finding("<stdin>", line, &e).to_string()))?;
        let mut patched = Vec::new();
        for o in parsed.objects.iter().filter(|o| o.doc == first.doc) {
            let pointer = o.pointer();
            let Some(object) = doc.pointer_mut(&pointer) else {
                continue;
            };
            self.patch_object(object, pos, &mut patched)?;
        }
        if patched.is_empty() {
            return Ok(None);
        }
        patched.dedup();
        // Written so that Helm and kubectl (go-yaml, YAML 1.1) read back exactly the patched data:
        // `"yes"`, `"1_000"`, `"~"` stay strings.
        let body = crate::yaml::to_yaml(&doc);
        Ok(Some((
            format!("{}{}{}", leading(text), body, trailing(text)),
            patched.join(", "),
        )))
    }

    /// Whether a patch may target the document: its kind and name (a glob's literal part) are in
    /// the text. A kind or name spelt with escapes (`"State\x66ulSet"`) is found too.
    fn may_target(&self, text: &str) -> bool {
        self.entries.iter().any(|e| {
            e.target
                .kind
                .as_deref()
                .is_none_or(|k| stream::holds_any(text, &[k]))
                && e.target
                    .name
                    .as_deref()
                    .is_none_or(|n| stream::holds_any(text, &[objects::glob_literal(n)]))
        })
    }

    /// Applies the patches that match `object` to it, each noted in `patched` as `KIND NAME`.
    fn patch_object(
        &self,
        object: &mut Value,
        pos: Option<Pos>,
        patched: &mut Vec<String>,
    ) -> Result<(), RenderError> {
        let s = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let (kind, name) = (
            s("/kind").unwrap_or_default(),
            s("/metadata/name").unwrap_or_default(),
        );
        let namespace = s("/metadata/namespace");
        let labels = object
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or(Value::Null);
        for e in &self.entries {
            if !e.matches(&kind, &name, namespace.as_deref(), &labels) {
                continue;
            }
            json_patch::patch(object, &e.patch).map_err(|pe| RenderError {
                pos,
                message: format!(
                    "{} patches[{}] failed on {kind} {name}: {pe}",
                    e.file, e.index
                ),
                hint: Some(
                    "a `replace` or `remove` needs the path to exist; use `add` to create it, and `~1` for a `/` in a key"
                        .to_owned(),
                ),
            })?;
            e.used.set(true);
            patched.push(format!("{kind} {name}"));
        }
        Ok(())
    }

    /// Every patch must have applied somewhere (kustomize fails the same way).
    pub fn check_all_used(&self) -> Result<(), RenderError> {
        if let Some(e) = self.entries.iter().find(|e| !e.used.get()) {
            return Err(RenderError {
                pos: None,
                message: format!(
                    "{} patches[{}] matched no document in the stream",
                    e.file, e.index
                ),
                hint: Some(
                    "check target.kind, target.name (a glob) and target.namespace".to_owned(),
                ),
            });
        }
        Ok(())
    }
}

impl Loaded {
    fn matches(&self, kind: &str, name: &str, namespace: Option<&str>, labels: &Value) -> bool {
        let t = &self.target;
        t.kind.as_deref().is_none_or(|k| k == kind)
            && t.name
                .as_deref()
                .is_none_or(|n| objects::glob_match(n, name))
            && t.namespace
                .as_deref()
                .is_none_or(|ns| Some(ns) == namespace)
            && self.selector.iter().all(|term| {
                let get = |k: &str| labels.get(k).and_then(Value::as_str);
                match term {
                    Term::Equals(k, v) => get(k) == Some(v.as_str()),
                    Term::NotEquals(k, v) => get(k) != Some(v.as_str()),
                    Term::Exists(k) => get(k).is_some(),
                    Term::NotExists(k) => get(k).is_none(),
                }
            })
    }
}

/// The marker, comment and blank lines before a document's content (kept when it is rewritten).
fn leading(text: &str) -> &str {
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t == "---" {
            end += line.len();
        } else {
            break;
        }
    }
    &text[..end]
}

/// The white-space-only lines after a document's content.
fn trailing(text: &str) -> &str {
    let trimmed = text.trim_end();
    let cut = text[trimmed.len()..]
        .find('\n')
        .map_or(text.len(), |i| trimmed.len() + i + 1);
    &text[cut..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(
            parse_selector("a=b, c!=d,e,!f").unwrap(),
            vec![
                Term::Equals("a".into(), "b".into()),
                Term::NotEquals("c".into(), "d".into()),
                Term::Exists("e".into()),
                Term::NotExists("f".into())
            ]
        );
        assert!(parse_selector("a in (b)").is_err());
    }

    #[test]
    fn keeps_leading_and_trailing_lines() {
        let doc = "---\n# Source: x\nkind: A\nmetadata:\n  name: a\n  \n\n";
        assert_eq!(leading(doc), "---\n# Source: x\n");
        assert_eq!(trailing(doc), "  \n\n");
    }

    #[test]
    fn applies_and_reports_unused() {
        let mut set = PatchSet::default();
        set.add_file(
            "p.yaml",
            "patches:\n  - target: {kind: ConfigMap, name: 'c*'}\n    patch:\n      - {op: add, path: /data/x, value: '1'}\n",
        )
        .unwrap();
        let (out, id) = set
            .apply(
                "---\n# Source: s\nkind: ConfigMap\nmetadata:\n  name: cm\ndata: {}\n",
                1,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            "---\n# Source: s\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  x: '1'\n"
        );
        assert_eq!(id, "ConfigMap cm");
        set.check_all_used().unwrap();
        assert!(
            set.apply("kind: Secret\nmetadata: {name: cm}\n", 1)
                .unwrap()
                .is_none()
        );
        let e = set
            .add_file(
                "bad.yaml",
                "patches:\n  - target: {kind: 3}\n    patch: []\n",
            )
            .unwrap_err();
        assert!(e.contains("bad.yaml:2:"), "{e}");
    }
}
