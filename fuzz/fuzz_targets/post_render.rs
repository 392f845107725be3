//! Post-renderer: a random stream. Never panics; on success the output has as many documents as
//! the input and differs only on lines that now hold the new size.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pvc_resize::commands::post_render::{Options, post_render};
use pvc_resize::k8s::quantity::Size;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let opts = Options {
        size: Some(Size::parse("77Gi").unwrap()),
        statefulsets: vec!["*".to_owned()],
        claim: "data".to_owned(),
        ..Options::default()
    };
    let Ok(out) = post_render(s, &opts) else { return };
    let output = out.output.to_string();
    assert_eq!(pvc_resize::k8s::stream::count_documents(s), pvc_resize::k8s::stream::count_documents(&output));
    let (a, b): (Vec<&str>, Vec<&str>) = (s.split('\n').collect(), output.split('\n').collect());
    assert_eq!(a.len(), b.len(), "lines added or removed");
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            assert!(y.contains("77Gi"), "changed a line that is not a size:\n{x}\n{y}");
        }
    }
});
