//! OpenKruise's Advanced StatefulSet (`apps.kruise.io/v1beta1`, `kind: StatefulSet`, issue 22
//! item 5) on the real Bitnami Kafka 14 render, its StatefulSet given Kruise's apiVersion: render
//! `check` applies its webhook's rules (openkruise/kruise
//! `pkg/webhook/statefulset/validating/statefulset_validation.go`), `plan` explains its procedure
//! and blocks the apps/v1 steps, and the post-renderer resizes it like any StatefulSet.

mod common;
use common::*;
use serde_json::Value;

/// The render with the `kafka` StatefulSet as an Advanced StatefulSet, its claim template at
/// `size`, with `strategy` as its volumeClaimUpdateStrategy.type (empty: unset).
fn kruise(render: &str, size: &str, strategy: &str) -> String {
    let marker = "# Source: kafka/templates/statefulset.yaml\napiVersion: apps/v1\n";
    assert!(render.contains(marker));
    let mut out = render.replacen(
        marker,
        "# Source: kafka/templates/statefulset.yaml\napiVersion: apps.kruise.io/v1beta1\n",
        1,
    );
    if !strategy.is_empty() {
        let at = out.find("apiVersion: apps.kruise.io/v1beta1").unwrap();
        let spec = at + out[at..].find("\nspec:\n").unwrap() + "\nspec:\n".len();
        out.insert_str(
            spec,
            &format!("  volumeClaimUpdateStrategy:\n    type: {strategy}\n"),
        );
    }
    let at = out.find("apiVersion: apps.kruise.io/v1beta1").unwrap();
    let storage = at + out[at..].find("storage: \"8Gi\"").unwrap();
    out.replace_range(
        storage..storage + "storage: \"8Gi\"".len(),
        &format!("storage: \"{size}\""),
    );
    out
}

fn check(old: &str, new: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.yaml"), old).unwrap();
    std::fs::write(dir.path().join("new.yaml"), new).unwrap();
    let out = run_in(
        Some(dir.path()),
        &[
            "check",
            "--base-manifests",
            "old.yaml",
            "--head-manifests",
            "new.yaml",
            "--format",
            "json",
        ],
        b"",
    );
    (code(&out), serde_json::from_str(&stdout(&out)).unwrap())
}

fn ids(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

#[test]
fn an_advanced_statefulset_in_check_plan_and_post_render() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let render = read(&root.join("bitnami-kafka-14/rendered-default.yaml"));
    // A grow: in place; who grows the PVCs depends on the strategy.
    for (strategy, says) in [
        (
            "OnPodRollingUpdate",
            "its controller grows PVCs data-kafka-0",
        ),
        ("OnDelete", "keep their size"),
        ("", "keep their size"),
    ] {
        let (exit, report) = check(
            &kruise(&render, "8Gi", strategy),
            &kruise(&render, "20Gi", strategy),
        );
        assert_eq!(
            (exit, ids(&report)),
            (0, vec!["kruise-grow"]),
            "{strategy}: {report:#}"
        );
        let f = &report["findings"][0];
        assert!(
            f["message"].as_str().unwrap().contains(says),
            "{strategy}: {f}"
        );
        assert!(f["hint"].is_string());
    }
    // Another claim template change: refused under OnPodRollingUpdate, accepted otherwise.
    // In the Advanced StatefulSet only (the zookeeper StatefulSet is Kubernetes' own).
    let modes = |s: String| {
        let at = s.find("apiVersion: apps.kruise.io/v1beta1").unwrap();
        let (head, tail) = s.split_at(at);
        format!(
            "{head}{}",
            tail.replacen("- \"ReadWriteOnce\"", "- \"ReadWriteMany\"", 1)
        )
    };
    let base = kruise(&render, "8Gi", "OnPodRollingUpdate");
    let (exit, report) = check(&base, &modes(base.clone()));
    assert_eq!(exit, 1);
    assert!(
        ids(&report).contains(&"kruise-claim-template-refused"),
        "{report:#}"
    );
    let base = kruise(&render, "8Gi", "OnDelete");
    let (exit, report) = check(&base, &modes(base.clone()));
    assert!(
        ids(&report).contains(&"kruise-claim-template-changed"),
        "{report:#}"
    );
    assert_eq!(exit, 0);

    // plan: the procedure explained, the apps/v1 steps blocked.
    let out = run(
        &plan_argv(
            "kafka",
            "20Gi",
            "-",
            &["--statefulset", "kafka", "--format", "json"],
        ),
        kruise(&render, "8Gi", "OnPodRollingUpdate").as_bytes(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let f = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "kruise-statefulset")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("its controller grows PVCs"),
        "{f}"
    );
    assert_eq!(plan["steps"], serde_json::json!([]));

    // post-render: the same kind, resized as any StatefulSet.
    let out = run(
        &["post-render", "--statefulset", "kafka", "--size", "20Gi"],
        kruise(&render, "8Gi", "").as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), kruise(&render, "20Gi", ""));
}
