//! Tabs that Helm's YAML reader (go-yaml v2) refuses where the YAML 1.2 parser reads them: a tab
//! in the indentation of a line in block context, or right after a block sequence's `-`. go-yaml
//! skips a tab there only inside a flow collection, inside a quoted scalar, and in the blanks that
//! follow a plain scalar at or beyond that scalar's indentation (measured with Helm 3.17.2 and
//! 4.1.4; `tests/review_regressions.rs` asks both).

use super::{Document, Kind, Node, Style};
use std::ops::Range;

/// What the tree says about the text around a line.
#[derive(Default)]
struct Spans {
    /// Flow collections, quoted and block scalars: tabs inside are text or skipped.
    skip: Vec<Range<usize>>,
    /// Plain scalars in block context, with the least column a tab may sit at after them.
    plain: Vec<(Range<usize>, usize)>,
    /// Every token's end, and for a plain scalar its column threshold.
    ends: Vec<(usize, Option<usize>)>,
}

fn walk(src: &str, node: &Node, indent: Option<usize>, base: usize, s: &mut Spans) {
    let span = node.span.start - base..node.span.end - base;
    // A block collection's indentation: the column of its first key, or of its first dash (the
    // span starts at the first item, after its tag or anchor).
    let mut first = span.start;
    if let Kind::Sequence { flow: false, .. } = node.kind {
        let props = super::properties(src, first);
        first = props.iter().map(|r| r.start).min().unwrap_or(first);
        first = src[..first].rfind('-').unwrap_or(first);
    }
    let line_start = src[..first].rfind('\n').map_or(0, |n| n + 1);
    let own = Some(src[line_start..first].chars().count());
    match &node.kind {
        Kind::Mapping { flow: true, .. } | Kind::Sequence { flow: true, .. } => {
            s.ends.push((span.end, None));
            s.skip.push(span);
        }
        Kind::Mapping { entries, .. } => entries.iter().for_each(|(k, v)| {
            // A key is followed by its `:`, the token a next line's tab comes after.
            walk(src, k, own, base, s);
            if let Some(end) = s.ends.last_mut() {
                end.1 = None;
            }
            walk(src, v, own, base, s);
        }),
        Kind::Sequence { items, .. } => items.iter().for_each(|v| walk(src, v, own, base, s)),
        Kind::Scalar {
            style: Style::Plain,
            ..
        } => {
            let least = indent.map_or(0, |i| i + 1);
            s.ends.push((span.end, Some(least)));
            s.plain.push((span, least));
        }
        Kind::Scalar { .. } => {
            s.ends.push((span.end, None));
            s.skip.push(span);
        }
        Kind::Alias(_) => s.ends.push((span.end, None)),
    }
}

fn inside(r: &Range<usize>, at: usize) -> bool {
    r.start < at && at < r.end
}

/// The first tab Helm refuses: its byte offset in `src` and go-yaml's words for it.
pub(super) fn refused(src: &str, base: usize, docs: &[Document]) -> Option<(usize, &'static str)> {
    if !src.contains('\t') {
        return None;
    }
    let mut s = Spans::default();
    for root in docs.iter().filter_map(|d| d.root.as_ref()) {
        walk(src, root, None, base, &mut s);
    }
    let mut start = 0;
    for line in src.split_inclusive('\n') {
        let at = start;
        start += line.len();
        if let Some(hit) = leading_tab(&s, line, at).or_else(|| dash_tab(&s, line, at)) {
            return Some(hit);
        }
    }
    None
}

/// A tab in the indentation of the line that starts at `at`.
fn leading_tab(s: &Spans, line: &str, at: usize) -> Option<(usize, &'static str)> {
    let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
    let col = line[..blanks].find('\t')?;
    if s.skip.iter().any(|r| inside(r, at)) {
        return None;
    }
    // Inside a plain scalar, or after the token that ends before this line.
    let least = match s.plain.iter().find(|(r, _)| inside(r, at)) {
        Some((_, least)) => Some(*least),
        None => s
            .ends
            .iter()
            .filter(|(end, _)| *end <= at)
            .max_by_key(|(end, _)| *end)
            .and_then(|(_, least)| *least),
    };
    match least {
        Some(least) if col >= least => None,
        Some(_) => Some((at + col, "found a tab character that violates indentation")),
        None => Some((at + col, "found character that cannot start any token")),
    }
}

/// A tab after a block sequence's `-` (`-\tx`, `- \tx`) on the line that starts at `at`.
fn dash_tab(s: &Spans, line: &str, at: usize) -> Option<(usize, &'static str)> {
    let mut i = line.len() - line.trim_start_matches(' ').len();
    while line[i..].starts_with('-') {
        let dash = at + i;
        let text = s.skip.iter().chain(s.plain.iter().map(|(r, _)| r));
        if text.into_iter().any(|r| r.start <= dash && dash < r.end) {
            return None;
        }
        let rest = &line[i + 1..];
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if blanks == 0 {
            return None;
        }
        if let Some(col) = rest[..blanks].find('\t') {
            return Some((
                dash + 1 + col,
                "found character that cannot start any token",
            ));
        }
        i += 1 + blanks;
    }
    None
}
