//! Splits a multi-document YAML stream into documents without parsing them.
//!
//! YAML forbids a line that starts with `---` or `...` followed by white space (or the line's
//! end) anywhere inside a document's content (`c-forbidden` in YAML 1.2, even inside block
//! scalars and quoted strings), so those lines are exact document boundaries. Splitting on them
//! is a `memchr` scan, and keeps every byte and every line number.

use memchr::memmem;
use std::ops::Range;

/// One piece of the stream: from a boundary line (or the start) to the next boundary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub range: Range<usize>,
    /// 1-based line of the chunk's first byte.
    pub line: usize,
}

/// True when the line starting at `at` is a `---` or `...` marker line.
fn is_marker(b: &[u8], at: usize) -> bool {
    let rest = &b[at..];
    if rest.len() < 3 || !(rest.starts_with(b"---") || rest.starts_with(b"...")) {
        return false;
    }
    matches!(rest.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

/// Splits `src` at every marker line. The chunks cover the whole input, in order, without gaps.
///
/// Linear, and a vectorised search for the rare `\n---` and `\n...` rather than a visit of every
/// line: about a tenth of a byte-by-byte scan.
/// A bare CR line break (a `\r` not followed by `\n`): Helm and kubectl (go-yaml) read it as
/// a line break, this reader splits and edits streams on LF and CRLF only, so such a stream is
/// refused with this message instead of being read as one long line (a comment, or nothing).
pub fn bare_cr(src: &str) -> Option<(usize, &'static str)> {
    let b = src.as_bytes();
    memchr::memchr_iter(b'\r', b)
        .find(|&i| b.get(i + 1) != Some(&b'\n'))
        .map(|i| {
            (
                i,
                "a bare CR line break (old Mac style): Helm and kubectl read it as a line break, pvc-resize reads LF and CRLF only, so it would not see the documents Helm sees",
            )
        })
}

pub fn split(src: &str) -> Vec<Chunk> {
    let b = src.as_bytes();
    let mut starts = Vec::new();
    if is_marker(b, 0) {
        starts.push(0);
    }
    let dashes = memmem::find_iter(b, b"\n---").map(|nl| nl + 1);
    let dots = memmem::find_iter(b, b"\n...").map(|nl| nl + 1);
    starts.extend(merge_sorted(dashes, dots).filter(|&at| is_marker(b, at)));
    let mut chunks = Vec::with_capacity(starts.len() + 1);
    let mut line = 1;
    let mut prev = 0;
    for s in starts.into_iter().chain(std::iter::once(b.len())) {
        if s > prev || (s == 0 && b.is_empty()) {
            chunks.push(Chunk {
                range: prev..s,
                line,
            });
            line += memchr::memchr_iter(b'\n', &b[prev..s]).count();
        }
        prev = s;
    }
    chunks
}

/// Two ascending sequences as one ascending sequence.
fn merge_sorted(
    a: impl Iterator<Item = usize>,
    b: impl Iterator<Item = usize>,
) -> impl Iterator<Item = usize> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if x <= y => a.next(),
        (Some(_), None) => a.next(),
        _ => b.next(),
    })
}

/// The text with every backslash escape of a double-quoted YAML scalar decoded, wherever it is
/// (outside double quotes this decodes too much, which only makes the prefilter parse more),
/// and escaped line breaks joined.
pub fn decode_escapes(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'\\', &text[i..]).map(|a| i + a) {
        out.extend_from_slice(&text[i..at]);
        let Some(&c) = text.get(at + 1) else {
            i = at + 1;
            break;
        };
        i = at + 2;
        let hex = match c {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => 0,
        };
        if hex > 0 {
            let digits = text
                .get(at + 2..at + 2 + hex)
                .and_then(|d| std::str::from_utf8(d).ok());
            match digits
                .and_then(|d| u32::from_str_radix(d, 16).ok())
                .and_then(char::from_u32)
            {
                Some(ch) => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    i = at + 2 + hex;
                }
                None => out.push(c),
            }
            continue;
        }
        match c {
            b'\r' | b'\n' => {
                // An escaped line break: the break and the next line's indentation vanish.
                while matches!(text.get(i), Some(b'\n' | b'\r' | b' ' | b'\t')) {
                    i += 1;
                }
            }
            b'0' => out.push(0),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'v' => out.push(11),
            b'f' => out.push(12),
            b'r' => out.push(b'\r'),
            b'e' => out.push(27),
            b'N' => out.extend_from_slice("\u{85}".as_bytes()),
            b'_' => out.extend_from_slice("\u{a0}".as_bytes()),
            b'L' => out.extend_from_slice("\u{2028}".as_bytes()),
            b'P' => out.extend_from_slice("\u{2029}".as_bytes()),
            other => out.push(other),
        }
    }
    out.extend_from_slice(&text[i.min(text.len())..]);
    out
}

/// True when `text` holds one of `needles`, written out or spelled with the escapes of a
/// double-quoted scalar (`"State\x66ulSet"`): what a prefilter must assume before it skips
/// parsing a document.
pub fn holds_any(text: &str, needles: &[&str]) -> bool {
    if needles.iter().any(|n| text.contains(n)) {
        return true;
    }
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return false;
    }
    let decoded = decode_escapes(text.as_bytes());
    needles
        .iter()
        .any(|n| memmem::find(&decoded, n.as_bytes()).is_some())
}

/// True when the chunk holds YAML content: anything beyond marker lines, blank lines and
/// comments. A chunk without content is not a document to Helm.
pub fn has_content(text: &str) -> bool {
    for line in text.lines() {
        let t = line.trim_start();
        let t = if let Some(rest) = t.strip_prefix("---").or_else(|| t.strip_prefix("...")) {
            if rest.is_empty() || rest.starts_with([' ', '\t', '\r']) {
                rest.trim_start()
            } else {
                t
            }
        } else {
            t
        };
        if !(t.is_empty() || t.starts_with('#')) {
            return true;
        }
    }
    false
}

/// The number of documents with content in a stream.
pub fn count_documents(src: &str) -> usize {
    split(src)
        .iter()
        .filter(|c| has_content(&src[c.range.clone()]))
        .count()
}

/// The `# Source: PATH` comment of a chunk (Helm 3 and `helm template`), if any.
pub fn source_comment(text: &str) -> Option<&str> {
    for line in text.lines() {
        let t = line.trim();
        if let Some(path) = t.strip_prefix("# Source: ") {
            return Some(path.trim());
        }
        if !(t.is_empty() || t.starts_with('#') || t == "---") {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_marker_lines_only() {
        let src =
            "---\n# Source: a\nkind: A\ndata: |\n  ---not a marker\n---\nkind: B\n---x: 1\n...\n";
        let chunks = split(src);
        let texts: Vec<&str> = chunks.iter().map(|c| &src[c.range.clone()]).collect();
        assert_eq!(
            texts,
            vec![
                "---\n# Source: a\nkind: A\ndata: |\n  ---not a marker\n",
                "---\nkind: B\n---x: 1\n",
                "...\n"
            ]
        );
        assert_eq!(
            chunks.iter().map(|c| c.line).collect::<Vec<_>>(),
            vec![1, 6, 9]
        );
        assert_eq!(count_documents(src), 2);
        assert_eq!(source_comment(texts[0]), Some("a"));
    }

    #[test]
    fn covers_everything() {
        for src in [
            "",
            "a: 1",
            "\n---\n",
            "---",
            "--- \n---\r\nb: 2\r\n",
            "x\n--- # c\n",
        ] {
            let chunks = split(src);
            let joined: String = chunks.iter().map(|c| &src[c.range.clone()]).collect();
            assert_eq!(joined, src);
        }
        assert_eq!(count_documents("---\n# only a comment\n---\n"), 0);
        assert_eq!(count_documents("--- a\n"), 1);
    }
}
