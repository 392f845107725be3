//! One reader of a manifest stream: the release model every command reads.
//!
//! A stream is split once ([`stream::split`]: marker lines are exact document boundaries), each
//! chunk is parsed once, and every document is expanded into the Kubernetes objects Helm's client
//! and kubectl apply: the document itself, or the items of a `kind: List` or any `*List`
//! (`StatefulSetList`, ...), Lists nested in Lists included. Each object keeps its identity
//! (kind, apiVersion, name, namespace, labels, hook flag, source template) read as Kubernetes reads
//! it (merge keys and aliases applied, escapes decoded) and its span in the original text, so a
//! command that edits (post-render) edits the original bytes in place, inside a List too.
//!
//! Owns: the split, the parse, the List expansion, the identity of objects, and the views of
//! StatefulSets (with their claim templates), PVCs and custom resources that own volumes.
//! Must not: print, decide what a command reports, or re-serialise anything. A command that
//! needs only some kinds passes a [`Filter`]; chunks that can't hold them are not parsed (their
//! count is kept), which is what keeps `post-render` fast on large streams.

use crate::finding::{Finding, Location, Severity};
use crate::k8s::objects::{self, HELM4_FILENAME_ANNOTATION, StatefulSet};
use crate::k8s::stream::{self, Chunk};
use crate::yaml::data;
use crate::yaml::{self, Kind, Node, Pos, SyntaxError};
use memchr::memmem;
use serde_json::Value;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The annotation that makes a template a Helm hook (hooks are not part of the release manifest).
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";

/// Lists nested deeper than this are not expanded further (the inner List is an object).
const MAX_LIST_DEPTH: usize = 64;

/// One Kubernetes object of the stream.
#[derive(Debug, Clone)]
pub struct Object {
    /// The chunk of the stream it is in (an index into [`Release::chunks`]).
    pub chunk: usize,
    /// The YAML document of the chunk (almost always 0).
    pub doc: usize,
    /// The item indexes that lead to it through Lists; empty for a document itself.
    pub items: Vec<usize>,
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub namespace: Option<String>,
    /// `metadata.labels` with string values, in the order Kubernetes reads them.
    pub labels: Vec<(String, String)>,
    /// True when it carries the `helm.sh/hook` annotation.
    pub hook: bool,
    /// Its template: the chunk's `# Source:` comment (Helm 3, `helm template`), or the Helm 4
    /// annotation `postrenderer.helm.sh/postrender-filename` (its own, or its List's).
    pub source: Option<String>,
    /// Its bytes in the stream and where it starts.
    pub span: Range<usize>,
    pub pos: Pos,
}

/// The API group of OpenKruise's Advanced StatefulSet (`apps.kruise.io/v1beta1`, `kind:
/// StatefulSet`): the same kind as Kubernetes' own, its own update rules.
pub const KRUISE_GROUP: &str = "apps.kruise.io";

/// Strimzi's API group: its `Kafka` and `KafkaNodePool` hold claims through `spec.storage`.
pub const STRIMZI_GROUP: &str = "kafka.strimzi.io";

/// The chunks that may hold a volume owner ([`Parsed::claim_owners`]): a custom resource with a
/// `volumeClaimTemplate(s)` key, or a Strimzi resource.
pub fn owners_filter() -> Filter {
    Filter::any_of(&["volumeClaimTemplate", STRIMZI_GROUP])
}

impl Object {
    /// True for OpenKruise's Advanced StatefulSet (`kind: StatefulSet` in the `apps.kruise.io`
    /// group), which its webhook validates by other rules than Kubernetes'.
    pub fn is_kruise_statefulset(&self) -> bool {
        self.kind == "StatefulSet"
            && self.api_version.split_once('/').map(|(g, _)| g) == Some(KRUISE_GROUP)
    }

    /// True for Strimzi's `Kafka` and `KafkaNodePool`, whose claims are sized by `spec.storage`
    /// (no `volumeClaimTemplate` key): the other kind of volume owner.
    pub fn is_strimzi_storage(&self) -> bool {
        self.api_version.split_once('/').map(|(g, _)| g) == Some(STRIMZI_GROUP)
            && matches!(self.kind.as_str(), "Kafka" | "KafkaNodePool")
    }

    /// True when it was read from inside a List.
    pub fn in_list(&self) -> bool {
        !self.items.is_empty()
    }

    /// `kind namespace/name` for messages.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The JSON pointer of the object in its document's data (`/items/2` inside a List).
    pub fn pointer(&self) -> String {
        self.items.iter().map(|i| format!("/items/{i}")).collect()
    }
}

/// One parsed chunk: its YAML documents and the objects in them.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub chunk: usize,
    pub trees: Arc<Vec<yaml::Document>>,
    pub objects: Vec<Object>,
}

impl Parsed {
    /// The document root an object is in.
    pub fn root(&self, o: &Object) -> &Node {
        self.trees[o.doc]
            .root
            .as_ref()
            .expect("an object comes from a document with a root")
    }

    /// The object's node in the span tree.
    pub fn node(&self, o: &Object) -> &Node {
        let root = self.root(o);
        o.items.iter().fold(root, |node, &i| {
            &list_items(root, node).expect("the path was read from this tree")[i]
        })
    }

    /// The object as a StatefulSet, when it is one.
    pub fn statefulset(&self, o: &Object) -> Option<StatefulSet<'_>> {
        (o.kind == "StatefulSet")
            .then(|| objects::statefulset(self.root(o), self.node(o), &o.name, o.source.clone()))
    }

    /// The data (as Helm and kubectl read it: merges, aliases and tags applied) of the objects
    /// `keep` selects, with their indexes; each document is converted once, and each object's
    /// data is moved out of its document's (objects are disjoint: a List is expanded into its
    /// items, never kept beside them), not copied.
    pub fn data(
        &self,
        keep: &dyn Fn(&Object) -> bool,
    ) -> Result<Vec<(usize, Value)>, data::DataError> {
        let mut out = Vec::new();
        let mut doc_json: Option<(usize, Value)> = None;
        for (oi, o) in self.objects.iter().enumerate().filter(|(_, o)| keep(o)) {
            if doc_json.as_ref().is_none_or(|(d, _)| *d != o.doc) {
                doc_json = Some((o.doc, data::read(self.root(o))?));
            }
            let (_, json) = doc_json.as_mut().expect("converted above");
            let value = json.pointer_mut(&o.pointer()).map(std::mem::take);
            out.push((oi, value.unwrap_or(Value::Null)));
        }
        Ok(out)
    }

    /// The objects of the chunk that hold claim templates, as [`Release::volume_owners`].
    pub fn volume_owners(&self) -> Vec<(&Object, Vec<&Node>)> {
        self.objects
            .iter()
            .map(|o| (o, self.claim_templates(o)))
            .filter(|(_, templates)| !templates.is_empty())
            .collect()
    }

    /// The claim templates of an object other than a StatefulSet (`volumeClaimTemplate` or
    /// `volumeClaimTemplates` anywhere in its spec).
    pub fn claim_templates(&self, o: &Object) -> Vec<&Node> {
        let mut templates = Vec::new();
        if o.kind != "StatefulSet"
            && let Some(spec) = self.node(o).get("spec")
        {
            claim_templates_in(spec, &mut templates, 0);
        }
        templates
    }

    /// The indexes (into `objects`) of the volume owners of the chunk: the custom resources
    /// with claim templates ([`Parsed::volume_owners`]), and Strimzi's `Kafka` and
    /// `KafkaNodePool`, in stream order.
    pub fn claim_owners(&self) -> Vec<usize> {
        (0..self.objects.len())
            .filter(|&i| {
                let o = &self.objects[i];
                o.is_strimzi_storage() || !self.claim_templates(o).is_empty()
            })
            .collect()
    }

    /// Every StatefulSet of the chunk.
    pub fn statefulsets(&self) -> impl Iterator<Item = (&Object, StatefulSet<'_>)> {
        self.objects
            .iter()
            .filter_map(|o| self.statefulset(o).map(|s| (o, s)))
    }
}

/// Which chunks are worth parsing: those that hold all of these byte strings, written out or
/// behind backslash escapes, and that `unless` does not pass. No needle: every chunk.
#[derive(Clone, Default)]
pub struct Filter {
    needles: Vec<memmem::Finder<'static>>,
    /// At least one of these, when not empty.
    any: Vec<String>,
    unless: Option<Box<Filter>>,
    /// Or the chunks this one passes.
    or: Option<Box<Filter>>,
}

impl Filter {
    /// Every chunk.
    pub fn everything() -> Filter {
        Filter::default()
    }

    /// Chunks that hold every one of `needles`.
    pub fn of<N: AsRef<[u8]>>(needles: &[N]) -> Filter {
        Filter {
            needles: needles
                .iter()
                .map(|n| memmem::Finder::new(n.as_ref()).into_owned())
                .collect(),
            ..Filter::default()
        }
    }

    /// Chunks that hold at least one of `needles` (escapes decoded as in [`stream::holds_any`]).
    pub fn any_of(needles: &[&str]) -> Filter {
        Filter {
            any: needles.iter().map(|n| (*n).to_owned()).collect(),
            ..Filter::default()
        }
    }

    /// This filter, except the chunks `other` passes (already read by it).
    pub fn except(self, other: &Filter) -> Filter {
        Filter {
            unless: Some(Box::new(other.clone())),
            ..self
        }
    }

    /// The chunks this filter passes, and those `other` passes.
    pub fn or(mut self, other: Filter) -> Filter {
        self.or = Some(Box::new(match self.or.take() {
            Some(earlier) => earlier.or(other),
            None => other,
        }));
        self
    }

    /// True when a chunk's text may hold what is wanted.
    pub fn may_match(&self, text: &[u8]) -> bool {
        (self.all_found(text) && !self.unless.as_ref().is_some_and(|u| u.may_match(text)))
            || self.or.as_ref().is_some_and(|o| o.may_match(text))
    }

    fn all_found(&self, text: &[u8]) -> bool {
        if !self.any.is_empty() {
            let any: Vec<&str> = self.any.iter().map(String::as_str).collect();
            let text = std::str::from_utf8(text).unwrap_or_default();
            if !stream::holds_any(text, &any) {
                return false;
            }
        }
        let missing: Vec<&memmem::Finder<'static>> = self
            .needles
            .iter()
            .filter(|n| n.find(text).is_none())
            .collect();
        if missing.is_empty() {
            return true;
        }
        // A double-quoted scalar can spell a needle with escapes (`"State\x66ulSet"`).
        if memchr::memchr(b'\\', text).is_none() {
            return false;
        }
        let decoded = stream::decode_escapes(text);
        missing.iter().all(|n| n.find(&decoded).is_some())
    }
}

/// How to read a stream.
#[derive(Clone, Default)]
pub struct Want {
    /// The chunks to read objects from.
    pub filter: Filter,
    /// Parse the other chunks too (syntax errors are errors), but keep nothing of them.
    pub parse_all: bool,
    /// Threads (0 or 1: one).
    pub threads: usize,
}

/// The model of a release: the stream's chunks and the objects of the chunks read.
#[derive(Debug)]
pub struct Release<'a> {
    pub input: &'a str,
    pub chunks: Vec<Chunk>,
    /// The chunks read, in stream order.
    pub parsed: Vec<Parsed>,
    /// Chunks with content (what Helm counts as documents).
    pub documents: usize,
}

impl<'a> Release<'a> {
    /// Splits, parses and expands `input`.
    pub fn read(input: &'a str, want: &Want) -> Result<Release<'a>, SyntaxError> {
        Release::read_chunks(input, stream::split(input), want)
    }

    /// The same over chunks already split by [`stream::split`].
    pub fn read_chunks(
        input: &'a str,
        chunks: Vec<Chunk>,
        want: &Want,
    ) -> Result<Release<'a>, SyntaxError> {
        let parsed = scan(input, &chunks, want, &|e| e, &|p| Ok(vec![p]))?;
        let documents = chunks
            .iter()
            .filter(|c| stream::has_content(&input[c.range.clone()]))
            .count();
        Ok(Release {
            input,
            chunks,
            parsed,
            documents,
        })
    }

    /// Every object read, in stream order, with its chunk.
    pub fn objects(&self) -> impl Iterator<Item = (&Parsed, &Object)> {
        self.parsed
            .iter()
            .flat_map(|p| p.objects.iter().map(move |o| (p, o)))
    }

    /// Every StatefulSet, in stream order.
    pub fn statefulsets(&self) -> impl Iterator<Item = (&Object, StatefulSet<'_>)> {
        self.parsed.iter().flat_map(Parsed::statefulsets)
    }

    /// Every PersistentVolumeClaim.
    pub fn pvcs(&self) -> impl Iterator<Item = (&Parsed, &Object)> {
        self.objects()
            .filter(|(_, o)| o.kind == "PersistentVolumeClaim")
    }

    /// Every object other than a StatefulSet that holds claim templates (a custom resource such
    /// as a ClickHouseInstallation: `volumeClaimTemplate` or `volumeClaimTemplates` anywhere
    /// in its spec), with the template nodes.
    pub fn volume_owners(&self) -> Vec<(&Object, Vec<&Node>)> {
        self.parsed.iter().flat_map(Parsed::volume_owners).collect()
    }

    /// The text of a chunk.
    pub fn text(&self, chunk: usize) -> &'a str {
        &self.input[self.chunks[chunk].range.clone()]
    }
}

fn claim_templates_in<'n>(node: &'n Node, out: &mut Vec<&'n Node>, depth: usize) {
    if depth > MAX_LIST_DEPTH {
        return;
    }
    match &node.kind {
        Kind::Mapping { entries, .. } => {
            for (k, v) in entries {
                match k.as_str() {
                    Some("volumeClaimTemplates") => out.extend(v.items()),
                    Some("volumeClaimTemplate") => out.push(v),
                    _ => claim_templates_in(v, out, depth + 1),
                }
            }
        }
        Kind::Sequence { items, .. } => {
            items
                .iter()
                .for_each(|i| claim_templates_in(i, out, depth + 1));
        }
        _ => {}
    }
}

/// A read error as the `invalid-yaml` finding at its place in `file`.
pub fn syntax_finding(file: &str, e: &SyntaxError) -> Finding {
    crate::k8s::schema::syntax_finding(file, e)
}

/// Data Helm refuses (an alias bomb, a bad tag) as the `invalid-yaml` finding, placed at the
/// start of the object's chunk (`line`).
pub fn data_finding(file: &str, line: usize, e: &data::DataError) -> Finding {
    Finding::new("invalid-yaml", Severity::Error, e.to_string())
        .at(Location::new(file, Pos { line, col: 1 }))
        .hint("write the document out instead of through nested aliases")
}

/// The data of one object: the index of its chunk in [`Release::parsed`], its index there.
pub type ObjectData = (usize, usize, Value);

/// Reads a whole stream and the data of the objects `keep` selects (indexes into
/// [`Release::parsed`] and its objects), errors as findings in `file`: what the commands that
/// compare objects (`check` on renders, a cluster snapshot) start from.
pub fn read_data<'a>(
    file: &str,
    input: &'a str,
    want: &Want,
    keep: impl Fn(&Object) -> bool,
) -> Result<(Release<'a>, Vec<ObjectData>), Box<Finding>> {
    let release = Release::read(input, want).map_err(|e| Box::new(syntax_finding(file, &e)))?;
    let mut out = Vec::new();
    for (pi, p) in release.parsed.iter().enumerate() {
        let line = release.chunks[p.chunk].line;
        let data = p
            .data(&keep)
            .map_err(|e| Box::new(data_finding(file, line, &e)))?;
        out.extend(data.into_iter().map(|(oi, v)| (pi, oi, v)));
    }
    Ok((release, out))
}

/// Streams at least this large are scanned on several threads by default.
pub const PARALLEL_BYTES: usize = 1 << 20;

/// The most chunks per unit of parallel work.
const BLOCK: usize = 64;

/// Reads the chunks `want` selects (on `want.threads` threads) and hands each parsed chunk to
/// `f`; the results come back in stream order, and the first error in stream order is the one
/// returned. `syntax` turns a parse error into the caller's error. Kept whole: the hot path of
/// every scan, its threads and their merge in one place.
pub fn scan<T: Send, E: Send>(
    input: &str,
    chunks: &[Chunk],
    want: &Want,
    syntax: &(dyn Fn(SyntaxError) -> E + Sync),
    f: &(dyn Fn(Parsed) -> Result<Vec<T>, E> + Sync),
) -> Result<Vec<T>, E> {
    // Every reader of a stream comes through here: a bare CR is refused, not read as one line.
    if let Some((at, message)) = stream::bare_cr(input) {
        return Err(syntax(SyntaxError {
            pos: crate::yaml::line_col(input, at),
            message: message.to_owned(),
            class: crate::yaml::Class::BareCr,
        }));
    }
    let threads = want.threads.max(1);
    let block = (chunks.len() / (threads * 8)).clamp(1, BLOCK);
    let blocks = chunks.len().div_ceil(block);
    let range = |r: Range<usize>| -> Result<Vec<T>, E> {
        let mut out = Vec::new();
        for i in r {
            let text = &input[chunks[i].range.clone()];
            let wanted = want.filter.may_match(text.as_bytes());
            if !wanted && !want.parse_all {
                continue;
            }
            let parsed = read_chunk(input, chunks, i).map_err(syntax)?;
            if wanted {
                out.extend(f(parsed)?);
            }
        }
        Ok(out)
    };
    if threads <= 1 || blocks <= 1 {
        return range(0..chunks.len());
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Result<Vec<T>, E>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.min(blocks))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= blocks {
                            break mine;
                        }
                        mine.push((b, range(b * block..((b + 1) * block).min(chunks.len()))));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a scan thread panicked"))
            .collect()
    });
    results.sort_by_key(|(b, _)| *b);
    let total = results
        .iter()
        .map(|(_, r)| r.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(total);
    for (_, r) in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Parses chunk `i` and expands its documents into objects.
pub fn read_chunk(input: &str, chunks: &[Chunk], i: usize) -> Result<Parsed, SyntaxError> {
    let chunk = &chunks[i];
    let text = &input[chunk.range.clone()];
    let trees = yaml::parse_stream(text, chunk.range.start, chunk.line - 1)?;
    let comment = stream::source_comment(text);
    let mut objects = Vec::new();
    // A chunk of comments and markers only is no document to Helm, though it parses as null.
    let content = stream::has_content(text);
    for (d, doc) in trees.iter().enumerate().filter(|_| content) {
        let Some(root) = &doc.root else { continue };
        let mut path = Vec::new();
        expand(
            root,
            root,
            &mut path,
            comment,
            None,
            &mut |items, node, source| {
                objects.push(identity(root, node, i, d, items, source));
            },
        );
    }
    Ok(Parsed {
        chunk: i,
        trees: Arc::new(trees),
        objects,
    })
}

/// The items of a `*List` object (`kind` ending in `List` with an `items` key), if it is one.
fn list_items<'n>(root: &'n Node, node: &'n Node) -> Option<&'n [Node]> {
    let kind = string(root, node, "kind")?;
    if !kind.ends_with("List") {
        return None;
    }
    let items = data::lookup(root, node, "items").value()?;
    Some(resolve(root, items).items())
}

/// An alias as the node it refers to.
fn resolve<'n>(root: &'n Node, node: &'n Node) -> &'n Node {
    match node.kind {
        Kind::Alias(id) => data::anchored(root, id, node.span.start).unwrap_or(node),
        _ => node,
    }
}

type Visit<'v, 'n> = dyn FnMut(Vec<usize>, &'n Node, Option<String>) + 'v;

fn expand<'n>(
    root: &'n Node,
    node: &'n Node,
    path: &mut Vec<usize>,
    comment: Option<&str>,
    inherited: Option<&str>,
    visit: &mut Visit<'_, 'n>,
) {
    let own = annotation(root, node, HELM4_FILENAME_ANNOTATION);
    let annotated = own.as_deref().or(inherited);
    match list_items(root, node) {
        Some(items) if path.len() < MAX_LIST_DEPTH => {
            for (i, item) in items.iter().enumerate() {
                path.push(i);
                expand(root, resolve(root, item), path, comment, annotated, visit);
                path.pop();
            }
        }
        _ => {
            let source = comment.or(annotated).map(str::to_owned);
            visit(path.clone(), node, source);
        }
    }
}

fn identity(
    root: &Node,
    node: &Node,
    chunk: usize,
    doc: usize,
    items: Vec<usize>,
    source: Option<String>,
) -> Object {
    let meta = data::lookup(root, node, "metadata")
        .value()
        .map(|m| resolve(root, m));
    let field = |k| meta.and_then(|m| string(root, m, k));
    let labels = meta
        .and_then(|m| data::lookup(root, m, "labels").value())
        .map(|l| pairs(root, l))
        .unwrap_or_default();
    Object {
        chunk,
        doc,
        items,
        kind: string(root, node, "kind").unwrap_or_default(),
        api_version: string(root, node, "apiVersion").unwrap_or_default(),
        name: field("name").unwrap_or_default(),
        namespace: field("namespace"),
        labels,
        hook: annotation(root, node, HOOK_ANNOTATION).is_some(),
        source,
        span: node.span.clone(),
        pos: node.pos,
    }
}

/// The string value of `key` in `mapping`, as Kubernetes reads it.
pub fn string(root: &Node, mapping: &Node, key: &str) -> Option<String> {
    data::lookup(root, mapping, key)
        .value()
        .map(|v| resolve(root, v))
        .and_then(Node::as_str)
        .map(str::to_owned)
}

/// The node at a path of mapping keys as Kubernetes reads it.
pub fn read_node<'n>(root: &'n Node, node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter()
        .try_fold(node, |n, k| data::lookup(root, n, k).value())
}

/// A `metadata.annotations` value of an object.
fn annotation(root: &Node, node: &Node, key: &str) -> Option<String> {
    let meta = data::lookup(root, node, "metadata").value()?;
    let annotations = data::lookup(root, meta, "annotations").value()?;
    string(root, annotations, key)
}

/// The scalar entries of a mapping as Kubernetes reads them (merge keys applied, later entries
/// over earlier ones), in order of first appearance.
fn pairs(root: &Node, mapping: &Node) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    fn go(root: &Node, m: &Node, out: &mut Vec<(String, String)>, depth: usize) {
        let m = resolve(root, m);
        if depth > MAX_LIST_DEPTH {
            return;
        }
        let Kind::Mapping { entries, .. } = &m.kind else {
            if let Kind::Sequence { items, .. } = &m.kind {
                // A merge of a list: the earlier mappings win.
                for i in items.iter().rev() {
                    go(root, i, out, depth + 1);
                }
            }
            return;
        };
        for (k, v) in entries {
            if data::is_merge_key(k) {
                go(root, v, out, depth + 1);
                continue;
            }
            let (Some(key), Some(value)) = (data::key_string(k), resolve(root, v).as_str()) else {
                continue;
            };
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value.to_owned(),
                None => out.push((key, value.to_owned())),
            }
        }
    }
    go(root, mapping, &mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(src: &str) -> Vec<(String, String, Vec<usize>)> {
        let r = Release::read(src, &Want::default()).unwrap();
        r.objects()
            .map(|(_, o)| (o.kind.clone(), o.name.clone(), o.items.clone()))
            .collect()
    }

    #[test]
    fn lists_are_expanded_at_any_depth() {
        let src = "kind: List\nitems:\n- kind: StatefulSetList\n  items:\n  - {kind: StatefulSet, metadata: {name: a}}\n  - {kind: StatefulSet, metadata: {name: b}}\n- kind: ConfigMap\n  metadata: {name: c}\n---\nkind: \"State\\x66ulSet\"\nmetadata: {name: d}\n";
        assert_eq!(
            read(src),
            vec![
                ("StatefulSet".into(), "a".into(), vec![0, 0]),
                ("StatefulSet".into(), "b".into(), vec![0, 1]),
                ("ConfigMap".into(), "c".into(), vec![1]),
                ("StatefulSet".into(), "d".into(), vec![]),
            ]
        );
        let r = Release::read(src, &Want::default()).unwrap();
        let (p, o) = r.objects().nth(1).unwrap();
        assert_eq!(
            &src[o.span.clone()],
            "{kind: StatefulSet, metadata: {name: b}}"
        );
        assert_eq!(p.node(o).pos, o.pos);
        assert_eq!(o.pointer(), "/items/0/items/1");
    }

    #[test]
    fn identity_as_kubernetes_reads_it() {
        let src = "base: &m {name: x, labels: {a: '1'}}\nkind: Pod\nmetadata:\n  name: y\n  <<: *m\n  annotations: {helm.sh/hook: pre-install, postrenderer.helm.sh/postrender-filename: c/templates/p.yaml}\n";
        let r = Release::read(src, &Want::default()).unwrap();
        let (_, o) = r.objects().next().unwrap();
        assert_eq!(o.name, "x", "the merge after `name: y` wins");
        assert_eq!(o.labels, vec![("a".to_owned(), "1".to_owned())]);
        assert!(o.hook);
        assert_eq!(o.source.as_deref(), Some("c/templates/p.yaml"));
        // Chunks with only comments: no object.
        assert!(read("# only\n---\n# comment\n---\n").is_empty());
    }

    #[test]
    fn filters_or_and_except() {
        let sts = Filter::of(&["StatefulSet", "kafka"]);
        let either = sts.clone().or(owners_filter());
        assert!(either.may_match(b"kind: StatefulSet\nmetadata: {name: kafka}"));
        assert!(either.may_match(b"kind: ClickHouseInstallation\nvolumeClaimTemplates: []"));
        assert!(either.may_match(b"apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka"));
        assert!(!either.may_match(b"kind: ConfigMap"));
        // The chunks `either` read are not read again.
        let rest = Filter::of(&["StatefulSet"]).except(&either);
        assert!(!rest.may_match(b"kind: StatefulSet\nvolumeClaimTemplates: []"));
        assert!(rest.may_match(b"kind: StatefulSet\nmetadata: {name: zk}"));
    }

    #[test]
    fn volume_owners() {
        let src = "kind: ClickHouseInstallation\nmetadata: {name: ch}\nspec:\n  templates:\n    volumeClaimTemplates:\n    - name: data\n      spec: {resources: {requests: {storage: 20Gi}}}\n";
        let r = Release::read(src, &Want::default()).unwrap();
        let owners = r.volume_owners();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].1.len(), 1);
        assert_eq!(r.parsed[0].claim_owners(), [0]);
    }
}
