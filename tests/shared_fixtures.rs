//! The ground truth: real `helm template` renders of the PostHog and Bitnami Kafka charts, before
//! and after a resize. `post-render(rendered-X, 50Gi)` must equal Helm's own render of the resized
//! values, byte for byte; the values edits must give Helm the same tree as the resized values.

mod common;
use common::*;

fn post_render_case(dir: &str, before: &str, after: &str, extra: &[&str]) {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let input = read(&root.join(dir).join(before));
    let expected = read(&root.join(dir).join(after));
    let mut args = vec!["post-render", "--size", "50Gi"];
    args.extend_from_slice(extra);
    let out = run(&args, input.as_bytes());
    assert_eq!(code(&out), 0, "{dir}/{before}: {}", stderr(&out));
    let got = stdout(&out);
    assert!(
        got == expected,
        "{dir}/{before} + 50Gi differs from {after}:\n{}",
        pvc_resize::output::diff::unified_diff(&expected, &got, after)
    );
}

#[test]
fn posthog_default_to_resized() {
    post_render_case(
        "posthog",
        "rendered-default.yaml",
        "rendered-resized.yaml",
        &[],
    );
}

#[test]
fn posthog_helm3_format() {
    post_render_case(
        "posthog",
        "rendered-default.helm3-format.yaml",
        "rendered-resized.helm3-format.yaml",
        &[],
    );
}

#[test]
fn posthog_three_replicas() {
    post_render_case(
        "posthog",
        "rendered-3-replicas.yaml",
        "rendered-3-replicas-resized.yaml",
        &[],
    );
    post_render_case(
        "posthog",
        "rendered-3-replicas.helm3-format.yaml",
        "rendered-3-replicas-resized.helm3-format.yaml",
        &[],
    );
}

#[test]
fn posthog_log_persistence_only_data_grows() {
    post_render_case(
        "posthog",
        "rendered-logpersistence.yaml",
        "rendered-logpersistence-resized.yaml",
        &[],
    );
    post_render_case(
        "posthog",
        "rendered-logpersistence.helm3-format.yaml",
        "rendered-logpersistence-resized.helm3-format.yaml",
        &["--claim", "data"],
    );
}

#[test]
fn bitnami_32_split_brokers() {
    post_render_case(
        "bitnami-kafka-32",
        "rendered-split.yaml",
        "rendered-split-resized.yaml",
        &["--statefulset", "kafka-broker"],
    );
}

#[test]
fn bitnami_32_default_controller() {
    post_render_case(
        "bitnami-kafka-32",
        "rendered-default.yaml",
        "rendered-resized.yaml",
        &[],
    );
}

#[test]
fn bitnami_14_standalone() {
    post_render_case(
        "bitnami-kafka-14",
        "rendered-default.yaml",
        "rendered-resized.yaml",
        &["--statefulset", "kafka"],
    );
}

#[test]
fn bitnami_32_split_without_a_name_is_ambiguous() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let input = read(&root.join("bitnami-kafka-32/rendered-split.yaml"));
    let out = run(&["post-render", "--size", "50Gi"], input.as_bytes());
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("kafka-broker, kafka-controller"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn running_twice_is_idempotent() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let resized = read(&root.join("posthog/rendered-resized.yaml"));
    let out = run(&["post-render", "--size", "51200Mi"], resized.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), resized, "equal by value: left as it is");
    assert!(stderr(&out).contains("already"), "{}", stderr(&out));
}

#[test]
fn posthog_chart_values_change_exactly_one_line() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let src = root.join("posthog/chart/posthog-30.46.0.values.yaml");
    let original = read(&src);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("values.yaml");
    std::fs::write(&copy, &original).unwrap();
    let copy_s = copy.to_str().unwrap();

    let out = run(&["values", copy_s, "--size", "50Gi"], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let diff = stdout(&out);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---"))
        .collect();
    assert_eq!(
        changed,
        vec!["-    size: 20Gi", "+    size: 50Gi"],
        "{diff}"
    );

    let out = run(&["values", copy_s, "--size", "50Gi", "--write"], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let written = read(&copy);
    let before: Vec<&str> = original.lines().collect();
    let after: Vec<&str> = written.lines().collect();
    assert_eq!(before.len(), after.len());
    let differing: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != after[i])
        .collect();
    assert_eq!(differing.len(), 1);
    let t = tree(&written);
    assert_eq!(t["kafka"]["persistence"]["size"], "50Gi");

    // Idempotent: a second run changes nothing and --check agrees.
    let out = run(&["values", copy_s, "--size", "50Gi", "--check"], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = run(&["values", copy_s, "--size", "60Gi", "--check"], b"");
    assert_eq!(code(&out), 1);
    assert_eq!(read(&copy), written, "--check never writes");
}

#[test]
fn override_files_get_the_keys_helm_would_read() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for (dir, before, after, path) in [
        (
            "posthog",
            "values-default.yaml",
            "values-resized.yaml",
            "kafka.persistence.size",
        ),
        (
            "posthog",
            "values-3-replicas.yaml",
            "values-3-replicas-resized.yaml",
            "kafka.persistence.size",
        ),
        (
            "posthog",
            "values-logpersistence.yaml",
            "values-logpersistence-resized.yaml",
            "kafka.persistence.size",
        ),
        (
            "bitnami-kafka-32",
            "values-split.yaml",
            "values-split-resized.yaml",
            "broker.persistence.size",
        ),
        (
            "bitnami-kafka-14",
            "values-default.yaml",
            "values-resized.yaml",
            "persistence.size",
        ),
    ] {
        let dirp = tempfile::tempdir().unwrap();
        let copy = dirp.path().join("v.yaml");
        std::fs::write(&copy, read(&root.join(dir).join(before))).unwrap();
        let out = run(
            &[
                "values",
                copy.to_str().unwrap(),
                "--size",
                "50Gi",
                "--path",
                path,
                "--write",
            ],
            b"",
        );
        assert_eq!(code(&out), 0, "{dir}/{before}: {}", stderr(&out));
        let got = tree(&read(&copy));
        let want = tree(&read(&root.join(dir).join(after)));
        assert_eq!(got, want, "{dir}/{before} edited vs {after}");
    }
}
