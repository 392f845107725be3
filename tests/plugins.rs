//! The shipped Helm plugin manifests follow Helm's rules (FACTS.md section 4) and call a command
//! this binary has.

mod common;
use common::*;
use serde_json::Value;

fn load(path: &str) -> Value {
    tree(&read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
    ))
}

fn strict_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

#[test]
fn helm4_postrenderer_plugin() {
    let p = load("plugin/helm4/plugin.yaml");
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    let allowed = [
        "apiVersion",
        "type",
        "name",
        "version",
        "runtime",
        "runtimeConfig",
        "sourceURL",
        "config",
    ];
    assert!(
        keys.iter().all(|k| allowed.contains(k)),
        "unknown top-level keys are errors in Helm >= 4.1: {keys:?}"
    );
    assert_eq!(p["apiVersion"], "v1");
    assert_eq!(p["type"], "postrenderer/v1");
    assert_eq!(p["runtime"], "subprocess");
    let name = p["name"].as_str().unwrap();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    assert!(strict_semver(p["version"].as_str().unwrap()));
    assert_eq!(p["version"].as_str().unwrap(), env!("CARGO_PKG_VERSION"));
    let cmd = &p["runtimeConfig"]["platformCommand"][0];
    assert_eq!(cmd["command"], "${HELM_PLUGIN_DIR}/bin/pvc-resize");
    assert_eq!(cmd["args"], serde_json::json!(["post-render"]));
    // Helm appends --post-renderer-args to the plugin's args: that must be a valid call.
    let out = run(&["post-render", "--size", "50Gi", "--help"], b"");
    assert_eq!(code(&out), 0);
}

#[test]
fn helm3_cli_plugin() {
    let p = load("plugin/helm3/plugin.yaml");
    assert_eq!(p["name"], "pvc-resize");
    assert!(
        p.get("apiVersion").is_none(),
        "a Helm 3 plugin.yaml has no apiVersion"
    );
    assert_eq!(p["version"].as_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(p["command"], "pvc-resize");
}

/// Another plugin passing its HELM_PLUGIN_DIR on (helm-diff running `helm upgrade
/// --post-renderer pvc-resize`, or a Helm 3 CLI plugin) must not switch on the Helm 4 plugin
/// channel: errors keep their exit status 2 and stderr.
#[test]
fn the_helm4_channel_is_only_for_the_binary_in_its_own_postrenderer_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("diff");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(
        other.join("plugin.yaml"),
        "apiVersion: v1\ntype: postrenderer/v1\nname: diff\n",
    )
    .unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["post-render", "--size", "0Gi"])
        .env("HELM_PLUGIN_DIR", &other)
        .env("HELM_PLUGIN_NAME", "diff")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(!other.join("post-render.log").exists());

    // The same binary inside a postrenderer/v1 folder: the error becomes a document, exit 0.
    let mine = tmp.path().join("pvc-resize");
    let out = run(&["helm-plugin", mine.to_str().unwrap()], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = std::process::Command::new(mine.join("bin/pvc-resize"))
        .args(["post-render", "--size", "0Gi"])
        .env("HELM_PLUGIN_DIR", &mine)
        .env("HELM_PLUGIN_NAME", "pvc-resize")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = stdout(&out);
    assert!(doc.starts_with("--- |\n  pvc-resize: error: "), "{doc}");
    let v: Value = serde_yaml::from_str(&doc).unwrap();
    assert!(v.is_string(), "not a manifest: {v}");
    let log = read(&mine.join("post-render.log"));
    assert!(log.contains("pvc-resize: error: "), "{log}");
}
