//! Kubernetes' naming rules (DNS-1123 labels and subdomains, with their length limits), checked
//! before a name goes into a command. Knows no command and no chart.

use crate::fsutil::hinted;

/// Kubernetes' DNS-1123 rules, checked before a name goes into a command.
pub fn check_name(what: &str, name: &str, max: usize, dots: bool) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let ok = name.len() <= max
        && if dots {
            name.split('.').all(label_ok)
        } else {
            label_ok(name)
        };
    if ok {
        Ok(())
    } else {
        Err(hinted(
            format!(
                "{what} {name:?} is not a valid Kubernetes name (DNS-1123: lowercase letters, digits and '-'{}, at most {max} characters); refusing to put it in a command",
                if dots { ", labels joined by '.'" } else { "" }
            ),
            format!(
                "give the {what}'s name as Kubernetes shows it (kubectl get, helm list): lowercase, no '_' or spaces"
            ),
        ))
    }
}
