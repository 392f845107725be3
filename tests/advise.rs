//! `pvc-resize advise`: the kubelet metrics reader judged by an independent parser (the PyPI
//! `prometheus-client`) on generated exposition text that follows the Prometheus text format;
//! the proposed sizes recomputed with exact integer and quantity arithmetic; the bundled example
//! from the metrics to a markdown PR body whose diff GNU patch applies; every input error with its
//! place; docs/advise.md's shell blocks run as written.

mod common;

use common::{Rng, code, program, read, run, stderr, stdout};
use pvc_resize::commands::advise::metrics::{self, Field, Key, Source};
use pvc_resize::k8s::quantity::Quantity;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const GI: u64 = 1 << 30;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// A generator of kubelet exposition text (Prometheus text format 0.0.4)

/// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` prints it (what client_golang writes):
/// the shortest digits, in exponent form from 1e21 up or below 1e-4, and from 1e6 up too since
/// the shortest form uses precision 6 for that choice (`1.048576e+06`).
fn go_float(v: f64) -> String {
    let sci = format!("{v:e}"); // shortest digits: "1.048576e6"
    let (mant, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if !(-4..6).contains(&exp) {
        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        format!("{v}")
    }
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// One volume's readings.
#[derive(Clone)]
struct Vol {
    ns: String,
    pvc: String,
    values: [u64; 6],
}

/// Exposition text as the kubelet prints it: families in name order, each with `# HELP` (escaped)
/// and `# TYPE`, other families (a counter with escaped label values, a histogram) among them,
/// and, when `ts` is given, a timestamp on every sample.
fn exposition(rng: &mut Rng, vols: &[Vol], ts: Option<i64>) -> String {
    let mut fams: Vec<(String, String, String, Vec<String>)> = Vec::new();
    let stamp = |s: String| match ts {
        Some(t) => format!("{s} {t}"),
        None => s,
    };
    for (i, name) in metrics::FAMILIES.iter().enumerate() {
        let mut lines: Vec<String> = vols
            .iter()
            .map(|v| {
                let mut labels = [
                    format!("namespace=\"{}\"", escape_label(&v.ns)),
                    format!("persistentvolumeclaim=\"{}\"", escape_label(&v.pvc)),
                ];
                if rng.chance(30) {
                    labels.reverse();
                }
                stamp(format!(
                    "{name}{{{}}} {}",
                    labels.join(","),
                    go_float(v.values[i] as f64)
                ))
            })
            .collect();
        lines.sort();
        fams.push((
            name.to_string(),
            "gauge".into(),
            format!("[ALPHA] {name} of the volume\\ with a backslash"),
            lines,
        ));
    }
    fams.push((
        "kubelet_volume_stats_health_status_abnormal".into(),
        "gauge".into(),
        "Abnormal volume health status.\nThe count is either 1 or 0.".into(),
        vols.iter()
            .map(|v| stamp(format!("kubelet_volume_stats_health_status_abnormal{{namespace=\"{}\",persistentvolumeclaim=\"{}\"}} 0", escape_label(&v.ns), escape_label(&v.pvc))))
            .collect(),
    ));
    fams.push((
        "kubelet_http_requests_total".into(),
        "counter".into(),
        "Number of the http requests received since the server started".into(),
        vec![
            stamp(format!(
                "kubelet_http_requests_total{{method=\"GET\",path=\"{}\"}} 2187",
                escape_label("/stats/\"summary\"\\x\ny")
            )),
            stamp(
                "kubelet_http_requests_total{method=\"GET\",path=\"metrics\"} 1.0e+06".to_owned(),
            ),
        ],
    ));
    fams.push((
        "storage_operation_duration_seconds".into(),
        "histogram".into(),
        "Storage operation duration".into(),
        vec![
            stamp("storage_operation_duration_seconds_bucket{operation_name=\"volume_mount\",le=\"0.1\"} 3".into()),
            stamp("storage_operation_duration_seconds_bucket{operation_name=\"volume_mount\",le=\"+Inf\"} 5".into()),
            stamp("storage_operation_duration_seconds_sum{operation_name=\"volume_mount\"} 0.731".into()),
            stamp("storage_operation_duration_seconds_count{operation_name=\"volume_mount\"} 5".into()),
        ],
    ));
    fams.push((
        "go_goroutines".into(),
        "gauge".into(),
        "Number of goroutines".into(),
        vec![stamp("go_goroutines 412".into())],
    ));
    fams.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (name, kind, help, lines) in fams {
        out.push_str(&format!(
            "# HELP {name} {}\n# TYPE {name} {kind}\n",
            escape_help(&help)
        ));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Random volumes; names with the characters the format escapes when `odd` is set.
fn volumes(rng: &mut Rng, n: usize, odd: bool) -> Vec<Vol> {
    (0..n)
        .map(|i| {
            let cap = (1 + rng.below(2000) as u64) * GI / 4 + rng.below(1 << 20) as u64;
            let used = cap / 100 * rng.below(90) as u64;
            let inodes = 65_536 * (1 + rng.below(64) as u64);
            let iused = inodes / 100 * rng.below(100) as u64;
            let (ns, pvc) = if odd {
                (
                    rng.pick(&["ns", "a\\b", "q\"uote", "new\nline"])
                        .to_string(),
                    format!("data-{}\\\"-{i}", rng.pick(&["kafka", "zk", "x\ny"])),
                )
            } else {
                (
                    rng.pick(&["posthog", "kafka", "monitoring"]).to_string(),
                    format!("data-kafka-{i}"),
                )
            };
            Vol {
                ns,
                pvc,
                values: [
                    cap,
                    cap - used - cap / 20,
                    used,
                    inodes,
                    inodes - iused,
                    iused,
                ],
            }
        })
        .collect()
}

/// The samples of the six families as prometheus_client reads a file: (family, ns, pvc) -> (value, ms).
/// (family, namespace, pvc) -> (value, timestamp in ms).
type Samples = BTreeMap<(String, String, String), (f64, Option<i64>)>;

fn python_samples(file: &Path) -> Option<Samples> {
    let py = program("python3")?;
    let script = r#"
import json, sys
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("MISSING"); sys.exit(0)
want = set(sys.argv[2:])
out = []
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        if s.name in want:
            ts = None if s.timestamp is None else round(float(s.timestamp) * 1000)
            out.append([s.name, s.labels["namespace"], s.labels["persistentvolumeclaim"], s.value, ts])
print(json.dumps(out))
"#;
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(file)
        .args(metrics::FAMILIES)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim() == "MISSING" {
        common::skip("python3 module prometheus_client (pip install prometheus-client)");
        return None;
    }
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    Some(
        rows.iter()
            .map(|r| {
                let s = |i: usize| r[i].as_str().unwrap().to_owned();
                ((s(0), s(1), s(2)), (r[3].as_f64().unwrap(), r[4].as_i64()))
            })
            .collect(),
    )
}

#[test]
fn generated_kubelet_text_reads_as_prometheus_client_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=12u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let n = 1 + rng.below(40);
        let vols = volumes(&mut rng, n, seed % 3 == 0);
        let ts = (seed % 2 == 0).then_some(1_796_601_600_000 + seed as i64 * 1_234);
        let text = exposition(&mut rng, &vols, ts);
        let file = dir.path().join(format!("m{seed}.txt"));
        std::fs::write(&file, &text).unwrap();
        let Some(theirs) = python_samples(&file) else {
            return;
        };
        let name = file.to_str().unwrap();
        let ours = metrics::read(&[Source {
            name,
            text: &text,
            default_time_ms: 42,
        }])
        .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
        let mut mine = BTreeMap::new();
        for (Key { namespace, pvc }, series) in &ours.series {
            for f in Field::ALL {
                for s in series.get(f) {
                    mine.insert(
                        (f.name().to_owned(), namespace.clone(), pvc.clone()),
                        (s.value as f64, (s.t_ms != 42).then_some(s.t_ms)),
                    );
                }
            }
        }
        assert_eq!(mine, theirs, "seed {seed}:\n{text}");
        assert_eq!(
            mine.len(),
            vols.len() * 6,
            "seed {seed}: every volume, six gauges"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The bundled example

fn example_args(format: &str) -> Vec<String> {
    [
        "advise",
        "--metrics",
        "fixtures/advise/metrics",
        "--cluster",
        "fixtures/advise/cluster.yaml",
        "--values",
        "fixtures/advise/values",
        "--format",
        format,
    ]
    .map(str::to_owned)
    .to_vec()
}

fn advise_in(dir: &Path, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::run_in(Some(dir), &args, b"")
}

fn json_of(dir: &Path, args: &[String]) -> Value {
    let out = advise_in(dir, args);
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let schema: Value =
        serde_json::from_str(&read(&root().join("schema/advise.schema.json"))).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&v)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    v
}

fn group<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["statefulset"] == name || g["ordinals"][0]["pvc"] == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

/// The size the policy must propose, recomputed with integers: each ordinal's used bytes at the
/// horizon over the target share of its usable bytes, scaled to its PVC, the largest of them; at
/// least 10% above the largest live PVC; rounded up to whole GiB.
fn expected_size(ordinals: &[(u64, u64, u64, u64)], target_bp: u64, live_max: u64) -> Quantity {
    let need = ordinals
        .iter()
        .map(|&(used_at_horizon, used, avail, live)| {
            (u128::from(used_at_horizon) * u128::from(live) * 10_000)
                .div_ceil(u128::from(used + avail) * u128::from(target_bp))
        })
        .max()
        .unwrap();
    let floor = u128::from(live_max) + (u128::from(live_max) * 1000).div_ceil(10_000);
    let gib = need.max(floor).div_ceil(u128::from(GI));
    Quantity::parse(&format!("{gib}Gi")).unwrap()
}

fn live_bytes(size: &Value) -> u64 {
    Quantity::parse(size.as_str().unwrap())
        .unwrap()
        .bytes()
        .unwrap() as u64
}

#[test]
fn the_example_proposes_what_the_arithmetic_says_and_prometheus_client_reads() {
    let v = json_of(&root(), &example_args("json"));
    assert_eq!(v["needs_action"], true);
    let kafka = group(&v, "posthog-posthog-kafka");
    // The readings are the ones prometheus_client reads in the node files.
    let mut theirs = BTreeMap::new();
    for node in ["node-a", "node-b", "node-c"] {
        let Some(s) = python_samples(&root().join(format!("fixtures/advise/metrics/{node}.txt")))
        else {
            return;
        };
        theirs.extend(s);
    }
    let mut rows = Vec::new();
    for o in kafka["ordinals"].as_array().unwrap() {
        let pvc = o["pvc"].as_str().unwrap();
        let Some(u) = o.get("usage") else {
            assert_eq!(
                pvc, "data-posthog-posthog-kafka-3",
                "only the unmounted PVC has no usage"
            );
            continue;
        };
        for (field, key) in [
            ("used_bytes", "used_bytes"),
            ("available_bytes", "available_bytes"),
            ("capacity_bytes", "capacity_bytes"),
            ("inodes_used", "inodes_used"),
        ] {
            let t = theirs[&(
                format!("kubelet_volume_stats_{field}"),
                "posthog".to_owned(),
                pvc.to_owned(),
            )]
                .0;
            assert_eq!(u[key].as_u64().unwrap() as f64, t, "{pvc} {field}");
        }
        let (used, avail) = (
            u["used_bytes"].as_u64().unwrap(),
            u["available_bytes"].as_u64().unwrap(),
        );
        rows.push((used, used, avail, live_bytes(&o["live_size"])));
    }
    let live_max = live_bytes(&kafka["live_size"]);
    assert_eq!(kafka["live_size"], "30Gi");
    let proposed = Quantity::parse(kafka["proposed_size"].as_str().unwrap()).unwrap();
    assert_eq!(proposed, expected_size(&rows, 7000, live_max));
    assert!(
        proposed > Quantity::parse("30Gi").unwrap(),
        "never below the largest live PVC"
    );
    assert_eq!(kafka["fullest"], "data-posthog-posthog-kafka-2");
    assert_eq!(kafka["reason"], "usage");
    // Drift: the values and the live StatefulSet say 20Gi, a live PVC is 30Gi.
    let drift: Vec<&str> = kafka["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"].as_str().unwrap())
        .collect();
    assert_eq!(drift, ["values", "statefulset"]);
    assert_eq!(
        kafka["drift"][0]["at"],
        "fixtures/advise/values/posthog.yaml:11:11"
    );
    let zk = group(&v, "posthog-posthog-zookeeper");
    assert_eq!(
        (zk["needs_action"].as_bool(), zk.get("proposed_size")),
        (Some(false), None)
    );
}

#[test]
fn the_example_in_one_command_is_a_pr_body_whose_diff_applies() {
    let out = advise_in(&root(), &example_args("markdown"));
    assert_eq!(code(&out), 1, "something needs action: {}", stderr(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("## pvc-resize advise: 2 of 3 volume groups need action within 14d\n"),
        "{md}"
    );
    assert!(md.contains("| Volumes | Fullest | Usage |"), "{md}");
    let kafka = md
        .find("#### posthog/posthog-posthog-kafka")
        .expect("kafka's change");
    let diff_at = kafka + md[kafka..].find("```diff\n").expect("a values diff") + 8;
    let diff = &md[diff_at..diff_at + md[diff_at..].find("```\n").unwrap()];
    assert!(diff.contains("+    size: "), "{diff}");
    assert!(
        md.contains("pvc-resize plan --release posthog --namespace posthog --size "),
        "{md}"
    );
    // GNU patch applies the diff to a copy of the values; the copy then reads the proposed size.
    let Some(patch) = program("patch") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("posthog.yaml");
    std::fs::copy(root().join("fixtures/advise/values/posthog.yaml"), &copy).unwrap();
    let mut p = Command::new(patch)
        .args(["--fuzz=0", "-s", copy.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut p.stdin.take().unwrap(), diff.as_bytes()).unwrap();
    assert!(p.wait().unwrap().success());
    let v = json_of(&root(), &example_args("json"));
    let proposed = group(&v, "posthog-posthog-kafka")["proposed_size"].clone();
    assert_eq!(
        common::tree(&read(&copy))["kafka"]["persistence"]["size"],
        proposed
    );
}

#[test]
fn growth_from_a_query_range_export() {
    let mut args = example_args("json");
    args[2] = "fixtures/advise/range.json".into();
    let v = json_of(&root(), &args);
    let kafka = group(&v, "posthog-posthog-kafka");
    let mut rows = Vec::new();
    for o in kafka["ordinals"].as_array().unwrap() {
        let Some(u) = o.get("usage") else { continue };
        let rate = u["bytes_per_day"].as_f64().unwrap();
        let (used, avail) = (
            u["used_bytes"].as_u64().unwrap(),
            u["available_bytes"].as_u64().unwrap(),
        );
        let days = u["days_to_full"].as_f64().unwrap();
        assert!((days - avail as f64 / rate).abs() < 0.01, "{o}");
        rows.push((
            used + (rate * 14.0).ceil() as u64,
            used,
            avail,
            live_bytes(&o["live_size"]),
        ));
    }
    assert_eq!(rows.len(), 3, "three mounted brokers");
    let proposed = Quantity::parse(kafka["proposed_size"].as_str().unwrap()).unwrap();
    assert_eq!(proposed, expected_size(&rows, 7000, 30 * GI));
    let soonest = kafka["days_to_full"].as_f64().unwrap();
    let u2 = &kafka["ordinals"][2]["usage"];
    assert_eq!(u2["bytes_per_day"].as_f64(), Some(536_870_912.0));
    assert!((soonest - u2["available_bytes"].as_f64().unwrap() / 536_870_912.0).abs() < 0.01);
}

// ---------------------------------------------------------------------------------------------
// Input errors, each with its place

const CLUSTER: &str = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata:
    name: data-k-0
    namespace: ns
  spec:
    resources:
      requests:
        storage: 10Gi
  status:
    capacity:
      storage: 10Gi
- apiVersion: apps/v1
  kind: StatefulSet
  metadata:
    name: k
    namespace: ns
    annotations:
      meta.helm.sh/release-name: rel
  spec:
    replicas: 1
    volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        resources:
          requests:
            storage: 10Gi
";

fn line(ns: &str, pvc: &str, family: &str, v: u64, ts: Option<i64>) -> String {
    let t = ts.map_or_else(String::new, |t| format!(" {t}"));
    format!(
        "kubelet_volume_stats_{family}{{namespace=\"{ns}\",persistentvolumeclaim=\"{pvc}\"}} {v}{t}\n"
    )
}

/// A scrape of one volume: capacity, available, used, inodes, inodes used.
fn scrape(
    ns: &str,
    pvc: &str,
    cap: u64,
    used: u64,
    inodes: u64,
    iused: u64,
    ts: Option<i64>,
) -> String {
    [
        line(ns, pvc, "capacity_bytes", cap, ts),
        line(ns, pvc, "available_bytes", cap - used, ts),
        line(ns, pvc, "used_bytes", used, ts),
        line(ns, pvc, "inodes", inodes, ts),
        line(ns, pvc, "inodes_used", iused, ts),
    ]
    .concat()
}

fn advise_files(files: &[(&str, &str)], extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), CLUSTER).unwrap();
    let mut args = vec![
        "advise".to_owned(),
        "--cluster".into(),
        "cluster.yaml".into(),
        "--metrics".into(),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
        args.push((*name).to_owned());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = advise_in(dir.path(), &args);
    (code(&out), stdout(&out), stderr(&out))
}

#[test]
fn samples_out_of_order_are_refused_with_their_place() {
    let text = scrape("ns", "data-k-0", 10 * GI, GI, 1000, 10, Some(2_000))
        + &scrape("ns", "data-k-0", 10 * GI, 2 * GI, 1000, 10, Some(1_000));
    let (c, out, err) = advise_files(&[("m.txt", &text)], &[]);
    assert_eq!((c, out.as_str()), (2, ""), "{err}");
    assert!(
        err.starts_with("pvc-resize: error: m.txt:6: samples out of order"),
        "{err}"
    );
    assert!(err.contains("\n  hint: "), "{err}");
}

#[test]
fn metrics_of_another_cluster_or_namespace_are_refused() {
    let text = scrape("other", "data-x-0", 10 * GI, GI, 1000, 10, None);
    let (c, _, err) = advise_files(&[("m.txt", &text)], &[]);
    assert_eq!(c, 2, "{err}");
    assert!(err.starts_with("pvc-resize: error: m.txt:1: none of the 1 volumes in the metrics is a PVC of cluster.yaml"), "{err}");
    assert!(err.contains("another cluster or namespace"), "{err}");
    // Two `cluster` labels in one export.
    let json = r#"{"status":"success","data":{"resultType":"vector","result":[
{"metric":{"__name__":"kubelet_volume_stats_used_bytes","cluster":"prod","namespace":"ns","persistentvolumeclaim":"data-k-0"},"value":[1700000000,"1"]},
{"metric":{"__name__":"kubelet_volume_stats_used_bytes","cluster":"stage","namespace":"ns","persistentvolumeclaim":"data-k-0"},"value":[1700000000,"1"]}]}}"#;
    let (c, _, err) = advise_files(&[("q.json", json)], &[]);
    assert_eq!(c, 2, "{err}");
    assert!(
        err.starts_with("pvc-resize: error: q.json:3: metrics from two clusters"),
        "{err}"
    );
    // A filesystem larger than the PVC: readings of another volume.
    let text = scrape("ns", "data-k-0", 50 * GI, GI, 1000, 10, None);
    let (c, out, err) = advise_files(&[("m.txt", &text)], &[]);
    assert_eq!(c, 1, "{err}");
    assert!(
        out.contains("m.txt:3:1: error[metrics-not-this-pvc]"),
        "{out}"
    );
    assert!(out.contains("  the PVC: cluster.yaml:4:1"), "{out}");
}

#[test]
fn a_counter_reset_and_an_unmounted_pvc_are_findings_with_places() {
    let a = scrape(
        "ns",
        "data-k-0",
        10 * GI,
        6 * GI,
        1000,
        10,
        Some(86_400_000),
    );
    let b = scrape(
        "ns",
        "data-k-0",
        10 * GI,
        GI,
        1000,
        10,
        Some(2 * 86_400_000),
    );
    let c3 = scrape(
        "ns",
        "data-k-0",
        10 * GI,
        GI + GI / 2,
        1000,
        10,
        Some(3 * 86_400_000),
    );
    let (c, out, err) = advise_files(
        &[("a.txt", &a), ("b.txt", &b), ("c.txt", &c3)],
        &["--format", "json"],
    );
    assert_eq!(
        c, 1,
        "1.5Gi used, half a GiB a day: above 70% of 10Gi within 14d: {err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "metrics-reset")
        .expect("a reset");
    assert_eq!(
        (
            f["id"].as_str(),
            f["location"]["file"].as_str(),
            f["location"]["line"].as_u64()
        ),
        (Some("metrics-reset"), Some("b.txt"), Some(3))
    );
    // The rate starts at the reset: half a GiB a day.
    assert_eq!(
        v["groups"][0]["ordinals"][0]["usage"]["bytes_per_day"].as_f64(),
        Some((GI / 2) as f64)
    );
    // No metrics for the PVC: where it is in the snapshot.
    let pvc1 = &CLUSTER[CLUSTER.find("- apiVersion: v1\n").unwrap()
        ..CLUSTER.find("- apiVersion: apps/v1").unwrap()];
    let other = CLUSTER.replace(
        "- apiVersion: apps/v1",
        &(pvc1.replace("data-k-0", "data-k-1") + "- apiVersion: apps/v1"),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cluster.yaml"), other).unwrap();
    std::fs::write(
        dir.path().join("m.txt"),
        scrape("ns", "data-k-0", 10 * GI, GI, 1000, 10, None),
    )
    .unwrap();
    let o = advise_in(
        dir.path(),
        &["advise", "--metrics", "m.txt", "--cluster", "cluster.yaml"].map(str::to_owned),
    );
    let text = stdout(&o);
    assert!(
        text.contains(
            "cluster.yaml:16:1: warning[pvc-no-metrics]: no metrics name PVC ns/data-k-1"
        ),
        "{text}"
    );
}

#[test]
fn inodes_running_out_with_bytes_free_say_growing_may_not_help() {
    let text = scrape("ns", "data-k-0", 10 * GI, GI, 100_000, 99_000, None);
    let (c, out, err) = advise_files(&[("m.txt", &text)], &[]);
    assert_eq!(c, 1, "{err}");
    assert!(out.contains("m.txt:5:1: error[inodes-exhausted]"), "{out}");
    assert!(out.contains("growing the disk may not help"), "{out}");
    // Nothing near the target: exit 0, no finding.
    let text = scrape("ns", "data-k-0", 10 * GI, GI, 100_000, 9_000, None);
    let (c, out, err) = advise_files(&[("m.txt", &text)], &[]);
    assert_eq!(c, 0, "{out}{err}");
    assert!(out.contains("ns/k claim data  ok"), "{out}");
}

#[test]
fn max_caps_the_proposal_and_says_so() {
    let text = scrape("ns", "data-k-0", 10 * GI, 9 * GI, 1000, 10, None);
    let (c, out, _) = advise_files(&[("m.txt", &text)], &["--max", "12Gi", "--format", "json"]);
    assert_eq!(c, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["groups"][0]["proposed_size"], "12Gi");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == "size-at-max"),
        "{v}"
    );
}

#[test]
fn github_and_sarif_carry_the_findings() {
    let out = advise_in(&root(), &example_args("github"));
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.contains("::error file=fixtures/advise/metrics/node-c.txt,line="),
        "{text}"
    );
    assert!(
        text.contains("title=pvc-resize usage-above-target::"),
        "{text}"
    );
    let out = advise_in(&root(), &example_args("sarif"));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rules: Vec<&str> = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"values-drift") && rules.contains(&"inodes-exhausted"),
        "{rules:?}"
    );
}

#[test]
fn help_has_examples() {
    let out = run(&["advise", "--help"], b"");
    let text = stdout(&out);
    assert!(
        text.contains("Examples:") && text.contains("--target-usage"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// docs/advise.md

/// Every `sh` block of docs/advise.md, in order, by bash in one folder that holds `fixtures/`
/// (this repository's) and a stand-in `kubectl` answering from `fixtures/advise` (the nodes, each
/// node's metrics, the snapshot); `pvc-resize` is the binary under test.
#[test]
fn docs_advise_blocks_run() {
    let page = read(&root().join("docs/advise.md"));
    let mut blocks = Vec::new();
    let mut rest = page.as_str();
    while let Some(i) = rest.find("```sh\n") {
        let after = &rest[i + 6..];
        let j = after.find("\n```").expect("a closed block");
        blocks.push(after[..j + 1].to_owned());
        rest = &after[j + 4..];
    }
    assert!(blocks.len() >= 5, "{blocks:?}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::os::unix::fs::symlink(root().join("fixtures"), p.join("fixtures")).unwrap();
    std::fs::create_dir(p.join("bin")).unwrap();
    std::os::unix::fs::symlink(common::bin(), p.join("bin/pvc-resize")).unwrap();
    let ex = root().join("fixtures/advise");
    common::write_executable(
        &p.join("bin/kubectl"),
        &format!(
            "#!/bin/sh\n# A stand-in for kubectl: answers from {ex}\nset -e\ncase \"$*\" in\n\
             'get nodes -o name') for f in {ex}/metrics/*.txt; do n=${{f##*/}}; echo \"node/${{n%.txt}}\"; done ;;\n\
             'get --raw /api/v1/nodes/'*'/proxy/metrics') n=${{3#/api/v1/nodes/}}; cat \"{ex}/metrics/${{n%/proxy/metrics}}.txt\" ;;\n\
             'get pvc,sts,sc -A -o yaml') cat {ex}/cluster.yaml ;;\n\
             *) echo \"kubectl stand-in: unexpected: $*\" >&2; exit 1 ;;\nesac\n",
            ex = ex.display()
        ),
    );
    let path = format!(
        "{}:{}",
        p.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (i, b) in blocks.iter().enumerate() {
        let out = Command::new("bash")
            .args(["-e", "-o", "pipefail", "-c", b])
            .current_dir(p)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "block {i} of docs/advise.md failed ({}):\n{b}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The capture made the same files as the example's.
    assert_eq!(
        read(&p.join("cluster.yaml")),
        read(&ex.join("cluster.yaml"))
    );
    assert!(read(&p.join("pr-body.md")).contains("```diff"));
}

#[test]
fn a_render_adds_its_size_and_the_plan_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let render = "---\n# Source: posthog/charts/kafka/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: posthog-posthog-kafka\nspec:\n  replicas: 3\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: \"20Gi\"\n---\n# Source: posthog/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
    let file = dir.path().join("render.yaml");
    std::fs::write(&file, render).unwrap();
    let mut args = example_args("json");
    args.extend(["--manifests".to_owned(), file.to_str().unwrap().to_owned()]);
    let v = json_of(&root(), &args);
    let kafka = group(&v, "posthog-posthog-kafka");
    let render_size = kafka["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "render")
        .expect("the render's size");
    assert_eq!(render_size["size"], "20Gi");
    assert_eq!(render_size["at"], format!("{}:15:22", file.display()));
    assert!(
        kafka["drift"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["source"] == "render")
    );
    assert_eq!(kafka["next"]["values_path"], "kafka.persistence.size");
    let plan = kafka["next"]["plan_command"].as_str().unwrap();
    assert!(
        plan.starts_with("pvc-resize plan --release posthog --namespace posthog --size "),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("--manifests {}", file.display())),
        "{plan}"
    );
}

/// The `plan` command advise prints, run as printed (the binary under test on PATH) with the real
/// PostHog render of the shared fixtures: plan accepts it and plans the proposed size.
#[test]
fn the_advised_plan_command_runs() {
    let Some(shared) = common::shared_fixtures() else {
        return;
    };
    let render = shared.join("posthog/rendered-3-replicas.yaml");
    let mut args = example_args("json");
    args.extend([
        "--manifests".to_owned(),
        render.to_str().unwrap().to_owned(),
    ]);
    let v = json_of(&root(), &args);
    let kafka = group(&v, "posthog-posthog-kafka");
    let cmd = kafka["next"]["plan_command"].as_str().unwrap();
    let bin = Path::new(common::bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-c", cmd])
        .current_dir(root())
        .env("PATH", path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{cmd}\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = kafka["proposed_size"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "Resize plan: release posthog in namespace posthog, to {size}\n"
        )),
        "{text}"
    );
}
