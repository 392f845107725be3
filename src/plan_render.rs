//! Turns a [`Plan`] into text (terminal), markdown (a PR comment), JSON and a bash script.

use crate::plan::{Command, Plan, Step, Target};
use crate::quantity::group;
use std::fmt::Write;

/// Quotes one word for bash: as it is when it only has safe characters, else in single quotes.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

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
                "Resize plan: release {} in namespace {}, to {}",
                plan.release, plan.namespace, plan.size.text
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
    for f in &plan.findings {
        let label = match f.severity {
            "blocking" => style.paint("1;31", "BLOCKING"),
            "warning" => style.paint("33", "warning"),
            _ => style.paint("36", "info"),
        };
        let _ = writeln!(o, "  {label} [{}] {}", f.code, f.message);
        if let Some(fix) = &f.fix {
            let _ = writeln!(o, "      fix: {fix}");
        }
    }
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
    for (i, s) in plan.steps.iter().enumerate() {
        let marker = if s.branch == "fallback" {
            style.paint("1;33", " [fallback branch]")
        } else {
            String::new()
        };
        let _ = writeln!(o, "\n{}. {}{marker}", i + 1, style.paint("1", &s.title));
        let _ = writeln!(o, "   {}", s.detail);
        for c in &s.commands {
            let _ = writeln!(o, "   $ {}", command_line(c));
        }
    }
    if !plan.steps.is_empty() && !plan.fallback_offered {
        let _ = writeln!(
            o,
            "\n(No scale-to-zero fallback: a StatefulSet has whenScaled: Delete, which would delete the PVCs.)"
        );
    }
    let _ = writeln!(o, "\nRollback notes:");
    for r in &plan.rollback {
        let _ = writeln!(o, "  - {r}");
    }
    diffs(&mut o, plan, "");
    o
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
        "## Resize plan: `{}` in `{}` to `{}`\n",
        plan.release, plan.namespace, plan.size.text
    );
    let _ = writeln!(
        o,
        "| StatefulSet | replicas | claim | from | to | PVCs | mount | values path |"
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
            t.statefulset,
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
    let _ = writeln!(o, "\n### Preflight\n");
    for f in &plan.findings {
        let icon = match f.severity {
            "blocking" => "**BLOCKING**",
            "warning" => "warning",
            _ => "info",
        };
        let _ = write!(
            o,
            "- {icon} `{}`: {}",
            f.code,
            f.message.replace('|', "\\|")
        );
        match &f.fix {
            Some(fix) => {
                let _ = writeln!(o, " Fix: `{fix}`");
            }
            None => o.push('\n'),
        }
    }
    if plan.blocking {
        let _ = writeln!(
            o,
            "\n**A blocking finding stops the plan: no steps until it is resolved.**"
        );
    }
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
        if !s.commands.is_empty() {
            let _ = writeln!(o, "   ```sh");
            for c in &s.commands {
                let _ = writeln!(o, "   {}", command_line(c));
            }
            let _ = writeln!(o, "   ```\n");
        }
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

/// The JSON format (`schema/plan.schema.json`).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("the plan serialises") + "\n"
}

/// The bash script: preflight checks before any change, idempotent steps, a bounded wait, and
/// the fallback only behind `--fallback-scale-to-zero`.
pub fn script(plan: &Plan) -> Result<String, String> {
    if plan.blocking {
        return Err(
            "the plan has a blocking finding; no script is written (see --format text)".to_owned(),
        );
    }
    let values = plan
        .values
        .as_ref()
        .ok_or("--format script needs --values FILE (the script changes it)")?;
    let chart = plan
        .chart
        .as_deref()
        .ok_or("--format script needs --chart REF (for helm upgrade)")?;
    let q = |s: &str| shell_quote(s);
    let mut o = String::new();
    let names: Vec<&str> = plan
        .targets
        .iter()
        .map(|t| t.statefulset.as_str())
        .collect();
    let _ = writeln!(o, "#!/usr/bin/env bash");
    let _ = writeln!(
        o,
        "# Generated by pvc-resize {}: grow {} of release {} (namespace {}) to {}.",
        env!("CARGO_PKG_VERSION"),
        names.join(", "),
        plan.release,
        plan.namespace,
        plan.size.text
    );
    let _ = writeln!(
        o,
        "# Review it before running. Re-running after a failure resumes: finished steps are skipped."
    );
    let _ = writeln!(o, "# Usage: bash THIS_SCRIPT [--fallback-scale-to-zero]");
    let _ = writeln!(
        o,
        "#   --fallback-scale-to-zero  scale the StatefulSets to 0 around the resize, for clouds that"
    );
    let _ = writeln!(
        o,
        "#                             can't grow an attached disk (brokers are down meanwhile)"
    );
    let _ = writeln!(o, "set -euo pipefail\n");
    let _ = writeln!(o, "NS={}", q(&plan.namespace));
    let _ = writeln!(o, "SIZE={}", q(&plan.size.text));
    let _ = writeln!(o, "SIZE_BYTES={}", plan.size.bytes.unwrap_or(0));
    let _ = writeln!(o, "WAIT_SECONDS=\"${{PVC_RESIZE_WAIT_SECONDS:-900}}\"");
    let _ = writeln!(o, "POLL_SECONDS=\"${{PVC_RESIZE_POLL_SECONDS:-10}}\"");
    let _ = writeln!(o, "FALLBACK=0");
    let _ = writeln!(o, "case \"${{1:-}}\" in");
    let _ = writeln!(o, "  --fallback-scale-to-zero) FALLBACK=1 ;;");
    let _ = writeln!(o, "  \"\") ;;");
    let _ = writeln!(
        o,
        "  *) echo \"usage: $0 [--fallback-scale-to-zero]\" >&2; exit 2 ;;"
    );
    let _ = writeln!(o, "esac");
    if !plan.fallback_offered {
        let _ = writeln!(o, "if [ \"$FALLBACK\" = 1 ]; then");
        let _ = writeln!(
            o,
            "  echo 'pvc-resize: no fallback: whenScaled: Delete would delete the PVCs on scale-down' >&2; exit 1"
        );
        let _ = writeln!(o, "fi");
    }
    o.push_str(SCRIPT_FUNCTIONS);

    // Preflight: read-only checks, all before the first change.
    let _ = writeln!(
        o,
        "\nlog 'preflight: tools, storage classes, PVCs, retention policy'"
    );
    let _ = writeln!(
        o,
        "for tool in kubectl helm pvc-resize; do command -v \"$tool\" >/dev/null || die \"$tool is not on PATH\"; done"
    );
    let _ = writeln!(
        o,
        "[ -f {} ] || die {}",
        q(&values.file),
        q(&format!("values file {} not found", values.file))
    );
    for t in &plan.targets {
        let sts = q(&t.statefulset);
        let _ = writeln!(
            o,
            "when_scaled=$(kubectl -n \"$NS\" get statefulset {sts} -o jsonpath='{{.spec.persistentVolumeClaimRetentionPolicy.whenScaled}}' 2>/dev/null || true)"
        );
        let _ = writeln!(
            o,
            "if [ \"$FALLBACK\" = 1 ] && [ \"$when_scaled\" = Delete ]; then die {}; fi",
            q(&format!(
                "{} has whenScaled: Delete; scaling it to 0 would delete its PVCs",
                t.statefulset
            ))
        );
        for p in t.pvcs.iter().filter(|p| p.patch) {
            let _ = writeln!(o, "preflight_pvc {}", q(&p.name));
        }
    }

    let _ = writeln!(o, "\nif [ \"$FALLBACK\" = 1 ]; then");
    for t in &plan.targets {
        let _ = writeln!(
            o,
            "  log {}",
            q(&format!("fallback: scaling {} to 0", t.statefulset))
        );
        let _ = writeln!(
            o,
            "  kubectl -n \"$NS\" scale statefulset {} --replicas=0",
            q(&t.statefulset)
        );
        for p in t.pvcs.iter().filter(|p| p.ordinal < t.replicas) {
            let _ = writeln!(
                o,
                "  kubectl -n \"$NS\" wait --for=delete {} --timeout=\"${{WAIT_SECONDS}}s\"",
                q(&format!("pod/{}", p.pod))
            );
        }
    }
    let _ = writeln!(o, "fi");

    let _ = writeln!(o, "\nlog \"growing the PVCs to $SIZE\"");
    for p in plan
        .targets
        .iter()
        .flat_map(|t| t.pvcs.iter().filter(|p| p.patch))
    {
        let _ = writeln!(o, "grow_pvc {}", q(&p.name));
    }
    for p in plan
        .targets
        .iter()
        .flat_map(|t| t.pvcs.iter().filter(|p| p.patch))
    {
        let _ = writeln!(o, "wait_pvc {}", q(&p.name));
    }

    let _ = writeln!(o, "\nif [ \"$FALLBACK\" = 1 ]; then");
    for t in &plan.targets {
        let _ = writeln!(
            o,
            "  kubectl -n \"$NS\" scale statefulset {} --replicas={}",
            q(&t.statefulset),
            t.replicas
        );
    }
    let _ = writeln!(o, "fi");

    let _ = writeln!(
        o,
        "\nlog 'deleting the StatefulSet objects (pods and PVCs stay)'"
    );
    for t in &plan.targets {
        let _ = writeln!(o, "orphan_delete {} {}", q(&t.statefulset), q(&t.claim));
    }

    let _ = writeln!(
        o,
        "\nlog {}",
        q(&format!("setting {} in {}", values.path, values.file))
    );
    let _ = writeln!(
        o,
        "pvc-resize values {} --size \"$SIZE\" --path {} --write",
        q(&values.file),
        q(&values.path)
    );

    let _ = writeln!(o, "\nlog 'helm upgrade'");
    let _ = writeln!(
        o,
        "helm upgrade {} {} -n \"$NS\" -f {}",
        q(&plan.release),
        q(chart),
        q(&values.file)
    );

    let _ = writeln!(o, "\nlog 'verify'");
    for t in &plan.targets {
        for p in t.pvcs.iter().filter(|p| p.ordinal < t.replicas) {
            let container = t
                .container
                .as_deref()
                .map(|c| format!(" -c {}", q(c)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "kubectl -n \"$NS\" wait --for=condition=Ready {} --timeout=\"${{WAIT_SECONDS}}s\"",
                q(&format!("pod/{}", p.pod))
            );
            let _ = writeln!(
                o,
                "kubectl -n \"$NS\" exec {}{container} -- df -h {}",
                q(&p.pod),
                q(t.mount_path.as_deref().unwrap_or("/"))
            );
        }
    }
    let _ = writeln!(o, "log 'done'");
    Ok(o)
}

/// The script's helpers: byte conversion of quantities (integers with a suffix, as the API prints
/// capacities), the idempotent patch and the bounded, numeric wait.
const SCRIPT_FUNCTIONS: &str = r#"
log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'pvc-resize: %s\n' "$*" >&2; exit 1; }

# Bytes of a quantity such as 50Gi, 20G or 53687091200; fails on anything else.
to_bytes() {
  local q="$1" n unit
  [[ "$q" =~ ^([0-9]+)([KMGTPE]i|[kMGTPE])?$ ]] || return 1
  n="${BASH_REMATCH[1]}"; unit="${BASH_REMATCH[2]}"
  case "$unit" in
    "") echo "$n" ;;
    Ki) echo $((n << 10)) ;; Mi) echo $((n << 20)) ;; Gi) echo $((n << 30)) ;;
    Ti) echo $((n << 40)) ;; Pi) echo $((n << 50)) ;; Ei) echo $((n << 60)) ;;
    k) echo $((n * 1000)) ;; M) echo $((n * 1000000)) ;; G) echo $((n * 1000000000)) ;;
    T) echo $((n * 1000000000000)) ;; P) echo $((n * 1000000000000000)) ;;
    E) echo $((n * 1000000000000000000)) ;;
  esac
}

pvc_field() { kubectl -n "$NS" get pvc "$1" -o "jsonpath=$2"; }

# Read-only: the PVC exists, is Bound, and its StorageClass allows expansion.
preflight_pvc() {
  local pvc="$1" phase class expand
  phase=$(pvc_field "$pvc" '{.status.phase}') || die "PVC $pvc not found in namespace $NS"
  [ "$phase" = Bound ] || die "PVC $pvc is $phase, not Bound"
  class=$(pvc_field "$pvc" '{.spec.storageClassName}')
  [ -n "$class" ] || die "PVC $pvc has no storageClassName"
  expand=$(kubectl get storageclass "$class" -o 'jsonpath={.allowVolumeExpansion}') || die "StorageClass $class not found"
  [ "$expand" = true ] || die "StorageClass $class does not allow volume expansion (allowVolumeExpansion: ${expand:-unset})"
}

# Patches the request unless it is already at least SIZE (so a re-run skips it).
grow_pvc() {
  local pvc="$1" current bytes
  current=$(pvc_field "$pvc" '{.spec.resources.requests.storage}')
  bytes=$(to_bytes "$current") || die "PVC $pvc requests $current, which this script can't compare"
  if [ "$bytes" -ge "$SIZE_BYTES" ]; then
    log "$pvc already requests $current: skipped"
    return 0
  fi
  kubectl -n "$NS" patch pvc "$pvc" -p "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"$SIZE\"}}}}"
}

# Deletes the StatefulSet object (pods and PVCs stay) unless it is gone already or its claim
# template already asks for SIZE (re-created by an earlier run's upgrade).
orphan_delete() {
  local sts="$1" claim="$2" template bytes
  if ! kubectl -n "$NS" get statefulset "$sts" >/dev/null 2>&1; then
    log "statefulset $sts is already deleted"
    return 0
  fi
  template=$(kubectl -n "$NS" get statefulset "$sts" -o "jsonpath={.spec.volumeClaimTemplates[?(@.metadata.name==\"$claim\")].spec.resources.requests.storage}")
  if bytes=$(to_bytes "$template") && [ "$bytes" -ge "$SIZE_BYTES" ]; then
    log "statefulset $sts already has a $template claim template: kept"
    return 0
  fi
  kubectl -n "$NS" delete statefulset "$sts" --cascade=orphan
}

# Waits until status.capacity is at least SIZE, compared in bytes (clouds round sizes up).
wait_pvc() {
  local pvc="$1" waited=0 capacity bytes
  while :; do
    capacity=$(pvc_field "$pvc" '{.status.capacity.storage}')
    if bytes=$(to_bytes "$capacity") && [ "$bytes" -ge "$SIZE_BYTES" ]; then
      log "$pvc has $capacity"
      return 0
    fi
    # Offline expansion: the disk has grown, the filesystem grows when a pod mounts it.
    if [[ " $(pvc_field "$pvc" '{.status.conditions[*].type}') " == *" FileSystemResizePending "* ]]; then
      log "$pvc: disk grown, the filesystem grows when the pod starts (FileSystemResizePending)"
      return 0
    fi
    [ "$waited" -lt "$WAIT_SECONDS" ] || die "PVC $pvc still has ${capacity:-no capacity} after ${WAIT_SECONDS}s; see kubectl -n $NS describe pvc $pvc"
    sleep "$POLL_SECONDS"
    waited=$((waited + POLL_SECONDS))
  done
}
"#;

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
    fn quoting() {
        assert_eq!(shell_quote("posthog"), "posthog");
        assert_eq!(shell_quote("x;rm -rf /"), "'x;rm -rf /'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("{\"a\":1}"), "'{\"a\":1}'");
    }
}
