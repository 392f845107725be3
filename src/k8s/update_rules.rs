//! `check` on two renders: every change to a StatefulSet that the API server refuses with
//! `spec: Forbidden: updates to statefulset spec for fields other than ...`, found offline.
//!
//! The rule (kubernetes `pkg/apis/apps/validation`, `ValidateStatefulSetUpdate`): the new spec,
//! with its mutable fields copied from the old one, must be semantically equal to the old spec.
//! So the model is an allow-list, not a deny-list: any other field that differs is refused,
//! including fields this tool has never heard of. Mutable on every version from 1.25 on:
//! `replicas`, `template`, `updateStrategy`, `minReadySeconds`, `persistentVolumeClaimRetentionPolicy`,
//! `ordinals` (behind a feature gate before 1.31); `revisionHistoryLimit` from 1.35: the rules of
//! each version, and their sources, are in [`crate::k8s::versions`].
//! The comparison happens after defaulting and with Go's semantic equality (nil equals empty,
//! quantities compare by value), which [`normalize`] reproduces for the fields that matter.

use crate::finding::{Finding, Location, Severity};
use crate::k8s::quantity::Quantity;
use crate::k8s::release::{self, Filter, Parsed, Want};
use crate::k8s::stream;
use crate::k8s::versions::{KubeVersion, REVISION_HISTORY_MUTABLE_FROM};
use crate::yaml::{Kind, Node, Pos, data};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Spec fields that an update may change (every supported version, 1.25 and later).
pub const MUTABLE: [&str; 6] = [
    "replicas",
    "template",
    "updateStrategy",
    "minReadySeconds",
    "persistentVolumeClaimRetentionPolicy",
    "ordinals",
];

/// KEP-4650's field (in no Kubernetes release): the draft's name since June 2025, then the older
/// draft's. An API server without the `StatefulSetUpdateVolumeClaimTemplate` gate drops it as an
/// unknown field, so it is reported apart, not as a forbidden `spec-field`.
pub const KEP_4650_FIELDS: [&str; 2] = ["volumeClaimUpdateStrategy", "volumeClaimUpdatePolicy"];

#[path = "update_rules_kruise.rs"]
mod kruise;

/// One StatefulSet of a render: its data for comparing (the pod template reduced to the names of
/// its containers: `template` is mutable, so nothing else of it is compared), where it starts,
/// and, while its chunk is being read, its tree for the line numbers of findings below `spec`.
/// No tree outlives its chunk's visit, so a render is never held parsed as a whole.
#[derive(Clone)]
struct Sts<'t> {
    /// The file it was read from, as findings name it (one text shared by every StatefulSet
    /// of the render).
    file: Arc<str>,
    /// OpenKruise's Advanced StatefulSet (`apps.kruise.io`), which its own webhook validates.
    kruise: bool,
    namespace: String,
    name: String,
    /// The Helm release it belongs to (see [`release_of`]).
    release: Option<String>,
    /// The object's data, `spec.template` emptied; `Null` while it is kept as `packed`.
    json: Value,
    /// The same as JSON text, once its chunk is read (a tenth of the memory; see [`Sts::pack`]).
    packed: Option<String>,
    /// The names of its claim templates and of its pod's containers, sorted.
    claim_names: Vec<String>,
    containers: Vec<String>,
    pos: Pos,
    tree: Option<&'t Node>,
}

impl Sts<'_> {
    /// What is kept once its chunk is read: no tree and no metadata (its release is kept
    /// apart); of the spec, all that `compare_one` reads when `compared` is to come, else what
    /// the names of its PVCs are made of.
    fn detach(mut self, compared: bool) -> Sts<'static> {
        self.json["metadata"] = Value::Null;
        if !compared {
            let spec = &self.json["spec"];
            let claims: Vec<Value> = claims(&self.json)
                .iter()
                .map(|c| match c.pointer("/metadata/name") {
                    Some(name) => serde_json::json!({ "metadata": { "name": name } }),
                    None => Value::Null,
                })
                .collect();
            let mut slim = Map::new();
            for key in ["replicas", "ordinals"] {
                if let Some(v) = spec.get(key) {
                    slim.insert(key.to_owned(), v.clone());
                }
            }
            slim.insert("volumeClaimTemplates".to_owned(), Value::Array(claims));
            self.json["spec"] = Value::Object(slim);
        }
        Sts {
            file: self.file,
            kruise: self.kruise,
            namespace: self.namespace,
            name: self.name,
            release: self.release,
            json: self.json,
            packed: None,
            claim_names: self.claim_names,
            containers: self.containers,
            pos: self.pos,
            tree: None,
        }
    }
}

impl Sts<'static> {
    /// Its data kept as JSON text, which reads back as the same data when it holds no float
    /// (else it stays data): what a render of many StatefulSets keeps of each until the end.
    fn pack(mut self) -> Sts<'static> {
        if !data::has_float(&self.json) {
            let mut text = self.json.take().to_string();
            text.shrink_to_fit();
            self.packed = Some(text);
        }
        self
    }

    /// Itself with its data, read back from the text when packed.
    fn unpacked(&self) -> std::borrow::Cow<'_, Sts<'static>> {
        match &self.packed {
            None => std::borrow::Cow::Borrowed(self),
            Some(text) => std::borrow::Cow::Owned(Sts {
                json: serde_json::from_str(text).expect("JSON text written by serde_json"),
                packed: None,
                ..self.clone()
            }),
        }
    }
}

/// One segment of a path into an object: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// What `check` on two renders found, and how many StatefulSets each render has.
pub struct Compared {
    pub findings: Vec<Finding>,
    pub old: usize,
    pub new: usize,
}

/// One differing leaf (or sub-tree) between two normalised values.
#[derive(Debug)]
struct Diff {
    path: Vec<Seg>,
    old: Value,
    new: Value,
}

/// True when a text is a stream of Kubernetes objects rather than a values file: some document
/// has both `apiVersion:` and `kind:` at its top level.
pub fn looks_like_manifests(text: &str) -> bool {
    stream::split(text).iter().any(|c| {
        let doc = &text[c.range.clone()];
        let top = |k: &str| doc.lines().any(|l| l.starts_with(k));
        top("apiVersion:") && top("kind:")
    })
}

/// Why a StatefulSet of a stream could not be read, kept until the whole stream is scanned so
/// that errors are reported in the order a reader of the whole stream reports them: the first
/// syntax error, else the first data error, else the first StatefulSet without a name.
enum Unread {
    Data(Box<Finding>),
    Unnamed(String),
}

const NOT_MANIFESTS: &str = "both sides must be manifest streams as `helm template`, `helm get manifest` or `kubectl get -o yaml` print them";

/// Every StatefulSet of a manifest stream, as the release model reads it (the items of a
/// `kind: List` as `kubectl get -o yaml` prints live objects, of any `*List`, of Lists in
/// Lists), with positions in the whole stream, each handed to `visit` while its chunk's tree is
/// alive; what `visit` returns, in stream order, and the number of documents of the stream.
fn statefulsets<T: Send>(
    file: &str,
    text: &str,
    visit: &(dyn Fn(Sts<'_>) -> T + Sync),
) -> Result<(Vec<T>, usize), String> {
    let chunks = stream::split(text);
    let threads = if text.len() >= release::PARALLEL_BYTES {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        1
    };
    let want = Want {
        filter: Filter::of(&["StatefulSet"]),
        threads,
        ..Want::default()
    };
    let syntax = |e| Box::new(release::syntax_finding(file, &e));
    let shared: Arc<str> = Arc::from(file);
    let each = |p: Parsed| -> Result<Vec<Result<T, Unread>>, Box<Finding>> {
        let data = match p.data(&|o| o.kind == "StatefulSet") {
            Ok(data) => data,
            Err(e) => {
                let line = chunks[p.chunk].line;
                return Ok(vec![Err(Unread::Data(Box::new(release::data_finding(
                    file, line, &e,
                ))))]);
            }
        };
        let read = data.into_iter().filter_map(|(oi, json)| {
            match one(
                &shared,
                json,
                p.node(&p.objects[oi]),
                p.objects[oi].is_kruise_statefulset(),
            ) {
                Ok(sts) => sts.map(|s| Ok(visit(s))),
                Err(e) => Some(Err(Unread::Unnamed(e))),
            }
        });
        Ok(read.collect())
    };
    let not_manifests = |f: Box<Finding>| format!("{f}\n  hint: {NOT_MANIFESTS}");
    let read = release::scan(text, &chunks, &want, &syntax, &each).map_err(not_manifests)?;
    if let Some(Err(Unread::Data(f))) = read.iter().find(|r| matches!(r, Err(Unread::Data(_)))) {
        return Err(not_manifests(f.clone()));
    }
    if let Some(Err(Unread::Unnamed(e))) = read.iter().find(|r| r.is_err()) {
        return Err(e.clone());
    }
    // In place (no second buffer of every StatefulSet): every entry is read.
    let read: Vec<T> = read.into_iter().filter_map(Result::ok).collect();
    let documents = chunks
        .iter()
        .filter(|c| stream::has_content(&text[c.range.clone()]))
        .count();
    Ok((read, documents))
}

/// The object as a StatefulSet, when it is one.
fn one<'t>(
    file: &Arc<str>,
    mut json: Value,
    tree: &'t Node,
    kruise: bool,
) -> Result<Option<Sts<'t>>, String> {
    if json["kind"] != "StatefulSet" {
        return Ok(None);
    }
    let meta = |k: &str| {
        json.pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (name, namespace) = (meta("name"), meta("namespace"));
    if name.is_empty() {
        return Err(format!(
            "{file}:{}: a StatefulSet without metadata.name\n  hint: is this the output of `helm template` or `helm get manifest`?",
            tree.pos
        ));
    }
    let claim_names = names_at(&json, "/spec/volumeClaimTemplates");
    let containers = names_at(&json, "/spec/template/spec/containers");
    // The key stays where it is (`normalize` removes keys by swapping, so the order of what
    // is left depends on where each key was); only its value goes.
    if let Some(template) = json.pointer_mut("/spec/template") {
        *template = Value::Null;
    }
    Ok(Some(Sts {
        file: Arc::clone(file),
        kruise,
        namespace,
        name,
        release: release_in(&json),
        json,
        packed: None,
        claim_names,
        containers,
        pos: tree.pos,
        tree: Some(tree),
    }))
}

/// Compares two renders (OLD: what the cluster has, e.g. `helm get manifest`; NEW: what the
/// upgrade would send, e.g. `helm template`) and classifies every StatefulSet change.
/// Findings are placed in NEW (a StatefulSet that NEW lacks, in OLD); `head_file` is also the
/// `--manifests` of the `pvc-resize plan` command a growth suggests.
pub fn compare(
    base_file: &str,
    base: &str,
    head_file: &str,
    head: &str,
    version: KubeVersion,
) -> Result<Compared, String> {
    compare_as(base_file, base, head_file, head, version, true)
}

/// The same for two renders that `check --chart` made from values files: a head render with no
/// object is the chart's answer to the head's values (every StatefulSet removed), not a broken
/// file, so it is compared like any other.
pub fn compare_chart_renders(
    base: &str,
    head: &str,
    names: (&str, &str),
    version: KubeVersion,
) -> Result<Compared, String> {
    compare_as(names.0, base, names.1, head, version, false)
}

fn compare_as(
    base_file: &str,
    base: &str,
    head_file: &str,
    head: &str,
    version: KubeVersion,
    refuse_empty: bool,
) -> Result<Compared, String> {
    let (old, _) = statefulsets(base_file, base, &|s| s.detach(true).pack())?;
    let by_name = index(&old);
    let olds_of = |n: &Sts| namesakes(&old, &by_name, n);
    // Each StatefulSet of NEW is compared with its namesakes in OLD while its tree is alive.
    let (read, documents) = statefulsets(head_file, head, &|n| {
        let compared: Vec<(usize, Vec<Finding>)> = olds_of(&n)
            .into_iter()
            .map(|oi| {
                let mut found = Vec::new();
                compare_one(&old[oi].unpacked(), &n, version, &mut found);
                (oi, kept(found))
            })
            .collect();
        ReadNew {
            release: n.release.clone(),
            added: compared
                .is_empty()
                .then(|| Box::new(n.detach(false).pack())),
            compared,
        }
    })?;
    if documents == 0 && refuse_empty {
        // What validate and post-render refuse: Helm 3 would delete every resource.
        return Err(format!(
            "{head_file}:1:1: no Kubernetes object in the head render (the file is empty, or holds only comments and `---`): an upgrade with it would delete every resource of the release\n  hint: check that the chart rendered anything (`helm template ...` and its exit status)"
        ));
    }
    let new = by_old(read);
    let added: Vec<&Sts> = new.added.iter().collect();
    let mut out = old_side(&old, &new.releases, new.pairs, &added, head_file);
    out.extend(added.into_iter().map(|n| added_finding(&n.unpacked())));
    out.sort_by_key(|f| {
        let at = f.location.as_ref();
        (
            at.map(|l| l.file != head_file),
            at.map(|l| l.line),
            std::cmp::Reverse(f.severity),
        )
    });
    Ok(Compared {
        findings: out,
        old: old.len(),
        new: new.count,
    })
}

/// Findings kept until the whole of NEW is read, without spare capacity: a render of many
/// small StatefulSets holds one or two for each, and `format!` and `push` leave up to half of
/// each buffer unused.
fn kept(mut found: Vec<Finding>) -> Vec<Finding> {
    for f in &mut found {
        f.message.shrink_to_fit();
        f.hint.iter_mut().for_each(String::shrink_to_fit);
        f.path.iter_mut().for_each(String::shrink_to_fit);
    }
    found.shrink_to_fit();
    found
}

/// The same StatefulSet in two renders: the same name, and the same namespace (a render without
/// namespaces, which leaves them to Helm, matches any namespace).
fn same(a: &Sts, b: &Sts) -> bool {
    a.name == b.name
        && (a.namespace == b.namespace || a.namespace.is_empty() || b.namespace.is_empty())
}

/// The indexes of the StatefulSets of OLD that are `n`, in order.
fn namesakes(old: &[Sts], by_name: &HashMap<&str, Vec<usize>>, n: &Sts) -> Vec<usize> {
    by_name.get(n.name.as_str()).map_or_else(Vec::new, |ois| {
        ois.iter()
            .copied()
            .filter(|&oi| same(&old[oi], n))
            .collect()
    })
}

/// One comparison of OLD's StatefulSet `.0` with NEW's `.1`, and its findings.
type Pair = (usize, usize, Vec<Finding>);

/// A StatefulSet of NEW once its chunk is read: its release (which tells OLD's objects of other
/// releases apart), its comparisons with OLD's namesakes (by index in OLD), and itself only when
/// OLD has none (it is added, or renamed): nothing else of a compared one is read again, so a
/// render of many StatefulSets does not keep them.
struct ReadNew {
    release: Option<String>,
    compared: Vec<(usize, Vec<Finding>)>,
    added: Option<Box<Sts<'static>>>,
}

/// NEW as `compare` keeps it once read.
struct New {
    /// How many StatefulSets it has.
    count: usize,
    releases: HashSet<String>,
    /// The StatefulSets OLD has no namesake of, in order.
    added: Vec<Sts<'static>>,
    /// The comparisons OLD by OLD, each with NEW's copies in order.
    pairs: Vec<Pair>,
}

fn by_old(read: Vec<ReadNew>) -> New {
    let count = read.len();
    let mut releases = HashSet::new();
    let mut added = Vec::new();
    let mut pairs = Vec::with_capacity(read.iter().map(|r| r.compared.len()).sum());
    for (ni, r) in read.into_iter().enumerate() {
        releases.extend(r.release);
        added.extend(r.added.map(|n| *n));
        pairs.extend(r.compared.into_iter().map(|(oi, f)| (oi, ni, f)));
    }
    pairs.sort_by_key(|(oi, ni, _)| (*oi, *ni));
    New {
        count,
        releases,
        added,
        pairs,
    }
}

/// OLD by OLD: the findings of its comparisons, or its removal.
fn old_side(
    old: &[Sts<'static>],
    releases: &HashSet<String>,
    pairs: Vec<Pair>,
    added: &[&Sts<'static>],
    head_file: &str,
) -> Vec<Finding> {
    // Live objects (`kubectl get statefulset -o yaml`) may belong to other releases: one whose
    // release is known and is none of NEW's (`releases`) is not this upgrade's business.
    let foreign =
        |o: &Sts| !releases.is_empty() && release_of(o).is_some_and(|r| !releases.contains(r));
    let renames = Renames::of(added);
    let mut out = Vec::with_capacity(pairs.iter().map(|(_, _, f)| f.len()).sum());
    let mut pairs = pairs.into_iter().peekable();
    for (oi, o) in old.iter().enumerate() {
        // Every copy: a StatefulSet twice in NEW is applied twice, the last copy winning.
        let mut found = false;
        while let Some((_, _, f)) = pairs.next_if(|(p, _, _)| *p == oi) {
            out.extend(f);
            found = true;
        }
        if !found && !foreign(o) {
            out.push(removed(&o.unpacked(), head_file, &renames));
        }
    }
    out
}

/// A StatefulSet that only NEW has.
fn added_finding(n: &Sts) -> Finding {
    finding(
        n,
        &[],
        Severity::Notice,
        "statefulset-added",
        format!(
            "StatefulSet {} is new in this render: it creates PVCs {}",
            n.name,
            pvc_names(n).join(", ")
        ),
    )
    .hint("if it replaces a StatefulSet of the old render, copy the data into its PVCs first")
}

/// The Helm release an object belongs to: its `meta.helm.sh/release-name` annotation (live
/// objects) or its `app.kubernetes.io/instance` label (renders).
fn release_of<'s>(s: &'s Sts) -> Option<&'s str> {
    s.release.as_deref()
}

/// The same read from the object's data.
fn release_in(json: &Value) -> Option<String> {
    let meta = &json["metadata"];
    meta.pointer("/annotations/meta.helm.sh~1release-name")
        .or_else(|| meta.pointer("/labels/app.kubernetes.io~1instance"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// `<claim>-<sts>-<ordinal>` for every replica, from `ordinals.start` (default 0).
fn pvc_names(s: &Sts) -> Vec<String> {
    let spec = &s.json["spec"];
    let ordinals = crate::k8s::objects::Ordinals {
        start: spec
            .pointer("/ordinals/start")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        replicas: spec.get("replicas").and_then(Value::as_i64).unwrap_or(1),
    };
    claims(&s.json)
        .iter()
        .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
        .flat_map(|claim| {
            ordinals
                .range()
                .map(move |i| crate::k8s::objects::pvc_name(claim, &s.name, i))
        })
        .collect()
}

fn claims(sts: &Value) -> Vec<Value> {
    sts.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The names of a StatefulSet's claim templates, or of its pod's containers, sorted.
fn names_at(json: &Value, list: &str) -> Vec<String> {
    let mut names: Vec<String> = json
        .pointer(list)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.pointer("/metadata/name").or_else(|| i.get("name")))
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.shrink_to_fit();
    names
}

/// The StatefulSets of OLD by name.
fn index<'s>(sts: &'s [Sts]) -> HashMap<&'s str, Vec<usize>> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in sts.iter().enumerate() {
        by_name.entry(s.name.as_str()).or_default().push(i);
    }
    by_name
}

/// The new StatefulSets that may be an old one renamed: the same claim templates and the same
/// containers (Bitnami Kafka 14 -> 32: `kafka` becomes `kafka-controller`, both run container
/// `kafka`; `kafka-zookeeper` runs `zookeeper` and is simply gone), by those names, in order.
struct Renames<'s>(HashMap<(Vec<String>, Vec<String>), Vec<&'s str>>);

impl<'s> Renames<'s> {
    fn of(added: &[&'s Sts]) -> Renames<'s> {
        let mut by_names: HashMap<_, Vec<&str>> = HashMap::new();
        for n in added {
            by_names
                .entry((n.claim_names.clone(), n.containers.clone()))
                .or_default()
                .push(n.name.as_str());
        }
        Renames(by_names)
    }

    fn candidates(&self, o: &Sts) -> &[&'s str] {
        let key = (o.claim_names.clone(), o.containers.clone());
        if o.claim_names.is_empty() {
            return &[];
        }
        self.0.get(&key).map_or(&[], Vec::as_slice)
    }
}

/// A StatefulSet that NEW no longer has: the upgrade deletes it and its PVCs stay behind, their
/// data orphaned (an error: `check --allow-removed NAME` accepts it); a renamed StatefulSet's pods
/// start on new, empty ones.
fn removed(o: &Sts, head_file: &str, renames: &Renames) -> Finding {
    let pvcs = pvc_names(o);
    let left = if pvcs.is_empty() {
        "it has no claim templates, so no PVCs are left behind".to_owned()
    } else {
        format!(
            "its PVCs stay behind, their data orphaned (kept and billed, not deleted unless persistentVolumeClaimRetentionPolicy.whenDeleted is Delete): {}",
            pvcs.join(", ")
        )
    };
    let accept = if pvcs.is_empty() {
        String::new()
    } else {
        format!(
            "; if the data may go, accept it with `pvc-resize check --base-manifests {} --head-manifests {} --allow-removed {}` and delete the PVCs once their data is no longer needed",
            crate::shell::shell_quote(&o.file),
            crate::shell::shell_quote(head_file),
            crate::shell::shell_quote(&o.name)
        )
    };
    let (rename, hint) = match renames.candidates(o) {
        [] => (
            String::new(),
            format!(
                "if the data is still needed, keep the StatefulSet (or move the data first){accept}"
            ),
        ),
        [name] => (
            format!("; it looks renamed to {name} (the same claim templates and containers)"),
            format!(
                "the pods of {name} get new, empty PVCs (`<claim>-{name}-<ordinal>`): copy the data first, or keep the old name (e.g. fullnameOverride){accept}"
            ),
        ),
        names => (
            format!(
                "; it may be renamed to any of {} (the same claim templates and containers): this check can't tell which",
                names.join(", ")
            ),
            format!(
                "a renamed StatefulSet's pods get new, empty PVCs: copy the data first, or keep the old name (e.g. fullnameOverride){accept}"
            ),
        ),
    };
    let severity = if pvcs.is_empty() {
        Severity::Warning
    } else {
        Severity::Error
    };
    Finding::new(
        "statefulset-removed",
        severity,
        format!(
            "StatefulSet {} is not in the new render: the upgrade deletes it; {left}{rename}",
            o.name
        ),
    )
    .at(Location::new(&*o.file, o.pos))
    .path(format!("StatefulSet/{}", o.name))
    .hint(hint)
}

/// A finding placed at `path` (below `spec`) in the NEW StatefulSet.
fn finding(
    s: &Sts,
    path: &[Seg],
    severity: Severity,
    id: &'static str,
    message: String,
) -> Finding {
    let mut full = vec![Seg::Key("spec".into())];
    full.extend_from_slice(path);
    let pos = match (path, s.tree) {
        ([], _) => s.pos,
        (_, Some(tree)) => locate(tree, &full),
        (_, None) => unreachable!("findings below spec are made while the chunk is read"),
    };
    Finding::new(id, severity, message)
        .at(Location::new(&*s.file, pos))
        .path(format!("StatefulSet/{} {}", s.name, show_path(&full)))
}

/// The usual way out of an immutable change.
fn recreate(name: &str) -> String {
    format!(
        "keep the old value, or re-create the StatefulSet: `kubectl delete statefulset {name} --cascade=orphan` (pods and PVCs stay), then upgrade"
    )
}

/// Position of the deepest node of `path`: a scalar's own position, the key of anything else.
fn locate(root: &Node, path: &[Seg]) -> Pos {
    let (mut node, mut best) = (root, root.pos);
    for seg in path {
        let (key_pos, next) = match (seg, &node.kind) {
            (Seg::Key(k), Kind::Mapping { .. }) => match node.entry(k) {
                Some((k, v)) => (k.pos, v),
                None => break,
            },
            (Seg::Index(i), Kind::Sequence { items, .. }) => match items.get(*i) {
                Some(v) => (v.pos, v),
                None => break,
            },
            _ => break,
        };
        best = if matches!(next.kind, Kind::Scalar { .. } | Kind::Alias(_)) {
            next.pos
        } else {
            key_pos
        };
        node = next;
    }
    best
}

fn show_path(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if k.contains(['.', '/']) => s.push_str(&format!("[{k:?}]")),
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Removes what Go's semantic equality ignores: nulls, empty maps and empty lists (nil equals
/// empty), recursively.
fn prune(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.values_mut().for_each(prune);
            m.retain(|_, v| !is_empty(v));
        }
        Value::Array(a) => a.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The spec as the API server compares it: defaults applied (apps/v1 `SetDefaults_StatefulSet`),
/// mutable fields and the claim templates (compared one by one) taken out.
fn normalize(spec: &Value) -> Map<String, Value> {
    let mut m = spec.as_object().cloned().unwrap_or_default();
    for k in MUTABLE {
        m.remove(k);
    }
    m.remove("volumeClaimTemplates");
    m.remove("revisionHistoryLimit");
    for k in KEP_4650_FIELDS {
        m.remove(k);
    }
    m.entry("podManagementPolicy")
        .or_insert_with(|| Value::String("OrderedReady".into()));
    // A plain string in Go: "" is the same as unset.
    if m.get("serviceName") == Some(&Value::String(String::new())) {
        m.remove("serviceName");
    }
    let mut v = Value::Object(m);
    prune(&mut v);
    match v {
        Value::Object(m) => m,
        _ => unreachable!("an object stays an object"),
    }
}

/// A claim template as the API server compares it: `apiVersion`/`kind` and `status` are not
/// part of the comparison, `volumeMode` defaults to Filesystem (v1 `SetDefaults_PersistentVolumeClaimSpec`),
/// and every field is compared as its Go type is (see [`semantic`]).
fn normalize_claim(c: &Value) -> Value {
    let mut c = c.clone();
    if let Some(m) = c.as_object_mut() {
        for k in ["apiVersion", "kind", "status"] {
            m.remove(k);
        }
        if let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) {
            spec.entry("volumeMode")
                .or_insert_with(|| Value::String("Filesystem".into()));
        }
    }
    semantic(&mut c, &CLAIM_TEMPLATE);
    c
}

/// The Go type of a field of the internal API types, as far as equality needs it.
enum Ty {
    /// A pointer: nil (absent, null) differs from a set zero value (`{}`, `""`).
    Ptr(&'static Ty),
    /// A struct: its zero value equals absent; known fields typed, others as [`Ty::Any`].
    Struct(&'static [(&'static str, Ty)]),
    /// A map or a slice: empty equals absent (values and items kept as written).
    Map,
    Slice(&'static Ty),
    /// A string, number or bool: its zero value (`""`, 0, false) equals absent.
    Scalar,
    /// Not known here: nulls, empty maps and empty lists equal absent (what [`prune`] does).
    Any,
}

use Ty::{Any, Map as GoMap, Ptr, Scalar, Slice, Struct};

// core.PersistentVolumeClaim (pkg/apis/core/types.go) minus TypeMeta and Status; metav1.ObjectMeta,
// metav1.LabelSelector, core.TypedLocalObjectReference, core.TypedObjectReference.
const LABEL_REQUIREMENT: Ty = Struct(&[
    ("key", Scalar),
    ("operator", Scalar),
    ("values", Slice(&Scalar)),
]);
const LABEL_SELECTOR: Ty = Struct(&[
    ("matchLabels", GoMap),
    ("matchExpressions", Slice(&LABEL_REQUIREMENT)),
]);
const DATA_SOURCE: Ty = Struct(&[
    ("apiGroup", Ptr(&Scalar)),
    ("kind", Scalar),
    ("name", Scalar),
]);
const DATA_SOURCE_REF: Ty = Struct(&[
    ("apiGroup", Ptr(&Scalar)),
    ("kind", Scalar),
    ("name", Scalar),
    ("namespace", Ptr(&Scalar)),
]);
const OBJECT_META: Ty = Struct(&[
    ("name", Scalar),
    ("generateName", Scalar),
    ("namespace", Scalar),
    ("uid", Scalar),
    ("resourceVersion", Scalar),
    ("generation", Scalar),
    ("creationTimestamp", Scalar),
    ("deletionTimestamp", Ptr(&Scalar)),
    ("deletionGracePeriodSeconds", Ptr(&Scalar)),
    ("labels", GoMap),
    ("annotations", GoMap),
    ("ownerReferences", Slice(&Any)),
    ("finalizers", Slice(&Scalar)),
    ("managedFields", Slice(&Any)),
]);
const CLAIM_SPEC: Ty = Struct(&[
    ("accessModes", Slice(&Scalar)),
    ("selector", Ptr(&LABEL_SELECTOR)),
    (
        "resources",
        Struct(&[("limits", GoMap), ("requests", GoMap)]),
    ),
    ("volumeName", Scalar),
    ("storageClassName", Ptr(&Scalar)),
    ("volumeMode", Ptr(&Scalar)),
    ("dataSource", Ptr(&DATA_SOURCE)),
    ("dataSourceRef", Ptr(&DATA_SOURCE_REF)),
    ("volumeAttributesClassName", Ptr(&Scalar)),
]);
const CLAIM_TEMPLATE: Ty = Struct(&[("metadata", OBJECT_META), ("spec", CLAIM_SPEC)]);

/// What a set pointer to an empty struct becomes, so that it differs from an unset one.
const SET_EMPTY: &str = "{}";

/// Rewrites `v` so that two values compare equal exactly when the API server's
/// `apiequality.Semantic.DeepEqual` calls them equal, and returns true when `v` equals absent.
///
/// `ValidateStatefulSetUpdate` (kubernetes `pkg/apis/apps/validation/validation.go`, release-1.32
/// and earlier back to 1.25) copies the mutable fields from the old spec into the new one and
/// refuses the update unless `apiequality.Semantic.DeepEqual(newStatefulSetClone.Spec,
/// oldStatefulSet.Spec)`. That equality (`k8s.io/apimachinery/third_party/forked/golang/reflect/
/// deep_equal.go`, `Equalities.DeepEqual`) walks the internal Go types field by field: an empty
/// slice or map equals a nil one, a struct's zero fields equal absent ones (JSON decoding leaves
/// them zero), but a pointer is compared by nil-ness first: `selector: {}` (a set, empty
/// `*LabelSelector`) is NOT equal to no selector, nor `storageClassName: ""` to no class.
fn semantic(v: &mut Value, ty: &Ty) -> bool {
    match (ty, &mut *v) {
        (_, Value::Null) => true,
        (Ptr(inner), _) => {
            semantic(v, inner);
            if v.as_object().is_some_and(Map::is_empty) {
                *v = Value::String(SET_EMPTY.to_owned());
            }
            false
        }
        (Struct(fields), Value::Object(m)) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let field_ty = fields
                    .iter()
                    .find(|(f, _)| *f == k)
                    .map_or(&Any, |(_, t)| t);
                if semantic(m.get_mut(&k).expect("a key of the map"), field_ty) {
                    m.remove(&k);
                }
            }
            m.is_empty()
        }
        (GoMap, Value::Object(m)) => {
            m.values_mut().for_each(prune);
            m.is_empty()
        }
        (Slice(item), Value::Array(a)) => {
            for i in a.iter_mut() {
                semantic(i, item);
            }
            a.is_empty()
        }
        (Scalar, Value::String(s)) => s.is_empty(),
        (Scalar, Value::Bool(b)) => !*b,
        (Scalar, Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => {
            prune(v);
            is_empty(v)
        }
    }
}

/// Differences between two normalised values; quantities under `resources` compare by value.
fn diff(old: &Value, new: &Value, path: &mut Vec<Seg>, out: &mut Vec<Diff>) {
    // A map that appears or disappears is reported key by key.
    let empty = Value::Object(Map::new());
    let (old, new) = match (old, new) {
        (Value::Null, Value::Object(_)) => (&empty, new),
        (Value::Object(_), Value::Null) => (old, &empty),
        _ => (old, new),
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: Vec<&String> = a
                .keys()
                .chain(b.keys().filter(|k| !a.contains_key(*k)))
                .collect();
            for k in keys {
                path.push(Seg::Key(k.clone()));
                let null = Value::Null;
                diff(
                    a.get(k).unwrap_or(&null),
                    b.get(k).unwrap_or(&null),
                    path,
                    out,
                );
                path.pop();
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Seg::Index(i));
                diff(x, y, path, out);
                path.pop();
            }
        }
        _ if old == new || same_quantity(path, old, new) => {}
        _ => out.push(Diff {
            path: path.clone(),
            old: old.clone(),
            new: new.clone(),
        }),
    }
}

fn same_quantity(path: &[Seg], a: &Value, b: &Value) -> bool {
    let under_resources = path.iter().any(|s| *s == Seg::Key("resources".into()));
    let q = |v: &Value| match v {
        Value::String(s) => Quantity::parse(s).ok(),
        Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
        _ => None,
    };
    under_resources && matches!((q(a), q(b)), (Some(x), Some(y)) if x == y)
}

/// Classifies the changes of one StatefulSet present in both renders, by the rules of `version`.
fn compare_one(o: &Sts, n: &Sts, version: KubeVersion, out: &mut Vec<Finding>) {
    if n.kruise {
        kruise::compare(o, n, out);
        return;
    }
    let (os, ns) = (&o.json["spec"], &n.json["spec"]);
    let mut diffs = Vec::new();
    diff(
        &Value::Object(normalize(os)),
        &Value::Object(normalize(ns)),
        &mut Vec::new(),
        &mut diffs,
    );
    for d in diffs {
        out.push(spec_finding(n, d));
    }
    let limit = |s: &Value| {
        s.get("revisionHistoryLimit")
            .cloned()
            .unwrap_or(Value::from(10))
    };
    if limit(os) != limit(ns) {
        out.push(revision_history(n, version, &limit(os), &limit(ns)));
    }
    for field in KEP_4650_FIELDS {
        if let Some(b) = ns.get(field).filter(|b| os.get(field) != Some(*b)) {
            out.push(kep_4650(n, field, b));
        }
    }
    let ordinals = |s: &Value| {
        s.pointer("/ordinals/start")
            .cloned()
            .unwrap_or(Value::from(0))
    };
    if version.ordinals_gated() && ordinals(os) != ordinals(ns) {
        out.push(finding(
            n,
            &[Seg::Key("ordinals".into())],
            Severity::Warning,
            "ordinals-gated",
            format!(
                "StatefulSet {} spec.ordinals.start changes {} -> {}: Kubernetes {version} accepts it only with the feature gate StatefulSetStartOrdinal on (beta, on by default; GA from 1.31); with the gate off the API server drops spec.ordinals",
                n.name,
                show(&ordinals(os)),
                show(&ordinals(ns)),
            ),
        ).hint("check the gate on the cluster (kube-apiserver --feature-gates); the pods are renamed from the new start ordinal, each on its own PVC"));
    }
    compare_claims(o, n, out);
}

/// A render that sets KEP-4650's field: no released API server keeps it.
fn kep_4650(n: &Sts, field: &str, value: &Value) -> Finding {
    finding(
        n,
        &[Seg::Key(field.into())],
        Severity::Warning,
        "volume-claim-update-strategy",
        format!(
            "StatefulSet {} sets spec.{field} ({}): KEP-4650's in-place claim template update is in no Kubernetes release yet (feature gate StatefulSetUpdateVolumeClaimTemplate); an API server without the gate drops the field, and the claim templates stay immutable",
            n.name,
            show(value)
        ),
    )
    .hint("grow the claims with `pvc-resize plan --release RELEASE --namespace NAMESPACE --size SIZE --manifests FILE` (its script skips the orphan delete only when the live StatefulSet read back from the API server carries the field with InPlace)")
}

/// A `revisionHistoryLimit` change: refused before 1.35 (see [`crate::k8s::versions`]).
fn revision_history(n: &Sts, version: KubeVersion, old: &Value, new: &Value) -> Finding {
    let path = [Seg::Key("revisionHistoryLimit".into())];
    let change = format!(
        "StatefulSet {} spec.revisionHistoryLimit changes {} -> {}",
        n.name,
        show(old),
        show(new)
    );
    if version.revision_history_limit_mutable() {
        return finding(
            n,
            &path,
            Severity::Notice,
            "revision-history-limit",
            format!(
                "{change}: Kubernetes {version} accepts it (its API server lists revisionHistoryLimit as mutable); 1.{} and older refuse it with spec: Forbidden",
                REVISION_HISTORY_MUTABLE_FROM - 1
            ),
        )
        .hint("on a cluster older than 1.35 keep the old value, or check with --kubernetes-version set to the cluster's version");
    }
    finding(
        n,
        &path,
        Severity::Error,
        "revision-history-limit",
        format!(
            "{change}: Kubernetes {version} refuses it (`spec: Forbidden: updates to statefulset spec for fields other than ...`; revisionHistoryLimit is mutable from 1.{REVISION_HISTORY_MUTABLE_FROM})"
        ),
    )
    .hint(format!(
        "keep the old value until the cluster runs 1.{REVISION_HISTORY_MUTABLE_FROM} or later, or {} (pass --kubernetes-version with the cluster's version)",
        recreate(&n.name)
    ))
}

/// A forbidden change to a spec field other than the claim templates.
fn spec_finding(n: &Sts, d: Diff) -> Finding {
    let field = match d.path.first() {
        Some(Seg::Key(k)) => k.clone(),
        _ => String::new(),
    };
    let (id, why) = match field.as_str() {
        "selector" => (
            "selector",
            "the selector decides which pods belong to the StatefulSet; after a re-creation the running pods must match the new one, or they are orphaned",
        ),
        "serviceName" => (
            "service-name",
            "the pods' DNS names (<pod>.<serviceName>) come from it; after a re-creation, clients and peers must use the new names",
        ),
        "podManagementPolicy" => (
            "pod-management-policy",
            "an unset podManagementPolicy means OrderedReady",
        ),
        _ => (
            "spec-field",
            "only replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds (and from Kubernetes 1.35 revisionHistoryLimit) may change",
        ),
    };
    finding(
        n,
        &d.path,
        Severity::Error,
        id,
        format!(
            "StatefulSet {} spec.{} changes {} -> {}: Kubernetes forbids it (`spec: Forbidden: updates to statefulset spec for fields other than ...`); {why}",
            n.name,
            show_path(&d.path),
            show(&d.old),
            show(&d.new),
        ),
    )
    .hint(recreate(&n.name))
}

fn claim_name(c: &Value) -> &str {
    c.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Claim templates, matched by name: growth, shrink, and every other change.
fn compare_claims(o: &Sts, n: &Sts, out: &mut Vec<Finding>) {
    let (oc, nc) = (claims(&o.json), claims(&n.json));
    let at = |i: usize| vec![Seg::Key("volumeClaimTemplates".into()), Seg::Index(i)];
    for (i, c) in nc.iter().enumerate() {
        let name = claim_name(c);
        let Some((j, old)) = oc.iter().enumerate().find(|(_, x)| claim_name(x) == name) else {
            out.push(finding(
                n,
                &at(i),
                Severity::Error,
                "claim-template-added",
                format!(
                    "StatefulSet {} gains claim template {name:?}: claim templates are immutable (`spec: Forbidden`), so this needs a migration",
                    n.name
                ),
            ).hint(format!(
                "`kubectl delete statefulset {} --cascade=orphan`, then upgrade; the running pods get the new volume only when they are re-created (`kubectl delete pod`, one at a time)",
                n.name
            )));
            continue;
        };
        if i != j {
            out.push(finding(
                n,
                &at(i),
                Severity::Error,
                "claim-template-changed",
                format!(
                    "StatefulSet {} claim template {name:?} moves from position {j} to {i}: the order is part of the immutable spec",
                    n.name
                ),
            ).hint("keep the old order"));
        }
        compare_claim(o, n, i, old, c, out);
    }
    for c in oc
        .iter()
        .filter(|c| !nc.iter().any(|x| claim_name(x) == claim_name(c)))
    {
        out.push(finding(
            n,
            &[Seg::Key("volumeClaimTemplates".into())],
            Severity::Error,
            "claim-template-removed",
            format!(
                "StatefulSet {} loses claim template {:?}: claim templates are immutable (`spec: Forbidden`); re-creating the StatefulSet leaves the PVCs {} behind, and the pods lose that volume (data loss for anything stored there)",
                n.name,
                claim_name(c),
                pvc_names(o)
                    .iter()
                    .filter(|p| p.starts_with(&format!("{}-", claim_name(c))))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ).hint("keep the claim template; if the volume is really to go, copy what it holds first, re-create the StatefulSet, then delete the PVCs"));
    }
}

/// One claim template present in both: its size, then everything else.
fn compare_claim(o: &Sts, n: &Sts, i: usize, old: &Value, new: &Value, out: &mut Vec<Finding>) {
    let (mut a, mut b) = (normalize_claim(old), normalize_claim(new));
    let take = |v: &mut Value| {
        v.pointer_mut("/spec/resources/requests")
            .and_then(Value::as_object_mut)
            .and_then(|r| r.remove("storage"))
    };
    let (sa, sb) = (take(&mut a), take(&mut b));
    let class = |v: &mut Value| {
        v.pointer_mut("/spec")
            .and_then(Value::as_object_mut)
            .and_then(|s| s.remove("volumeAttributesClassName"))
    };
    let (ca, cb) = (class(&mut a), class(&mut b));
    prune(&mut a);
    prune(&mut b);
    let name = claim_name(new).to_owned();
    let base = vec![Seg::Key("volumeClaimTemplates".into()), Seg::Index(i)];
    let mut diffs = Vec::new();
    diff(&a, &b, &mut base.clone(), &mut diffs);
    if !diffs.is_empty() {
        let what: Vec<String> = diffs
            .iter()
            .map(|d| {
                format!(
                    "{}: {} -> {}",
                    show_path(&d.path[2..]),
                    show(&d.old),
                    show(&d.new)
                )
            })
            .collect();
        out.push(finding(
            n,
            &diffs[0].path,
            Severity::Error,
            "claim-template-changed",
            format!(
                "StatefulSet {} claim template {name:?} changes ({}): claim templates are immutable (`spec: Forbidden`), and existing PVCs would keep their old values anyway: this needs a migration, not a resize{}",
                n.name,
                what.join("; "),
                if diffs.iter().any(|d| d.path.iter().any(|s| matches!(s, Seg::Key(k) if k == "storageClassName" || k == "accessModes" || k == "selector" || k == "volumeMode"))) {
                    " (a new storage class, access mode, selector or volume mode means new volumes and a data copy)"
                } else {
                    ""
                }
            ),
        ).hint(format!(
            "keep the old values (a post-render patch can pin them: `pvc-resize post-render --patch FILE`), or `kubectl delete statefulset {} --cascade=orphan` and upgrade, knowing that the existing PVCs stay as they are",
            n.name
        )));
    }
    let mut class_path = base.clone();
    class_path.extend(["spec", "volumeAttributesClassName"].map(|k| Seg::Key(k.into())));
    class_change(
        &o.file,
        n,
        &name,
        &class_path,
        ca.as_ref(),
        cb.as_ref(),
        out,
    );
    let mut size_path = base;
    size_path.extend(["spec", "resources", "requests", "storage"].map(|k| Seg::Key(k.into())));
    size_change(&o.file, n, &name, &size_path, sa.as_ref(), sb.as_ref(), out);
}

/// A claim template's `volumeAttributesClassName` changes: as frozen in the StatefulSet as its
/// size, but mutable on the PVCs (kubernetes `pkg/apis/core/validation/validation.go`,
/// `ValidatePersistentVolumeClaimUpdate`), except from a class to none (`update from non-nil
/// value to nil is forbidden`, `... to an empty string is forbidden`).
fn class_change(
    base_file: &str,
    n: &Sts,
    claim: &str,
    path: &[Seg],
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<Finding>,
) {
    let shown = |v: Option<&Value>| v.map_or("(unset)".to_owned(), show);
    if old == new {
        return;
    }
    let Some(to) = new.and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        out.push(finding(
            n,
            path,
            Severity::Error,
            "claim-template-changed",
            format!(
                "StatefulSet {} claim template {claim:?} volumeAttributesClassName changes {} -> {}: claim templates are immutable (`spec: Forbidden`), and a PVC that names a class can't go back to none (`update from non-nil value to nil is forbidden`)",
                n.name,
                shown(old),
                shown(new)
            ),
        ).hint("keep the old class (or name another VolumeAttributesClass)"));
        return;
    };
    out.push(
        finding(
            n,
            path,
            Severity::Notice,
            "attributes-class",
            format!(
                "StatefulSet {} claim template {claim:?} volumeAttributesClassName changes {} -> {to}: `helm upgrade` alone fails with `spec: Forbidden` (claim templates are immutable); this needs the same procedure as a grow: set the class on PVCs {}, delete the StatefulSet with --cascade=orphan, upgrade",
                n.name,
                shown(old),
                pvc_names(n)
                    .iter()
                    .filter(|p| p.starts_with(&format!("{claim}-")))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        )
        .hint(format!(
            "the VolumeAttributesClass {to} must exist (`kubectl get volumeattributesclass {}`; GA in Kubernetes 1.34, beta behind its gate in 1.31-1.33); the exact commands: `{} --volume-attributes-class {}`",
            crate::shell::shell_quote(to),
            plan_command(base_file, n, claim, None),
            crate::shell::shell_quote(to)
        )),
    );
}

fn quantity(v: Option<&Value>) -> Option<Result<(String, Quantity), String>> {
    let text = match v? {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(
        Quantity::parse(&text)
            .map(|q| (text.clone(), q))
            .map_err(|e| format!("{text:?} is not a Kubernetes quantity: {e}")),
    )
}

/// `base_file` is the render that runs today: the grow hint's `plan --manifests` takes it.
fn size_change(
    base_file: &str,
    n: &Sts,
    claim: &str,
    path: &[Seg],
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<Finding>,
) {
    let (old, new) = match (quantity(old), quantity(new)) {
        (Some(Ok(o)), Some(Ok(n))) => (o, n),
        (_, Some(Err(e))) => {
            out.push(
                finding(
                    n,
                    path,
                    Severity::Error,
                    "invalid-size",
                    format!("StatefulSet {} claim template {claim:?}: {e}", n.name),
                )
                .hint("write a quantity such as 50Gi in the chart's values"),
            );
            return;
        }
        (None, None) => return,
        (o, nw) => {
            let text = |q: Option<Result<(String, Quantity), String>>| {
                q.and_then(Result::ok)
                    .map_or("(unset)".to_owned(), |(t, _)| t)
            };
            out.push(finding(
                n,
                path,
                Severity::Error,
                "claim-template-changed",
                format!(
                    "StatefulSet {} claim template {claim:?} storage request changes {} -> {}: claim templates are immutable (`spec: Forbidden`)",
                    n.name,
                    text(o),
                    text(nw)
                ),
            ).hint(recreate(&n.name)));
            return;
        }
    };
    let ((ot, oq), (nt, nq)) = (old, new);
    if nq == oq {
        return;
    }
    if nq < oq {
        out.push(finding(
            n,
            path,
            Severity::Error,
            "shrink",
            format!(
                "StatefulSet {} claim template {claim:?} shrinks {ot} -> {nt} ({} -> {} bytes): Kubernetes forbids shrinking a claim template (`spec: Forbidden`) and a PersistentVolumeClaim (`field can not be less than previous value`)",
                n.name,
                oq.bytes_beside(&nq),
                nq.bytes_beside(&oq)
            ),
        ).hint(format!("keep {ot}; a smaller disk needs a new StatefulSet and a data copy")));
        return;
    }
    out.push(grow(base_file, n, claim, path, (&ot, &oq), (&nt, &nq)));
}

/// A claim template that grows: the resize procedure, and the `plan` command that writes it.
fn grow(
    base_file: &str,
    n: &Sts,
    claim: &str,
    path: &[Seg],
    (ot, oq): (&str, &Quantity),
    (nt, nq): (&str, &Quantity),
) -> Finding {
    let mut message = format!(
        "StatefulSet {} claim template {claim:?} grows {ot} -> {nt} ({} -> {} bytes): `helm upgrade` alone fails with `spec: Forbidden` (claim templates are immutable); this needs the resize procedure: grow PVCs {}, delete the StatefulSet with --cascade=orphan, upgrade",
        n.name,
        oq.bytes_beside(nq),
        nq.bytes_beside(oq),
        pvc_names(n)
            .iter()
            .filter(|p| p.starts_with(&format!("{claim}-")))
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(w) = crate::k8s::quantity::decimal_for_binary(ot, oq, nt, nq) {
        message.push_str(&format!("; {w}"));
    }
    finding(n, path, Severity::Notice, "grow", message).hint(format!(
        "the exact commands: `{}`",
        plan_command(base_file, n, claim, Some(nt))
    ))
}

/// The `pvc-resize plan` command for a grown claim, with the release (Helm's
/// `app.kubernetes.io/instance` label) and namespace filled in when the render says them. Its
/// `--manifests` is the base render (the one that runs today, from which plan grows the claim),
/// never the head, whose claim is already at the size.
fn plan_command(base_file: &str, n: &Sts, claim: &str, size: Option<&str>) -> String {
    use crate::shell::shell_quote;
    let label = |k: &str| {
        n.json
            .pointer(&format!("/metadata/labels/{}", k.replace('/', "~1")))
            .and_then(Value::as_str)
            .filter(|v| crate::k8s::names::check_name("release", v, 53, false).is_ok())
    };
    let release = label("app.kubernetes.io/instance")
        .or_else(|| label("release"))
        .unwrap_or("RELEASE");
    let namespace = if n.namespace.is_empty() {
        "NAMESPACE"
    } else {
        &n.namespace
    };
    let size = size.map(|s| format!(" --size {}", shell_quote(s)));
    [
        "pvc-resize plan --release",
        &shell_quote(release),
        "--namespace",
        &format!("{}{}", shell_quote(namespace), size.unwrap_or_default()),
        "--manifests",
        &shell_quote(base_file),
        "--statefulset",
        &shell_quote(&n.name),
        "--claim",
        &shell_quote(claim),
        // What `--format script` needs besides (the script changes the values file, upgrades
        // the chart and acts on one named context).
        "--values VALUES.yaml --chart CHART --kube-context CONTEXT --format script --output resize.sh",
    ]
    .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STS: &str = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: k\n  namespace: ns\n  labels:\n    app.kubernetes.io/instance: rel\nspec:\n  replicas: 2\n  serviceName: k-headless\n  selector:\n    matchLabels:\n      app: k\n  template:\n    metadata:\n      labels:\n        app: k\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 8Gi\n";

    fn run(new: &str) -> Vec<Finding> {
        run_at(crate::k8s::versions::DEFAULT, new)
    }

    fn run_at(version: &str, new: &str) -> Vec<Finding> {
        let version = KubeVersion::parse(version).unwrap();
        compare("old.yaml", STS, "new.yaml", new, version)
            .unwrap()
            .findings
    }

    /// The allow-list of each version (sources in `k8s::versions`): `revisionHistoryLimit`
    /// refused before 1.35, `ordinals` behind its gate in 1.30, `volumeAttributesClassName` of a
    /// claim template immutable everywhere.
    #[test]
    fn the_rules_of_each_kubernetes_version() {
        let limit = STS.replace(
            "spec:\n  replicas",
            "spec:\n  revisionHistoryLimit: 3\n  replicas",
        );
        let ordinals = STS.replace(
            "spec:\n  replicas",
            "spec:\n  ordinals: {start: 1}\n  replicas",
        );
        let vac = STS.replace(
            "accessModes: [ReadWriteOnce]",
            "accessModes: [ReadWriteOnce]\n        volumeAttributesClassName: fast",
        );
        for minor in 30..=36 {
            let v = format!("1.{minor}");
            let f = run_at(&v, &limit);
            assert_eq!(codes(&f), vec!["revision-history-limit"], "{v}");
            let want = if minor >= 35 {
                Severity::Notice
            } else {
                Severity::Error
            };
            assert_eq!(f[0].severity, want, "{v}: {}", f[0].message);
            assert!(
                f[0].message.contains(&format!("Kubernetes {v} ")),
                "{}",
                f[0].message
            );
            let f = run_at(&v, &ordinals);
            if minor == 30 {
                assert_eq!(codes(&f), vec!["ordinals-gated"], "{v}");
                assert_eq!(f[0].severity, Severity::Warning);
            } else {
                assert!(f.is_empty(), "{v}: {f:?}");
            }
            let f = run_at(&v, &vac);
            assert_eq!(codes(&f), vec!["attributes-class"], "{v}");
            assert!(
                f[0].message
                    .contains("volumeAttributesClassName changes (unset) -> fast")
                    && f[0].message.contains("spec: Forbidden"),
                "{}",
                f[0].message
            );
        }
    }

    /// [`STS`] as an OpenKruise Advanced StatefulSet.
    fn kruise() -> String {
        STS.replace("apiVersion: apps/v1", "apiVersion: apps.kruise.io/v1beta1")
    }

    /// [`kruise`] with the volumeClaimUpdateStrategy `t`.
    fn kruise_strategy(t: &str) -> String {
        kruise().replace(
            "spec:\n  replicas",
            &format!("spec:\n  volumeClaimUpdateStrategy:\n    type: {t}\n  replicas"),
        )
    }

    /// The findings on the change from `old` to `new`, by the default version's rules.
    fn run_from(old: &str, new: &str) -> Vec<Finding> {
        let version = KubeVersion::parse(crate::k8s::versions::DEFAULT).unwrap();
        compare("old.yaml", old, "new.yaml", new, version)
            .unwrap()
            .findings
    }

    /// `s` with its claim template grown from 8Gi to 9Gi.
    fn grown(s: &str) -> String {
        s.replace("storage: 8Gi", "storage: 9Gi")
    }

    /// `s` with its claim template's access modes changed.
    fn modes(s: &str) -> String {
        s.replace("[ReadWriteOnce]", "[ReadWriteMany]")
    }

    /// OpenKruise's Advanced StatefulSet, by its webhook's rules (update_rules_kruise.rs): a grow
    /// and an access-mode change, by volumeClaimUpdateStrategy.
    #[test]
    fn an_advanced_statefulset_by_openkruise_s_rules() {
        let kruise = kruise();
        let rolling = kruise_strategy("OnPodRollingUpdate");
        let f = run_from(&rolling, &grown(&rolling));
        assert_eq!(codes(&f), vec!["kruise-grow"]);
        assert!(
            f[0].message
                .contains("its controller grows PVCs data-k-0, data-k-1"),
            "{}",
            f[0].message
        );
        for unset in [kruise.clone(), kruise_strategy("OnDelete")] {
            let f = run_from(&unset, &grown(&unset));
            assert_eq!(codes(&f), vec!["kruise-grow"]);
            assert!(f[0].message.contains("keep their size"), "{}", f[0].message);
            let f = run_from(&unset, &modes(&unset));
            assert_eq!(codes(&f), vec!["kruise-claim-template-changed"]);
            assert_eq!(f[0].severity, Severity::Warning);
        }
        let f = run_from(&rolling, &modes(&rolling));
        assert_eq!(codes(&f), vec!["kruise-claim-template-refused"]);
    }

    /// OpenKruise's webhook on other claim template changes under OnPodRollingUpdate.
    #[test]
    fn an_advanced_statefulset_s_claim_template_changes() {
        let rolling = kruise_strategy("OnPodRollingUpdate");
        // Its webhook compares only accessModes and storageClassName (IsClaimCompatibleWithoutSize):
        // a label, or a storageClassName where there was none, passes; existing PVCs keep theirs.
        for other in [
            "        name: data\n        labels: {tier: hot}\n",
            "        name: data\n      spec:\n        storageClassName: fast\n",
        ] {
            let (from, to) = if other.contains("labels") {
                ("        name: data\n", other)
            } else {
                ("        name: data\n      spec:\n", other)
            };
            let f = run_from(&rolling, &rolling.replace(from, to));
            assert_eq!(codes(&f), vec!["kruise-claim-template-changed"], "{other}");
        }
        let classed = rolling.replace(
            "      spec:\n        accessModes",
            "      spec:\n        storageClassName: slow\n        accessModes",
        );
        let f = run_from(
            &classed,
            &classed.replace("storageClassName: slow", "storageClassName: fast"),
        );
        assert_eq!(codes(&f), vec!["kruise-claim-template-refused"]);
        let f = run_from(
            &rolling,
            &grown(&rolling).replace("storage: 9Gi", "storage: 7Gi"),
        );
        assert_eq!(codes(&f), vec!["shrink"]);
    }

    /// OpenKruise's allow-list of spec fields, beside Kubernetes' own StatefulSet's.
    #[test]
    fn an_advanced_statefulset_s_spec_fields() {
        let kruise = kruise();
        // Its allow-list: revisionHistoryLimit, scaleStrategy, reserveOrdinals may change;
        // serviceName may not. Kubernetes' own rules would say otherwise for the first three.
        let more = kruise.replace(
            "spec:\n  replicas",
            "spec:\n  revisionHistoryLimit: 3\n  reserveOrdinals: [1]\n  scaleStrategy: {maxUnavailable: 1}\n  replicas",
        );
        assert!(
            run_from(&kruise, &more).is_empty(),
            "{:?}",
            run_from(&kruise, &more)
        );
        let f = run_from(&kruise, &kruise.replace("k-headless", "k-hl"));
        assert_eq!(codes(&f), vec!["kruise-spec-field"]);
        assert!(
            f[0].message.contains("'reserveOrdinals'"),
            "{}",
            f[0].message
        );
        // The same changes on Kubernetes' own StatefulSet.
        assert_eq!(
            codes(&run_from(STS, &modes(STS))),
            vec!["claim-template-changed"]
        );
    }

    /// A claim template's class: a new one needs the procedure (like a grow: the PVCs take it);
    /// going back to none is refused by the PVCs too; with a grow, both are reported.
    #[test]
    fn a_claim_templates_volume_attributes_class() {
        let with = |base: &str, class: &str| {
            base.replace(
                "accessModes: [ReadWriteOnce]",
                &format!(
                    "accessModes: [ReadWriteOnce]\n        volumeAttributesClassName: {class}"
                ),
            )
        };
        let run_from = |old: &str, new: &str| {
            let version = KubeVersion::parse(crate::k8s::versions::DEFAULT).unwrap();
            compare("old.yaml", old, "new.yaml", new, version)
                .unwrap()
                .findings
        };
        let f = run_from(&with(STS, "slow"), &with(STS, "fast"));
        assert_eq!(codes(&f), vec!["attributes-class"]);
        assert_eq!(f[0].severity, Severity::Notice);
        assert!(f[0].message.contains("slow -> fast"), "{}", f[0].message);
        let hint = f[0].hint.as_deref().unwrap();
        assert!(
            hint.contains("--volume-attributes-class fast") && !hint.contains("--size"),
            "{hint}"
        );
        assert!(
            hint.contains("kubectl get volumeattributesclass fast"),
            "{hint}"
        );
        for gone in [STS.to_owned(), with(STS, "\"\"")] {
            let f = run_from(&with(STS, "slow"), &gone);
            assert_eq!(codes(&f), vec!["claim-template-changed"], "{gone}");
            assert_eq!(f[0].severity, Severity::Error);
            assert!(
                f[0].message.contains("nil is forbidden"),
                "{}",
                f[0].message
            );
        }
        assert!(run_from(&with(STS, "fast"), &with(STS, "'fast'")).is_empty());
        let grown = with(STS, "fast").replace("storage: 8Gi", "storage: 9Gi");
        let f = run_from(STS, &grown);
        assert_eq!(codes(&f), vec!["attributes-class", "grow"]);
    }

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.id).collect()
    }

    #[test]
    fn defaults_and_semantic_equality() {
        assert!(run(STS).is_empty());
        for equal in [
            STS.replace("storage: 8Gi", "storage: 8192Mi"),
            STS.replace("spec:\n  replicas: 2", "spec:\n  podManagementPolicy: OrderedReady\n  revisionHistoryLimit: 10\n  replicas: 5\n  minReadySeconds: 3\n  ordinals: {start: 1}\n  updateStrategy: {type: OnDelete}\n  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}"),
            STS.replace("    - metadata:\n        name: data\n      spec:\n", "    - apiVersion: v1\n      kind: PersistentVolumeClaim\n      metadata:\n        name: data\n        labels: {}\n        creationTimestamp: null\n      status: {phase: Pending}\n      spec:\n        volumeMode: Filesystem\n"),
            STS.replace("        app: k\n  volume", "        app: k\n        changed: yes\n  volume"),
        ] {
            assert_eq!(run(&equal), vec![], "{equal}");
        }
    }

    /// A grow, a shrink and a changed claim template, each at the line of the new value.
    #[test]
    fn forbidden_changes_with_lines() {
        let f = run(&STS.replace("storage: 8Gi", "storage: 20Gi"));
        assert_eq!(codes(&f), vec!["grow"]);
        let at = f[0].location.as_ref().unwrap();
        assert_eq!((at.file.as_str(), at.line, at.column), ("new.yaml", 25, 22));
        assert!(
            f[0].message.contains("data-k-0, data-k-1"),
            "{}",
            f[0].message
        );
        assert!(f[0].hint.as_deref().unwrap().contains("pvc-resize plan --release rel --namespace ns --size 20Gi --manifests old.yaml --statefulset k --claim data"), "{}", f[0].message);
        assert_eq!(
            codes(&run(&STS.replace("storage: 8Gi", "storage: 4Gi"))),
            vec!["shrink"]
        );
        let f = run(&STS.replace(
            "name: data\n",
            "name: data\n        labels: {helm.sh/chart: kafka-1.0.1}\n",
        ));
        assert_eq!(codes(&f), vec!["claim-template-changed"]);
        assert!(
            f[0].message
                .contains("metadata.labels[\"helm.sh/chart\"]: (unset) -> kafka-1.0.1"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].location.as_ref().unwrap().line, 21);
    }

    /// The spec fields a StatefulSet update may not change, each under its own code.
    #[test]
    fn forbidden_spec_changes() {
        assert_eq!(
            codes(&run(
                &STS.replace("app: k\n  template", "app: x\n  template")
            )),
            vec!["selector"]
        );
        assert_eq!(
            codes(&run(&STS.replace("  serviceName: k-headless\n", ""))),
            vec!["service-name"]
        );
        assert_eq!(
            codes(&run(&STS.replace(
                "spec:\n  replicas",
                "spec:\n  podManagementPolicy: Parallel\n  replicas"
            ))),
            vec!["pod-management-policy"]
        );
        assert_eq!(
            codes(&run(&STS.replace(
                "spec:\n  replicas",
                "spec:\n  revisionHistoryLimit: 3\n  replicas"
            ))),
            vec!["revision-history-limit"]
        );
        for kep in [
            "volumeClaimUpdatePolicy: InPlace",
            "volumeClaimUpdateStrategy: {type: InPlace}",
        ] {
            let f = run(&STS.replace("spec:\n  replicas", &format!("spec:\n  {kep}\n  replicas")));
            assert_eq!(codes(&f), vec!["volume-claim-update-strategy"], "{kep}");
            assert!(
                f[0].message.contains("in no Kubernetes release"),
                "{}",
                f[0].message
            );
        }
        assert_eq!(
            codes(&run(&STS.replace(
                "spec:\n  replicas",
                "spec:\n  someFutureField: 1\n  replicas"
            ))),
            vec!["spec-field"]
        );
        assert_eq!(
            codes(&run(&format!(
                "{STS}    - metadata: {{name: logs}}\n      spec: {{resources: {{requests: {{storage: 1Gi}}}}}}\n"
            ))),
            vec!["claim-template-added"]
        );
    }

    #[test]
    fn removed_and_renamed() {
        let f = run(&STS.replace("name: k\n", "name: k2\n"));
        assert_eq!(codes(&f), vec!["statefulset-added", "statefulset-removed"]);
        assert_eq!(f[1].location.as_ref().unwrap().file, "old.yaml");
        assert!(
            f[1].message.contains("data-k-0, data-k-1"),
            "{}",
            f[1].message
        );
        assert!(f[1].message.contains("renamed to k2"), "{}", f[1].message);
        assert!(looks_like_manifests(STS));
        assert!(!looks_like_manifests(
            "kafka:\n  persistence:\n    size: 1Gi\n"
        ));
    }
}
