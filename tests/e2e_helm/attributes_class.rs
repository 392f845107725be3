//! `post-render --volume-attributes-class` under the real Helm 3, 4.1 and 4.2, on every case of
//! the shared charts: the stream is the one `--size` alone gives, with only the target claim
//! templates naming the class; the changed StatefulSets pass Kubernetes' strict schema
//! (kubernetes-validate, when python has it).

use super::*;
use serde_json::Value;

/// The documents of a stream as data (empty documents dropped), clock-free.
fn documents(stream: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(&without_clock(stream))
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// `docs` with `class` set on the claim template `data` of the StatefulSets `targets`.
fn with_class(mut docs: Vec<Value>, targets: &[String], class: &str) -> Vec<Value> {
    for d in &mut docs {
        if d["kind"] != "StatefulSet" || !targets.iter().any(|t| d["metadata"]["name"] == *t) {
            continue;
        }
        for t in d["spec"]["volumeClaimTemplates"].as_array_mut().unwrap() {
            if t["metadata"]["name"] == "data" {
                t["spec"]["volumeAttributesClassName"] = class.into();
            }
        }
    }
    docs
}

/// The StatefulSets the run reported changing, from its stderr or its log.
fn reported(said: &str) -> Vec<String> {
    said.lines()
        .filter(|l| l.contains("volumeAttributesClassName"))
        .filter_map(|l| l.split("StatefulSet ").nth(1)?.split(' ').next())
        .map(str::to_owned)
        .collect()
}

/// Kubernetes' strict schema (kubernetes-validate, python's YAML 1.1 reader as go-yaml) accepts
/// every document of the raw stream that names a VolumeAttributesClass.
fn strict_schema_accepts(stream: &str) {
    let ok = Command::new("python3")
        .args(["-c", "import kubernetes_validate"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("python3 with kubernetes-validate");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for (i, doc) in stream.split("\n---").enumerate() {
        if !doc.contains("volumeAttributesClassName:") {
            continue;
        }
        seen += 1;
        let file = dir.path().join(format!("{i}.yaml"));
        std::fs::write(&file, doc.trim_start_matches("---")).unwrap();
        let out = Command::new("kubernetes-validate")
            .args([
                "-k",
                "1.34.0",
                "--strict",
                "--quiet",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }
    assert!(seen > 0, "no document names a class");
}

#[test]
fn helm3_volume_attributes_class_is_the_size_only_render_plus_the_class() {
    let (Some(root), Some(helm)) = (shared_fixtures(), Helm::new(3)) else {
        return;
    };
    each_case(|c| {
        let run = |extra: &[&str]| {
            let mut args = c.helm_args(&root, &["template"], c.original(&root));
            args.extend(["--post-renderer".into(), common::bin().into()]);
            let mut pr = vec!["post-render", "--size", "50Gi", "--log"];
            let log = helm.path(&format!("{}-{}.log", c.dir, c.values));
            pr.push(log.to_str().unwrap());
            pr.extend(c.select);
            pr.extend(extra);
            args.extend(post_renderer_args(&pr));
            let out = helm.ok(&args);
            (out, std::fs::read_to_string(&log).unwrap_or_default())
        };
        let (sized, _) = run(&[]);
        let (got, log) = run(&["--volume-attributes-class", "io2-fast"]);
        let targets = reported(&log);
        assert!(!targets.is_empty(), "{}: {log}", c.name());
        strict_schema_accepts(&got);
        let got = documents(&got);
        assert_eq!(
            got,
            with_class(documents(&sized), &targets, "io2-fast"),
            "{}",
            c.name()
        );
    });
}

/// The documents of `got` that differ from `base` (the two streams hold the same documents).
fn changed(base: &[Value], got: &[Value]) -> Vec<String> {
    assert_eq!(base.len(), got.len());
    base.iter()
        .zip(got)
        .filter(|(a, b)| a != b)
        .filter_map(|(_, b)| b["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn helm4_volume_attributes_class_is_the_size_only_render_plus_the_class() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for helm in Helm::all4() {
        helm.install_pvc_resize();
        helm.install_noop();
        each_case(|c| {
            let run = |plugin: &str, extra: &[&str]| {
                let mut args = c.helm_args(&root, &["template"], c.original(&root));
                args.extend(["--post-renderer".into(), plugin.into()]);
                let mut pr: Vec<&str> = extra.to_vec();
                if plugin != "noop" {
                    pr.extend(c.select);
                }
                args.extend(post_renderer_args(&pr));
                let out = helm.ok(&args);
                if extra.contains(&"--volume-attributes-class") {
                    strict_schema_accepts(&out);
                }
                documents(&out)
            };
            let class = ["--volume-attributes-class", "io2-fast"];
            // Alone: Helm's own stream (a no-op plugin's) plus the class.
            let (plain, alone) = (run("noop", &[]), run("pvc-resize", &class));
            let targets = changed(&plain, &alone);
            assert!(!targets.is_empty(), "{} {}", helm.name, c.name());
            assert_eq!(
                alone,
                with_class(plain, &targets, "io2-fast"),
                "{}",
                c.name()
            );
            // With --size: the size-only stream plus the class, on the same StatefulSets.
            let sized = run("pvc-resize", &["--size", "50Gi"]);
            let both = run("pvc-resize", &["--size", "50Gi", class[0], class[1]]);
            assert_eq!(
                both,
                with_class(sized, &targets, "io2-fast"),
                "{}",
                c.name()
            );
        });
    }
}
