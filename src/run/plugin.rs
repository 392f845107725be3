//! `pvc-resize helm-plugin` and `man`: the Helm 4 plugin folder and the man pages.

use super::*;
use crate::cli::{HelmPluginArgs, ManArgs};
use crate::install;
use anyhow::Result;
use std::process::ExitCode;

pub(crate) fn run_helm_plugin(a: HelmPluginArgs, diag: &mut Diag) -> Result<ExitCode> {
    let [manifest, bin] = install::lay_out_helm4_plugin(&a.dir)?;
    diag.say(&format!(
        "pvc-resize: wrote {} and {} ({})",
        manifest.display(),
        bin.display(),
        env!("PVC_RESIZE_LONG_VERSION")
    ));
    diag.say(&format!(
        "pvc-resize: next (Helm 4): helm plugin install {} (a link to this folder: keep it), \
         or package it signed: helm plugin package {} --sign --key NAME --keyring FILE",
        a.dir.display(),
        a.dir.display()
    ));
    if a.dir.file_name().is_some_and(|n| n != install::PLUGIN_NAME) {
        diag.say(&format!(
            "pvc-resize: note: Helm 4 links a folder install under the folder's name; naming it {} \
             keeps that link's name the plugin's",
            install::PLUGIN_NAME
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_man(a: ManArgs, diag: &mut Diag) -> Result<ExitCode> {
    match &a.dir {
        None => {
            emit(&install::man_page()?)?;
        }
        Some(dir) => {
            for page in install::write_man_pages(dir)? {
                diag.say(&format!("pvc-resize: wrote {}", page.display()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
