//! `values` knows the chart layout: on a values file of the Bitnami Kafka chart itself, the
//! PostHog path `kafka.persistence.size` is refused with the path to use, and the real Helm
//! shows why (the chart ignores the PostHog path) and that the suggested path works.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// `(StatefulSet name, claim template storage)` of every StatefulSet `helm template` renders.
fn storages(helm: &Path, chart: &Path, values: &Path) -> Vec<(String, String)> {
    let out = Command::new(helm)
        .args(["template", "demo"])
        .arg(chart)
        .arg("-f")
        .arg(values)
        .output()
        .unwrap();
    assert!(out.status.success(), "helm template: {}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut found = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: serde_json::Value = serde::Deserialize::deserialize(doc).unwrap();
        if v["kind"] != "StatefulSet" {
            continue;
        }
        let name = v["metadata"]["name"].as_str().unwrap().to_owned();
        for t in v["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let size = &t["spec"]["resources"]["requests"]["storage"];
            found.push((name.clone(), size.as_str().unwrap_or_default().to_owned()));
        }
    }
    found.sort();
    found
}

fn values(file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "values",
        file.to_str().unwrap(),
        "--size",
        "60Gi",
        "--write",
    ];
    args.extend_from_slice(extra);
    run(&args, b"")
}

#[test]
fn bitnami_kafka_14_standalone() {
    let (Some(fixtures), Some(helm)) = (shared_fixtures(), helm(3)) else {
        return;
    };
    let chart = fixtures.join("bitnami-kafka-14/chart/kafka-14.9.3.tgz");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    let original = "replicaCount: 1\npersistence:\n  size: 20Gi\n";
    std::fs::write(&file, original).unwrap();

    let out = values(&file, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let f = file.to_str().unwrap();
    assert!(
        stderr(&out).starts_with(&format!("pvc-resize: error[values-path-ignored]: {f}:2:1: `persistence:` makes this a values file of the Bitnami Kafka chart itself")),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("\n  hint: use --path persistence.size\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "nothing written"
    );

    // Why: the chart ignores kafka.persistence.size.
    let ignored = dir.path().join("ignored.yaml");
    std::fs::write(
        &ignored,
        format!("{original}kafka:\n  persistence:\n    size: 60Gi\n"),
    )
    .unwrap();
    assert!(
        storages(&helm, &chart, &ignored)
            .iter()
            .all(|(_, s)| s != "60Gi"),
        "the chart must ignore kafka.persistence.size"
    );

    // The suggested path is the one the chart reads.
    let out = values(&file, &["--path", "persistence.size"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = storages(&helm, &chart, &file);
    assert!(
        got.contains(&("demo-kafka".to_owned(), "60Gi".to_owned())),
        "{got:?}"
    );
}

#[test]
fn bitnami_kafka_32_kraft() {
    let (Some(fixtures), Some(helm)) = (shared_fixtures(), helm(3)) else {
        return;
    };
    let chart = fixtures.join("bitnami-kafka-32/chart/kafka-32.4.4.tgz");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    let split = read(&fixtures.join("bitnami-kafka-32/values-split.yaml"));
    std::fs::write(&file, &split).unwrap();

    let out = values(&file, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            ":1:1: `controller:` makes this a values file of the Bitnami Kafka chart itself (>= 24"
        ),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(
            "hint: use --path controller.persistence.size and/or --path broker.persistence.size"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), split);

    let out = values(&file, &["--path", "broker.persistence.size"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got = storages(&helm, &chart, &file);
    assert!(
        got.contains(&("demo-kafka-broker".to_owned(), "60Gi".to_owned())),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|(n, s)| n == "demo-kafka-controller" && s != "60Gi"),
        "{got:?}"
    );
}
