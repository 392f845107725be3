//! One reader: every command sees the same objects in a stream (issue 19 item 1, issue 21
//! items 3 and 6). The same hostile streams (Lists, `*List` kinds, Lists in Lists, a kind spelt
//! with escapes, hooks, Helm 4's filename annotation, documents of comments only, `...` markers,
//! CRLF) go to post-render, post-render --claim-typemeta, validate --manifests, check on two
//! renders, and plan in every format; each must name exactly the StatefulSets the stream holds,
//! and `kubectl kustomize` (which applies Lists item by item, as Helm's client does) judges which
//! those are.

mod common;

use common::{code, program, run, stderr, stdout};
use std::collections::BTreeSet;
use std::path::Path;

/// A StatefulSet named `name` with claim template `data` of `size`, as block lines (no
/// indentation), its kind written as `kind`.
fn sts(name: &str, size: &str, kind: &str, extra_meta: &str) -> Vec<String> {
    let text = format!(
        "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{extra_meta}spec:\n  serviceName: {name}\n  replicas: 3\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n        - name: c\n          image: busybox\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: {size}\n"
    );
    text.lines().map(str::to_owned).collect()
}

/// `lines` as one item of a block sequence at `indent`.
fn item(lines: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let lead = if i == 0 { "- " } else { "  " };
        out.push_str(&format!("{pad}{lead}{l}\n"));
    }
    out
}

fn list(kind: &str, items: &[Vec<String>]) -> Vec<String> {
    let mut text = format!("apiVersion: v1\nkind: {kind}\nitems:\n");
    for i in items {
        text.push_str(&item(i, 0));
    }
    text.lines().map(str::to_owned).collect()
}

fn doc(lines: &[String]) -> String {
    format!("---\n{}\n", lines.join("\n"))
}

/// A hostile stream with every StatefulSet at `size`: a name, the stream, the names it holds.
fn streams(size: &str) -> Vec<(&'static str, String, Vec<&'static str>)> {
    let plain = |n| sts(n, size, "StatefulSet", "");
    let escaped = |n| sts(n, size, "\"State\\x66ulSet\"", "");
    let hook = |n| {
        sts(
            n,
            size,
            "StatefulSet",
            "  annotations:\n    helm.sh/hook: pre-install\n    postrenderer.helm.sh/postrender-filename: c/templates/hook.yaml\n",
        )
    };
    let helm4 = |n| {
        sts(
            n,
            size,
            "StatefulSet",
            "  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/sts.yaml'\n",
        )
    };
    let cm =
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  storage: \"20Gi\"\n";
    vec![
        (
            "plain documents",
            format!("{}{cm}{}", doc(&plain("a")), doc(&plain("b"))),
            vec!["a", "b"],
        ),
        (
            "kind: List",
            doc(&list("List", &[plain("a"), plain("b")])),
            vec!["a", "b"],
        ),
        (
            "kind: StatefulSetList",
            format!(
                "{cm}{}",
                doc(&list("StatefulSetList", &[plain("a"), plain("b")]))
            ),
            vec!["a", "b"],
        ),
        (
            "Lists nested in Lists",
            doc(&list(
                "List",
                &[
                    list("StatefulSetList", &[plain("a")]),
                    list("List", &[list("List", &[plain("b")])]),
                ],
            )),
            vec!["a", "b"],
        ),
        (
            "a kind spelt with escapes, at the top and in a List",
            format!(
                "{}{}",
                doc(&escaped("a")),
                doc(&list("List", &[escaped("b")]))
            ),
            vec!["a", "b"],
        ),
        (
            "a hook and Helm 4's filename annotation",
            format!("{}{}", doc(&hook("a")), doc(&helm4("b"))),
            vec!["a", "b"],
        ),
        (
            "documents of comments only and `...` markers",
            format!(
                "# Source: c/templates/x.yaml\n---\n# nothing here\n---\n{}...\n---\n# only a comment\n{}...\n",
                plain("a").join("\n") + "\n",
                doc(&list("List", &[plain("b")]))
            ),
            vec!["a", "b"],
        ),
        (
            "CRLF line breaks",
            format!("{}{}", doc(&plain("a")), doc(&list("List", &[plain("b")])))
                .replace('\n', "\r\n"),
            vec!["a", "b"],
        ),
    ]
}

fn names(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The StatefulSets `kubectl kustomize` reads from the stream, when kubectl is there.
fn kustomize_judge(stream: &str) -> Option<BTreeSet<String>> {
    let kubectl = program("kubectl")?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), stream).unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [s.yaml]\n",
    )
    .unwrap();
    let out = std::process::Command::new(kubectl)
        .args(["kustomize", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut seen = BTreeSet::new();
    for d in text.split("\n---\n") {
        let v: serde_json::Value = serde_yaml::from_str(d).unwrap();
        if v["kind"] == "StatefulSet" {
            seen.insert(v["metadata"]["name"].as_str().unwrap().to_owned());
        }
    }
    Some(seen)
}

/// The names after `StatefulSet ` in lines of `text` that contain `marker`.
fn named_in(text: &str, marker: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.contains(marker))
        .filter_map(|l| l.split("StatefulSet ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// What post-render and post-render --claim-typemeta see.
fn post_render_sees(stream: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let o = run(
        &["post-render", "--size", "50Gi", "--statefulset", "*"],
        stream.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let grown = named_in(&stderr(&o), "20Gi -> 50Gi");
    // The output is the input with only the sizes changed, in place (inside Lists too).
    assert_eq!(stdout(&o), stream.replace("storage: 20Gi", "storage: 50Gi"));
    let o = run(
        &[
            "post-render",
            "--size",
            "50Gi",
            "--statefulset",
            "*",
            "--claim-typemeta",
        ],
        stream.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    (grown, named_in(&stderr(&o), "apiVersion/kind added"))
}

/// What `check` on two renders sees: the StatefulSets whose claim shrinks from 20Gi to 10Gi.
fn check_sees(dir: &Path, base: &str, head: &str) -> BTreeSet<String> {
    let (b, h) = (write(dir, "base.yaml", base), write(dir, "head.yaml", head));
    let o = run(
        &[
            "check",
            "--base-manifests",
            &b,
            "--head-manifests",
            &h,
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(code(&o), 1, "a shrink must fail the check: {}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["message"].as_str())
        .flat_map(|m| named_in(m, "StatefulSet "))
        .collect()
}

/// What `plan` sees in each format: the targets of the JSON plan, and the StatefulSets the
/// flux patches and the argocd procedure name.
fn plan_sees(render: &str) -> Vec<(&'static str, BTreeSet<String>)> {
    let mut out = Vec::new();
    let argv = |format| {
        vec![
            "plan",
            "--release",
            "r",
            "--namespace",
            "r",
            "--size",
            "50Gi",
            "--manifests",
            render,
            "--statefulset",
            "*",
            // No chart: the values key is named (else the plan blocks on values-path-unknown).
            "--path",
            "data.size",
            "--format",
            format,
        ]
    };
    let o = run(&argv("json"), b"");
    assert_eq!(code(&o), 0, "{}{}", stderr(&o), stdout(&o));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let targets = plan["targets"].as_array().unwrap().iter();
    out.push((
        "json",
        targets
            .map(|t| t["statefulset"].as_str().unwrap().to_owned())
            .collect(),
    ));
    let o = run(&argv("flux"), b"");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let release: serde_json::Value = serde_yaml::from_str(&stdout(&o)).unwrap();
    let flux: BTreeSet<String> = release
        .pointer("/spec/postRenderers/0/kustomize/patches")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|p| p["target"]["kind"] == "StatefulSet")
        .filter_map(|p| p["target"]["name"].as_str())
        .map(str::to_owned)
        .collect();
    out.push(("flux", flux));
    for format in ["argocd", "text"] {
        let o = run(&argv(format), b"");
        assert_eq!(code(&o), 0, "{format}: {}", stderr(&o));
        let text = stdout(&o);
        let seen = text
            .lines()
            .filter_map(|l| l.split(" scale statefulset ").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        out.push((format, seen));
    }
    out
}

#[test]
fn every_command_sees_the_same_objects() {
    let heads = streams("10Gi");
    for ((what, stream, expected), (_, head, _)) in streams("20Gi").into_iter().zip(heads) {
        let expected = names(&expected);
        if let Some(judged) = kustomize_judge(&stream) {
            assert_eq!(
                judged, expected,
                "{what}: kubectl kustomize reads other objects"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let render = write(dir.path(), "render.yaml", &stream);
        let (grown, typed) = post_render_sees(&stream);
        assert_eq!(grown, expected, "{what}: post-render");
        assert_eq!(typed, expected, "{what}: post-render --claim-typemeta");
        let o = run(
            &["validate", "--manifests", &render, "--format", "json"],
            b"",
        );
        let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(
            report["valid"].as_u64(),
            Some(expected.len() as u64),
            "{what}: validate --manifests: {}",
            stdout(&o)
        );
        assert_eq!(
            check_sees(dir.path(), &stream, &head),
            expected,
            "{what}: check --base-manifests/--head-manifests"
        );
        for (format, seen) in plan_sees(&render) {
            assert_eq!(seen, expected, "{what}: plan --format {format}");
        }
    }
}

/// A StatefulSet twice (once in a List, once as a document): the commands that act on one
/// refuse the ambiguous stream, the ones that compare see both copies.
#[test]
fn a_duplicate_inside_a_list_is_seen_by_every_command() {
    let one = sts("a", "20Gi", "StatefulSet", "");
    let stream = format!(
        "{}{}",
        doc(&one),
        doc(&list("StatefulSetList", std::slice::from_ref(&one)))
    );
    let o = run(
        &["post-render", "--size", "50Gi", "--statefulset", "a"],
        stream.as_bytes(),
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is in the stream twice"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let render = write(dir.path(), "render.yaml", &stream);
    let o = run(
        &[
            "plan",
            "--release",
            "r",
            "--namespace",
            "r",
            "--size",
            "50Gi",
            "--manifests",
            &render,
            "--statefulset",
            "a",
        ],
        b"",
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = run(
        &["validate", "--manifests", &render, "--format", "json"],
        b"",
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["valid"].as_u64(), Some(2));
    let head = stream.replace("storage: 20Gi", "storage: 10Gi");
    let h = write(dir.path(), "head.yaml", &head);
    let o = run(
        &["check", "--base-manifests", &render, "--head-manifests", &h],
        b"",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("2 StatefulSet(s) in"), "{}", stderr(&o));
}

/// `post-render --patch` applies to the same objects: a patch whose target is a StatefulSet
/// inside a List (of any kind, at any depth) applies to that item.
#[test]
fn patches_reach_the_same_objects() {
    let dir = tempfile::tempdir().unwrap();
    let patch = write(
        dir.path(),
        "patch.yaml",
        "patches:\n  - target: {kind: StatefulSet, name: \"*\"}\n    patch:\n      - {op: add, path: /metadata/labels, value: {patched: \"yes\"}}\n",
    );
    for (what, stream, expected) in streams("20Gi") {
        let o = run(&["post-render", "--patch", &patch], stream.as_bytes());
        assert_eq!(code(&o), 0, "{what}: {}", stderr(&o));
        let seen: BTreeSet<String> = stderr(&o)
            .lines()
            .filter_map(|l| l.strip_prefix("pvc-resize: patched "))
            .flat_map(|l| l.split(", "))
            .filter_map(|o| o.strip_prefix("StatefulSet "))
            .map(str::to_owned)
            .collect();
        assert_eq!(seen, names(&expected), "{what}: {}", stderr(&o));
        let patched = stdout(&o).matches("patched: 'yes'").count();
        assert_eq!(patched, expected.len(), "{what}:\n{}", stdout(&o));
    }
}
