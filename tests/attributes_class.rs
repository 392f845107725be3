//! `plan --volume-attributes-class NAME` (issue 22 item 7): the class in the cluster snapshot,
//! each PVC's class, the values path of the class read in the chart's templates and proven by the
//! real Helm (or the blocking finding that says the chart can't set it), every format, and the
//! Flux patch and the PVC patch payload judged by the real kubectl.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The example snapshot (PVC 1 already at 50Gi) with VolumeAttributesClasses `classes` and PVC 2
/// naming `io2-fast`.
fn snapshot(classes: &[&str]) -> String {
    let mut s = read(&manifest_dir().join("fixtures/cluster-posthog.yaml")).replacen(
        "      name: data-posthog-posthog-kafka-2\n      namespace: posthog\n    spec:\n",
        "      name: data-posthog-posthog-kafka-2\n      namespace: posthog\n    spec:\n      volumeAttributesClassName: io2-fast\n",
        1,
    );
    assert!(s.contains("volumeAttributesClassName: io2-fast"), "{s}");
    for c in classes {
        s.push_str(&format!(
            "  - apiVersion: storage.k8s.io/v1\n    kind: VolumeAttributesClass\n    metadata:\n      name: {c}\n    driverName: ebs.csi.aws.com\n    parameters:\n      iops: \"16000\"\n"
        ));
    }
    s
}

fn plan_in(dir: &Path, render: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "plan",
        "--release",
        "posthog",
        "--namespace",
        "posthog",
        "--manifests",
        "-",
        "--kube-context",
        "prod",
    ];
    args.extend_from_slice(extra);
    let out = run_in(Some(dir), &args, render.as_bytes());
    (code(&out), stdout(&out), stderr(&out))
}

fn ids(plan: &Value) -> Vec<&str> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

fn validator(path: &str) -> jsonschema::Validator {
    let text = read(&manifest_dir().join(path));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// On the real 3-replica PostHog render, with a snapshot: the JSON follows its schema; the class
/// is a second change beside the size; the PVC that already names it is not patched; without a
/// chart that sets it the plan is blocked, and says the post-renderer is the way (text, markdown,
/// GitHub, SARIF, and the blocked script); Flux takes the class in its patch.
#[test]
fn the_class_in_every_format() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let render = read(&root.join("posthog/rendered-3-replicas.yaml"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cluster.yaml"),
        snapshot(&["io2-fast", "gp3-slow"]),
    )
    .unwrap();
    let class = [
        "--volume-attributes-class",
        "io2-fast",
        "--cluster",
        "cluster.yaml",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&class[..], extra].concat() };
    let (code, out, err) = plan_in(
        dir.path(),
        &render,
        &with(&["--size", "50Gi", "--format", "json"]),
    );
    assert_eq!(code, 1, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let errors: Vec<String> = validator("schema/plan.schema.json")
        .iter_errors(&plan)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(plan["attributes_class"], "io2-fast");
    let t = &plan["targets"][0];
    assert_eq!(t["attributes_class"], serde_json::json!({"to": "io2-fast"}));
    let set: Vec<(&str, bool)> = t["pvcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["set_class"] == true))
        .collect();
    assert_eq!(
        set,
        [
            ("data-posthog-posthog-kafka-0", true),
            ("data-posthog-posthog-kafka-1", true),
            ("data-posthog-posthog-kafka-2", false)
        ]
    );
    let found = ids(&plan);
    for id in [
        "attributes-class-exists",
        "pvc-class-set",
        "attributes-class-not-in-values",
    ] {
        assert!(found.contains(&id), "{id}: {found:?}");
    }
    let blocked = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "attributes-class-not-in-values")
        .unwrap();
    assert_eq!(blocked["severity"], "error");
    assert!(
        blocked["hint"]
            .as_str()
            .unwrap()
            .contains("post-render --volume-attributes-class io2-fast")
    );
    // The post-renderer forms carry the class, for Helm 3 and 4.
    let forms = plan["post_renderer"].to_string();
    assert_eq!(
        forms
            .matches("\"--volume-attributes-class\",\"--post-renderer-args\",\"io2-fast\"")
            .count(),
        2,
        "{forms}"
    );
    for (format, shows) in [
        ("text", "BLOCKING [attributes-class-not-in-values]"),
        (
            "markdown",
            "| `posthog-posthog-kafka` | `data` | (none) -> `io2-fast` |",
        ),
        (
            "github",
            "title=pvc-resize attributes-class-not-in-values::",
        ),
        ("sarif", "\"ruleId\": \"attributes-class-not-in-values\""),
    ] {
        let (code, out, err) = plan_in(
            dir.path(),
            &render,
            &with(&["--size", "50Gi", "--format", format]),
        );
        assert_eq!(code, 1, "{format}: {err}");
        assert!(out.contains(shows), "{format}: {out}");
    }
    let (code, script, _) = plan_in(
        dir.path(),
        &render,
        &with(&["--size", "50Gi", "--format", "script"]),
    );
    assert_eq!(code, 1);
    assert_blocked_script(&script, "attributes-class-not-in-values");

    // Flux: the post-renderer is the way, so nothing blocks; the PVC patch carries the class.
    let (code, flux, err) = plan_in(
        dir.path(),
        &render,
        &with(&["--size", "50Gi", "--format", "flux"]),
    );
    assert_eq!(code, 0, "{err}");
    assert!(flux.contains("volumeAttributesClassName"), "{flux}");
    assert!(
        flux.contains("get volumeattributesclass io2-fast"),
        "{flux}"
    );
    assert!(flux.contains("patch pvc data-posthog-posthog-kafka-0 --type=merge -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"50Gi\"}},\"volumeAttributesClassName\":\"io2-fast\"}}'"), "{flux}");
    // PVC 1 is already at 50Gi: its patch only sets the class; PVC 2 already names the class: its
    // patch only grows it.
    assert!(flux.contains("patch pvc data-posthog-posthog-kafka-1 --type=merge -p '{\"spec\":{\"volumeAttributesClassName\":\"io2-fast\"}}'"), "{flux}");
    assert!(flux.contains("patch pvc data-posthog-posthog-kafka-2 --type=merge -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"50Gi\"}}}}'"), "{flux}");
    assert!(
        flux.contains("{.status.currentVolumeAttributesClassName}"),
        "{flux}"
    );
}

/// The class alone keeps the rendered size; a class missing from a snapshot that lists others
/// blocks; a snapshot without any says the script checks it.
#[test]
fn the_class_alone_and_in_the_snapshot() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let render = read(&root.join("posthog/rendered-3-replicas.yaml"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.yaml"), snapshot(&["gp3-slow"])).unwrap();
    std::fs::write(dir.path().join("none.yaml"), snapshot(&[])).unwrap();
    let run = |cluster: &str| {
        let (code, out, err) = plan_in(
            dir.path(),
            &render,
            &[
                "--volume-attributes-class",
                "io2-fast",
                "--cluster",
                cluster,
                "--format",
                "json",
            ],
        );
        assert_eq!(code, 1, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let plan = run("other.yaml");
    assert_eq!(plan["size"]["text"], "20Gi", "the rendered size");
    assert!(
        ids(&plan).contains(&"attributes-class-missing"),
        "{:?}",
        ids(&plan)
    );
    assert!(!ids(&plan).contains(&"render-at-size"), "{:?}", ids(&plan));
    let plan = run("none.yaml");
    assert!(
        ids(&plan).contains(&"attributes-class-unknown"),
        "{:?}",
        ids(&plan)
    );
    // Not a Kubernetes name: refused before anything is read.
    let (code, _, err) = plan_in(dir.path(), &render, &["--volume-attributes-class", "IO2"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--volume-attributes-class") && err.contains("hint:"),
        "{err}"
    );
    // Neither --size nor a class: clap says what is missing.
    let (code, _, err) = plan_in(dir.path(), &render, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--size"), "{err}");
}

/// The PVC patch of a class (and of both) as the real kubectl applies it (`patch --local`).
#[test]
fn the_class_patch_is_accepted_by_kubectl() {
    let (Some(root), Some(kubectl)) = (shared_fixtures(), program("kubectl")) else {
        return;
    };
    let render = read(&root.join("posthog/rendered-3-replicas.yaml"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), snapshot(&["io2-fast"])).unwrap();
    let (_, out, err) = plan_in(
        dir.path(),
        &render,
        &[
            "--volume-attributes-class",
            "io2-fast",
            "--size",
            "50Gi",
            "--cluster",
            "cluster.yaml",
            "--format",
            "flux",
        ],
    );
    let payload = out
        .lines()
        .find(|l| l.contains("patch pvc data-posthog-posthog-kafka-0"))
        .and_then(|l| l.split(" -p '").nth(1))
        .map(|p| p.trim_end_matches('\''))
        .unwrap_or_else(|| panic!("{out}{err}"));
    let pvc = dir.path().join("pvc.yaml");
    std::fs::write(
        &pvc,
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: p\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 20Gi\n",
    )
    .unwrap();
    let out = Command::new(kubectl)
        .args(["patch", "--local", "--dry-run=client", "-o", "json", "-f"])
        .arg(&pvc)
        .args(["--type=merge", "-p", payload])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patched: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(patched["spec"]["volumeAttributesClassName"], "io2-fast");
    assert_eq!(patched["spec"]["resources"]["requests"]["storage"], "50Gi");
}

fn statefulset(class_line: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n  labels:\n    helm.sh/chart: db-1.0.0\nspec:\n  serviceName: db\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers:\n        - name: c\n          image: busybox\n          volumeMounts:\n            - name: data\n              mountPath: /data\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n{class_line}        resources:\n          requests:\n            storage: {{{{ .Values.persistence.size }}}}\n"
    )
}

/// A local chart: its template's volumeAttributesClassName line read for `.Values` paths, each
/// proven by the real Helm; a chart without one says so.
#[test]
fn the_values_path_of_the_class_is_read_in_the_chart_and_proven_by_helm() {
    let Some(helm) = helm(3) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("values.yaml"),
        "persistence:\n  size: 8Gi # the data disk\n",
    )
    .unwrap();
    let chart = |name: &str, class_line: &str| {
        let c = root.path().join(name);
        std::fs::create_dir_all(c.join("templates")).unwrap();
        std::fs::write(
            c.join("Chart.yaml"),
            "apiVersion: v2\nname: db\nversion: 1.0.0\n",
        )
        .unwrap();
        std::fs::write(
            c.join("values.yaml"),
            "persistence:\n  size: 8Gi\n  attributesClass: \"\"\n",
        )
        .unwrap();
        std::fs::write(c.join("templates/sts.yaml"), statefulset(class_line)).unwrap();
        let render = output_of(
            Command::new(&helm)
                .args(["template", "db"])
                .arg(&c)
                .args(["--namespace", "db"]),
        );
        (c, render)
    };
    let run = |c: &Path, render: &str| {
        let args = [
            "plan",
            "--release",
            "db",
            "--namespace",
            "db",
            "--size",
            "10Gi",
            "--manifests",
            "-",
            "--statefulset",
            "db",
            "--volume-attributes-class",
            "io2-fast",
            "--chart",
            c.to_str().unwrap(),
            "--helm",
            helm.to_str().unwrap(),
            "--format",
            "json",
            "--values",
            "values.yaml",
        ];
        let out = run_in(Some(root.path()), &args, render.as_bytes());
        let plan: Value =
            serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        plan
    };
    let (c, render) = chart(
        "reads",
        "        {{- with .Values.persistence.attributesClass }}\n        volumeAttributesClassName: {{ . }}\n        {{- end }}\n",
    );
    let plan = run(&c, &render);
    assert_eq!(
        plan["targets"][0]["attributes_class"]["values_path"],
        "persistence.attributesClass",
        "{:?}",
        ids(&plan)
    );
    assert!(
        ids(&plan).contains(&"attributes-class-path-proven"),
        "{:?}",
        ids(&plan)
    );
    // The values change sets the size and the class, each where the chart reads it.
    assert_eq!(
        plan["values"]["class_paths"],
        serde_json::json!(["persistence.attributesClass"])
    );
    let diff = plan["values"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("+  size: 10Gi # the data disk")
            && diff.contains("+  attributesClass: io2-fast"),
        "{diff}"
    );
    // The values step writes both, with the same edits the plan shows.
    let values_step = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "values")
        .unwrap();
    assert!(
        values_step["commands"].to_string().contains(
            "\"--volume-attributes-class\",\"io2-fast\",\"--path\",\"persistence.attributesClass\""
        ),
        "{values_step}"
    );
    let (c, render) = chart("ignores", "");
    let plan = run(&c, &render);
    let f = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "attributes-class-not-in-values")
        .unwrap_or_else(|| panic!("{:?}", ids(&plan)));
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("renders no volumeAttributesClassName from .Values"),
        "{f}"
    );
}
