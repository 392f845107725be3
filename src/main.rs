//! The `pvc-resize` command line: argument parsing, reading and writing, exit codes.
//!
//! Exit status, the same for every command: 0 done / nothing wrong; 1 a check found something;
//! 2 the tool could not do what was asked. stdout carries only the product.

use anyhow::{Context, Result, anyhow, bail};
use clap::{CommandFactory, Parser};
mod cli;
mod helm4_run;
mod install;

use cli::{
    AdviseArgs, CheckArgs, Cli, Command, HelmPluginArgs, ManArgs, PlanArgs, PostRenderArgs,
    QuotaCheckArgs, UpdateRulesArgs, ValidateArgs, ValuesArgs, VerifyRenderArgs,
};
use pvc_resize::commands::argocd;
use pvc_resize::commands::check;
use pvc_resize::commands::plan;
use pvc_resize::commands::plan::render as plan_render;
use pvc_resize::commands::post_render::{self, Options};
use pvc_resize::commands::quota_check;
use pvc_resize::commands::validate;
use pvc_resize::commands::values::{self, Change, ValuesPath};
use pvc_resize::finding::{Finding, Report, Severity};
use pvc_resize::fsutil;
use pvc_resize::k8s::patch::PatchSet;
use pvc_resize::k8s::quantity::Size;
use pvc_resize::k8s::update_rules;
use pvc_resize::k8s::versions::{self, KubeVersion};
use pvc_resize::output::{self, ColorChoice, Format};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Where diagnostics go: stderr, and a log file when asked (by `--log`, or by default when Helm 4
/// runs the plugin, since it drops stderr). Under Helm 4 an error also goes to stdout, the one
/// channel Helm shows (see `helm4_run`).
struct Diag {
    log: Option<std::fs::File>,
    log_path: Option<std::path::PathBuf>,
    plugin: Option<helm4_run::PluginRun>,
}

impl Diag {
    fn say(&mut self, line: &str) {
        eprintln!("{line}");
        if let Some(f) = &mut self.log {
            let _ = writeln!(f, "{line}");
        }
    }

    /// Starts the default log when running as Helm 4's plugin; `--log` replaces it later.
    fn for_run() -> Diag {
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
    fn fail(&mut self, message: &str) -> ExitCode {
        self.say(message);
        if self.plugin.is_some() {
            helm4_run::emit_error(message, self.log_path.as_deref());
            return ExitCode::SUCCESS;
        }
        ExitCode::from(2)
    }
}

/// The stack of the thread that runs a command: YAML nests up to 10,000 levels (Helm's limit,
/// `yaml::MAX_DEPTH`), and reading, converting and dropping such a tree recurses once per level.
/// Only what is used is committed.
const STACK_BYTES: usize = 512 << 20;

fn main() -> ExitCode {
    let worker = std::thread::Builder::new()
        .name("main".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(run);
    match worker.map(|w| w.join()) {
        Ok(Ok(code)) => code,
        // The panic message is out already (the default hook); 101 as for a panic in main.
        Ok(Err(_)) => ExitCode::from(101),
        Err(_) => run(),
    }
}

fn run() -> ExitCode {
    let mut diag = Diag::for_run();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if diag.plugin.is_some() => {
            let text = if e.use_stderr() {
                argument_error(&e)
            } else {
                e.render().to_string()
            };
            return diag.fail(&text);
        }
        Err(e) if !e.use_stderr() => {
            // --help, --version: the product, on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("{}", argument_error(&e));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Values(a) => run_values(a, &mut diag),
        Command::PostRender(a) => run_post_render(a, &mut diag),
        Command::Validate(a) => run_validate(a, &mut diag),
        Command::Check(a) => run_check(a, &mut diag),
        Command::Plan(a) => run_plan(a, &mut diag),
        Command::Advise(a) => run_advise(a, &mut diag),
        Command::HelmPlugin(a) => run_helm_plugin(a, &mut diag),
        Command::Completions(a) => emit(&install::completions(a.shell)).map(|_| ExitCode::SUCCESS),
        Command::Man(a) => run_man(a, &mut diag),
        Command::QuotaCheck(a) => run_quota_check(a, &mut diag),
        Command::UpdateRules(a) => run_update_rules(a, &mut diag),
        Command::VerifyRender(a) => run_verify_render(a, &mut diag),
    };
    match result {
        Ok(code) => code,
        Err(e) => diag.fail(&format!("pvc-resize: error: {e:#}")),
    }
}

/// The resize script's quota check: each refusal on stderr, exit 1 when there is one.
fn run_quota_check(a: QuotaCheckArgs, diag: &mut Diag) -> Result<ExitCode> {
    let size = parse_size(&a.size)?;
    let text = fsutil::read_text(&a.objects).map_err(|e| anyhow!(e))?;
    let pvcs = quota_check::Pvcs {
        in_replicas: &a.pvcs,
        if_exist: &a.pvcs_if_exist,
    };
    let refusals = quota_check::run(&a.objects, &text, &size, &pvcs).map_err(|e| anyhow!(e))?;
    for r in &refusals {
        diag.say(&format!("pvc-resize: {}", r.message));
    }
    if refusals.is_empty() {
        diag.say(&format!(
            "pvc-resize: no ResourceQuota or LimitRange refuses growing {} PVC(s) to {}",
            a.pvcs.len() + a.pvcs_if_exist.len(),
            size.text
        ));
        return Ok(ExitCode::SUCCESS);
    }
    Ok(ExitCode::from(1))
}

/// The resize script's reading of the server's StatefulSet update rule (the rule of `check
/// --kubernetes-version`): exit 0 when the field may change, 1 when the server refuses it.
fn run_update_rules(a: UpdateRulesArgs, diag: &mut Diag) -> Result<ExitCode> {
    if a.field != "revisionHistoryLimit" {
        bail!(fsutil::hinted(
            format!("--field {:?}: no per-version rule for it", a.field),
            "the per-version field is revisionHistoryLimit"
        ));
    }
    let text = fsutil::read_text(&a.kubectl_version).map_err(|e| anyhow!(e))?;
    let version =
        KubeVersion::from_kubectl_json(&text).map_err(|e| anyhow!("{}: {e}", a.kubectl_version))?;
    let from = versions::REVISION_HISTORY_MUTABLE_FROM;
    if version.revision_history_limit_mutable() {
        diag.say(&format!(
            "pvc-resize: Kubernetes {version} lets an update change spec.revisionHistoryLimit (from 1.{from})"
        ));
        return Ok(ExitCode::SUCCESS);
    }
    diag.say(&format!(
        "pvc-resize: Kubernetes {version} refuses an update of spec.revisionHistoryLimit (spec: Forbidden; mutable from 1.{from})"
    ));
    Ok(ExitCode::from(1))
}

fn run_helm_plugin(a: HelmPluginArgs, diag: &mut Diag) -> Result<ExitCode> {
    let [manifest, bin] = install::lay_out_helm4_plugin(&a.dir)?;
    diag.say(&format!(
        "pvc-resize: wrote {} and {} ({})",
        manifest.display(),
        bin.display(),
        env!("PVC_RESIZE_LONG_VERSION")
    ));
    diag.say(&format!(
        "pvc-resize: next (Helm 4): helm plugin install {} (a link to this folder: keep it), \
         or package it signed: helm plugin package {} --sign --key NAME --keyring FILE",
        a.dir.display(),
        a.dir.display()
    ));
    if a.dir.file_name().is_some_and(|n| n != install::PLUGIN_NAME) {
        diag.say(&format!(
            "pvc-resize: note: Helm 4 links a folder install under the folder's name; naming it {} \
             keeps that link's name the plugin's",
            install::PLUGIN_NAME
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_man(a: ManArgs, diag: &mut Diag) -> Result<ExitCode> {
    match &a.dir {
        None => {
            emit(&install::man_page()?)?;
        }
        Some(dir) => {
            for page in install::write_man_pages(dir)? {
                diag.say(&format!("pvc-resize: wrote {}", page.display()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A clap error as every other error: `pvc-resize: error: ...`, clap's usage line, and a hint
/// naming the help of the subcommand at fault.
fn argument_error(e: &clap::Error) -> String {
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

fn parse_size(text: &str) -> Result<Size> {
    Size::parse(text).context("--size")
}

fn run_values(a: ValuesArgs, diag: &mut Diag) -> Result<ExitCode> {
    let size = parse_size(&a.size)?;
    let path = ValuesPath::parse(&a.path).map_err(|e| {
        anyhow!(fsutil::hinted(
            format!("--path: {e}"),
            "a dotted path such as kafka.persistence.size; a literal dot in a key is written `\\.`"
        ))
    })?;
    if a.write && a.file == "-" {
        bail!(fsutil::hinted(
            "--write needs a file, not stdin",
            "give the file's path, or drop --write to get the diff on stdout"
        ));
    }
    // `--write` reads only a regular file, and remembers which one, to replace only that one.
    let (src, stamp) = if a.write {
        let (src, stamp) = fsutil::read_for_replace(&a.file).map_err(|e| anyhow!(e))?;
        (src, Some(stamp))
    } else {
        (fsutil::read_text(&a.file).map_err(|e| anyhow!(e))?, None)
    };
    let name = if a.file == "-" {
        "<stdin>"
    } else {
        a.file.as_str()
    };
    let edit = values::set_size(&src, &path, &size).map_err(|e| anyhow!("{name}:{e}"))?;
    for w in &edit.warnings {
        diag.say(&format!("pvc-resize: warning: {name}: {w}"));
    }
    let done = match &edit.change {
        Change::Unchanged { old, pos } => {
            diag.say(&format!(
                "pvc-resize: {name}:{pos}: {path} is already {old} (equal by value to {}); nothing to change",
                size.text
            ));
            return Ok(ExitCode::SUCCESS);
        }
        Change::Replaced { old, pos } => {
            format!(
                "pvc-resize: {name}:{pos}: {path}: {old} -> {}",
                size.describe()
            )
        }
        Change::Inserted { pos } => {
            format!(
                "pvc-resize: {name}:{pos}: {path}: inserted {}",
                size.describe()
            )
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

/// Whether to colour what goes to stdout, by `--color` and NO_COLOR.
fn stdout_color(choice: &str) -> bool {
    ColorChoice::parse(choice)
        .expect("clap checks --color")
        .enabled(std::io::stdout().is_terminal())
}

/// Colour for the product: `auto` colours stdout on a terminal, never an `--output` file.
fn product_color(choice: &str, output: Option<&str>) -> bool {
    match output {
        None => stdout_color(choice),
        Some(_) => ColorChoice::parse(choice)
            .expect("clap checks --color")
            .enabled(false),
    }
}

/// The product: to stdout, or with `--output FILE` to that file, atomically and whole.
fn deliver(output: Option<&str>, text: &str) -> Result<bool> {
    match output {
        None => emit(text.as_bytes()),
        Some(path) => fsutil::write_output(path, text)
            .map(|()| true)
            .map_err(|e| anyhow!(e)),
    }
}

/// `--format`, which clap has checked.
fn format_of(name: &str) -> Format {
    Format::parse(name).expect("clap checks --format")
}

/// Writes the product to stdout. A closed pipe (`| head`) is not an error; returns false then.
fn emit(bytes: &[u8]) -> Result<bool> {
    emit_parts([bytes])
}

/// Writes the product from pieces, in order (a post-rendered stream is the input with a few
/// ranges replaced: no second copy of it is built).
fn emit_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Result<bool> {
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

fn run_post_render(a: PostRenderArgs, diag: &mut Diag) -> Result<ExitCode> {
    if let Some(path) = &a.log {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                anyhow!(fsutil::hinted(
                    format!("--log {path}: {e}"),
                    "give a file in a folder that exists and is writable"
                ))
            })?;
        diag.log = Some(f);
        diag.log_path = Some(path.into());
    }
    if a.size.is_none() && a.patches.is_empty() && !a.claim_typemeta {
        bail!(
            "post-render needs --size Q, --patch FILE and/or --claim-typemeta; see `pvc-resize post-render --help`"
        );
    }
    if a.claim.is_empty() {
        bail!(fsutil::hinted(
            "--claim must not be empty",
            "give the volumeClaimTemplate's name (the default is data)"
        ));
    }
    let size = a.size.as_deref().map(parse_size).transpose()?;
    let mut patches = None;
    if !a.patches.is_empty() {
        let mut set = PatchSet::default();
        for file in &a.patches {
            let text = fsutil::read_text(file).map_err(|e| anyhow!("--patch {e}"))?;
            set.add_file(file, &text).map_err(|e| anyhow!(e))?;
        }
        patches = Some(set);
    }
    let input = fsutil::read_text("-").map_err(|e| anyhow!(e))?;
    let opts = Options {
        kubernetes_version: a.kubernetes_version,
        size,
        statefulsets: a.statefulsets,
        claim: a.claim,
        patches,
        parse_all: a.parse_all,
        ..Options::default()
    };
    let outcome = post_render::post_render(&input, &opts).map_err(|e| match e.pos {
        Some(_) => anyhow!("<stdin>:{e}"),
        None => anyhow!("<stdin>: {e}"),
    })?;
    // What was done is said once the whole stream is written: a failed write (a full disk, a
    // closed pipe) must not follow lines that report success.
    let mut said: Vec<String> = outcome
        .warnings
        .iter()
        .map(|w| format!("pvc-resize: warning: {w}"))
        .collect();
    said.extend(
        outcome
            .notes
            .iter()
            .map(|n| format!("pvc-resize: note: {n}")),
    );
    for c in &outcome.claims {
        let what = if c.changed {
            format!("{} -> {}", c.old, c.new)
        } else {
            format!("is already {} (equal to {}); left as it is", c.old, c.new)
        };
        said.push(format!(
            "pvc-resize: <stdin>:{}: StatefulSet {} claim {}: {what}",
            c.pos, c.statefulset, c.claim
        ));
    }
    said.extend(
        outcome
            .patched
            .iter()
            .map(|p| format!("pvc-resize: patched {p}")),
    );
    let written = if a.claim_typemeta {
        let output = outcome.output.to_string();
        let added = argocd::add_claim_typemeta(&output).map_err(|e| anyhow!("<stdin>:{e}"))?;
        for (sts, claim, line) in &added.claims {
            said.push(format!(
                "pvc-resize: <stdin>:{line}: StatefulSet {sts} claim {claim}: apiVersion/kind added"
            ));
        }
        emit(added.output.as_bytes())?
    } else {
        emit_parts(outcome.output.segments().map(str::as_bytes))?
    };
    said.push(format!(
        "pvc-resize: {} documents in, {} out",
        outcome.documents, outcome.documents
    ));
    if written {
        said.iter().for_each(|line| diag.say(line));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_validate(a: ValidateArgs, diag: &mut Diag) -> Result<ExitCode> {
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
    let chart_schema = match &a.values_schema {
        Some(path) => {
            let text = fsutil::read_text(path).map_err(|e| anyhow!(e))?;
            Some(validate::ChartSchema::compile(path, &text).map_err(|e| anyhow!(e))?)
        }
        None => None,
    };
    let format = format_of(&a.format);
    let (total, values, broken) = validate_inputs(&a, chart_schema.as_ref(), format, diag);
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
    diag.say(&format!("pvc-resize: {}", parts.join("; ")));
    Ok(ExitCode::from(if broken > 0 {
        2
    } else {
        u8::from(invalid > 0)
    }))
}

/// Validates every input file; one unreadable file doesn't stop the others. Returns the sum of
/// the reports, the valid and invalid counts of the values files alone, and how many files
/// couldn't be read or parsed (said on stderr; with a machine
/// format also reported as findings, so that CI annotates the broken file).
fn validate_inputs(
    a: &ValidateArgs,
    chart_schema: Option<&validate::ChartSchema>,
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
            validate::values_file(name, &text, chart_schema)
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

/// A file, or `REV:PATH` read with `git show` when no such file exists.
/// `(REV, PATH)` when `spec` names a file in git rather than one on disk.
fn git_spec(spec: &str) -> Option<(&str, &str)> {
    if std::path::Path::new(spec).exists() {
        return None;
    }
    spec.split_once(':')
}

fn read_revision(spec: &str) -> Result<String> {
    match git_spec(spec) {
        None => fsutil::read_text(spec).map_err(|e| anyhow!(e)),
        Some((rev, path)) => fsutil::read_git(rev, path).map_err(|e| anyhow!(e)),
    }
}

/// Findings of `check`: values files, or two renders (named by the flags or recognised by content).
/// What `check` found: findings, or a values file it can't read (exit status 2).
enum Checked {
    Findings(Vec<Finding>),
    Unreadable(Box<Finding>),
}

fn check_findings(a: &CheckArgs, base: &str, head: &str, diag: &mut Diag) -> Result<Checked> {
    let (base_text, head_text) = (read_revision(base)?, read_revision(head)?);
    let named = a.base_manifests.is_some();
    let (bm, hm) = (
        update_rules::looks_like_manifests(&base_text),
        update_rules::looks_like_manifests(&head_text),
    );
    if named || (bm && hm) {
        if !a.paths.is_empty() {
            bail!("--path applies to values files, not to rendered manifests\n  hint: drop --path");
        }
        let file = |s: &str| git_spec(s).map_or(s.to_owned(), |(_, p)| p.to_owned());
        let version = KubeVersion::parse(&a.kubernetes_version).map_err(|e| {
            anyhow!(fsutil::hinted(
                format!("--kubernetes-version: {e}"),
                "give the cluster's minor version, e.g. --kubernetes-version 1.33 (`kubectl version` prints it)"
            ))
        })?;
        if version.beyond_known() {
            diag.say(&format!(
                "pvc-resize: note: Kubernetes {version} is newer than the rules this tool knows; the rules of 1.{} apply",
                versions::NEWEST
            ));
        }
        let c = update_rules::compare(&file(base), &base_text, &file(head), &head_text, version)
            .map_err(|e| anyhow!(e))?;
        diag.say(&format!(
            "pvc-resize: {} StatefulSet(s) in {base}, {} in {head}",
            c.old, c.new
        ));
        return Ok(Checked::Findings(c.findings));
    }
    if bm != hm {
        let (m, v) = if bm { (base, head) } else { (head, base) };
        bail!(
            "{m} is a manifest stream but {v} is a values file: both sides must be the same kind\n  \
             hint: compare renders with --base-manifests OLD --head-manifests NEW, or values files with --base/--head"
        );
    }
    let (base, mut head) = match (
        check::Side::load(base, &base_text),
        check::Side::load(head, &head_text),
    ) {
        (Ok(b), Ok(h)) => (b, h),
        (Err(f), _) | (_, Err(f)) => return Ok(Checked::Unreadable(f)),
    };
    // Findings point at the head's path (without a REV: prefix).
    head.name = git_spec(&head.name)
        .map_or(head.name.as_str(), |(_, path)| path)
        .to_owned();
    Ok(Checked::Findings(check::compare(&base, &head, &a.paths)))
}

/// A values file `check` can't read: said on stderr; with a machine format also the report of
/// that one finding (its place as a repository path), so that CI annotates the broken file.
fn check_unreadable(a: &CheckArgs, mut f: Finding, diag: &mut Diag) -> Result<ExitCode> {
    diag.say(&format!("pvc-resize: error: {f}"));
    let format = format_of(&a.format);
    if format != Format::Text {
        if let Some(loc) = f.location.as_mut()
            && let Some((_, path)) = git_spec(&loc.file)
        {
            loc.file = path.to_owned();
        }
        let report = Report::new("check", vec![f]);
        deliver(a.output.as_deref(), &output::render(&report, format, false))?;
    }
    Ok(ExitCode::from(2))
}

/// `--allow-removed STS`: the removal of that StatefulSet is deliberate; its finding becomes a
/// warning that says so. A name that matches no removed StatefulSet is refused (a typo would
/// otherwise accept nothing, silently).
fn accept_removed(findings: &mut [Finding], allowed: &[String]) -> Result<()> {
    for name in allowed {
        let path = format!("StatefulSet/{name}");
        let found = findings
            .iter_mut()
            .filter(|f| f.id == "statefulset-removed" && f.path.as_deref() == Some(path.as_str()));
        let mut any = false;
        for f in found {
            any = true;
            f.severity = Severity::Warning;
            f.message
                .push_str(&format!(" (accepted by --allow-removed {name})"));
        }
        if !any {
            let removed: Vec<&str> = findings
                .iter()
                .filter(|f| f.id == "statefulset-removed")
                .filter_map(|f| f.path.as_deref()?.strip_prefix("StatefulSet/"))
                .collect();
            bail!(fsutil::hinted(
                format!(
                    "--allow-removed {name}: the new render does not remove a StatefulSet of that name"
                ),
                if removed.is_empty() {
                    "drop --allow-removed: no StatefulSet is removed".to_owned()
                } else {
                    format!("the removed ones are: {}", removed.join(", "))
                }
            ));
        }
    }
    Ok(())
}

fn run_check(a: CheckArgs, diag: &mut Diag) -> Result<ExitCode> {
    let base = a
        .base_manifests
        .clone()
        .or(a.base.clone())
        .expect("clap requires --base");
    let head = a
        .head_manifests
        .clone()
        .or(a.head.clone())
        .expect("clap requires --head");
    let mut findings = match check_findings(&a, &base, &head, diag)? {
        Checked::Findings(f) => f,
        Checked::Unreadable(f) => return check_unreadable(&a, *f, diag),
    };
    accept_removed(&mut findings, &a.allow_removed)?;
    check::mark_blocking(&mut findings, a.strict);
    // A base read from git is the same file at another revision: its places name the PATH, so
    // that annotations resolve, and the label names the revision.
    if let Some((rev, path)) = git_spec(&base) {
        for r in findings.iter_mut().flat_map(|f| f.related.iter_mut()) {
            if r.file == base {
                r.file = path.to_owned();
                r.label = Some(format!("base ({rev})"));
            }
        }
    }
    let mut report = Report::new("check", findings);
    report.details.insert("base".into(), base.into());
    report.details.insert("head".into(), head.into());
    report.details.insert("strict".into(), a.strict.into());
    let color = product_color(&a.color, a.output.as_deref());
    let out = output::render(&report, format_of(&a.format), color);
    deliver(a.output.as_deref(), &out)?;
    diag.say(&format!(
        "pvc-resize: {} error(s), {} warning(s), {} notice(s){}",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Notice),
        if report.blocking() { "; blocking" } else { "" }
    ));
    Ok(ExitCode::from(u8::from(report.blocking())))
}

/// `verify-render`: the upgrade's render against the release's manifest (the script's preflight).
fn run_verify_render(a: VerifyRenderArgs, diag: &mut Diag) -> Result<ExitCode> {
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
        .collect();
    let problems = verify::problems(&base, manifest, &targets, &size.text)
        .map_err(|e| anyhow!("{}: {e}", a.dry_run))?;
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

fn run_plan(a: PlanArgs, diag: &mut Diag) -> Result<ExitCode> {
    let size = parse_size(&a.size)?;
    let manifests = fsutil::read_text(&a.manifests).map_err(|e| anyhow!(e))?;
    let manifests_name = if a.manifests == "-" {
        "<stdin>"
    } else {
        a.manifests.as_str()
    };
    let values = a
        .values
        .as_deref()
        .map(|f| fsutil::read_text(f).map(|t| (f, t)))
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let cluster = a
        .cluster
        .as_deref()
        .map(|f| fsutil::read_text(f).map(|t| (f, t)))
        .transpose()
        .map_err(|e| anyhow!(e))?;
    let discover = chart_discovery(&a, diag)?;
    let input = plan::Input {
        release: &a.release,
        namespace: &a.namespace,
        size: &size,
        manifests_name,
        manifests: &manifests,
        values: values.as_ref().map(|(f, t)| (*f, t.as_str())),
        values_path: a.path.as_deref(),
        statefulsets: &a.statefulsets,
        claim: &a.claim,
        chart: a.chart.as_deref(),
        cluster: cluster.as_ref().map(|(f, t)| (*f, t.as_str())),
        kubernetes_version: &a.kubernetes_version,
        kube_context: a.kube_context.as_deref(),
        chart_version: a.version.as_deref(),
        chart_name: None,
        post_renderer_only: a.format == "flux",
        discover: discover.as_deref(),
    };
    let plan = plan::build(&input).map_err(|e| anyhow!(e))?;
    let out = match a.format.as_str() {
        "markdown" => plan_render::markdown(&plan),
        "json" => plan_render::json(&plan),
        "flux" => pvc_resize::commands::gitops::flux(&plan, &manifests).map_err(|e| anyhow!(e))?,
        "argocd" => pvc_resize::commands::gitops::argocd(&plan),
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
            plan_render::blocked_script(&plan)
        }
        "script" => plan_render::script(&plan).map_err(|e| anyhow!(e))?,
        _ => {
            let color = product_color("auto", a.output.as_deref());
            plan_render::text(&plan, &plan_render::Style { color })
        }
    };
    deliver(a.output.as_deref(), &out)?;
    Ok(ExitCode::from(u8::from(plan.blocking)))
}

/// With `--chart` naming a local chart and Helm at hand: the function that proves each target's
/// values path on it. Without Helm the plan falls back to the built-in table (said on stderr).
fn chart_discovery(
    a: &PlanArgs,
    diag: &mut Diag,
) -> Result<Option<Box<plan::chart::Discover<'static>>>> {
    use pvc_resize::charts::{paths, prove, source};
    let Some(dir) = a.chart.as_deref().and_then(source::local) else {
        return Ok(None);
    };
    let chart = source::read(dir).map_err(|e| anyhow!("--chart {e}"))?;
    let Some(helm) = prove::find_helm(a.helm.as_deref()) else {
        diag.say(&format!(
            "pvc-resize: {} not found: the values paths of --chart {} are not proven; the built-in table is used (pass --helm PROGRAM)",
            a.helm.as_deref().unwrap_or("helm"),
            dir.display()
        ));
        return Ok(None);
    };
    let renderer = prove::Renderer {
        helm,
        chart: dir.display().to_string(),
        release: a.release.clone(),
        namespace: a.namespace.clone(),
        values: a.values.iter().cloned().collect(),
    };
    Ok(Some(Box::new(
        move |wants: &[prove::ClaimId], first: Option<&str>| {
            paths::discover(&chart, &renderer, wants, first)
        },
    )))
}

/// The files of a path: itself, or every file under a folder (recursively, in name order; with
/// `yaml_only`, the `.yaml` and `.yml` files).
fn files_under(path: &str, yaml_only: bool) -> Result<Vec<String>> {
    let p = std::path::Path::new(path);
    if path == "-" || !p.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![p.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("{}: cannot read the folder", d.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("{}: cannot read the folder", d.display()))?;
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if !yaml_only || path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(path.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_all(paths: &[String], yaml_only: bool) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for p in paths {
        for f in files_under(p, yaml_only)? {
            let text = fsutil::read_text(&f).map_err(|e| anyhow!(e))?;
            out.push((f, text));
        }
    }
    Ok(out)
}

/// The modification time of a file in ms since the epoch (now for stdin): the time of its
/// samples that carry no timestamp.
fn file_time_ms(path: &str) -> i64 {
    let t = if path == "-" {
        Some(std::time::SystemTime::now())
    } else {
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    };
    t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

fn run_advise(a: AdviseArgs, diag: &mut Diag) -> Result<ExitCode> {
    use pvc_resize::commands::advise::{self, metrics, policy};
    let policy = policy::Policy {
        target_bp: policy::parse_percent("--target-usage", &a.target_usage)
            .map_err(|e| anyhow!(e))?,
        min_step: policy::parse_step(&a.min_step).map_err(|e| anyhow!(e))?,
        max: a
            .max
            .as_deref()
            .map(parse_size)
            .transpose()
            .context("--max")?,
        horizon_ms: policy::parse_duration("--horizon", &a.horizon).map_err(|e| anyhow!(e))?,
    };
    let metric_files = read_all(&a.metrics, false)?;
    let sources: Vec<metrics::Source<'_>> = metric_files
        .iter()
        .map(|(f, t)| metrics::Source {
            name: if f == "-" { "<stdin>" } else { f },
            text: t,
            default_time_ms: file_time_ms(f),
        })
        .collect();
    let cluster = fsutil::read_text(&a.cluster).map_err(|e| anyhow!(e))?;
    let values = read_all(&a.values, true)?;
    let manifests = read_all(&a.manifests, true)?;
    let input = advise::Input {
        metrics: &sources,
        cluster: (&a.cluster, &cluster),
        values: &values,
        manifests: &manifests,
        policy,
        settings: advise::Settings {
            target_usage: a.target_usage.clone(),
            min_step: a.min_step.clone(),
            max: a.max.clone(),
            horizon: a.horizon.clone(),
        },
    };
    let advice = advise::advise(&input).map_err(|e| anyhow!(e))?;
    let out = match a.format.as_str() {
        "markdown" => advise::render::markdown(&advice),
        "json" => advise::render::json(&advice),
        "github" | "sarif" => output::render(
            &Report::new("advise", advice.findings.clone()),
            format_of(&a.format),
            false,
        ),
        _ => advise::render::text(
            &advice,
            output::text::Style {
                color: stdout_color(&a.color),
            },
        ),
    };
    emit(out.as_bytes())?;
    let acting = advice.groups.iter().filter(|g| g.needs_action).count();
    diag.say(&format!(
        "pvc-resize: {} volume group(s), {acting} need action within {}; {} error(s), {} warning(s), {} notice(s)",
        advice.groups.len(),
        a.horizon,
        advice.findings.iter().filter(|f| f.severity == Severity::Error).count(),
        advice.findings.iter().filter(|f| f.severity == Severity::Warning).count(),
        advice.findings.iter().filter(|f| f.severity == Severity::Notice).count(),
    ));
    Ok(ExitCode::from(u8::from(advice.needs_action)))
}
