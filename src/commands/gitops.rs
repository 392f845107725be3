//! The resize procedure for releases that a GitOps controller upgrades: `plan --format flux`
//! and `plan --format argocd`. Both keep the plan's own steps (preflight, PVC patches, the
//! numeric wait, the fallback, the orphan delete, the verification) and replace its values edit
//! and `helm upgrade` with what the controller needs, between a stop and a restart of its
//! reconciliation.
//!
//! Flux runs no external post-renderer, only kustomize (`spec.postRenderers[].kustomize.patches`
//! of the HelmRelease), so the claim templates are grown there with a JSON 6902 patch per
//! StatefulSet (target by kind and name, a `test` of the claim's name before the `replace`, so a
//! chart that reorders its claim templates fails the reconcile instead of growing the wrong one).
//! The Flux output is one YAML document (a HelmRelease patch) whose comments are the steps, so it
//! can be saved as a file as it is.
//!
//! Argo CD has no post-renderer and cannot orphan-delete during a sync: automated syncs are
//! turned off around the manual steps and one `argocd app sync`.

use crate::commands::plan::render::command_line;
use crate::commands::plan::{Command, Plan, Step, Target};
use crate::k8s::release::{self, Filter, Release, Want};
use serde_json::Value;
use std::fmt::Write;

/// The index of claim template `claim` in StatefulSet `name` of a manifest stream (as the
/// release model reads it: inside a List too).
fn claim_index(manifests: &str, name: &str, claim: &str) -> Result<usize, String> {
    let want = Want {
        filter: Filter::of(&["StatefulSet", name]),
        ..Want::default()
    };
    let render = Release::read(manifests, &want)
        .map_err(|e| release::syntax_finding("manifests", &e).to_string())?;
    let Some((_, sts)) = render.statefulsets().find(|(o, _)| o.name == name) else {
        return Err(format!("no StatefulSet {name} in the manifests"));
    };
    sts.claims
        .iter()
        .position(|c| c.name == claim)
        .ok_or_else(|| format!("StatefulSet {name} has no claim template {claim:?}"))
}

/// A YAML double-quoted scalar (JSON's escaping is valid YAML).
fn quoted(s: &str) -> String {
    Value::from(s).to_string()
}

/// The `patches` entry that grows one target's claim template, indented for the HelmRelease.
fn patch_entry(t: &Target, index: usize) -> String {
    let at = format!("/spec/volumeClaimTemplates/{index}");
    let mut entry = format!(
        "          - target:\n              kind: StatefulSet\n              name: {}\n            patch: |\n              - op: test\n                path: {at}/metadata/name\n                value: {}\n              - op: replace\n                path: {at}/spec/resources/requests/storage\n                value: {}\n",
        quoted(&t.statefulset),
        quoted(&t.claim),
        quoted(&t.new.text)
    );
    // `add` sets the class whether the template has one or not (RFC 6902: an existing member
    // is replaced).
    if let Some(c) = &t.attributes_class {
        let _ = write!(
            entry,
            "              - op: add\n                path: {at}/spec/volumeAttributesClassName\n                value: {}\n",
            quoted(&c.to)
        );
    }
    entry
}

/// One numbered step as YAML comments.
fn comment_step(out: &mut String, n: usize, title: &str, detail: &str, commands: &[String]) {
    let _ = writeln!(out, "#\n# {n}. {title}");
    if !detail.is_empty() {
        for line in wrap(detail, 96) {
            let _ = writeln!(out, "#    {line}");
        }
    }
    for c in commands {
        let _ = writeln!(out, "#      {c}");
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if !last.is_empty() && last.len() + word.len() >= width {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// A step's title or detail for a person who runs it by hand (these runbooks): the plan's texts
/// are also the script's, and name it and its flag. (tests/gitops.rs checks that no "script" and
/// no `--fallback-scale-to-zero` is left in either runbook.)
fn by_hand(text: &str) -> String {
    const SAID: &[(&str, &str)] = &[
        (
            "FALLBACK ONLY (--fallback-scale-to-zero)",
            "FALLBACK ONLY (a cloud that can't grow an attached disk)",
        ),
        (
            "On AWS EBS the script says first that a volume can be modified once every 6 hours.",
            "On AWS EBS a volume can be modified once every 6 hours: a second change within that window fails (VolumeModificationRateExceeded).",
        ),
        (
            "A ControllerResizeError stops the script: an attached-disk refusal points to --fallback-scale-to-zero;",
            "On a ControllerResizeError, stop: an attached-disk refusal needs the fallback branch (scale to 0 before the patches, back after the wait);",
        ),
    ];
    SAID.iter()
        .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
}

fn step_commands(s: &Step) -> Vec<String> {
    s.commands.iter().map(command_line).collect()
}

/// A step the controller needs instead of one of the plan's.
struct Replacement {
    title: String,
    detail: String,
    commands: Vec<String>,
}

/// The plan's steps as numbered comments, with `first` before them, the values edit and the
/// upgrade replaced, and `last` after the upgrade; `recreator` (what re-creates the StatefulSet
/// after the orphan delete) named in that step.
fn procedure(
    out: &mut String,
    plan: &Plan,
    recreator: &str,
    first: Replacement,
    values: Replacement,
    upgrade: Replacement,
    last: Option<Replacement>,
) {
    let mut n = 1;
    comment_step(out, n, &first.title, &first.detail, &first.commands);
    let mut last = last;
    // The controller upgrades: the plan's helm commands (its dry run, the upgrade) are left out.
    let kubectl_only = |cs: &[Command]| -> Vec<String> {
        cs.iter()
            .filter(|c| c.argv[0] != "helm")
            .map(command_line)
            .collect()
    };
    for s in &plan.steps {
        let (title, detail, commands) = match s.id {
            "preflight" => (
                s.title.clone(),
                s.detail.clone(),
                s.checks
                    .iter()
                    .flat_map(|c| kubectl_only(&c.commands))
                    .collect(),
            ),
            "values" => (
                values.title.clone(),
                values.detail.clone(),
                values.commands.clone(),
            ),
            "replace-statefulsets" => (
                "Delete the StatefulSet objects only (pods and PVCs stay)".to_owned(),
                format!(
                    "volumeClaimTemplates are immutable; {recreator} re-creates the StatefulSet with the new template, and it adopts the running pods."
                ),
                kubectl_only(&s.commands),
            ),
            _ => (by_hand(&s.title), by_hand(&s.detail), step_commands(s)),
        };
        n += 1;
        let title = if s.branch == "main" {
            title
        } else {
            format!("({} branch) {title}", s.branch)
        };
        comment_step(out, n, &title, &detail, &commands);
        // The plan's upgrade follows its orphan delete in the same step: the controller's here.
        if s.id == "replace-statefulsets" {
            n += 1;
            comment_step(out, n, &upgrade.title, &upgrade.detail, &upgrade.commands);
            if let Some(l) = last.take() {
                n += 1;
                comment_step(out, n, &l.title, &l.detail, &l.commands);
            }
        }
    }
}

/// The blocking findings as comments; true when there are any (then nothing is to be applied).
fn blocking(out: &mut String, plan: &Plan, what: &str) -> bool {
    if !plan.blocking {
        return false;
    }
    let _ = writeln!(
        out,
        "#\n# BLOCKING: no {what} is printed until these are fixed:"
    );
    for f in plan.findings.iter().filter(|f| f.blocking) {
        for line in wrap(&format!("[{}] {}", f.id, f.message), 96) {
            let _ = writeln!(out, "#   {line}");
        }
        if let Some(hint) = &f.hint {
            let _ = writeln!(out, "#   hint: {hint}");
        }
    }
    true
}

fn cli(words: &[&str]) -> String {
    command_line(&Command {
        argv: words.iter().map(|w| (*w).to_owned()).collect(),
        mutating: true,
    })
}

fn grown(plan: &Plan) -> String {
    plan.targets
        .iter()
        .map(|t| format!("{}/{}", t.statefulset, t.claim))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Flux form of a plan: a HelmRelease patch with `spec.postRenderers`, and the procedure
/// around it as comments. `manifests` is the render the plan was made from.
pub fn flux(plan: &Plan, manifests: &str) -> Result<String, String> {
    let (r, ns) = (plan.release.as_str(), plan.namespace.as_str());
    // The flux CLI acts on a kube context too: pinned like every kubectl command of the plan.
    let context = format!(
        "--context={}",
        plan.kube_context.as_deref().unwrap_or("CONTEXT")
    );
    let namespace = format!("--namespace={ns}");
    let flux_cmd = |words: &[&str]| {
        let mut argv = vec!["flux", context.as_str(), namespace.as_str()];
        argv.extend_from_slice(words);
        cli(&argv)
    };
    let mut out = format!(
        "# pvc-resize plan --format flux: grow {} in the Flux HelmRelease {r} (namespace {ns})\n\
         # to {}. Flux's helm-controller runs kustomize post-renderers only; the patch below grows\n\
         # the claim templates at render time. If the HelmRelease already has spec.postRenderers,\n\
         # add the `kustomize.patches` entries to it (a list in a patch replaces the whole list).\n\
         # The HelmRelease is assumed to be named like the Helm release; use its own name if it\n\
         # sets spec.releaseName. Steps, in order:\n",
        grown(plan),
        plan.size.text
    );
    if blocking(&mut out, plan, "patch") {
        return Ok(out);
    }
    procedure(
        &mut out,
        plan,
        "Flux's upgrade after the resume",
        Replacement {
            title: "Stop Flux from reconciling (and re-creating) the release while the PVCs are changed".into(),
            detail: String::new(),
            commands: vec![flux_cmd(&["suspend", "helmrelease", r])],
        },
        Replacement {
            title: "Commit and push the HelmRelease change: this patch under spec.postRenderers (or the new size in spec.values / the values file it reads)".into(),
            detail: "Flux is suspended, so nothing happens yet.".into(),
            commands: Vec::new(),
        },
        Replacement {
            title: "Resume: Flux reconciles at once, the upgrade re-creates the StatefulSet with the grown claim templates, and it adopts the running pods".into(),
            detail: format!("Then check the release: {}", flux_cmd(&["get", "helmrelease", r])),
            commands: vec![flux_cmd(&["resume", "helmrelease", r])],
        },
        None,
    );
    out.push_str(&format!(
        "#\n# Once the values carry the new size, the patch is a no-op and can be removed.\n\
         apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {}\n  namespace: {}\n\
         spec:\n  postRenderers:\n    - kustomize:\n        patches:\n",
        quoted(r),
        quoted(ns)
    ));
    for t in &plan.targets {
        out.push_str(&patch_entry(
            t,
            claim_index(manifests, &t.statefulset, &t.claim)?,
        ));
    }
    Ok(out)
}

/// The Argo CD form of a plan: the manual steps around one sync, as comments (a runbook).
/// The Application is assumed to be named like the release.
pub fn argocd(plan: &Plan) -> String {
    let (r, ns) = (plan.release.as_str(), plan.namespace.as_str());
    let mut out = format!(
        "# pvc-resize plan --format argocd: grow {} of the Argo CD Application {r} to {}.\n\
         # A sync cannot delete a StatefulSet with --cascade=orphan, and a sync of the bigger claim\n\
         # template fails with `spec: Forbidden`: these steps go around one sync. The Application is\n\
         # assumed to be named like the release (namespace {ns}); use its own name otherwise.\n",
        grown(plan),
        plan.size.text
    );
    if blocking(&mut out, plan, "procedure") {
        return out;
    }
    let sts: Vec<&str> = plan
        .targets
        .iter()
        .map(|t| t.statefulset.as_str())
        .collect();
    let mut sync = vec!["argocd", "app", "sync", r];
    let resources: Vec<String> = sts
        .iter()
        .map(|s| format!("apps:StatefulSet:{s}"))
        .collect();
    for res in &resources {
        sync.extend(["--resource", res]);
    }
    let values_cmds = plan
        .steps
        .iter()
        .find(|s| s.id == "values")
        .map(step_commands)
        .unwrap_or_default();
    procedure(
        &mut out,
        plan,
        "the sync",
        Replacement {
            title: "Turn automated syncs off: self-heal would re-create the StatefulSet with the old claim template right after the orphan delete".into(),
            detail: "Note the current policy (argocd app get) to restore it at the end.".into(),
            commands: vec![cli(&["argocd", "app", "set", r, "--sync-policy", "none"])],
        },
        Replacement {
            title: "Set the new size in the values Argo CD reads (in the Git checkout), commit and push; don't sync yet".into(),
            detail: "With the size in the Application itself (spec.source.helm.values or valuesObject), change it there instead.".into(),
            commands: values_cmds,
        },
        Replacement {
            title: "Sync the StatefulSet: Argo CD creates it with the grown claim template, and it adopts the running pods".into(),
            detail: "A full `argocd app sync` does the same for the whole application.".into(),
            commands: vec![cli(&sync)],
        },
        Some(Replacement {
            title: "Turn automated syncs back on (add --self-heal / --auto-prune if the Application had them)".into(),
            detail: String::new(),
            commands: vec![cli(&["argocd", "app", "set", r, "--sync-policy", "automated"])],
        }),
    );
    out
}
