//! The bundled Kubernetes schemas: generated and up to date, and in agreement with an independent
//! validator (PyPI kubernetes-validate) on real documents and on mutated invalid ones.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn python_has_kubernetes_validate() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import kubernetes_validate"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("python3 module kubernetes_validate (pip install kubernetes-validate==1.37.0)");
    }
    ok
}

#[test]
fn bundled_kubernetes_schemas_are_up_to_date() {
    if !python_has_kubernetes_validate() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/generate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The documents of a stream whose kind has a bundled schema.
fn covered_documents(stream: &str) -> Vec<String> {
    pvc_resize::k8s::stream::split(stream)
        .into_iter()
        .map(|c| stream[c.range].to_owned())
        .filter(|d| {
            [
                "kind: StatefulSet",
                "kind: PersistentVolumeClaim",
                "kind: StorageClass",
            ]
            .iter()
            .any(|k| d.contains(k))
        })
        .collect()
}

/// (ours, theirs): does each validator accept the document?
fn verdicts(kv: &Path, doc: &str) -> (bool, bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.yaml");
    std::fs::write(&file, doc).unwrap();
    let f = file.to_str().unwrap();
    let ours = run(&["validate", "--manifests", f], b"");
    assert_ne!(code(&ours), 2, "{}", stderr(&ours));
    let theirs = Command::new(kv)
        .args(["--strict", "-k", "1.32.0", "--quiet", f])
        .output()
        .unwrap();
    (code(&ours) == 0, theirs.status.success())
}

const PVC: &str = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data-posthog-posthog-kafka-0\n  namespace: posthog\nspec:\n  accessModes:\n    - ReadWriteOnce\n  resources:\n    requests:\n      storage: 20Gi\n";

#[test]
fn agrees_with_kubernetes_validate() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let Some(kv) = program("kubernetes-validate") else {
        return;
    };
    let render = read(&root.join("posthog/rendered-default.yaml"));
    let docs = covered_documents(&render);
    assert_eq!(docs.len(), 4);
    for doc in &docs {
        assert_eq!(verdicts(&kv, doc), (true, true), "a real document:\n{doc}");
    }
    assert_eq!(verdicts(&kv, PVC), (true, true));

    let kafka = docs
        .iter()
        .find(|d| d.contains("name: posthog-posthog-kafka\n"))
        .unwrap();
    let mutations: &[(&str, &str, &str)] = &[
        (
            "requests -> request",
            "          requests:\n            storage: \"20Gi\"",
            "          request:\n            storage: \"20Gi\"",
        ),
        (
            "replicas as a string",
            "  replicas: 1\n",
            "  replicas: \"one\"\n",
        ),
        (
            "unknown spec field",
            "  volumeClaimTemplates:\n",
            "  volumeClaimTemplate: []\n  volumeClaimTemplates:\n",
        ),
        ("storage as a list", "storage: \"20Gi\"", "storage: [8, Gi]"),
        (
            "accessModes as a string",
            "accessModes:\n          - \"ReadWriteOnce\"",
            "accessModes: ReadWriteOnce",
        ),
        ("template missing", "  template:\n", "  templat:\n"),
    ];
    for (what, from, to) in mutations {
        assert!(kafka.contains(from), "{what}: the fixture changed");
        let bad = kafka.replacen(from, to, 1);
        assert_eq!(verdicts(&kv, &bad), (false, false), "{what}");
    }
    for (what, from, to) in [
        ("limit typo", "    requests:\n", "    request:\n"),
        (
            "volumeMode unknown type",
            "  accessModes:\n",
            "  volumeMode: 3\n  accessModes:\n",
        ),
    ] {
        assert_eq!(
            verdicts(&kv, &PVC.replacen(from, to, 1)),
            (false, false),
            "PVC {what}"
        );
    }
    // The one deliberate disagreement: kubernetes-validate takes any string as a quantity.
    assert_eq!(
        verdicts(&kv, &kafka.replacen("\"20Gi\"", "\"20GiB\"", 1)),
        (false, true)
    );
    assert_eq!(
        verdicts(&kv, &PVC.replacen("20Gi", "20 Gi", 1)),
        (false, true)
    );
}

#[test]
fn validate_command_on_real_renders_and_values() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for case in [
        "posthog/rendered-default.yaml",
        "posthog/rendered-logpersistence.yaml",
        "bitnami-kafka-32/rendered-split.yaml",
        "bitnami-kafka-14/rendered-3-replicas.yaml",
    ] {
        for version in ["1.32", "1.37"] {
            let out = run(
                &[
                    "validate",
                    "--manifests",
                    root.join(case).to_str().unwrap(),
                    "--kubernetes-version",
                    version,
                ],
                b"",
            );
            assert_eq!(
                code(&out),
                0,
                "{case} {version}: {}{}",
                stdout(&out),
                stderr(&out)
            );
            assert!(stderr(&out).contains(" 0 invalid"), "{}", stderr(&out));
        }
    }
    for values in [
        "posthog/chart/posthog-30.46.0.values.yaml",
        "bitnami-kafka-32/chart/kafka-32.4.4.values.yaml",
        "posthog/chart/kafka-14.9.3.values.yaml",
        "posthog/chart/zookeeper-7.0.5.values.yaml",
    ] {
        let out = run(
            &["validate", "--values", root.join(values).to_str().unwrap()],
            b"",
        );
        assert_eq!(code(&out), 0, "{values}: {}{}", stdout(&out), stderr(&out));
    }
}

#[test]
fn validate_command_reports_every_error_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("values.yaml");
    std::fs::write(
        &v,
        "kafka:\n  persistence:\n    enabled: maybe\n    size: 20 GB\n    storageClas: gp3\n",
    )
    .unwrap();
    let schema = dir.path().join("values.schema.json");
    std::fs::write(&schema, r#"{"type": "object", "required": ["cloud"]}"#).unwrap();
    let m = dir.path().join("m.yaml");
    std::fs::write(
        &m,
        PVC.replace("      storage: 20Gi", "      storage: 20GiB"),
    )
    .unwrap();
    let out = run(
        &[
            "validate",
            "--values",
            v.to_str().unwrap(),
            "--values-schema",
            schema.to_str().unwrap(),
            "--manifests",
            m.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    let findings: Vec<&str> = text.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(findings.len(), 5, "{text}");
    let hints = text.lines().filter(|l| l.starts_with("  hint: ")).count();
    assert_eq!(hints, 5, "every finding has a hint: {text}");
    assert!(text.contains("values.yaml:3:14: error[wrong-type]: \"maybe\" is not of type \"boolean\" (at /kafka/persistence/enabled)"), "{text}");
    assert!(
        text.contains(
            "values.yaml:4:11: error[invalid-quantity]: \"20 GB\" is not a Kubernetes quantity"
        ),
        "{text}"
    );
    assert!(
        text.contains("values.yaml:5:5: error[unknown-key]: unknown key \"storageClas\""),
        "{text}"
    );
    assert!(
        text.contains("\"cloud\" is a required property (at /)"),
        "{text}"
    );
    assert!(
        text.contains(
            "m.yaml:11:16: error[invalid-quantity]: \"20GiB\" is not a Kubernetes quantity"
        ),
        "{text}"
    );
    assert!(
        stderr(&out)
            .contains("values blocks: 0 valid, 1 invalid; manifest objects: 0 valid, 1 invalid"),
        "{}",
        stderr(&out)
    );

    let missing = run(
        &[
            "validate",
            "--values",
            "/nonexistent.yaml",
            "--manifests",
            m.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(code(&missing), 2);
    assert!(
        stdout(&missing).contains("m.yaml:11:16"),
        "other files are still checked"
    );
}
