//! The values path of each target, as the plan takes it: proven by Helm on the chart when the
//! chart is at hand (`--chart DIR|TGZ`), else from the fallback table; otherwise blocking.

use super::{Finding, Input, Severity, Target};
use crate::charts::paths::{Found, Origin};
use crate::charts::prove::ClaimId;

/// Finds and proves the values paths of claims (`--chart` given as a local chart, Helm on PATH):
/// the `(StatefulSet, claim)` list and the `--path` to try first.
pub type Discover<'a> = dyn Fn(&[ClaimId], Option<&str>) -> Result<Vec<Found>, String> + 'a;

fn claim_id(t: &Target) -> ClaimId {
    ClaimId {
        object: format!("StatefulSet/{}", t.statefulset),
        claim: t.claim.clone(),
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
                .hint("render the chart as the release does (helm dependency build for a folder; --values FILE with the release's values), or leave out --chart and pass --path"),
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
            "StatefulSet {} claim {}: the chart reads its size from {path} (found in {} of {}; proven with helm template: a sentinel size at {path} changes that claim template and nothing else)",
            t.statefulset,
            t.claim,
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
                "--path {given}, but the chart sizes StatefulSet {} claim {} by {path} (proven with helm template); {given}: {}",
                t.statefulset,
                t.claim,
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
                "StatefulSet {} claim {}: no values path of the chart is proven to size it: {why}",
                t.statefulset, t.claim
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
                    "StatefulSet {} claim {}: its chart is not in the built-in table, so the values key that sizes it can't be told without the chart",
                    t.statefulset, t.claim
                ),
            )
            .hint("pass --chart with the chart's folder or .tgz (helm pull --untar, with helm on PATH): the plan reads and proves the key; or pass --path KEY once helm template --set KEY=SIZE shows it changes that claim"),
            t,
        ));
    }
}
