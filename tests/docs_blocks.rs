//! Every ```sh block of `docs/*.md` runs in a test (issue 19). `RUNNERS` names, for each block by
//! its page and first line, the test that runs it; a block missing from the table (a new one
//! without a runner) fails `every_docs_block_has_a_runner`. The blocks no other test runs are run
//! here, as they are, by `bash -euo pipefail` in a sandbox: this pvc-resize on PATH, the real Helm 3
//! as `helm` (its homes the sandbox's own, a repository named `posthog` serving the shared PostHog
//! chart), the files each block names beside it, and stand-ins for the cluster (a `kubectl` that
//! answers the block's `get` with a snapshot; `helm get manifest` answered by `helm template` of
//! the chart the release was installed from). Each run is judged by what the doc says it does.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How one block runs.
enum How {
    /// By another test: "tests/FILE.rs test_name".
    Elsewhere(&'static str),
    /// Here, prepared and judged as the case says.
    Here(Case),
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Case {
    /// docs/check.md: `check` on `helm get manifest` against the `helm template` of the upgrade.
    CheckRenders,
    /// docs/gitops.md: `plan --format flux` on a render of the `posthog/posthog` chart.
    FluxPatch,
    /// docs/plan.md's first block: markdown plan and script, with a cluster snapshot.
    PlanMarkdownAndScript,
    /// docs/plan.md's ClickHouseInstallation block.
    PlanClickHouse,
}

use How::{Elsewhere, Here};

const ADVISE: How = Elsewhere("tests/advise.rs docs_advise_blocks_run");
const HELM3: How = Elsewhere("tests/e2e_helm/readme.rs readme_helm3_commands_run");
const HELM4: How = Elsewhere("tests/e2e_helm/readme.rs readme_helm4_commands_run");

/// (page, first line of the block, how it runs).
const RUNNERS: &[(&str, &str, How)] = &[
    ("docs/advise.md", "mkdir -p metrics", ADVISE),
    (
        "docs/advise.md",
        "pvc-resize advise --metrics metrics --cluster cluster.yaml --values fixtures/advise/values \\",
        ADVISE,
    ),
    (
        "docs/advise.md",
        "pvc-resize advise --metrics fixtures/advise/metrics --cluster fixtures/advise/cluster.yaml \\",
        ADVISE,
    ),
    (
        "docs/advise.md",
        "pvc-resize advise --metrics fixtures/advise/range.json --cluster cluster.yaml \\",
        ADVISE,
    ),
    (
        "docs/advise.md",
        "printf 'kubelet_volume_stats_used_bytes{namespace=\"posthog\",persistentvolumeclaim=\"data-posthog-posthog-kafka-0\"} 2 2000\\nkubelet_volume_stats_used_bytes{namespace=\"posthog\",persistentvolumeclaim=\"data-posthog-posthog-kafka-0\"} 1 1000\\n' > bad.txt",
        ADVISE,
    ),
    (
        "docs/check.md",
        "helm get manifest kafka -n kafka > old.yaml                        # what the cluster has",
        Here(Case::CheckRenders),
    ),
    (
        "docs/gitops.md",
        "helm template posthog posthog/posthog -n posthog -f values.yaml > rendered.yaml",
        Here(Case::FluxPatch),
    ),
    (
        "docs/gitops.md",
        "pvc-resize plan --release posthog --namespace posthog --size 50Gi --manifests rendered.yaml \\",
        Elsewhere("tests/gitops.rs the_flux_preview_recipe_in_the_docs_runs"),
    ),
    (
        "docs/helm.md",
        "helm template posthog posthog/posthog -n posthog -f values.yaml \\",
        HELM3,
    ),
    ("docs/helm.md", "helm plugin install ./plugin/helm3", HELM3),
    (
        "docs/helm.md",
        "helm plugin install ./plugin/helm4 || true        # the mistake",
        HELM3,
    ),
    (
        "docs/helm.md",
        "pvc-resize helm-plugin ~/.local/share/pvc-resize/pvc-resize",
        HELM4,
    ),
    (
        "docs/helm.md",
        "gpg --export-secret-keys you@example.com > ~/secring.gpg",
        HELM4,
    ),
    (
        "docs/helm.md",
        "pvc-resize helm-plugin build/pvc-resize",
        HELM4,
    ),
    (
        "docs/plan.md",
        "helm template posthog posthog/posthog -n posthog --version 30.46.0 -f values.yaml > rendered.yaml",
        Here(Case::PlanMarkdownAndScript),
    ),
    (
        "docs/plan.md",
        "pvc-resize plan --release posthog --namespace posthog --kube-context prod --size 50Gi \\",
        Here(Case::PlanClickHouse),
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A block: its page, its first line, its text, and the page's text after it.
struct Block {
    page: String,
    first: String,
    text: String,
    after: String,
}

/// Every ```sh block of every docs/*.md page, in page order.
fn docs_blocks() -> Vec<Block> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    let mut out = Vec::new();
    for page in pages {
        let text = read(&page);
        let mut rest = text.as_str();
        while let Some(i) = rest.find("```sh\n") {
            let body = &rest[i + 6..];
            let j = body.find("\n```").expect("a closed block");
            out.push(Block {
                page: format!("docs/{}", page.file_name().unwrap().to_str().unwrap()),
                first: body.lines().next().unwrap().to_owned(),
                text: body[..j + 1].to_owned(),
                after: body[j + 4..].to_owned(),
            });
            rest = &body[j + 4..];
        }
    }
    out
}

#[test]
fn every_docs_block_has_a_runner() {
    let blocks = docs_blocks();
    for b in &blocks {
        assert!(
            RUNNERS
                .iter()
                .any(|(p, f, _)| *p == b.page && *f == b.first),
            "{} has a ```sh block that no test runs (add it to RUNNERS in tests/docs_blocks.rs):\n{}",
            b.page,
            b.text
        );
    }
    for (page, first, how) in RUNNERS {
        assert!(
            blocks.iter().any(|b| b.page == *page && b.first == *first),
            "RUNNERS names a block that {page} no longer has: {first}"
        );
        // The test named runs it: it exists, and reads the page.
        if let Elsewhere(test) = how {
            let (file, name) = test.split_once(' ').unwrap();
            let source = read(&root().join(file));
            assert!(source.contains(&format!("fn {name}()")), "{test}");
            assert!(source.contains(page), "{file} does not read {page}");
        }
    }
}

/// The one block of the table that runs as `case`.
fn block_of(case: Case) -> Block {
    let (page, first) = RUNNERS
        .iter()
        .find_map(|(p, f, h)| matches!(h, Here(c) if *c == case).then_some((*p, *f)))
        .unwrap();
    docs_blocks()
        .into_iter()
        .find(|b| b.page == page && b.first == first)
        .unwrap_or_else(|| panic!("{page} has no block {first}"))
}

/// What the runs need from outside the crate: the shared fixtures and the real Helm 3.
struct Env {
    fixtures: PathBuf,
    helm: PathBuf,
}

fn env() -> Option<Env> {
    let fixtures = shared_fixtures()?;
    let helm = helm(3)?;
    program("python3")?;
    Some(Env { fixtures, helm })
}

/// A temporary folder: `bin/` (pvc-resize, the helm wrapper, the kubectl stand-in) first on PATH,
/// `work/` where the block runs, Helm's homes and the served repository beside them.
struct Sandbox {
    dir: tempfile::TempDir,
    helm_env: Vec<(&'static str, PathBuf)>,
    _repo: Option<ChartRepository>,
}

impl Sandbox {
    fn new(e: &Env, block: &Block) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for d in ["bin", "work"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let bin = dir.path().join("bin");
        std::os::unix::fs::symlink(common::bin(), bin.join("pvc-resize")).unwrap();
        let tgz = e.fixtures.join("posthog/chart/posthog-30.46.0.tgz");
        let copy = |served: &Path| {
            std::fs::copy(&tgz, served.join("posthog-30.46.0.tgz")).unwrap();
        };
        let repo = if block.text.contains("posthog/posthog") {
            ChartRepository::serve(&e.helm, dir.path(), "posthog", copy)
        } else {
            None
        };
        let home = dir.path().join("helm-home");
        let helm_env = repo.as_ref().map_or_else(
            || {
                vec![
                    ("HELM_CONFIG_HOME", home.join("config")),
                    ("HELM_CACHE_HOME", home.join("cache")),
                    ("HELM_DATA_HOME", home.join("data")),
                ]
            },
            |r| r.env.clone(),
        );
        Sandbox {
            dir,
            helm_env,
            _repo: repo,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The block run by `bash -euo pipefail` in `work/`.
    fn run(&self, block: &Block) -> Output {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &block.text])
            .current_dir(self.path("work"))
            .env("PATH", path)
            .env("HOME", self.path("work"))
            .env("NO_COLOR", "1")
            .envs(self.helm_env.clone())
            .env_remove("HELM_PLUGINS")
            .output()
            .unwrap()
    }

    /// `bin/helm`: the real Helm 3, except `helm get manifest RELEASE -n NS`, which no cluster
    /// answers here: it prints `helm template RELEASE INSTALLED -n NS -f work/values.yaml`.
    fn helm_wrapper(&self, helm: &Path, installed: &Path) {
        let values = self.path("work/values.yaml");
        write_executable(
            &self.path("bin/helm"),
            &format!(
                "#!/bin/sh\n\
                 # A stand-in for the cluster's side of helm: `helm get manifest RELEASE ...` prints\n\
                 # `helm template RELEASE {installed} ... -f {values}` (the chart the release was\n\
                 # installed from, with its values); every other command is the real Helm 3.\n\
                 if [ \"$1 $2\" = 'get manifest' ]; then\n\
                 \x20 release=$3; shift 3\n\
                 \x20 exec '{helm}' template \"$release\" '{installed}' \"$@\" -f '{values}'\n\
                 fi\n\
                 exec '{helm}' \"$@\"\n",
                helm = helm.display(),
                installed = installed.display(),
                values = values.display(),
            ),
        );
    }

    /// `bin/kubectl`: answers `args` (the block's exact `get`) with the file `answer`, and
    /// refuses anything else.
    fn kubectl(&self, args: &str, answer: &Path) {
        write_executable(
            &self.path("bin/kubectl"),
            &format!(
                "#!/bin/sh\n\
                 # A stand-in for kubectl (no cluster here): `kubectl {args}` prints the snapshot\n\
                 # {answer}; anything else fails.\n\
                 case \"$*\" in\n\
                 '{args}') cat '{answer}' ;;\n\
                 *) echo \"kubectl stand-in: unexpected: $*\" >&2; exit 1 ;;\n\
                 esac\n",
                answer = answer.display(),
            ),
        );
    }
}

/// The text of a run, for failure messages.
fn shown(block: &Block, out: &Output) -> String {
    format!(
        "{} block `{}` ({}):\nstdout:\n{}\nstderr:\n{}",
        block.page,
        block.first,
        out.status,
        stdout(out),
        stderr(out)
    )
}

/// The first fenced block of `lang` in `text` (the doc's shown output after a command block).
fn next_fenced(text: &str, lang: &str) -> String {
    let start = text.find(&format!("```{lang}\n")).expect(lang) + lang.len() + 4;
    let end = text[start..].find("\n```").unwrap();
    text[start..start + end + 1].to_owned()
}

fn bash_n(script: &Path) {
    let out = Command::new("bash").arg("-n").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "bash -n {}: {}",
        script.display(),
        stderr(&out)
    );
}

/// Unpacks a chart tarball into `into` (which gets the chart's folder).
fn untar(tgz: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    output_of(Command::new("tar").arg("xzf").arg(tgz).arg("-C").arg(into));
}

/// Kafka 14's claim template stamped with the chart labels (`helm.sh/chart` carries the version).
fn label_claim_template(chart: &Path) {
    let sts = chart.join("templates/statefulset.yaml");
    let text = read(&sts);
    let plain = "    - metadata:\n        name: data\n";
    assert_eq!(text.matches(plain).count(), 1, "{}", sts.display());
    let labelled = format!(
        "{plain}        labels: {{{{- include \"common.labels.standard\" . | nindent 10 }}}}\n"
    );
    std::fs::write(&sts, text.replace(plain, &labelled)).unwrap();
}

/// `bin/helm` as the real Helm 3 itself (no `helm get` in the block).
fn plain_helm(s: &Sandbox, e: &Env) {
    std::os::unix::fs::symlink(&e.helm, s.path("bin/helm")).unwrap();
}

fn copy_values(s: &Sandbox, from: &Path) {
    std::fs::write(s.path("work/values.yaml"), read(from)).unwrap();
}

/// docs/check.md: the release was installed from Kafka 14.9.3 whose claim template carries the
/// chart labels (`installed/kafka`, what `helm get manifest` renders); `./kafka` is that chart
/// bumped to 14.9.4. The doc: exit 1, and the console block it shows, line for line.
#[test]
fn check_md_two_renders_block_runs() {
    let Some(e) = env() else { return };
    let block = block_of(Case::CheckRenders);
    let s = Sandbox::new(&e, &block);
    let tgz = e.fixtures.join("bitnami-kafka-14/chart/kafka-14.9.3.tgz");
    copy_values(&s, &e.fixtures.join("bitnami-kafka-14/values-default.yaml"));
    for dir in ["installed", "work"] {
        untar(&tgz, &s.path(dir));
        label_claim_template(&s.path(&format!("{dir}/kafka")));
    }
    let chart = s.path("work/kafka/Chart.yaml");
    let text = read(&chart);
    assert!(text.contains("\nversion: 14.9.3\n"), "{text}");
    std::fs::write(
        &chart,
        text.replace("\nversion: 14.9.3\n", "\nversion: 14.9.4\n"),
    )
    .unwrap();
    s.helm_wrapper(&e.helm, &s.path("installed/kafka"));
    let out = s.run(&block);
    assert_eq!(code(&out), 1, "{}", shown(&block, &out));
    for f in ["old.yaml", "new.yaml"] {
        assert!(read(&s.path(&format!("work/{f}"))).contains("kind: StatefulSet"));
    }
    let said = format!("{}{}", stdout(&out), stderr(&out));
    for line in next_fenced(&block.after, "console").lines() {
        assert!(
            said.contains(line),
            "the doc shows {line:?}; {}",
            shown(&block, &out)
        );
    }
}

/// docs/gitops.md: the render of `posthog/posthog` (the served chart) and `--format flux`: exit 0,
/// the HelmRelease patch the doc shows (the same data; its step comments abridged there), with
/// the doc's commands among the comments.
#[test]
fn gitops_md_flux_block_runs() {
    let Some(e) = env() else { return };
    let block = block_of(Case::FluxPatch);
    let s = Sandbox::new(&e, &block);
    copy_values(&s, &e.fixtures.join("posthog/values-default.yaml"));
    plain_helm(&s, &e);
    let out = s.run(&block);
    assert_eq!(code(&out), 0, "{}", shown(&block, &out));
    assert!(read(&s.path("work/rendered.yaml")).contains("name: posthog-posthog-kafka"));
    let doc = next_fenced(&block.after, "yaml");
    let printed = stdout(&out);
    assert_eq!(tree(&printed), tree(&doc), "{}", shown(&block, &out));
    assert_eq!(tree(&printed)["kind"], "HelmRelease");
    for line in doc.lines().filter(|l| l.starts_with("#      ")) {
        assert!(
            printed.contains(line),
            "the doc shows {line:?}; {}",
            shown(&block, &out)
        );
    }
}

/// The snapshot the kubectl stand-in answers for the PostHog release: a default StorageClass that
/// allows expansion, Kafka's one PVC (Bound, 20Gi) and its StatefulSet, as a `List`.
const POSTHOG_SNAPSHOT: &str = "apiVersion: v1
kind: List
items:
  - apiVersion: storage.k8s.io/v1
    kind: StorageClass
    metadata:
      name: gp3
      annotations:
        storageclass.kubernetes.io/is-default-class: \"true\"
    provisioner: ebs.csi.aws.com
    allowVolumeExpansion: true
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: data-posthog-posthog-kafka-0
      namespace: posthog
    spec:
      storageClassName: gp3
      resources:
        requests:
          storage: 20Gi
    status:
      phase: Bound
      capacity:
        storage: 20Gi
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: posthog-posthog-kafka
      namespace: posthog
    spec:
      replicas: 1
      persistentVolumeClaimRetentionPolicy:
        whenDeleted: Retain
        whenScaled: Retain
";

/// A script `plan` wrote: a bash script that `bash -n` reads.
fn assert_script(path: &Path) {
    let script = read(path);
    assert!(
        script.starts_with("#!/usr/bin/env bash\n"),
        "{}",
        path.display()
    );
    bash_n(path);
}

/// docs/plan.md's first block: the render of the served chart, the snapshot through the kubectl
/// stand-in, the markdown plan on stdout, then the script in resize.sh.
#[test]
fn plan_md_markdown_and_script_block_runs() {
    let Some(e) = env() else { return };
    let block = block_of(Case::PlanMarkdownAndScript);
    let s = Sandbox::new(&e, &block);
    copy_values(&s, &e.fixtures.join("posthog/values-default.yaml"));
    plain_helm(&s, &e);
    let snapshot = s.path("snapshot.yaml");
    std::fs::write(&snapshot, POSTHOG_SNAPSHOT).unwrap();
    let get = "--context prod get storageclass,pvc,statefulset -n posthog -o yaml";
    s.kubectl(get, &snapshot);
    let out = s.run(&block);
    assert_eq!(code(&out), 0, "{}", shown(&block, &out));
    assert_eq!(read(&s.path("work/cluster.yaml")), POSTHOG_SNAPSHOT);
    let markdown = stdout(&out);
    // The snapshot's class is read, the chart's values path proven, the values diff shown.
    let parts = [
        "## Resize plan: `posthog` in `posthog` to `50Gi`",
        "`storageclass-expands`: StorageClass gp3 has allowVolumeExpansion: true",
        "`values-path-proven`",
        "```diff",
    ];
    for part in parts {
        assert!(markdown.contains(part), "{part}: {}", shown(&block, &out));
    }
    let script = s.path("work/resize.sh");
    assert_script(&script);
    assert!(read(&script).contains("posthog-posthog-kafka"));
}

/// docs/plan.md's ClickHouseInstallation block: the render (the fixtures' PostHog render as
/// render.yaml), the chart tarball beside it; the script grows the installation's claim template
/// through `clickhouse.persistence.size`.
#[test]
fn plan_md_clickhouse_block_runs() {
    let Some(e) = env() else { return };
    let block = block_of(Case::PlanClickHouse);
    let s = Sandbox::new(&e, &block);
    copy_values(&s, &e.fixtures.join("posthog/values-default.yaml"));
    plain_helm(&s, &e);
    let tgz = "posthog-30.46.0.tgz";
    std::fs::copy(
        e.fixtures.join("posthog/chart").join(tgz),
        s.path("work").join(tgz),
    )
    .unwrap();
    let render = read(&e.fixtures.join("posthog/rendered-default.yaml"));
    std::fs::write(s.path("work/render.yaml"), render).unwrap();
    let out = s.run(&block);
    assert_eq!(code(&out), 0, "{}", shown(&block, &out));
    let script = s.path("work/resize.sh");
    assert_script(&script);
    let text = read(&script);
    for part in [
        "clickhouse.persistence.size",
        "ClickHouseInstallation/posthog",
    ] {
        assert!(text.contains(part), "{part}: {}", shown(&block, &out));
    }
}
