//! The quick schema check (`schema::quick_check`, and `quick_check_bundled` with the bundled
//! schemas' definitions parsed on first use: what post-render and validate use instead of
//! compiling a validator) agrees with the jsonschema validator on every bundled schema: both run
//! on thousands of instances generated from the schema itself, valid and broken in every way the
//! schema can tell (wrong types, unknown keys, missing required keys, bad quantities, enums).

mod common;
use common::Rng;

use pvc_resize::k8s::schema::{self, KUBERNETES_SCHEMAS, Verdict};
use serde_json::{Map, Value, json};

const QUANTITIES: &[&str] = &[
    "20Gi",
    "50Gi",
    "1",
    "0",
    "1.5",
    "100M",
    "8e3",
    "1Ki",
    "20GiB",
    "",
    "-1Gi",
    "1.5.5",
    "Gi",
    "9999999999999999999999Ei",
    "1e1000",
    " 1Gi",
    "0.1m",
    "12345678901234567890",
];
const STRINGS: &[&str] = &[
    "data",
    "ReadWriteOnce",
    "",
    "x y",
    "2024-01-01T00:00:00Z",
    "nope",
];
const DATES: &[&str] = &["2024-01-01T00:00:00Z", "2024-13-01T00:00:00Z", "yesterday"];

fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        s = &root["definitions"][name];
    }
    s
}

/// Any value, for a wrong type.
fn wild(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Null,
        1 => json!(rng.below(5) as i64 - 1),
        2 => json!(1.5),
        3 => json!(2.0),
        4 => json!(*rng.pick(STRINGS)),
        5 => json!([]),
        _ => json!({}),
    }
}

fn generate(root: &Value, schema: &Value, rng: &mut Rng, depth: usize) -> Value {
    let s = resolve(root, schema);
    if depth > 7 || rng.chance(3) {
        return wild(rng);
    }
    if let Some(branches) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        let b = rng.pick(branches).clone();
        return generate(root, &b, rng, depth);
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array) {
        return if rng.chance(85) {
            rng.pick(options).clone()
        } else {
            wild(rng)
        };
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec!["object"],
    };
    // Null is allowed almost everywhere: pick the real type most of the time.
    let t = match types.iter().find(|t| **t != "null") {
        Some(t) if rng.chance(92) => *t,
        _ => *rng.pick(&types),
    };
    match t {
        "object" => {
            let mut m = Map::new();
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    let wanted = if required.contains(&k.as_str()) {
                        rng.chance(95)
                    } else {
                        rng.chance(35)
                    };
                    if wanted {
                        m.insert(k.clone(), generate(root, sub, rng, depth + 1));
                    }
                }
            }
            match s.get("additionalProperties") {
                Some(Value::Bool(false)) if rng.chance(5) => {
                    m.insert("unknownKey".into(), wild(rng));
                }
                Some(extra @ Value::Object(_)) => {
                    for i in 0..rng.below(3) {
                        m.insert(format!("k{i}"), generate(root, extra, rng, depth + 1));
                    }
                }
                _ => {}
            }
            Value::Object(m)
        }
        "array" => {
            let items = s.get("items").cloned().unwrap_or(json!({}));
            Value::Array(
                (0..rng.below(3))
                    .map(|_| generate(root, &items, rng, depth + 1))
                    .collect(),
            )
        }
        "string" => match s.get("format").and_then(Value::as_str) {
            Some("k8s-quantity") => json!(*rng.pick(QUANTITIES)),
            Some("date-time") => json!(*rng.pick(DATES)),
            _ => json!(*rng.pick(STRINGS)),
        },
        "integer" => match rng.below(4) {
            0 => json!(3.0),
            1 => json!(-7),
            _ => json!(rng.below(100)),
        },
        "number" => rng.pick(&[json!(1), json!(2.5), json!(-3)]).clone(),
        "boolean" => json!(rng.chance(50)),
        _ => Value::Null,
    }
}

/// Runs `cases` instances generated from `schema_json` through the quick check and the full
/// `validator`, fails on the first disagreement (an `Unsure` defers to the validator), and
/// returns how many were valid, invalid and unsure.
fn agree(
    label: &str,
    schema_json: &Value,
    quick: impl Fn(&Value) -> Verdict,
    validator: &jsonschema::Validator,
    rng: &mut Rng,
    cases: usize,
) -> (usize, usize, usize) {
    let (mut valid, mut invalid, mut unsure) = (0, 0, 0);
    for case in 0..cases {
        let instance = generate(schema_json, schema_json, rng, 0);
        let full = validator.is_valid(&instance);
        let quick = quick(&instance);
        match quick {
            Verdict::Valid => valid += 1,
            Verdict::Invalid => invalid += 1,
            Verdict::Unsure => unsure += 1,
        }
        assert!(
            quick == Verdict::Unsure || (quick == Verdict::Valid) == full,
            "{label} case {case}: quick {quick:?}, validator {full}\n{instance:#}"
        );
    }
    eprintln!("{label}: {valid} valid, {invalid} invalid, {unsure} unsure");
    (valid, invalid, unsure)
}

#[test]
fn quick_check_agrees_with_the_validator_on_generated_instances() {
    for (version, roots) in KUBERNETES_SCHEMAS {
        for (root_name, _) in *roots {
            let cases = if root_name.contains("StatefulSet") {
                600
            } else {
                3000
            };
            let schema_json = schema::kubernetes_schema(version, root_name).unwrap();
            let validator = schema::kubernetes_validator(version, root_name).unwrap();
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ root_name.len() as u64);
            let label = format!("{version} {root_name}");
            // What post-render and validate run: the bundled schema, definitions parsed lazily;
            // and the same check over the schema held whole as data.
            let bundled = |i: &Value| schema::quick_check_bundled(version, root_name, i).unwrap();
            let whole = |i: &Value| {
                let verdict = schema::quick_check(schema_json, i);
                assert_eq!(verdict, bundled(i), "{label}: {i:#}");
                verdict
            };
            let (valid, invalid, unsure) =
                agree(&label, schema_json, whole, validator, &mut rng, cases);
            // Not vacuous: both answers are common, and `Unsure` (the validator decides) is rare.
            assert!(
                valid * 10 >= cases && invalid * 10 >= cases,
                "{valid} {invalid}"
            );
            assert!(unsure * 5 <= cases, "{unsure} unsure of {cases}");
        }
    }
}

#[test]
fn quick_check_agrees_on_values_persistence_blocks() {
    let text = schema::VALUES_PERSISTENCE_SCHEMA;
    let schema_json: Value = serde_json::from_str(text).unwrap();
    let validator = jsonschema::options()
        .with_format("k8s-quantity", |s: &str| {
            pvc_resize::k8s::quantity::Quantity::parse(s).is_ok()
        })
        .should_validate_formats(true)
        .build(&schema_json)
        .unwrap();
    let mut rng = Rng(0x51_7CC1_B727_220A);
    let (valid, invalid, unsure) = agree(
        "values persistence",
        &schema_json,
        |i| schema::quick_check(&schema_json, i),
        &validator,
        &mut rng,
        3000,
    );
    assert!(
        valid >= 300 && invalid >= 300 && unsure <= 900,
        "{valid} {invalid} {unsure}"
    );
}

#[test]
fn the_real_claim_templates_are_valid_without_a_compile() {
    let Some(dir) = common::shared_fixtures() else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("posthog/rendered-default.yaml")).unwrap();
    let mut seen = 0;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value = serde::Deserialize::deserialize(doc).unwrap();
        if v["kind"] == "StatefulSet" {
            let templates = v["spec"]["volumeClaimTemplates"].as_array().cloned();
            let ok = schema::claim_templates_quick_valid("1.32", &templates.unwrap_or_default());
            assert_eq!(ok, Ok(true), "{}", v["metadata"]["name"]);
            seen += 1;
        }
    }
    assert_eq!(seen, 4);
}
