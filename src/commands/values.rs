//! Dotted values paths, and the lossless edit of one size in a Helm values file.
//!
//! The file is parsed into a span tree ([`crate::yaml`]); the edit is one splice of bytes, either
//! replacing the old scalar or inserting the missing keys after the last entry of the deepest
//! mapping that exists. Every other byte of the file is kept.

use crate::k8s::quantity::{Quantity, Size, decimal_for_binary};
use crate::yaml::data::Refusal;
use crate::yaml::{self, Kind, Node, Pos, Style, SyntaxError};
use std::fmt;
use std::ops::ControlFlow;

/// The default values path of the Kafka data disk in PostHog's chart.
pub const DEFAULT_PATH: &str = "kafka.persistence.size";

/// A dotted path such as `kafka.persistence.size`; a literal dot in a key is written `\.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesPath(pub Vec<String>);

impl ValuesPath {
    pub fn parse(s: &str) -> Result<ValuesPath, String> {
        let mut keys = vec![String::new()];
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(n) => keys.last_mut().unwrap().push(n),
                    None => return Err(format!("values path {s:?} ends with a lone backslash")),
                },
                '.' => keys.push(String::new()),
                c => keys.last_mut().unwrap().push(c),
            }
        }
        if let Some(k) = keys
            .iter()
            .find(|k| k.chars().count() > 253 || k.chars().any(char::is_control))
        {
            return Err(format!(
                "values path {s:?} has a key of {} characters or with control characters ({:.20}...); Helm values keys are short printable names",
                k.chars().count(),
                k.escape_debug()
            ));
        }
        if keys.iter().any(String::is_empty) {
            return Err(format!(
                "values path {s:?} has an empty key; write keys separated by single dots, e.g. {DEFAULT_PATH}"
            ));
        }
        Ok(ValuesPath(keys))
    }
}

impl fmt::Display for ValuesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escaped: Vec<String> = self.0.iter().map(|k| k.replace('.', "\\.")).collect();
        f.write_str(&escaped.join("."))
    }
}

/// Why a values file can't be edited. Always carries a position and a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    /// The class of the refusal, a stable id (`values-shrink`, `yaml-duplicate-key`, ...), listed
    /// in `finding::IDS`.
    pub id: &'static str,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for EditError {}

impl From<SyntaxError> for EditError {
    fn from(e: SyntaxError) -> Self {
        EditError {
            id: e.id(),
            pos: e.pos,
            message: format!("invalid YAML: {}", e.message),
            hint: Some(e.hint().to_owned()),
        }
    }
}

fn fail(
    id: &'static str,
    pos: Pos,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> EditError {
    EditError {
        id,
        pos,
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// What the edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The old value was replaced.
    Replaced { old: String, pos: Pos },
    /// The key (and maybe its parents) did not exist and was inserted.
    Inserted { pos: Pos },
    /// The value is already equal by value to the new size.
    Unchanged { old: String, pos: Pos },
}

/// The result of editing a values file.
#[derive(Debug, Clone)]
pub struct Edit {
    pub output: String,
    pub change: Change,
    pub warnings: Vec<String>,
}

/// Sets the size at `path` to `size`, refusing to shrink. The edited file's persistence block
/// must then pass `schema/values-persistence.schema.json` (errors elsewhere are warnings).
pub fn set_size(src: &str, path: &ValuesPath, size: &Size) -> Result<Edit, EditError> {
    let mut edit = edit_size(src, path, size)?;
    if !matches!(edit.change, Change::Unchanged { .. }) {
        check_result(&mut edit, path, size)?;
    }
    Ok(edit)
}

/// Checks the edited file as Helm reads it: the path must now hold the size (a safety net under
/// the splice: an unusual layout that would put the value elsewhere is refused), and the edited
/// persistence block must pass the schema.
fn check_result(edit: &mut Edit, path: &ValuesPath, size: &Size) -> Result<(), EditError> {
    // The original was read as Helm reads it before the edit; the edited file must read too.
    let loaded = crate::k8s::schema::load_yaml_for_validation("", &edit.output).map_err(|e| {
        fail(
            "values-edit-unreadable",
            Pos { line: 1, col: 1 },
            format!("the edited file would not read as Helm reads it ({e}); nothing written"),
            format!(
                "set {path}: {} by hand, and please report this file",
                size.text
            ),
        )
    })?;
    let pointer = |keys: &[String]| -> String {
        keys.iter()
            .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
            .collect()
    };
    let landed = loaded
        .json
        .pointer(&pointer(&path.0))
        .and_then(serde_json::Value::as_str);
    if landed != Some(size.text.as_str()) {
        return Err(fail(
            "values-edit-misplaced",
            Pos { line: 1, col: 1 },
            format!(
                "the edit would not set {path} (it would read {landed:?}); this layout (explicit `?` keys, unusual indentation) is not one the editor can change safely"
            ),
            format!("set {path}: {} by hand", size.text),
        ));
    }
    let block = pointer(&path.0[..path.0.len() - 1]);
    for v in crate::k8s::schema::validate_values_persistence(
        &loaded.json,
        &crate::charts::layout::persistence_blocks(),
    ) {
        let pos = loaded.tree.as_ref().map_or(Pos { line: 1, col: 1 }, |t| {
            crate::k8s::schema::node_at_pointer(t, &v.pointer).pos
        });
        if v.pointer.starts_with(&format!("{block}/")) || v.pointer == block {
            return Err(fail(
                "values-persistence-schema",
                pos,
                format!(
                    "after the edit, {} does not follow the persistence schema: {}",
                    v.pointer, v.message
                ),
                "fix that key of the persistence block (schema/values-persistence.schema.json lists the known keys)",
            ));
        }
        edit.warnings.push(format!(
            "line {}: {} (at {})",
            pos.line, v.message, v.pointer
        ));
    }
    Ok(())
}

fn edit_size(src: &str, path: &ValuesPath, size: &Size) -> Result<Edit, EditError> {
    let root = read_for_edit(src)?;
    let mut warnings = Vec::new();
    match locate(src, root.as_ref(), &path.0)? {
        Target::Existing(node) => replace_existing(src, node, path, size, warnings),
        Target::Missing { at, text, pos } => {
            // The chart layout decides: a path the file's chart ignores is refused.
            if let Some((at, message, hint)) = root
                .as_ref()
                .and_then(|r| crate::charts::layout::ignored_path(r, &path.0))
            {
                return Err(fail("values-path-ignored", at, message, hint));
            }
            warnings.push(format!(
                "{path} was not set: the chart's default applied, so the current size could not be checked \
                 against {} (a shrink would fail in Kubernetes)",
                size.text
            ));
            let text = text.replace("\u{0}", &yaml::render_scalar(&size.text, Style::Plain));
            Ok(Edit {
                output: splice(src, at..at, &text),
                change: Change::Inserted { pos },
                warnings,
            })
        }
    }
}

/// Sets the string at `path` to `text` (a VolumeAttributesClass name): the scalar there is
/// replaced in its own quoting (an anchor stays, a tag goes), or the key is inserted with its
/// parents. The edited file must read `text` at `path`, as Helm reads it.
pub fn set_text(src: &str, path: &ValuesPath, text: &str) -> Result<Edit, EditError> {
    let root = read_for_edit(src)?;
    let edit = match locate(src, root.as_ref(), &path.0)? {
        Target::Existing(node) => {
            let (style, old, old_text) = scalar_to_replace(node, path, "one value", text)?;
            if old.as_str() == Some(text) && node.tag.is_none() {
                return Ok(Edit {
                    output: src.to_owned(),
                    change: Change::Unchanged {
                        old: old_text,
                        pos: node.pos,
                    },
                    warnings: Vec::new(),
                });
            }
            let (range, anchors, style) = replacement_range(src, node, style);
            let mut new_text = format!("{anchors}{}", yaml::render_scalar(text, style));
            if range.is_empty() && !src[..range.start].ends_with([' ', '\t']) {
                new_text.insert(0, ' ');
            }
            Edit {
                output: splice(src, range, &new_text),
                change: Change::Replaced {
                    old: old_text,
                    pos: node.pos,
                },
                warnings: Vec::new(),
            }
        }
        Target::Missing { at, text: t, pos } => Edit {
            output: splice(
                src,
                at..at,
                &t.replace("\u{0}", &yaml::render_scalar(text, Style::Plain)),
            ),
            change: Change::Inserted { pos },
            warnings: Vec::new(),
        },
    };
    read_back(&edit.output, path, text)?;
    Ok(edit)
}

/// Checks that the edited file reads `text` at `path`, as Helm reads it; an error when it doesn't
/// read or reads something else there.
fn read_back(output: &str, path: &ValuesPath, text: &str) -> Result<(), EditError> {
    let loaded = crate::k8s::schema::load_yaml_for_validation("", output).map_err(|e| {
        fail(
            "values-edit-unreadable",
            Pos { line: 1, col: 1 },
            format!("the edited file would not read as Helm reads it ({e}); nothing written"),
            format!("set {path}: {text} by hand, and please report this file"),
        )
    })?;
    let pointer: String = path
        .0
        .iter()
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect();
    let landed = loaded
        .json
        .pointer(&pointer)
        .and_then(serde_json::Value::as_str);
    if landed != Some(text) {
        return Err(fail(
            "values-edit-misplaced",
            Pos { line: 1, col: 1 },
            format!(
                "the edit would not set {path} (it would read {landed:?}); this layout is not one the editor can change safely"
            ),
            format!("set {path}: {text} by hand"),
        ));
    }
    Ok(())
}

/// The scalar at `path` that an edit replaces (`what` it must be, for the messages; `example` the
/// new value): its quoting, and its value as Helm reads it (the file was read whole before, so
/// reading it succeeds), as data and as text.
fn scalar_to_replace(
    node: &Node,
    path: &ValuesPath,
    what: &str,
    example: &str,
) -> Result<(Style, serde_json::Value, String), EditError> {
    let style = match &node.kind {
        Kind::Scalar {
            style: Style::Literal | Style::Folded,
            ..
        } => {
            return Err(fail(
                "values-block-scalar",
                node.pos,
                format!("{path} is a block scalar (| or >), not {what}"),
                format!(
                    "write it on one line, e.g. `{}: {example}`",
                    path.0.last().unwrap()
                ),
            ));
        }
        Kind::Scalar { style, .. } => *style,
        _ => {
            return Err(fail(
                "values-target-collection",
                node.pos,
                format!("{path} is a mapping or a list, not {what}"),
                "point --path at the scalar that holds the value",
            ));
        }
    };
    let old = crate::yaml::data::scalar_value(node)
        .map_err(|e| fail("yaml-helm-refuses", e.pos, e.message, "fix the value"))?;
    let old_text = match &old {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok((style, old, old_text))
}

/// The values file's tree as Helm reads it, after the checks every edit needs (line breaks,
/// control characters, documents, what Helm refuses).
fn read_for_edit(src: &str) -> Result<Option<Node>, EditError> {
    if let Some(i) = memchr::memchr_iter(b'\r', src.as_bytes())
        .find(|&i| src.as_bytes().get(i + 1) != Some(&b'\n'))
    {
        return Err(fail(
            "yaml-bare-cr",
            yaml::line_col(src, i),
            "the file has a bare CR line break (old Mac style), which this editor does not write",
            "convert the file to LF or CRLF line endings (e.g. `sed -i 's/\\r/\\n/g' FILE`), then run again",
        ));
    }
    let read = crate::yaml::data::readable(src).map_err(|r| {
        let (id, e) = match &r {
            Refusal::Separator(e) => ("yaml-helm4-separator", e.message.clone()),
            Refusal::ControlCharacter(e) => (
                "yaml-control-character",
                format!("invalid YAML: {}", e.message),
            ),
        };
        fail(id, r.error().pos, e, r.hint())
    })?;
    let docs = yaml::parse_stream(read, 0, 0)?;
    let root = crate::yaml::data::values_root(docs).map_err(|e| {
        fail(
            "yaml-multiple-documents",
            e.pos,
            e.message,
            "keep one document per values file: move the keys of the later documents into the first",
        )
    })?;
    if let Some(r) = &root {
        crate::yaml::data::read(r).map_err(|e| {
            fail(
                "yaml-helm-refuses",
                e.pos,
                format!("Helm would refuse this file: {}", e.message),
                "fix that node first (`helm template` reports the same error)",
            )
        })?;
    }
    Ok(root)
}

/// Replaces the scalar that holds the size: its tag goes (Helm would apply it to the new value),
/// an anchor stays, quoting stays. The old value is compared as Helm reads it.
fn replace_existing(
    src: &str,
    node: &Node,
    path: &ValuesPath,
    size: &Size,
    mut warnings: Vec<String>,
) -> Result<Edit, EditError> {
    let (style, old, old_text) = scalar_to_replace(node, path, "a size", &size.text)?;
    let (range, anchors, style) = replacement_range(src, node, style);
    let new_text = format!("{anchors}{}", yaml::render_scalar(&size.text, style));
    let new_text = if range.is_empty()
        && !src[..range.start].ends_with([' ', '\t'])
        && !new_text.starts_with(':')
    {
        format!(" {new_text}")
    } else {
        new_text
    };
    if old_is_the_size(node, path, size, &old, &old_text, &mut warnings)? {
        return Ok(Edit {
            output: src.to_owned(),
            change: Change::Unchanged {
                old: old_text,
                pos: node.pos,
            },
            warnings,
        });
    }
    warnings.extend(carried_warnings(node));
    Ok(Edit {
        output: splice(src, range, &new_text),
        change: Change::Replaced {
            old: old_text,
            pos: node.pos,
        },
        warnings,
    })
}

/// Whether the old value already is the new size (nothing to write); an error when the new size
/// would shrink it. What could not be compared becomes a warning.
fn old_is_the_size(
    node: &Node,
    path: &ValuesPath,
    size: &Size,
    old: &serde_json::Value,
    old_text: &str,
    warnings: &mut Vec<String>,
) -> Result<bool, EditError> {
    match old {
        serde_json::Value::Null => warnings.push(format!(
            "{path} was empty (null) at line {}: the chart default applied, which could not be compared with {}",
            node.pos.line, size.text
        )),
        serde_json::Value::String(s) => match Quantity::parse(s) {
            Ok(q) if q == size.quantity && node.tag.is_none() => return Ok(true),
            Ok(q) if size.quantity < q => {
                return Err(fail(
                    "values-shrink",
                    node.pos,
                    format!(
                        "refusing to shrink {path} from {old_text} ({} bytes) to {} ({} bytes)",
                        q.bytes_beside(&size.quantity),
                        size.text,
                        size.quantity.bytes_beside(&q)
                    ),
                    "Kubernetes forbids shrinking a PersistentVolumeClaim \
                     (\"field can not be less than previous value\"); give a size of at least the current one",
                ));
            }
            Ok(q) => warnings.extend(decimal_for_binary(s, &q, &size.text, &size.quantity)),
            Err(e) => warnings.push(format!(
                "the old value {old_text:?} at line {} is not a valid Kubernetes quantity ({e}); replacing it",
                node.pos.line
            )),
        },
        other => warnings.push(format!(
            "the old value at line {} is {other} for Helm (not a string), so it is not a size Kubernetes accepts; replacing it",
            node.pos.line
        )),
    }
    Ok(false)
}

/// The warnings for what the replaced scalar carried: a tag that goes, an anchor that stays.
fn carried_warnings(node: &Node) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(tag) = &node.tag {
        warnings.push(format!(
            "the old value at line {} carried the tag {tag}; the new value is written without it",
            node.pos.line
        ));
    }
    if node.anchor != 0 {
        warnings.push(format!(
            "the old value at line {} carries an anchor (&); it is kept on the new value",
            node.pos.line
        ));
    }
    warnings
}

/// The bytes to replace for a new value, the anchors to write before it, and the quoting: the
/// scalar and any tag before it go (anchors stay). An empty value (`size:`) gets a plain one.
fn replacement_range(
    src: &str,
    node: &Node,
    style: Style,
) -> (std::ops::Range<usize>, String, Style) {
    let style = if node.is_null() { Style::Plain } else { style };
    let props = yaml::properties(src, node.span.start);
    if node.tag.is_none() || props.is_empty() {
        if node.span.is_empty() {
            // `size:` with nothing after it: the value goes after the colon. A key without a
            // colon (`{enabled: true, size}`, null for Helm) gets one.
            return match colon_after(src, node.span.start) {
                Some(colon) => (colon..colon, String::new(), style),
                None => {
                    // Right after the key, before any line break.
                    let at = src[..node.span.start]
                        .trim_end_matches([' ', '\t', '\r', '\n'])
                        .len();
                    (at..at, ": ".to_owned(), style)
                }
            };
        }
        return (node.span.clone(), String::new(), style);
    }
    let first = props.last().expect("not empty").start;
    let anchors: Vec<&str> = props
        .iter()
        .rev()
        .map(|p| &src[p.clone()])
        .filter(|t| t.starts_with('&'))
        .collect();
    let prefix = anchors.iter().map(|a| format!("{a} ")).collect();
    (first..node.span.end, prefix, style)
}

/// Where the size is, or where it goes. For `Missing`, `text` is the inserted text with a NUL
/// where the value goes.
enum Target<'a> {
    Existing(&'a Node),
    Missing { at: usize, text: String, pos: Pos },
}

fn locate<'a>(src: &str, root: Option<&'a Node>, path: &[String]) -> Result<Target<'a>, EditError> {
    let eol = if src.contains("\r\n") { "\r\n" } else { "\n" };
    let unit = root.map_or(2, indent_unit);
    let Some(root) = root else {
        // An empty file (or only comments): append the whole block.
        return Ok(block_at(src, src.len(), path, 0, unit, eol));
    };
    let mut aliases = Vec::new();
    root.walk(&mut |n| {
        if let Kind::Alias(id) = n.kind {
            aliases.push((id, n.pos));
        }
    });
    let mut node = root;
    for (i, key) in path.iter().enumerate() {
        not_shared(node, &aliases)?;
        let Kind::Mapping { entries, flow } = &node.kind else {
            return not_a_mapping(src, node, path, i, unit, eol);
        };
        let found = crate::yaml::data::helm_entry(entries, key);
        no_later_merge(root, entries, found, path, i)?;
        let Some((_, k, v)) = found else {
            return insert_into(src, node, entries, *flow, &path[i..], unit, eol);
        };
        match entry_value(src, k, v, path, i, unit, eol)? {
            ControlFlow::Continue(v) => node = v,
            ControlFlow::Break(target) => return Ok(target),
        }
    }
    not_shared(node, &aliases)?;
    Ok(Target::Existing(node))
}

/// The block lines for `keys` at `indent`, inserted at `at`.
fn block_at<'a>(
    src: &str,
    at: usize,
    keys: &[String],
    indent: usize,
    unit: usize,
    eol: &str,
) -> Target<'a> {
    let text = place_lines(src, at, block_lines(keys, indent, unit, eol), eol);
    Target::Missing {
        at,
        text,
        pos: yaml::line_col(src, at),
    }
}

/// Refuses a node on the path that is anchored (&) and reused by one of `aliases`.
fn not_shared(node: &Node, aliases: &[(usize, Pos)]) -> Result<(), EditError> {
    if node.anchor != 0
        && let Some((_, alias_pos)) = aliases.iter().find(|(id, _)| *id == node.anchor)
    {
        return Err(fail(
            "values-anchor-on-path",
            node.pos,
            format!(
                "this value is anchored (&) and reused by an alias at line {}: editing it would change every user of the anchor",
                alias_pos.line
            ),
            "give this path its own value instead of the shared anchor, then run again",
        ));
    }
    Ok(())
}

/// Refuses a merge key (<<) after the `path[i]` entry (`found`) that provides that key, since
/// Helm would read the merged value instead.
fn no_later_merge(
    root: &Node,
    entries: &[(Node, Node)],
    found: Option<(usize, &Node, &Node)>,
    path: &[String],
    i: usize,
) -> Result<(), EditError> {
    let key = &path[i];
    let after = found.map_or(0, |(j, _, _)| j + 1);
    if let Some((mk, _)) = entries[after..].iter().find(|(mk, mv)| {
        crate::yaml::data::is_merge_key(mk) && crate::yaml::data::merge_provides(root, mv, key)
    }) {
        let what = match found {
            Some((_, k, _)) => {
                format!("overrides the `{key}` written at line {}", k.pos.line)
            }
            None => format!("provides `{key}`"),
        };
        return Err(fail(
            "values-merge-on-path",
            mk.pos,
            format!(
                "the value Helm reads for {} comes from the merge key (<<) at line {}: Helm applies merges in document order, and this one {what}",
                path[..=i].join("."),
                mk.pos.line
            ),
            "edit the anchor the merge refers to by hand (every user of it changes), or write the key explicitly after the merge",
        ));
    }
    Ok(())
}

/// For the value `v` of key `k` (= `path[i]`): the node to go on into, or where the rest of
/// the path goes when `v` is empty.
fn entry_value<'a>(
    src: &str,
    k: &Node,
    v: &'a Node,
    path: &[String],
    i: usize,
    unit: usize,
    eol: &str,
) -> Result<ControlFlow<Target<'a>, &'a Node>, EditError> {
    if let Kind::Alias(_) = v.kind {
        return Err(fail(
            "values-alias-on-path",
            v.pos,
            format!("{} is a YAML alias (*)", path[..=i].join(".")),
            "editing the anchor would change every other user of it; replace the alias with its own value first",
        ));
    }
    if i + 1 < path.len() && v.is_empty_null() && v.tag.is_none() {
        // `kafka:` with nothing under it: insert the rest below it (after the `:`
        // line of an explicit `? kafka` key).
        let at = line_end(src, k.span.end.max(v.span.start));
        let indent = k.pos.col - 1 + unit;
        return Ok(ControlFlow::Break(block_at(
            src,
            at,
            &path[i + 1..],
            indent,
            unit,
            eol,
        )));
    }
    if i + 1 < path.len() && v.is_null() {
        return Err(fail(
            "values-parent-null",
            v.pos,
            format!("{} is null", path[..=i].join(".")),
            format!("replace the null with a mapping, e.g. `{}: {{}}`", path[i]),
        ));
    }
    Ok(ControlFlow::Continue(v))
}

/// Where `path` goes when the node reached by `path[..i]` is not a mapping: the whole block
/// for a document with nothing in it, else the refusal.
fn not_a_mapping<'a>(
    src: &str,
    node: &Node,
    path: &[String],
    i: usize,
    unit: usize,
    eol: &str,
) -> Result<Target<'a>, EditError> {
    let key = &path[i];
    match &node.kind {
        Kind::Alias(_) => Err(fail(
            "values-alias-on-path",
            node.pos,
            format!(
                "{} is reached through a YAML alias (*)",
                path[..i].join(".")
            ),
            "editing the anchor would change every other user of it; replace the alias with its own mapping first",
        )),
        // A document with nothing in it (`---` alone): no values to Helm, as an empty file.
        _ if i == 0 && node.is_empty_null() && node.tag.is_none() && node.anchor == 0 => Ok(
            block_at(src, line_end(src, node.span.start), path, 0, unit, eol),
        ),
        _ if i == 0 && node.is_null() => Err(fail(
            "values-root-null",
            node.pos,
            "the document is a null: Helm reads no values from it, and there is no mapping to add keys to",
            format!("replace the null with the keys, e.g. `{key}:` and the rest under it"),
        )),
        _ => Err(fail(
            "values-parent-not-mapping",
            node.pos,
            format!(
                "{} is not a mapping, so {key} can't be set under it",
                if i == 0 {
                    "the document root".to_owned()
                } else {
                    path[..i].join(".")
                }
            ),
            "check --path against the file",
        )),
    }
}

/// The indentation step the file uses: the smallest positive difference between a block mapping
/// key and the keys of the block mapping under it (2 when there is none).
fn indent_unit(root: &Node) -> usize {
    let mut best = usize::MAX;
    root.walk(&mut |n| {
        let Kind::Mapping {
            entries,
            flow: false,
        } = &n.kind
        else {
            return;
        };
        for (k, v) in entries {
            if let Kind::Mapping {
                entries: inner,
                flow: false,
            } = &v.kind
                && let Some((ik, _)) = inner.first()
                && ik.pos.col > k.pos.col
            {
                best = best.min(ik.pos.col - k.pos.col);
            }
        }
    });
    if best == usize::MAX { 2 } else { best }
}

/// `kafka:\n  persistence:\n    size: \0\n` for the given keys, each line ending in `eol`.
fn block_lines(keys: &[String], indent: usize, unit: usize, eol: &str) -> String {
    let mut out = String::new();
    for (j, key) in keys.iter().enumerate() {
        out.push_str(&" ".repeat(indent + j * unit));
        out.push_str(&yaml::render_scalar(key, Style::Plain));
        out.push(':');
        if j + 1 == keys.len() {
            out.push_str(" \u{0}");
        }
        out.push_str(eol);
    }
    out
}

/// Lines to insert at `at`. At the end of a file without a final newline, the line break goes
/// before them instead of after, so the file still ends without one.
fn place_lines(src: &str, at: usize, lines: String, eol: &str) -> String {
    if at == src.len() && !src.is_empty() && !src.ends_with('\n') {
        format!("{eol}{}", &lines[..lines.len() - eol.len()])
    } else {
        lines
    }
}

/// `persistence: {size: \0}` for the given keys.
fn flow_text(keys: &[String]) -> String {
    let mut out = String::new();
    for (j, key) in keys.iter().enumerate() {
        if j > 0 {
            out.push('{');
        }
        out.push_str(&yaml::render_scalar(key, Style::Plain));
        out.push_str(": ");
    }
    out.push('\u{0}');
    out.push_str(&"}".repeat(keys.len() - 1));
    out
}

fn insert_into<'a>(
    src: &str,
    node: &Node,
    entries: &[(Node, Node)],
    flow: bool,
    keys: &[String],
    unit: usize,
    eol: &str,
) -> Result<Target<'a>, EditError> {
    if flow {
        let close = node.span.end - 1; // the `}`
        let before = src[node.span.start + 1..close].trim_end();
        let sep = if entries.is_empty() || before.ends_with(',') {
            ""
        } else {
            ","
        };
        let pad = if entries.is_empty() { "" } else { " " };
        // Insert right after the last non-space byte before `}` to keep any trailing spaces.
        let at = node.span.start + 1 + before.len();
        let text = format!("{sep}{pad}{}", flow_text(keys));
        return Ok(Target::Missing {
            at,
            text,
            pos: yaml::line_col(src, at),
        });
    }
    // The mapping's own column (an explicit `? key` starts the mapping before its first key).
    let indent = node.pos.col.min(entries[0].0.pos.col) - 1;
    let (last_key, last_value) = entries.last().unwrap();
    let lines = block_lines(keys, indent, unit, eol);
    if ends_in_block_scalar(last_value) {
        // Lines after a block scalar can belong to it (kept blank lines, lines of spaces, the
        // missing final line break at the end of the file): the new keys go before the last
        // entry instead, so the scalar's bytes and meaning stay exactly as they were.
        let line = src[..last_key.span.start].rfind('\n').map_or(0, |i| i + 1);
        let key_start = explicit_key_start(src, last_key).max(line);
        if src[line..key_start].bytes().all(|b| b == b' ') {
            return Ok(Target::Missing {
                at: line,
                text: lines,
                pos: yaml::line_col(src, line),
            });
        }
        return Err(fail(
            "values-no-insert-place",
            last_key.pos,
            "the mapping's last entry ends in a block scalar (| or >) and shares its line with other syntax, so there is no place to insert a key that leaves that scalar unchanged",
            format!("add `{}:` by hand", keys.join(".")),
        ));
    }
    let at = line_end(src, last_value.span.end.max(last_key.span.end));
    let text = place_lines(src, at, lines, eol);
    Ok(Target::Missing {
        at,
        text,
        pos: yaml::line_col(src, at),
    })
}

/// Where a key's properties (tag, anchor) or an explicit `? ` start.
fn explicit_key_start(src: &str, key: &Node) -> usize {
    let start = yaml::properties(src, key.span.start)
        .last()
        .map_or(key.span.start, |p| p.start);
    let before = src[..start].trim_end_matches(' ');
    if before.ends_with('?') {
        before.len() - 1
    } else {
        start
    }
}

/// True when a node's last line is the content of a block scalar (| or >), itself or as the
/// last value of a block mapping or list.
fn ends_in_block_scalar(node: &Node) -> bool {
    match &node.kind {
        Kind::Mapping {
            entries,
            flow: false,
        } => entries.last().is_some_and(|(_, v)| ends_in_block_scalar(v)),
        Kind::Sequence { items, flow: false } => items.last().is_some_and(ends_in_block_scalar),
        Kind::Scalar {
            style: Style::Literal | Style::Folded,
            ..
        } => true,
        _ => false,
    }
}

/// The offset just after the end of the line holding `offset` (after its `\n`), or the end of the text.
fn line_end(src: &str, offset: usize) -> usize {
    memchr::memchr(b'\n', &src.as_bytes()[offset..]).map_or(src.len(), |i| offset + i + 1)
}

/// The offset just after the `:` that follows a key ending before `from`.
/// Just after the `:` that follows `from` across blanks; `None` when something else comes first
/// (a flow mapping's key written without a colon).
fn colon_after(src: &str, from: usize) -> Option<usize> {
    let rest = &src[from..];
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest[blanks..].starts_with(':').then_some(from + blanks + 1)
}

fn splice(src: &str, range: std::ops::Range<usize>, text: &str) -> String {
    let mut out = String::with_capacity(src.len() + text.len());
    out.push_str(&src[..range.start]);
    out.push_str(text);
    out.push_str(&src[range.end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_name_is_set_as_helm_reads_it() {
        let p = ValuesPath::parse("kafka.persistence.attributesClass").unwrap();
        let cases = [
            // Replaced in its quoting; a null or empty value gets a plain one.
            (
                "kafka:\n  persistence:\n    attributesClass: 'slow' # io\n",
                "kafka:\n  persistence:\n    attributesClass: 'io2' # io\n",
            ),
            (
                "kafka:\n  persistence:\n    attributesClass:\n",
                "kafka:\n  persistence:\n    attributesClass: io2\n",
            ),
            (
                "kafka:\n  persistence:\n    attributesClass: \"\"\n",
                "kafka:\n  persistence:\n    attributesClass: \"io2\"\n",
            ),
            // Inserted with its parents.
            (
                "kafka:\n  replicaCount: 3\n",
                "kafka:\n  replicaCount: 3\n  persistence:\n    attributesClass: io2\n",
            ),
        ];
        for (src, want) in cases {
            let e = set_text(src, &p, "io2").unwrap();
            assert_eq!(e.output, want, "{src:?}");
            let again = set_text(&e.output, &p, "io2").unwrap();
            assert!(matches!(again.change, Change::Unchanged { .. }), "{src:?}");
        }
        // A name go-yaml would read as a boolean is quoted.
        let e = set_text("kafka: {}\n", &p, "yes").unwrap();
        assert!(
            e.output.contains("attributesClass: \"yes\""),
            "{}",
            e.output
        );
        let e = set_text(
            "kafka:\n  persistence:\n    attributesClass: [a]\n",
            &p,
            "io2",
        )
        .unwrap_err();
        assert_eq!(e.id, "values-target-collection");
    }

    fn edit(src: &str, size: &str) -> String {
        let p = ValuesPath::parse(DEFAULT_PATH).unwrap();
        set_size(src, &p, &Size::parse(size).unwrap())
            .unwrap_or_else(|e| panic!("{e}"))
            .output
    }

    fn refuse(src: &str, size: &str) -> EditError {
        let p = ValuesPath::parse(DEFAULT_PATH).unwrap();
        set_size(src, &p, &Size::parse(size).unwrap()).unwrap_err()
    }

    #[test]
    fn replaces_keeping_style_and_comments() {
        assert_eq!(
            edit(
                "# top\nkafka:\n  persistence:\n    size: 20Gi # data\n",
                "50Gi"
            ),
            "# top\nkafka:\n  persistence:\n    size: 50Gi # data\n"
        );
        assert_eq!(
            edit("kafka:\n  persistence:\n    size: \"20Gi\"\n", "50Gi"),
            "kafka:\n  persistence:\n    size: \"50Gi\"\n"
        );
        assert_eq!(
            edit("kafka:\n  persistence:\n    size: '20Gi'\n", "50Gi"),
            "kafka:\n  persistence:\n    size: '50Gi'\n"
        );
        assert_eq!(
            edit(
                "kafka:\r\n  persistence: {enabled: true, size: 8Gi}\r\n",
                "50Gi"
            ),
            "kafka:\r\n  persistence: {enabled: true, size: 50Gi}\r\n"
        );
        // A tag would apply to the new value too (`!!int 9Gi` is refused by Helm): it goes.
        assert_eq!(
            edit("kafka:\n  persistence:\n    size: !!str 8Gi", "9Gi"),
            "kafka:\n  persistence:\n    size: 9Gi"
        );
        assert_eq!(
            edit(
                "kafka:\n  persistence:\n    size: !!str &s \"8Gi\"\n",
                "9Gi"
            ),
            "kafka:\n  persistence:\n    size: &s \"9Gi\"\n"
        );
        assert_eq!(
            edit("kafka:\n  persistence:\n    size: !!null\n", "9Gi"),
            "kafka:\n  persistence:\n    size: 9Gi\n"
        );
    }

    #[test]
    fn inserts_missing_keys() {
        assert_eq!(
            edit("cloud: private\nother:\n    a: 1\n", "50Gi"),
            "cloud: private\nother:\n    a: 1\nkafka:\n    persistence:\n        size: 50Gi\n"
        );
        assert_eq!(
            edit(
                "kafka:\n  enabled: true\n  # persistence is below\n\nzk: {}\n",
                "50Gi"
            ),
            "kafka:\n  enabled: true\n  persistence:\n    size: 50Gi\n  # persistence is below\n\nzk: {}\n"
        );
        assert_eq!(
            edit("kafka:\n  persistence: {enabled: true}\n", "5Gi"),
            "kafka:\n  persistence: {enabled: true, size: 5Gi}\n"
        );
        assert_eq!(
            edit("kafka:\n  persistence: {}\n", "5Gi"),
            "kafka:\n  persistence: {size: 5Gi}\n"
        );
        assert_eq!(
            edit("kafka: {a: 1,}\n", "5Gi"),
            "kafka: {a: 1, persistence: {size: 5Gi}}\n"
        );
        assert_eq!(edit("", "5Gi"), "kafka:\n  persistence:\n    size: 5Gi\n");
        assert_eq!(
            edit("# only a comment", "5Gi"),
            "# only a comment\nkafka:\n  persistence:\n    size: 5Gi"
        );
        assert_eq!(
            edit("# only a comment\n", "5Gi"),
            "# only a comment\nkafka:\n  persistence:\n    size: 5Gi\n"
        );
        assert_eq!(
            edit("a: 1", "5Gi"),
            "a: 1\nkafka:\n  persistence:\n    size: 5Gi"
        );
        assert_eq!(
            edit("kafka:\n  persistence:\n    size:   # set me\n", "5Gi"),
            "kafka:\n  persistence:\n    size: 5Gi   # set me\n"
        );
        assert_eq!(
            edit("kafka: # later\nb: 1\n", "5Gi"),
            "kafka: # later\n  persistence:\n    size: 5Gi\nb: 1\n"
        );
        // After a block scalar, lines can be part of it: the new keys go before that entry.
        assert_eq!(
            edit("kafka:\n  script: |\n    echo hi\n\nzk: 1\n", "5Gi"),
            "kafka:\n  persistence:\n    size: 5Gi\n  script: |\n    echo hi\n\nzk: 1\n"
        );
        assert_eq!(
            edit("\u{feff}kafka:\n  enabled: true\n", "5Gi"),
            "\u{feff}kafka:\n  enabled: true\n  persistence:\n    size: 5Gi\n"
        );
    }

    #[test]
    fn refuses_shrink_alias_merge() {
        let e = refuse("kafka:\n  persistence:\n    size: 20Gi\n", "10Gi");
        assert!(
            e.message.contains("refusing to shrink") && e.message.contains("21,474,836,480"),
            "{e}"
        );
        assert_eq!(e.pos, Pos { line: 3, col: 11 });
        let e = refuse("base: &p {size: 8Gi}\nkafka:\n  persistence: *p\n", "10Gi");
        assert!(e.message.contains("alias"), "{e}");
        let e = refuse(
            "base: &p {size: 8Gi}\nkafka:\n  persistence:\n    <<: *p\n",
            "10Gi",
        );
        assert!(e.message.contains("merge key"), "{e}");
        let e = refuse(
            "kafka:\n  persistence:\n    size: &s 8Gi\nzk:\n  size: *s\n",
            "10Gi",
        );
        assert!(e.message.contains("anchored"), "{e}");
    }

    #[test]
    fn equal_by_value_is_unchanged() {
        let p = ValuesPath::parse(DEFAULT_PATH).unwrap();
        let src = "kafka:\n  persistence:\n    size: 1Gi\n";
        let e = set_size(src, &p, &Size::parse("1024Mi").unwrap()).unwrap();
        assert!(matches!(e.change, Change::Unchanged { .. }));
        assert_eq!(e.output, src);
    }

    #[test]
    fn decimal_warning_is_given() {
        let p = ValuesPath::parse(DEFAULT_PATH).unwrap();
        let e = set_size(
            "kafka:\n  persistence:\n    size: 20Gi\n",
            &p,
            &Size::parse("50G").unwrap(),
        )
        .unwrap();
        assert!(
            e.warnings.iter().any(|w| w.contains("did you mean 50Gi")),
            "{:?}",
            e.warnings
        );
    }

    #[test]
    fn the_edited_block_must_follow_the_schema() {
        let e = refuse(
            "kafka:\n  persistence:\n    enabled: maybe\n    size: 20Gi\n",
            "30Gi",
        );
        assert!(e.message.contains("/kafka/persistence/enabled"), "{e}");
        assert_eq!(e.pos.line, 3);
        let p = ValuesPath::parse(DEFAULT_PATH).unwrap();
        let ok = set_size(
            "zookeeper:\n  persistence:\n    sise: 1Gi\n",
            &p,
            &Size::parse("5Gi").unwrap(),
        )
        .unwrap();
        assert!(
            ok.warnings.iter().any(|w| w.contains("sise")),
            "{:?}",
            ok.warnings
        );
    }

    #[test]
    fn fuzz_findings() {
        // A key too long for a YAML implicit key, with control characters: refused up front.
        assert!(ValuesPath::parse(&format!("a{}", "\u{0}".repeat(300))).is_err());
        assert!(ValuesPath::parse(&"k".repeat(254)).is_err());
        // Bare CR line breaks: refused with the line.
        let e = refuse("a: 1\rkafka:\r", "5Gi");
        assert!(e.message.contains("bare CR"), "{e}");
        // An explicit empty key is a null key, which Helm refuses ("unsupported map key").
        let e = refuse("?\n", "5Gi");
        assert!(
            e.message.contains("Helm would refuse") && e.message.contains("null key"),
            "{e}"
        );
        // An explicit key with a name: the new keys go at the mapping's column.
        assert_eq!(
            edit("? a\n", "5Gi"),
            "? a\nkafka:\n  persistence:\n    size: 5Gi\n"
        );
    }

    #[test]
    fn paths() {
        assert_eq!(ValuesPath::parse("a\\.b.c").unwrap().0, vec!["a.b", "c"]);
        assert!(ValuesPath::parse("a..b").is_err());
        assert_eq!(ValuesPath::parse("a\\.b.c").unwrap().to_string(), "a\\.b.c");
    }
}
