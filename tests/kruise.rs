//! OpenKruise's Advanced StatefulSet (`apps.kruise.io/v1beta1`, `kind: StatefulSet`, issue 22
//! item 5) on the real Bitnami Kafka 14 render, its StatefulSet given Kruise's apiVersion: render
//! `check` applies its webhook's rules (openkruise/kruise
//! `pkg/webhook/statefulset/validating/statefulset_validation.go`), `plan` plans its own procedure
//! (no orphan delete; its PVCs grown after the upgrade by its controller or the script), proven by
//! the real Helm's render of the planned values change, and the post-renderer resizes it like any
//! StatefulSet.

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

    // post-render: the same kind, resized as any StatefulSet.
    let out = run(
        &["post-render", "--statefulset", "kafka", "--size", "20Gi"],
        kruise(&render, "8Gi", "").as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), kruise(&render, "20Gi", ""));
}

/// `plan` on the Advanced StatefulSet under each strategy: the values change and the upgrade (no
/// orphan delete, no save), then the PVCs grown by the controller (OnPodRollingUpdate) or the
/// script; the planned values change, rendered by each real Helm and given Kruise's apiVersion, is
/// what the script's preflight accepts (`verify-render`: the target at 20Gi, nothing else changed)
/// and what render `check` says the webhook takes in place (`kruise-grow` only).
#[test]
fn plan_on_an_advanced_statefulset_judged_by_helm() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let fixture = root.join("bitnami-kafka-14");
    let render = read(&fixture.join("rendered-default.yaml"));
    for strategy in ["OnPodRollingUpdate", "OnDelete", ""] {
        let dir = tempfile::tempdir().unwrap();
        let values = dir.path().join("values.yaml");
        std::fs::write(&values, read(&fixture.join("values-default.yaml"))).unwrap();
        let out = run_in(
            Some(dir.path()),
            &plan_argv(
                "kafka",
                "20Gi",
                "-",
                &[
                    "--statefulset",
                    "kafka",
                    "--values",
                    "values.yaml",
                    "--format",
                    "json",
                ],
            ),
            kruise(&render, "8Gi", strategy).as_bytes(),
        );
        assert_eq!(code(&out), 0, "{strategy}: {}", stderr(&out));
        let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let errors = plan_schema_errors(&plan);
        assert!(errors.is_empty(), "{strategy}: {errors:#?}");
        let steps: Vec<&str> = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "preflight",
                "values",
                "replace-statefulsets",
                "kruise-pvcs",
                "rollout",
                "verify"
            ],
            "{strategy}"
        );
        let commands = plan["steps"].to_string();
        assert!(
            !commands.contains("--cascade=orphan"),
            "{strategy}: {commands}"
        );
        let by = if strategy == "OnPodRollingUpdate" {
            "controller"
        } else {
            "script"
        };
        assert_eq!(plan["targets"][0]["kruise"]["pvcs_by"], by, "{strategy}");
        let pvcs_step = plan["steps"][3]["commands"].to_string();
        assert_eq!(
            pvcs_step.contains("\"patch\",\"pvc\""),
            by == "script",
            "{strategy}: {pvcs_step}"
        );
        assert!(
            ids(&plan).contains(&"kruise-procedure") && !plan["blocking"].as_bool().unwrap(),
            "{plan:#}"
        );
        // The script is written, with the Advanced StatefulSet's resource and strategy.
        let out = run_in(
            Some(dir.path()),
            &plan_argv(
                "kafka",
                "20Gi",
                "-",
                &[
                    "--statefulset",
                    "kafka",
                    "--values",
                    "values.yaml",
                    "--chart",
                    "bitnami/kafka",
                    "--kube-context",
                    "prod",
                    "--format",
                    "script",
                ],
            ),
            kruise(&render, "8Gi", strategy).as_bytes(),
        );
        assert_eq!(code(&out), 0, "{strategy}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(
            script.contains("STS_RESOURCES=('statefulsets.apps.kruise.io')"),
            "{strategy}"
        );
        assert!(
            script.contains(&format!("STS_KRUISE=('{by}')")),
            "{strategy}"
        );

        // The planned values change, rendered by the real Helm, as the upgrade would apply it.
        let paths: Vec<&str> = plan["values"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(paths, ["persistence.size"], "{strategy}");
        let out = run_in(
            Some(dir.path()),
            &[
                "values",
                "values.yaml",
                "--size",
                "20Gi",
                "--path",
                paths[0],
                "--write",
            ],
            b"",
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        for judge in judges() {
            let chart = fixture.join("chart/kafka-14.9.3.tgz");
            let base = helm_template(
                &judge.path,
                "kafka",
                &chart,
                "kafka",
                &fixture.join("values-default.yaml"),
                &[],
            );
            let new = helm_template(&judge.path, "kafka", &chart, "kafka", &values, &[]);
            std::fs::write(dir.path().join("base.yaml"), kruise(&base, "8Gi", strategy)).unwrap();
            // (What `helm upgrade --dry-run` prints: the render after MANIFEST:.)
            let head = format!("MANIFEST:\n{}", kruise_at(&new, strategy));
            std::fs::write(dir.path().join("dry-run.out"), &head).unwrap();
            let out = run_in(
                Some(dir.path()),
                &[
                    "verify-render",
                    "--dry-run",
                    "dry-run.out",
                    "--base",
                    "base.yaml",
                    "--size",
                    "20Gi",
                    "--statefulset",
                    "kafka",
                    "--path",
                    paths[0],
                ],
                b"",
            );
            assert_eq!(code(&out), 0, "{} {strategy}: {}", judge.name, stderr(&out));
            let (exit, report) = check(&kruise(&base, "8Gi", strategy), &kruise_at(&new, strategy));
            assert_eq!(
                (exit, ids(&report)),
                (0, vec!["kruise-grow"]),
                "{} {strategy}: {report:#}",
                judge.name
            );
        }
    }
}

/// A render whose claim template is already at its size, given Kruise's apiVersion and `strategy`.
fn kruise_at(render: &str, strategy: &str) -> String {
    let marker = "storage: \"20Gi\"";
    assert!(
        render.contains(marker),
        "the values change did not reach the render"
    );
    kruise(
        &render.replacen(marker, "storage: \"8Gi\"", 1),
        "20Gi",
        strategy,
    )
}
