//! `validate`: values files and manifest streams against the bundled schemas, every error with
//! its file, line and column.

use crate::finding::{Finding, Location, Severity};
use crate::k8s::release::{self, Filter, Parsed, Want};
use crate::k8s::schema::{self, Violation};
use crate::k8s::stream;
use crate::yaml::{self, Kind, Node, Pos};
use serde_json::Value;

/// The outcome for one file: its findings and, for a stream, how many documents were checked.
#[derive(Debug, Default)]
pub struct FileReport {
    pub findings: Vec<Finding>,
    pub valid: usize,
    pub invalid: usize,
    /// Documents of kinds without a bundled schema.
    pub skipped: usize,
}

impl FileReport {
    /// Adds another file's outcome to this one.
    pub fn add(&mut self, other: FileReport) {
        self.findings.extend(other.findings);
        self.valid += other.valid;
        self.invalid += other.invalid;
        self.skipped += other.skipped;
    }
}

/// Where a JSON pointer lands in a tree: a scalar's own position; for a mapping or a list, the
/// key that holds it (the root's first key for the root). With `key` (an unknown key of the
/// mapping at `pointer`), that key itself.
fn locate(tree: Option<&Node>, pointer: &str, key: Option<&str>) -> Pos {
    let Some(root) = tree else {
        return Pos { line: 1, col: 1 };
    };
    let mut node = root;
    let mut pos = root.pos;
    for raw in pointer.split('/').skip(1) {
        let k = raw.replace("~1", "/").replace("~0", "~");
        let (key_node, value) = match &node.kind {
            Kind::Mapping { .. } => match node.entry(&k) {
                Some(e) => e,
                None => return pos,
            },
            Kind::Sequence { items, .. } => {
                match k.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(item) => (item, item),
                    None => return pos,
                }
            }
            _ => return pos,
        };
        pos = if matches!(value.kind, Kind::Scalar { .. } | Kind::Alias(_)) {
            value.pos
        } else {
            key_node.pos
        };
        node = value;
    }
    match key.and_then(|k| node.entry(k)) {
        Some((key_node, _)) => key_node.pos,
        None => pos,
    }
}

/// A chart's own values.schema.json: compiled, and as data (to name the keys it allows).
pub struct ChartSchema {
    pub validator: jsonschema::Validator,
    pub raw: Value,
}

impl ChartSchema {
    /// Compiles the schema in `text`; errors name the file and give the fix.
    pub fn compile(name: &str, text: &str) -> Result<ChartSchema, String> {
        let validator = schema::compile_user_schema(name, text)?;
        let raw = serde_json::from_str(text).expect("compile_user_schema parsed it");
        Ok(ChartSchema { validator, raw })
    }
}

/// The bundled persistence schema as data.
fn persistence_schema() -> &'static Value {
    schema::values_persistence_schema()
}

/// A bundled Kubernetes schema (`kind:StatefulSet`, ...) as data.
fn kubernetes_schema(version: &str, root: &str) -> Option<&'static Value> {
    schema::kubernetes_schema(version, root).ok()
}

/// The keys a schema allows where an unknown key was found: the `properties` beside the failing
/// `additionalProperties` keyword.
fn allowed_keys(raw: &Value, schema_path: &str) -> Vec<String> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    raw.pointer(parent)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Edit distance between two keys, case-insensitive (Levenshtein over characters).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The hint for an unknown key: the allowed key it was probably meant to be, or the allowed keys.
fn unknown_key_hint(raw: Option<&Value>, v: &Violation, key: &str) -> String {
    let allowed = raw
        .map(|r| allowed_keys(r, &v.schema_path))
        .unwrap_or_default();
    let close = allowed
        .iter()
        .map(|k| (distance(k, key), k))
        .filter(|(d, _)| *d <= (key.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d);
    match close {
        Some((_, k)) => format!("did you mean `{k}`? An unknown key is ignored by the chart (and refused by the API server in a manifest)"),
        None if !allowed.is_empty() && allowed.len() <= 16 => format!(
            "fix the key's spelling or remove it; the keys allowed here: {}",
            allowed.join(", ")
        ),
        None => "fix the key's spelling or remove it: the chart ignores an unknown key (and the API server refuses one in a manifest)".to_owned(),
    }
}

/// How to write a value of the type(s) a schema's `type` keyword asks for.
fn type_hint(expected: &Value) -> String {
    let types: Vec<&str> = match expected {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let how = |t: &str| match t {
        "boolean" => "true or false, unquoted",
        "string" => "a quoted string (\"20Gi\", \"yes\")",
        "integer" => "a whole number, unquoted",
        "number" => "a number, unquoted",
        "object" => "a mapping (`key: value` lines indented below the key)",
        "array" => "a list (`- item` lines, or `[a, b]`)",
        "null" => "nothing (or `null`)",
        _ => "a value of that type",
    };
    match types.as_slice() {
        [] => "write a value of the type named in the message".to_owned(),
        ts => format!(
            "write {}",
            ts.iter().map(|t| how(t)).collect::<Vec<_>>().join(", or ")
        ),
    }
}

/// The finding id of a schema keyword, and a hint for it.
fn classify(v: &Violation) -> (&'static str, String) {
    if let Some(text) = &v.quantity {
        return ("invalid-quantity", crate::k8s::quantity::suggest(text));
    }
    match v.keyword.as_str() {
        "additionalProperties" | "unevaluatedProperties" => (
            "unknown-key",
            "fix the key's spelling or remove it: the chart ignores an unknown key (and the API server refuses one in a manifest)".to_owned(),
        ),
        "required" => (
            "missing-key",
            "add the key named in the message to this mapping".to_owned(),
        ),
        "type" => (
            "wrong-type",
            "write a value of the type named in the message; quote strings that YAML would read otherwise (\"20Gi\" is safe, 20 is a number, yes a boolean)".to_owned(),
        ),
        "enum" | "const" | "pattern" | "format" | "minimum" | "maximum" | "exclusiveMinimum"
        | "exclusiveMaximum" | "minLength" | "maxLength" | "minItems" | "maxItems"
        | "uniqueItems" | "multipleOf" => (
            "invalid-value",
            "use a value the rule in the message allows".to_owned(),
        ),
        other => (
            "schema",
            format!("the value breaks the schema's `{other}` rule; see the message"),
        ),
    }
}

/// The findings of one violation: one per unknown key, each at the key itself. `raw` is the
/// schema as data, to name the allowed keys.
fn place(
    file: &str,
    tree: Option<&Node>,
    object: &str,
    raw: Option<&Value>,
    v: Violation,
) -> Vec<Finding> {
    let (id, mut hint) = classify(&v);
    if id == "wrong-type"
        && let Some(expected) = raw.and_then(|r| r.pointer(&v.schema_path))
    {
        hint = type_hint(expected);
    }
    let of = if object.is_empty() {
        String::new()
    } else {
        format!(" of {object}")
    };
    let message = match &v.quantity {
        Some(text) => v
            .message
            .strip_suffix(&format!("; {}", crate::k8s::quantity::suggest(text)))
            .unwrap_or(&v.message)
            .to_owned(),
        None => v.message.clone(),
    };
    let finding = |key: Option<&str>, message: String, pointer: String| {
        let pos = locate(tree, &v.pointer, key);
        let at = if pointer.is_empty() { "/" } else { &pointer };
        let hint = key.map_or(hint.clone(), |k| unknown_key_hint(raw, &v, k));
        Finding::new(id, Severity::Error, format!("{message} (at {at}{of})"))
            .at(Location::new(file, pos))
            .path(pointer.clone())
            .hint(hint)
    };
    if v.unexpected.is_empty() {
        return vec![finding(None, message, v.pointer.clone())];
    }
    v.unexpected
        .iter()
        .map(|k| {
            let escaped = k.replace('~', "~0").replace('/', "~1");
            finding(
                Some(k),
                format!("unknown key {k:?}: the schema allows no such key here"),
                format!("{}/{escaped}", v.pointer),
            )
        })
        .collect()
}

/// Validates a values file: the persistence blocks at the known paths, and the chart's own
/// values.schema.json when given. `Err` when the file can't be parsed: a finding at the place.
pub fn values_file(
    file: &str,
    text: &str,
    chart_schema: Option<&ChartSchema>,
) -> Result<FileReport, Box<Finding>> {
    values_file_in(
        file,
        text,
        chart_schema,
        &crate::charts::layout::persistence_blocks(),
    )
}

/// The same with the persistence blocks of `blocks` (a chart's, from `--chart`) instead of the
/// built-in table's.
pub fn values_file_in(
    file: &str,
    text: &str,
    chart_schema: Option<&ChartSchema>,
    blocks: &[&str],
) -> Result<FileReport, Box<Finding>> {
    let loaded = schema::load_values(file, text)?;
    let tree = loaded.tree.as_ref();
    let mut findings: Vec<Finding> = schema::validate_values_persistence(&loaded.json, blocks)
        .into_iter()
        .flat_map(|v| place(file, tree, "", Some(persistence_schema()), v))
        .collect();
    if let Some(chart) = chart_schema {
        let json = if loaded.json.is_null() {
            Value::Object(Default::default())
        } else {
            loaded.json.clone()
        };
        findings.extend(
            schema::collect(&chart.validator, &json)
                .into_iter()
                .flat_map(|v| place(file, tree, "", Some(&chart.raw), v)),
        );
    }
    let invalid = usize::from(!findings.is_empty());
    Ok(FileReport {
        findings,
        valid: 1 - invalid,
        invalid,
        skipped: 0,
    })
}

/// Checks one object against the schema of its kind, counting it in `report`.
fn check_object(
    file: &str,
    json: &Value,
    tree: Option<&Node>,
    version: &str,
    report: &mut FileReport,
) -> Result<(), Box<Finding>> {
    let checked = schema::validate_object(version, json).map_err(|e| {
        Box::new(
            Finding::new("schema", Severity::Error, e).hint("see `pvc-resize validate --help`"),
        )
    })?;
    match checked {
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
            let kind = json.get("kind").and_then(Value::as_str).unwrap_or("");
            let raw = kubernetes_schema(version, &format!("kind:{kind}"));
            report.findings.extend(
                violations
                    .into_iter()
                    .flat_map(|v| place(file, tree, &object, raw, v)),
            );
        }
    }
    Ok(())
}

/// Validates every object of a manifest stream (as the release model reads it: the items of
/// Lists too) whose kind has a bundled schema. `Err` when a document can't be parsed: a
/// finding at the place.
pub fn manifest_stream(file: &str, text: &str, version: &str) -> Result<FileReport, Box<Finding>> {
    let mut report = FileReport::default();
    let chunks = stream::split(text);
    let kinds: Vec<&str> = schema::KINDS.iter().map(|(k, _)| *k).collect();
    for c in &chunks {
        let doc_text = &text[c.range.clone()];
        if stream::has_content(doc_text) && !stream::holds_any(doc_text, &kinds) {
            report.skipped += 1;
        }
    }
    // Chunk by chunk, each dropped once checked: the stream is never held parsed as a whole.
    let want = Want {
        filter: Filter::any_of(&kinds),
        ..Want::default()
    };
    let syntax = |e: yaml::SyntaxError| Box::new(schema::syntax_finding(file, &e));
    let each = |p: Parsed| -> Result<Vec<FileReport>, Box<Finding>> {
        let line = chunks[p.chunk].line;
        let data = p
            .data(&|_| true)
            .map_err(|e| Box::new(release::data_finding(file, line, &e)))?;
        let mut part = FileReport::default();
        if data.is_empty() && stream::has_content(&text[chunks[p.chunk].range.clone()]) {
            part.skipped += 1;
        }
        for (oi, json) in data {
            check_object(
                file,
                &json,
                Some(p.node(&p.objects[oi])),
                version,
                &mut part,
            )?;
        }
        Ok(vec![part])
    };
    for part in release::scan(text, &chunks, &want, &syntax, &each)? {
        report.valid += part.valid;
        report.invalid += part.invalid;
        report.skipped += part.skipped;
        report.findings.extend(part.findings);
    }
    if report.valid + report.invalid + report.skipped == 0 {
        // What post-render refuses: Helm 3 would delete every resource of the release.
        return Err(Box::new(
            Finding::new(
                "empty-manifests",
                Severity::Error,
                "no Kubernetes object in the manifests (the file is empty, or holds only comments and `---`)",
            )
            .at(Location::new(file, Pos { line: 1, col: 1 }))
            .hint("check that the chart rendered anything (`helm template ...` and its exit status); post-render refuses an empty stream"),
        ));
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
    parse_located(file, doc_text, base, line).map_err(|f| f.to_string())
}

/// The same, with the error as an `invalid-yaml` finding at its place.
pub fn parse_located(
    file: &str,
    doc_text: &str,
    base: usize,
    line: usize,
) -> Result<(Value, Option<yaml::Node>), Box<Finding>> {
    let docs = yaml::parse_stream(doc_text, base, line - 1)
        .map_err(|e| Box::new(schema::syntax_finding(file, &e)))?;
    let tree = docs.into_iter().find_map(|d| d.root);
    let json = match &tree {
        Some(t) => crate::yaml::data::to_json(t).map_err(|e| {
            Box::new(
                Finding::new("invalid-yaml", Severity::Error, e)
                    .at(Location::new(file, Pos { line, col: 1 }))
                    .hint("write the document out instead of through nested aliases"),
            )
        })?,
        None => Value::Null,
    };
    Ok((json, tree))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: &Finding) -> String {
        crate::output::text::finding(f, crate::output::text::Style::default())
    }

    #[test]
    fn manifest_findings_have_lines() {
        let text = "---\nkind: ConfigMap\napiVersion: v1\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data-k-0\nspec:\n  resources:\n    requests:\n      storage: 20GiB\n";
        let r = manifest_stream("m.yaml", text, "1.32").unwrap();
        assert_eq!((r.valid, r.invalid, r.skipped), (0, 1, 1));
        assert_eq!(r.findings.len(), 1);
        let f = line(&r.findings[0]);
        assert!(
            f.starts_with(
                "m.yaml:12:16: error[invalid-quantity]: \"20GiB\" is not a Kubernetes quantity"
            ),
            "{f}"
        );
        assert!(
            f.contains(
                "(at /spec/resources/requests/storage of PersistentVolumeClaim data-k-0)\n  hint: "
            ),
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
        let lines: Vec<String> = r.findings.iter().map(line).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("v.yaml:3:14: error[wrong-type]:")
                || lines[1].starts_with("v.yaml:3:14: error[wrong-type]:"),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("v.yaml:4:11: error[wrong-type]: 20 is not of type \"string\"")),
            "{lines:?}"
        );
    }

    /// Every kind of finding `validate` reports, each at its place.
    #[test]
    fn every_kind_is_located() {
        let chart = ChartSchema::compile(
            "values.schema.json",
            r#"{"type": "object", "required": ["cloud"],
                "properties": {"kafka": {"type": "object", "properties": {
                    "replicaCount": {"minimum": 1},
                    "image": {"not": {"type": "string"}},
                    "heap": {"type": "object", "required": ["max"]}}}}}"#,
        )
        .unwrap();
        let text = "kafka:\n  replicaCount: 0\n  image: bitnami\n  heap:\n    min: 1G\n  persistence:\n    enabled: maybe\n    size: 20 GB\n    storageClas: gp3\n    mountPath: data\n    accessModes: [ReadWriteSome]\n";
        let r = values_file("v.yaml", text, Some(&chart)).unwrap();
        let at = |id: &str, path: &str| {
            r.findings
                .iter()
                .find(|f| f.id == id && f.path.as_deref() == Some(path))
                .unwrap_or_else(|| panic!("no {id} at {path}: {:#?}", r.findings))
                .location
                .as_ref()
                .map(|l| (l.line, l.column))
                .unwrap()
        };
        assert_eq!(at("missing-key", ""), (1, 1), "the root");
        assert_eq!(
            at("missing-key", "/kafka/heap"),
            (4, 3),
            "the key that holds the mapping"
        );
        assert_eq!(at("invalid-value", "/kafka/replicaCount"), (2, 17));
        assert_eq!(at("schema", "/kafka/image"), (3, 10));
        assert_eq!(at("wrong-type", "/kafka/persistence/enabled"), (7, 14));
        assert_eq!(at("invalid-quantity", "/kafka/persistence/size"), (8, 11));
        assert_eq!(
            at("unknown-key", "/kafka/persistence/storageClas"),
            (9, 5),
            "the key, not the mapping's first key"
        );
        assert_eq!(
            at("invalid-value", "/kafka/persistence/mountPath"),
            (10, 16)
        );
        assert_eq!(
            at("invalid-value", "/kafka/persistence/accessModes/0"),
            (11, 19)
        );
        assert!(
            r.findings.iter().all(|f| f.hint.is_some()),
            "{:#?}",
            r.findings
        );
        let hint = |path: &str| {
            r.findings
                .iter()
                .find(|f| f.path.as_deref() == Some(path))
                .and_then(|f| f.hint.clone())
                .unwrap()
        };
        assert_eq!(
            hint("/kafka/persistence/enabled"),
            "write true or false, unquoted"
        );
        assert!(
            hint("/kafka/persistence/storageClas").starts_with("did you mean `storageClass`?"),
            "{}",
            hint("/kafka/persistence/storageClas")
        );
    }

    /// Two unknown keys: two findings, each at its key (a tab before the value is one column).
    #[test]
    fn each_unknown_key_is_located() {
        let r = values_file(
            "v.yaml",
            "kafka:\n  persistence:\n    sise:\t1Gi\n    enable: true\n",
            None,
        )
        .unwrap();
        let places: Vec<(usize, usize)> = r
            .findings
            .iter()
            .map(|f| f.location.as_ref().map(|l| (l.line, l.column)).unwrap())
            .collect();
        assert_eq!(places, vec![(3, 5), (4, 5)], "{:#?}", r.findings);
        let hints: Vec<&str> = r
            .findings
            .iter()
            .filter_map(|f| f.hint.as_deref())
            .collect();
        assert!(hints[0].starts_with("did you mean `size`?"), "{hints:?}");
        assert!(hints[1].starts_with("did you mean `enabled`?"), "{hints:?}");
        // Nothing close: the allowed keys are listed.
        let r = values_file("v.yaml", "persistence:\n  volume: 1Gi\n", None).unwrap();
        let hint = r.findings[0].hint.as_deref().unwrap();
        assert!(
            hint.contains("the keys allowed here: enabled, size, storageClass"),
            "{hint}"
        );
    }

    /// In a manifest, through the Kubernetes schema's $refs.
    #[test]
    fn a_manifest_finding_is_located() {
        let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: k\nspec:\n  serviceName: k\n  selector: {}\n  template: {}\n  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec:\n        resources:\n          request: {storage: 1Gi}\n";
        let r = manifest_stream("m.yaml", sts, "1.32").unwrap();
        let f = r
            .findings
            .iter()
            .find(|f| f.id == "unknown-key")
            .expect("unknown key");
        assert_eq!(
            f.location.as_ref().map(|l| (l.line, l.column)),
            Some((13, 11))
        );
        assert!(
            f.hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `requests`?"),
            "{f:#?}"
        );
    }

    /// Files that can't be read: the place of the syntax error, of the second document.
    #[test]
    fn an_unreadable_file_is_located() {
        let e = values_file("v.yaml", "kafka:\n  persistence: {size: 1Gi\n", None).unwrap_err();
        assert_eq!(
            (e.id, e.location.as_ref().unwrap().line),
            ("invalid-yaml", 2)
        );
        let e = values_file("v.yaml", "a: 1\n---\nb: 2\n", None).unwrap_err();
        let loc = e.location.as_ref().unwrap();
        assert_eq!((e.id, loc.line, loc.column), ("multiple-documents", 3, 1));
        let e = manifest_stream(
            "m.yaml",
            "---\nkind: PersistentVolumeClaim\nspec: [\n",
            "1.32",
        )
        .unwrap_err();
        assert_eq!(
            (e.id, e.location.as_ref().unwrap().line),
            ("invalid-yaml", 3),
            "the open bracket"
        );
    }
}
