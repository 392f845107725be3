//! The values path of every claim asked for, found in the chart and proven by Helm: the paths the
//! claim's template reads on its `storage:` line come first, then any values leaf that holds the
//! claim's rendered size; the first whose sentinel render changes exactly that claim wins.

use super::prove::{self, ClaimId, Effect, Render, Renderer};
use super::source::Chart;
use super::templates;
use crate::k8s::quantity::Quantity;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where a candidate path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Read on the claim template's `storage:` line (through helpers and variables).
    Template,
    /// A values leaf that holds the rendered size.
    Values,
    /// Given by the user (`--path`).
    Given,
}

/// The answer for one claim.
#[derive(Debug, Clone)]
pub struct Found {
    pub claim: ClaimId,
    /// The proven path.
    pub path: Option<String>,
    pub origin: Option<Origin>,
    /// The source template of the claim's object in the chart's render.
    pub source: Option<String>,
    /// Every candidate tried and what its sentinel did (when not proven).
    pub tried: Vec<(String, String)>,
    /// Why nothing could be tried (the claim is not in the chart's render).
    pub missing: Option<String>,
}

/// Every claim of the chart's render (with the renderer's values) and the path proven for it:
/// the layout `check`, `validate` and `values` read a values file by when `--chart` is given.
pub fn all_paths(chart: &Chart, r: &Renderer) -> Result<Vec<Found>, String> {
    let render = prove::read(&r.render(None)?)?;
    let claims: Vec<ClaimId> = prove::all_claims(&render).into_keys().collect();
    discover(chart, r, &claims, None)
}

/// Finds and proves the path of every claim of `wants`, trying `first` (a path the user gave)
/// before the chart's own candidates. `Err` when Helm can't render the chart.
pub fn discover(
    chart: &Chart,
    r: &Renderer,
    wants: &[ClaimId],
    first: Option<&str>,
) -> Result<Vec<Found>, String> {
    let base = prove::read(&r.render(None)?)?;
    let again = prove::read(&r.render(None)?)?;
    let mut noisy = prove::noise(&base, &again);
    let mut settled = false;
    let sentinel = prove::sentinel(&base);
    let sizes = prove::all_claims(&base);
    let leaves = value_leaves(chart, &r.values);
    let mut effects: BTreeMap<String, Result<Effect, String>> = BTreeMap::new();
    let mut out = Vec::new();
    for want in wants {
        let source = base.object(&want.object).and_then(|d| d.source.clone());
        let mut found = Found {
            claim: want.clone(),
            path: None,
            origin: None,
            source: source.clone(),
            tried: Vec::new(),
            missing: None,
        };
        let Some(size) = sizes.get(want) else {
            found.missing = Some(format!(
                "`helm template` of the chart with {} renders no {want}",
                values_list(r)
            ));
            out.push(found);
            continue;
        };
        for (path, origin) in candidates(chart, first, source.as_deref(), &leaves, size) {
            if !effects.contains_key(&path) {
                let mut e = try_path(r, &base, &noisy, &path, &sentinel);
                // Documents named after the time (PostHog's Jobs carry the render's second)
                // differ only once the clock has moved, and the two plain renders above may share
                // a second. When a sentinel render changes other documents, render the baseline
                // once more, later than that render, and take what changed by itself as noise.
                if !settled && matches!(&e, Ok(x) if !x.documents.is_empty()) {
                    settled = true;
                    noisy.extend(prove::noise(&base, &prove::read(&r.render(None)?)?));
                    effects.clear();
                    e = try_path(r, &base, &noisy, &path, &sentinel);
                }
                effects.insert(path.clone(), e);
            }
            match &effects[&path] {
                Ok(e) if e.proves(want) => {
                    found.path = Some(path);
                    found.origin = Some(origin);
                    break;
                }
                Ok(e) => found.tried.push((path, e.describe())),
                Err(err) => found.tried.push((path, err.clone())),
            }
        }
        out.push(found);
    }
    Ok(out)
}

/// The paths to try for one claim, each once, in order: the one given, those its template
/// reads, then the values leaves that hold its size.
fn candidates(
    chart: &Chart,
    first: Option<&str>,
    source: Option<&str>,
    leaves: &[(String, String)],
    size: &str,
) -> Vec<(String, Origin)> {
    let mut candidates: Vec<(String, Origin)> = first
        .map(|p| (p.to_owned(), Origin::Given))
        .into_iter()
        .collect();
    let reads = template_reads(chart, source).into_iter();
    let reads = reads.map(|p| (p, Origin::Template));
    let leaves = matching(leaves, size)
        .into_iter()
        .map(|p| (p, Origin::Values));
    for (p, origin) in reads.chain(leaves) {
        if !candidates.iter().any(|(c, _)| *c == p) {
            candidates.push((p, origin));
        }
    }
    candidates
}

/// What the chart says of one claim's `volumeAttributesClassName`: the values paths its template
/// reads on that line, the one Helm proved, and what each other one did.
#[derive(Debug, Clone, Default)]
pub struct ClassPath {
    pub source: Option<String>,
    pub reads: Vec<String>,
    pub proven: Option<String>,
    pub tried: Vec<(String, String)>,
}

/// Finds the values path of each claim's `volumeAttributesClassName`: the paths its template
/// reads on that line, each proven by a Helm render with it set to `class` (the claim template
/// must then name `class`).
pub fn discover_class(
    chart: &Chart,
    r: &Renderer,
    wants: &[ClaimId],
    class: &str,
    first: Option<&str>,
) -> Result<Vec<ClassPath>, String> {
    let base = prove::read(&r.render(None)?)?;
    // What differs between two plain renders (generated secrets) is no change of the class path's.
    let mut noisy = prove::noise(&base, &prove::read(&r.render(None)?)?);
    let mut settled = false;
    let mut renders: BTreeMap<String, Result<Render, String>> = BTreeMap::new();
    let mut out = Vec::new();
    for want in wants {
        let source = base.object(&want.object).and_then(|d| d.source.clone());
        let reads = class_reads(chart, first, source.as_deref());
        let mut found = ClassPath {
            source,
            reads: reads.clone(),
            ..ClassPath::default()
        };
        for path in reads {
            let with = renders
                .entry(path.clone())
                .or_insert_with(|| prove::read(&r.render(Some(&prove::overlay(&path, class)))?));
            let mut others = with
                .as_ref()
                .map(|w| prove::class_changes(&base, &noisy, w, wants))
                .unwrap_or_default();
            // Documents named after the time (as in `discover`): the baseline once more, later.
            if !settled && !others.is_empty() {
                settled = true;
                noisy.extend(prove::noise(&base, &prove::read(&r.render(None)?)?));
                others = with
                    .as_ref()
                    .map(|w| prove::class_changes(&base, &noisy, w, wants))
                    .unwrap_or_default();
            }
            match with.as_ref().map(|w| class_of(w, want)) {
                Ok(Some(c)) if c == class && others.is_empty() => {
                    found.proven = Some(path);
                    break;
                }
                Ok(got) => found.tried.push((path, not_proven(got, class, &others))),
                Err(e) => found.tried.push((path, e.clone())),
            }
        }
        out.push(found);
    }
    Ok(out)
}

/// The paths to try for a claim's class, each once: the one given, then those its template reads
/// on the `volumeAttributesClassName:` line.
fn class_reads(chart: &Chart, first: Option<&str>, source: Option<&str>) -> Vec<String> {
    let mut reads: Vec<String> = first.map(str::to_owned).into_iter().collect();
    for p in template_field_reads(chart, source, "volumeAttributesClassName:") {
        if !reads.contains(&p) {
            reads.push(p);
        }
    }
    reads
}

/// Why a rendered path is not the class's: it sets the class but changes other documents too, or
/// the claim template's class is then another one (or none).
fn not_proven(got: Option<&str>, class: &str, others: &[String]) -> String {
    match got {
        Some(c) if c == class => format!(
            "it sets the class, but also changes {}: only the target claim templates may change",
            others.join(", ")
        ),
        other => format!(
            "the claim template's class is then {}",
            other.unwrap_or("unset")
        ),
    }
}

/// The `volumeAttributesClassName` of a claim template in a render.
pub fn class_of<'r>(r: &'r Render, want: &ClaimId) -> Option<&'r str> {
    r.object(&want.object)?
        .value
        .pointer("/spec/volumeClaimTemplates")?
        .as_array()?
        .iter()
        .find(|t| t.pointer("/metadata/name").and_then(Value::as_str) == Some(want.claim.as_str()))?
        .pointer("/spec/volumeAttributesClassName")?
        .as_str()
}

fn values_list(r: &Renderer) -> String {
    if r.values.is_empty() {
        "its default values".to_owned()
    } else {
        r.values.join(", ")
    }
}

fn try_path(
    r: &Renderer,
    base: &Render,
    noisy: &BTreeSet<String>,
    path: &str,
    sentinel: &str,
) -> Result<Effect, String> {
    let text = r.render(Some(&prove::overlay(path, sentinel)))?;
    let with = prove::read(&text)?;
    Ok(prove::effect(base, noisy, &with, sentinel))
}

/// The paths the claim's template reads on its `storage:` lines, as top-chart values paths; for a
/// subchart's path that the parent imports (`import-values`), the parent's key too.
pub fn template_reads(chart: &Chart, source: Option<&str>) -> Vec<String> {
    template_field_reads(chart, source, "storage:")
}

/// The values paths the claim's template reads on its lines that start with `key` (as
/// [`template_reads`] does for `storage:`).
pub fn template_field_reads(chart: &Chart, source: Option<&str>, key: &str) -> Vec<String> {
    let Some((prefix, sub, template)) = source.and_then(|s| chart.locate(s)) else {
        return Vec::new();
    };
    let Some(text) = sub.files.get(&template) else {
        return Vec::new();
    };
    let defines = templates::defines(chart);
    let mut out = Vec::new();
    for p in templates::field_reads(text, &defines, key) {
        out.push(templates::qualified(&prefix, &p));
        if prefix.is_empty() {
            out.extend(imported_from(chart, &p));
        }
    }
    out
}

/// A top-chart path filled by a dependency's `import-values`: the subchart's own path for it.
fn imported_from(chart: &Chart, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for d in &chart.dependencies {
        for (child, parent) in &d.imports {
            let rest = if parent.is_empty() {
                Some(path)
            } else {
                path.strip_prefix(parent.as_str())
                    .and_then(|r| r.strip_prefix('.'))
            };
            if let Some(rest) = rest {
                let child = child.strip_prefix("exports.").unwrap_or(child);
                out.push(format!("{}.{child}.{rest}", d.key()));
            }
        }
    }
    out
}

/// Every scalar leaf of the charts' `values.yaml` (under their prefixes) and the user's values
/// files, as `(top-chart path, text)`.
fn value_leaves(chart: &Chart, files: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (prefix, c) in chart.all() {
        let Some(v) = c
            .files
            .get("values.yaml")
            .and_then(|t| serde_yaml::from_str::<Value>(t).ok())
        else {
            continue;
        };
        leaves(&v, &mut Vec::new(), &mut |p, s| {
            out.push((templates::qualified(&prefix, &p.join(".")), s));
        });
    }
    for f in files {
        let Some(v) = std::fs::read_to_string(f)
            .ok()
            .and_then(|t| serde_yaml::from_str::<Value>(&t).ok())
        else {
            continue;
        };
        leaves(&v, &mut Vec::new(), &mut |p, s| out.push((p.join("."), s)));
    }
    out
}

fn leaves(v: &Value, at: &mut Vec<String>, f: &mut dyn FnMut(&[String], String)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k.contains('.') {
                    continue;
                }
                at.push(k.clone());
                leaves(x, at, f);
                at.pop();
            }
        }
        Value::String(s) => f(at, s.clone()),
        Value::Number(n) => f(at, n.to_string()),
        _ => {}
    }
}

/// The leaves whose value is the rendered size (compared as quantities), each once.
fn matching(leaves: &[(String, String)], size: &str) -> Vec<String> {
    let Ok(size) = Quantity::parse(size) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for (p, v) in leaves {
        if Quantity::parse(v).is_ok_and(|q| q == size) && !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_matching_a_size() {
        let v: Value = serde_yaml::from_str(
            "a:\n  size: 8Gi\n  other: 8192Mi\n  n: 8\nb:\n  size: 20Gi\nc.d: 8Gi\n",
        )
        .unwrap();
        let mut out = Vec::new();
        leaves(&v, &mut Vec::new(), &mut |p, s| out.push((p.join("."), s)));
        assert_eq!(matching(&out, "8Gi"), ["a.size", "a.other"]);
        assert_eq!(matching(&out, "nonsense"), Vec::<String>::new());
    }
}
