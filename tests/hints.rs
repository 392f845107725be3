//! Every hint the findings carry is either prose or holds commands that the real tool they name
//! parses (issue 23): `pvc-resize ...` by this binary's own argument parser, `helm ...` by Helm 3
//! and Helm 4, `kubectl ...` by kubectl, and every command line by `bash -n`; `sed`/`tr` lines
//! are run on a file. The hints are collected by running the commands on inputs that trigger each
//! finding id (the table in `cases`), not copied from the source: what is checked is what a user
//! sees. Every id of the catalogue (`finding::IDS`) has a decided class in `CLASSES`, so a new
//! finding without one fails here.

mod common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// What a finding's hint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Its hints may hold commands (in backticks); each must parse. A case in `cases` must
    /// show at least one, so that they are checked.
    Commands,
    /// Its hints are prose: no command in them.
    Prose,
    /// It never carries a hint (the message says all).
    NoHint,
}
use Class::*;

/// The class of every id of `finding::IDS`.
const CLASSES: &[(&str, Class)] = &[
    // check on values
    ("grow", Commands),
    ("shrink", Prose),
    ("invalid-size", Prose),
    ("decimal-size", Prose),
    ("disable", Prose),
    ("enable", Commands),
    ("immutable", Prose),
    ("size-removed", Commands),
    ("block-added", Commands),
    ("block-removed", Prose),
    ("replicas-up", Prose),
    ("replicas-down", Commands),
    ("replicas-set", Prose),
    ("replicas-unset", Prose),
    ("subchart-disabled", Commands),
    ("condition-not-bool", Prose),
    ("rename", Prose),
    // check on renders
    ("claim-template-changed", Commands),
    ("claim-template-added", Commands),
    ("claim-template-removed", Prose),
    ("selector", Commands),
    ("service-name", Commands),
    ("pod-management-policy", Commands),
    ("spec-field", Commands),
    ("revision-history-limit", Commands),
    ("attributes-class", Commands),
    ("quota-exceeded", Commands),
    ("limitrange-exceeded", Commands),
    ("volume-claim-update-strategy", Commands),
    ("ordinals-gated", Prose),
    ("statefulset-removed", Commands),
    ("statefulset-added", Prose),
    // plan
    ("chart-pinned", NoHint),
    ("chart-version-unknown", Commands),
    ("kube-context-unnamed", Commands),
    ("helm4-post-renderer", NoHint),
    ("storageclass-unknown", Commands),
    ("storageclass-expands", NoHint),
    ("storageclass-no-expansion", Commands),
    ("cloud-notes", NoHint),
    ("cloud-ebs", NoHint),
    ("cloud-azure-disk", NoHint),
    ("cloud-gce", NoHint),
    ("pvc-beyond-replicas", NoHint),
    ("pvc-below-ordinals", NoHint),
    ("ordinals-differ", Prose),
    ("replicas-differ", Prose),
    ("values-path-differs", Prose),
    ("values-path-proven", NoHint),
    ("values-path-not-read", Prose),
    ("values-path-unproven", Prose),
    ("values-path-unknown", Commands),
    ("chart-render-failed", Commands),
    ("values-path-sizes-another", Prose),
    ("values-paths-differ", Prose),
    ("pvc-missing", NoHint),
    ("pvc-not-bound", Commands),
    ("pvc-grown", NoHint),
    ("log-retention", Prose),
    ("render-at-size", NoHint),
    ("retention-delete", Prose),
    ("pvc-request-above", Prose),
    ("operator-volume", NoHint),
    ("operator-volume-refused", Prose),
    ("operator-suspended", Prose),
    ("operator-recreates-statefulsets", Prose),
    ("pvc-class-set", NoHint),
    ("attributes-class-exists", NoHint),
    ("attributes-class-missing", Commands),
    ("attributes-class-unknown", Commands),
    ("attributes-class-not-in-values", Commands),
    ("attributes-class-path-proven", NoHint),
    ("attributes-class-path-unproven", Prose),
    ("kruise-grow", Commands),
    ("kruise-claim-template-refused", Prose),
    ("kruise-claim-template-changed", Prose),
    ("kruise-spec-field", Commands),
    ("kruise-statefulset", Prose),
    ("kruise-procedure", NoHint),
    // validate
    ("unknown-key", Prose),
    ("missing-key", Prose),
    ("wrong-type", Prose),
    ("invalid-quantity", Prose),
    ("invalid-value", Prose),
    ("schema", Prose),
    ("invalid-yaml", Commands),
    ("multiple-documents", Prose),
    ("empty-manifests", Commands),
    // advise
    ("usage-above-target", Commands),
    ("inodes-exhausted", Prose),
    ("values-drift", Prose),
    ("size-at-max", Prose),
    ("pvc-no-metrics", Commands),
    ("metrics-reset", Prose),
    ("metrics-unknown-pvc", Prose),
    ("metrics-not-this-pvc", Prose),
    // values: the editor's refusals
    ("values-edit-unreadable", Prose),
    ("values-edit-misplaced", Prose),
    ("values-persistence-schema", Prose),
    ("values-path-ignored", Prose),
    ("values-block-scalar", Prose),
    ("values-target-collection", Prose),
    ("values-shrink", Prose),
    ("values-anchor-on-path", Prose),
    ("values-alias-on-path", Prose),
    ("values-merge-on-path", Prose),
    ("values-parent-null", Prose),
    ("values-root-null", Prose),
    ("values-parent-not-mapping", Prose),
    ("values-no-insert-place", Prose),
    ("yaml-bare-cr", Commands),
    ("yaml-control-character", Commands),
    ("yaml-helm4-separator", Prose),
    ("yaml-multiple-documents", Prose),
    ("yaml-helm-refuses", Commands),
    ("yaml-directive", Commands),
    ("yaml-unknown-escape", Commands),
    ("yaml-line-separator", Commands),
    ("yaml-duplicate-key", Prose),
    ("yaml-tag-glued", Commands),
    ("yaml-colon-glued", Prose),
];

/// `Commands` ids no case shows, and why their commands are checked all the same.
const UNSHOWN: &[(&str, &str)] = &[];

/// The programs a hint's command may start with. A word of one of the first three followed by
/// one of its subcommands outside backticks is a command written as prose: refused.
const PROGRAMS: &[&str] = &["pvc-resize", "helm", "kubectl", "sed", "tr", "bash"];

const SUBCOMMANDS: &[(&str, &[&str])] = &[
    (
        "pvc-resize",
        &[
            "values",
            "post-render",
            "validate",
            "check",
            "plan",
            "advise",
            "helm-plugin",
            "completions",
            "man",
            "verify-render",
        ],
    ),
    (
        "helm",
        &[
            "template",
            "upgrade",
            "install",
            "list",
            "show",
            "get",
            "pull",
            "dependency",
            "plugin",
            "rollback",
            "history",
            "status",
            "--kube-context",
        ],
    ),
    (
        "kubectl",
        &[
            "get",
            "delete",
            "edit",
            "patch",
            "scale",
            "apply",
            "config",
            "describe",
            "label",
            "annotate",
            "rollout",
            "--context",
        ],
    ),
];

#[test]
fn every_catalogue_id_has_a_decided_class() {
    let catalogue: BTreeSet<&str> = pvc_resize::finding::IDS.iter().map(|(id, _)| *id).collect();
    let classed: BTreeSet<&str> = CLASSES.iter().map(|(id, _)| *id).collect();
    assert_eq!(CLASSES.len(), classed.len(), "an id is classed twice");
    let missing: Vec<_> = catalogue.difference(&classed).collect();
    let unknown: Vec<_> = classed.difference(&catalogue).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "ids without a class in tests/hints.rs CLASSES (decide: Commands, Prose or NoHint): {missing:?}; \
         classed ids the catalogue does not have: {unknown:?}"
    );
}

/// The backticked spans of a hint that are commands, and the commands written outside backticks.
fn commands_in(hint: &str) -> (Vec<String>, Vec<String>) {
    let (mut quoted, mut prose) = (Vec::new(), Vec::new());
    for (i, part) in hint.split('`').enumerate() {
        let first = part.split_whitespace().next().unwrap_or("");
        if i % 2 == 1 {
            if PROGRAMS.contains(&first) {
                quoted.push(part.to_owned());
            }
            continue;
        }
        let words: Vec<&str> = part
            .split(|c: char| c.is_whitespace() || "(),;:".contains(c))
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            let subs = SUBCOMMANDS.iter().find(|(p, _)| *p == pair[0]);
            if subs.is_some_and(|(_, s)| s.iter().any(|s| pair[1].starts_with(s))) {
                prose.push(format!("{} {}", pair[0], pair[1]));
            }
        }
    }
    (quoted, prose)
}

/// Shell words of a command line, split into simple commands at `|`, `&&`, `||` and `;`;
/// redirections (`> FILE`, `< FILE`) are dropped.
fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let (mut all, mut words, mut word) = (Vec::new(), Vec::new(), None::<String>);
    let mut chars = line.chars().peekable();
    let mut redirect = false;
    let end_word = |word: &mut Option<String>, words: &mut Vec<String>, redirect: &mut bool| {
        if let Some(w) = word.take()
            && !std::mem::take(redirect)
        {
            words.push(w);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref().take_while(|&c| c != '\'') {
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            '>' | '<' => {
                end_word(&mut word, &mut words, &mut redirect);
                redirect = true;
            }
            '|' | '&' | ';' => {
                end_word(&mut word, &mut words, &mut redirect);
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                all.push(std::mem::take(&mut words));
            }
            c if c.is_whitespace() => end_word(&mut word, &mut words, &mut redirect),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end_word(&mut word, &mut words, &mut redirect);
    all.push(words);
    all.retain(|w| !w.is_empty());
    all
}

#[test]
fn the_command_reader_reads_shell() {
    assert_eq!(
        simple_commands("kubectl get pvc -o yaml > 'a b.yaml' && tr '\\r' '\\n' < F | x \"y z\""),
        vec![
            vec!["kubectl", "get", "pvc", "-o", "yaml"],
            vec!["tr", "\\r", "\\n"],
            vec!["x", "y z"],
        ]
    );
    let (quoted, prose) =
        commands_in("run `helm template X` or `kafka: 1`; then kubectl get pvc (helm on PATH)");
    assert_eq!(
        (quoted, prose),
        (
            vec!["helm template X".to_owned()],
            vec!["kubectl get".to_owned()]
        )
    );
}

/// The placeholders hints use, and what they stand for in the check (FILE and VALUES are a
/// values file in the case's folder).
fn fill(command: &str, dir: &Path) -> String {
    let values = dir.join("values.yaml");
    let values = values.to_str().unwrap();
    let table = [
        ("VALUES.yaml", values),
        ("RENDERED.yaml", values),
        ("VALUES_FILE", values),
        ("FILE", values),
        ("CHART", "posthog/posthog"),
        ("RELEASE", "demo"),
        ("NAMESPACE", "demo"),
        ("CONTEXT", "kind-demo"),
        ("NAME", "demo-kafka"),
        ("STS", "demo-kafka"),
        ("NODE", "node-a"),
        ("SIZE", "50Gi"),
        ("KEY", "kafka.persistence.size"),
        ("PVC", "data-demo-kafka-0"),
        ("V", "1.2.3"),
    ];
    let mut out = command.to_owned();
    for (from, to) in table {
        out = replace_word(&out, from, to);
    }
    out
}

/// `from` replaced where it is a whole word (not inside a longer name).
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if word(before) || word(after) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// The real judges: Helm 3 and 4, kubectl, bash.
struct Judges {
    helms: Vec<std::path::PathBuf>,
    kubectl: std::path::PathBuf,
    bash: std::path::PathBuf,
}

fn judges_here() -> Option<Judges> {
    let helms: Vec<_> = [helm(3), helm(4)].into_iter().collect::<Option<_>>()?;
    Some(Judges {
        helms,
        kubectl: program("kubectl")?,
        bash: program("bash")?,
    })
}

fn ran(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{:?}: {}{}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(4)
            .collect::<Vec<_>>()
            .join(" / ")
    ))
}

/// Why the (filled) command line does not parse with the real tools, if it doesn't.
fn parse_problem(line: &str, dir: &Path, j: &Judges) -> Result<(), String> {
    ran(Command::new(&j.bash).args(["-n", "-c", line]))?;
    let commands = simple_commands(line);
    if commands.iter().all(|c| c[0] == "sed" || c[0] == "tr") {
        // Text tools: run the line on the case's file (a copy with CRs).
        return ran(Command::new(&j.bash).args(["-c", line]).current_dir(dir));
    }
    for words in commands {
        let args = &words[1..];
        match words[0].as_str() {
            "pvc-resize" => {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = run_in(Some(dir), &args, b"");
                if code(&out) == 2 && stderr(&out).contains("Usage: pvc-resize") {
                    return Err(format!("pvc-resize {args:?}: {}", stderr(&out)));
                }
            }
            "helm" => {
                for helm in &j.helms {
                    ran(Command::new(helm).args(args).arg("--help"))?;
                }
            }
            "kubectl" => ran(Command::new(&j.kubectl).args(args).arg("--help"))?,
            _ => {}
        }
    }
    Ok(())
}

/// The id given to an error that is not a finding (`pvc-resize: error: ...`).
const ERROR: &str = "(error)";

/// The (id, hint) of every finding in a command's output: the report on stdout (JSON) and the
/// refusals on stderr (`pvc-resize: error[ID]: ...` then `  hint: ...`).
fn findings_of(out: &std::process::Output) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    if let Ok(report) = serde_json::from_slice::<serde_json::Value>(&out.stdout) {
        for f in report["findings"].as_array().into_iter().flatten() {
            let hint = f["hint"].as_str().map(str::to_owned);
            found.push((f["id"].as_str().unwrap().to_owned(), hint));
        }
    }
    let err = stderr(out);
    let mut lines = err.lines().peekable();
    while let Some(line) = lines.next() {
        let id = if let Some(rest) = line.strip_prefix("pvc-resize: error[") {
            rest.split(']').next().unwrap().to_owned()
        } else if line.starts_with("pvc-resize: error: ") {
            // An error that is no finding: its hint is checked all the same.
            ERROR.to_owned()
        } else {
            continue;
        };
        let hint = lines
            .peek()
            .and_then(|l| l.strip_prefix("  hint: "))
            .map(str::to_owned);
        found.push((id, hint));
    }
    found
}

const VALUES: &str = "kafka:\n  enabled: true\n  replicaCount: 1\n  persistence:\n    enabled: true\n    size: 20Gi\n    storageClass: gp2\n    accessModes: [ReadWriteOnce]\n";

/// A cluster snapshot for the render's demo-kafka: a StorageClass by `provisioner` (expandable
/// or not), PVCs (name suffix, size, phase), and the live StatefulSet's extra spec lines.
fn cluster(provisioner: &str, expands: bool, pvcs: &[(u32, &str, &str)], spec: &str) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: storage.k8s.io/v1\n  kind: StorageClass\n  metadata:\n    name: sc\n    annotations:\n      storageclass.kubernetes.io/is-default-class: \"true\"\n  provisioner: {provisioner}\n  allowVolumeExpansion: {expands}\n"
    );
    for (i, size, phase) in pvcs {
        out.push_str(&format!(
            "- apiVersion: v1\n  kind: PersistentVolumeClaim\n  metadata:\n    name: data-demo-kafka-{i}\n    namespace: demo\n  spec:\n    storageClassName: sc\n    resources:\n      requests:\n        storage: {size}\n  status:\n    phase: {phase}\n    capacity:\n      storage: {size}\n"
        ));
    }
    out.push_str(&format!(
        "- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata:\n    name: demo-kafka\n    namespace: demo\n  spec:\n    replicas: 3\n{spec}"
    ));
    out
}

/// One run of pvc-resize: its name, the files it needs (written into the case's folder) and
/// its arguments.
struct Case {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
}

fn case(name: &str, files: &[(&str, &str)], args: &str) -> Case {
    Case {
        name: name.to_owned(),
        files: files
            .iter()
            .map(|(n, t)| ((*n).to_owned(), t.as_bytes().to_vec()))
            .collect(),
        args: args.split_whitespace().map(str::to_owned).collect(),
    }
}

/// `check` of VALUES against a head made by replacing `from` with `to`.
fn check_values(name: &str, from: &str, to: &str) -> Case {
    assert!(VALUES.contains(from), "{name}");
    let head = VALUES.replacen(from, to, 1);
    case(
        name,
        &[("base.yaml", VALUES), ("head.yaml", &head)],
        "check --base base.yaml --head head.yaml --format json",
    )
}

/// `check` of two renders: the fixture against itself with `from` replaced by `to`.
/// `check` on the fixture render with demo-kafka as OpenKruise's Advanced StatefulSet (with
/// `spec` inserted first in its spec), NEW with `from` replaced by `to`.
fn check_kruise(name: &str, spec: &str, from: &str, to: &str) -> Case {
    let render = include_str!("../fixtures/rendered-kafka.yaml")
        .replacen(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n",
            "apiVersion: apps.kruise.io/v1beta1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n",
            1,
        )
        .replacen("  replicas: 3\n", &format!("{spec}  replicas: 3\n"), 1);
    assert!(
        render.contains("apps.kruise.io") && render.contains(from),
        "{name}"
    );
    let head = render.replacen(from, to, 1);
    case(
        name,
        &[("old.yaml", &render), ("new.yaml", &head)],
        "check --base-manifests old.yaml --head-manifests new.yaml --format json",
    )
}

fn check_render(name: &str, from: &str, to: &str, extra: &str) -> Case {
    let render = include_str!("../fixtures/rendered-kafka.yaml");
    assert!(render.contains(from), "{name}");
    let head = render.replacen(from, to, 1);
    case(
        name,
        &[("old.yaml", render), ("new.yaml", &head)],
        &format!("check --base-manifests old.yaml --head-manifests new.yaml --format json {extra}"),
    )
}

/// `plan` of the fixture render's demo-kafka with a cluster snapshot (or none).
fn plan(name: &str, render_edit: (&str, &str), snapshot: Option<String>, extra: &str) -> Case {
    let render =
        include_str!("../fixtures/rendered-kafka.yaml").replacen(render_edit.0, render_edit.1, 1);
    let mut files = vec![("render.yaml", render.as_str()), ("values.yaml", VALUES)];
    let snapshot = snapshot.unwrap_or_default();
    let with_cluster = if snapshot.is_empty() {
        ""
    } else {
        files.push(("cluster.yaml", &snapshot));
        "--cluster cluster.yaml"
    };
    case(
        name,
        &files,
        &format!(
            "plan --release demo --namespace demo --manifests render.yaml --statefulset demo-kafka --format json {with_cluster} {extra}"
        ),
    )
}

/// `values FILE --size 50Gi` on a values text (a refusal on stderr).
fn values_edit(name: &str, text: &str, extra: &str) -> Case {
    case(
        name,
        &[("edit.yaml", text)],
        &format!("values edit.yaml {extra}"),
    )
}

/// A suspended ClickHouseInstallation whose claim template its hosts' StatefulSets hold (no
/// provisioner), before the render's first document.
const CHI: &str = "---\n# Source: demo/templates/chi.yaml\napiVersion: clickhouse.altinity.com/v1\nkind: ClickHouseInstallation\nmetadata:\n  name: demo\nspec:\n  suspend: \"true\"\n  templates:\n    volumeClaimTemplates:\n      - name: data\n        spec:\n          accessModes: [ReadWriteOnce]\n          resources:\n            requests:\n              storage: 20Gi\n---\n# Source: demo/charts/kafka/templates/scripts-configmap.yaml";

/// A prometheus-operator Prometheus with a claim template (its operator grows no PVC).
const PROMETHEUS: &str = "---\n# Source: demo/templates/prometheus.yaml\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: demo\nspec:\n  storage:\n    volumeClaimTemplate:\n      metadata:\n        name: db\n      spec:\n        resources:\n          requests:\n            storage: 20Gi\n---\n# Source: demo/charts/kafka/templates/scripts-configmap.yaml";

/// Inputs that trigger the findings, a few per id.
fn cases() -> Vec<Case> {
    let mut all = values_check_cases();
    all.extend(render_check_cases());
    all.extend(plan_cases());
    all.extend(values_edit_cases());
    all.extend(other_cases());
    all
}

fn values_check_cases() -> Vec<Case> {
    vec![
        check_values("grow", "size: 20Gi", "size: 50Gi"),
        check_values("shrink", "size: 20Gi", "size: 10Gi"),
        check_values("invalid-size", "size: 20Gi", "size: 50 GB"),
        check_values("not a string", "size: 20Gi", "size: 50"),
        check_values("decimal-size", "size: 20Gi", "size: 50G"),
        check_values("disable", "    enabled: true", "    enabled: false"),
        check_values("immutable", "gp2", "gp3"),
        check_values("size-removed", "    size: 20Gi\n", ""),
        check_values(
            "block-removed",
            "  persistence:\n    enabled: true\n    size: 20Gi\n    storageClass: gp2\n    accessModes: [ReadWriteOnce]\n",
            "",
        ),
        check_values("replicas-up", "replicaCount: 1", "replicaCount: 3"),
        check_values("replicas-unset", "  replicaCount: 1\n", ""),
        check_values(
            "subchart-disabled",
            "  enabled: true\n  replicaCount",
            "  enabled: false\n  replicaCount",
        ),
        check_values(
            "condition-not-bool",
            "  enabled: true\n  replicaCount",
            "  enabled: \"yes\"\n  replicaCount",
        ),
        check_values("rename", "kafka:\n", "kafka:\n  fullnameOverride: other\n"),
        check_values("invalid-yaml", "size: 20Gi", "size: [20Gi"),
        check_values("multiple-documents", "kafka:\n", "a: 1\n---\nkafka:\n"),
        // With --chart, the chart's two renders: a StatefulSet the head's values remove.
        case(
            "statefulset-removed by the values, with --chart",
            &[
                ("base.yaml", "cache:\n  enabled: true\n"),
                ("head.yaml", "cache:\n  enabled: false\n"),
            ],
            "check --base base.yaml --head head.yaml --chart demo --helm HELM3 --format json",
        )
        .with_file("demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n")
        .with_file("demo/values.yaml", "cache:\n  enabled: true\n  size: 1Gi\n")
        .with_file(
            "demo/templates/sts.yaml",
            "{{- if .Values.cache.enabled }}\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}-cache\nspec:\n  serviceName: cache\n  selector:\n    matchLabels: {app: cache}\n  template:\n    metadata:\n      labels: {app: cache}\n    spec:\n      containers: [{name: c, image: i}]\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources:\n        requests:\n          storage: {{ .Values.cache.size }}\n{{- end }}\n",
        ),
        case(
            "enable, block-added, replicas-down, replicas-set",
            &[
                (
                    "base.yaml",
                    "kafka:\n  replicaCount: 3\n  persistence:\n    enabled: false\n",
                ),
                (
                    "head.yaml",
                    "kafka:\n  replicaCount: 1\n  persistence:\n    enabled: true\n    size: 20Gi\nzookeeper:\n  replicaCount: 3\n  persistence:\n    size: 8Gi\n",
                ),
            ],
            "check --base base.yaml --head head.yaml --format json",
        ),
    ]
}

fn render_check_cases() -> Vec<Case> {
    let claim = "  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes:\n          - \"ReadWriteOnce\"\n        resources:\n          requests:\n            storage: \"20Gi\"\n";
    let second = format!(
        "{claim}    - metadata:\n        name: logs\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 1Gi\n"
    );
    vec![
        check_render("grow", "storage: \"20Gi\"", "storage: \"50Gi\"", ""),
        check_render("shrink", "storage: \"20Gi\"", "storage: \"10Gi\"", ""),
        check_render("invalid-size", "storage: \"20Gi\"", "storage: \"lots\"", ""),
        check_render(
            "claim-template-changed",
            "          - \"ReadWriteOnce\"\n        resources:\n          requests:\n            storage: \"20Gi\"",
            "          - \"ReadWriteMany\"\n        resources:\n          requests:\n            storage: \"20Gi\"",
            "",
        ),
        check_render("claim-template-added", claim, &second, ""),
        check_render(
            "selector",
            "      app.kubernetes.io/name: kafka\n  template",
            "      app.kubernetes.io/name: kafka2\n  template",
            "",
        ),
        check_render(
            "service-name",
            "serviceName: demo-kafka-headless",
            "serviceName: other",
            "",
        ),
        check_render(
            "pod-management-policy",
            "  replicas: 3\n",
            "  replicas: 3\n  podManagementPolicy: Parallel\n",
            "",
        ),
        check_render(
            "spec-field",
            "  replicas: 3\n",
            "  replicas: 3\n  foo: bar\n",
            "",
        ),
        check_render(
            "volume-claim-update-strategy",
            "  replicas: 3\n",
            "  replicas: 3\n  volumeClaimUpdateStrategy: {type: InPlace}\n",
            "",
        ),
        check_render(
            "revision-history-limit",
            "  replicas: 3\n",
            "  replicas: 3\n  revisionHistoryLimit: 3\n",
            "--kubernetes-version 1.30",
        ),
        check_render(
            "revision-history-limit from 1.35",
            "  replicas: 3\n",
            "  replicas: 3\n  revisionHistoryLimit: 3\n",
            "--kubernetes-version 1.35",
        ),
        check_render(
            "ordinals-gated",
            "  replicas: 3\n",
            "  replicas: 3\n  ordinals: {start: 1}\n",
            "--kubernetes-version 1.30",
        ),
        check_render(
            "attributes-class",
            "        accessModes:\n          - \"ReadWriteOnce\"",
            "        volumeAttributesClassName: fast\n        accessModes:\n          - \"ReadWriteOnce\"",
            "",
        ),
        check_kruise("kruise-grow", "", "storage: \"20Gi\"", "storage: \"50Gi\""),
        check_kruise(
            "kruise-claim-template-refused",
            "  volumeClaimUpdateStrategy: {type: OnPodRollingUpdate}\n",
            "          - \"ReadWriteOnce\"\n        resources",
            "          - \"ReadWriteMany\"\n        resources",
        ),
        check_kruise(
            "kruise-claim-template-changed",
            "",
            "          - \"ReadWriteOnce\"\n        resources",
            "          - \"ReadWriteMany\"\n        resources",
        ),
        check_kruise(
            "kruise-spec-field",
            "",
            "serviceName: demo-kafka-headless",
            "serviceName: other",
        ),
        check_render(
            "statefulset-removed, added",
            "name: demo-zookeeper",
            "name: demo-zk",
            "",
        ),
        check_render(
            "empty-manifests",
            include_str!("../fixtures/rendered-kafka.yaml"),
            "# nothing\n",
            "",
        ),
        check_render("invalid-yaml", "replicas: 3", "replicas: [3", ""),
    ]
}

fn plan_cases() -> Vec<Case> {
    let none = ("", "");
    let bound = |n: u32, size| (n, size, "Bound");
    let three = [bound(0, "20Gi"), bound(1, "20Gi"), bound(2, "20Gi")];
    let ebs = || cluster("ebs.csi.aws.com", true, &three, "");
    let env = "          image: docker.io/bitnami/kafka:2.8.1\n          env:\n            - name: KAFKA_CFG_LOG_RETENTION_BYTES\n              value: \"1099511627776\"\n";
    let quota = "- apiVersion: v1\n  kind: ResourceQuota\n  metadata:\n    name: q\n    namespace: demo\n  spec:\n    hard:\n      requests.storage: 70Gi\n- apiVersion: v1\n  kind: LimitRange\n  metadata:\n    name: l\n    namespace: demo\n  spec:\n    limits:\n    - type: PersistentVolumeClaim\n      max:\n        storage: 30Gi\n";
    let mut quoted = ebs();
    quoted = quoted.replacen(
        "- apiVersion: apps/v1",
        &format!("{quota}- apiVersion: apps/v1"),
        1,
    );
    vec![
        plan("no cluster", none, None, "--size 50Gi"),
        plan(
            "cluster, ebs",
            none,
            Some(ebs()),
            "--size 50Gi --kube-context kind-demo --version 1.0.0",
        ),
        plan("quota, limitrange", none, Some(quoted), "--size 50Gi"),
        plan(
            "no expansion, gce",
            none,
            Some(cluster("pd.csi.storage.gke.io", false, &three, "")),
            "--size 50Gi",
        ),
        plan(
            "azure",
            none,
            Some(cluster("disk.csi.azure.com", true, &three, "")),
            "--size 50Gi",
        ),
        plan(
            "not bound, grown, missing, beyond",
            none,
            Some(cluster(
                "ebs.csi.aws.com",
                true,
                &[(0, "20Gi", "Pending"), bound(1, "50Gi"), bound(3, "20Gi")],
                "",
            )),
            "--size 50Gi",
        ),
        plan(
            "ordinals, below",
            none,
            Some(cluster(
                "ebs.csi.aws.com",
                true,
                &three,
                "    ordinals: {start: 1}\n",
            )),
            "--size 50Gi",
        ),
        plan(
            "replicas-differ up",
            none,
            Some(
                cluster("ebs.csi.aws.com", true, &three, "").replace("replicas: 3", "replicas: 2"),
            ),
            "--size 50Gi",
        ),
        plan(
            "replicas-differ down",
            none,
            Some(
                cluster("ebs.csi.aws.com", true, &three, "").replace("replicas: 3", "replicas: 5"),
            ),
            "--size 50Gi",
        ),
        plan(
            "retention-delete",
            none,
            Some(cluster(
                "ebs.csi.aws.com",
                true,
                &three,
                "    persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Delete}\n",
            )),
            "--size 50Gi",
        ),
        plan("shrink", none, Some(ebs()), "--size 10Gi"),
        plan(
            "decimal-size, render-at-size",
            none,
            Some(ebs()),
            "--size 20G",
        ),
        plan("render-at-size", none, Some(ebs()), "--size 20Gi"),
        plan(
            "log-retention",
            ("          image: docker.io/bitnami/kafka:2.8.1\n", env),
            None,
            "--size 50Gi",
        ),
        plan(
            "values-path-differs",
            none,
            None,
            "--size 50Gi --values values.yaml --path kafka.other.size",
        ),
        plan(
            "values-path-sizes-another",
            none,
            None,
            "--size 50Gi --values values.yaml --path zookeeper.persistence.size",
        ),
        plan(
            "values-paths-differ",
            none,
            None,
            "--size 50Gi --values values.yaml --statefulset demo-zookeeper",
        ),
        plan(
            "values-path-unknown",
            (
                "# Source: demo/charts/kafka/templates/statefulset.yaml",
                "# Source: demo/templates/db.yaml",
            ),
            None,
            "--size 50Gi --values values.yaml",
        ),
        plan(
            "error: rendered for another release",
            ("    app.kubernetes.io/name: kafka\n    helm.sh", "    app.kubernetes.io/name: kafka\n    app.kubernetes.io/instance: other\n    helm.sh"),
            None,
            "--size 50Gi",
        ),
        plan(
            "error: another chart version",
            ("---\n# Source: demo/charts/kafka/templates/scripts-configmap.yaml", "---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  labels:\n    helm.sh/chart: demo-1.0.0\n---\n# Source: demo/charts/kafka/templates/scripts-configmap.yaml"),
            None,
            "--size 50Gi --version 2.0.0",
        ),
        plan("attributes-class-unknown, -not-in-values", none, None, "--volume-attributes-class fast"),
        plan(
            "attributes-class-path-unproven",
            none,
            None,
            "--volume-attributes-class fast --volume-attributes-class-path kafka.persistence.vac",
        ),
        plan(
            "operator-suspended, operator-recreates-statefulsets",
            ("---\n# Source: demo/charts/kafka/templates/scripts-configmap.yaml", CHI),
            None,
            "--size 50Gi --resource ClickHouseInstallation/demo",
        ),
        plan(
            "operator-volume-refused",
            ("---\n# Source: demo/charts/kafka/templates/scripts-configmap.yaml", PROMETHEUS),
            None,
            "--size 50Gi --resource Prometheus/demo",
        ),
        plan(
            "kruise-procedure",
            (
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n",
                "apiVersion: apps.kruise.io/v1beta1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n",
            ),
            None,
            "--size 50Gi",
        ),
        plan(
            "kruise-statefulset",
            (
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n",
                "apiVersion: apps.kruise.io/v1beta1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n",
            ),
            None,
            "--size 50Gi --volume-attributes-class fast",
        ),
        plan("attributes-class-missing", none, Some(ebs().replacen("- apiVersion: apps/v1", "- apiVersion: storage.k8s.io/v1\n  kind: VolumeAttributesClass\n  metadata:\n    name: slow\n  driverName: ebs.csi.aws.com\n- apiVersion: apps/v1", 1)), "--volume-attributes-class fast"),
        plan(
            "chart-render-failed",
            none,
            None,
            "--size 50Gi --values values.yaml --chart broken --helm HELM3",
        )
        .with_file(
            "broken/Chart.yaml",
            "apiVersion: v2\nname: broken\nversion: 0.1.0\n",
        )
        .with_file("broken/templates/x.yaml", "{{ fail \"broken\" }}\n"),
    ]
}

fn values_edit_cases() -> Vec<Case> {
    let v = |name, text: &str| values_edit(name, text, "--size 50Gi");
    vec![
        values_edit("values-shrink", VALUES, "--size 10Gi"),
        v(
            "values-block-scalar",
            "kafka:\n  persistence:\n    size: |\n      20Gi\n",
        ),
        v(
            "values-target-collection",
            "kafka:\n  persistence:\n    size: [20Gi]\n",
        ),
        v(
            "values-anchor-on-path",
            "kafka:\n  persistence:\n    size: &s 20Gi\nother: *s\n",
        ),
        v(
            "values-alias-on-path",
            "base: &p\n  size: 20Gi\nkafka:\n  persistence: *p\n",
        ),
        v(
            "values-merge-on-path",
            "base: &p\n  size: 20Gi\nkafka:\n  persistence:\n    <<: *p\n",
        ),
        v("values-parent-null", "kafka:\n  persistence: ~\n"),
        v("values-root-null", "~\n"),
        v("values-parent-not-mapping", "kafka: 3\n"),
        v("values-path-ignored", "controller:\n  replicaCount: 3\n"),
        v("yaml-bare-cr", "kafka:\r  persistence:\r    size: 20Gi\r"),
        v(
            "yaml-control-character",
            "kafka:\n  persistence:\n    size: 20Gi\u{0}\n",
        ),
        v(
            "yaml-helm4-separator",
            "--- a: 1\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-multiple-documents",
            "a: 1\n---\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-helm-refuses",
            "a: !!binary x\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-directive",
            "%YAML 1.2\n---\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-unknown-escape",
            "a: \"\\/\"\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-line-separator",
            "a: \"x\u{2028}y\"\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-duplicate-key",
            "kafka: 1\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-tag-glued",
            "a: [!x, 1]\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v(
            "yaml-colon-glued",
            "a: {b:, c: 1}\nkafka:\n  persistence:\n    size: 20Gi\n",
        ),
        v("invalid-yaml", "kafka: [1\n"),
        v("invalid-yaml, tab", "kafka:\n\tpersistence: 1\n"),
    ]
}

impl Case {
    fn with_file(mut self, name: &str, text: &str) -> Case {
        self.files.push((name.to_owned(), text.as_bytes().to_vec()));
        self
    }
}

fn other_cases() -> Vec<Case> {
    let render = include_str!("../fixtures/rendered-kafka.yaml");
    let claim = "            storage: \"20Gi\"\n";
    let two = render.replacen(claim, &format!("{claim}    - metadata:\n        name: logs\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 1Gi\n"), 1);
    let advise = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/advise");
    vec![
        case(
            "claim-template-removed",
            &[("old.yaml", &two), ("new.yaml", render)],
            "check --base-manifests old.yaml --head-manifests new.yaml --format json",
        ),
        case(
            "validate values",
            &[(
                "v.yaml",
                "kafka:\n  persistance: {}\n  persistence:\n    enabled: \"yes\"\n    size: 50 GB\n    accessModes: [Sometimes]\n",
            )],
            "validate --values v.yaml --format json",
        ),
        case(
            "validate manifests",
            &[
                (
                    "m.yaml",
                    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: x\nspec:\n  replicas: lots\n",
                ),
                ("e.yaml", "# nothing\n"),
            ],
            "validate --manifests m.yaml --manifests e.yaml --format json",
        ),
        case(
            "advise",
            &[],
            &format!(
                "advise --metrics {advise}/metrics/node-a.txt {advise}/metrics/node-b.txt {advise}/metrics/node-c.txt --cluster {advise}/cluster.yaml --values {advise}/values --format json"
            ),
        ),
        case(
            "advise, one node",
            &[],
            &format!(
                "advise --metrics {advise}/metrics/node-a.txt --cluster {advise}/cluster.yaml --values {advise}/values --max 21Gi --format json"
            ),
        ),
    ]
}

/// Runs every case in its own folder (`HELM3` in the arguments is Helm 3's path); the (id,
/// hint, folder) of every finding.
fn collect(root: &Path, helm3: &Path) -> Vec<(String, Option<String>, std::path::PathBuf)> {
    let mut found = Vec::new();
    for (i, c) in cases().into_iter().enumerate() {
        let dir = root.join(format!("case-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("values.yaml"), VALUES).unwrap();
        for (name, text) in &c.files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let helm3 = helm3.to_str().unwrap();
        let args: Vec<&str> = c
            .args
            .iter()
            .map(|a| if a == "HELM3" { helm3 } else { a.as_str() })
            .collect();
        let out = run_in(Some(&dir), &args, b"");
        assert_ne!(code(&out), 101, "{}: {}", c.name, stderr(&out));
        let f = findings_of(&out);
        assert!(!f.is_empty(), "{}: no finding\n{}", c.name, stderr(&out));
        if std::env::var_os("PVC_RESIZE_HINTS_DUMP").is_some() {
            for (id, hint) in &f {
                eprintln!("{:<40} {id:<28} {hint:?}", c.name);
            }
        }
        found.extend(f.into_iter().map(|(id, hint)| (id, hint, dir.clone())));
    }
    found
}

#[test]
fn every_hint_is_prose_or_commands_the_real_tools_parse() {
    let Some(j) = judges_here() else { return };
    let root = tempfile::tempdir().unwrap();
    let classes: BTreeMap<&str, Class> = CLASSES.iter().copied().collect();
    let mut problems = Vec::new();
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (id, hint, dir) in collect(root.path(), &j.helms[0]) {
        let class = if id == ERROR {
            Some(&Commands)
        } else {
            classes.get(id.as_str())
        };
        let Some(&class) = class else {
            problems.push(format!(
                "{id}: not in CLASSES (and maybe not in finding::IDS)"
            ));
            continue;
        };
        let Some(hint) = hint else {
            continue;
        };
        let (quoted, prose) = commands_in(&hint);
        if !seen.insert((id.clone(), hint.clone())) {
            continue;
        }
        if !prose.is_empty() {
            problems.push(format!(
                "{id}: a command outside backticks ({prose:?}): {hint}"
            ));
        }
        match class {
            NoHint => problems.push(format!("{id}: classed NoHint, has a hint: {hint}")),
            Prose if !quoted.is_empty() => {
                problems.push(format!("{id}: classed Prose, has commands {quoted:?}"))
            }
            _ => {}
        }
        for command in quoted {
            let line = fill(&command, &dir);
            match parse_problem(&line, &dir, &j) {
                Ok(()) => *checked.entry(id.clone()).or_default() += 1,
                Err(e) => problems.push(format!("{id}: `{line}` does not parse: {e}")),
            }
        }
    }
    for (id, class) in CLASSES {
        if *class == Commands && !checked.contains_key(*id) && !UNSHOWN.iter().any(|(u, _)| u == id)
        {
            problems.push(format!(
                "{id}: classed Commands, but no case in tests/hints.rs shows a command of it"
            ));
        }
    }
    let _ = writeln_stderr(&format!(
        "hints: {} commands of {} ids parsed",
        checked.values().sum::<usize>(),
        checked.len()
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn writeln_stderr(s: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(std::io::stderr(), "{s}")
}
