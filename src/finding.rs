//! One finding model for every command that reports something (`validate`, `check`, and in time
//! `plan` and the post-renderer's diagnostics): a stable id, a severity, a primary place in a file
//! with optional related places, what is wrong, and what to do about it.
//!
//! The library builds findings; `output/` renders them (text, JSON, GitHub workflow commands,
//! SARIF). Nothing here prints.

use crate::yaml::Pos;
use serde::Serialize;
use std::fmt;

/// How much a finding matters. Ordered: `Notice < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a file: 1-based line and column. Columns count characters (Unicode scalar
/// values), as go-yaml's error messages and editors do; a tab is one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file as the user named it (`<stdin>` for standard input; for a `REV:PATH` input,
    /// the PATH from the repository's root).
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// What this place is, for a related location (e.g. `the base value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Location {
    pub fn new(file: impl Into<String>, pos: Pos) -> Location {
        Location {
            file: file.into(),
            line: pos.line,
            column: pos.col,
            label: None,
        }
    }

    pub fn labelled(mut self, label: impl Into<String>) -> Location {
        self.label = Some(label.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One thing a command found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// A stable, kebab-case name of the kind of finding (`shrink`, `unknown-key`, ...). Scripts
    /// and SARIF rules key on it; it never changes meaning.
    pub id: &'static str,
    pub severity: Severity,
    /// The primary place; `None` only when no file is involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Other places that explain the finding (e.g. the base file's value).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Location>,
    /// Where in the data: a dotted values path (`kafka.persistence.size`) or a JSON pointer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What is wrong (or what changes), in one sentence or two.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// True when this finding makes the command exit 1. Set by the command (it depends on
    /// options such as `check --strict`).
    pub blocking: bool,
}

impl Finding {
    /// A finding with no place yet; errors block by default.
    pub fn new(id: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            id,
            severity,
            location: None,
            related: Vec::new(),
            path: None,
            message: message.into(),
            hint: None,
            blocking: severity == Severity::Error,
        }
    }

    pub fn at(mut self, location: Location) -> Finding {
        self.location = Some(location);
        self
    }

    pub fn related(mut self, location: Location) -> Finding {
        self.related.push(location);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Finding {
        self.path = Some(path.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Finding {
        self.hint = Some(hint.into());
        self
    }
}

/// Every finding id with a one-line description (SARIF rules, docs/findings.md). An id not listed here
/// is still rendered, without a description; add new ids here.
pub const IDS: &[(&str, &str)] = &[
    // check
    (
        "grow",
        "A persistence size grows: the PVCs must be grown before `helm upgrade`",
    ),
    (
        "shrink",
        "A persistence size shrinks, which Kubernetes forbids for a PVC",
    ),
    (
        "invalid-size",
        "A persistence size is not a Kubernetes quantity string",
    ),
    (
        "decimal-size",
        "A size changes between binary (Gi) and decimal (G) units",
    ),
    (
        "disable",
        "Persistence is turned off: the pods start on empty disks",
    ),
    (
        "enable",
        "Persistence is turned on: the StatefulSet must be re-created",
    ),
    (
        "immutable",
        "A claim template field changes that Kubernetes doesn't allow to change",
    ),
    (
        "size-removed",
        "A persistence size was removed: the chart's default applies, maybe a shrink",
    ),
    (
        "block-added",
        "A persistence block is now set in the values file",
    ),
    (
        "block-removed",
        "A persistence block was removed from the values file",
    ),
    (
        "replicas-up",
        "The replica count grows: new PVCs are created",
    ),
    (
        "replicas-down",
        "The replica count shrinks: PVCs are left behind",
    ),
    (
        "replicas-set",
        "A replica count is now set where the chart's default applied",
    ),
    (
        "replicas-unset",
        "A replica count is removed: the chart's default applies, and a lower one leaves PVCs behind",
    ),
    (
        "subchart-disabled",
        "A subchart's `enabled` condition turns false: its StatefulSet is deleted and the PVCs orphaned",
    ),
    (
        "condition-not-bool",
        "A subchart's `enabled` is not a boolean: Helm ignores it and renders the subchart",
    ),
    (
        "rename",
        "nameOverride or fullnameOverride renames a StatefulSet: new, empty PVCs; the old ones orphaned",
    ),
    // check on two renders (`--base-manifests` / `--head-manifests`)
    (
        "claim-template-changed",
        "A StatefulSet claim template changes (labels, storage class, access modes...): a migration, not an upgrade",
    ),
    (
        "attributes-class",
        "A claim template's volumeAttributesClassName changes to another class: frozen in the StatefulSet like its size (`spec: Forbidden`), so it needs the plan's procedure",
    ),
    (
        "kruise-grow",
        "An OpenKruise Advanced StatefulSet's claim template grows: accepted in place; its controller grows the PVCs only with volumeClaimUpdateStrategy OnPodRollingUpdate",
    ),
    (
        "kruise-claim-template-refused",
        "An OpenKruise Advanced StatefulSet's claim template changes other than its size under OnPodRollingUpdate, which its webhook refuses",
    ),
    (
        "kruise-claim-template-changed",
        "An OpenKruise Advanced StatefulSet's claim template changes: accepted, but existing PVCs keep what they have",
    ),
    (
        "kruise-spec-field",
        "An OpenKruise Advanced StatefulSet's spec field outside its webhook's mutable ones changes",
    ),
    (
        "kruise-statefulset",
        "plan: the target is an OpenKruise Advanced StatefulSet whose PVCs this plan can't grow (its controller would not roll the pods: partition, paused, updateStrategy OnDelete under OnPodRollingUpdate; a strategy unknown or on v1alpha1; with --volume-attributes-class)",
    ),
    (
        "kruise-procedure",
        "plan: the target is an OpenKruise Advanced StatefulSet: updated in place by the upgrade (no orphan delete), its PVCs grown after it by its controller (OnPodRollingUpdate) or the script",
    ),
    (
        "claim-template-added",
        "A StatefulSet gains a claim template, which Kubernetes forbids on update",
    ),
    (
        "claim-template-removed",
        "A StatefulSet loses a claim template, which Kubernetes forbids on update",
    ),
    (
        "selector",
        "A StatefulSet's selector changes, which Kubernetes forbids",
    ),
    (
        "service-name",
        "A StatefulSet's serviceName changes, which Kubernetes forbids",
    ),
    (
        "pod-management-policy",
        "A StatefulSet's podManagementPolicy changes, which Kubernetes forbids",
    ),
    (
        "spec-field",
        "Another StatefulSet spec field outside the mutable ones changes",
    ),
    (
        "revision-history-limit",
        "A StatefulSet's revisionHistoryLimit changes: Kubernetes refuses it before 1.35 (an error for --kubernetes-version 1.30-1.34, a notice from 1.35)",
    ),
    (
        "quota-exceeded",
        "A namespace ResourceQuota (requests.storage, or <class>.storageclass.storage.k8s.io/requests.storage) would refuse the PVC grow",
    ),
    (
        "limitrange-exceeded",
        "A namespace LimitRange's PersistentVolumeClaim max.storage is below the new size",
    ),
    (
        "volume-claim-update-strategy",
        "A render sets KEP-4650's volumeClaimUpdateStrategy (or the older draft's volumeClaimUpdatePolicy): in no Kubernetes release; servers without the gate drop it",
    ),
    (
        "ordinals-gated",
        "A StatefulSet's ordinals.start changes on Kubernetes 1.30, where only the StatefulSetStartOrdinal feature gate makes it mutable",
    ),
    (
        "statefulset-removed",
        "A StatefulSet is gone from the new render: its PVCs are left behind",
    ),
    (
        "statefulset-added",
        "A StatefulSet is new in the new render",
    ),
    // plan (`shrink` and `decimal-size` as for check)
    (
        "chart-pinned",
        "The upgrade pins the chart version of the render",
    ),
    (
        "chart-version-unknown",
        "The chart version to pin is not known",
    ),
    (
        "kube-context-unnamed",
        "No --kube-context: the commands show CONTEXT, and the script needs it named",
    ),
    (
        "helm4-post-renderer",
        "Under Helm 4 any post-renderer re-serialises the whole release",
    ),
    (
        "storageclass-unknown",
        "The StorageClass's allowVolumeExpansion is not known",
    ),
    (
        "storageclass-expands",
        "The StorageClass allows volume expansion",
    ),
    (
        "storageclass-no-expansion",
        "The StorageClass does not allow volume expansion: the PVC patch would be refused",
    ),
    ("cloud-notes", "How the clouds' disks differ when grown"),
    (
        "cloud-ebs",
        "AWS EBS: one modification per volume every 6 hours",
    ),
    (
        "cloud-azure-disk",
        "Azure Disk may refuse to grow an attached disk",
    ),
    ("cloud-gce", "GCE PD rounds sizes up to whole GiB"),
    (
        "pvc-beyond-replicas",
        "A PVC beyond the replica count (left by a scale-down) is grown too",
    ),
    (
        "pvc-below-ordinals",
        "A PVC below the StatefulSet's ordinals.start: no pod uses it; left alone",
    ),
    (
        "ordinals-differ",
        "The live StatefulSet's ordinals.start differs from the render's: re-created, it would move the pods",
    ),
    (
        "replicas-differ",
        "The live StatefulSet's replicas differ from the render's: re-created, it would delete or add pods",
    ),
    (
        "values-path-differs",
        "--path is not the values path the chart's layout sizes the StatefulSet by",
    ),
    (
        "values-path-proven",
        "The chart reads the claim's size from this values path: found in the chart and proven with helm template",
    ),
    (
        "values-path-not-read",
        "--path is not the path the chart reads for the claim (the chart's own path is proven with helm template)",
    ),
    (
        "values-path-unproven",
        "No values path of the chart is proven to size the claim alone: the plan can't change it by values",
    ),
    (
        "values-path-unknown",
        "The claim's chart is not in the built-in table and the chart is not at hand: the values path can't be told",
    ),
    (
        "chart-render-failed",
        "Helm can't render the chart given with --chart, so no values path can be proven",
    ),
    (
        "values-path-sizes-another",
        "--path sizes another StatefulSet of the render, or another claim of a target: the upgrade would fail or grow the wrong claim",
    ),
    (
        "values-paths-differ",
        "The StatefulSets are sized by different values paths: one plan per path",
    ),
    (
        "pvc-missing",
        "A PVC of the StatefulSet is not in the cluster snapshot",
    ),
    (
        "pvc-not-bound",
        "A PVC is not Bound: only a Bound PVC can be expanded",
    ),
    ("pvc-grown", "A PVC already has the new size or more"),
    (
        "operator-volume",
        "An operator owns claims of the render (a ClickHouseInstallation, a Prometheus, a Strimzi Kafka): how it grows them",
    ),
    (
        "operator-volume-refused",
        "plan --resource: the resource's operator does not grow existing PVCs, or plan can't target it (its procedure is named instead)",
    ),
    (
        "operator-suspended",
        "plan --resource: the ClickHouseInstallation is suspended (spec.suspend), so its operator would never grow the PVCs",
    ),
    (
        "operator-recreates-statefulsets",
        "plan --resource: the ClickHouseInstallation's claim template is in its hosts' StatefulSets, which the operator re-creates one host after another",
    ),
    (
        "pvc-request-above",
        "A PVC the chart renders requests more than the new size: the upgrade would shrink it",
    ),
    (
        "pvc-class-set",
        "A PVC already names the VolumeAttributesClass of --volume-attributes-class: not patched",
    ),
    (
        "attributes-class-exists",
        "The VolumeAttributesClass of --volume-attributes-class is in the cluster snapshot",
    ),
    (
        "attributes-class-missing",
        "The VolumeAttributesClass of --volume-attributes-class is not in a snapshot that lists others: PVCs naming it would wait for ever",
    ),
    (
        "attributes-class-unknown",
        "Whether the VolumeAttributesClass exists is not known (no snapshot of VolumeAttributesClasses); the script's preflight checks it",
    ),
    (
        "attributes-class-not-in-values",
        "The chart renders no volumeAttributesClassName from .Values (or no local chart says): only the post-renderer form can set it",
    ),
    (
        "attributes-class-path-proven",
        "The values path of the claim template's volumeAttributesClassName, read in the chart's template and proven by Helm",
    ),
    (
        "attributes-class-path-unproven",
        "--volume-attributes-class-path is taken as given (no local chart proves it); the script's dry run proves it before any change",
    ),
    (
        "log-retention",
        "Kafka's retention bytes exceed the new disk",
    ),
    ("render-at-size", "The render already asks for the new size"),
    (
        "retention-delete",
        "whenScaled: Delete: scaling to 0 would delete the PVCs",
    ),
    // validate
    (
        "unknown-key",
        "A key the schema doesn't allow (often a misspelling)",
    ),
    ("missing-key", "A key the schema requires is absent"),
    ("wrong-type", "A value of the wrong type"),
    (
        "invalid-quantity",
        "A storage size that is not a Kubernetes quantity",
    ),
    ("invalid-value", "A value outside what the schema allows"),
    ("schema", "A value that breaks another rule of the schema"),
    // validate, check: inputs that can't be read (exit status 2)
    ("invalid-yaml", "The file is not YAML that Helm can read"),
    (
        "multiple-documents",
        "A values file holds more than one YAML document",
    ),
    (
        "empty-manifests",
        "A manifest stream with no Kubernetes object (post-render refuses it)",
    ),
    // advise
    (
        "usage-above-target",
        "A volume passes the target usage within the horizon (or is above it): grow its claim",
    ),
    (
        "inodes-exhausted",
        "A volume runs out of inodes while bytes are free: growing the disk may not help",
    ),
    (
        "values-drift",
        "The values, render or live StatefulSet size a claim smaller than its largest live PVC",
    ),
    (
        "size-at-max",
        "The size the policy needs is above --max: the proposal stops at --max",
    ),
    (
        "pvc-no-metrics",
        "No metrics name this PVC: not mounted, or its node's metrics are missing",
    ),
    (
        "metrics-reset",
        "A volume's usage starts over (fell by more than half, or the filesystem shrank)",
    ),
    (
        "metrics-unknown-pvc",
        "The metrics name a PVC that the snapshot does not hold",
    ),
    (
        "metrics-not-this-pvc",
        "The metrics show a filesystem larger than the PVC: readings of another volume",
    ),
    // values: the refusals of the editor (`pvc-resize: error[ID]: ...`)
    (
        "values-edit-unreadable",
        "`values`: the edited file would not read as Helm reads it (nothing written)",
    ),
    (
        "values-edit-misplaced",
        "`values`: the edit would not land on the path (an unusual layout)",
    ),
    (
        "values-persistence-schema",
        "`values`: the edited persistence block fails the persistence schema",
    ),
    (
        "values-path-ignored",
        "`values`: the file's chart ignores the path, so inserting it would change nothing",
    ),
    (
        "values-block-scalar",
        "`values`: the value at the path is a block scalar (| or >), not a size",
    ),
    (
        "values-target-collection",
        "`values`: the value at the path is a mapping or a list, not a size",
    ),
    (
        "values-shrink",
        "`values`: the new size is smaller than the current one",
    ),
    (
        "values-anchor-on-path",
        "`values`: a value on the path is anchored (&) and reused by an alias",
    ),
    (
        "values-alias-on-path",
        "`values`: the path goes through a YAML alias (*)",
    ),
    (
        "values-merge-on-path",
        "`values`: the value on the path comes from a merge key (<<)",
    ),
    (
        "values-parent-null",
        "`values`: a parent of the path is null",
    ),
    (
        "values-root-null",
        "`values`: the document is a null, with no mapping to add keys to",
    ),
    (
        "values-parent-not-mapping",
        "`values`: a parent of the path is not a mapping",
    ),
    (
        "values-no-insert-place",
        "`values`: no place to insert the key that leaves a block scalar unchanged",
    ),
    (
        "yaml-bare-cr",
        "A values file has bare CR line breaks, which the editor does not write",
    ),
    (
        "yaml-control-character",
        "A control character (NUL, DEL, ...) where Helm's reader refuses it, even after a `...`",
    ),
    (
        "yaml-helm4-separator",
        "A `---` line with text after it, which Helm 4 refuses in a values file",
    ),
    (
        "yaml-multiple-documents",
        "A values file holds several documents with data (Helm 3 and 4 read them differently)",
    ),
    (
        "yaml-helm-refuses",
        "A values file's data Helm would refuse (a tag it can't decode, an infinity, ...)",
    ),
    (
        "yaml-directive",
        "A %YAML or %TAG directive (Helm 3 and 4 differ)",
    ),
    (
        "yaml-unknown-escape",
        "An escape Helm's YAML reader and YAML 1.2 read differently",
    ),
    (
        "yaml-line-separator",
        "A raw U+2028, U+2029 or U+0085, a line break for Helm's YAML reader",
    ),
    ("yaml-duplicate-key", "A mapping has a key twice"),
    (
        "yaml-tag-glued",
        "A tag directly followed by `,` `[` `]`, which Helm's YAML reader reads into the tag",
    ),
    (
        "yaml-colon-glued",
        "A `:` directly followed by `,` `}` `]` in a flow collection, which Helm's YAML reader keeps in the text",
    ),
];

/// The description of a finding id, if the catalogue knows it.
pub fn describe(id: &str) -> Option<&'static str> {
    IDS.iter().find(|(i, _)| *i == id).map(|(_, d)| *d)
}

/// The plain form used for errors on stderr: `FILE:LINE:COL: message`, then `  hint: ...`.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// The findings of one run of one command, and what the command wants said about the run.
#[derive(Debug, Clone)]
pub struct Report {
    /// The subcommand: `validate`, `check`, ...
    pub command: &'static str,
    pub findings: Vec<Finding>,
    /// Command-specific fields for the JSON report (`base`, `head`, `strict`, counts ...).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn new(command: &'static str, findings: Vec<Finding>) -> Report {
        Report {
            command,
            findings,
            details: serde_json::Map::new(),
        }
    }

    /// True when a finding blocks: the exit status is 1.
    pub fn blocking(&self) -> bool {
        self.findings.iter().any(|f| f.blocking)
    }

    /// How many findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_blocking() {
        let f = Finding::new("shrink", Severity::Error, "smaller")
            .at(Location::new("v.yaml", Pos { line: 3, col: 11 }))
            .related(Location::new("base.yaml", Pos { line: 2, col: 9 }).labelled("was"))
            .hint("keep it");
        assert!(f.blocking);
        assert_eq!(f.location.as_ref().unwrap().to_string(), "v.yaml:3:11");
        let notice = Finding::new("grow", Severity::Notice, "bigger");
        assert!(!notice.blocking);
        let r = Report::new("check", vec![f, notice]);
        assert!(r.blocking());
        assert_eq!(
            (r.count(Severity::Error), r.count(Severity::Notice)),
            (1, 1)
        );
        assert!(Severity::Notice < Severity::Warning && Severity::Warning < Severity::Error);
    }
}
