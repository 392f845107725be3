//! Unified diffs, as `git diff` prints them, optionally coloured.

use super::text::Style;
use std::time::Duration;

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
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
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
