//! `pvc-resize post-render`: the manifest stream from stdin through `commands::post_render` to
//! stdout, diagnostics to stderr and the log (Helm 4 drops stderr).

use super::*;
use crate::cli::PostRenderArgs;
use anyhow::{Result, anyhow, bail};
use pvc_resize::commands::argocd;
use pvc_resize::commands::post_render::{self, Options};
use pvc_resize::fsutil;
use pvc_resize::k8s::patch::PatchSet;
use std::process::ExitCode;

pub(crate) fn run_post_render(a: PostRenderArgs, diag: &mut Diag) -> Result<ExitCode> {
    if let Some(path) = &a.log {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                anyhow!(fsutil::hinted(
                    format!("--log {path}: {e}"),
                    "give a file in a folder that exists and is writable"
                ))
            })?;
        diag.log = Some(f);
        diag.log_path = Some(path.into());
    }
    let claim_typemeta = a.claim_typemeta;
    let opts = options(a)?;
    let input = fsutil::read_text("-").map_err(|e| anyhow!(e))?;
    let outcome = post_render::post_render(&input, &opts).map_err(|e| match e.pos {
        Some(_) => anyhow!("<stdin>:{e}"),
        None => anyhow!("<stdin>: {e}"),
    })?;
    // What was done is said once the whole stream is written: a failed write (a full disk, a
    // closed pipe) must not follow lines that report success.
    let mut said = report(&outcome);
    let written = if claim_typemeta {
        let output = outcome.output.to_string();
        let added = argocd::add_claim_typemeta(&output).map_err(|e| anyhow!("<stdin>:{e}"))?;
        for (sts, claim, line) in &added.claims {
            said.push(format!(
                "pvc-resize: <stdin>:{line}: StatefulSet {sts} claim {claim}: apiVersion/kind added"
            ));
        }
        emit(added.output.as_bytes())?
    } else {
        emit_parts(outcome.output.segments().map(str::as_bytes))?
    };
    said.push(format!(
        "pvc-resize: {} documents in, {} out",
        outcome.documents, outcome.documents
    ));
    if written {
        said.iter().for_each(|line| diag.say(line));
    }
    Ok(ExitCode::SUCCESS)
}

/// The post-renderer's options from its arguments, refused before stdin is read when they ask
/// for nothing or name no claim; the `--patch` files are read here.
fn options(a: PostRenderArgs) -> Result<Options> {
    if a.size.is_none()
        && a.volume_attributes_class.is_none()
        && a.patches.is_empty()
        && !a.claim_typemeta
    {
        bail!(
            "post-render needs --size Q, --volume-attributes-class NAME, --patch FILE and/or --claim-typemeta; see `pvc-resize post-render --help`"
        );
    }
    check_class(a.volume_attributes_class.as_deref())?;
    if a.claim.is_empty() {
        bail!(fsutil::hinted(
            "--claim must not be empty",
            "give the volumeClaimTemplate's name (the default is data)"
        ));
    }
    let size = a.size.as_deref().map(parse_size).transpose()?;
    let mut patches = None;
    if !a.patches.is_empty() {
        let mut set = PatchSet::default();
        for file in &a.patches {
            let text = fsutil::read_text(file).map_err(|e| anyhow!("--patch {e}"))?;
            set.add_file(file, &text).map_err(|e| anyhow!(e))?;
        }
        patches = Some(set);
    }
    Ok(Options {
        kubernetes_version: a.kubernetes_version,
        size,
        volume_attributes_class: a.volume_attributes_class,
        statefulsets: a.statefulsets,
        claim: a.claim,
        patches,
        parse_all: a.parse_all,
        ..Options::default()
    })
}

/// The lines that say what the post-renderer did: warnings, notes, each claim's size and class,
/// each patch applied.
fn report(outcome: &post_render::Outcome) -> Vec<String> {
    let mut said: Vec<String> = outcome
        .warnings
        .iter()
        .map(|w| format!("pvc-resize: warning: {w}"))
        .chain(
            outcome
                .notes
                .iter()
                .map(|n| format!("pvc-resize: note: {n}")),
        )
        .collect();
    for c in &outcome.claims {
        let what = if c.changed {
            format!("{} -> {}", c.old, c.new)
        } else {
            format!("is already {} (equal to {}); left as it is", c.old, c.new)
        };
        said.push(format!(
            "pvc-resize: <stdin>:{}: StatefulSet {} claim {}: {what}",
            c.pos, c.statefulset, c.claim
        ));
    }
    for c in &outcome.classes {
        let old = c.old.as_deref().unwrap_or("(none)");
        let what = if c.changed {
            format!("volumeAttributesClassName {old} -> {}", c.new)
        } else {
            format!(
                "volumeAttributesClassName is already {}; left as it is",
                c.new
            )
        };
        said.push(format!(
            "pvc-resize: <stdin>:{}: StatefulSet {} claim {}: {what}",
            c.pos, c.statefulset, c.claim
        ));
    }
    said.extend(
        outcome
            .patched
            .iter()
            .map(|p| format!("pvc-resize: patched {p}")),
    );
    said
}
