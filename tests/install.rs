//! Installing and discovering: `helm-plugin DIR`, shell completions, man pages, `--version`.
//! Completions run in a real bash; man pages go through the real groff/man when present.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

#[test]
fn version_names_the_commit() {
    let out = run(&["--version"], b"");
    assert_eq!(code(&out), 0);
    let v = stdout(&out);
    assert!(
        v.starts_with(&format!(
            "pvc-resize {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{v}"
    );
    let Some(git) = program("git") else { return };
    let head = Command::new(git)
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        let head = stdout(&head);
        assert!(
            v.contains(&format!("(commit {})", head.trim())),
            "{v} vs {head}"
        );
    }
}

#[test]
fn helm_plugin_lays_out_a_ready_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pvc-resize");
    let out = run(&["helm-plugin", dir.to_str().unwrap()], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "stdout carries only the product");
    assert!(
        stderr(&out).contains("helm plugin install"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("note:"), "{}", stderr(&out));
    let other = run(
        &["helm-plugin", tmp.path().join("pr").to_str().unwrap()],
        b"",
    );
    assert!(
        stderr(&other).contains("note: Helm 4 links"),
        "{}",
        stderr(&other)
    );
    let manifest = read(&dir.join("plugin.yaml"));
    assert_eq!(
        manifest,
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin/helm4/plugin.yaml"))
    );
    let bin = dir.join("bin/pvc-resize");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(common::bin()).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777,
        0o755
    );
    // The copy runs.
    let v = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(stdout(&v), stdout(&run(&["--version"], b"")));
    // Again over itself (an update), dropping an old log; nothing else is left behind.
    std::fs::write(dir.join("post-render.log"), "old").unwrap();
    let out = run(&["helm-plugin", dir.to_str().unwrap()], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut names: Vec<String> = walk(&dir);
    names.sort();
    assert_eq!(names, ["bin", "bin/pvc-resize", "plugin.yaml"]);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        if p.is_dir() {
            out.extend(walk(&p).into_iter().map(|n| format!("{name}/{n}")));
        }
        out.push(name);
    }
    out
}

#[test]
fn helm_plugin_refuses_another_plugins_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let other = "name: diff\nversion: 3.9.0\ncommand: $HELM_PLUGIN_DIR/bin/diff\n";
    std::fs::write(tmp.path().join("plugin.yaml"), other).unwrap();
    let out = run(&["helm-plugin", tmp.path().to_str().unwrap()], b"");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("another plugin's manifest"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    assert_eq!(read(&tmp.path().join("plugin.yaml")), other);
    assert!(!tmp.path().join("bin").exists());
}

#[test]
fn bash_completion_completes_commands_and_flags() {
    let Some(bash) = program("bash") else { return };
    let out = run(&["completions", "bash"], b"");
    assert_eq!(code(&out), 0);
    let script = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(script.path(), &out.stdout).unwrap();
    let complete = |words: &str| -> String {
        let cmd = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
             COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
             _pvc__resize pvc-resize \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.path().display()
        );
        let o = Command::new(&bash).arg("-c").arg(cmd).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let commands = complete("pvc-resize ''");
    for c in ["values", "post-render", "helm-plugin", "completions", "man"] {
        assert!(
            commands.lines().any(|l| l == c),
            "{c} not offered:\n{commands}"
        );
    }
    let flags = complete("pvc-resize post-render --s");
    assert!(flags.lines().any(|l| l == "--size"), "{flags}");
    assert!(flags.lines().any(|l| l == "--statefulset"), "{flags}");
    let shells = complete("pvc-resize completions ''");
    assert!(shells.lines().any(|l| l == "zsh"), "{shells}");
    let formats = complete("pvc-resize check --format ''");
    assert!(formats.lines().any(|l| l == "github"), "{formats}");
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "_pvc__resize()"),
        ("zsh", "#compdef pvc-resize"),
        ("fish", "complete -c pvc-resize"),
        ("elvish", "edit:completion:arg-completer[pvc-resize]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = run(&["completions", shell], b"");
        assert_eq!(code(&out), 0, "{shell}");
        let text = stdout(&out);
        assert!(text.contains(marker), "{shell}: no {marker:?}");
        assert!(text.contains("post-render"), "{shell}");
    }
    let out = run(&["completions", "tcsh"], b"");
    assert_eq!(code(&out), 2);
}

/// `completions SHELL --output FILE` writes what stdout would have had, atomically; a FILE that
/// can't be written is an error that writes nothing (issue 23).
#[test]
fn completions_output_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pvc-resize.bash");
    let file = file.to_str().unwrap();
    std::fs::write(file, "old\n").unwrap();
    let out = run(&["completions", "bash", "--output", file], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        read(Path::new(file)),
        stdout(&run(&["completions", "bash"], b""))
    );
    let folder = dir.path().to_str().unwrap();
    let out = run(&["completions", "zsh", "--output", folder], b"");
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    let missing = dir.path().join("no/such/folder/f");
    let out = run(
        &["completions", "fish", "--output", missing.to_str().unwrap()],
        b"",
    );
    assert_eq!(code(&out), 2);
    assert!(!missing.exists());
}

#[test]
fn man_pages_render() {
    let out = run(&["man"], b"");
    assert_eq!(code(&out), 0);
    let page = stdout(&out);
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
    assert!(page.contains(".TH pvc-resize 1"), "{page}");
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", tmp.path().to_str().unwrap()], b"");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for sub in [
        "",
        "-values",
        "-post-render",
        "-helm-plugin",
        "-completions",
        "-man",
    ] {
        assert!(
            tmp.path().join(format!("pvc-resize{sub}.1")).is_file(),
            "{sub}"
        );
    }
    let Some(man) = program("man") else { return };
    let o = Command::new(man)
        .args(["-l", "-P", "cat"])
        .arg(tmp.path().join("pvc-resize-post-render.1"))
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("--statefulset"), "{text}");
    assert!(text.contains("Kubernetes quantity"), "{text}");
}
