//! YAML to JSON data the way Kubernetes and Helm read it.
//!
//! Helm and kubectl go through `sigs.k8s.io/yaml`, i.e. go-yaml v2: YAML 1.1 scalar resolution.
//! So a plain `0755` is the octal integer 493 (a `defaultMode`), `yes`/`on`/`y` are `true`, `1_000`
//! is 1000, and keys become strings. A YAML 1.2 loader reads `0755` as a string and would make a
//! valid StatefulSet look invalid; this module is what the validator and the patcher see.

use crate::yaml::{Kind, Node, Style};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// The most nodes the data of one document may have once aliases are expanded: an alias bomb
/// ("billion laughs") stops here with an error instead of exhausting memory.
pub const MAX_NODES: usize = 1_000_000;

/// Converts a span-tree node to JSON data. Aliases are resolved, merge keys (`<<`) merged.
/// Fails only when alias expansion exceeds [`MAX_NODES`].
pub fn to_json(root: &Node) -> Result<Value, String> {
    let mut conv = Converter {
        anchors: HashMap::new(),
        nodes: 0,
    };
    conv.convert(root)
}

struct Converter {
    /// Anchored values and their node counts.
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
}

impl Converter {
    fn count(&mut self, n: usize) -> Result<(), String> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "the document expands to more than {MAX_NODES} nodes through aliases (an alias bomb?); refused"
            ));
        }
        Ok(())
    }

    fn convert(&mut self, node: &Node) -> Result<Value, String> {
        let start = self.nodes;
        self.count(1)?;
        let value = match &node.kind {
            Kind::Scalar { value, style } => scalar(value, *style, node.tag.as_deref()),
            Kind::Alias(id) => match self.anchors.get(id) {
                Some((v, weight)) => {
                    let (v, weight) = (v.clone(), *weight);
                    self.count(weight)?;
                    v
                }
                None => Value::Null,
            },
            Kind::Sequence { items, .. } => Value::Array(
                items
                    .iter()
                    .map(|n| self.convert(n))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Mapping { entries, .. } => self.mapping(entries)?,
        };
        if node.anchor != 0 {
            self.anchors
                .insert(node.anchor, (value.clone(), self.nodes - start));
        }
        Ok(value)
    }

    fn mapping(&mut self, entries: &[(Node, Node)]) -> Result<Value, String> {
        {
            let mut map = Map::new();
            let mut merged = Map::new();
            for (k, v) in entries {
                let val = self.convert(v)?;
                if k.as_str() == Some("<<") && k.tag.is_none() {
                    // Explicit keys win over merged ones; earlier merged maps win over later ones.
                    let sources = match val {
                        Value::Array(list) => list,
                        other => vec![other],
                    };
                    for src in sources {
                        if let Value::Object(m) = src {
                            for (mk, mv) in m {
                                merged.entry(mk).or_insert(mv);
                            }
                        }
                    }
                    continue;
                }
                let key = self.convert(k)?;
                map.insert(key_string(&key), val);
            }
            for (mk, mv) in merged {
                map.entry(mk).or_insert(mv);
            }
            Ok(Value::Object(map))
        }
    }
}

fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

fn scalar(text: &str, style: Style, tag: Option<&str>) -> Value {
    match tag {
        Some("!!str") | Some("!") => return Value::String(text.to_owned()),
        Some("!!int") | Some("!!float") | Some("!!bool") | Some("!!null") => {}
        Some(_) => return Value::String(text.to_owned()),
        None if style != Style::Plain => return Value::String(text.to_owned()),
        None => {}
    }
    resolve_plain(text)
}

/// go-yaml v2's resolution of a plain scalar.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            // JSON has no infinities or NaN; Kubernetes' YAML-to-JSON step fails on them too.
            return Value::String(text.to_owned());
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::String(text.to_owned());
    }
    let plain = text.replace('_', "");
    if let Some(i) = parse_go_int(&plain) {
        return Value::Number(i);
    }
    if is_yaml11_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

/// `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: decimal, `0x`, `0o`/leading-zero octal, `0b`.
fn parse_go_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        let v = 0i64.checked_sub_unsigned(magnitude)?;
        Some(Number::from(v))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2 tries `ParseFloat` only on text that its float pattern accepts.
fn is_yaml11_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits_ok = !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().filter(|&b| b == b'.').count() <= 1
        && mantissa.bytes().any(|b| b.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(src: &str) -> Value {
        to_json(
            &crate::yaml::parse_stream(src, 0, 0).unwrap()[0]
                .root
                .clone()
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn yaml_1_1_scalars_as_kubernetes_reads_them() {
        assert_eq!(
            data(
                "a: 0755\nb: yes\nc: \"0755\"\nd: 1_000\ne: 0x1F\nf: 1.5\ng: 20Gi\nh: ~\ni: !!str 12\nj: on\nk: 1e3\nl: '8'\nm: 2001-12-14\nnn: -0\no: 1.2.3\nn: x\n"
            ),
            json!({"a": 493, "b": true, "c": "0755", "d": 1000, "e": 31, "f": 1.5, "g": "20Gi", "h": null, "i": "12", "j": true,
                   "k": 1000.0, "l": "8", "m": "2001-12-14", "nn": 0, "o": "1.2.3", "false": "x"})
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            src.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let tree = crate::yaml::parse_stream(&src, 0, 0).unwrap()[0]
            .root
            .clone()
            .unwrap();
        let e = to_json(&tree).unwrap_err();
        assert!(e.contains("alias bomb"), "{e}");
    }

    #[test]
    fn aliases_and_merge_keys() {
        assert_eq!(
            data(
                "base: &b {size: 8Gi, enabled: true}\nkafka:\n  persistence:\n    <<: *b\n    size: 20Gi\nzk: *b\n1: x\n"
            ),
            json!({"base": {"size": "8Gi", "enabled": true}, "kafka": {"persistence": {"size": "20Gi", "enabled": true}},
                   "zk": {"size": "8Gi", "enabled": true}, "1": "x"})
        );
    }
}
