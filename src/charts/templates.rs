//! Reads a chart's templates for the values paths behind a claim's `storage:`: the `.Values`
//! expressions of that line, through `$variables`, `with` blocks and the `include`/`template`
//! helpers (`_helpers.tpl`, Bitnami's `common` subchart), prefixed by the subchart's values key
//! (`global.` stays at the top). These are candidates: [`crate::charts::prove`] decides.

use super::source::Chart;
use std::collections::BTreeMap;

/// One `{{ ... }}` action of a template: its body (delimiters and trim markers off) and the line
/// it starts on (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Action<'t> {
    body: &'t str,
    line: usize,
}

/// The actions of a template, comments left out.
fn actions(text: &str) -> Vec<Action<'_>> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{") {
        let start = rest + open + 2;
        let Some(close) = text[start..].find("}}") else {
            break;
        };
        let body = text[start..start + close]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        rest = start + close + 2;
        if body.starts_with("/*") {
            continue;
        }
        let line = text[..start].matches('\n').count();
        out.push(Action { body, line });
    }
    out
}

/// The first word of an action (`if`, `with`, `end`, ...).
fn keyword(body: &str) -> &str {
    body.split_whitespace().next().unwrap_or("")
}

/// Opens a block that `end` closes.
fn opens(body: &str) -> bool {
    matches!(keyword(body), "if" | "with" | "range" | "define" | "block")
}

/// The bodies of every `define "NAME"` of the chart tree (Helm's templates share one namespace).
pub fn defines(chart: &Chart) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, c) in chart.all() {
        for (path, text) in &c.files {
            if !path.starts_with("templates/") {
                continue;
            }
            collect_defines(text, &mut out);
        }
    }
    out
}

fn collect_defines(text: &str, out: &mut BTreeMap<String, String>) {
    let acts = actions(text);
    let mut i = 0;
    while i < acts.len() {
        let a = &acts[i];
        let name = (keyword(a.body) == "define")
            .then(|| quoted(a.body))
            .flatten();
        let Some(name) = name else {
            i += 1;
            continue;
        };
        let mut depth = 0usize;
        let mut j = i + 1;
        let mut body = Vec::new();
        while j < acts.len() {
            let b = acts[j].body;
            if keyword(b) == "end" {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if opens(b) {
                depth += 1;
            }
            body.push(b);
            j += 1;
        }
        out.entry(name.to_owned())
            .or_insert_with(|| body.join("\n"));
        i = j + 1;
    }
}

/// The first double-quoted string of an action.
fn quoted(body: &str) -> Option<&str> {
    let start = body.find('"')? + 1;
    let len = body[start..].find('"')?;
    Some(&body[start..start + len])
}

/// The dotted paths after every `.Values.` / `$.Values.` of an expression (keys of letters, digits
/// and `_`; `index .Values "a" "b"` too).
fn values_refs(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in body.match_indices(".Values.") {
        let before = body[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ')') {
            continue;
        }
        let path: String = body[at + 8..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let path = path.trim_end_matches('.');
        if !path.is_empty() {
            out.push(path.to_owned());
        }
    }
    for (at, _) in body.match_indices("index ") {
        let rest = body[at + 6..].trim_start();
        let Some(rest) = rest
            .strip_prefix(".Values")
            .or_else(|| rest.strip_prefix("$.Values"))
        else {
            continue;
        };
        let keys: Vec<&str> = rest
            .split_whitespace()
            .map_while(|w| w.strip_prefix('"').and_then(|w| w.strip_suffix('"')))
            .collect();
        if !keys.is_empty() {
            out.push(keys.join("."));
        }
    }
    out
}

/// Fields of the dot (`.size`, not `.Values` or `$x.size`), for a `with` block's context.
fn dot_fields(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in body.match_indices('.') {
        let before = body[..at].chars().next_back();
        if before.is_some_and(|c| !(c.is_whitespace() || c == '(')) {
            continue;
        }
        let field: String = body[at + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let field = field.trim_end_matches('.');
        if !field.is_empty() && !field.starts_with("Values") && !field.starts_with("Release") {
            out.push(field.to_owned());
        }
    }
    out
}

/// The `include`/`template` names an action calls.
fn calls(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for kw in ["include ", "template "] {
        for (at, _) in body.match_indices(kw) {
            if let Some(name) =
                quoted(&body[at..]).filter(|_| body[at + kw.len()..].trim_start().starts_with('"'))
            {
                out.push(name);
            }
        }
    }
    out
}

/// The chart-relative `.Values` paths one action reads, through `$variables` (assigned anywhere in
/// the template) and helpers (to a depth of 6).
fn reads(
    body: &str,
    vars: &BTreeMap<String, Vec<String>>,
    defines: &BTreeMap<String, String>,
    depth: usize,
) -> Vec<String> {
    let mut out = values_refs(body);
    for (name, paths) in vars {
        if body.contains(name.as_str()) {
            let tail = |p: &String| {
                body.split(name.as_str())
                    .skip(1)
                    .filter_map(|after| after.strip_prefix('.'))
                    .map(|after| {
                        let f: String = after
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                            .collect();
                        format!("{p}.{}", f.trim_end_matches('.'))
                    })
                    .collect::<Vec<_>>()
            };
            for p in paths {
                let with_field = tail(p);
                if with_field.is_empty() {
                    out.push(p.clone());
                }
                out.extend(with_field);
            }
        }
    }
    if depth < 6 {
        for name in calls(body) {
            if let Some(def) = defines.get(name) {
                out.extend(reads(def, vars, defines, depth + 1));
            }
        }
    }
    out
}

/// `$name := EXPR` / `$name = EXPR` of a template: the `.Values` paths each variable holds.
fn variables(acts: &[Action<'_>]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in acts {
        let body = a.body;
        let Some(var) = body.strip_prefix('$') else {
            continue;
        };
        let name: String = var
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let rest = var[name.len()..].trim_start();
        let Some(expr) = rest.strip_prefix(":=").or_else(|| rest.strip_prefix('=')) else {
            continue;
        };
        let refs = values_refs(expr);
        if !name.is_empty() && !refs.is_empty() {
            out.entry(format!("${name}")).or_default().extend(refs);
        }
    }
    out
}

/// The chart-relative paths read on the template's `storage:` lines (every claim of the file:
/// the proof tells them apart), in the file's order, each once.
pub fn storage_reads(text: &str, defines: &BTreeMap<String, String>) -> Vec<String> {
    field_reads(text, defines, "storage:")
}

/// The chart-relative paths read on the template's lines that start with `key` (such as
/// `volumeAttributesClassName:`), in the file's order, each once.
pub fn field_reads(text: &str, defines: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    let acts = actions(text);
    let vars = variables(&acts);
    let storage_lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(key))
        .map(|(i, _)| i)
        .collect();
    // The dot of `with .Values.X` blocks, as a stack over the actions in order.
    let mut dots: Vec<Option<String>> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for a in &acts {
        match keyword(a.body) {
            "with" => dots.push(values_refs(a.body).into_iter().next()),
            "range" | "define" | "block" => dots.push(None),
            "if" => dots.push(dots.last().cloned().flatten()),
            "end" => {
                dots.pop();
            }
            _ => {}
        }
        if !storage_lines.contains(&a.line) {
            continue;
        }
        let mut found = reads(a.body, &vars, defines, 0);
        if let Some(Some(dot)) = dots.last() {
            found.extend(dot_fields(a.body).into_iter().map(|f| format!("{dot}.{f}")));
            // `{{ . }}` (or `{{ . | quote }}`): the `with` block's value itself.
            let words: Vec<&str> = a
                .body
                .trim_matches(|c: char| c == '-' || c.is_whitespace())
                .split_whitespace()
                .collect();
            if words.first() == Some(&".") && words.get(1).is_none_or(|w| *w == "|") {
                found.push(dot.clone());
            }
        }
        for p in found {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// A chart-relative path as the user writes it in the top chart's values: under the subchart's
/// keys, except `global.`, which Helm hands down from the top.
pub fn qualified(prefix: &[String], path: &str) -> String {
    if prefix.is_empty() || path == "global" || path.starts_with("global.") {
        return path.to_owned();
    }
    format!("{}.{path}", prefix.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads_of(text: &str, helpers: &str) -> Vec<String> {
        let mut defs = BTreeMap::new();
        collect_defines(helpers, &mut defs);
        storage_reads(text, &defs)
    }

    #[test]
    fn direct_variables_with_and_helpers() {
        let direct = "spec:\n  volumeClaimTemplates:\n    - spec:\n        resources:\n          requests:\n            storage: {{ .Values.primary.persistence.size | quote }}\n";
        assert_eq!(reads_of(direct, ""), ["primary.persistence.size"]);
        let var = "{{- $p := .Values.db.persistence }}\nx:\n  storage: {{ $p.size }}\n";
        assert_eq!(reads_of(var, ""), ["db.persistence.size"]);
        let with = "{{- with .Values.store }}\n{{- if .enabled }}\n  storage: {{ .size | quote }}\n{{- end }}\n{{- end }}\n";
        assert_eq!(reads_of(with, ""), ["store.size"]);
        let helper = "  storage: {{ include \"x.size\" . }}\n";
        let helpers = "{{- define \"x.size\" -}}\n{{- if .Values.a }}{{ .Values.a.size }}{{ else }}{{ include \"y\" . }}{{ end }}\n{{- end -}}\n{{ define \"y\" }}{{ $.Values.fallback.size }}{{ end }}";
        assert_eq!(reads_of(helper, helpers), ["a", "a.size", "fallback.size"]);
        let index = "  storage: {{ index .Values \"my-db\" \"size\" }}\n";
        assert_eq!(reads_of(index, ""), ["my-db.size"]);
        // Only storage lines count; comments are skipped.
        let other = "{{/* storage: {{ .Values.no }} */}}\n  sizeLimit: {{ .Values.limit }}\n";
        assert!(reads_of(other, "").is_empty());
    }

    #[test]
    fn prefixes() {
        let p = vec!["kafka".to_owned()];
        assert_eq!(qualified(&p, "persistence.size"), "kafka.persistence.size");
        assert_eq!(qualified(&p, "global.storage"), "global.storage");
        assert_eq!(qualified(&[], "persistence.size"), "persistence.size");
    }
}
