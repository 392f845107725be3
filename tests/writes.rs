//! `values --write` loses nothing: mode, owner and group stay; hard links are refused with the
//! reason; lines another process appends while the file is being replaced are kept.

mod common;
use common::*;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;

const VALUES: &str = "kafka:\n  persistence:\n    size: 20Gi\n";

#[test]
fn write_keeps_owner_group_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("values.yaml");
    fs::write(&f, VALUES).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    let is_root = fs::metadata(dir.path()).unwrap().uid() == 0
        && std::os::unix::fs::chown(&f, Some(1234), Some(5678)).is_ok();
    let out = run(
        &["values", f.to_str().unwrap(), "--size", "50Gi", "--write"],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let meta = fs::metadata(&f).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640);
    if is_root {
        assert_eq!(
            (meta.uid(), meta.gid()),
            (1234, 5678),
            "owner and group kept"
        );
    } else {
        skip("root (to give the file another owner)");
    }
    assert!(fs::read_to_string(&f).unwrap().contains("size: 50Gi"));
}

#[test]
fn hard_links_are_refused_and_both_names_stay() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("values.yaml");
    let other = dir.path().join("also.yaml");
    fs::write(&f, VALUES).unwrap();
    fs::hard_link(&f, &other).unwrap();
    let out = run(
        &["values", f.to_str().unwrap(), "--size", "50Gi", "--write"],
        b"",
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("2 hard links") && stderr(&out).contains("hint:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), VALUES);
    assert_eq!(
        fs::metadata(&f).unwrap().ino(),
        fs::metadata(&other).unwrap().ino()
    );
}

/// A writer appends lines while `values --write` runs again and again: every appended line is in
/// the file at the end, and every successful run's edit is there too.
#[test]
fn concurrent_appends_are_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("values.yaml");
    fs::write(&f, VALUES).unwrap();
    let path = f.clone();
    let lines = 400;
    let writer = std::thread::spawn(move || {
        for i in 0..lines {
            let mut h = fs::OpenOptions::new().append(true).open(&path).unwrap();
            h.write_all(format!("k{i}: {i}\n").as_bytes()).unwrap();
            drop(h);
            // Bursts of appends with pauses, so that some runs fall in a pause and write.
            let pause = if i % 10 == 9 { 25_000 } else { 200 };
            std::thread::sleep(std::time::Duration::from_micros(pause));
        }
    });
    let (mut written, mut refused) = (0, 0);
    let mut size = 21;
    while !writer.is_finished() {
        let s = format!("{size}Gi");
        let out = run(
            &["values", f.to_str().unwrap(), "--size", &s, "--write"],
            b"",
        );
        match code(&out) {
            0 => {
                written += 1;
                size += 1;
            }
            2 if stderr(&out).contains("changed while") => refused += 1,
            c => panic!("exit {c}: {}", stderr(&out)),
        }
        if refused > 10_000 {
            break;
        }
    }
    writer.join().unwrap();
    let text = fs::read_to_string(&f).unwrap();
    for i in 0..lines {
        assert!(
            text.contains(&format!("\nk{i}: {i}\n")),
            "line k{i} was lost ({written} writes, {refused} refused):\n{text}"
        );
    }
    assert!(written > 0, "no run succeeded ({refused} refused)");
    assert!(
        text.contains(&format!("size: {}Gi", size - 1)),
        "the last edit is there"
    );
    eprintln!("{written} writes and {refused} refusals raced {lines} appends; nothing lost");
}
