//! Quantity parser: never panics; a parsed quantity's canonical form parses back to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pvc_resize::k8s::quantity::{Quantity, Size};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(q) = Quantity::parse(s) {
        let canonical = q.canonical();
        let back = Quantity::parse(&canonical).unwrap_or_else(|e| panic!("{s:?} -> {canonical:?}: {e}"));
        assert!(back == q, "{s:?} -> {canonical:?} changed the value");
        let _ = q.bytes();
    }
    let _ = Size::parse(s);
});
