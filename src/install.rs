//! Installing and discovering the tool: the Helm 4 plugin folder, shell completions, man pages.
//! All of it comes from what the binary already holds (the clap definition, the plugin manifest,
//! the running executable), so it can't drift from the release it belongs to.

use crate::cli::Cli;
use anyhow::{Context, Result, bail};
use clap::CommandFactory;
use std::fs;
use std::path::{Path, PathBuf};

/// The Helm 4 `postrenderer/v1` manifest shipped in plugin/helm4 (tests check it against Helm).
pub const HELM4_MANIFEST: &str = include_str!("../plugin/helm4/plugin.yaml");

/// The name Helm 4 knows the plugin by (the manifest's `name`).
pub const PLUGIN_NAME: &str = "pvc-resize";

/// Writes `dir/plugin.yaml` and `dir/bin/pvc-resize` (a copy of the running binary); returns
/// the two paths. Each file is written beside its target and renamed over it, so a folder Helm
/// already links to is never seen half-written.
pub fn lay_out_helm4_plugin(dir: &Path) -> Result<[PathBuf; 2]> {
    let manifest = dir.join("plugin.yaml");
    if let Ok(existing) = fs::read_to_string(&manifest)
        && !existing
            .lines()
            .any(|l| l.trim() == format!("name: {PLUGIN_NAME}"))
    {
        bail!(
            "{}: holds another plugin's manifest; not replacing it\nhint: give a new folder, e.g. {}",
            manifest.display(),
            dir.join(PLUGIN_NAME).display()
        );
    }
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    write_renamed(&manifest, HELM4_MANIFEST.as_bytes(), 0o644)?;
    let exe = std::env::current_exe().context("cannot find the running pvc-resize binary")?;
    let bytes = fs::read(&exe).with_context(|| format!("cannot read {}", exe.display()))?;
    let target = bin.join(PLUGIN_NAME);
    write_renamed(&target, &bytes, 0o755)?;
    // A log from runs of an earlier layout must not end up in a package of this one.
    let _ = fs::remove_file(dir.join(crate::helm4_run::LOG_NAME));
    Ok([manifest, target])
}

fn write_renamed(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension("pvc-resize-tmp");
    let write = || -> std::io::Result<()> {
        fs::write(&tmp, bytes)?;
        set_mode(&tmp, mode)?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// The completion script for `shell`, generated from the clap definition.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "pvc-resize", &mut out);
    if shell == clap_complete::Shell::Bash {
        // clap_complete 4.6.11 names a subcommand's state `pvc__resize__subcmd__X` where it
        // walks the words, but `pvc__subcmd__resize__subcmd__X` in the `case` that completes
        // it (the `-` of the binary's name is escaped twice): no subcommand flag would
        // complete. One spelling for both (tests/install.rs completes in a real bash).
        let text = String::from_utf8(out).expect("clap writes UTF-8");
        return text
            .replace("pvc__subcmd__resize", "pvc__resize")
            .into_bytes();
    }
    out
}

/// `pvc-resize.1`, the top-level man page.
pub fn man_page() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("cannot render the man page")?;
    Ok(out)
}

/// Writes `pvc-resize.1` and one `pvc-resize-COMMAND.1` per command into `dir`; returns them.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    let mut pages: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pvc-resize") && n.ends_with(".1"))
        })
        .collect();
    pages.sort();
    Ok(pages)
}
