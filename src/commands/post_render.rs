//! The Helm post-renderer: a manifest stream in, the same stream out with the chosen
//! StatefulSets' claim templates grown (and optional RFC 6902 patches applied).
//!
//! Every change is made and checked before anything is written: on any error the caller writes nothing,
//! so Helm never sees a partial stream (a missing document would be deleted from the release).

use crate::k8s::objects::{self, StatefulSet};
use crate::k8s::patch::PatchSet;
use crate::k8s::quantity::{Quantity, Size, decimal_for_binary};
use crate::k8s::release::{self, Filter, Parsed, Want};
use crate::k8s::schema;
use crate::k8s::stream::{self, Chunk};
use crate::yaml::{self, Pos, Style};
use memchr::memmem;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The chart whose StatefulSets are picked when no `--statefulset` is given.
pub const DEFAULT_CHART: &str = "kafka";

/// What to do to the stream.
#[derive(Debug, Default)]
pub struct Options {
    pub size: Option<Size>,
    /// The VolumeAttributesClass the target claim templates get (`spec.volumeAttributesClassName`,
    /// written in place or added), a checked DNS-1123 subdomain.
    pub volume_attributes_class: Option<String>,
    /// Exact names or `*`/`?` globs; empty: the StatefulSets of the `kafka` chart.
    pub statefulsets: Vec<String>,
    pub claim: String,
    pub patches: Option<PatchSet>,
    /// Parse every document, not only those that could be selected.
    pub parse_all: bool,
    /// The Kubernetes version whose schemas the changed documents must pass (empty: the default).
    pub kubernetes_version: String,
    /// Threads for the scan (0: one per core for large streams).
    pub threads: usize,
    /// The straightforward path, for tests that compare it with the fast one: every document
    /// parsed, on one thread, and every changed document parsed again and checked with the
    /// full schema validator.
    pub reference: bool,
    /// Keep the parsed documents of the StatefulSets found (`plan` reads the picked ones whole;
    /// the post-renderer drops each tree once read).
    pub keep_documents: bool,
    /// Also keep the volume owners (custom resources whose operator makes the claims:
    /// [`release::owners_filter`]) that the same scan reads: `plan` takes its notices and its
    /// `--resource` targets from them, so it reads the render once.
    pub owners: bool,
    /// Pick no StatefulSet (a plan with `--pvc` or `--resource` targets only): the scan reads
    /// the volume owners alone.
    pub pick_none: bool,
}

/// A failure, with the line in the input stream where it applies. It lives in `patch` (patches
/// fail the same way), so that `patch` needs nothing from this module.
pub use crate::k8s::patch::RenderError;

fn err(pos: Option<Pos>, message: impl Into<String>, hint: impl Into<String>) -> RenderError {
    RenderError {
        pos,
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// What happened to one claim template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimChange {
    pub statefulset: String,
    pub claim: String,
    pub old: String,
    pub new: String,
    pub pos: Pos,
    /// False when the template already had the size (equal by value) and was left as it was.
    pub changed: bool,
}

/// What happened to one claim template's `spec.volumeAttributesClassName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassChange {
    pub statefulset: String,
    pub claim: String,
    /// The class the template named (`None`: the field was missing or null).
    pub old: Option<String>,
    pub new: String,
    pub pos: Pos,
    /// False when the template already named the class.
    pub changed: bool,
}

/// The rewritten stream and what was done.
#[derive(Debug)]
pub struct Outcome<'a> {
    pub output: Spliced<'a>,
    pub documents: usize,
    pub claims: Vec<ClaimChange>,
    pub classes: Vec<ClassChange>,
    pub patched: Vec<String>,
    pub warnings: Vec<String>,
    /// What the user should know that is not a risk (a hooks-only stream passed through).
    pub notes: Vec<String>,
}

/// A range of the input and the text that replaces it.
pub type Edit = (Range<usize>, String);

/// The output stream as the input with replaced byte ranges, validated whole before anything is
/// written: no second copy of a large stream is built (`to_string()` builds one when wanted).
#[derive(Debug)]
pub struct Spliced<'a> {
    input: &'a str,
    /// Sorted, non-overlapping ranges of `input` and their replacements.
    edits: Vec<Edit>,
}

impl<'a> Spliced<'a> {
    /// The output, piece by piece, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> + '_ {
        let mut cursor = 0;
        let mut edits = self.edits.iter();
        let mut pending: Option<&str> = None;
        std::iter::from_fn(move || {
            if let Some(p) = pending.take() {
                return Some(p);
            }
            match edits.next() {
                Some((range, new)) => {
                    let before = &self.input[cursor..range.start];
                    cursor = range.end;
                    pending = Some(new.as_str());
                    Some(before)
                }
                None if cursor <= self.input.len() => {
                    let rest = &self.input[cursor..];
                    cursor = self.input.len() + 1;
                    Some(rest)
                }
                None => None,
            }
        })
        .filter(|s| !s.is_empty())
    }

    /// The length of the output in bytes.
    pub fn len(&self) -> usize {
        self.edits
            .iter()
            .fold(self.input.len(), |n, (r, new)| n - r.len() + new.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The replaced ranges of the input and their replacements, in order.
    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }
}

impl fmt::Display for Spliced<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.segments().try_for_each(|s| f.write_str(s))
    }
}

/// A StatefulSet found in the stream.
struct Found {
    chunk: usize,
    name: String,
    namespace: Option<String>,
    pos: Pos,
    from_chart: bool,
    claims: Vec<FoundClaim>,
    /// The claim templates as JSON text (a tenth of the memory of the data, which a stream of
    /// many small StatefulSets would hold for each), for the schema check after a resize
    /// without parsing the changed text again. `None` when the document has aliases or merge
    /// keys, or a template holds a float (JSON text keeps every other value exactly): then the
    /// changed text is parsed again.
    templates: Option<Box<[Box<str>]>>,
    /// Its chunk as the release reader read it and its object there, with
    /// [`Options::keep_documents`].
    kept: Option<(Arc<Parsed>, usize)>,
}

/// A claim template of a candidate, with its storage scalar when it has one.
struct FoundClaim {
    name: String,
    pos: Pos,
    storage: Option<Storage>,
    /// Where `spec.resources.requests.storage` is written when it is not a scalar (an alias,
    /// a mapping, a list), and whether it is an alias.
    unusable: Option<(Pos, bool)>,
    /// The merge key (`<<`) the storage Kubernetes reads comes through, if it does.
    merge: Option<Pos>,
    /// Where `spec.volumeAttributesClassName` is, or would be written.
    class: ClassSite,
}

/// Where a claim template's `spec.volumeAttributesClassName` is written, or would be.
enum ClassSite {
    /// A scalar: replaced. `old` is its value as Kubernetes reads it (`None` for null).
    Scalar {
        range: Range<usize>,
        old: Option<String>,
        style: Style,
        pos: Pos,
    },
    /// Missing: a new entry is written at `at` (the start of the spec's first key), followed by
    /// `after` (a line break and the key's indentation in a block mapping, `, ` in a flow one).
    Insert { at: usize, after: String },
    /// Can't be edited in place: where, and why.
    Refused { pos: Pos, why: String },
}

impl ClassSite {
    /// Can't be edited in place: at `pos`, for `why`.
    fn refused(pos: Pos, why: &str) -> ClassSite {
        ClassSite::Refused {
            pos,
            why: why.to_owned(),
        }
    }
}

/// The storage scalar: where it is and how it is written.
struct Storage {
    range: Range<usize>,
    text: String,
    style: Style,
    pos: Pos,
    /// A tag or an anchor on the scalar: its new value is read back from the changed text.
    decorated: bool,
    /// The alias (`*name`) that reuses an anchor on the scalar or on a node around it, if any:
    /// editing the anchored text would change that alias's value too.
    shared: Option<Pos>,
}

/// A size change to make: which candidate, which of its claim templates, the new text.
struct Resize {
    /// A storage request (false: a volumeAttributesClassName).
    storage: bool,
    found: usize,
    claim: usize,
    range: Range<usize>,
    text: String,
}

/// Streams at least this large are scanned on several threads.
const PARALLEL_BYTES: usize = 1 << 20;

/// Runs the post-renderer over a whole stream.
pub fn post_render<'a>(input: &'a str, opts: &Options) -> Result<Outcome<'a>, RenderError> {
    let chunks = stream::split(input);
    // A bare CR hides the content from this reader: the scan says so instead.
    if !chunks
        .iter()
        .any(|c| stream::has_content(&input[c.range.clone()]))
        && stream::bare_cr(input).is_none()
    {
        return Err(err(
            None,
            "the manifest stream on stdin is empty: refusing to produce an empty release",
            "Helm 3 would delete every resource of the release on an empty post-render output; \
             check that the chart rendered anything (`helm template ...`)",
        ));
    }
    if let Some(hooks) = hooks_only(input, &chunks) {
        return Ok(passed_through(input, hooks));
    }
    Selection::new(input, chunks, opts)?.render(opts)
}

/// The annotation that makes a document a Helm hook (`release.HookAnnotation`).
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";

/// The number of documents, when every document of the stream is a Helm hook: what Helm 4.2's
/// `separate` post-render strategy hands the post-renderer in its first call. Helm's own test is
/// the key `helm.sh/hook` in a document's `metadata.annotations` (helm/helm v4.2.3
/// `pkg/release/v1/util/manifest_sorter.go`, `sortManifestsByKind`; hooks of unknown types never
/// reach a post-renderer). `None` as soon as one document is not a hook, or does not parse (the
/// normal path reports it).
pub fn hooks_only(input: &str, chunks: &[Chunk]) -> Option<usize> {
    if !stream::holds_any(input, &[HOOK_ANNOTATION]) {
        return None;
    }
    let mut hooks = 0;
    for c in chunks {
        let text = &input[c.range.clone()];
        if !stream::has_content(text) {
            continue;
        }
        if !stream::holds_any(text, &[HOOK_ANNOTATION]) {
            return None;
        }
        for doc in yaml::parse_stream(text, c.range.start, c.line - 1).ok()? {
            let value = crate::yaml::data::to_json(doc.root.as_ref()?).ok()?;
            let annotations = value.pointer("/metadata/annotations")?.as_object()?;
            if !annotations.contains_key(HOOK_ANNOTATION) {
                return None;
            }
            hooks += 1;
        }
    }
    (hooks > 0).then_some(hooks)
}

/// A hooks-only stream, unchanged: the release's StatefulSets are in the other call.
fn passed_through(input: &str, hooks: usize) -> Outcome<'_> {
    Outcome {
        output: Spliced {
            input,
            edits: Vec::new(),
        },
        documents: hooks,
        claims: Vec::new(),
        classes: Vec::new(),
        patched: Vec::new(),
        warnings: Vec::new(),
        notes: vec![format!(
            "all {hooks} documents are Helm hooks ({HOOK_ANNOTATION}): passed through unchanged. \
             Helm 4.2's `separate` post-render strategy calls the post-renderer once with the hooks \
             alone and once with the release's other objects; the StatefulSets are resized in that call"
        )],
    }
}

/// The StatefulSets a run picks, found by one scan of the stream: what the post-renderer
/// resizes, and what `plan` reads before it asks for the resized stream.
pub struct Selection<'a> {
    input: &'a str,
    chunks: Vec<Chunk>,
    found: Vec<Found>,
    /// Indexes into `found`, in the order of the patterns.
    picked: Vec<usize>,
    /// The volume owners read ([`Options::owners`]): each chunk and the object's index there.
    owners: Vec<(Arc<Parsed>, usize)>,
}

impl<'a> Selection<'a> {
    /// Scans `input` (split into `chunks` by [`stream::split`]) and picks the StatefulSets of
    /// `opts.statefulsets` (the `kafka` chart's when empty). With no `opts.size` nothing is
    /// picked; `opts.parse_all` still checks every document's syntax.
    pub fn new(
        input: &'a str,
        chunks: Vec<Chunk>,
        opts: &Options,
    ) -> Result<Selection<'a>, RenderError> {
        let scan = Scan {
            input,
            chunks: &chunks,
            threads: threads(opts, input.len()),
            keep: opts.keep_documents,
            owners: opts.owners,
        };
        let filter = if opts.reference {
            Filter::everything()
        } else {
            prefilter(&opts.statefulsets)
        };
        let mut found = Vec::new();
        let mut picked = Vec::new();
        let mut owners = Vec::new();
        if opts.size.is_some() || opts.volume_attributes_class.is_some() {
            // StatefulSets come from the chunks `filter` passes; the owners' chunks are read
            // in the same pass when asked for.
            let sts = (!opts.pick_none).then_some(&filter);
            let read = match (opts.owners, opts.pick_none) {
                (false, _) => filter.clone(),
                (true, true) => release::owners_filter(),
                (true, false) => filter.clone().or(release::owners_filter()),
            };
            (found, owners) = scan.run(&read, sts, opts.parse_all)?;
            if !opts.pick_none {
                picked = select(&scan, &filter, &mut found, &opts.statefulsets)?;
            }
        } else if opts.parse_all {
            scan.run(&Filter::everything(), None, true)?;
        }
        Ok(Selection {
            input,
            chunks,
            found,
            picked,
            owners,
        })
    }

    /// The volume owners the scan read ([`Options::owners`]), in stream order.
    pub fn owners(&self) -> impl Iterator<Item = (&Parsed, &release::Object)> {
        self.owners
            .iter()
            .map(|(p, o)| (p.as_ref(), &p.objects[*o]))
    }

    /// The picked StatefulSets: the chunk of the stream each is in, its name, and with
    /// [`Options::keep_documents`] the chunk as the release reader read it and the object.
    pub fn picked(
        &self,
    ) -> impl Iterator<Item = (&Chunk, &str, Option<(&Parsed, &release::Object)>)> {
        self.picked.iter().map(|&f| {
            let found = &self.found[f];
            let kept = found
                .kept
                .as_ref()
                .map(|(p, o)| (p.as_ref(), &p.objects[*o]));
            (&self.chunks[found.chunk], found.name.as_str(), kept)
        })
    }

    /// The stream with the picked StatefulSets resized to `opts.size` and `opts.patches`
    /// applied, every changed document checked.
    pub fn render(&self, opts: &Options) -> Result<Outcome<'a>, RenderError> {
        let input = self.input;
        let mut warnings = Vec::new();
        let mut resizes = Vec::with_capacity(self.picked.len());
        let mut claims = Vec::with_capacity(self.picked.len());
        let mut classes = Vec::new();
        for &f in &self.picked {
            if let Some(size) = &opts.size {
                let (change, resize) =
                    resize_one(&self.found[f], f, size, &opts.claim, &mut warnings)?;
                claims.push(change);
                resizes.extend(resize);
            }
            if let Some(class) = &opts.volume_attributes_class {
                let (change, edit) = class_one(&self.found[f], f, class, &opts.claim)?;
                classes.push(change);
                resizes.extend(edit);
            }
        }
        resizes.sort_by_key(|r| r.range.start);
        let (edits, patched) = build_edits(input, &self.chunks, &self.found, &resizes, opts)?;
        Ok(Outcome {
            output: Spliced { input, edits },
            documents: self
                .chunks
                .iter()
                .filter(|c| stream::has_content(&input[c.range.clone()]))
                .count(),
            claims,
            classes,
            patched,
            warnings,
            notes: Vec::new(),
        })
    }
}

fn threads(opts: &Options, len: usize) -> usize {
    if opts.reference {
        return 1;
    }
    if opts.threads > 0 {
        return opts.threads;
    }
    if len < PARALLEL_BYTES {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// The claim template named `claim` of a candidate, and its index; refused when it has none or
/// two of that name.
fn claim_named<'f>(f: &'f Found, claim: &str) -> Result<(usize, &'f FoundClaim), RenderError> {
    let mut named = f.claims.iter().enumerate().filter(|(_, c)| c.name == claim);
    let Some((ci, first)) = named.next() else {
        let names: Vec<&str> = f.claims.iter().map(|c| c.name.as_str()).collect();
        return Err(err(
            Some(f.pos),
            format!(
                "StatefulSet {} has no volumeClaimTemplate named {claim:?} (it has: {})",
                f.name,
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ),
            "name the claim template with --claim",
        ));
    };
    if let Some((_, twin)) = named.next() {
        return Err(err(
            Some(twin.pos),
            format!(
                "StatefulSet {} has two volumeClaimTemplates named {claim:?} (the first at line {}): \
                 refusing to change one of them",
                f.name, first.pos.line
            ),
            "Kubernetes refuses duplicate claim template names; fix the chart's template",
        ));
    }
    Ok((ci, first))
}

/// Plans setting one selected StatefulSet's claim template to the VolumeAttributesClass `class`:
/// no edit when it already names it.
fn class_one(
    f: &Found,
    index: usize,
    class: &str,
    claim: &str,
) -> Result<(ClassChange, Option<Resize>), RenderError> {
    let (ci, c) = claim_named(f, claim)?;
    let edit = |range: Range<usize>, text: String| Resize {
        storage: false,
        found: index,
        claim: ci,
        range,
        text,
    };
    let value = yaml::render_scalar(class, Style::Plain);
    let (old, pos, resize) = match &c.class {
        ClassSite::Refused { pos, why } => {
            return Err(err(
                Some(*pos),
                format!(
                    "the volumeAttributesClassName of StatefulSet {} claim {claim:?} {why}",
                    f.name
                ),
                "render it as one plain value in the chart's template (or set it with --patch)",
            ));
        }
        ClassSite::Scalar { old, .. } if old.as_deref() == Some(class) => {
            (old.clone(), c.pos, None)
        }
        ClassSite::Scalar {
            range,
            old,
            style,
            pos,
        } => {
            let text = if range.is_empty() {
                // `volumeAttributesClassName:` with no value: the value follows the colon.
                format!(" {value}")
            } else {
                yaml::render_scalar(class, *style)
            };
            (old.clone(), *pos, Some(edit(range.clone(), text)))
        }
        ClassSite::Insert { at, after } => {
            let text = format!("volumeAttributesClassName: {value}{after}");
            (None, c.pos, Some(edit(*at..*at, text)))
        }
    };
    let change = ClassChange {
        statefulset: f.name.clone(),
        claim: claim.to_owned(),
        changed: resize.is_some(),
        old,
        new: class.to_owned(),
        pos,
    };
    Ok((change, resize))
}

/// Where a claim template's `spec.volumeAttributesClassName` is, or where it would be written:
/// before the spec's first key, at its indentation (or first in a flow mapping).
fn class_site(input: &str, c: &objects::ClaimTemplate<'_>) -> ClassSite {
    if let Some(m) = c.attributes_class_merge {
        return ClassSite::refused(
            m.pos,
            &format!(
                "comes through the merge key (<<) at line {}: the text written there is not what Kubernetes reads",
                m.pos.line
            ),
        );
    }
    if let Some(n) = c.attributes_class {
        return written_class_site(input, n);
    }
    new_class_site(input, c)
}

/// Where a written `volumeAttributesClassName` value `n` is replaced (after the key's colon when
/// it is empty), or why it can't be.
fn written_class_site(input: &str, n: &yaml::Node) -> ClassSite {
    match &n.kind {
        _ if n.anchor != 0 || n.tag.is_some() => ClassSite::refused(
            n.pos,
            "carries a YAML anchor or tag (an alias may reuse it)",
        ),
        yaml::Kind::Scalar {
            style: Style::Literal | Style::Folded,
            ..
        } => ClassSite::refused(n.pos, "is a block scalar (| or >)"),
        yaml::Kind::Scalar { .. } if n.is_empty_null() => {
            // `volumeAttributesClassName:` with no value: the parser's empty node sits at
            // the key's end; the value goes after the colon.
            match input[n.span.start..]
                .split('\n')
                .next()
                .and_then(|l| l.find(':'))
            {
                Some(colon) => {
                    let at = n.span.start + colon + 1;
                    ClassSite::Scalar {
                        range: at..at,
                        old: None,
                        style: Style::Plain,
                        pos: n.pos,
                    }
                }
                None => ClassSite::refused(n.pos, "has no value written after its key"),
            }
        }
        yaml::Kind::Scalar { value, style } => ClassSite::Scalar {
            range: n.span.clone(),
            old: (!n.is_null()).then(|| value.clone()),
            style: *style,
            pos: n.pos,
        },
        _ => ClassSite::refused(
            n.pos,
            "is not a single value (an alias, a mapping or a list)",
        ),
    }
}

/// Where a missing `volumeAttributesClassName` would be written: before the spec's first key, at
/// its indentation (or first in a flow mapping), or why it can't be.
fn new_class_site(input: &str, c: &objects::ClaimTemplate<'_>) -> ClassSite {
    let Some(spec) = c.spec else {
        return ClassSite::refused(c.pos, "can't be added: the template has no spec");
    };
    let yaml::Kind::Mapping { entries, flow } = &spec.kind else {
        return ClassSite::refused(
            spec.pos,
            "can't be added: the template's spec is not a mapping",
        );
    };
    let Some((key, _)) = entries.first() else {
        return ClassSite::refused(spec.pos, "can't be added: the template's spec is empty");
    };
    if key.anchor != 0 || key.tag.is_some() || !matches!(key.kind, yaml::Kind::Scalar { .. }) {
        return ClassSite::refused(key.pos, "can't be added before a decorated or complex key");
    }
    let at = key.span.start;
    if *flow {
        return ClassSite::Insert {
            at,
            after: ", ".to_owned(),
        };
    }
    let line_start = input[..at].rfind('\n').map_or(0, |i| i + 1);
    let indent = &input[line_start..at];
    if !indent.bytes().all(|b| b == b' ') {
        return ClassSite::refused(
            key.pos,
            "can't be added: the spec's first key does not start its line",
        );
    }
    ClassSite::Insert {
        at,
        after: format!("\n{indent}"),
    }
}

/// Checks and plans the resize of one selected StatefulSet: no [`Resize`] when the size is
/// already right.
fn resize_one(
    f: &Found,
    index: usize,
    size: &Size,
    claim: &str,
    warnings: &mut Vec<String>,
) -> Result<(ClaimChange, Option<Resize>), RenderError> {
    let (ci, found) = claim_named(f, claim)?;
    let storage = editable_storage(f, claim, found)?;
    let old = growth(f, claim, size, storage)?;
    let Storage {
        range,
        text: old_text,
        style,
        pos,
        ..
    } = storage;
    let changed = size.quantity != old;
    let mut resize = None;
    if changed {
        warnings.extend(decimal_for_binary(
            old_text,
            &old,
            &size.text,
            &size.quantity,
        ));
        resize = Some(Resize {
            storage: true,
            found: index,
            claim: ci,
            range: range.clone(),
            text: yaml::render_scalar(&size.text, *style),
        });
    }
    let change = ClaimChange {
        statefulset: f.name.clone(),
        claim: claim.to_owned(),
        old: old_text.clone(),
        new: size.text.clone(),
        pos: *pos,
        changed,
    };
    Ok((change, resize))
}

/// The claim template's storage scalar, when there is one to edit in place: not through a merge
/// key, not an alias, a mapping or a list, and not missing.
fn editable_storage<'f>(
    f: &Found,
    claim: &str,
    found: &'f FoundClaim,
) -> Result<&'f Storage, RenderError> {
    let FoundClaim {
        pos: tpos,
        storage,
        unusable,
        merge,
        ..
    } = found;
    if let Some(at) = merge {
        return Err(err(
            Some(*at),
            format!(
                "the storage request Kubernetes reads for StatefulSet {} claim {claim:?} comes from the merge key (<<) at line {} (Helm and kubectl apply merges in document order, so it overrides a `storage:` written before it): resizing the written value would change nothing",
                f.name, at.line
            ),
            "render the size once, without a merge key, in the chart's template (or change it with --patch)",
        ));
    }
    storage.as_ref().ok_or_else(|| match unusable {
        Some((at, true)) => err(
            Some(*at),
            format!(
                "the storage request of StatefulSet {} claim {claim:?} is an alias (`*name`) of a value written elsewhere in the document: resizing it would mean changing that value, and whatever else reads it",
                f.name
            ),
            "render the size without anchors and aliases (in the chart's template), or change it with --patch",
        ),
        Some((at, false)) => err(
            Some(*at),
            format!(
                "the storage request of StatefulSet {} claim {claim:?} is not a single value (a mapping or a list): Kubernetes expects a quantity such as 20Gi",
                f.name
            ),
            "fix the chart's template so that it renders a quantity",
        ),
        None => err(
            Some(*tpos),
            format!(
                "claim template {claim:?} of StatefulSet {} has no spec.resources.requests.storage",
                f.name
            ),
            "the chart renders no size for this claim; set it in the chart's values instead",
        ),
    })
}

/// The rendered size, when growing it to `size` (or keeping it) is allowed and can be written
/// in place: a quantity, no shrink, not a block scalar, not inside an anchor an alias reuses.
fn growth(f: &Found, claim: &str, size: &Size, storage: &Storage) -> Result<Quantity, RenderError> {
    let Storage {
        text: old_text,
        style,
        pos,
        shared,
        ..
    } = storage;
    let old = Quantity::parse(old_text).map_err(|e| {
        err(
            Some(*pos),
            format!(
                "StatefulSet {} claim {claim:?} has storage {old_text:?}: {e}",
                f.name
            ),
            "fix the size in the chart's values; Kubernetes would refuse this manifest",
        )
    })?;
    if size.quantity < old {
        let old_bytes = old.bytes_beside(&size.quantity);
        return Err(err(
            Some(*pos),
            format!(
                "refusing to shrink StatefulSet {} claim {claim:?} from {old_text} ({old_bytes} bytes) to {} ({} bytes)",
                f.name,
                size.text,
                size.quantity.bytes_beside(&old)
            ),
            "Kubernetes forbids shrinking a PersistentVolumeClaim; pass a size at least as large as the rendered one",
        ));
    }
    if matches!(style, Style::Literal | Style::Folded) {
        return Err(err(
            Some(*pos),
            "the storage request is a block scalar (| or >)",
            "render the size as a plain or quoted scalar",
        ));
    }
    if let (true, Some(alias)) = (size.quantity != old, shared) {
        return Err(err(
            Some(*pos),
            format!(
                "the storage request of StatefulSet {} claim {claim:?} is inside a YAML anchor (&) that the alias at line {} reuses: resizing it would change that value too",
                f.name, alias.line
            ),
            "render the size without anchors and aliases (in the chart's template), or change both with --patch",
        ));
    }
    Ok(old)
}

/// Applies the resizes and the patches chunk by chunk, checks every changed document, and
/// returns the edits of the output and the ids of the patches applied.
fn build_edits(
    input: &str,
    chunks: &[Chunk],
    found: &[Found],
    resizes: &[Resize],
    opts: &Options,
) -> Result<(Vec<Edit>, Vec<String>), RenderError> {
    let mut edits = Vec::with_capacity(resizes.len());
    let mut patched = Vec::new();
    let mut pending = resizes.iter().peekable();
    let mut line_delta: isize = 0;
    let mut byte_delta: isize = 0;
    let by_chunk = by_chunk(found);
    for (index, chunk) in chunks.iter().enumerate() {
        let mut here = Vec::new();
        while let Some(r) = pending.next_if(|r| r.range.start < chunk.range.end) {
            here.push(r);
        }
        if here.is_empty() && opts.patches.is_none() {
            continue;
        }
        let text = &input[chunk.range.clone()];
        let mut doc = (!here.is_empty()).then(|| resized(input, chunk, &here));
        let mut was_patched = false;
        if let Some(patches) = &opts.patches {
            let current = doc.as_deref().unwrap_or(text);
            if let Some((new, id)) = patches.apply(current, chunk.line)? {
                patched.push(id);
                doc = Some(new);
                was_patched = true;
            }
        }
        let Some(doc) = doc else { continue };
        let out_start = chunk.range.start.saturating_add_signed(byte_delta);
        let line = chunk.line.saturating_add_signed(line_delta);
        let siblings = by_chunk.get(&index).map_or(&[][..], Vec::as_slice);
        let quick = !was_patched && !opts.reference && quick_valid(found, siblings, &here, opts)?;
        if !quick {
            check_changed_document(&doc, out_start, line, opts, was_patched)?;
        }
        if here.iter().any(|r| !r.storage) {
            check_classes_read_back(&doc, out_start, line, found, &here, opts)?;
        }
        check_boundaries(text, &doc, index + 1 == chunks.len())?;
        let lines = |t: &str| memchr::memchr_iter(b'\n', t.as_bytes()).count() as isize;
        line_delta += lines(&doc) - lines(text);
        byte_delta += doc.len() as isize - text.len() as isize;
        if was_patched {
            edits.push((chunk.range.clone(), doc));
        } else {
            edits.extend(here.iter().map(|r| (r.range.clone(), r.text.clone())));
        }
    }
    if let Some(patches) = &opts.patches {
        patches.check_all_used()?;
    }
    Ok((edits, patched))
}

/// The indices into `found` of the StatefulSets of each chunk.
fn by_chunk(found: &[Found]) -> HashMap<usize, Vec<usize>> {
    let mut by_chunk: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, f) in found.iter().enumerate() {
        by_chunk.entry(f.chunk).or_default().push(i);
    }
    by_chunk
}

/// The text of a chunk with its resizes (`here`, in order) written in.
fn resized(input: &str, chunk: &Chunk, here: &[&Resize]) -> String {
    let mut local = String::with_capacity(chunk.range.len() + 16);
    let mut cursor = chunk.range.start;
    for r in here {
        local.push_str(&input[cursor..r.range.start]);
        local.push_str(&r.text);
        cursor = r.range.end;
    }
    local.push_str(&input[cursor..chunk.range.end]);
    local
}

/// A changed chunk must keep its number of documents and end where a marker line can follow,
/// so that the output has exactly the documents of the input.
fn check_boundaries(old: &str, new: &str, last: bool) -> Result<(), RenderError> {
    let (before, after) = (stream::count_documents(old), stream::count_documents(new));
    if before != after || !(last || new.ends_with('\n')) {
        return Err(err(
            None,
            format!(
                "internal check failed: a changed document became {after} documents (was {before}); nothing was written"
            ),
            "this is a bug in pvc-resize; please report it with the input",
        ));
    }
    Ok(())
}

/// The schema check of a resized chunk without parsing it again: every StatefulSet of the chunk
/// has its claim templates as JSON data from the first parse; the changed storage values are
/// replaced and the templates checked with the schema's quick check. False sends the chunk
/// to the full path (a parse of the changed text, and the validator's messages).
fn quick_valid(
    found: &[Found],
    siblings: &[usize],
    here: &[&Resize],
    opts: &Options,
) -> Result<bool, RenderError> {
    let version = kubernetes_version(opts);
    let plain = here.iter().all(|r| {
        r.storage
            && found[r.found].claims[r.claim]
                .storage
                .as_ref()
                .is_some_and(|s| !s.decorated)
    });
    if !plain {
        return Ok(false);
    }
    for &i in siblings {
        let f = &found[i];
        let Some(templates) = &f.templates else {
            return Ok(false);
        };
        let mut templates: Vec<Value> = templates
            .iter()
            .map(|t| serde_json::from_str(t).expect("JSON text written by serde_json"))
            .collect();
        for r in here.iter().filter(|r| r.found == i) {
            let Some(slot) = templates
                .get_mut(r.claim)
                .and_then(|t| t.pointer_mut("/spec/resources/requests/storage"))
            else {
                return Ok(false);
            };
            let new = &opts.size.as_ref().expect("resizes need a size").text;
            *slot = Value::String(new.clone());
        }
        let ok = schema::claim_templates_quick_valid(version, &templates)
            .map_err(|e| err(None, e, "pass --kubernetes-version with a bundled version"))?;
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn kubernetes_version(opts: &Options) -> &str {
    if opts.kubernetes_version.is_empty() {
        schema::DEFAULT_KUBERNETES_VERSION
    } else {
        opts.kubernetes_version.as_str()
    }
}

/// A document the tool changed must still pass the strict Kubernetes schema of its kind: the
/// whole object when a patch changed it, the claim templates of its StatefulSets when only a
/// size changed. Every object of the document is checked (the items of a `*List` too).
fn check_changed_document(
    doc: &str,
    base: usize,
    line: usize,
    opts: &Options,
    whole: bool,
) -> Result<(), RenderError> {
    let version = kubernetes_version(opts);
    let broken = |e: String| {
        err(
            Some(Pos { line, col: 1 }),
            format!("the changed document can't be read back: {e}"),
            "an alias bomb or too deep nesting in this document is refused; fix the chart's output (otherwise this is a bug in pvc-resize)",
        )
    };
    let docs = yaml::parse_stream(doc, base, line - 1).map_err(|e| broken(e.to_string()))?;
    for tree in docs.iter().filter_map(|d| d.root.as_ref()) {
        let json = crate::yaml::data::to_json(tree).map_err(|e| broken(format!("{line}: {e}")))?;
        for (prefix, object) in json_objects(&json) {
            let violations = if whole {
                schema::validate_object(version, object).map(Option::unwrap_or_default)
            } else if object.get("kind").and_then(Value::as_str) == Some("StatefulSet") {
                schema::validate_claim_templates(version, object)
            } else {
                Ok(Vec::new())
            }
            .map_err(|e| err(None, e, "pass --kubernetes-version with a bundled version"))?;
            if let Some(v) = violations.first() {
                let pos = schema::node_at_pointer(tree, &format!("{prefix}{}", v.pointer)).pos;
                let all: Vec<String> = violations
                    .iter()
                    .map(|v| format!("{} (at {prefix}{})", v.message, v.pointer))
                    .collect();
                return Err(err(
                    Some(pos),
                    format!(
                        "the changed {} {} would not be valid for Kubernetes {version} (line numbers are of the output): {}",
                        object.get("kind").and_then(Value::as_str).unwrap_or("?"),
                        object
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("?"),
                        all.join("; ")
                    ),
                    "fix the patch or the size; nothing was written",
                ));
            }
        }
    }
    Ok(())
}

/// The objects of a document as JSON data, with their JSON pointer: the document, or the items
/// of a `*List` (as the release model reads the tree).
fn json_objects(doc: &Value) -> Vec<(String, &Value)> {
    fn go<'v>(v: &'v Value, prefix: String, out: &mut Vec<(String, &'v Value)>, depth: usize) {
        let is_list = v
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"));
        match v.get("items").and_then(Value::as_array) {
            Some(items) if is_list && depth < 64 => {
                for (i, item) in items.iter().enumerate() {
                    go(item, format!("{prefix}/items/{i}"), out, depth + 1);
                }
            }
            _ => out.push((prefix, v)),
        }
    }
    let mut out = Vec::new();
    go(doc, String::new(), &mut out, 0);
    out
}

/// Every claim template given a VolumeAttributesClass reads it back from the changed text, as
/// Kubernetes reads it (merge keys, escapes, the last of duplicate keys).
fn check_classes_read_back(
    doc: &str,
    base: usize,
    line: usize,
    found: &[Found],
    here: &[&Resize],
    opts: &Options,
) -> Result<(), RenderError> {
    let class = opts.volume_attributes_class.as_deref().unwrap_or_default();
    let bug = |what: String| {
        err(
            Some(Pos { line, col: 1 }),
            format!("internal check failed: {what}; nothing was written"),
            "this is a bug in pvc-resize; please report it with the input (or set the field with --patch)",
        )
    };
    let docs = yaml::parse_stream(doc, base, line - 1).map_err(|e| bug(e.to_string()))?;
    let mut objects = Vec::new();
    for tree in docs.iter().filter_map(|d| d.root.as_ref()) {
        objects.push(crate::yaml::data::to_json(tree).map_err(|e| bug(e.to_string()))?);
    }
    for r in here.iter().filter(|r| !r.storage) {
        let f = &found[r.found];
        let claim = &f.claims[r.claim].name;
        let read = objects
            .iter()
            .flat_map(|o| json_objects(o).into_iter().map(|(_, v)| v))
            .filter(|o| {
                o.get("kind").and_then(Value::as_str) == Some("StatefulSet")
                    && o.pointer("/metadata/name").and_then(Value::as_str) == Some(&f.name)
            })
            .filter_map(|o| o.pointer("/spec/volumeClaimTemplates")?.as_array())
            .flatten()
            .filter(|t| t.pointer("/metadata/name").and_then(Value::as_str) == Some(claim))
            .map(|t| {
                t.pointer("/spec/volumeAttributesClassName")
                    .and_then(Value::as_str)
            })
            .collect::<Vec<_>>();
        if read != [Some(class)] {
            return Err(bug(format!(
                "StatefulSet {} claim {claim:?} reads volumeAttributesClassName {read:?} after the edit, not {class:?}",
                f.name
            )));
        }
    }
    Ok(())
}

/// Which chunks may hold the StatefulSets `patterns` pick: every StatefulSet chunk, narrowed
/// by the one pattern's longest literal (or the default chart's name).
fn prefilter(patterns: &[String]) -> Filter {
    let mut needles = vec![b"StatefulSet".to_vec()];
    if patterns.len() == 1 {
        let lit = objects::glob_literal(&patterns[0]);
        // A literal with white space or a quote could be written folded or doubled (`''`).
        if !lit.is_empty() && !lit.contains(|c: char| c.is_whitespace() || c == '\'') {
            needles.push(lit.as_bytes().to_vec());
        }
    } else if patterns.is_empty() {
        needles.push(DEFAULT_CHART.as_bytes().to_vec());
    }
    Filter::of(&needles)
}

/// The chunks of a stream, scanned for StatefulSets by the release reader.
struct Scan<'s> {
    input: &'s str,
    chunks: &'s [Chunk],
    threads: usize,
    /// Keep each StatefulSet's documents in its [`Found`].
    keep: bool,
    /// Keep the volume owners of the chunks read too.
    owners: bool,
}

/// What one chunk gives the scan: its StatefulSets, and its volume owners when asked for.
type ChunkFinds = (Vec<Found>, Vec<(Arc<Parsed>, usize)>);

impl Scan<'_> {
    /// Every StatefulSet in the chunks that pass `filter` (or in all, with `parse_all` for
    /// syntax errors), in stream order, and the volume owners when [`Scan::owners`]. Only the
    /// chunks `sts` passes give StatefulSets (every chunk read, when `None`). The first error in
    /// stream order is the one returned.
    fn run(
        &self,
        filter: &Filter,
        sts: Option<&Filter>,
        parse_all: bool,
    ) -> Result<ChunkFinds, RenderError> {
        let want = Want {
            filter: filter.clone(),
            parse_all,
            threads: self.threads,
        };
        let syntax = |e: yaml::SyntaxError| {
            err(
                Some(e.pos),
                format!("invalid YAML in the manifest stream: {}", e.message),
                "the chart rendered a broken document; run `helm template` and check that line",
            )
        };
        let per_chunk = release::scan(self.input, self.chunks, &want, &syntax, &|p| {
            Ok(vec![self.found(p, sts)])
        })?;
        let mut out: ChunkFinds = (Vec::new(), Vec::new());
        for (found, owners) in per_chunk {
            out.0.extend(found);
            out.1.extend(owners);
        }
        Ok(out)
    }

    /// The StatefulSets of one parsed chunk (none when `sts` does not pass it), and its
    /// volume owners when [`Scan::owners`].
    fn found(&self, parsed: Parsed, sts: Option<&Filter>) -> ChunkFinds {
        let text = &self.input[self.chunks[parsed.chunk].range.clone()];
        let parsed = Arc::new(parsed);
        let owners = if self.owners {
            let at = parsed.claim_owners();
            at.into_iter().map(|i| (Arc::clone(&parsed), i)).collect()
        } else {
            Vec::new()
        };
        let mut found = Vec::new();
        if sts.is_some_and(|f| !f.may_match(text.as_bytes())) {
            return (found, owners);
        }
        for (index, o) in parsed.objects.iter().enumerate() {
            let Some(s) = parsed.statefulset(o) else {
                continue;
            };
            let root = parsed.root(o);
            let plain = !(may_alias_or_merge(text) && has_alias_or_merge(root));
            let mut f = to_found(self.input, parsed.chunk, &s, plain);
            f.kept = self.keep.then(|| (Arc::clone(&parsed), index));
            if !plain {
                for st in f.claims.iter_mut().filter_map(|c| c.storage.as_mut()) {
                    st.shared = alias_over(root, &st.range);
                }
            }
            found.push(f);
        }
        (found, owners)
    }
}

/// False when the text can't hold an alias (`*`) or a merge key (`<<`, or one spelled with
/// escapes): then the tree need not be walked.
fn may_alias_or_merge(text: &str) -> bool {
    memchr::memchr2(b'*', b'\\', text.as_bytes()).is_some()
        || memmem::find(text.as_bytes(), b"<<").is_some()
}

/// True when a tree has an alias or a merge key anywhere: then a subtree's data may come from
/// elsewhere in the document.
fn has_alias_or_merge(root: &yaml::Node) -> bool {
    let mut seen = false;
    root.walk(&mut |n| {
        seen |= matches!(n.kind, yaml::Kind::Alias(_)) || n.as_str() == Some("<<");
    });
    seen
}

fn to_found(input: &str, chunk: usize, sts: &StatefulSet<'_>, plain: bool) -> Found {
    let templates = if plain {
        sts.claims
            .iter()
            .map(|c| {
                crate::yaml::data::to_json(c.node)
                    .ok()
                    .filter(|t| !crate::yaml::data::has_float(t))
                    .map(|t| t.to_string().into_boxed_str())
            })
            .collect::<Option<Box<[Box<str>]>>>()
    } else {
        None
    };
    Found {
        chunk,
        kept: None,
        name: sts.name.clone(),
        namespace: sts.namespace.clone(),
        pos: sts.pos,
        from_chart: sts.from_chart(DEFAULT_CHART),
        templates,
        claims: sts
            .claims
            .iter()
            .map(|c| {
                let storage = c.storage.map(|n| {
                    let style = match &n.kind {
                        yaml::Kind::Scalar { style, .. } => *style,
                        _ => Style::Plain,
                    };
                    Storage {
                        range: n.span.clone(),
                        text: n.as_str().unwrap_or_default().to_owned(),
                        style,
                        pos: n.pos,
                        decorated: n.tag.is_some() || n.anchor != 0,
                        shared: None,
                    }
                });
                FoundClaim {
                    name: c.name.clone(),
                    pos: c.pos,
                    storage,
                    unusable: c
                        .storage_other
                        .map(|n| (n.pos, matches!(n.kind, yaml::Kind::Alias(_)))),
                    merge: c.storage_merge.map(|m| m.pos),
                    class: class_site(input, c),
                }
            })
            .collect(),
    }
}

/// Where an alias reuses an anchor defined on the node at `range` or on any node around it.
fn alias_over(root: &yaml::Node, range: &Range<usize>) -> Option<Pos> {
    let mut anchors = Vec::new();
    let mut aliases = Vec::new();
    root.walk(&mut |n| {
        if n.anchor != 0 && n.span.start <= range.start && range.end <= n.span.end {
            anchors.push(n.anchor);
        }
        if let yaml::Kind::Alias(id) = n.kind {
            aliases.push((id, n.pos));
        }
    });
    aliases
        .into_iter()
        .find(|(id, _)| anchors.contains(id))
        .map(|(_, pos)| pos)
}

/// Lists every StatefulSet of the stream (parsing them all), for error messages.
fn all_statefulsets(scan: &Scan<'_>) -> Vec<(String, bool)> {
    scan.run(&prefilter_all(), None, false)
        .map(|(v, _)| v.into_iter().map(|f| (f.name, f.from_chart)).collect())
        .unwrap_or_default()
}

fn prefilter_all() -> Filter {
    Filter::of(&["StatefulSet"])
}

/// The candidates `patterns` pick (indexes into `found`), each once, in the order of the
/// patterns. Refuses a pick that is ambiguous: the same StatefulSet twice in the stream.
fn select(
    scan: &Scan<'_>,
    scan_filter: &Filter,
    found: &mut Vec<Found>,
    patterns: &[String],
) -> Result<Vec<usize>, RenderError> {
    if patterns.is_empty() {
        return select_default(scan, scan_filter, found);
    }
    let mut taken = vec![false; found.len()];
    let mut picked = Vec::new();
    for p in patterns {
        let mut matched = false;
        for (i, f) in found.iter().enumerate() {
            if objects::glob_match(p, &f.name) {
                matched = true;
                if !std::mem::replace(&mut taken[i], true) {
                    picked.push(i);
                }
            }
        }
        if !matched {
            return Err(err(
                None,
                format!(
                    "--statefulset {p:?} matched no StatefulSet; {}",
                    describe_statefulsets(scan)
                ),
                "check the name: Helm prefixes it with the release name (e.g. posthog-posthog-kafka)",
            ));
        }
    }
    let all: Vec<usize> = (0..found.len()).collect();
    refuse_duplicates(found, &all, &picked)?;
    Ok(picked)
}

/// With no `--statefulset`: the one StatefulSet of the default chart, checked for copies
/// elsewhere in the stream (which the prefilter skipped), or why there is none to pick.
fn select_default(
    scan: &Scan<'_>,
    scan_filter: &Filter,
    found: &mut Vec<Found>,
) -> Result<Vec<usize>, RenderError> {
    let picked: Vec<usize> = (0..found.len()).filter(|&i| found[i].from_chart).collect();
    match picked.len() {
        0 => {
            return Err(err(
                None,
                format!(
                    "no StatefulSet of the {DEFAULT_CHART:?} chart found; {}",
                    describe_statefulsets(scan)
                ),
                "name the StatefulSet with --statefulset NAME (a `*` glob works too)",
            ));
        }
        1 => {}
        _ => {
            // Among the picks only: other copies may not have been parsed.
            refuse_duplicates(found, &picked, &picked)?;
            return Err(err(
                Some(found[picked[1]].pos),
                format!(
                    "{} StatefulSets of the {DEFAULT_CHART:?} chart found ({}); refusing to guess",
                    picked.len(),
                    picked
                        .iter()
                        .map(|&i| found[i].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "pick them with --statefulset NAME (repeatable), e.g. --statefulset kafka-broker",
            ));
        }
    }
    // The prefilter looked for the chart's name; a copy of the pick elsewhere needs only
    // the StatefulSet's own name.
    // Chunks the first pass parsed are skipped.
    let name = found[picked[0]].name.clone();
    let filter = Filter::of(&["StatefulSet", name.as_str()]).except(scan_filter);
    let (more, _) = scan.run(&filter, None, false)?;
    found.extend(more);
    let all: Vec<usize> = (0..found.len()).collect();
    refuse_duplicates(found, &all, &picked)?;
    Ok(picked)
}

/// The StatefulSets in the stream, for a message that found none to pick.
fn describe_statefulsets(scan: &Scan<'_>) -> String {
    let all = all_statefulsets(scan);
    if all.is_empty() {
        "the stream has no StatefulSet at all".to_owned()
    } else {
        let names: Vec<String> = all
            .iter()
            .map(|(n, k)| {
                if *k {
                    format!("{n} (kafka chart)")
                } else {
                    n.clone()
                }
            })
            .collect();
        format!("StatefulSets in the stream: {}", names.join(", "))
    }
}

/// A picked StatefulSet that appears twice among `pool` (the same name, in the same namespace
/// or where one of them leaves the namespace to the release) would be applied twice by Helm,
/// and one copy could stay at the old size: exit 2. Linear: one pass to index names.
fn refuse_duplicates(found: &[Found], pool: &[usize], picked: &[usize]) -> Result<(), RenderError> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::with_capacity(pool.len());
    for &i in pool {
        by_name.entry(found[i].name.as_str()).or_default().push(i);
    }
    for &p in picked {
        let f = &found[p];
        let same = |o: &Found| match (&f.namespace, &o.namespace) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if let Some(&twin) = by_name[f.name.as_str()]
            .iter()
            .find(|&&o| o != p && same(&found[o]))
        {
            let (first, second) = if found[twin].pos.line < f.pos.line {
                (&found[twin], f)
            } else {
                (f, &found[twin])
            };
            return Err(err(
                Some(second.pos),
                format!(
                    "StatefulSet {} is in the stream twice (first at line {}; a `*List`'s items count): \
                     refusing to resize an ambiguous stream",
                    f.name, first.pos.line
                ),
                "render each StatefulSet once (check the chart for a duplicated template or a List that repeats it)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(name: &str, size: &str) -> String {
        format!(
            "---\n# Source: c/charts/kafka/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\nspec:\n  selector: {{}}\n  serviceName: s\n  template: {{}}\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: {size}\n"
        )
    }

    /// A hook as Helm 4.2's `separate` strategy hands it over: kyaml formatting, the filename
    /// annotation, and `helm.sh/hook` spelt in any way YAML allows.
    fn hook(name: &str, key: &str) -> String {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    {key}: pre-install\n    postrenderer.helm.sh/postrender-filename: 'c/templates/job.yaml'\nspec: {{}}\n"
        )
    }

    /// A StatefulSet whose one claim template's spec is `spec` (indented as the template's keys).
    fn with_spec(spec: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: k\nspec:\n  selector: {{}}\n  serviceName: s\n  template: {{}}\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:{spec}"
        )
    }

    fn set_class(input: &str, class: &str) -> Result<(String, Vec<ClassChange>), RenderError> {
        let opts = Options {
            volume_attributes_class: Some(class.to_owned()),
            statefulsets: vec!["k".into()],
            claim: "data".into(),
            ..Options::default()
        };
        post_render(input, &opts).map(|o| (o.output.to_string(), o.classes))
    }

    #[test]
    fn a_volume_attributes_class_is_replaced_or_added_where_kubernetes_reads_it() {
        let storage = "\n        resources:\n          requests:\n            storage: 1Gi\n";
        let cases = [
            // Added before the first key, at its indentation; a comment above stays above.
            (
                storage.to_owned(),
                format!("\n        volumeAttributesClassName: fast{storage}"),
            ),
            (
                format!("\n        # c{storage}"),
                format!("\n        # c\n        volumeAttributesClassName: fast{storage}"),
            ),
            // Replaced in its own quoting; a null or empty value too.
            (
                format!("{storage}        volumeAttributesClassName: 'slow'\n"),
                format!("{storage}        volumeAttributesClassName: 'fast'\n"),
            ),
            (
                format!("{storage}        volumeAttributesClassName: \"\"\n"),
                format!("{storage}        volumeAttributesClassName: \"fast\"\n"),
            ),
            (
                format!("{storage}        volumeAttributesClassName:\n"),
                format!("{storage}        volumeAttributesClassName: fast\n"),
            ),
            (
                format!("{storage}        volumeAttributesClassName: ~\n"),
                format!("{storage}        volumeAttributesClassName: fast\n"),
            ),
            // A flow mapping gets the entry first.
            (
                " {resources: {requests: {storage: 1Gi}}}\n".to_owned(),
                " {volumeAttributesClassName: fast, resources: {requests: {storage: 1Gi}}}\n"
                    .to_owned(),
            ),
        ];
        for (spec, want) in cases {
            let (out, classes) = set_class(&with_spec(&spec), "fast").unwrap();
            assert_eq!(out, with_spec(&want), "{spec:?}");
            assert!(classes[0].changed, "{spec:?}");
            // Again: nothing to change.
            let (again, classes) = set_class(&out, "fast").unwrap();
            assert_eq!(again, out);
            assert!(!classes[0].changed);
        }
        // A name go-yaml would read as a boolean is quoted.
        let (out, _) = set_class(&with_spec(storage), "true").unwrap();
        assert!(
            out.contains("volumeAttributesClassName: \"true\"\n"),
            "{out}"
        );
    }

    #[test]
    fn a_volume_attributes_class_that_is_not_its_own_text_is_refused() {
        let storage = "\n        resources:\n          requests:\n            storage: 1Gi\n";
        let refused = [
            (
                format!("{storage}        volumeAttributesClassName: &c slow\n        x: *c\n"),
                "anchor",
            ),
            (
                format!("\n        <<: {{volumeAttributesClassName: slow}}{storage}"),
                "merge key",
            ),
            (
                format!("{storage}        volumeAttributesClassName: [a]\n"),
                "not a single value",
            ),
            (
                format!("{storage}        volumeAttributesClassName: |\n          slow\n"),
                "block scalar",
            ),
        ];
        for (spec, why) in refused {
            let e = set_class(&with_spec(&spec), "fast").unwrap_err();
            assert!(e.message.contains(why), "{spec:?}: {e}");
            assert!(e.pos.is_some(), "{spec:?}");
        }
    }

    #[test]
    fn a_hooks_only_stream_is_recognised_exactly() {
        let only = |s: &str| hooks_only(s, &stream::split(s));
        let two = format!(
            "{}---\n{}",
            hook("a", "helm.sh/hook"),
            hook("b", "\"helm.sh\\x2Fhook\"")
        );
        assert_eq!(only(&two), Some(2));
        // A release object among them, or the words only in a value, or a hook key elsewhere.
        let mixed = format!("{two}---\n{}", sts("k", "1Gi"));
        assert_eq!(only(&mixed), None);
        let config = "kind: ConfigMap\nmetadata:\n  name: c\ndata:\n  x: helm.sh/hook\n";
        assert_eq!(only(config), None);
        let label = "kind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    helm.sh/hook: x\n";
        assert_eq!(only(label), None);
        // Merge keys and comments are read as Helm reads them.
        let merged = "x: &a {helm.sh/hook: post-install}\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    <<: *a\n";
        assert_eq!(only(&format!("# c\n---\n{merged}---\n")), Some(1));
        assert_eq!(only("---\n# only a comment\n"), None);
        assert_eq!(
            only("kind: [\nhelm.sh/hook"),
            None,
            "a broken stream is the normal path's"
        );
    }

    #[test]
    fn hooks_only_streams_pass_through_with_a_note_and_others_fail_as_before() {
        let two = format!(
            "{}---\n{}",
            hook("a", "helm.sh/hook"),
            hook("b", "helm.sh/hook")
        );
        let out = post_render(&two, &opts("50Gi")).unwrap();
        assert_eq!(out.output.to_string(), two);
        assert!(out.output.edits().is_empty() && out.claims.is_empty());
        assert_eq!(out.documents, 2);
        assert!(
            out.notes[0].contains("passed through unchanged"),
            "{:?}",
            out.notes
        );
        // A hook-shaped StatefulSet among release objects is resized as ever.
        let release = format!("{}---\n{}", hook("a", "helm.sh/hook"), sts("kafka", "1Gi"));
        let out = post_render(&release, &opts("50Gi")).unwrap();
        assert!(out.notes.is_empty());
        assert_eq!(out.claims.len(), 1);
        // No hooks and no target: refused, as before.
        let e = post_render("kind: ConfigMap\nmetadata:\n  name: c\n", &opts("50Gi")).unwrap_err();
        assert!(e.message.contains("no StatefulSet"), "{}", e.message);
    }

    fn opts(size: &str) -> Options {
        Options {
            size: Some(Size::parse(size).unwrap()),
            claim: "data".into(),
            ..Options::default()
        }
    }

    #[test]
    fn grows_only_the_claim() {
        let input = format!(
            "---\nkind: ConfigMap\ndata:\n  storage: \"20Gi\"\n{}",
            sts("k", "\"20Gi\"")
        );
        let out = post_render(&input, &opts("50Gi")).unwrap();
        assert_eq!(
            out.output.to_string(),
            input
                .replace("storage: \"20Gi\"\n", "storage: \"50Gi\"\n")
                .replacen("storage: \"50Gi\"", "storage: \"20Gi\"", 1)
        );
        assert_eq!(out.documents, 2);
    }

    #[test]
    fn refusals() {
        let e = post_render(&sts("k", "20Gi"), &opts("10Gi")).unwrap_err();
        assert!(e.message.contains("refusing to shrink"), "{e}");
        assert_eq!(e.pos.unwrap().line, 17);
        let e = post_render("", &opts("10Gi")).unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let two = format!("{}{}", sts("a", "1Gi"), sts("b", "1Gi"));
        let e = post_render(&two, &opts("10Gi")).unwrap_err();
        assert!(e.message.contains("refusing to guess"), "{e}");
        let mut o = opts("10Gi");
        o.statefulsets = vec!["zz".into()];
        let e = post_render(&two, &o).unwrap_err();
        assert!(
            e.message
                .contains("StatefulSets in the stream: a (kafka chart), b (kafka chart)"),
            "{e}"
        );
        // A size that is there but is no scalar is named for what it is, at its place.
        let aliased = sts("k", "*sz").replace("  selector: {}", "  selector: {x: &sz 1Gi}");
        let e = post_render(&aliased, &opts("10Gi")).unwrap_err();
        assert!(e.message.contains("is an alias (`*name`)"), "{e}");
        assert_eq!(e.pos.map(|p| (p.line, p.col)), Some((17, 22)));
        let e = post_render(&sts("k", "{a: 1}"), &opts("10Gi")).unwrap_err();
        assert!(e.message.contains("is not a single value"), "{e}");
        let absent = sts("k", "1Gi").replace("storage: ", "limit: ");
        let e = post_render(&absent, &opts("10Gi")).unwrap_err();
        assert!(e.message.contains("has no spec.resources"), "{e}");
    }

    #[test]
    fn equal_size_is_left_alone() {
        let input = sts("k", "1024Mi");
        let out = post_render(&input, &opts("1Gi")).unwrap();
        assert_eq!(out.output.to_string(), input);
        assert!(!out.claims[0].changed);
    }
}
