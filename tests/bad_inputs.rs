//! The bad-input corpus: what users (and broken charts) really send, each with the exit code and
//! the message expected, run under a memory limit (ulimit -v 4 GiB) and a 60 s watchdog. Never
//! exit 101 (a panic), never hang.

mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STS: &str = "---\n# Source: demo/charts/kafka/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: demo-kafka\n  labels:\n    helm.sh/chart: kafka-14.9.3\nspec:\n  serviceName: demo-kafka\n  selector:\n    matchLabels: {app: kafka}\n  template:\n    metadata:\n      labels: {app: kafka}\n    spec:\n      containers:\n        - name: kafka\n          image: kafka\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: \"20Gi\"\n";

struct Case {
    name: &'static str,
    args: Vec<String>,
    stdin: Vec<u8>,
    code: i32,
    message: &'static str,
}

fn post_render(name: &'static str, stdin: Vec<u8>, code: i32, message: &'static str) -> Case {
    Case {
        name,
        args: vec!["post-render".into(), "--size".into(), "50Gi".into()],
        stdin,
        code,
        message,
    }
}

fn values(name: &'static str, stdin: Vec<u8>, code: i32, message: &'static str) -> Case {
    Case {
        name,
        args: vec!["values".into(), "-".into(), "--size".into(), "50Gi".into()],
        stdin,
        code,
        message,
    }
}

fn billion_laughs() -> String {
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        s.push_str(&format!("a{i}: &a{i} [{}]\n", [p.as_str(); 9].join(", ")));
    }
    s
}

fn cases() -> Vec<Case> {
    let big_line = format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: \"{}\"\n{STS}",
        "x".repeat(1 << 20)
    );
    let mut many = String::with_capacity(5_000_000);
    for i in 0..100_000 {
        many.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
        ));
    }
    many.push_str(STS);
    let bomb_sts = format!(
        "{}\nextra:\n{}",
        STS,
        billion_laughs()
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    )
    .replace("extra:", "  x-bomb:");
    vec![
        post_render(
            "truncated document",
            STS[..STS.len() - 5].to_owned().into_bytes(),
            2,
            "invalid YAML",
        ),
        post_render(
            "tab-indented mapping",
            STS.replace("  selector:", "\tselector:").into_bytes(),
            2,
            "invalid YAML",
        ),
        post_render(
            "duplicate keys",
            STS.replace(
                "  serviceName: demo-kafka\n",
                "  serviceName: a\n  serviceName: b\n",
            )
            .into_bytes(),
            2,
            "duplicate key \"serviceName\"",
        ),
        post_render(
            "a BOM",
            format!("\u{feff}{STS}").into_bytes(),
            0,
            "1 documents in, 1 out",
        ),
        post_render(
            "CRLF line endings",
            STS.replace('\n', "\r\n").into_bytes(),
            0,
            "claim data: 20Gi -> 50Gi",
        ),
        post_render(
            "a NUL byte",
            STS.replace("image: kafka", "image: ka\u{0}fka")
                .into_bytes(),
            2,
            "invalid YAML",
        ),
        post_render(
            "invalid UTF-8",
            [STS.as_bytes(), b"x: \xff\xfe\n"].concat(),
            2,
            "not valid UTF-8",
        ),
        post_render(
            "a 1 MB single line",
            big_line.into_bytes(),
            0,
            "2 documents in, 2 out",
        ),
        post_render(
            "100k documents",
            many.into_bytes(),
            0,
            "100001 documents in, 100001 out",
        ),
        post_render(
            "an alias bomb in the StatefulSet",
            bomb_sts.into_bytes(),
            2,
            "alias bomb",
        ),
        post_render(
            "100k levels of nesting",
            STS.replace(
                "  serviceName:",
                &format!(
                    "  x: {}{}\n  serviceName:",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                ),
            )
            .into_bytes(),
            2,
            "invalid YAML",
        ),
        Case {
            name: "deep nesting in another document, --parse-all",
            args: vec![
                "post-render".into(),
                "--size".into(),
                "50Gi".into(),
                "--parse-all".into(),
            ],
            stdin: format!(
                "{STS}---\nkind: ConfigMap\nx: {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
            .into_bytes(),
            code: 2,
            message: "invalid YAML",
        },
        post_render(
            "--- inside a block scalar (indented: content)",
            format!("---\nkind: ConfigMap\ndata:\n  s: |\n    ---\n    more\n{STS}").into_bytes(),
            0,
            "2 documents in, 2 out",
        ),
        post_render(
            "a document that is only a comment",
            format!("---\n# nothing here\n{STS}").into_bytes(),
            0,
            "1 documents in, 1 out",
        ),
        post_render(
            "only a comment",
            b"---\n# nothing here\n".to_vec(),
            2,
            "empty",
        ),
        Case {
            name: "size 0",
            args: vec!["post-render".into(), "--size".into(), "0".into()],
            stdin: STS.into(),
            code: 2,
            message: "greater than zero",
        },
        Case {
            name: "negative size",
            args: vec!["post-render".into(), "--size".into(), "-50Gi".into()],
            stdin: STS.into(),
            code: 2,
            message: "greater than zero",
        },
        Case {
            name: "size beyond 64 bits",
            args: vec![
                "post-render".into(),
                "--size".into(),
                "99999999999999999999Ki".into(),
            ],
            stdin: STS.into(),
            code: 2,
            message: "2^63-1",
        },
        values(
            "values: truncated",
            b"kafka:\n  persistence: {size: 20Gi\n".to_vec(),
            2,
            "invalid YAML",
        ),
        values(
            "values: tabs",
            b"kafka:\n\tpersistence:\n".to_vec(),
            2,
            "<stdin>:2:",
        ),
        values(
            "values: duplicate keys",
            b"kafka: {}\nkafka: {}\n".to_vec(),
            2,
            "duplicate key \"kafka\"",
        ),
        values(
            "values: a NUL byte",
            b"kafka:\n  a: \"\x00\"\n".to_vec(),
            2,
            "the control character U+0000",
        ),
        values(
            "values: invalid UTF-8",
            b"kafka:\n  a: \xc3\x28\n".to_vec(),
            2,
            "<stdin>:2:6: not valid UTF-8",
        ),
        values(
            "values: an alias bomb",
            billion_laughs().into_bytes(),
            2,
            "alias",
        ),
        values(
            "values: 100k levels of nesting",
            format!("a: {}{}\n", "{x: ".repeat(100_000), "}".repeat(100_000)).into_bytes(),
            2,
            "invalid YAML",
        ),
        values(
            "values: an infinity (Helm refuses it)",
            b"a: .inf\nkafka: {}\n".to_vec(),
            2,
            "<stdin>:1:4: Helm would refuse this file",
        ),
        values(
            "values: a raw line separator",
            "a: x\u{2028}y\n".as_bytes().to_vec(),
            2,
            "Unicode line separator",
        ),
        values(
            "values: a %YAML 1.2 directive",
            b"%YAML 1.2\n---\nkafka: {}\n".to_vec(),
            2,
            "%YAML 1.2",
        ),
        values(
            "values: data in a second document",
            b"kafka: {}\n---\nkafka: {persistence: {size: 1Gi}}\n".to_vec(),
            2,
            "Helm 4 merges them all",
        ),
        values(
            "values: a trailing --- (Helm reads it)",
            b"kafka:\n  persistence:\n    size: 20Gi\n---\n".to_vec(),
            0,
            "20Gi -> 50Gi",
        ),
        values(
            "values: a BOM and CRLF",
            "\u{feff}kafka:\r\n  persistence:\r\n    size: 20Gi\r\n"
                .as_bytes()
                .to_vec(),
            0,
            "20Gi -> 50Gi",
        ),
    ]
}

/// Runs with a memory limit and a watchdog; returns (exit code, stdout, stderr, seconds).
fn limited(args: &[String], stdin: &[u8]) -> (i32, Vec<u8>, String, f64) {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg("ulimit -v 4194304; exec \"$0\" \"$@\"")
        .arg(common::bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    drop(watchdog);
    (
        out.status.code().unwrap_or(-9),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed().as_secs_f64(),
    )
}

#[test]
fn the_corpus() {
    if program("bash").is_none() {
        return;
    }
    let mut failures = Vec::new();
    for c in cases() {
        let (code, stdout, stderr, secs) = limited(&c.args, &c.stdin);
        let mut problems = Vec::new();
        if code != c.code {
            problems.push(format!("exit {code}, expected {}", c.code));
        }
        if !stderr.contains(c.message) {
            problems.push(format!("no {:?} in stderr", c.message));
        }
        if code == 2 && !stdout.is_empty() {
            problems.push("stdout not empty on error".to_owned());
        }
        if code == 0 && c.args[0] == "post-render" && stdout.len() < c.stdin.len() {
            problems.push("output shorter than the input".to_owned());
        }
        let _ = writeln!(
            std::io::stderr(),
            "bad input: {:<45} exit {code} in {secs:.2}s",
            c.name
        );
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n{}",
                c.name,
                problems.join("; "),
                stderr.chars().take(600).collect::<String>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A full disk: the temporary file can't be written; the original stays, no temporary file is left.
#[test]
fn values_write_on_a_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .output();
    if !mounted.is_ok_and(|o| o.status.success()) {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: mounting a tmpfs needs root (CI runs as root)"
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must be able to mount a tmpfs"
        );
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let values = mnt.join("values.yaml");
    let original = format!(
        "# {}\nkafka:\n  persistence:\n    size: 20Gi\n",
        "x".repeat(40_000)
    );
    std::fs::write(&values, &original).unwrap();
    let out = run(
        &[
            "values",
            values.to_str().unwrap(),
            "--size",
            "50Gi",
            "--write",
        ],
        b"",
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&values).unwrap(), original);
    assert_eq!(
        std::fs::read_dir(&mnt).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

/// Where each error of the corpus must point (`FILE:LINE:COL`), by case name; `None` for an error
/// about an argument, which has no place in a file. A case not listed here must still name a
/// place or an argument (`--size`, ...).
fn expected_place(name: &str) -> Option<Option<&'static str>> {
    Some(match name {
        "truncated document" => Some("<stdin>:27:"),
        "tab-indented mapping" => Some("<stdin>:11:1"),
        "duplicate keys" => Some("<stdin>:11:3"),
        "a NUL byte" => Some("<stdin>:19:20"),
        "invalid UTF-8" => Some("<stdin>:28:4"),
        "only a comment" => Some("<stdin>: the manifest stream"),
        "an alias bomb in the StatefulSet" => Some("<stdin>:1:1"),
        "values: truncated" => Some("<stdin>:2:16"),
        "values: tabs" => Some("<stdin>:2:1"),
        "values: duplicate keys" => Some("<stdin>:2:1"),
        "values: a NUL byte" => Some("<stdin>:2:7"),
        "values: invalid UTF-8" => Some("<stdin>:2:6"),
        "size 0" | "negative size" | "size beyond 64 bits" => None,
        "missing values file" => Some("DIR/nope.yaml"),
        "values file is a directory" => Some("DIR"),
        "values --write on a read-only file" => Some("DIR/ro.yaml"),
        "values file with a tab after a multi-byte character" => Some("DIR/tab.yaml:3:1"),
        "validate: malformed YAML" => Some("DIR/broken.yaml:2:3"),
        "validate: missing file" => Some("DIR/nope.yaml"),
        "validate: manifests with no object" => Some("DIR/empty.yaml:1:1"),
        "check: missing head" => Some("DIR/nope.yaml"),
        "check: malformed head" => Some("DIR/broken.yaml:2:3"),
        "post-render: missing patch file" => Some("--patch DIR/nope.yaml"),
        "values: a Bitnami Kafka values file and the PostHog path" => Some("DIR/bitnami.yaml:2:1"),
        "validate: a values schema that is not JSON" => Some("DIR/bad.json:2:1"),
        "validate: a values schema that is no schema" => Some("DIR/bad2.json"),
        "check: an unknown revision" => Some("nope:ok.yaml"),
        "argument: --values-schema without --values"
        | "argument: an empty --path key"
        | "argument: --write on stdin"
        | "argument: an empty --claim" => None,
        "argument: --log in a missing folder" => Some("--log DIR/none/x.log"),
        "plan: an invalid release name" => Some("--release: "),
        "plan: an invalid namespace" => Some("--namespace: "),
        "plan: an empty cluster snapshot" => Some("/dev/null: "),
        "plan: a cluster snapshot that is not YAML" => Some("DIR/broken.yaml:2:3: "),
        "plan: an empty render" => Some("/dev/null: "),
        "plan: an unknown --statefulset" => Some("DIR/render.yaml: --statefulset"),
        "plan: an unknown --claim" => Some("DIR/render.yaml:3:1: "),
        "plan: a render of another release" => Some("DIR/render.yaml:1:1: "),
        "plan: a --version other than the render's" => Some("DIR/render.yaml:8:20: "),
        "plan: an empty --path key" => Some("--path: "),
        "plan: values that ignore the inferred path" => Some("DIR/ok.yaml:1:1: "),
        "plan: --format script without --values" => Some("--format script needs --values"),
        "argument: missing --size"
        | "argument: unknown --format"
        | "argument: unknown flag"
        | "argument: unknown subcommand"
        | "validate: nothing to validate" => None,
        _ => return None,
    })
}

/// Inputs with files and arguments, beside the corpus' stdin cases.
fn file_and_argument_cases(dir: &std::path::Path) -> Vec<Case> {
    use std::os::unix::fs::PermissionsExt;
    let d = dir.to_str().unwrap().to_owned();
    let ro = dir.join("ro.yaml");
    std::fs::write(&ro, "kafka:\n  persistence:\n    size: 20Gi\n").unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::write(dir.join("tab.yaml"), "é: x\nkafka:\n\t persistence: {}\n").unwrap();
    std::fs::write(dir.join("broken.yaml"), "kafka:\n  [persistence\n").unwrap();
    std::fs::write(dir.join("empty.yaml"), "# nothing rendered\n---\n---\n").unwrap();
    std::fs::write(
        dir.join("ok.yaml"),
        "kafka:\n  persistence:\n    size: 20Gi\n",
    )
    .unwrap();
    std::fs::write(dir.join("bad.json"), "{\"type\": \n").unwrap();
    std::fs::write(dir.join("bad2.json"), "{\"type\": \"nope\"}\n").unwrap();
    std::fs::write(
        dir.join("bitnami.yaml"),
        "replicaCount: 3\npersistence:\n  size: 8Gi\n",
    )
    .unwrap();
    let case = |name: &'static str, args: &[&str]| Case {
        name,
        args: args.iter().map(|a| a.replace("DIR", &d)).collect(),
        stdin: Vec::new(),
        code: 2,
        message: "",
    };
    let mut cases = vec![
        case(
            "values: a Bitnami Kafka values file and the PostHog path",
            &["values", "DIR/bitnami.yaml", "--size", "50Gi", "--write"],
        ),
        case(
            "missing values file",
            &["values", "DIR/nope.yaml", "--size", "50Gi"],
        ),
        case(
            "values file is a directory",
            &["values", "DIR", "--size", "50Gi"],
        ),
        case(
            "values --write on a read-only file",
            &["values", "DIR/ro.yaml", "--size", "50Gi", "--write"],
        ),
        case(
            "values file with a tab after a multi-byte character",
            &["values", "DIR/tab.yaml", "--size", "50Gi"],
        ),
        case(
            "validate: malformed YAML",
            &["validate", "--values", "DIR/broken.yaml"],
        ),
        case(
            "validate: missing file",
            &["validate", "--values", "DIR/nope.yaml"],
        ),
        case("validate: nothing to validate", &["validate"]),
        case(
            "validate: manifests with no object",
            &["validate", "--manifests", "DIR/empty.yaml"],
        ),
        case(
            "check: missing head",
            &["check", "--base", "DIR/ok.yaml", "--head", "DIR/nope.yaml"],
        ),
        case(
            "check: malformed head",
            &[
                "check",
                "--base",
                "DIR/ok.yaml",
                "--head",
                "DIR/broken.yaml",
            ],
        ),
        case(
            "post-render: missing patch file",
            &["post-render", "--patch", "DIR/nope.yaml"],
        ),
        case(
            "validate: a values schema that is not JSON",
            &[
                "validate",
                "--values",
                "DIR/ok.yaml",
                "--values-schema",
                "DIR/bad.json",
            ],
        ),
        case(
            "validate: a values schema that is no schema",
            &[
                "validate",
                "--values",
                "DIR/ok.yaml",
                "--values-schema",
                "DIR/bad2.json",
            ],
        ),
        case(
            "check: an unknown revision",
            &["check", "--base", "nope:ok.yaml", "--head", "DIR/ok.yaml"],
        ),
        case(
            "argument: --values-schema without --values",
            &[
                "validate",
                "--manifests",
                "DIR/ok.yaml",
                "--values-schema",
                "DIR/bad2.json",
            ],
        ),
        case(
            "argument: an empty --path key",
            &["values", "DIR/ok.yaml", "--size", "50Gi", "--path", "a..b"],
        ),
        case(
            "argument: --write on stdin",
            &["values", "-", "--size", "50Gi", "--write"],
        ),
        case(
            "argument: an empty --claim",
            &["post-render", "--size", "50Gi", "--claim", ""],
        ),
        case(
            "argument: --log in a missing folder",
            &["post-render", "--size", "50Gi", "--log", "DIR/none/x.log"],
        ),
        case("argument: missing --size", &["values", "DIR/ok.yaml"]),
        case(
            "argument: unknown --format",
            &["validate", "--values", "DIR/ok.yaml", "--format", "xml"],
        ),
        case(
            "argument: unknown flag",
            &["values", "DIR/ok.yaml", "--size", "50Gi", "--sise"],
        ),
        case("argument: unknown subcommand", &["valus", "DIR/ok.yaml"]),
    ];
    std::fs::write(dir.join("render.yaml"), PLAN_RENDER).unwrap();
    let plan = |name: &'static str, extra: &[&str]| {
        let args = [
            "plan",
            "--release",
            "kafka",
            "--namespace",
            "kafka",
            "--size",
            "50Gi",
            "--manifests",
            "DIR/render.yaml",
        ];
        // clap refuses a flag given twice: the defaults are replaced, not repeated.
        let args = replace_flags(&args, extra);
        case(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    cases.extend([
        plan("plan: an invalid release name", &["--release", "Bad_Name"]),
        plan("plan: an invalid namespace", &["--namespace", "Bad_ns"]),
        plan(
            "plan: an empty cluster snapshot",
            &["--cluster", "/dev/null"],
        ),
        plan(
            "plan: a cluster snapshot that is not YAML",
            &["--cluster", "DIR/broken.yaml"],
        ),
        plan("plan: an empty render", &["--manifests", "/dev/null"]),
        plan("plan: an unknown --statefulset", &["--statefulset", "nope"]),
        plan("plan: an unknown --claim", &["--claim", "nope"]),
        plan("plan: a render of another release", &["--release", "other"]),
        plan(
            "plan: a --version other than the render's",
            &["--version", "9.9.9"],
        ),
        plan(
            "plan: an empty --path key",
            &["--values", "DIR/ok.yaml", "--path", "a..b"],
        ),
        plan(
            "plan: values that ignore the inferred path",
            &["--values", "DIR/ok.yaml", "--claim", "logs"],
        ),
        plan(
            "plan: --format script without --values",
            &[
                "--format",
                "script",
                "--chart",
                "x/kafka",
                "--kube-context",
                "k",
            ],
        ),
    ]);
    cases
}

/// `base` with the value of every flag of `extra` replaced (or appended when `base` lacks it).
fn replace_flags(base: &[&str], extra: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = base.iter().map(|a| a.to_string()).collect();
    for pair in extra.chunks(2) {
        match out.iter().position(|a| a == pair[0]) {
            Some(i) => out[i + 1] = pair[1].to_owned(),
            None => out.extend(pair.iter().map(|a| a.to_string())),
        }
    }
    out
}

/// A small render of one Kafka StatefulSet (release `kafka`, chart kafka-14.9.3) with a `data`
/// and a `logs` claim, for the plan cases.
const PLAN_RENDER: &str = "\
---
# Source: kafka/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: kafka
  labels:
    helm.sh/chart: kafka-14.9.3
    app.kubernetes.io/instance: kafka
spec:
  replicas: 1
  serviceName: kafka
  selector:
    matchLabels: {app: kafka}
  template:
    metadata:
      labels: {app: kafka}
    spec:
      containers:
        - name: kafka
          image: kafka
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 20Gi
    - metadata:
        name: logs
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: 20Gi
";

/// `FILE:LINE:COL: ` somewhere after the prefix, or an argument named.
fn names_a_place(stderr: &str) -> bool {
    stderr.split(": ").any(|part| {
        let mut it = part.rsplitn(3, ':');
        let (col, line) = (it.next(), it.next());
        it.next().is_some_and(|f| !f.is_empty())
            && [col, line]
                .iter()
                .all(|n| n.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
    }) || stderr.contains("--")
}

/// Every error of the corpus (and of files and arguments) starts with `pvc-resize:`, names its
/// place (FILE:LINE:COL wherever a file is involved; columns count characters, a tab is one),
/// ends with a `hint:` and comes after nothing that looks like success.
#[test]
fn every_error_has_its_place_and_its_fix() {
    if program("bash").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let mut all: Vec<Case> = cases().into_iter().filter(|c| c.code == 2).collect();
    let own = file_and_argument_cases(dir.path());
    for c in &own {
        assert!(
            expected_place(c.name).is_some(),
            "{}: no expected place",
            c.name
        );
    }
    all.extend(own);
    let mut failures = Vec::new();
    for c in all {
        let (code, stdout, stderr, _) = limited(&c.args, &c.stdin);
        let stderr = without_error_id(&stderr);
        let mut problems = Vec::new();
        if code != 2 {
            problems.push(format!("exit {code}, expected 2"));
        }
        if !stdout.is_empty() {
            problems.push("stdout not empty".to_owned());
        }
        let first = stderr.lines().next().unwrap_or("");
        if !first.starts_with("pvc-resize: error: ") && !first.starts_with("pvc-resize: warning: ")
        {
            problems.push(format!("first line is not an error: {first:?}"));
        }
        for line in stderr.lines() {
            let continuation =
                line.is_empty() || line.starts_with(' ') || line.starts_with("Usage:");
            if !continuation && !line.starts_with("pvc-resize: ") {
                problems.push(format!("a line without the pvc-resize: prefix: {line:?}"));
            }
        }
        if !stderr.contains("\n  hint: ") {
            problems.push("no hint".to_owned());
        }
        match expected_place(c.name) {
            Some(Some(place)) => {
                let place = place.replace("DIR", &d);
                if !stderr.contains(&format!("pvc-resize: error: {place}")) {
                    problems.push(format!("not placed at {place}"));
                }
            }
            Some(None) => {}
            None if !names_a_place(&stderr) => problems.push("names no place".to_owned()),
            None => {}
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n{stderr}", c.name, problems.join("; ")));
        }
    }
    // The read-only file is unchanged.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ro.yaml")).unwrap(),
        "kafka:\n  persistence:\n    size: 20Gi\n"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `values` names the class of its refusal (`pvc-resize: error[values-shrink]: ...`); the id must
/// be one of `finding::IDS`, and the rest of the line is judged as every other error's.
fn without_error_id(stderr: &str) -> String {
    let mut out = String::new();
    for line in stderr.split_inclusive('\n') {
        match line
            .strip_prefix("pvc-resize: error[")
            .and_then(|r| r.split_once("]: "))
        {
            Some((id, rest)) => {
                assert!(
                    pvc_resize::finding::describe(id).is_some(),
                    "an id missing from finding::IDS: {id}"
                );
                out.push_str("pvc-resize: error: ");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out
}
