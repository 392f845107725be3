//! The render an upgrade would apply, checked before the first change: the `MANIFEST:` that
//! `helm upgrade --dry-run` prints (Helm 3 and 4 print the release the same way: `HOOKS:`, then
//! `MANIFEST:`, then `NOTES:`), compared with the release's manifest (`helm get manifest`): every
//! target claim template at the new size, every other claim as it was.

use super::prove::{self, ClaimId};
use crate::k8s::quantity::Quantity;

/// The manifest part of `helm upgrade --dry-run` output: from the line `MANIFEST:` to the line
/// `NOTES:` (or the end).
pub fn dry_run_manifest(out: &str) -> Option<&str> {
    let start = out
        .match_indices("MANIFEST:\n")
        .find(|(i, _)| *i == 0 || out.as_bytes()[i - 1] == b'\n')
        .map(|(i, m)| i + m.len())?;
    let rest = &out[start..];
    let end = rest
        .match_indices("\nNOTES:\n")
        .next()
        .map_or(rest.len(), |(i, _)| i + 1);
    Some(&rest[..end])
}

fn same(a: &str, b: &str) -> bool {
    a == b || matches!((Quantity::parse(a), Quantity::parse(b)), (Ok(x), Ok(y)) if x == y)
}

/// What is wrong with the targets' `volumeAttributesClassName` in `new`: each must name `class`.
pub fn class_problems(new: &str, targets: &[ClaimId], class: &str) -> Result<Vec<String>, String> {
    let render = prove::read(new)?;
    Ok(targets
        .iter()
        .filter_map(|t| {
            let now = super::paths::class_of(&render, t);
            (now != Some(class)).then(|| {
                format!(
                    "{t} names VolumeAttributesClass {} in the upgrade's render, not {class}",
                    now.unwrap_or("(none)")
                )
            })
        })
        .collect())
}

/// What is wrong with `new` against `base` for the targets at `size`; empty when nothing is.
pub fn problems(
    base: &str,
    new: &str,
    targets: &[ClaimId],
    size: &str,
) -> Result<Vec<String>, String> {
    let before = prove::all_claims(&prove::read(base)?);
    let after = prove::all_claims(&prove::read(new)?);
    let mut out = Vec::new();
    for t in targets {
        match after.get(t) {
            Some(s) if same(s, size) => {}
            Some(s) => out.push(format!("{t} is at {s} in the upgrade's render, not {size}")),
            None => out.push(format!("the upgrade's render has no {t}")),
        }
    }
    for (c, s) in &after {
        if targets.contains(c) {
            continue;
        }
        match before.get(c) {
            Some(old) if same(old, s) => {}
            Some(old) => out.push(format!("{c} would change from {old} to {s}")),
            None => out.push(format!("{c} ({s}) is new in the upgrade's render")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(name: &str, size: &str) -> String {
        format!(
            "---\n# Source: c/templates/{name}.yaml\nkind: StatefulSet\nmetadata:\n  name: {name}\nspec:\n  volumeClaimTemplates:\n    - metadata:\n        name: data\n      spec:\n        resources:\n          requests:\n            storage: {size}\n"
        )
    }

    #[test]
    fn the_manifest_of_a_dry_run_and_its_claims() {
        let out = format!(
            "Release \"r\" has been upgraded. Happy Helming!\nNAME: r\nSTATUS: pending-upgrade\nHOOKS:\n---\n# Source: c/templates/hook.yaml\nkind: Job\nmetadata:\n  name: j\nMANIFEST:\n{}{}\nNOTES:\nthanks\n",
            sts("a", "50Gi"),
            sts("b", "8Gi")
        );
        let m = dry_run_manifest(&out).unwrap();
        assert!(
            m.starts_with("---\n# Source: c/templates/a.yaml") && m.ends_with("storage: 8Gi\n\n"),
            "{m:?}"
        );
        let base = format!("{}{}", sts("a", "20Gi"), sts("b", "8Gi"));
        let a = ClaimId {
            object: "StatefulSet/a".into(),
            claim: "data".into(),
        };
        let b = ClaimId {
            object: "StatefulSet/b".into(),
            claim: "data".into(),
        };
        assert!(
            problems(&base, m, std::slice::from_ref(&a), "51200Mi")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            problems(&base, m, std::slice::from_ref(&b), "50Gi").unwrap(),
            [
                "StatefulSet/b claim data is at 8Gi in the upgrade's render, not 50Gi",
                "StatefulSet/a claim data would change from 20Gi to 50Gi"
            ]
        );
        assert_eq!(dry_run_manifest("NAME: r\n"), None);
    }
}
