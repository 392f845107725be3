//! Issue 21, item 10: every command that compares two sizes orders them as the API server does
//! (`Quantity.Cmp` after `ParseQuantity` rounds up to nano units) and never prints two equal
//! byte counts for a shrink or a growth.

mod common;
use common::*;

/// Pairs (old, new) whose whole-byte roundings are equal although their values are not, and
/// one whose values are equal after the parse rounding.
const PAIRS: &[(&str, &str, bool)] = &[
    ("8Gi", "8589934591.9999", true),
    ("8Gi", "8589934591.999999999", true),
    ("8589934591.5", "8589934591.25", true),
    ("1", "999m", true),
    ("8589934591.9999", "8Gi", false),
    ("8Gi", "8589934591.9999999999", false),
];

fn sts(size: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: kafka\nspec:\n  serviceName: kafka\n  selector:\n    matchLabels: {{app: kafka}}\n  template:\n    metadata:\n      labels: {{app: kafka}}\n    spec:\n      containers: [{{name: k, image: k}}]\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: \"{size}\"\n"
    )
}

/// The two byte counts of a message's `(X bytes)` or `(X -> Y bytes)` / `(X < Y bytes)`.
fn byte_counts(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in message.split('(').skip(1) {
        let Some(inner) = part
            .split(" bytes)")
            .next()
            .filter(|_| part.contains(" bytes)"))
        else {
            continue;
        };
        for n in inner.split([' ', '<', '-', '>']).filter(|n| !n.is_empty()) {
            if n.chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
            {
                out.push(n.to_owned());
            }
        }
    }
    out
}

fn assert_distinct(what: &str, message: &str) {
    let counts = byte_counts(message);
    assert_eq!(counts.len(), 2, "{what}: two byte counts in {message}");
    assert_ne!(counts[0], counts[1], "{what}: {message}");
}

#[test]
fn shrinks_and_growths_never_print_equal_byte_counts() {
    let dir = tempfile::tempdir().unwrap();
    for (old, new, shrink) in PAIRS {
        let values = |s: &str| format!("kafka:\n  persistence:\n    size: \"{s}\"\n");
        let f = dir.path().join("values.yaml");
        std::fs::write(&f, values(old)).unwrap();
        let out = run(&["values", f.to_str().unwrap(), "--size", new], b"");
        let err = stderr(&out);
        let equal = !shrink && *new == "8589934591.9999999999";
        if *shrink {
            assert_eq!(code(&out), 2, "values {old} -> {new}: {err}");
            assert_distinct(&format!("values {old} -> {new}"), &err);
        } else if equal {
            assert!(err.contains("already"), "values {old} -> {new}: {err}");
        }
        let out = check_values_texts(&values(old), &values(new));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        let line = text
            .lines()
            .find(|l| l.contains("shrinks") || l.contains("grows"));
        match line {
            Some(l) => {
                assert!(!equal, "check {old} -> {new}: {l}");
                assert_eq!(l.contains("shrinks"), *shrink, "check {old} -> {new}: {l}");
                assert_distinct(&format!("check {old} -> {new}"), l);
            }
            None => assert!(equal, "check {old} -> {new}: {text}"),
        }
        let out = run(
            &["post-render", "--size", new, "--statefulset", "kafka"],
            sts(old).as_bytes(),
        );
        if *shrink {
            assert_eq!(code(&out), 2, "post-render {old} -> {new}");
            assert_distinct(&format!("post-render {old} -> {new}"), &stderr(&out));
        }
        let (b, h) = (dir.path().join("base.yaml"), dir.path().join("head.yaml"));
        std::fs::write(&b, sts(old)).unwrap();
        std::fs::write(&h, sts(new)).unwrap();
        let out = run(
            &[
                "check",
                "--base-manifests",
                b.to_str().unwrap(),
                "--head-manifests",
                h.to_str().unwrap(),
            ],
            b"",
        );
        let text = format!("{}{}", stdout(&out), stderr(&out));
        if let Some(l) = text
            .lines()
            .find(|l| l.contains("shrinks") || l.contains("grows"))
        {
            assert!(!equal, "render check {old} -> {new}: {l}");
            assert_distinct(&format!("render check {old} -> {new}"), l);
        } else {
            assert!(equal, "render check {old} -> {new}: {text}");
        }
    }
}
