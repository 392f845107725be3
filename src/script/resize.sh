# shellcheck shell=bash
# The fixed logic of the resize script written by `pvc-resize plan --format script`.
#
# This file is reviewed as it is: the tool prepends only a header of quoted data (RELEASE, NAMESPACE,
# CONTEXT, CHART, CHART_VERSION, SIZE, the StatefulSets (with their replicas, the render's replicas and
# ordinals.start) and PVCs as arrays, the upgrade command as an
# array, and PREFLIGHT/STEPS, the ids of the checks and steps in the plan's order). Every step below is
# idempotent: run again after any failure or kill, the script skips what is done and resumes.
#
# Guarantees:
#   - every kubectl call names the context (--context) and the namespace; every helm call --kube-context;
#   - every preflight check is read-only and runs before the first change; any failure exits non-zero
#     with nothing changed (the scratch files live in WORK_DIR);
#   - a PVC request only grows, a PVC is never deleted, a pod is deleted only while a StatefulSet owns it;
#   - the StatefulSet object is saved to WORK_DIR before the orphan delete, and the upgrade that
#     re-creates it follows immediately; if it fails, the script prints how to put the object back;
#   - "done" is printed only when every PVC's capacity (in bytes) and every pod's filesystem (df) have
#     reached the new size.
set -euo pipefail
shopt -s inherit_errexit

WAIT_SECONDS="${PVC_RESIZE_WAIT_SECONDS:-900}"
POLL_SECONDS="${PVC_RESIZE_POLL_SECONDS:-10}"
# How long a FileSystemResizePending may last on a running pod before the pod is restarted (drivers that
# expand online clear it themselves within a minute or two).
PENDING_GRACE_SECONDS="${PVC_RESIZE_PENDING_GRACE_SECONDS:-120}"
# The preflight's waits (a pod becoming Ready before anything changes) are short: a pod that is not
# Ready within a minute is a reason to stop, said at once, not after WAIT_SECONDS.
PREFLIGHT_WAIT_SECONDS="${PVC_RESIZE_PREFLIGHT_WAIT_SECONDS:-60}"
# A wait says how it goes every PROGRESS_SECONDS (elapsed time, and what it still waits for).
PROGRESS_SECONDS="${PVC_RESIZE_PROGRESS_SECONDS:-10}"
# A grown filesystem reports at least this share of the new size (ext4 and XFS keep 1-3% for metadata).
FS_MIN_PERCENT=95
FALLBACK=0
RELEASE_STATUS=unknown # set by check_release

# Whole seconds, checked before anything (a typo such as 15m would stop the script midway).
for setting in PVC_RESIZE_WAIT_SECONDS:"$WAIT_SECONDS" PVC_RESIZE_POLL_SECONDS:"$POLL_SECONDS" \
  PVC_RESIZE_PENDING_GRACE_SECONDS:"$PENDING_GRACE_SECONDS" PVC_RESIZE_PREFLIGHT_WAIT_SECONDS:"$PREFLIGHT_WAIT_SECONDS" \
  PVC_RESIZE_PROGRESS_SECONDS:"$PROGRESS_SECONDS"; do
  [[ "${setting#*:}" =~ ^(0|[1-9][0-9]{0,8})$ ]] ||
    { printf 'pvc-resize: %s must be a whole number of seconds, not %q\n' "${setting%%:*}" "${setting#*:}" >&2; exit 2; }
done

# The flag only where the plan offers the fallback (NO_FALLBACK empty; else the header refuses it).
usage() {
  if [ -n "${NO_FALLBACK:-}" ]; then
    printf 'usage: bash %s\n  (no --fallback-scale-to-zero: %s)\n' "$0" "$NO_FALLBACK" >&2
    return
  fi
  cat >&2 <<EOF
usage: bash $0 [--fallback-scale-to-zero]
  --fallback-scale-to-zero  scale the StatefulSets to 0 around the PVC patches, for clouds that can't
                            grow an attached disk (Azure Disk); the pods are down meanwhile
EOF
}
case "${1:-}" in
  --fallback-scale-to-zero) FALLBACK=1 ;;
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac

K=(kubectl "--context=$CONTEXT" "--namespace=$NAMESPACE")
H=(helm "--kube-context=$CONTEXT" "--namespace=$NAMESPACE")

log() { printf '==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
die() { printf 'pvc-resize: %s\n' "$*" >&2; exit 1; }
# A command line as the user would type it again.
shown() { local out="" w; for w in "$@"; do out+=" $(printf '%q' "$w")"; done; printf '%s' "${out# }"; }

# The number of polls a wait of $1 seconds makes.
polls() { local p="$POLL_SECONDS"; [ "$p" -gt 0 ] || p=1; echo $(($1 / p + 1)); }
pause() { sleep "$POLL_SECONDS"; }

# A duration for a person: 45s, 2m05s, 15m.
duration() {
  if [ "$1" -lt 60 ]; then printf '%ds' "$1"
  elif [ $(($1 % 60)) = 0 ]; then printf '%dm' $(($1 / 60))
  else printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); fi
}

# What a wait still waits for, set by its probe for the heartbeat and the timeout's message.
MISSING=""
# wait_until MAX WHAT PROBE [ARG...]: polls PROBE (0: done, else not yet; it sets MISSING) for at most
# MAX seconds. Done at the first poll, it says nothing; else a start line (what, how long at most), a
# heartbeat every PROGRESS_SECONDS (the time so far, and MISSING), and an end line. Returns 1 when
# the time is up (MISSING says what was missing then; the caller stops with it).
wait_until() {
  local max="$1" what="$2" start="$SECONDS" last n
  shift 2
  MISSING=""
  "$@" && return 0
  note "waiting for $what (at most $(duration "$max"), checking every $(duration "$POLL_SECONDS"))"
  last="$SECONDS"
  for ((n = $(polls "$max") - 1; n > 0; n--)); do
    pause
    MISSING=""
    if "$@"; then
      note "... $what: done after $(duration $((SECONDS - start)))"
      return 0
    fi
    if [ $((SECONDS - last)) -ge "$PROGRESS_SECONDS" ] && [ "$n" -gt 1 ]; then
      note "... $(duration $((SECONDS - start))): ${MISSING:-not yet}"
      last="$SECONDS"
    fi
  done
  note "... $what: not done after $(duration $((SECONDS - start))): ${MISSING:-not yet}"
  return 1
}

# Bytes of a quantity as the API server prints it (an integer with a suffix or an exponent: 50Gi,
# 20G, 53687091200, 20e9). Anything else, or more than 2^62, fails.
to_bytes() {
  local q="$1" n unit mult
  [[ "$q" =~ ^([0-9]+)([KMGTPE]i|[kMGTPE]|e[0-9]+)?$ ]] || return 1
  n="${BASH_REMATCH[1]}"; unit="${BASH_REMATCH[2]}"
  [ "${#n}" -le 18 ] || return 1
  n=$((10#$n))
  case "$unit" in
    "") mult=1 ;;
    Ki) mult=$((1 << 10)) ;; Mi) mult=$((1 << 20)) ;; Gi) mult=$((1 << 30)) ;;
    Ti) mult=$((1 << 40)) ;; Pi) mult=$((1 << 50)) ;; Ei) mult=$((1 << 60)) ;;
    k) mult=1000 ;; M) mult=1000000 ;; G) mult=1000000000 ;; T) mult=1000000000000 ;;
    P) mult=1000000000000000 ;; E) mult=1000000000000000000 ;;
    e*) [ "${unit#e}" -le 18 ] || return 1; mult=1; for ((i = 0; i < ${unit#e}; i++)); do mult=$((mult * 10)); done ;;
  esac
  [ "$n" -eq 0 ] || [ $(((1 << 62) / n)) -ge "$mult" ] || return 1
  echo $((n * mult))
}
at_least_size() { local b; b=$(to_bytes "$1") && [ "$b" -ge "$SIZE_BYTES" ]; }

get() { "${K[@]}" get "$@"; }
field() { get "$1" "$2" -o "jsonpath=$3"; }
# The resource kubectl names StatefulSet $1 by (STS_RESOURCES: `statefulset`, or OpenKruise's
# `statefulsets.apps.kruise.io`), and who grows an Advanced StatefulSet's PVCs (STS_KRUISE:
# `controller`, `script`; empty for apps/v1).
sts_resource() {
  local i
  if i=$(sts_index "$1"); then printf '%s' "${STS_RESOURCES[$i]}"; else printf statefulset; fi
}
sts_kruise() {
  local i
  if i=$(sts_index "$1"); then printf '%s' "${STS_KRUISE[$i]}"; fi
}
sts_index() {
  local i
  for i in "${!STATEFULSETS[@]}"; do
    [ "${STATEFULSETS[$i]}" != "$1" ] || { printf '%s' "$i"; return 0; }
  done
  return 1
}
sts_field() { field "$(sts_resource "$1")" "$1" "$2"; }
sts_exists() { get "$(sts_resource "$1")" "$1" -o name >/dev/null 2>&1; }
# Being deleted: an orphan delete was accepted (by an earlier run killed before the object was gone) and
# the garbage collector's `orphan` finalizer still holds it. It manages no pods; it is waited out.
sts_terminating() { [ -n "$(sts_field "$1" '{.metadata.deletionTimestamp}' 2>/dev/null || true)" ]; }
sts_live() { sts_exists "$1" && ! sts_terminating "$1"; }
sts_template() { sts_field "$1" "{.spec.volumeClaimTemplates[?(@.metadata.name==\"$CLAIM\")].spec.resources.requests.storage}"; }
# KEP-4650 (in no Kubernetes release yet): the live object, read back from the API server, carries
# spec.volumeClaimUpdateStrategy.type (the draft since June 2025) or spec.volumeClaimUpdatePolicy (an
# older draft) set to InPlace. A server without the StatefulSetUpdateVolumeClaimTemplate gate drops the
# unknown field, so reading it back proves the gate is on.
sts_in_place() {
  [ -z "$(sts_kruise "$1")" ] || return 1
  [ "$(field statefulset "$1" '{.spec.volumeClaimUpdateStrategy.type}')" = InPlace ] ||
    [ "$(field statefulset "$1" '{.spec.volumeClaimUpdatePolicy}')" = InPlace ]
}
saved_file() { printf '%s/statefulset-%s.yaml' "$WORK_DIR" "$1"; }
pod_owner() { field pod "$1" '{.metadata.ownerReferences[?(@.controller==true)].kind}/{.metadata.ownerReferences[?(@.controller==true)].name}' 2>/dev/null || true; }
pod_ready() { [ "$(field pod "$1" '{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)" = True ]; }
pvc_conditions() { field pvc "$1" '{.status.conditions[*].type}'; }
# With --volume-attributes-class (ATTRIBUTES_CLASS in the header): the class the claim template names.
sts_template_class() { sts_field "$1" "{.spec.volumeClaimTemplates[?(@.metadata.name==\"$CLAIM\")].spec.volumeAttributesClassName}"; }
# True without a class to set, or when the claim template (or PVC $1) already names it.
class_done() { [ -z "${ATTRIBUTES_CLASS:-}" ] || [ "$1" = "$ATTRIBUTES_CLASS" ]; }
# True without a class to set (no call then), or when StatefulSet $1's claim template names it.
template_classed() { [ -z "${ATTRIBUTES_CLASS:-}" ] || class_done "$(sts_template_class "$1")"; }
# The StatefulSet needs the orphan delete and re-creation: an apps/v1 one (OpenKruise's webhook lets
# an Advanced StatefulSet's claim template change in place) that exists, its template below SIZE (or
# naming another class), and the cluster has no in-place claim template update (KEP-4650).
needs_replace() {
  [ -z "$(sts_kruise "$1")" ] && sts_exists "$1" && { ! at_least_size "$(sts_template "$1")" || ! template_classed "$1"; } && ! sts_in_place "$1"
}

# --- preflight: read-only ------------------------------------------------------------------------

check_tools() {
  local tool
  for tool in kubectl helm pvc-resize; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
  done
  [ -f "$VALUES_FILE" ] || die "values file $VALUES_FILE not found (run the script from the folder the plan was made in)"
  mkdir -p -- "$WORK_DIR"
}

# What kubectl said on stderr, on one line: a read that fails for lack of permission (Forbidden) is
# not one that finds nothing (NotFound), and the fixes differ.
kubectl_said() { tr -s '\n' ' ' <"$WORK_DIR/kubectl.stderr" | sed 's/ $//'; }

check_context() {
  get namespace "$NAMESPACE" -o name >/dev/null 2>"$WORK_DIR/kubectl.stderr" ||
    die "kube context $CONTEXT can't be used to read namespace $NAMESPACE: kubectl says: $(kubectl_said); hint: not found: check the context and the namespace (kubectl config get-contexts); forbidden: the context's user needs get on namespaces (kubectl auth can-i get namespace/$NAMESPACE)"
}

check_release() {
  local list name state ch status="" deployed=""
  # (Helm 4 has no --all: the states are named; pending ones must show, to be refused.)
  "${H[@]}" list --deployed --failed --pending --filter "^${RELEASE//./\\.}\$" -o json >"$WORK_DIR/releases.json" ||
    die "helm can't list the releases of namespace $NAMESPACE in context $CONTEXT"
  list=$(releases_read "$WORK_DIR/releases.json") || die "helm can't read its own release list ($WORK_DIR/releases.json)"
  while IFS=$'\t' read -r name state ch; do
    if [ "$name" = "$RELEASE" ]; then status="$state"; deployed="$ch"; fi
  done <<<"$list"
  [ -n "$status" ] || die "release $RELEASE not found in namespace $NAMESPACE (context $CONTEXT); hint: $(shown helm list --all-namespaces --kube-context "$CONTEXT")"
  case "${status:-}" in
    deployed | failed) ;;
    pending-*) die "$(pending_release "$status")" ;;
    *) die "release $RELEASE is ${status:-in an unknown state}; wait until no other helm operation runs ($(shown "${H[@]}" history "$RELEASE"))" ;;
  esac
  [ "${deployed:-}" = "$CHART_NAME-$CHART_VERSION" ] ||
    die "release $RELEASE runs chart ${deployed:-?}, but the manifests were rendered from $CHART_NAME-$CHART_VERSION; render the release's own chart version (helm template --version)"
  note "release $RELEASE ($status) runs $deployed"
  RELEASE_STATUS="$status"
}

# Why a release is pending, and the way out: a helm killed during its upgrade (SIGKILL, a lost SSH
# session) leaves the release pending-upgrade for good, and every later upgrade is refused.
pending_release() {
  local sts out
  out="release $RELEASE is $1: another helm operation runs, or one was killed (then it stays $1 for good)."
  for sts in "${STATEFULSETS[@]}"; do
    if ! sts_live "$sts" && [ -s "$(saved_file "$sts")" ]; then
      out+=" StatefulSet $sts was deleted by an earlier run of this script, whose upgrade did not finish: its pods and PVCs run on without a controller."
    fi
  done
  out+=" Check that no helm operation runs ($(shown "${H[@]}" history "$RELEASE")); then $(shown "${H[@]}" rollback "$RELEASE") ends the pending one: it re-creates a deleted StatefulSet from the last deployed revision (its old claim template; the pods are adopted, the grown PVCs keep their size), or, if the killed upgrade re-created it already, fails with spec: Forbidden, which still leaves the release failed, as this script needs. Then run this script again"
  printf '%s' "$out"
}

check_chart() {
  local meta name version
  meta=$("${H[@]}" show chart "--version=$CHART_VERSION" -- "$CHART") ||
    die "chart $CHART does not resolve at version $CHART_VERSION; hint: helm repo add / helm repo update, or pass --chart with a path"
  name=$(sed -n 's/^name: *//p' <<<"$meta" | head -n 1)
  version=$(sed -n 's/^version: *//p' <<<"$meta" | head -n 1)
  if [ "$name" != "$CHART_NAME" ] || [ "$version" != "$CHART_VERSION" ]; then
    die "chart $CHART is $name $version, not $CHART_NAME $CHART_VERSION"
  fi
  note "chart $CHART resolves to $name $version"
}

# `helm list -o json` read as JSON, by Helm itself (JSON is YAML: a values file; a chart that ranges over
# it): one line per release, name, status and chart separated by tabs. No text matching of JSON, and
# no tool beyond the helm the script needs anyway.
releases_read() {
  local reader="$WORK_DIR/list-reader"
  rm -rf -- "$reader"
  mkdir -p -- "$reader/templates"
  printf 'apiVersion: v2\nname: list-reader\nversion: 0.0.0\n' >"$reader/Chart.yaml"
  # shellcheck disable=SC2016 # a Helm template, not shell
  # (Helm parses what a template renders as YAML: the lines are comments.)
  printf '%s\n' '{{- range .Values.releases }}#release {{ .name }}{{ "\t" }}{{ .status }}{{ "\t" }}{{ .chart }}' '{{ end }}' >"$reader/templates/list.yaml"
  { printf '{"releases": '; cat -- "$1"; printf '}\n'; } >"$WORK_DIR/releases.values.json"
  "${H[@]}" template "--values=$WORK_DIR/releases.values.json" -- list-reader "$reader" | sed -n 's/^#release //p'
}

# What Helm reads from a values file, as compact JSON with sorted keys (a chart that renders toJson).
values_json() {
  local reader="$WORK_DIR/values-reader"
  mkdir -p -- "$reader/templates"
  printf 'apiVersion: v2\nname: values-reader\nversion: 0.0.0\n' >"$reader/Chart.yaml"
  printf '{{ toJson .Values }}\n' >"$reader/templates/values.json"
  "${H[@]}" template "--values=$1" -- values-reader "$reader" | grep -v -e '^---$' -e '^# Source:'
}

# `helm upgrade -f VALUES_FILE` replaces the release's user-supplied values with the file: anything
# set at install time with --set or another -f would be dropped. Both are set to SIZE (so a half-done
# earlier run compares equal) and read by Helm itself; any other difference stops the script.
# Sets every values path of the plan (VALUES_PATHS) to SIZE in file $1: one edit per path.
set_sizes() {
  local p
  for p in "${VALUES_PATHS[@]}"; do
    pvc-resize values --size "$SIZE" --path "$p" --write -- "$1" || return 1
  done
  [ -n "${ATTRIBUTES_CLASS:-}" ] || return 0
  for p in "${CLASS_PATHS[@]}"; do
    pvc-resize values --volume-attributes-class "$ATTRIBUTES_CLASS" --path "$p" --write -- "$1" || return 1
  done
}

# True when file $1 already sets every values path of the plan to SIZE.
sizes_set() {
  local p
  for p in "${VALUES_PATHS[@]}"; do
    pvc-resize values --check --size "$SIZE" --path "$p" -- "$1" >/dev/null 2>&1 || return 1
  done
  [ -n "${ATTRIBUTES_CLASS:-}" ] || return 0
  for p in "${CLASS_PATHS[@]}"; do
    pvc-resize values --check --volume-attributes-class "$ATTRIBUTES_CLASS" --path "$p" -- "$1" >/dev/null 2>&1 || return 1
  done
}

check_values() {
  local live="$WORK_DIR/release-values.sized.yaml" planned="$WORK_DIR/values.preflight.yaml" a b out
  "${H[@]}" get values "$RELEASE" -o yaml >"$WORK_DIR/release-values.yaml" || die "$(shown "${H[@]}" get values "$RELEASE" -o yaml) failed"
  # A release installed without user-supplied values has `null`.
  [ "$(<"$WORK_DIR/release-values.yaml")" != null ] || echo '{}' >"$WORK_DIR/release-values.yaml"
  cp -- "$WORK_DIR/release-values.yaml" "$live"
  cp -- "$VALUES_FILE" "$planned"
  out=$(set_sizes "$live" 2>&1) ||
    die "the release's values ($live) can't take $VALUES_PATH=$SIZE: $out"
  out=$(set_sizes "$planned" 2>&1) ||
    die "$VALUES_FILE can't take $VALUES_PATH=$SIZE: $out"
  a=$(values_json "$live") || die "helm can't read the release's values ($live)"
  b=$(values_json "$planned") || die "helm can't read $VALUES_FILE"
  if [ "$a" != "$b" ]; then
    diff -u --label "helm get values $RELEASE" --label "$VALUES_FILE" "$live" "$planned" >&2 || true
    die "the upgrade would replace the release's values with $VALUES_FILE and drop or change what differs above; make $VALUES_FILE hold the release's values ($(shown "${H[@]}" get values "$RELEASE" -o yaml)), then make the plan again"
  fi
  note "$VALUES_FILE holds the release's values (apart from $VALUES_PATH)"
}

check_upgrade() {
  "${UPGRADE_DRY_RUN[@]}" >"$WORK_DIR/upgrade-dry-run.out" 2>&1 || {
    cat "$WORK_DIR/upgrade-dry-run.out" >&2
    die "the dry run of the upgrade failed: $(shown "${UPGRADE_DRY_RUN[@]}")"
  }
  # The render the upgrade would apply (its MANIFEST:) against the release's: every target claim
  # template at SIZE, every other claim as it is. Else nothing has changed yet: stop here.
  "${H[@]}" get manifest "$RELEASE" >"$WORK_DIR/release-manifest.yaml" ||
    die "$(shown "${H[@]}" get manifest "$RELEASE") failed"
  local args=() sts p out
  for sts in "${STATEFULSETS[@]}"; do args+=(--statefulset "$sts"); done
  for p in "${PLAIN_PVCS[@]}"; do args+=(--pvc "$p"); done
  for p in "${OPERATOR_CLAIMS[@]}"; do args+=(--resource "$p"); done
  for p in "${VALUES_PATHS[@]}"; do args+=(--path "$p"); done
  [ -z "${ATTRIBUTES_CLASS:-}" ] || args+=(--volume-attributes-class "$ATTRIBUTES_CLASS")
  out=$(pvc-resize verify-render --dry-run "$WORK_DIR/upgrade-dry-run.out" --base "$WORK_DIR/release-manifest.yaml" \
    --size "$SIZE" --claim "$CLAIM" "${args[@]}" 2>&1) ||
    die "the dry run of the upgrade does not render what this plan needs (nothing has changed):
$out
the chart does not size the targets by $VALUES_PATH as planned: make the plan again with --chart (the chart's folder or .tgz) so that the path the chart reads is found and proven, then run it"
  note "the dry run of the upgrade passed, and its render grows exactly the planned claim templates"
}

check_statefulsets() {
  local i sts policy start count
  for i in "${!STATEFULSETS[@]}"; do
    sts="${STATEFULSETS[$i]}"
    if sts_terminating "$sts"; then
      [ -s "$(saved_file "$sts")" ] ||
        die "StatefulSet $sts is being deleted (metadata.deletionTimestamp is set), and no copy was saved by an earlier run in $(saved_file "$sts"): find what deletes it; once it is gone, put it back ($(shown "${H[@]}" rollback "$RELEASE") re-creates it from the release) and make the plan again"
      note "StatefulSet $sts is being deleted by an earlier run (its orphan delete was accepted; saved in $(saved_file "$sts")): resuming at the upgrade once it is gone"
      continue
    fi
    if ! sts_exists "$sts"; then
      [ -s "$(saved_file "$sts")" ] ||
        die "StatefulSet $sts not found in namespace $NAMESPACE, and no copy saved by an earlier run in $(saved_file "$sts")"
      note "StatefulSet $sts was deleted by an earlier run (saved in $(saved_file "$sts")): resuming at the upgrade"
      continue
    fi
    # The upgrade re-creates it from the render: its pods must keep their ordinals.
    start=$(sts_field "$sts" '{.spec.ordinals.start}')
    [ "${start:-0}" = "${ORDINALS_START[$i]}" ] ||
      die "StatefulSet $sts starts at ordinal ${start:-0} (spec.ordinals.start), the render at ${ORDINALS_START[$i]}: re-created from the render by the upgrade, it would delete its pods and start others on other PVCs; make the chart render spec.ordinals.start: ${start:-0} (or set the StatefulSet back), then make the plan again"
    # ... and keep its pods: re-created, it has the render's replicas (0 is the fallback's scale-down).
    count=$(sts_field "$sts" '{.spec.replicas}')
    if [ "${count:-1}" -gt "${RENDER_REPLICAS[$i]}" ]; then
      die "StatefulSet $sts has ${count} replicas (spec.replicas), the render ${RENDER_REPLICAS[$i]}: re-created from the render by the upgrade, it would delete the pods from ordinal $((${start:-0} + RENDER_REPLICAS[i])) on (and their PVCs with whenScaled: Delete); set the chart's replica count to ${count} and render again (or scale the StatefulSet back to ${RENDER_REPLICAS[$i]}), then make the plan again"
    elif [ "${count:-1}" != 0 ] && [ "${count:-1}" -lt "${RENDER_REPLICAS[$i]}" ]; then
      note "$sts has ${count} replicas, the render ${RENDER_REPLICAS[$i]}: the upgrade re-creates it with ${RENDER_REPLICAS[$i]} and adds the pods from ordinal $((${start:-0} + count)) on"
    fi
    policy=$(sts_field "$sts" '{.spec.persistentVolumeClaimRetentionPolicy.whenScaled}')
    if [ "$policy" = Delete ] && [ "$FALLBACK" = 1 ]; then
      die "$sts has persistentVolumeClaimRetentionPolicy.whenScaled: Delete: scaling it to 0 would delete its PVCs; no fallback"
    fi
    if [ "$(sts_field "$sts" '{.spec.persistentVolumeClaimRetentionPolicy.whenDeleted}')" = Delete ] && [ -z "$(sts_kruise "$sts")" ]; then
      note "$sts has whenDeleted: Delete: only the orphan delete is safe (this script uses nothing else)"
    fi
    check_history_limit "$i"
    if sts_in_place "$sts"; then
      note "$sts has an in-place claim template update (KEP-4650 volumeClaimUpdateStrategy InPlace, kept by the API server, so its gate is on; in no Kubernetes release yet): the upgrade grows the PVCs, no orphan delete"
    fi
  done
}

# A StatefulSet the upgrade updates in place (not re-created: already at the size, or KEP-4650's
# InPlace) gets the render's spec.revisionHistoryLimit; before Kubernetes 1.35 the API server refuses
# that change (spec: Forbidden). The server's version is read as JSON, and the rule applied, by
# pvc-resize (the rule of `check --kubernetes-version`).
check_history_limit() {
  local sts="${STATEFULSETS[$1]}" live out
  needs_replace "$sts" && return 0
  # OpenKruise's webhook copies revisionHistoryLimit from the old object (ValidateStatefulSetUpdate).
  [ -z "${STS_KRUISE[$1]:-}" ] || return 0
  live=$(field statefulset "$sts" '{.spec.revisionHistoryLimit}')
  [ "${live:-10}" = "${RENDER_HISTORY_LIMITS[$1]}" ] && return 0
  "${K[@]}" version -o json >"$WORK_DIR/kubectl-version.json" 2>"$WORK_DIR/kubectl.stderr" ||
    die "kubectl version -o json failed: kubectl says: $(kubectl_said)"
  out=$(pvc-resize update-rules --kubectl-version "$WORK_DIR/kubectl-version.json" --field revisionHistoryLimit 2>&1) ||
    die "the upgrade updates StatefulSet $sts in place and changes its spec.revisionHistoryLimit from ${live:-10} to ${RENDER_HISTORY_LIMITS[$1]}: ${out#pvc-resize: }; hint: render revisionHistoryLimit: ${live:-10} (the live value), then make the plan again"
  note "${out#pvc-resize: }"
}

check_pvcs() {
  local i pvc phase class expand request
  for i in "${!PVCS[@]}"; do
    pvc="${PVCS[$i]}"
    if ! phase=$(field pvc "$pvc" '{.status.phase}' 2>/dev/null); then
      [ "${PVC_IN_REPLICAS[$i]}" = 0 ] && { note "$pvc does not exist (beyond the replicas): skipped"; continue; }
      # A StatefulSet scaled below the render (whenScaled: Delete took the PVC): the re-created one
      # makes it from the new claim template when it starts the pod; the verify step checks both.
      get pod "${PVC_PODS[$i]}" -o name >/dev/null 2>&1 ||
        { note "$pvc and pod ${PVC_PODS[$i]} do not exist: the StatefulSet makes the PVC from its claim template when it starts the pod"; continue; }
      die "PVC $pvc not found in namespace $NAMESPACE, while pod ${PVC_PODS[$i]} exists"
    fi
    pvc_expandable "$pvc" "$phase"
    # Its pod, when it runs (not at 0 replicas, the fallback's): Ready, or becoming Ready (a rerun
    # after a restart). The procedure restarts pods one at a time and re-creates the StatefulSet:
    # with another pod already down, a restart takes a second one out.
    if [ "${PVC_IN_REPLICAS[$i]}" = 1 ] && get pod "${PVC_PODS[$i]}" -o name >/dev/null 2>&1; then
      wait_until "$PREFLIGHT_WAIT_SECONDS" "pod ${PVC_PODS[$i]} to be Ready" pod_ready_said "${PVC_PODS[$i]}" ||
        die "pod ${PVC_PODS[$i]} is not Ready after $(duration "$PREFLIGHT_WAIT_SECONDS") ($MISSING): make every pod of the StatefulSet healthy first ($(shown "${K[@]}" describe pod "${PVC_PODS[$i]}")), then run this script again (PVC_RESIZE_PREFLIGHT_WAIT_SECONDS waits longer)"
    fi
  done
  check_plain_pvcs
  check_operator_pvcs
  note "every PVC is Bound, its StorageClass allows expansion, and every pod is Ready"
}

# PVC $1 (phase $2) can grow: Bound, its StorageClass allows expansion, its request a quantity.
pvc_expandable() {
  local pvc="$1" phase="$2" class expand request
  [ "$phase" = Bound ] || die "PVC $pvc is ${phase:-without a phase}, not Bound: only a Bound PVC can grow"
  class=$(field pvc "$pvc" '{.spec.storageClassName}')
  [ -n "$class" ] || die "PVC $pvc has no storageClassName"
  expand=$("${K[@]}" get storageclass "$class" -o 'jsonpath={.allowVolumeExpansion}' 2>"$WORK_DIR/kubectl.stderr") ||
    die "StorageClass $class can't be read: kubectl says: $(kubectl_said); hint: forbidden: the context's user needs get on storageclasses (kubectl auth can-i get storageclass/$class)"
  [ "$expand" = true ] || die "StorageClass $class does not allow volume expansion (allowVolumeExpansion: ${expand:-unset})"
  request=$(field pvc "$pvc" '{.spec.resources.requests.storage}')
  to_bytes "$request" >/dev/null || die "PVC $pvc requests $request, which this script can't compare"
}

# The PVCs the chart renders itself: the upgrade's three-way merge sets their request to SIZE, so a
# live request above SIZE would be a shrink the API server refuses (the upgrade would fail midway).
check_plain_pvcs() {
  local pvc phase request
  for pvc in "${PLAIN_PVCS[@]}"; do
    if ! phase=$(field pvc "$pvc" '{.status.phase}' 2>/dev/null); then
      note "PVC $pvc does not exist: the upgrade creates it at $SIZE"
      continue
    fi
    pvc_expandable "$pvc" "$phase"
    request=$(field pvc "$pvc" '{.spec.resources.requests.storage}')
    [ "$(to_bytes "$request")" -le "$SIZE_BYTES" ] ||
      die "PVC $pvc requests $request, more than $SIZE: the upgrade sets its request to the render's $SIZE, which the API server refuses as a shrink (field can not be less than previous value); make the plan again with --size $request or more"
  done
}

# The namespace's ResourceQuotas and LimitRanges must let every PVC grow to SIZE (the API server
# would refuse a patch midway, after others grew): pvc-resize does the exact quantity arithmetic.
check_quota() {
  local objects="$WORK_DIR/quota.yaml" i p out args=()
  get resourcequota,limitrange,pvc -o yaml >"$objects" 2>"$WORK_DIR/kubectl.stderr" ||
    die "the ResourceQuotas and LimitRanges of namespace $NAMESPACE can't be read: kubectl says: $(kubectl_said); hint: forbidden: the context's user needs list on resourcequotas and limitranges (kubectl auth can-i list resourcequotas)"
  for i in "${!PVCS[@]}"; do
    if [ "${PVC_IN_REPLICAS[$i]}" = 1 ]; then args+=(--pvc "${PVCS[$i]}"); else args+=(--pvc-if-exists "${PVCS[$i]}"); fi
  done
  # A plain PVC that does not exist yet is made by the upgrade at SIZE: charged all of it.
  for i in "${!PLAIN_PVCS[@]}"; do args+=(--pvc "${PLAIN_PVCS[$i]}"); done
  # An operator's PVCs: those of the installation now (the operator makes new ones at SIZE).
  for i in "${!OPERATOR_CLAIMS[@]}"; do
    operator_pvcs "$i"
    for p in "${OP_PVCS[@]}"; do args+=(--pvc "$p"); done
  done
  out=$(pvc-resize quota-check --objects "$objects" --size "$SIZE" "${args[@]}" 2>&1) ||
    die "${out//pvc-resize: /}; hint: raise the limit (kubectl edit resourcequota/limitrange NAME) or choose a size within it, then make the plan again"
  note "${out#pvc-resize: }"
}

# The VolumeAttributesClass exists (a PVC that names a missing one waits for it for ever:
# ModifyVolumeStatus Pending). Forbidden is told from NotFound.
check_attributes_class() {
  local driver
  driver=$("${K[@]}" get volumeattributesclass "$ATTRIBUTES_CLASS" -o 'jsonpath={.driverName}' 2>"$WORK_DIR/kubectl.stderr") ||
    die "VolumeAttributesClass $ATTRIBUTES_CLASS can't be read: kubectl says: $(kubectl_said); hint: NotFound: create it first (a reviewed change), or make the plan with an existing one (kubectl get volumeattributesclass); forbidden: the context's user needs get on volumeattributesclasses; the API is storage.k8s.io/v1 from Kubernetes 1.34 (v1beta1 behind the VolumeAttributesClass gate in 1.31-1.33)"
  note "VolumeAttributesClass $ATTRIBUTES_CLASS exists (driver ${driver:-?})"
}

# --- OpenKruise's Advanced StatefulSet (STS_KRUISE non-empty) --------------------------------------
# Read in openkruise/kruise at 07169cfac: its webhook (ValidateStatefulSetUpdate,
# ValidateVolumeClaimTemplateUpdate in pkg/webhook/statefulset/validating/statefulset_validation.go)
# lets the claim template change in place; under OnPodRollingUpdate, with the kruise-manager's gate
# StatefulSetAutoResizePVCGate, its controller (rollingUpdateStatefulsetPods, TryPatchPVC) patches
# the PVCs as it walks the pods, highest ordinal first, one pod at a time; otherwise the PVCs keep
# their size and this script patches them after the upgrade.

# A server-side dry run of JSON patch $2 on Advanced StatefulSet $1: Kruise's webhook answers it
# (registered with sideEffects: None), nothing is stored.
kruise_dry_run() {
  "${K[@]}" patch "$(sts_resource "$1")" "$1" --dry-run=server --type=json -p "$2"
}

# The JSON patch of StatefulSet index $1 that sets op $2 (its value $3, JSON) at the claim
# template's path $4, with the render's volumeClaimUpdateStrategy (the webhook reads the new object's).
kruise_patch() {
  local strategy=""
  [ -z "${STS_STRATEGIES[$1]}" ] ||
    strategy="{\"op\":\"add\",\"path\":\"/spec/volumeClaimUpdateStrategy\",\"value\":{\"type\":\"${STS_STRATEGIES[$1]}\"}},"
  printf '[%s{"op":"replace","path":"/spec/volumeClaimTemplates/%s/spec/%s","value":%s}]' \
    "$strategy" "${STS_CLAIM_INDEX[$1]}" "$2" "$3"
}

# Before any change: the webhook accepts the claim template at SIZE in place (a Kruise older than 1.4
# forbids any template change; under OnPodRollingUpdate a StorageClass without expansion is refused);
# under OnPodRollingUpdate, a change of the template's accessModes must be refused as only the gated
# webhook refuses it: else the gate is off (or the Kruise has no volumeClaimUpdateStrategy, whose
# field the API server then drops) and no controller would grow the PVCs.
check_kruise() {
  local i sts out mode other
  for i in "${!STATEFULSETS[@]}"; do
    [ -n "${STS_KRUISE[$i]}" ] || continue
    sts="${STATEFULSETS[$i]}"
    sts_exists "$sts" ||
      die "Advanced StatefulSet $sts not found in namespace $NAMESPACE ($(shown "${K[@]}" get "$(sts_resource "$sts")")): the plan is for OpenKruise's StatefulSet (apps.kruise.io); if the cluster runs an apps/v1 one, render it so and make the plan again"
    out=$(kruise_dry_run "$sts" "$(kruise_patch "$i" resources/requests/storage "\"$SIZE\"")" 2>&1) ||
      die "OpenKruise's webhook refuses claim template $CLAIM of $sts at $SIZE (a server-side dry run; nothing has changed): $out; hint: a Kruise older than 1.4 freezes claim templates (upgrade Kruise, or render apps/v1); a StorageClass without allowVolumeExpansion can't grow"
    if [ "${STS_KRUISE[$i]}" = script ]; then
      note "$sts (OpenKruise, volumeClaimUpdateStrategy ${STS_STRATEGIES[$i]:-unset}): the webhook accepts the template at $SIZE in place; this script patches its PVCs after the upgrade"
      continue
    fi
    mode=$(sts_field "$sts" "{.spec.volumeClaimTemplates[${STS_CLAIM_INDEX[$i]}].spec.accessModes[0]}")
    other=ReadWriteOncePod
    [ "$mode" != ReadWriteOncePod ] || other=ReadWriteOnce
    if out=$(kruise_dry_run "$sts" "$(kruise_patch "$i" accessModes "[\"$other\"]")" 2>&1); then
      die "$sts has volumeClaimUpdateStrategy OnPodRollingUpdate, but OpenKruise's webhook accepts a change of the claim template's accessModes (a server-side dry run; nothing has changed): the kruise-manager runs without the feature gate StatefulSetAutoResizePVCGate (alpha, off by default), or its Kruise has no volumeClaimUpdateStrategy (before 1.7.5/1.8), so its controller would grow no PVC; hint: enable the gate (the kruise-manager's --feature-gates=StatefulSetAutoResizePVCGate=true), or render volumeClaimUpdateStrategy.type: OnDelete so that this script patches the PVCs, then make the plan again"
    fi
    [[ "$out" == *"volumeClaimTemplate can not be modified when OnRollingUpdate"* ]] ||
      die "the server-side dry run of a claim template change on $sts was refused for another reason than Kruise's OnPodRollingUpdate rule: $out; it can't prove that Kruise's controller grows the PVCs (nothing has changed)"
    note "$sts (OpenKruise, volumeClaimUpdateStrategy OnPodRollingUpdate): the webhook accepts the template at $SIZE in place and enforces the gated rule, so its controller grows the PVCs"
  done
}

# A probe of wait_until: PVC $1's request is at SIZE (Kruise's controller has patched it).
pvc_requested() {
  local request
  request=$(field pvc "$1" '{.spec.resources.requests.storage}' 2>/dev/null || true)
  at_least_size "${request:-0}" && return 0
  MISSING="$1 requests ${request:-nothing}: Kruise's controller has not patched it yet"
  return 1
}

# After the upgrade: the script patches the PVCs that Kruise leaves alone (OnDelete or unset, and the
# PVCs beyond the replicas: the controller patches only the PVCs of the pods it rolls); then, in the
# controller's order (highest ordinal first), waits for each PVC's request and capacity by value. A
# PVC FileSystemResizePending past the grace period gets its pod restarted: Kruise counts that pod
# unavailable (IsOwnedPVCsReady) and would grow no further PVC.
step_kruise_pvcs() {
  local i j sts pvc request rc payload
  payload="{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"$SIZE\"}}}}"
  for i in "${!PVCS[@]}"; do
    sts="${PVC_STS[$i]}"; pvc="${PVCS[$i]}"
    [ -n "${STS_KRUISE[$sts]}" ] || continue
    [ "${STS_KRUISE[$sts]}" = script ] || [ "${PVC_IN_REPLICAS[$i]}" = 0 ] || continue
    request=$(field pvc "$pvc" '{.spec.resources.requests.storage}' 2>/dev/null) || continue
    at_least_size "$request" && { note "$pvc already requests $request"; continue; }
    "${K[@]}" patch pvc "$pvc" --type=merge -p "$payload"
  done
  for ((j = ${#PVCS[@]} - 1; j >= 0; j--)); do
    sts="${PVC_STS[$j]}"; pvc="${PVCS[$j]}"
    [ -n "${STS_KRUISE[$sts]}" ] || continue
    get pvc "$pvc" -o name >/dev/null 2>&1 || continue
    wait_until "$WAIT_SECONDS" "Kruise's controller to raise the request of $pvc to $SIZE" pvc_requested "$pvc" ||
      die "Kruise's controller has not patched $pvc after $(duration "$WAIT_SECONDS"): $MISSING; it rolls one pod at a time and waits for each pod to be Ready and its PVCs grown: see $(shown "${K[@]}" describe "$(sts_resource "${STATEFULSETS[$sts]}")" "${STATEFULSETS[$sts]}") (its events) and the kruise-manager's log, then run this script again"
    rc=0; wait_pvc "$pvc" || rc=$?
    if [ "$rc" != 2 ] || [ "${PVC_IN_REPLICAS[$j]}" = 0 ]; then continue; fi
    wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $pvc to grow online" pvc_fs_grown "$pvc" && continue
    restart_pod "${PVC_PODS[$j]}" "${STATEFULSETS[$sts]}"
  done
}

# A probe of wait_until: the pod is Ready; else MISSING says why not, as the pod says it (its Ready
# condition's reason and message, the reasons its containers wait or were last terminated).
pod_ready_said() {
  local why
  pod_ready "$1" && return 0
  why=$(field pod "$1" '{.status.conditions[?(@.type=="Ready")].reason} {.status.conditions[?(@.type=="Ready")].message}; {.status.containerStatuses[*].state.waiting.reason} {.status.containerStatuses[*].lastState.terminated.reason}' 2>/dev/null || true)
  why=$(sed -e 's/  */ /g' -e 's/^[ ;]*//' -e 's/[ ;]*$//' <<<"$why")
  MISSING="pod $1 is not Ready${why:+: $why}"
  return 1
}

# --- steps ---------------------------------------------------------------------------------------

step_preflight() {
  local c
  for c in "${PREFLIGHT[@]}"; do "check_${c//-/_}"; done
}

step_values() {
  if sizes_set "$VALUES_FILE"; then
    note "$VALUES_FILE already sets $VALUES_PATH to $SIZE"
    return 0
  fi
  set_sizes "$VALUES_FILE"
}

# Scales every StatefulSet that still exists to $1 and waits for its pods to go or be Ready.
scale_all() {
  local i sts
  for i in "${!STATEFULSETS[@]}"; do
    sts="${STATEFULSETS[$i]}"
    sts_live "$sts" || continue
    "${K[@]}" scale statefulset "$sts" "--replicas=$1"
  done
}

# True when a PVC's disk still has to grow (a rerun after the disks grew must not take the pods
# down again): its request is below SIZE, or its capacity is and no FileSystemResizePending says
# that the disk has grown.
disk_to_grow() {
  local i request
  for i in "${!PVCS[@]}"; do
    replaced_pvc "$i" || continue
    request=$(field pvc "${PVCS[$i]}" '{.spec.resources.requests.storage}' 2>/dev/null) || continue
    at_least_size "$request" || return 0
    [[ " $(pvc_conditions "${PVCS[$i]}") " == *" FileSystemResizePending "* ]] && continue
    at_least_size "$(field pvc "${PVCS[$i]}" '{.status.capacity.storage}')" || return 0
  done
  return 1
}

step_fallback_scale_down() {
  [ "$FALLBACK" = 1 ] || { note "skipped (only with --fallback-scale-to-zero)"; return 0; }
  disk_to_grow || { note "every disk has grown already: no scale to 0"; return 0; }
  scale_all 0
  wait_until "$WAIT_SECONDS" "the pods to go at 0 replicas" pods_gone ||
    die "$MISSING after $(duration "$WAIT_SECONDS") at 0 replicas$(at_zero_note)"
}

# A probe of wait_until: no pod of the replicas runs.
pods_gone() {
  local i left=()
  for i in "${!PVCS[@]}"; do
    [ "${PVC_IN_REPLICAS[$i]}" = 1 ] || continue
    get pod "${PVC_PODS[$i]}" -o name >/dev/null 2>&1 && left+=("${PVC_PODS[$i]}")
  done
  [ "${#left[@]}" = 0 ] && return 0
  MISSING="${#left[@]} pod(s) still there: ${left[*]}"
  return 1
}

step_patch_pvcs() {
  local i pvc request ebs_said=0
  for i in "${!PVCS[@]}"; do
    replaced_pvc "$i" || continue
    pvc="${PVCS[$i]}"
    request=$(field pvc "$pvc" '{.spec.resources.requests.storage}' 2>/dev/null) || continue
    if [ -n "${ATTRIBUTES_CLASS:-}" ] && ! class_done "$(field pvc "$pvc" '{.spec.volumeAttributesClassName}')"; then
      "${K[@]}" patch pvc "$pvc" --type=merge -p "{\"spec\":{\"volumeAttributesClassName\":\"$ATTRIBUTES_CLASS\"}}"
    fi
    if at_least_size "$request"; then
      note "$pvc already requests $request"
      continue
    fi
    if [ "$ebs_said" = 0 ] && [[ "$(field storageclass "$(field pvc "$pvc" '{.spec.storageClassName}')" '{.provisioner}')" == *ebs* ]]; then
      note "AWS EBS allows one modification per volume every 6 hours: a later change of these volumes within that window fails with VolumeModificationRateExceeded"
      ebs_said=1
    fi
    "${K[@]}" patch pvc "$pvc" --type=merge -p "{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"$SIZE\"}}}}"
  done
}

# The state of one PVC, in PVC_STATE: grown (its capacity has SIZE and no resize runs), pending
# (FileSystemResizePending: the disk has grown, the filesystem waits for the pod) or growing; PVC_SAID
# says it for a person ("at 20Gi, Resizing"). Stops on a resize error that waiting can't cure; a
# cloud's error that passes (an EBS modification still in progress) is said and waited out.
pvc_state() {
  local pvc="$1" all capacity conditions message
  # One read (the conditions change meanwhile): capacity|types|error messages (which may hold a |).
  all=$(field pvc "$pvc" '{.status.capacity.storage}|{.status.conditions[*].type}|{.status.conditions[?(@.type=="ControllerResizeError")].message}{.status.conditions[?(@.type=="NodeResizeError")].message}' 2>/dev/null || true)
  capacity="${all%%|*}"
  all="${all#*|}"
  conditions=" ${all%%|*} "
  message="${all#*|}"
  PVC_STATE=growing
  PVC_SAID="$pvc at ${capacity:-no capacity}"
  if [[ "$conditions" == *" ControllerResizeError "* || "$conditions" == *" NodeResizeError "* ]]; then
    resize_error "$pvc" "$message" "$capacity"
    return 0
  fi
  if [[ "$conditions" == *" FileSystemResizePending "* ]]; then
    PVC_STATE=pending
    PVC_SAID+=", FileSystemResizePending (the disk has grown; the filesystem grows when the pod restarts)"
  elif at_least_size "${capacity:-0}" && [[ "$conditions" != *" Resizing "* ]]; then
    PVC_STATE=grown
  elif [[ "$conditions" == *" Resizing "* ]]; then
    PVC_SAID+=", Resizing"
  else
    # The conditions say nothing (the resizer has not picked the PVC up yet): its newest event may.
    local event
    event=$(pvc_event "$pvc")
    [ -z "$event" ] || PVC_SAID+=", its newest event: $event"
  fi
}

# The newest event of a PVC as "REASON: MESSAGE" (e.g. "ExternalExpanding: waiting for an external
# controller to expand this PVC"), or nothing.
pvc_event() {
  local e
  e=$(get events --field-selector="involvedObject.kind=PersistentVolumeClaim,involvedObject.name=$1" \
    --sort-by=.metadata.creationTimestamp -o 'jsonpath={.items[-1:].reason}|{.items[-1:].message}' 2>/dev/null || true)
  [ -n "${e%%|*}" ] && printf '%s: %s' "${e%%|*}" "${e#*|}"
  return 0
}

# A resize error of a PVC: said and waited out when it passes, else the stop with its way out.
resize_error() {
  local pvc="$1" message="$2" capacity="$3"
  if [[ "$message" == *"Unattached"* ]] && [ "$FALLBACK" = 1 ] && [ -z "$(pods_using "$pvc")" ]; then
    # The refusal from before the scale-down: the resizer retries a failed volume only after
    # its backoff (up to minutes); the disk is detached now.
    PVC_SAID+=", the resizer retries after its backoff (it refused while the disk was attached)"
    return 0
  fi
  case "$message" in
    *Unattached*)
      [ -z "$NO_FALLBACK" ] ||
        die "$pvc: the cloud can't grow an attached disk ($message); this plan has no scale-to-zero fallback ($NO_FALLBACK): make a plan for the StatefulSets alone (without --pvc and --resource), whose script offers --fallback-scale-to-zero, and run it; then run this script again"
      die "$pvc: the cloud can't grow an attached disk ($message); run this script again with --fallback-scale-to-zero (the pods are down while the StatefulSets are at 0)$(at_zero_note)" ;;
    *VolumeModificationRateExceeded*)
      die "$pvc: AWS EBS allows one modification per volume every 6 hours, and this volume was modified less than 6 hours ago ($message). The request stays at $SIZE and the resizer retries by itself: run this script again once 6 hours have passed since that modification; it resumes here$(at_zero_note)" ;;
    *IncorrectModificationState* | *"currently being modified"* | *"modification in progress"* | *"is being modified"*)
      PVC_SAID+=", AWS EBS says ${message##*api error }: an earlier modification of this volume is still running; the resizer retries" ;;
    *)
      die "$pvc: the resize failed: $message. If the size is infeasible, with RecoverVolumeExpansionFailure (GA in Kubernetes 1.34) the request may be lowered to a size above the current capacity ${capacity:-?} and below $SIZE: this script only grows requests, so lower it yourself ($(shown "${K[@]}" patch pvc "$pvc" --type=merge -p '{"spec":{"resources":{"requests":{"storage":"NEW_SIZE"}}}}')), then make a new plan with NEW_SIZE; without it the request can't be lowered ($(shown "${K[@]}" describe pvc "$pvc"))$(at_zero_note)" ;;
  esac
}

# A probe of wait_until: the PVC has grown (or its filesystem awaits the pod).
pvc_grown() {
  pvc_state "$1"
  [ "$PVC_STATE" != growing ] && return 0
  MISSING="$PVC_SAID"
  return 1
}

# Waits until the PVC's capacity reaches SIZE in bytes, or its filesystem awaits a pod restart.
# Returns 0 when grown, 2 when FileSystemResizePending; dies on a resize error or a timeout.
wait_pvc() {
  wait_until "$WAIT_SECONDS" "PVC $1 to reach $SIZE" pvc_grown "$1" ||
    die "PVC $MISSING after $(duration "$WAIT_SECONDS") (expected $SIZE, $SIZE_BYTES bytes); see $(shown "${K[@]}" describe pvc "$1")$(at_zero_note)"
  [ "$PVC_STATE" = pending ] && return 2
  return 0
}

# True when PVC $1 (an index of PVCS) belongs to an apps/v1 StatefulSet, whose PVCs grow before the
# orphan delete; an Advanced StatefulSet's grow after the upgrade (step_kruise_pvcs).
replaced_pvc() { [ -z "${STS_KRUISE[${PVC_STS[$1]}]:-}" ]; }

# A probe of wait_until: every PVC has grown (or its filesystem awaits the pod). MISSING counts them
# and names the others with their state ("1 of 3 PVCs at 50Gi; data-kafka-2 at 20Gi, Resizing").
pvcs_grown() {
  local i total=0 done_=0 others=()
  for i in "${!PVCS[@]}"; do
    replaced_pvc "$i" || continue
    get pvc "${PVCS[$i]}" -o name >/dev/null 2>&1 || continue
    total=$((total + 1))
    pvc_state "${PVCS[$i]}"
    if [ "$PVC_STATE" = growing ]; then others+=("$PVC_SAID"); else done_=$((done_ + 1)); fi
  done
  [ "${#others[@]}" = 0 ] && return 0
  MISSING="$done_ of $total PVCs at $SIZE"
  for i in "${!others[@]}"; do MISSING+="; ${others[$i]}"; done
  return 1
}

# The pods that mount the PVC (the scale-down waited for them to go).
pods_using() {
  local i
  for i in "${!PVCS[@]}"; do
    if [ "${PVCS[$i]}" = "$1" ] && [ "${PVC_IN_REPLICAS[$i]}" = 1 ]; then
      get pod "${PVC_PODS[$i]}" -o name 2>/dev/null || true
    fi
  done
}

# What a stop leaves when the fallback has scaled StatefulSets to 0: how to resume or scale back.
at_zero_note() {
  local i sts
  [ "$FALLBACK" = 1 ] || return 0
  for i in "${!STATEFULSETS[@]}"; do
    sts="${STATEFULSETS[$i]}"
    [ "$(field statefulset "$sts" '{.spec.replicas}' 2>/dev/null || true)" = 0 ] || continue
    printf '. StatefulSet %s is at 0 replicas (its pods are down): run this script again with --fallback-scale-to-zero to resume, or scale it back: %s' \
      "$sts" "$(shown "${K[@]}" scale statefulset "$sts" "--replicas=${REPLICAS[$i]}")"
  done
}

# A probe of wait_until: every PVC that exists reports ATTRIBUTES_CLASS as its current class
# (status.currentVolumeAttributesClassName); an Infeasible modification stops the wait at once.
pvcs_classed() {
  local i pvc now status waiting=()
  for i in "${!PVCS[@]}"; do
    pvc="${PVCS[$i]}"
    get pvc "$pvc" -o name >/dev/null 2>&1 || continue
    now=$(field pvc "$pvc" '{.status.currentVolumeAttributesClassName}')
    class_done "$now" && continue
    status=$(field pvc "$pvc" '{.status.modifyVolumeStatus.status}')
    [ "$status" != Infeasible ] ||
      die "PVC $pvc: the driver refuses VolumeAttributesClass $ATTRIBUTES_CLASS (modifyVolumeStatus Infeasible): $(shown "${K[@]}" describe pvc "$pvc"); name another class (the PVC keeps its current one, ${now:-none})"
    waiting+=("$pvc ${now:-(none)}${status:+, $status}")
  done
  [ "${#waiting[@]}" = 0 ] && return 0
  MISSING="not yet at $ATTRIBUTES_CLASS: ${waiting[*]}"
  return 1
}

step_wait_pvcs() {
  local i
  wait_until "$WAIT_SECONDS" "the PVCs to reach $SIZE" pvcs_grown ||
    die "not every PVC has grown after $(duration "$WAIT_SECONDS"): $MISSING; see $(shown "${K[@]}" describe pvc "${PVCS[@]}")$(at_zero_note)"
  if [ -n "${ATTRIBUTES_CLASS:-}" ]; then
    wait_until "$WAIT_SECONDS" "the PVCs to report VolumeAttributesClass $ATTRIBUTES_CLASS" pvcs_classed ||
      die "not every PVC has VolumeAttributesClass $ATTRIBUTES_CLASS after $(duration "$WAIT_SECONDS"): $MISSING; see $(shown "${K[@]}" describe pvc "${PVCS[@]}")"
    note "every PVC reports VolumeAttributesClass $ATTRIBUTES_CLASS"
  fi
  for i in "${!PVCS[@]}"; do
    replaced_pvc "$i" || continue
    get pvc "${PVCS[$i]}" -o name >/dev/null 2>&1 || continue
    pvc_state "${PVCS[$i]}"
    case "$PVC_STATE" in
      grown) note "${PVCS[$i]} has grown to $(field pvc "${PVCS[$i]}" '{.status.capacity.storage}')" ;;
      pending) note "${PVCS[$i]}: the disk has grown; its filesystem waits for the pod (FileSystemResizePending)" ;;
    esac
  done
}

step_fallback_scale_up() {
  [ "$FALLBACK" = 1 ] || { note "skipped (only with --fallback-scale-to-zero)"; return 0; }
  local i
  for i in "${!STATEFULSETS[@]}"; do
    sts_live "${STATEFULSETS[$i]}" || continue
    [ "$(field statefulset "${STATEFULSETS[$i]}" '{.spec.replicas}')" != "${REPLICAS[$i]}" ] || continue
    "${K[@]}" scale statefulset "${STATEFULSETS[$i]}" "--replicas=${REPLICAS[$i]}"
  done
}

# A copy of a StatefulSet that is being deleted is no copy to put back: the one saved before its
# orphan delete (by the run that made it) is kept.
keep_saved_copy() {
  rm -f -- "$(saved_file "$1").tmp"
  [ -s "$(saved_file "$1")" ] ||
    die "StatefulSet $1 is being deleted (metadata.deletionTimestamp is set), and no copy was saved by an earlier run in $(saved_file "$1")"
  note "StatefulSet $1 is being deleted by an earlier run: keeping the copy saved before, $(saved_file "$1")"
}

step_save_statefulsets() {
  local sts file
  for sts in "${STATEFULSETS[@]}"; do
    [ -z "$(sts_kruise "$sts")" ] || continue
    if sts_terminating "$sts"; then keep_saved_copy "$sts"; continue; fi
    if ! needs_replace "$sts"; then
      if ! sts_exists "$sts"; then
        note "StatefulSet $sts is deleted already (by an earlier run; its copy: $(saved_file "$sts")): nothing to save"
      elif sts_in_place "$sts"; then
        note "StatefulSet $sts is updated in place (volumeClaimUpdatePolicy: InPlace): nothing to save"
      else
        note "StatefulSet $sts already has claim template $CLAIM at $(sts_template "$sts"): nothing to save, it is not re-created"
      fi
      continue
    fi
    file=$(saved_file "$sts")
    # What `kubectl create -f` takes back: no resourceVersion, uid or status.
    get statefulset "$sts" -o yaml |
      sed -e '/^  resourceVersion: /d' -e '/^  uid: /d' -e '/^  creationTimestamp: /d' -e '/^status:/,$d' >"$file.tmp"
    grep -q '^kind: StatefulSet' "$file.tmp" || die "could not save StatefulSet $sts"
    if grep -q '^  deletionTimestamp: ' "$file.tmp"; then keep_saved_copy "$sts"; continue; fi
    mv -- "$file.tmp" "$file"
    note "saved StatefulSet $sts in $file"
  done
}

upgrade_failed() {
  local sts
  printf '\npvc-resize: helm upgrade failed.\n' >&2
  for sts in "${STATEFULSETS[@]}"; do
    sts_exists "$sts" && continue
    printf 'StatefulSet %s is deleted; its pods and PVCs run on without a controller. To put it back as it was\n(it adopts the running pods again):\n  %s\n' \
      "$sts" "$(shown "${K[@]}" create -f "$(saved_file "$sts")")" >&2
  done
  printf 'To resume instead: fix the cause above, then run this script again; it skips what is done and\nruns the upgrade:\n  %s\n' "$(shown bash "$0" "$@")" >&2
  exit 1
}

# Waits for a StatefulSet whose orphan delete was accepted to be gone: an upgrade before would patch
# the object being deleted (its claim template: spec: Forbidden).
wait_gone() {
  wait_until "$WAIT_SECONDS" "StatefulSet $1 to be gone (the garbage collector orphans its pods first)" sts_gone "$1" ||
    die "StatefulSet $1 is still there $(duration "$WAIT_SECONDS") after the orphan delete; see $(shown "${K[@]}" get statefulset "$1" -o yaml) (metadata.finalizers)"
}

# A probe of wait_until: the StatefulSet is gone.
sts_gone() {
  sts_exists "$1" || return 0
  local since
  since=$(field statefulset "$1" '{.metadata.deletionTimestamp}' 2>/dev/null || true)
  MISSING="StatefulSet $1 is still there${since:+ (being deleted since $since)}"
  return 1
}

# The orphan delete and the upgrade that re-creates the StatefulSet, back to back. A rerun after a kill
# between the accepted delete and the object's end finds it Terminating: it waits, and deletes nothing
# again (a second delete may find it gone: --ignore-not-found).
step_replace_statefulsets() {
  local sts i request need_upgrade=0
  for sts in "${STATEFULSETS[@]}"; do
    if sts_terminating "$sts"; then
      note "StatefulSet $sts is being deleted by an earlier run: waiting for it to be gone"
      wait_gone "$sts"
    elif needs_replace "$sts"; then
      [ -s "$(saved_file "$sts")" ] || die "no saved copy of StatefulSet $sts"
      "${K[@]}" delete statefulset "$sts" --cascade=orphan --ignore-not-found --wait=true
      wait_gone "$sts"
    fi
    if ! sts_exists "$sts" || ! at_least_size "$(sts_template "$sts")"; then need_upgrade=1; fi
  done
  plain_grown || need_upgrade=1
  # Also when every template is grown already: the release must be deployed (a failed upgrade may have
  # re-created the StatefulSets and stopped later) and its values must record the size.
  if [ "$need_upgrade" = 0 ] && [ "$RELEASE_STATUS" = deployed ] && sizes_set "$WORK_DIR/release-values.yaml"; then
    note "the release and every StatefulSet already have $SIZE"
    return 0
  fi
  "${UPGRADE[@]}" || upgrade_failed "$@"
  # The upgrade re-created them from the chart: with a values path the chart does not read, at the
  # old size (and every rerun would delete and re-create them again).
  for i in "${!STATEFULSETS[@]}"; do
    sts="${STATEFULSETS[$i]}"
    if sts_exists "$sts" && ! at_least_size "$(sts_template "$sts")"; then
      die "the upgrade left StatefulSet $sts with claim template $CLAIM at $(sts_template "$sts"), not $SIZE: the chart does not size it by ${TARGET_VALUES_PATHS[$i]:-$VALUES_PATH}. Its PVCs are grown and it runs; find the values key the chart reads ($(shown "${H[@]}" show values "--version=$CHART_VERSION" -- "$CHART")), make the plan again with --path, and run it"
    fi
  done
  # The installations an operator reconciles: the upgrade set their claim template, which the
  # operator copies to the PVCs; at the old size, the chart does not size it by that path.
  for i in "${!OPERATOR_CLAIMS[@]}"; do
    request=$(operator_template "$i")
    at_least_size "${request:-0}" ||
      die "the upgrade left ${OPERATOR_CLAIMS[$i]%/*} with claim template ${OPERATOR_CLAIMS[$i]##*/} at ${request:-nothing}, not $SIZE: the chart does not size it by ${OPERATOR_VALUES_PATHS[$i]:-$VALUES_PATH}; make the plan again with --chart (the chart's folder or .tgz), which finds and proves the path the chart reads, and run it"
  done
  # The PVCs the chart renders: the upgrade itself set their request (Helm's three-way merge).
  for i in "${!PLAIN_PVCS[@]}"; do
    request=$(field pvc "${PLAIN_PVCS[$i]}" '{.spec.resources.requests.storage}' 2>/dev/null || true)
    at_least_size "${request:-0}" ||
      die "the upgrade left PVC ${PLAIN_PVCS[$i]} requesting ${request:-nothing}, not $SIZE: the chart does not size it by ${PLAIN_VALUES_PATHS[$i]:-$VALUES_PATH}; make the plan again with --chart (the chart's folder or .tgz), which finds and proves the path the chart reads, and run it"
  done
}

# True when every PVC the chart renders itself already requests SIZE (the upgrade that grows them ran).
plain_grown() {
  local pvc request
  for pvc in "${PLAIN_PVCS[@]}"; do
    request=$(field pvc "$pvc" '{.spec.resources.requests.storage}' 2>/dev/null) || return 1
    at_least_size "$request" || return 1
  done
}

step_rollout() {
  local sts
  for sts in "${STATEFULSETS[@]}"; do
    # `rollout status` knows neither an Advanced StatefulSet (OpenKruise) nor OnDelete (it refuses
    # it): every replica Ready instead.
    if [ -n "$(sts_kruise "$sts")" ] || [ "$(field statefulset "$sts" '{.spec.updateStrategy.type}')" = OnDelete ]; then
      wait_until "$WAIT_SECONDS" "every replica of StatefulSet $sts to be Ready" replicas_ready "$sts" ||
        die "StatefulSet $sts has not every replica Ready after $(duration "$WAIT_SECONDS"): $MISSING; see $(shown "${K[@]}" describe "$(sts_resource "$sts")" "$sts")"
      continue
    fi
    note "waiting for the rollout of StatefulSet $sts (at most $(duration "$WAIT_SECONDS"); kubectl says how it goes)"
    "${K[@]}" rollout status "statefulset/$sts" "--timeout=${WAIT_SECONDS}s"
  done
}

# A probe of wait_until: every replica of the StatefulSet is Ready.
replicas_ready() {
  local ready want
  ready=$(sts_field "$1" '{.status.readyReplicas}' 2>/dev/null || true)
  want=$(sts_field "$1" '{.spec.replicas}' 2>/dev/null || true)
  [ "${ready:-0}" = "$want" ] && return 0
  MISSING="${ready:-0} of ${want:-?} replicas of $1 Ready"
  return 1
}

# Restarts a pod whose filesystem awaits it, if (and only if) a StatefulSet owns it, and waits for Ready.
restart_pod() {
  local pod="$1" sts="$2" uid
  [ "$(pod_owner "$pod")" = "StatefulSet/$sts" ] ||
    die "pod $pod is not owned by StatefulSet $sts (owner: $(pod_owner "$pod")); not restarting it: run this script again once the StatefulSet is back"
  uid=$(field pod "$pod" '{.metadata.uid}')
  log "restarting $pod so that its filesystem grows (FileSystemResizePending)"
  "${K[@]}" delete pod "$pod" --wait=true
  wait_until "$WAIT_SECONDS" "pod $pod to be back and Ready" pod_restarted "$pod" "$uid" ||
    die "pod $pod is not Ready $(duration "$WAIT_SECONDS") after its restart ($MISSING); see $(shown "${K[@]}" describe pod "$pod")"
}

# A probe of wait_until: a new pod of that name (another uid) is Ready.
pod_restarted() {
  if [ "$(field pod "$1" '{.metadata.uid}' 2>/dev/null || true)" = "$2" ]; then
    MISSING="pod $1 is still the old one (being deleted)"
    return 1
  fi
  get pod "$1" -o name >/dev/null 2>&1 || { MISSING="pod $1 is not created yet"; return 1; }
  pod_ready_said "$1"
}

# The filesystem size seen by the pod, in bytes.
fs_bytes() {
  local blocks
  blocks=$("${K[@]}" exec "$1" -c "$2" -- df -Pk "$3" | awk 'NR == 2 { print $2 }')
  [[ "$blocks" =~ ^[0-9]+$ ]] || return 1
  echo $((blocks * 1024))
}

# A probe of wait_until: the PVC's filesystem has grown (no FileSystemResizePending any more).
pvc_fs_grown() {
  pvc_state "$1"
  [ "$PVC_STATE" = grown ] && return 0
  MISSING="$PVC_SAID"
  return 1
}

# A probe of wait_until: the filesystem the pod sees (FS_GOT bytes) has at least FS_MIN_PERCENT of SIZE.
fs_grown() {
  FS_GOT=$(fs_bytes "$1" "$2" "$3") || die "could not read the filesystem size of $1 ($(shown "${K[@]}" exec "$1" -c "$2" -- df -Pk "$3"))"
  [ $((FS_GOT / FS_MIN_PERCENT)) -lt $((SIZE_BYTES / 100)) ] || return 0
  MISSING="the filesystem of $1 at $3 has $FS_GOT bytes"
  return 1
}

step_verify() {
  local i j pvc pod sts rc mount container
  # One pod at a time, highest ordinal first, as a StatefulSet rolls.
  for ((j = ${#PVCS[@]} - 1; j >= 0; j--)); do
    i="$j"; pvc="${PVCS[$i]}"; pod="${PVC_PODS[$i]}"; sts="${STATEFULSETS[${PVC_STS[$i]}]}"
    mount="${MOUNTS[${PVC_STS[$i]}]}"; container="${CONTAINERS[${PVC_STS[$i]}]}"
    get pvc "$pvc" -o name >/dev/null 2>&1 || continue
    rc=0; wait_pvc "$pvc" || rc=$?
    if [ "${PVC_IN_REPLICAS[$i]}" = 0 ]; then
      note "$pvc has no pod (beyond the replicas); its filesystem grows when a pod mounts it"
      continue
    fi
    # Drivers that expand online clear FileSystemResizePending by themselves; others need a restart.
    if [ "$rc" = 2 ] && ! wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $pvc to grow online" pvc_fs_grown "$pvc"; then
      restart_pod "$pod" "$sts"
      rc=0; wait_pvc "$pvc" || rc=$?
      [ "$rc" = 0 ] || die "$pvc is still FileSystemResizePending after $pod restarted; see $(shown "${K[@]}" describe pvc "$pvc")"
    fi
    pod_ready "$pod" || die "pod $pod is not Ready"
    # Online expansion: the kubelet grows a mounted filesystem within a minute or two.
    wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $pod at $mount to show $SIZE" fs_grown "$pod" "$container" "$mount" ||
      die "the filesystem of $pod at $mount has ${FS_GOT:-?} bytes, less than ${FS_MIN_PERCENT}% of $SIZE ($SIZE_BYTES bytes): it has not grown; restart the pod ($(shown "${K[@]}" delete pod "$pod"), while its StatefulSet owns it) and run this script again"
    note "$pod: the filesystem at $mount has $FS_GOT bytes"
  done
  verify_plain
  verify_operator
}

# The PVCs the chart renders itself: the capacity by value, then the filesystem their workload's pod
# sees (kubectl exec deployment/NAME). A filesystem still FileSystemResizePending needs that pod
# restarted, which this script does only for a StatefulSet's pods: it stops and says how.
verify_plain() {
  local i pvc workload container mount rc
  for i in "${!PLAIN_PVCS[@]}"; do
    pvc="${PLAIN_PVCS[$i]}"; workload="${PLAIN_WORKLOADS[$i]}"
    container="${PLAIN_CONTAINERS[$i]}"; mount="${PLAIN_MOUNTS[$i]}"
    rc=0; wait_pvc "$pvc" || rc=$?
    if [ "$rc" = 2 ] && ! wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $pvc to grow online" pvc_fs_grown "$pvc"; then
      die "$pvc has grown but is FileSystemResizePending: its filesystem grows when the pod that mounts it restarts, which this script does only for a StatefulSet's pods; restart it${workload:+ ($(shown "${K[@]}" rollout restart "$workload"))} and run this script again"
    fi
    if [ -z "$workload" ] || [ -z "$container" ]; then
      note "$pvc has $SIZE; no container of the render mounts it, so no filesystem is checked"
      continue
    fi
    wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $workload at $mount to show $SIZE" fs_grown "$workload" "$container" "$mount" ||
      die "the filesystem of $workload at $mount has ${FS_GOT:-?} bytes, less than ${FS_MIN_PERCENT}% of $SIZE ($SIZE_BYTES bytes): it has not grown; restart its pod ($(shown "${K[@]}" rollout restart "$workload")) and run this script again"
    note "$workload: the filesystem at $mount has $FS_GOT bytes"
  done
}

# --- volumes an operator owns (plan --resource) ---------------------------------------------------
# The Altinity ClickHouse operator sets each existing PVC's request from the claim template when it
# reconciles the installation (clickhouse-operator: pkg/controller/common/storage/storage-reconciler.go,
# reconcilePVC -> model.VolumeClaimTemplateApplyResourcesRequestsOnPVC): after the upgrade, this
# script waits for it, patches nothing and deletes nothing. Its PVCs carry the label OPERATOR_SELECTORS
# and are named <template>-<pod> (pkg/model/chi/namer/name.go, createPVCName).

OP_PVCS=()
# The PVCs of OPERATOR_CLAIMS[$1] now, in OP_PVCS: labelled OPERATOR_SELECTORS[$1], named with the
# template's prefix.
operator_pvcs() {
  local list name
  list=$(get pvc "--selector=${OPERATOR_SELECTORS[$1]}" -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}' 2>"$WORK_DIR/kubectl.stderr") ||
    die "the PVCs of ${OPERATOR_CLAIMS[$1]} can't be listed (-l ${OPERATOR_SELECTORS[$1]}): kubectl says: $(kubectl_said); hint: forbidden: the context's user needs list on persistentvolumeclaims"
  OP_PVCS=()
  # <template>-chi-<installation>-...: a sibling template whose name starts with this one's
  # (<template>-logs-chi-...) is not this template's.
  for name in $list; do
    [[ "$name" != "${OPERATOR_PVC_PREFIXES[$1]}chi-${OPERATOR_SELECTORS[$1]#*=}-"* ]] || OP_PVCS+=("$name")
  done
}

# The request of OPERATOR_CLAIMS[$1]'s claim template in the live installation (a
# ClickHouseInstallation's spec.templates.volumeClaimTemplates, by the template's name).
operator_template() {
  local template="${OPERATOR_CLAIMS[$1]##*/}"
  get "${OPERATOR_CLAIMS[$1]%/*}" -o "jsonpath={.spec.templates.volumeClaimTemplates[?(@.name==\"$template\")].spec.resources.requests.storage}" 2>"$WORK_DIR/kubectl.stderr" ||
    die "${OPERATOR_CLAIMS[$1]%/*} can't be read: kubectl says: $(kubectl_said); hint: forbidden: the context's user needs get on clickhouseinstallations.clickhouse.altinity.com (kubectl auth can-i get clickhouseinstallations)"
}

# Each PVC of an operator's claim template can grow: Bound, its StorageClass allows expansion (the
# operator's update would be refused, and it only logs that), and none requests more than SIZE (the
# operator copies the template's request: a shrink the API server refuses).
check_operator_pvcs() {
  local i pvc request suspend
  for i in "${!OPERATOR_CLAIMS[@]}"; do
    # The live installation, not the render: a suspend patched by hand survives Helm's three-way
    # merge, and a suspended installation is never reconciled (its PVCs would never grow).
    operator_template "$i" >/dev/null
    suspend=$(get "${OPERATOR_CLAIMS[$i]%/*}" -o 'jsonpath={.spec.suspend}' 2>/dev/null || true)
    case "$suspend" in
      1 | [Tt]rue | [Yy]es | [Oo]n | [Ee]nable | [Ee]nabled)
        die "${OPERATOR_CLAIMS[$i]%/*} has spec.suspend: $suspend in the cluster: its operator does not reconcile it, so its PVCs would never grow; hint: unsuspend it (kubectl edit ${OPERATOR_CLAIMS[$i]%/*}), then run this script again" ;;
    esac
    operator_pvcs "$i"
    if [ "${#OP_PVCS[@]}" = 0 ]; then
      note "${OPERATOR_CLAIMS[$i]}: no PVC labelled ${OPERATOR_SELECTORS[$i]} yet: its operator makes them from the template, at $SIZE after the upgrade"
      continue
    fi
    for pvc in "${OP_PVCS[@]}"; do
      pvc_expandable "$pvc" "$(field pvc "$pvc" '{.status.phase}')"
      request=$(field pvc "$pvc" '{.spec.resources.requests.storage}')
      [ "$(to_bytes "$request")" -le "$SIZE_BYTES" ] ||
        die "PVC $pvc requests $request, more than $SIZE: the operator would set its request to the template's $SIZE, which the API server refuses as a shrink; make the plan again with --size $request or more"
      wait_until "$PREFLIGHT_WAIT_SECONDS" "pod ${pvc#"${OPERATOR_PVC_PREFIXES[$i]}"} to be Ready" pod_ready_said "${pvc#"${OPERATOR_PVC_PREFIXES[$i]}"}" ||
        die "$MISSING: the host's pod must be Ready before the upgrade, which the operator may follow by re-creating its StatefulSet; see $(shown "${K[@]}" describe pod "${pvc#"${OPERATOR_PVC_PREFIXES[$i]}"}")"
    done
    note "${OPERATOR_CLAIMS[$i]}: ${#OP_PVCS[@]} PVC(s) labelled ${OPERATOR_SELECTORS[$i]}, each Bound and expandable, each host's pod Ready"
  done
}

# A probe of wait_until: every PVC in OP_PVCS requests SIZE (set by the operator) and has grown (or its
# filesystem awaits the pod). MISSING counts them and names the others with their state.
operator_grown() {
  local pvc request done_=0 others=()
  for pvc in "${OP_PVCS[@]}"; do
    request=$(field pvc "$pvc" '{.spec.resources.requests.storage}' 2>/dev/null || true)
    if ! at_least_size "${request:-0}"; then
      others+=("$pvc requests ${request:-nothing} (the operator has not reconciled it yet)")
      continue
    fi
    pvc_state "$pvc"
    if [ "$PVC_STATE" = growing ]; then others+=("$PVC_SAID"); else done_=$((done_ + 1)); fi
  done
  [ "${#others[@]}" = 0 ] && return 0
  MISSING="$done_ of ${#OP_PVCS[@]} PVCs at $SIZE"
  for pvc in "${!others[@]}"; do MISSING+="; ${others[$pvc]}"; done
  return 1
}

# Every PVC of each operator's claim template: requested and grown (waited for together, with
# progress lines), then the filesystem in its pod (<template>-<pod>); one FileSystemResizePending
# gets its pod restarted, while the host's StatefulSet owns it.
verify_operator() {
  local i pvc pod rc container mount
  for i in "${!OPERATOR_CLAIMS[@]}"; do
    operator_pvcs "$i"
    [ "${#OP_PVCS[@]}" -gt 0 ] ||
      die "no PVC labelled ${OPERATOR_SELECTORS[$i]} for ${OPERATOR_CLAIMS[$i]}: its operator has not made them; see the operator's log and $(shown "${K[@]}" describe "${OPERATOR_CLAIMS[$i]%/*}")"
    wait_until "$WAIT_SECONDS" "the operator and the resizer to grow the PVCs of ${OPERATOR_CLAIMS[$i]} to $SIZE" operator_grown ||
      die "not every PVC of ${OPERATOR_CLAIMS[$i]} has grown after $(duration "$WAIT_SECONDS"): $MISSING; a request the operator has not set means it has not reconciled the installation (see its log and $(shown "${K[@]}" describe "${OPERATOR_CLAIMS[$i]%/*}")); run this script again to keep waiting"
    container="${OPERATOR_CONTAINERS[$i]}"; mount="${OPERATOR_MOUNTS[$i]}"
    for pvc in "${OP_PVCS[@]}"; do
      pod="${pvc#"${OPERATOR_PVC_PREFIXES[$i]}"}"
      # With the StatefulSet provisioner the operator re-creates the host's StatefulSet (and pod)
      # while it reconciles: the pod must be back and Ready before df or a restart.
      wait_until "$WAIT_SECONDS" "pod $pod to be Ready" pod_ready_said "$pod" ||
        die "$MISSING $(duration "$WAIT_SECONDS") after the upgrade: the operator may still be re-creating the host; see $(shown "${K[@]}" describe pod "$pod") and the operator's log, then run this script again"
      rc=0; wait_pvc "$pvc" || rc=$?
      if [ "$rc" = 2 ] && ! wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $pvc to grow online" pvc_fs_grown "$pvc"; then
        restart_pod "$pod" "${pod%-*}"
        rc=0; wait_pvc "$pvc" || rc=$?
        [ "$rc" = 0 ] || die "$pvc is still FileSystemResizePending after $pod restarted; see $(shown "${K[@]}" describe pvc "$pvc")"
      fi
      if [ -z "$container" ]; then
        note "$pvc has $SIZE; the resource's pod template mounts it nowhere this plan read, so no filesystem is checked"
        continue
      fi
      wait_until "$PENDING_GRACE_SECONDS" "the filesystem of $pod at $mount to show $SIZE" fs_grown "$pod" "$container" "$mount" ||
        die "the filesystem of $pod at $mount has ${FS_GOT:-?} bytes, less than ${FS_MIN_PERCENT}% of $SIZE ($SIZE_BYTES bytes): it has not grown; restart the pod ($(shown "${K[@]}" delete pod "$pod"), its StatefulSet re-creates it) and run this script again"
      note "$pod: the filesystem at $mount has $FS_GOT bytes"
    done
  done
}

main() {
  local k id
  for k in "${!STEPS[@]}"; do
    id="${STEPS[$k]}"
    log "step $((k + 1))/${#STEPS[@]} $id: ${STEP_TITLES[$k]}"
    "step_${id//-/_}" "$@"
  done
  log "done: every PVC and filesystem of $RELEASE has $SIZE"
}

main "$@"
