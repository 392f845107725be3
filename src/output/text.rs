//! The text format: one finding per line as compilers print them, its related places and its
//! hint indented below.
//!
//! ```text
//! values.yaml:7:11: error[shrink]: kafka.persistence.size shrinks from 20Gi to 5Gi ...
//!   base value: HEAD:values.yaml:7:11
//!   hint: keep 20Gi or more; ...
//! ```

use crate::finding::{Finding, Report, Severity};

/// Whether to emit ANSI colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// `s` in the SGR colour `code` (e.g. `1;31`), or as it is without colour or code.
    pub fn paint(self, code: &str, s: &str) -> String {
        if self.color && !code.is_empty() && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
        Severity::Notice => "1;36",
    }
}

/// One finding in the text format, ending with a newline.
pub fn finding(f: &Finding, style: Style) -> String {
    let mut out = String::new();
    if let Some(loc) = &f.location {
        out.push_str(&style.paint("1", &format!("{loc}:")));
        out.push(' ');
    }
    out.push_str(&style.paint(
        severity_colour(f.severity),
        &format!("{}[{}]:", f.severity, f.id),
    ));
    out.push(' ');
    out.push_str(&f.message);
    out.push('\n');
    for r in &f.related {
        let label = r.label.as_deref().unwrap_or("see also");
        out.push_str(&format!("  {label}: {r}\n"));
    }
    if let Some(hint) = &f.hint {
        out.push_str(&format!("  {} {hint}\n", style.paint("1;32", "hint:")));
    }
    out
}

/// Every finding of a report, in order.
pub fn render(report: &Report, style: Style) -> String {
    report.findings.iter().map(|f| finding(f, style)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::yaml::Pos;

    fn sample() -> Finding {
        Finding::new("shrink", Severity::Error, "size shrinks")
            .at(Location::new("v.yaml", Pos { line: 7, col: 11 }))
            .related(Location::new("HEAD:v.yaml", Pos { line: 6, col: 11 }).labelled("base value"))
            .hint("keep 20Gi")
    }

    #[test]
    fn plain() {
        assert_eq!(
            finding(&sample(), Style::default()),
            "v.yaml:7:11: error[shrink]: size shrinks\n  base value: HEAD:v.yaml:6:11\n  hint: keep 20Gi\n"
        );
        let bare = Finding::new("x", Severity::Notice, "m");
        assert_eq!(finding(&bare, Style::default()), "notice[x]: m\n");
    }

    #[test]
    fn coloured() {
        let s = finding(&sample(), Style { color: true });
        assert!(
            s.starts_with(
                "\x1b[1mv.yaml:7:11:\x1b[0m \x1b[1;31merror[shrink]:\x1b[0m size shrinks\n"
            ),
            "{s:?}"
        );
        assert!(s.ends_with("  \x1b[1;32mhint:\x1b[0m keep 20Gi\n"), "{s:?}");
    }
}
