//! `plan` on the real renders: golden outputs of every format, the JSON against its schema, the
//! script (its fixed logic as it is, and every generated one) through bash -n and shellcheck, the
//! patch payloads through the real `kubectl patch --local`, and the offline refusals. The script
//! against a simulated cluster with faults: tests/plan_sim.rs.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const CASES: &[RenderCase] = &[
    POSTHOG_1,
    RenderCase {
        name: "posthog-3-cluster",
        dir: "posthog",
        render: "rendered-3-replicas.yaml",
        values: "values-3-replicas.yaml",
        release: "posthog",
        extra: &["--cluster", "cluster.yaml"],
    },
    RenderCase {
        name: "posthog-logpersistence",
        dir: "posthog",
        render: "rendered-logpersistence.yaml",
        values: "values-logpersistence.yaml",
        release: "posthog",
        extra: &[],
    },
    BITNAMI_32,
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A work folder with values.yaml (and cluster.yaml), and the render to pipe in.
fn setup(root: &Path, c: &RenderCase) -> (tempfile::TempDir, String) {
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

fn plan(dir: &Path, c: &RenderCase, render: &str, format: &str) -> (i32, String, String) {
    let mut args = plan_argv(
        c.release,
        "50Gi",
        "-",
        &[
            "--values",
            "values.yaml",
            "--chart",
            "./charts/posthog",
            "--kube-context",
            "prod",
            "--format",
            format,
        ],
    );
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
        pvc_resize::output::diff::unified_diff(&want, got, name)
    );
}

const LOGIC: &str = "\n# --- logic ";

/// The generated part of a script; asserts that the rest is src/script/resize.sh unchanged.
fn header(script: &str) -> &str {
    let at = script.find(LOGIC).expect("the logic marker");
    let body = script[at + 1..].split_once('\n').unwrap().1;
    assert_eq!(body, read(&manifest_dir().join("src/script/resize.sh")));
    &script[..at + 1]
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
            // A script is its data header and the fixed logic, byte for byte: the snapshot is the header.
            let out = match format {
                "script" => header(&out).to_owned(),
                _ => out,
            };
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
    let patches: Vec<&str> = step(&v, "patch-pvcs")["commands"]
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
        .map(|f| f["id"].as_str().unwrap())
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
    // A blocked script: it names the finding and exits 1 (never an empty, runnable no-op).
    let (code, out, err) = plan(dir.path(), &CASES[1], &render, "script");
    assert_eq!(code, 1, "{err}");
    assert_blocked_script(&out, "storageclass-no-expansion");

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
        &plan_argv("posthog", "10Gi", "-", &[]),
        render.as_bytes(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("BLOCKING [shrink]"),
        "{}",
        stdout(&out)
    );
    let out = plan_with(d, &render, &["--format", "script"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--format script needs --values"),
        "{}",
        stderr(&out)
    );
}

fn step<'v>(plan: &'v serde_json::Value, id: &str) -> &'v serde_json::Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// The script's fixed logic as it is in the source tree, and the script generated for every case.
fn scripts(root: &Path, out: &Path) -> Vec<PathBuf> {
    let mut v = vec![manifest_dir().join("src/script/resize.sh")];
    for c in CASES {
        let (dir, render) = setup(root, c);
        let (code, script, err) = plan(dir.path(), c, &render, "script");
        assert_eq!(code, 0, "{err}");
        let path = out.join(format!("{}.sh", c.name));
        std::fs::write(&path, script).unwrap();
        v.push(path);
    }
    // Names with what a shell would expand (`$`, backquotes, quotes): single-quoted data, which
    // shellcheck's SC2016 took for a mistake (a generated script that failed shellcheck).
    let (dir, render) = setup(root, &POSTHOG_1);
    let values = "it's \"x\" $(id).yaml";
    std::fs::copy(dir.path().join("values.yaml"), dir.path().join(values)).unwrap();
    let args = plan_argv("posthog", "50Gi", "-", &[]);
    let mut args: Vec<&str> = args;
    let values_arg = format!("--values={values}");
    args.extend([
        values_arg.as_str(),
        "--chart=./charts/$chart",
        "--kube-context=ctx `id` $HOME",
        "--format=script",
    ]);
    let got = run_in(Some(dir.path()), &args, render.as_bytes());
    assert_eq!(code(&got), 0, "{}", stderr(&got));
    let path = out.join("expanding-names.sh");
    std::fs::write(&path, stdout(&got)).unwrap();
    v.push(path);
    v
}

#[test]
fn scripts_pass_bash_n_and_shellcheck() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let Some(bash) = program("bash") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let scripts = scripts(&root, tmp.path());
    for s in &scripts {
        let out = Command::new(&bash).arg("-n").arg(s).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            s.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        // `--help` offers the scale-to-zero flag exactly when the plan has the fallback.
        let help = Command::new(&bash).arg(s).arg("--help").output().unwrap();
        let err = String::from_utf8_lossy(&help.stderr);
        assert!(help.status.success(), "{}: {err}", s.display());
        let offered = !read(s)
            .lines()
            .any(|l| l.starts_with("NO_FALLBACK=") && l != "NO_FALLBACK=''");
        assert_eq!(
            err.contains("[--fallback-scale-to-zero]"),
            offered,
            "{}: {err}",
            s.display()
        );
    }
    let Some(shellcheck) = program("shellcheck") else {
        return;
    };
    for s in &scripts {
        let out = Command::new(&shellcheck)
            .arg("--shell=bash")
            .arg(s)
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
        serde_json::from_value(step(&v, "patch-pvcs")["commands"][0]["argv"].clone()).unwrap();
    assert_eq!(
        &argv[..5],
        [
            "kubectl",
            "--context=prod",
            "--namespace=posthog",
            "patch",
            "pvc"
        ]
    );
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
        .args(["--type=merge", "-p", &argv[8]])
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

/// Runs `plan` on the 1-replica PostHog render with `extra` arguments.
fn plan_with(dir: &Path, render: &str, extra: &[&str]) -> std::process::Output {
    run_in(
        Some(dir),
        &plan_argv("posthog", "50Gi", "-", extra),
        render.as_bytes(),
    )
}

#[test]
fn the_render_must_be_of_this_release_and_chart_version() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[0]);
    let d = dir.path();
    let out = run_in(
        Some(d),
        &[
            "plan",
            "--release",
            "wrong",
            "--namespace",
            "posthog",
            "--size",
            "50Gi",
            "--manifests",
            "-",
        ],
        render.as_bytes(),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains(
            "was rendered for release \"posthog\" (app.kubernetes.io/instance), not \"wrong\""
        ) && stderr(&out).contains("hint: pass --release posthog"),
        "{}",
        stderr(&out)
    );
    let out = plan_with(d, &render, &["--version", "30.47.0"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out)
            .contains("rendered from posthog-30.46.0 (helm.sh/chart), but --version is 30.47.0"),
        "{}",
        stderr(&out)
    );
    // The version is pinned from the render, and the context is required for the script.
    let out = plan_with(
        d,
        &render,
        &[
            "--values",
            "values.yaml",
            "--chart",
            "posthog/posthog",
            "--format",
            "script",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--format script needs --kube-context NAME"),
        "{}",
        stderr(&out)
    );
    let out = plan_with(d, &render, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["chart_name"].as_str(), v["chart_version"].as_str()),
        (Some("posthog"), Some("30.46.0"))
    );
    // Bitnami 32: the top chart is kafka itself.
    let (dir, render) = setup(&root, &CASES[3]);
    let out = run_in(
        Some(dir.path()),
        &plan_argv(
            "kafka",
            "50Gi",
            "-",
            &["--statefulset", "kafka-broker", "--format", "json"],
        ),
        render.as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (v["chart_name"].as_str(), v["chart_version"].as_str()),
        (Some("kafka"), Some("32.4.4"))
    );
}

/// One source of steps: the text and markdown plans list the script's preflight checks and steps,
/// in the script's order (its STEPS and PREFLIGHT arrays).
#[test]
fn text_markdown_and_script_list_the_same_steps() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for c in CASES {
        let (dir, render) = setup(&root, c);
        let (_, script, _) = plan(dir.path(), c, &render, "script");
        let array = |name: &str| -> Vec<String> {
            let line = script
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=(")))
                .unwrap_or_else(|| panic!("{name} missing"));
            line.trim_end_matches(')')
                .split("' '")
                .map(|w| w.trim_matches('\'').to_owned())
                .collect()
        };
        let (steps, titles, checks) = (array("STEPS"), array("STEP_TITLES"), array("PREFLIGHT"));
        assert_eq!(steps.len(), titles.len());
        let (_, json, _) = plan(dir.path(), c, &render, "json");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let ids: Vec<&str> = v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, steps, "{}", c.name);
        for format in ["text", "markdown"] {
            let (_, out, _) = plan(dir.path(), c, &render, format);
            let mut at = 0;
            for t in &titles {
                let found = out[at..].find(t.as_str()).unwrap_or_else(|| {
                    panic!("{} {format}: {t:?} missing or out of order", c.name)
                });
                at += found + t.len();
            }
            let mut at = 0;
            for id in &checks {
                let needle = if format == "text" {
                    format!("[{id}]")
                } else {
                    format!("`{id}`")
                };
                let found = out[at..].find(&needle).unwrap_or_else(|| {
                    panic!("{} {format}: check {id} missing or out of order", c.name)
                });
                at += found + needle.len();
            }
        }
    }
}

/// Every command the plan prints, run by the real tool with a kubeconfig that has no contexts: the
/// arguments must parse (the failure is the missing context, never a flag or an argument count),
/// `helm show chart` must resolve the real chart at the pinned version, and the values step must
/// work on a copy of the values file.
#[test]
fn every_command_parses_with_the_real_helm_and_kubectl() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let Some(kubectl) = program("kubectl") else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[1]);
    let chart = root.join("posthog/chart/posthog-30.46.0.tgz");
    let chart_arg = format!("--chart={}", chart.display());
    let args = plan_argv(
        "posthog",
        "50Gi",
        "-",
        &[
            "--values",
            "values.yaml",
            "--kube-context",
            "prod",
            "--format",
            "json",
            &chart_arg,
        ],
    );
    let out = run_in(Some(dir.path()), &args, render.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut commands: Vec<Vec<String>> = Vec::new();
    for s in v["steps"].as_array().unwrap() {
        let checks = s["checks"].as_array().into_iter().flatten();
        for c in s["commands"]
            .as_array()
            .unwrap()
            .iter()
            .chain(checks.flat_map(|c| c["commands"].as_array().unwrap()))
        {
            commands.push(serde_json::from_value(c["argv"].clone()).unwrap());
        }
    }
    for f in v["post_renderer"].as_array().unwrap() {
        commands.push(serde_json::from_value(f["command"]["argv"].clone()).unwrap());
    }
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n",
    )
    .unwrap();
    // The Helm 4 plugin, as `helm plugin install plugin/helm4` lays it out (a folder of plugins).
    let plugins = dir.path().join("plugins");
    let plugin = plugins.join("pvc-resize");
    std::fs::create_dir_all(plugin.join("bin")).unwrap();
    std::fs::copy(
        manifest_dir().join("plugin/helm4/plugin.yaml"),
        plugin.join("plugin.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(common::bin(), plugin.join("bin/pvc-resize")).unwrap();
    let usage = [
        "unknown flag",
        "unknown shorthand",
        "accepts",
        "requires",
        "Usage:",
        "invalid argument",
        "flag needs",
    ];
    let mut tools = vec![("kubectl".to_owned(), kubectl)];
    for major in [3, 4] {
        if let Some(h) = helm(major) {
            tools.push((format!("helm{major}"), h));
        }
    }
    let mut ran = 0;
    for argv in &commands {
        for (name, exe) in &tools {
            if !name.starts_with(argv[0].as_str()) {
                continue;
            }
            // The Helm 3 post-renderer form is for Helm 3, the plugin form for Helm 4.
            if argv.iter().any(|w| w == "--post-renderer")
                && (argv.iter().any(|w| w == "post-render")) != (name == "helm3")
            {
                continue;
            }
            // pvc-resize on PATH: Helm 3 looks the post-renderer up when it parses the flag.
            let bin = Path::new(common::bin()).parent().unwrap();
            let path = format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let mut cmd = Command::new(exe);
            cmd.args(&argv[1..])
                .current_dir(dir.path())
                .env("KUBECONFIG", &kubeconfig)
                .env("PATH", path);
            if name == "helm4" {
                cmd.env("HELM_PLUGINS", &plugins);
            }
            let out = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            ran += 1;
            assert!(
                !usage.iter().any(|u| err.contains(u)),
                "{name} {argv:?}:\n{err}"
            );
            if argv.get(3).map(String::as_str) == Some("show") {
                assert!(out.status.success(), "{name} {argv:?}: {err}");
                assert!(String::from_utf8_lossy(&out.stdout).contains("version: 30.46.0"));
            } else if argv[0] == "kubectl" {
                assert!(
                    err.contains("context \"prod\" does not exist"),
                    "{argv:?}: {err}"
                );
            }
        }
        if argv[0] == "pvc-resize" {
            let out = Command::new(common::bin())
                .args(&argv[1..])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{argv:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 20, "{ran} commands run");
}

/// The script's jsonpath expressions, evaluated by the real kubectl on objects of each kind (the
/// simulation has its own evaluator: this keeps it honest).
#[test]
fn the_script_s_jsonpaths_with_the_real_kubectl() {
    let Some(kubectl) = program("kubectl") else {
        return;
    };
    let body = read(&manifest_dir().join("src/script/resize.sh"));
    let dir = tempfile::tempdir().unwrap();
    let objects = [
        (
            "sts",
            r#"{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"k"},"spec":{"volumeClaimUpdatePolicy":"InPlace","updateStrategy":{"type":"OnDelete"},"replicas":3,"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete","whenDeleted":"Retain"},"volumeClaimTemplates":[{"metadata":{"name":"logs"},"spec":{"resources":{"requests":{"storage":"8Gi"}}}},{"metadata":{"name":"data"},"spec":{"resources":{"requests":{"storage":"20Gi"}}}}]},"status":{"readyReplicas":3}}"#,
        ),
        (
            "pod",
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"k-0","uid":"u1","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"x","uid":"a"},{"apiVersion":"apps/v1","kind":"StatefulSet","name":"k","uid":"b","controller":true}]},"status":{"conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"}]}}"#,
        ),
        (
            "pvc",
            r#"{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data-k-0"},"spec":{"storageClassName":"gp3","resources":{"requests":{"storage":"50Gi"}}},"status":{"phase":"Bound","capacity":{"storage":"20Gi"},"conditions":[{"type":"Resizing","status":"True"},{"type":"ControllerResizeError","status":"True","message":"disk resize is only supported on Unattached disk"}]}}"#,
        ),
        (
            "sc",
            r#"{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"gp3"},"provisioner":"ebs.csi.aws.com","allowVolumeExpansion":true}"#,
        ),
    ];
    let cases = [
        (
            "sts",
            "{.spec.volumeClaimTemplates[?(@.metadata.name==\\\"$CLAIM\\\")].spec.resources.requests.storage}",
            "20Gi",
        ),
        ("sts", "{.spec.volumeClaimUpdatePolicy}", "InPlace"),
        ("sts", "{.spec.updateStrategy.type}", "OnDelete"),
        ("sts", "{.status.readyReplicas}", "3"),
        // No `ordinals`: nothing (the script reads it as 0).
        ("sts", "{.spec.ordinals.start}", ""),
        ("sts", "{.spec.replicas}", "3"),
        (
            "sts",
            "{.spec.persistentVolumeClaimRetentionPolicy.whenScaled}",
            "Delete",
        ),
        (
            "pod",
            "{.metadata.ownerReferences[?(@.controller==true)].kind}/{.metadata.ownerReferences[?(@.controller==true)].name}",
            "StatefulSet/k",
        ),
        (
            "pod",
            "{.status.conditions[?(@.type==\"Ready\")].status}",
            "True",
        ),
        ("pod", "{.metadata.uid}", "u1"),
        (
            "pvc",
            "{.status.conditions[*].type}",
            "Resizing ControllerResizeError",
        ),
        (
            "pvc",
            "{.status.conditions[?(@.type==\"ControllerResizeError\")].message}{.status.conditions[?(@.type==\"NodeResizeError\")].message}",
            "disk resize is only supported on Unattached disk",
        ),
        ("pvc", "{.status.capacity.storage}", "20Gi"),
        ("pvc", "{.spec.resources.requests.storage}", "50Gi"),
        ("pvc", "{.status.phase}", "Bound"),
        ("sc", "{.allowVolumeExpansion}", "true"),
        ("sc", "{.provisioner}", "ebs.csi.aws.com"),
    ];
    for (kind, text) in objects {
        std::fs::write(dir.path().join(format!("{kind}.json")), text).unwrap();
    }
    for (kind, expr, want) in cases {
        assert!(body.contains(expr), "the script no longer uses {expr}");
        let expr = expr.replace("\\\"$CLAIM\\\"", "\"data\"");
        let out = Command::new(&kubectl)
            .args(["patch", "--local", "--type=merge", "-p", "{}", "-f"])
            .arg(dir.path().join(format!("{kind}.json")))
            .arg(format!("-o=jsonpath={expr}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{expr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{expr}");
    }
}

/// `spec.replicas` of the StatefulSet `name` in a render.
fn rendered_replicas(render: &str, name: &str) -> Option<i64> {
    let head = format!("kind: StatefulSet\nmetadata:\n  name: {name}\n");
    let at = render.find(&head)?;
    let rest = &render[at..];
    let end = rest[1..].find("\n---").map_or(rest.len(), |e| e + 1);
    let line = rest[..end]
        .lines()
        .find(|l| l.starts_with("  replicas: "))?;
    line["  replicas: ".len()..].trim().parse().ok()
}

/// The values path `replicas-differ` names for the replica count, for every known persistence
/// block, set with the real Helm on the real charts: the block's StatefulSet renders that count.
#[test]
fn replica_values_paths_with_the_real_helm() {
    use pvc_resize::charts::layout::{BLOCK_LAYOUTS, Chart, replica_values_path};
    let (Some(root), Some(helm)) = (shared_fixtures(), helm(3)) else {
        return;
    };
    let charts = [
        (
            Chart::PostHog,
            "posthog",
            "posthog-30.46.0.tgz",
            "values-3-replicas.yaml",
            "posthog",
        ),
        (
            Chart::Kafka14,
            "bitnami-kafka-14",
            "kafka-14.9.3.tgz",
            "values-3-replicas.yaml",
            "r",
        ),
        (
            Chart::KafkaKraft,
            "bitnami-kafka-32",
            "kafka-32.4.4.tgz",
            "values-split.yaml",
            "r",
        ),
    ];
    // (Bitnami's names drop the release when it contains the chart's name: "r", not "kafka".)
    for (chart, dir, tarball, values, release) in charts {
        let layouts: Vec<_> = BLOCK_LAYOUTS.iter().filter(|l| l.chart == chart).collect();
        // One count per StatefulSet (two blocks may size the same one), from 5 up.
        let mut sets: Vec<(String, String, i64)> = Vec::new();
        for l in &layouts {
            let path = replica_values_path(&format!("{}.size", l.block)).unwrap();
            let sts = l.statefulset.replace("RELEASE", release);
            if !sets.iter().any(|(p, _, _)| *p == path) {
                let n = 5 + sets.len() as i64;
                sets.push((path, sts, n));
            }
        }
        let args: Vec<String> = sets
            .iter()
            .flat_map(|(p, _, n)| ["--set".to_owned(), format!("{p}={n}")])
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let render = helm_template(
            &helm,
            release,
            &root.join(dir).join("chart").join(tarball),
            release,
            &root.join(dir).join(values),
            &args,
        );
        for (path, sts, n) in &sets {
            assert_eq!(
                rendered_replicas(&render, sts),
                Some(*n),
                "{dir}: {path}={n} should give {sts} {n} replicas"
            );
        }
    }
}

/// Kafka and ZooKeeper of the real PostHog render in one plan: sized by `kafka.persistence.size`
/// and `zookeeper.persistence.size`. The plan used to block (one values path per plan); now it is
/// one procedure: one values edit that sets both paths, every PVC of both, one upgrade. The script
/// sets each path (`VALUES_PATHS`) and names each StatefulSet's own path if the upgrade leaves it
/// at the old size; Flux's post-renderer patch grows both too.
#[test]
fn statefulsets_sized_by_different_values_paths() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[1]);
    let both = [
        "--statefulset",
        "posthog-posthog-kafka",
        "--statefulset",
        "posthog-posthog-zookeeper",
    ];
    let with = |extra: &[&str]| {
        let mut args = vec!["--values", "values.yaml", "--chart", "posthog/posthog"];
        args.extend_from_slice(&["--kube-context", "prod"]);
        args.extend_from_slice(&both);
        args.extend_from_slice(extra);
        plan_with(dir.path(), &render, &args)
    };
    let out = with(&["--format", "script"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let script = stdout(&out);
    assert!(
        script.contains("VALUES_PATHS=('kafka.persistence.size' 'zookeeper.persistence.size')"),
        "{script}"
    );
    assert!(
        script.contains(
            "TARGET_VALUES_PATHS=('kafka.persistence.size' 'zookeeper.persistence.size')"
        )
    );
    let out = with(&["--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        plan["values"]["paths"],
        serde_json::json!(["kafka.persistence.size", "zookeeper.persistence.size"])
    );
    let diff = plan["values"]["diff"].as_str().unwrap();
    assert_eq!(diff.matches("\n+    size: 50Gi").count(), 2, "{diff}");
    assert!(diff.contains("\n+zookeeper:\n+  persistence:\n"), "{diff}");
    let values_step = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "values")
        .unwrap();
    assert_eq!(values_step["commands"].as_array().unwrap().len(), 2);
    let upgrades = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["commands"].as_array().unwrap())
        .filter(|c| c["argv"][3] == "upgrade")
        .count();
    assert_eq!(upgrades, 1, "one upgrade");
    // Flux grows both with its post-renderer patch.
    let mut flux = both.to_vec();
    flux.extend_from_slice(&["--format", "flux"]);
    let out = plan_with(dir.path(), &render, &flux);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stdout(&out).contains("BLOCKING"), "{}", stdout(&out));
}

/// Every command a plan or the script tells the user to type names the context and the namespace,
/// like the steps' commands: hints and rollback notes too. (The rollback note said `helm rollback
/// posthog -n posthog`, the pvc-not-bound hint `kubectl -n posthog describe pvc ...`, and the
/// script's messages `kubectl delete pod POD` and `kubectl describe pvc PVC`: typed in a shell whose
/// current context is another cluster, they act there.)
#[test]
fn commands_in_hints_and_notes_are_pinned() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[1]);
    // A PVC not Bound, on a class the snapshot lacks: the findings with commands in their hints.
    let cluster = read(&dir.path().join("cluster.yaml"))
        .replacen("phase: Bound", "phase: Pending", 1)
        .replacen("storageClassName: gp3", "storageClassName: gone", 1);
    std::fs::write(dir.path().join("cluster.yaml"), cluster).unwrap();
    for format in ["text", "markdown", "json"] {
        let (_, out, err) = plan(dir.path(), &CASES[1], &render, format);
        assert!(out.contains("describe pvc"), "{format}: {out}{err}");
        assert!(out.contains("rollback"), "{format}: {out}{err}");
        for line in out.lines() {
            assert!(!unpinned(line), "{format}: not pinned: {line}");
        }
    }
    let body = read(&manifest_dir().join("src/script/resize.sh"));
    // Without --cluster: the hint that says how to make the snapshot.
    let (dir, render) = setup(&root, &POSTHOG_1);
    let (_, out, _) = plan(dir.path(), &POSTHOG_1, &render, "text");
    let hint = out
        .lines()
        .find(|l| l.contains("get storageclass,pvc,statefulset"));
    assert!(hint.unwrap().contains("kubectl --context=prod"), "{out}");
    for line in out.lines() {
        assert!(!unpinned(line), "text: not pinned: {line}");
    }
    for line in body.lines().filter(|l| !l.trim_start().starts_with('#')) {
        // (`diff --label "helm get values RELEASE"` names what is compared.)
        let line = line.split("--label").next().unwrap();
        assert!(!unpinned(line), "resize.sh: not pinned: {line}");
    }
    assert!(unpinned("`helm rollback posthog -n posthog`"));
    assert!(unpinned("see kubectl describe pvc $pvc"));
    assert!(!unpinned(
        "$ kubectl --context=prod --namespace=posthog describe pvc x"
    ));
}

/// The line has `kubectl` or `helm` (optionally `-n NS`) right before a verb that acts on a
/// cluster: a command without `--context`/`--kube-context`, which come first in ours.
fn unpinned(line: &str) -> bool {
    // (Not `get` and `create`: the plan's prose names `kubectl create -f` and `helm get values`.)
    const VERBS: [&str; 7] = [
        "describe", "delete", "rollback", "history", "patch", "scale", "exec",
    ];
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || "`'\"(".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        let mut j = i + 1;
        if words.get(j) == Some(&"-n") {
            j += 2;
        }
        // (`kubectl delete pod, only while ...` is prose about what the script does.)
        let prose = words.get(j + 1).is_none_or(|n| n.ends_with(','));
        (*w == "kubectl" || *w == "helm")
            && words.get(j).is_some_and(|v| VERBS.contains(v))
            && !prose
    })
}

/// A PVC bound to another StorageClass than the claim template's (made before the chart changed
/// the class), one without allowVolumeExpansion: the `--cluster` plan judged the template's class
/// only, said `storageclass-expands` and wrote the script (whose preflight then stopped). It now
/// blocks on that PVC's class, with the pinned patch in the hint.
#[test]
fn a_pvc_on_another_storage_class() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let case = &CASES[1];
    let (dir, render) = setup(&root, case);
    let file = dir.path().join("cluster.yaml");
    let text = read(&file);
    // data-2 (not grown yet) on gp2, a class without expansion.
    let at = text
        .match_indices("storageClassName: gp3")
        .nth(2)
        .unwrap()
        .0;
    let mut text = format!("{}storageClassName: gp2{}", &text[..at], &text[at + 21..]);
    let item = "  - apiVersion: v1\n    kind: PersistentVolumeClaim";
    let gp2 = "  - apiVersion: storage.k8s.io/v1\n    kind: StorageClass\n    metadata:\n      name: gp2\n    provisioner: kubernetes.io/aws-ebs\n";
    text = text.replacen(item, &format!("{gp2}{item}"), 1);
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = plan(dir.path(), case, &render, "json");
    assert_eq!(code, 1, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found = json["findings"].as_array().unwrap().iter();
    let refused: Vec<_> = found
        .filter(|f| f["id"] == "storageclass-no-expansion")
        .collect();
    assert_eq!(refused.len(), 1, "{}", json["findings"]);
    let message = refused[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("data-posthog-posthog-kafka-2 is bound to another StorageClass than the claim template's: StorageClass gp2 does not allow"),
        "{message}"
    );
    let hint = refused[0]["hint"].as_str().unwrap();
    assert!(hint.starts_with("`kubectl --context=prod "), "{hint}");
    let (code, script, _) = plan(dir.path(), case, &render, "script");
    assert_eq!(code, 1);
    assert_blocked_script(&script, refused[0]["id"].as_str().unwrap());
}

/// `--path` other than the path the chart's layout sizes the StatefulSet by: a typo (a path no
/// layout has) is a warning at the StatefulSet in the render, with the right path; the size path
/// of ANOTHER StatefulSet of the render (ZooKeeper's, on the real PostHog render whose target is
/// Kafka) blocks the plan, no script: the upgrade after the orphan delete would fail with
/// `spec: Forbidden` on ZooKeeper's claim template, and the script's dry run can't see it.
#[test]
fn a_path_other_than_the_layout_s_is_warned_or_refused() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[1]);
    for (path, warned, refused) in [
        ("kafka.persistance.size", true, false),
        ("zookeeper.persistence.size", false, true),
        ("kafka.persistence.size", false, false),
    ] {
        let flag = format!("--path={path}");
        let args = ["--values", "values.yaml", "--format", "json", flag.as_str()];
        let out = plan_with(dir.path(), &render, &args);
        assert_eq!(code(&out), i32::from(refused), "{path}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let with = |id: &str| -> Vec<serde_json::Value> {
            let found = json["findings"].as_array().unwrap().iter();
            found.filter(|f| f["id"] == id).cloned().collect()
        };
        let differs = with("values-path-differs");
        assert_eq!(
            differs.len(),
            usize::from(warned),
            "{path}: {}",
            json["findings"]
        );
        if warned {
            assert_eq!(differs[0]["severity"], "warning");
            let hint = differs[0]["hint"].as_str().unwrap();
            assert!(hint.contains("--path kafka.persistence.size"), "{hint}");
        }
        let another = with("values-path-sizes-another");
        assert_eq!(
            another.len(),
            usize::from(refused),
            "{path}: {}",
            json["findings"]
        );
        if refused {
            assert_eq!(another[0]["severity"], "error");
            let message = another[0]["message"].as_str().unwrap();
            assert!(
                message.starts_with("--path zookeeper.persistence.size sizes StatefulSet posthog-posthog-zookeeper, which is not a target (posthog-posthog-kafka)"),
                "{message}"
            );
            assert!(another[0]["location"]["line"].as_u64().unwrap() > 1);
            let script = [
                "--values",
                "values.yaml",
                "--format",
                "script",
                flag.as_str(),
            ];
            let out = plan_with(dir.path(), &render, &script);
            assert_eq!(code(&out), 1, "{}", stderr(&out));
            assert_blocked_script(&stdout(&out), "values-path-sizes-another");
        }
    }
}

/// A `--path` that sizes another claim of the target (`kafka.logPersistence.size` with the default
/// `--claim data`) is refused: the re-created StatefulSet would have its `logs` claim template
/// grown and `data` left as it was. With `--claim logs` the same path is the layout's own.
#[test]
fn a_path_that_sizes_another_claim_of_the_target_is_refused() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let (dir, render) = setup(&root, &CASES[2]);
    let path = "--path=kafka.logPersistence.size";
    for (claim, refused) in [("data", true), ("logs", false)] {
        let claim_flag = format!("--claim={claim}");
        let args = [
            "--values",
            "values.yaml",
            "--format",
            "json",
            path,
            &claim_flag,
        ];
        let out = plan_with(dir.path(), &render, &args);
        assert_eq!(code(&out), i32::from(refused), "{claim}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let found = json["findings"].as_array().unwrap().iter();
        let ids: Vec<&str> = found.filter_map(|f| f["id"].as_str()).collect();
        assert_eq!(
            ids.contains(&"values-path-sizes-another"),
            refused,
            "{claim}: {ids:?}"
        );
        assert!(!ids.contains(&"values-path-differs"), "{claim}: {ids:?}");
        if refused {
            let f = json["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == "values-path-sizes-another")
                .unwrap();
            let message = f["message"].as_str().unwrap();
            assert!(
                message.starts_with("--path kafka.logPersistence.size sizes claim template \"logs\" of StatefulSet posthog-posthog-kafka, not \"data\""),
                "{message}"
            );
            let hint = f["hint"].as_str().unwrap();
            assert!(hint.contains("--path kafka.persistence.size"), "{hint}");
            let script = ["--values", "values.yaml", "--format", "script", path];
            let out = plan_with(dir.path(), &render, &script);
            assert_eq!(code(&out), 1, "{}", stderr(&out));
            assert_blocked_script(&stdout(&out), "values-path-sizes-another");
        }
    }
}
