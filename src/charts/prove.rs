//! Proof by Helm: the chart rendered with a sentinel size at a values path. The path sizes a claim
//! when that claim's `storage` becomes the sentinel; it is proven for a target when the target is
//! the only claim that changed, the sentinel appears nowhere else, and no other document changed
//! (documents that differ between two plain renders, such as generated passwords, excepted).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};

/// How to render the chart: `helm template RELEASE CHART --namespace NS -f VALUES...`.
#[derive(Debug, Clone)]
pub struct Renderer {
    pub helm: String,
    pub chart: String,
    pub release: String,
    pub namespace: String,
    pub values: Vec<String>,
}

/// The first `helm` on PATH (or the program named), when it runs.
pub fn find_helm(named: Option<&str>) -> Option<String> {
    let program = named.unwrap_or("helm");
    let ok = Command::new(program)
        .arg("version")
        .arg("--short")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| program.to_owned())
}

impl Renderer {
    /// The argument vector of the render (without the overlay).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            "template".to_owned(),
            self.release.clone(),
            self.chart.clone(),
            format!("--namespace={}", self.namespace),
        ];
        for v in &self.values {
            argv.push(format!("--values={v}"));
        }
        argv
    }

    /// The render, with `overlay` (a values tree) read last from stdin.
    pub fn render(&self, overlay: Option<&Value>) -> Result<String, String> {
        let mut argv = self.argv();
        if overlay.is_some() {
            argv.push("--values=-".to_owned());
        }
        let mut child = Command::new(&self.helm)
            .args(&argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.helm))?;
        let text = overlay.map(Value::to_string).unwrap_or_default();
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| format!("{}: {e}", self.helm))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{}: {e}", self.helm))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "`{} {}` failed: {}",
                self.helm,
                argv.join(" "),
                err.trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// A values tree holding `value` at the dotted `path`.
pub fn overlay(path: &str, value: &str) -> Value {
    path.rsplit('.')
        .fold(Value::String(value.to_owned()), |inner, key| {
            let mut m = serde_json::Map::new();
            m.insert(key.to_owned(), inner);
            Value::Object(m)
        })
}

/// One claim of a render: a StatefulSet's claim template, a PersistentVolumeClaim, or the claim
/// template of a custom resource (a `spec.resources.requests.storage` anywhere in an object).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClaimId {
    /// `Kind/name` of the object.
    pub object: String,
    /// The claim template's name (`metadata.name` or `name`); for a PVC, its own name.
    pub claim: String,
}

impl std::fmt::Display for ClaimId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} claim {}", self.object, self.claim)
    }
}

/// One document of a render.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// `Kind/name`.
    pub id: String,
    /// The `# Source:` template.
    pub source: Option<String>,
    pub value: Value,
}

/// A render read as documents, each under a key that stays the same between renders of other
/// values: its source template, kind and rank in that template (a name may hold a timestamp).
#[derive(Debug, Default)]
pub struct Render {
    pub docs: BTreeMap<String, Doc>,
    pub text: String,
}

impl Render {
    /// The document of object `Kind/name`.
    pub fn object(&self, id: &str) -> Option<&Doc> {
        self.docs.values().find(|d| d.id == id)
    }
}

/// Reads a render (`helm template` output).
pub fn read(text: &str) -> Result<Render, String> {
    let mut docs = BTreeMap::new();
    for chunk in crate::k8s::stream::split(text) {
        let doc = &text[chunk.range.clone()];
        if !crate::k8s::stream::has_content(doc) {
            continue;
        }
        let source = crate::k8s::stream::source_comment(doc).map(str::to_owned);
        let value: Value = serde_yaml::from_str(doc)
            .map_err(|e| format!("the render, line {}: {e}", chunk.line))?;
        if value.is_null() {
            continue;
        }
        let s = |p: &str| value.pointer(p).and_then(Value::as_str).unwrap_or("");
        let id = format!("{}/{}", s("/kind"), s("/metadata/name"));
        let base = match &source {
            Some(t) => format!("{t} {}", s("/kind")),
            None => id.clone(),
        };
        let mut key = base.clone();
        let mut n = 1;
        while docs.contains_key(&key) {
            n += 1;
            key = format!("{base}#{n}");
        }
        docs.insert(key, Doc { id, source, value });
    }
    Ok(Render {
        docs,
        text: text.to_owned(),
    })
}

/// Every claim of an object with the JSON pointer of its storage.
pub fn claims(object_id: &str, v: &Value) -> Vec<(ClaimId, String)> {
    let mut out = Vec::new();
    walk(object_id, v, "", &mut out);
    out
}

fn walk(object: &str, v: &Value, at: &str, out: &mut Vec<(ClaimId, String)>) {
    match v {
        Value::Object(m) => {
            if v.pointer("/spec/resources/requests/storage").is_some() {
                let name = v
                    .pointer("/metadata/name")
                    .or_else(|| v.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                out.push((
                    ClaimId {
                        object: object.to_owned(),
                        claim: name.to_owned(),
                    },
                    format!("{at}/spec/resources/requests/storage"),
                ));
            }
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                walk(object, x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(object, x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Every claim of a render with its storage text.
pub fn all_claims(r: &Render) -> BTreeMap<ClaimId, String> {
    let mut out = BTreeMap::new();
    for d in r.docs.values() {
        let v = &d.value;
        for (c, p) in claims(&d.id, v) {
            let size = match v.pointer(&p) {
                Some(Value::String(s)) => s.clone(),
                Some(x) => x.to_string(),
                None => String::new(),
            };
            out.insert(c, size);
        }
    }
    out
}

/// What a sentinel at one path did to the render.
#[derive(Debug, Clone, Default)]
pub struct Effect {
    /// The claims whose storage became the sentinel.
    pub sized: Vec<ClaimId>,
    /// Claims that changed to something else.
    pub changed: Vec<ClaimId>,
    /// Other documents that changed (noise excepted), or appeared, or went.
    pub documents: Vec<String>,
    /// How often the sentinel appears in the render.
    pub occurrences: usize,
}

impl Effect {
    /// The path sizes exactly `target` and nothing else changed.
    pub fn proves(&self, target: &ClaimId) -> bool {
        self.sized.len() == 1
            && &self.sized[0] == target
            && self.changed.is_empty()
            && self.documents.is_empty()
            && self.occurrences == 1
    }

    /// Says what it did, for a finding.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.sized.is_empty() {
            parts.push("sizes no claim".to_owned());
        } else {
            let s: Vec<String> = self.sized.iter().map(ToString::to_string).collect();
            parts.push(format!("sizes {}", s.join(", ")));
        }
        if !self.changed.is_empty() {
            let s: Vec<String> = self.changed.iter().map(ToString::to_string).collect();
            parts.push(format!("changes {}", s.join(", ")));
        }
        if !self.documents.is_empty() {
            parts.push(format!("changes {}", self.documents.join(", ")));
        }
        if self.occurrences > self.sized.len() {
            parts.push("its value appears elsewhere in the render".to_owned());
        }
        parts.join("; ")
    }
}

/// The documents that differ between two renders of the same values (generated secrets and what
/// hashes them).
pub fn noise(a: &Render, b: &Render) -> BTreeSet<String> {
    let ids: BTreeSet<&String> = a.docs.keys().chain(b.docs.keys()).collect();
    ids.into_iter()
        .filter(|id| a.docs.get(*id) != b.docs.get(*id))
        .cloned()
        .collect()
}

/// Compares a render with a sentinel at some path against the baseline.
pub fn effect(base: &Render, noisy: &BTreeSet<String>, with: &Render, sentinel: &str) -> Effect {
    let before = all_claims(base);
    let after = all_claims(with);
    let mut e = Effect {
        occurrences: with.text.matches(sentinel).count(),
        ..Effect::default()
    };
    for (id, size) in &after {
        match before.get(id) {
            _ if size == sentinel => e.sized.push(id.clone()),
            Some(old) if old != size => e.changed.push(id.clone()),
            _ => {}
        }
    }
    let ids: BTreeSet<&String> = base.docs.keys().chain(with.docs.keys()).collect();
    for key in ids {
        if noisy.contains(key) {
            continue;
        }
        let (Some(a), Some(b)) = (base.docs.get(key), with.docs.get(key)) else {
            let d = base.docs.get(key).or(with.docs.get(key));
            e.documents
                .push(format!("{} (appears or goes)", d.map_or("?", |d| &d.id)));
            continue;
        };
        if a == b {
            continue;
        }
        // The object apart from its claims' sizes must be the same.
        let mut v = b.value.clone();
        for (_, p) in claims(&b.id, &b.value) {
            if let (Some(slot), Some(old)) = (v.pointer_mut(&p), a.value.pointer(&p)) {
                *slot = old.clone();
            }
        }
        if v != a.value || a.id != b.id {
            e.documents.push(b.id.clone());
        }
    }
    e
}

/// The documents that a render with a VolumeAttributesClass set at some values path changed beyond
/// the `volumeAttributesClassName` of the claim templates `wants` (noise excepted): what the class
/// proof requires to be empty, as [`Effect::proves`] does for a size (only the target may change).
pub fn class_changes(
    base: &Render,
    noisy: &BTreeSet<String>,
    with: &Render,
    wants: &[ClaimId],
) -> Vec<String> {
    let mut out = Vec::new();
    let ids: BTreeSet<&String> = base.docs.keys().chain(with.docs.keys()).collect();
    for key in ids {
        if noisy.contains(key) {
            continue;
        }
        let (Some(a), Some(b)) = (base.docs.get(key), with.docs.get(key)) else {
            let d = base.docs.get(key).or(with.docs.get(key));
            out.push(format!("{} (appears or goes)", d.map_or("?", |d| &d.id)));
            continue;
        };
        if a == b {
            continue;
        }
        // The object with each wanted claim template's class put back must be the same.
        let mut v = b.value.clone();
        for want in wants.iter().filter(|w| w.object == b.id) {
            put_class_back(&mut v, &a.value, &want.claim);
        }
        if v != a.value || a.id != b.id {
            out.push(b.id.clone());
        }
    }
    out
}

/// Sets claim template `claim`'s `spec.volumeAttributesClassName` in `v` to what `old` has (or
/// removes it).
fn put_class_back(v: &mut Value, old: &Value, claim: &str) {
    let index = |x: &Value| {
        x.pointer("/spec/volumeClaimTemplates")?
            .as_array()?
            .iter()
            .position(|t| t.pointer("/metadata/name").and_then(Value::as_str) == Some(claim))
    };
    let (Some(i), Some(j)) = (index(v), index(old)) else {
        return;
    };
    let was = old.pointer(&format!(
        "/spec/volumeClaimTemplates/{j}/spec/volumeAttributesClassName"
    ));
    if let Some(spec) = v
        .pointer_mut(&format!("/spec/volumeClaimTemplates/{i}/spec"))
        .and_then(Value::as_object_mut)
    {
        match was {
            Some(c) => spec.insert("volumeAttributesClassName".into(), c.clone()),
            None => spec.remove("volumeAttributesClassName"),
        };
    }
}

/// A size no render holds: the sentinel.
pub fn sentinel(base: &Render) -> String {
    (0..)
        .map(|i| format!("{}Mi", 271_828 + i * 7))
        .find(|s| !base.text.contains(s.as_str()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "---\n# Source: c/templates/sts.yaml\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: 8Gi\n    - metadata:\n        name: logs\n      spec:\n        resources:\n          requests:\n            storage: 1Gi\n---\nkind: PersistentVolumeClaim\nmetadata:\n  name: cache\nspec:\n  resources:\n    requests:\n      storage: \"2Gi\"\n";

    #[test]
    fn claims_of_a_render() {
        let r = read(BASE).unwrap();
        let c = all_claims(&r);
        let names: Vec<String> = c.keys().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "PersistentVolumeClaim/cache claim cache",
                "StatefulSet/db claim data",
                "StatefulSet/db claim logs"
            ]
        );
        assert_eq!(
            r.object("StatefulSet/db").unwrap().source.as_deref(),
            Some("c/templates/sts.yaml")
        );
    }

    #[test]
    /// The class proof: only the wanted claim templates' volumeAttributesClassName may change.
    fn class_changes_beyond_the_targets() {
        let base = read(BASE).unwrap();
        let want = |claim: &str| ClaimId {
            object: "StatefulSet/db".into(),
            claim: claim.into(),
        };
        let classed = |text: &str, claim: &str| {
            let at = format!("        name: {claim}\n      spec:\n");
            text.replacen(
                &at,
                &format!("{at}        volumeAttributesClassName: fast\n"),
                1,
            )
        };
        let data = read(&classed(BASE, "data")).unwrap();
        assert!(class_changes(&base, &BTreeSet::new(), &data, &[want("data")]).is_empty());
        // The class on the other claim template too, or a size moved with it: not only the target.
        let both = read(&classed(&classed(BASE, "data"), "logs")).unwrap();
        assert_eq!(
            class_changes(&base, &BTreeSet::new(), &both, &[want("data")]),
            ["StatefulSet/db"]
        );
        assert!(
            class_changes(
                &base,
                &BTreeSet::new(),
                &both,
                &[want("data"), want("logs")]
            )
            .is_empty()
        );
        let sized = read(&classed(BASE, "data").replacen("2Gi", "3Gi", 1)).unwrap();
        assert_eq!(
            class_changes(&base, &BTreeSet::new(), &sized, &[want("data")]),
            ["PersistentVolumeClaim/cache"]
        );
        // ... unless that document is noise (it differs between two plain renders).
        let noisy: BTreeSet<String> = base
            .docs
            .iter()
            .filter(|(_, d)| d.id == "PersistentVolumeClaim/cache")
            .map(|(k, _)| k.clone())
            .collect();
        assert!(class_changes(&base, &noisy, &sized, &[want("data")]).is_empty());
    }

    #[test]
    fn effects() {
        let base = read(BASE).unwrap();
        let s = sentinel(&base);
        let data = ClaimId {
            object: "StatefulSet/db".into(),
            claim: "data".into(),
        };
        let only = read(&BASE.replacen("8Gi", &s, 1)).unwrap();
        let e = effect(&base, &BTreeSet::new(), &only, &s);
        assert!(e.proves(&data), "{e:?}");
        // Both claims of the StatefulSet: not a proof for one.
        let both = read(&BASE.replacen("8Gi", &s, 1).replacen("1Gi", &s, 1)).unwrap();
        let e = effect(&base, &BTreeSet::new(), &both, &s);
        assert!(!e.proves(&data));
        assert_eq!(
            e.describe(),
            "sizes StatefulSet/db claim data, StatefulSet/db claim logs"
        );
        // Something else moved with it.
        let more = read(&format!(
            "{}\n---\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  s: {s}\n",
            BASE.replacen("8Gi", &s, 1)
        ))
        .unwrap();
        let e = effect(&base, &BTreeSet::new(), &more, &s);
        assert!(!e.proves(&data));
        assert!(
            e.describe().contains("ConfigMap/x (appears or goes)"),
            "{}",
            e.describe()
        );
        assert_eq!(
            overlay("a.b.size", "1Gi").to_string(),
            r#"{"a":{"b":{"size":"1Gi"}}}"#
        );
    }
}
