//! Helpers shared by the integration tests: running the binary, and finding what lives outside
//! the crate (the shared real-world fixtures, kubectl, shellcheck). What is missing is skipped
//! with a visible line on a developer's machine, and fails the test when `CI=true`.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Prints past the test harness's capture, so a skip is visible in `cargo test` output.
pub fn skip(what: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} not found, and CI=true: .ci/run must install it");
    }
    let _ = writeln!(std::io::stderr(), "skipped: {what} not found");
}

/// The real `helm template` fixtures: `$PVC_RESIZE_SHARED_FIXTURES`, or `../shared/fixtures`.
pub fn shared_fixtures() -> Option<PathBuf> {
    let dir = std::env::var("PVC_RESIZE_SHARED_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    if dir.join("posthog/rendered-default.yaml").is_file() {
        Some(dir)
    } else {
        skip(&format!("shared fixtures ({})", dir.display()));
        None
    }
}

/// A program on PATH, or a skip.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        skip(name);
    }
    found
}

/// Writes an executable file that this test process (or a program it starts) runs next. The
/// file is written by a child `sh`, never by this process: a test thread that forks while this
/// one holds the file open for writing gives the fork a copy of that descriptor until it execs,
/// and running the file in that window fails with "Text file busy" (ETXTBSY; it did in CI).
pub fn write_executable(path: &Path, text: &str) {
    let mut child = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh");
    let mut input = child.stdin.take().unwrap();
    input.write_all(text.as_bytes()).unwrap();
    drop(input);
    let status = child.wait().unwrap();
    assert!(status.success(), "writing {}: {status}", path.display());
}

/// `pvc-resize check --base BASE --head HEAD` on two values files written from the texts.
pub fn check_values_texts(base: &str, head: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let (b, h) = (dir.path().join("base.yaml"), dir.path().join("head.yaml"));
    std::fs::write(&b, base).unwrap();
    std::fs::write(&h, head).unwrap();
    let (b, h) = (b.to_str().unwrap(), h.to_str().unwrap());
    run(&["check", "--base", b, "--head", h], b"")
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pvc-resize under test: `$PVC_RESIZE_TEST_BIN` when set (to run the whole suite against
/// another build of the same commit, e.g. the static one of `cargo build-static`), else the one
/// cargo built for the tests.
pub fn bin() -> &'static str {
    static BIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIN.get_or_init(|| match std::env::var("PVC_RESIZE_TEST_BIN") {
        Ok(b) if !b.is_empty() => b,
        _ => env!("CARGO_BIN_EXE_pvc-resize").to_owned(),
    })
}

/// Runs pvc-resize with `args` and `stdin`.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    run_in(None, args, stdin)
}

pub fn run_in(dir: Option<&Path>, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Parses YAML into a JSON tree (for comparing data, not bytes).
pub fn tree(yaml: &str) -> serde_json::Value {
    serde_yaml::from_str(yaml).unwrap()
}

/// The real Helm of one major version (3 or 4): `$PVC_RESIZE_HELM3` / `$PVC_RESIZE_HELM4`, else
/// `helm3` / `helm4` on PATH (what `.ci/install-helm` installs), else a `helm` on PATH of that
/// major. Missing: a visible skip (a failure under `CI=true`).
pub fn helm(major: u8) -> Option<PathBuf> {
    find_helm(&format!("{major}"), &format!("v{major}."))
}

/// Helm 4.2 (4.2.3 in CI): `$PVC_RESIZE_HELM42`, else `helm42` on PATH, else a `helm` on PATH
/// that says `v4.2.`. Helm >= 4.2 keeps a document's trailing whitespace-only lines and has the
/// SDK's post-render strategies; `helm(4)` stays 4.1.4. Missing: a visible skip.
pub fn helm42() -> Option<PathBuf> {
    find_helm("42", "v4.2.")
}

/// `$PVC_RESIZE_HELM{suffix}`, `helm{suffix}` on PATH, or a `helm` whose version starts with
/// `prefix`; else a visible skip.
fn find_helm(suffix: &str, prefix: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(format!("PVC_RESIZE_HELM{suffix}")) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let on_path = |name: &str| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    };
    if let Some(p) = on_path(&format!("helm{suffix}")) {
        return Some(p);
    }
    if let Some(p) = on_path("helm")
        && let Ok(v) = Command::new(&p).args(["version", "--short"]).output()
        && String::from_utf8_lossy(&v.stdout).starts_with(prefix)
    {
        return Some(p);
    }
    skip(&format!(
        "helm{suffix} (bash .ci/install-helm installs helm3, helm4 and helm42)"
    ));
    None
}

/// One of the real Helms the tests judge with.
pub struct Judge {
    /// `helm3`, `helm4` (4.1) or `helm42`: for messages.
    pub name: &'static str,
    pub major: u8,
    pub path: PathBuf,
}

/// Every Helm judge that is here: Helm 3.17, 4.1 and 4.2 (each missing one is a visible skip).
pub fn judges() -> Vec<Judge> {
    let mut all = Vec::new();
    if let Some(path) = helm(3) {
        all.push(Judge {
            name: "helm3",
            major: 3,
            path,
        });
    }
    all.extend(helm4_judges());
    all
}

/// The Helm 4 judges that are here: 4.1 (`helm4`) and 4.2 (`helm42`).
pub fn helm4_judges() -> Vec<Judge> {
    let mut all = Vec::new();
    if let Some(path) = helm(4) {
        all.push(Judge {
            name: "helm4",
            major: 4,
            path,
        });
    }
    if let Some(path) = helm42() {
        all.push(Judge {
            name: "helm42",
            major: 4,
            path,
        });
    }
    all
}

/// Helm as the judge of what a YAML file means: a throwaway chart whose templates print what
/// Helm read, as JSON. `read_values` is `-f FILE` exactly as `helm template` reads it;
/// `read_many` reads any number of texts with `fromYaml` in a single `helm template` process
/// (cheap enough for property tests and corpus replays).
pub struct HelmOracle {
    pub helm: PathBuf,
    dir: tempfile::TempDir,
}

impl HelmOracle {
    pub fn new(helm: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for chart in ["values", "many"] {
            std::fs::create_dir_all(dir.path().join(chart).join("templates")).unwrap();
            std::fs::write(
                dir.path().join(chart).join("Chart.yaml"),
                format!("apiVersion: v2\nname: {chart}\nversion: 0.1.0\n"),
            )
            .unwrap();
        }
        std::fs::write(
            dir.path().join("values/templates/v.yaml"),
            "{{ toJson .Values }}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("many/templates/m.yaml"),
            "{{- range $path, $_ := .Files.Glob \"cases/*\" }}\n---\n\
             {{ dict \"file\" $path \"data\" ($.Files.Get $path | fromYaml) | toJson }}\n{{- end }}\n",
        )
        .unwrap();
        HelmOracle { helm, dir }
    }

    /// What `helm template -f FILE...` hands the templates as `.Values`; Err is Helm's stderr.
    pub fn read_values(&self, files: &[&Path]) -> Result<serde_json::Value, String> {
        let text = self.template_values(files)?;
        let json = text
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| panic!("no JSON in helm's output:\n{text}"));
        Ok(serde_json::from_str(json).unwrap())
    }

    /// Whether `helm template -f FILE...` reads the files (the output, JSON of any depth, is
    /// not parsed); Err is Helm's stderr.
    pub fn template_values(&self, files: &[&Path]) -> Result<String, String> {
        let mut cmd = Command::new(&self.helm);
        cmd.arg("template")
            .arg("o")
            .arg(self.dir.path().join("values"));
        for f in files {
            cmd.arg("-f").arg(f);
        }
        let out = cmd.output().expect("helm runs");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8(out.stdout).unwrap())
    }

    /// The same for a text rather than a file.
    pub fn read_values_text(&self, text: &[u8]) -> Result<serde_json::Value, String> {
        let f = self.dir.path().join("input.yaml");
        std::fs::write(&f, text).unwrap();
        self.read_values(&[&f])
    }

    /// Reads every text with `fromYaml` in one process; Err carries Helm's parse error.
    /// (`fromYaml` reads the first document only, and only mappings.)
    pub fn read_many(&self, texts: &[&[u8]]) -> Vec<Result<serde_json::Value, String>> {
        let cases = self.dir.path().join("many/cases");
        let _ = std::fs::remove_dir_all(&cases);
        std::fs::create_dir_all(&cases).unwrap();
        for (i, t) in texts.iter().enumerate() {
            std::fs::write(cases.join(format!("{i:07}.yaml")), t).unwrap();
        }
        let out = Command::new(&self.helm)
            .arg("template")
            .arg("o")
            .arg(self.dir.path().join("many"))
            .output()
            .expect("helm runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut results: Vec<Option<Result<serde_json::Value, String>>> = vec![None; texts.len()];
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            if !line.starts_with('{') {
                continue;
            }
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            let file = v["file"].as_str().unwrap().to_owned();
            let i: usize = file["cases/".len()..file.len() - ".yaml".len()]
                .parse()
                .unwrap();
            let data = v["data"].take();
            let err = data
                .get("Error")
                .and_then(|e| e.as_str())
                .map(str::to_owned);
            results[i] = Some(match err {
                Some(e) if data.as_object().is_some_and(|m| m.len() == 1) => Err(e),
                _ => Ok(data),
            });
        }
        results
            .into_iter()
            .map(|r| r.expect("every case is read"))
            .collect()
    }
}

/// Runs a command that must succeed (its stderr is the failure message); returns its stdout.
pub fn output_of(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `helm template RELEASE CHART --namespace NS -f VALUES EXTRA...` with the real Helm.
pub fn helm_template(
    helm: &Path,
    release: &str,
    chart: &Path,
    namespace: &str,
    values: &Path,
    extra: &[&str],
) -> String {
    output_of(
        Command::new(helm)
            .args(["template", release])
            .arg(chart)
            .args(["--namespace", namespace, "-f"])
            .arg(values)
            .args(extra),
    )
}

/// Runs git in `dir` (with an identity and no signing, for commits), or fails the test.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small deterministic generator (xorshift64*), so a failing generated case is reproduced by
/// its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A real render in the shared fixtures, the values file it was rendered from, and the
/// arguments `plan` needs for it.
pub struct RenderCase {
    pub name: &'static str,
    /// The folder under the shared fixtures.
    pub dir: &'static str,
    pub render: &'static str,
    pub values: &'static str,
    pub release: &'static str,
    pub extra: &'static [&'static str],
}

/// PostHog's chart with its default values: one Kafka replica.
pub const POSTHOG_1: RenderCase = RenderCase {
    name: "posthog-1",
    dir: "posthog",
    render: "rendered-default.yaml",
    values: "values-default.yaml",
    release: "posthog",
    extra: &[],
};

/// Bitnami's Kafka chart 32 with split controllers and brokers: the brokers are grown.
pub const BITNAMI_32: RenderCase = RenderCase {
    name: "bitnami32-brokers",
    dir: "bitnami-kafka-32",
    render: "rendered-split.yaml",
    values: "values-split.yaml",
    release: "kafka",
    extra: &["--statefulset", "kafka-broker"],
};

/// The arguments of `plan` for `release` (in a namespace of the same name) growing to `size`
/// from the render at `manifests` (`-` for stdin), then `extra`.
pub fn plan_argv<'a>(
    release: &'a str,
    size: &'a str,
    manifests: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "plan",
        "--release",
        release,
        "--namespace",
        release,
        "--size",
        size,
        "--manifests",
        manifests,
    ];
    args.extend_from_slice(extra);
    args
}

/// The script of a blocked plan (`plan --format script` with exit 1): bash runs it, it changes
/// nothing (it calls no kubectl or helm), exits 1 and names the finding `id` on stderr.
pub fn assert_blocked_script(script: &str, id: &str) {
    assert!(script.starts_with("#!/usr/bin/env bash\n"), "{script}");
    // (PATH names no folder: the script must need no program.)
    let bash = program("bash").expect("bash");
    let run = Command::new(bash)
        .args(["-c", script])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("is blocked; nothing was changed"), "{err}");
    assert!(err.contains(&format!("[{id}]")), "{id}: {err}");
    assert!(!err.contains("command not found"), "{err}");
}

/// A chart repository on this machine: the charts `fill` puts into a folder, indexed by `helm repo
/// index` and served over HTTP by Python, and a Helm home of its own (`HELM_*_HOME` in `env`) that
/// knows it as `name` (`helm repo add`). The server stops when this is dropped.
pub struct ChartRepository {
    server: std::process::Child,
    pub env: Vec<(&'static str, PathBuf)>,
}

impl ChartRepository {
    /// Serves from `dir/served`, with the Helm home at `dir/helm-home`; None (a visible skip)
    /// without python3.
    pub fn serve(
        helm: &Path,
        dir: &Path,
        name: &str,
        fill: impl FnOnce(&Path),
    ) -> Option<ChartRepository> {
        let python = program("python3")?;
        let served = dir.join("served");
        std::fs::create_dir_all(&served).unwrap();
        fill(&served);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        output_of(
            Command::new(helm)
                .arg("repo")
                .arg("index")
                .arg(&served)
                .args(["--url", &url]),
        );
        let server = Command::new(python)
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(&served)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let home = dir.join("helm-home");
        let env = vec![
            ("HELM_CONFIG_HOME", home.join("config")),
            ("HELM_CACHE_HOME", home.join("cache")),
            ("HELM_DATA_HOME", home.join("data")),
        ];
        let repo = ChartRepository { server, env };
        // The server may take a moment to listen.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        output_of(
            Command::new(helm)
                .args(["repo", "add", name, &url])
                .envs(repo.env.clone()),
        );
        Some(repo)
    }
}

impl Drop for ChartRepository {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The errors of a plan's JSON against `schema/plan.schema.json` (none when it is valid).
pub fn plan_schema_errors(plan: &serde_json::Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/plan.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator.iter_errors(plan).map(|e| e.to_string()).collect()
}
