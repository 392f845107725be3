//! The resize script against a simulated cluster with injected faults (tests/sim/sim.py behind fake
//! `kubectl`, `helm` and `pvc-resize`), for the real PostHog (1 and 3 replicas) and Bitnami 32 renders.
//!
//! Every run checks the invariants: no PVC deleted or shrunk, no pod deleted without an owner, every
//! call names the context. "Converged" means: every PVC requests and holds the size, every claim
//! template asks for it, every pod runs, is owned and sees a grown filesystem, the release is deployed
//! with the values file, and the values file sets the size (as Helm reads it).

mod common;
use common::*;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// PostHog's chart with three Kafka replicas.
const POSTHOG_3: RenderCase = RenderCase {
    name: "posthog-3",
    dir: "posthog",
    render: "rendered-3-replicas.yaml",
    values: "values-3-replicas.yaml",
    release: "posthog",
    extra: &[],
};
const CASES: [&RenderCase; 3] = [&POSTHOG_1, &POSTHOG_3, &BITNAMI_32];

const SIZE: &str = "50Gi";
const SIZE_BYTES: i64 = 50 << 30;

/// What the tests need from outside the crate.
struct Env {
    fixtures: PathBuf,
    helm: PathBuf,
}

fn env() -> Option<Env> {
    let fixtures = shared_fixtures()?;
    program("bash")?;
    program("python3")?;
    Some(Env {
        fixtures,
        helm: helm(3)?,
    })
}

/// How a simulated cluster differs from the healthy default.
#[derive(Clone)]
struct Opts {
    /// `online`, `offline` (FileSystemResizePending until the pod restarts), `attached-refusal`
    /// (Azure Disk), `stuck` (the filesystem never grows).
    mode: &'static str,
    values_file: &'static str,
    chart: &'static str,
    context: &'static str,
    when_scaled: &'static str,
    /// KEP-4650 on the live StatefulSets: "" (none), "strategy" (the draft's
    /// `volumeClaimUpdateStrategy.type: InPlace`) or "policy" (the older `volumeClaimUpdatePolicy`).
    in_place: &'static str,
    /// Every run with `--fallback-scale-to-zero`.
    fallback: bool,
    on_delete: bool,
    /// `spec.ordinals.start` of the targeted StatefulSets (set in the render; 0: left out).
    ordinals_start: i64,
    /// The targeted StatefulSets as OpenKruise's Advanced StatefulSets (`apps.kruise.io/v1beta1` in
    /// the render): `None` (apps/v1), else their `volumeClaimUpdateStrategy.type` ("" unset).
    kruise: Option<&'static str>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            mode: "online",
            values_file: "values.yaml",
            chart: "posthog/posthog",
            context: "prod",
            when_scaled: "Retain",
            in_place: "",
            fallback: false,
            on_delete: false,
            ordinals_start: 0,
            kruise: None,
        }
    }
}

/// One simulated cluster (its server runs until the Sim is dropped) and a work folder holding the
/// values file and the script.
struct Sim {
    dir: tempfile::TempDir,
    server: std::process::Child,
    opts: Opts,
    original_values: String,
    plan: Value,
    /// The render `plan` reads, and its arguments but `--format` and `--cluster`.
    render: String,
    plan_args: Vec<String>,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Sim {
    fn new(e: &Env, case: &RenderCase, opts: Opts) -> Sim {
        let values = read(&e.fixtures.join(case.dir).join(case.values));
        let render = read(&e.fixtures.join(case.dir).join(case.render));
        Sim::of(e, values, render, case.release, case.extra, opts)
    }

    /// A simulated cluster running `render` (made from `values`) as release `release`; `plan` is
    /// given `extra` too.
    fn of(
        e: &Env,
        values: String,
        render: String,
        release: &str,
        extra: &[&str],
        opts: Opts,
    ) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(opts.values_file), &values).unwrap();
        let mut plan_args: Vec<String> = plan_argv(release, SIZE, "-", &[])
            .into_iter()
            .map(str::to_owned)
            .collect();
        plan_args.push(format!("--values={}", opts.values_file));
        plan_args.push(format!("--chart={}", opts.chart));
        plan_args.push(format!("--kube-context={}", opts.context));
        plan_args.extend(extra.iter().map(|s| (*s).to_owned()));
        let sim_dir = dir.path().join("sim");
        std::fs::create_dir(&sim_dir).unwrap();
        let server = Command::new("python3")
            .arg(manifest_dir().join("tests/sim/sim.py"))
            .arg(&sim_dir)
            .env("SIM_REAL_HELM", &e.helm)
            .spawn()
            .unwrap();
        let mut sim = Sim {
            dir,
            server,
            opts,
            original_values: values,
            plan: Value::Null,
            render,
            plan_args,
        };
        if sim.opts.ordinals_start != 0 {
            sim.make_plan(None);
            sim.render = with_ordinals(&sim.render, &sim.plan, sim.opts.ordinals_start);
        }
        if let Some(strategy) = sim.opts.kruise {
            sim.make_plan(None);
            sim.render = as_kruise(&sim.render, &sim.plan, strategy);
        }
        sim.make_plan(None);
        sim.write_state(&sim.initial_state());
        let fifo = sim_dir.join("request");
        let started = std::time::Instant::now();
        while !fifo.exists() {
            assert!(
                started.elapsed().as_secs() < 120,
                "the simulation server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        sim
    }

    /// Makes the plan (JSON, kept in `self.plan`) and the script (`resize.sh`) of the render, with
    /// `--cluster FILE` when given.
    fn make_plan(&mut self, cluster: Option<&std::path::Path>) {
        let run_plan = |format: &str| {
            let out = self.plan_output(format, cluster);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            stdout(&out)
        };
        let plan = serde_json::from_str(&run_plan("json")).unwrap();
        std::fs::write(self.dir.path().join("resize.sh"), run_plan("script")).unwrap();
        self.plan = plan;
    }

    /// `pvc-resize plan --format FORMAT` of the render, with `--cluster FILE` when given.
    fn plan_output(&self, format: &str, cluster: Option<&std::path::Path>) -> std::process::Output {
        let mut args: Vec<&str> = self.plan_args.iter().map(String::as_str).collect();
        args.extend(["--format", format]);
        let cluster = cluster.map(|c| format!("--cluster={}", c.display()));
        args.extend(cluster.as_deref());
        run_in(Some(self.dir.path()), &args, self.render.as_bytes())
    }

    /// What `kubectl get storageclass,pvc,statefulset -o yaml` prints of the simulated cluster now
    /// (through the fake kubectl), written to `cluster.yaml`: the `--cluster` snapshot.
    fn snapshot(&self) -> PathBuf {
        let file = self.dir.path().join("cluster.yaml");
        let yaml = self.kubectl(&["get", "storageclass,pvc,statefulset", "-o", "yaml"]);
        std::fs::write(&file, yaml).unwrap();
        file
    }

    /// The fake kubectl with the context and namespace, which must succeed: its stdout.
    fn kubectl(&self, args: &[&str]) -> Vec<u8> {
        let ns = self.plan["namespace"].as_str().unwrap();
        let out = Command::new(manifest_dir().join("tests/sim/kubectl"))
            .arg(format!("--context={}", self.opts.context))
            .arg(format!("--namespace={ns}"))
            .args(args)
            .envs(self.envs())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "kubectl {args:?}: {err}");
        out.stdout
    }

    /// The environment of a call to the fakes.
    fn envs(&self) -> Vec<(&'static str, String)> {
        let path = format!(
            "{}:{}",
            manifest_dir().join("tests/sim").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PATH", path),
            ("SIM_DIR", self.dir.path().join("sim").display().to_string()),
            ("SIM_PVC_RESIZE", common::bin().to_owned()),
        ]
    }

    fn initial_state(&self) -> Value {
        let p = &self.plan;
        let (release, ns) = (
            p["release"].as_str().unwrap(),
            p["namespace"].as_str().unwrap(),
        );
        let (mut sts, mut shapes, mut pods, mut pvcs) =
            (json!({}), json!({}), json!({}), json!({}));
        let mut uid = 0;
        let mut next = || {
            uid += 1;
            format!("uid-{uid}")
        };
        let mut values_path = String::new();
        let mut plain = json!({});
        let mut chis = json!({});
        let mut live_chis = json!({});
        for t in p["targets"].as_array().unwrap() {
            if let Some(resource) = t["resource"].as_str() {
                // A ClickHouseInstallation's claim template: its hosts' StatefulSets, pods and
                // labelled PVCs as the Altinity operator makes them.
                values_path = t["values_path"].as_str().unwrap().to_owned();
                let chi = resource.split_once('/').unwrap().1;
                let claim = t["claim"].as_str().unwrap();
                chis[chi] =
                    json!({"claim": claim, "source": "posthog/templates/clickhouse_instance.yaml"});
                live_chis[chi] = json!({"claim": claim, "storage": t["old"]["canonical"]});
                for host in chi_hosts(&self.render, chi) {
                    let old = t["old"]["canonical"].as_str().unwrap();
                    let old_bytes = t["old"]["bytes"].as_i64().unwrap();
                    let (pod, pvc) = (format!("{host}-0"), format!("{claim}-{host}-0"));
                    let labels = json!({"clickhouse.altinity.com/chi": chi, "clickhouse.altinity.com/app": "chop"});
                    pvcs[&pvc] = json!({"uid": next(), "class": "sim", "phase": "Bound", "request": old_bytes, "capacity": old_bytes, "conditions": [], "message": "", "ticks": 0, "fs": old_bytes * 98 / 100, "labels": labels});
                    pods[&pod] = json!({"uid": next(), "owner": host, "ready": true, "pvc": pvc});
                    sts[&host] = json!({
                        "apiVersion": "apps/v1", "kind": "StatefulSet", "sim_claim": claim,
                        "metadata": {"name": host, "namespace": ns, "uid": next(), "resourceVersion": "100", "labels": {"clickhouse.altinity.com/chi": chi}},
                        "spec": {"replicas": 1, "serviceName": host, "selector": {"matchLabels": {"clickhouse.altinity.com/chi": chi}},
                                 "template": {"spec": {"containers": [{"name": t["container"], "volumeMounts": [{"name": claim, "mountPath": t["mount_path"]}]}]}},
                                 "volumeClaimTemplates": [{"metadata": {"name": claim}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": old}}}}]},
                        "status": {"replicas": 1, "readyReplicas": 1},
                    });
                }
                continue;
            }
            if let Some(pvc) = t["pvc"].as_str() {
                // A PVC the chart renders, mounted by one pod of its Deployment.
                let old_bytes = t["old"]["bytes"].as_i64().unwrap();
                values_path = t["values_path"].as_str().unwrap().to_owned();
                pvcs[pvc] = json!({"uid": next(), "class": "sim", "phase": "Bound", "request": old_bytes, "capacity": old_bytes, "conditions": [], "message": "", "ticks": 0, "fs": old_bytes * 98 / 100});
                let workload = t["workload"].as_str().unwrap();
                let pod = format!("{}-5d8f7c9b6d-x7k2p", workload.split_once('/').unwrap().1);
                pods[pod] = json!({"uid": next(), "owner": null, "workload": workload, "ready": true, "pvc": pvc});
                plain[pvc] = json!({"source": "webdisk/templates/pvc.yaml"});
                continue;
            }
            let name = t["statefulset"].as_str().unwrap();
            let old = t["old"]["canonical"].as_str().unwrap();
            let old_bytes = t["old"]["bytes"].as_i64().unwrap();
            values_path = t["values_path"].as_str().unwrap().to_owned();
            let mut spec = json!({
                "replicas": t["replicas"],
                "serviceName": format!("{name}-headless"),
                "selector": {"matchLabels": {"app.kubernetes.io/instance": release}},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": self.opts.when_scaled},
                "template": {"spec": {"containers": [{"name": t["container"], "volumeMounts": [{"name": t["claim"], "mountPath": t["mount_path"]}]}]}},
                "volumeClaimTemplates": [{"metadata": {"name": t["claim"]}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": old}}}}],
            });
            match self.opts.in_place {
                "strategy" => spec["volumeClaimUpdateStrategy"] = json!({"type": "InPlace"}),
                "policy" => spec["volumeClaimUpdatePolicy"] = json!("InPlace"),
                _ => {}
            }
            if self.opts.on_delete {
                spec["updateStrategy"] = json!({"type": "OnDelete"});
            }
            if let Some(start) = t.get("ordinals_start") {
                spec["ordinals"] = json!({ "start": start });
            }
            let api_version = t["kruise"]["api_version"].as_str().unwrap_or("apps/v1");
            if let Some(strategy) = t["kruise"]["strategy"].as_str() {
                spec["volumeClaimUpdateStrategy"] = json!({ "type": strategy });
            }
            let shape = json!({
                "apiVersion": api_version, "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/instance": release}},
                "spec": spec,
            });
            let mut live = shape.clone();
            live["metadata"]["uid"] = json!(next());
            live["metadata"]["resourceVersion"] = json!("100");
            live["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
            live["status"] = json!({"replicas": t["replicas"], "readyReplicas": t["replicas"]});
            sts[name] = live;
            shapes[name] = shape;
            for pvc in t["pvcs"].as_array().unwrap() {
                let pvc_name = pvc["name"].as_str().unwrap();
                pvcs[pvc_name] = json!({"uid": next(), "class": "sim", "phase": "Bound", "request": old_bytes, "capacity": old_bytes, "conditions": [], "message": "", "ticks": 0, "fs": old_bytes * 98 / 100});
                pods[pvc["pod"].as_str().unwrap()] =
                    json!({"uid": next(), "owner": name, "ready": true, "pvc": pvc_name});
            }
        }
        let (chart_name, version) = (
            p["chart_name"].as_str().unwrap(),
            p["chart_version"].as_str().unwrap(),
        );
        json!({
            "contexts": ["prod", "staging"], "context": "prod", "current_context": "staging",
            "namespace": ns, "namespaces": [ns],
            "storageclasses": {"sim": {"provisioner": "ebs.csi.aws.com", "allowVolumeExpansion": true, "mode": self.opts.mode, "round": 1 << 30, "delay": 1}},
            "pvcs": pvcs, "pods": pods, "statefulsets": sts,
            "releases": {release: {"namespace": ns, "chart": chart_name, "version": version, "status": "deployed", "revision": 1, "values": self.original_values}},
            "charts": {self.opts.chart: {"name": chart_name, "versions": [version, "99.0.0"]}},
            "model": {"claim": "data", "class": "sim", "values_path": values_path, "default_size": p["targets"][0]["old"]["canonical"], "statefulsets": shapes, "plain": plain, "chis": chis},
            "chis": live_chis,
            "values_file": self.opts.values_file,
            "faults": {}, "mutations": 0, "changes": [], "calls": [], "violations": [], "uid": uid,
            "kruise": {"gate": true},
        })
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("sim/state.json")
    }

    fn state(&self) -> Value {
        serde_json::from_str(&read(&self.state_path())).unwrap()
    }

    fn write_state(&self, v: &Value) {
        std::fs::write(self.state_path(), serde_json::to_string_pretty(v).unwrap()).unwrap();
    }

    fn edit(&self, f: impl FnOnce(&mut Value)) {
        let mut v = self.state();
        f(&mut v);
        self.write_state(&v);
    }

    /// Runs the script (in its own process group, which a `kill_at` fault kills): (exit code or -1
    /// when killed, stderr).
    fn run(&self, args: &[&str]) -> (i32, String) {
        let mut args = args.to_vec();
        if self.opts.fallback && !args.contains(&"--fallback-scale-to-zero") {
            args.push("--fallback-scale-to-zero");
        }
        self.run_with(&args, &[])
    }

    /// `run` with more environment variables (after the tests' short waits, so they override them).
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        RUNS.fetch_add(1, Ordering::Relaxed);
        let out = Command::new("bash")
            .arg("resize.sh")
            .args(args)
            .current_dir(self.dir.path())
            .envs(self.envs())
            .env("PVC_RESIZE_POLL_SECONDS", "0")
            .env("PVC_RESIZE_WAIT_SECONDS", "4")
            .env("PVC_RESIZE_PENDING_GRACE_SECONDS", "1")
            .envs(env.iter().copied())
            .process_group(0)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), err)
    }

    fn values_now(&self) -> String {
        read(&self.dir.path().join(self.opts.values_file))
    }

    /// No PVC deleted or shrunk, none changed that the plan does not name, no pod deleted without
    /// an owner, every call named the context.
    fn invariants(&self, before: &Value, what: &str) {
        let now = self.state();
        assert_eq!(now["violations"], json!([]), "{what}: violations");
        let targets = self.plan["targets"].as_array().unwrap().iter();
        let named: Vec<&Value> = targets
            .flat_map(|t| t["pvcs"].as_array().unwrap())
            .collect();
        let operated = self.operated_pvcs(before);
        for (name, p) in before["pvcs"].as_object().unwrap() {
            let q = &now["pvcs"][name];
            assert!(q.is_object(), "{what}: PVC {name} is gone");
            assert_eq!(q["uid"], p["uid"], "{what}: PVC {name} was re-created");
            assert!(
                q["request"].as_i64() >= p["request"].as_i64(),
                "{what}: {name} shrank"
            );
            if !named.iter().any(|n| n["name"] == name.as_str()) && !operated.contains(name) {
                assert_eq!(q, p, "{what}: {name}, which the plan leaves alone, changed");
            }
        }
        for call in now["calls"].as_array().unwrap() {
            let c = call.as_str().unwrap();
            if c.starts_with("kubectl") {
                assert!(
                    c.contains(&format!("--context={}", self.opts.context)),
                    "{what}: {c}"
                );
            }
            if c.starts_with("helm") {
                assert!(
                    c.contains(&format!("--kube-context={}", self.opts.context)),
                    "{what}: {c}"
                );
            }
        }
    }

    /// The PVCs labelled for a `--resource` target of the plan (its operator grows them).
    fn operated_pvcs(&self, state: &Value) -> Vec<String> {
        let selectors: Vec<(&str, &str)> = self.plan["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["selector"].as_str()?.split_once('='))
            .collect();
        state["pvcs"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, p)| selectors.iter().any(|(k, v)| p["labels"][*k] == *v))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The cluster and the values file are exactly as they started.
    fn unchanged(&self, before: &Value, what: &str) {
        let now = self.state();
        assert_eq!(now["changes"], json!([]), "{what}: changes were made");
        for key in ["pvcs", "pods", "statefulsets", "releases"] {
            assert_eq!(now[key], before[key], "{what}: {key} changed");
        }
        assert_eq!(
            self.values_now(),
            self.original_values,
            "{what}: values file changed"
        );
    }

    fn converged(&self, oracle: &HelmOracle, what: &str) {
        let s = self.state();
        let operated = self.operated_pvcs(&s);
        for name in &operated {
            let pvc = &s["pvcs"][name];
            for key in ["request", "capacity"] {
                assert!(pvc[key].as_i64().unwrap() >= SIZE_BYTES, "{what}: {pvc}");
            }
            assert_eq!(pvc["conditions"], json!([]), "{what}: {pvc}");
            let fs = pvc["fs"].as_i64().unwrap();
            assert!(fs >= SIZE_BYTES * 95 / 100, "{what}: {name} {fs}");
        }
        for t in self.plan["targets"].as_array().unwrap() {
            if let Some(chi) = t["resource"].as_str() {
                let chi = chi.split_once('/').unwrap().1;
                assert_eq!(
                    s["chis"][chi]["storage"], SIZE,
                    "{what}: the CHI's template"
                );
                assert!(!operated.is_empty(), "{what}: no PVC of {chi}");
                continue;
            }
            if let Some(pvc) = t["pvc"].as_str() {
                let pvc = &s["pvcs"][pvc];
                for key in ["request", "capacity"] {
                    assert!(pvc[key].as_i64().unwrap() >= SIZE_BYTES, "{what}: {pvc}");
                }
                assert_eq!(pvc["conditions"], json!([]), "{what}: {pvc}");
                assert!(
                    pvc["fs"].as_i64().unwrap() >= SIZE_BYTES * 95 / 100,
                    "{what}: {pvc}"
                );
                continue;
            }
            let name = t["statefulset"].as_str().unwrap();
            let sts = &s["statefulsets"][name];
            assert!(sts.is_object(), "{what}: StatefulSet {name} missing");
            assert_eq!(
                sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
                SIZE,
                "{what}: {name}'s claim template"
            );
            // The pods of the StatefulSet as it ends (re-created with the render's replicas).
            let start = t["ordinals_start"].as_i64().unwrap_or(0);
            let replicas = start..start + sts["spec"]["replicas"].as_i64().unwrap();
            for p in t["pvcs"].as_array().unwrap() {
                let pvc = &s["pvcs"][p["name"].as_str().unwrap()];
                assert!(
                    pvc["request"].as_i64().unwrap() >= SIZE_BYTES,
                    "{what}: {pvc}"
                );
                assert!(
                    pvc["capacity"].as_i64().unwrap() >= SIZE_BYTES,
                    "{what}: {pvc}"
                );
                if !replicas.contains(&p["ordinal"].as_i64().unwrap()) {
                    // Beyond the replicas: no pod; the filesystem grows when one mounts it.
                    assert!(!s["pods"][p["pod"].as_str().unwrap()].is_object(), "{what}");
                    continue;
                }
                assert_eq!(pvc["conditions"], json!([]), "{what}: {pvc}");
                let pod = &s["pods"][p["pod"].as_str().unwrap()];
                assert_eq!(pod["owner"], name, "{what}: {pod}");
                assert_eq!(pod["ready"], true, "{what}: {pod}");
                assert!(
                    pvc["fs"].as_i64().unwrap() >= SIZE_BYTES * 95 / 100,
                    "{what}: {pvc}"
                );
            }
        }
        let rel = &s["releases"][self.plan["release"].as_str().unwrap()];
        assert_eq!(rel["status"], "deployed", "{what}");
        assert_eq!(
            rel["values"].as_str().unwrap(),
            self.values_now(),
            "{what}: release values"
        );
        let read = oracle
            .read_values_text(self.values_now().as_bytes())
            .unwrap();
        let path = self.plan["targets"][0]["values_path"].as_str().unwrap();
        let got = path.split('.').fold(&read, |v, k| &v[k]);
        assert_eq!(got, SIZE, "{what}: {path} as Helm reads the values file");
    }
}

/// The hosts of ClickHouseInstallation `chi` in a render (`chi-<chi>-<cluster>-<shard>-<replica>`,
/// the operator's StatefulSet names), from its one cluster's layout.
fn chi_hosts(render: &str, chi: &str) -> Vec<String> {
    // The CHI's own document, from its kind on.
    let at = render
        .find("kind: \"ClickHouseInstallation\"")
        .or_else(|| render.find("kind: ClickHouseInstallation"))
        .unwrap();
    let doc = &render[at..];
    let doc = &doc[..doc.find("\n---").unwrap_or(doc.len())];
    assert!(doc.contains(&format!("name: \"{chi}\"")) || doc.contains(&format!("name: {chi}\n")));
    let value = |key: &str| {
        doc.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    let clusters = &doc[doc.find("clusters:").unwrap()..];
    let cluster = clusters
        .lines()
        .find_map(|l| l.trim().strip_prefix("- name: "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let count = |key| {
        value(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
    };
    let (shards, replicas) = (count("shardsCount:"), count("replicasCount:"));
    (0..shards)
        .flat_map(|s| (0..replicas).map(move |r| (s, r)))
        .map(|(s, r)| format!("chi-{chi}-{cluster}-{s}-{r}"))
        .collect()
}

/// A fresh simulated cluster from `make`, killed before change 1..=`changes` in turn: each run
/// dies there, and a rerun converges.
fn killed_before_each_change(
    make: impl Fn() -> Sim,
    oracle: &HelmOracle,
    what: &str,
    changes: usize,
) {
    for kill_at in 1..=changes {
        let sim = make();
        let before = sim.state();
        sim.edit(|s| s["faults"]["kill_at"] = json!(kill_at));
        let (code, _) = sim.run(&[]);
        assert_eq!(code, -1, "{what}: killed before change {kill_at}");
        let again = format!("{what}, killed before change {kill_at}");
        expect_done(&sim, oracle, &before, &again, &[]);
    }
}

fn expect_done(
    sim: &Sim,
    oracle: &HelmOracle,
    before: &Value,
    what: &str,
    args: &[&str],
) -> String {
    let (code, err) = sim.run(args);
    assert_eq!(code, 0, "{what}:\n{err}");
    assert!(err.contains("==> done:"), "{what}: {err}");
    if std::env::var_os("SIM_CALLS").is_some() {
        let calls = sim.state()["calls"].clone();
        eprintln!(
            "{what}: {} calls\n{}",
            calls.as_array().unwrap().len(),
            serde_json::to_string_pretty(&calls).unwrap()
        );
    }
    sim.invariants(before, what);
    sim.converged(oracle, what);
    err
}

/// `render` with `spec.ordinals.start: start` in each StatefulSet that `plan` targets (as a chart
/// that sets it would render it).
fn with_ordinals(render: &str, plan: &Value, start: i64) -> String {
    let mut out = render.to_owned();
    for t in plan["targets"].as_array().unwrap() {
        let head = format!(
            "kind: StatefulSet\nmetadata:\n  name: {}\n",
            t["statefulset"].as_str().unwrap()
        );
        let at = out.find(&head).expect("the targeted StatefulSet");
        let spec = at + out[at..].find("\nspec:\n").unwrap() + "\nspec:\n".len();
        out.insert_str(spec, &format!("  ordinals:\n    start: {start}\n"));
    }
    out
}

/// `render` with each StatefulSet that `plan` targets as OpenKruise's Advanced StatefulSet
/// (`apps.kruise.io/v1beta1`), with `strategy` as its volumeClaimUpdateStrategy.type ("" unset).
fn as_kruise(render: &str, plan: &Value, strategy: &str) -> String {
    let mut out = render.to_owned();
    for t in plan["targets"].as_array().unwrap() {
        let name = t["statefulset"].as_str().unwrap();
        let head = format!("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\n");
        let at = out.find(&head).expect("the targeted StatefulSet");
        out.replace_range(
            at..at + "apiVersion: apps/v1".len(),
            "apiVersion: apps.kruise.io/v1beta1",
        );
        if !strategy.is_empty() {
            let spec = at + out[at..].find("\nspec:\n").unwrap() + "\nspec:\n".len();
            out.insert_str(
                spec,
                &format!("  volumeClaimUpdateStrategy:\n    type: {strategy}\n"),
            );
        }
    }
    out
}

fn changes(sim: &Sim) -> Vec<String> {
    serde_json::from_value(sim.state()["changes"].clone()).unwrap()
}

/// How a fault-point run's cluster is made after `Sim::new`, and which changes it kills before.
struct Faults {
    prepare: fn(&mut Sim),
    pick: fn(&str) -> bool,
}

/// Every change, on the cluster as `Sim::new` makes it.
const EVERY_CHANGE: Faults = Faults {
    prepare: |_| {},
    pick: |_| true,
};

/// Happy path, then a kill before each change in turn (those `faults` picks) followed by a rerun,
/// each on a cluster made with `opts` then `faults.prepare`. Returns the fault points.
fn kills_and_reruns(
    e: &Env,
    oracle: &HelmOracle,
    case: &RenderCase,
    opts: Opts,
    faults: &Faults,
) -> usize {
    let prepare = faults.prepare;
    let mode = opts.mode;
    let mut sim = Sim::new(e, case, opts.clone());
    prepare(&mut sim);
    let before = sim.state();
    let what = format!("{} {mode} happy path", case.name);
    expect_done(&sim, oracle, &before, &what, &[]);
    let points = changes(&sim);
    // The order of the changes: values, patches, orphan delete immediately followed by the upgrade,
    // then (offline) one pod restart at a time.
    assert!(points[0].starts_with("pvc-resize values"), "{points:?}");
    let delete = points
        .iter()
        .position(|c| c.starts_with("delete statefulset"))
        .unwrap();
    assert!(points[delete].ends_with(" orphan"), "{points:?}");
    assert!(points[delete + 1].starts_with("helm upgrade"), "{points:?}");
    // (The fallback scales to 0 before the patches and back after the wait.)
    let fallback = |c: &String| opts.fallback && c.starts_with("scale statefulset");
    assert!(
        points[1..delete]
            .iter()
            .all(|c| c.starts_with("patch pvc") || fallback(c)),
        "{points:?}"
    );
    if mode == "offline" {
        assert!(
            points[delete + 2..]
                .iter()
                .all(|c| c.starts_with("delete pod")),
            "{points:?}"
        );
        assert_eq!(points.len() - delete - 2, case_pods(&sim), "{points:?}");
    }
    // A second run changes nothing but what must be re-asserted (no change at all).
    let (code, err) = sim.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(changes(&sim), points, "{what}: a rerun changed something");

    // Each fault point in its own cluster, in parallel.
    std::thread::scope(|scope| {
        for (k, point) in points.iter().enumerate().map(|(i, p)| (i + 1, p)) {
            if !(faults.pick)(point) {
                continue;
            }
            let opts = opts.clone();
            scope.spawn(move || {
                // Its own oracle: HelmOracle reads through fixed file names, one caller at a time.
                let oracle = &HelmOracle::new(e.helm.clone());
                let mut sim = Sim::new(e, case, opts);
                prepare(&mut sim);
                let before = sim.state();
                sim.edit(|s| s["faults"]["kill_at"] = json!(k));
                let (code, err) = sim.run(&[]);
                let what = format!("{} {mode}: killed before change {k} ({point})", case.name);
                assert_eq!(code, -1, "{what}: not killed:\n{err}");
                assert_eq!(sim.state()["killed_before"], point.as_str(), "{what}");
                assert!(!err.contains("==> done"), "{what}");
                sim.invariants(&before, &what);
                expect_done(
                    &sim,
                    oracle,
                    &before,
                    &format!("{what}, then run again"),
                    &[],
                );
            });
        }
    });
    points.iter().filter(|p| (faults.pick)(p)).count()
}

fn case_pods(sim: &Sim) -> usize {
    sim.plan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["replicas"].as_u64().unwrap() as usize)
        .sum()
}

/// The first object of a simulated cluster's map (`releases`, `pvcs`): the one the case has.
fn first(map: &mut Value) -> &mut Value {
    map.as_object_mut().unwrap().values_mut().next().unwrap()
}

#[test]
fn happy_path_and_a_kill_before_each_change_then_rerun() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let started = std::time::Instant::now();
    let mut points = Vec::new();
    // Every case with online expansion; the offline one (a pod restart per broker) on 3 brokers.
    for (case, mode) in [
        (&POSTHOG_1, "online"),
        (&POSTHOG_3, "online"),
        (&BITNAMI_32, "online"),
        (&POSTHOG_3, "offline"),
    ] {
        let n = kills_and_reruns(&e, &oracle, case, self::mode(mode), &EVERY_CHANGE);
        points.push((case.name, mode, n));
    }
    // The fallback on a cloud that can't grow attached disks: also the scales to 0 and back.
    let fallback = Opts {
        fallback: true,
        ..self::mode("attached-refusal")
    };
    let n = kills_and_reruns(&e, &oracle, &POSTHOG_3, fallback, &EVERY_CHANGE);
    points.push((POSTHOG_3.name, "fallback", n));
    let total: usize = points.iter().map(|p| p.2).sum();
    assert_eq!(
        total, 33,
        "the fault points documented in docs/plan.md: {points:?}"
    );
    eprintln!(
        "fault points: {total} ({points:?}); script runs so far: {}; {:.1}s",
        RUNS.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn broken_helm_or_cluster_changes_nothing() {
    let Some(e) = env() else { return };
    type Break = (&'static str, Opts, fn(&mut Value), &'static str);
    let none: fn(&mut Value) = |_| {};
    let cases: Vec<Break> = vec![
        (
            "repository missing",
            Opts::default(),
            |s| s["charts"] = json!({}),
            "does not resolve",
        ),
        (
            "chart version missing",
            Opts::default(),
            |s| {
                for c in s["charts"].as_object_mut().unwrap().values_mut() {
                    c["versions"] = json!(["99.0.0"]);
                }
            },
            "does not resolve",
        ),
        (
            "release missing",
            Opts::default(),
            |s| s["releases"] = json!({}),
            "not found",
        ),
        (
            "wrong context",
            Opts {
                context: "staging",
                ..Opts::default()
            },
            none,
            "can't be used",
        ),
        (
            "unknown context",
            Opts {
                context: "nope",
                ..Opts::default()
            },
            none,
            "can't be used",
        ),
        (
            "values set at install and missing from the file",
            Opts::default(),
            |s| {
                let r = first(&mut s["releases"]);
                r["values"] = json!(format!(
                    "{}ingress:\n  hostname: posthog.example.com\n",
                    r["values"].as_str().unwrap()
                ));
            },
            "drop or change",
        ),
        (
            "release in another operation",
            Opts::default(),
            |s| {
                first(&mut s["releases"])["status"] = json!("pending-upgrade");
            },
            "pending-upgrade",
        ),
        (
            "class without expansion",
            Opts::default(),
            |s| s["storageclasses"]["sim"]["allowVolumeExpansion"] = json!(false),
            "does not allow volume expansion",
        ),
        (
            "PVC not Bound",
            Opts::default(),
            |s| {
                first(&mut s["pvcs"])["phase"] = json!("Pending");
            },
            "not Bound",
        ),
        (
            // (It used to go on: patches, the orphan delete and the upgrade, then a rollout that
            // never finished, and offline a restart of another broker while this one was down.)
            "a pod not Ready",
            Opts::default(),
            |s| {
                first(&mut s["pods"])["ready"] = json!(false);
                let sts = first(&mut s["statefulsets"]);
                let ready = sts["spec"]["replicas"].as_i64().unwrap() - 1;
                sts["status"]["readyReplicas"] = json!(ready);
            },
            "is not Ready after",
        ),
        (
            "release runs another chart version",
            Opts::default(),
            |s| {
                first(&mut s["releases"])["version"] = json!("1.0.0");
            },
            "rendered from",
        ),
        (
            "fallback asked with whenScaled: Delete",
            Opts {
                when_scaled: "Delete",
                ..Opts::default()
            },
            none,
            "whenScaled: Delete",
        ),
    ];
    for case in CASES {
        for (what, opts, breakit, needle) in &cases {
            let sim = Sim::new(&e, case, opts.clone());
            sim.edit(breakit);
            let before = sim.state();
            let args: &[&str] = if opts.when_scaled == "Delete" {
                &["--fallback-scale-to-zero"]
            } else {
                &[]
            };
            let what = format!("{}: {what}", case.name);
            expect_stop(&sim, &what, args, &[needle]);
            sim.unchanged(&before, &what);
        }
    }
}

#[test]
fn upgrade_failing_after_the_orphan_delete() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    for case in CASES {
        // Fixed and run again: converges.
        let sim = Sim::new(&e, case, Opts::default());
        let before = sim.state();
        sim.edit(|s| s["faults"]["upgrade_fail"] = json!("timed out waiting for the condition"));
        let (code, err) = sim.run(&[]);
        let what = format!("{}: upgrade fails", case.name);
        assert_eq!(code, 1, "{what}:\n{err}");
        assert!(err.contains("create -f pvc-resize-"), "{what}: {err}");
        assert!(err.contains("run this script again"), "{what}: {err}");
        sim.invariants(&before, &what);
        let s = sim.state();
        for pod in before["pods"].as_object().unwrap().keys() {
            assert_eq!(
                s["pods"][pod]["owner"],
                Value::Null,
                "{what}: {pod} should run on, orphaned"
            );
        }
        sim.edit(|s| s["faults"]["upgrade_fail"] = Value::Null);
        expect_done(
            &sim,
            &oracle,
            &before,
            &format!("{what}, fixed, run again"),
            &[],
        );

        // Or put back with the printed command, then run again: converges too.
        let sim = Sim::new(&e, case, Opts::default());
        let before = sim.state();
        sim.edit(|s| s["faults"]["upgrade_fail"] = json!("timed out"));
        let (_, err) = sim.run(&[]);
        let restore = err
            .lines()
            .find(|l| l.contains(" create -f "))
            .unwrap()
            .trim()
            .to_owned();
        let out = Command::new("bash")
            .args(["-c", &restore])
            .current_dir(sim.dir.path())
            .envs(sim.envs())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{restore}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = sim.state();
        for (pod, p) in before["pods"].as_object().unwrap() {
            assert_eq!(
                s["pods"][pod]["owner"], p["owner"],
                "{restore}: {pod} adopted again"
            );
            assert_eq!(
                s["pods"][pod]["uid"], p["uid"],
                "{restore}: {pod} kept running"
            );
        }
        sim.edit(|s| s["faults"]["upgrade_fail"] = Value::Null);
        expect_done(
            &sim,
            &oracle,
            &before,
            &format!("{}: restored, run again", case.name),
            &[],
        );
    }
}

/// The upgrade fails after it re-created the StatefulSets (a post-upgrade hook, or a later resource):
/// the release is `failed` with the new size in its values, and every claim template has the size.
/// Fixed and run again, the script must run the upgrade again, not skip it as done (it did: "the
/// release and every StatefulSet already have 50Gi", then "done" with the release still failed).
#[test]
fn upgrade_failing_after_the_statefulsets_are_re_created() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    for case in CASES {
        let sim = Sim::new(&e, case, Opts::default());
        let before = sim.state();
        sim.edit(|s| s["faults"]["upgrade_fail_late"] = json!("post-upgrade hooks failed"));
        let what = format!("{}: upgrade fails after re-creating", case.name);
        expect_stop(&sim, &what, &[], &["run this script again"]);
        let rel = &sim.state()["releases"][case.release];
        assert_eq!(rel["status"], "failed", "{what}");
        sim.edit(|s| s["faults"]["upgrade_fail_late"] = Value::Null);
        let err = expect_done(
            &sim,
            &oracle,
            &before,
            &format!("{what}, fixed, run again"),
            &[],
        );
        assert!(!err.contains("already have"), "{what}: {err}");
        let upgrades = changes(&sim)
            .iter()
            .filter(|c| c.starts_with("helm upgrade"))
            .count();
        assert_eq!(upgrades, 2, "{what}");
    }
}

/// A run that must stop (exit 1, never "done", every needle in stderr), with the invariants kept.
fn expect_stop(sim: &Sim, what: &str, args: &[&str], needles: &[&str]) {
    let before = sim.state();
    let (code, err) = sim.run(args);
    assert_eq!(code, 1, "{what}:\n{err}");
    assert!(!err.contains("==> done"), "{what}");
    for n in needles {
        assert!(err.contains(n), "{what}: {n:?} not in\n{err}");
    }
    sim.invariants(&before, what);
}

fn mode(mode: &'static str) -> Opts {
    Opts {
        mode,
        ..Opts::default()
    }
}

#[test]
fn filesystems_grown_or_a_clear_stop() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    for case in CASES {
        let what = |w: &str| format!("{}: {w}", case.name);
        // The filesystem never grows (a driver that can't expand offline): a clear stop, never "done".
        let sim = Sim::new(&e, case, mode("stuck"));
        expect_stop(
            &sim,
            &what("stuck filesystem"),
            &[],
            &["still FileSystemResizePending after"],
        );

        // Azure refuses to grow an attached disk: stop with the fallback named; with it, converge.
        let sim = Sim::new(&e, case, mode("attached-refusal"));
        let before = sim.state();
        expect_stop(
            &sim,
            &what("attached disk"),
            &[],
            &["Unattached", "--fallback-scale-to-zero"],
        );
        let fallback = ["--fallback-scale-to-zero"];
        expect_done(
            &sim,
            &oracle,
            &before,
            &what("attached disk, then the fallback"),
            &fallback,
        );

        // The re-created StatefulSet does not adopt the pods (a selector that no longer matches): the
        // offline filesystems can't be restarted safely, so a clear stop, and no pod deleted.
        let sim = Sim::new(&e, case, mode("offline"));
        sim.edit(|s| s["faults"]["no_adopt"] = json!(true));
        expect_stop(&sim, &what("pods not adopted"), &[], &[]);
        assert!(!changes(&sim).iter().any(|c| c.starts_with("delete pod")));

        // An infeasible size: stop, and say how to retry above the current capacity.
        let sim = Sim::new(&e, case, mode("infeasible"));
        let needles = [
            "RecoverVolumeExpansionFailure",
            "above the current capacity",
        ];
        expect_stop(&sim, &what("infeasible"), &[], &needles);

        // KEP-4650 InPlace, read back from the live object under either draft name: no orphan
        // delete, the upgrade grows the claims.
        for name in ["strategy", "policy"] {
            let opts = Opts {
                in_place: name,
                ..Opts::default()
            };
            let sim = Sim::new(&e, case, opts);
            let before = sim.state();
            let err = expect_done(&sim, &oracle, &before, &what(name), &[]);
            assert!(
                err.contains("(KEP-4650 volumeClaimUpdateStrategy InPlace, kept by the API server"),
                "{err}"
            );
            let changes = changes(&sim);
            assert!(
                !changes.iter().any(|c| c.starts_with("delete statefulset")),
                "{name}: {changes:?}"
            );
        }
    }
}

/// `kubectl rollout status` refuses an OnDelete StatefulSet: the script waits for Ready replicas.
#[test]
fn on_delete_update_strategy() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let opts = Opts {
        on_delete: true,
        ..Opts::default()
    };
    let sim = Sim::new(&e, &POSTHOG_3, opts);
    let before = sim.state();
    expect_done(&sim, &oracle, &before, "OnDelete", &[]);
}

#[test]
fn awkward_names_stay_arguments() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let opts = Opts {
        values_file: "-values of 'prod' ü $(id).yaml",
        chart: "-charts/posthog x",
        context: "-prod `ctx` é $HOME",
        ..Opts::default()
    };
    let sim = Sim::new(&e, &POSTHOG_3, opts);
    sim.edit(|s| {
        s["contexts"] = json!(["-prod `ctx` é $HOME"]);
        s["context"] = json!("-prod `ctx` é $HOME");
    });
    let before = sim.state();
    expect_done(&sim, &oracle, &before, "awkward names", &[]);
}

#[test]
fn the_sim_refuses_what_kubernetes_refuses() {
    let Some(e) = env() else { return };
    let sim = Sim::new(&e, &POSTHOG_1, Opts::default());
    let run = |args: &[&str]| -> (bool, String) {
        let out = Command::new(manifest_dir().join("tests/sim").join(args[0]))
            .args(&args[1..])
            .current_dir(sim.dir.path())
            .envs(sim.envs())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let k = ["kubectl", "--context=prod", "--namespace=posthog"];
    fn with<'a>(k: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        k.iter().chain(extra).copied().collect()
    }
    let pvc = "data-posthog-posthog-kafka-0";
    // A shrink is refused with the API server's text.
    let (ok, err) = run(&with(
        &k,
        &[
            "patch",
            "pvc",
            pvc,
            "-p",
            r#"{"spec":{"resources":{"requests":{"storage":"10Gi"}}}}"#,
        ],
    ));
    assert!(
        !ok && err.contains("field can not be less than previous value"),
        "{err}"
    );
    // The upgrade onto a StatefulSet with a different claim template fails as Helm 3 reports it.
    std::fs::write(
        sim.dir.path().join("big.yaml"),
        "kafka:\n  persistence:\n    size: 50Gi\n",
    )
    .unwrap();
    let big = sim.dir.path().join("big.yaml");
    let (ok, err) = run(&[
        "helm",
        "--kube-context=prod",
        "--namespace=posthog",
        "upgrade",
        &format!("--values={}", big.display()),
        "--version=30.46.0",
        "--",
        "posthog",
        "posthog/posthog",
    ]);
    assert!(
        !ok && err.contains("cannot patch \"posthog-posthog-kafka\" with kind StatefulSet")
            && err.contains("spec: Forbidden: updates to statefulset spec for fields other than"),
        "{err}"
    );
    // A normal delete kills the pods; the PVCs stay.
    let (ok, err) = run(&with(
        &k,
        &["delete", "statefulset", "posthog-posthog-kafka"],
    ));
    assert!(ok, "{err}");
    let s = sim.state();
    assert_eq!(s["pods"], json!({}));
    assert!(s["pvcs"][pvc].is_object());
    // Without --context, the call lands on the current (other) context and is recorded.
    let (ok, _) = run(&["kubectl", "get", "pvc", pvc, "-o", "name"]);
    assert!(!ok);
    let v = sim.state()["violations"].to_string();
    assert!(
        v.contains("shrink requested") && v.contains("kubectl without --context"),
        "{v}"
    );
}

#[test]
fn every_step_and_check_has_its_function_in_the_script() {
    let Some(e) = env() else { return };
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let body = read(&manifest_dir().join("src/script/resize.sh"));
    for s in sim.plan["steps"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap().replace('-', "_");
        assert!(body.contains(&format!("\nstep_{id}() {{")), "step_{id}");
        for c in s["checks"].as_array().into_iter().flatten() {
            let id = c["id"].as_str().unwrap().replace('-', "_");
            assert!(body.contains(&format!("\ncheck_{id}() {{")), "check_{id}");
        }
    }
    // The script runs them in the plan's order: its log names every step, in order.
    let (code, err) = sim.run(&[]);
    assert_eq!(code, 0, "{err}");
    let logged: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("==> step "))
        .map(|l| l.split_whitespace().nth(1).unwrap().trim_end_matches(':'))
        .collect();
    let planned: Vec<&str> = sim.plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(logged, planned);
}

/// 3 replicas from ordinal 2 (`spec.ordinals.start`, StatefulSetStartOrdinal, GA in 1.31) on the
/// real PostHog render: the pods are `-2..4`, so are the PVCs grown; a PVC below the start is never
/// touched, one beyond the replicas is grown.
#[test]
fn ordinals_from_start() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let started = std::time::Instant::now();
    let opts = |mode| Opts {
        mode,
        ordinals_start: 2,
        ..Opts::default()
    };
    // Without --cluster, offline (a restart per pod): exactly -2..4 grown and restarted, highest
    // first; a rerun changes nothing.
    let sim = Sim::new(&e, &POSTHOG_3, opts("offline"));
    let what = "ordinals from 2, offline";
    let t = &sim.plan["targets"][0];
    assert_eq!(t["ordinals_start"], 2, "{what}");
    let sts = t["statefulset"].as_str().unwrap();
    let names = |prefix: &str, ordinals: &[i64]| -> Vec<String> {
        ordinals
            .iter()
            .map(|i| format!("{prefix}{sts}-{i}"))
            .collect()
    };
    let before = sim.state();
    assert_eq!(keys(&before["pods"]), names("", &[2, 3, 4]), "{what}");
    expect_done(&sim, &oracle, &before, what, &[]);
    let done = changes(&sim);
    let acted = |verb: &str| -> Vec<String> {
        let words = done.iter().filter_map(|c| c.strip_prefix(verb));
        words
            .map(|c| c.split(' ').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(acted("patch pvc "), names("data-", &[2, 3, 4]), "{what}");
    assert_eq!(acted("delete pod "), names("", &[4, 3, 2]), "{what}");
    let (code, err) = sim.run(&[]);
    assert_eq!(code, 0, "{what}, run again: {err}");
    assert_eq!(changes(&sim), done, "{what}: a rerun changed something");

    // The simulated controller itself: a scale-down keeps the lowest ordinals and every PVC, a
    // scale-up brings the same pods back on them.
    let scale = |replicas: &str| {
        sim.kubectl(&[
            "scale",
            "statefulset",
            sts,
            &format!("--replicas={replicas}"),
        ]);
        sim.state()
    };
    let grown = sim.state();
    assert_eq!(keys(&scale("1")["pods"]), names("", &[2]), "scaled to 1");
    let s = scale("3");
    assert_eq!(keys(&s["pods"]), names("", &[2, 3, 4]), "scaled to 3");
    assert_eq!(s["pvcs"], grown["pvcs"], "scaled to 1, then 3");

    // Azure refuses an attached disk: the fallback scales to 0 and back to the same ordinals.
    let sim = Sim::new(&e, &POSTHOG_3, opts("attached-refusal"));
    let before = sim.state();
    let what = "ordinals from 2, attached disk";
    expect_stop(&sim, what, &[], &["--fallback-scale-to-zero"]);
    expect_done(&sim, &oracle, &before, what, &["--fallback-scale-to-zero"]);

    // With --cluster and PVCs left below and beyond: a kill before the first and the last patch,
    // the orphan delete and the upgrade, then a rerun, converges; `-0` is never touched.
    let faults = Faults {
        prepare: leftovers,
        pick: |c| {
            let patch = |i| c.starts_with("patch pvc") && c.contains(&format!("-{i} "));
            patch(2)
                || patch(5)
                || c.starts_with("delete statefulset")
                || c.starts_with("helm upgrade")
        },
    };
    let n = kills_and_reruns(&e, &oracle, &POSTHOG_3, opts("online"), &faults);
    assert_eq!(n, 4, "the fault points documented in docs/plan.md");
    eprintln!(
        "ordinals: {n} fault points; {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// The names in a simulated cluster's map (`pods`, `pvcs`), sorted.
fn keys(map: &Value) -> Vec<String> {
    map.as_object().unwrap().keys().cloned().collect()
}

/// PVCs `-0` (left from before `ordinals.start` was 2) and `-5` (left by a scale-down from 4)
/// in the cluster, and the plan made again with `--cluster` (a snapshot of the simulated cluster):
/// `pvc-below-ordinals` for `-0`, not targeted; `pvc-beyond-replicas` for `-5`, grown.
fn leftovers(sim: &mut Sim) {
    let sts = sim.plan["targets"][0]["statefulset"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.edit(|s| {
        for i in [0, 5] {
            let mut pvc = s["pvcs"][format!("data-{sts}-2")].clone();
            s["uid"] = json!(s["uid"].as_i64().unwrap() + 1);
            pvc["uid"] = json!(format!("uid-{}", s["uid"]));
            s["pvcs"][format!("data-{sts}-{i}")] = pvc;
        }
    });
    let cluster = sim.snapshot();
    sim.make_plan(Some(&cluster));
    let finding = |id: &str| -> Vec<String> {
        let found = sim.plan["findings"].as_array().unwrap().iter();
        let found = found.filter(|f| f["id"] == id);
        found
            .map(|f| {
                f["message"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(finding("pvc-below-ordinals"), [format!("data-{sts}-0")]);
    assert_eq!(finding("pvc-beyond-replicas"), [format!("data-{sts}-5")]);
    let pvcs = sim.plan["targets"][0]["pvcs"].as_array().unwrap().iter();
    let named: Vec<&str> = pvcs.map(|p| p["name"].as_str().unwrap()).collect();
    let want: Vec<String> = [2, 3, 4, 5]
        .iter()
        .map(|i| format!("data-{sts}-{i}"))
        .collect();
    assert_eq!(named, want);
}

/// A live StatefulSet moved to ordinal 2 (`kubectl patch`; `ordinals` is mutable) whose render has
/// no `ordinals`: the orphan delete and the upgrade would re-create it from 0, deleting pods -3 and
/// -4 and starting -0 and -1 on stale disks. The script refuses before any change; with `--cluster`
/// the plan blocks.
#[test]
fn live_ordinals_that_differ_from_the_render() {
    let Some(e) = env() else { return };
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let sts = sim.plan["targets"][0]["statefulset"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.edit(|s| {
        s["statefulsets"][&sts]["spec"]["ordinals"] = json!({"start": 2});
        for i in [3, 4] {
            let pvc = format!("data-{sts}-{i}");
            s["pvcs"][&pvc] = s["pvcs"][format!("data-{sts}-0")].clone();
            s["pvcs"][&pvc]["uid"] = json!(format!("uid-{pvc}"));
            s["pods"][format!("{sts}-{i}")] =
                json!({"uid": format!("uid-pod-{i}"), "owner": sts, "ready": true, "pvc": pvc});
        }
        for i in [0, 1] {
            s["pods"]
                .as_object_mut()
                .unwrap()
                .remove(&format!("{sts}-{i}"));
        }
    });
    let before = sim.state();
    let what = "live ordinals from 2, render from 0";
    let needle = "starts at ordinal 2 (spec.ordinals.start), the render at 0";
    expect_stop(&sim, what, &[], &[needle]);
    sim.unchanged(&before, what);

    let cluster = sim.snapshot();
    let out = sim.plan_output("json", Some(&cluster));
    assert_eq!(code(&out), 1, "{what}: {}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let found = plan["findings"].as_array().unwrap().iter();
    let differ: Vec<&Value> = found.filter(|f| f["id"] == "ordinals-differ").collect();
    assert_eq!(differ.len(), 1, "{what}: {}", plan["findings"]);
    let pods = |a, b| format!("[{sts}-{a}, {sts}-{b}]");
    let message = differ[0]["message"].as_str().unwrap();
    let moved = format!("delete pods {} and start {}", pods(3, 4), pods(0, 1));
    assert!(message.contains(&moved), "{what}: {message}");
}

/// The live StatefulSet scaled with `kubectl scale`, away from the render's 3 replicas: `edit`
/// gives it `replicas` pods (`-0..`), each on its PVC (kept by a scale-down with `Retain`).
fn scaled(sim: &Sim, replicas: i64) -> String {
    let sts = sim.plan["targets"][0]["statefulset"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.edit(|s| {
        s["statefulsets"][&sts]["spec"]["replicas"] = json!(replicas);
        s["statefulsets"][&sts]["status"] =
            json!({"replicas": replicas, "readyReplicas": replicas});
        for i in 0..replicas.max(3) {
            let (pod, pvc) = (format!("{sts}-{i}"), format!("data-{sts}-{i}"));
            if !s["pvcs"][&pvc].is_object() {
                s["pvcs"][&pvc] = s["pvcs"][format!("data-{sts}-0")].clone();
                s["pvcs"][&pvc]["uid"] = json!(format!("uid-{pvc}"));
            }
            if i < replicas {
                s["pods"][&pod] =
                    json!({"uid": format!("uid-pod-{i}"), "owner": sts, "ready": true, "pvc": pvc});
            } else {
                s["pods"].as_object_mut().unwrap().remove(&pod);
            }
        }
    });
    sts
}

/// The plan's findings with this id.
fn findings_of<'p>(plan: &'p Value, id: &str) -> Vec<&'p Value> {
    let found = plan["findings"].as_array().unwrap().iter();
    found.filter(|f| f["id"] == id).collect()
}

/// Scaled to 4 brokers while the render says 3 (whenScaled: Delete): the orphan delete and the
/// upgrade would re-create it with 3, deleting broker -3 and its PVC. The script refuses before any
/// change; with `--cluster` the plan blocks and writes no script.
#[test]
fn live_replicas_above_the_render() {
    let Some(e) = env() else { return };
    let opts = Opts {
        when_scaled: "Delete",
        ..Opts::default()
    };
    let sim = Sim::new(&e, &POSTHOG_3, opts);
    let sts = scaled(&sim, 4);
    let before = sim.state();
    let what = "live 4 replicas, render 3";
    let needle = "has 4 replicas (spec.replicas), the render 3";
    expect_stop(&sim, what, &[], &[needle, "from ordinal 3 on"]);
    sim.unchanged(&before, what);

    let cluster = sim.snapshot();
    let out = sim.plan_output("json", Some(&cluster));
    assert_eq!(code(&out), 1, "{what}: {}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let differ = findings_of(&plan, "replicas-differ");
    assert_eq!(differ.len(), 1, "{what}: {}", plan["findings"]);
    assert_eq!(differ[0]["severity"], "error", "{what}");
    let message = differ[0]["message"].as_str().unwrap();
    let deleted = format!("delete pods [{sts}-3] and, as whenScaled is Delete, their PVCs");
    assert!(message.contains(&deleted), "{what}: {message}");
    let hint = differ[0]["hint"].as_str().unwrap();
    assert!(hint.contains("kafka.replicaCount: 4"), "{what}: {hint}");
    let out = sim.plan_output("script", Some(&cluster));
    assert_eq!(code(&out), 1, "{what}: {}", stderr(&out));
    assert_blocked_script(&stdout(&out), "replicas-differ");
}

/// Scaled to 2 brokers while the render says 3: the re-created StatefulSet brings broker -2 back
/// on its PVC, grown. Offline the plan names 3 replicas (all grown, pod -2 checked after the
/// upgrade); with `--cluster` a `replicas-differ` warning, data -2 grown as beyond the replicas.
/// Then the fallback killed after its scale to 0: the rerun sees 0 live replicas and converges.
#[test]
fn live_replicas_below_the_render() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let mut sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let sts = scaled(&sim, 2);
    let before = sim.state();
    let what = "live 2 replicas, render 3, offline plan";
    let err = expect_done(&sim, &oracle, &before, what, &[]);
    assert!(
        err.contains("adds the pods from ordinal 2 on"),
        "{what}: {err}"
    );

    sim.write_state(&before);
    let cluster = sim.snapshot();
    sim.make_plan(Some(&cluster));
    let what = "live 2 replicas, render 3, --cluster";
    let differ = findings_of(&sim.plan, "replicas-differ");
    assert_eq!(differ.len(), 1, "{what}: {}", sim.plan["findings"]);
    assert_eq!(differ[0]["severity"], "warning", "{what}");
    let message = differ[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("adds pods [{sts}-2]")),
        "{what}: {message}"
    );
    assert_eq!(findings_of(&sim.plan, "pvc-beyond-replicas").len(), 1);
    expect_done(&sim, &oracle, &before, what, &[]);
    let pvc = &sim.state()["pvcs"][format!("data-{sts}-2")];
    assert_eq!(pvc["uid"], before["pvcs"][format!("data-{sts}-2")]["uid"]);
    assert!(
        pvc["fs"].as_i64().unwrap() >= SIZE_BYTES * 95 / 100,
        "{pvc}"
    );

    // Scaled down with whenScaled: Delete, so data -2 is gone: the re-created StatefulSet makes it
    // from the new claim template, at the new size.
    let opts = Opts {
        when_scaled: "Delete",
        ..Opts::default()
    };
    let sim = Sim::new(&e, &POSTHOG_3, opts);
    scaled(&sim, 2);
    let pvc = format!("data-{sts}-2");
    sim.edit(|s| {
        s["pvcs"].as_object_mut().unwrap().remove(&pvc);
    });
    let before = sim.state();
    let what = "live 2 replicas, render 3, PVC -2 deleted";
    let err = expect_done(&sim, &oracle, &before, what, &[]);
    assert!(
        err.contains(&format!("{pvc} and pod {sts}-2 do not exist")),
        "{what}: {err}"
    );
    let made = &sim.state()["pvcs"][&pvc];
    assert_eq!(made["request"], SIZE_BYTES, "{what}: {made}");
    assert!(!changes(&sim).iter().any(|c| c.contains(&pvc)), "{what}");

    // The fallback killed after its scale to 0, then run again: 0 live replicas is no drift.
    let sim = Sim::new(&e, &POSTHOG_3, mode("attached-refusal"));
    let before = sim.state();
    let what = "fallback killed after the scale to 0";
    sim.edit(|s| s["faults"]["kill_at"] = json!(3));
    let (code, err) = sim.run(&["--fallback-scale-to-zero"]);
    assert_eq!(code, -1, "{what}: not killed:\n{err}");
    let done = changes(&sim);
    assert!(done[1].starts_with("scale statefulset"), "{what}: {done:?}");
    assert_eq!(sim.state()["statefulsets"][&sts]["spec"]["replicas"], 0);
    let fallback = ["--fallback-scale-to-zero"];
    expect_done(&sim, &oracle, &before, what, &fallback);
}

/// `PVC_RESIZE_WAIT_SECONDS=15m` (a duration, not seconds): the script used to pass the preflight,
/// write the values file and patch the PVCs, then die on bash's arithmetic error in the first wait.
/// It now refuses it before anything, like a bad argument (exit 2), and so the other two.
#[test]
fn wait_settings_that_are_not_seconds_are_refused_first() {
    let Some(e) = env() else { return };
    let sim = Sim::new(&e, &POSTHOG_1, Opts::default());
    let before = sim.state();
    for var in [
        "PVC_RESIZE_WAIT_SECONDS",
        "PVC_RESIZE_POLL_SECONDS",
        "PVC_RESIZE_PENDING_GRACE_SECONDS",
    ] {
        for bad in ["15m", "-1", "1e3", " 10", "09"] {
            let (code, err) = sim.run_with(&[], &[(var, bad)]);
            let what = format!("{var}={bad:?}");
            assert_eq!(code, 2, "{what}:\n{err}");
            assert!(
                err.contains(var) && err.contains("whole number of seconds"),
                "{what}: {err}"
            );
            sim.unchanged(&before, &what);
        }
    }
}

/// The script killed in the middle of its `helm upgrade` (SIGKILL or a lost SSH session: Helm marks
/// a release failed only on SIGINT/SIGTERM), before it applied anything (the StatefulSet stays
/// deleted) or after it re-created the StatefulSet: the release stays `pending-upgrade` for good and
/// Helm refuses every upgrade. The rerun used to say "wait until no other helm operation runs",
/// which never comes, with the StatefulSet deleted. It now says so, names the pinned `helm
/// rollback`, and after that command the next run converges (a rollback refused with spec:
/// Forbidden on a re-created StatefulSet still leaves the release failed, which the script takes).
#[test]
fn killed_inside_the_upgrade_then_rollback_and_rerun() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    for (when, deleted) in [("before", true), ("after", false)] {
        let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
        let before = sim.state();
        let sts = sim.plan["targets"][0]["statefulset"]
            .as_str()
            .unwrap()
            .to_owned();
        sim.edit(|s| s["faults"]["kill_in_upgrade"] = json!(when));
        let what = format!("killed inside the upgrade, {when} it applied");
        let (code, err) = sim.run(&[]);
        assert_eq!(code, -1, "{what}: not killed:\n{err}");
        let s = sim.state();
        assert_eq!(
            s["releases"]["posthog"]["status"], "pending-upgrade",
            "{what}"
        );
        assert_eq!(s["statefulsets"][&sts].is_null(), deleted, "{what}");
        sim.invariants(&before, &what);

        let rollback = "helm --kube-context=prod --namespace=posthog rollback posthog";
        let mut needles = vec![rollback, "pending-upgrade"];
        let gone = format!("StatefulSet {sts} was deleted by an earlier run");
        if deleted {
            needles.push(&gone);
        }
        expect_stop(&sim, &what, &[], &needles);
        let out = Command::new("bash")
            .args(["-c", rollback])
            .current_dir(sim.dir.path())
            .envs(sim.envs())
            .output()
            .unwrap();
        assert_eq!(out.status.success(), deleted, "{what}: {out:?}");
        let status = &sim.state()["releases"]["posthog"]["status"];
        assert_eq!(
            status,
            if deleted { "deployed" } else { "failed" },
            "{what}"
        );
        expect_done(
            &sim,
            &oracle,
            &before,
            &format!("{what}, rolled back, run again"),
            &[],
        );
    }
}

/// `--path kafka.persistance.size` (a typo: the chart reads `kafka.persistence.size`): `values`
/// inserts the key, the chart ignores it. The script used to say "done" with the template at 20Gi,
/// then stopped after the upgrade (PVCs patched, StatefulSet re-created). Its preflight now reads the
/// render of the upgrade's dry run (MANIFEST:, as Helm prints it) and stops before the first change:
/// the claim template is still at 20Gi there, and the script names the path and the way to find the
/// one the chart reads.
#[test]
fn a_values_path_the_chart_does_not_read() {
    let Some(e) = env() else { return };
    let mut sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    sim.plan_args
        .push("--path=kafka.persistance.size".to_owned());
    sim.make_plan(None);
    let what = "values path the chart does not read";
    let needle = "is at 20Gi in the upgrade's render, not 50Gi";
    expect_stop(
        &sim,
        what,
        &[],
        &[needle, "nothing has changed", "kafka.persistance.size"],
    );
    assert_eq!(
        changes(&sim),
        Vec::<String>::new(),
        "{what}: changes were made"
    );
    assert_eq!(
        sim.state()["releases"]["posthog"]["status"],
        "deployed",
        "{what}"
    );
}

/// Azure refuses to grow the attached disks; the rerun with `--fallback-scale-to-zero` scales to 0,
/// but the resizer retries only after its backoff, so the PVCs still show the old attached-disk
/// error for a while. The fallback used to die on it at once, telling to use the fallback, and
/// left the StatefulSet at 0 replicas (every broker down). It now waits for the retry and
/// converges.
#[test]
fn fallback_waits_out_the_resizer_s_backoff() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(&e, &POSTHOG_3, mode("attached-refusal"));
    // (The simulated resizer's backoff counts calls: 20 outlast the scale-down and the patches.)
    sim.edit(|s| s["storageclasses"]["sim"]["backoff"] = json!(20));
    let before = sim.state();
    let what = "attached disk, then the fallback during the resizer's backoff";
    expect_stop(&sim, what, &[], &["Unattached", "--fallback-scale-to-zero"]);
    let (code, err) = sim.run_with(
        &["--fallback-scale-to-zero"],
        &[("PVC_RESIZE_WAIT_SECONDS", "60")],
    );
    assert_eq!(code, 0, "{what}:\n{err}");
    assert!(err.contains("==> done:"), "{what}: {err}");
    sim.invariants(&before, what);
    sim.converged(&oracle, what);

    // A backoff longer than the wait: the stop says the StatefulSet is at 0 and how to scale it
    // back (pinned); run again once the resizer has retried, it converges.
    let sim = Sim::new(&e, &POSTHOG_3, mode("attached-refusal"));
    sim.edit(|s| s["storageclasses"]["sim"]["backoff"] = json!(1000));
    let before = sim.state();
    let what = "the fallback, the resizer's backoff longer than the wait";
    expect_stop(&sim, what, &[], &["--fallback-scale-to-zero"]);
    let sts = sim.plan["targets"][0]["statefulset"].as_str().unwrap();
    let back = format!(
        "is at 0 replicas (its pods are down): run this script again with --fallback-scale-to-zero to resume, or scale it back: kubectl --context=prod --namespace=posthog scale statefulset {sts} --replicas=3"
    );
    expect_stop(&sim, what, &["--fallback-scale-to-zero"], &[&back]);
    sim.edit(|s| {
        for p in s["pvcs"].as_object_mut().unwrap().values_mut() {
            p["backoff"] = json!(0);
        }
    });
    expect_done(&sim, &oracle, &before, what, &["--fallback-scale-to-zero"]);
}

/// A namespace that is not the release's name (every other case has `posthog` in `posthog`), and
/// a release still found only there: converges, and a second run changes nothing.
#[test]
fn a_namespace_other_than_the_release_name() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let mut sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let at = sim
        .plan_args
        .iter()
        .position(|a| a == "--namespace")
        .unwrap();
    sim.plan_args[at + 1] = "kafka-prod".to_owned();
    sim.make_plan(None);
    sim.write_state(&sim.initial_state());
    let before = sim.state();
    assert_eq!(before["releases"]["posthog"]["namespace"], "kafka-prod");
    expect_done(&sim, &oracle, &before, "namespace kafka-prod", &[]);
    let done = changes(&sim);
    let (code, err) = sim.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(changes(&sim), done, "a rerun changed something");
    let calls = sim.state()["calls"].to_string();
    assert!(!calls.contains("--namespace=posthog"), "{calls}");
}

/// Killed right after the API server accepted the orphan delete: the StatefulSet stays Terminating
/// (deletionTimestamp, finalizer `orphan`) until the garbage collector has orphaned its pods, for
/// as many calls as the sweep says. A rerun used to save that Terminating copy over the good one
/// (the "put it back" copy), and to delete it again, which fails with NotFound when the object goes
/// between the check and the delete. It now keeps the earlier copy, deletes with
/// `--ignore-not-found`, and waits for the object to be gone before the upgrade: every point of the
/// sweep converges, with one orphan delete in all.
#[test]
fn killed_while_the_statefulset_is_terminating_then_rerun() {
    let Some(e) = env() else { return };
    std::thread::scope(|scope| {
        for polls in 0..=64 {
            let e = &e;
            scope.spawn(move || {
                let oracle = &HelmOracle::new(e.helm.clone());
                let sim = Sim::new(e, &POSTHOG_3, Opts::default());
                let before = sim.state();
                let sts = sim.plan["targets"][0]["statefulset"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                sim.edit(|s| {
                    s["faults"]["kill_after_orphan_delete"] = json!(true);
                    s["faults"]["terminating_polls"] = json!(polls);
                });
                let what = format!("killed after the orphan delete was accepted ({polls} polls)");
                let (code, err) = sim.run(&[]);
                assert_eq!(code, -1, "{what}: not killed:\n{err}");
                let live = &sim.state()["statefulsets"][&sts];
                assert_eq!(live["metadata"]["finalizers"], json!(["orphan"]), "{what}");
                let saved = sim
                    .dir
                    .path()
                    .join(format!("pvc-resize-posthog/statefulset-{sts}.yaml"));
                let good = read(&saved);
                assert!(!good.contains("deletionTimestamp"), "{what}: {good}");
                sim.invariants(&before, &what);
                let what = format!("{what}, then run again");
                // Polls are instant here (PVC_RESIZE_POLL_SECONDS=0): wait long enough for the sweep.
                let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_WAIT_SECONDS", "120")]);
                assert_eq!(code, 0, "{what}:\n{err}");
                assert!(err.contains("==> done:"), "{what}: {err}");
                sim.invariants(&before, &what);
                sim.converged(oracle, &what);
                assert_eq!(read(&saved), good, "{what}: the saved copy changed");
                let deletes = changes(&sim)
                    .into_iter()
                    .filter(|c| c.starts_with("delete statefulset"))
                    .count();
                assert_eq!(deletes, 1, "{what}: {:?}", changes(&sim));
            });
        }
    });
}

/// A read the context's user may not make (RBAC) stops the preflight with kubectl's own words:
/// `get namespace` and `get storageclass` used to say "has no namespace" / "not found" for a
/// Forbidden, which sends the user looking for a missing object instead of a missing permission.
#[test]
fn a_forbidden_read_says_forbidden() {
    let Some(e) = env() else { return };
    for (kind, needle) in [
        (
            "namespace",
            "can't be used to read namespace posthog: kubectl says: Error from server (Forbidden): namespaces \"posthog\" is forbidden: User \"dev\" cannot get resource \"namespaces\"",
        ),
        (
            "storageclass",
            "StorageClass sim can't be read: kubectl says: Error from server (Forbidden): storageclasses.storage.k8s.io \"sim\" is forbidden: User \"dev\" cannot get resource \"storageclasses\" in API group \"storage.k8s.io\" at the cluster scope; hint: forbidden",
        ),
    ] {
        let sim = Sim::new(&e, &POSTHOG_1, Opts::default());
        sim.edit(|s| s["faults"]["forbidden"] = json!([kind]));
        let before = sim.state();
        let what = format!("get {kind} forbidden");
        expect_stop(&sim, &what, &[], &[needle]);
        sim.unchanged(&before, &what);
    }
}

/// ResourceQuota and LimitRange (the simulated API server refuses a PVC patch as the admission
/// plugins do): the script's preflight stops before the first change, naming the quota and the
/// numbers (3 PVCs of 20Gi grow to 50Gi: 60Gi used + 90Gi requested); exactly at the limit it
/// goes through; `plan --cluster` with the same objects stops the plan.
#[test]
fn quotas_and_limit_ranges_stop_before_the_first_change() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let class = "sim.storageclass.storage.k8s.io/requests.storage";
    let cases = [
        (
            json!({"quotas": {"storage": {"hard": {"requests.storage": "149Gi"}}}}),
            "ResourceQuota storage refuses the grow: requests.storage used 60Gi + requested 90Gi = 150Gi exceeds the hard limit 149Gi by 1Gi",
        ),
        (
            json!({"quotas": {"fast": {"hard": {class: "100Gi"}}}}),
            "ResourceQuota fast refuses the grow: sim.storageclass.storage.k8s.io/requests.storage used 60Gi + requested 90Gi = 150Gi exceeds the hard limit 100Gi by 50Gi",
        ),
        (
            json!({"limitranges": {"pvc-max": {"max": "40Gi"}}}),
            "LimitRange pvc-max refuses the grow of PVC data-posthog-posthog-kafka-0: its maximum storage per PersistentVolumeClaim is 40Gi, the request would be 50Gi",
        ),
    ];
    for (objects, needle) in &cases {
        let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
        sim.edit(|s| {
            for (k, v) in objects.as_object().unwrap() {
                s[k] = v.clone();
            }
        });
        expect_stop(&sim, needle, &[], &[needle, " preflight: "]);
        assert!(changes(&sim).is_empty(), "{needle}: {:?}", changes(&sim));
        // The plan with the namespace's objects in its snapshot stops too.
        let file = sim.dir.path().join("quota-cluster.yaml");
        let yaml = sim.kubectl(&[
            "get",
            "storageclass,pvc,statefulset,resourcequota,limitrange",
            "-o",
            "yaml",
        ]);
        std::fs::write(&file, yaml).unwrap();
        let out = sim.plan_output("json", Some(&file));
        assert_eq!(code(&out), 1, "{needle}: {}", stderr(&out));
        let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let f = plan["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["message"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {}", stdout(&out)));
        assert!(["quota-exceeded", "limitrange-exceeded"].contains(&f["id"].as_str().unwrap()));
        assert!(f["hint"].as_str().unwrap().contains("kubectl"), "{f}");
    }
    // Exactly at the limit: the grow goes through.
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    sim.edit(|s| s["quotas"] = json!({"storage": {"hard": {"requests.storage": "150Gi"}}}));
    let before = sim.state();
    let err = expect_done(&sim, &oracle, &before, "quota at the limit", &[]);
    assert!(
        err.contains("no ResourceQuota or LimitRange refuses growing 3 PVC(s) to 50Gi"),
        "{err}"
    );
}

/// The server's version decides whether the upgrade may change a live StatefulSet's
/// `revisionHistoryLimit` (the rule of `check --kubernetes-version`): a StatefulSet the upgrade
/// updates in place (KEP-4650 InPlace here) whose live limit differs from the render's stops the
/// script on a 1.31 server before any change, and goes through on 1.35; a StatefulSet the script
/// re-creates takes the render's limit on any version.
#[test]
fn revision_history_limit_by_the_servers_version() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let with = |minor: i64, in_place: &'static str| {
        let sim = Sim::new(
            &e,
            &POSTHOG_1,
            Opts {
                in_place,
                ..Opts::default()
            },
        );
        sim.edit(|s| {
            s["server_minor"] = json!(minor);
            for sts in s["statefulsets"].as_object_mut().unwrap().values_mut() {
                sts["spec"]["revisionHistoryLimit"] = json!(3);
            }
        });
        sim
    };
    let sim = with(31, "strategy");
    let needle = "changes its spec.revisionHistoryLimit from 3 to 10: Kubernetes 1.31 refuses an update of spec.revisionHistoryLimit";
    expect_stop(&sim, "1.31, in place", &[], &[needle]);
    assert!(changes(&sim).is_empty(), "{:?}", changes(&sim));
    for (minor, in_place) in [(35, "strategy"), (31, "")] {
        let sim = with(minor, in_place);
        let before = sim.state();
        let what = format!("1.{minor} {in_place}");
        expect_done(&sim, &oracle, &before, &what, &[]);
        for sts in sim.state()["statefulsets"].as_object().unwrap().values() {
            let limit = sts["spec"].get("revisionHistoryLimit").cloned();
            assert_eq!(limit.unwrap_or(json!(10)), json!(10), "{what}");
        }
    }
}

/// The fake's environment for a run under `script(1)` (a terminal), with progress on every poll.
fn terminal_run(sim: &Sim, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", "bash resize.sh", "/dev/null"])
        .current_dir(sim.dir.path())
        .envs(sim.envs())
        .env("PVC_RESIZE_POLL_SECONDS", "0")
        .env("PVC_RESIZE_WAIT_SECONDS", "60")
        .env("PVC_RESIZE_PENDING_GRACE_SECONDS", "1")
        .env("PVC_RESIZE_PROGRESS_SECONDS", "0")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (out.status.code().unwrap_or(-1), text)
}

/// A line as a person reads it, with the times a run takes (which vary) as `<t>`: the word after
/// `after`, and the first word of a heartbeat (`... 12s:`).
fn without_times(text: &str) -> String {
    let is_time = |w: &str| {
        let w = w.trim_end_matches([':', ',', ')', ';']);
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match w.split_once('m') {
            Some((m, "")) => digits(m),
            Some((m, s)) => digits(m) && s.strip_suffix('s').is_some_and(digits),
            None => w.strip_suffix('s').is_some_and(digits),
        }
    };
    let mut out = String::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let mut redacted = Vec::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            let prev = if i > 0 { words[i - 1] } else { "" };
            if (prev == "after" || prev == "...") && is_time(w) {
                let tail = &w[w.trim_end_matches([':', ',', ')', ';']).len()..];
                redacted.push(format!("<t>{tail}"));
            } else {
                redacted.push((*w).to_owned());
            }
        }
        out.push_str(&redacted.join(" "));
        out.push('\n');
    }
    out
}

/// Compares with tests/snapshots/NAME; PVC_RESIZE_BLESS=1 rewrites the file instead.
fn golden(name: &str, got: &str) {
    let path = manifest_dir().join("tests/snapshots").join(name);
    if std::env::var_os("PVC_RESIZE_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run with PVC_RESIZE_BLESS=1 and review it",
            path.display()
        )
    });
    assert!(
        want == got,
        "{name} differs (PVC_RESIZE_BLESS=1 to accept):\n{}",
        pvc_resize::output::diff::unified_diff(&want, got, name)
    );
}

/// The PVC names of the plan, in its order.
fn pvc_names(sim: &Sim) -> Vec<String> {
    let targets = sim.plan["targets"].as_array().unwrap();
    let pvcs = targets.iter().flat_map(|t| t["pvcs"].as_array().unwrap());
    pvcs.map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Three brokers whose disks grow at different speeds (the third one slowly; the second one first
/// refused by AWS EBS while an earlier modification of the volume runs), on a terminal: every wait
/// says when it starts, how it goes and when it ends. The output is a golden file, read as a person
/// reads it (tests/snapshots/script-slow-resize.txt; the times a run takes are `<t>`).
#[test]
fn a_slow_resize_as_a_person_sees_it() {
    let Some(e) = env() else { return };
    if program("script").is_none() {
        skip("script (util-linux)");
        return;
    }
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let pvcs = pvc_names(&sim);
    sim.edit(|s| {
        s["faults"]["resize_ticks"] = json!({ &pvcs[2]: 50 });
        s["faults"]["ebs_busy"] = json!({ &pvcs[1]: 20 });
    });
    let before = sim.state();
    let (code, out) = terminal_run(&sim, &[]);
    assert_eq!(code, 0, "{out}");
    sim.invariants(&before, "slow resize");
    sim.converged(&oracle, "slow resize");
    let seen = without_times(&out);
    for needle in [
        "waiting for the PVCs to reach 50Gi (at most 1m, checking every 0s)",
        "IncorrectModificationState",
        "Resizing",
        "the PVCs to reach 50Gi: done after",
    ] {
        assert!(seen.contains(needle), "{needle}:\n{seen}");
    }
    golden("script-slow-resize.txt", &seen);
}

/// A resize the resizer has not picked up yet: the PVC's conditions say nothing, so the heartbeat
/// says the PVC's newest event (`kubectl get events`), the controller's ExternalExpanding (issue 23).
#[test]
fn a_quiet_resize_says_the_pvcs_newest_event() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let pvcs = pvc_names(&sim);
    sim.edit(|s| s["faults"]["quiet_ticks"] = json!({ &pvcs[1]: 30 }));
    let before = sim.state();
    let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_PROGRESS_SECONDS", "0")]);
    assert_eq!(code, 0, "{err}");
    let said = format!(
        "{} at 20Gi, its newest event: ExternalExpanding: waiting for an external controller to expand this PVC",
        pvcs[1]
    );
    assert!(err.contains(&said), "{said}:\n{err}");
    sim.invariants(&before, "quiet resize");
    sim.converged(&oracle, "quiet resize");
}

/// A pod that never becomes Ready stops the preflight within PVC_RESIZE_PREFLIGHT_WAIT_SECONDS
/// (not the long wait), with the pod's own reason, and nothing changed.
#[test]
fn a_pod_never_ready_stops_the_preflight_fast_with_its_reason() {
    let Some(e) = env() else { return };
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let pod = sim.plan["targets"][0]["pvcs"][1]["pod"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.edit(|s| s["faults"]["not_ready"] = json!([pod]));
    let before = sim.state();
    let (code, err) = sim.run_with(
        &[],
        &[
            ("PVC_RESIZE_WAIT_SECONDS", "900"),
            ("PVC_RESIZE_PREFLIGHT_WAIT_SECONDS", "3"),
            ("PVC_RESIZE_PROGRESS_SECONDS", "0"),
        ],
    );
    assert_eq!(code, 1, "{err}");
    // (The pod's own Ready is the fault's doing.)
    assert_eq!(changes(&sim), Vec::<String>::new(), "{err}");
    assert_eq!(sim.values_now(), sim.original_values);
    sim.invariants(&before, "a pod never Ready");
    for needle in [
        format!("waiting for pod {pod} to be Ready (at most 3s"),
        format!(
            "pvc-resize: pod {pod} is not Ready after 3s (pod {pod} is not Ready: ContainersNotReady containers with unready status: [kafka]; CrashLoopBackOff Error)"
        ),
        "PVC_RESIZE_PREFLIGHT_WAIT_SECONDS".to_owned(),
    ] {
        assert!(err.contains(&needle), "{needle}:\n{err}");
    }
    // Polls are instant here: 3 s is 4 polls, each with its heartbeat but the last.
    assert_eq!(
        err.lines().filter(|l| l.starts_with("    ... ")).count(),
        3,
        "{err}"
    );
}

/// AWS EBS allows one modification per volume every 6 hours: a stop that says so and how to go on,
/// and a rerun (once the volume may change again) converges.
#[test]
fn ebs_rate_limit_stops_with_the_way_on() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(&e, &POSTHOG_1, Opts::default());
    let pvcs = pvc_names(&sim);
    sim.edit(|s| s["faults"]["ebs_rate"] = json!([&pvcs[0]]));
    let before = sim.state();
    let (code, err) = sim.run(&[]);
    assert_eq!(code, 1, "{err}");
    for needle in [
        "VolumeModificationRateExceeded",
        "one modification per volume every 6 hours",
        "run this script again once 6 hours have passed",
    ] {
        assert!(err.contains(needle), "{needle}:\n{err}");
    }
    assert!(!err.contains("RecoverVolumeExpansionFailure"), "{err}");
    sim.invariants(&before, "EBS rate limit");
    sim.edit(|s| s["faults"]["ebs_rate"] = json!([]));
    expect_done(&sim, &oracle, &before, "EBS rate limit, 6 hours later", &[]);
}

/// Killed while it waits for the disks (a lost SSH session), then run again: it resumes and converges.
#[test]
fn killed_during_a_wait_then_rerun() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(&e, &POSTHOG_3, Opts::default());
    let pvcs = pvc_names(&sim);
    sim.edit(|s| {
        s["faults"]["resize_ticks"] = json!({ &pvcs[0]: 30, &pvcs[1]: 30, &pvcs[2]: 30 });
        s["faults"]["kill_at_call"] = json!({"match": "{.status.capacity.storage}", "count": 9});
    });
    let before = sim.state();
    let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_PROGRESS_SECONDS", "0")]);
    assert_eq!(code, -1, "not killed:\n{err}");
    assert!(err.contains("waiting for the PVCs to reach 50Gi"), "{err}");
    assert!(err.contains("... "), "{err}");
    assert!(!err.contains("==> done"), "{err}");
    sim.invariants(&before, "killed during the wait");
    let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_WAIT_SECONDS", "120")]);
    assert_eq!(code, 0, "{err}");
    sim.invariants(&before, "killed during the wait, then run again");
    sim.converged(&oracle, "killed during the wait, then run again");
}

/// `helm list -o json` is read as JSON (by Helm itself), not matched as text: another spacing of the
/// same list changes nothing (it used to say "release posthog not found").
#[test]
fn helm_list_json_with_other_spacing() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(&e, &POSTHOG_1, Opts::default());
    sim.edit(|s| s["faults"]["list_indent"] = json!(2));
    let before = sim.state();
    expect_done(&sim, &oracle, &before, "pretty-printed helm list", &[]);
}

/// The simulated cluster of the project's own chart `fixtures/charts/webdisk` (a Deployment whose
/// disk is a PersistentVolumeClaim the chart renders), rendered by the real Helm 3, with
/// `plan --pvc web-webdisk-state --chart DIR`: the values path is proven on the chart.
fn plain_pvc_sim(e: &Env, mode: &'static str) -> Sim {
    let chart = manifest_dir().join("fixtures/charts/webdisk");
    let values = "image:\n  tag: \"1.36\"\n".to_owned();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("values.yaml");
    std::fs::write(&file, &values).unwrap();
    let render = helm_template(&e.helm, "web", &chart, "web", &file, &[]);
    // The plan's --chart is the folder (read and proven) and the sim's chart reference.
    let chart: &'static str = Box::leak(chart.display().to_string().into_boxed_str());
    let helm: &'static str = Box::leak(format!("--helm={}", e.helm.display()).into_boxed_str());
    let opts = Opts {
        chart,
        ..self::mode(mode)
    };
    Sim::of(
        e,
        values,
        render,
        "web",
        &["--pvc=web-webdisk-state", helm],
        opts,
    )
}

/// A PVC the chart renders itself grows by the values change and the upgrade alone: Helm's upgrade
/// patches the live PVC (three-way merge) and the simulated API server grows it; the script patches
/// no PVC and deletes nothing, verifies capacity and filesystem through `kubectl exec
/// deployment/NAME`, and a rerun changes nothing. Killed before each change, a rerun converges.
#[test]
fn a_pvc_the_chart_renders_grows_by_the_upgrade_alone() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = plain_pvc_sim(&e, "online");
    let t = &sim.plan["targets"][0];
    assert_eq!(t["pvc"], "web-webdisk-state", "{}", sim.plan);
    assert_eq!(t["values_path"], "persistence.size");
    assert_eq!(t["workload"], "deployment/web-webdisk");
    let steps: Vec<&str> = sim.plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["preflight", "values", "replace-statefulsets", "verify"]
    );
    let before = sim.state();
    let what = "plain PVC";
    let err = expect_done(&sim, &oracle, &before, what, &[]);
    assert!(
        err.contains("deployment/web-webdisk: the filesystem at /var/lib/webdisk has"),
        "{err}"
    );
    assert_eq!(
        changes(&sim),
        ["pvc-resize values --write", "helm upgrade web 50Gi"],
        "{what}: only the values write and the upgrade change anything"
    );
    expect_done(&sim, &oracle, &before, &format!("{what}, rerun"), &[]);
    assert_eq!(
        changes(&sim).len(),
        2,
        "{what}: the rerun changed something"
    );

    // Killed before each change (the values write, the upgrade), then run again.
    killed_before_each_change(|| plain_pvc_sim(&e, "online"), &oracle, what, 2);
}

/// A plain PVC that requests more than the size (grown by hand earlier): Helm's upgrade would set it
/// to the render's size, a shrink the API server refuses. The `--cluster` plan blocks
/// (`pvc-request-above`), and the script made before stops in its preflight with nothing changed.
/// Offline expansion: the script stops (it restarts only a StatefulSet's pods) and says how.
#[test]
fn a_pvc_the_chart_renders_above_the_size_or_offline() {
    let Some(e) = env() else { return };
    let sim = plain_pvc_sim(&e, "online");
    sim.edit(|s| {
        let pvc = first(&mut s["pvcs"]);
        for key in ["request", "capacity"] {
            pvc[key] = json!(60_i64 << 30);
        }
        pvc["fs"] = json!((60_i64 << 30) * 98 / 100);
    });
    let before = sim.state();
    expect_stop(
        &sim,
        "request above",
        &[],
        &["requests 60Gi, more than 50Gi", "shrink"],
    );
    sim.unchanged(&before, "request above");
    let cluster = sim.snapshot();
    let out = sim.plan_output("json", Some(&cluster));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(findings_of(&plan, "pvc-request-above").len(), 1, "{plan}");

    let sim = plain_pvc_sim(&e, "offline");
    let (code, err) = sim.run(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("FileSystemResizePending")
            && err.contains("rollout restart deployment/web-webdisk"),
        "{err}"
    );
    assert_eq!(sim.state()["violations"], json!([]));
}

/// `--volume-attributes-class` with the size, on the real 3-replica PostHog render: the simulated
/// chart reads the class at `kafka.persistence.volumeAttributesClassName` (the path given with
/// `--volume-attributes-class-path`, proven by the preflight's dry run). The script sets it in the
/// values file, patches and waits for every PVC's current class, re-creates the StatefulSet with
/// it, and a rerun changes nothing. A class missing from the cluster stops the preflight with
/// nothing changed; one the driver refuses (Infeasible) stops the wait with the PVC's status.
#[test]
fn a_volume_attributes_class_with_the_size() {
    let Some(e) = env() else { return };
    const PATH: &str = "kafka.persistence.volumeAttributesClassName";
    let extra = [
        "--volume-attributes-class",
        "io2-fast",
        "--volume-attributes-class-path",
        PATH,
    ];
    let sim = |classes: Value| {
        let values = read(&e.fixtures.join("posthog/values-3-replicas.yaml"));
        let render = read(&e.fixtures.join("posthog/rendered-3-replicas.yaml"));
        let sim = Sim::of(&e, values, render, "posthog", &extra, Opts::default());
        sim.edit(|s| {
            s["model"]["class_values_path"] = json!(PATH);
            s["attributes_classes"] = classes;
            s["faults"]["class_ticks"] = json!({"data-posthog-posthog-kafka-1": 2});
        });
        sim
    };
    let s = sim(json!({"io2-fast": {"driverName": "ebs.csi.aws.com"}}));
    assert!(findings_of(&s.plan, "attributes-class-path-unproven").len() == 1);
    let script = read(&s.dir.path().join("resize.sh"));
    assert!(script.contains("ATTRIBUTES_CLASS='io2-fast'"), "{script}");
    let before = s.state();
    let (code, err) = s.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("VolumeAttributesClass io2-fast exists"),
        "{err}"
    );
    assert!(
        err.contains("every PVC reports VolumeAttributesClass io2-fast"),
        "{err}"
    );
    s.invariants(&before, "class");
    let now = s.state();
    for i in 0..3 {
        let pvc = &now["pvcs"][format!("data-posthog-posthog-kafka-{i}")];
        assert_eq!(pvc["vac_now"], "io2-fast", "{pvc}");
        assert!(pvc["capacity"].as_i64().unwrap() >= SIZE_BYTES, "{pvc}");
    }
    let sts = &now["statefulsets"]["posthog-posthog-kafka"];
    let claim = &sts["spec"]["volumeClaimTemplates"][0]["spec"];
    assert_eq!(claim["volumeAttributesClassName"], "io2-fast", "{sts}");
    assert_eq!(claim["resources"]["requests"]["storage"], SIZE);
    assert!(
        s.values_now()
            .contains("volumeAttributesClassName: io2-fast")
    );
    assert_eq!(now["releases"]["posthog"]["status"], "deployed");
    // A rerun finds everything done.
    let changes = now["changes"].as_array().unwrap().len();
    let (code, err) = s.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        s.state()["changes"].as_array().unwrap().len(),
        changes,
        "{err}"
    );

    // The class is not in the cluster: the preflight stops before any change.
    let s = sim(json!({"gp3-slow": {}}));
    let before = s.state();
    let (code, err) = s.run(&[]);
    assert_ne!(code, 0);
    assert!(
        err.contains("VolumeAttributesClass io2-fast can't be read") && err.contains("NotFound"),
        "{err}"
    );
    s.unchanged(&before, "missing class");

    // The driver refuses the class: the wait stops with the PVC's status, never "done".
    let s = sim(json!({"io2-fast": {}}));
    s.edit(|st| st["faults"]["class_infeasible"] = json!(["io2-fast"]));
    let (code, err) = s.run(&[]);
    assert_ne!(code, 0);
    assert!(
        err.contains("modifyVolumeStatus Infeasible") && !err.contains("==> done"),
        "{err}"
    );
}

/// OpenKruise's Advanced StatefulSet (issue 22 item 5) under each volumeClaimUpdateStrategy: no
/// orphan delete; the values change, the upgrade, then the PVCs grown by the script (OnDelete,
/// unset) or by Kruise's simulated controller (OnPodRollingUpdate, one pod at a time); a rerun
/// changes nothing; a kill before each change, then a rerun, converges.
#[test]
fn an_advanced_statefulset_under_each_strategy() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    for (strategy, mode) in [
        ("OnDelete", "online"),
        ("", "offline"),
        ("OnPodRollingUpdate", "online"),
        ("OnPodRollingUpdate", "offline"),
    ] {
        let opts = Opts {
            mode,
            kruise: Some(strategy),
            ..Opts::default()
        };
        let sim = Sim::new(&e, &POSTHOG_3, opts.clone());
        let what = format!("kruise {strategy:?} {mode}");
        let sts = sim.plan["targets"][0]["statefulset"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            sim.state()["statefulsets"][&sts]["apiVersion"],
            "apps.kruise.io/v1beta1",
            "{what}"
        );
        let before = sim.state();
        expect_done(&sim, &oracle, &before, &what, &[]);
        let points = changes(&sim);
        assert!(
            points[0].starts_with("pvc-resize values"),
            "{what}: {points:?}"
        );
        assert!(points[1].starts_with("helm upgrade"), "{what}: {points:?}");
        assert!(
            !points.iter().any(|c| c.starts_with("delete statefulset")),
            "{what}: {points:?}"
        );
        let patched: Vec<&String> = points
            .iter()
            .filter(|c| c.starts_with("patch pvc"))
            .collect();
        let by_controller = sim.state()["kruise_patched"].clone();
        if strategy == "OnPodRollingUpdate" {
            assert!(patched.is_empty(), "{what}: the script patched {patched:?}");
            assert_eq!(
                by_controller,
                json!([
                    "data-posthog-posthog-kafka-2",
                    "data-posthog-posthog-kafka-1",
                    "data-posthog-posthog-kafka-0"
                ]),
                "{what}: the controller's order"
            );
        } else {
            assert_eq!(patched.len(), 3, "{what}: {points:?}");
            assert!(by_controller.is_null(), "{what}");
        }
        let (code, err) = sim.run(&[]);
        assert_eq!(code, 0, "{what}: rerun\n{err}");
        assert_eq!(changes(&sim), points, "{what}: a rerun changed something");
        if mode == "offline" {
            continue;
        }
        for (k, point) in points.iter().enumerate().map(|(i, p)| (i + 1, p)) {
            let sim = Sim::new(&e, &POSTHOG_3, opts.clone());
            let before = sim.state();
            sim.edit(|s| s["faults"]["kill_at"] = json!(k));
            let (code, err) = sim.run(&[]);
            let what = format!("{what}: killed before change {k} ({point})");
            assert_eq!(code, -1, "{what}: not killed:\n{err}");
            sim.invariants(&before, &what);
            expect_done(
                &sim,
                &oracle,
                &before,
                &format!("{what}, then run again"),
                &[],
            );
        }
    }
}

/// (strategy, what, how the cluster is made, what the stop says)
type StopCase = (
    &'static str,
    &'static str,
    fn(&mut Sim),
    &'static [&'static str],
);

/// What the preflight proves on an Advanced StatefulSet before any change: OnPodRollingUpdate on a
/// kruise-manager without StatefulSetAutoResizePVCGate (its controller would grow nothing), a
/// Kruise before 1.4 (its webhook freezes claim templates), a values path the chart does not read:
/// each stops with its reason and zero changes.
#[test]
fn an_advanced_statefulset_stops_before_any_change() {
    let Some(e) = env() else { return };
    let cases: [StopCase; 3] = [
        (
            "OnPodRollingUpdate",
            "gate off",
            |s| s.edit(|v| v["kruise"]["gate"] = json!(false)),
            &[
                "StatefulSetAutoResizePVCGate",
                "accepts a change of the claim template's accessModes",
            ],
        ),
        (
            "OnDelete",
            "Kruise before 1.4",
            |s| s.edit(|v| v["kruise"]["frozen"] = json!(true)),
            &[
                "OpenKruise's webhook refuses claim template data",
                "older than 1.4",
            ],
        ),
        (
            "OnPodRollingUpdate",
            "a values path the chart does not read",
            |s| {
                s.plan_args.push("--path=kafka.persistance.size".to_owned());
                s.make_plan(None);
            },
            &[
                "is at 20Gi in the upgrade's render, not 50Gi",
                "nothing has changed",
                "kafka.persistance.size",
            ],
        ),
    ];
    for (strategy, what, prepare, needles) in cases {
        let mut sim = Sim::new(
            &e,
            &POSTHOG_3,
            Opts {
                kruise: Some(strategy),
                ..Opts::default()
            },
        );
        prepare(&mut sim);
        let before = sim.state();
        expect_stop(&sim, what, &[], needles);
        sim.unchanged(&before, what);
        sim.invariants(&before, what);
    }
}

/// Killed while it waits for Kruise's controller (OnPodRollingUpdate, slow resizes): the rerun
/// skips the values change and the upgrade (done) and waits again, with progress lines, until the
/// controller has grown every PVC.
#[test]
fn an_advanced_statefulset_killed_while_the_controller_grows_the_pvcs() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = Sim::new(
        &e,
        &POSTHOG_3,
        Opts {
            kruise: Some("OnPodRollingUpdate"),
            ..Opts::default()
        },
    );
    let pvcs = pvc_names(&sim);
    sim.edit(|s| {
        s["faults"]["resize_ticks"] = json!({ &pvcs[0]: 6, &pvcs[1]: 6, &pvcs[2]: 6 });
        s["faults"]["kill_at_call"] = json!({"match": "{.status.capacity.storage}", "count": 9});
    });
    let before = sim.state();
    let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_PROGRESS_SECONDS", "0")]);
    assert_eq!(code, -1, "not killed:\n{err}");
    assert!(err.contains("step 4/6 kruise-pvcs"), "{err}");
    assert!(err.contains("... "), "{err}");
    sim.invariants(&before, "killed during the controller's growth");
    let done = changes(&sim);
    let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_WAIT_SECONDS", "120")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(changes(&sim), done, "the rerun repeated a change");
    sim.invariants(
        &before,
        "killed during the controller's growth, then run again",
    );
    sim.converged(
        &oracle,
        "killed during the controller's growth, then run again",
    );
}

/// The simulated cluster of the real PostHog render (Helm 4.2's, default values) with `plan
/// --resource ClickHouseInstallation/posthog --chart posthog-30.46.0.tgz`: the values path is proven
/// on the real chart by the real Helm 3; the simulated Altinity operator grows the installation's
/// PVCs once the upgrade has changed the claim template.
fn chi_sim(e: &Env, mode: &'static str, extra: &[&'static str]) -> Sim {
    let tgz = e.fixtures.join("posthog/chart/posthog-30.46.0.tgz");
    let chart: &'static str = Box::leak(tgz.display().to_string().into_boxed_str());
    let helm: &'static str = Box::leak(format!("--helm={}", e.helm.display()).into_boxed_str());
    let mut args = vec!["--resource=ClickHouseInstallation/posthog", helm];
    args.extend_from_slice(extra);
    let args: &'static [&'static str] = Box::leak(args.into_boxed_slice());
    let values = read(&e.fixtures.join("posthog/values-default.yaml"));
    let render = read(&e.fixtures.join("posthog/rendered-default.yaml"));
    let opts = Opts {
        chart,
        ..self::mode(mode)
    };
    Sim::of(e, values, render, "posthog", args, opts)
}

/// PostHog's ClickHouse disk, end to end: the plan targets the CHI's claim template, proves
/// `clickhouse.persistence.size` on the real chart, and its script writes the values, upgrades,
/// waits until the operator has set every PVC's request and the resizer their capacity (progress
/// lines), checks `df` in each pod, and patches or deletes nothing; a rerun changes nothing; killed
/// before each change, a rerun converges.
#[test]
fn a_clickhouse_installation_grows_through_its_operator() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = chi_sim(&e, "online", &[]);
    let t = &sim.plan["targets"][0];
    assert_eq!(
        t["resource"], "ClickHouseInstallation/posthog",
        "{}",
        sim.plan
    );
    assert_eq!(t["claim"], "data-volumeclaim-template");
    assert_eq!(t["values_path"], "clickhouse.persistence.size");
    assert_eq!(t["selector"], "clickhouse.altinity.com/chi=posthog");
    assert_eq!(t["mount_path"], "/var/lib/clickhouse");
    assert_eq!(t["replicas"], 1, "one shard, one replica: {t}");
    let errors = plan_schema_errors(&sim.plan);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(findings_of(&sim.plan, "values-path-proven").len(), 1);
    assert_eq!(
        findings_of(&sim.plan, "operator-recreates-statefulsets").len(),
        1
    );
    assert!(
        findings_of(&sim.plan, "operator-volume").is_empty(),
        "the target's notice gives way"
    );
    let steps: Vec<&str> = sim.plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["preflight", "values", "replace-statefulsets", "verify"]
    );
    // The operator reconciles a few calls after the upgrade: the wait says so while it lasts.
    sim.edit(|s| s["faults"]["operator_ticks"] = json!(8));
    let before = sim.state();
    let what = "ClickHouseInstallation";
    let env = [
        ("PVC_RESIZE_PROGRESS_SECONDS", "0"),
        ("PVC_RESIZE_WAIT_SECONDS", "20"),
    ];
    let (code, err) = sim.run_with(&[], &env);
    assert_eq!(code, 0, "{what}:\n{err}");
    sim.invariants(&before, what);
    sim.converged(&oracle, what);
    assert!(
        err.contains("the operator has not reconciled it yet"),
        "{err}"
    );
    assert!(
        err.contains("chi-posthog-posthog-0-0-0: the filesystem at /var/lib/clickhouse has"),
        "{err}"
    );
    assert_eq!(
        changes(&sim),
        ["pvc-resize values --write", "helm upgrade posthog 50Gi"],
        "{what}: only the values write and the upgrade change anything"
    );
    expect_done(&sim, &oracle, &before, &format!("{what}, rerun"), &[]);
    assert_eq!(
        changes(&sim).len(),
        2,
        "{what}: the rerun changed something"
    );

    killed_before_each_change(|| chi_sim(&e, "online", &[]), &oracle, what, 2);
}

/// A values path the chart does not read for the CHI (given with --path, no chart to prove it):
/// the script's preflight sees in the upgrade's dry run that the claim template stays at 20Gi and
/// stops with nothing changed. A StorageClass without expansion stops it too.
#[test]
fn a_clickhouse_installation_with_a_wrong_path_or_class_changes_nothing() {
    let Some(e) = env() else { return };
    let sim = chi_sim(&e, "online", &[]);
    // The same cluster, planned with a path the chart does not read and no chart.
    let mut wrong = sim.plan_args.clone();
    wrong.retain(|a| !a.starts_with("--helm="));
    wrong.push("--path=clickhouse.persistence.sizes".to_owned());
    let mut sim = sim;
    sim.plan_args = wrong;
    sim.make_plan(None);
    let before = sim.state();
    expect_stop(
        &sim,
        "wrong path",
        &[],
        &[
            "ClickHouseInstallation/posthog claim data-volumeclaim-template is at 20Gi in the upgrade's render, not 50Gi",
        ],
    );
    sim.unchanged(&before, "wrong path");

    let sim = chi_sim(&e, "online", &[]);
    sim.edit(|s| s["storageclasses"]["sim"]["allowVolumeExpansion"] = json!(false));
    let before = sim.state();
    expect_stop(
        &sim,
        "no expansion",
        &[],
        &["does not allow volume expansion"],
    );
    sim.unchanged(&before, "no expansion");

    // Suspended in the cluster (a patch by hand, which Helm's three-way merge keeps).
    let sim = chi_sim(&e, "online", &[]);
    sim.edit(|s| s["chis"]["posthog"]["suspend"] = json!("true"));
    let before = sim.state();
    expect_stop(
        &sim,
        "suspended",
        &[],
        &["has spec.suspend: true in the cluster"],
    );
    sim.unchanged(&before, "suspended");
}

/// The upgrade succeeds but the live installation keeps its claim template at 20Gi (another field
/// manager or a webhook keeps it): the check after the upgrade stops the script before any wait,
/// names the installation, its template's size and the values path, and nothing changed but the
/// values write and the upgrade.
#[test]
fn a_clickhouse_installation_the_upgrade_left_as_it_was_stops_the_script() {
    let Some(e) = env() else { return };
    let sim = chi_sim(&e, "online", &[]);
    // No scale-to-zero fallback here: neither the header nor `--help` offers the flag.
    let script = read(&sim.dir.path().join("resize.sh"));
    assert!(script.contains("bash THIS_SCRIPT. Run again"), "{script}");
    let (code, help) = sim.run_with(&["--help"], &[]);
    assert_eq!(code, 0, "{help}");
    assert!(
        help.contains("usage: bash resize.sh\n  (no --fallback-scale-to-zero: "),
        "{help}"
    );
    sim.edit(|s| s["faults"]["chi_not_applied"] = json!(true));
    let before = sim.state();
    let what = "installation left as it was";
    let (code, err) = sim.run_with(&[], &[("PVC_RESIZE_WAIT_SECONDS", "5")]);
    assert_ne!(code, 0, "{what}:\n{err}");
    assert!(
        err.contains(
            "the upgrade left ClickHouseInstallation/posthog with claim template data-volumeclaim-template at 20Gi, not 50Gi: the chart does not size it by clickhouse.persistence.size"
        ),
        "{what}:\n{err}"
    );
    assert!(
        !err.contains("has not reconciled it yet"),
        "{what}: it waited:\n{err}"
    );
    sim.invariants(&before, what);
    assert_eq!(
        changes(&sim),
        ["pvc-resize values --write", "helm upgrade posthog 50Gi"],
        "{what}: only the values write and the upgrade change anything"
    );
}

/// A sibling claim template whose name starts with the target's (`data-volumeclaim-template-logs`):
/// its PVC carries the installation's label too but is not the target's. At 80Gi (above the size)
/// it would stop the preflight if it were taken for one; the run converges and leaves it alone.
#[test]
fn a_clickhouse_installation_s_sibling_template_is_not_the_target() {
    let Some(e) = env() else { return };
    let oracle = HelmOracle::new(e.helm.clone());
    let sim = chi_sim(&e, "online", &[]);
    let sibling = "data-volumeclaim-template-logs-chi-posthog-posthog-0-0-0";
    sim.edit(|s| {
        let mut p = s["pvcs"]["data-volumeclaim-template-chi-posthog-posthog-0-0-0"].clone();
        p["request"] = json!(80 * (1i64 << 30));
        p["capacity"] = p["request"].clone();
        p["fs"] = json!(80 * (1i64 << 30) * 98 / 100);
        p["uid"] = json!("sibling");
        s["pvcs"][sibling] = p;
    });
    let before = sim.state();
    expect_done(&sim, &oracle, &before, "sibling template", &[]);
    assert_eq!(sim.state()["pvcs"][sibling], before["pvcs"][sibling]);
}

/// prometheus-operator does not grow PVCs: a `--resource` on its Prometheus blocks with the reason
/// and names the manual procedure; no script is written that changes anything.
#[test]
fn a_prometheus_resource_is_refused_with_its_procedure() {
    let render = "---\n# Source: mon/templates/prometheus.yaml\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata:\n  name: k8s\nspec:\n  storage:\n    volumeClaimTemplate:\n      metadata:\n        name: db\n      spec:\n        resources:\n          requests:\n            storage: 40Gi\n";
    let args = plan_argv(
        "mon",
        SIZE,
        "-",
        &["--resource=Prometheus/k8s", "--format=json"],
    );
    let out = run_in(None, &args, render.as_bytes());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let refused = findings_of(&plan, "operator-volume-refused");
    assert_eq!(refused.len(), 1, "{plan}");
    let message = refused[0]["message"].as_str().unwrap();
    assert!(
        message.contains("does not grow existing PVCs")
            && message.contains("spec.paused: true")
            && message.contains("--cascade=orphan"),
        "{message}"
    );
    assert_eq!(plan["steps"], json!([]));
    // Strimzi's Kafka has no claim template: refused too, with its own procedure.
    let kafka = "---\napiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata:\n  name: events\nspec:\n  kafka:\n    storage:\n      type: persistent-claim\n      size: 100Gi\n";
    let args = plan_argv(
        "mon",
        SIZE,
        "-",
        &["--resource=Kafka/events", "--format=json"],
    );
    let out = run_in(None, &args, kafka.as_bytes());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        findings_of(&plan, "operator-volume-refused").len(),
        1,
        "{plan}"
    );
    assert!(
        findings_of(&plan, "operator-volume").is_empty(),
        "said twice: {plan}"
    );
}
