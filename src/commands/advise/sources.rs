//! What `advise` knows besides the metrics: the volumes of the cluster snapshot grouped by
//! StatefulSet claim template (all ordinals together) or as lone chart-rendered PVCs, and, per
//! release, the values file and the render that size them.

use crate::charts::layout::{self, BLOCK_LAYOUTS};
use crate::k8s::objects;
use crate::k8s::release::{Filter, Release, Want};
use crate::k8s::snapshot::Object;
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

/// The StatefulSets and PVCs of the renders, by (kind, name), read by the release model
/// ([`Release`]; chunks that can hold neither are not parsed).
pub fn renders(files: &[(String, String)]) -> Result<HashMap<(String, String), Rendered>, String> {
    let mut out = HashMap::new();
    let want = Want {
        filter: Filter::any_of(&["StatefulSet", "PersistentVolumeClaim"]),
        ..Want::default()
    };
    for (file, text) in files {
        let release = Release::read(text, &want)
            .map_err(|e| crate::k8s::schema::syntax_finding(file, &e).to_string())?;
        let placed = |n: &yaml::Node| {
            n.as_str().map(|t| Placed {
                file: file.clone(),
                text: t.to_owned(),
                pos: n.pos,
            })
        };
        for (o, sts) in release.statefulsets() {
            let sizes = sts
                .claims
                .iter()
                .filter_map(|c| Some((c.name.clone(), placed(c.storage?)?)))
                .collect();
            let r = Rendered {
                file: file.clone(),
                source: o.source.clone(),
                sizes,
            };
            out.entry(("StatefulSet".to_owned(), o.name.clone()))
                .or_insert(r);
        }
        for (p, o) in release.pvcs() {
            let size = p
                .node(o)
                .get_path(&["spec", "resources", "requests", "storage"]);
            let Some(size) = size.and_then(placed) else {
                continue;
            };
            let sizes = BTreeMap::from([(String::new(), size)]);
            let r = Rendered {
                file: file.clone(),
                source: o.source.clone(),
                sizes,
            };
            out.entry(("PersistentVolumeClaim".to_owned(), o.name.clone()))
                .or_insert(r);
        }
    }
    Ok(out)
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

/// The values files, indexed by the names a release may have in their paths.
pub struct ValuesIndex<'a> {
    files: &'a [(String, String)],
    by_name: HashMap<&'a str, Vec<usize>>,
}

/// A path's folders and file stem (`.yaml` / `.yml` cut).
fn parts(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split(['/', '\\']).collect();
    let last = parts.pop().unwrap_or("");
    (
        parts,
        last.trim_end_matches(".yaml").trim_end_matches(".yml"),
    )
}

impl<'a> ValuesIndex<'a> {
    pub fn new(files: &'a [(String, String)]) -> ValuesIndex<'a> {
        let mut by_name: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, (path, _)) in files.iter().enumerate() {
            let (dirs, stem) = parts(path);
            let mut names: Vec<&str> = dirs;
            names.push(stem);
            for (at, _) in stem.match_indices(['-', '.', '_']) {
                names.extend([&stem[..at], &stem[at + 1..]]);
            }
            names.sort_unstable();
            names.dedup();
            for n in names {
                by_name.entry(n).or_default().push(i);
            }
        }
        ValuesIndex { files, by_name }
    }

    /// The values file of a release: the one whose name or folder is the release's
    /// (`RELEASE.yaml`, `RELEASE-values.yaml`, `RELEASE/values.yaml`, `NS/RELEASE/...`), a folder
    /// named after the namespace breaking ties; the only file when there is one.
    pub fn find(&self, release: &str, namespace: &str) -> Option<&'a (String, String)> {
        if let [only] = self.files {
            return Some(only);
        }
        let mut best: Vec<(usize, &'a (String, String))> = self
            .by_name
            .get(release)
            .into_iter()
            .flatten()
            .map(|&i| {
                let f = &self.files[i];
                (usize::from(parts(&f.0).0.contains(&namespace)), f)
            })
            .collect();
        best.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
        match best.as_slice() {
            [] => None,
            [(_, f)] => Some(f),
            [(a, f), (b, _), ..] if a > b => Some(f),
            _ => None,
        }
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
    fn claim_templates_take_their_pvcs_only() {
        let text = "kind: List\nitems:\n\
            - {kind: StatefulSet, metadata: {name: kafka, namespace: n, annotations: {meta.helm.sh/release-name: r}}, spec: {volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 8Gi}}}}]}}\n\
            - {kind: PersistentVolumeClaim, metadata: {name: data-kafka-10, namespace: n}, spec: {resources: {requests: {storage: 8Gi}}}, status: {capacity: {storage: 9Gi}}}\n\
            - {kind: PersistentVolumeClaim, metadata: {name: data-kafka-2, namespace: n}}\n\
            - {kind: PersistentVolumeClaim, metadata: {name: data-kafka-broker-0, namespace: n}}\n\
            - {kind: PersistentVolumeClaim, metadata: {name: data-kafka-0, namespace: other}}\n\
            - {kind: PersistentVolumeClaim, metadata: {name: grafana, namespace: n, annotations: {meta.helm.sh/release-name: g}}}\n";
        let objects = crate::k8s::snapshot::read("c.yaml", text).unwrap();
        let g = groups(&objects);
        assert_eq!(g.len(), 2);
        let names: Vec<(&str, Option<i64>, Option<&str>)> = g[0]
            .pvcs
            .iter()
            .map(|p| (p.name.as_str(), p.ordinal, p.size.as_deref()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("data-kafka-2", Some(2), None),
                ("data-kafka-10", Some(10), Some("9Gi"))
            ]
        );
        assert_eq!(
            (
                g[0].release.as_deref(),
                g[0].template_size.as_ref().map(|t| t.0.as_str())
            ),
            (Some("r"), Some("8Gi"))
        );
        assert_eq!(
            (g[1].statefulset.as_deref(), g[1].pvcs[0].name.as_str()),
            (None, "grafana")
        );
    }

    #[test]
    fn values_files_by_release() {
        let f = files(&[
            "gitops/prod/posthog/values.yaml",
            "gitops/stage/posthog/values.yaml",
            "gitops/prod/kafka.yaml",
            "gitops/prod/values-redis.yaml",
        ]);
        let ix = ValuesIndex::new(&f);
        let find = |r, ns| ix.find(r, ns).map(|f| f.0.as_str());
        assert_eq!(
            find("posthog", "prod"),
            Some("gitops/prod/posthog/values.yaml")
        );
        assert_eq!(find("kafka", "prod"), Some("gitops/prod/kafka.yaml"));
        assert_eq!(find("redis", "prod"), Some("gitops/prod/values-redis.yaml"));
        assert_eq!(find("posthog", "other"), None, "two equal candidates");
        assert_eq!(find("zookeeper", "prod"), None);
        let one = files(&["values.yaml"]);
        assert_eq!(
            ValuesIndex::new(&one).find("any", "ns").unwrap().0,
            "values.yaml"
        );
    }
}
