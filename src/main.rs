//! The `pvc-resize` command line: argument parsing, reading and writing, exit codes.
//!
//! Exit status, the same for every command: 0 done / nothing wrong; 1 a check found something;
//! 2 the tool could not do what was asked. stdout carries only the product.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use pvc_resize::check;
use pvc_resize::fsutil;
use pvc_resize::patch::PatchSet;
use pvc_resize::plan;
use pvc_resize::plan_render;
use pvc_resize::post_render::{self, Options};
use pvc_resize::quantity::Size;
use pvc_resize::render;
use pvc_resize::schema;
use pvc_resize::validate;
use pvc_resize::values::{self, Change, ValuesPath};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pvc-resize",
    version,
    about = "Grow the volumes of Helm-managed StatefulSets (Kafka first), offline and reviewed",
    long_about = "Grow the volumes of Helm-managed StatefulSets (Kafka first), offline and reviewed.\n\n\
        Exit status: 0 done (nothing wrong), 1 a check found something (--check would change the file), \
        2 the tool could not do what was asked (bad input, invalid size, a refused shrink, nothing matched).",
    after_help = "Examples:\n  \
        pvc-resize values fixtures/posthog-values.yaml --size 50Gi\n  \
        pvc-resize values values.yaml --size 50Gi --write\n  \
        helm template posthog posthog/posthog -f values.yaml | pvc-resize post-render --size 50Gi\n  \
        helm upgrade posthog posthog/posthog -f values.yaml --post-renderer pvc-resize \\\n    \
        --post-renderer-args post-render --post-renderer-args --size --post-renderer-args 50Gi"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Change one size in a values file, keeping every other byte
    #[command(after_help = "Examples:\n  \
        pvc-resize values values.yaml --size 50Gi                 # print the diff, write nothing\n  \
        pvc-resize values values.yaml --size 50Gi --write         # replace the file atomically\n  \
        pvc-resize values values.yaml --size 50Gi --check         # exit 1 when the file would change\n  \
        pvc-resize values values.yaml --size 50Gi --path broker.persistence.size\n\n\
        Missing keys are inserted with the file's own indentation; a shrink, an alias (*) or a merge key (<<)\n\
        on the path is refused with exit 2. A literal dot in a key is written `\\.`.")]
    Values(ValuesArgs),
    /// Helm post-renderer: manifests on stdin, the same manifests on stdout with the claim templates grown
    #[command(after_help = "Examples:\n  \
        helm template posthog posthog/posthog -f values.yaml | pvc-resize post-render --size 50Gi\n  \
        pvc-resize post-render --size 50Gi --statefulset kafka-broker < rendered.yaml\n  \
        helm upgrade posthog posthog/posthog -n posthog -f values.yaml --post-renderer pvc-resize \\\n    \
        --post-renderer-args post-render --post-renderer-args --size --post-renderer-args 50Gi   (Helm 3)\n  \
        helm upgrade ... --post-renderer pvc-resize --post-renderer-args --size --post-renderer-args 50Gi  (Helm 4 plugin)\n\n\
        Without --statefulset, the StatefulSets of the `kafka` chart are picked (exactly one must exist).\n\
        Every byte outside the edited sizes is kept. On any error nothing is written to stdout and the exit\n\
        status is 2, so Helm stops instead of applying a partial release. Helm 4 drops a plugin's stderr:\n\
        use --log FILE to keep the diagnostics.")]
    PostRender(PostRenderArgs),
    /// Validate values files and rendered manifests against the bundled JSON schemas
    #[command(after_help = "Examples:\n  \
        pvc-resize validate --values values.yaml\n  \
        pvc-resize validate --values values.yaml --values-schema charts/kafka/values.schema.json\n  \
        helm template posthog posthog/posthog -f values.yaml | pvc-resize validate --manifests -\n  \
        pvc-resize validate --manifests rendered.yaml --kubernetes-version 1.37\n\n\
        Findings go to stdout as FILE:LINE:COL: error: MESSAGE (at JSON-POINTER), every error of every file,\n\
        then a summary on stderr. Exit 1 when something is invalid, 2 when a file can't be read or parsed.\n\
        Strict: unknown fields are errors, and every storage size must follow Kubernetes' quantity grammar.")]
    Validate(ValidateArgs),
    /// Pre-merge check of a values change: classifies every persistence change
    #[command(after_help = "Examples:\n  \
        pvc-resize check --base origin/main:deploy/values.yaml --head deploy/values.yaml\n  \
        pvc-resize check --base old-values.yaml --head values.yaml --format github\n  \
        pvc-resize check --base HEAD:values.yaml --head values.yaml --strict --format json\n\n\
        --base and --head are files, or REV:PATH read with `git show` (PATH from the repository's root).\n\
        Checked: the persistence blocks of PostHog (kafka., zookeeper.) and Bitnami Kafka (persistence,\n\
        controller., broker.), and any --path. Exit 0 when nothing blocks, 1 when a finding blocks (errors;\n\
        with --strict also warnings and growth, which needs the resize procedure), 2 when an input can't be read.")]
    Check(CheckArgs),
    /// The whole resize procedure for one release: findings, ordered commands, diffs
    #[command(after_help = "Examples:\n  \
        helm template posthog posthog/posthog -n posthog -f values.yaml | \\\n    \
        pvc-resize plan --release posthog --namespace posthog --size 50Gi --manifests - --values values.yaml\n  \
        kubectl get storageclass,pvc,statefulset -n posthog -o yaml > cluster.yaml\n  \
        pvc-resize plan ... --cluster cluster.yaml --format markdown     # for the pull request\n  \
        pvc-resize plan ... --chart posthog/posthog --format script > resize.sh && bash resize.sh\n\n\
        Exit 0 for a plan with no blocking finding, 1 when one exists (the plan is still printed; a script\n\
        is not), 2 when the inputs can't be used. Every name is checked against Kubernetes' rules and every\n\
        argument is shell-quoted.")]
    Plan(PlanArgs),
}

#[derive(Args)]
struct PlanArgs {
    /// The Helm release name
    #[arg(long)]
    release: String,
    /// The release's namespace
    #[arg(long)]
    namespace: String,
    /// The new size, a Kubernetes quantity such as 50Gi
    #[arg(long, allow_hyphen_values = true)]
    size: String,
    /// The rendered manifests (`helm template` output; `-` for stdin)
    #[arg(long, value_name = "FILE")]
    manifests: String,
    /// The values file to change (its diff is shown; the script writes it)
    #[arg(long, value_name = "FILE")]
    values: Option<String>,
    /// Dotted values path of the size (default: inferred from the chart, e.g. kafka.persistence.size)
    #[arg(long, value_name = "P")]
    path: Option<String>,
    /// StatefulSet to grow: exact name or a glob with * (repeatable). Default: the `kafka` chart's
    #[arg(long = "statefulset", value_name = "NAME")]
    statefulsets: Vec<String>,
    /// Name of the volumeClaimTemplate to grow
    #[arg(long, default_value = "data")]
    claim: String,
    /// The chart reference for helm upgrade (e.g. posthog/posthog or ./charts/posthog)
    #[arg(long, value_name = "REF")]
    chart: Option<String>,
    /// A snapshot: `kubectl get storageclass,pvc,statefulset -n NS -o yaml`
    #[arg(long, value_name = "FILE")]
    cluster: Option<String>,
    /// Output format
    #[arg(long, default_value = "text", value_parser = ["text", "markdown", "json", "script"])]
    format: String,
    /// The Kubernetes version whose strict schemas the changed StatefulSets must pass
    #[arg(long, default_value = schema::DEFAULT_KUBERNETES_VERSION, value_parser = kubernetes_versions())]
    kubernetes_version: String,
}

#[derive(Args)]
struct CheckArgs {
    /// The values file before the change: a file, or REV:PATH (e.g. origin/main:deploy/values.yaml)
    #[arg(long)]
    base: String,
    /// The values file after the change: a file, or REV:PATH
    #[arg(long)]
    head: String,
    /// Another persistence block to check, as a dotted path (e.g. clickhouse.persistence); repeatable
    #[arg(long = "path", value_name = "P")]
    paths: Vec<String>,
    /// Output format
    #[arg(long, default_value = "text", value_parser = ["text", "json", "github"])]
    format: String,
    /// Also block on warnings (decimal sizes) and on growth (which needs the resize procedure)
    #[arg(long)]
    strict: bool,
}

#[derive(Args)]
struct ValuesArgs {
    /// The values file (`-` reads stdin)
    file: String,
    /// The new size, a Kubernetes quantity such as 50Gi
    #[arg(long, allow_hyphen_values = true)]
    size: String,
    /// Dotted path of the size in the values file
    #[arg(long, default_value = values::DEFAULT_PATH)]
    path: String,
    /// Replace the file (atomically) instead of printing the diff
    #[arg(long, conflicts_with = "check")]
    write: bool,
    /// Print the diff and exit 1 when the file would change
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct PostRenderArgs {
    /// The new size of the claim templates, a Kubernetes quantity such as 50Gi
    #[arg(long, allow_hyphen_values = true)]
    size: Option<String>,
    /// StatefulSet to grow: exact name or a glob with * (repeatable). Default: the `kafka` chart's
    #[arg(long = "statefulset", value_name = "NAME")]
    statefulsets: Vec<String>,
    /// Name of the volumeClaimTemplate to grow
    #[arg(long, default_value = "data")]
    claim: String,
    /// A file of RFC 6902 patches with targets (repeatable); see schema/patch-file.schema.json
    #[arg(long = "patch", value_name = "FILE")]
    patches: Vec<String>,
    /// Also write diagnostics to this file (Helm 4 discards a post-renderer's stderr)
    #[arg(long, value_name = "FILE")]
    log: Option<String>,
    /// Parse every document, not only those that could be selected (slower; Helm already parsed them)
    #[arg(long)]
    parse_all: bool,
    /// The Kubernetes version whose strict schemas every changed document must pass
    #[arg(long, default_value = schema::DEFAULT_KUBERNETES_VERSION, value_parser = kubernetes_versions())]
    kubernetes_version: String,
}

fn kubernetes_versions() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(schema::KUBERNETES_SCHEMAS.iter().map(|(v, _)| *v))
}

#[derive(Args)]
struct ValidateArgs {
    /// A values file: its persistence blocks (and, with --values-schema, the whole file) are checked (repeatable)
    #[arg(long = "values", value_name = "FILE")]
    values: Vec<String>,
    /// A chart's values.schema.json to apply to every --values file, as Helm does
    #[arg(long, value_name = "FILE")]
    values_schema: Option<String>,
    /// A manifest stream (`helm template` output; `-` for stdin): StatefulSets, PVCs and StorageClasses are checked (repeatable)
    #[arg(long = "manifests", value_name = "FILE")]
    manifests: Vec<String>,
    /// The Kubernetes version of the strict schemas
    #[arg(long, default_value = schema::DEFAULT_KUBERNETES_VERSION, value_parser = kubernetes_versions())]
    kubernetes_version: String,
}

/// Where diagnostics go: stderr, and a log file when asked.
struct Diag {
    log: Option<std::fs::File>,
}

impl Diag {
    fn say(&mut self, line: &str) {
        eprintln!("{line}");
        if let Some(f) = &mut self.log {
            let _ = writeln!(f, "{line}");
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let mut diag = Diag { log: None };
    let result = match cli.command {
        Command::Values(a) => run_values(a, &mut diag),
        Command::PostRender(a) => run_post_render(a, &mut diag),
        Command::Validate(a) => run_validate(a, &mut diag),
        Command::Check(a) => run_check(a, &mut diag),
        Command::Plan(a) => run_plan(a, &mut diag),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            diag.say(&format!("pvc-resize: error: {e:#}"));
            ExitCode::from(2)
        }
    }
}

fn parse_size(text: &str) -> Result<Size> {
    Size::parse(text).context("--size")
}

fn run_values(a: ValuesArgs, diag: &mut Diag) -> Result<ExitCode> {
    let size = parse_size(&a.size)?;
    let path = ValuesPath::parse(&a.path).map_err(|e| anyhow!("--path: {e}"))?;
    if a.write && a.file == "-" {
        bail!("--write needs a file, not stdin");
    }
    let src = fsutil::read_text(&a.file).map_err(|e| anyhow!(e))?;
    let name = if a.file == "-" {
        "<stdin>"
    } else {
        a.file.as_str()
    };
    let edit = values::set_size(&src, &path, &size).map_err(|e| anyhow!("{name}:{e}"))?;
    for w in &edit.warnings {
        diag.say(&format!("pvc-resize: warning: {name}: {w}"));
    }
    match &edit.change {
        Change::Unchanged { old, pos } => {
            diag.say(&format!(
                "pvc-resize: {name}:{pos}: {path} is already {old} (equal by value to {}); nothing to change",
                size.text
            ));
            return Ok(ExitCode::SUCCESS);
        }
        Change::Replaced { old, pos } => diag.say(&format!(
            "pvc-resize: {name}:{pos}: {path}: {old} -> {}",
            size.describe()
        )),
        Change::Inserted { pos } => diag.say(&format!(
            "pvc-resize: {name}:{pos}: {path}: inserted {}",
            size.describe()
        )),
    }
    if a.write {
        fsutil::replace_file(&a.file, &src, &edit.output).map_err(|e| anyhow!(e))?;
        diag.say(&format!("pvc-resize: wrote {name}"));
        return Ok(ExitCode::SUCCESS);
    }
    let diff = render::unified_diff(&src, &edit.output, name);
    if emit(diff.as_bytes())? && a.check {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the product to stdout. A closed pipe (`| head`) is not an error; returns false then.
fn emit(bytes: &[u8]) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
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
            .with_context(|| format!("--log {path}"))?;
        diag.log = Some(f);
    }
    if a.size.is_none() && a.patches.is_empty() {
        bail!(
            "post-render needs --size Q and/or --patch FILE; see `pvc-resize post-render --help`"
        );
    }
    if a.claim.is_empty() {
        bail!("--claim must not be empty");
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
    };
    let outcome = post_render::post_render(&input, &opts).map_err(|e| anyhow!("<stdin>:{e}"))?;
    for w in &outcome.warnings {
        diag.say(&format!("pvc-resize: warning: {w}"));
    }
    for c in &outcome.claims {
        let what = if c.changed {
            format!("{} -> {}", c.old, c.new)
        } else {
            format!("is already {} (equal to {}); left as it is", c.old, c.new)
        };
        diag.say(&format!(
            "pvc-resize: <stdin>:{}: StatefulSet {} claim {}: {what}",
            c.pos, c.statefulset, c.claim
        ));
    }
    for p in &outcome.patched {
        diag.say(&format!("pvc-resize: patched {p}"));
    }
    diag.say(&format!(
        "pvc-resize: {} documents in, {} out",
        outcome.documents, outcome.documents
    ));
    emit(outcome.output.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn run_validate(a: ValidateArgs, diag: &mut Diag) -> Result<ExitCode> {
    if a.values.is_empty() && a.manifests.is_empty() {
        bail!("nothing to validate: give --values FILE and/or --manifests FILE");
    }
    if a.values_schema.is_some() && a.values.is_empty() {
        bail!("--values-schema applies to --values files; give at least one");
    }
    let chart_schema = match &a.values_schema {
        Some(path) => {
            let text = fsutil::read_text(path).map_err(|e| anyhow!(e))?;
            Some(schema::compile_user_schema(path, &text).map_err(|e| anyhow!(e))?)
        }
        None => None,
    };
    let (mut valid, mut invalid, mut skipped, mut broken) = (0, 0, 0, 0);
    let mut out = String::new();
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
        let report = fsutil::read_text(file).and_then(|text| {
            if is_values {
                validate::values_file(name, &text, chart_schema.as_ref())
            } else {
                validate::manifest_stream(name, &text, &a.kubernetes_version)
            }
        });
        match report {
            Ok(r) => {
                for f in &r.findings {
                    out.push_str(&f.to_string());
                    out.push('\n');
                }
                valid += r.valid;
                invalid += r.invalid;
                skipped += r.skipped;
            }
            Err(e) => {
                // One unreadable file doesn't stop the others.
                broken += 1;
                diag.say(&format!("pvc-resize: error: {e}"));
            }
        }
    }
    emit(out.as_bytes())?;
    diag.say(&format!(
        "pvc-resize: {valid} valid, {invalid} invalid, {skipped} skipped (no bundled schema for the kind), \
         {broken} unreadable (Kubernetes {} schemas)",
        a.kubernetes_version
    ));
    Ok(ExitCode::from(if broken > 0 {
        2
    } else if invalid > 0 {
        1
    } else {
        0
    }))
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
    if git_spec(spec).is_none() {
        return fsutil::read_text(spec).map_err(|e| anyhow!(e));
    }
    let out = std::process::Command::new("git")
        .args(["show", spec])
        .output()
        .with_context(|| format!("{spec}: cannot run git"))?;
    if !out.status.success() {
        bail!(
            "{spec}: git show failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    fsutil::bytes_to_text(spec, out.stdout).map_err(|e| anyhow!(e))
}

fn run_check(a: CheckArgs, diag: &mut Diag) -> Result<ExitCode> {
    let base = check::Side::parse(&a.base, &read_revision(&a.base)?).map_err(|e| anyhow!(e))?;
    let head = check::Side::parse(&a.head, &read_revision(&a.head)?).map_err(|e| anyhow!(e))?;
    let findings = check::compare(&base, &head, &a.paths);
    let blocking = findings.iter().any(|f| check::blocks(f, a.strict));
    // The file annotations point at: the head's path (without a REV: prefix).
    let file = git_spec(&a.head).map_or(a.head.as_str(), |(_, path)| path);
    let mut out = String::new();
    match a.format.as_str() {
        "json" => {
            let items: Vec<serde_json::Value> = findings
                .iter()
                .map(|f| {
                    let mut v = serde_json::to_value(f).expect("findings serialise");
                    v["blocking"] = serde_json::Value::Bool(check::blocks(f, a.strict));
                    v
                })
                .collect();
            let report = serde_json::json!({
                "version": 1, "base": a.base, "head": a.head, "strict": a.strict,
                "blocking": blocking, "findings": items,
            });
            out = serde_json::to_string_pretty(&report).expect("report serialises") + "\n";
        }
        "github" => {
            for f in &findings {
                out.push_str(&check::github_line(file, f));
                out.push('\n');
            }
        }
        _ => {
            for f in &findings {
                out.push_str(&format!(
                    "{file}:{}:{}: {}[{}]: {}\n",
                    f.line, f.column, f.severity, f.code, f.message
                ));
            }
        }
    }
    emit(out.as_bytes())?;
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    diag.say(&format!(
        "pvc-resize: {} error(s), {} warning(s), {} notice(s){}",
        count(check::Severity::Error),
        count(check::Severity::Warning),
        count(check::Severity::Notice),
        if blocking { "; blocking" } else { "" }
    ));
    Ok(ExitCode::from(u8::from(blocking)))
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
    };
    let plan = plan::build(&input).map_err(|e| anyhow!(e))?;
    let out = match a.format.as_str() {
        "markdown" => plan_render::markdown(&plan),
        "json" => plan_render::json(&plan),
        "script" => match plan_render::script(&plan) {
            Ok(s) => s,
            Err(e) if plan.blocking => {
                for f in plan.findings.iter().filter(|f| f.severity == "blocking") {
                    diag.say(&format!("pvc-resize: blocking [{}]: {}", f.code, f.message));
                }
                diag.say(&format!("pvc-resize: {e}"));
                return Ok(ExitCode::from(1));
            }
            Err(e) => bail!(e),
        },
        _ => {
            use std::io::IsTerminal;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            plan_render::text(&plan, &plan_render::Style { color })
        }
    };
    emit(out.as_bytes())?;
    Ok(ExitCode::from(u8::from(plan.blocking)))
}
