//! The command line as a user meets it: exit codes, what goes to stdout and stderr, and the
//! messages for the inputs users really get wrong.

mod common;
use common::*;
use std::fs;

const VALUES: &str = "kafka:\n  persistence:\n    size: 20Gi # data disk\n";

fn values_file(content: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("values.yaml");
    fs::write(&p, content).unwrap();
    let s = p.to_str().unwrap().to_owned();
    (dir, s)
}

/// Runs and checks the exit code, that stdout is empty, and that stderr holds every `needle`.
fn refused(args: &[&str], stdin: &[u8], needles: &[&str]) {
    let out = run(args, stdin);
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{args:?}: {err}");
    assert!(
        out.stdout.is_empty(),
        "{args:?}: stdout must be empty on error"
    );
    for n in needles {
        assert!(err.contains(n), "{args:?}: expected {n:?} in:\n{err}");
    }
}

#[test]
fn values_prints_a_git_style_diff_and_writes_nothing() {
    let (_d, f) = values_file(VALUES);
    let out = run(&["values", &f, "--size", "50Gi"], b"");
    assert_eq!(code(&out), 0);
    let diff = stdout(&out);
    assert!(diff.starts_with(&format!("--- a{f}\n+++ b{f}\n")), "{diff}");
    assert!(
        diff.contains("-    size: 20Gi # data disk\n+    size: 50Gi # data disk\n"),
        "{diff}"
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), VALUES);
    assert!(stderr(&out).contains("kafka.persistence.size: 20Gi -> 50Gi (53,687,091,200 bytes)"));
}

#[test]
fn values_invalid_sizes_explain_the_rule() {
    let (_d, f) = values_file(VALUES);
    for (size, needle) in [
        ("50GB", "`50Gi`"),
        ("50 Gi", "`50Gi`"),
        ("50gi", "`50Gi`"),
        ("50K", "unable to parse quantity's suffix"),
        ("0", "greater than zero"),
        ("-5Gi", "greater than zero"),
        ("100E", "2^63-1"),
    ] {
        refused(&["values", &f, "--size", size], b"", &[needle, "--size"]);
    }
    refused(
        &["values", &f, "--size", "50GB"],
        b"",
        &["quantities must match the regular expression"],
    );
}

#[test]
fn values_refuses_a_shrink_with_bytes() {
    let (_d, f) = values_file(VALUES);
    refused(
        &["values", &f, "--size", "10Gi"],
        b"",
        &[
            "values.yaml:3:11:",
            "refusing to shrink",
            "21,474,836,480",
            "10,737,418,240",
            "hint:",
        ],
    );
}

#[test]
fn values_equal_by_value_is_a_no_op() {
    let (_d, f) = values_file(VALUES);
    let out = run(&["values", &f, "--size", "20480Mi", "--check"], b"");
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("already 20Gi"), "{}", stderr(&out));
}

#[test]
fn values_decimal_for_binary_warns() {
    let (_d, f) = values_file(VALUES);
    let out = run(&["values", &f, "--size", "50G"], b"");
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("warning") && stderr(&out).contains("did you mean 50Gi"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn values_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    refused(&["values", d, "--size", "50Gi"], b"", &["is a directory"]);
    refused(
        &["values", &format!("{d}/nope.yaml"), "--size", "50Gi"],
        b"",
        &["nope.yaml: no such file"],
    );
    let cases: &[(&[u8], &[&str])] = &[
        (b"kafka:\n\tpersistence: {}\n", &["values.yaml:2:"]),
        (
            b"kafka:\n  a: 1\n  a: 2\n",
            &["values.yaml:3:3:", "duplicate key \"a\""],
        ),
        (b"kafka: [1, 2\n", &["values.yaml:", "invalid YAML"]),
        (b"kafka:\n  a: \xff\n", &["values.yaml:2:6:", "UTF-8"]),
        (b"a: 1\n---\nb: 2\n", &["Helm 3 reads only the first"]),
        (b"kafka: 3\n", &["kafka is not a mapping"]),
        (
            b"base: &p {size: 8Gi}\nkafka:\n  persistence: *p\n",
            &["alias", "every other user"],
        ),
    ];
    for (content, needles) in cases {
        let p = dir.path().join("values.yaml");
        fs::write(&p, content).unwrap();
        refused(
            &["values", p.to_str().unwrap(), "--size", "50Gi"],
            b"",
            needles,
        );
        assert_eq!(&fs::read(&p).unwrap(), content, "the file is untouched");
    }
}

#[test]
fn values_write_is_atomic_and_keeps_the_link() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let (dir, f) = values_file(VALUES);
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("link.yaml");
    symlink(&f, &link).unwrap();
    let out = run(
        &[
            "values",
            link.to_str().unwrap(),
            "--size",
            "50Gi",
            "--write",
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        VALUES.replace("20Gi", "50Gi")
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );

    fs::set_permissions(&f, fs::Permissions::from_mode(0o444)).unwrap();
    refused(
        &["values", &f, "--size", "60Gi", "--write"],
        b"",
        &["read-only"],
    );
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        VALUES.replace("20Gi", "50Gi")
    );
}

#[test]
fn values_reads_stdin() {
    let out = run(
        &["values", "-", "--size", "50Gi", "--check"],
        VALUES.as_bytes(),
    );
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).starts_with("--- a/<stdin>\n"));
    refused(
        &["values", "-", "--size", "50Gi", "--write"],
        VALUES.as_bytes(),
        &["--write needs a file"],
    );
}

fn rendered() -> String {
    fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/rendered-kafka.yaml"
    ))
    .unwrap()
}

#[test]
fn post_render_bundled_example() {
    let input = rendered();
    let out = run(&["post-render", "--size", "50Gi"], input.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let expected = input.replacen("storage: \"20Gi\"", "storage: \"50Gi\"", 1);
    assert_eq!(stdout(&out), expected);
    assert!(
        stdout(&out).contains("note: \"storage: 20Gi\""),
        "the ConfigMap's text is not a claim"
    );
    assert!(stderr(&out).contains("StatefulSet demo-kafka claim data: 20Gi -> 50Gi"));
    assert!(stderr(&out).contains("3 documents in, 3 out"));
}

/// A stream that could not be written (here a full disk: `/dev/full`) is an error, and no line
/// on stderr says a claim was grown or documents went out.
#[test]
fn post_render_says_nothing_done_when_stdout_fails() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return skip("/dev/full");
    };
    let out = std::process::Command::new(common::bin())
        .args(["post-render", "--size", "50Gi"])
        .stdin(
            fs::File::open(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/rendered-kafka.yaml"
            ))
            .unwrap(),
        )
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("cannot write to stdout"), "{err}");
    assert!(
        !err.contains("->") && !err.contains("documents in"),
        "{err}"
    );
}

/// `values --check` fails on a change even when the diff finds no reader (a pipe closed before
/// it is written), and says nothing about a change no one saw.
#[test]
fn values_check_fails_on_a_change_with_stdout_closed() {
    let (_dir, file) = values_file(VALUES);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(common::bin())
        .args(["values", &file, "--size", "50Gi", "--check"])
        .stdout(writer)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(!err.contains("->"), "{err}");
}

#[test]
fn post_render_bad_inputs_leave_stdout_empty() {
    let input = rendered();
    let broken = input.replace(
        "  serviceName: demo-kafka-headless\n",
        "  serviceName: [demo\n",
    );
    refused(
        &["post-render", "--size", "50Gi"],
        broken.as_bytes(),
        &["<stdin>:25:", "invalid YAML"],
    );
    refused(
        &["post-render", "--size", "50Gi", "--statefulset", "nope"],
        input.as_bytes(),
        &[
            "matched no StatefulSet",
            "demo-kafka (kafka chart), demo-zookeeper",
        ],
    );
    let two = input
        .replace("name: demo-zookeeper", "name: demo-kafka-2")
        .replace("zookeeper-7.0.5", "kafka-14.9.3");
    refused(
        &["post-render", "--size", "50Gi"],
        two.as_bytes(),
        &["refusing to guess", "demo-kafka, demo-kafka-2"],
    );
    refused(
        &["post-render", "--size", "50 Gi"],
        input.as_bytes(),
        &["invalid size"],
    );
    refused(
        &["post-render", "--size", "10Gi"],
        input.as_bytes(),
        &["<stdin>:47:22:", "refusing to shrink"],
    );
    refused(
        &["post-render", "--size", "50Gi", "--claim", "logs"],
        input.as_bytes(),
        &["no volumeClaimTemplate named \"logs\" (it has: data)"],
    );
    refused(&["post-render", "--size", "50Gi"], b"", &["empty"]);
    refused(
        &["post-render", "--size", "50Gi"],
        b"---\n# only a comment\n",
        &["empty"],
    );
    refused(&["post-render"], input.as_bytes(), &["needs --size"]);
}

#[test]
fn post_render_patch_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = rendered();
    let bad_path = dir.path().join("bad.yaml");
    fs::write(
        &bad_path,
        "patches:\n  - target: {kind: StatefulSet, name: demo-kafka}\n    patch:\n      - {op: replace, path: /spec/nope/x, value: 1}\n",
    )
    .unwrap();
    refused(
        &[
            "post-render",
            "--size",
            "50Gi",
            "--patch",
            bad_path.to_str().unwrap(),
        ],
        input.as_bytes(),
        &[
            "patches[0] failed on StatefulSet demo-kafka",
            "/spec/nope/x",
        ],
    );
    let unused = dir.path().join("unused.yaml");
    fs::write(
        &unused,
        "patches:\n  - target: {kind: Deployment}\n    patch:\n      - {op: remove, path: /spec}\n",
    )
    .unwrap();
    refused(
        &[
            "post-render",
            "--size",
            "50Gi",
            "--patch",
            unused.to_str().unwrap(),
        ],
        input.as_bytes(),
        &["matched no document"],
    );
    let invalid = dir.path().join("invalid.yaml");
    fs::write(&invalid, "patches:\n  - target: {kind: StatefulSet}\n    patch:\n      - {op: frobnicate, path: /x}\n").unwrap();
    refused(
        &[
            "post-render",
            "--size",
            "50Gi",
            "--patch",
            invalid.to_str().unwrap(),
        ],
        input.as_bytes(),
        &["invalid.yaml:4:", "frobnicate"],
    );

    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/patches.yaml");
    let out = run(
        &["post-render", "--size", "50Gi", "--patch", example],
        input.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let t: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&stdout(&out))
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(t.len(), 3);
    assert_eq!(
        t[1]["metadata"]["annotations"]["example.com/disk-owner"],
        "data-platform"
    );
    assert_eq!(
        t[1]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "50Gi"
    );
    assert!(stdout(&out).contains("# Source: demo/charts/kafka/templates/statefulset.yaml\n"));
}

#[test]
fn post_render_log_file_gets_the_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    let out = run(
        &[
            "post-render",
            "--size",
            "10Gi",
            "--log",
            log.to_str().unwrap(),
        ],
        rendered().as_bytes(),
    );
    assert_eq!(code(&out), 2);
    let logged = fs::read_to_string(&log).unwrap();
    assert!(logged.contains("refusing to shrink"), "{logged}");
}

#[test]
fn help_has_examples() {
    for args in [
        &["--help"][..],
        &["values", "--help"],
        &["post-render", "--help"],
    ] {
        let out = run(args, b"");
        assert_eq!(code(&out), 0);
        assert!(stdout(&out).contains("Examples:"), "{args:?}");
    }
    let out = run(&["values"], b"");
    assert_eq!(code(&out), 2, "usage errors exit 2");
}
