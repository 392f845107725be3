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
        fs::read(p).map_err(|e| open_error(path, &e))?
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

/// What a file was when it was read: which file the path named (device and inode) and its size
/// and modification time. `--write` replaces the file only while the path still names exactly this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }

    fn same_file(&self, other: &Stamp) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

/// What a file that is not a regular file is, in words; `None` for a regular file.
fn not_regular(meta: &fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (a named pipe, or the pipe of a process substitution `<(...)`)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    })
}

/// Reads a file that [`replace_file`] will replace. Anything but a regular file (or a symlink to
/// one) is refused before it is opened, so a FIFO does not block and a device is never replaced by
/// a regular file. Returns the text and the [`Stamp`] of the file read.
pub fn read_for_replace(path: &str) -> Result<(String, Stamp), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = |what: &str| {
        hinted(
            format!(
                "{path}: is {what}, not a regular file; --write replaces a file by a rename, so it refuses anything else (nothing was read or written)"
            ),
            "drop --write to read it and get the diff on stdout, or give the path of a regular file (a symlink to one is fine)",
        )
    };
    let meta = fs::metadata(path).map_err(|e| open_error(path, &e))?;
    if let Some(what) = not_regular(&meta) {
        return Err(refuse(what));
    }
    // Non-blocking: if a FIFO took the file's place since the check above, opening it won't hang.
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| open_error(path, &e))?;
    let opened = f.metadata().map_err(|e| open_error(path, &e))?;
    if let Some(what) = not_regular(&opened) {
        return Err(refuse(what));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| open_error(path, &e))?;
    let stamp = Stamp::of(&f.metadata().map_err(|e| open_error(path, &e))?);
    if !stamp.same_file(&Stamp::of(&meta)) || stamp.len != bytes.len() as u64 {
        return Err(changed(path));
    }
    Ok((bytes_to_text(path, bytes)?, stamp))
}

fn open_error(path: &str, e: &io::Error) -> String {
    match e.kind() {
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
    }
}

fn changed(path: &str) -> String {
    hinted(
        format!(
            "{path}: the file changed while pvc-resize was editing it (another program wrote or replaced it); nothing written"
        ),
        "run the command again on the file as it is now",
    )
}

/// Replaces `path` with `content`, atomically: a temporary file in the same folder, flushed to
/// disk, given the original's mode, owner and group, then renamed over the original. A symlink is
/// followed (the target is replaced, the link kept); a file with several hard links is refused
/// (a rename would leave the other names with the old content). Nothing is replaced unless the
/// path still names the file `read` describes (same device, inode, size and modification time)
/// holding `expected`. On Linux the final step is an atomic exchange, checked afterwards: if
/// another program renamed its own file over the path in the last instant, that file is put back
/// and nothing is written (docs/reliability.md). Lines appended by another process after the
/// exchange are not lost: they are read back through the old file and appended to the new one.
pub fn replace_file(path: &str, read: &Stamp, expected: &str, content: &str) -> Result<(), String> {
    replace_file_racing(path, read, expected, content, &|| {})
}

/// Writes a command's product to `path` (`--output FILE`), atomically: an existing file is replaced
/// as [`replace_file`] does (its mode and owner kept, a symlink followed, a hard-linked file
/// refused); a new one is written to a temporary file beside it and renamed into place. A reader
/// never sees half a file, and a failed write leaves the old one.
pub fn write_output(path: &str, content: &str) -> Result<(), String> {
    match fs::metadata(path) {
        Ok(meta) => {
            if let Some(what) = not_regular(&meta) {
                return Err(hinted(
                    format!("--output {path}: is {what}, not a regular file; nothing written"),
                    "drop --output and redirect stdout instead, or give the path of a regular file",
                ));
            }
            let (old, stamp) = read_for_replace(path).map_err(|e| format!("--output {e}"))?;
            replace_file(path, &stamp, &old, content).map_err(|e| format!("--output {e}"))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_new(path, content),
        Err(e) => Err(hinted(
            format!("--output {path}: {e}"),
            "give a file in a folder that exists and is writable",
        )),
    }
}

/// A new file, by a temporary file beside it and a rename.
fn write_new(path: &str, content: &str) -> Result<(), String> {
    let target = Path::new(path);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let base = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let tmp = dir.join(format!(".{base}.pvc-resize-{}.tmp", std::process::id()));
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(content.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, target));
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        hinted(
            format!("--output {path}: cannot write: {e}; nothing written"),
            "give a file in a folder that exists and is writable",
        )
    })
}

/// [`replace_file`] with `race` run between the final check and the rename (tests put a
/// concurrent writer there).
fn replace_file_racing(
    path: &str,
    read: &Stamp,
    expected: &str,
    content: &str,
    race: &dyn Fn(),
) -> Result<(), String> {
    let unchanged = |message: String| {
        hinted(
            message,
            format!("{path} is unchanged; check that it exists and its folder is writable"),
        )
    };
    let target: PathBuf = fs::canonicalize(path).map_err(|e| unchanged(format!("{path}: {e}")))?;
    let meta = fs::metadata(&target).map_err(|e| unchanged(format!("{path}: {e}")))?;
    replaceable(path, &meta)?;
    // The original stays open: after the rename, what was written to it meanwhile is still there.
    let mut original = fs::File::open(&target).map_err(|e| unchanged(format!("{path}: {e}")))?;
    let still = |f: &fs::File| f.metadata().is_ok_and(|m| Stamp::of(&m) == *read);
    if Stamp::of(&meta) != *read || !still(&original) {
        return Err(changed(path));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let base = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("values");
    let tmp = dir.join(format!(".{base}.pvc-resize-{}.tmp", std::process::id()));
    let result = write_temp(&tmp, path, dir, content, &meta).and_then(|new| {
        if read_all(&mut original, path)? != expected.as_bytes() {
            return Err(changed(path));
        }
        // The last look before the swap: the path still names the file read, unchanged.
        if !fs::metadata(&target).is_ok_and(|m| Stamp::of(&m) == *read) || !still(&original) {
            return Err(changed(path));
        }
        race();
        swap_in(&tmp, &target, path, read, &new)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        carry_late_appends(&mut original, &target, path, expected)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Read-only files and files with several hard links are not replaced.
fn replaceable(path: &str, meta: &fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if let Some(what) = not_regular(meta) {
        return Err(hinted(
            format!("{path}: is {what}, not a regular file; nothing written"),
            "give the path of a regular file",
        ));
    }
    if meta.permissions().readonly() {
        return Err(hinted(
            format!("{path}: the file is read-only; refusing to replace it"),
            format!("make it writable first (`chmod u+w {path}`); nothing was written"),
        ));
    }
    if meta.nlink() > 1 {
        return Err(hinted(
            format!(
                "{path}: the file has {} hard links; replacing it would leave the other names with the old content, so nothing is written",
                meta.nlink()
            ),
            format!(
                "write the result elsewhere (`pvc-resize values {path} --size Q` prints a diff; apply it with `patch`), or break the link first (`cp {path} {path}.new && mv {path}.new {path}`)"
            ),
        ));
    }
    Ok(())
}

/// Puts the temporary file `tmp` (whose stamp is `new`) at `target`. On Linux an atomic exchange:
/// the file that was at `target` lands at `tmp`, so it is checked to be the one read; if another
/// program renamed its file there in the meantime, that file is exchanged back and the run
/// refuses. Elsewhere (or on a file system without the exchange) a plain rename.
fn swap_in(tmp: &Path, target: &Path, path: &str, read: &Stamp, new: &Stamp) -> Result<(), String> {
    let cannot = |e: io::Error| {
        hinted(
            format!("{path}: cannot replace: {e}"),
            format!("{path} is unchanged; check that its folder is writable"),
        )
    };
    match exchange(tmp, target) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP)
            ) =>
        {
            return fs::rename(tmp, target).map_err(cannot);
        }
        Err(e) => return Err(cannot(e)),
    }
    let replaced = fs::symlink_metadata(tmp).map(|m| Stamp::of(&m));
    if replaced.as_ref().is_ok_and(|s| s.same_file(read)) {
        // `tmp` now names the old file; the caller removes it on error, so remove it here.
        let _ = fs::remove_file(tmp);
        return Ok(());
    }
    // Another program's file was there: put it back.
    exchange(tmp, target).map_err(cannot)?;
    if fs::symlink_metadata(tmp).is_ok_and(|m| Stamp::of(&m).same_file(new)) {
        return Err(changed(path));
    }
    let kept = tmp.with_extension("other");
    let _ = fs::rename(tmp, &kept);
    Err(hinted(
        format!(
            "{path}: other programs replaced the file twice while pvc-resize was writing it; nothing of pvc-resize was written, and one of their versions was kept as {}",
            kept.display()
        ),
        "compare the two files and keep the right one, then run the command again",
    ))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: two NUL-terminated paths that live across the call; renameat2 reads nothing else.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// The temporary file: `content`, flushed, with the original's mode, owner and group.
fn write_temp(
    tmp: &Path,
    path: &str,
    dir: &Path,
    content: &str,
    meta: &fs::Metadata,
) -> Result<Stamp, String> {
    use std::os::unix::fs::MetadataExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
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
    f.set_permissions(meta.permissions())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let new = f
        .metadata()
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    if (new.uid(), new.gid()) != (meta.uid(), meta.gid()) {
        std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid())).map_err(|e| {
            hinted(
                format!(
                    "{path}: cannot give the new file the owner {}:{} of the old one ({e}); nothing written",
                    meta.uid(),
                    meta.gid()
                ),
                "run as that user (or root), or write the diff (without --write) and apply it",
            )
        })?;
    }
    Ok(Stamp::of(&new))
}

fn read_all(f: &mut fs::File, path: &str) -> Result<Vec<u8>, String> {
    use std::io::Seek;
    let mut buf = Vec::new();
    f.seek(io::SeekFrom::Start(0))
        .and_then(|_| f.read_to_end(&mut buf))
        .map_err(|e| format!("{path}: cannot re-read: {e}"))?;
    Ok(buf)
}

/// After the rename: bytes another process appended to the old file between the check and the
/// rename are appended to the new one. Any other late change is restored in place of the edit.
fn carry_late_appends(
    original: &mut fs::File,
    target: &Path,
    path: &str,
    expected: &str,
) -> Result<(), String> {
    let mut carried = expected.len();
    // Until the old file stops changing (a writer still holding it may write a little more).
    for _ in 0..100 {
        let now = read_all(original, path)?;
        if now.len() == carried && now.starts_with(expected.as_bytes()) {
            return Ok(());
        }
        if !now.starts_with(expected.as_bytes()) || now.len() < carried {
            fs::write(target, &now).map_err(|e| format!("{path}: {e}"))?;
            return Err(hinted(
                format!(
                    "{path}: the file changed while pvc-resize was writing it; the other change was kept and the edit was not applied"
                ),
                "run the command again on the file as it is now",
            ));
        }
        let mut out = fs::OpenOptions::new()
            .append(true)
            .open(target)
            .map_err(|e| format!("{path}: {e}"))?;
        out.write_all(&now[carried..])
            .and_then(|_| out.sync_all())
            .map_err(|e| format!("{path}: cannot carry over lines appended meanwhile: {e}"))?;
        carried = now.len();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Ok(())
}

/// How many symbolic links a `REV:PATH` may follow inside git (as Linux's path resolution).
const MAX_GIT_LINKS: usize = 40;

fn git(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = std::process::Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(out.stdout)
}

/// Reads `PATH` at revision `REV` from git as a checkout would give it: a symlink is followed
/// inside the tree; a directory, a submodule, a link leaving the repository and a binary blob are
/// refused. A revision that starts with `-` is refused before it reaches git as an option.
pub fn read_git(rev: &str, path: &str) -> Result<String, String> {
    read_git_object(rev, path).map_err(|e| {
        if e.contains("\n  hint:") {
            e
        } else {
            hinted(
                e,
                "give a file, or REV:PATH with a branch, tag or commit and PATH from the repository's root (`git show REV:PATH` prints it)",
            )
        }
    })
}

/// The text of PATH at REV, read through git; symbolic links inside the repository are followed.
fn read_git_object(rev: &str, path: &str) -> Result<String, String> {
    let spec = format!("{rev}:{path}");
    if rev.starts_with('-') || rev.is_empty() {
        return Err(format!(
            "{spec}: the revision {rev:?} is not a revision name (one starting with `-` would reach git as an option); give a branch, tag or commit"
        ));
    }
    // Paths are from the repository's root, as in `git show REV:PATH` (`./` is from here).
    let mut path = from_root(&spec, path)?;
    for _ in 0..MAX_GIT_LINKS {
        let (mode, object) = tree_entry(&spec, rev, &path)?;
        let mode = mode.as_str();
        let blob = git(&["cat-file", "blob", &object]).map_err(|e| format!("{spec}: {e}"))?;
        if mode == "120000" {
            // A symbolic link: its content is the target, relative to the link's folder.
            let target = String::from_utf8_lossy(&blob).into_owned();
            let dir = path.rfind('/').map_or("", |i| &path[..=i]);
            let joined = if target.starts_with('/') {
                None
            } else {
                normalize(&format!("{dir}{target}"))
            };
            path = joined.ok_or_else(|| format!("{spec}: is a symbolic link to {target:?}, outside the repository; give that file instead"))?;
            continue;
        }
        if blob.contains(&0) {
            return Err(format!(
                "{spec}: is a binary file in {rev} (it holds NUL bytes), not YAML"
            ));
        }
        return bytes_to_text(&spec, blob);
    }
    Err(format!(
        "{spec}: more than {MAX_GIT_LINKS} symbolic links (a loop?)"
    ))
}

/// PATH of `REV:PATH` from the repository's root: `./` and `../` are from the current folder.
fn from_root(spec: &str, path: &str) -> Result<String, String> {
    Ok(if path.starts_with("./") || path.starts_with("../") {
        let prefix = String::from_utf8_lossy(
            &git(&["rev-parse", "--show-prefix"]).map_err(|e| format!("{spec}: {e}"))?,
        )
        .trim()
        .to_owned();
        normalize(&format!("{prefix}{path}"))
            .ok_or_else(|| format!("{spec}: the path leaves the repository"))?
    } else {
        path.to_owned()
    })
}

/// The mode and object of PATH in REV's tree; an error for no such path, a directory or a
/// submodule.
fn tree_entry(spec: &str, rev: &str, path: &str) -> Result<(String, String), String> {
    let listing = git(&["ls-tree", "-z", "--full-tree", rev, "--", path])
        .map_err(|e| format!("{spec}: git cannot read it: {e}"))?;
    let entry = String::from_utf8_lossy(&listing);
    let entry = entry.split('\0').next().unwrap_or("");
    let Some((meta, _)) = entry.split_once('\t') else {
        return Err(format!(
            "{spec}: no such file in {rev} (paths are from the repository's root)"
        ));
    };
    let fields: Vec<&str> = meta.split(' ').collect();
    let (mode, object) = (fields[0], fields[2]);
    match mode {
        "040000" => {
            return Err(format!(
                "{spec}: is a directory in {rev}, not a values file"
            ));
        }
        "160000" => {
            return Err(format!(
                "{spec}: is a submodule in {rev}; give the path of a file inside it from that repository"
            ));
        }
        _ => {}
    }
    Ok((mode.to_owned(), object.to_owned()))
}

/// `a/./b/../c` to `a/c`; `None` when `..` leaves the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_appended_between_check_and_rename_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.yaml");
        fs::write(&f, "a: 1\n").unwrap();
        let stamp = |f: &Path| read_for_replace(f.to_str().unwrap()).unwrap().1;
        let read = stamp(&f);
        let append = |line: &str| {
            let mut h = fs::OpenOptions::new().append(true).open(&f).unwrap();
            h.write_all(line.as_bytes()).unwrap();
        };
        replace_file_racing(f.to_str().unwrap(), &read, "a: 1\n", "a: 2\n", &|| {
            append("late: 1\n")
        })
        .unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "a: 2\nlate: 1\n");
        // Any other late change wins over the edit, and the run says so.
        let e = replace_file_racing(
            f.to_str().unwrap(),
            &stamp(&f),
            "a: 2\nlate: 1\n",
            "a: 3\nlate: 1\n",
            &|| {
                fs::OpenOptions::new()
                    .write(true)
                    .open(&f)
                    .unwrap()
                    .write_all(b"b")
                    .unwrap();
            },
        )
        .unwrap_err();
        assert!(e.contains("changed while"), "{e}");
        assert_eq!(fs::read_to_string(&f).unwrap(), "b: 2\nlate: 1\n");
    }

    /// An editor renames its save over the path after the last check: the exchange shows that the
    /// file replaced is not the one read, so the save is put back and the run refuses.
    #[test]
    fn a_save_renamed_in_at_the_last_instant_is_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.yaml");
        fs::write(&f, "a: 1\n").unwrap();
        let (_, read) = read_for_replace(f.to_str().unwrap()).unwrap();
        let save = dir.path().join("v.yaml.swp");
        let e = replace_file_racing(f.to_str().unwrap(), &read, "a: 1\n", "a: 2\n", &|| {
            fs::write(&save, "a: 1\nsaved: yes\n").unwrap();
            fs::rename(&save, &f).unwrap();
        })
        .unwrap_err();
        assert!(e.contains("changed while"), "{e}");
        assert_eq!(fs::read_to_string(&f).unwrap(), "a: 1\nsaved: yes\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no file left behind"
        );
    }

    #[test]
    fn git_paths_normalize() {
        assert_eq!(normalize("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("../x"), None);
    }

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
        let (_, read) = read_for_replace(link.to_str().unwrap()).unwrap();
        replace_file(link.to_str().unwrap(), &read, "a: 1\n", "a: 2\n").unwrap();
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
        let e = replace_file(real.to_str().unwrap(), &read, "a: 1\n", "a: 3\n").unwrap_err();
        assert!(e.contains("changed while"), "{e}");
        assert_eq!(fs::read_to_string(&real).unwrap(), "a: 2\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file left behind"
        );
    }
}
