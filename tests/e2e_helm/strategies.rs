//! Helm 4.2's post-render strategies (helm/helm v4.2.3 `pkg/action/action.go`,
//! `renderResources`): `combined` (the CLI's and Flux's default) hands the post-renderer one
//! stream with hooks and the release's objects; `separate` calls it twice, first with the hooks
//! alone, then with the other objects; `nohooks` calls it once, without the hooks. The CLI has no
//! flag for the strategy, so the two streams of `separate` are cut from what the real Helm 4.2.3
//! hands a capturing plugin (the same annotation, the same kyaml formatting, the same
//! documents): a document goes to the hooks call when its `metadata.annotations` has the key
//! `helm.sh/hook`, as Helm's `SortManifests` decides.

use super::*;

/// A post-renderer plugin that keeps a copy of its input beside itself and changes nothing.
fn install_capture(helm: &Helm) -> PathBuf {
    let script = "#!/bin/sh\nexec tee \"$HELM_PLUGIN_DIR/captured.yaml\"\n";
    helm.install_postrenderer("capture", script)
        .join("captured.yaml")
}

/// What Helm 4.2.3 hands a post-renderer for case `c` (the `combined` stream).
fn captured(helm: &Helm, file: &Path, root: &Path, c: &Case) -> String {
    let mut args = c.helm_args(root, &["template"], c.original(root));
    args.extend(["--post-renderer".into(), "capture".into()]);
    helm.ok(&args);
    read(file)
}

/// True when a document of the stream is a Helm hook, read by serde (not by the tool's reader).
fn is_hook(doc: &str) -> bool {
    let v: serde_json::Value = serde_yaml::from_str(doc).unwrap();
    v["metadata"]["annotations"]
        .as_object()
        .is_some_and(|a| a.contains_key("helm.sh/hook"))
}

/// The combined stream cut into `separate`'s two calls: (hooks, everything else). Each document
/// keeps its bytes; a `---` line leads every document as kyaml writes them.
fn split_as_separate(combined: &str) -> (String, String) {
    let (mut hooks, mut rest) = (String::new(), String::new());
    for chunk in pvc_resize::k8s::stream::split(combined) {
        let text = &combined[chunk.range.clone()];
        if !pvc_resize::k8s::stream::has_content(text) {
            continue;
        }
        let body = text.strip_prefix("---\n").unwrap_or(text);
        let out = if is_hook(body) { &mut hooks } else { &mut rest };
        if !out.is_empty() {
            out.push_str("---\n");
        }
        out.push_str(body);
    }
    (hooks, rest)
}

fn post_render(stream: &str, extra: &[&str]) -> Output {
    let mut args = vec!["post-render", "--size", "50Gi"];
    args.extend_from_slice(extra);
    run(&args, stream.as_bytes())
}

#[test]
fn separate_strategy_hooks_pass_through_and_the_release_objects_are_resized() {
    let (Some(root), Some(bin)) = (shared_fixtures(), helm42()) else {
        return;
    };
    let helm = Helm::at("helm42", bin);
    let file = install_capture(&helm);
    let mut hook_calls = 0;
    for c in [&CASES[0], &CASES[6], &CASES[10]] {
        let combined = captured(&helm, &file, &root, c);
        let (hooks, objects) = split_as_separate(&combined);
        assert!(!objects.is_empty(), "{}: no release objects", c.name());
        if !hooks.is_empty() {
            hook_calls += 1;
            // The first call of `separate`: every document a hook, no StatefulSet to resize.
            let out = post_render(&hooks, c.select);
            assert_eq!(code(&out), 0, "{}: {}", c.name(), stderr(&out));
            assert_eq!(stdout(&out), hooks, "{}: hooks changed", c.name());
            assert!(
                stderr(&out).contains("are Helm hooks (helm.sh/hook): passed through unchanged"),
                "{}",
                stderr(&out)
            );
        }
        // The second call (and `nohooks`' only call): the StatefulSet is there and grows.
        let out = post_render(&objects, c.select);
        assert_eq!(code(&out), 0, "{}: {}", c.name(), stderr(&out));
        assert!(stderr(&out).contains("-> 50Gi"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("passed through"), "{}", stderr(&out));
        // `combined`: the same resize, and the hooks are left alone in it.
        let out = post_render(&combined, c.select);
        assert_eq!(code(&out), 0, "{}: {}", c.name(), stderr(&out));
        let (hooks_after, _) = split_as_separate(&stdout(&out));
        assert_eq!(hooks_after, hooks, "{}", c.name());
    }
    assert!(
        hook_calls > 0,
        "no case has hooks: the hooks call is untested"
    );
}

/// A call without the target that is not hooks-only still fails: one call cannot know what
/// the other holds, and only a hooks-only stream is recognisable exactly.
#[test]
fn a_release_stream_without_the_target_still_fails() {
    let (Some(root), Some(bin)) = (shared_fixtures(), helm42()) else {
        return;
    };
    let helm = Helm::at("helm42", bin);
    let file = install_capture(&helm);
    let (hooks, objects) = split_as_separate(&captured(&helm, &file, &root, &CASES[0]));
    let without: Vec<&str> = objects
        .split("---\n")
        .filter(|d| !d.contains("kind: StatefulSet"))
        .collect();
    let without = without.join("---\n");
    let out = post_render(&without, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("no StatefulSet"), "{}", stderr(&out));
    // One release object among the hooks makes it a combined stream: the target is missing.
    let mixed = format!("{hooks}---\n{}", without.split("---\n").next().unwrap());
    let out = post_render(&mixed, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}
