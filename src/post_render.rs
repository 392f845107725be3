//! The Helm post-renderer: a manifest stream in, the same stream out with the chosen
//! StatefulSets' claim templates grown (and optional RFC 6902 patches applied).
//!
//! The output is built whole before anything is written: on any error the caller writes nothing,
//! so Helm never sees a partial stream (a missing document would be deleted from the release).

use crate::manifest::{self, StatefulSet};
use crate::patch::PatchSet;
use crate::quantity::{Quantity, Size, decimal_for_binary, group};
use crate::stream::{self, Chunk};
use crate::yaml::{self, Pos, Style};
use crate::{schema, validate};
use memchr::memmem;
use std::fmt;

/// The chart whose StatefulSets are picked when no `--statefulset` is given.
pub const DEFAULT_CHART: &str = "kafka";

/// What to do to the stream.
#[derive(Debug, Default)]
pub struct Options {
    pub size: Option<Size>,
    /// Exact names or `*`/`?` globs; empty: the StatefulSets of the `kafka` chart.
    pub statefulsets: Vec<String>,
    pub claim: String,
    pub patches: Option<PatchSet>,
    /// Parse every document, not only those that could be selected.
    pub parse_all: bool,
    /// The Kubernetes version whose schemas the changed documents must pass (empty: the default).
    pub kubernetes_version: String,
}

/// A failure, with the line in the input stream where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.pos {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RenderError {}

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

/// The rewritten stream and what was done.
#[derive(Debug)]
pub struct Outcome {
    pub output: String,
    pub documents: usize,
    pub claims: Vec<ClaimChange>,
    pub patched: Vec<String>,
    pub warnings: Vec<String>,
}

/// A selected-StatefulSet candidate found in the stream.
struct Found {
    chunk: usize,
    name: String,
    pos: Pos,
    from_chart: bool,
    claims: Vec<FoundClaim>,
}

/// A claim template of a candidate, with its storage scalar when it has one.
struct FoundClaim {
    name: String,
    pos: Pos,
    storage: Option<Storage>,
}

/// The storage scalar: where it is and how it is written.
struct Storage {
    range: std::ops::Range<usize>,
    text: String,
    style: Style,
    pos: Pos,
}

/// Runs the post-renderer over a whole stream.
pub fn post_render(input: &str, opts: &Options) -> Result<Outcome, RenderError> {
    let chunks = stream::split(input);
    let documents = chunks
        .iter()
        .filter(|c| stream::has_content(&input[c.range.clone()]))
        .count();
    if documents == 0 {
        return Err(err(
            None,
            "the manifest stream on stdin is empty: refusing to produce an empty release",
            "Helm 3 would delete every resource of the release on an empty post-render output; \
             check that the chart rendered anything (`helm template ...`)",
        ));
    }

    let mut found = Vec::new();
    if opts.size.is_some() {
        let filter = prefilter(&opts.statefulsets);
        found = scan_statefulsets(input, &chunks, &filter, opts.parse_all)?;
    } else if opts.parse_all {
        scan_statefulsets(input, &chunks, &Prefilter::everything(), true)?;
    }

    let mut warnings = Vec::new();
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut claims = Vec::new();
    if let Some(size) = &opts.size {
        let selected = select(input, &chunks, &found, &opts.statefulsets)?;
        for f in selected {
            let Some(FoundClaim {
                pos: tpos, storage, ..
            }) = f.claims.iter().find(|c| c.name == opts.claim)
            else {
                let names: Vec<&str> = f.claims.iter().map(|c| c.name.as_str()).collect();
                return Err(err(
                    Some(f.pos),
                    format!(
                        "StatefulSet {} has no volumeClaimTemplate named {:?} (it has: {})",
                        f.name,
                        opts.claim,
                        if names.is_empty() {
                            "none".to_owned()
                        } else {
                            names.join(", ")
                        }
                    ),
                    "name the claim template with --claim",
                ));
            };
            let Some(Storage {
                range,
                text: old_text,
                style,
                pos,
            }) = storage
            else {
                return Err(err(
                    Some(*tpos),
                    format!(
                        "claim template {:?} of StatefulSet {} has no spec.resources.requests.storage",
                        opts.claim, f.name
                    ),
                    "the chart renders no size for this claim; set it in the chart's values instead",
                ));
            };
            let old = Quantity::parse(old_text).map_err(|e| {
                err(
                    Some(*pos),
                    format!(
                        "StatefulSet {} claim {:?} has storage {old_text:?}: {e}",
                        f.name, opts.claim
                    ),
                    "fix the size in the chart's values; Kubernetes would refuse this manifest",
                )
            })?;
            if size.quantity < old {
                let old_bytes = old.bytes_grouped();
                return Err(err(
                    Some(*pos),
                    format!(
                        "refusing to shrink StatefulSet {} claim {:?} from {old_text} ({old_bytes} bytes) to {} ({} bytes)",
                        f.name,
                        opts.claim,
                        size.text,
                        group(size.bytes)
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
            let changed = size.quantity != old;
            if changed {
                warnings.extend(decimal_for_binary(
                    old_text,
                    &old,
                    &size.text,
                    &size.quantity,
                ));
                edits.push((range.clone(), yaml::render_scalar(&size.text, *style)));
            }
            claims.push(ClaimChange {
                statefulset: f.name.clone(),
                claim: opts.claim.clone(),
                old: old_text.clone(),
                new: size.text.clone(),
                pos: *pos,
                changed,
            });
        }
    }

    edits.sort_by_key(|(r, _)| r.start);
    let mut output = String::with_capacity(input.len() + 64);
    let mut patched = Vec::new();
    let mut pending = edits.iter().peekable();
    let mut line_delta: isize = 0;
    for chunk in &chunks {
        let text = &input[chunk.range.clone()];
        // The chunk with its storage scalars replaced (edits never cross a chunk boundary).
        let mut local: Option<String> = None;
        let mut cursor = chunk.range.start;
        while let Some((range, new)) = pending.next_if(|(r, _)| r.start < chunk.range.end) {
            let doc = local.get_or_insert_with(String::new);
            doc.push_str(&input[cursor..range.start]);
            doc.push_str(new);
            cursor = range.end;
        }
        if let Some(doc) = &mut local {
            doc.push_str(&input[cursor..chunk.range.end]);
        }
        let mut was_patched = false;
        if let Some(patches) = &opts.patches {
            let current = local.as_deref().unwrap_or(text);
            if let Some((doc, id)) = patches.apply(current, chunk.line)? {
                patched.push(id);
                local = Some(doc);
                was_patched = true;
            }
        }
        if let Some(doc) = &local {
            // The line of this chunk in the output (patched documents may change line counts).
            let line = chunk.line.saturating_add_signed(line_delta);
            check_changed_document(doc, output.len(), line, opts, was_patched)?;
            let lines = |t: &str| memchr::memchr_iter(b'\n', t.as_bytes()).count() as isize;
            line_delta += lines(doc) - lines(text);
        }
        output.push_str(local.as_deref().unwrap_or(text));
    }
    if let Some(patches) = &opts.patches {
        patches.check_all_used()?;
    }

    let out_documents = stream::count_documents(&output);
    if out_documents != documents {
        return Err(err(
            None,
            format!(
                "internal check failed: {documents} documents in, {out_documents} out; nothing was written"
            ),
            "this is a bug in pvc-resize; please report it with the input",
        ));
    }
    Ok(Outcome {
        output,
        documents,
        claims,
        patched,
        warnings,
    })
}

/// The StatefulSets `patterns` select in a stream, by the post-renderer's own rules (the `kafka`
/// chart's when `patterns` is empty): the chunk each is in, and its name.
pub fn select_statefulsets(
    input: &str,
    patterns: &[String],
) -> Result<Vec<(Chunk, String)>, RenderError> {
    let chunks = stream::split(input);
    let found = scan_statefulsets(input, &chunks, &prefilter(patterns), false)?;
    let picked = select(input, &chunks, &found, patterns)?;
    Ok(picked
        .into_iter()
        .map(|f| (chunks[f.chunk].clone(), f.name.clone()))
        .collect())
}

/// A document the tool changed must still pass the strict Kubernetes schema of its kind: the
/// whole object when a patch changed it, its claim templates when only a size changed.
fn check_changed_document(
    doc: &str,
    base: usize,
    line: usize,
    opts: &Options,
    whole: bool,
) -> Result<(), RenderError> {
    let version = if opts.kubernetes_version.is_empty() {
        schema::DEFAULT_KUBERNETES_VERSION
    } else {
        opts.kubernetes_version.as_str()
    };
    let (json, tree) = validate::parse_document("<output>", doc, base, line).map_err(|e| {
        err(
            Some(Pos { line, col: 1 }),
            format!("the changed document can't be read back: {e}"),
            "an alias bomb or too deep nesting in this document is refused; fix the chart's output (otherwise this is a bug in pvc-resize)",
        )
    })?;
    let violations = if whole {
        schema::validate_object(version, &json).map(Option::unwrap_or_default)
    } else {
        schema::validate_claim_templates(version, &json)
    }
    .map_err(|e| err(None, e, "pass --kubernetes-version with a bundled version"))?;
    if let Some(v) = violations.first() {
        let pos = tree
            .as_ref()
            .map(|t| schema::node_at_pointer(t, &v.pointer).pos);
        let all: Vec<String> = violations
            .iter()
            .map(|v| format!("{} (at {})", v.message, v.pointer))
            .collect();
        return Err(err(
            pos,
            format!(
                "the changed {} {} would not be valid for Kubernetes {version} (line numbers are of the output): {}",
                json.get("kind")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?"),
                json.pointer("/metadata/name")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("?"),
                all.join("; ")
            ),
            "fix the patch or the size; nothing was written",
        ));
    }
    Ok(())
}

/// Which chunks are worth parsing: those that contain all of these byte strings.
struct Prefilter {
    needles: Vec<Vec<u8>>,
}

impl Prefilter {
    fn everything() -> Prefilter {
        Prefilter {
            needles: Vec::new(),
        }
    }

    fn may_match(&self, text: &[u8]) -> bool {
        if !self.needles.iter().all(|n| memmem::find(text, n).is_some()) {
            // A `kind` written with escapes (`"State\x66ulSet"`) would hide from the search:
            // such a line must still be parsed.
            return escaped_kind(text);
        }
        true
    }
}

/// True when a line carries both `kind` and a backslash escape.
fn escaped_kind(text: &[u8]) -> bool {
    memmem::find_iter(text, b"\\").any(|at| {
        let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        memmem::find(&text[start..end], b"kind").is_some()
    })
}

fn prefilter(patterns: &[String]) -> Prefilter {
    let mut needles = vec![b"StatefulSet".to_vec()];
    if patterns.len() == 1 {
        let lit = manifest::glob_literal(&patterns[0]);
        if !lit.is_empty() {
            needles.push(lit.as_bytes().to_vec());
        }
    } else if patterns.is_empty() {
        needles.push(DEFAULT_CHART.as_bytes().to_vec());
    }
    Prefilter { needles }
}

fn scan_statefulsets(
    input: &str,
    chunks: &[Chunk],
    filter: &Prefilter,
    parse_all: bool,
) -> Result<Vec<Found>, RenderError> {
    let mut found = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let text = &input[chunk.range.clone()];
        let candidate = filter.may_match(text.as_bytes());
        if !candidate && !parse_all {
            continue;
        }
        let docs = yaml::parse_stream(text, chunk.range.start, chunk.line - 1).map_err(|e| {
            err(
                Some(e.pos),
                format!("invalid YAML in the manifest stream: {}", e.message),
                "the chart rendered a broken document; run `helm template` and check that line",
            )
        })?;
        if !candidate {
            continue;
        }
        let source = stream::source_comment(text);
        for doc in &docs {
            let Some(root) = &doc.root else { continue };
            let Some(sts) = manifest::statefulset(root, source) else {
                continue;
            };
            found.push(to_found(i, &sts, DEFAULT_CHART));
        }
    }
    Ok(found)
}

fn to_found(chunk: usize, sts: &StatefulSet<'_>, chart: &str) -> Found {
    Found {
        chunk,
        name: sts.name.clone(),
        pos: sts.pos,
        from_chart: sts.from_chart(chart),
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
                    }
                });
                FoundClaim {
                    name: c.name.clone(),
                    pos: c.pos,
                    storage,
                }
            })
            .collect(),
    }
}

/// Lists every StatefulSet of the stream (parsing them all), for error messages.
fn all_statefulsets(input: &str, chunks: &[Chunk]) -> Vec<(String, bool)> {
    scan_statefulsets(input, chunks, &prefilter_all(), false)
        .map(|v| v.into_iter().map(|f| (f.name, f.from_chart)).collect())
        .unwrap_or_default()
}

fn prefilter_all() -> Prefilter {
    Prefilter {
        needles: vec![b"StatefulSet".to_vec()],
    }
}

fn select<'f>(
    input: &str,
    chunks: &[Chunk],
    found: &'f [Found],
    patterns: &[String],
) -> Result<Vec<&'f Found>, RenderError> {
    let describe = || {
        let all = all_statefulsets(input, chunks);
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
    };
    if patterns.is_empty() {
        let picked: Vec<&Found> = found.iter().filter(|f| f.from_chart).collect();
        return match picked.len() {
            0 => Err(err(
                None,
                format!(
                    "no StatefulSet of the {DEFAULT_CHART:?} chart found; {}",
                    describe()
                ),
                "name the StatefulSet with --statefulset NAME (a `*` glob works too)",
            )),
            1 => Ok(picked),
            _ => Err(err(
                Some(picked[1].pos),
                format!(
                    "{} StatefulSets of the {DEFAULT_CHART:?} chart found ({}); refusing to guess",
                    picked.len(),
                    picked
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "pick them with --statefulset NAME (repeatable), e.g. --statefulset kafka-broker",
            )),
        };
    }
    let mut picked: Vec<&Found> = Vec::new();
    for p in patterns {
        let matches: Vec<&Found> = found
            .iter()
            .filter(|f| manifest::glob_match(p, &f.name))
            .collect();
        if matches.is_empty() {
            return Err(err(
                None,
                format!("--statefulset {p:?} matched no StatefulSet; {}", describe()),
                "check the name: Helm prefixes it with the release name (e.g. posthog-posthog-kafka)",
            ));
        }
        for m in matches {
            if !picked
                .iter()
                .any(|x| x.chunk == m.chunk && x.name == m.name)
            {
                picked.push(m);
            }
        }
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(name: &str, size: &str) -> String {
        format!(
            "---\n# Source: c/charts/kafka/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\nspec:\n  selector: {{}}\n  serviceName: s\n  template: {{}}\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: {size}\n"
        )
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
            out.output,
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
    }

    #[test]
    fn equal_size_is_left_alone() {
        let input = sts("k", "1024Mi");
        let out = post_render(&input, &opts("1Gi")).unwrap();
        assert_eq!(out.output, input);
        assert!(!out.claims[0].changed);
    }
}
