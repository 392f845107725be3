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

/// Issue 21, item 1: `--write` on anything but a regular file is refused before it is read, with
/// a message naming the file and what it is; nothing is created or replaced.
#[test]
fn write_refuses_every_kind_of_non_regular_file() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(std::path::PathBuf, &str)> = Vec::new();
    let fifo = dir.path().join("fifo.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    cases.push((fifo, "FIFO"));
    let sock = dir.path().join("sock.yaml");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    cases.push((sock, "socket"));
    let sub = dir.path().join("dir.yaml");
    fs::create_dir(&sub).unwrap();
    cases.push((sub, "directory"));
    // A character device of our own (1,3 is the null device), never the system's /dev/null.
    let null = dir.path().join("null.yaml");
    let made = std::process::Command::new("mknod")
        .args([null.to_str().unwrap(), "c", "1", "3"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        cases.push((null, "character device"));
    } else {
        skip("root (mknod, to make a character device)");
    }
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink(&cases[0].0, &link).unwrap();
    cases.push((link, "FIFO"));
    for (path, what) in &cases {
        let before = fs::symlink_metadata(path).unwrap().file_type();
        let p = path.to_str().unwrap();
        let out = run_within(10, &["values", p, "--size", "50Gi", "--write"]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{p}: {err}");
        assert!(
            err.contains(p) && err.contains(what) && err.contains("not a regular file"),
            "{p}: {err}"
        );
        let after = fs::symlink_metadata(path).unwrap().file_type();
        assert_eq!(
            (
                before.is_fifo(),
                before.is_socket(),
                before.is_char_device()
            ),
            (after.is_fifo(), after.is_socket(), after.is_char_device()),
            "{p} was replaced"
        );
    }
    // Process substitution: bash hands over /dev/fd/N, a pipe.
    let bin = common::bin();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{bin}' values <(printf 'kafka:\\n  persistence:\\n    size: 20Gi\\n') --size 50Gi --write"
        ))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("/dev/fd/") && err.contains("FIFO") && err.contains("process substitution"),
        "{err}"
    );
}

/// Without `--write`, a FIFO, a process substitution and /dev/stdin are read.
#[test]
fn without_write_pipes_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let f = fifo.clone();
    let feeder = std::thread::spawn(move || fs::write(&f, VALUES).unwrap());
    let out = run(&["values", fifo.to_str().unwrap(), "--size", "50Gi"], b"");
    feeder.join().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("+    size: 50Gi"), "{}", stdout(&out));
    let out = run(
        &["values", "/dev/stdin", "--size", "50Gi"],
        VALUES.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("+    size: 50Gi"), "{}", stdout(&out));
    let bin = common::bin();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{bin}' values <(printf 'kafka:\\n  persistence:\\n    size: 20Gi\\n') --size 50Gi"
        ))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("+    size: 50Gi"), "{}", stdout(&out));
}

/// Issue 21, item 2: an editor saves by writing a temporary file and renaming it over the path,
/// again and again, while `values --write` runs again and again. Before each save the editor
/// checks that the file still holds its last save (with any size the tool wrote): a file holding
/// an older save means the tool's rename destroyed that save. No save may be lost, every run
/// either writes or says the file changed, and some runs write.
#[test]
fn an_editor_saving_by_rename_loses_no_save() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("values.yaml");
    let save =
        |n: u32, size: &str| format!("saves: {n}\nkafka:\n  persistence:\n    size: {size}\n");
    fs::write(&f, save(0, "20Gi")).unwrap();
    let saves = 300;
    let done = Arc::new(AtomicBool::new(false));
    let (path, stop) = (f.clone(), done.clone());
    let editor = std::thread::spawn(move || {
        let counter = |text: &str| -> u32 {
            text.lines().next().unwrap()["saves: ".len()..]
                .parse()
                .unwrap()
        };
        let mut lost = Vec::new();
        for n in 1..=saves {
            let text = fs::read_to_string(&path).unwrap();
            if counter(&text) != n - 1 {
                lost.push((n - 1, counter(&text)));
            }
            // The editor keeps the size it finds (it reloaded the file) and bumps its counter.
            let size = text.lines().last().unwrap().trim()["size: ".len()..].to_owned();
            let tmp = path.with_extension("swp");
            fs::write(&tmp, save(n, &size)).unwrap();
            fs::rename(&tmp, &path).unwrap();
            std::thread::sleep(std::time::Duration::from_micros(if n % 8 == 0 {
                20_000
            } else {
                700
            }));
        }
        let last = counter(&fs::read_to_string(&path).unwrap());
        if last != saves {
            lost.push((saves, last));
        }
        stop.store(true, Ordering::SeqCst);
        lost
    });
    let (mut written, mut refused, mut size) = (0, 0, 21);
    while !done.load(Ordering::SeqCst) {
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
    }
    let lost = editor.join().unwrap();
    eprintln!("{saves} editor saves raced {written} writes and {refused} refusals; lost: {lost:?}");
    assert!(lost.is_empty(), "{} saves lost: {lost:?}", lost.len());
    assert!(written > 0, "no run wrote ({refused} refused)");
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("pvc-resize"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// Runs the binary with no stdin; a run that blocks longer than `secs` is killed and fails.
fn run_within(secs: u64, args: &[&str]) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() >= secs {
            child.kill().unwrap();
            panic!("{args:?} blocked for {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `--output FILE`: the product goes to FILE (stdout stays empty), whole, replacing an old one; an
/// error that leaves no product leaves FILE as it was. A blocked plan's script is still written: it
/// names the finding and exits 1, so an old runnable script can't stay behind.
#[test]
fn output_file_gets_the_product_whole_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rendered-kafka.yaml");
    let script = dir.path().join("resize.sh");
    fs::write(&script, "echo an old runnable script\n").unwrap();
    let plan = |size: &str, manifests: &str| {
        run(
            &[
                "plan",
                "--release",
                "kafka",
                "--namespace",
                "demo",
                "--size",
                size,
                "--manifests",
                manifests,
                "--format",
                "script",
                "--output",
                script.to_str().unwrap(),
            ],
            b"",
        )
    };
    // Blocked (a shrink): exit 1, nothing on stdout, the file is the blocked script.
    let out = plan("1Gi", manifests);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_blocked_script(&read(&script), "shrink");
    // An input that can't be read: exit 2, the file as it was.
    let before = read(&script);
    let out = plan("50Gi", "/nonexistent/render.yaml");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(read(&script), before);
    // validate and check: the report in the file, in the format asked, never coloured.
    let values = dir.path().join("values.yaml");
    fs::write(&values, VALUES).unwrap();
    let report = dir.path().join("report.json");
    let out = run(
        &[
            "validate",
            "--values",
            values.to_str().unwrap(),
            "--format",
            "json",
            "--output",
            report.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (0, ""),
        "{}",
        stderr(&out)
    );
    let json: serde_json::Value = serde_json::from_str(&read(&report)).unwrap();
    assert_eq!(json["command"], "validate", "{json}");
    let text = dir.path().join("check.txt");
    let head = dir.path().join("head.yaml");
    fs::write(&head, VALUES.replace("20Gi", "10Gi")).unwrap();
    let out = run(
        &[
            "check",
            "--base",
            values.to_str().unwrap(),
            "--head",
            head.to_str().unwrap(),
            "--color",
            "auto",
            "--output",
            text.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(
        (code(&out), stdout(&out).as_str()),
        (1, ""),
        "{}",
        stderr(&out)
    );
    let got = read(&text);
    assert!(got.contains("shrink") && !got.contains('\x1b'), "{got}");
    // No temporary file is left beside them.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}
