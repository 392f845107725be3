//! `validate`: values files and manifest streams against the bundled schemas, every error with
//! its file, line and column.

use crate::schema::{self, Violation};
use crate::stream;
use crate::yaml::{self, Pos};
use serde_json::Value;
use std::fmt;

/// One schema violation, placed in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub pos: Pos,
    pub pointer: String,
    /// `StatefulSet kafka`, for a manifest; empty for a values file.
    pub object: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}:{}: error: {} (at {at}",
            self.file, self.pos, self.message
        )?;
        if !self.object.is_empty() {
            write!(f, " of {}", self.object)?;
        }
        f.write_str(")")
    }
}

/// The outcome for one file: its findings and, for a stream, how many documents were checked.
#[derive(Debug, Default)]
pub struct FileReport {
    pub findings: Vec<Finding>,
    pub valid: usize,
    pub invalid: usize,
    /// Documents of kinds without a bundled schema.
    pub skipped: usize,
}

fn place(file: &str, tree: Option<&yaml::Node>, object: &str, v: Violation) -> Finding {
    let pos = tree.map_or(Pos { line: 1, col: 1 }, |t| {
        schema::node_at_pointer(t, &v.pointer).pos
    });
    Finding {
        file: file.to_owned(),
        pos,
        pointer: v.pointer,
        object: object.to_owned(),
        message: v.message,
    }
}

/// Validates a values file: the persistence blocks at the known paths, and the chart's own
/// values.schema.json when given. `Err` when the file can't be parsed.
pub fn values_file(
    file: &str,
    text: &str,
    chart_schema: Option<&jsonschema::Validator>,
) -> Result<FileReport, String> {
    let loaded = schema::load_yaml_for_validation(file, text)?;
    let mut violations = schema::validate_values_persistence(&loaded.json);
    if let Some(v) = chart_schema {
        let json = if loaded.json.is_null() {
            Value::Object(Default::default())
        } else {
            loaded.json.clone()
        };
        violations.extend(schema::collect(v, &json));
    }
    let findings: Vec<Finding> = violations
        .into_iter()
        .map(|v| place(file, loaded.tree.as_ref(), "", v))
        .collect();
    let invalid = usize::from(!findings.is_empty());
    Ok(FileReport {
        findings,
        valid: 1 - invalid,
        invalid,
        skipped: 0,
    })
}

/// True when a document's text may hold one of the kinds with a bundled schema.
fn may_have_schema(text: &str) -> bool {
    schema::KINDS.iter().any(|(k, _)| text.contains(k)) || text.contains('\\')
}

/// Validates every document of a manifest stream whose kind has a bundled schema.
pub fn manifest_stream(file: &str, text: &str, version: &str) -> Result<FileReport, String> {
    let mut report = FileReport::default();
    for chunk in stream::split(text) {
        let doc_text = &text[chunk.range.clone()];
        if !stream::has_content(doc_text) {
            continue;
        }
        if !may_have_schema(doc_text) {
            report.skipped += 1;
            continue;
        }
        let (json, tree) = parse_document(file, doc_text, chunk.range.start, chunk.line)?;
        match schema::validate_object(version, &json)? {
            None => report.skipped += 1,
            Some(violations) if violations.is_empty() => report.valid += 1,
            Some(violations) => {
                report.invalid += 1;
                let object = format!(
                    "{} {}",
                    json.get("kind").and_then(Value::as_str).unwrap_or("?"),
                    json.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                );
                report.findings.extend(
                    violations
                        .into_iter()
                        .map(|v| place(file, tree.as_ref(), &object, v)),
                );
            }
        }
    }
    Ok(report)
}

/// One document of a stream as JSON data and as a span tree (for positions in the whole stream).
pub fn parse_document(
    file: &str,
    doc_text: &str,
    base: usize,
    line: usize,
) -> Result<(Value, Option<yaml::Node>), String> {
    let docs = yaml::parse_stream(doc_text, base, line - 1).map_err(|e| format!("{file}:{e}"))?;
    let tree = docs.into_iter().find_map(|d| d.root);
    let json = match &tree {
        Some(t) => crate::data::to_json(t).map_err(|e| format!("{file}:{line}: {e}"))?,
        None => Value::Null,
    };
    Ok((json, tree))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_findings_have_lines() {
        let text = "---\nkind: ConfigMap\napiVersion: v1\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data-k-0\nspec:\n  resources:\n    requests:\n      storage: 20GiB\n";
        let r = manifest_stream("m.yaml", text, "1.32").unwrap();
        assert_eq!((r.valid, r.invalid, r.skipped), (0, 1, 1));
        assert_eq!(r.findings.len(), 1);
        let f = r.findings[0].to_string();
        assert!(
            f.starts_with("m.yaml:12:16: error: \"20GiB\" is not a Kubernetes quantity"),
            "{f}"
        );
        assert!(
            f.ends_with("(at /spec/resources/requests/storage of PersistentVolumeClaim data-k-0)"),
            "{f}"
        );
    }

    #[test]
    fn values_findings_have_lines() {
        let r = values_file(
            "v.yaml",
            "kafka:\n  persistence:\n    enabled: yes please\n    size: 20\n",
            None,
        )
        .unwrap();
        let lines: Vec<String> = r.findings.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("v.yaml:3:14: error:")
                || lines[1].starts_with("v.yaml:3:14: error:"),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("v.yaml:4:11: error: 20 is not of type \"string\"")),
            "{lines:?}"
        );
    }
}
