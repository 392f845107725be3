//! `plan` on the real renders: golden outputs of every format, the JSON against its schema, the
//! script through bash -n, shellcheck and a fake kubectl/helm, and the patch payloads through the
//! real `kubectl patch --local`.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    name: &'static str,
    dir: &'static str,
    render: &'static str,
    values: &'static str,
    release: &'static str,
    extra: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "posthog-1",
        dir: "posthog",
        render: "rendered-default.yaml",
        values: "values-default.yaml",
        release: "posthog",
        extra: &[],
    },
    Case {
        name: "posthog-3-cluster",
        dir: "posthog",
        render: "rendered-3-replicas.yaml",
        values: "values-3-replicas.yaml",
        release: "posthog",
        extra: &["--cluster", "cluster.yaml"],
    },
    Case {
        name: "posthog-logpersistence",
        dir: "posthog",
        render: "rendered-logpersistence.yaml",
        values: "values-logpersistence.yaml",
        release: "posthog",
        extra: &[],
    },
    Case {
        name: "bitnami32-brokers",
        dir: "bitnami-kafka-32",
        render: "rendered-split.yaml",
        values: "values-split.yaml",
        release: "kafka",
        extra: &["--statefulset", "kafka-broker"],
    },
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A work folder with values.yaml (and cluster.yaml), and the render to pipe in.
fn setup(root: &Path, c: &Case) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("values.yaml"),
        read(&root.join(c.dir).join(c.values)),
    )
    .unwrap();
    std::fs::copy(
        manifest_dir().join("fixtures/cluster-posthog.yaml"),
        dir.path().join("cluster.yaml"),
    )
    .unwrap();
    (dir, read(&root.join(c.dir).join(c.render)))
}

fn plan(dir: &Path, c: &Case, render: &str, format: &str) -> (i32, String, String) {
    let mut args = vec![
        "plan",
        "--release",
        c.release,
        "--namespace",
        c.release,
        "--size",
        "50Gi",
        "--manifests",
        "-",
        "--values",
        "values.yaml",
        "--chart",
        "./charts/posthog",
        "--format",
        format,
    ];
    args.extend_from_slice(c.extra);
    let out = run_in(Some(dir), &args, render.as_bytes());
    (code(&out), stdout(&out), stderr(&out))
}

/// Compares with tests/snapshots/NAME; PVC_RESIZE_BLESS=1 rewrites the file instead.
fn golden(name: &str, got: &str) {
    let path = manifest_dir().join("tests/snapshots").join(name);
    if std::env::var_os("PVC_RESIZE_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with PVC_RESIZE_BLESS=1 and review it",
            path.display()
        )
    });
    assert!(
        want == got,
        "{name} differs (PVC_RESIZE_BLESS=1 to accept):\n{}",
        pvc_resize::render::unified_diff(&want, got, name)
    );
}

#[test]
fn golden_outputs_of_every_format() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&read(&manifest_dir().join("schema/plan.schema.json"))).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for c in CASES {
        let (dir, render) = setup(&root, c);
        for (format, ext) in [
            ("text", "txt"),
            ("markdown", "md"),
            ("json", "json"),
            ("script", "sh"),
        ] {
            let (code, out, err) = plan(dir.path(), c, &render, format);
            assert_eq!(code, 0, "{} {format}: {err}", c.name);
            golden(&format!("plan-{}.{ext}", c.name), &out);
            if format == "json" {
                let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&v)
                    .map(|e| format!("{e} at {}", e.instance_path().as_str()))
                    .collect();
                assert!(errors.is_empty(), "{}: {errors:?}", c.name);
            }
        }
        assert_eq!(
            read(&dir.path().join("values.yaml")),
            read(&root.join(c.dir).join(c.values)),
            "plan writes nothing"
        );
    }
}

#[test]
fn facts_from_the_cluster_snapshot() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[1]);
    let (_, out, _) = plan(dir.path(), &CASES[1], &render, "json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pvcs = &v["targets"][0]["pvcs"];
    assert_eq!(pvcs[1]["state"], "grown", "data-...-1 already has 50Gi");
    assert_eq!(pvcs[1]["patch"], false);
    let patches: Vec<&str> = v["steps"][1]["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["argv"][5].as_str().unwrap())
        .collect();
    assert_eq!(
        patches,
        vec![
            "data-posthog-posthog-kafka-0",
            "data-posthog-posthog-kafka-2"
        ]
    );
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"storageclass-expands") && codes.contains(&"cloud-ebs"),
        "{codes:?}"
    );

    // A class that can't expand blocks: plan printed, exit 1, no steps, no script.
    std::fs::write(
        dir.path().join("cluster.yaml"),
        read(&dir.path().join("cluster.yaml"))
            .replace("allowVolumeExpansion: true", "allowVolumeExpansion: false"),
    )
    .unwrap();
    let (code, out, _) = plan(dir.path(), &CASES[1], &render, "text");
    assert_eq!(code, 1);
    assert!(
        out.contains("BLOCKING [storageclass-no-expansion]"),
        "{out}"
    );
    assert!(!out.contains("kubectl -n posthog patch pvc"), "{out}");
    let (code, out, err) = plan(dir.path(), &CASES[1], &render, "script");
    assert_eq!((code, out.as_str()), (1, ""), "{err}");

    // whenScaled: Delete takes the fallback away.
    let snapshot = read(&manifest_dir().join("fixtures/cluster-posthog.yaml"))
        .replace("whenScaled: Retain", "whenScaled: Delete");
    std::fs::write(dir.path().join("cluster.yaml"), snapshot).unwrap();
    let (code, out, _) = plan(dir.path(), &CASES[1], &render, "json");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fallback_offered"], false);
    assert!(!out.contains("fallback-scale-down"));
    assert!(out.contains("retention-delete"));
}

#[test]
fn refusals() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[0]);
    let d = dir.path();
    for (release, namespace, needle) in [
        (
            "x;rm -rf /",
            "posthog",
            "release \"x;rm -rf /\" is not a valid Kubernetes name",
        ),
        ("posthog", "Posthog", "namespace"),
    ] {
        let out = run_in(
            Some(d),
            &[
                "plan",
                "--release",
                release,
                "--namespace",
                namespace,
                "--size",
                "50Gi",
                "--manifests",
                "-",
            ],
            render.as_bytes(),
        );
        assert_eq!(code(&out), 2);
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
    // A shrink is a blocking finding: the plan is printed with exit 1.
    let out = run_in(
        Some(d),
        &[
            "plan",
            "--release",
            "posthog",
            "--namespace",
            "posthog",
            "--size",
            "10Gi",
            "--manifests",
            "-",
        ],
        render.as_bytes(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("BLOCKING [shrink]"),
        "{}",
        stdout(&out)
    );
    let out = run_in(
        Some(d),
        &[
            "plan",
            "--release",
            "posthog",
            "--namespace",
            "posthog",
            "--size",
            "50Gi",
            "--manifests",
            "-",
            "--format",
            "script",
        ],
        render.as_bytes(),
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--format script needs --values"),
        "{}",
        stderr(&out)
    );
}

fn scripts() -> Vec<PathBuf> {
    let dir = manifest_dir().join("tests/snapshots");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    v.sort();
    assert!(v.len() >= 4);
    v
}

#[test]
fn scripts_pass_bash_n_and_shellcheck() {
    let Some(bash) = program("bash") else { return };
    for s in scripts() {
        let out = Command::new(&bash).arg("-n").arg(&s).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            s.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let Some(shellcheck) = program("shellcheck") else {
        return;
    };
    for s in scripts() {
        let out = Command::new(&shellcheck)
            .arg("--shell=bash")
            .arg(&s)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}:\n{}",
            s.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn patch_payloads_are_accepted_by_kubectl() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let Some(kubectl) = program("kubectl") else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[0]);
    let (_, out, _) = plan(dir.path(), &CASES[0], &render, "json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let argv: Vec<String> =
        serde_json::from_value(v["steps"][1]["commands"][0]["argv"].clone()).unwrap();
    assert_eq!(&argv[..5], ["kubectl", "-n", "posthog", "patch", "pvc"]);
    let pvc = dir.path().join("pvc.yaml");
    std::fs::write(
        &pvc,
        read(&manifest_dir().join("fixtures/cluster-posthog.yaml"))
            .split("  - apiVersion: v1\n")
            .nth(1)
            .map(|d| {
                format!(
                    "apiVersion: v1\n{}",
                    d.lines()
                        .map(|l| l.strip_prefix("    ").unwrap_or(l))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })
            .unwrap(),
    )
    .unwrap();
    let out = Command::new(kubectl)
        .args(["patch", "--local", "--dry-run=client", "-o", "yaml", "-f"])
        .arg(&pvc)
        .args(["-p", &argv[7]])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patched = tree(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(patched["spec"]["resources"]["requests"]["storage"], "50Gi");
    assert_eq!(patched["metadata"]["name"], "data-posthog-posthog-kafka-0");
}

/// The fake cluster: state files from the snapshot, fake kubectl and helm first on PATH.
struct Fake {
    dir: tempfile::TempDir,
    path: String,
}

impl Fake {
    fn new(snapshot: &str) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("state");
        let v: serde_json::Value = serde_yaml::from_str(snapshot).unwrap();
        for item in v["items"].as_array().unwrap() {
            let name = item["metadata"]["name"].as_str().unwrap();
            let put = |kind: &str, field: &str, value: &serde_json::Value| {
                let d = st.join(kind).join(name);
                std::fs::create_dir_all(&d).unwrap();
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                std::fs::write(d.join(field), text).unwrap();
            };
            match item["kind"].as_str().unwrap() {
                "StorageClass" => put("sc", "allowVolumeExpansion", &item["allowVolumeExpansion"]),
                "PersistentVolumeClaim" => {
                    put("pvc", "phase", &item["status"]["phase"]);
                    put("pvc", "class", &item["spec"]["storageClassName"]);
                    put(
                        "pvc",
                        "request",
                        &item["spec"]["resources"]["requests"]["storage"],
                    );
                    put("pvc", "capacity", &item["status"]["capacity"]["storage"]);
                }
                "StatefulSet" => {
                    put(
                        "sts",
                        "whenScaled",
                        &item["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"],
                    );
                    put("sts", "template", &serde_json::json!("20Gi"));
                }
                _ => {}
            }
        }
        std::fs::write(st.join("calls"), "").unwrap();
        let bin = Path::new(env!("CARGO_BIN_EXE_pvc-resize"))
            .parent()
            .unwrap()
            .to_owned();
        let path = format!(
            "{}:{}:{}",
            manifest_dir().join("tests/fake").display(),
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Fake { dir, path }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Runs the script in `work`; returns (exit code, the calls it made, stderr).
    fn run(&self, script: &Path, work: &Path, args: &[&str]) -> (i32, Vec<String>, String) {
        std::fs::write(self.state().join("calls"), "").unwrap();
        let out = Command::new("bash")
            .arg(script)
            .args(args)
            .current_dir(work)
            .env("PATH", &self.path)
            .env("FAKE_STATE", self.state())
            .env("FAKE_RECREATE", "posthog-posthog-kafka")
            .env("FAKE_UPGRADE_SIZE", "50Gi")
            .env("PVC_RESIZE_POLL_SECONDS", "0")
            .output()
            .unwrap();
        let calls = read(&self.state().join("calls"))
            .lines()
            .map(str::to_owned)
            .collect();
        (
            out.status.code().unwrap_or(-1),
            calls,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn is_mutating(call: &str) -> bool {
    [" patch ", " delete ", " scale ", "helm upgrade"]
        .iter()
        .any(|m| call.contains(m))
}

#[test]
fn script_against_a_fake_cluster() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    if program("bash").is_none() {
        return;
    }
    let case = &CASES[1];
    let (dir, render) = setup(&root, case);
    let (_, script_text, _) = plan(dir.path(), case, &render, "script");
    let script = dir.path().join("resize.sh");
    std::fs::write(&script, &script_text).unwrap();
    let snapshot = read(&manifest_dir().join("fixtures/cluster-posthog.yaml"));

    // A blocking preflight (the class can't expand) stops before any mutating call.
    let fake =
        Fake::new(&snapshot.replace("allowVolumeExpansion: true", "allowVolumeExpansion: false"));
    let (code, calls, err) = fake.run(&script, dir.path(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not allow volume expansion"), "{err}");
    assert!(!calls.iter().any(|c| is_mutating(c)), "{calls:#?}");
    assert_eq!(
        read(&dir.path().join("values.yaml")),
        read(&root.join(case.dir).join(case.values))
    );

    // Interrupted on the second patch: the first is done, the rest is not.
    let fake = Fake::new(&snapshot);
    std::fs::write(
        fake.state().join("fail_patch"),
        "data-posthog-posthog-kafka-2",
    )
    .unwrap();
    let (code, calls, _) = fake.run(&script, dir.path(), &[]);
    assert_ne!(code, 0);
    let mutating: Vec<&String> = calls.iter().filter(|c| is_mutating(c)).collect();
    assert_eq!(mutating.len(), 2, "{mutating:#?}");
    assert!(
        mutating[0].starts_with("kubectl -n posthog patch pvc data-posthog-posthog-kafka-0 -p ")
    );

    // The re-run resumes: kafka-0 is not patched again, kafka-1 was grown before, and the
    // mutating calls come in the documented order, each after every preflight read.
    let (code, calls, err) = fake.run(&script, dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let mutating: Vec<String> = calls.iter().filter(|c| is_mutating(c)).cloned().collect();
    let payload = r#"-p {"spec":{"resources":{"requests":{"storage":"50Gi"}}}}"#;
    assert_eq!(
        mutating,
        vec![
            format!("kubectl -n posthog patch pvc data-posthog-posthog-kafka-2 {payload}"),
            "kubectl -n posthog delete statefulset posthog-posthog-kafka --cascade=orphan"
                .to_owned(),
            "helm upgrade posthog ./charts/posthog -n posthog -f values.yaml".to_owned(),
        ]
    );
    let first_mutation = calls.iter().position(|c| is_mutating(c)).unwrap();
    let last_preflight = calls
        .iter()
        .rposition(|c| c.contains("get storageclass"))
        .unwrap();
    assert!(last_preflight < first_mutation, "{calls:#?}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains("exec posthog-posthog-kafka-2 -c kafka -- df -h /bitnami/kafka")),
        "{calls:#?}"
    );
    assert!(read(&dir.path().join("values.yaml")).contains("size: 50Gi"));
    assert!(
        !calls.iter().any(|c| c.contains(" scale ")),
        "no fallback without the flag"
    );

    // A third run has nothing left to change but the (idempotent) upgrade: the re-created
    // StatefulSet already has the new template, so it is kept.
    let (code, calls, _) = fake.run(&script, dir.path(), &[]);
    assert_eq!(code, 0);
    let mutating: Vec<&String> = calls.iter().filter(|c| is_mutating(c)).collect();
    assert_eq!(mutating.len(), 1, "{mutating:#?}");
    assert!(mutating[0].starts_with("helm upgrade"));

    // The fallback only behind its flag, and then around the patches.
    let fake = Fake::new(&snapshot);
    let (code, calls, err) = fake.run(&script, dir.path(), &["--fallback-scale-to-zero"]);
    assert_eq!(code, 0, "{err}");
    let scale: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.contains(" scale "))
        .map(|(i, _)| i)
        .collect();
    let patch = calls.iter().position(|c| c.contains(" patch ")).unwrap();
    assert_eq!(scale.len(), 2);
    assert!(scale[0] < patch && patch < scale[1], "{calls:#?}");
    assert!(calls[scale[1]].ends_with("--replicas=3"));
}
