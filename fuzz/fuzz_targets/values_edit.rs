//! Values editor: a random file, a random path and a random size. Never panics; an edited file
//! re-parses, and the path then holds the new size (as Helm reads it).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pvc_resize::k8s::quantity::Size;
use pvc_resize::commands::values::{ValuesPath, set_size};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    // First line: "PATH SIZE"; the rest is the file.
    let (head, file) = s.split_once('\n').unwrap_or(("kafka.persistence.size 50Gi", s));
    let (path, size) = head.split_once(' ').unwrap_or((head, "50Gi"));
    let (Ok(path), Ok(size)) = (ValuesPath::parse(path), Size::parse(size)) else { return };
    let Ok(edit) = set_size(file, &path, &size) else { return };
    // Read as Helm reads it: up to a `...` that no later `---` follows.
    let docs = pvc_resize::yaml::parse_stream(pvc_resize::yaml::data::helm_reads(&edit.output), 0, 0)
        .unwrap_or_else(|e| panic!("the edit broke the file: {e}\n--- in\n{file}\n--- out\n{}", edit.output));
    let root = docs.into_iter().next().and_then(|d| d.root).expect("a document");
    let value = pvc_resize::yaml::data::to_json(&root).expect("no alias bomb from an edit");
    let pointer: String = path.0.iter().map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1"))).collect();
    let got = value.pointer(&pointer).and_then(serde_json::Value::as_str);
    let old = pvc_resize::k8s::quantity::Quantity::parse(got.unwrap_or("")).ok();
    assert!(
        got == Some(size.text.as_str()) || old.is_some_and(|q| q == size.quantity),
        "{pointer} is {got:?}, not {}\n--- in\n{file}\n--- out\n{}",
        size.text,
        edit.output
    );
});
