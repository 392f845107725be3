//! `post-render --claim-typemeta`: writes `apiVersion: v1` and `kind: PersistentVolumeClaim` into
//! every StatefulSet claim template that lacks them.
//!
//! The API server returns claim templates with both fields set, so a GitOps tool that compares
//! the live object with the render (Argo CD with server-side apply or diff: gitops-engine strips
//! the server's additions to claim templates only in its legacy three-way diff) shows such
//! StatefulSets OutOfSync forever (argo-cd#16707, #11143). Chart maintainers fix it by writing the
//! fields (dapr#8067, VictoriaMetrics helm-charts#1092, qdrant-helm#470); this does the same at
//! render time. Current API servers return the two fields themselves and let an upgrade add them
//! (the VictoriaMetrics chart did, on existing StatefulSets), so `check` on renders ignores them;
//! kubernetes#87583 (2020) once refused such a re-apply, hence docs/gitops.md's advice to dry-run on
//! an old cluster.
//!
//! Like the size edit, this splices text: every byte outside the inserted lines stays.

use crate::k8s::release::{self, Filter, Release, Want};
use crate::k8s::stream;
use crate::yaml::{Kind, Node};

/// What was added where.
pub struct Added {
    pub output: String,
    /// `(StatefulSet, claim, line)` of every claim template that got the fields.
    pub claims: Vec<(String, String, usize)>,
}

/// Adds the missing fields to every claim template of every StatefulSet of a stream (as the
/// release model reads it: inside Lists too).
pub fn add_claim_typemeta(input: &str) -> Result<Added, String> {
    let mut edits: Vec<(usize, String)> = Vec::new();
    let mut claims = Vec::new();
    let render = Release::read(input, &want()).map_err(|e| format!("{e}"))?;
    for (sts, view) in render.statefulsets() {
        for t in &view.claims {
            if let Some(text) = insertion(input, t.node)? {
                claims.push((sts.name.clone(), t.name.clone(), t.pos.line));
                edits.push((t.node.span.start, text));
            }
        }
    }
    edits.sort_by_key(|(at, _)| *at);
    let mut output = input.to_owned();
    for (at, text) in edits.iter().rev() {
        output.insert_str(*at, text);
    }
    verify(input, &output, edits.len())?;
    Ok(Added { output, claims })
}

fn want() -> Want {
    Want {
        filter: Filter::of(&["StatefulSet", "volumeClaimTemplates"]),
        ..Want::default()
    }
}

/// The text to insert before a claim template's first key, or `None` when it has both fields.
fn insertion(src: &str, t: &Node) -> Result<Option<String>, String> {
    let Kind::Mapping { flow, .. } = &t.kind else {
        return Ok(None);
    };
    let missing: Vec<&str> = [
        ("apiVersion", "apiVersion: v1"),
        ("kind", "kind: PersistentVolumeClaim"),
    ]
    .into_iter()
    .filter(|(k, _)| t.get(k).is_none())
    .map(|(_, line)| line)
    .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let line_start = src[..t.span.start].rfind('\n').map_or(0, |i| i + 1);
    let before = &src[line_start..t.span.start];
    if *flow || !before.chars().all(|c| c == ' ' || c == '-') {
        return Err(format!(
            "{}: claim template written in a form this option does not edit (flow style or on a line with other content)\n  hint: write apiVersion and kind in the chart, or drop --claim-typemeta",
            t.pos
        ));
    }
    let indent = " ".repeat(before.chars().count());
    Ok(Some(
        missing
            .iter()
            .map(|field| format!("{field}\n{indent}"))
            .collect(),
    ))
}

/// Re-reads every edited document: the same data as before, plus the two fields in `added`
/// claim templates; the same number of documents.
fn verify(before: &str, after: &str, added: usize) -> Result<(), String> {
    if stream::count_documents(before) != stream::count_documents(after) {
        return Err("the number of documents changed; nothing written".to_owned());
    }
    let read = |text: &str| -> Result<Vec<serde_json::Value>, String> {
        let (_, objects) =
            release::read_data("<stdin>", text, &want(), |o| o.kind == "StatefulSet")
                .map_err(|f| f.to_string())?;
        Ok(objects.into_iter().map(|(_, _, json)| json).collect())
    };
    let (mut a, b) = (read(before)?, read(after)?);
    let mut filled = 0;
    for doc in &mut a {
        if doc["kind"] != "StatefulSet" {
            continue;
        }
        if let Some(ts) = doc
            .pointer_mut("/spec/volumeClaimTemplates")
            .and_then(serde_json::Value::as_array_mut)
        {
            for t in ts.iter_mut().filter_map(serde_json::Value::as_object_mut) {
                if !(t.contains_key("apiVersion") && t.contains_key("kind")) {
                    filled += 1;
                }
                t.entry("apiVersion").or_insert("v1".into());
                t.entry("kind").or_insert("PersistentVolumeClaim".into());
            }
        }
    }
    if a != b || filled != added {
        return Err("internal error: the edited claim templates do not read back as expected; nothing written".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_only_what_is_missing_and_keeps_every_other_byte() {
        let src = "---\n# Source: x\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: k\nspec:\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec: {}\n    -   apiVersion: v1\n        metadata: {name: logs}\n---\nkind: ConfigMap\n";
        let a = add_claim_typemeta(src).unwrap();
        assert_eq!(
            a.output,
            "---\n# Source: x\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: k\nspec:\n  volumeClaimTemplates:\n    - apiVersion: v1\n      kind: PersistentVolumeClaim\n      metadata:\n        name: data\n      spec: {}\n    -   kind: PersistentVolumeClaim\n        apiVersion: v1\n        metadata: {name: logs}\n---\nkind: ConfigMap\n"
        );
        assert_eq!(a.claims.len(), 2);
        let again = add_claim_typemeta(&a.output).unwrap();
        assert_eq!(again.output, a.output);
        assert!(again.claims.is_empty());
        assert!(
            add_claim_typemeta(
                "kind: StatefulSet\nspec:\n  volumeClaimTemplates: [{metadata: {name: d}}]\n"
            )
            .is_err()
        );
    }
}
