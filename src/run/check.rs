//! `pvc-resize check`: reads both sides (files or `REV:PATH`), classifies on values files or
//! renders, reports through `output`.

use super::*;
use crate::cli::CheckArgs;
use anyhow::{Result, anyhow, bail};
use pvc_resize::commands::check;
use pvc_resize::finding::{Finding, Report, Severity};
use pvc_resize::fsutil;
use pvc_resize::k8s::update_rules;
use pvc_resize::k8s::versions::{self, KubeVersion};
use pvc_resize::output::{self, Format};
use std::process::ExitCode;

/// What `check` found: findings, or a values file it can't read (exit status 2).
pub(crate) enum Checked {
    Findings(Vec<Finding>),
    Unreadable(Box<Finding>),
}

/// Findings of `check`: values files, or two renders (named by the flags or recognised by content).
pub(crate) fn check_findings(
    a: &CheckArgs,
    base: &str,
    head: &str,
    diag: &mut Diag,
) -> Result<Checked> {
    let (base_text, head_text) = (read_revision(base)?, read_revision(head)?);
    let named = a.base_manifests.is_some();
    let (bm, hm) = (
        update_rules::looks_like_manifests(&base_text),
        update_rules::looks_like_manifests(&head_text),
    );
    if named || (bm && hm) {
        return Ok(Checked::Findings(compare_renders(
            a, base, &base_text, head, &head_text, diag,
        )?));
    }
    if bm != hm {
        let (m, v) = if bm { (base, head) } else { (head, base) };
        bail!(
            "{m} is a manifest stream but {v} is a values file: both sides must be the same kind\n  \
             hint: compare renders with --base-manifests OLD --head-manifests NEW, or values files with --base/--head"
        );
    }
    let (base, mut head) = match (
        check::Side::load(base, &base_text),
        check::Side::load(head, &head_text),
    ) {
        (Ok(b), Ok(h)) => (b, h),
        (Err(f), _) | (_, Err(f)) => return Ok(Checked::Unreadable(f)),
    };
    // Findings point at the head's path (without a REV: prefix).
    head.name = git_spec(&head.name)
        .map_or(head.name.as_str(), |(_, path)| path)
        .to_owned();
    let findings = compare_values(a, &base, &head, [&base_text, &head_text], diag)?;
    Ok(Checked::Findings(findings))
}

/// The findings of two renders: their StatefulSets compared (`--path` refused, it names values).
fn compare_renders(
    a: &CheckArgs,
    base: &str,
    base_text: &str,
    head: &str,
    head_text: &str,
    diag: &mut Diag,
) -> Result<Vec<Finding>> {
    if !a.paths.is_empty() {
        bail!("--path applies to values files, not to rendered manifests\n  hint: drop --path");
    }
    let file = |s: &str| git_spec(s).map_or(s.to_owned(), |(_, p)| p.to_owned());
    let version = kube_version(a, diag)?;
    let c = update_rules::compare(&file(base), base_text, &file(head), head_text, version)
        .map_err(|e| anyhow!(e))?;
    diag.say(&format!(
        "pvc-resize: {} StatefulSet(s) in {base}, {} in {head}",
        c.old, c.new
    ));
    Ok(c.findings)
}

/// The findings of two values files: through the chart's renders with `--chart`, else as values.
fn compare_values(
    a: &CheckArgs,
    base: &check::Side,
    head: &check::Side,
    texts: [&str; 2],
    diag: &mut Diag,
) -> Result<Vec<Finding>> {
    let layout = match a.chart.as_deref() {
        // The claims of both sides: a head that enables a block renders claims the base has not.
        Some(chart) => chart_layout(chart, a.helm.as_deref(), &texts, Some(&a.release), diag)?,
        None => None,
    };
    Ok(match (layout, a.chart.as_deref()) {
        (Some(l), Some(chart)) => {
            let blocks = size_blocks(&l.paths, diag);
            diag.say(&format!(
                "pvc-resize: the chart's size paths (proven with helm template): {}; its StatefulSets compared as rendered with each side's values",
                l.paths.join(", ")
            ));
            let version = kube_version(a, diag)?;
            let renders = check::rendered::Renders {
                chart,
                release: &a.release,
                base: &l.renders[0],
                head: &l.renders[1],
                owners: &l.owners,
            };
            check::compare_rendered(base, head, &blocks, &a.paths, &renders, version)
                .map_err(|e| anyhow!("--chart {chart}: {e}"))?
        }
        _ => check::compare(base, head, &a.paths),
    })
}

/// `--kubernetes-version`, refused unless `1.N`; a version newer than the known rules is said.
fn kube_version(a: &CheckArgs, diag: &mut Diag) -> Result<KubeVersion> {
    let version = KubeVersion::parse(&a.kubernetes_version).map_err(|e| {
        anyhow!(fsutil::hinted(
            format!("--kubernetes-version: {e}"),
            "give the cluster's minor version, e.g. --kubernetes-version 1.33 (`kubectl version` prints it)"
        ))
    })?;
    if version.beyond_known() {
        diag.say(&format!(
            "pvc-resize: note: Kubernetes {version} is newer than the rules this tool knows; the rules of 1.{} apply",
            versions::NEWEST
        ));
    }
    Ok(version)
}

/// A values file `check` can't read: said on stderr; with a machine format also the report of
/// that one finding (its place as a repository path), so that CI annotates the broken file.
pub(crate) fn check_unreadable(a: &CheckArgs, mut f: Finding, diag: &mut Diag) -> Result<ExitCode> {
    diag.say(&format!("pvc-resize: error: {f}"));
    let format = format_of(&a.format);
    if format != Format::Text {
        if let Some(loc) = f.location.as_mut()
            && let Some((_, path)) = git_spec(&loc.file)
        {
            loc.file = path.to_owned();
        }
        let report = Report::new("check", vec![f]);
        deliver(a.output.as_deref(), &output::render(&report, format, false))?;
    }
    Ok(ExitCode::from(2))
}

/// `--allow-removed STS`: the removal of that StatefulSet is deliberate; its finding becomes a
/// warning that says so. A name that matches no removed StatefulSet is refused (a typo would
/// otherwise accept nothing, silently).
pub(crate) fn accept_removed(findings: &mut [Finding], allowed: &[String]) -> Result<()> {
    for name in allowed {
        let path = format!("StatefulSet/{name}");
        let found = findings
            .iter_mut()
            .filter(|f| f.id == "statefulset-removed" && f.path.as_deref() == Some(path.as_str()));
        let mut any = false;
        for f in found {
            any = true;
            f.severity = Severity::Warning;
            f.message
                .push_str(&format!(" (accepted by --allow-removed {name})"));
        }
        if !any {
            let removed: Vec<&str> = findings
                .iter()
                .filter(|f| f.id == "statefulset-removed")
                .filter_map(|f| f.path.as_deref()?.strip_prefix("StatefulSet/"))
                .collect();
            bail!(fsutil::hinted(
                format!(
                    "--allow-removed {name}: the new render does not remove a StatefulSet of that name"
                ),
                if removed.is_empty() {
                    "drop --allow-removed: no StatefulSet is removed".to_owned()
                } else {
                    format!("the removed ones are: {}", removed.join(", "))
                }
            ));
        }
    }
    Ok(())
}

pub(crate) fn run_check(a: CheckArgs, diag: &mut Diag) -> Result<ExitCode> {
    let base = a
        .base_manifests
        .clone()
        .or(a.base.clone())
        .expect("clap requires --base");
    let head = a
        .head_manifests
        .clone()
        .or(a.head.clone())
        .expect("clap requires --head");
    let mut findings = match check_findings(&a, &base, &head, diag)? {
        Checked::Findings(f) => f,
        Checked::Unreadable(f) => return check_unreadable(&a, *f, diag),
    };
    accept_removed(&mut findings, &a.allow_removed)?;
    check::mark_blocking(&mut findings, a.strict);
    // A base read from git is the same file at another revision: its places name the PATH, so
    // that annotations resolve, and the label names the revision.
    if let Some((rev, path)) = git_spec(&base) {
        for r in findings.iter_mut().flat_map(|f| f.related.iter_mut()) {
            if r.file == base {
                r.file = path.to_owned();
                r.label = Some(format!("base ({rev})"));
            }
        }
    }
    let mut report = Report::new("check", findings);
    report.details.insert("base".into(), base.into());
    report.details.insert("head".into(), head.into());
    report.details.insert("strict".into(), a.strict.into());
    let color = product_color(&a.color, a.output.as_deref());
    let out = output::render(&report, format_of(&a.format), color);
    deliver(a.output.as_deref(), &out)?;
    diag.say(&format!(
        "pvc-resize: {} error(s), {} warning(s), {} notice(s){}",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Notice),
        if report.blocking() { "; blocking" } else { "" }
    ));
    Ok(ExitCode::from(u8::from(report.blocking())))
}
