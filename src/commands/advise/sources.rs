//! What `advise` knows besides the metrics: the volumes of the cluster snapshot grouped by
//! StatefulSet claim template (all ordinals together) or as lone chart-rendered PVCs, and, per
//! release, the values file and the render that size them.

use crate::charts::layout::{self, BLOCK_LAYOUTS};
use crate::k8s::objects;
use crate::k8s::snapshot::Object;
use crate::k8s::stream;
use crate::yaml::{self, Pos};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One PVC of the snapshot.
#[derive(Debug, Clone)]
pub struct LivePvc {
    pub name: String,
    pub ordinal: Option<i64>,
    /// The larger of `spec.resources.requests.storage` and `status.capacity.storage`, as written.
    pub size: Option<String>,
    pub bytes: Option<u64>,
    pub line: usize,
}

/// A claim template of a StatefulSet, or a lone chart-rendered PVC.
#[derive(Debug, Clone)]
pub struct Volumes {
    pub namespace: String,
    pub release: Option<String>,
    /// `None` for a lone PVC.
    pub statefulset: Option<String>,
    pub claim: Option<String>,
    /// The live StatefulSet's claim template size (`None` for a lone PVC).
    pub template_size: Option<(String, usize)>,
    pub pvcs: Vec<LivePvc>,
    /// Where the StatefulSet (or the lone PVC) starts in the snapshot.
    pub line: usize,
}

fn release_of(o: &Object) -> Option<String> {
    o.str("/metadata/annotations/meta.helm.sh~1release-name")
        .or_else(|| o.str("/metadata/labels/app.kubernetes.io~1instance"))
        .map(str::to_owned)
}

fn live(o: &Object, ordinal: Option<i64>) -> LivePvc {
    let sizes = [
        o.str("/spec/resources/requests/storage"),
        o.str("/status/capacity/storage"),
    ];
    let best = sizes
        .into_iter()
        .flatten()
        .filter_map(|t| super::policy::bytes_of(t).map(|b| (b, t)))
        .max_by_key(|(b, _)| *b);
    LivePvc {
        name: o.name.clone(),
        ordinal,
        size: best.map(|(_, t)| t.to_owned()),
        bytes: best.map(|(b, _)| b),
        line: o.line,
    }
}

/// The volume groups of a snapshot: each claim template of each StatefulSet with the PVCs
/// `<claim>-<sts>-<ordinal>` (all of them, also beyond `replicas`), then each PVC that Helm made
/// (`meta.helm.sh/release-name`) and no StatefulSet claims.
pub fn groups(objects: &[Object]) -> Vec<Volumes> {
    let mut pvcs: BTreeMap<&str, BTreeMap<&str, &Object>> = BTreeMap::new();
    for o in objects.iter().filter(|o| o.kind == "PersistentVolumeClaim") {
        pvcs.entry(o.namespace.as_str())
            .or_default()
            .insert(o.name.as_str(), o);
    }
    let mut claimed: HashMap<(&str, &str), ()> = HashMap::new();
    let mut out = Vec::new();
    for sts in objects.iter().filter(|o| o.kind == "StatefulSet") {
        let templates = sts
            .json
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array);
        for t in templates.into_iter().flatten() {
            let Some(claim) = t.pointer("/metadata/name").and_then(Value::as_str) else {
                continue;
            };
            let prefix = format!("{claim}-{}-", sts.name);
            let ns = sts.namespace.as_str();
            let mut members = Vec::new();
            let Some(names) = pvcs.get(ns) else {
                out.push(template_group(sts, t, claim, Vec::new()));
                continue;
            };
            for (&name, o) in names.range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            )) {
                if !name.starts_with(&prefix) {
                    break;
                }
                if let Some(i) = objects::pvc_ordinal(name, claim, &sts.name) {
                    claimed.insert((ns, name), ());
                    members.push(live(o, Some(i)));
                }
            }
            members.sort_by_key(|p| p.ordinal);
            out.push(template_group(sts, t, claim, members));
        }
    }
    for (&ns, names) in &pvcs {
        for (&name, o) in names {
            if claimed.contains_key(&(ns, name)) {
                continue;
            }
            if o.str("/metadata/annotations/meta.helm.sh~1release-name")
                .is_some()
            {
                out.push(Volumes {
                    namespace: ns.to_owned(),
                    release: release_of(o),
                    statefulset: None,
                    claim: None,
                    template_size: None,
                    pvcs: vec![live(o, None)],
                    line: o.line,
                });
            }
        }
    }
    out
}

fn template_group(sts: &Object, t: &Value, claim: &str, pvcs: Vec<LivePvc>) -> Volumes {
    let size = t
        .pointer("/spec/resources/requests/storage")
        .and_then(Value::as_str)
        .map(|s| (s.to_owned(), sts.line));
    Volumes {
        namespace: sts.namespace.clone(),
        release: release_of(sts),
        statefulset: Some(sts.name.clone()),
        claim: Some(claim.to_owned()),
        template_size: size,
        pvcs,
        line: sts.line,
    }
}

/// A size read from a file: its text and place.
#[derive(Debug, Clone)]
pub struct Placed {
    pub file: String,
    pub text: String,
    pub pos: Pos,
}

/// A StatefulSet or PVC of a render: where it was rendered from and its sizes per claim.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub file: String,
    pub source: Option<String>,
    /// Claim name (`""` for a PVC) -> its size.
    pub sizes: BTreeMap<String, Placed>,
}

/// The StatefulSets and PVCs of the renders, by (kind, name). Documents that aren't either are
/// not parsed.
pub fn renders(files: &[(String, String)]) -> Result<HashMap<(String, String), Rendered>, String> {
    let mut out = HashMap::new();
    for (file, text) in files {
        for chunk in stream::split(text) {
            let doc = &text[chunk.range.clone()];
            if !stream::holds_any(doc, &["StatefulSet", "PersistentVolumeClaim"]) {
                continue;
            }
            let docs = yaml::parse_stream(doc, chunk.range.start, chunk.line - 1)
                .map_err(|e| crate::k8s::schema::syntax_finding(file, &e).to_string())?;
            let Some(root) = docs.into_iter().find_map(|d| d.root) else {
                continue;
            };
            let source = stream::source_comment(doc).map(str::to_owned);
            if let Some((key, r)) = rendered(file, &root, source) {
                out.entry(key).or_insert(r);
            }
        }
    }
    Ok(out)
}

fn rendered(
    file: &str,
    root: &yaml::Node,
    source: Option<String>,
) -> Option<((String, String), Rendered)> {
    let kind = root.get("kind")?.as_str()?.to_owned();
    let name = objects::str_at(root, &["metadata", "name"])?;
    let sized = |n: &yaml::Node| {
        n.get_path(&["spec", "resources", "requests", "storage"])
            .and_then(|s| s.as_str().map(|t| (t, s.pos)))
            .map(|(t, pos)| Placed {
                file: file.to_owned(),
                text: t.to_owned(),
                pos,
            })
    };
    let mut sizes = BTreeMap::new();
    match kind.as_str() {
        "StatefulSet" => {
            let templates = root.get_path(&["spec", "volumeClaimTemplates"]);
            for t in templates.map(yaml::Node::items).unwrap_or_default() {
                if let (Some(c), Some(s)) = (objects::str_at(t, &["metadata", "name"]), sized(t)) {
                    sizes.insert(c, s);
                }
            }
        }
        "PersistentVolumeClaim" => {
            sizes.insert(String::new(), sized(root)?);
        }
        _ => return None,
    }
    Some((
        (kind, name),
        Rendered {
            file: file.to_owned(),
            source,
            sizes,
        },
    ))
}

/// The values path that sizes a claim template: from where the render put the StatefulSet
/// (`posthog/charts/kafka/...` -> `kafka.persistence.size`), else from the chart layouts whose
/// StatefulSet name fits (`RELEASE-posthog-kafka`), the values file's own keys deciding between
/// charts.
pub fn values_path(
    v: &Volumes,
    render: Option<&Rendered>,
    values_root: Option<&yaml::Node>,
) -> Option<String> {
    let Some(sts) = v.statefulset.as_deref() else {
        return lone_values_path(render, values_root?);
    };
    let (claim, release) = (v.claim.as_deref()?, v.release.as_deref()?);
    if let Some(p) = render.and_then(|r| layout::infer_values_path(r.source.as_deref(), claim)) {
        return Some(p);
    }
    let fits: Vec<_> = BLOCK_LAYOUTS
        .iter()
        .filter(|l| l.claim == claim && l.statefulset.replace("RELEASE", release) == sts)
        .collect();
    let chart = values_root.and_then(layout::values_chart).map(|(c, _)| c);
    let pick = match fits.as_slice() {
        [one] => Some(*one),
        many => many.iter().find(|l| Some(l.chart) == chart).copied(),
    };
    pick.map(|l| format!("{}.size", l.block))
}

/// The values path of a lone chart-rendered PVC: the one `persistence.size` of the values file
/// (under the subchart's key when the render says it came from `CHART/charts/SUB/templates/`).
fn lone_values_path(render: Option<&Rendered>, root: &yaml::Node) -> Option<String> {
    let prefix: Vec<String> = render
        .and_then(|r| r.source.as_deref())
        .and_then(|s| s.split_once("/templates/"))
        .map(|(chart, _)| chart.split("/charts/").skip(1).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut found = Vec::new();
    persistence_sizes(root, &mut Vec::new(), &mut found);
    let mut fits = found
        .into_iter()
        .filter(|p| p.len() == prefix.len() + 2 && p.starts_with(&prefix));
    match (fits.next(), fits.next()) {
        (Some(one), None) => Some(one.join(".")),
        _ => None,
    }
}

/// Every path `....persistence.size` of a values tree.
fn persistence_sizes(node: &yaml::Node, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let yaml::Kind::Mapping { entries, .. } = &node.kind else {
        return;
    };
    for (k, v) in entries {
        let Some(key) = k.as_str() else { continue };
        path.push(key.to_owned());
        if key == "size"
            && path.len() >= 2
            && path[path.len() - 2] == "persistence"
            && v.as_str().is_some()
        {
            out.push(path.clone());
        } else if path.len() < 8 {
            persistence_sizes(v, path, out);
        }
        path.pop();
    }
}

/// The values file of a release among `files`: the one whose name or folder is the release's
/// (`RELEASE.yaml`, `RELEASE-values.yaml`, `RELEASE/values.yaml`, `NS/RELEASE/...`), a folder
/// named after the namespace breaking ties; the only file when there is one.
pub fn values_file<'a>(
    files: &'a [(String, String)],
    release: &str,
    namespace: &str,
) -> Option<&'a (String, String)> {
    if let [only] = files {
        return Some(only);
    }
    let score = |path: &str| {
        let parts: Vec<&str> = path.split(['/', '\\']).collect();
        let (last, dirs) = parts.split_last()?;
        let stem = last.trim_end_matches(".yaml").trim_end_matches(".yml");
        let named = stem == release
            || stem
                .strip_prefix(release)
                .is_some_and(|r| r.starts_with(['-', '.', '_']))
            || stem
                .strip_suffix(release)
                .is_some_and(|r| r.ends_with(['-', '.', '_']))
            || dirs.contains(&release);
        named.then(|| usize::from(dirs.contains(&namespace)))
    };
    let mut best: Vec<(usize, &(String, String))> = files
        .iter()
        .filter_map(|f| score(&f.0).map(|s| (s, f)))
        .collect();
    best.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
    match best.as_slice() {
        [] => None,
        [(_, f)] => Some(f),
        [(a, f), (b, _), ..] if a > b => Some(f),
        _ => None,
    }
}

/// The size at a dotted path of a values file, with its place.
pub fn size_at(file: &str, root: &yaml::Node, path: &str) -> Option<Placed> {
    let keys: Vec<&str> = path.split('.').collect();
    let node = root.get_path(&keys)?;
    Some(Placed {
        file: file.to_owned(),
        text: node.as_str()?.to_owned(),
        pos: node.pos,
    })
}

/// The root of a values file as Helm 3 reads it (the first document).
pub fn values_root(text: &str) -> Option<yaml::Node> {
    yaml::parse_stream(text, 0, 0)
        .ok()?
        .into_iter()
        .find_map(|d| d.root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), String::new()))
            .collect()
    }

    #[test]
    fn values_files_by_release() {
        let f = files(&[
            "gitops/prod/posthog/values.yaml",
            "gitops/stage/posthog/values.yaml",
            "gitops/prod/kafka.yaml",
        ]);
        assert_eq!(
            values_file(&f, "posthog", "prod").unwrap().0,
            "gitops/prod/posthog/values.yaml"
        );
        assert_eq!(
            values_file(&f, "kafka", "prod").unwrap().0,
            "gitops/prod/kafka.yaml"
        );
        assert!(
            values_file(&f, "posthog", "other").is_none(),
            "two equal candidates"
        );
        assert!(values_file(&f, "redis", "prod").is_none());
        let one = files(&["values.yaml"]);
        assert_eq!(values_file(&one, "any", "ns").unwrap().0, "values.yaml");
    }
}
