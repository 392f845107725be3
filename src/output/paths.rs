//! Paths for annotations: relative to the root of the git repository that holds the file,
//! whatever the working folder, because GitHub and code scanning resolve them from the root.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Resolves files to repository-relative paths, asking git once per folder.
#[derive(Debug, Default)]
pub struct RepoPaths {
    roots: HashMap<PathBuf, Option<PathBuf>>,
    files: HashMap<String, String>,
}

impl RepoPaths {
    /// `file` relative to the root of its repository (`git rev-parse --show-toplevel` run in
    /// the file's folder), with `/` separators. The path as given when the file doesn't exist
    /// on disk (`<stdin>`, a `REV:PATH` already relative to the root), or is in no repository.
    pub fn relative(&mut self, file: &str) -> String {
        if let Some(done) = self.files.get(file) {
            return done.clone();
        }
        let rel = self.resolve(file);
        self.files.insert(file.to_owned(), rel.clone());
        rel
    }

    fn resolve(&mut self, file: &str) -> String {
        let Ok(abs) = std::fs::canonicalize(file) else {
            return file.to_owned();
        };
        let Some(dir) = abs.parent() else {
            return file.to_owned();
        };
        let root = self
            .roots
            .entry(dir.to_owned())
            .or_insert_with(|| toplevel(dir))
            .clone();
        match root.as_deref().and_then(|r| abs.strip_prefix(r).ok()) {
            Some(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            None => file.to_owned(),
        }
    }
}

fn toplevel(dir: &Path) -> Option<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--show-toplevel"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    std::fs::canonicalize(text.trim_end_matches(['\n', '\r'])).ok()
}
