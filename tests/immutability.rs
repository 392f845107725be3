//! `check --base-manifests OLD --head-manifests NEW` on real renders: the Bitnami Kafka 14 chart
//! tarball of the shared fixtures rendered by the real Helm with different values, repackaged
//! with a bumped version (with and without a chart label in its claim template), and the real
//! rendered StatefulSets mutated by hand. Every change Kubernetes forbids must be found; every
//! allowed one must pass.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A chart tarball unpacked into a temporary folder, to be repackaged.
struct Charts {
    dir: tempfile::TempDir,
    helm: PathBuf,
}

impl Charts {
    fn new(helm: PathBuf, tarball: &Path) -> Charts {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("tar")
            .arg("xzf")
            .arg(tarball)
            .arg("-C")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(ok.success());
        Charts { dir, helm }
    }

    /// `helm package` of the unpacked chart as `version`, with an edit to its StatefulSet template.
    fn package(&self, version: &str, template_edit: impl Fn(&str) -> String) -> PathBuf {
        let src = self.dir.path().join("kafka");
        let work = self.dir.path().join(format!("work-{version}"));
        copy_dir(&src, &work.join("kafka"));
        let chart = work.join("kafka/Chart.yaml");
        let text = read(&chart).replace("version: 14.9.3", &format!("version: {version}"));
        std::fs::write(&chart, text).unwrap();
        let sts = work.join("kafka/templates/statefulset.yaml");
        std::fs::write(&sts, template_edit(&read(&sts))).unwrap();
        output_of(
            Command::new(&self.helm)
                .args(["package", "-d"])
                .arg(&work)
                .arg(work.join("kafka")),
        );
        work.join(format!("kafka-{version}.tgz"))
    }

    /// `helm template kafka CHART -n kafka -f VALUES`.
    fn render(&self, chart: &Path, values: &str) -> String {
        let file = self.dir.path().join("values.yaml");
        std::fs::write(&file, values).unwrap();
        helm_template(&self.helm, "kafka", chart, "kafka", &file, &[])
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Runs `check` on two renders; returns the finding codes (from the JSON report) and the exit code.
fn check(dir: &Path, old: &str, new: &str, strict: bool) -> (Vec<String>, i32, String) {
    std::fs::write(dir.join("old.yaml"), old).unwrap();
    std::fs::write(dir.join("new.yaml"), new).unwrap();
    let mut args = vec![
        "check",
        "--base-manifests",
        "old.yaml",
        "--head-manifests",
        "new.yaml",
        "--format",
        "json",
    ];
    if strict {
        args.push("--strict");
    }
    let out = run_in(Some(dir), &args, b"");
    let report: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    let codes = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    (codes, code(&out), stdout(&out))
}

/// The text of the document of StatefulSet `name`, edited by `f`; the rest of the stream kept.
fn mutate_sts(stream: &str, name: &str, f: impl Fn(&str) -> String) -> String {
    let marker = format!("kind: StatefulSet\nmetadata:\n  name: {name}\n");
    let start = stream
        .find(&marker)
        .unwrap_or_else(|| panic!("no StatefulSet {name}"));
    let end = stream[start..]
        .find("\n---")
        .map_or(stream.len(), |e| start + e + 1);
    let edited = f(&stream[start..end]);
    assert_ne!(edited, stream[start..end], "the mutation changed nothing");
    format!("{}{}{}", &stream[..start], edited, &stream[end..])
}

fn once(s: &str, from: &str, to: &str) -> String {
    assert_eq!(s.matches(from).count(), 1, "{from:?} is not unique");
    s.replacen(from, to, 1)
}

#[test]
fn every_forbidden_change_is_found_and_every_allowed_one_passes() {
    let (Some(fixtures), Some(helm)) = (shared_fixtures(), helm(3)) else {
        return;
    };
    let charts = Charts::new(
        helm,
        &fixtures.join("bitnami-kafka-14/chart/kafka-14.9.3.tgz"),
    );
    let tarball = fixtures.join("bitnami-kafka-14/chart/kafka-14.9.3.tgz");
    let work = tempfile::tempdir().unwrap();
    let old = charts.render(&tarball, "{}\n");
    // Helm 3.17 trims documents where the fixture's Helm 4.2 kept blank lines: the same objects.
    let fixture = read(&fixtures.join("bitnami-kafka-14/rendered-default.yaml"));
    assert_ne!(old, fixture);
    let (got, rc, out) = check(work.path(), &fixture, &old, true);
    assert_eq!((got.len(), rc), (0, 0), "{out}");
    let bumped = charts.package("14.9.4", str::to_owned);

    // (case, values of NEW, expected codes, exit code, exit code with --strict)
    let by_values: &[(&str, &str, &[&str], i32, i32)] = &[
        ("nothing changes", "{}\n", &[], 0, 0),
        ("replicas", "replicaCount: 3\n", &[], 0, 0),
        (
            "pod template",
            "podAnnotations: {a: b}\nresources: {limits: {memory: 1Gi}}\n",
            &[],
            0,
            0,
        ),
        ("updateStrategy", "updateStrategy: OnDelete\n", &[], 0, 0),
        (
            "the same size spelled differently",
            "persistence: {size: 8192Mi}\n",
            &[],
            0,
            0,
        ),
        ("grow", "persistence: {size: 50Gi}\n", &["grow"], 0, 1),
        ("shrink", "persistence: {size: 4Gi}\n", &["shrink"], 1, 1),
        (
            "storage class",
            "persistence: {storageClass: fast}\n",
            &["claim-template-changed"],
            1,
            1,
        ),
        (
            "access modes",
            "persistence: {accessModes: [ReadWriteMany]}\n",
            &["claim-template-changed"],
            1,
            1,
        ),
        (
            "claim annotations",
            "persistence: {annotations: {backup: daily}}\n",
            &["claim-template-changed"],
            1,
            1,
        ),
        (
            "claim selector",
            "persistence: {selector: {matchLabels: {disk: ssd}}}\n",
            &["claim-template-changed"],
            1,
            1,
        ),
        (
            "log volume added",
            "logPersistence: {enabled: true}\n",
            &["claim-template-added"],
            1,
            1,
        ),
        (
            "persistence disabled",
            "persistence: {enabled: false}\n",
            &["claim-template-removed"],
            1,
            1,
        ),
        (
            "podManagementPolicy",
            "podManagementPolicy: OrderedReady\n",
            &["pod-management-policy"],
            1,
            1,
        ),
        (
            "zookeeper podManagementPolicy",
            "zookeeper: {podManagementPolicy: OrderedReady}\n",
            &["pod-management-policy"],
            1,
            1,
        ),
        (
            "renamed",
            "fullnameOverride: kafka-broker\n",
            &["statefulset-added", "statefulset-removed"],
            1,
            1,
        ),
    ];
    for (case, values, want, rc, rc_strict) in by_values {
        let new = charts.render(&tarball, values);
        for (strict, rc) in [(false, rc), (true, rc_strict)] {
            let (mut got, code, out) = check(work.path(), &old, &new, strict);
            got.sort();
            assert_eq!(got, *want, "{case}: {out}");
            assert_eq!(code, *rc, "{case} (strict: {strict}): {out}");
        }
    }

    // A new chart version: the StatefulSet's and the pods' chart labels change, which is allowed.
    let (got, rc, out) = check(work.path(), &old, &charts.render(&bumped, "{}\n"), false);
    assert_eq!((got.len(), rc), (0, 0), "version bump: {out}");

    // The classic: a chart that stamps its version into the claim template's labels.
    let labelled = |t: &str| {
        once(
            t,
            "    - metadata:\n        name: data\n",
            "    - metadata:\n        name: data\n        labels: {{- include \"common.labels.standard\" . | nindent 10 }}\n",
        )
    };
    let (v3, v4) = (
        charts.package("14.9.3-labels", labelled),
        charts.package("14.9.4-labels", labelled),
    );
    let (old_l, new_l) = (charts.render(&v3, "{}\n"), charts.render(&v4, "{}\n"));
    let (got, rc, out) = check(work.path(), &old_l, &new_l, false);
    assert_eq!(
        (got, rc),
        (vec!["claim-template-changed".to_owned()], 1),
        "{out}"
    );
    assert!(
        out.contains(
            "metadata.labels[\\\"helm.sh/chart\\\"]: kafka-14.9.3-labels -> kafka-14.9.4-labels"
        ),
        "{out}"
    );
}

#[test]
fn hand_mutations_of_the_real_statefulset() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let old = read(&fixtures.join("bitnami-kafka-14/rendered-default.yaml"));
    let work = tempfile::tempdir().unwrap();
    let spec = "spec:\n  podManagementPolicy: Parallel\n";
    type Edit = Box<dyn Fn(&str) -> String>;
    let add = |extra: &'static str| -> Edit {
        Box::new(move |s: &str| once(s, spec, &format!("{spec}{extra}")))
    };
    let cases: Vec<(&str, Edit, &[&str], i32)> = vec![
        ("minReadySeconds", (add("  minReadySeconds: 30\n")), &[], 0),
        ("ordinals", (add("  ordinals: {start: 1}\n")), &[], 0),
        (
            "retention policy",
            (add(
                "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Delete}\n",
            )),
            &[],
            0,
        ),
        (
            "revisionHistoryLimit at its default",
            (add("  revisionHistoryLimit: 10\n")),
            &[],
            0,
        ),
        (
            "revisionHistoryLimit",
            (add("  revisionHistoryLimit: 2\n")),
            &["revision-history-limit"],
            0,
        ),
        (
            "claim apiVersion/kind and volumeMode (what the API server adds)",
            Box::new(|s: &str| {
                once(
                    s,
                    "    - metadata:\n        name: data\n      spec:\n",
                    "    - apiVersion: v1\n      kind: PersistentVolumeClaim\n      metadata:\n        name: data\n      spec:\n        volumeMode: Filesystem\n",
                )
            }),
            &[],
            0,
        ),
        (
            "serviceName",
            Box::new(|s: &str| once(s, "serviceName: kafka-headless", "serviceName: kafka-hl")),
            &["service-name"],
            1,
        ),
        (
            "selector",
            Box::new(|s: &str| {
                once(
                    s,
                    "  selector:\n    matchLabels:\n",
                    "  selector:\n    matchLabels:\n      tier: broker\n",
                )
            }),
            &["selector"],
            1,
        ),
        (
            "volumeMode Block",
            Box::new(|s: &str| {
                once(
                    s,
                    "        accessModes:\n",
                    "        volumeMode: Block\n        accessModes:\n",
                )
            }),
            &["claim-template-changed"],
            1,
        ),
        (
            "a spec field from a later Kubernetes",
            (add("  someFutureField: 1\n")),
            &["spec-field"],
            1,
        ),
        (
            "KEP-4650's field (in no release)",
            (add("  volumeClaimUpdateStrategy: {type: InPlace}\n")),
            &["volume-claim-update-strategy"],
            0,
        ),
        (
            "a second copy in NEW that shrinks (applied after the first)",
            Box::new(|s: &str| {
                let copy = once(s, "storage: \"8Gi\"", "storage: \"4Gi\"");
                format!("{s}---\napiVersion: apps/v1\n{copy}")
            }),
            &["shrink"],
            1,
        ),
        (
            "a shrink in a StatefulSet whose kind is spelt with an escape",
            Box::new(|s: &str| {
                let s = once(s, "storage: \"8Gi\"", "storage: \"4Gi\"");
                once(&s, "kind: StatefulSet\n", "kind: \"State\\x66ulSet\"\n")
            }),
            &["shrink"],
            1,
        ),
        (
            "a second copy in NEW that is the same",
            Box::new(|s: &str| format!("{s}---\napiVersion: apps/v1\n{s}")),
            &[],
            0,
        ),
    ];
    for (case, edit, want, rc) in cases {
        let new = mutate_sts(&old, "kafka", edit);
        let (got, code, out) = check(work.path(), &old, &new, false);
        assert_eq!(got, want, "{case}: {out}");
        assert_eq!(code, rc, "{case}: {out}");
    }
}

#[test]
fn helm3_and_helm4_renders_compare_equal_and_lines_point_into_new() {
    let (Some(fixtures), Some(h4)) = (shared_fixtures(), helm(4)) else {
        return;
    };
    let tarball = fixtures.join("posthog/chart/posthog-30.46.0.tgz");
    let values = fixtures.join("posthog/values-resized.yaml");
    let new = helm_template(&h4, "posthog", &tarball, "posthog", &values, &[]);
    let work = tempfile::tempdir().unwrap();
    let old = read(&fixtures.join("posthog/rendered-default.helm3-format.yaml"));
    std::fs::write(work.path().join("old.yaml"), &old).unwrap();
    std::fs::write(work.path().join("new.yaml"), &new).unwrap();
    // Detected from content: --base/--head given manifest streams.
    let o = run_in(
        Some(work.path()),
        &["check", "--base", "old.yaml", "--head", "new.yaml"],
        b"",
    );
    let text = stdout(&o);
    assert_eq!(code(&o), 0, "{text}{}", stderr(&o));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("new.yaml:")).count(),
        1,
        "{text}"
    );
    let line: usize = text.split(':').nth(1).unwrap().parse().unwrap();
    assert_eq!(
        new.lines().nth(line - 1).unwrap().trim(),
        "storage: \"50Gi\"",
        "{text}"
    );
    assert!(
        text.contains("`pvc-resize plan --release posthog --namespace NAMESPACE --size 50Gi --manifests old.yaml --statefulset posthog-posthog-kafka --claim data --values VALUES.yaml --chart CHART --kube-context CONTEXT --format script --output resize.sh`"),
        "{text}"
    );
    // The hint's plan, as pasted up to its placeholders, grows the claim of the render that runs
    // today (with the head render it would find the claim already at 50Gi).
    let o = run_in(
        Some(work.path()),
        &[
            "plan",
            "--release",
            "posthog",
            "--namespace",
            "posthog",
            "--size",
            "50Gi",
            "--manifests",
            "old.yaml",
            "--statefulset",
            "posthog-posthog-kafka",
            "--claim",
            "data",
        ],
        b"",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("20Gi (21,474,836,480 bytes) -> 50Gi"),
        "{}",
        stdout(&o)
    );
    // A values file against a render is refused.
    std::fs::write(work.path().join("values.yaml"), read(&values)).unwrap();
    let o = run_in(
        Some(work.path()),
        &["check", "--base", "old.yaml", "--head", "values.yaml"],
        b"",
    );
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("hint:"), "{}", stderr(&o));
}

/// The Kafka StatefulSet of the real render, dressed by hand the way the API server returns it
/// (`kubectl get statefulset -o yaml` of a List): its defaults filled in, claim templates with
/// apiVersion/kind, volumeMode and status, server metadata and status.
fn live_list(render: &str) -> String {
    let mut sts = pvc_resize::k8s::stream::split(render)
        .into_iter()
        .map(|c| {
            pvc_resize::commands::validate::parse_document(
                "r",
                &render[c.range.clone()],
                c.range.start,
                c.line,
            )
            .unwrap()
            .0
        })
        .find(|d| d["kind"] == "StatefulSet" && d["metadata"]["name"] == "kafka")
        .unwrap();
    let meta = sts["metadata"].as_object_mut().unwrap();
    meta.insert("namespace".into(), "kafka".into());
    meta.insert("uid".into(), "0b6c1f3e-5d1a-4c3e-9d7e-1f2a3b4c5d6e".into());
    meta.insert("resourceVersion".into(), "4242".into());
    meta.insert("generation".into(), 3.into());
    let spec = sts["spec"].as_object_mut().unwrap();
    spec.insert("revisionHistoryLimit".into(), 10.into());
    spec.insert(
        "persistentVolumeClaimRetentionPolicy".into(),
        serde_json::json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    spec["updateStrategy"]["rollingUpdate"] = serde_json::json!({"partition": 0});
    spec["template"]["spec"]["dnsPolicy"] = "ClusterFirst".into();
    spec["template"]["spec"]["restartPolicy"] = "Always".into();
    for c in spec["volumeClaimTemplates"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        c.insert("apiVersion".into(), "v1".into());
        c.insert("kind".into(), "PersistentVolumeClaim".into());
        c["metadata"]["creationTimestamp"] = serde_json::Value::Null;
        c["spec"]["volumeMode"] = "Filesystem".into();
        c.insert("status".into(), serde_json::json!({"phase": "Pending"}));
    }
    sts["status"] = serde_json::json!({"replicas": 1, "readyReplicas": 1, "currentRevision": "kafka-6d5f7c9b8"});
    sts["metadata"]["annotations"] = serde_json::json!({"meta.helm.sh/release-name": "kafka"});
    // Another release's StatefulSet in the same namespace: not this upgrade's business.
    let mut other = sts.clone();
    other["metadata"]["name"] = "other-db".into();
    other["metadata"]["annotations"] = serde_json::json!({"meta.helm.sh/release-name": "other"});
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [sts, other], "metadata": {"resourceVersion": ""}});
    serde_yaml::to_string(&list).unwrap()
}

#[test]
fn a_live_object_from_kubectl_get_compares_after_its_defaults() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let render = read(&fixtures.join("bitnami-kafka-14/rendered-default.yaml"));
    let live = live_list(&render);
    let work = tempfile::tempdir().unwrap();
    // Only the Kafka StatefulSet is live here: the zookeeper one of the render is new.
    let added = "statefulset-added".to_owned();
    let (got, rc, out) = check(work.path(), &live, &render, true);
    assert_eq!((got, rc), (vec![added.clone()], 0), "{out}");
    let resized = read(&fixtures.join("bitnami-kafka-14/rendered-resized.yaml"));
    let (got, rc, out) = check(work.path(), &live, &resized, false);
    assert_eq!(
        (got, rc),
        (vec![added.clone(), "grow".to_owned()], 0),
        "{out}"
    );
    assert!(out.contains("\"line\": 518"), "placed in NEW: {out}");
    let (got, _, out) = check(
        work.path(),
        &live,
        &render.replace(
            "podManagementPolicy: Parallel\n  replicas: 1",
            "replicas: 1",
        ),
        false,
    );
    assert_eq!(
        got,
        vec![added, "pod-management-policy".to_owned()],
        "{out}"
    );
}

fn validator(path: &str) -> jsonschema::Validator {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn reports_follow_the_json_and_sarif_schemas_with_a_hint_each() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let old = read(&fixtures.join("bitnami-kafka-14/rendered-default.yaml"));
    // NEW: the resized render, its kafka serviceName changed and its zookeeper StatefulSet gone.
    let resized = read(&fixtures.join("bitnami-kafka-14/rendered-resized.yaml"));
    let zk = resized
        .find("# Source: kafka/charts/zookeeper/templates/statefulset.yaml")
        .unwrap();
    let zk_end = zk + resized[zk..].find("\n---\n").unwrap() + 1;
    let new = format!("{}{}", &resized[..zk], &resized[zk_end..]);
    let new = mutate_sts(&new, "kafka", |s| {
        once(s, "serviceName: kafka-headless", "serviceName: kafka-hl")
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.yaml"), &old).unwrap();
    std::fs::write(dir.path().join("new.yaml"), &new).unwrap();
    let args = [
        "check",
        "--base-manifests",
        "old.yaml",
        "--head-manifests",
        "new.yaml",
        "--format",
    ];
    let run_as = |format: &str| {
        let mut a = args.to_vec();
        a.push(format);
        let o = run_in(Some(dir.path()), &a, b"");
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let report = run_as("json");
    let errors: Vec<String> = validator("schema/report.schema.json")
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["hint"].is_string(), "{f}");
            f["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids, ["service-name", "grow", "statefulset-removed"]);
    let removed = &report["findings"][2]["location"];
    // Placed at the zookeeper StatefulSet's first line in OLD.
    let line = removed["line"].as_u64().unwrap() as usize;
    assert_eq!(removed["file"], "old.yaml");
    assert_eq!(
        old.lines().nth(line - 2),
        Some("# Source: kafka/charts/zookeeper/templates/statefulset.yaml")
    );
    let sarif = run_as("sarif");
    let errors: Vec<String> = validator("schema/sarif/sarif-schema-2.1.0.json")
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(
        rules
            .iter()
            .all(|r| r["shortDescription"]["text"].is_string()),
        "{rules:?}"
    );
}

#[test]
fn renders_read_from_git_with_rev_path() {
    let (Some(fixtures), Some(_)) = (shared_fixtures(), program("git")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        output_of(
            Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(["-c", "commit.gpgsign=false"])
                .args(args)
                .current_dir(dir.path()),
        )
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    let file = dir.path().join("deploy/rendered.yaml");
    std::fs::write(&file, read(&fixtures.join("posthog/rendered-default.yaml"))).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "render"]);
    std::fs::write(&file, read(&fixtures.join("posthog/rendered-resized.yaml"))).unwrap();
    // Recognised from content, the base read with `git show`.
    let o = run_in(
        Some(dir.path()),
        &[
            "check",
            "--base",
            "HEAD:deploy/rendered.yaml",
            "--head",
            "deploy/rendered.yaml",
            "--strict",
            "--format",
            "json",
        ],
        b"",
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["findings"][0]["id"], "grow");
    assert_eq!(
        report["findings"][0]["location"]["file"],
        "deploy/rendered.yaml"
    );
}

/// `--kubernetes-version`: the rules of each minor on the real StatefulSet (sources in
/// `src/k8s/versions.rs`): a revisionHistoryLimit change blocks (exit 1) before 1.35 and is a
/// notice from 1.35; an ordinals change warns on 1.30 only; a version the tool has no rules for
/// is refused (exit 2).
#[test]
fn kubernetes_version_applies_that_versions_rules() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let old = read(&fixtures.join("bitnami-kafka-14/rendered-default.yaml"));
    let work = tempfile::tempdir().unwrap();
    let spec = "spec:\n  podManagementPolicy: Parallel\n";
    let limit = mutate_sts(&old, "kafka", |s| {
        once(s, spec, &format!("{spec}  revisionHistoryLimit: 2\n"))
    });
    let ordinals = mutate_sts(&old, "kafka", |s| {
        once(s, spec, &format!("{spec}  ordinals: {{start: 1}}\n"))
    });
    std::fs::write(work.path().join("old.yaml"), &old).unwrap();
    let at = |version: &str, new: &str| {
        std::fs::write(work.path().join("new.yaml"), new).unwrap();
        let args = [
            "check",
            "--base-manifests",
            "old.yaml",
            "--head-manifests",
            "new.yaml",
            "--format",
            "json",
            "--kubernetes-version",
            version,
        ];
        run_in(Some(work.path()), &args, b"")
    };
    for minor in 30..=36 {
        let v = format!("1.{minor}");
        let out = at(&v, &limit);
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let f = &report["findings"][0];
        assert_eq!(f["id"], "revision-history-limit", "{v}");
        let (severity, rc) = if minor >= 35 {
            ("notice", 0)
        } else {
            ("error", 1)
        };
        assert_eq!(
            (f["severity"].as_str(), code(&out)),
            (Some(severity), rc),
            "{v}: {f}"
        );
        let out = at(&v, &ordinals);
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let ids: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        let want: &[&str] = if minor == 30 {
            &["ordinals-gated"]
        } else {
            &[]
        };
        assert_eq!(ids, want, "{v}");
        assert_eq!(code(&out), 0, "{v}");
    }
    // The default is the oldest version supported upstream (1.35 on 2026-12-07).
    let out = run_in(
        Some(work.path()),
        &[
            "check",
            "--base-manifests",
            "old.yaml",
            "--head-manifests",
            "new.yaml",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for bad in ["1.29", "latest"] {
        let out = at(bad, &limit);
        assert_eq!(code(&out), 2, "{bad}");
        assert!(
            stderr(&out).contains("--kubernetes-version"),
            "{}",
            stderr(&out)
        );
    }
    let out = at("1.38", &limit);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("newer than the rules this tool knows"),
        "{}",
        stderr(&out)
    );
}

/// Bitnami Kafka 14.9.3 -> 32.4.4, both tarballs rendered by the real Helm 3: the upgrade deletes
/// the broker StatefulSet `kafka` and `kafka-zookeeper`, and their PVCs stay behind with their data.
/// That is an error by default (exit 1); the rename guess names one candidate for `kafka` (the
/// same claim templates and containers: `kafka-controller`) and none for `kafka-zookeeper`;
/// `--allow-removed` accepts each removal deliberately, and a name that is not removed is refused.
#[test]
fn a_chart_upgrade_that_orphans_pvcs_fails_unless_allowed() {
    let (Some(root), Some(helm)) = (shared_fixtures(), helm(3)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("empty.yaml");
    std::fs::write(&values, "{}\n").unwrap();
    for (name, tgz) in [
        ("old.yaml", "bitnami-kafka-14/chart/kafka-14.9.3.tgz"),
        ("new.yaml", "bitnami-kafka-32/chart/kafka-32.4.4.tgz"),
    ] {
        let render = helm_template(&helm, "kafka", &root.join(tgz), "demo", &values, &[]);
        std::fs::write(dir.path().join(name), render).unwrap();
    }
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--base-manifests",
            "old.yaml",
            "--head-manifests",
            "new.yaml",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--format", "json"]);
        run_in(Some(dir.path()), &args, b"")
    };
    let out = check(&[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let removed: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "statefulset-removed")
        .collect();
    assert_eq!(removed.len(), 2, "{json}");
    for f in &removed {
        assert_eq!(f["severity"], "error", "{f}");
        assert_eq!(f["blocking"], true, "{f}");
        let hint = f["hint"].as_str().unwrap();
        assert!(hint.contains("--allow-removed"), "{hint}");
    }
    let message = |sts: &str| {
        removed
            .iter()
            .find(|f| f["path"] == format!("StatefulSet/{sts}"))
            .unwrap()["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        message("kafka").contains("looks renamed to kafka-controller"),
        "{}",
        message("kafka")
    );
    assert!(
        !message("kafka-zookeeper").contains("renamed"),
        "{}",
        message("kafka-zookeeper")
    );
    assert!(
        message("kafka").contains("data-kafka-0"),
        "{}",
        message("kafka")
    );

    // Both removals accepted: exit 0, the findings say so.
    let out = check(&[
        "--allow-removed",
        "kafka",
        "--allow-removed",
        "kafka-zookeeper",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("accepted by --allow-removed kafka-zookeeper"));
    // One accepted: still 1. A name not removed: exit 2, the removed ones named.
    assert_eq!(code(&check(&["--allow-removed", "kafka"])), 1);
    let out = check(&["--allow-removed", "kafak"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("the removed ones are: kafka-zookeeper, kafka"),
        "{}",
        stderr(&out)
    );
}

/// A claim template's new VolumeAttributesClass, made by `post-render --volume-attributes-class`
/// on the real Bitnami Kafka 32 render: `attributes-class` (a notice, like a grow: `helm upgrade`
/// alone gets `spec: Forbidden`), placed at the new field in NEW, with the plan command as the
/// hint, in all four formats; blocking with --strict. Back to no class is an error.
#[test]
fn a_new_volume_attributes_class_is_found_in_every_format() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let old = read(&fixtures.join("bitnami-kafka-32/rendered-default.yaml"));
    let out = run(
        &[
            "post-render",
            "--statefulset",
            "kafka-controller",
            "--volume-attributes-class",
            "io2-fast",
        ],
        old.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let new = stdout(&out);
    let dir = tempfile::tempdir().unwrap();
    let (ids, exit, json) = check(dir.path(), &old, &new, false);
    assert_eq!(
        (ids, exit),
        (vec!["attributes-class".to_owned()], 0),
        "{json}"
    );
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let f = &report["findings"][0];
    let line = f["location"]["line"].as_u64().unwrap() as usize;
    assert_eq!(f["location"]["file"], "new.yaml");
    assert!(
        new.lines().nth(line - 1).unwrap().trim() == "volumeAttributesClassName: io2-fast",
        "{f}"
    );
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("--volume-attributes-class io2-fast"),
        "{hint}"
    );
    assert!(check(dir.path(), &old, &new, true).1 == 1);
    for (format, shows) in [
        ("text", "notice[attributes-class]"),
        ("github", "title=pvc-resize attributes-class::"),
        ("sarif", "\"ruleId\": \"attributes-class\""),
    ] {
        let o = run_in(
            Some(dir.path()),
            &[
                "check",
                "--base-manifests",
                "old.yaml",
                "--head-manifests",
                "new.yaml",
                "--format",
                format,
            ],
            b"",
        );
        assert_eq!(code(&o), 0, "{format}: {}", stderr(&o));
        assert!(stdout(&o).contains(shows), "{format}: {}", stdout(&o));
        assert!(stdout(&o).contains("new.yaml"), "{format}");
    }
    // The class removed again: PVCs refuse it, the template too.
    let (ids, exit, _) = check(dir.path(), &new, &old, false);
    assert_eq!((ids, exit), (vec!["claim-template-changed".to_owned()], 1));
}
