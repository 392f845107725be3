//! Turns a [`Plan`] into text (terminal), markdown (a PR comment), JSON and a bash script.

use crate::commands::plan::{Command, Plan, Step, Target};
use crate::finding::{Finding, Severity};
use crate::k8s::quantity::group;
use crate::shell::shell_quote;
use std::fmt::Write;

/// A command line, every word quoted.
pub fn command_line(c: &Command) -> String {
    c.argv
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Colours for the text format (none when not a terminal or with NO_COLOR).
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn target_summary(t: &Target) -> String {
    if t.is_operator() {
        return operator_summary(t);
    }
    if let Some(pvc) = &t.pvc {
        return format!(
            "PersistentVolumeClaim {pvc} (rendered by the chart; the upgrade grows it): {} ({} bytes) -> {} ({} bytes)\n    state {}{}\n    mounted at {}{}{}; values path {}; storage class {}",
            t.old.canonical,
            t.old.bytes.map_or_else(|| "?".to_owned(), group),
            t.new.canonical,
            t.new.bytes.map_or_else(|| "?".to_owned(), group),
            t.pvcs[0].state,
            t.pvcs[0]
                .capacity
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            t.mount_path
                .as_deref()
                .unwrap_or("(not mounted by a workload of the render)"),
            t.container
                .as_deref()
                .map(|c| format!(" in container {c}"))
                .unwrap_or_default(),
            t.workload
                .as_deref()
                .map(|w| format!(" of {w}"))
                .unwrap_or_default(),
            t.values_path
                .as_deref()
                .unwrap_or("(unknown: pass --chart or --path)"),
            t.storage_class.as_deref().unwrap_or("(unknown)"),
        );
    }
    let pvcs: Vec<String> = t
        .pvcs
        .iter()
        .map(|p| match &p.capacity {
            Some(c) => format!("{} ({}, {})", p.name, p.state, c),
            None if p.state == "unknown" => p.name.clone(),
            None => format!("{} ({})", p.name, p.state),
        })
        .collect();
    format!(
        "StatefulSet {} ({} replica{}), claim template {}: {} ({} bytes) -> {} ({} bytes)\n    PVCs: {}\n    mounted at {}{}; values path {}; storage class {}; whenScaled {}",
        t.statefulset,
        t.replicas,
        if t.replicas == 1 { "" } else { "s" },
        t.claim,
        t.old.canonical,
        t.old.bytes.map_or_else(|| "?".to_owned(), group),
        t.new.canonical,
        t.new.bytes.map_or_else(|| "?".to_owned(), group),
        pvcs.join(", "),
        t.mount_path.as_deref().unwrap_or("(not mounted)"),
        t.container
            .as_deref()
            .map(|c| format!(" in container {c}"))
            .unwrap_or_default(),
        t.values_path.as_deref().unwrap_or("(unknown: pass --path)"),
        t.storage_class.as_deref().unwrap_or("(unknown)"),
        t.when_scaled,
    ) + &class_summary(t)
}

/// A custom resource's claim template: its operator grows the PVCs after the upgrade.
fn operator_summary(t: &Target) -> String {
    let pvcs: Vec<String> = t
        .pvcs
        .iter()
        .map(|p| match &p.capacity {
            Some(c) => format!("{} ({}, {})", p.name, p.state, c),
            None => format!("{} ({})", p.name, p.state),
        })
        .collect();
    format!(
        "{}, claim template {} (its operator grows the PVCs after the upgrade): {} ({} bytes) -> {} ({} bytes)\n    PVCs{}: {}\n    mounted at {}{}; values path {}; storage class {}",
        t.object(),
        t.claim,
        t.old.canonical,
        t.old.bytes.map_or_else(|| "?".to_owned(), group),
        t.new.canonical,
        t.new.bytes.map_or_else(|| "?".to_owned(), group),
        t.selector
            .as_deref()
            .map(|l| format!(" (-l {l})"))
            .unwrap_or_default(),
        if pvcs.is_empty() {
            "found by their label when the script runs".to_owned()
        } else {
            pvcs.join(", ")
        },
        t.mount_path
            .as_deref()
            .unwrap_or("(not mounted by its pod template)"),
        t.container
            .as_deref()
            .map(|c| format!(" in container {c}"))
            .unwrap_or_default(),
        t.values_path
            .as_deref()
            .unwrap_or("(unknown: pass --chart or --path)"),
        t.storage_class.as_deref().unwrap_or("(unknown)"),
    )
}

/// The claim template's and the PVCs' VolumeAttributesClass (`--volume-attributes-class`).
fn class_summary(t: &Target) -> String {
    let Some(c) = &t.attributes_class else {
        return String::new();
    };
    let live: Vec<String> = t
        .pvcs
        .iter()
        .filter_map(|p| Some(format!("{} {}", p.name, p.attributes_class.as_deref()?)))
        .collect();
    format!(
        "\n    volumeAttributesClassName: {} -> {}; values path {}{}",
        c.from.as_deref().unwrap_or("(none)"),
        c.to,
        c.values_path
            .as_deref()
            .unwrap_or("(none: see the findings)"),
        if live.is_empty() {
            String::new()
        } else {
            format!("; PVCs now: {}", live.join(", "))
        }
    )
}

/// The terminal format.
pub fn text(plan: &Plan, style: &Style) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}",
        style.paint(
            "1",
            &format!(
                "Resize plan: release {} in namespace {}, to {}{}",
                plan.release,
                plan.namespace,
                plan.size.text,
                plan.attributes_class
                    .as_deref()
                    .map(|c| format!(", VolumeAttributesClass {c}"))
                    .unwrap_or_default()
            )
        )
    );
    let _ = writeln!(o, "\nWhat changes:");
    for t in &plan.targets {
        let _ = writeln!(o, "  {}", target_summary(t));
    }
    let _ = writeln!(
        o,
        "\nPreflight findings{}:",
        if plan.cluster_snapshot {
            " (from the cluster snapshot)"
        } else {
            ""
        }
    );
    text_findings(&mut o, &plan.findings, style);
    if plan.blocking {
        let _ = writeln!(
            o,
            "\n{}",
            style.paint(
                "1;31",
                "A blocking finding stops the plan: no steps until it is resolved."
            )
        );
    }
    text_steps(&mut o, &plan.steps, style);
    post_renderer(&mut o, plan, "", "  ");
    if !plan.steps.is_empty() && !plan.fallback_offered {
        let _ = writeln!(o, "\n(No scale-to-zero fallback: {}.)", no_fallback(plan));
    }
    let _ = writeln!(o, "\nRollback notes:");
    for r in &plan.rollback {
        let _ = writeln!(o, "  - {r}");
    }
    diffs(&mut o, plan, "");
    o
}

/// The terminal format's findings, one per line (with its place), each hint below it.
fn text_findings(o: &mut String, findings: &[Finding], style: &Style) {
    for f in findings {
        let label = match f.severity {
            Severity::Error => style.paint("1;31", "BLOCKING"),
            Severity::Warning => style.paint("33", "warning"),
            Severity::Notice => style.paint("36", "info"),
        };
        let at = f
            .location
            .as_ref()
            .map_or(String::new(), |l| format!(" ({l})"));
        let _ = writeln!(o, "  {label} [{}] {}{at}", f.id, f.message);
        if let Some(hint) = &f.hint {
            let _ = writeln!(o, "      hint: {hint}");
        }
    }
}

/// The terminal format's steps, numbered: each with its detail, its checks and their commands,
/// then its own commands.
fn text_steps(o: &mut String, steps: &[Step], style: &Style) {
    for (i, s) in steps.iter().enumerate() {
        let marker = if s.branch == "fallback" {
            style.paint("1;33", " [fallback branch]")
        } else {
            String::new()
        };
        let _ = writeln!(o, "\n{}. {}{marker}", i + 1, style.paint("1", &s.title));
        if !s.detail.is_empty() {
            let _ = writeln!(o, "   {}", s.detail);
        }
        for (j, c) in s.checks.iter().enumerate() {
            let _ = writeln!(o, "   {}) [{}] {}", j + 1, c.id, c.title);
            for c in &c.commands {
                let _ = writeln!(o, "        $ {}", command_line(c));
            }
        }
        for c in &s.commands {
            let _ = writeln!(o, "   $ {}", command_line(c));
        }
    }
}

/// The post-renderer alternative to the values change, in the right form for each Helm major.
fn post_renderer(o: &mut String, plan: &Plan, heading: &str, indent: &str) {
    if plan.steps.is_empty() || plan.post_renderer.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n{heading}Instead of the values change: the same upgrade with the post-renderer{}\n",
        if heading.is_empty() { ":" } else { "" }
    );
    for f in &plan.post_renderer {
        let how = if f.helm == 3 {
            "runs the executable; its first argument is `post-render`"
        } else {
            "takes the plugin NAME, whose plugin.yaml already passes `post-render`; make and install the plugin once (`pvc-resize helm-plugin ~/.local/share/pvc-resize/pvc-resize && helm plugin install ~/.local/share/pvc-resize/pvc-resize`: the folder gets the plugin.yaml and this binary; keep it, Helm links it)"
        };
        let _ = writeln!(o, "{indent}Helm {} {how}:", f.helm);
        let line = command_line(&f.command);
        if heading.is_empty() {
            let _ = writeln!(o, "{indent}  $ {line}");
        } else {
            let _ = writeln!(o, "\n```sh\n{line}\n```\n");
        }
    }
    let _ = writeln!(
        o,
        "{indent}With Helm 4, any post-renderer re-serialises the whole release (with the real PostHog chart, four\n{indent}unrelated Deployments change and roll). That is why the values change is the default path.\n"
    );
}

fn diffs(o: &mut String, plan: &Plan, fence: &str) {
    if let Some(v) = &plan.values {
        let _ = writeln!(o, "\nValues change ({}, {}):", v.file, v.change);
        let _ = write!(
            o,
            "{fence}{}{}",
            v.diff,
            if fence.is_empty() { "" } else { "```\n" }
        );
    }
    if !plan.manifest_diff.is_empty() {
        let _ = writeln!(o, "\nRendered StatefulSet change:");
        let _ = write!(
            o,
            "{fence}{}{}",
            plan.manifest_diff,
            if fence.is_empty() { "" } else { "```\n" }
        );
    }
}

/// The markdown format, for a pull-request comment.
pub fn markdown(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "## Resize plan: `{}` in `{}` to `{}`{}\n",
        plan.release,
        plan.namespace,
        plan.size.text,
        plan.attributes_class
            .as_deref()
            .map(|c| format!(", VolumeAttributesClass `{c}`"))
            .unwrap_or_default()
    );
    markdown_targets(&mut o, plan);
    markdown_findings(&mut o, plan);
    if plan.blocking {
        let _ = writeln!(
            o,
            "\n**A blocking finding stops the plan: no steps until it is resolved.**"
        );
    }
    markdown_steps(&mut o, plan);
    if !plan.steps.is_empty() {
        post_renderer(&mut o, plan, "### ", "");
    }
    let _ = writeln!(o, "### Rollback notes\n");
    for r in &plan.rollback {
        let _ = writeln!(o, "- {r}");
    }
    let mut d = String::new();
    diffs(&mut d, plan, "```diff\n");
    o.push_str(&d);
    o
}

/// The markdown table of the targets, and of their VolumeAttributesClass when one is asked.
fn markdown_targets(o: &mut String, plan: &Plan) {
    let plain = plan.targets.iter().any(|t| !t.is_statefulset());
    let _ = writeln!(
        o,
        "| {} | replicas | claim | from | to | PVCs | mount | values path |",
        if plain { "target" } else { "StatefulSet" }
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    for t in &plan.targets {
        let pvcs: Vec<String> = t
            .pvcs
            .iter()
            .map(|p| format!("`{}` ({})", p.name, p.state))
            .collect();
        let _ = writeln!(
            o,
            "| `{}` | {} | `{}` | {} ({} B) | {} ({} B) | {} | `{}` | `{}` |",
            if plain {
                t.object()
            } else {
                t.statefulset.clone()
            },
            t.replicas,
            t.claim,
            t.old.canonical,
            t.old.bytes.map_or_else(|| "?".to_owned(), group),
            t.new.canonical,
            t.new.bytes.map_or_else(|| "?".to_owned(), group),
            pvcs.join("<br>"),
            t.mount_path.as_deref().unwrap_or("-"),
            t.values_path.as_deref().unwrap_or("-"),
        );
    }
    if plan.attributes_class.is_some() {
        markdown_classes(o, plan);
    }
}

/// The markdown table of the targets' VolumeAttributesClass: the class from and to, the values
/// path, and each PVC's class now.
fn markdown_classes(o: &mut String, plan: &Plan) {
    let _ = writeln!(
        o,
        "\n| StatefulSet | claim | volumeAttributesClassName | values path | PVCs now |\n|---|---|---|---|---|"
    );
    for t in &plan.targets {
        let Some(c) = &t.attributes_class else {
            continue;
        };
        let live: Vec<String> = t
            .pvcs
            .iter()
            .map(|p| {
                format!(
                    "`{}` {}",
                    p.name,
                    p.attributes_class.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "| `{}` | `{}` | {} -> `{}` | {} | {} |",
            t.statefulset,
            t.claim,
            c.from
                .as_deref()
                .map_or("(none)".to_owned(), |f| format!("`{f}`")),
            c.to,
            c.values_path
                .as_deref()
                .map_or("-".to_owned(), |p| format!("`{p}`")),
            live.join("<br>")
        );
    }
}

/// The markdown list of the preflight findings, each with its hint.
fn markdown_findings(o: &mut String, plan: &Plan) {
    let _ = writeln!(o, "\n### Preflight\n");
    for f in &plan.findings {
        let icon = match f.severity {
            Severity::Error => "**BLOCKING**",
            Severity::Warning => "warning",
            Severity::Notice => "info",
        };
        let _ = write!(o, "- {icon} `{}`: {}", f.id, f.message.replace('|', "\\|"));
        match &f.hint {
            Some(hint) => {
                // Prose, with its commands in backticks (code spans, where `\|` would show).
                let _ = writeln!(o, " Hint: {hint}");
            }
            None => o.push('\n'),
        }
    }
}

/// The markdown list of the steps, with their checks and commands.
fn markdown_steps(o: &mut String, plan: &Plan) {
    if !plan.steps.is_empty() {
        let _ = writeln!(o, "\n### Steps\n");
    }
    for (i, s) in plan.steps.iter().enumerate() {
        let branch = if s.branch == "fallback" {
            " *(fallback branch only)*"
        } else {
            ""
        };
        let _ = writeln!(o, "{}. **{}**{branch}  \n   {}\n", i + 1, s.title, s.detail);
        for c in &s.checks {
            let _ = writeln!(o, "   - `{}`: {}", c.id, c.title.replace('|', "\\|"));
            for c in &c.commands {
                let _ = writeln!(o, "     `{}`", command_line(c).replace('`', "\\`"));
            }
        }
        if !s.checks.is_empty() {
            o.push('\n');
        }
        if !s.commands.is_empty() {
            let _ = writeln!(o, "   ```sh");
            for c in &s.commands {
                let _ = writeln!(o, "   {}", command_line(c));
            }
            let _ = writeln!(o, "   ```\n");
        }
    }
}

/// The JSON format (`schema/plan.schema.json`).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("the plan serialises") + "\n"
}

/// The fixed logic of the script, reviewed and shellcheck'ed as it is.
pub const SCRIPT_BODY: &str = include_str!("../../script/resize.sh");

/// A word in single quotes, always (data in the header is never read as code or arithmetic).
fn quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// `NAME='value'`.
fn assign(o: &mut String, name: &str, value: &str) {
    let _ = writeln!(o, "{name}={}", quoted(value));
}

/// `NAME=('a' 'b' 'c')`.
fn array<S: AsRef<str>>(o: &mut String, name: &str, items: impl IntoIterator<Item = S>) {
    let words: Vec<String> = items.into_iter().map(|w| quoted(w.as_ref())).collect();
    let _ = writeln!(o, "{name}=({})", words.join(" "));
}

/// What a script needs beyond the plan's steps; each missing piece is an error with a hint.
struct ScriptInputs<'p> {
    values: &'p crate::commands::plan::ValuesChange,
    chart: &'p str,
    context: &'p str,
    chart_name: &'p str,
    version: &'p str,
    bytes: i64,
    upgrade: &'p Command,
    dry_run: &'p Command,
}

impl<'p> ScriptInputs<'p> {
    fn of(plan: &'p Plan) -> Result<Self, String> {
        if plan.blocking {
            return Err(
                "the plan has a blocking finding; no script is written (see --format text)"
                    .to_owned(),
            );
        }
        let (Some(chart_name), Some(version)) = (&plan.chart_name, &plan.chart_version) else {
            return Err("--format script needs the chart's name and version: the render has no top-chart helm.sh/chart label\n  hint: render with `helm template RELEASE CHART --version V` so that the top chart's own templates are in it, or pass --version".to_owned());
        };
        Ok(ScriptInputs {
            values: plan
                .values
                .as_ref()
                .ok_or("--format script needs --values FILE (the script changes it)\n  hint: pass --values with the values file the release is installed with")?,
            chart: plan
                .chart
                .as_deref()
                .ok_or("--format script needs --chart REF (for helm upgrade)\n  hint: pass --chart with the reference `helm upgrade` takes, e.g. posthog/posthog")?,
            context: plan.kube_context.as_deref().ok_or(
                "--format script needs --kube-context NAME: the script never acts on whatever context is current\n  hint: pass --kube-context with one of `kubectl config get-contexts`",
            )?,
            chart_name,
            version,
            bytes: plan.size.bytes.ok_or("--size has no byte value\n  hint: give the size in bytes or with a unit, e.g. 50Gi")?,
            upgrade: helm_command(plan, "replace-statefulsets")?,
            dry_run: helm_command(plan, "upgrade")?,
        })
    }
}

/// The helm command of a step, or of a preflight check.
fn helm_command<'p>(plan: &'p Plan, id: &str) -> Result<&'p Command, String> {
    let preflight = plan.steps.iter().find(|s| s.id == "preflight");
    plan.steps
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.commands.iter().find(|c| c.argv[0] == "helm"))
        .or_else(|| {
            preflight?
                .checks
                .iter()
                .find(|c| c.id == id)?
                .commands
                .first()
        })
        .ok_or_else(|| format!("the plan has no {id} command"))
}

/// The bash script: a header of quoted data and the fixed logic of `src/script/resize.sh`. The
/// steps and checks run in the plan's order (`STEPS`, `PREFLIGHT`).
pub fn script(plan: &Plan) -> Result<String, String> {
    let need = ScriptInputs::of(plan)?;
    let names: Vec<&str> = plan.targets.iter().map(Target::name).collect();
    let mut o = String::new();
    let _ = writeln!(o, "#!/usr/bin/env bash");
    // The data are single-quoted on purpose: a `$` or a backquote in a name stays literal.
    // (The fixed logic passes shellcheck without it: tests/plan.rs checks it on its own.)
    let _ = writeln!(o, "# shellcheck disable=SC2016");
    let _ = writeln!(
        o,
        "# Generated by pvc-resize {}: grow {} of release {} (namespace {}, context {}) to {}.",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        plan.release,
        plan.namespace,
        need.context.escape_debug(),
        plan.size.text
    );
    let flag = if plan.fallback_offered {
        " [--fallback-scale-to-zero]"
    } else {
        ""
    };
    let _ = writeln!(
        o,
        "# Review it, then run it from this folder: bash THIS_SCRIPT{flag}. Run again after any\n# failure: it resumes. Below the data header is the fixed logic (src/script/resize.sh in pvc-resize)."
    );
    let _ = writeln!(
        o,
        "\n# --- data -------------------------------------------------------------------------------------"
    );
    data(&mut o, plan, &need);
    let _ = writeln!(
        o,
        "\n# --- logic --------------------------------------------------------------------------------------"
    );
    o.push_str(SCRIPT_BODY);
    Ok(o)
}

/// The script of a blocked plan: it changes nothing, names the blocking findings and exits 1, so that
/// `plan --format script > resize.sh` never leaves an empty file that `bash` runs with success.
pub fn blocked_script(plan: &Plan) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "#!/usr/bin/env bash");
    let _ = writeln!(
        o,
        "# Generated by pvc-resize {}: NO resize of release {} (namespace {}): the plan is blocked.
# This script changes nothing: it names the blocking findings and exits 1. Resolve them, then make
# the plan again (pvc-resize plan ... --format text shows the whole plan).",
        env!("CARGO_PKG_VERSION"),
        plan.release,
        plan.namespace,
    );
    let mut lines = vec![format!(
        "pvc-resize: the plan for release {} is blocked; nothing was changed:",
        plan.release
    )];
    for f in plan.findings.iter().filter(|f| f.blocking) {
        lines.push(format!("  [{}] {}", f.id, f.message));
        if let Some(hint) = &f.hint {
            lines.push(format!("      hint: {hint}"));
        }
    }
    for line in lines {
        let _ = writeln!(o, "printf '%s\\n' {} >&2", shell_quote(&line));
    }
    let _ = writeln!(o, "exit 1");
    o
}

/// The header's variables (the names the logic in src/script/resize.sh reads).
fn data(o: &mut String, plan: &Plan, need: &ScriptInputs<'_>) {
    // The StatefulSet targets (claim templates re-created), then the plain PVCs (grown by the upgrade).
    let sts: Vec<&Target> = plan.targets.iter().filter(|t| t.is_statefulset()).collect();
    let plain: Vec<&Target> = plan.targets.iter().filter(|t| t.pvc.is_some()).collect();
    let operated: Vec<&Target> = plan.targets.iter().filter(|t| t.is_operator()).collect();
    assign(o, "RELEASE", &plan.release);
    assign(o, "NAMESPACE", &plan.namespace);
    assign(o, "CONTEXT", need.context);
    assign(o, "CHART", need.chart);
    assign(o, "CHART_NAME", need.chart_name);
    assign(o, "CHART_VERSION", need.version);
    assign(o, "VALUES_FILE", &need.values.file);
    assign(o, "VALUES_PATH", &need.values.path);
    array(o, "VALUES_PATHS", &need.values.paths);
    array(
        o,
        "TARGET_VALUES_PATHS",
        sts.iter()
            .map(|t| t.values_path.as_deref().unwrap_or(&need.values.path)),
    );
    if let Some(class) = &plan.attributes_class {
        assign(o, "ATTRIBUTES_CLASS", class);
        array(o, "CLASS_PATHS", &need.values.class_paths);
    }
    assign(o, "SIZE", &plan.size.text);
    assign(o, "SIZE_BYTES", &need.bytes.to_string());
    assign(o, "CLAIM", sts.first().map_or("data", |t| t.claim.as_str()));
    assign(o, "WORK_DIR", &plan.work_dir);
    statefulset_data(o, &sts);
    pvc_data(o, &sts);
    plain_data(o, &plain, need);
    operator_data(o, &operated, need);
    array(o, "UPGRADE", &need.upgrade.argv);
    array(o, "UPGRADE_DRY_RUN", &need.dry_run.argv);
    step_data(o, plan);
    fallback_data(o, plan);
}

/// The header's arrays of what each StatefulSet is: its name, replicas (live and rendered), the
/// render's history limit, its first ordinal, how it grows (see [`kruise_data`]), and the
/// container and path that mount the claim.
fn statefulset_data(o: &mut String, sts: &[&Target]) {
    let names: Vec<&str> = sts.iter().map(|t| t.statefulset.as_str()).collect();
    array(o, "STATEFULSETS", &names);
    array(o, "REPLICAS", sts.iter().map(|t| t.replicas.to_string()));
    array(
        o,
        "RENDER_REPLICAS",
        sts.iter().map(|t| t.render_replicas.to_string()),
    );
    array(
        o,
        "RENDER_HISTORY_LIMITS",
        sts.iter().map(|t| t.render_history_limit.to_string()),
    );
    array(
        o,
        "ORDINALS_START",
        sts.iter().map(|t| t.ordinals_start.to_string()),
    );
    kruise_data(o, sts);
    array(
        o,
        "CONTAINERS",
        sts.iter().map(|t| t.container.as_deref().unwrap_or("")),
    );
    array(
        o,
        "MOUNTS",
        sts.iter().map(|t| t.mount_path.as_deref().unwrap_or("/")),
    );
}

/// The header's arrays of the StatefulSets' existing PVCs: each one's name, pod, StatefulSet (an
/// index into `STATEFULSETS`) and whether its ordinal is among the replicas.
fn pvc_data(o: &mut String, sts: &[&Target]) {
    let pvcs: Vec<(
        usize,
        &crate::commands::plan::Pvc,
        crate::k8s::objects::Ordinals,
    )> = sts
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            t.pvcs
                .iter()
                .filter(|p| p.state != "missing")
                .map(move |p| (i, p, t.ordinals()))
        })
        .collect();
    array(o, "PVCS", pvcs.iter().map(|(_, p, _)| p.name.as_str()));
    array(o, "PVC_PODS", pvcs.iter().map(|(_, p, _)| p.pod.as_str()));
    array(o, "PVC_STS", pvcs.iter().map(|(i, _, _)| i.to_string()));
    array(
        o,
        "PVC_IN_REPLICAS",
        pvcs.iter()
            .map(|(_, p, r)| u8::from(r.contains(p.ordinal)).to_string()),
    );
}

/// The header's arrays of the plan's steps: the preflight's checks, each step's id and title.
fn step_data(o: &mut String, plan: &Plan) {
    let checks = plan
        .steps
        .iter()
        .find(|s| s.id == "preflight")
        .map_or(&[][..], |s| s.checks.as_slice());
    array(o, "PREFLIGHT", checks.iter().map(|c| c.id));
    array(o, "STEPS", plan.steps.iter().map(|s| s.id));
    array(
        o,
        "STEP_TITLES",
        plan.steps.iter().map(|s| s.title.as_str()),
    );
}

/// Why there is no scale-to-zero fallback (`NO_FALLBACK`, empty when there is one): the header
/// refuses the flag, and an attached-disk refusal says what to do instead.
fn fallback_data(o: &mut String, plan: &Plan) {
    let why = if plan.fallback_offered {
        ""
    } else {
        no_fallback(plan)
    };
    let _ = writeln!(o, "NO_FALLBACK={}", quoted(why));
    if !plan.fallback_offered {
        let _ = writeln!(
            o,
            "if [ \"${{1:-}}\" = --fallback-scale-to-zero ]; then echo \"pvc-resize: no fallback: $NO_FALLBACK\" >&2; exit 1; fi"
        );
    }
}

/// Why the plan offers no scale-to-zero fallback.
fn no_fallback(plan: &Plan) -> &'static str {
    if plan.targets.iter().any(|t| t.kruise.is_some()) {
        "an Advanced StatefulSet (OpenKruise) is updated in place and its PVCs grow after the upgrade, which the fallback (PVCs grown at 0 replicas before the upgrade) does not do"
    } else if plan.targets.iter().all(Target::is_statefulset) {
        "a StatefulSet has whenScaled: Delete, which would delete the PVCs on scale-down"
    } else if plan.targets.iter().any(Target::is_operator) {
        "it scales StatefulSets to 0, and the hosts of an operator (and the workloads of the PVCs the chart renders) are not scaled by this script"
    } else {
        "it scales StatefulSets to 0, and the workloads of the PVCs the chart renders are not scaled by this script"
    }
}

/// The header's arrays of what each StatefulSet is: the resource kubectl names it by, and for an
/// OpenKruise Advanced StatefulSet who grows its PVCs (`controller`, `script`; empty for apps/v1),
/// its rendered volumeClaimUpdateStrategy and the claim template's index (the preflight's dry runs).
fn kruise_data(o: &mut String, sts: &[&Target]) {
    fn k<'t>(t: &&'t Target) -> Option<&'t crate::commands::plan::kruise::Kruise> {
        t.kruise.as_ref()
    }
    array(
        o,
        "STS_RESOURCES",
        sts.iter().map(|t| {
            if t.kruise.is_some() {
                crate::commands::plan::kruise::RESOURCE
            } else {
                "statefulset"
            }
        }),
    );
    array(
        o,
        "STS_KRUISE",
        sts.iter().map(|t| k(t).map_or("", |k| k.pvcs_by)),
    );
    array(
        o,
        "STS_STRATEGIES",
        sts.iter().map(|t| k(t).map_or("", |k| k.strategy.as_str())),
    );
    array(
        o,
        "STS_CLAIM_INDEX",
        sts.iter()
            .map(|t| k(t).map_or(0, |k| k.claim_index).to_string()),
    );
}

/// The header's arrays of the PVCs the chart renders itself (grown by the upgrade; verified through
/// the workload that mounts each).
fn plain_data(o: &mut String, plain: &[&Target], need: &ScriptInputs<'_>) {
    array(o, "PLAIN_PVCS", plain.iter().map(|t| t.name()));
    array(
        o,
        "PLAIN_WORKLOADS",
        plain.iter().map(|t| t.workload.as_deref().unwrap_or("")),
    );
    array(
        o,
        "PLAIN_CONTAINERS",
        plain.iter().map(|t| t.container.as_deref().unwrap_or("")),
    );
    array(
        o,
        "PLAIN_MOUNTS",
        plain.iter().map(|t| t.mount_path.as_deref().unwrap_or("/")),
    );
    array(
        o,
        "PLAIN_VALUES_PATHS",
        plain
            .iter()
            .map(|t| t.values_path.as_deref().unwrap_or(&need.values.path)),
    );
}

/// The header's arrays of the custom resources' claim templates (grown by their operator after the
/// upgrade; their PVCs found by label when the script runs, named `<template>-<pod>`).
fn operator_data(o: &mut String, operated: &[&Target], need: &ScriptInputs<'_>) {
    array(
        o,
        "OPERATOR_CLAIMS",
        operated
            .iter()
            .map(|t| format!("{}/{}", t.resource.as_deref().unwrap_or(""), t.claim)),
    );
    array(
        o,
        "OPERATOR_SELECTORS",
        operated.iter().map(|t| t.selector.as_deref().unwrap_or("")),
    );
    array(
        o,
        "OPERATOR_PVC_PREFIXES",
        operated.iter().map(|t| format!("{}-", t.claim)),
    );
    array(
        o,
        "OPERATOR_CONTAINERS",
        operated
            .iter()
            .map(|t| t.container.as_deref().unwrap_or("")),
    );
    array(
        o,
        "OPERATOR_MOUNTS",
        operated
            .iter()
            .map(|t| t.mount_path.as_deref().unwrap_or("")),
    );
    array(
        o,
        "OPERATOR_VALUES_PATHS",
        operated
            .iter()
            .map(|t| t.values_path.as_deref().unwrap_or(&need.values.path)),
    );
}

/// The step list as plain command lines (for tests and `--format text` consumers).
pub fn commands(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .flat_map(|s| s.commands.iter().map(command_line))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_data_is_always_single_quoted() {
        let mut o = String::new();
        assign(&mut o, "A", "pvc-resize-x");
        assign(&mut o, "B", "it's $(rm -rf /) `x` \\");
        array(&mut o, "C", ["-x y", "ü", ""]);
        assert_eq!(
            o,
            "A='pvc-resize-x'\nB='it'\\''s $(rm -rf /) `x` \\'\nC=('-x y' 'ü' '')\n"
        );
    }
}
