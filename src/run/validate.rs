//! `pvc-resize validate`: reads values files and manifests, reports through `output`.

use super::*;
use crate::cli::ValidateArgs;
use anyhow::{Result, anyhow, bail};
use pvc_resize::commands::validate;
use pvc_resize::finding::Report;
use pvc_resize::fsutil;
use pvc_resize::output::{self, Format};
use std::process::ExitCode;

pub(crate) fn run_validate(a: ValidateArgs, diag: &mut Diag) -> Result<ExitCode> {
    if a.values.is_empty() && a.manifests.is_empty() {
        bail!(fsutil::hinted(
            "nothing to validate",
            "give --values FILE and/or --manifests FILE (`-` reads stdin)"
        ));
    }
    if a.values_schema.is_some() && a.values.is_empty() {
        bail!(fsutil::hinted(
            "--values-schema applies to --values files; none was given",
            "add --values FILE (the values file the chart's schema checks)"
        ));
    }
    let chart_schema = chart_schema(&a)?;
    let format = format_of(&a.format);
    let blocks = match a.chart.as_deref() {
        Some(chart) => chart_blocks(&a, chart, diag)?,
        None => None,
    };
    let (total, values, broken) =
        validate_inputs(&a, chart_schema.as_ref(), blocks.as_deref(), format, diag);
    let (valid, invalid, skipped) = (total.valid, total.invalid, total.skipped);
    let mut report = Report::new("validate", total.findings);
    for (k, v) in [
        ("valid", valid),
        ("invalid", invalid),
        ("skipped", skipped),
        ("unreadable", broken),
    ] {
        report.details.insert(k.into(), v.into());
    }
    report.details.insert(
        "kubernetes_version".into(),
        a.kubernetes_version.clone().into(),
    );
    let out = output::render(
        &report,
        format,
        product_color(&a.color, a.output.as_deref()),
    );
    deliver(a.output.as_deref(), &out)?;
    diag.say(&format!(
        "pvc-resize: {}",
        summary(&a, values, (valid, invalid, skipped), broken)
    ));
    Ok(ExitCode::from(if broken > 0 {
        2
    } else {
        u8::from(invalid > 0)
    }))
}

/// The chart's values schema of `--values-schema`, compiled (`None` without the flag).
fn chart_schema(a: &ValidateArgs) -> Result<Option<validate::ChartSchema>> {
    Ok(match &a.values_schema {
        Some(path) => {
            let text = fsutil::read_text(path).map_err(|e| anyhow!(e))?;
            Some(validate::ChartSchema::compile(path, &text).map_err(|e| anyhow!(e))?)
        }
        None => None,
    })
}

/// The counts said on stderr: values blocks, manifest objects (the totals less the values'),
/// unreadable files.
fn summary(
    a: &ValidateArgs,
    values: (usize, usize),
    (valid, invalid, skipped): (usize, usize, usize),
    broken: usize,
) -> String {
    // Values blocks and manifest objects are counted apart: "5 valid" of both said nothing.
    let mut parts = Vec::new();
    if !a.values.is_empty() {
        parts.push(format!(
            "values blocks: {} valid, {} invalid",
            values.0, values.1
        ));
    }
    if !a.manifests.is_empty() {
        parts.push(format!(
            "manifest objects: {} valid, {} invalid, {skipped} skipped (no bundled schema for the kind)",
            valid - values.0,
            invalid - values.1
        ));
    }
    parts.push(format!(
        "{broken} unreadable (Kubernetes {} schemas)",
        a.kubernetes_version
    ));
    parts.join("; ")
}

/// Validates every input file; one unreadable file doesn't stop the others. Returns the sum of
/// the reports, the valid and invalid counts of the values files alone, and how many files
/// couldn't be read or parsed (said on stderr; with a machine
/// format also reported as findings, so that CI annotates the broken file).
pub(crate) fn validate_inputs(
    a: &ValidateArgs,
    chart_schema: Option<&validate::ChartSchema>,
    blocks: Option<&[String]>,
    format: Format,
    diag: &mut Diag,
) -> (validate::FileReport, (usize, usize), usize) {
    let mut total = validate::FileReport::default();
    let mut values = (0, 0);
    let mut broken = 0;
    let inputs = a
        .values
        .iter()
        .map(|f| (f, true))
        .chain(a.manifests.iter().map(|f| (f, false)));
    for (file, is_values) in inputs {
        let name = if file == "-" {
            "<stdin>"
        } else {
            file.as_str()
        };
        let text = match fsutil::read_text(file) {
            Ok(t) => t,
            Err(e) => {
                broken += 1;
                diag.say(&format!("pvc-resize: error: {e}"));
                continue;
            }
        };
        let report = if is_values {
            match blocks {
                Some(b) => {
                    let b: Vec<&str> = b.iter().map(String::as_str).collect();
                    validate::values_file_in(name, &text, chart_schema, &b)
                }
                None => validate::values_file(name, &text, chart_schema),
            }
        } else {
            validate::manifest_stream(name, &text, &a.kubernetes_version)
        };
        match report {
            Ok(r) => {
                if is_values {
                    values = (values.0 + r.valid, values.1 + r.invalid);
                }
                total.add(r)
            }
            Err(f) => {
                broken += 1;
                diag.say(&format!("pvc-resize: error: {f}"));
                if format != Format::Text {
                    total.findings.push(*f);
                }
            }
        }
    }
    (total, values, broken)
}

/// `--chart`: the persistence blocks of the chart's proven size paths (`a.b.size` is block `a.b`),
/// with the chart rendered by each readable `--values` file; `None` without Helm (the table then).
fn chart_blocks(a: &ValidateArgs, chart: &str, diag: &mut Diag) -> Result<Option<Vec<String>>> {
    let texts: Vec<String> = a
        .values
        .iter()
        .filter(|f| *f != "-")
        .filter_map(|f| fsutil::read_text(f).ok())
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let Some(paths) = chart_size_paths(chart, a.helm.as_deref(), &texts, diag)? else {
        return Ok(None);
    };
    let blocks = size_blocks(&paths, diag);
    diag.say(&format!(
        "pvc-resize: the chart's persistence blocks (proven with helm template): {}",
        blocks.join(", ")
    ));
    Ok(Some(blocks))
}
