//! Stream splitter: the chunks cover the input exactly, in order, each after the first starting
//! at a marker line; counting documents never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pvc_resize::k8s::stream;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let chunks = stream::split(s);
    let mut at = 0;
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.range.start, at);
        assert!(c.range.end >= c.range.start);
        if i > 0 {
            let head = &s[c.range.clone()];
            assert!(head.starts_with("---") || head.starts_with("..."), "{head:?}");
        }
        at = c.range.end;
    }
    assert_eq!(at, s.len());
    let _ = stream::count_documents(s);
});
