//! SARIF 2.1.0 (OASIS), the format GitHub code scanning uploads: one run, one rule per finding
//! id, one result per finding. Columns count Unicode code points (`columnKind`), as ours do.

use super::paths::RepoPaths;
use crate::finding::{Finding, Location, Report, Severity};
use serde_json::{Value, json};

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "note",
    }
}

/// A path as a URI reference: unreserved characters and `/` kept, every other byte
/// percent-encoded (RFC 3986).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn artifact(file: &str, paths: &mut RepoPaths) -> Value {
    let rel = paths.relative(file);
    if rel.starts_with('/') {
        json!({"uri": format!("file://{}", uri_path(&rel))})
    } else {
        json!({"uri": uri_path(&rel), "uriBaseId": "%SRCROOT%"})
    }
}

fn physical(loc: &Location, paths: &mut RepoPaths) -> Value {
    json!({
        "artifactLocation": artifact(&loc.file, paths),
        "region": {"startLine": loc.line, "startColumn": loc.column},
    })
}

fn result(f: &Finding, rule_index: usize, paths: &mut RepoPaths) -> Value {
    let mut text = f.message.clone();
    if let Some(hint) = &f.hint {
        text.push_str(&format!("\nhint: {hint}"));
    }
    let mut r = json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": text},
        "locations": f.location.iter().map(|l| json!({"physicalLocation": physical(l, paths)})).collect::<Vec<_>>(),
    });
    if !f.related.is_empty() {
        let related: Vec<Value> = f
            .related
            .iter()
            .enumerate()
            .map(|(i, l)| {
                json!({
                    "id": i,
                    "physicalLocation": physical(l, paths),
                    "message": {"text": l.label.as_deref().unwrap_or("see also")},
                })
            })
            .collect();
        r["relatedLocations"] = Value::Array(related);
    }
    let mut props = serde_json::Map::new();
    if let Some(p) = &f.path {
        props.insert("path".into(), json!(p));
    }
    props.insert("blocking".into(), json!(f.blocking));
    r["properties"] = Value::Object(props);
    r
}

/// The SARIF log as a JSON value.
pub fn value(report: &Report, paths: &mut RepoPaths) -> Value {
    let mut ids: Vec<&'static str> = Vec::new();
    for f in &report.findings {
        if !ids.contains(&f.id) {
            ids.push(f.id);
        }
    }
    let rules: Vec<Value> = ids
        .iter()
        .map(|id| match crate::finding::describe(id) {
            Some(d) => json!({"id": id, "shortDescription": {"text": d}}),
            None => json!({"id": id}),
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = ids.iter().position(|id| *id == f.id).expect("rule listed");
            result(f, index, paths)
        })
        .collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pvc-resize",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "properties": {"command": report.command, "blocking": report.blocking()},
            "results": results,
        }],
    })
}

/// The SARIF log, pretty-printed, ending with a newline.
pub fn render(report: &Report, paths: &mut RepoPaths) -> String {
    serde_json::to_string_pretty(&value(report, paths)).expect("a JSON value serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(
            uri_path("deploy/a b%,é.yaml"),
            "deploy/a%20b%25%2C%C3%A9.yaml"
        );
        assert_eq!(uri_path("<stdin>"), "%3Cstdin%3E");
    }
}
