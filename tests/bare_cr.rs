//! Issue 21, item 11: a manifest stream with bare-CR line breaks. `kubectl kustomize` (as Helm)
//! reads CR as a line break and sees the objects; every command that reads a stream says so
//! and exits 2, rather than calling the stream empty or reading one long line.

mod common;
use common::*;

const STREAMS: &[&str] = &[
    "# Source: a\rapiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: a\r",
    "---\rapiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: a\r---\rapiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: b\r",
    "apiVersion: apps/v1\rkind: StatefulSet\rmetadata:\r  name: kafka\rspec:\r  volumeClaimTemplates:\r  - metadata:\r      name: data\r    spec:\r      resources:\r        requests:\r          storage: 20Gi\r",
];

#[test]
fn bare_cr_streams_are_refused_by_every_reader_not_called_empty() {
    let dir = tempfile::tempdir().unwrap();
    let kubectl = program("kubectl");
    for (i, text) in STREAMS.iter().enumerate() {
        let f = dir.path().join(format!("s{i}.yaml"));
        std::fs::write(&f, text).unwrap();
        let p = f.to_str().unwrap();
        if let Some(k) = &kubectl {
            // kubectl kustomize reads the stream as Helm would and prints its objects.
            let kz = dir.path().join(format!("k{i}"));
            std::fs::create_dir_all(&kz).unwrap();
            std::fs::write(kz.join("s.yaml"), text).unwrap();
            std::fs::write(kz.join("kustomization.yaml"), "resources:\n- s.yaml\n").unwrap();
            let out = std::process::Command::new(k)
                .arg("kustomize")
                .arg(&kz)
                .output()
                .unwrap();
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("kind:"),
                "kubectl kustomize sees objects in stream {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let runs: Vec<(&str, std::process::Output)> = vec![
            ("validate", run(&["validate", "--manifests", p], b"")),
            (
                "post-render",
                run(
                    &["post-render", "--size", "30Gi", "--statefulset", "kafka"],
                    text.as_bytes(),
                ),
            ),
            (
                "check",
                run(
                    &["check", "--base-manifests", p, "--head-manifests", p],
                    b"",
                ),
            ),
            (
                "plan",
                run(
                    &[
                        "plan",
                        "--release",
                        "r",
                        "--namespace",
                        "n",
                        "--size",
                        "30Gi",
                        "--manifests",
                        p,
                    ],
                    b"",
                ),
            ),
        ];
        for (cmd, out) in runs {
            let err = stderr(&out);
            assert_eq!(code(&out), 2, "{cmd} on stream {i}: {err}");
            assert!(
                err.contains("bare CR line break"),
                "{cmd} on stream {i}: {err}"
            );
            assert!(
                stdout(&out).is_empty(),
                "{cmd} on stream {i} wrote to stdout"
            );
        }
    }
}
