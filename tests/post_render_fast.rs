//! The fast post-render path (prefilter, parallel scan, the quick schema check on the data of the
//! first parse, the spliced output) gives exactly what the straightforward path gives (every
//! document parsed on one thread, every changed document parsed again and checked by the
//! jsonschema validator): the same bytes out, or the same error. Both paths share the tool's
//! parser and editor, so each fast run is also judged by an independent reader (serde_yaml on
//! the documents in and out): the same documents, equal except claim template sizes that became
//! 50Gi, exactly as many as reported (issue 21, item 13). Streams are generated with
//! StatefulSets in every scalar style of `kind`, inside `*List`s, duplicated, with escapes,
//! anchors, invalid claim templates and shrinks. And the ambiguous streams of issue 10 class 6
//! are refused with exit 2 and nothing on stdout, with the real Helm 3 running the binary as its
//! post-renderer.

mod common;
use common::*;
use proptest::prelude::*;
use pvc_resize::commands::post_render::{Options, post_render};
use pvc_resize::k8s::quantity::Size;
use std::path::Path;
use std::process::Command;

/// How a document is written; every field is a small choice.
#[derive(Debug, Clone)]
struct Doc {
    kind_style: usize,
    name: usize,
    namespace: usize,
    size: usize,
    size_style: usize,
    wrap: usize,
    extra: usize,
    source: bool,
}

const NAMES: &[&str] = &[
    "kafka-a", "kafka-b", "zk", "kafka-c", "kafka-d", "web", "kafka-e",
];
const SIZES: &[&str] = &[
    "20Gi", "50Gi", "1024Mi", "100Gi", "8e9", "10Gi", "20000Mi", "30G",
];

fn kind(style: usize) -> &'static str {
    [
        "StatefulSet",
        "\"StatefulSet\"",
        "'StatefulSet'",
        "!!str StatefulSet",
        "\"State\\x66ulSet\"",
        "\"State\\\n    fulSet\"",
        "ConfigMap",
    ][style % 7]
}

/// The object's lines, unindented.
fn object(d: &Doc) -> Vec<String> {
    let name = if d.name == 1 && d.kind_style == 4 {
        "\"k\\x61fka-b\"".to_owned()
    } else {
        NAMES[d.name % NAMES.len()].to_owned()
    };
    let size = SIZES[d.size % SIZES.len()];
    let size = match d.size_style % 3 {
        0 => size.to_owned(),
        1 => format!("\"{size}\""),
        _ => format!("'{size}'"),
    };
    if d.kind_style == 7 {
        // The whole object as one flow mapping.
        return vec![format!(
            "{{apiVersion: apps/v1, kind: StatefulSet, metadata: {{name: {name}}}, spec: {{selector: {{}}, serviceName: s, template: {{}}, volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{resources: {{requests: {{storage: {size}}}}}}}}}]}}}}"
        )];
    }
    let mut l = vec![
        "apiVersion: apps/v1".to_owned(),
        format!("kind: {}", kind(d.kind_style)),
    ];
    l.push("metadata:".into());
    l.push(format!("  name: {name}"));
    match d.namespace % 3 {
        1 => l.push("  namespace: one".into()),
        2 => l.push("  namespace: two".into()),
        _ => {}
    }
    if d.extra == 3 {
        l.push("  labels: {size: &s x}".into());
    }
    l.push("spec:".into());
    l.push("  selector: {}".into());
    l.push("  serviceName: s".into());
    l.push("  template: {}".into());
    l.push("  volumeClaimTemplates:".into());
    let claim = |l: &mut Vec<String>, claim: &str, size: &str| {
        l.push("    - metadata:".into());
        l.push(format!("        name: {claim}"));
        l.push("      spec:".into());
        l.push("        resources:".into());
        l.push("          requests:".into());
        l.push(format!("            storage: {size}"));
    };
    claim(&mut l, "data", &size);
    match d.extra {
        1 => l.push("        colour: blue".into()),
        2 => claim(&mut l, "data", "20Gi"),
        3 => l.push("        limits: {storage: *s}".into()),
        4 => claim(&mut l, "logs", "\"5Gi\""),
        5 => {
            let last = l.len() - 1;
            l[last] = format!("            storage: !!str {size}");
        }
        _ => {}
    }
    l
}

fn document(d: &Doc) -> String {
    let mut out = String::from("---\n");
    if d.source {
        out.push_str("# Source: c/charts/kafka/templates/statefulset.yaml\n");
    }
    let lines = object(d);
    let wrapper = ["", "List", "StatefulSetList", ""][d.wrap % 4];
    if wrapper.is_empty() || d.kind_style == 7 {
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        if d.wrap == 3 {
            out.push_str("# trailing comment\n\n");
        }
        return out;
    }
    out.push_str(&format!("apiVersion: v1\nkind: {wrapper}\nitems:\n"));
    for (i, l) in lines.iter().enumerate() {
        out.push_str(if i == 0 { "  - " } else { "    " });
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn other(i: usize) -> String {
    match i % 3 {
        0 => format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  note: \"a StatefulSet named kafka-a\\n\"\n"
        ),
        1 => "---\n# only a comment\n".to_owned(),
        _ => format!(
            "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: kafka-{i}\nspec:\n  storage: 20Gi\n"
        ),
    }
}

fn doc_strategy() -> impl Strategy<Value = Doc> {
    (
        0..8usize,
        0..7usize,
        0..3usize,
        0..8usize,
        0..3usize,
        0..4usize,
        0..14usize,
        any::<bool>(),
    )
        .prop_map(
            |(kind_style, name, namespace, size, size_style, wrap, extra, source)| Doc {
                kind_style,
                name,
                namespace,
                size,
                size_style,
                wrap,
                extra,
                source,
            },
        )
}

/// What a run gives, comparable: the output and the changes, or the error.
fn outcome(
    input: &str,
    patterns: &[String],
    threads: usize,
    reference: bool,
) -> Result<String, String> {
    let opts = Options {
        size: Some(Size::parse("50Gi").unwrap()),
        statefulsets: patterns.to_vec(),
        claim: "data".into(),
        threads,
        reference,
        ..Options::default()
    };
    post_render(input, &opts)
        .map(|o| format!("{}\n{:?}\n{:?}", o.output, o.claims, o.warnings))
        .map_err(|e| e.to_string())
}

/// The documents of a stream as an independent reader (serde_yaml, not the tool's parser) reads
/// them, empty documents left out.
fn documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: serde_json::Value =
            serde::Deserialize::deserialize(doc).map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// The claim templates' sizes of every StatefulSet in `v` (inside `*List`s too), as mutable
/// places.
fn sizes(v: &mut serde_json::Value) -> Vec<&mut serde_json::Value> {
    let kind = v["kind"].as_str().unwrap_or_default().to_owned();
    if kind.ends_with("List") && v["items"].is_array() {
        let items = v["items"].as_array_mut().expect("an array");
        return items.iter_mut().flat_map(sizes).collect();
    }
    if kind != "StatefulSet" {
        return Vec::new();
    }
    match v
        .pointer_mut("/spec/volumeClaimTemplates")
        .and_then(|t| t.as_array_mut())
    {
        Some(templates) => templates
            .iter_mut()
            .filter_map(|t| t.pointer_mut("/spec/resources/requests/storage"))
            .collect(),
        None => Vec::new(),
    }
}

/// Judges a post-render run by an independent reader: the output has the input's documents, the
/// same in every byte of data except claim template sizes that became 50Gi, and exactly as many
/// of those as the run reported.
fn judge_independently(input: &str, output: &str, reported: usize) -> Result<(), String> {
    let (mut before, mut after) = (documents(input)?, documents(output)?);
    if before.len() != after.len() {
        return Err(format!(
            "{} documents in, {} out",
            before.len(),
            after.len()
        ));
    }
    let mut changed = 0;
    for (b, a) in before.iter_mut().zip(after.iter_mut()) {
        for (old, new) in sizes(b).into_iter().zip(sizes(a)) {
            if old != new {
                if *new != "50Gi" {
                    return Err(format!("a size became {new}, not 50Gi"));
                }
                changed += 1;
                *old = new.clone();
            }
        }
        if b != a {
            return Err(format!("a document changed beyond its sizes:\n{b}\n{a}"));
        }
    }
    if changed != reported {
        return Err(format!("{changed} sizes changed, {reported} reported"));
    }
    Ok(())
}

const PATTERNS: &[&[&str]] = &[
    &[],
    &["kafka-*"],
    &["kafka-a"],
    &["*"],
    &["kafka-a", "z*"],
    &["k*-b"],
    &["*"],
    &["kafka-*"],
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_fast_path_equals_the_straightforward_one(
        docs in prop::collection::vec(doc_strategy(), 1..6),
        others in prop::collection::vec(0..9usize, 0..12),
        order in any::<u64>(),
        pattern in 0..PATTERNS.len(),
    ) {
        let mut parts: Vec<String> = docs.iter().map(document).collect();
        parts.extend(others.iter().map(|&i| other(i)));
        // A fixed shuffle from `order`.
        let mut seed = order | 1;
        for i in (1..parts.len()).rev() {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            parts.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let input = parts.concat();
        let patterns: Vec<String> = PATTERNS[pattern].iter().map(|s| s.to_string()).collect();
        let want = outcome(&input, &patterns, 1, true);
        for threads in [1, 3] {
            let got = outcome(&input, &patterns, threads, false);
            prop_assert_eq!(&got, &want, "threads {}\n{}", threads, input);
        }
        // The fast path judged by a reader that shares nothing with it.
        let opts = Options {
            size: Some(Size::parse("50Gi").unwrap()),
            statefulsets: patterns.clone(),
            claim: "data".into(),
            threads: 3,
            ..Options::default()
        };
        if let Ok(o) = post_render(&input, &opts) {
            let reported = o.claims.iter().filter(|c| c.changed).count();
            let judged = judge_independently(&input, &o.output.to_string(), reported);
            prop_assert!(judged.is_ok(), "{:?}\n{}", judged, input);
        }
    }
}

/// A StatefulSet of the kafka chart (by its Source line).
fn sts(name: &str, claims: &[&str]) -> String {
    let mut s = format!(
        "---\n# Source: c/charts/kafka/templates/statefulset.yaml\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\nspec:\n  selector: {{}}\n  serviceName: s\n  template: {{}}\n  volumeClaimTemplates:\n"
    );
    for c in claims {
        s.push_str(&format!(
            "    - metadata:\n        name: {c}\n      spec:\n        resources:\n          requests:\n            storage: 20Gi\n"
        ));
    }
    s
}

fn in_list(doc: &str, kind: &str) -> String {
    let body: Vec<&str> = doc
        .lines()
        .filter(|l| *l != "---" && !l.starts_with('#'))
        .collect();
    let mut out = format!("---\napiVersion: v1\nkind: {kind}\nitems:\n");
    for (i, l) in body.iter().enumerate() {
        out.push_str(if i == 0 { "  - " } else { "    " });
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn ambiguous_streams_are_refused_with_nothing_on_stdout() {
    let one = sts("kafka", &["data"]);
    let other = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
    let cases = [
        (
            "twice at the top",
            format!("{one}{other}{one}"),
            "is in the stream twice",
        ),
        (
            "top and in a List",
            format!("{one}{}", in_list(&one, "List")),
            "is in the stream twice",
        ),
        (
            "in a StatefulSetList",
            format!("{}{one}", in_list(&one, "StatefulSetList")),
            "is in the stream twice",
        ),
        (
            "two claim templates named data",
            sts("kafka", &["data", "data"]),
            "two volumeClaimTemplates named \"data\"",
        ),
    ];
    for (what, input, message) in cases {
        for args in [
            &["post-render", "--size", "50Gi"][..],
            &["post-render", "--size", "50Gi", "--statefulset", "kafka"],
            &[
                "post-render",
                "--size",
                "50Gi",
                "--statefulset",
                "k*",
                "--statefulset",
                "kaf*",
            ],
        ] {
            let out = run(args, input.as_bytes());
            let err = stderr(&out);
            if what == "twice at the top" && args.len() == 3 {
                // Without a name, two picks from the chart are refused as a guess, also exit 2.
                assert!(err.contains("refusing"), "{what}: {err}");
            } else {
                assert!(err.contains(message), "{what} {args:?}: {err}");
            }
            assert_eq!(code(&out), 2, "{what} {args:?}: {err}");
            assert!(out.stdout.is_empty(), "{what} {args:?}: stdout not empty");
        }
    }
    // Different namespaces are different StatefulSets.
    let ns = |n: &str| {
        one.replace(
            "  name: kafka\n",
            &format!("  name: kafka\n  namespace: {n}\n"),
        )
    };
    let input = format!("{}{}", ns("a"), ns("b"));
    let out = run(
        &["post-render", "--size", "50Gi", "--statefulset", "kafka"],
        input.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("storage: 50Gi").count(), 2);
}

/// A chart whose one template is `body`.
fn chart(dir: &Path, body: &str) -> std::path::PathBuf {
    let c = dir.join("c");
    std::fs::create_dir_all(c.join("charts/kafka/templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(
        c.join("charts/kafka/Chart.yaml"),
        "apiVersion: v2\nname: kafka\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(c.join("charts/kafka/templates/statefulset.yaml"), body).unwrap();
    c
}

fn helm_post_render(helm: &Path, chart: &Path) -> std::process::Output {
    Command::new(helm)
        .args(["template", "r"])
        .arg(chart)
        .arg("--post-renderer")
        .arg(common::bin())
        .args([
            "--post-renderer-args",
            "post-render",
            "--post-renderer-args",
            "--size",
        ])
        .args(["--post-renderer-args", "50Gi"])
        .output()
        .expect("helm runs")
}

#[test]
fn helm3_runs_it_on_every_style_of_kind_and_stops_on_ambiguity() {
    let Some(helm) = helm(3) else { return };
    let oracle = HelmOracle::new(helm.clone());
    let tmp = tempfile::tempdir().unwrap();
    let body = |kind: &str| {
        format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: kafka\nspec:\n  selector: {{}}\n  serviceName: s\n  template: {{}}\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: 20Gi\n"
        )
    };
    let flow = "{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: kafka}, spec: {selector: {}, serviceName: s, volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 20Gi}}}}]}}\n".to_owned();
    let styles = [
        body("StatefulSet"),
        body("\"StatefulSet\""),
        body("'StatefulSet'"),
        body("!!str StatefulSet"),
        body("\"State\\x66ulSet\""),
        body("\"Stateful\\\n  Set\""),
        flow,
        in_list(&body("StatefulSet"), "List").replacen("---\n", "", 1),
    ];
    for (i, style) in styles.iter().enumerate() {
        let dir = tmp.path().join(format!("s{i}"));
        let out = helm_post_render(&helm, &chart(&dir, style));
        assert!(
            out.status.success(),
            "{style}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = String::from_utf8(out.stdout).unwrap();
        // Helm itself reads the post-rendered object: a StatefulSet of 50Gi.
        let doc = rendered
            .split("\n---")
            .find(|d| d.contains("storage"))
            .unwrap();
        let read = oracle.read_many(&[doc.as_bytes()]).remove(0).unwrap();
        let object = if read["kind"] == "List" {
            &read["items"][0]
        } else {
            &read
        };
        assert_eq!(object["kind"], "StatefulSet", "{style}");
        assert_eq!(
            object["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
            "50Gi",
            "{style}\n{rendered}"
        );
    }
    // The same StatefulSet twice, or twice in one List: Helm stops, and renders nothing.
    let twice = format!(
        "{}---\n{}",
        body("StatefulSet"),
        in_list(&body("'StatefulSet'"), "List").replacen("---\n", "", 1)
    );
    let out = helm_post_render(&helm, &chart(&tmp.path().join("twice"), &twice));
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is in the stream twice"), "{err}");
}
