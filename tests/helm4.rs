//! Helm 4 post-renderer input, built from the real renders: no `# Source:` lines, and a
//! `postrenderer.helm.sh/postrender-filename` annotation on every document (Helm reads it back
//! and removes it, so it must come out untouched). With kubectl present, the stream is also
//! re-serialised by kustomize's kyaml (as Helm 4 re-serialises it), and must still round-trip.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

const ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// Turns a Helm 3 style render into what Helm 4 hands a post-renderer.
fn helm4_style(render: &str) -> String {
    let mut docs = Vec::new();
    for chunk in pvc_resize::k8s::stream::split(render) {
        let text = &render[chunk.range.clone()];
        if !pvc_resize::k8s::stream::has_content(text) {
            continue;
        }
        let source = pvc_resize::k8s::stream::source_comment(text)
            .expect("every rendered document has a Source line");
        let body: Vec<&str> = text
            .lines()
            .skip_while(|l| l.trim() == "---" || l.starts_with('#'))
            .collect();
        let mut out = Vec::new();
        let mut in_metadata = false;
        let mut done = false;
        let mut has_annotations = body
            .iter()
            .skip_while(|l| **l != "metadata:")
            .skip(1)
            .take_while(|l| l.starts_with(' ') || l.is_empty())
            .any(|l| *l == "  annotations:");
        for line in &body {
            out.push(line.to_string());
            if *line == "metadata:" {
                in_metadata = true;
                if !has_annotations {
                    out.push("  annotations:".into());
                    has_annotations = true;
                    out.push(format!("    {ANNOTATION}: '{source}'"));
                    done = true;
                }
            } else if in_metadata && !done && *line == "  annotations:" {
                out.push(format!("    {ANNOTATION}: '{source}'"));
                done = true;
            }
        }
        assert!(done, "no metadata in a document from {source}");
        docs.push(out.join("\n") + "\n");
    }
    docs.join("---\n")
}

fn annotations_of(stream: &str) -> Vec<String> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|d| {
            let v: serde_json::Value = serde::Deserialize::deserialize(d).unwrap();
            v["metadata"]["annotations"][ANNOTATION]
                .as_str()
                .unwrap_or("MISSING")
                .to_owned()
        })
        .collect()
}

/// `kubectl kustomize` over a stream: kyaml's formatting, input order kept.
fn kyaml(kubectl: &Path, stream: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.yaml"), stream).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [in.yaml]\nsortOptions:\n  order: fifo\n",
    )
    .unwrap();
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const CASES: &[(&str, &str, &str, &[&str])] = &[
    (
        "posthog",
        "rendered-default.yaml",
        "rendered-resized.yaml",
        &[],
    ),
    (
        "posthog",
        "rendered-3-replicas.yaml",
        "rendered-3-replicas-resized.yaml",
        &[],
    ),
    (
        "posthog",
        "rendered-logpersistence.yaml",
        "rendered-logpersistence-resized.yaml",
        &[],
    ),
    (
        "bitnami-kafka-32",
        "rendered-split.yaml",
        "rendered-split-resized.yaml",
        &["--statefulset", "kafka-broker"],
    ),
    (
        "bitnami-kafka-14",
        "rendered-default.yaml",
        "rendered-resized.yaml",
        &["--statefulset", "kafka"],
    ),
];

fn check(input: &str, expected: &str, extra: &[&str], what: &str) {
    let mut args = vec!["post-render", "--size", "50Gi"];
    args.extend_from_slice(extra);
    let out = run(&args, input.as_bytes());
    assert_eq!(code(&out), 0, "{what}: {}", stderr(&out));
    let got = stdout(&out);
    assert!(
        got == expected,
        "{what}:\n{}",
        pvc_resize::output::diff::unified_diff(expected, &got, what)
    );
    let anns = annotations_of(&got);
    assert!(
        anns.iter().all(|a| a.contains("/templates/")),
        "{what}: annotations kept: {anns:?}"
    );
    assert_eq!(anns, annotations_of(input));
}

#[test]
fn helm4_annotated_streams_round_trip() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for (dir, before, after, extra) in CASES {
        let input = helm4_style(&read(&root.join(dir).join(before)));
        let expected = helm4_style(&read(&root.join(dir).join(after)));
        assert!(!input.contains("# Source:"));
        check(
            &input,
            &expected,
            extra,
            &format!("{dir}/{before} (Helm 4 annotations)"),
        );
    }
}

#[test]
fn helm4_kyaml_formatted_streams_round_trip() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let Some(kubectl) = program("kubectl") else {
        return;
    };
    for (dir, before, after, extra) in CASES {
        let input = kyaml(&kubectl, &helm4_style(&read(&root.join(dir).join(before))));
        let expected = kyaml(&kubectl, &helm4_style(&read(&root.join(dir).join(after))));
        assert_ne!(input, expected);
        check(&input, &expected, extra, &format!("{dir}/{before} (kyaml)"));
    }
}

/// The two streams of Helm 4.2's `separate` post-render strategy (helm/helm v4.2.3
/// `pkg/action/action.go`): the hooks alone (each document with a `helm.sh/hook` annotation, as
/// Helm's `SortManifests` decides), then the release's other objects. The hooks call passes
/// through byte for byte; the other call is the resize, equal to the resized render's.
fn separate(stream: &str) -> (String, String) {
    let (mut hooks, mut objects) = (Vec::new(), Vec::new());
    for chunk in pvc_resize::k8s::stream::split(stream) {
        let d = &stream[chunk.range.clone()];
        let d = d.strip_prefix("---\n").unwrap_or(d);
        if d.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_yaml::from_str(d).unwrap();
        let hook = v["metadata"]["annotations"]
            .as_object()
            .is_some_and(|a| a.contains_key("helm.sh/hook"));
        if hook { &mut hooks } else { &mut objects }.push(d);
    }
    (hooks.join("---\n"), objects.join("---\n"))
}

#[test]
fn separate_strategy_streams_as_the_sdk_splits_them() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let mut hook_streams = 0;
    for (dir, before, after, extra) in CASES {
        let (hooks, objects) = separate(&helm4_style(&read(&root.join(dir).join(before))));
        let (_, resized) = separate(&helm4_style(&read(&root.join(dir).join(after))));
        let what = format!("{dir}/{before}");
        if !hooks.is_empty() {
            hook_streams += 1;
            let mut args = vec!["post-render", "--size", "50Gi"];
            args.extend_from_slice(extra);
            let out = run(&args, hooks.as_bytes());
            assert_eq!(code(&out), 0, "{what}: {}", stderr(&out));
            assert_eq!(
                stdout(&out),
                hooks,
                "{what}: the hooks call must change nothing"
            );
            assert!(
                stderr(&out).contains("note: all ")
                    && stderr(&out).contains("passed through unchanged"),
                "{what}: {}",
                stderr(&out)
            );
        }
        check(
            &objects,
            &resized,
            extra,
            &format!("{what} (separate: objects)"),
        );
    }
    assert!(
        hook_streams > 0,
        "no fixture has hooks: the hooks call is untested"
    );
}
