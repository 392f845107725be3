//! `pvc-resize advise`: reads the metrics, the snapshot, values files and renders, asks
//! `commands::advise`, writes the report.

use super::*;
use crate::cli::AdviseArgs;
use anyhow::{Context, Result, anyhow};
use pvc_resize::commands::advise::{self, policy};
use pvc_resize::finding::{Report, Severity};
use pvc_resize::fsutil;
use pvc_resize::output;
use std::process::ExitCode;

pub(crate) fn run_advise(a: AdviseArgs, diag: &mut Diag) -> Result<ExitCode> {
    use pvc_resize::commands::advise::metrics;
    let policy = policy_of(&a)?;
    let metric_files = read_all(&a.metrics, false)?;
    let sources: Vec<metrics::Source<'_>> = metric_files
        .iter()
        .map(|(f, t)| metrics::Source {
            name: if f == "-" { "<stdin>" } else { f },
            text: t,
            default_time_ms: file_time_ms(f),
        })
        .collect();
    let cluster = fsutil::read_text(&a.cluster).map_err(|e| anyhow!(e))?;
    let values = read_all(&a.values, true)?;
    let manifests = read_all(&a.manifests, true)?;
    let input = advise::Input {
        metrics: &sources,
        cluster: (&a.cluster, &cluster),
        values: &values,
        manifests: &manifests,
        policy,
        settings: advise::Settings {
            target_usage: a.target_usage.clone(),
            min_step: a.min_step.clone(),
            max: a.max.clone(),
            horizon: a.horizon.clone(),
        },
    };
    let advice = advise::advise(&input).map_err(|e| anyhow!(e))?;
    let out = rendered(&a, &advice);
    emit(out.as_bytes())?;
    let acting = advice.groups.iter().filter(|g| g.needs_action).count();
    diag.say(&format!(
        "pvc-resize: {} volume group(s), {acting} need action within {}; {} error(s), {} warning(s), {} notice(s)",
        advice.groups.len(),
        a.horizon,
        advice.findings.iter().filter(|f| f.severity == Severity::Error).count(),
        advice.findings.iter().filter(|f| f.severity == Severity::Warning).count(),
        advice.findings.iter().filter(|f| f.severity == Severity::Notice).count(),
    ));
    Ok(ExitCode::from(u8::from(advice.needs_action)))
}

/// The sizing policy of the flags (`--target-usage`, `--min-step`, `--max`, `--horizon`).
fn policy_of(a: &AdviseArgs) -> Result<policy::Policy> {
    Ok(policy::Policy {
        target_bp: policy::parse_percent("--target-usage", &a.target_usage)
            .map_err(|e| anyhow!(e))?,
        min_step: policy::parse_step(&a.min_step).map_err(|e| anyhow!(e))?,
        max: a
            .max
            .as_deref()
            .map(parse_size)
            .transpose()
            .context("--max")?,
        horizon_ms: policy::parse_duration("--horizon", &a.horizon).map_err(|e| anyhow!(e))?,
    })
}

/// The advice in the format asked: markdown, JSON, a findings report, or text.
fn rendered(a: &AdviseArgs, advice: &advise::Advice) -> String {
    match a.format.as_str() {
        "markdown" => advise::render::markdown(advice),
        "json" => advise::render::json(advice),
        "github" | "sarif" => output::render(
            &Report::new("advise", advice.findings.clone()),
            format_of(&a.format),
            false,
        ),
        _ => advise::render::text(
            advice,
            output::text::Style {
                color: stdout_color(&a.color),
            },
        ),
    }
}

/// The files of a path: itself, or every file under a folder (recursively, in name order; with
/// `yaml_only`, the `.yaml` and `.yml` files).
pub(crate) fn files_under(path: &str, yaml_only: bool) -> Result<Vec<String>> {
    let p = std::path::Path::new(path);
    if path == "-" || !p.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![p.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("{}: cannot read the folder", d.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("{}: cannot read the folder", d.display()))?;
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if !yaml_only || path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(path.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn read_all(paths: &[String], yaml_only: bool) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for p in paths {
        for f in files_under(p, yaml_only)? {
            let text = fsutil::read_text(&f).map_err(|e| anyhow!(e))?;
            out.push((f, text));
        }
    }
    Ok(out)
}

/// The modification time of a file in ms since the epoch (now for stdin): the time of its
/// samples that carry no timestamp.
pub(crate) fn file_time_ms(path: &str) -> i64 {
    let t = if path == "-" {
        Some(std::time::SystemTime::now())
    } else {
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    };
    t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}
