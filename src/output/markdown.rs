//! Findings as markdown, for a pull request's body or comment: one list item per finding with its
//! place, id, message and hint.

use crate::finding::{Finding, Report};

/// Text for a markdown paragraph or table cell: `|`, `<`, `>`, backticks and line breaks can't
/// break the layout.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push('\''),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Inline code, with a fence longer than any run of backticks inside.
pub fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", s.replace('\n', " "))
}

/// One finding as a list item, ending with a newline.
pub fn finding(f: &Finding) -> String {
    let place = f
        .location
        .as_ref()
        .map(|l| format!("{} ", code(&l.to_string())))
        .unwrap_or_default();
    let mut out = format!(
        "- **{}** {}{}: {}\n",
        f.severity,
        code(f.id),
        if place.is_empty() {
            String::new()
        } else {
            format!(" at {}", place.trim_end())
        },
        escape(&f.message)
    );
    for r in &f.related {
        let label = r.label.as_deref().unwrap_or("see also");
        out.push_str(&format!(
            "  - {}: {}\n",
            escape(label),
            code(&r.to_string())
        ));
    }
    if let Some(h) = &f.hint {
        out.push_str(&format!("  - hint: {}\n", escape(h)));
    }
    out
}

/// Every finding of a report as a list (empty when there is none).
pub fn render(report: &Report) -> String {
    report.findings.iter().map(finding).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, Severity};
    use crate::yaml::Pos;

    #[test]
    fn list_items() {
        let f = Finding::new("shrink", Severity::Error, "a|b <x>")
            .at(Location::new("v.yaml", Pos { line: 3, col: 5 }))
            .hint("keep `20Gi`");
        assert_eq!(
            finding(&f),
            "- **error** `shrink` at `v.yaml:3:5`: a\\|b &lt;x&gt;\n  - hint: keep '20Gi'\n"
        );
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }
}
