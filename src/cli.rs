//! The command line's shape: clap types only. `main.rs` dispatches on them and maps results to
//! exit codes; nothing here reads a file or prints.

use clap::{Args, Parser, Subcommand};
use pvc_resize::commands::values;
use pvc_resize::k8s::{schema, versions};
use pvc_resize::output::{ColorChoice, Format};

#[derive(Parser)]
#[command(
    name = "pvc-resize",
    version = env!("PVC_RESIZE_LONG_VERSION"),
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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        # Helm 3 (the executable on PATH):\n  \
        helm upgrade posthog posthog/posthog -n posthog -f values.yaml --post-renderer pvc-resize \\\n    \
        --post-renderer-args post-render --post-renderer-args --size --post-renderer-args 50Gi\n  \
        # Helm 4 (the postrenderer/v1 plugin, which passes post-render itself):\n  \
        helm upgrade ... --post-renderer pvc-resize --post-renderer-args --size --post-renderer-args 50Gi\n  \
        # apiVersion/kind in claim templates (Argo CD):\n  \
        helm template ... | pvc-resize post-render --claim-typemeta\n\n\
        Without --statefulset, the StatefulSets of the `kafka` chart are picked (exactly one must exist).\n\
        Every byte outside the edited sizes is kept. On any error nothing is written to stdout and the exit\n\
        status is 2, so Helm stops instead of applying a partial release. Run by Helm 4 as its plugin\n\
        (which drops stderr and the exit status), diagnostics go to $HELM_PLUGIN_DIR/post-render.log\n\
        (or --log FILE), and an error comes back as a non-manifest document that Helm refuses and prints.")]
    PostRender(PostRenderArgs),
    /// Validate values files and rendered manifests against the bundled JSON schemas
    #[command(after_help = "Examples:\n  \
        pvc-resize validate --values values.yaml\n  \
        pvc-resize validate --values values.yaml --values-schema charts/kafka/values.schema.json\n  \
        helm template posthog posthog/posthog -f values.yaml | pvc-resize validate --manifests -\n  \
        pvc-resize validate --manifests rendered.yaml --kubernetes-version 1.37\n\n\
        Findings go to stdout as FILE:LINE:COL: error[ID]: MESSAGE (at JSON-POINTER), each with a hint,\n\
        every error of every file, then a summary on stderr (--format json|github|sarif for machines). Exit 1 when something is invalid, 2 when a file can't be read or parsed.\n\
        Strict: unknown fields are errors, and every storage size must follow Kubernetes' quantity grammar.")]
    Validate(ValidateArgs),
    /// Pre-merge check of a values change (every persistence change) or of two renders (every
    /// StatefulSet change that Kubernetes forbids)
    #[command(after_help = "Examples:\n  \
        pvc-resize check --base origin/main:deploy/values.yaml --head deploy/values.yaml\n  \
        pvc-resize check --base old-values.yaml --head values.yaml --format github\n  \
        pvc-resize check --base HEAD:values.yaml --head values.yaml --strict --format json\n  \
        # spec: Forbidden, before the upgrade:\n  \
        helm get manifest kafka -n kafka > old.yaml\n  \
        helm template kafka ./chart -n kafka -f values.yaml > new.yaml\n  \
        pvc-resize check --base-manifests old.yaml --head-manifests new.yaml\n\n\
        --base and --head are files, or REV:PATH read with `git show` (PATH from the repository's root).\n\
        Checked: the persistence blocks of PostHog (kafka., zookeeper.) and Bitnami Kafka (persistence,\n\
        controller., broker.), and any --path. Exit 0 when nothing blocks, 1 when a finding blocks (errors;\n\
        with --strict also warnings and growth, which needs the resize procedure), 2 when an input can't be read.")]
    Check(CheckArgs),
    /// The whole resize procedure for one release: findings, ordered commands, diffs
    #[command(after_help = "Examples:\n  \
        helm template posthog posthog/posthog -n posthog -f values.yaml | \\\n    \
        pvc-resize plan --release posthog --namespace posthog --size 50Gi --manifests - \\\n    \
        --values values.yaml\n  \
        kubectl --context prod get storageclass,pvc,statefulset -n posthog -o yaml > cluster.yaml\n  \
        pvc-resize plan ... --cluster cluster.yaml --format markdown     # for the pull request\n  \
        pvc-resize plan ... --chart posthog/posthog --kube-context prod --format script > resize.sh\n  \
        pvc-resize plan ... --format flux > helmrelease-patch.yaml   # Flux: postRenderers patch + steps\n  \
        pvc-resize plan ... --format argocd                          # Argo CD: the steps around one sync\n\n\
        Exit 0 for a plan with no blocking finding, 1 when one exists (the plan is still printed; a script\n\
        is not), 2 when the inputs can't be used. Every name is checked against Kubernetes' rules and every\n\
        argument is shell-quoted.")]
    Plan(PlanArgs),
    /// From kubelet volume metrics and a cluster snapshot: usage per claim template and ordinal, days
    /// to full, the size to grow to, drift between values and live PVCs, and the next step
    #[command(after_help = "Examples:\n  \
        kubectl get --raw /api/v1/nodes/NODE/proxy/metrics > m.txt     # one file per node\n  \
        kubectl get pvc,sts,sc -A -o yaml > cluster.yaml\n  \
        pvc-resize advise --metrics m.txt --cluster cluster.yaml --values values.yaml --format markdown\n  \
        pvc-resize advise --metrics metrics/ --cluster cluster.yaml --values gitops/ --manifests renders/ \\\n    \
        --target-usage 75% --horizon 30d --max 2Ti --format json\n  \
        # growth from Prometheus (an /api/v1/query_range export of kubelet_volume_stats_*):\n  \
        pvc-resize advise --metrics range.json --cluster cluster.yaml --format github\n\n\
        Usage is df's Use%: used / (used + available). Growth needs two or more samples in time: a\n\
        query_range export, exposition lines with timestamps, or several files taken at different times\n\
        (a sample without a timestamp is at its file's modification time). The proposed size keeps every\n\
        ordinal at or below --target-usage at the end of --horizon, grows by at least --min-step, is whole\n\
        GiB, at most --max, and never below the largest live PVC. Values files are matched to releases by\n\
        name (RELEASE.yaml, RELEASE/values.yaml, NAMESPACE/RELEASE/...).\n\
        Exit 0 when nothing needs action within --horizon, 1 when something does (or a values file is\n\
        smaller than the live PVCs), 2 when the inputs can't be used (the error names FILE:LINE).")]
    Advise(AdviseArgs),
    /// Lay out a ready Helm 4 post-renderer plugin folder: plugin.yaml and this binary in bin/
    #[command(after_help = "Examples:\n  \
        pvc-resize helm-plugin ~/helm-plugins/pvc-resize && helm plugin install ~/helm-plugins/pvc-resize\n  \
        pvc-resize helm-plugin /tmp/pvc-resize && helm plugin package /tmp/pvc-resize --sign --key NAME\n\n\
        Helm 4 only (a `postrenderer/v1` plugin; Helm 3 must never see it in its plugins folder). An install\n\
        from a folder is a link to it: keep the folder. The folder is created if missing; an existing\n\
        pvc-resize plugin in it is replaced, any other plugin.yaml is refused.")]
    HelmPlugin(HelmPluginArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = "Examples:\n  \
        pvc-resize completions bash > ~/.local/share/bash-completion/completions/pvc-resize\n  \
        pvc-resize completions zsh > \"${fpath[1]}/_pvc-resize\"\n  \
        pvc-resize completions fish > ~/.config/fish/completions/pvc-resize.fish\n  \
        pvc-resize completions bash --output ~/.local/share/bash-completion/completions/pvc-resize")]
    Completions(CompletionsArgs),
    /// Print the man page, or write one page per command into a folder
    #[command(after_help = "Examples:\n  \
        pvc-resize man | man -l -\n  \
        pvc-resize man --dir /usr/local/share/man/man1")]
    Man(ManArgs),
    /// (For the resize script's preflight) which ResourceQuota or LimitRange would refuse growing
    /// these PVCs; exit 1 when one would
    #[command(hide = true)]
    QuotaCheck(QuotaCheckArgs),
    /// (For the resize script's preflight) whether the server of `kubectl version -o json` lets
    /// an update change a StatefulSet field; exit 1 when it refuses
    #[command(hide = true)]
    UpdateRules(UpdateRulesArgs),
    /// Check the render an upgrade would apply (the MANIFEST: of `helm upgrade --dry-run`) against the
    /// release's manifest: the target claim templates at the new size, every other claim unchanged
    #[command(after_help = "Example (the resize script's preflight runs it):\n  \
        helm upgrade --dry-run=server ... > dry-run.out\n  \
        helm get manifest posthog > release.yaml\n  \
        pvc-resize verify-render --dry-run dry-run.out --base release.yaml --size 50Gi \\\n    \
        --statefulset posthog-posthog-kafka --claim data --path kafka.persistence.size\n\n\
        Exit 0 when the render is as planned, 1 when it is not (each difference on stderr), 2 on bad input.")]
    VerifyRender(VerifyRenderArgs),
}

#[derive(Args)]
pub struct UpdateRulesArgs {
    /// The output of `kubectl version -o json` (`-` reads stdin)
    #[arg(long, value_name = "FILE")]
    pub kubectl_version: String,
    /// The StatefulSet spec field (revisionHistoryLimit)
    #[arg(long)]
    pub field: String,
}

#[derive(Args)]
pub struct QuotaCheckArgs {
    /// `kubectl get resourcequota,limitrange,pvc -n NS -o yaml` of the namespace
    #[arg(long, value_name = "FILE")]
    pub objects: String,
    /// The new size of the PVCs
    #[arg(long, allow_hyphen_values = true)]
    pub size: String,
    /// A PVC of the replicas: charged its growth, or the whole size when it does not exist yet
    #[arg(long = "pvc", value_name = "NAME")]
    pub pvcs: Vec<String>,
    /// A PVC beyond the replicas: charged its growth only when it exists
    #[arg(long = "pvc-if-exists", value_name = "NAME")]
    pub pvcs_if_exist: Vec<String>,
}

#[derive(Args)]
pub struct VerifyRenderArgs {
    /// The output of `helm upgrade --dry-run` (its MANIFEST: part is read)
    #[arg(long = "dry-run", value_name = "FILE")]
    pub dry_run: String,
    /// The release's manifest now (`helm get manifest RELEASE`)
    #[arg(long, value_name = "FILE")]
    pub base: String,
    /// The new size of the target claim templates
    #[arg(long, allow_hyphen_values = true)]
    pub size: String,
    /// A target StatefulSet (repeatable)
    #[arg(
        long = "statefulset",
        value_name = "NAME",
        required_unless_present_any = ["pvcs", "resources"]
    )]
    pub statefulsets: Vec<String>,
    /// A target PersistentVolumeClaim rendered by the chart (repeatable)
    #[arg(long = "pvc", value_name = "NAME")]
    pub pvcs: Vec<String>,
    /// A target claim template of a custom resource, KIND/NAME/CLAIM (repeatable)
    #[arg(long = "resource", value_name = "KIND/NAME/CLAIM")]
    pub resources: Vec<String>,
    /// The claim template of the targets
    #[arg(long, default_value = "data")]
    pub claim: String,
    /// The values path(s) the plan set, named in the messages
    #[arg(long = "path", value_name = "P")]
    pub paths: Vec<String>,
    /// The VolumeAttributesClass every target claim template must name in the render
    #[arg(long, value_name = "NAME")]
    pub volume_attributes_class: Option<String>,
}

#[derive(Args)]
pub struct HelmPluginArgs {
    /// The plugin folder to write (created if missing)
    pub dir: std::path::PathBuf,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell
    pub shell: clap_complete::Shell,
    /// Write the script to FILE instead of stdout: atomically, once it is whole
    #[arg(long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write pvc-resize.1 and pvc-resize-COMMAND.1 into this folder instead of printing pvc-resize.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,
}

/// The formats of `plan`; a new one is added here and in `run_plan`.
pub const PLAN_FORMATS: [&str; 8] = [
    "text", "markdown", "json", "script", "flux", "argocd", "github", "sarif",
];

#[derive(Args)]
pub struct PlanArgs {
    /// The Helm release name
    #[arg(long)]
    pub release: String,
    /// The release's namespace
    #[arg(long)]
    pub namespace: String,
    /// The new size, a Kubernetes quantity such as 50Gi (default with --volume-attributes-class:
    /// the size the render asks for)
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "volume_attributes_class"
    )]
    pub size: Option<String>,
    /// The VolumeAttributesClass the claim templates and the PVCs get (alone or with --size)
    #[arg(long, value_name = "NAME")]
    pub volume_attributes_class: Option<String>,
    /// The values path the chart reads the claim template's volumeAttributesClassName from
    /// (default: read in a local --chart's templates and proven with Helm)
    #[arg(long, value_name = "P", requires = "volume_attributes_class")]
    pub volume_attributes_class_path: Option<String>,
    /// The rendered manifests (`helm template` output; `-` for stdin)
    #[arg(long, value_name = "FILE")]
    pub manifests: String,
    /// The values file to change (its diff is shown; the script writes it)
    #[arg(long, value_name = "FILE")]
    pub values: Option<String>,
    /// Dotted values path of the size (default: inferred from the chart, e.g. kafka.persistence.size)
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
    /// StatefulSet to grow: exact name or a glob with * (repeatable). Default: the `kafka` chart's
    #[arg(long = "statefulset", value_name = "NAME")]
    pub statefulsets: Vec<String>,
    /// PersistentVolumeClaim the chart renders itself (a Deployment's disk) to grow: exact name or a
    /// glob with * (repeatable). Grown by the values change and the upgrade, no orphan delete
    #[arg(long = "pvc", value_name = "NAME")]
    pub pvcs: Vec<String>,
    /// The claim template of a custom resource to grow, as KIND/NAME or KIND/NAME/CLAIM (NAME may
    /// be a glob; repeatable), e.g. ClickHouseInstallation/posthog: the values change and the
    /// upgrade resize the template, and its operator grows the PVCs (no orphan delete, no patch).
    /// Resources whose operator does not grow PVCs are refused with the reason
    #[arg(long = "resource", value_name = "KIND/NAME")]
    pub resources: Vec<String>,
    /// Name of the volumeClaimTemplate to grow
    #[arg(long, default_value = "data")]
    pub claim: String,
    /// The chart reference for helm upgrade (e.g. posthog/posthog or ./charts/posthog). A local chart
    /// folder or .tgz is also read: the values path of each claim is found in it and proven with Helm
    #[arg(long, value_name = "REF")]
    pub chart: Option<String>,
    /// The Helm program that proves the values paths of a local --chart (default: helm on PATH)
    #[arg(long, value_name = "PROGRAM")]
    pub helm: Option<String>,
    /// The chart version the upgrade pins (default: the render's top-chart helm.sh/chart label)
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// The kube context of every kubectl (--context) and helm (--kube-context) call; the script needs it
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    pub kube_context: Option<String>,
    /// A snapshot: `kubectl get storageclass,pvc,statefulset,resourcequota,limitrange -n NS -o yaml`
    /// (ResourceQuotas and LimitRanges, when there, are checked against the grow)
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<String>,
    /// Output format
    #[arg(long, default_value = "text", value_parser = PLAN_FORMATS)]
    pub format: String,
    /// Write the product to FILE instead of stdout: atomically, once it is whole (an error that
    /// leaves no product leaves FILE as it was)
    #[arg(long, value_name = "FILE")]
    pub output: Option<String>,
    /// The Kubernetes version whose strict schemas the changed StatefulSets must pass
    #[arg(long, default_value = schema::DEFAULT_KUBERNETES_VERSION, value_parser = kubernetes_versions())]
    pub kubernetes_version: String,
}

#[derive(Args)]
pub struct CheckArgs {
    /// The values file before the change: a file, or REV:PATH (e.g. origin/main:deploy/values.yaml).
    /// A manifest stream here is recognised by its content and checked like --base-manifests
    #[arg(
        long,
        required_unless_present = "base_manifests",
        conflicts_with = "base_manifests"
    )]
    pub base: Option<String>,
    /// The values file after the change: a file, or REV:PATH (a manifest stream is recognised)
    #[arg(
        long,
        required_unless_present = "head_manifests",
        conflicts_with = "head_manifests"
    )]
    pub head: Option<String>,
    /// The render the cluster has (e.g. `helm get manifest RELEASE`), a file or REV:PATH: every
    /// StatefulSet change Kubernetes forbids is reported
    #[arg(long, value_name = "OLD", requires = "head_manifests")]
    pub base_manifests: Option<String>,
    /// The render of the change (e.g. `helm template ...`), a file or REV:PATH
    #[arg(long, value_name = "NEW", requires = "base_manifests")]
    pub head_manifests: Option<String>,
    /// Another persistence block to check, as a dotted path (e.g. clickhouse.persistence); repeatable
    #[arg(long = "path", value_name = "P")]
    pub paths: Vec<String>,
    /// The chart the values are for (a local folder or .tgz): its size paths, read from its templates
    /// and proven with Helm, replace the built-in table of known layouts, and the chart rendered
    /// with each side's values is compared by the StatefulSet update rules (values files only)
    #[arg(long, value_name = "DIR|TGZ", conflicts_with = "base_manifests")]
    pub chart: Option<String>,
    /// The Helm program that proves the paths of --chart (default: helm on PATH)
    #[arg(long, value_name = "PROGRAM", requires = "chart")]
    pub helm: Option<String>,
    /// The release name --chart renders both sides with (it is in the StatefulSets' names, e.g.
    /// for --allow-removed)
    #[arg(
        long,
        value_name = "NAME",
        requires = "chart",
        default_value = "release"
    )]
    pub release: String,
    /// Output format: text, JSON (schema/report.schema.json), GitHub workflow commands, SARIF 2.1.0
    #[arg(long, default_value = "text", value_parser = Format::NAMES)]
    pub format: String,
    /// Colour the text format: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, default_value = "auto", value_parser = ColorChoice::NAMES)]
    pub color: String,
    /// Also block on warnings (decimal sizes) and on growth (which needs the resize procedure)
    #[arg(long)]
    pub strict: bool,
    /// The Kubernetes version whose StatefulSet update rules apply to two renders (1.30 to 1.36;
    /// default: the oldest version supported upstream). `kubectl version` prints the cluster's
    #[arg(long, value_name = "V", default_value = versions::DEFAULT)]
    pub kubernetes_version: String,
    /// A StatefulSet the new render removes on purpose (repeatable): its removal, which leaves its
    /// PVCs and their data behind, is then a warning instead of an error
    #[arg(long = "allow-removed", value_name = "STS")]
    pub allow_removed: Vec<String>,
    /// Write the product to FILE instead of stdout: atomically, once it is whole (an error that
    /// leaves no product leaves FILE as it was)
    #[arg(long, value_name = "FILE")]
    pub output: Option<String>,
}

#[derive(Args)]
pub struct ValuesArgs {
    /// The values file (`-` reads stdin)
    pub file: String,
    /// The new size, a Kubernetes quantity such as 50Gi
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "volume_attributes_class"
    )]
    pub size: Option<String>,
    /// Instead of a size: the VolumeAttributesClass name to set at --path (the chart's values path
    /// of a claim template's volumeAttributesClassName)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["size", "chart"], requires = "path")]
    pub volume_attributes_class: Option<String>,
    /// Dotted path of the size in the values file
    #[arg(long, default_value = values::DEFAULT_PATH)]
    pub path: String,
    /// The chart the file is for (a local folder or .tgz): --path must be one of the size paths it
    /// reads (found in its templates, proven with Helm); without --path, its one size path
    #[arg(long, value_name = "DIR|TGZ")]
    pub chart: Option<String>,
    /// The Helm program that proves the paths of --chart (default: helm on PATH)
    #[arg(long, value_name = "PROGRAM", requires = "chart")]
    pub helm: Option<String>,
    /// Replace the file (atomically) instead of printing the diff
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Print the diff and exit 1 when the file would change
    #[arg(long)]
    pub check: bool,
    /// Colour the diff: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, default_value = "auto", value_parser = ColorChoice::NAMES)]
    pub color: String,
}

#[derive(Args)]
pub struct PostRenderArgs {
    /// The new size of the claim templates, a Kubernetes quantity such as 50Gi
    #[arg(long, allow_hyphen_values = true)]
    pub size: Option<String>,
    /// The VolumeAttributesClass the claim templates name (spec.volumeAttributesClassName: replaced,
    /// or added), alone or with --size
    #[arg(long, value_name = "NAME")]
    pub volume_attributes_class: Option<String>,
    /// StatefulSet to grow: exact name or a glob with * (repeatable). Default: the `kafka` chart's
    #[arg(long = "statefulset", value_name = "NAME")]
    pub statefulsets: Vec<String>,
    /// Name of the volumeClaimTemplate to grow
    #[arg(long, default_value = "data")]
    pub claim: String,
    /// A file of RFC 6902 patches with targets (repeatable); see schema/patch-file.schema.json
    #[arg(long = "patch", value_name = "FILE")]
    pub patches: Vec<String>,
    /// Also append diagnostics to this file (run by Helm 4: instead of $HELM_PLUGIN_DIR/post-render.log)
    #[arg(long, value_name = "FILE")]
    pub log: Option<String>,
    /// Parse every document, not only those that could be selected (slower; Helm already parsed them)
    #[arg(long)]
    pub parse_all: bool,
    /// Write apiVersion: v1 and kind: PersistentVolumeClaim into every StatefulSet claim template
    /// that lacks them (what the API server returns; avoids Argo CD's permanent OutOfSync)
    #[arg(long)]
    pub claim_typemeta: bool,
    /// The Kubernetes version whose strict schemas every changed document must pass
    #[arg(long, default_value = schema::DEFAULT_KUBERNETES_VERSION, value_parser = kubernetes_versions())]
    pub kubernetes_version: String,
}

pub fn kubernetes_versions() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(schema::KUBERNETES_SCHEMAS.iter().map(|(v, _)| *v))
}

#[derive(Args)]
pub struct ValidateArgs {
    /// A values file: its persistence blocks (and, with --values-schema, the whole file) are checked (repeatable)
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// A chart's values.schema.json to apply to every --values file, as Helm does
    #[arg(long, value_name = "FILE")]
    pub values_schema: Option<String>,
    /// The chart the --values files are for (a local folder or .tgz): the persistence blocks checked
    /// are those of its size paths, read from its templates and proven with Helm, not the built-in table
    #[arg(long, value_name = "DIR|TGZ", requires = "values")]
    pub chart: Option<String>,
    /// The Helm program that proves the paths of --chart (default: helm on PATH)
    #[arg(long, value_name = "PROGRAM", requires = "chart")]
    pub helm: Option<String>,
    /// A manifest stream (`helm template` output; `-` for stdin): StatefulSets, PVCs and StorageClasses are checked (repeatable)
    #[arg(long = "manifests", value_name = "FILE")]
    pub manifests: Vec<String>,
    /// The Kubernetes version of the strict schemas
    #[arg(long, default_value = schema::DEFAULT_KUBERNETES_VERSION, value_parser = kubernetes_versions())]
    pub kubernetes_version: String,
    /// Output format: text, JSON (schema/report.schema.json), GitHub workflow commands, SARIF 2.1.0
    #[arg(long, default_value = "text", value_parser = Format::NAMES)]
    pub format: String,
    /// Colour the text format: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, default_value = "auto", value_parser = ColorChoice::NAMES)]
    pub color: String,
    /// Write the product to FILE instead of stdout: atomically, once it is whole (an error that
    /// leaves no product leaves FILE as it was)
    #[arg(long, value_name = "FILE")]
    pub output: Option<String>,
}

/// The formats of `advise`.
pub const ADVISE_FORMATS: [&str; 5] = ["text", "markdown", "json", "github", "sarif"];

#[derive(Args)]
pub struct AdviseArgs {
    /// Kubelet metrics: Prometheus text (`kubectl get --raw /api/v1/nodes/NODE/proxy/metrics`) or a
    /// Prometheus API query/query_range JSON export; files or folders, repeatable; `-` for stdin
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub metrics: Vec<String>,
    /// The cluster snapshot: `kubectl get pvc,sts,sc -A -o yaml`
    #[arg(long, value_name = "FILE")]
    pub cluster: String,
    /// The releases' values files: a file, or a folder of them (repeatable)
    #[arg(long = "values", value_name = "FILE_OR_DIR")]
    pub values: Vec<String>,
    /// The releases' renders (`helm template`, `helm get manifest`): a file or a folder (repeatable)
    #[arg(long = "manifests", value_name = "FILE_OR_DIR")]
    pub manifests: Vec<String>,
    /// The usage to size for, at the end of the horizon
    #[arg(long, default_value = "70%", value_name = "PERCENT")]
    pub target_usage: String,
    /// The smallest growth worth a resize: a percentage of the largest live PVC, or a quantity
    #[arg(
        long,
        default_value = "10%",
        value_name = "PERCENT_OR_Q",
        allow_hyphen_values = true
    )]
    pub min_step: String,
    /// The largest size to propose
    #[arg(long, value_name = "Q", allow_hyphen_values = true)]
    pub max: Option<String>,
    /// How far ahead to look (Prometheus durations: 14d, 2w, 36h)
    #[arg(long, default_value = "14d", value_name = "DURATION")]
    pub horizon: String,
    /// Output format (github and sarif: the findings alone)
    #[arg(long, default_value = "text", value_parser = ADVISE_FORMATS)]
    pub format: String,
    /// Colour the text format: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, default_value = "auto", value_parser = ColorChoice::NAMES)]
    pub color: String,
}
