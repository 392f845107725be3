//! Turning results into text: unified diffs.

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

#[cfg(test)]
mod tests {
    #[test]
    fn diff_has_git_headers() {
        let d = super::unified_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "v.yaml");
        assert_eq!(
            d,
            "--- a/v.yaml\n+++ b/v.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n"
        );
        assert_eq!(super::unified_diff("x", "x", "v"), "");
    }
}
