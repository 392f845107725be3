//! The Helm oracle itself, checked against facts measured with the real Helm 3.17.2, 4.1.4 and 4.2.3.
mod common;
use common::*;
use serde_json::json;

#[test]
fn the_oracle_reads_yaml_as_helm_does() {
    for Judge { path: h, .. } in judges() {
        let o = HelmOracle::new(h);
        let got = o.read_many(&[
            b"a: yes\nb: 0755\nc: 1:20\nd: |+\n  x\n\n",
            b"a: [\n",
            b"k: !!binary aGVsbG8=\nn: 1\n",
        ]);
        assert_eq!(
            got[0].as_ref().unwrap(),
            &json!({"a": true, "b": 493, "c": "1:20", "d": "x\n\n"})
        );
        assert!(got[1].is_err(), "{:?}", got[1]);
        // A YAML 1.1 boolean as a key: `n` is read as the key "false".
        assert_eq!(got[2].as_ref().unwrap(), &json!({"k": "hello", "false": 1}));
        let v = o
            .read_values_text(b"kafka:\n  persistence:\n    size: 20Gi\n")
            .unwrap();
        assert_eq!(v["kafka"]["persistence"]["size"], "20Gi");
        assert!(o.read_values_text(b"a: \"\\/\"\n").is_err());
    }
}
