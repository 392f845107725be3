//! Every `sh` block of the README's "A five-minute tour" and "Install" sections and of
//! docs/helm.md's "With Helm 3" and "With Helm 4", run by bash with the real Helm of that section, in a sandbox (its own HOME, Helm homes and GnuPG
//! home, `values.yaml` = the PostHog fixture's default values, `./plugin` = this repository's).
//! What can't run here is rewritten, and only that: `posthog/posthog` is the fixtures' tarball of
//! that chart; `helm upgrade` (no cluster) runs as `helm template` with the same flags; lines
//! starting `cargo install` (a release build of this same crate) are left out.

use super::*;

/// The shell blocks of the section starting at `heading`, up to the next heading of its level
/// or above.
fn blocks(page: &str, heading: &str) -> Vec<String> {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start = page
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no heading {heading:?}"));
    let body = &page[start + heading.len() + 2..];
    let end = body
        .lines()
        .scan(0, |off, l| {
            let at = *off;
            *off += l.len() + 1;
            Some((at, l))
        })
        .find(|(_, l)| {
            let n = l.chars().take_while(|c| *c == '#').count();
            n > 0 && n <= level && l[n..].starts_with(' ')
        })
        .map_or(body.len(), |(at, _)| at);
    let mut out = Vec::new();
    let mut rest = &body[..end];
    while let Some(i) = rest.find("```sh\n") {
        let after = &rest[i + 6..];
        let j = after.find("\n```").expect("a closed block");
        out.push(after[..j + 1].to_owned());
        rest = &after[j + 4..];
    }
    out
}

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new(helm: &Helm, root: &Path) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        for d in ["home/.gnupg", "work", "bin"] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        // The user's own values file: writable, whatever the fixture's mode.
        std::fs::write(
            p.join("work/values.yaml"),
            read(&root.join("posthog/values-default.yaml")),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin"),
            p.join("work/plugin"),
        )
        .unwrap();
        let shim = p.join("bin/helm");
        write_executable(
            &shim,
            &format!(
                "#!/bin/sh\n# no cluster: upgrade runs as template with the same flags\n\
                 if [ \"$1\" = upgrade ]; then shift; set -- template \"$@\"; fi\n\
                 exec '{}' \"$@\"\n",
                helm.bin.display()
            ),
        );
        std::os::unix::fs::symlink(common::bin(), p.join("bin/pvc-resize")).unwrap();
        Sandbox { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.current_dir(self.path("work"))
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("GNUPGHOME", self.path("home/.gnupg"))
            .env("HELM_DATA_HOME", self.path("helm/data"))
            .env("HELM_CONFIG_HOME", self.path("helm/config"))
            .env("HELM_CACHE_HOME", self.path("helm/cache"))
            .env_remove("HELM_PLUGINS")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME");
        c
    }

    /// The key the README's signing example names.
    fn key(&self) {
        let mut perms = std::fs::metadata(self.path("home/.gnupg"))
            .unwrap()
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        std::fs::set_permissions(self.path("home/.gnupg"), perms).unwrap();
        let out = self
            .command("gpg")
            .args(["--batch", "--passphrase", "", "--quick-gen-key"])
            .args(["You <you@example.com>", "default", "default", "never"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

/// How a section's blocks run: each in a sandbox of its own, side by side (independent recipes),
/// or one after the other in one sandbox (a tour, where a block uses what the one before made).
#[derive(Clone, Copy, PartialEq)]
enum Blocks {
    Apart,
    InOrder,
}

/// A section run with every judge of that major: Helm 3.17, or Helm 4.1 and 4.2.
fn run_section(page: &str, heading: &str, major: u8, min_blocks: usize, how: Blocks) {
    let Some(root) = shared_fixtures() else {
        return;
    };
    let helms = if major == 3 {
        Helm::new(3).into_iter().collect()
    } else {
        Helm::all4()
    };
    for helm in &helms {
        run_section_with(page, heading, helm, &root, min_blocks, how);
    }
}

fn run_section_with(
    page: &str,
    heading: &str,
    helm: &Helm,
    root: &Path,
    min_blocks: usize,
    how: Blocks,
) {
    let text = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(page));
    let mut found = blocks(&text, heading);
    assert!(found.len() >= min_blocks, "{heading}: {found:?}");
    if how == Blocks::InOrder {
        found = vec![found.concat()];
    }
    let chart = root.join("posthog/chart/posthog-30.46.0.tgz");
    let run = |block: &String| {
        let sandbox = Sandbox::new(helm, root);
        if block.contains("gpg ") {
            if program("gpg").is_none() {
                return;
            }
            sandbox.key();
        }
        run_block(
            &sandbox,
            block,
            &chart,
            &format!("{page} {heading} ({})", helm.name),
        );
    };
    std::thread::scope(|s| {
        for block in &found {
            s.spawn(move || run(block));
        }
    });
}

/// Runs one block with bash in the sandbox; a preview.yaml it writes must hold the 50Gi claim.
fn run_block(sandbox: &Sandbox, block: &str, chart: &Path, what: &str) {
    let script: String = block
        .replace("posthog/posthog", chart.to_str().unwrap())
        .lines()
        .filter(|l| !l.starts_with("cargo install"))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = sandbox
        .command("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what} block failed:\n{block}\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    let preview = sandbox.path("work/preview.yaml");
    if preview.exists() {
        let text = read(&preview);
        assert!(
            text.contains("storage: \"50Gi\"") || text.contains("storage: 50Gi"),
            "{what}: preview.yaml has no 50Gi claim"
        );
    }
}

#[test]
fn readme_install_commands_run() {
    run_section("README.md", "## Install", 4, 2, Blocks::Apart);
}

#[test]
fn readme_helm3_commands_run() {
    run_section("docs/helm.md", "## With Helm 3", 3, 3, Blocks::Apart);
}

#[test]
fn readme_helm4_commands_run() {
    run_section("docs/helm.md", "## With Helm 4", 4, 3, Blocks::Apart);
}

#[test]
fn readme_tour_commands_run() {
    run_section(
        "README.md",
        "## A five-minute tour on the real PostHog chart",
        3,
        4,
        Blocks::InOrder,
    );
}
