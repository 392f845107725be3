//! `plan --pvc`: PersistentVolumeClaims a chart renders itself (a Deployment's disk), on the
//! project's own chart `fixtures/charts/webdisk` (a Deployment, its `state` PVC sized by
//! `persistence.size` through a helper, a `scratch` PVC sized by `scratch.size`). Judged by the real
//! Helm 3 and 4: the plan's values path, proven on the chart, written by `pvc-resize values`, makes
//! Helm render exactly that PVC at the new size and every other claim as before.

mod common;

use pvc_resize::charts::prove::{self, ClaimId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SIZE: &str = "20Gi";

fn chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/charts/webdisk")
}

fn claims(text: &str) -> BTreeMap<ClaimId, String> {
    prove::all_claims(&prove::read(text).unwrap())
}

fn pvc(name: &str) -> ClaimId {
    ClaimId {
        object: format!("PersistentVolumeClaim/{name}"),
        claim: name.to_owned(),
    }
}

/// The render, the values file and a plan runner for one Helm.
struct Case {
    dir: tempfile::TempDir,
    helm: PathBuf,
}

impl Case {
    fn new(helm: PathBuf) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("values.yaml"), "image:\n  tag: \"1.36\"\n").unwrap();
        let case = Case { dir, helm };
        let render = case.render(&case.values());
        std::fs::write(case.dir.path().join("render.yaml"), render).unwrap();
        case
    }

    fn values(&self) -> PathBuf {
        self.dir.path().join("values.yaml")
    }

    fn render(&self, values: &Path) -> String {
        common::helm_template(&self.helm, "web", &chart(), "web", values, &[])
    }

    fn plan(&self, extra: &[&str]) -> std::process::Output {
        let render = self.dir.path().join("render.yaml");
        let values = self.values();
        let mut argv = common::plan_argv("web", SIZE, render.to_str().unwrap(), &[]);
        argv.extend(["--values", values.to_str().unwrap(), "--kube-context", "k"]);
        argv.extend(extra);
        common::run(&argv, b"")
    }

    fn with_chart(&self, extra: &[&str]) -> std::process::Output {
        let chart = chart();
        let helm = format!("--helm={}", self.helm.display());
        let chart = format!("--chart={}", chart.display());
        self.plan(&[&[chart.as_str(), helm.as_str()], extra].concat())
    }

    /// Runs the plan's `values` commands on a copy of the values file; Helm's render of the copy
    /// must have exactly `grown` at SIZE and every other claim as before.
    fn judge(&self, plan: &serde_json::Value, grown: &[&str]) {
        let copy = self.dir.path().join("judged.yaml");
        std::fs::copy(self.values(), &copy).unwrap();
        let values_step = plan["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "values")
            .unwrap();
        for c in values_step["commands"].as_array().unwrap() {
            let mut argv: Vec<String> = c["argv"].as_array().unwrap()[1..]
                .iter()
                .map(|w| w.as_str().unwrap().to_owned())
                .collect();
            *argv.last_mut().unwrap() = copy.display().to_string();
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let o = common::run(&argv, b"");
            assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
        }
        let before = claims(&common::read(&self.dir.path().join("render.yaml")));
        let after = claims(&self.render(&copy));
        assert_eq!(before.len(), after.len());
        for (c, size) in &after {
            if grown.iter().any(|g| pvc(g) == *c) {
                assert_eq!(size, SIZE, "{c}");
            } else {
                assert_eq!(Some(size), before.get(c), "{c} changed");
            }
        }
    }
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&common::stdout(o)).unwrap()
}

fn ids(plan: &serde_json::Value) -> Vec<String> {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

fn proven_and_judged(helm: PathBuf) {
    let case = Case::new(helm);
    // One PVC: its path is read through the chart's helper and proven by Helm.
    let o = case.with_chart(&["--pvc", "web-webdisk-state", "--format", "json"]);
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    let plan = json(&o);
    let errors = common::plan_schema_errors(&plan);
    assert!(errors.is_empty(), "{errors:#?}");
    let t = &plan["targets"][0];
    assert_eq!(t["pvc"], "web-webdisk-state");
    assert!(t.get("statefulset").is_none(), "{t}");
    assert_eq!(t["values_path"], "persistence.size");
    assert_eq!(t["workload"], "deployment/web-webdisk");
    assert_eq!(t["mount_path"], "/var/lib/webdisk");
    assert_eq!(t["container"], "web");
    assert!(ids(&plan).contains(&"values-path-proven".to_owned()));
    let commands: Vec<String> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["commands"].as_array().unwrap())
        .map(|c| {
            let words: Vec<&str> = c["argv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap())
                .collect();
            words.join(" ")
        })
        .collect();
    assert!(
        !commands
            .iter()
            .any(|c| c.contains(" delete ") || c.contains(" patch ")),
        "no orphan delete, no PVC patch: {commands:#?}"
    );
    assert!(
        commands
            .iter()
            .any(|c| c.contains("exec deployment/web-webdisk -c web -- df -Pk /var/lib/webdisk")),
        "{commands:#?}"
    );
    case.judge(&plan, &["web-webdisk-state"]);

    // Both PVCs by a glob: two paths, one values edit.
    let o = case.with_chart(&["--pvc", "web-webdisk-*", "--format", "json"]);
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    let plan = json(&o);
    assert_eq!(
        plan["values"]["paths"],
        serde_json::json!(["persistence.size", "scratch.size"])
    );
    case.judge(&plan, &["web-webdisk-state", "web-webdisk-scratch"]);

    // A path the chart reads for the other PVC: refused, naming the proven one.
    let o = case.with_chart(&["--pvc", "web-webdisk-state", "--path", "scratch.size"]);
    assert_eq!(common::code(&o), 1, "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("[values-path-not-read] --path scratch.size, but the chart sizes PersistentVolumeClaim web-webdisk-state by persistence.size"),
        "{}",
        common::stdout(&o)
    );
}

#[test]
fn a_pvc_the_chart_renders_is_proven_and_judged_helm3() {
    let Some(helm) = common::helm(3) else { return };
    proven_and_judged(helm);
}

#[test]
fn a_pvc_the_chart_renders_is_proven_and_judged_helm4() {
    let Some(helm) = common::helm(4) else { return };
    proven_and_judged(helm);
}

/// Without the chart, no path is guessed; a name that matches nothing lists the render's PVCs; the
/// formats that write claim-template steps refuse; text, markdown and the script name the PVC.
#[test]
fn formats_and_refusals() {
    let Some(helm) = common::helm(3) else { return };
    let case = Case::new(helm);
    let o = case.plan(&["--pvc", "web-webdisk-state"]);
    assert_eq!(common::code(&o), 1, "{}", common::stderr(&o));
    assert!(
        common::stdout(&o)
            .contains("[values-path-unknown] PersistentVolumeClaim web-webdisk-state"),
        "{}",
        common::stdout(&o)
    );
    let o = case.plan(&["--pvc", "nothing-*"]);
    assert_eq!(common::code(&o), 2);
    assert!(
        common::stderr(&o)
            .contains("pass --pvc with one of: web-webdisk-state, web-webdisk-scratch"),
        "{}",
        common::stderr(&o)
    );
    for format in ["flux", "argocd"] {
        let o = case.with_chart(&["--pvc", "web-webdisk-state", "--format", format]);
        assert_eq!(common::code(&o), 2, "{format}");
        assert!(common::stderr(&o).contains("--pvc targets need none of them"));
    }
    let o = case.with_chart(&["--pvc", "web-webdisk-state", "--format", "markdown"]);
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    assert!(common::stdout(&o).contains("| `PersistentVolumeClaim web-webdisk-state` |"));
    let o = case.with_chart(&["--pvc", "web-webdisk-state", "--format", "script"]);
    assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    let script = common::stdout(&o);
    assert!(
        script.contains("PLAIN_PVCS=('web-webdisk-state')"),
        "{script}"
    );
    assert!(script.contains("STATEFULSETS=()"), "{script}");
    assert!(
        script.contains("STEPS=('preflight' 'values' 'replace-statefulsets' 'verify')"),
        "{script}"
    );
    if let Some(sc) = common::program("shellcheck") {
        let path = case.dir.path().join("resize.sh");
        std::fs::write(&path, &script).unwrap();
        let out = std::process::Command::new(sc).arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// `plan --chart local/webdisk`: a chart reference that Helm pulls (not a folder), pulled at the
/// render's chart version, read and proven as a local chart is. A reference Helm can't pull is
/// said on stderr, and the plan blocks for want of a proven path.
fn pulled_from_a_repository(helm: PathBuf) {
    let case = Case::new(helm.clone());
    let package = |served: &Path| {
        common::output_of(
            std::process::Command::new(&helm)
                .arg("package")
                .arg(chart())
                .arg("--destination")
                .arg(served),
        );
    };
    let Some(repo) = common::ChartRepository::serve(&helm, case.dir.path(), "local", package)
    else {
        return;
    };
    let render = case.dir.path().join("render.yaml");
    let values = case.values();
    let plan = |chart: &str| {
        let mut argv = common::plan_argv("web", SIZE, render.to_str().unwrap(), &[]);
        let helm_flag = format!("--helm={}", helm.display());
        argv.extend(["--values", values.to_str().unwrap(), "--kube-context", "k"]);
        argv.extend([
            "--pvc",
            "web-webdisk-state",
            "--format",
            "json",
            "--chart",
            chart,
        ]);
        argv.push(&helm_flag);
        std::process::Command::new(common::bin())
            .args(&argv)
            .envs(repo.env.clone())
            .output()
            .unwrap()
    };
    let o = plan("local/webdisk");
    let err = common::stderr(&o);
    assert_eq!(common::code(&o), 0, "{err}");
    assert!(err.contains("pulling local/webdisk 0.3.0 with"), "{err}");
    let plan_json = json(&o);
    assert_eq!(plan_json["targets"][0]["values_path"], "persistence.size");
    assert!(ids(&plan_json).contains(&"values-path-proven".to_owned()));
    let o = plan("local/nothing");
    let err = common::stderr(&o);
    assert_eq!(common::code(&o), 1, "{err}");
    assert!(
        err.contains("the values paths of --chart local/nothing are not proven"),
        "{err}"
    );
    assert!(ids(&json(&o)).contains(&"values-path-unknown".to_owned()));
    case.judge(&plan_json, &["web-webdisk-state"]);
}

#[test]
fn a_chart_helm_pulls_is_read_and_proven_helm3() {
    let Some(helm) = common::helm(3) else { return };
    pulled_from_a_repository(helm);
}

#[test]
fn a_chart_helm_pulls_is_read_and_proven_helm4() {
    let Some(helm) = common::helm(4) else { return };
    pulled_from_a_repository(helm);
}
