//! Tabs that Helm's YAML reader (go-yaml v2) refuses where the YAML 1.2 parser reads them: a tab
//! in the indentation of a line in block context, or right after a block sequence's `-`, an
//! explicit key's `?` or its value's `:`. go-yaml skips a tab there only inside a flow
//! collection, inside a quoted scalar, and in the blanks that follow a plain scalar at or beyond
//! that scalar's indentation (measured with Helm 3.17.2 and 4.1.4; `tests/review_regressions.rs`
//! and `tests/helm_judge.rs::tabs_around_explicit_keys_mean_to_the_tool_what_they_mean_to_helm`
//! ask both).

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

impl Spans {
    /// Sorts what `walk` gathered, so that every question below is a binary search: the
    /// ranges of `skip` are disjoint, and so are those of `plain` (neither nests), which keeps
    /// the whole check linear in the text, however many lines hold a tab.
    fn sorted(mut self) -> Self {
        self.skip.sort_by_key(|r| r.start);
        self.plain.sort_by_key(|(r, _)| r.start);
        self.ends.sort_by_key(|(end, _)| *end);
        self
    }

    /// The `skip` range holding `at` (`start < at < end`, or `start <= at` with `from_start`).
    fn skipped(&self, at: usize, from_start: bool) -> bool {
        containing(&self.skip, |r| r, at, from_start).is_some()
    }

    /// The plain scalar holding `at`, with its least tab column.
    fn plain_at(&self, at: usize, from_start: bool) -> Option<usize> {
        containing(&self.plain, |(r, _)| r, at, from_start).map(|(_, least)| *least)
    }

    /// The least tab column after the last token that ends at or before `at`.
    fn after_token(&self, at: usize) -> Option<usize> {
        let n = self.ends.partition_point(|(end, _)| *end <= at);
        n.checked_sub(1).and_then(|i| self.ends[i].1)
    }
}

/// The element of `items` (disjoint ranges sorted by start) whose range holds `at`.
fn containing<T>(
    items: &[T],
    range: impl Fn(&T) -> &Range<usize>,
    at: usize,
    from_start: bool,
) -> Option<&T> {
    let n = items.partition_point(|t| {
        let r = range(t);
        if from_start {
            r.start <= at
        } else {
            r.start < at
        }
    });
    let t = items.get(n.checked_sub(1)?)?;
    (at < range(t).end).then_some(t)
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
    let s = s.sorted();
    let mut start = 0;
    for line in src.split_inclusive('\n') {
        let at = start;
        start += line.len();
        if let Some(hit) = leading_tab(&s, line, at).or_else(|| indicator_tab(&s, line, at)) {
            return Some(hit);
        }
    }
    None
}

/// A tab in the indentation of the line that starts at `at`.
fn leading_tab(s: &Spans, line: &str, at: usize) -> Option<(usize, &'static str)> {
    let blanks = line.len() - line.trim_start_matches([' ', '\t']).len();
    let col = line[..blanks].find('\t')?;
    if s.skipped(at, false) {
        return None;
    }
    // Inside a plain scalar, or after the token that ends before this line.
    let least = match s.plain_at(at, false) {
        Some(least) => Some(least),
        None => s.after_token(at),
    };
    match least {
        Some(least) if col >= least => None,
        Some(_) => Some((at + col, "found a tab character that violates indentation")),
        None => Some((at + col, "found character that cannot start any token")),
    }
}

/// A tab right after a block indicator that starts a line (after its indentation): a sequence's
/// `-` (`-\tx`, `- \tx`), an explicit key's `?` (`?\tsize`) or its value's `:` (`:\t20Gi`, even
/// with nothing after the tab), also one after another (`- ?\tx`). go-yaml skips a tab only where
/// no simple key may start, and one may after each of these three.
fn indicator_tab(s: &Spans, line: &str, at: usize) -> Option<(usize, &'static str)> {
    let mut i = line.len() - line.trim_start_matches(' ').len();
    while line[i..].starts_with(['-', '?', ':']) {
        let mark = at + i;
        if s.skipped(mark, true) || s.plain_at(mark, true).is_some() {
            return None;
        }
        let rest = &line[i + 1..];
        let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if blanks == 0 {
            return None;
        }
        if let Some(col) = rest[..blanks].find('\t') {
            return Some((
                mark + 1 + col,
                "found character that cannot start any token",
            ));
        }
        i += 1 + blanks;
    }
    None
}
