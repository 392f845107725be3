//! Puts the git commit into `pvc-resize --version` (`PVC_RESIZE_LONG_VERSION`). Without git, or
//! outside pvc-resize's own repository (a source tarball, a subtree in another repository), the
//! version says so instead of failing the build; `PVC_RESIZE_COMMIT` set in the environment wins
//! (for packagers building from a tarball).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=PVC_RESIZE_COMMIT");
    // Only pvc-resize's own repository: vendored inside another one (a git subtree), the
    // enclosing repository's commit would be a wrong answer.
    let own_repo = git(&["rev-parse", "--show-toplevel"]).is_some_and(|top| {
        let canon = |p: &str| std::fs::canonicalize(p).ok();
        canon(&top).is_some() && canon(&top) == canon(env!("CARGO_MANIFEST_DIR"))
    });
    let commit = std::env::var("PVC_RESIZE_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            own_repo
                .then(|| git(&["rev-parse", "--short=12", "HEAD"]))
                .flatten()
        });
    // Rebuild when HEAD moves: HEAD itself, the branch file it points to, and packed refs. Only
    // files that exist are watched: cargo takes a watched file that is missing as changed, so a
    // clone without `packed-refs` (or with its branch only packed) would re-run this script, and
    // recompile the binary, on every build.
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) {
        let mut watched = vec![
            Path::new(&dir).join("HEAD"),
            Path::new(&common).join("packed-refs"),
        ];
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watched.push(Path::new(&common).join(branch));
        }
        for file in watched.iter().filter(|f| f.is_file()) {
            println!("cargo:rerun-if-changed={}", file.display());
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let long = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => format!("{version} (commit unknown: not built in a clone of pvc-resize)"),
    };
    println!("cargo:rustc-env=PVC_RESIZE_LONG_VERSION={long}");
}
