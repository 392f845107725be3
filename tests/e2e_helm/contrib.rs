//! contrib/: each example is read as YAML and its command lines run with the real tools that
//! exist here (helm 3 and 4, kubectl, cargo). helmfile and Argo CD don't: the `helm` command line
//! each of them builds from the file is run instead.

use super::*;
use serde_json::Value;

fn contrib(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(rel)
}

/// A folder whose `helm` is the given real Helm and whose `pvc-resize` is the tested binary,
/// put first on PATH: commands run exactly as written.
pub fn shims(helm: &Helm) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&helm.bin, dir.path().join("helm")).unwrap();
    std::os::unix::fs::symlink(common::bin(), dir.path().join("pvc-resize")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

#[test]
fn github_workflow_installs_from_the_checked_out_source() {
    let text = read(&contrib("github-workflow.yml"));
    assert!(
        !text.contains("OWNER") && !text.contains("--git "),
        "{text}"
    );
    let wf = tree(&text);
    let steps = wf["jobs"]["check"]["steps"].as_array().unwrap();
    let install = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.starts_with("cargo install"))
        })
        .expect("an install step");
    let run = install["run"].as_str().unwrap();
    assert_eq!(run, "cargo install --locked --path tools/pvc-resize");
    // The source vendored at tools/pvc-resize, as the comment says: every file the cache key
    // hashes exists, and `--locked` holds (Cargo.lock matches Cargo.toml).
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir(repo.path().join("tools")).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_MANIFEST_DIR"),
        repo.path().join("tools/pvc-resize"),
    )
    .unwrap();
    let cache = steps.iter().find(|s| s["id"] == "cache").unwrap();
    let key = cache["with"]["key"].as_str().unwrap();
    for pattern in key.split('\'').filter(|p| p.starts_with("tools/")) {
        let base = pattern.trim_end_matches("/**");
        assert!(repo.path().join(base).exists(), "{pattern}");
    }
    assert_eq!(cache["with"]["path"], "~/.cargo/bin/pvc-resize");
    let Some(cargo) = program("cargo") else {
        return;
    };
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--locked",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ])
        .args(["--manifest-path", "tools/pvc-resize/Cargo.toml"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = &meta["packages"][0]["targets"];
    assert!(
        targets
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "pvc-resize" && t["kind"][0] == "bin"),
        "{targets}"
    );
}

/// The `helm template` helmfile runs for a release (helmfile's own flag order).
fn helmfile_template(release: &Value, chart: &Path) -> Vec<String> {
    let mut a = vec![
        "template".to_owned(),
        release["name"].as_str().unwrap().into(),
        chart.to_str().unwrap().into(),
        "--namespace".into(),
        release["namespace"].as_str().unwrap().into(),
    ];
    for v in release["values"].as_array().unwrap() {
        a.extend(["--values".into(), v.as_str().unwrap().into()]);
    }
    a.extend([
        "--post-renderer".into(),
        release["postRenderer"].as_str().unwrap().into(),
    ]);
    for arg in release["postRendererArgs"].as_array().unwrap() {
        a.extend(["--post-renderer-args".into(), arg.as_str().unwrap().into()]);
    }
    a
}

/// Runs helmfile's command for the PostHog release in a folder holding `values.yaml` (the
/// fixtures' default values); `posthog/posthog` version 30.46.0 is the fixtures' tarball.
fn run_helmfile(helm: &Helm, file: &str, root: &Path) -> String {
    let hf = tree(&read(&contrib(file)));
    let release = &hf["releases"][0];
    assert_eq!(release["chart"], "posthog/posthog");
    assert_eq!(release["version"], "30.46.0");
    let chart = root.join("posthog/chart/posthog-30.46.0.tgz");
    let work = tempfile::tempdir().unwrap();
    std::fs::copy(
        root.join("posthog/values-default.yaml"),
        work.path().join("values.yaml"),
    )
    .unwrap();
    let (_shims, path) = shims(helm);
    let out = helm
        .cmd()
        .args(helmfile_template(release, &chart))
        .current_dir(work.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{file}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn helmfile_helm3_example() {
    let (Some(root), Some(helm)) = (shared_fixtures(), Helm::new(3)) else {
        return;
    };
    let got = run_helmfile(&helm, "helmfile/helmfile-helm3.yaml", &root);
    let c = &CASES[0];
    let expected = helm.ok(&c.helm_args(&root, &["template"], c.resized(&root)));
    assert_same("helmfile (Helm 3)", &expected, &got);
}

#[test]
fn helmfile_helm4_example() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for helm in Helm::all4() {
        helm.install_pvc_resize();
        helm.install_noop();
        let got = run_helmfile(&helm, "helmfile/helmfile-helm4.yaml", &root);
        let c = &CASES[0];
        let mut noop = c.helm_args(&root, &["template"], c.resized(&root));
        noop.extend(["--post-renderer".into(), "noop".into()]);
        let what = format!("helmfile ({})", helm.name);
        assert_same(&what, &helm.ok(&noop), &got);
    }
}

/// The CMP's `generate` script, run as Argo CD runs it: `sh -c SCRIPT` in the chart's folder
/// with the app's name and namespace and the Application's env (prefixed ARGOCD_ENV_).
#[test]
fn argocd_cmp_generate_runs_helm_template_with_the_post_renderer() {
    let (Some(root), Some(helm)) = (shared_fixtures(), Helm::new(3)) else {
        return;
    };
    let cm = tree(&read(&contrib("argocd/cmp-plugin.yaml")));
    assert_eq!(cm["kind"], "ConfigMap");
    let plugin = tree(cm["data"]["plugin.yaml"].as_str().unwrap());
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "helm-pvc-resize");
    let generate = &plugin["spec"]["generate"];
    assert_eq!(generate["command"], serde_json::json!(["sh", "-c"]));
    let script = generate["args"][0].as_str().unwrap();
    // The chart as it sits in a Git repository: unpacked, dependencies in charts/.
    let repo = tempfile::tempdir().unwrap();
    let tar = Command::new("tar")
        .arg("xzf")
        .arg(root.join("posthog/chart/posthog-30.46.0.tgz"))
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(tar.success());
    let chart = repo.path().join("posthog");
    std::fs::copy(
        root.join("posthog/values-default.yaml"),
        chart.join("values-prod.yaml"),
    )
    .unwrap();
    let (_shims, path) = shims(&helm);
    let generate = |size: Option<&str>| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script])
            .current_dir(&chart)
            .env("PATH", &path)
            .env("ARGOCD_APP_NAME", "posthog")
            .env("ARGOCD_APP_NAMESPACE", "posthog")
            .env("ARGOCD_ENV_VALUES", "values-prod.yaml")
            .env("HELM_DATA_HOME", helm.path("data"))
            .env("HELM_CONFIG_HOME", helm.path("config"))
            .env("HELM_CACHE_HOME", helm.path("cache"));
        if let Some(s) = size {
            cmd.env("ARGOCD_ENV_PVC_SIZE", s);
        }
        cmd.output().unwrap()
    };
    let c = &CASES[0];
    let out = generate(Some("50Gi"));
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = helm.ok(&c.helm_args(&root, &["template"], c.resized(&root)));
    assert_same("Argo CD CMP, 50Gi", &expected, &stdout(&out));
    let out = generate(None);
    assert!(out.status.success(), "{}", stderr(&out));
    let plain = helm.ok(&c.helm_args(&root, &["template"], c.original(&root)));
    assert_same("Argo CD CMP, no size", &plain, &stdout(&out));
    // A refused shrink fails the generate step (Argo CD then shows the error; nothing syncs).
    let out = generate(Some("10Gi"));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("refusing to shrink"),
        "{}",
        stderr(&out)
    );
}

/// The sidecar patch applies to a repo-server Deployment (kubectl's strategic merge, offline).
#[test]
fn argocd_repo_server_patch_applies() {
    let Some(kubectl) = program("kubectl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let deploy = dir.path().join("repo-server.yaml");
    std::fs::write(
        &deploy,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-repo-server\n  namespace: argocd\n\
         spec:\n  selector:\n    matchLabels: {app.kubernetes.io/name: argocd-repo-server}\n  template:\n\
         \x20   metadata:\n      labels: {app.kubernetes.io/name: argocd-repo-server}\n    spec:\n\
         \x20     containers:\n        - name: argocd-repo-server\n          image: quay.io/argoproj/argocd:v3.0.0\n\
         \x20     volumes:\n        - name: var-files\n          emptyDir: {}\n        - name: plugins\n          emptyDir: {}\n",
    )
    .unwrap();
    let out = Command::new(kubectl)
        .args([
            "patch",
            "--local",
            "--type",
            "strategic",
            "-o",
            "json",
            "-f",
        ])
        .arg(&deploy)
        .arg("--patch-file")
        .arg(contrib("argocd/repo-server-patch.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spec = &d["spec"]["template"]["spec"];
    let names: Vec<&str> = spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["helm-pvc-resize", "argocd-repo-server"]);
    let volumes: Vec<&str> = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for v in ["var-files", "plugins", "cmp-helm-pvc-resize", "cmp-tmp"] {
        assert!(volumes.contains(&v), "{v}: {volumes:?}");
    }
    // The sidecar mounts the ConfigMap that cmp-plugin.yaml defines, where Argo CD reads it.
    let cm = tree(&read(&contrib("argocd/cmp-plugin.yaml")));
    let vol = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "cmp-helm-pvc-resize")
        .unwrap();
    assert_eq!(vol["configMap"]["name"], cm["metadata"]["name"]);
    let mount = &spec["containers"][0]["volumeMounts"];
    assert!(mount.as_array().unwrap().iter().any(|m| m["mountPath"]
        == "/home/argocd/cmp-server/config/plugin.yaml"
        && m["subPath"] == "plugin.yaml"));
}
