//! `plan --format flux`: the HelmRelease `spec.postRenderers` patch it prints, applied by the real
//! kustomize (`kubectl kustomize`) to the real render, gives the same objects with the same sizes
//! as the tool's own post-renderer. `plan --format argocd`: the steps around one sync, in order.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Every document of a YAML stream as data the way Kubernetes reads it (YAML 1.1: kustomize
/// writes `defaultMode: 0755` as 493, which is the same number), empty ones left out.
fn documents(text: &str) -> Vec<Value> {
    pvc_resize::k8s::stream::split(text)
        .into_iter()
        .filter(|c| pvc_resize::k8s::stream::has_content(&text[c.range.clone()]))
        .map(|c| {
            pvc_resize::commands::validate::parse_document(
                "stream",
                &text[c.range.clone()],
                c.range.start,
                c.line,
            )
            .unwrap()
            .0
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// `(kind, name)` → object, for comparing streams whatever their order.
fn by_identity(docs: Vec<Value>) -> std::collections::BTreeMap<(String, String), Value> {
    let mut map = std::collections::BTreeMap::new();
    for d in docs {
        let key = (
            d["kind"].as_str().unwrap_or_default().to_owned(),
            d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        assert!(map.insert(key.clone(), d).is_none(), "{key:?} twice");
    }
    map
}

/// Paths where two data trees differ (map order ignored).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                let (p, q) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                differences(p, q, format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, format!("{at}/{i}"), out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{at}: {a} vs {b}")),
    }
}

fn storage_sizes(objects: &std::collections::BTreeMap<(String, String), Value>) -> Vec<String> {
    objects
        .values()
        .filter(|o| o["kind"] == "StatefulSet")
        .flat_map(|o| {
            o["spec"]["volumeClaimTemplates"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|c| c["spec"]["resources"]["requests"]["storage"].to_string())
        .collect()
}

fn flux_against_kustomize(render: &Path, release: &str, extra: &[&str], kubectl: &Path) {
    let render_text = read(render);
    let mut args = plan_argv(
        release,
        "50Gi",
        render.to_str().unwrap(),
        &["--format", "flux"],
    );
    args.extend_from_slice(extra);
    let out = run(&args, b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let flux = stdout(&out);
    let helm_release = documents(&flux);
    assert_eq!(helm_release.len(), 1, "one YAML document: {flux}");
    assert_eq!(helm_release[0]["kind"], "HelmRelease");
    // Pinned like every kubectl command (the flux CLI acts on the current context otherwise).
    let pinned = format!("flux --context=CONTEXT --namespace={release}");
    assert!(
        flux.contains(&format!("{pinned} suspend helmrelease {release}")),
        "{flux}"
    );
    assert!(
        flux.contains(&format!("{pinned} resume helmrelease {release}")),
        "{flux}"
    );
    assert!(
        !flux.contains("flux suspend") && !flux.contains("flux get"),
        "{flux}"
    );
    assert!(flux.contains("--cascade=orphan"), "{flux}");
    let suspend = flux.find("suspend helmrelease").unwrap();
    let patch_pvc = flux.find("patch pvc").unwrap();
    let orphan = flux.find("--cascade=orphan").unwrap();
    let resume = flux.find("resume helmrelease").unwrap();
    assert!(
        suspend < patch_pvc && patch_pvc < orphan && orphan < resume,
        "{flux}"
    );

    // kustomize with the real render as the resource and the printed patches.
    let patches = &helm_release[0]["spec"]["postRenderers"][0]["kustomize"]["patches"];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rendered.yaml"), &render_text).unwrap();
    let kustomization = serde_json::json!({
        "resources": ["rendered.yaml"],
        "sortOptions": {"order": "fifo"},
        "patches": patches,
    });
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        serde_yaml::to_string(&kustomization).unwrap(),
    )
    .unwrap();
    let kustomized = output_of(Command::new(kubectl).arg("kustomize").arg(dir.path()));
    let kustomized = by_identity(documents(&kustomized));

    let mut post_render = vec!["post-render", "--size", "50Gi"];
    post_render.extend_from_slice(extra);
    let ours = run(&post_render, render_text.as_bytes());
    assert_eq!(code(&ours), 0, "{}", stderr(&ours));
    let ours = by_identity(documents(&stdout(&ours)));
    let original = by_identity(documents(&render_text));

    assert_eq!(
        kustomized.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "same objects"
    );
    assert_eq!(
        storage_sizes(&kustomized),
        storage_sizes(&ours),
        "same sizes"
    );
    assert_ne!(
        storage_sizes(&original),
        storage_sizes(&ours),
        "something grew"
    );
    assert!(storage_sizes(&ours).contains(&"\"50Gi\"".to_owned()));
    // The StatefulSets are the same data. Other objects differ only where kustomize's kyaml
    // rewrites folded scalars of the PostHog Deployments' init scripts (FACTS.md, section 4): not
    // ours to compare.
    for (key, o) in &ours {
        if key.0 == "StatefulSet" {
            let mut diffs = Vec::new();
            differences(o, &kustomized[key], String::new(), &mut diffs);
            assert!(diffs.is_empty(), "{key:?}: {diffs:?}");
        }
    }
}

#[test]
fn the_flux_patch_applied_by_kustomize_equals_the_post_render() {
    let (Some(fixtures), Some(kubectl)) = (shared_fixtures(), program("kubectl")) else {
        return;
    };
    flux_against_kustomize(
        &fixtures.join("posthog/rendered-default.yaml"),
        "posthog",
        &[],
        &kubectl,
    );
    // Bitnami Kafka 32 writes apiVersion/kind in its claim templates; the broker StatefulSet.
    flux_against_kustomize(
        &fixtures.join("bitnami-kafka-32/rendered-split.yaml"),
        "kafka",
        &["--statefulset", "kafka-broker"],
        &kubectl,
    );
    // With a VolumeAttributesClass: the patch's `add` gives what the post-renderer gives (the
    // StatefulSets compared whole), on a template without the field and on one that has it.
    flux_against_kustomize(
        &fixtures.join("posthog/rendered-default.yaml"),
        "posthog",
        &["--volume-attributes-class", "io2-fast"],
        &kubectl,
    );
    let dir = tempfile::tempdir().unwrap();
    let with_class = dir.path().join("with-class.yaml");
    let render = read(&fixtures.join("bitnami-kafka-32/rendered-split.yaml"));
    let out = run(
        &[
            "post-render",
            "--statefulset",
            "kafka-broker",
            "--volume-attributes-class",
            "slow",
        ],
        render.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(&with_class, stdout(&out)).unwrap();
    flux_against_kustomize(
        &with_class,
        "kafka",
        &[
            "--statefulset",
            "kafka-broker",
            "--volume-attributes-class",
            "io2-fast",
        ],
        &kubectl,
    );
}

#[test]
fn a_reordered_chart_fails_the_patch_instead_of_growing_the_wrong_claim() {
    let (Some(fixtures), Some(kubectl)) = (shared_fixtures(), program("kubectl")) else {
        return;
    };
    let render = fixtures.join("posthog/rendered-logpersistence.yaml");
    let out = run(
        &plan_argv(
            "posthog",
            "50Gi",
            render.to_str().unwrap(),
            &["--claim", "logs", "--format", "flux"],
        ),
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let flux = stdout(&out);
    assert!(
        flux.contains("path: /spec/volumeClaimTemplates/1/spec/resources/requests/storage"),
        "{flux}"
    );
    // The same patch against a render whose claim 1 is not `logs`: kustomize refuses it.
    let doc = &documents(&flux)[0];
    let dir = tempfile::tempdir().unwrap();
    let swapped = read(&render).replacen(
        "- metadata:\n        name: logs",
        "- metadata:\n        name: other",
        1,
    );
    std::fs::write(dir.path().join("rendered.yaml"), swapped).unwrap();
    let k = serde_json::json!({
        "resources": ["rendered.yaml"],
        "patches": doc["spec"]["postRenderers"][0]["kustomize"]["patches"],
    });
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        serde_yaml::to_string(&k).unwrap(),
    )
    .unwrap();
    let o = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!o.status.success(), "the test op must fail");
}

#[test]
fn a_blocking_plan_prints_no_patch() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let render = fixtures.join("posthog/rendered-default.yaml");
    let argv = plan_argv(
        "posthog",
        "10Gi",
        render.to_str().unwrap(),
        &["--format", "flux"],
    );
    let out = run(&argv, b"");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("BLOCKING") && text.contains("[shrink]"),
        "{text}"
    );
    assert!(documents(&text).is_empty(), "only comments: {text}");
}

#[test]
fn argocd_steps_go_around_one_sync() {
    let Some(fixtures) = shared_fixtures() else {
        return;
    };
    let render = fixtures.join("bitnami-kafka-32/rendered-split.yaml");
    let values = fixtures.join("bitnami-kafka-32/values-split.yaml");
    let values = values.to_str().unwrap();
    let edit =
        format!("pvc-resize values --size 50Gi --path broker.persistence.size --write -- {values}");
    let out = run(
        &plan_argv(
            "kafka",
            "50Gi",
            render.to_str().unwrap(),
            &[
                "--statefulset",
                "kafka-broker",
                "--values",
                values,
                "--format",
                "argocd",
            ],
        ),
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(documents(&text).is_empty(), "a runbook of comments: {text}");
    // The plan's order: the values edit (offline; pushed, not synced) before any change.
    let order: [&str; 8] = [
        "argocd app set kafka --sync-policy none",
        &edit,
        "--namespace=kafka patch pvc data-kafka-broker-0",
        "--namespace=kafka patch pvc data-kafka-broker-2",
        "--namespace=kafka delete statefulset kafka-broker --cascade=orphan",
        "argocd app sync kafka --resource apps:StatefulSet:kafka-broker",
        "argocd app set kafka --sync-policy automated",
        "--namespace=kafka exec kafka-broker-0",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|c| {
            text.find(c)
                .unwrap_or_else(|| panic!("{c:?} missing: {text}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "{order:?} out of order: {text}"
    );
    assert!(
        !text.contains("helm upgrade"),
        "Argo CD upgrades, not helm: {text}"
    );
}

/// The recipe of docs/gitops.md ("Preview the Flux patch with `kubectl kustomize`"), run by bash
/// as it is, with this pvc-resize and the real kubectl on PATH and the PostHog render as
/// rendered.yaml; and the runbooks speak to a person, not of the script or its flag.
#[test]
fn the_flux_preview_recipe_in_the_docs_runs() {
    let (Some(fixtures), Some(kubectl)) = (shared_fixtures(), program("kubectl")) else {
        return;
    };
    let doc = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/gitops.md"));
    let section = doc
        .split("### Preview the Flux patch with `kubectl kustomize`")
        .nth(1)
        .expect("the recipe's heading");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("its sh block");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures.join("posthog/rendered-default.yaml"),
        dir.path().join("rendered.yaml"),
    )
    .unwrap();
    let bin = Path::new(common::bin()).parent().unwrap();
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        kubectl.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{block}\n{}", stderr(&out));
    let preview = read(&dir.path().join("flux-preview.yaml"));
    assert!(preview.contains("storage: 50Gi"), "{}", stdout(&out));
    let render = fixtures.join("posthog/rendered-default.yaml");
    for format in ["flux", "argocd"] {
        let args = plan_argv(
            "posthog",
            "50Gi",
            render.to_str().unwrap(),
            &["--format", format],
        );
        let out = stdout(&run(&args, b""));
        for word in ["script", "--fallback-scale-to-zero"] {
            assert!(!out.contains(word), "{format}: {word}:\n{out}");
        }
    }
}
