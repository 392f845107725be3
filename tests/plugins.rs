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
