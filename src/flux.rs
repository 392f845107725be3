//! `plan --format flux`: the resize for a release that Flux's helm-controller manages.
//!
//! Flux runs no external post-renderer, only kustomize (`spec.postRenderers[].kustomize.patches`
//! of the HelmRelease), so the claim templates are grown there with a JSON 6902 patch per
//! StatefulSet (target by kind and name, a `test` of the claim's name before the `replace`, so a
//! chart that reorders its claim templates fails the reconcile instead of growing the wrong one).
//! The PVC patches and the orphan delete happen out of band, between `flux suspend` and
//! `flux resume`. The output is one YAML document (a HelmRelease patch) whose comments are the
//! steps, so it can be saved as a file as it is.

use crate::plan::{Command, Plan, Step, Target};
use crate::plan_render::command_line;
use crate::{stream, validate};
use serde_json::Value;
use std::fmt::Write;

/// The index of claim template `claim` in StatefulSet `name` of a manifest stream.
fn claim_index(manifests: &str, name: &str, claim: &str) -> Result<usize, String> {
    for chunk in stream::split(manifests) {
        let doc = &manifests[chunk.range.clone()];
        if !stream::has_content(doc) || !doc.contains("StatefulSet") || !doc.contains(name) {
            continue;
        }
        let (json, _) = validate::parse_document("manifests", doc, chunk.range.start, chunk.line)?;
        if json["kind"] != "StatefulSet" || json["metadata"]["name"] != name {
            continue;
        }
        let claims = json
            .pointer("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        return claims
            .iter()
            .position(|c| c.pointer("/metadata/name") == Some(&Value::from(claim)))
            .ok_or_else(|| format!("StatefulSet {name} has no claim template {claim:?}"));
    }
    Err(format!("no StatefulSet {name} in the manifests"))
}

/// A YAML double-quoted scalar (JSON's escaping is valid YAML).
fn quoted(s: &str) -> String {
    Value::from(s).to_string()
}

/// The `patches` entry that grows one target's claim template, indented for the HelmRelease.
fn patch_entry(t: &Target, index: usize) -> String {
    let at = format!("/spec/volumeClaimTemplates/{index}");
    format!(
        "          - target:\n              kind: StatefulSet\n              name: {}\n            patch: |\n              - op: test\n                path: {at}/metadata/name\n                value: {}\n              - op: replace\n                path: {at}/spec/resources/requests/storage\n                value: {}\n",
        quoted(&t.statefulset),
        quoted(&t.claim),
        quoted(&t.new.text)
    )
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

fn step_commands(s: &Step) -> Vec<String> {
    s.commands.iter().map(command_line).collect()
}

/// The Flux form of a plan: a HelmRelease patch with `spec.postRenderers`, and the procedure
/// around it as comments. `manifests` is the render the plan was made from.
pub fn render(plan: &Plan, manifests: &str) -> Result<String, String> {
    let (r, ns) = (&plan.release, &plan.namespace);
    let flux = |verb: &str| {
        command_line(&Command {
            argv: ["flux", verb, "helmrelease", r, "-n", ns]
                .map(str::to_owned)
                .to_vec(),
            mutating: true,
        })
    };
    let mut out = format!(
        "# pvc-resize plan --format flux: grow {} in the Flux HelmRelease {r} (namespace {ns})\n\
         # to {}. Flux's helm-controller runs kustomize post-renderers only; the patch below grows\n\
         # the claim templates at render time. If the HelmRelease already has spec.postRenderers,\n\
         # add the `kustomize.patches` entries to it (a list in a patch replaces the whole list).\n\
         # The HelmRelease is assumed to be named like the Helm release; use its own name if it\n\
         # sets spec.releaseName. Steps, in order:\n",
        plan.targets
            .iter()
            .map(|t| format!("{}/{}", t.statefulset, t.claim))
            .collect::<Vec<_>>()
            .join(", "),
        plan.size.text
    );
    if plan.blocking {
        out.push_str("#\n# BLOCKING: no patch is printed until these are fixed:\n");
        for f in plan.findings.iter().filter(|f| f.severity == "blocking") {
            for line in wrap(&format!("[{}] {}", f.code, f.message), 96) {
                let _ = writeln!(out, "#   {line}");
            }
            if let Some(fix) = &f.fix {
                let _ = writeln!(out, "#   fix: {fix}");
            }
        }
        return Ok(out);
    }
    let mut n = 1;
    comment_step(
        &mut out,
        n,
        "Stop Flux from reconciling (and re-creating) the release while the PVCs are changed",
        "",
        &[flux("suspend")],
    );
    for s in &plan.steps {
        let commands = step_commands(s);
        let (title, detail) = match s.id {
            "values" => (
                "Commit and push the HelmRelease change: this patch under spec.postRenderers (or the new size in spec.values / the values file it reads)".to_owned(),
                "Flux is suspended, so nothing happens yet.".to_owned(),
            ),
            "helm-upgrade" => (
                "Resume: Flux reconciles at once, the upgrade re-creates the StatefulSet with the grown claim templates, and it adopts the running pods".to_owned(),
                format!("Then check the release: flux get helmrelease {r} -n {ns}"),
            ),
            _ => (s.title.clone(), s.detail.clone()),
        };
        let commands = match s.id {
            "values" => Vec::new(),
            "helm-upgrade" => vec![flux("resume")],
            _ => commands,
        };
        n += 1;
        let title = if s.branch == "main" {
            title
        } else {
            format!("({} branch) {title}", s.branch)
        };
        comment_step(&mut out, n, &title, &detail, &commands);
    }
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
