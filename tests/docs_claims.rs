//! Issue 21, item 14: what the README and docs/ say about the tool's own formats is what the
//! schemas say. Every "version N" within a sentence of a `schema/NAME.schema.json` must be
//! the schema's `version` const (plan JSON was "version 2" in one place and 3 in the schema).

use std::path::Path;

fn schema_version(root: &Path, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(root.join("schema").join(name)).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["properties"]["version"]["const"].as_u64()
}

/// (schema file, version claimed, where) for every claim in `text`.
fn claims(text: &str) -> Vec<(String, u64, usize)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("schema/") {
        let rest = &text[at + "schema/".len()..];
        let Some(end) = rest.find(".schema.json") else {
            continue;
        };
        let name = &rest[..end];
        if name.contains([' ', '`', '/']) {
            continue;
        }
        // The sentence around the reference: up to the previous and next full stop.
        let from = text[..at].rfind(". ").map_or(0, |i| i + 2);
        let to = at + text[at..].find(". ").unwrap_or(text.len() - at);
        let sentence = &text[from..to];
        for (v, _) in sentence.match_indices("version ") {
            let digits: String = sentence[v + 8..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            // "version 1 was ..." or "version 2 had ..." names an old version on purpose.
            let after = &sentence[v + 8 + digits.len()..];
            let old = ["was", "had"]
                .iter()
                .any(|w| after.trim_start().starts_with(w));
            if let (Ok(n), false) = (digits.parse(), old) {
                out.push((format!("{name}.schema.json"), n, at));
            }
        }
    }
    out
}

#[test]
fn format_versions_in_the_docs_are_the_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    if let Ok(dir) = std::fs::read_dir(root.join("docs")) {
        files.extend(
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md")),
        );
    }
    let mut wrong = Vec::new();
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (schema, claimed, at) in claims(&text) {
            let Some(actual) = schema_version(root, &schema) else {
                continue;
            };
            checked += 1;
            if claimed != actual {
                let line = text[..at].matches('\n').count() + 1;
                wrong.push(format!(
                    "{}:{line}: says {schema} is version {claimed}; the schema says {actual}",
                    f.display()
                ));
            }
        }
    }
    assert!(checked > 0, "no version claim found to check");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
