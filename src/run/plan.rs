//! `pvc-resize plan` and `verify-render`: reads the render, values, chart and snapshot, asks
//! `commands::plan`, writes the plan in the format asked.

use super::*;
use crate::cli::{PlanArgs, VerifyRenderArgs};
use anyhow::{Result, anyhow, bail};
use pvc_resize::commands::plan;
use pvc_resize::commands::plan::render as plan_render;
use pvc_resize::finding::Report;
use pvc_resize::fsutil;
use pvc_resize::output;
use std::process::ExitCode;

/// The flags `plan` refuses together, before reading anything: a GitOps format or a class with
/// targets that are not StatefulSets.
fn refuse_combinations(a: &PlanArgs) -> Result<()> {
    if matches!(a.format.as_str(), "flux" | "argocd") && !a.resources.is_empty() {
        return Err(anyhow!(fsutil::hinted(
            format!(
                "--format {} writes the steps around StatefulSet claim templates (a post-renderer patch, an orphan delete); a --resource target needs none of them",
                a.format
            ),
            "a custom resource's claim template is grown by the values change and its operator: commit the values diff of `plan --format text` (or --format markdown); the controller's upgrade or sync changes the resource, and its operator the PVCs"
        )));
    }
    if a.volume_attributes_class.is_some() && !a.resources.is_empty() {
        return Err(anyhow!(fsutil::hinted(
            "--volume-attributes-class sets the class of StatefulSet claim templates and their PVCs; a --resource target's PVCs belong to its operator",
            "set the class in the resource's claim template through the chart's values, or leave out --resource"
        )));
    }
    if matches!(a.format.as_str(), "flux" | "argocd") && !a.pvcs.is_empty() {
        return Err(anyhow!(fsutil::hinted(
            format!(
                "--format {} writes the steps around claim templates (a post-renderer patch, an orphan delete); --pvc targets need none of them",
                a.format
            ),
            "a PVC the chart renders itself is grown by the values change alone: commit the values diff of `plan --format text` (or --format markdown), and the controller's upgrade or sync patches the PVC"
        )));
    }
    if a.volume_attributes_class.is_some() && !a.pvcs.is_empty() {
        return Err(anyhow!(fsutil::hinted(
            "--volume-attributes-class sets the class of StatefulSet claim templates and their PVCs; a --pvc target is rendered by the chart itself",
            "set the class of such a PVC in the chart's values (its template's volumeAttributesClassName), or leave out --pvc"
        )));
    }
    Ok(())
}

pub(crate) fn run_plan(a: PlanArgs, diag: &mut Diag) -> Result<ExitCode> {
    refuse_combinations(&a)?;
    let manifests = fsutil::read_text(&a.manifests).map_err(|e| anyhow!(e))?;
    let manifests_name = if a.manifests == "-" {
        "<stdin>"
    } else {
        a.manifests.as_str()
    };
    check_class(a.volume_attributes_class.as_deref())?;
    let size = match &a.size {
        Some(text) => parse_size(text)?,
        None => {
            plan::attributes::rendered_size(manifests_name, &manifests, &a.statefulsets, &a.claim)
                .map_err(|e| anyhow!(e))?
        }
    };
    let values = read_named(a.values.as_deref())?;
    let cluster = read_named(a.cluster.as_deref())?;
    let (discover, discover_class) =
        chart_discovery(&a, (manifests_name, &manifests), diag)?.unzip();
    let input = plan::Input {
        release: &a.release,
        namespace: &a.namespace,
        size: &size,
        manifests_name,
        manifests: &manifests,
        values: values.as_ref().map(|(f, t)| (*f, t.as_str())),
        values_path: a.path.as_deref(),
        statefulsets: &a.statefulsets,
        pvcs: &a.pvcs,
        resources: &a.resources,
        claim: &a.claim,
        chart: a.chart.as_deref(),
        cluster: cluster.as_ref().map(|(f, t)| (*f, t.as_str())),
        kubernetes_version: &a.kubernetes_version,
        kube_context: a.kube_context.as_deref(),
        chart_version: a.version.as_deref(),
        chart_name: None,
        post_renderer_only: a.format == "flux",
        discover: discover.as_deref(),
        attributes_class: a.volume_attributes_class.as_deref(),
        attributes_class_path: a.volume_attributes_class_path.as_deref(),
        discover_class: discover_class.as_deref(),
    };
    let plan = plan::build(&input).map_err(|e| anyhow!(e))?;
    let out = formatted(&a, &plan, &manifests, diag)?;
    deliver(a.output.as_deref(), &out)?;
    Ok(ExitCode::from(u8::from(plan.blocking)))
}

/// A file named by an optional flag, with its name.
fn read_named(file: Option<&str>) -> Result<Option<(&str, String)>> {
    file.map(|f| fsutil::read_text(f).map(|t| (f, t)))
        .transpose()
        .map_err(|e| anyhow!(e))
}

/// The plan in the format `--format` asks for (a blocked script says why on stderr).
fn formatted(a: &PlanArgs, plan: &plan::Plan, manifests: &str, diag: &mut Diag) -> Result<String> {
    Ok(match a.format.as_str() {
        "markdown" => plan_render::markdown(plan),
        "json" => plan_render::json(plan),
        "flux" => pvc_resize::commands::gitops::flux(plan, manifests).map_err(|e| anyhow!(e))?,
        "argocd" => pvc_resize::commands::gitops::argocd(plan),
        // The preflight findings alone, as annotations or for code scanning.
        "github" | "sarif" => output::render(
            &Report::new("plan", plan.findings.clone()),
            format_of(&a.format),
            false,
        ),
        // Blocked: a script that says why and exits 1, so that `> resize.sh` leaves no runnable no-op.
        "script" if plan.blocking => {
            for f in plan.findings.iter().filter(|f| f.blocking) {
                diag.say(&format!("pvc-resize: blocking [{}]: {}", f.id, f.message));
            }
            diag.say("pvc-resize: the plan has a blocking finding: the script written only says so and exits 1 (see --format text)");
            plan_render::blocked_script(plan)
        }
        "script" => plan_render::script(plan).map_err(|e| anyhow!(e))?,
        _ => {
            let color = product_color("auto", a.output.as_deref());
            plan_render::text(plan, &plan_render::Style { color })
        }
    })
}

/// With `--chart` and Helm at hand: the function that proves each target's values path on the
/// chart (a local folder or `.tgz`, else the chart `helm pull` fetches at the version the upgrade
/// pins). Without Helm, or when the pull fails, the plan falls back to the built-in table (said on
/// stderr).
#[allow(clippy::type_complexity)]
pub(crate) fn chart_discovery(
    a: &PlanArgs,
    render: (&str, &str),
    diag: &mut Diag,
) -> Result<
    Option<(
        Box<plan::chart::Discover<'static>>,
        Box<plan::attributes::DiscoverClass<'static>>,
    )>,
> {
    use pvc_resize::charts::{paths, prove, source};
    let Some(reference) = a.chart.as_deref() else {
        return Ok(None);
    };
    let local = source::local(reference).is_some();
    let Some(helm) = prove::find_helm(a.helm.as_deref()) else {
        if local {
            diag.say(&format!(
                "pvc-resize: {} not found: the values paths of --chart {reference} are not proven; the built-in table is used (pass --helm PROGRAM)",
                a.helm.as_deref().unwrap_or("helm")
            ));
        }
        return Ok(None);
    };
    let Some(folder) = chart_folder(reference, a.version.as_deref(), render, &helm, diag)? else {
        return Ok(None);
    };
    let chart = source::read(folder.path()).map_err(|e| anyhow!("--chart {e}"))?;
    let renderer = prove::Renderer {
        helm,
        chart: folder.path().display().to_string(),
        release: a.release.clone(),
        namespace: a.namespace.clone(),
        values: a.values.iter().cloned().collect(),
    };
    let shared = std::rc::Rc::new((chart, renderer, folder));
    let again = std::rc::Rc::clone(&shared);
    Ok(Some((
        Box::new(move |wants: &[prove::ClaimId], first: Option<&str>| {
            paths::discover(&shared.0, &shared.1, wants, first)
        }),
        Box::new(
            move |wants: &[prove::ClaimId], class: &str, first: Option<&str>| {
                paths::discover_class(&again.0, &again.1, wants, class, first)
            },
        ),
    )))
}

/// `--chart` as Helm will read it: a local folder or `.tgz` as it is; another reference
/// (`posthog/posthog`, `oci://...`) pulled by Helm into a scratch folder, at `--version` or else
/// the version of the render's top chart. `None` (said on stderr) when Helm can't pull it.
fn chart_folder(
    reference: &str,
    version: Option<&str>,
    render: (&str, &str),
    helm: &str,
    diag: &mut Diag,
) -> Result<Option<ChartFolder>> {
    use pvc_resize::charts::source;
    if let Some(dir) = source::local(reference) {
        return Ok(Some(ChartFolder {
            path: dir.to_path_buf(),
            _scratch: None,
        }));
    }
    let version = match version {
        Some(v) => Some(v.to_owned()),
        None => plan::rendered_chart_version(render.0, render.1).map_err(|e| anyhow!(e))?,
    };
    let shown = version
        .as_deref()
        .map_or(String::new(), |v| format!(" {v}"));
    diag.say(&format!(
        "pvc-resize: pulling {reference}{shown} with {helm} (the values paths are read from it)"
    ));
    let scratch = Scratch::new()?;
    match source::pull(helm, reference, version.as_deref(), &scratch.0) {
        Ok(path) => Ok(Some(ChartFolder {
            path,
            _scratch: Some(scratch),
        })),
        Err(e) => {
            diag.say(&format!(
                "pvc-resize: note: {e}\n  the values paths of --chart {reference} are not proven; the built-in table is used (pass the chart's folder or .tgz, e.g. from `helm pull {reference} --version VERSION`)"
            ));
            Ok(None)
        }
    }
}

/// The chart `chart_discovery` reads, and (when pulled) the scratch folder that holds it, kept
/// as long as the chart is read.
struct ChartFolder {
    path: std::path::PathBuf,
    _scratch: Option<Scratch>,
}

impl ChartFolder {
    fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// A folder of this process under the temporary directory, removed with everything in it on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("pvc-resize-chart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `verify-render`: the upgrade's render against the release's manifest (the script's preflight).
pub(crate) fn run_verify_render(a: VerifyRenderArgs, diag: &mut Diag) -> Result<ExitCode> {
    use pvc_resize::charts::{prove::ClaimId, verify};
    let size = parse_size(&a.size)?;
    let out = fsutil::read_text(&a.dry_run).map_err(|e| anyhow!(e))?;
    let base = fsutil::read_text(&a.base).map_err(|e| anyhow!(e))?;
    let Some(manifest) = verify::dry_run_manifest(&out) else {
        bail!(fsutil::hinted(
            format!(
                "{}: no MANIFEST: line: not the output of helm upgrade --dry-run",
                a.dry_run
            ),
            "give the whole stdout of `helm upgrade --dry-run=server ...`"
        ));
    };
    let targets: Vec<ClaimId> = a
        .statefulsets
        .iter()
        .map(|s| ClaimId {
            object: format!("StatefulSet/{s}"),
            claim: a.claim.clone(),
        })
        .chain(a.pvcs.iter().map(|p| ClaimId {
            object: format!("PersistentVolumeClaim/{p}"),
            claim: p.clone(),
        }))
        .chain(a.resources.iter().filter_map(|r| {
            let (object, claim) = r.rsplit_once('/')?;
            Some(ClaimId {
                object: object.to_owned(),
                claim: claim.to_owned(),
            })
        }))
        .collect();
    let mut problems = verify::problems(&base, manifest, &targets, &size.text)
        .map_err(|e| anyhow!("{}: {e}", a.dry_run))?;
    if let Some(class) = &a.volume_attributes_class {
        problems.extend(
            verify::class_problems(manifest, &targets, class)
                .map_err(|e| anyhow!("{}: {e}", a.dry_run))?,
        );
    }
    for p in &problems {
        diag.say(&format!("pvc-resize: {p}"));
    }
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !a.paths.is_empty() {
        diag.say(&format!(
            "pvc-resize: the chart does not size the targets by {} alone: the values path the chart reads is proven by `pvc-resize plan --chart DIR|TGZ`",
            a.paths.join(", ")
        ));
    }
    Ok(ExitCode::from(1))
}
