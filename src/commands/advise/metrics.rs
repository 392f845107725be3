//! Kubelet volume metrics, read offline from two kinds of files:
//!
//! - the Prometheus text exposition format (version 0.0.4), as the kubelet prints it
//!   (`kubectl get --raw /api/v1/nodes/NODE/proxy/metrics`): one file per node or several
//!   concatenated; `# HELP` / `# TYPE` lines and other families are skipped, label values are
//!   unescaped (`\\`, `\"`, `\n`), and a sample without a timestamp is taken at the file's time;
//! - the Prometheus HTTP API's JSON (`/api/v1/query`, a vector, or `/api/v1/query_range`, a
//!   matrix), whose samples carry their times.
//!
//! Only the `kubelet_volume_stats_*` gauges are read, keyed by `namespace` and
//! `persistentvolumeclaim`. Every sample keeps its place (file and line) for the messages.

use crate::fsutil::hinted;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The gauges read, in the order of [`Field`].
pub const FAMILIES: [&str; 6] = [
    "kubelet_volume_stats_capacity_bytes",
    "kubelet_volume_stats_available_bytes",
    "kubelet_volume_stats_used_bytes",
    "kubelet_volume_stats_inodes",
    "kubelet_volume_stats_inodes_free",
    "kubelet_volume_stats_inodes_used",
];

/// One of the six gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Capacity = 0,
    Available = 1,
    Used = 2,
    Inodes = 3,
    InodesFree = 4,
    InodesUsed = 5,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Capacity,
        Field::Available,
        Field::Used,
        Field::Inodes,
        Field::InodesFree,
        Field::InodesUsed,
    ];

    pub fn of(name: &str) -> Option<Field> {
        FAMILIES
            .iter()
            .position(|f| *f == name)
            .map(|i| Field::ALL[i])
    }

    pub fn name(self) -> &'static str {
        FAMILIES[self as usize]
    }
}

/// Where a sample was read: the index of its file in [`Metrics::files`] and its 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub file: u32,
    pub line: u32,
}

/// One reading of one gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t_ms: i64,
    pub value: u64,
    pub place: Place,
}

/// A volume: `namespace` and `persistentvolumeclaim`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub namespace: String,
    pub pvc: String,
}

/// Every reading of one volume, per gauge, in time order once [`read`] returns.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub samples: [Vec<Sample>; 6],
}

impl Series {
    pub fn get(&self, f: Field) -> &[Sample] {
        &self.samples[f as usize]
    }

    /// The latest reading of a gauge.
    pub fn last(&self, f: Field) -> Option<&Sample> {
        self.samples[f as usize].last()
    }

    /// The first place any gauge of this volume was read at.
    pub fn first_place(&self) -> Option<Place> {
        self.samples
            .iter()
            .filter_map(|s| s.first())
            .min_by_key(|s| (s.place.file, s.place.line))
            .map(|s| s.place)
    }
}

/// What the files held.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub files: Vec<String>,
    pub series: BTreeMap<Key, Series>,
    /// The values of a `cluster` label (Prometheus external labels), with where each was first seen.
    pub clusters: BTreeMap<String, Place>,
}

impl Metrics {
    /// `FILE:LINE` of a place.
    pub fn at(&self, p: Place) -> String {
        format!("{}:{}", self.files[p.file as usize], p.line)
    }
}

/// One file to read: its name, its text and the time of a sample that has no timestamp (the
/// file's modification time: when `kubectl get --raw ... > FILE` wrote it).
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub default_time_ms: i64,
}

/// Reads every file; the samples of each series come out sorted by time. A series whose samples
/// go back in time within one file is refused (exit 2), with its place.
pub fn read(sources: &[Source<'_>]) -> Result<Metrics, String> {
    let mut m = Metrics::default();
    for (i, s) in sources.iter().enumerate() {
        m.files.push(s.name.to_owned());
        let file = u32::try_from(i).map_err(|_| "too many metrics files".to_owned())?;
        if s.text.trim_start().starts_with('{') {
            read_json(&mut m, file, s)?;
        } else {
            read_text(&mut m, file, s)?;
        }
    }
    for series in m.series.values_mut() {
        for samples in &mut series.samples {
            samples.sort_by_key(|s| s.t_ms);
            // The same volume twice at one time (a RWX volume on two nodes, concatenated files):
            // the larger reading is kept.
            samples.dedup_by(|later, kept| {
                if later.t_ms != kept.t_ms {
                    return false;
                }
                if later.value > kept.value {
                    *kept = *later;
                }
                true
            });
        }
    }
    Ok(m)
}

/// The last time seen per (gauge, volume) in one file, for the order check.
type Seen = HashMap<(Field, Key), (i64, u32)>;

fn add(m: &mut Metrics, seen: &mut Seen, field: Field, key: Key, s: Sample) -> Result<(), String> {
    if let Some(&(t, line)) = seen.get(&(field, key.clone()))
        && s.t_ms < t
    {
        return Err(hinted(
            format!(
                "{}: samples out of order: this {} of {}/{} is at {} ms, before the one on line {line} ({t} ms)",
                m.at(s.place),
                field.name(),
                key.namespace,
                key.pvc,
                s.t_ms
            ),
            "a series' samples must go forward in time within a file; give each scrape its own file, or export the series again",
        ));
    }
    seen.insert((field, key.clone()), (s.t_ms, s.place.line));
    m.series.entry(key).or_default().samples[field as usize].push(s);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The text exposition format

/// A parse error at a column of a line.
fn text_error(file: &str, line: u32, text: &str, byte: usize, what: &str) -> String {
    let col = text[..byte.min(text.len())].chars().count() + 1;
    hinted(
        format!("{file}:{line}:{col}: {what}"),
        "the file must be the Prometheus text format as the kubelet prints it (`kubectl get --raw /api/v1/nodes/NODE/proxy/metrics > FILE`) or a Prometheus API JSON export",
    )
}

fn read_text(m: &mut Metrics, file: u32, src: &Source<'_>) -> Result<(), String> {
    let mut seen = Seen::new();
    for (n, raw) in src.text.lines().enumerate() {
        let line = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let text = raw.trim_start_matches([' ', '\t']);
        if text.is_empty() || text.starts_with('#') || !text.starts_with("kubelet_volume_stats_") {
            continue;
        }
        let offset = raw.len() - text.len();
        let name_end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(text.len());
        let Some(field) = Field::of(&text[..name_end]) else {
            continue;
        };
        let parsed = parse_sample(&text[name_end..])
            .map_err(|(at, what)| text_error(src.name, line, raw, offset + name_end + at, &what))?;
        let value = whole(parsed.value).ok_or_else(|| {
            text_error(
                src.name,
                line,
                raw,
                offset + name_end + parsed.value_at,
                &format!(
                    "{} must be a whole number of bytes or inodes, not {}",
                    field.name(),
                    parsed.value
                ),
            )
        })?;
        let place = Place { file, line };
        let t_ms = parsed.timestamp.unwrap_or(src.default_time_ms);
        let Some(key) = labels_key(m, &parsed.labels, place)? else {
            continue;
        };
        add(m, &mut seen, field, key, Sample { t_ms, value, place })?;
    }
    Ok(())
}

/// The part of a sample line after the metric name.
struct Parsed<'a> {
    labels: Vec<(&'a str, String)>,
    value: &'a str,
    value_at: usize,
    timestamp: Option<i64>,
}

/// Parses `{labels} value [timestamp]`; an error is (byte offset, what was expected).
fn parse_sample(s: &str) -> Result<Parsed<'_>, (usize, String)> {
    let b = s.as_bytes();
    let mut i = skip_ws(b, 0);
    let mut labels = Vec::new();
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_ws(b, i);
            if b.get(i) == Some(&b'}') {
                i += 1;
                break;
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if i == start || b[start].is_ascii_digit() {
                return Err((start, "expected a label name or `}`".into()));
            }
            let name = &s[start..i];
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'=') {
                return Err((i, format!("expected `=` after the label name `{name}`")));
            }
            i = skip_ws(b, i + 1);
            let (value, next) = label_value(s, i)?;
            labels.push((name, value));
            i = skip_ws(b, next);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return Err((i, "expected `,` or `}` after a label value".into())),
            }
        }
    }
    let rest = &s[i..];
    let mut words = rest.split_ascii_whitespace();
    let value = words
        .next()
        .ok_or((i, "expected the sample's value".to_owned()))?;
    let value_at = i + rest.find(value).unwrap_or(0);
    let timestamp = match words.next() {
        None => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            (
                i + rest.rfind(t).unwrap_or(0),
                format!("expected a timestamp in milliseconds (an integer), found `{t}`"),
            )
        })?),
    };
    if let Some(extra) = words.next() {
        return Err((
            i + rest.rfind(extra).unwrap_or(0),
            format!("unexpected `{extra}` after the timestamp"),
        ));
    }
    Ok(Parsed {
        labels,
        value,
        value_at,
        timestamp,
    })
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// A quoted label value starting at `i`, unescaped; returns it and the offset after the quote.
fn label_value(s: &str, i: usize) -> Result<(String, usize), (usize, String)> {
    if s.as_bytes().get(i) != Some(&b'"') {
        return Err((i, "expected a quoted label value".into()));
    }
    let mut out = String::new();
    let mut chars = s[i + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1 + j + 1)),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => {
                    return Err((
                        i + 1 + j,
                        format!(
                            "invalid escape `\\{other}` in a label value (only \\\\, \\\" and \\n)"
                        ),
                    ));
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err((s.len(), "a label value is not closed with `\"`".into()))
}

/// A sample value as a whole non-negative number (`1.073741824e+10` is one), else `None`.
fn whole(text: &str) -> Option<u64> {
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let v: f64 = text.parse().ok()?;
    // 2^64 and above would saturate.
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 18_446_744_073_709_551_616.0)
        .then_some(v as u64)
}

/// The volume a sample's labels name; `None` for a series without both labels (the kubelet always
/// sets them). A `cluster` label is remembered.
fn labels_key(
    m: &mut Metrics,
    labels: &[(&str, String)],
    place: Place,
) -> Result<Option<Key>, String> {
    let get = |k: &str| labels.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v);
    if let Some(c) = get("cluster") {
        m.clusters.entry(c.clone()).or_insert(place);
    }
    Ok(match (get("namespace"), get("persistentvolumeclaim")) {
        (Some(ns), Some(pvc)) => Some(Key {
            namespace: ns.clone(),
            pvc: pvc.clone(),
        }),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// The Prometheus HTTP API's JSON

fn json_error(file: &str, line: u32, what: String) -> String {
    hinted(
        format!("{file}:{line}: {what}"),
        "export with the HTTP API, e.g. `curl -s PROMETHEUS/api/v1/query_range --data-urlencode 'query={__name__=~\"kubelet_volume_stats_.*\"}' -d start=... -d end=... -d step=1h > FILE`",
    )
}

/// The 1-based line of each `"metric": {` of the text, in order: where each series starts.
fn series_lines(text: &str) -> Vec<u32> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut line = 1u32;
    let mut last = 0;
    for at in memchr::memmem::find_iter(b, b"\"metric\"") {
        let j = skip_json_ws(b, at + 8);
        if b.get(j) != Some(&b':') || b.get(skip_json_ws(b, j + 1)) != Some(&b'{') {
            continue;
        }
        line += memchr::memchr_iter(b'\n', &b[last..at]).count() as u32;
        last = at;
        out.push(line);
    }
    out
}

fn skip_json_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

fn read_json(m: &mut Metrics, file: u32, src: &Source<'_>) -> Result<(), String> {
    let v: Value = serde_json::from_str(src.text).map_err(|e| {
        json_error(
            src.name,
            e.line() as u32,
            format!("column {}: not JSON: {e}", e.column()),
        )
    })?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let why = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no `\"status\": \"success\"`");
        return Err(json_error(
            src.name,
            1,
            format!("not a successful Prometheus API answer: {why}"),
        ));
    }
    let kind = v.pointer("/data/resultType").and_then(Value::as_str);
    if !matches!(kind, Some("matrix" | "vector")) {
        return Err(json_error(
            src.name,
            1,
            format!(
                "the answer's resultType is {kind:?}: a vector (/api/v1/query) or a matrix (/api/v1/query_range) is needed"
            ),
        ));
    }
    let results = v
        .pointer("/data/result")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let lines = series_lines(src.text);
    let mut seen = Seen::new();
    for (i, r) in results.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(1);
        json_series(m, &mut seen, file, line, src.name, r)?;
    }
    Ok(())
}

fn json_series(
    m: &mut Metrics,
    seen: &mut Seen,
    file: u32,
    line: u32,
    name: &str,
    r: &Value,
) -> Result<(), String> {
    let metric = r.get("metric").and_then(Value::as_object);
    let label = |k: &str| metric.and_then(|o| o.get(k)).and_then(Value::as_str);
    let Some(family) = label("__name__") else {
        return Err(json_error(
            name,
            line,
            "a series without `__name__`: the query must select the kubelet_volume_stats_* series themselves, not an expression over them".into(),
        ));
    };
    let Some(field) = Field::of(family) else {
        return Ok(());
    };
    let labels: Vec<(&str, String)> = metric
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v.to_owned())))
        .collect();
    let place = Place { file, line };
    let Some(key) = labels_key(m, &labels, place)? else {
        return Ok(());
    };
    let points: Vec<&Value> = match (r.get("values"), r.get("value")) {
        (Some(Value::Array(vs)), _) => vs.iter().collect(),
        (_, Some(v)) => vec![v],
        _ => {
            return Err(json_error(
                name,
                line,
                format!("the series of {family} has no `value` or `values`"),
            ));
        }
    };
    for (n, p) in points.iter().enumerate() {
        let (t, text) = match p.as_array().map(Vec::as_slice) {
            Some([t, Value::String(s)]) if t.is_number() => (t.as_f64().unwrap_or(0.0), s.as_str()),
            _ => {
                return Err(json_error(
                    name,
                    line,
                    format!("sample {} of {family} is not [time, \"value\"]", n + 1),
                ));
            }
        };
        let value = whole(text).ok_or_else(|| {
            json_error(
                name,
                line,
                format!(
                    "sample {} of {family} must be a whole number, not {text:?}",
                    n + 1
                ),
            )
        })?;
        let t_ms = (t * 1000.0).round() as i64;
        add(m, seen, field, key.clone(), Sample { t_ms, value, place })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Metrics, String> {
        read(&[Source {
            name: "m.txt",
            text,
            default_time_ms: 1_000,
        }])
    }

    #[test]
    fn kubelet_text_with_escapes_and_other_families() {
        let text = "# HELP kubelet_volume_stats_used_bytes [ALPHA] Number of used bytes in the volume\n\
            # TYPE kubelet_volume_stats_used_bytes gauge\n\
            kubelet_volume_stats_used_bytes{namespace=\"a\\\\b\",persistentvolumeclaim=\"data-\\\"k\\\"-0\"} 1.073741824e+10\n\
            go_goroutines 12\n\
            kubelet_volume_stats_used_bytes { persistentvolumeclaim = \"x\\ny\" , namespace=\"n\", } 5 2000\n\
            kubelet_volume_stats_health_status_abnormal{namespace=\"n\",persistentvolumeclaim=\"x\"} 0\n";
        let m = one(text).unwrap();
        let k = Key {
            namespace: "a\\b".into(),
            pvc: "data-\"k\"-0".into(),
        };
        let s = m.series[&k].last(Field::Used).unwrap();
        assert_eq!((s.value, s.t_ms, s.place.line), (10_737_418_240, 1_000, 3));
        let k2 = Key {
            namespace: "n".into(),
            pvc: "x\ny".into(),
        };
        assert_eq!(m.series[&k2].last(Field::Used).unwrap().t_ms, 2000);
        assert_eq!(m.series.len(), 2);
    }

    #[test]
    fn errors_have_places() {
        let e =
            one("kubelet_volume_stats_used_bytes{namespace=\"n\" persistentvolumeclaim=\"p\"} 1\n")
                .unwrap_err();
        assert!(e.starts_with("m.txt:1:47: expected `,` or `}`"), "{e}");
        let e = one("x 1\n  kubelet_volume_stats_used_bytes{namespace=\"n\\t\"} 1\n").unwrap_err();
        assert!(e.starts_with("m.txt:2:47: invalid escape `\\t`"), "{e}");
        let e = one(
            "kubelet_volume_stats_used_bytes{namespace=\"n\",persistentvolumeclaim=\"p\"} 1.5\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("m.txt:1:74: kubelet_volume_stats_used_bytes must be a whole"),
            "{e}"
        );
        let e = one(
            "kubelet_volume_stats_used_bytes{namespace=\"n\",persistentvolumeclaim=\"p\"} 1 5000\n\
             kubelet_volume_stats_used_bytes{namespace=\"n\",persistentvolumeclaim=\"p\"} 2 4000\n",
        )
        .unwrap_err();
        assert!(e.starts_with("m.txt:2: samples out of order"), "{e}");
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn query_range_json() {
        let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"__name__":"kubelet_volume_stats_used_bytes","namespace":"n","persistentvolumeclaim":"p","cluster":"prod"},
   "values":[[1700000000,"10"],[1700003600.5,"20"]]},
  {"metric":{"__name__":"up","job":"x"},"values":[[1700000000,"1"]]},
  {"metric":{"__name__":"kubelet_volume_stats_used_bytes","namespace":"n","persistentvolumeclaim":"q"},
   "values":[[1700003600,"10"],[1700000000,"20"]]}
]}}"#;
        let e = one(text).unwrap_err();
        assert!(e.starts_with("m.txt:5: samples out of order"), "{e}");
        let ok = text.replace(
            "[1700003600,\"10\"],[1700000000,\"20\"]",
            "[1700000000,\"10\"]",
        );
        let m = one(&ok).unwrap();
        let p = &m.series[&Key {
            namespace: "n".into(),
            pvc: "p".into(),
        }];
        let got: Vec<(i64, u64, u32)> = p
            .get(Field::Used)
            .iter()
            .map(|s| (s.t_ms, s.value, s.place.line))
            .collect();
        assert_eq!(
            got,
            vec![(1_700_000_000_000, 10, 2), (1_700_003_600_500, 20, 2)]
        );
        assert_eq!(m.clusters.keys().collect::<Vec<_>>(), vec!["prod"]);
    }
}
