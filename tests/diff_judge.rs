//! The diff `plan` prints of the resized stream is built from the post-renderer's edits, not by
//! a diff algorithm. GNU `diff -u` and GNU `patch` judge it: on generated texts and edits, and on
//! the real renders with the real post-render, `patch` turns the old text into the new one with
//! no fuzz, and where the minimal diff is unique (every line distinct, every changed line new)
//! the hunks are byte for byte those of `diff -u`.

mod common;

use common::{Rng, shared_fixtures, skip};
use pvc_resize::commands::post_render::{self, Options};
use pvc_resize::k8s::quantity::Size;
use pvc_resize::output::diff::{unified_diff, unified_diff_of_edits};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::process::Command;

type Edit = (Range<usize>, String);

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A text of distinct lines (`unique`) or of lines from a small vocabulary, as YAML-like lines;
/// with or without a final line break.
fn text(rng: &mut Rng, unique: bool) -> String {
    let lines = rng.below(60);
    let mut t = String::new();
    for i in 0..lines {
        let indent = "  ".repeat(rng.below(4));
        if unique {
            let _ = writeln!(t, "{indent}key{i}: value{}", rng.below(1000));
        } else {
            let vocabulary = ["a: 1\n", "b: 2\n", "---\n", "\n", "  c: x\n", "a: 1\n"];
            t.push_str(vocabulary[rng.below(vocabulary.len())]);
        }
    }
    if !t.is_empty() && rng.chance(20) {
        t.pop();
    }
    t
}

/// Sorted, non-overlapping edits; every text they add holds a token no line of `old` has.
fn edits(rng: &mut Rng, old: &str) -> Vec<Edit> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(old.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&s| s <= old.len())
        .collect();
    let mut out: Vec<Edit> = Vec::new();
    let mut fresh = 0;
    let mut new_text = |rng: &mut Rng, lines: bool| {
        fresh += 1;
        match (lines, rng.below(3)) {
            (false, _) => format!("NEW{fresh}"),
            (true, 0) => format!("new: NEW{fresh}\n"),
            (true, 1) => format!("new: NEW{fresh}\nmore: NEW{fresh}b\n"),
            (true, _) => String::new(),
        }
    };
    for _ in 0..rng.below(6) + 1 {
        let at = *rng.pick(&starts);
        let line_end = old[at..].find('\n').map_or(old.len(), |i| at + i + 1);
        let (range, text) = match rng.below(5) {
            // Part of a line (the post-renderer's case: a storage scalar).
            0 | 1 if line_end > at + 1 => {
                let a = at + rng.below(line_end - at - 1);
                let b = a + rng.below(line_end - a);
                (a..b, new_text(rng, false))
            }
            // Whole lines replaced, removed or inserted.
            2 => {
                let end = starts
                    .iter()
                    .copied()
                    .find(|&s| s > at + rng.below(80))
                    .unwrap_or(old.len());
                (at..end, new_text(rng, true))
            }
            3 => (at..at, new_text(rng, true)),
            // The very end of the text.
            _ => {
                let lines = rng.chance(50);
                (old.len()..old.len(), new_text(rng, lines))
            }
        };
        if range.is_empty() && text.is_empty() {
            continue;
        }
        if out
            .iter()
            .all(|(r, _)| range.end < r.start || r.end < range.start)
        {
            out.push((range, text));
        }
    }
    out.sort_by_key(|(r, _)| r.start);
    out
}

fn apply(old: &str, edits: &[Edit]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (r, t) in edits {
        out.push_str(&old[at..r.start]);
        out.push_str(t);
        at = r.end;
    }
    out + &old[at..]
}

/// One case for the judges: the two texts, our diff, and whether `diff -u` must agree exactly.
struct Case {
    old: String,
    new: String,
    ours: String,
    exact: bool,
}

/// Runs GNU `patch` (and `diff -u` where `exact`) on every case in one shell; returns the
/// failures, described.
fn judge(cases: &[Case], dir: &Path) -> Vec<String> {
    let mut script = String::from("set -u\n");
    for (i, c) in cases.iter().enumerate() {
        std::fs::write(dir.join(format!("{i}.old")), &c.old).unwrap();
        std::fs::write(dir.join(format!("{i}.new")), &c.new).unwrap();
        std::fs::write(dir.join(format!("{i}.diff")), &c.ours).unwrap();
        let _ = writeln!(
            script,
            "patch -s -f --fuzz=0 --no-backup-if-mismatch -o {i}.out {i}.old < {i}.diff > {i}.log 2>&1 || echo failed >> {i}.log"
        );
        if c.exact {
            let _ = writeln!(script, "diff -u {i}.old {i}.new | tail -n +3 > {i}.gnu");
        }
    }
    std::fs::write(dir.join("judge.sh"), script).unwrap();
    let st = Command::new("bash")
        .arg("judge.sh")
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(st.success());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let out = std::fs::read_to_string(dir.join(format!("{i}.out"))).unwrap_or_default();
        let log = std::fs::read_to_string(dir.join(format!("{i}.log"))).unwrap_or_default();
        if c.old != c.new && (out != c.new || !log.is_empty()) {
            failures.push(format!(
                "case {i}: patch did not make the new text ({log})\n--- old\n{:?}\n--- new\n{:?}\n--- ours\n{}",
                c.old, c.new, c.ours
            ));
        }
        if c.exact {
            let gnu = std::fs::read_to_string(dir.join(format!("{i}.gnu"))).unwrap();
            let body = c.ours.splitn(3, '\n').nth(2).unwrap_or_default();
            if body != gnu {
                failures.push(format!(
                    "case {i}: hunks differ from diff -u\n--- ours\n{body}\n--- diff -u\n{gnu}"
                ));
            }
        }
    }
    failures
}

fn judges_present() -> bool {
    for tool in ["diff", "patch"] {
        if !have(tool) {
            skip(tool);
            return false;
        }
    }
    true
}

#[test]
fn generated_texts_and_edits() {
    if !judges_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed_d1ff);
    let mut cases = Vec::new();
    let mut exact = 0;
    for n in 0..1500 {
        let unique = n % 3 != 0;
        let old = text(&mut rng, unique);
        let edits = edits(&mut rng, &old);
        let new = apply(&old, &edits);
        let ours = unified_diff_of_edits(&old, &edits, "f.yaml");
        assert_eq!(ours.is_empty(), old == new, "{old:?} -> {new:?}: {ours}");
        if !ours.is_empty() {
            assert!(
                ours.starts_with("--- a/f.yaml\n+++ b/f.yaml\n@@ -"),
                "{ours}"
            );
        }
        exact += usize::from(unique);
        cases.push(Case {
            old,
            new,
            ours,
            exact: unique,
        });
    }
    let failures = judge(&cases, dir.path());
    assert!(
        failures.is_empty(),
        "{} of {} cases ({exact} compared with diff -u) failed; first:\n{}",
        failures.len(),
        cases.len(),
        failures[0]
    );
}

#[test]
fn real_renders_resized_by_the_post_renderer() {
    let Some(fixtures) = shared_fixtures() else {
        return skip("../shared/fixtures");
    };
    if !judges_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for sub in ["posthog", "bitnami-kafka-14", "bitnami-kafka-32"] {
        let patterns: Vec<String> = match sub {
            "posthog" => ["*-kafka", "*-zookeeper", "*-postgresql"]
                .map(String::from)
                .to_vec(),
            _ => vec!["*".to_owned()],
        };
        let mut files: Vec<_> = std::fs::read_dir(fixtures.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with("rendered-") && !name.contains("resized")
            })
            .collect();
        files.sort();
        for path in files {
            let old = std::fs::read_to_string(&path).unwrap();
            for size in ["80Gi", "1Ti", "500Gi"] {
                let opts = Options {
                    size: Some(Size::parse(size).unwrap()),
                    statefulsets: patterns.clone(),
                    claim: "data".to_owned(),
                    ..Options::default()
                };
                let out = post_render::post_render(&old, &opts)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let ours = unified_diff_of_edits(&old, out.output.edits(), "render.yaml");
                let new = out.output.to_string();
                assert!(!ours.is_empty(), "{}: nothing changed", path.display());
                cases.push(Case {
                    old: old.clone(),
                    new,
                    ours,
                    exact: true,
                });
            }
        }
    }
    assert!(cases.len() >= 24, "{} cases", cases.len());
    let failures = judge(&cases, dir.path());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The small cases the two builders of a diff must agree on, byte for byte.
#[test]
fn agrees_with_the_diff_algorithm_on_plain_edits() {
    let old = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\nh: 8\ni: 9\nj: 10\nk: 11\nl: 12\n";
    let at = |line: &str| old.find(line).unwrap();
    let cases: Vec<Vec<Edit>> = vec![
        vec![(at("b: 2")..at("b: 2") + 4, "b: 20".into())],
        vec![(0..1, "z".into())],
        vec![(old.len() - 3..old.len() - 1, "99".into())],
        // Gaps of 6 and 7 unchanged lines: one hunk, then two.
        vec![
            (at("a: 1")..at("a: 1") + 1, "A".into()),
            (at("h: 8")..at("h: 8") + 1, "H".into()),
        ],
        vec![
            (at("a: 1")..at("a: 1") + 1, "A".into()),
            (at("i: 9")..at("i: 9") + 1, "I".into()),
        ],
        // Lines removed, inserted, two edits on one line, an insertion at the end.
        vec![(at("c: 3")..at("e: 5"), String::new())],
        vec![(at("c: 3")..at("c: 3"), "new: x\nnew: y\n".into())],
        vec![
            (at("c: 3")..at("c: 3") + 1, "C".into()),
            (at("c: 3") + 3..at("c: 3") + 4, "33".into()),
        ],
        vec![(old.len()..old.len(), "m: 13\n".into())],
        vec![(old.len() - 1..old.len(), String::new())],
    ];
    for edits in cases {
        let new = apply(old, &edits);
        assert_eq!(
            unified_diff_of_edits(old, &edits, "v.yaml"),
            unified_diff(old, &new, "v.yaml"),
            "{edits:?}"
        );
    }
    assert_eq!(unified_diff_of_edits(old, &[], "v.yaml"), "");
    assert_eq!(
        unified_diff_of_edits(old, &[(3..5, "1\n".into())], "v.yaml"),
        ""
    );
    assert_eq!(
        unified_diff_of_edits("", &[(0..0, "x\n".into())], "v.yaml"),
        unified_diff("", "x\n", "v.yaml")
    );
}
