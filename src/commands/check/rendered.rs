//! `check --chart` on values files: the chart rendered by Helm with each side's values, and the
//! two renders compared by the StatefulSet update rules of the Kubernetes version at hand (what
//! `check` does on two renders). It tells, for any chart, what no table of layouts can: a
//! StatefulSet that the head's values remove or rename, a claim template's class or access mode,
//! a spec field Kubernetes forbids to change. It must not report the sizes again: those are
//! compared value by value, at the value's own line.

use super::{Finding, Location, Side};
use crate::k8s::update_rules;
use crate::k8s::versions::KubeVersion;
use crate::yaml::Pos;

/// The two renders of the chart, and what made them.
pub struct Renders<'a> {
    /// The chart as the user named it (`--chart`).
    pub chart: &'a str,
    /// The release name both were rendered with.
    pub release: &'a str,
    pub base: &'a str,
    pub head: &'a str,
    /// Each proven size path and the object (`Kind/name`) whose claim it sizes.
    pub owners: &'a [(String, String)],
}

/// The ids of the value-by-value comparison that speak for a whole persistence block: a claim
/// template finding of the renders on that block's StatefulSet says the same thing again.
const BLOCK_IDS: [&str; 6] = [
    "disable",
    "enable",
    "immutable",
    "block-added",
    "block-removed",
    "size-removed",
];

/// The values comparison `by_values` with the renders' findings merged in, each placed at the
/// head file (a render is Helm's output, not a file the user can open). What both say once:
/// a size or a block's claim template by the value, at its line; a StatefulSet that the head's
/// values remove by the render (a block's `enabled: false` then removes more than a volume).
pub fn merge(
    base: &Side,
    head: &Side,
    r: &Renders,
    version: KubeVersion,
    mut by_values: Vec<Finding>,
) -> Result<Vec<Finding>, String> {
    let names = (BASE_RENDER, HEAD_RENDER);
    let compared = update_rules::compare_chart_renders(r.base, r.head, names, version)?;
    let covered = statefulsets_of_blocks(&by_values, &BLOCK_IDS, r.owners);
    let place = head
        .tree
        .as_ref()
        .map_or(Pos { line: 1, col: 1 }, |t| t.pos);
    let rendered: Vec<Finding> = compared
        .findings
        .into_iter()
        .filter(|f| !matches!(f.id, "grow" | "shrink" | "invalid-size"))
        .filter(|f| {
            !(f.id.starts_with("claim-template-")
                && statefulset_of(f).is_some_and(|s| covered.iter().any(|c| c == s)))
        })
        .map(|mut f| {
            f.message = format!(
                "{} (the chart {} rendered by `helm template {}` with each side's values)",
                f.message, r.chart, r.release
            );
            f.location = Some(Location::new(&head.name, place));
            f.related.clear();
            f.hint = f.hint.map(|h| this_check(&h, base, head, r));
            f
        })
        .collect();
    let removed: Vec<&str> = rendered
        .iter()
        .filter(|f| f.id == "statefulset-removed")
        .filter_map(statefulset_of)
        .collect();
    by_values.retain(|f| {
        f.id != "disable"
            || statefulsets_of_blocks(std::slice::from_ref(f), &["disable"], r.owners)
                .iter()
                .all(|s| !removed.contains(&s.as_str()))
    });
    by_values.extend(rendered);
    Ok(by_values)
}

/// The names the renders are compared under; a hint that gives the render check's command is
/// given this check's command instead.
const BASE_RENDER: &str = "RENDERED.yaml";
const HEAD_RENDER: &str = "HEAD-RENDERED.yaml";

/// `hint` with the render check's command (`--allow-removed`'s) as this check on values files.
fn this_check(hint: &str, base: &Side, head: &Side, r: &Renders) -> String {
    let q = crate::shell::shell_quote;
    let renders =
        format!("pvc-resize check --base-manifests {BASE_RENDER} --head-manifests {HEAD_RENDER}");
    let mut values = format!(
        "pvc-resize check --base {} --head {} --chart {}",
        q(&base.name),
        q(&head.name),
        q(r.chart)
    );
    if r.release != "release" {
        values.push_str(&format!(" --release {}", q(r.release)));
    }
    hint.replace(&renders, &values)
}

/// The StatefulSets (names) whose persistence block a values finding of one of `ids` speaks for.
fn statefulsets_of_blocks(
    by_values: &[Finding],
    ids: &[&str],
    owners: &[(String, String)],
) -> Vec<String> {
    let mut out = Vec::new();
    for f in by_values.iter().filter(|f| ids.contains(&f.id)) {
        let Some(path) = f.path.as_deref() else {
            continue;
        };
        for (size_path, object) in owners {
            let block = size_path.rsplit_once('.').map_or("", |(b, _)| b);
            let inside = path == block || path.starts_with(&format!("{block}."));
            if let Some(name) = object.strip_prefix("StatefulSet/")
                && inside
                && !out.iter().any(|o| o == name)
            {
                out.push(name.to_owned());
            }
        }
    }
    out
}

/// The StatefulSet a render finding is about (its path reads `StatefulSet/NAME spec...`).
fn statefulset_of(f: &Finding) -> Option<&str> {
    let path = f.path.as_deref()?.strip_prefix("StatefulSet/")?;
    Some(path.split(' ').next().unwrap_or(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(name: &str, text: &str) -> Side {
        Side::parse(name, text).unwrap()
    }

    const STS: &str = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: NAME\nspec:\n  serviceName: SVC\n  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n      labels: {app: a}\n    spec:\n      containers: [{name: c, image: i}]\n  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [MODE]\n      resources:\n        requests:\n          storage: SIZE\n";

    fn sts(name: &str, svc: &str, mode: &str, size: &str) -> String {
        STS.replace("NAME", name)
            .replace("SVC", svc)
            .replace("MODE", mode)
            .replace("SIZE", size)
    }

    fn run(
        base: &str,
        head: &str,
        by_values: &[Finding],
        owners: &[(String, String)],
    ) -> Vec<Finding> {
        let r = Renders {
            chart: "chart",
            release: "rel",
            base,
            head,
            owners,
        };
        let (b, h) = (
            side("base.yaml", "a: 1\n"),
            side("head.yaml", "a:\n  b: 1\n"),
        );
        merge(&b, &h, &r, KubeVersion { minor: 35 }, by_values.to_vec()).unwrap()
    }

    #[test]
    fn a_removed_statefulset_and_a_spec_field_are_told_at_the_head_file() {
        let base = format!(
            "{}---\n{}",
            sts("db", "svc", "ReadWriteOnce", "8Gi"),
            sts("cache", "c", "ReadWriteOnce", "1Gi")
        );
        let head = sts("db", "other", "ReadWriteOnce", "16Gi");
        let f = run(&base, &head, &[], &[]);
        let ids: Vec<&str> = f.iter().map(|f| f.id).collect();
        assert!(ids.contains(&"statefulset-removed"), "{ids:?}");
        assert!(ids.contains(&"service-name"), "{ids:?}");
        let removed = f.iter().find(|f| f.id == "statefulset-removed").unwrap();
        assert!(
            removed.hint.as_ref().unwrap().contains(
                "`pvc-resize check --base base.yaml --head head.yaml --chart chart --release rel --allow-removed cache`"
            ),
            "{:?}",
            removed.hint
        );
        // The size is the values comparison's: never said twice.
        assert!(!ids.contains(&"grow"), "{ids:?}");
        for x in &f {
            let l = x.location.as_ref().unwrap();
            assert_eq!((l.file.as_str(), l.line), ("head.yaml", 1));
            assert!(x.related.is_empty());
            assert!(x.message.ends_with(
                "(the chart chart rendered by `helm template rel` with each side's values)"
            ));
        }
    }

    #[test]
    fn a_head_that_renders_nothing_removes_every_statefulset() {
        let f = run(&sts("db", "svc", "ReadWriteOnce", "8Gi"), "", &[], &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].id, "statefulset-removed");
    }

    #[test]
    fn a_block_disabled_with_its_statefulset_is_the_render_s_removal() {
        let owners = vec![("cache.size".to_owned(), "StatefulSet/db".to_owned())];
        let said =
            Finding::new("disable", super::super::Severity::Error, "m").path("cache.enabled");
        let f = run(
            &sts("db", "s", "ReadWriteOnce", "8Gi"),
            "",
            &[said],
            &owners,
        );
        assert_eq!(
            f.iter().map(|f| f.id).collect::<Vec<_>>(),
            ["statefulset-removed"]
        );
    }

    #[test]
    fn a_claim_template_change_is_dropped_only_where_a_block_finding_speaks_for_it() {
        let base = sts("db", "svc", "ReadWriteOnce", "8Gi");
        let head = sts("db", "svc", "ReadWriteMany", "8Gi");
        let f = run(&base, &head, &[], &[]);
        assert_eq!(
            f.iter()
                .filter(|f| f.id == "claim-template-changed")
                .count(),
            1
        );
        let owners = vec![(
            "primary.persistence.size".to_owned(),
            "StatefulSet/db".to_owned(),
        )];
        let said = Finding::new("immutable", super::super::Severity::Error, "m")
            .path("primary.persistence.accessModes");
        let merged = run(&base, &head, std::slice::from_ref(&said), &owners);
        assert_eq!(
            merged.iter().map(|f| f.id).collect::<Vec<_>>(),
            ["immutable"]
        );
        // A block of another StatefulSet does not hide it.
        let other = vec![(
            "replica.persistence.size".to_owned(),
            "StatefulSet/other".to_owned(),
        )];
        let said = said.path("replica.persistence.accessModes");
        assert_eq!(run(&base, &head, &[said], &other).len(), 2);
    }
}
