//! The hidden commands the resize script calls (`quota-check`, `update-rules`), so that its
//! checks run the same code as `plan`.

use super::*;
use crate::cli::{QuotaCheckArgs, UpdateRulesArgs};
use anyhow::{Result, anyhow, bail};
use pvc_resize::commands::quota_check;
use pvc_resize::fsutil;
use pvc_resize::k8s::versions::{self, KubeVersion};
use std::process::ExitCode;

/// The resize script's quota check: each refusal on stderr, exit 1 when there is one.
pub(crate) fn run_quota_check(a: QuotaCheckArgs, diag: &mut Diag) -> Result<ExitCode> {
    let size = parse_size(&a.size)?;
    let text = fsutil::read_text(&a.objects).map_err(|e| anyhow!(e))?;
    let pvcs = quota_check::Pvcs {
        in_replicas: &a.pvcs,
        if_exist: &a.pvcs_if_exist,
    };
    let refusals = quota_check::run(&a.objects, &text, &size, &pvcs).map_err(|e| anyhow!(e))?;
    for r in &refusals {
        diag.say(&format!("pvc-resize: {}", r.message));
    }
    if refusals.is_empty() {
        diag.say(&format!(
            "pvc-resize: no ResourceQuota or LimitRange refuses growing {} PVC(s) to {}",
            a.pvcs.len() + a.pvcs_if_exist.len(),
            size.text
        ));
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(1))
}

/// The resize script's reading of the server's StatefulSet update rule (the rule of `check
/// --kubernetes-version`): exit 0 when the field may change, 1 when the server refuses it.
pub(crate) fn run_update_rules(a: UpdateRulesArgs, diag: &mut Diag) -> Result<ExitCode> {
    if a.field != "revisionHistoryLimit" {
        bail!(fsutil::hinted(
            format!("--field {:?}: no per-version rule for it", a.field),
            "the per-version field is revisionHistoryLimit"
        ));
    }
    let text = fsutil::read_text(&a.kubectl_version).map_err(|e| anyhow!(e))?;
    let version =
        KubeVersion::from_kubectl_json(&text).map_err(|e| anyhow!("{}: {e}", a.kubectl_version))?;
    let from = versions::REVISION_HISTORY_MUTABLE_FROM;
    if version.revision_history_limit_mutable() {
        diag.say(&format!(
            "pvc-resize: Kubernetes {version} lets an update change spec.revisionHistoryLimit (from 1.{from})"
        ));
        return Ok(ExitCode::SUCCESS);
    }
    diag.say(&format!(
        "pvc-resize: Kubernetes {version} refuses an update of spec.revisionHistoryLimit (spec: Forbidden; mutable from 1.{from})"
    ));
    Ok(ExitCode::from(1))
}
