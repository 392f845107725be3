//! `pvc-resize values`: reads the file, asks `commands::values` for the edit, prints the diff or
//! writes the file.

use super::*;
use crate::cli::ValuesArgs;
use anyhow::{Result, anyhow, bail};
use pvc_resize::commands::values::{self, Change, ValuesPath};
use pvc_resize::fsutil;
use pvc_resize::output;
use std::process::ExitCode;

pub(crate) fn run_values(a: ValuesArgs, diag: &mut Diag) -> Result<ExitCode> {
    let size = a.size.as_deref().map(parse_size).transpose()?;
    let (new_text, described) = new_value(&a, size.as_ref())?;
    let path = values_path(&a, diag)?;
    let (src, stamp) = read_values(&a)?;
    let name = if a.file == "-" {
        "<stdin>"
    } else {
        a.file.as_str()
    };
    // A refusal names its class, as a finding does: `pvc-resize: error[values-shrink]: FILE:L:C: ...`.
    let edit = match &size {
        Some(size) => values::set_size(&src, &path, size),
        None => values::set_text(&src, &path, &new_text),
    };
    let edit = match edit {
        Ok(edit) => edit,
        Err(e) => return Ok(diag.fail(&format!("pvc-resize: error[{}]: {name}:{e}", e.id))),
    };
    for w in &edit.warnings {
        diag.say(&format!("pvc-resize: warning: {name}: {w}"));
    }
    let done = match &edit.change {
        Change::Unchanged { old, pos } => {
            diag.say(&format!(
                "pvc-resize: {name}:{pos}: {path} is already {old} (equal by value to {}); nothing to change",
                new_text
            ));
            return Ok(ExitCode::SUCCESS);
        }
        Change::Replaced { old, pos } => {
            format!("pvc-resize: {name}:{pos}: {path}: {old} -> {}", described)
        }
        Change::Inserted { pos } => {
            format!("pvc-resize: {name}:{pos}: {path}: inserted {}", described)
        }
    };
    if let Some(stamp) = stamp {
        // Nothing that looks like success is said before the file is replaced.
        fsutil::replace_file(&a.file, &stamp, &src, &edit.output).map_err(|e| anyhow!(e))?;
        diag.say(&done);
        diag.say(&format!("pvc-resize: wrote {name}"));
        return Ok(ExitCode::SUCCESS);
    }
    let diff = output::diff::unified_diff(&src, &edit.output, name);
    let style = output::text::Style {
        color: stdout_color(&a.color),
    };
    // As post-render: the change is reported once the diff is out. `--check` fails on a change
    // whether or not the reader kept the pipe open.
    if emit(output::diff::paint(&diff, style).as_bytes())? {
        diag.say(&done);
    }
    Ok(if a.check {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The new value's text and how the report describes it: the size, or the class name (checked).
fn new_value(a: &ValuesArgs, size: Option<&Size>) -> Result<(String, String)> {
    check_class(a.volume_attributes_class.as_deref())?;
    // What is set: the size, or the class name (clap requires one of them).
    Ok(match (size, &a.volume_attributes_class) {
        (Some(s), _) => (s.text.clone(), s.describe()),
        (None, Some(c)) => (c.clone(), format!("VolumeAttributesClass {c}")),
        (None, None) => bail!("values needs --size Q or --volume-attributes-class NAME"),
    })
}

/// The values path to set: `--path`, or the one `--chart` reads.
fn values_path(a: &ValuesArgs, diag: &mut Diag) -> Result<ValuesPath> {
    let chosen = match a.chart.as_deref() {
        Some(chart) => chart_path(a, chart, diag)?,
        None => a.path.clone(),
    };
    ValuesPath::parse(&chosen).map_err(|e| {
        anyhow!(fsutil::hinted(
            format!("--path: {e}"),
            "a dotted path such as kafka.persistence.size; a literal dot in a key is written `\\.`"
        ))
    })
}

/// The values file's text and, with `--write`, the stamp of the file it replaces.
fn read_values(a: &ValuesArgs) -> Result<(String, Option<fsutil::Stamp>)> {
    if a.write && a.file == "-" {
        bail!(fsutil::hinted(
            "--write needs a file, not stdin",
            "give the file's path, or drop --write to get the diff on stdout"
        ));
    }
    // `--write` reads only a regular file, and remembers which one, to replace only that one.
    Ok(if a.write {
        let (src, stamp) = fsutil::read_for_replace(&a.file).map_err(|e| anyhow!(e))?;
        (src, Some(stamp))
    } else {
        (fsutil::read_text(&a.file).map_err(|e| anyhow!(e))?, None)
    })
}

/// `--chart`: the path to set, judged by the size paths the chart reads (rendered with this file,
/// each proven by Helm). A `--path` the chart does not read is refused, naming those it reads;
/// without `--path`, the chart's one size path (several: refused, naming them). Without Helm
/// (said on stderr), `--path` as given.
fn chart_path(a: &ValuesArgs, chart: &str, diag: &mut Diag) -> Result<String> {
    let text = if a.file == "-" {
        None
    } else {
        fsutil::read_text(&a.file).ok()
    };
    let texts: Vec<&str> = text.as_deref().into_iter().collect();
    let Some(paths) = chart_size_paths(chart, a.helm.as_deref(), &texts, diag)? else {
        return Ok(a.path.clone());
    };
    if paths.contains(&a.path) {
        return Ok(a.path.clone());
    }
    let given = a.path != values::DEFAULT_PATH;
    match paths.as_slice() {
        [one] if !given => {
            diag.say(&format!(
                "pvc-resize: --chart {chart} sizes its one claim by {one} (proven with helm template)"
            ));
            Ok(one.clone())
        }
        [] => bail!(fsutil::hinted(
            format!("--chart {chart}: no values path of the chart is proven to size a claim"),
            "find the key the claim's template reads (`helm template RELEASE CHART --show-only TEMPLATE`), then pass --path KEY without --chart"
        )),
        _ => bail!(fsutil::hinted(
            format!(
                "--path {}: the chart {chart} does not read it for any claim{}",
                a.path,
                if given {
                    ""
                } else {
                    " (the default path; pass --path)"
                }
            ),
            format!(
                "pass --path with one of the paths it reads (proven with helm template): {}",
                paths.join(", ")
            )
        )),
    }
}
