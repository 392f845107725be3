//! `check` reads each side as Helm reads it: `enabled` as the chart's `{{ if }}` sees it, merges
//! and tags as go-yaml applies them (judged by the real Helm 3 and 4), and `REV:PATH` from git as
//! a checkout gives it (symlinks followed; trees, submodules, binary blobs, links leaving the
//! repository and option-like revisions refused with exit 2).

mod common;
use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

const BASE: &str = "kafka:\n  persistence:\n    enabled: true\n    size: 20Gi\n";

/// A chart whose template says what `{{ if .Values.kafka.persistence.enabled }}` decides, with
/// the chart default `enabled: true` (as PostHog's).
fn enabled_by_helm(helm: &Path, values: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("c");
    fs::create_dir_all(chart.join("templates")).unwrap();
    fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::write(chart.join("values.yaml"), BASE).unwrap();
    fs::write(
        chart.join("templates/t.yaml"),
        "enabled: {{ if .Values.kafka.persistence.enabled }}on{{ else }}off{{ end }}\n",
    )
    .unwrap();
    let v = dir.path().join("v.yaml");
    fs::write(&v, values).unwrap();
    let out = Command::new(helm)
        .args(["template", "x"])
        .arg(&chart)
        .arg("-f")
        .arg(&v)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.contains("enabled: on")
}

#[test]
fn enabled_is_what_the_template_sees() {
    for major in [3, 4] {
        let Some(h) = helm(major) else { continue };
        for v in [
            "false",
            "0",
            "\"\"",
            "[]",
            "{}",
            "0.0",
            "null",
            "~",
            "",
            "off",
            "no",
            "\"false\"",
            "1",
            "\"no\"",
            "[0]",
        ] {
            let head = format!("kafka:\n  persistence:\n    enabled: {v}\n    size: 20Gi\n");
            let helm_on = enabled_by_helm(&h, &head);
            let out = check_values_texts(BASE, &head);
            let disable = stdout(&out).contains("[disable]");
            assert_eq!(
                disable,
                !helm_on,
                "helm {major}, enabled: {v}: helm says on={helm_on}; check:\n{}",
                stdout(&out)
            );
            assert_eq!(code(&out), i32::from(disable));
        }
    }
}

/// A shrink hidden behind a merge written after the explicit size (go-yaml applies merges in
/// document order), or behind a `!!binary` size: check sees what Helm sees.
#[test]
fn check_sees_merges_and_tags_as_helm_does() {
    let heads = [
        "small: &s {size: 10Gi}\nkafka:\n  persistence:\n    enabled: true\n    size: 20Gi\n    <<: *s\n",
        "kafka:\n  persistence:\n    enabled: true\n    size: !!binary MTBHaQ==\n",
    ];
    for head in heads {
        for major in [3, 4] {
            let Some(h) = helm(major) else { continue };
            let read = HelmOracle::new(h)
                .read_values_text(head.as_bytes())
                .unwrap();
            assert_eq!(read["kafka"]["persistence"]["size"], "10Gi", "helm {major}");
        }
        let out = check_values_texts(BASE, head);
        assert_eq!(code(&out), 1, "{}", stdout(&out));
        assert!(stdout(&out).contains("[shrink]"), "{}", stdout(&out));
        // And `values` refuses to edit through the merge, or compares the binary size as text.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.yaml");
        fs::write(&f, head).unwrap();
        let out = run(&["values", f.to_str().unwrap(), "--size", "5Gi"], b"");
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("merge key") || stderr(&out).contains("refusing to shrink"),
            "{}",
            stderr(&out)
        );
    }
}

/// Files Helm reads are not refused with a false reason: a trailing `---` or `...`, a leading
/// `---`, an empty later document (Helm 3 and 4 agree on these).
#[test]
fn check_reads_what_helm_reads() {
    for head in [
        format!("{BASE}---\n"),
        format!("{BASE}...\n"),
        format!("---\n{BASE}"),
        format!("{BASE}---\n~\n"),
    ] {
        for major in [3, 4] {
            let Some(h) = helm(major) else { continue };
            let read = HelmOracle::new(h)
                .read_values_text(head.as_bytes())
                .unwrap();
            assert_eq!(read["kafka"]["persistence"]["size"], "20Gi");
        }
        let out = check_values_texts(BASE, &head);
        assert_eq!(code(&out), 0, "{head:?}: {}", stderr(&out));
    }
    // Data in a second document: Helm 3 and Helm 4 read different values, so it is refused.
    let two = format!("{BASE}---\nkafka: {{persistence: {{size: 1Gi}}}}\n");
    if let (Some(h3), Some(h4)) = (helm(3), helm(4)) {
        let r3 = HelmOracle::new(h3)
            .read_values_text(two.as_bytes())
            .unwrap();
        let r4 = HelmOracle::new(h4)
            .read_values_text(two.as_bytes())
            .unwrap();
        assert_eq!(
            (
                r3["kafka"]["persistence"]["size"].as_str(),
                r4["kafka"]["persistence"]["size"].as_str()
            ),
            (Some("20Gi"), Some("1Gi"))
        );
    }
    let out = check_values_texts(BASE, &two);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("Helm 3 reads only the first"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn revisions_are_read_as_a_checkout_would_give_them() {
    if program("git").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    fs::create_dir_all(repo.join("env")).unwrap();
    fs::write(repo.join("env/values.yaml"), BASE).unwrap();
    std::os::unix::fs::symlink("env/values.yaml", repo.join("link.yaml")).unwrap();
    std::os::unix::fs::symlink("../../outside.yaml", repo.join("env/out.yaml")).unwrap();
    fs::write(repo.join("bin.yaml"), b"kafka:\0\x01\x02").unwrap();
    git(repo, &["add", "."]);
    git(
        repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            "160000,1111111111111111111111111111111111111111,sub",
        ],
    );
    git(
        repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ],
    );
    let head = repo.join("env/values.yaml");
    let head = head.to_str().unwrap();
    let ok = |spec: &str| {
        let out = run_in(Some(repo), &["check", "--base", spec, "--head", head], b"");
        assert_eq!(code(&out), 0, "{spec}: {}", stderr(&out));
    };
    ok("main:env/values.yaml");
    ok("main:link.yaml");
    let refused = |spec: &str, why: &str| {
        let base = format!("--base={spec}");
        let out = run_in(Some(repo), &["check", &base, "--head", head], b"");
        assert_eq!(code(&out), 2, "{spec}: {}", stdout(&out));
        assert!(stderr(&out).contains(why), "{spec}: {}", stderr(&out));
    };
    refused("main:env", "is a directory");
    refused("main:sub", "is a submodule");
    refused("main:bin.yaml", "binary");
    refused("main:env/out.yaml", "outside the repository");
    refused("main:nope.yaml", "no such file");
    refused(
        "--output=written.txt:env/values.yaml",
        "not a revision name",
    );
    assert!(
        !repo.join("written.txt").exists(),
        "git never saw the revision as an option"
    );
}
