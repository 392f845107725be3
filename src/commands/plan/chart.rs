//! The values path of each target, as the plan takes it: proven by Helm on the chart when the
//! chart is at hand (`--chart DIR|TGZ`), else from the fallback table; otherwise blocking.

use super::{Finding, Input, Location, Severity, Target, ValuesChange};
use crate::charts::paths::{Found, Origin};
use crate::charts::prove::ClaimId;
use crate::commands::values::{self, Change, ValuesPath};
use crate::fsutil::hinted;

/// Finds and proves the values paths of claims (`--chart` given as a local chart, Helm on PATH):
/// the `(StatefulSet, claim)` list and the `--path` to try first.
pub type Discover<'a> = dyn Fn(&[ClaimId], Option<&str>) -> Result<Vec<Found>, String> + 'a;

fn claim_id(t: &Target) -> ClaimId {
    if let Some(r) = &t.resource {
        return ClaimId {
            object: r.clone(),
            claim: t.claim.clone(),
        };
    }
    match &t.pvc {
        Some(p) => ClaimId {
            object: format!("PersistentVolumeClaim/{p}"),
            claim: p.clone(),
        },
        None => ClaimId {
            object: format!("StatefulSet/{}", t.statefulset),
            claim: t.claim.clone(),
        },
    }
}

/// "StatefulSet S claim C", or "PersistentVolumeClaim P".
fn what(t: &Target) -> String {
    match &t.pvc {
        None if t.is_operator() => format!("{} claim template {}", t.object(), t.claim),
        Some(_) => t.object(),
        None => format!("StatefulSet {} claim {}", t.statefulset, t.claim),
    }
}

/// Sets each target's values path from the chart's proof, or says why it can't be set. Findings
/// about the table's path (`values-path-differs`) give way to the proof.
pub fn apply(input: &Input<'_>, targets: &mut [Target], findings: &mut Vec<Finding>) {
    if input.post_renderer_only || targets.is_empty() {
        return;
    }
    let Some(discover) = input.discover else {
        unknown_paths(input, targets, findings);
        return;
    };
    let wants: Vec<ClaimId> = targets.iter().map(claim_id).collect();
    let found = match discover(&wants, input.values_path) {
        Ok(found) => found,
        Err(e) => {
            findings.push(
                Finding::new(
                    "chart-render-failed",
                    Severity::Error,
                    format!("Helm can't render the chart given with --chart, so no values path can be proven: {e}"),
                )
                .hint("render the chart as the release does (`helm dependency build CHART` for a folder; --values FILE with the release's values), or leave out --chart and pass --path"),
            );
            return;
        }
    };
    findings.retain(|f| f.id != "values-path-differs");
    for (t, f) in targets.iter_mut().zip(found) {
        match (&f.path, input.values_path) {
            (Some(p), Some(given)) if p != given => {
                findings.push(not_read(t, &f, given, p));
            }
            (Some(p), _) => {
                t.values_path = Some(p.clone());
                findings.push(proven(t, &f, p));
            }
            (None, _) => findings.push(unproven(t, &f, input.values_path)),
        }
    }
}

fn located(f: Finding, t: &Target) -> Finding {
    match &t.at {
        Some(at) => f.at(at.clone()),
        None => f,
    }
}

fn proven(t: &Target, f: &Found, path: &str) -> Finding {
    let how = match f.origin {
        Some(Origin::Values) => "a values key holding its size",
        _ => "the template's storage line",
    };
    Finding::new(
        "values-path-proven",
        Severity::Notice,
        format!(
            "{}: the chart reads its size from {path} (found in {} of {}; proven with helm template: a sentinel size at {path} changes that claim and nothing else)",
            what(t),
            how,
            f.source.as_deref().unwrap_or("the chart")
        ),
    )
}

fn not_read(t: &Target, f: &Found, given: &str, path: &str) -> Finding {
    located(
        Finding::new(
            "values-path-not-read",
            Severity::Error,
            format!(
                "--path {given}, but the chart sizes {} by {path} (proven with helm template); {given}: {}",
                what(t),
                f.tried
                    .iter()
                    .find(|(p, _)| p == given)
                    .map_or("not tried", |(_, e)| e.as_str())
            ),
        )
        .hint(format!("leave out --path, or pass --path {path}")),
        t,
    )
}

fn unproven(t: &Target, f: &Found, given: Option<&str>) -> Finding {
    let tried: Vec<String> = f.tried.iter().map(|(p, e)| format!("{p} ({e})")).collect();
    let why = match (&f.missing, tried.is_empty()) {
        (Some(m), _) => m.clone(),
        (None, true) => "no values key on its storage line or holding its size".to_owned(),
        (None, false) => format!("none sizes that claim alone: {}", tried.join("; ")),
    };
    let hint = if given.is_some() {
        "the chart does not read --path for this claim: find the key its template uses (helm template --show-only TEMPLATE), check it with --set KEY=SIZE, then pass --path KEY".to_owned()
    } else {
        "find the key the claim's template reads (helm template --show-only TEMPLATE), check that --set KEY=SIZE changes that claim alone, then pass --path KEY".to_owned()
    };
    located(
        Finding::new(
            "values-path-unproven",
            Severity::Error,
            format!(
                "{}: no values path of the chart is proven to size it: {why}",
                what(t)
            ),
        )
        .hint(hint),
        t,
    )
}

/// Without the chart: a target the table does not know, and no `--path`, blocks the plan.
fn unknown_paths(input: &Input<'_>, targets: &[Target], findings: &mut Vec<Finding>) {
    if input.values_path.is_some() {
        return;
    }
    for t in targets.iter().filter(|t| t.values_path.is_none()) {
        findings.push(located(
            Finding::new(
                "values-path-unknown",
                Severity::Error,
                format!(
                    "{}: its chart is not in the built-in table, so the values key that sizes it can't be told without the chart",
                    what(t)
                ),
            )
            .hint("pass --chart with the chart's folder or .tgz (`helm pull CHART --untar`, with helm on PATH): the plan reads and proves the key; or pass --path KEY once `helm template RELEASE CHART --set KEY=SIZE` shows it changes that claim"),
            t,
        ));
    }
}

/// The values paths the plan sets: `--path`, or every target's own, each once, in order.
pub fn values_paths(input: &Input<'_>, targets: &[Target]) -> Vec<String> {
    if let Some(p) = input.values_path {
        return vec![p.to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    for p in targets.iter().filter_map(|t| t.values_path.as_ref()) {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// The values change: every path set to the size in one edit of the values file (`None` without a
/// values file, or when a shrink is refused, which becomes a finding).
pub fn values_change(
    input: &Input<'_>,
    paths: &[String],
    class_paths: &[String],
    findings: &mut Vec<Finding>,
) -> Result<Option<ValuesChange>, String> {
    let Some((file, text)) = input.values else {
        return Ok(None);
    };
    if paths.is_empty() {
        // A blocking finding already says why no path is known.
        if findings.iter().any(|f| f.blocking) {
            return Ok(None);
        }
        return Err(hinted(
            format!("{file}: the values path of the size could not be inferred from the chart"),
            "pass --chart with the chart's folder or .tgz, or --path (e.g. kafka.persistence.size)",
        ));
    }
    let mut output = text.to_owned();
    let mut changes = Vec::new();
    for p in paths {
        let path = ValuesPath::parse(p).map_err(|e| {
            hinted(
                format!("--path: {e}"),
                "a dotted path such as kafka.persistence.size; a literal dot in a key is written `\\.`",
            )
        })?;
        match values::set_size(&output, &path, input.size) {
            Ok(edit) => {
                changes.push(edit.change);
                output = edit.output;
            }
            Err(e) => return refused_size(file, e, findings),
        }
    }
    // The class, at each values path the chart reads it from (`--volume-attributes-class`).
    for p in class_paths {
        let (Some(class), Ok(path)) = (input.attributes_class, ValuesPath::parse(p)) else {
            continue;
        };
        let edit = values::set_text(&output, &path, class).map_err(|e| {
            hinted(
                format!("{file}:{e}"),
                format!("set {p}: {class} by hand (`pvc-resize values FILE --volume-attributes-class {class} --path {p}` is the same edit alone)"),
            )
        })?;
        changes.push(edit.change);
        output = edit.output;
    }
    let change = change_word(&changes);
    Ok(Some(ValuesChange {
        file: file.to_owned(),
        path: paths.join(" "),
        paths: paths.to_vec(),
        class_paths: class_paths.to_vec(),
        change,
        diff: crate::output::diff::unified_diff(text, &output, file),
    }))
}

/// A size edit of the values file that failed: a shrink becomes a blocking finding (and no values
/// change), anything else the error.
fn refused_size(
    file: &str,
    e: values::EditError,
    findings: &mut Vec<Finding>,
) -> Result<Option<ValuesChange>, String> {
    if e.message.contains("refusing to shrink") {
        let f = Finding::new("shrink", Severity::Error, e.message.clone())
            .at(Location::new(file, e.pos));
        findings.push(match e.hint {
            Some(h) => f.hint(h),
            None => f,
        });
        return Ok(None);
    }
    if e.hint.is_some() {
        return Err(format!("{file}:{e}"));
    }
    Err(hinted(
        format!("{file}:{e}"),
        "see `pvc-resize values FILE --size Q` for the same edit alone",
    ))
}

/// What the edits did to the file, as a whole: `inserted` (a key), else `replaced`, else
/// `unchanged`.
fn change_word(changes: &[Change]) -> &'static str {
    if changes.iter().any(|c| matches!(c, Change::Inserted { .. })) {
        "inserted"
    } else if changes.iter().any(|c| matches!(c, Change::Replaced { .. })) {
        "replaced"
    } else {
        "unchanged"
    }
}
