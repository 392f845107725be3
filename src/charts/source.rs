//! A chart read from a local folder or a `.tgz` (gzip + tar, as `helm package` writes it): its
//! `Chart.yaml`, `values.yaml`, templates and subcharts (folders or nested `.tgz` under `charts/`),
//! with the dependencies' aliases applied as Helm applies them (the aliased copy takes the alias as
//! its name, so `# Source:` paths and values keys use the alias).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// One dependency of `Chart.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    pub alias: Option<String>,
    /// `import-values` as `(child path, parent path)`; a plain string `X` is `(exports.X, "")`.
    pub imports: Vec<(String, String)>,
}

impl Dependency {
    /// The name its values and templates go under.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// A chart and its subcharts, in memory.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// `name:` of `Chart.yaml`, or the alias the parent gives it.
    pub name: String,
    pub version: String,
    /// Files by path inside the chart (`templates/statefulset.yaml`, `values.yaml`), subcharts excluded.
    pub files: BTreeMap<String, String>,
    pub dependencies: Vec<Dependency>,
    pub subcharts: Vec<Chart>,
}

/// Reads a chart folder or a `.tgz`.
pub fn read(path: &Path) -> Result<Chart, String> {
    let files = if path.is_dir() {
        let mut files = BTreeMap::new();
        walk(path, "", &mut files)?;
        files
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut files = untar(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        strip_top(&mut files).map_err(|e| format!("{}: {e}", path.display()))?
    };
    build(files).map_err(|e| format!("{}: {e}", path.display()))
}

/// `Some(path)` when `reference` names a local chart (a folder with a `Chart.yaml`, or a `.tgz`).
pub fn local(reference: &str) -> Option<&Path> {
    let p = Path::new(reference);
    let tgz = p.is_file() && (reference.ends_with(".tgz") || reference.ends_with(".tar.gz"));
    (tgz || p.join("Chart.yaml").is_file()).then_some(p)
}

/// A chart that Helm fetches: `helm pull REFERENCE [--version V] --destination DEST`, for a chart of
/// a repository that `helm repo add` knows (`posthog/posthog`) or an `oci://` reference, as the
/// upgrade will fetch it. Returns the `.tgz` Helm wrote into `dest` (an empty folder).
pub fn pull(
    helm: &str,
    reference: &str,
    version: Option<&str>,
    dest: &Path,
) -> Result<std::path::PathBuf, String> {
    let mut argv = vec!["pull".to_owned(), reference.to_owned()];
    if let Some(v) = version {
        argv.push(format!("--version={v}"));
    }
    argv.push(format!("--destination={}", dest.display()));
    let out = std::process::Command::new(helm)
        .args(&argv)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{helm}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{helm} {}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let entries = std::fs::read_dir(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut tgz: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect();
    match tgz.len() {
        1 => Ok(tgz.remove(0)),
        n => Err(format!(
            "`{helm} {}` wrote {n} chart archives into {}, not one",
            argv.join(" "),
            dest.display()
        )),
    }
}

/// Every file of a folder, as raw bytes, by its path relative to the chart.
fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        let path = entry.path();
        if path.is_dir() {
            walk(&path, &format!("{rel}/"), out)?;
        } else {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.insert(rel, bytes);
        }
    }
    Ok(())
}

/// The regular files of a gzip'd tar, by path.
fn untar(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a gzip'd tar: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzip'd tar: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("a tar entry's name: {e}"))?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("{path}: {e}"))?;
        out.insert(path.trim_start_matches("./").to_owned(), data);
    }
    Ok(out)
}

/// A packaged chart holds one top folder (the chart's name): the paths without it.
fn strip_top(files: &mut BTreeMap<String, Vec<u8>>) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let top = files
        .keys()
        .find(|k| k.ends_with("/Chart.yaml") && k.matches('/').count() == 1)
        .and_then(|k| k.split_once('/'))
        .map(|(t, _)| format!("{t}/"))
        .ok_or("no <chart>/Chart.yaml in the archive: not a packaged chart")?;
    Ok(std::mem::take(files)
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(&top).map(|k| (k.to_owned(), v)))
        .collect())
}

/// A chart from its files: subcharts under `charts/` (folders or `.tgz`), aliases applied.
fn build(files: BTreeMap<String, Vec<u8>>) -> Result<Chart, String> {
    let mut own = BTreeMap::new();
    let mut sub_dirs: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut subcharts = Vec::new();
    for (path, bytes) in files {
        match path.strip_prefix("charts/") {
            Some(rest) if rest.ends_with(".tgz") && !rest.contains('/') => {
                let mut inner = untar(&bytes).map_err(|e| format!("charts/{rest}: {e}"))?;
                let inner = strip_top(&mut inner).map_err(|e| format!("charts/{rest}: {e}"))?;
                subcharts.push(build(inner).map_err(|e| format!("charts/{rest}: {e}"))?);
            }
            Some(rest) if rest.contains('/') => {
                let (dir, file) = rest.split_once('/').unwrap_or_default();
                sub_dirs
                    .entry(dir.to_owned())
                    .or_default()
                    .insert(file.to_owned(), bytes);
            }
            _ => {
                own.insert(path, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    for (dir, files) in sub_dirs {
        if files.contains_key("Chart.yaml") {
            subcharts.push(build(files).map_err(|e| format!("charts/{dir}: {e}"))?);
        }
    }
    let meta = own.get("Chart.yaml").ok_or("no Chart.yaml: not a chart")?;
    let (name, version, dependencies) = metadata(meta)?;
    let subcharts = with_aliases(subcharts, &dependencies);
    Ok(Chart {
        name,
        version,
        files: own,
        dependencies,
        subcharts,
    })
}

/// `name`, `version` and `dependencies` of a `Chart.yaml` (Helm 2 charts list them in
/// `requirements.yaml`, read by the caller as the same shape).
fn metadata(text: &str) -> Result<(String, String, Vec<Dependency>), String> {
    let v: serde_json::Value =
        serde_yaml::from_str(text).map_err(|e| format!("Chart.yaml: {e}"))?;
    let s = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let deps = v
        .get("dependencies")
        .and_then(|d| d.as_array())
        .map(|a| a.iter().map(dependency).collect())
        .unwrap_or_default();
    Ok((s("name"), s("version"), deps))
}

fn dependency(d: &serde_json::Value) -> Dependency {
    let s = |k: &str| d.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    let imports = d
        .get("import-values")
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|i| match i {
                    serde_json::Value::String(x) => Some((format!("exports.{x}"), String::new())),
                    serde_json::Value::Object(m) => Some((
                        m.get("child")?.as_str()?.to_owned(),
                        m.get("parent")?.as_str()?.to_owned(),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Dependency {
        name: s("name").unwrap_or_default(),
        alias: s("alias").filter(|a| !a.is_empty()),
        imports,
    }
}

/// Helm's aliases: every dependency with an alias gets a copy of the subchart of its name, renamed;
/// a subchart that only aliased dependencies name is not rendered under its own name.
fn with_aliases(subcharts: Vec<Chart>, deps: &[Dependency]) -> Vec<Chart> {
    let mut out = Vec::new();
    for c in &subcharts {
        let named: Vec<&Dependency> = deps.iter().filter(|d| d.name == c.name).collect();
        if named.is_empty() || named.iter().any(|d| d.alias.is_none()) {
            out.push(c.clone());
        }
        for d in named.iter().filter(|d| d.alias.is_some()) {
            let mut copy = c.clone();
            copy.name = d.key().to_owned();
            out.push(copy);
        }
    }
    out
}

impl Chart {
    /// The chart a template path of the render comes from (`posthog/charts/kafka/templates/x.yaml`),
    /// with the values prefix of that chart (`["kafka"]`) and the template's own path in it.
    pub fn locate<'c>(&'c self, source: &str) -> Option<(Vec<String>, &'c Chart, String)> {
        let (chain, template) = source.split_once("/templates/")?;
        let mut names = chain.split("/charts/");
        if names.next()? != self.name {
            return None;
        }
        let mut chart = self;
        let mut prefix = Vec::new();
        for n in names {
            chart = chart.subcharts.iter().find(|c| c.name == n)?;
            prefix.push(n.to_owned());
        }
        Some((prefix, chart, format!("templates/{template}")))
    }

    /// Every chart of the tree with its values prefix, this one first.
    pub fn all(&self) -> Vec<(Vec<String>, &Chart)> {
        let mut out = vec![(Vec::new(), self)];
        for c in &self.subcharts {
            for (mut p, sub) in c.all() {
                p.insert(0, c.name.clone());
                out.push((p, sub));
            }
        }
        out
    }

    /// The dependency entry of subchart `key` (its alias or name).
    pub fn dependency(&self, key: &str) -> Option<&Dependency> {
        self.dependencies.iter().find(|d| d.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn subcharts_and_aliases() {
        let chart = build(files(&[
            (
                "Chart.yaml",
                "name: top\nversion: 1.0.0\ndependencies:\n- name: db\n  alias: main\n- name: db\n  alias: spare\n- name: cache\n  import-values:\n  - child: a.b\n    parent: c\n  - data\n",
            ),
            ("templates/x.yaml", "x"),
            ("charts/db/Chart.yaml", "name: db\nversion: 2.0.0\n"),
            ("charts/db/templates/sts.yaml", "sts"),
            ("charts/cache/Chart.yaml", "name: cache\nversion: 3.0.0\n"),
        ]))
        .unwrap();
        let names: Vec<&str> = chart.subcharts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["cache", "main", "spare"]);
        let (prefix, sub, t) = chart.locate("top/charts/spare/templates/sts.yaml").unwrap();
        assert_eq!(prefix, ["spare"]);
        assert_eq!(sub.files.get(&t).map(String::as_str), Some("sts"));
        assert!(chart.locate("top/charts/db/templates/sts.yaml").is_none());
        assert!(chart.locate("other/templates/x.yaml").is_none());
        assert_eq!(
            chart.dependency("cache").unwrap().imports,
            [
                ("a.b".to_owned(), "c".to_owned()),
                ("exports.data".to_owned(), String::new())
            ]
        );
        assert_eq!(chart.all().len(), 4);
    }
}
