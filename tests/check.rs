//! `check` against a real temporary git repository: each row of the classification table is a
//! commit, read back with REV:PATH, with line numbers, formats and exit codes checked.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

const BASE: &str = "# PostHog values\ncloud: private\nkafka:\n  replicaCount: 1\n  persistence:\n    enabled: true\n    size: 20Gi\n    storageClass: gp2\n    accessModes: [ReadWriteOnce]\n";

/// A repository whose first commit is BASE; then each case is committed on top of it.
fn repo() -> Option<tempfile::TempDir> {
    program("git")?;
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(dir.path().join("values.yaml"), BASE).unwrap();
    git(dir.path(), &["add", "values.yaml"]);
    git(dir.path(), &["commit", "-q", "-m", "base"]);
    Some(dir)
}

/// Commits `head` as values.yaml and runs check HEAD~1 vs HEAD; returns (exit, stdout).
fn case(dir: &Path, head: &str, extra: &[&str]) -> (i32, String) {
    std::fs::write(dir.join("values.yaml"), head).unwrap();
    git(dir, &["commit", "-q", "-am", "change", "--allow-empty"]);
    let mut args = vec![
        "check",
        "--base",
        "HEAD~1:values.yaml",
        "--head",
        "HEAD:values.yaml",
    ];
    args.extend_from_slice(extra);
    let out = run_in(Some(dir), &args, b"");
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    git(dir, &["reset", "-q", "--hard", "HEAD~1"]);
    (code(&out), stdout(&out))
}

#[test]
fn every_row_of_the_table() {
    let Some(dir) = repo() else { return };
    let d = dir.path();

    let (c, out) = case(d, &BASE.replace("size: 20Gi", "size: 50Gi"), &[]);
    assert_eq!(c, 0, "{out}");
    assert!(
        out.starts_with(
            "values.yaml:7:11: notice[grow]: kafka.persistence.size grows 20Gi -> 50Gi"
        ),
        "{out}"
    );
    assert_eq!(
        case(d, &BASE.replace("size: 20Gi", "size: 50Gi"), &["--strict"]).0,
        1
    );

    let (c, out) = case(d, &BASE.replace("size: 20Gi", "size: 10Gi"), &[]);
    assert_eq!(c, 1);
    assert!(out.contains("values.yaml:7:11: error[shrink]"), "{out}");

    let (c, out) = case(d, &BASE.replace("size: 20Gi", "size: 50 GB"), &[]);
    assert_eq!(c, 1);
    assert!(
        out.contains("error[invalid-size]") && out.contains("`50Gi`"),
        "{out}"
    );

    let (c, out) = case(d, &BASE.replace("size: 20Gi", "size: 50"), &[]);
    assert_eq!(c, 1);
    assert!(out.contains("not a string"), "{out}");

    let (c, out) = case(d, &BASE.replace("size: 20Gi", "size: 50G"), &[]);
    assert_eq!(c, 0);
    assert!(
        out.contains("warning[decimal-size]") && out.contains("did you mean 50Gi"),
        "{out}"
    );
    assert_eq!(
        case(d, &BASE.replace("size: 20Gi", "size: 50G"), &["--strict"]).0,
        1
    );

    let (c, out) = case(d, &BASE.replace("enabled: true", "enabled: false"), &[]);
    assert_eq!(c, 1);
    assert!(
        out.contains("values.yaml:6:14: error[disable]") && out.contains("data loss"),
        "{out}"
    );

    for (from, to, key) in [
        ("storageClass: gp2", "storageClass: gp3", "storageClass"),
        (
            "accessModes: [ReadWriteOnce]",
            "accessModes: [ReadWriteMany]",
            "accessModes",
        ),
        (
            "size: 20Gi\n",
            "size: 20Gi\n    existingClaim: old-data\n",
            "existingClaim",
        ),
        (
            "size: 20Gi\n",
            "size: 20Gi\n    selector: {matchLabels: {tier: fast}}\n",
            "selector",
        ),
    ] {
        let (c, out) = case(d, &BASE.replace(from, to), &[]);
        assert_eq!(c, 1, "{key}: {out}");
        assert!(
            out.contains(&format!(
                "error[immutable]: kafka.persistence.{key} changes"
            )),
            "{out}"
        );
    }

    let (c, out) = case(
        d,
        &format!("{BASE}zookeeper:\n  persistence:\n    size: 8Gi\n"),
        &[],
    );
    assert_eq!(c, 0);
    assert!(
        out.contains("values.yaml:11:3: notice[block-added]: zookeeper.persistence"),
        "{out}"
    );

    let (c, out) = case(d, "cloud: private\nkafka:\n  replicaCount: 1\n", &[]);
    assert_eq!(c, 0);
    assert!(
        out.contains("notice[block-removed]") && out.contains("20Gi"),
        "{out}"
    );

    let (c, out) = case(d, &BASE.replace("replicaCount: 1", "replicaCount: 3"), &[]);
    assert_eq!(c, 0);
    assert!(
        out.contains("values.yaml:4:17: notice[replicas-up]") && out.contains("ordinals 1..2"),
        "{out}"
    );
    let three = BASE.replace("replicaCount: 1", "replicaCount: 3");
    std::fs::write(d.join("values.yaml"), &three).unwrap();
    git(d, &["commit", "-q", "-am", "three"]);
    let (_, out) = case(d, BASE, &[]);
    assert!(
        out.contains("warning[replicas-down]")
            && out.contains("data-RELEASE-posthog-kafka-1, data-RELEASE-posthog-kafka-2")
            && out.contains("whenScaled"),
        "{out}"
    );
    git(d, &["reset", "-q", "--hard", "HEAD~1"]);

    // Nothing under a persistence block changed: nothing to say.
    let (c, out) = case(d, &BASE.replace("cloud: private", "cloud: aws"), &[]);
    assert_eq!((c, out.as_str()), (0, ""));

    // --path adds a block the tool doesn't know.
    let extra = format!("{BASE}clickhouse:\n  persistence:\n    size: 100Gi\n");
    std::fs::write(d.join("values.yaml"), &extra).unwrap();
    git(d, &["commit", "-q", "-am", "clickhouse"]);
    let (c, out) = case(
        d,
        &extra.replace("100Gi", "50Gi"),
        &["--path", "clickhouse.persistence.size"],
    );
    assert_eq!(c, 1);
    assert!(
        out.contains("error[shrink]: clickhouse.persistence.size"),
        "{out}"
    );
}

#[test]
fn formats_and_inputs() {
    let Some(dir) = repo() else { return };
    let d = dir.path();
    // The working tree against the last commit.
    std::fs::write(
        d.join("values.yaml"),
        BASE.replace("size: 20Gi", "size: 5Gi"),
    )
    .unwrap();
    let out = run_in(
        Some(d),
        &[
            "check",
            "--base",
            "HEAD:values.yaml",
            "--head",
            "values.yaml",
            "--format",
            "github",
        ],
        b"",
    );
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).starts_with("::error file=values.yaml,line=7,col=11,title=pvc-resize shrink::kafka.persistence.size shrinks"), "{}", stdout(&out));

    // Properties are escaped as GitHub requires.
    let odd = d.join("a,b:c.yaml");
    std::fs::write(&odd, BASE.replace("size: 20Gi", "size: 5Gi")).unwrap();
    let out = run_in(
        Some(d),
        &[
            "check",
            "--base",
            "HEAD:values.yaml",
            "--head",
            "a,b:c.yaml",
            "--format",
            "github",
        ],
        b"",
    );
    assert!(
        stdout(&out).starts_with("::error file=a%2Cb%3Ac.yaml,line=7"),
        "{}",
        stdout(&out)
    );

    // JSON follows its schema.
    let out = run_in(
        Some(d),
        &[
            "check",
            "--base",
            "HEAD:values.yaml",
            "--head",
            "values.yaml",
            "--format",
            "json",
        ],
        b"",
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json"),
    ))
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{report}");
    assert_eq!(report["blocking"], true);
    assert_eq!(report["findings"][0]["id"], "shrink");
    assert_eq!(report["findings"][0]["location"]["line"], 7);
    assert_eq!(report["findings"][0]["related"][0]["label"], "base (HEAD)");
    assert_eq!(report["findings"][0]["related"][0]["file"], "values.yaml");

    // Unreadable inputs: exit 2.
    let out = run_in(
        Some(d),
        &[
            "check",
            "--base",
            "nope:values.yaml",
            "--head",
            "values.yaml",
        ],
        b"",
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("git cannot read it"),
        "{}",
        stderr(&out)
    );
    std::fs::write(d.join("broken.yaml"), "kafka: [\n").unwrap();
    let out = run_in(
        Some(d),
        &[
            "check",
            "--base",
            "HEAD:values.yaml",
            "--head",
            "broken.yaml",
        ],
        b"",
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("broken.yaml:"), "{}", stderr(&out));
}

#[test]
fn the_documented_pre_commit_hook_runs() {
    let Some(dir) = repo() else { return };
    let Some(bash) = program("bash") else { return };
    let d = dir.path();
    let config = tree(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/pre-commit-config.yaml"),
    ));
    let hook = &config["repos"][0]["hooks"][0];
    let entry = hook["entry"].as_str().unwrap();
    assert_eq!(hook["language"], "system");
    // pre-commit runs `entry` split like a shell command, with the staged files appended.
    let script = entry
        .strip_prefix("bash -c '")
        .and_then(|s| s.strip_suffix("' --"))
        .expect("bash -c '...' --");
    let bin = Path::new(common::bin()).parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hook_run = |files: &[&str]| {
        Command::new(&bash)
            .arg("-c")
            .arg(script)
            .arg("--")
            .args(files)
            .current_dir(d)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    std::fs::write(
        d.join("values.yaml"),
        BASE.replace("size: 20Gi", "size: 10Gi"),
    )
    .unwrap();
    let out = hook_run(&["values.yaml"]);
    assert_eq!(out.status.code(), Some(1), "a shrink stops the commit");
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[shrink]"));
    std::fs::write(
        d.join("values.yaml"),
        BASE.replace("size: 20Gi", "size: 30Gi"),
    )
    .unwrap();
    std::fs::write(d.join("values-new.yaml"), BASE).unwrap();
    let out = hook_run(&["values.yaml", "values-new.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "growth passes; a new file has no base"
    );
    let regex = hook["files"].as_str().unwrap();
    assert!(regex.contains("values"));
}

#[test]
fn the_documented_workflow_is_valid() {
    let wf = tree(&read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/github-workflow.yml"),
    ));
    let steps = wf["jobs"]["check"]["steps"].as_array().unwrap();
    let run = steps.last().unwrap()["run"].as_str().unwrap();
    assert!(
        run.starts_with(
            "pvc-resize check --base \"origin/${{ github.base_ref }}:deploy/values.yaml\""
        ),
        "{run}"
    );
    assert!(run.ends_with("--format github"));
    assert_eq!(
        steps[0]["with"]["fetch-depth"], 0,
        "the base branch must be fetched for REV:PATH"
    );
}
