//! Patch-file loader: random text never panics (it is validated against the schema first).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pvc_resize::k8s::patch::PatchSet;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let mut set = PatchSet::default();
    if set.add_file("fuzz.yaml", s).is_ok() {
        let _ = set.apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {}\n", 1);
    }
});
