//! The output formats every command that reports findings shares: SARIF 2.1.0 checked against
//! the official OASIS schema, the JSON report against schema/report.schema.json, GitHub
//! annotations with paths from the repository root whatever the working folder, and colour.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

const BASE: &str = "kafka:\n  replicaCount: 3\n  persistence:\n    size: 20Gi\n";
const HEAD: &str =
    "kafka:\n  replicaCount: 1\n  persistence:\n    size: 10Gi\n    storageClas: gp3\n";

/// A repository with deploy/values.yaml committed as BASE and changed to HEAD in the work tree.
fn repo() -> Option<tempfile::TempDir> {
    if program("git").is_none() {
        skip("git");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(d.join("deploy")).unwrap();
    std::fs::write(d.join("deploy/values.yaml"), BASE).unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "base"]);
    std::fs::write(d.join("deploy/values.yaml"), HEAD).unwrap();
    Some(dir)
}

fn schema(path: &str) -> jsonschema::Validator {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(path));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

/// The commands and their arguments, run from `deploy/`.
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "check",
            "--base",
            "HEAD:deploy/values.yaml",
            "--head",
            "values.yaml",
        ],
        vec!["validate", "--values", "values.yaml"],
    ]
}

fn run_format(dir: &Path, args: &[&str], format: &str) -> (i32, String) {
    let mut args = args.to_vec();
    args.extend(["--format", format]);
    let out = run_in(Some(&dir.join("deploy")), &args, b"");
    (code(&out), stdout(&out))
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let Some(dir) = repo() else { return };
    let sarif = schema("schema/sarif/sarif-schema-2.1.0.json");
    // The schema itself judges: a log without its required `runs` fails it.
    assert!(!sarif.is_valid(&serde_json::json!({"version": "2.1.0"})));
    for args in commands() {
        let (code, out) = run_format(dir.path(), &args, "sarif");
        assert_eq!(code, 1, "{args:?}: {out}");
        let log: Value = serde_json::from_str(&out).unwrap();
        assert_valid(&sarif, &log);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert!(!results.is_empty(), "{log:#}");
        for r in results {
            let loc = &r["locations"][0]["physicalLocation"];
            assert_eq!(
                loc["artifactLocation"]["uri"], "deploy/values.yaml",
                "{r:#}"
            );
            assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert!(
                r["message"]["text"].as_str().unwrap().contains("\nhint: "),
                "{r:#}"
            );
            let rule = &log["runs"][0]["tool"]["driver"]["rules"]
                [r["ruleIndex"].as_u64().unwrap() as usize];
            assert_eq!(rule["id"], r["ruleId"]);
            assert!(
                rule["shortDescription"]["text"].is_string(),
                "an id missing from finding::IDS: {rule}"
            );
        }
    }
    // check: the shrink, with the base's value as a related place.
    let (_, out) = run_format(dir.path(), &commands()[0], "sarif");
    let log: Value = serde_json::from_str(&out).unwrap();
    let shrink = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "shrink")
        .expect("a shrink result")
        .clone();
    assert_eq!(shrink["level"], "error");
    assert_eq!(
        shrink["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(
        shrink["locations"][0]["physicalLocation"]["region"]["startColumn"],
        11
    );
    let related = &shrink["relatedLocations"][0];
    assert_eq!(related["message"]["text"], "base (HEAD)");
    assert_eq!(
        related["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/values.yaml"
    );
    assert_eq!(related["physicalLocation"]["region"]["startLine"], 4);
}

#[test]
fn json_follows_the_report_schema() {
    let Some(dir) = repo() else { return };
    let report = schema("schema/report.schema.json");
    for args in commands() {
        let (code, out) = run_format(dir.path(), &args, "json");
        assert_eq!(code, 1, "{args:?}: {out}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        assert_valid(&report, &doc);
        assert_eq!(doc["version"], 2);
        assert_eq!(doc["command"], args[0]);
        assert_eq!(doc["blocking"], true);
        for f in doc["findings"].as_array().unwrap() {
            assert!(f["hint"].is_string(), "{f:#}");
            assert_eq!(f["location"]["file"], "values.yaml");
        }
    }
}

#[test]
fn github_paths_are_from_the_repository_root() {
    let Some(dir) = repo() else { return };
    let (_, out) = run_format(dir.path(), &commands()[0], "github");
    assert!(
        out.contains("::error file=deploy/values.yaml,line=4,col=11,title=pvc-resize shrink::kafka.persistence.size shrinks"),
        "{out}"
    );
    assert!(out.contains("%0Ahint: keep 20Gi or more"), "{out}");
    let (_, out) = run_format(dir.path(), &commands()[1], "github");
    assert!(
        out.starts_with("::error file=deploy/values.yaml,line=5,col=5,title=pvc-resize unknown-key::unknown key \"storageClas\""),
        "{out}"
    );
    // From the repository root, and from outside it, the path is the same.
    let out = run_in(
        Some(dir.path()),
        &[
            "validate",
            "--values",
            "deploy/values.yaml",
            "--format",
            "github",
        ],
        b"",
    );
    assert!(
        stdout(&out).starts_with("::error file=deploy/values.yaml,line=5,col=5,"),
        "{}",
        stdout(&out)
    );
    let abs = dir.path().join("deploy/values.yaml");
    let out = run(
        &[
            "validate",
            "--values",
            abs.to_str().unwrap(),
            "--format",
            "github",
        ],
        b"",
    );
    assert!(
        stdout(&out).starts_with("::error file=deploy/values.yaml,line=5,col=5,"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let Some(dir) = repo() else { return };
    let deploy = dir.path().join("deploy");
    let validate = |extra: &[&str], no_color: Option<&str>| {
        let mut cmd = Command::new(common::bin());
        cmd.args(["validate", "--values", "values.yaml"])
            .args(extra)
            .current_dir(&deploy);
        cmd.env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let esc = |s: &str| s.contains('\x1b');
    // Not a terminal: auto means no colour.
    assert!(!esc(&validate(&[], None)));
    assert!(esc(&validate(&["--color", "always"], None)));
    // An explicit --color always wins over NO_COLOR, as no-color.org asks.
    assert!(esc(&validate(&["--color", "always"], Some("1"))));
    assert!(!esc(&validate(&["--color", "never"], None)));
    let plain = validate(&["--color", "never"], None);
    assert!(
        plain.starts_with("values.yaml:5:5: error[unknown-key]: unknown key \"storageClas\""),
        "{plain}"
    );
    assert!(plain.contains("\n  hint: "), "{plain}");

    // Diffs too.
    std::fs::write(deploy.join("v.yaml"), BASE).unwrap();
    let out = run_in(
        Some(&deploy),
        &["values", "v.yaml", "--size", "50Gi", "--color", "always"],
        b"",
    );
    assert!(
        stdout(&out).contains("\x1b[32m+    size: 50Gi\x1b[0m"),
        "{:?}",
        stdout(&out)
    );
    let out = run_in(Some(&deploy), &["values", "v.yaml", "--size", "50Gi"], b"");
    assert!(!esc(&stdout(&out)));
}

/// A file that can't be read is an error (exit 2) and, in the machine formats, an annotation at
/// the place of the syntax error.
#[test]
fn unreadable_files_are_annotated() {
    let Some(dir) = repo() else { return };
    std::fs::write(
        dir.path().join("deploy/values.yaml"),
        "kafka:\n  persistence: {size: 1Gi\n",
    )
    .unwrap();
    for args in commands() {
        let (code, out) = run_format(dir.path(), &args, "github");
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            out.starts_with("::error file=deploy/values.yaml,line=2,col=16,title=pvc-resize invalid-yaml::invalid YAML: "),
            "{args:?}: {out}"
        );
        let (code, out) = run_format(dir.path(), &args, "sarif");
        assert_eq!(code, 2);
        let log: Value = serde_json::from_str(&out).unwrap();
        assert_valid(&schema("schema/sarif/sarif-schema-2.1.0.json"), &log);
        let (code, out) = run_format(dir.path(), &args, "text");
        assert_eq!(
            (code, out.as_str()),
            (2, ""),
            "{args:?}: text output stays empty; the error is on stderr"
        );
    }
}

/// On a terminal (a pseudo-terminal from util-linux `script`), `auto` colours unless NO_COLOR is
/// set to something.
#[test]
fn auto_colours_a_terminal_unless_no_color() {
    if program("script").is_none() {
        skip("script (util-linux)");
        return;
    }
    let Some(dir) = repo() else { return };
    let on_a_tty = |no_color: Option<&str>| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qec",
            &format!("{} validate --values values.yaml", common::bin()),
            "/dev/null",
        ])
        .current_dir(dir.path().join("deploy"))
        .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let coloured = on_a_tty(None);
    assert!(
        coloured.contains("\x1b[1;31merror[unknown-key]:\x1b[0m"),
        "{coloured:?}"
    );
    assert!(!on_a_tty(Some("1")).contains('\x1b'));
    // An empty NO_COLOR doesn't count (no-color.org).
    assert!(on_a_tty(Some("")).contains('\x1b'));
}

/// `plan` reports its preflight findings in the same model: annotations at the render's claim
/// template and at the values file, SARIF valid against the official schema, exit 1 when blocking.
#[test]
fn plan_findings_as_annotations_and_sarif() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plan = |format: &str| {
        run_in(
            Some(root),
            &plan_argv(
                "posthog",
                "10Gi",
                "fixtures/rendered-kafka.yaml",
                &[
                    "--values",
                    "fixtures/posthog-values.yaml",
                    "--format",
                    format,
                ],
            ),
            b"",
        )
    };
    let out = plan("github");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "::error file=fixtures/rendered-kafka.yaml,line=47,col=22,title=pvc-resize shrink::"
        ),
        "{text}"
    );
    assert!(text.contains("::error file=fixtures/posthog-values.yaml,line=13,col=11,title=pvc-resize shrink::refusing to shrink"), "{text}");
    let out = plan("sarif");
    assert_eq!(code(&out), 1);
    let log: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid(&schema("schema/sarif/sarif-schema-2.1.0.json"), &log);
    for rule in log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
    {
        assert!(
            rule["shortDescription"]["text"].is_string(),
            "an id missing from finding::IDS: {rule}"
        );
    }
}
