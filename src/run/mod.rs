//! The edge of the binary: each command's run, from parsed arguments to files read, the
//! library called, the product written and the exit status. The library never prints; this does,
//! and nothing under `src/run/` decides what the library could.

use crate::cli::Cli;
use crate::helm4_run;
use anyhow::{Context, Result, anyhow};
use clap::CommandFactory;
use pvc_resize::fsutil;
use pvc_resize::k8s::quantity::Size;
use pvc_resize::output::{ColorChoice, Format};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub mod advise;
pub mod check;
pub mod plan;
pub mod plugin;
pub mod post_render;
pub mod script;
pub mod validate;
pub mod values;

/// Where diagnostics go: stderr, and a log file when asked (by `--log`, or by default when Helm 4
/// runs the plugin, since it drops stderr). Under Helm 4 an error also goes to stdout, the one
/// channel Helm shows (see `helm4_run`).
pub(crate) struct Diag {
    pub(crate) log: Option<std::fs::File>,
    pub(crate) log_path: Option<std::path::PathBuf>,
    pub(crate) plugin: Option<helm4_run::PluginRun>,
}

impl Diag {
    pub(crate) fn say(&mut self, line: &str) {
        eprintln!("{line}");
        if let Some(f) = &mut self.log {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Starts the default log when running as Helm 4's plugin; `--log` replaces it later.
    pub(crate) fn for_run() -> Diag {
        let plugin = helm4_run::detect();
        let (log, log_path) = match plugin.as_ref().and_then(|p| p.open_log()) {
            Some((f, p)) => (Some(f), Some(p)),
            None => (None, None),
        };
        let mut diag = Diag {
            log,
            log_path,
            plugin,
        };
        if diag.plugin.is_some() {
            let args: Vec<String> = std::env::args().skip(1).collect();
            diag.say(&format!(
                "pvc-resize {}: run by Helm 4 as its post-renderer plugin, args {args:?}",
                env!("PVC_RESIZE_LONG_VERSION")
            ));
        }
        diag
    }

    /// Reports a failure; returns the exit status. Under Helm 4 the message goes to stdout as a
    /// non-manifest document and the status is 0, so that Helm fails *and* prints it.
    pub(crate) fn fail(&mut self, message: &str) -> ExitCode {
        self.say(message);
        if self.plugin.is_some() {
            helm4_run::emit_error(message, self.log_path.as_deref());
            return ExitCode::SUCCESS;
        }
        ExitCode::from(2)
    }
}

/// A clap error as every other error: `pvc-resize: error: ...`, clap's usage line, and a hint
/// naming the help of the subcommand at fault.
pub(crate) fn argument_error(e: &clap::Error) -> String {
    let args: Vec<String> = std::env::args().collect();
    let flags: Vec<String> = Cli::command()
        .find_subcommand("post-render")
        .map(|c| {
            c.get_arguments()
                .filter_map(|a| a.get_long())
                .map(|l| format!("--{l}"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(text) = helm4_run::form_mixup(&args, &flags) {
        return text;
    }
    let rendered = e.render().to_string();
    let mut out = String::new();
    for line in rendered.lines() {
        if line.starts_with("For more information, try") {
            continue;
        }
        match line.strip_prefix("error: ") {
            Some(rest) => out.push_str(&format!("pvc-resize: error: {rest}\n")),
            None if line.is_empty() && out.ends_with("\n\n") => {}
            None => out.push_str(&format!("{line}\n")),
        }
    }
    let sub = std::env::args()
        .nth(1)
        .filter(|a| Cli::command().find_subcommand(a).is_some());
    let help = match sub {
        Some(s) => format!("pvc-resize {s} --help"),
        None => "pvc-resize --help".to_owned(),
    };
    format!(
        "{}\n  hint: see `{help}` for the arguments and examples\n",
        out.trim_end()
    )
}

pub(crate) fn parse_size(text: &str) -> Result<Size> {
    Size::parse(text).context("--size")
}

/// Refuses a `--volume-attributes-class` that is not a valid object name.
pub(crate) fn check_class(class: Option<&str>) -> Result<()> {
    if let Some(class) = class {
        pvc_resize::k8s::names::check_name("VolumeAttributesClass", class, 253, true)
            .map_err(|e| anyhow!("--volume-attributes-class: {e}"))?;
    }
    Ok(())
}

/// Whether to colour what goes to stdout, by `--color` and NO_COLOR.
pub(crate) fn stdout_color(choice: &str) -> bool {
    ColorChoice::parse(choice)
        .expect("clap checks --color")
        .enabled(std::io::stdout().is_terminal())
}

/// Colour for the product: `auto` colours stdout on a terminal, never an `--output` file.
pub(crate) fn product_color(choice: &str, output: Option<&str>) -> bool {
    match output {
        None => stdout_color(choice),
        Some(_) => ColorChoice::parse(choice)
            .expect("clap checks --color")
            .enabled(false),
    }
}

/// The product: to stdout, or with `--output FILE` to that file, atomically and whole.
pub(crate) fn deliver(output: Option<&str>, text: &str) -> Result<bool> {
    match output {
        None => emit(text.as_bytes()),
        Some(path) => fsutil::write_output(path, text)
            .map(|()| true)
            .map_err(|e| anyhow!(e)),
    }
}

/// `--format`, which clap has checked.
pub(crate) fn format_of(name: &str) -> Format {
    Format::parse(name).expect("clap checks --format")
}

/// Writes the product to stdout. A closed pipe (`| head`) is not an error; returns false then.
pub(crate) fn emit(bytes: &[u8]) -> Result<bool> {
    emit_parts([bytes])
}

/// Writes the product from pieces, in order (a post-rendered stream is the input with a few
/// ranges replaced: no second copy of it is built).
pub(crate) fn emit_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    let written = parts
        .into_iter()
        .try_for_each(|p| out.write_all(p))
        .and_then(|_| out.flush());
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// A file, or `REV:PATH` read with `git show` when no such file exists.
/// `(REV, PATH)` when `spec` names a file in git rather than one on disk.
pub(crate) fn git_spec(spec: &str) -> Option<(&str, &str)> {
    if std::path::Path::new(spec).exists() {
        return None;
    }
    spec.split_once(':')
}

pub(crate) fn read_revision(spec: &str) -> Result<String> {
    match git_spec(spec) {
        None => fsutil::read_text(spec).map_err(|e| anyhow!(e)),
        Some((rev, path)) => fsutil::read_git(rev, path).map_err(|e| anyhow!(e)),
    }
}

/// `--chart DIR|TGZ` on `check`, `validate` and `values`: the values paths the chart reads for
/// every claim of its render with each of `values` (values texts; the chart's defaults when none),
/// each proven by Helm with a sentinel (`charts::paths::all_paths`), as plan's `--chart` does.
/// `None` when Helm is not found (said on stderr): the caller falls back to the built-in table.
/// Claims no path is proven for are said on stderr too.
pub(crate) fn chart_size_paths(
    chart: &str,
    helm: Option<&str>,
    values: &[&str],
    diag: &mut Diag,
) -> Result<Option<Vec<String>>> {
    let layout = chart_layout(chart, helm, values, None, diag)?;
    Ok(layout.map(|l| l.paths))
}

/// What `--chart` tells about a chart, with each values text.
pub(crate) struct ChartLayout {
    /// The proven size paths, each once.
    pub paths: Vec<String>,
    /// Each proven size path with the object (`Kind/name`) whose claim it sizes.
    pub owners: Vec<(String, String)>,
    /// The chart's plain render with each values text, in order (when asked for).
    pub renders: Vec<String>,
}

/// The same, and with `render_as` (a release name) each values text's plain render too.
pub(crate) fn chart_layout(
    chart: &str,
    helm: Option<&str>,
    values: &[&str],
    render_as: Option<&str>,
    diag: &mut Diag,
) -> Result<Option<ChartLayout>> {
    use pvc_resize::charts::{paths, prove, source};
    let Some(dir) = source::local(chart) else {
        anyhow::bail!(pvc_resize::fsutil::hinted(
            format!("--chart {chart}: not a local chart folder (with Chart.yaml) or .tgz"),
            "pass the chart's folder or the .tgz that `helm pull` writes"
        ));
    };
    let read = source::read(dir).map_err(|e| anyhow::anyhow!("--chart {e}"))?;
    let Some(helm) = prove::find_helm(helm) else {
        diag.say(&format!(
            "pvc-resize: {} not found: the values paths of --chart {chart} are not proven; the built-in table is used (pass --helm PROGRAM)",
            helm.unwrap_or("helm")
        ));
        return Ok(None);
    };
    let texts: Vec<Option<&str>> = if values.is_empty() {
        vec![None]
    } else {
        values.iter().map(|v| Some(*v)).collect()
    };
    let mut layout = ChartLayout {
        paths: Vec::new(),
        owners: Vec::new(),
        renders: Vec::new(),
    };
    let mut unproven = Vec::new();
    for text in texts {
        // The values (possibly a REV:PATH read from git) go to Helm as a scratch file, removed after.
        let scratch =
            std::env::temp_dir().join(format!("pvc-resize-values-{}.yaml", std::process::id()));
        let mut files = Vec::new();
        if let Some(text) = text {
            std::fs::write(&scratch, text)?;
            files.push(scratch.display().to_string());
        }
        let mut renderer = prove::Renderer {
            helm: helm.clone(),
            chart: dir.display().to_string(),
            release: "release".to_owned(),
            namespace: "default".to_owned(),
            values: files,
        };
        let found = paths::all_paths(&read, &renderer).and_then(|found| {
            let Some(release) = render_as else {
                return Ok(found);
            };
            renderer.release = release.to_owned();
            layout.renders.push(renderer.render(None)?);
            Ok(found)
        });
        let _ = std::fs::remove_file(&scratch);
        let found = found
            .map_err(|e| anyhow::anyhow!("--chart {chart}: Helm can't render the chart: {e}"))?;
        layout.add(found, &mut unproven);
    }
    note_unproven(chart, unproven, diag);
    Ok(Some(layout))
}

impl ChartLayout {
    /// Adds the proven paths of `found` (each once) with their owners; the claims no path is
    /// proven for go to `unproven`.
    fn add(&mut self, found: Vec<pvc_resize::charts::paths::Found>, unproven: &mut Vec<String>) {
        for f in found {
            match f.path {
                Some(p) => {
                    if !self.paths.contains(&p) {
                        self.paths.push(p.clone());
                    }
                    self.owners.push((p, f.claim.object));
                }
                None => unproven.push(f.claim.to_string()),
            }
        }
    }
}

/// Says on stderr, once each, which claims no values path of `--chart` is proven to size.
fn note_unproven(chart: &str, mut unproven: Vec<String>, diag: &mut Diag) {
    unproven.sort();
    unproven.dedup();
    for claim in unproven {
        diag.say(&format!(
            "pvc-resize: note: {claim}: no values path of --chart {chart} is proven to size it; it is not checked"
        ));
    }
}

/// The persistence blocks of proven size paths: `primary.persistence.size` is the block
/// `primary.persistence` (its `size`, `enabled`, `storageClass`...). A path whose last key is not
/// `size` is no such block: said on stderr and left out.
pub(crate) fn size_blocks(paths: &[String], diag: &mut Diag) -> Vec<String> {
    paths
        .iter()
        .filter_map(|p| match p.strip_suffix(".size") {
            Some(block) => Some(block.to_owned()),
            None => {
                diag.say(&format!(
                    "pvc-resize: note: {p} is not a `size` key of a persistence block; check it with --path"
                ));
                None
            }
        })
        .collect()
}
