//! What differs between Kubernetes minor versions for a StatefulSet update: the fields
//! `ValidateStatefulSetUpdate` (kubernetes `pkg/apis/apps/validation/validation.go`) copies from
//! the old object before it compares, i.e. the fields an update may change.
//!
//! Per version, with the source each rule rests on:
//! - 1.25 and later: `replicas`, `template`, `updateStrategy`, `minReadySeconds`,
//!   `persistentVolumeClaimRetentionPolicy` (validation.go from v1.25; the `spec: Forbidden`
//!   message lists them).
//! - `ordinals`: copied only when the feature gate `StatefulSetStartOrdinal` is on up to 1.30
//!   (alpha 1.26, beta and on by default 1.27-1.30), unconditionally from 1.31 (GA; the gate is
//!   gone from validation.go, whose message lists 'ordinals').
//! - `revisionHistoryLimit`: refused by 1.31 (kubernetes#130263: a 1.31.4 API server's message
//!   lacks it) and by 1.33.0 (CHANGELOG-1.33.md: only #129017, which refuses negative values, and
//!   #129301 touch it); listed as mutable by 1.35 and 1.36 API servers (their message reads
//!   `'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit',
//!   'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds'`). 1.34 is not pinned by a
//!   source read here: it is treated as refusing, the safe side (a change it would accept is
//!   reported, never the reverse).
//! - Claim templates: immutable in every version, `volumeAttributesClassName` included
//!   (VolumeAttributesClass beta 1.31, GA 1.34); KEP-4650 (`volumeClaimUpdateStrategy`) is in
//!   no release.

/// A Kubernetes minor version `1.N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion {
    pub minor: u32,
}

/// The oldest minor with known rules.
pub const OLDEST: u32 = 30;
/// The newest minor with known rules; newer ones are read with its rules (and said so).
pub const NEWEST: u32 = 36;
/// The oldest minor supported upstream on 2026-12-07: 1.34 reached its end of life on
/// 2026-10-27, 1.35 reaches it on 2027-02-28 (kubernetes.io/releases/1.34, /1.35).
pub const DEFAULT: &str = "1.35";
/// The first minor whose API server lets `revisionHistoryLimit` change (see the module doc).
pub const REVISION_HISTORY_MUTABLE_FROM: u32 = 35;
/// The first minor where `ordinals` is mutable without a feature gate (StatefulSetStartOrdinal GA).
pub const ORDINALS_GA: u32 = 31;

impl KubeVersion {
    /// Reads `1.35`, `v1.35.6`, `1.35.6-eks-abc` or a `kubectl version -o json` minor such as
    /// `35+`. Err says what was expected.
    pub fn parse(text: &str) -> Result<KubeVersion, String> {
        let t = text.trim().trim_start_matches('v');
        let minor = t
            .strip_prefix("1.")
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .filter(|m| !m.is_empty())
            .and_then(|m| m.parse::<u32>().ok())
            .ok_or_else(|| {
                format!("{text:?} is not a Kubernetes version (expected 1.N, e.g. {DEFAULT})")
            })?;
        if minor < OLDEST {
            return Err(format!(
                "Kubernetes 1.{minor} is older than the rules this tool knows (1.{OLDEST} to 1.{NEWEST})"
            ));
        }
        Ok(KubeVersion { minor })
    }

    /// The minor from `kubectl version -o json` (`serverVersion.major`/`minor`, read as JSON).
    pub fn from_kubectl_json(json: &str) -> Result<KubeVersion, String> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| format!("`kubectl version -o json` is not JSON: {e}"))?;
        let server = v
            .get("serverVersion")
            .ok_or("`kubectl version -o json` has no serverVersion (no cluster reached?)")?;
        let field = |k: &str| server.get(k).and_then(serde_json::Value::as_str);
        match (field("major"), field("minor")) {
            (Some("1"), Some(minor)) => KubeVersion::parse(&format!("1.{minor}")),
            _ => match field("gitVersion") {
                Some(git) => KubeVersion::parse(git),
                None => Err("serverVersion has neither major/minor nor gitVersion".into()),
            },
        }
    }

    /// True when an update may change `revisionHistoryLimit`.
    pub fn revision_history_limit_mutable(self) -> bool {
        self.minor >= REVISION_HISTORY_MUTABLE_FROM
    }

    /// True when `ordinals` may change only with the StatefulSetStartOrdinal gate on.
    pub fn ordinals_gated(self) -> bool {
        self.minor < ORDINALS_GA
    }

    /// Newer than the newest version whose rules are known.
    pub fn beyond_known(self) -> bool {
        self.minor > NEWEST
    }

    /// The spec fields an update may change, as the API server's message lists them.
    pub fn mutable_fields(self) -> Vec<&'static str> {
        let mut f = vec!["replicas", "ordinals", "template", "updateStrategy"];
        if self.revision_history_limit_mutable() {
            f.push("revisionHistoryLimit");
        }
        f.extend(["persistentVolumeClaimRetentionPolicy", "minReadySeconds"]);
        f
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_spellings_of_a_version() {
        for (text, minor) in [
            ("1.35", 35),
            ("v1.31.4", 31),
            ("1.33.2-eks-a1b2c3", 33),
            (" 1.36 ", 36),
            ("1.40", 40),
        ] {
            assert_eq!(
                KubeVersion::parse(text),
                Ok(KubeVersion { minor }),
                "{text}"
            );
        }
        for bad in ["", "1", "2.1", "1.x", "latest", "1.29"] {
            assert!(KubeVersion::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(KubeVersion::parse(DEFAULT).unwrap().minor, 35);
    }

    #[test]
    fn reads_kubectl_version_json() {
        let eks = r#"{"clientVersion":{"major":"1","minor":"36"},"serverVersion":{"major":"1","minor":"31+","gitVersion":"v1.31.4-eks-2d5f260"}}"#;
        assert_eq!(KubeVersion::from_kubectl_json(eks).unwrap().minor, 31);
        let git_only = r#"{"serverVersion":{"gitVersion":"v1.35.6"}}"#;
        assert_eq!(KubeVersion::from_kubectl_json(git_only).unwrap().minor, 35);
        let client_only = r#"{"clientVersion":{"major":"1","minor":"36"}}"#;
        assert!(KubeVersion::from_kubectl_json(client_only).is_err());
        assert!(KubeVersion::from_kubectl_json("Client Version: v1.36.0").is_err());
    }

    #[test]
    fn the_allow_list_of_each_version() {
        let at = |m| KubeVersion { minor: m };
        for m in 30..=34 {
            assert!(!at(m).revision_history_limit_mutable(), "1.{m}");
            assert!(!at(m).mutable_fields().contains(&"revisionHistoryLimit"));
        }
        for m in 35..=36 {
            assert!(at(m).revision_history_limit_mutable(), "1.{m}");
        }
        assert!(at(30).ordinals_gated() && !at(31).ordinals_gated());
        assert_eq!(
            at(35).mutable_fields().join(", "),
            "replicas, ordinals, template, updateStrategy, revisionHistoryLimit, persistentVolumeClaimRetentionPolicy, minReadySeconds"
        );
    }
}
