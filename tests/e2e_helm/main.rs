//! End to end with the real Helm 3 and Helm 4 (`helm3`, `helm4`, installed by `.ci/run`) on the
//! real charts in ../shared/fixtures: the post-renderer must give exactly what Helm renders from
//! the resized values (Helm 3), or what a no-op post-renderer plugin gives from them (Helm 4,
//! which re-serialises the stream around any post-renderer). Every refusal must reach Helm as a
//! failed command with nothing rendered, and under Helm 4 the user must still see the reason.
//! Each Helm gets its own data, config, cache and GnuPG homes in a temporary folder.

mod attributes_class;
#[path = "../common/mod.rs"]
mod common;
mod contrib;
mod readme;
mod strategies;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A real Helm with private homes: nothing is read from or left in the user's.
struct Helm {
    /// `helm3`, `helm4` (4.1) or `helm42`.
    name: &'static str,
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Helm {
    fn new(major: u8) -> Option<Helm> {
        let name = if major == 3 { "helm3" } else { "helm4" };
        Some(Helm::at(name, helm(major)?))
    }

    fn at(name: &'static str, bin: PathBuf) -> Helm {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("gnupg")).unwrap();
        Helm { name, bin, home }
    }

    /// Every Helm 4 judge that is here (4.1.4 and 4.2.3 in CI), each with its own homes.
    fn all4() -> Vec<Helm> {
        helm4_judges()
            .into_iter()
            .map(|j| Helm::at(j.name, j.path))
            .collect()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.home.path().join(rel)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        // Helm 4.1.4 installs into $HELM_DATA_HOME/plugins even when $HELM_PLUGINS says
        // otherwise, and loads from $HELM_PLUGINS: leave HELM_PLUGINS unset.
        c.env("HELM_DATA_HOME", self.path("data"))
            .env("HELM_CONFIG_HOME", self.path("config"))
            .env("HELM_CACHE_HOME", self.path("cache"))
            .env("GNUPGHOME", self.path("gnupg"))
            .env_remove("HELM_PLUGINS")
            .env_remove("HELM_DEBUG");
        c
    }

    fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Output {
        self.cmd().args(args).output().expect("helm runs")
    }

    fn ok<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "helm {:?}: {}",
            args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
            stderr(&out)
        );
        stdout(&out)
    }

    /// `pvc-resize helm-plugin DIR` then `helm plugin install DIR`, as the README says.
    fn install_pvc_resize(&self) -> PathBuf {
        let dir = self.path("src/pvc-resize");
        let out = run(&["helm-plugin", dir.to_str().unwrap()], b"");
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        self.ok(&["plugin", "install", dir.to_str().unwrap()]);
        dir
    }

    /// Installs ./plugin/helm3 and runs `helm pvc-resize --version` (the binary on PATH).
    fn run_helm3_cli_plugin(&self) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        self.ok(&[
            "plugin",
            "install",
            repo.join("plugin/helm3").to_str().unwrap(),
        ]);
        let bin_dir = Path::new(common::bin()).parent().unwrap();
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
        let out = self
            .cmd()
            .env("PATH", path)
            .args(["pvc-resize", "--version"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("pvc-resize 0."),
            "{}",
            stdout(&out)
        );
    }

    /// A post-renderer plugin that changes nothing: what Helm 4 itself does to the stream.
    fn install_noop(&self) {
        self.install_postrenderer("noop", "#!/bin/sh\nexec cat\n");
    }

    /// A `postrenderer/v1` plugin NAME whose command is `script`; returns its folder.
    fn install_postrenderer(&self, name: &str, script: &str) -> PathBuf {
        let dir = self.path(&format!("src/{name}"));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(
            dir.join("plugin.yaml"),
            format!(
                "apiVersion: v1\ntype: postrenderer/v1\nname: {name}\nversion: 0.1.0\n\
                 runtime: subprocess\nruntimeConfig:\n  platformCommand:\n\
                 \x20   - command: ${{HELM_PLUGIN_DIR}}/bin/{name}\n"
            ),
        )
        .unwrap();
        write_executable(&dir.join("bin").join(name), script);
        self.ok(&["plugin", "install", dir.to_str().unwrap()]);
        dir
    }
}

/// Where the resized values come from: a fixture file, or `--set` over the case's values.
enum Resized {
    File(&'static str),
    Set(&'static str),
}

/// One case of the fixtures README: a chart, its values, the resized values, and the
/// `--statefulset` arguments the post-renderer needs there.
struct Case {
    dir: &'static str,
    chart: &'static str,
    release: &'static str,
    values: &'static str,
    resized: Resized,
    select: &'static [&'static str],
}

const POSTHOG: &str = "posthog-30.46.0.tgz";
const KAFKA32: &str = "kafka-32.4.4.tgz";
const KAFKA14: &str = "kafka-14.9.3.tgz";

const fn case(
    dir: &'static str,
    chart: &'static str,
    values: &'static str,
    resized: Resized,
    select: &'static [&'static str],
) -> Case {
    let release = if chart.as_bytes()[0] == b'p' {
        "posthog"
    } else {
        "kafka"
    };
    Case {
        dir,
        chart,
        release,
        values,
        resized,
        select,
    }
}

/// Every case of ../shared/fixtures/README.md. An already resized case must come out unchanged.
const CASES: &[Case] = &[
    case("posthog", POSTHOG, "default", Resized::File("resized"), &[]),
    case("posthog", POSTHOG, "resized", Resized::File("resized"), &[]),
    case(
        "posthog",
        POSTHOG,
        "3-replicas",
        Resized::File("3-replicas-resized"),
        &[],
    ),
    case(
        "posthog",
        POSTHOG,
        "3-replicas-resized",
        Resized::File("3-replicas-resized"),
        &[],
    ),
    case(
        "posthog",
        POSTHOG,
        "logpersistence",
        Resized::File("logpersistence-resized"),
        &[],
    ),
    case(
        "posthog",
        POSTHOG,
        "logpersistence-resized",
        Resized::File("logpersistence-resized"),
        &[],
    ),
    case(
        "bitnami-kafka-32",
        KAFKA32,
        "default",
        Resized::File("resized"),
        &[],
    ),
    case(
        "bitnami-kafka-32",
        KAFKA32,
        "resized",
        Resized::File("resized"),
        &[],
    ),
    case(
        "bitnami-kafka-32",
        KAFKA32,
        "split",
        Resized::File("split-resized"),
        &["--statefulset", "kafka-broker"],
    ),
    case(
        "bitnami-kafka-32",
        KAFKA32,
        "split-resized",
        Resized::File("split-resized"),
        &["--statefulset", "kafka-broker"],
    ),
    case(
        "bitnami-kafka-14",
        KAFKA14,
        "default",
        Resized::File("resized"),
        &["--statefulset", "kafka"],
    ),
    case(
        "bitnami-kafka-14",
        KAFKA14,
        "resized",
        Resized::File("resized"),
        &["--statefulset", "kafka"],
    ),
    case(
        "bitnami-kafka-14",
        KAFKA14,
        "3-replicas",
        Resized::Set("persistence.size=50Gi"),
        &["--statefulset", "kafka"],
    ),
];

impl Case {
    fn name(&self) -> String {
        format!("{}/{}", self.dir, self.values)
    }

    fn values_file(&self, root: &Path, name: &str) -> String {
        let p = root.join(self.dir).join(format!("values-{name}.yaml"));
        p.to_str().unwrap().to_owned()
    }

    /// `helm template` (or another command) of this case's chart with the given values args.
    fn helm_args(&self, root: &Path, verb: &[&str], values: Vec<String>) -> Vec<String> {
        let chart = root.join(self.dir).join("chart").join(self.chart);
        let mut a: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
        a.extend([
            self.release.into(),
            chart.to_str().unwrap().into(),
            "--namespace".into(),
            self.release.into(),
        ]);
        a.extend(values);
        a
    }

    fn original(&self, root: &Path) -> Vec<String> {
        vec!["-f".into(), self.values_file(root, self.values)]
    }

    fn resized(&self, root: &Path) -> Vec<String> {
        match self.resized {
            Resized::File(name) => vec!["-f".into(), self.values_file(root, name)],
            Resized::Set(set) => {
                let mut v = self.original(root);
                v.extend(["--set".into(), set.into()]);
                v
            }
        }
    }
}

/// `--post-renderer-args` for each argument, as Helm wants them.
fn post_renderer_args(args: &[&str]) -> Vec<String> {
    args.iter()
        .flat_map(|a| ["--post-renderer-args".to_owned(), a.to_string()])
        .collect()
}

/// Runs `f` on every case, a few at a time (helm template of PostHog takes ~0.5 s).
fn each_case(f: impl Fn(&Case) + Sync) {
    for chunk in CASES.chunks(4) {
        std::thread::scope(|s| {
            for c in chunk {
                s.spawn(|| f(c));
            }
        });
    }
}

/// The PostHog chart names two Jobs after the clock (`posthog-migrate-2026-11-26-12-40-52`,
/// `{{ now | date ... }}`): two renders a second apart differ there and nowhere else. Each
/// `YYYY-MM-DD-hh-mm-ss` becomes `<now>`.
fn without_clock(s: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-dd-dd-dd-dd";
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let fits = b.len() - i >= SHAPE.len()
            && SHAPE.iter().zip(&b[i..]).all(|(k, c)| match k {
                b'd' => c.is_ascii_digit(),
                _ => c == k,
            });
        if fits {
            out.push_str("<now>");
            i += SHAPE.len();
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn assert_same(what: &str, expected: &str, got: &str) {
    let (expected, got) = (&without_clock(expected), &without_clock(got));
    assert!(
        expected == got,
        "{what}: differs from Helm's render of the resized values:\n{}",
        pvc_resize::output::diff::unified_diff(expected, got, what)
    );
}

#[test]
fn helm3_post_renderer_equals_helms_render_of_the_resized_values() {
    let (Some(root), Some(helm)) = (shared_fixtures(), Helm::new(3)) else {
        return;
    };
    each_case(|c| {
        let mut args = c.helm_args(&root, &["template"], c.original(&root));
        args.extend(["--post-renderer".into(), common::bin().into()]);
        let mut pr = vec!["post-render", "--size", "50Gi"];
        pr.extend(c.select);
        args.extend(post_renderer_args(&pr));
        let got = helm.ok(&args);
        let expected = helm.ok(&c.helm_args(&root, &["template"], c.resized(&root)));
        assert!(expected.contains("storage: \"50Gi\"") || expected.contains("storage: 50Gi"));
        assert_same(&format!("helm 3 {}", c.name()), &expected, &got);
    });
}

#[test]
fn helm4_plugin_equals_a_noop_plugin_on_the_resized_values() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for helm in Helm::all4() {
        helm.install_pvc_resize();
        helm.install_noop();
        each_case(|c| {
            let mut args = c.helm_args(&root, &["template"], c.original(&root));
            args.extend(["--post-renderer".into(), "pvc-resize".into()]);
            let mut pr = vec!["--size", "50Gi"];
            pr.extend(c.select);
            args.extend(post_renderer_args(&pr));
            let got = helm.ok(&args);
            let mut noop = c.helm_args(&root, &["template"], c.resized(&root));
            noop.extend(["--post-renderer".into(), "noop".into()]);
            let expected = helm.ok(&noop);
            assert_same(&format!("{} {}", helm.name, c.name()), &expected, &got);
        });
    }
}

/// `helm install --dry-run=client` (offline in Helm 4): hooks are post-rendered too; the
/// release, with its hooks and notes, is the no-op plugin's on the resized values.
#[test]
fn helm4_install_dry_run_client() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for helm in Helm::all4() {
        helm.install_pvc_resize();
        helm.install_noop();
        let without_time = |s: String| -> String {
            s.lines()
                .filter(|l| !l.starts_with("LAST DEPLOYED:"))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        for c in [&CASES[0], &CASES[8]] {
            let verb = ["install", "--dry-run=client"];
            let mut args = c.helm_args(&root, &verb, c.original(&root));
            args.extend(["--post-renderer".into(), "pvc-resize".into()]);
            let mut pr = vec!["--size", "50Gi"];
            pr.extend(c.select);
            args.extend(post_renderer_args(&pr));
            let got = without_time(helm.ok(&args));
            let mut noop = c.helm_args(&root, &verb, c.resized(&root));
            noop.extend(["--post-renderer".into(), "noop".into()]);
            let expected = without_time(helm.ok(&noop));
            assert!(got.contains("HOOKS:") && got.contains("MANIFEST:"), "{got}");
            assert_same(
                &format!("{} install {}", helm.name, c.name()),
                &expected,
                &got,
            );
        }
    }
}

/// What the user gets wrong, with the words each message must hold.
const REFUSALS: &[(&[&str], &[&str])] = &[
    (
        &["--size", "10Gi"],
        &["refusing to shrink", "from 20Gi", "hint:"],
    ),
    (
        &["--size", "50Gi", "--statefulset", "nope"],
        &["\"nope\" matched no StatefulSet", "posthog-posthog-kafka"],
    ),
    (
        &["--size", "50GiB"],
        &["invalid size \"50GiB\"", "hint: write `50Gi`"],
    ),
    (
        &["--siz", "50Gi"],
        &["unexpected argument '--siz'", "--size"],
    ),
];

#[test]
fn helm3_refusals_fail_the_command_with_nothing_rendered() {
    let (Some(root), Some(helm)) = (shared_fixtures(), Helm::new(3)) else {
        return;
    };
    let c = &CASES[0];
    for (extra, words) in REFUSALS {
        let mut args = c.helm_args(&root, &["template"], c.original(&root));
        args.extend(["--post-renderer".into(), common::bin().into()]);
        let mut pr = vec!["post-render"];
        pr.extend(*extra);
        args.extend(post_renderer_args(&pr));
        let out = helm.run(&args);
        assert_eq!(code(&out), 1, "{extra:?}");
        assert!(out.stdout.is_empty(), "{extra:?}: nothing rendered");
        let err = stderr(&out);
        for w in *words {
            assert!(
                err.contains(w),
                "{extra:?}: {w:?} not in Helm 3's error:\n{err}"
            );
        }
    }
}

/// Helm 4 drops a plugin's stderr and exit status: the reason comes back as a document Helm
/// refuses and prints, and the log in the plugin's folder holds it too.
#[test]
fn helm4_refusals_show_the_reason_and_the_log() {
    let Some(root) = shared_fixtures() else {
        return;
    };
    for helm in Helm::all4() {
        let dir = helm.install_pvc_resize();
        let log = std::fs::canonicalize(&dir).unwrap().join("post-render.log");
        let c = &CASES[0];
        for verb in [&["template"][..], &["install", "--dry-run=client"]] {
            for (extra, words) in REFUSALS {
                let mut args = c.helm_args(&root, verb, c.original(&root));
                args.extend(["--post-renderer".into(), "pvc-resize".into()]);
                args.extend(post_renderer_args(extra));
                let out = helm.run(&args);
                assert_eq!(code(&out), 1, "{verb:?} {extra:?}");
                assert!(out.stdout.is_empty(), "{extra:?}: nothing rendered");
                let err = stderr(&out);
                assert!(
                    err.contains(&format!("this run's log is {}", log.display())),
                    "{err}"
                );
                let logged = read(&log);
                for w in *words {
                    assert!(
                        err.contains(w),
                        "{extra:?}: {w:?} not shown by Helm 4:\n{err}"
                    );
                    assert!(
                        logged.contains(w),
                        "{extra:?}: {w:?} not in the log:\n{logged}"
                    );
                }
            }
        }
        // A successful run leaves its report in the log too (Helm shows nothing of it).
        let mut args = c.helm_args(&root, &["template"], c.original(&root));
        args.extend(["--post-renderer".into(), "pvc-resize".into()]);
        args.extend(post_renderer_args(&["--size", "50Gi"]));
        helm.ok(&args);
        assert!(read(&log).contains("20Gi -> 50Gi"), "{}", read(&log));
    }
}

/// The plugin folder is what Helm runs: deleting it breaks the (linked) plugin, so the
/// README tells users to keep it.
#[test]
fn helm4_folder_install_is_a_link() {
    for helm in Helm::all4() {
        let dir = helm.install_pvc_resize();
        let link = helm.path("data/plugins/pvc-resize");
        assert_eq!(std::fs::read_link(&link).unwrap(), dir);
        assert!(helm.ok(&["plugin", "list"]).contains("pvc-resize"));
        std::fs::remove_dir_all(&dir).unwrap();
        let out = helm.run(&["plugin", "list"]);
        assert!(!stdout(&out).contains("pvc-resize"), "{}", stdout(&out));
    }
}

fn gpg(helm: &Helm, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", helm.path("gnupg"))
        .arg("--batch")
        .args(args)
        .output()
        .expect("gpg runs");
    assert!(out.status.success(), "gpg {args:?}: {}", stderr(&out));
    out.stdout
}

/// A throwaway signing key (no passphrase), exported as the keyrings Helm reads.
fn throwaway_key(helm: &Helm) -> (PathBuf, PathBuf) {
    std::fs::set_permissions(helm.path("gnupg"), {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(0o700)
    })
    .unwrap();
    gpg(
        helm,
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "pvc-resize test <test@pvc-resize.invalid>",
            "default",
            "default",
            "never",
        ],
    );
    let (secret, public) = (helm.path("secring.gpg"), helm.path("pubring.gpg"));
    std::fs::write(&secret, gpg(helm, &["--export-secret-keys"])).unwrap();
    std::fs::write(&public, gpg(helm, &["--export"])).unwrap();
    (secret, public)
}

#[test]
fn helm4_signed_package_installs_with_verification() {
    for helm in Helm::all4() {
        if program("gpg").is_none() {
            return;
        }
        let dir = helm.path("src/pvc-resize");
        assert_eq!(code(&run(&["helm-plugin", dir.to_str().unwrap()], b"")), 0);
        let dist = helm.path("dist");
        let d = dist.to_str().unwrap();
        let src = dir.to_str().unwrap();
        // Signing is on by default and needs a key.
        let out = helm.run(&["plugin", "package", src, "-d", d]);
        assert_ne!(code(&out), 0, "no key, no package");
        let (secret, public) = throwaway_key(&helm);
        let (secret, public) = (secret.to_str().unwrap(), public.to_str().unwrap());
        helm.ok(&[
            "plugin",
            "package",
            src,
            "-d",
            d,
            "--sign",
            "--key",
            "pvc-resize test",
            "--keyring",
            secret,
        ]);
        let tgz = dist.join(format!("pvc-resize-{}.tgz", env!("CARGO_PKG_VERSION")));
        let prov = PathBuf::from(format!("{}.prov", tgz.display()));
        assert!(tgz.is_file() && prov.is_file());
        let t = tgz.to_str().unwrap();
        helm.ok(&["plugin", "verify", t, "--keyring", public]);
        // A tampered tarball fails verification.
        let bad = helm.path("bad.tgz");
        let mut bytes = std::fs::read(&tgz).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        std::fs::write(&bad, &bytes).unwrap();
        std::fs::copy(&prov, helm.path("bad.tgz.prov")).unwrap();
        let out = helm.run(&[
            "plugin",
            "install",
            bad.to_str().unwrap(),
            "--keyring",
            public,
        ]);
        assert_ne!(code(&out), 0, "a tampered tarball is refused");
        // The signed tarball installs with verification on (the default).
        let out = helm.ok(&["plugin", "install", t, "--keyring", public]);
        assert!(out.contains("Installed plugin: pvc-resize"), "{out}");
        let list = helm.ok(&["plugin", "list"]);
        assert!(
            list.lines()
                .any(|l| l.starts_with("pvc-resize") && l.contains("signed")),
            "{list}"
        );
        // It is a copy, not a link: the source folder can go.
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!helm.path("data/plugins/pvc-resize").is_symlink());
        let chart = tiny_chart(&helm);
        let out = helm.ok(&[
            "template",
            "r",
            &chart,
            "--post-renderer",
            "pvc-resize",
            "--post-renderer-args",
            "--size",
            "--post-renderer-args",
            "2Gi",
            "--post-renderer-args",
            "--statefulset",
            "--post-renderer-args",
            "data",
        ]);
        assert!(out.contains("storage: 2Gi"), "{out}");
    }
}

#[test]
fn helm4_unsigned_package_needs_verify_false() {
    for helm in Helm::all4() {
        let dir = helm.path("src/pvc-resize");
        assert_eq!(code(&run(&["helm-plugin", dir.to_str().unwrap()], b"")), 0);
        let dist = helm.path("dist");
        helm.ok(&[
            "plugin",
            "package",
            dir.to_str().unwrap(),
            "-d",
            dist.to_str().unwrap(),
            "--sign=false",
        ]);
        let tgz = dist.join(format!("pvc-resize-{}.tgz", env!("CARGO_PKG_VERSION")));
        let t = tgz.to_str().unwrap();
        let out = helm.run(&["plugin", "install", t]);
        assert_ne!(code(&out), 0);
        assert!(
            stderr(&out).contains("no provenance file"),
            "{}",
            stderr(&out)
        );
        helm.ok(&["plugin", "install", t, "--verify=false"]);
        let list = helm.ok(&["plugin", "list"]);
        assert!(
            list.lines()
                .any(|l| l.starts_with("pvc-resize") && l.contains("unsigned")),
            "{list}"
        );
    }
}

/// A chart of one StatefulSet with a `data` claim of 1Gi, for plugin smoke runs.
fn tiny_chart(helm: &Helm) -> String {
    let dir = helm.path("tiny");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/sts.yaml"),
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: data\nspec:\n  serviceName: data\n\
         \x20 selector:\n    matchLabels: {app: data}\n  template:\n    metadata:\n      labels: {app: data}\n\
         \x20   spec:\n      containers:\n        - name: c\n          image: busybox\n\
         \x20 volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n\
         \x20       accessModes: [ReadWriteOnce]\n        resources:\n          requests:\n            storage: 1Gi\n",
    )
    .unwrap();
    dir.to_str().unwrap().to_owned()
}

/// What Helm 3 does with the Helm 4 manifest in its plugins folder, and the recovery the README
/// gives; and the Helm 3 CLI plugin, kept in its own folder.
#[test]
fn helm3_and_the_helm4_manifest() {
    let Some(helm) = Helm::new(3) else { return };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let v1 = repo.join("plugin/helm4");
    let out = helm.run(&["plugin", "install", v1.to_str().unwrap()]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("unknown field \"apiVersion\""),
        "{}",
        stderr(&out)
    );
    // The failed install left its link behind: every plugin command now fails.
    for args in [
        &["plugin", "list"][..],
        &["plugin", "uninstall", "pvc-resize"],
        &["plugin", "uninstall", "helm4"],
    ] {
        let out = helm.run(args);
        assert_ne!(code(&out), 0, "{args:?}");
        assert!(
            stderr(&out).contains("unknown field \"apiVersion\""),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // The recovery in the README: remove the link by hand.
    let plugins = helm.ok(&["env", "HELM_PLUGINS"]);
    let link = Path::new(plugins.trim()).join("helm4");
    assert!(link.is_symlink(), "{}", link.display());
    std::fs::remove_file(&link).unwrap();
    let out = helm.run(&["plugin", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    // The Helm 3 CLI plugin: `helm pvc-resize ...` runs the pvc-resize on PATH.
    helm.run_helm3_cli_plugin();
}

/// Helm 4 runs the Helm 3 CLI plugin too, but not beside the post-renderer plugin: both are
/// named pvc-resize, and two plugins of one name break every Helm 4 command.
#[test]
fn helm4_runs_the_helm3_cli_plugin_but_not_beside_the_postrenderer() {
    for helm in Helm::all4() {
        helm.run_helm3_cli_plugin();
        helm.install_pvc_resize();
        let out = helm.run(&["plugin", "list"]);
        assert_ne!(code(&out), 0);
        assert!(
            stderr(&out).contains("two plugins claim the name \"pvc-resize\""),
            "{}",
            stderr(&out)
        );
    }
}

/// Helm 4.1.4 installs into `$HELM_DATA_HOME/plugins` even when `$HELM_PLUGINS` points
/// elsewhere, and loads from `$HELM_PLUGINS`: the plugin is installed but not found. The README
/// says to set HELM_DATA_HOME rather than HELM_PLUGINS.
#[test]
fn helm4_installs_beside_helm_plugins() {
    for helm in Helm::all4() {
        let dir = helm.path("src/pvc-resize");
        assert_eq!(code(&run(&["helm-plugin", dir.to_str().unwrap()], b"")), 0);
        let elsewhere = helm.path("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let with_plugins = |args: &[&str]| {
            helm.cmd()
                .env("HELM_PLUGINS", &elsewhere)
                .args(args)
                .output()
                .unwrap()
        };
        let out = with_plugins(&["plugin", "install", dir.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(helm.path("data/plugins/pvc-resize").is_symlink());
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        let list = with_plugins(&["plugin", "list"]);
        assert!(!stdout(&list).contains("pvc-resize"), "{}", stdout(&list));
    }
}

/// The Helm 3 and Helm 4 argument forms mixed up, with the real Helm on a small chart: each says
/// which form fits which Helm, and the form it names works when pasted.
#[test]
fn argument_forms_mixed_up_name_the_right_one() {
    let (Some(h3), Some(h4)) = (Helm::new(3), Helm::new(4)) else {
        return;
    };
    // Helm 3 given the plugin form (no `post-render`).
    let chart = tiny_chart(&h3);
    let plugin_form = post_renderer_args(&["--size", "2Gi", "--statefulset", "data"]);
    let mut args: Vec<String> = vec!["template".into(), "r".into(), chart.clone()];
    args.extend(["--post-renderer".into(), common::bin().into()]);
    args.extend(plugin_form.iter().cloned());
    let out = h3.run(&args);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    let bin = common::bin();
    let helm3_form = format!(
        "--post-renderer {bin} --post-renderer-args post-render --post-renderer-args --size --post-renderer-args 2Gi --post-renderer-args --statefulset --post-renderer-args data"
    );
    assert!(err.contains("given to Helm 3"), "{err}");
    assert!(err.contains(&helm3_form), "{err}");
    // ... and that form, pasted, renders the grown claim.
    let mut fixed: Vec<String> = vec!["template".into(), "r".into(), chart.clone()];
    fixed.extend(helm3_form.split(' ').map(str::to_owned));
    assert!(h3.ok(&fixed).contains("storage: 2Gi"));

    // The Helm 4 plugin given the Helm 3 form (`post-render` again).
    h4.install_pvc_resize();
    let chart = tiny_chart(&h4);
    let mut args: Vec<String> = vec!["template".into(), "r".into(), chart.clone()];
    args.extend(["--post-renderer".into(), "pvc-resize".into()]);
    args.extend(post_renderer_args(&[
        "post-render",
        "--size",
        "2Gi",
        "--statefulset",
        "data",
    ]));
    let out = h4.run(&args);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    let helm4_form = "--post-renderer pvc-resize --post-renderer-args --size --post-renderer-args 2Gi --post-renderer-args --statefulset --post-renderer-args data";
    assert!(err.contains("given to the Helm 4 plugin"), "{err}");
    assert!(err.contains(helm4_form), "{err}");
    let mut fixed: Vec<String> = vec!["template".into(), "r".into(), chart];
    fixed.extend(helm4_form.split(' ').map(str::to_owned));
    assert!(h4.ok(&fixed).contains("storage: 2Gi"));
}
