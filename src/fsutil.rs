//! Reading inputs with clear errors, and replacing a file atomically.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// An error message followed by its fix on a `  hint:` line, as every error of the tool ends.
pub fn hinted(message: impl Into<String>, hint: impl AsRef<str>) -> String {
    format!("{}\n  hint: {}", message.into(), hint.as_ref())
}

/// Reads a whole file (or stdin for `-`) as UTF-8. Errors name the file and, for bad UTF-8, the
/// line and column of the first bad byte.
pub fn read_text(path: &str) -> Result<String, String> {
    let bytes = if path == "-" {
        let mut buf = Vec::new();
        io::stdin().read_to_end(&mut buf).map_err(|e| {
            hinted(
                format!("<stdin>: cannot read: {e}"),
                "pipe a file in (`< FILE`), or give its path instead of `-`",
            )
        })?;
        buf
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(hinted(
                format!("{path}: is a directory"),
                "give the path of a YAML file in it",
            ));
        }
        fs::read(p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => hinted(
                format!("{path}: no such file"),
                "check the path (a relative path starts from the current folder); `-` reads stdin",
            ),
            io::ErrorKind::PermissionDenied => hinted(
                format!("{path}: permission denied"),
                format!("make it readable (`chmod u+r {path}`), or run as a user who can read it"),
            ),
            _ => hinted(
                format!("{path}: cannot read: {e}"),
                "check that the path names a readable file",
            ),
        })?
    };
    let name = if path == "-" { "<stdin>" } else { path };
    bytes_to_text(name, bytes)
}

/// UTF-8 check with a position.
pub fn bytes_to_text(name: &str, bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..good].iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = bytes[..good]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&bytes[line_start..good])
            .chars()
            .count()
            + 1;
        hinted(
            format!(
                "{name}:{line}:{col}: not valid UTF-8 (byte 0x{:02x}); YAML files must be UTF-8",
                bytes[good]
            ),
            "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)",
        )
    })
}

/// Replaces `path` with `content`, atomically: a temporary file in the same folder, flushed to
/// disk, given the original's permissions, then renamed over the original. A symlink is followed
/// (the target is replaced, the link kept). If the file no longer holds `expected` (someone
/// changed it since it was read), nothing is replaced.
pub fn replace_file(path: &str, expected: &str, content: &str) -> Result<(), String> {
    let unchanged = |message: String| {
        hinted(
            message,
            format!("{path} is unchanged; check that it exists and its folder is writable"),
        )
    };
    let target: PathBuf = fs::canonicalize(path).map_err(|e| unchanged(format!("{path}: {e}")))?;
    let meta = fs::metadata(&target).map_err(|e| unchanged(format!("{path}: {e}")))?;
    if meta.permissions().readonly() {
        return Err(hinted(
            format!("{path}: the file is read-only; refusing to replace it"),
            format!("make it writable first (`chmod u+w {path}`); nothing was written"),
        ));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let base = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("values");
    let tmp = dir.join(format!(".{base}.pvc-resize-{}.tmp", std::process::id()));
    let result = (|| -> Result<(), String> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| {
                hinted(
                    format!(
                        "{}: cannot create a temporary file beside {path}: {e}",
                        dir.display()
                    ),
                    "the folder must be writable (the file is replaced by a rename); the file is unchanged",
                )
            })?;
        f.write_all(content.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| {
                hinted(
                    format!("{}: cannot write: {e}; {path} is unchanged", tmp.display()),
                    "free some space on that disk, then run again",
                )
            })?;
        fs::set_permissions(&tmp, meta.permissions())
            .map_err(|e| unchanged(format!("{}: {e}", tmp.display())))?;
        let now =
            fs::read(&target).map_err(|e| unchanged(format!("{path}: cannot re-read: {e}")))?;
        if now != expected.as_bytes() {
            return Err(hinted(
                format!(
                    "{path}: the file changed while pvc-resize was editing it; nothing written"
                ),
                "run the command again on the file as it is now",
            ));
        }
        fs::rename(&tmp, &target).map_err(|e| unchanged(format!("{path}: cannot replace: {e}")))?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_errors_have_positions() {
        let e = bytes_to_text("f", b"a: 1\nb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(
            e,
            "f:2:4: not valid UTF-8 (byte 0xff); YAML files must be UTF-8\n  hint: save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        );
    }

    #[test]
    fn replace_keeps_mode_and_link_and_refuses_races() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        fs::write(&real, "a: 1\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.yaml");
        symlink(&real, &link).unwrap();
        replace_file(link.to_str().unwrap(), "a: 1\n", "a: 2\n").unwrap();
        assert_eq!(fs::read_to_string(&real).unwrap(), "a: 2\n");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let e = replace_file(real.to_str().unwrap(), "a: 1\n", "a: 3\n").unwrap_err();
        assert!(e.contains("changed while"), "{e}");
        assert_eq!(fs::read_to_string(&real).unwrap(), "a: 2\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left behind"
        );
    }
}
