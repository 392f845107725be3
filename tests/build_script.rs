//! The build script watches only files that exist: cargo takes a missing watched file as changed,
//! and re-runs the script (and recompiles the binary) on every build. `.ci/run` also builds twice
//! and requires the second build to compile nothing.

use std::path::{Path, PathBuf};

/// The `output` file of this crate's latest build-script run, beside this test binary in the
/// target dir (a target dir shared by several checkouts holds older runs too).
fn build_output() -> Option<PathBuf> {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let Ok(entries) = std::fs::read_dir(profile.join("build")) else {
        return None;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("pvc-resize-"))
        .map(|e| e.path().join("output"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

#[test]
fn every_watched_file_exists() {
    let output = build_output().expect("no build-script output near the test binary");
    {
        let text = std::fs::read_to_string(&output).unwrap();
        for watched in text
            .lines()
            .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        {
            assert!(
                Path::new(watched).exists(),
                "{} watches {watched}, which does not exist: every build would re-run it",
                output.display()
            );
        }
    }
}
