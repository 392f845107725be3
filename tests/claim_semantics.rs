//! Render `check` compares claim templates as `ValidateStatefulSetUpdate` does
//! (`apiequality.Semantic.DeepEqual` over the internal Go types, issue 21 item 4): an empty slice
//! or map equals an absent one, a struct's zero fields equal absent ones, but a pointer field
//! set to an empty value (`selector: {}`, `storageClassName: ""`, `dataSource: {}`) is NOT equal
//! to an unset one, so the upgrade fails with `spec: Forbidden`.

mod common;

use common::{code, run, stdout};

/// A StatefulSet whose claim template `data` has `extra` (lines at the template spec's
/// indentation) in its spec, and `meta` in its metadata.
fn render(extra: &str, meta: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: kafka\nspec:\n  serviceName: kafka\n  selector:\n    matchLabels: {{app: kafka}}\n  template:\n    metadata:\n      labels: {{app: kafka}}\n    spec:\n      containers: [{{name: c, image: busybox}}]\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n{meta}      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 20Gi\n{extra}"
    )
}

/// The ids of `check` on the plain render against one with `extra`/`meta`, and its exit code.
fn compare(extra: &str, meta: &str) -> (Vec<String>, i32) {
    let dir = tempfile::tempdir().unwrap();
    let (b, h) = (dir.path().join("base.yaml"), dir.path().join("head.yaml"));
    std::fs::write(&b, render("", "")).unwrap();
    std::fs::write(&h, render(extra, meta)).unwrap();
    let o = run(
        &[
            "check",
            "--base-manifests",
            b.to_str().unwrap(),
            "--head-manifests",
            h.to_str().unwrap(),
            "--format",
            "json",
        ],
        b"",
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let ids = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    (ids, code(&o))
}

#[test]
fn pointer_fields_set_empty_differ_from_unset() {
    // (what, spec lines, metadata lines, refused by the API server)
    let cases: &[(&str, &str, &str, bool)] = &[
        ("selector: {}", "        selector: {}\n", "", true),
        (
            "an empty matchLabels is still a set selector",
            "        selector: {matchLabels: {}}\n",
            "",
            true,
        ),
        (
            "storageClassName: \"\"",
            "        storageClassName: \"\"\n",
            "",
            true,
        ),
        ("dataSource: {}", "        dataSource: {}\n", "", true),
        (
            "dataSourceRef with an empty apiGroup",
            "        dataSourceRef: {apiGroup: \"\", kind: PersistentVolumeClaim, name: x}\n",
            "",
            true,
        ),
        (
            "volumeAttributesClassName: \"\"",
            "        volumeAttributesClassName: \"\"\n",
            "",
            true,
        ),
        (
            "selector: null (a nil pointer)",
            "        selector: null\n",
            "",
            false,
        ),
        (
            "storageClassName: null",
            "        storageClassName: null\n",
            "",
            false,
        ),
        (
            "volumeName: \"\" (a plain string)",
            "        volumeName: \"\"\n",
            "",
            false,
        ),
        (
            "resources.limits: {} (a map)",
            "          limits: {}\n",
            "",
            false,
        ),
        (
            "volumeMode: Filesystem (the default)",
            "        volumeMode: Filesystem\n",
            "",
            false,
        ),
        (
            "metadata.labels: {} (a map)",
            "",
            "        labels: {}\n",
            false,
        ),
        (
            "metadata.annotations: null",
            "",
            "        annotations: null\n",
            false,
        ),
        (
            "metadata.namespace: \"\" (a plain string)",
            "",
            "        namespace: \"\"\n",
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, extra, meta, refused) in cases {
        let (ids, status) = compare(extra, meta);
        let found = ids.iter().any(|i| i == "claim-template-changed");
        if found != *refused || (status == 1) != *refused {
            wrong.push(format!(
                "{what}: expected refused={refused}, got {ids:?} (exit {status})"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
