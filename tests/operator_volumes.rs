//! Volumes an operator owns are recognised in the render and explained (`operator-volume`), never
//! grown by the plan: the real PostHog render's ClickHouseInstallation, and a chart of our own
//! (rendered by the real Helm 3) with a prometheus-operator Prometheus and Strimzi KafkaNodePool
//! beside a StatefulSet.

mod common;

fn operator_findings(plan: &serde_json::Value) -> Vec<String> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "operator-volume")
        .map(|f| f["message"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn posthog_s_clickhouse_is_explained() {
    let Some(fx) = common::shared_fixtures() else {
        return;
    };
    let render = fx.join("posthog/rendered-default.yaml");
    let argv = common::plan_argv(
        "posthog",
        "50Gi",
        render.to_str().unwrap(),
        &["--format", "json"],
    );
    let o = common::run(&argv, b"");
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    let plan: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    let found = operator_findings(&plan);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("ClickHouseInstallation posthog (claim template data-volumeclaim-template) is owned by the Altinity ClickHouse operator, grown by a plan only as its target (plan --resource ClickHouseInstallation/posthog)"),
        "{}",
        found[0]
    );
    assert!(found[0].contains("clickhouse.altinity.com/chi=posthog"));
    // The plan still grows Kafka only.
    assert_eq!(plan["targets"].as_array().unwrap().len(), 1);
}

#[test]
fn prometheus_and_strimzi_are_explained() {
    let Some(helm) = common::helm(3) else { return };
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("monitoring");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: monitoring\nversion: 1.2.0\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "prometheus:\n  size: 40Gi\nkafka:\n  size: 100Gi\ncache:\n  size: 8Gi\n",
    )
    .unwrap();
    let labels = "  labels:\n    app.kubernetes.io/instance: {{ .Release.Name }}\n    helm.sh/chart: monitoring-1.2.0\n";
    std::fs::write(
        chart.join("templates/prometheus.yaml"),
        format!("apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: {{{{ .Release.Name }}}}-prom\n{labels}spec:\n  replicas: 2\n  storage:\n    volumeClaimTemplate:\n      spec:\n        resources:\n          requests:\n            storage: {{{{ .Values.prometheus.size }}}}\n"),
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/pool.yaml"),
        format!("apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaNodePool\nmetadata:\n  name: brokers\n{labels}spec:\n  replicas: 3\n  roles: [broker]\n  storage:\n    type: persistent-claim\n    size: {{{{ .Values.kafka.size }}}}\n"),
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cache.yaml"),
        format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: cache\n{labels}spec:\n  serviceName: cache\n  selector:\n    matchLabels:\n      app: cache\n  template:\n    metadata:\n      labels:\n        app: cache\n    spec:\n      containers:\n        - name: c\n          image: busybox\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: {{{{ .Values.cache.size }}}}\n"),
    )
    .unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "{}\n").unwrap();
    let render = dir.path().join("render.yaml");
    std::fs::write(
        &render,
        common::helm_template(&helm, "mon", &chart, "mon", &values, &[]),
    )
    .unwrap();
    let argv = common::plan_argv(
        "mon",
        "16Gi",
        render.to_str().unwrap(),
        &[
            "--statefulset",
            "cache",
            "--path",
            "cache.size",
            "--format",
            "json",
        ],
    );
    let o = common::run(&argv, b"");
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    let plan: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    let found = operator_findings(&plan);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found.iter().any(
            |m| m.starts_with("Prometheus mon-prom is owned by prometheus-operator")
                && m.contains("does not grow existing PVCs")
                && m.contains("operator.prometheus.io/name=mon-prom")
        ),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|m| m.starts_with("KafkaNodePool brokers is owned by the Strimzi operator")),
        "{found:#?}"
    );
}
