//! The JSON report, version 2 (`schema/report.schema.json`): the same envelope for every
//! command. Fields are only ever added; a change of meaning gets a new version.

use crate::finding::{Report, Severity};
use serde_json::{Value, json};

/// The report format's version.
pub const VERSION: u64 = 2;

/// The report as a JSON value.
pub fn value(report: &Report) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("version".into(), json!(VERSION));
    out.insert("tool".into(), json!("pvc-resize"));
    out.insert("tool_version".into(), json!(env!("CARGO_PKG_VERSION")));
    out.insert("command".into(), json!(report.command));
    for (k, v) in &report.details {
        out.insert(k.clone(), v.clone());
    }
    out.insert("blocking".into(), json!(report.blocking()));
    out.insert(
        "summary".into(),
        json!({
            "error": report.count(Severity::Error),
            "warning": report.count(Severity::Warning),
            "notice": report.count(Severity::Notice),
        }),
    );
    out.insert(
        "findings".into(),
        serde_json::to_value(&report.findings).expect("findings serialise"),
    );
    Value::Object(out)
}

/// The report, pretty-printed, ending with a newline.
pub fn render(report: &Report) -> String {
    serde_json::to_string_pretty(&value(report)).expect("a JSON value serialises") + "\n"
}
