//! Running as Helm 4's post-renderer plugin, where Helm drops the plugin's stderr and exit status
//! (a refusal shows only `plugin "pvc-resize" exited with error`). Two channels survive:
//! - a log file, written by default: `$HELM_PLUGIN_DIR/post-render.log` (the last run; the
//!   temporary folder when the plugin folder is read-only), or `--log FILE`;
//! - the output itself: on an error, stdout carries one YAML document that is a block scalar,
//!   not a manifest, and the exit status is 0 (so Helm reads stdout). Helm 4 refuses a
//!   non-mapping document and prints its contents whole (`expected MappingNode but got
//!   ScalarNode: node contents: ...`): the user sees the error, its hint and the log's path, and
//!   nothing is rendered or applied. Tested with Helm 4.1.4 (tests/e2e_helm.rs).
//!
//! Only when this binary is the one inside `$HELM_PLUGIN_DIR` and that folder's manifest is a
//! `postrenderer/v1`: Helm 3 (which shows stderr itself) and other plugins that merely pass
//! `HELM_PLUGIN_DIR` on (helm-diff running `helm upgrade --post-renderer`) never trigger it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default log's name, in the plugin's folder.
pub const LOG_NAME: &str = "post-render.log";

pub struct PluginRun {
    /// Where this run's diagnostics go when `--log` is not given.
    pub default_log: PathBuf,
}

/// `Some` when Helm 4 runs this binary as its post-renderer plugin.
pub fn detect() -> Option<PluginRun> {
    let dir = fs::canonicalize(std::env::var_os("HELM_PLUGIN_DIR")?).ok()?;
    let exe = fs::canonicalize(std::env::current_exe().ok()?).ok()?;
    if !exe.starts_with(&dir) {
        return None;
    }
    let manifest = fs::read_to_string(dir.join("plugin.yaml")).ok()?;
    if !manifest
        .lines()
        .any(|l| l.trim() == "type: postrenderer/v1")
    {
        return None;
    }
    Some(PluginRun {
        default_log: dir.join(LOG_NAME),
    })
}

impl PluginRun {
    /// Opens the default log for this run (truncated: it holds the last run), falling back to the
    /// temporary folder. Returns the file and its path.
    pub fn open_log(&self) -> Option<(fs::File, PathBuf)> {
        let fallback = std::env::temp_dir().join("pvc-resize-post-render.log");
        [self.default_log.clone(), fallback]
            .into_iter()
            .find_map(|p| fs::File::create(&p).ok().map(|f| (f, p)))
    }
}

/// The one-document stream that makes Helm 4 fail and print `message` (and where the log is).
pub fn error_document(message: &str, log: Option<&Path>) -> String {
    let mut text = message.trim().to_owned();
    match log {
        Some(p) => text.push_str(&format!(
            "\n(Helm 4 hides a plugin's messages: this run's log is {})",
            p.display()
        )),
        None => {
            text.push_str("\n(Helm 4 hides a plugin's messages, and no log file could be written)")
        }
    }
    let mut doc = String::from("--- |\n");
    for line in text.lines() {
        doc.push_str("  ");
        // A block scalar can't hold control characters; tabs are fine.
        doc.extend(
            line.chars()
                .map(|c| if c.is_control() && c != '\t' { '?' } else { c }),
        );
        doc.push('\n');
    }
    doc
}

/// Writes the error document to stdout (a closed pipe is ignored: Helm has gone).
pub fn emit_error(message: &str, log: Option<&Path>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(error_document(message, log).as_bytes());
    let _ = out.flush();
}

/// A Helm 3 / Helm 4 mix-up of the post-renderer's argument forms, said with the form that fits
/// each Helm. `args` is this run's argv; `flags` the long options of `post-render`.
/// - Helm 3 runs the executable itself: `--post-renderer-args` must start with `post-render`; a
///   call that starts with one of its options is the Helm 4 plugin form given to Helm 3.
/// - The Helm 4 plugin's plugin.yaml passes `post-render` already: `post-render post-render` is
///   the Helm 3 form given to the plugin.
pub fn form_mixup(args: &[String], flags: &[String]) -> Option<String> {
    let quoted = |words: &[String]| {
        words
            .iter()
            .map(|w| format!("--post-renderer-args {}", pvc_resize::shell::shell_quote(w)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first = args.get(1)?;
    let option = first.split_once('=').map_or(first.as_str(), |(f, _)| f);
    if flags.iter().any(|f| f == option) {
        let exe = pvc_resize::shell::shell_quote(&args[0]);
        return Some(format!(
            "pvc-resize: error: the arguments start with `{option}`, an option of `post-render`, without the command `post-render`: \
             that is the Helm 4 plugin form (its plugin.yaml passes `post-render`), given to Helm 3, which runs the executable itself\n  \
             hint: with Helm 3: helm ... --post-renderer {exe} --post-renderer-args post-render {}\n  \
             hint: with Helm 4: make and install the plugin once (pvc-resize helm-plugin ~/.local/share/pvc-resize/pvc-resize && helm plugin install ~/.local/share/pvc-resize/pvc-resize), then: helm ... --post-renderer pvc-resize {}\n",
            quoted(&args[1..]),
            quoted(&args[1..]),
        ));
    }
    if first == "post-render" && args.get(2).is_some_and(|a| a == "post-render") {
        let name = std::env::var_os("HELM_PLUGIN_DIR")
            .and_then(|d| {
                Path::new(&d)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "pvc-resize".to_owned());
        return Some(format!(
            "pvc-resize: error: `post-render` is given twice: that is the Helm 3 form (--post-renderer-args post-render ...), \
             given to the Helm 4 plugin, whose plugin.yaml passes `post-render` already\n  \
             hint: with Helm 4: helm ... --post-renderer {} {}\n  \
             hint: with Helm 3: helm ... --post-renderer pvc-resize --post-renderer-args post-render {}\n",
            pvc_resize::shell::shell_quote(&name),
            quoted(&args[3..]),
            quoted(&args[3..]),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_document_is_one_block_scalar_holding_every_line() {
        let doc = error_document(
            "pvc-resize: error: a: b\n  hint: x\u{7}y\tz\n",
            Some(Path::new("/p/post-render.log")),
        );
        let v: serde_json::Value = serde_yaml::from_str(&doc).unwrap();
        let s = v.as_str().expect("a string, not a mapping");
        assert_eq!(
            s,
            "pvc-resize: error: a: b\n  hint: x?y\tz\n\
             (Helm 4 hides a plugin's messages: this run's log is /p/post-render.log)\n"
        );
    }

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn argument_form_mixups_are_told_apart() {
        let flags = words("--size --statefulset --claim --patch --log");
        let helm3 = form_mixup(&words("/bin/pvc-resize --size 50Gi"), &flags).unwrap();
        assert!(helm3.contains("--post-renderer /bin/pvc-resize --post-renderer-args post-render --post-renderer-args --size --post-renderer-args 50Gi"), "{helm3}");
        let helm3 = form_mixup(&words("pvc-resize --size=50Gi"), &flags).unwrap();
        assert!(helm3.contains("start with `--size`"), "{helm3}");
        let helm4 = form_mixup(&words("p post-render post-render --size 5Gi"), &flags).unwrap();
        assert!(helm4.contains("with Helm 4: helm ... --post-renderer pvc-resize --post-renderer-args --size --post-renderer-args 5Gi\n"), "{helm4}");
        for fine in [
            "p post-render --size 5Gi",
            "p values f --size 5Gi",
            "p --version",
            "p --sise 5Gi",
        ] {
            assert_eq!(form_mixup(&words(fine), &flags), None, "{fine}");
        }
    }
}
