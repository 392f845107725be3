//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` line per finding,
//! which GitHub shows as an annotation on the file and line of the pull request.

use super::paths::RepoPaths;
use crate::finding::{Finding, Report};

/// `%`, CR and LF escaped for a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command property value: also `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command line (without its newline). Related places and the hint follow the
/// message on their own lines of the annotation.
pub fn line(f: &Finding, paths: &mut RepoPaths) -> String {
    let mut props = Vec::new();
    if let Some(loc) = &f.location {
        props.push(format!(
            "file={}",
            escape_property(&paths.relative(&loc.file))
        ));
        props.push(format!("line={}", loc.line));
        props.push(format!("col={}", loc.column));
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("pvc-resize {}", f.id))
    ));
    let mut message = f.message.clone();
    for r in &f.related {
        let label = r.label.as_deref().unwrap_or("see also");
        message.push_str(&format!("\n{label}: {r}"));
    }
    if let Some(hint) = &f.hint {
        message.push_str(&format!("\nhint: {hint}"));
    }
    format!(
        "::{} {}::{}",
        f.severity,
        props.join(","),
        escape_data(&message)
    )
}

/// Every finding of a report, one line each.
pub fn render(report: &Report, paths: &mut RepoPaths) -> String {
    report
        .findings
        .iter()
        .map(|f| line(f, paths) + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, Severity};
    use crate::yaml::Pos;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn one_line_with_hint() {
        let f = Finding::new("shrink", Severity::Error, "shrinks")
            .at(Location::new("<stdin>", Pos { line: 7, col: 11 }))
            .hint("keep it");
        assert_eq!(
            line(&f, &mut RepoPaths::default()),
            "::error file=<stdin>,line=7,col=11,title=pvc-resize shrink::shrinks%0Ahint: keep it"
        );
    }
}
