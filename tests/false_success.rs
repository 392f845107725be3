//! False successes of issue 21, one table per class:
//! - item 5: post-render with a merge key (`<<`) that gives the size Helm and kubectl read;
//!   judged by both Helms' `fromYaml` (sigs.k8s.io/yaml, what Helm's client decodes with);
//! - item 8: `check` on values misses a scale-down when the head has no persistence block, and
//!   render `check` passes an empty head render.

mod common;

use common::{check_values_texts, code, helm, output_of, run, skip, stderr, stdout};
use std::process::Command;

fn sts(requests: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: kafka\nspec:\n  serviceName: kafka\n  selector: {{matchLabels: {{app: kafka}}}}\n  template: {{metadata: {{labels: {{app: kafka}}}}, spec: {{containers: [{{name: c, image: busybox}}]}}}}\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n{requests}"
    )
}

/// The storage request Helm reads from `doc` (its `fromYaml`, the library its client decodes
/// manifests with), by the Helm of `major`.
fn helm_reads(major: u8, doc: &str) -> Option<String> {
    let helm = helm(major)?;
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("judge");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: judge\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("m.yaml"), doc).unwrap();
    std::fs::write(
        chart.join("templates/judge.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: judge}\ndata:\n  read: {{ (.Files.Get \"m.yaml\" | fromYaml) | toJson | quote }}\n",
    )
    .unwrap();
    let out = output_of(Command::new(helm).arg("template").arg("j").arg(&chart));
    let cm: serde_json::Value = serde_yaml::from_str(&out).unwrap();
    let read: serde_json::Value = serde_json::from_str(cm["data"]["read"].as_str()?).unwrap();
    read.pointer("/spec/volumeClaimTemplates/0/spec/resources/requests/storage")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Item 5: whatever the place of the merge key, post-render either grows what Helm reads or
/// refuses; it never reports a resize that the output does not make.
#[test]
fn post_render_reads_the_size_helm_reads() {
    let cases = [
        // (requests, what Helm reads)
        (
            "          requests:\n            storage: \"20Gi\"\n            <<: {storage: \"100Gi\"}\n",
            "100Gi",
        ),
        (
            "          requests:\n            <<: {storage: \"100Gi\"}\n            storage: \"20Gi\"\n",
            "20Gi",
        ),
        (
            "          requests:\n            storage: \"20Gi\"\n            <<: [{storage: \"100Gi\"}, {storage: \"1Gi\"}]\n",
            "100Gi",
        ),
        (
            "          <<: {requests: {storage: \"100Gi\"}}\n          requests:\n            storage: \"20Gi\"\n",
            "20Gi",
        ),
        (
            "          requests:\n            storage: \"20Gi\"\n          <<: {requests: {storage: \"100Gi\"}}\n",
            "100Gi",
        ),
    ];
    for (requests, reads) in cases {
        let doc = sts(requests);
        for major in [3, 4] {
            match helm_reads(major, &doc) {
                Some(r) => {
                    assert_eq!(r, reads, "Helm {major} reads another size from:\n{doc}");
                }
                None => skip(&format!("helm{major}")),
            }
        }
        let o = run(
            &["post-render", "--size", "50Gi", "--statefulset", "kafka"],
            doc.as_bytes(),
        );
        let out = stdout(&o);
        if code(&o) == 0 {
            // A resize was made: what Helm reads from the output is the new size.
            assert!(stderr(&o).contains("-> 50Gi"), "{}", stderr(&o));
            for major in [3, 4] {
                if let Some(r) = helm_reads(major, &out) {
                    assert_eq!(
                        r, "50Gi",
                        "post-render said 50Gi; Helm {major} reads {r}:\n{out}"
                    );
                }
            }
            assert_eq!(
                reads, "20Gi",
                "the written size was grown but Helm reads the merge's"
            );
        } else {
            assert_eq!(code(&o), 2, "{}", stderr(&o));
            assert!(out.is_empty());
            assert!(stderr(&o).contains("merge key (<<)"), "{}", stderr(&o));
            assert_eq!(
                reads, "100Gi",
                "refused although Helm reads the written size"
            );
        }
    }
}

/// Item 8, first part: a scale-down is found whether or not the head (or either side) still
/// has the persistence block.
#[test]
fn check_on_values_finds_a_scale_down_without_the_block() {
    let cases = [
        (
            "kafka:\n  replicaCount: 3\n  persistence:\n    size: 20Gi\n",
            "kafka:\n  replicaCount: 1\n",
            "replicas-down",
        ),
        (
            "kafka:\n  replicaCount: 3\n  persistence:\n    size: 20Gi\n",
            "kafka:\n  enabled: true\n",
            "replicas-unset",
        ),
        (
            "kafka:\n  replicaCount: 3\n",
            "kafka:\n  replicaCount: 1\n",
            "replicas-down",
        ),
        (
            "replicaCount: 3\npersistence:\n  size: 8Gi\n",
            "replicaCount: 1\n",
            "replicas-down",
        ),
    ];
    for (base, head, id) in cases {
        let o = check_values_texts(base, head);
        let out = format!("{}{}", stdout(&o), stderr(&o));
        assert!(out.contains(id), "{base} -> {head}: expected {id}:\n{out}");
    }
}

/// Item 8, second part: render `check` refuses an empty head render, as validate and
/// post-render do (Helm 3 would delete every resource of the release).
#[test]
fn render_check_refuses_an_empty_head() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.yaml");
    std::fs::write(
        &base,
        format!("---\n{}", sts("          requests: {storage: 20Gi}\n")),
    )
    .unwrap();
    for empty in [
        "",
        "---\n",
        "# Source: c/templates/x.yaml\n---\n# nothing\n",
        "\n\n",
    ] {
        let head = dir.path().join("head.yaml");
        std::fs::write(&head, empty).unwrap();
        let o = run(
            &[
                "check",
                "--base-manifests",
                base.to_str().unwrap(),
                "--head-manifests",
                head.to_str().unwrap(),
            ],
            b"",
        );
        assert_eq!(code(&o), 2, "{empty:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("no Kubernetes object in the head render"),
            "{}",
            stderr(&o)
        );
    }
}
