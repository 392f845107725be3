//! Unified diffs, as `git diff` prints them, optionally coloured.

use super::text::Style;
use std::fmt::Write as _;
use std::ops::Range;
use std::time::Duration;

/// Lines of context around each change, as `diff -u` and `git diff` print by default.
const CONTEXT: usize = 3;

/// A unified diff like `git diff`'s (`--- a/NAME`, `+++ b/NAME`), empty when nothing changed.
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    if old == new {
        return String::new();
    }
    let name = name.trim_start_matches("./").trim_start_matches('/');
    similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(Duration::from_secs(5))
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// The diff between `old` and `old` with `edits` applied (sorted, non-overlapping byte ranges
/// of `old` and their replacements), in the format of [`unified_diff`]. No diff algorithm runs:
/// the changed lines are known, so this is linear in the text, and each hunk shows exactly the
/// lines an edit touched (what `diff -u` prints whenever that is the only minimal diff).
pub fn unified_diff_of_edits(old: &str, edits: &[(Range<usize>, String)], name: &str) -> String {
    let lines = Lines::of(old);
    let changes = changes(old, &lines, edits);
    if changes.is_empty() {
        return String::new();
    }
    let name = name.trim_start_matches("./").trim_start_matches('/');
    let mut out = format!("--- a/{name}\n+++ b/{name}\n");
    let mut delta = 0isize;
    for hunk in changes.chunk_by(|a, b| b.old.start - a.old.end <= 2 * CONTEXT) {
        delta = write_hunk(&mut out, &lines, hunk, delta);
    }
    out
}

/// The lines of a text, each with its line break (the last may have none).
struct Lines<'a> {
    text: &'a str,
    /// The offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn of(text: &'a str) -> Lines<'a> {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        if !text.is_empty() {
            starts.push(0);
        }
        starts.extend(
            memchr::memchr_iter(b'\n', text.as_bytes())
                .map(|i| i + 1)
                .filter(|&s| s < text.len()),
        );
        Lines { text, starts }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// The line that holds byte `at` (the last line for the end of the text).
    fn of_offset(&self, at: usize) -> usize {
        self.starts.partition_point(|&s| s <= at).saturating_sub(1)
    }

    /// Where line `i` starts; the end of the text for `i == len()`.
    fn start(&self, i: usize) -> usize {
        self.starts.get(i).copied().unwrap_or(self.text.len())
    }

    fn get(&self, i: usize) -> &'a str {
        &self.text[self.start(i)..self.start(i + 1)]
    }

    /// The lines an edit changes: none when it inserts whole lines before a line (or at the
    /// end, after a final line break).
    fn touched(&self, (range, new): &(Range<usize>, String)) -> Range<usize> {
        let at_line_start = range.start == 0 || self.text.as_bytes()[range.start - 1] == b'\n';
        if range.is_empty() && at_line_start && (new.is_empty() || new.ends_with('\n')) {
            let k = self.starts.partition_point(|&s| s < range.start);
            return k..k;
        }
        let last = range.end.max(range.start + 1) - 1;
        self.of_offset(range.start)..(self.of_offset(last) + 1).min(self.len())
    }
}

/// Old lines `old` replaced by `new` (whole lines, each with its line break).
struct LineChange {
    old: Range<usize>,
    new: Vec<String>,
}

/// The line changes the edits make, in order, without the lines an edit left as they were.
fn changes(old: &str, lines: &Lines<'_>, edits: &[(Range<usize>, String)]) -> Vec<LineChange> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < edits.len() {
        // The edits that share a line form one block of whole lines.
        let Range {
            start: first,
            mut end,
        } = lines.touched(&edits[i]);
        let mut j = i + 1;
        while j < edits.len() && lines.touched(&edits[j]).start < end {
            end = end.max(lines.touched(&edits[j]).end);
            j += 1;
        }
        let mut text = String::new();
        let mut cursor = lines.start(first);
        for (range, new) in &edits[i..j] {
            text.push_str(&old[cursor..range.start]);
            text.push_str(new);
            cursor = range.end;
        }
        text.push_str(&old[cursor..lines.start(end)]);
        let new: Vec<&str> = text.split_inclusive('\n').collect();
        let was: Vec<&str> = (first..end).map(|l| lines.get(l)).collect();
        let same_head = was.iter().zip(&new).take_while(|(a, b)| a == b).count();
        let rest = (was.len() - same_head).min(new.len() - same_head);
        let same_tail = (0..rest)
            .take_while(|&k| was[was.len() - 1 - k] == new[new.len() - 1 - k])
            .count();
        let old_lines = first + same_head..end - same_tail;
        let new_lines = new[same_head..new.len() - same_tail]
            .iter()
            .map(|l| (*l).to_owned());
        match out.last_mut() {
            _ if old_lines.is_empty() && new_lines.len() == 0 => {}
            // Changed lines next to each other are one change, as `diff` shows them.
            Some(LineChange { old, new }) if old.end == old_lines.start => {
                old.end = old_lines.end;
                new.extend(new_lines);
            }
            _ => out.push(LineChange {
                old: old_lines,
                new: new_lines.collect(),
            }),
        }
        i = j;
    }
    out
}

/// Writes one hunk (changes close enough to share their context); returns the line-count
/// difference between new and old after it.
fn write_hunk(out: &mut String, lines: &Lines<'_>, hunk: &[LineChange], delta: isize) -> isize {
    let from = hunk[0].old.start.saturating_sub(CONTEXT);
    let to = (hunk[hunk.len() - 1].old.end + CONTEXT).min(lines.len());
    let grown: isize = hunk
        .iter()
        .map(|c| c.new.len() as isize - c.old.len() as isize)
        .sum();
    let new_from = (from as isize + delta) as usize;
    let new_len = ((to - from) as isize + grown) as usize;
    let _ = writeln!(
        out,
        "@@ -{} +{} @@",
        HunkRange(from, to - from),
        HunkRange(new_from, new_len)
    );
    let mut at = from;
    for c in hunk {
        (at..c.old.start).for_each(|l| push_line(out, ' ', lines.get(l)));
        c.old
            .clone()
            .for_each(|l| push_line(out, '-', lines.get(l)));
        c.new.iter().for_each(|l| push_line(out, '+', l));
        at = c.old.end;
    }
    (at..to).for_each(|l| push_line(out, ' ', lines.get(l)));
    delta + grown
}

/// `START,LEN` of a hunk header: `START` alone for one line; an empty range starts at the line
/// before it.
struct HunkRange(usize, usize);

impl std::fmt::Display for HunkRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            1 => write!(f, "{}", self.0 + 1),
            0 => write!(f, "{},0", self.0),
            n => write!(f, "{},{n}", self.0 + 1),
        }
    }
}

fn push_line(out: &mut String, mark: char, line: &str) {
    out.push(mark);
    out.push_str(line);
    if !line.ends_with('\n') {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// A unified diff with `git diff`'s colours: headers bold, hunks cyan, removals red, additions
/// green. Unchanged when `style` has no colour.
pub fn paint(diff: &str, style: Style) -> String {
    if !style.color {
        return diff.to_owned();
    }
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("+++ ") || body.starts_with("--- ") {
            "1"
        } else if body.starts_with("@@") {
            "36"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else {
            ""
        };
        out.push_str(&style.paint(code, body));
        out.push_str(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_has_git_headers() {
        let d = unified_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "v.yaml");
        assert_eq!(
            d,
            "--- a/v.yaml\n+++ b/v.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
        );
        assert_eq!(unified_diff("x", "x", "v"), "");
    }

    #[test]
    fn colours_follow_git() {
        let d = unified_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "v.yaml");
        assert_eq!(paint(&d, Style { color: false }), d);
        let c = paint(&d, Style { color: true });
        assert!(c.starts_with("\x1b[1m--- a/v.yaml\x1b[0m\n"), "{c:?}");
        assert!(c.contains("\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n"), "{c:?}");
        assert!(
            c.contains("\n a: 1\n\x1b[31m-b: 2\x1b[0m\n\x1b[32m+b: 3\x1b[0m\n"),
            "{c:?}"
        );
    }
}
