//! Turning findings (and diffs) into what the user reads: one module per format.
//!
//! - `text`: `FILE:LINE:COL: severity[id]: message`, then `hint:` and related places; coloured
//!   on a terminal.
//! - `json`: the versioned report of `schema/report.schema.json`.
//! - `github`: GitHub Actions workflow commands (annotations on the pull request).
//! - `sarif`: SARIF 2.1.0 for code scanning.
//! - `diff`: unified diffs, coloured on a terminal.

pub mod diff;
pub mod github;
pub mod json;
pub mod markdown;
pub mod paths;
pub mod sarif;
pub mod text;

use crate::finding::Report;

/// The formats every command that reports findings takes with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Github,
    Sarif,
}

impl Format {
    pub const NAMES: [&'static str; 4] = ["text", "json", "github", "sarif"];

    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "github" => Some(Format::Github),
            "sarif" => Some(Format::Sarif),
            _ => None,
        }
    }
}

/// `--color auto|always|never`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub const NAMES: [&'static str; 3] = ["auto", "always", "never"];

    pub fn parse(name: &str) -> Option<ColorChoice> {
        match name {
            "auto" => Some(ColorChoice::Auto),
            "always" => Some(ColorChoice::Always),
            "never" => Some(ColorChoice::Never),
            _ => None,
        }
    }

    /// Whether to colour, for output going to a terminal or not. `auto` colours a terminal
    /// unless `NO_COLOR` is set to a non-empty value (no-color.org); an explicit `always` or
    /// `never` wins over `NO_COLOR`, as that convention asks.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color_env(),
        }
    }
}

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// A report in the chosen format. `color` applies to text only. GitHub and SARIF paths are made
/// relative to the repository root (see `paths`).
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, text::Style { color }),
        Format::Json => json::render(report),
        Format::Github => github::render(report, &mut paths::RepoPaths::default()),
        Format::Sarif => sarif::render(report, &mut paths::RepoPaths::default()),
    }
}
