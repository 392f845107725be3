//! An [`Advice`] as text (a table with a usage bar per ordinal) and as markdown (a pull request's
//! body: summary, table, the values diffs and the `plan` commands). JSON is serde's, in the report
//! envelope ([`json`]).

use super::{ADVISE_VERSION, Advice, Group, Usage};
use crate::finding::Report;
use crate::output::markdown::{code, escape};
use crate::output::text::Style;
use std::fmt::Write;

const BAR: usize = 20;

/// Bytes in binary units with one decimal: `12.4GiB`.
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b}B")
    } else {
        format!("{v:.1}{}", UNITS[i])
    }
}

/// `[##########|.......]`: the usage filled in, the target marked with `|`.
pub fn bar(usage_percent: f64, target_percent: f64) -> String {
    let filled = ((usage_percent / 100.0) * BAR as f64)
        .round()
        .clamp(0.0, BAR as f64) as usize;
    let mark = ((target_percent / 100.0) * BAR as f64).round() as usize;
    let mut s = String::with_capacity(BAR + 2);
    s.push('[');
    for i in 0..BAR {
        s.push(if i == mark && i >= filled {
            '|'
        } else if i < filled {
            '#'
        } else {
            '.'
        });
    }
    s.push(']');
    s
}

fn target_percent(a: &Advice) -> f64 {
    a.settings
        .target_usage
        .trim_end_matches('%')
        .parse()
        .unwrap_or(100.0)
}

/// The group's name: `posthog/posthog-posthog-kafka claim data` or `ns/pvc`.
pub fn name(g: &Group) -> String {
    match (&g.statefulset, &g.claim) {
        (Some(s), Some(c)) => format!("{}/{s} claim {c}", g.namespace),
        _ => format!("{}/{}", g.namespace, g.ordinals[0].pvc),
    }
}

fn days(d: Option<f64>) -> String {
    d.map_or_else(|| "-".to_owned(), super::policy::days_text)
}

fn per_day(u: &Usage) -> String {
    u.bytes_per_day.map_or_else(
        || "-".to_owned(),
        |r| {
            if r < 0.0 {
                format!("-{}", bytes((-r) as u64))
            } else {
                bytes(r as u64)
            }
        },
    )
}

fn verdict(g: &Group) -> String {
    match (&g.proposed_size, g.reason) {
        (Some(s), Some(why)) => format!("grow to {s} ({why})"),
        _ => "ok".to_owned(),
    }
}

/// The text format: per group a header, a row per ordinal with its usage bar, the sizes, and the
/// next step; then the findings.
pub fn text(a: &Advice, style: Style) -> String {
    let mut out = String::new();
    let target = target_percent(a);
    for g in &a.groups {
        let head = format!("{}  {}", name(g), verdict(g));
        let code = if g.needs_action { "1;31" } else { "1;32" };
        let _ = writeln!(out, "{}", style.paint(code, &head));
        let sizes: Vec<String> =
            std::iter::once(format!("live {}", g.live_size.as_deref().unwrap_or("?")))
                .chain(
                    g.sizes
                        .iter()
                        .map(|z| format!("{} {} ({})", z.source, z.size, z.at)),
                )
                .collect();
        let _ = writeln!(out, "  {}", sizes.join(" · "));
        let _ = writeln!(
            out,
            "  {:<34} {:<29} {:>19} {:>7} {:>10} {:>8}",
            "PVC", "USAGE", "USED/SIZE", "INODES", "GROWTH/D", "FULL IN"
        );
        for o in &g.ordinals {
            let Some(u) = &o.usage else {
                let _ = writeln!(out, "  {:<34} (no metrics)", o.pvc);
                continue;
            };
            let _ = writeln!(
                out,
                "  {:<34} {} {:>5.1}% {:>19} {:>6.1}% {:>10} {:>8}",
                o.pvc,
                bar(u.usage_percent, target),
                u.usage_percent,
                format!(
                    "{}/{}",
                    bytes(u.used_bytes),
                    bytes(u.used_bytes + u.available_bytes)
                ),
                u.inode_usage_percent.unwrap_or(0.0),
                per_day(u),
                days(u.days_to_full),
            );
        }
        next_text(&mut out, g, style);
        out.push('\n');
    }
    let report = Report::new("advise", a.findings.clone());
    out.push_str(&crate::output::text::render(&report, style));
    out
}

fn next_text(out: &mut String, g: &Group, style: Style) {
    if let Some(d) = &g.next.values_diff {
        let _ = writeln!(out, "  next: the values change");
        for l in crate::output::diff::paint(d, style).lines() {
            let _ = writeln!(out, "    {l}");
        }
    }
    if let Some(c) = &g.next.plan_command {
        let _ = writeln!(out, "  then: {c}");
    }
    for n in &g.next.notes {
        let _ = writeln!(out, "  note: {n}");
    }
}

/// The markdown format: a pull request's body.
pub fn markdown(a: &Advice) -> String {
    let mut out = String::new();
    let acting: Vec<&Group> = a.groups.iter().filter(|g| g.needs_action).collect();
    let _ = writeln!(
        out,
        "## pvc-resize advise: {} of {} volume groups need action within {}\n",
        acting.len(),
        a.groups.len(),
        a.settings.horizon
    );
    let _ = writeln!(
        out,
        "Policy: at most {} used at the end of the horizon, growth of at least {}, whole GiB{}, never below the largest live PVC.\n",
        a.settings.target_usage,
        a.settings.min_step,
        a.settings
            .max
            .as_deref()
            .map_or_else(String::new, |m| format!(", at most {m}"))
    );
    for g in &acting {
        let fullest = g
            .fullest
            .as_deref()
            .map_or_else(String::new, |f| format!("; fullest {}", code(f)));
        let full = g.days_to_full.map_or_else(String::new, |d| {
            format!(", full in {}", super::policy::days_text(d))
        });
        let _ = writeln!(
            out,
            "- **{}**: {}{fullest}{full}",
            escape(&name(g)),
            verdict(g)
        );
    }
    if !acting.is_empty() {
        out.push('\n');
    }
    table(&mut out, a);
    changes(&mut out, &acting);
    if !a.findings.is_empty() {
        let _ = writeln!(out, "### Findings\n");
        out.push_str(&crate::output::markdown::render(&Report::new(
            "advise",
            a.findings.clone(),
        )));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "<sub>pvc-resize {} advise</sub>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn table(out: &mut String, a: &Advice) {
    let _ = writeln!(
        out,
        "| Volumes | Fullest | Usage | Inodes | Growth/day | Full in | Live | Values | Proposed |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for g in &a.groups {
        let fullest = g
            .ordinals
            .iter()
            .find(|o| Some(&o.pvc) == g.fullest.as_ref());
        let u = fullest.and_then(|o| o.usage.as_ref());
        let values = g
            .sizes
            .iter()
            .find(|z| z.source == "values")
            .map_or_else(|| "-".to_owned(), |z| z.size.clone());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&name(g)),
            fullest.map_or_else(|| "-".to_owned(), |o| code(&o.pvc)),
            u.map_or_else(|| "-".to_owned(), |u| format!("{:.1}%", u.usage_percent)),
            u.and_then(|u| u.inode_usage_percent)
                .map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%")),
            u.map_or_else(|| "-".to_owned(), per_day),
            days(g.days_to_full),
            g.live_size.as_deref().unwrap_or("-"),
            escape(&values),
            g.proposed_size
                .as_deref()
                .map_or_else(|| "-".to_owned(), |s| format!("**{s}**")),
        );
    }
    out.push('\n');
}

fn changes(out: &mut String, acting: &[&Group]) {
    if acting.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Changes\n");
    for g in acting {
        let _ = writeln!(out, "#### {}\n", escape(&name(g)));
        if let (Some(d), Some(f), Some(p)) = (
            &g.next.values_diff,
            &g.next.values_file,
            &g.next.values_path,
        ) {
            let _ = writeln!(out, "{} ({}):\n\n```diff\n{}```\n", code(f), code(p), d);
        }
        if let Some(c) = &g.next.plan_command {
            let _ = writeln!(
                out,
                "Then, the procedure for the release:\n\n```sh\n{c}\n```\n"
            );
        }
        for n in &g.next.notes {
            let _ = writeln!(out, "> {}\n", escape(n));
        }
    }
}

/// The JSON: the report envelope (`schema/report.schema.json`) with `advise`'s fields
/// (`schema/advise.schema.json`).
pub fn json(a: &Advice) -> String {
    let mut report = Report::new("advise", a.findings.clone());
    let fields = serde_json::to_value(a).expect("advice serialises");
    if let serde_json::Value::Object(map) = fields {
        report.details = map;
    }
    report
        .details
        .insert("advise_version".into(), serde_json::json!(ADVISE_VERSION));
    crate::output::json::render(&report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_and_bytes() {
        assert_eq!(bar(50.0, 70.0), "[##########....|.....]");
        assert_eq!(bar(80.0, 70.0), "[################....]");
        assert_eq!(bytes(10 * (1 << 30) + (1 << 29)), "10.5GiB");
        assert_eq!(bytes(512), "512B");
    }
}
