//! `post-render --claim-typemeta` under the real Helm 3: every claim template of the real PostHog
//! chart gets `apiVersion`/`kind`, nothing else changes, and `check` on the two renders finds no
//! change Kubernetes would refuse.

mod common;
use common::*;

#[test]
fn helm3_post_render_adds_claim_typemeta_and_nothing_else() {
    let (Some(fixtures), Some(helm)) = (shared_fixtures(), helm(3)) else {
        return;
    };
    let chart = fixtures.join("posthog/chart/posthog-30.46.0.tgz");
    let values = fixtures.join("posthog/values-default.yaml");
    let bin = common::bin();
    let plain = helm_template(&helm, "posthog", &chart, "posthog", &values, &[]);
    let typed = helm_template(
        &helm,
        "posthog",
        &chart,
        "posthog",
        &values,
        &[
            "--post-renderer",
            bin,
            "--post-renderer-args",
            "post-render",
        ]
        .into_iter()
        .chain(["--post-renderer-args", "--claim-typemeta"])
        .collect::<Vec<_>>(),
    );
    assert_eq!(
        typed
            .matches("    - apiVersion: v1\n      kind: PersistentVolumeClaim\n")
            .count(),
        4,
        "kafka, postgresql, redis, zookeeper"
    );
    // Only the inserted lines differ (the chart names its hook Jobs after the clock:
    // `...-2026-11-26-12-47-03`; two renders may straddle a second).
    let clock = |l: &str| {
        let tail: Vec<u8> = l.trim_end().bytes().rev().take(19).collect();
        tail.len() == 19
            && tail.iter().enumerate().all(|(i, b)| {
                if i % 3 == 2 && i < 15 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    let clockless = |s: &str| -> String {
        s.lines()
            .filter(|l| !clock(l))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let removed = typed.replace(
        "    - apiVersion: v1\n      kind: PersistentVolumeClaim\n      metadata:",
        "    - metadata:",
    );
    assert_eq!(clockless(&removed), clockless(&plain));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.yaml"), &plain).unwrap();
    std::fs::write(dir.path().join("new.yaml"), &typed).unwrap();
    let o = run_in(
        Some(dir.path()),
        &[
            "check",
            "--base-manifests",
            "old.yaml",
            "--head-manifests",
            "new.yaml",
            "--strict",
        ],
        b"",
    );
    assert_eq!((code(&o), stdout(&o)), (0, String::new()), "{}", stderr(&o));

    // A chart that writes them already (Bitnami Kafka 32) comes out byte for byte.
    let k32 = read(&fixtures.join("bitnami-kafka-32/rendered-split.yaml"));
    let o = run(&["post-render", "--claim-typemeta"], k32.as_bytes());
    assert_eq!((code(&o), stdout(&o)), (0, k32));
}

/// A StatefulSet whose `kind` is spelt with an escape (`"State\x66ulSet"`, a StatefulSet to the
/// API server) gets the claim templates' apiVersion/kind too: the document prefilter decodes
/// escapes (`stream::holds_any`). It used to be skipped, and the read-back check then failed
/// with an internal error.
#[test]
fn claim_typemeta_reaches_a_kind_spelt_with_escapes() {
    let doc = "apiVersion: apps/v1\nkind: \"State\\x66ulSet\"\nmetadata:\n  name: demo-kafka\n\
               spec:\n  serviceName: demo-kafka\n  volumeClaimTemplates:\n    - metadata:\n        \
               name: data\n      spec:\n        resources:\n          requests:\n            \
               storage: 8Gi\n";
    let o = run(&["post-render", "--claim-typemeta"], doc.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = tree(&stdout(&o));
    assert_eq!(out["kind"], "StatefulSet");
    let claim = &out["spec"]["volumeClaimTemplates"][0];
    assert_eq!(
        (&claim["apiVersion"], &claim["kind"]),
        (&"v1".into(), &"PersistentVolumeClaim".into()),
        "{}",
        stdout(&o)
    );
}
