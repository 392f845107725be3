//! Every `cargo run` line of the README (the first block, "More examples", `advise`), run as
//! written from the repository's root with `cargo run -q --` replaced by the built binary and
//! `/tmp/` by a fresh folder, and held to what the README says it does. The tour and the Install
//! section run with the real Helm in `tests/e2e_helm/readme.rs`.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// The commands of the README's `sh` blocks that start with `cargo run`, continuation lines joined.
fn cargo_run_lines(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = readme;
    while let Some(i) = rest.find("```sh\n") {
        let after = &rest[i + 6..];
        let j = after.find("\n```").expect("a closed block");
        let joined = after[..j].replace("\\\n", " ");
        out.extend(
            joined
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("cargo run"))
                .map(str::to_owned),
        );
        rest = &after[j + 4..];
    }
    out
}

/// What the README claims of each command, by its subcommand: (exit status, a check of stdout).
fn claim(line: &str, code: i32, out: &str, tmp: &Path) {
    let sub = line.split_whitespace().nth(4).unwrap_or("");
    match sub {
        "values" => {
            assert_eq!(code, 0, "{line}");
            assert!(out.contains("+    size: 50Gi"), "{line}: the diff\n{out}");
        }
        "post-render" => {
            // Piped into diff: exactly the claim's storage line differs.
            assert_eq!(code, 1, "{line}: diff finds the grown claim");
            let changed: Vec<&str> = out
                .lines()
                .filter(|l| l.starts_with('<') || l.starts_with('>'))
                .collect();
            assert_eq!(
                changed,
                [
                    "<             storage: \"20Gi\"",
                    ">             storage: \"50Gi\""
                ],
                "{line}"
            );
        }
        "validate" => assert_eq!(code, 0, "{line}"),
        "plan" => {
            assert_eq!(code, 0, "{line}");
            let script = tmp.join("resize.sh");
            let ok = Command::new("bash")
                .arg("-n")
                .arg(&script)
                .status()
                .unwrap();
            assert!(ok.success(), "{line}: the script parses");
        }
        "advise" => {
            assert_eq!(
                code, 1,
                "{line}: the example needs action within the horizon"
            );
            let body = read(&tmp.join("pr-body.md"));
            assert!(
                body.contains("```diff") && body.contains("+    size: "),
                "{body}"
            );
        }
        other => panic!("a README example of `{other}` that this test does not check: {line}"),
    }
}

#[test]
fn every_cargo_run_line_of_the_readme_does_what_it_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lines = cargo_run_lines(&read(&root.join("README.md")));
    assert!(lines.len() >= 5, "{lines:?}");
    for line in &lines {
        let tmp = tempfile::tempdir().unwrap();
        let script = line
            .replacen("cargo run -q --", common::bin(), 1)
            .replace("/tmp/", &format!("{}/", tmp.path().display()));
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", &script])
            .current_dir(root)
            .output()
            .unwrap();
        claim(line, code(&out), &stdout(&out), tmp.path());
    }
}
