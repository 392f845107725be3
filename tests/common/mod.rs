//! Helpers shared by the integration tests: running the binary, and finding what lives outside
//! the crate (the shared real-world fixtures, kubectl, shellcheck). What is missing is skipped
//! with a visible line on a developer's machine, and fails the test when `CI=true`.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Prints past the test harness's capture, so a skip is visible in `cargo test` output.
pub fn skip(what: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} not found, and CI=true: .ci/run must install it");
    }
    let _ = writeln!(std::io::stderr(), "skipped: {what} not found");
}

/// The real `helm template` fixtures: `$PVC_RESIZE_SHARED_FIXTURES`, or `../shared/fixtures`.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var("PVC_RESIZE_SHARED_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.join("posthog/rendered-default.yaml").is_file() {
        Some(dir)
    } else {
        skip(&format!("shared fixtures ({})", dir.display()));
        None
    }
}

/// A program on PATH, or a skip.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        skip(name);
    }
    found
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs pvc-resize with `args` and `stdin`.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_in(None, args, stdin)
}

pub fn run_in(dir: Option<&Path>, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pvc-resize"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Parses YAML into a JSON tree (for comparing data, not bytes).
pub fn tree(yaml: &str) -> serde_json::Value {
    serde_yaml::from_str(yaml).unwrap()
}
