#!/usr/bin/env python3
"""A small stateful Kubernetes + Helm simulation behind fake `kubectl`, `helm` and `pvc-resize`.

`python3 sim.py SIM_DIR` serves the fakes: `kubectl`, `helm` and `pvc-resize` beside this file are links to
`client`, which sends its name and arguments through the FIFO SIM_DIR/request and prints the answer (one
Python process per cluster instead of one per call). The cluster lives in the JSON file
SIM_DIR/state.json; every call loads it, lets the "controllers" run (time passes), acts, and saves it, so a
test can read and edit it between runs.

Rules enforced, as the API server and the controllers do:
  - a PVC request only grows, only while Bound, only when its StorageClass has allowVolumeExpansion;
  - a StatefulSet's claim templates are immutable (helm upgrade fails with the real `spec: Forbidden`
    text), unless it has KEP-4650's field (in no release; the draft's spec.volumeClaimUpdateStrategy.type,
    or the older draft's spec.volumeClaimUpdatePolicy) InPlace (then grow only); an object written by the
    upgrade keeps that field only when the gate StatefulSetUpdateVolumeClaimTemplate is in state["gates"]
    (an API server without the gate drops an unknown field);
  - an orphan delete keeps pods and PVCs (their ownerReferences go); a normal delete kills the pods;
    an orphan delete leaves the StatefulSet Terminating (metadata.deletionTimestamp, finalizer
    `orphan`) for faults.terminating_polls calls (default 1) until the garbage collector has orphaned
    its pods, unless `kubectl delete --wait=true` waits it out; a Terminating StatefulSet manages no
    pods, and a second delete of it is accepted; the fault `kill_after_orphan_delete` kills the
    client right after the API server accepted the delete;
  - a StatefulSet's pods are `<sts>-<i>` and its PVCs `<claim>-<sts>-<i>` for i in start..start+replicas,
    start being spec.ordinals.start (default 0; StatefulSetStartOrdinal, GA in 1.31); it re-creates its
    missing pods, adopts matching orphans and deletes the pods it owns outside those ordinals (a
    scale-down, or a raised start); a pod deleted while no StatefulSet owns it is gone for good;
  - FileSystemResizePending (offline expansion) lasts until the pod restarts; an "attached-refusal"
    class refuses to grow a disk while a pod uses it (the Azure Disk error text), and keeps that
    error for `backoff` more calls after the pod is gone (the resizer's retry backoff);
  - ResourceQuotas (state["quotas"]: name -> {"hard": {requests.storage or
    <class>.storageclass.storage.k8s.io/requests.storage: quantity}}, used = the namespace's PVC requests) and
    LimitRanges (state["limitranges"]: name -> {"max": quantity}) refuse a PVC patch as the admission plugins
    do, with their texts (`exceeded quota: ...`, `maximum storage usage per PersistentVolumeClaim is ...`);
  - VolumeAttributesClasses (state["attributes_classes"]: name -> {"driverName": ...}; GA in 1.34): a PVC's
    spec.volumeAttributesClassName may change (never back to none), and the driver's modification sets
    status.currentVolumeAttributesClassName after faults.class_ticks {pvc: calls} (default 1; ModifyVolumeStatus
    InProgress meanwhile), or never while the class is missing (Pending) or in faults.class_infeasible
    [class] (Infeasible); a claim template's class is as immutable as its size; the model's chart reads
    it from values at model["class_values_path"] (when set);
  - the server's version (state["server_minor"], default 35; `kubectl version -o json`): before 1.35 an
    upgrade that changes a live StatefulSet's revisionHistoryLimit fails with `spec: Forbidden`;
  - OpenKruise's Advanced StatefulSet (a model shape with apiVersion apps.kruise.io/v1beta1; state["kruise"]:
    {"gate": StatefulSetAutoResizePVCGate on, "frozen": a Kruise before 1.4, whose webhook forbids any claim
    template change, "no_strategy": a Kruise before 1.7.5 without volumeClaimUpdateStrategy}): kubectl names it
    `statefulsets.apps.kruise.io` (`statefulset` is apps/v1's and does not find it); its webhook's rules on the
    upgrade and on `kubectl patch --dry-run=server`; under OnPodRollingUpdate with the gate, its controller
    patches the PVCs as it rolls the pods (see the kruise_* functions);
  - contexts, releases, chart references and versions; reads RBAC forbids (faults.forbidden: kinds);
  - waits as a person meets them: faults.resize_ticks {pvc: calls} (a slow resize, Resizing meanwhile),
    faults.ebs_busy {pvc: calls} (AWS EBS refuses while an earlier modification runs, the resizer
    retries: ControllerResizeError with IncorrectModificationState meanwhile), faults.ebs_rate [pvc]
    (VolumeModificationRateExceeded, for good), faults.quiet_ticks {pvc: calls} (the resizer has not
    picked the PVC up yet: no condition, only the controller's ExternalExpanding event), faults.not_ready [pod] (a pod that never becomes Ready:
    CrashLoopBackOff), faults.kill_at_call {"match": text, "count": n} (the script killed at the n-th
    call whose words contain the text: a kill during a wait), faults.list_indent (helm list -o json
    pretty-printed, as another Helm might), faults.chi_not_applied (the upgrade succeeds but leaves every
    ClickHouseInstallation as it was: another field manager, or a webhook, keeps its claim template).
Violations of the procedure's invariants (a PVC deleted or shrunk, a pod deleted without an owner, a
call that names no context) are recorded in state["violations"]; faults are injected from state["faults"].
"""
import json
import os
import re
import signal
import subprocess
import sys

import contextlib
import errno
import io
import time

SIM_DIR = sys.argv[1] if __name__ == "__main__" else ""
STATE = os.path.join(SIM_DIR, "state.json")
UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
         "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
FORBIDDEN = ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
             "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
AZURE = "disk resize is only supported on Unattached disk, current disk state: Attached"


def to_bytes(q):
    m = re.fullmatch(r"([0-9]+)([KMGTP]i|[kMGTP])?", str(q))
    if not m:
        raise ValueError(f"quantities must match the regular expression: {q!r}")
    return int(m.group(1)) * UNITS[m.group(2) or ""]


def quantity(b):
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        if b % UNITS[suffix] == 0:
            return f"{b // UNITS[suffix]}{suffix}"
    return str(b)


def fail(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    save()
    sys.exit(code)


# --- state -------------------------------------------------------------------------------------

S = {}
CLIENT_PGID = [0]


class Killed(Exception):
    """The fault `kill_at` killed the client's process group: no answer is sent."""


def load():
    global S
    with open(STATE) as f:
        S = json.load(f)


def save():
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(S, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE)


def violation(text):
    S["violations"].append(text)


def next_uid():
    S["uid"] += 1
    return f"uid-{S['uid']}"


def mutate(what):
    """Counts a change; the fault `kill_at` kills the script (its whole process group) before it."""
    S["mutations"] += 1
    S["changes"].append(what)
    if S["faults"].get("kill_at") == S["mutations"]:
        S["faults"]["kill_at"] = None
        S["killed_before"] = what
        S["changes"].pop()
        S["mutations"] -= 1
        save()
        os.killpg(CLIENT_PGID[0], signal.SIGKILL)
        raise Killed()


# --- objects -------------------------------------------------------------------------------------

def pvc_obj(name):
    p = S["pvcs"][name]
    conds = [{"type": t, "status": "True", **({"message": p["message"]} if t.endswith("Error") else {})}
             for t in p["conditions"]]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": S["namespace"], "uid": p["uid"], **({"labels": p["labels"]} if p.get("labels") else {})},
            "spec": {"storageClassName": p["class"], "resources": {"requests": {"storage": quantity(p["request"])}},
                     **({"volumeAttributesClassName": p["vac"]} if p.get("vac") else {})},
            "status": {"phase": p["phase"], "capacity": {"storage": quantity(p["capacity"])}, "conditions": conds,
                       **({"currentVolumeAttributesClassName": p["vac_now"]} if p.get("vac_now") else {}),
                       **({"modifyVolumeStatus": {"targetVolumeAttributesClassName": p["vac"], "status": p["vac_status"]}}
                          if p.get("vac_status") else {})}}


def pod_obj(name):
    p = S["pods"][name]
    owner = S["statefulsets"].get(p["owner"] or "", {})
    owners = [{"apiVersion": owner.get("apiVersion", "apps/v1"), "kind": "StatefulSet", "name": p["owner"], "controller": True}] if p["owner"] else []
    if p.get("workload"):  # a Deployment's pod: its ReplicaSet owns it
        owners = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name.rsplit("-", 1)[0], "controller": True}]
    ready = {"type": "Ready", "status": "True" if p["ready"] else "False"}
    status = {"conditions": [ready]}
    if name in S["faults"].get("not_ready", []):
        ready.update(reason="ContainersNotReady", message="containers with unready status: [kafka]")
        status["containerStatuses"] = [{"name": "kafka", "ready": False, "restartCount": 7,
                                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                        "lastState": {"terminated": {"reason": "Error", "exitCode": 1}}}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": S["namespace"], "uid": p["uid"], "ownerReferences": owners},
            "status": status}


def sc_obj(name):
    c = S["storageclasses"][name]
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": c["provisioner"], "allowVolumeExpansion": c["allowVolumeExpansion"]}


def vac_obj(name):
    c = S["attributes_classes"][name]
    return {"apiVersion": "storage.k8s.io/v1", "kind": "VolumeAttributesClass", "metadata": {"name": name},
            "driverName": c.get("driverName", "ebs.csi.aws.com"), "parameters": c.get("parameters", {"iops": "16000"})}


def sts_obj(name):
    return {k: v for k, v in S["statefulsets"][name].items() if k != "polls_left"}


KEP_4650_FIELDS = ("volumeClaimUpdateStrategy", "volumeClaimUpdatePolicy")


def in_place(sts):
    """KEP-4650's in-place claim template update, under either draft name."""
    spec = sts["spec"]
    return (spec.get("volumeClaimUpdateStrategy") or {}).get("type") == "InPlace" or \
        spec.get("volumeClaimUpdatePolicy") == "InPlace"


def server_minor():
    """The simulated API server's minor version (state["server_minor"], default 35)."""
    return int(S.get("server_minor", 35))


def claim_of(sts):
    claim = sts.get("sim_claim", S["model"]["claim"])  # an operator's host: its template's name
    return next(t for t in sts["spec"]["volumeClaimTemplates"] if t["metadata"]["name"] == claim)


def ordinals(sts):
    """The ordinals of a StatefulSet's pods: start..start+replicas, start = spec.ordinals.start (default 0)."""
    start = (sts["spec"].get("ordinals") or {}).get("start", 0)
    return range(start, start + sts["spec"]["replicas"])


def template_bytes(sts):
    return to_bytes(claim_of(sts)["spec"]["resources"]["requests"]["storage"])


def template_class(sts):
    return claim_of(sts)["spec"].get("volumeAttributesClassName")


def modify_class(name, p):
    """The external resizer's ModifyVolume: the PVC's class becomes current, unless the class is
    missing (Pending) or the driver refuses it (Infeasible)."""
    want = p.get("vac")
    if not want or p.get("vac_now") == want:
        p.pop("vac_status", None)
        return
    if want not in S.get("attributes_classes", {}):
        p["vac_status"] = "Pending"
        return
    if want in S["faults"].get("class_infeasible", []):
        p["vac_status"] = "Infeasible"
        return
    if p.get("vac_ticks", 0) > 0:
        p["vac_ticks"] -= 1
        p["vac_status"] = "InProgress"
        return
    p["vac_now"] = want
    p.pop("vac_status", None)


# --- controllers -----------------------------------------------------------------------------

def pods_of_pvc(pvc):
    return [n for n, p in S["pods"].items() if p["pvc"] == pvc]


def finalize_orphan(name):
    """The garbage collector's `orphan` finalizer: the pods lose their owner, then the object goes."""
    for p in S["pods"].values():
        if p["owner"] == name:
            p["owner"] = None
    del S["statefulsets"][name]


def terminating(sts):
    return "deletionTimestamp" in sts["metadata"]


def reconcile():
    altinity_reconcile()
    for name, sts in list(S["statefulsets"].items()):
        if terminating(sts):
            sts["polls_left"] = sts.get("polls_left", 0) - 1
            if sts["polls_left"] < 0:
                finalize_orphan(name)
    for name, sts in S["statefulsets"].items():
        if terminating(sts):
            continue
        live = ordinals(sts)
        claim = claim_of(sts)
        policy = sts["spec"].get("persistentVolumeClaimRetentionPolicy", {})
        for pod, p in list(S["pods"].items()):
            m = re.fullmatch(re.escape(name) + r"-([0-9]+)", pod)
            if not m:
                continue
            if p["owner"] is None and not S["faults"].get("no_adopt"):
                p["owner"] = name  # adoption
            if p["owner"] == name and int(m.group(1)) not in live:
                del S["pods"][pod]  # scale down (or below a raised ordinals.start)
                if policy.get("whenScaled") == "Delete":
                    S["pvcs"].pop(p["pvc"], None)
                    violation(f"PVC {p['pvc']} deleted by a scale-down with whenScaled: Delete")
        for i in live:
            pod, pvc = f"{name}-{i}", f"{sts.get('sim_claim', S['model']['claim'])}-{name}-{i}"
            if pvc not in S["pvcs"]:
                b = to_bytes(claim["spec"]["resources"]["requests"]["storage"])
                S["pvcs"][pvc] = new_pvc(S["model"]["class"], b)
                vac = claim["spec"].get("volumeAttributesClassName")
                if vac:
                    S["pvcs"][pvc]["vac"] = S["pvcs"][pvc]["vac_now"] = vac
            if in_place(sts):
                want = to_bytes(claim["spec"]["resources"]["requests"]["storage"])
                if S["pvcs"][pvc]["request"] < want:
                    request(pvc, want)
            if pod not in S["pods"]:
                start_pod(pod, name, pvc)
    for name, sts in S["statefulsets"].items():
        if is_kruise(sts) and not terminating(sts):
            kruise_controller(name, sts)
    for name in S["faults"].get("not_ready", []):
        if name in S["pods"]:
            S["pods"][name]["ready"] = False
    for name, sts in S["statefulsets"].items():
        ready = [p for p in S["pods"].values() if p["owner"] == name and p["ready"]]
        sts.setdefault("status", {})["readyReplicas"] = len(ready)
    for name, p in S["pvcs"].items():
        resize(name, p)
        modify_class(name, p)


def new_pvc(cls, b):
    return {"uid": next_uid(), "class": cls, "phase": "Bound", "request": b, "capacity": b,
            "conditions": [], "message": "", "ticks": 0, "fs": b * 98 // 100}


def start_pod(pod, owner, pvc):
    p = S["pvcs"][pvc]
    if "FileSystemResizePending" in p["conditions"] and S["storageclasses"][p["class"]]["mode"] != "stuck":
        p["conditions"].remove("FileSystemResizePending")  # the filesystem grows when the volume is mounted
        p["fs"] = p["capacity"] * 98 // 100
    S["pods"][pod] = {"uid": next_uid(), "owner": owner, "ready": True, "pvc": pvc}


def resize(name, p):
    cls = S["storageclasses"][p["class"]]
    attached = any(True for _ in pods_of_pvc(name))
    if p["request"] <= p["capacity"]:
        return
    if cls["mode"] == "infeasible":
        p["conditions"] = ["ControllerResizeError"]
        p["message"] = f"resize volume \"{name}\" by resizer \"ebs.csi.aws.com\" failed: rpc error: code = OutOfRange desc = requested size exceeds the maximum"
        return
    if name in S["faults"].get("ebs_rate", []):
        p["conditions"] = ["ControllerResizeError"]
        p["message"] = f"resize volume \"{name}\" by resizer \"ebs.csi.aws.com\" failed: rpc error: code = Internal desc = Could not resize volume \"vol-0f1e2d3c4b5a69788\": operation error EC2: ModifyVolume, https response error StatusCode: 400, api error VolumeModificationRateExceeded: You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume."
        return
    busy = S["faults"].get("ebs_busy", {})
    if busy.get(name, 0) > 0:
        busy[name] -= 1
        p["conditions"] = ["ControllerResizeError"]
        p["message"] = f"resize volume \"{name}\" by resizer \"ebs.csi.aws.com\" failed: rpc error: code = Internal desc = Could not resize volume \"vol-0f1e2d3c4b5a69788\": operation error EC2: ModifyVolume, https response error StatusCode: 400, api error IncorrectModificationState: Volume vol-0f1e2d3c4b5a69788 is currently being modified"
        return
    if cls["mode"] == "attached-refusal" and attached:
        p["conditions"] = ["ControllerResizeError"]
        p["message"] = f"resize volume \"{name}\" by resizer \"disk.csi.azure.com\" failed: rpc error: code = Unknown desc = {AZURE}"
        p["backoff"] = cls.get("backoff", 0)
        return
    if p.get("quiet"):
        p["quiet"] -= 1
        return
    if p.get("backoff"):
        # The resizer retries a failed volume after a backoff (up to minutes): its last error stays
        # on the PVC meanwhile, though the disk is detached now.
        p["backoff"] -= 1
        return
    if p["ticks"] > 0:
        p["ticks"] -= 1
        p["conditions"] = ["Resizing"]
        return
    step = cls.get("round", 1)
    p["capacity"] = -(-p["request"] // step) * step
    p["conditions"] = []
    if cls["mode"] in ("offline", "stuck") or not attached:
        p["conditions"] = ["FileSystemResizePending"]
    else:
        p["fs"] = p["capacity"] * 98 // 100


def set_class(pvc, vac):
    """A PVC's spec.volumeAttributesClassName (kubernetes ValidatePersistentVolumeClaimUpdate)."""
    p = S["pvcs"][pvc]
    if p.get("vac") and not vac:
        fail(f'The PersistentVolumeClaim "{pvc}" is invalid: spec.volumeAttributesClassName: Forbidden: update from non-nil value to an empty string is forbidden')
    if vac == p.get("vac"):
        return
    mutate(f"patch pvc {pvc} class {vac}")
    p["vac"] = vac
    p["vac_ticks"] = S["faults"].get("class_ticks", {}).get(pvc, 1)


def request(pvc, b):
    p = S["pvcs"][pvc]
    if b < p["request"]:
        violation(f"PVC {pvc} shrink requested")
        fail(f'The PersistentVolumeClaim "{pvc}" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value')
    if p["phase"] != "Bound":
        fail(f'The PersistentVolumeClaim "{pvc}" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims')
    if not S["storageclasses"][p["class"]]["allowVolumeExpansion"]:
        fail(f'persistentvolumeclaims "{pvc}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize')
    if b > p["request"]:
        admit_grow(pvc, p, b)
        p["request"] = b
        p["ticks"] = S["faults"].get("resize_ticks", {}).get(pvc, S["storageclasses"][p["class"]].get("delay", 1))
        p["quiet"] = S["faults"].get("quiet_ticks", {}).get(pvc, 0)
        p["conditions"] = [] if p["quiet"] else ["Resizing"]
        # kube-controller-manager's expand controller, for a CSI volume: the resizer's turn.
        event(pvc, "ExternalExpanding", "waiting for an external controller to expand this PVC")


CLASS_QUOTA = ".storageclass.storage.k8s.io/requests.storage"


def quota_used(key):
    """What the quota controller counts for a quota key: the requests of the namespace's PVCs."""
    cls = key[:-len(CLASS_QUOTA)] if key.endswith(CLASS_QUOTA) else None
    return sum(p["request"] for p in S["pvcs"].values() if cls is None or p["class"] == cls)


def admit_grow(pvc, p, b):
    """ResourceQuota and LimitRanger admission of a PVC update that raises its request."""
    forbidden = f'Error from server (Forbidden): persistentvolumeclaims "{pvc}" is forbidden: '
    for name, lr in sorted(S.get("limitranges", {}).items()):
        if b > to_bytes(lr["max"]):
            fail(forbidden + f"maximum storage usage per PersistentVolumeClaim is {lr['max']}, but request is {quantity(b)}")
    for name, q in sorted(S.get("quotas", {}).items()):
        for key, hard in sorted(q["hard"].items()):
            if key != "requests.storage" and not (key.endswith(CLASS_QUOTA) and key[:-len(CLASS_QUOTA)] == p["class"]):
                continue
            used, delta = quota_used(key), b - p["request"]
            if used + delta > to_bytes(hard):
                fail(forbidden + f"exceeded quota: {name}, requested: {key}={quantity(delta)}, used: {key}={quantity(used)}, limited: {key}={hard}")


def quota_obj(name):
    q = S["quotas"][name]
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": S["namespace"]},
            "spec": {"hard": dict(q["hard"])},
            "status": {"hard": dict(q["hard"]), "used": {k: quantity(quota_used(k)) for k in q["hard"]}}}


def limitrange_obj(name):
    lr = S["limitranges"][name]
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name, "namespace": S["namespace"]},
            "spec": {"limits": [{"type": "PersistentVolumeClaim", "max": {"storage": lr["max"]}}]}}


# --- jsonpath, YAML ------------------------------------------------------------------------------

def jsonpath(obj, template):
    """kubectl's JSONPath template: fields, `{range EXPR}...{end}` over a list, `{"\\n"}` literals."""
    parts = re.findall(r"([^{]*)(?:\{([^}]*)\})?", template)
    return render_parts(obj, parts)[0]


def render_parts(obj, parts, i=0):
    """Renders `parts` from index i against obj up to an `{end}` or the end: (text, next index)."""
    out = []
    while i < len(parts):
        literal, expr = parts[i]
        out.append(literal)
        i += 1
        if expr == "end":
            return "".join(out), i
        if expr.startswith("range "):
            items = walk([obj], expr[len("range "):])
            end = i
            for item in items:
                text, end = render_parts(item, parts, i)
                out.append(text)
            i = end if items else skip_range(parts, i)
        elif expr.startswith('"'):
            out.append(json.loads(expr))
        elif expr:
            vals = walk([obj], expr)
            out.append(" ".join(json.dumps(v) if isinstance(v, (dict, list)) else
                                ("true" if v is True else "false" if v is False else str(v)) for v in vals))
    return "".join(out), i


def skip_range(parts, i):
    """The index after the `{end}` that closes the range whose body starts at i."""
    depth = 1
    while i < len(parts):
        expr = parts[i][1]
        i += 1
        depth += expr.startswith("range ") - (expr == "end")
        if depth == 0:
            break
    return i


def walk(vals, expr):
    for tok in re.findall(r"\.([A-Za-z0-9_-]+)|\[(\*|-?[0-9]*:-?[0-9]*|\?\(@(?:\.[a-zA-Z]+)+==[^)]*\))\]", expr):
        key, sel = tok
        nxt = []
        for v in vals:
            if ":" in sel and not sel.startswith("?"):
                # A slice, `[-1:]`: the last item.
                a, b = (int(x) if x else None for x in sel.split(":"))
                nxt.extend(v[a:b] if isinstance(v, list) else [])
            elif key:
                if isinstance(v, dict) and key in v:
                    nxt.append(v[key])
            elif sel == "*":
                nxt.extend(v if isinstance(v, list) else [])
            else:
                f, want = re.fullmatch(r"\?\(@((?:\.[a-zA-Z]+)+)==(.*)\)", sel).groups()
                want = json.loads(want)
                nxt.extend(i for i in (v if isinstance(v, list) else []) if walk([i], f) == [want])
        vals = nxt
    return vals


def scalar(x):
    plain = isinstance(x, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9./_-]*", x) and \
        x.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "y", "n")
    return x if plain else json.dumps(x)


def parse_scalar(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def to_yaml(v, indent=0):
    pad = " " * indent
    if isinstance(v, dict):
        lines = []
        for k in sorted(v, key=lambda k: (k == "status", k)):
            x = v[k]
            if isinstance(x, (dict, list)) and x:
                lines.append(f"{pad}{k}:\n{to_yaml(x, indent + 2)}")
            else:
                lines.append(f"{pad}{k}: {scalar(x)}")
        return "\n".join(lines)
    lines = []
    for x in v:
        body = to_yaml(x, indent + 2) if isinstance(x, (dict, list)) and x else pad + "  " + scalar(x)
        lines.append(pad + "- " + body.lstrip())
    return "\n".join(lines)


def from_yaml(text):
    """Reads what to_yaml writes (block maps and lists, JSON scalars)."""
    lines = [l for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    pos = [0]

    def block(indent):
        line = lines[pos[0]]
        if line[indent:].startswith("- "):
            out = []
            while pos[0] < len(lines) and lines[pos[0]].startswith(" " * indent + "- "):
                lines[pos[0]] = " " * (indent + 2) + lines[pos[0]][indent + 2:]
                out.append(item(indent + 2))
            return out
        out = {}
        while pos[0] < len(lines) and len(lines[pos[0]]) - len(lines[pos[0]].lstrip()) == indent and not lines[pos[0]][indent:].startswith("- "):
            k, _, rest = lines[pos[0]][indent:].partition(":")
            pos[0] += 1
            out[k] = parse_scalar(rest.strip()) if rest.strip() else block(len(lines[pos[0]]) - len(lines[pos[0]].lstrip()))
        return out

    def item(indent):
        line = lines[pos[0]][indent:]
        if ":" in line and not line.startswith('"'):
            return block(indent)
        pos[0] += 1
        return parse_scalar(line)

    return block(0)


# --- kubectl ----------------------------------------------------------------------------------

def global_flags(tool, args, context_flag):
    """(context, namespace, the other words); a call that names no context is recorded and lands on
    the current context, which is another cluster."""
    ctx, ns, rest, i = None, "default", [], 0
    while i < len(args):
        a = args[i]
        if a.startswith(context_flag + "="):
            ctx = a.split("=", 1)[1]
        elif a == context_flag:
            ctx, i = args[i + 1], i + 1
        elif a.startswith("--namespace="):
            ns = a.split("=", 1)[1]
        elif a in ("-n", "--namespace"):
            ns, i = args[i + 1], i + 1
        else:
            rest.append(a)
        i += 1
    if ctx is None:
        violation(f"{tool} without {context_flag}: " + " ".join(args))
        ctx = S["current_context"]
    return ctx, ns, rest


def kubectl(args):
    ctx, ns, rest = global_flags("kubectl", args, "--context")
    if ctx not in S["contexts"]:
        fail(f'error: context "{ctx}" does not exist')
    if ctx != S["context"]:
        fail(f'Error from server (Forbidden): the kube context {ctx} is another cluster')
    # `kubectl exec POD -- CMD...`: the command is one positional, a list.
    opts, pos = split_flags(rest, ("-o", "-p", "-f", "-c"), nested=True)
    verb = pos[0]
    reconcile()
    if verb == "version":
        if opts.get("-o") != "json":
            fail(f"sim: unexpected output {opts.get('-o')}", 3)
        minor = server_minor()
        return json.dumps({"clientVersion": {"major": "1", "minor": "36", "gitVersion": "v1.36.0"},
                           "serverVersion": {"major": "1", "minor": f"{minor}+", "gitVersion": f"v1.{minor}.2-sim"}}, indent=2)
    if verb == "get" and len(pos) == 3 and pos[1] in S["faults"].get("forbidden", []):
        # RBAC: the context's user may not read that kind (the API server's text).
        kind, name = pos[1], pos[2]
        if kind == "namespace":
            fail(f'Error from server (Forbidden): namespaces "{name}" is forbidden: User "dev" cannot get resource "namespaces" in API group "" in the namespace "{name}"')
        plural = KINDS[kind][2]
        fail(f'Error from server (Forbidden): {plural} "{name}" is forbidden: User "dev" cannot get resource "{plural.split(".")[0]}" in API group "{plural.partition(".")[2]}" at the cluster scope')
    if verb == "get" and pos[1] in ("events", "event"):
        return get_events(ns, opts)
    if verb == "get" and len(pos) == 2 and "/" in pos[1]:
        kind, name = pos[1].split("/", 1)  # `kubectl get Kind/NAME`: kinds match case-insensitively
        return get(kind.lower(), name, ns, opts)
    if verb == "get":
        if len(pos) == 2:
            return get_list(pos[1].split(","), ns, opts)
        return get(pos[1], pos[2], ns, opts)
    if verb == "patch" and pos[1] == KRUISE_RESOURCE:
        return kruise_patch(pos[2], ns, opts)
    if verb == "patch":
        pvc = pos[2]
        if pos[1] != "pvc" or pvc not in S["pvcs"]:
            fail(f'Error from server (NotFound): persistentvolumeclaims "{pvc}" not found')
        spec = json.loads(opts["-p"])["spec"]
        if "volumeAttributesClassName" in spec:
            set_class(pvc, spec["volumeAttributesClassName"])
        if "resources" in spec:
            size = spec["resources"]["requests"]["storage"]
            mutate(f"patch pvc {pvc} {size}")
            request(pvc, to_bytes(size))
        reconcile()
        return f"persistentvolumeclaim/{pvc} patched"
    if verb == "delete":
        kind, name = pos[1], pos[2]
        if kind == "pvc":
            violation(f"PVC {name} deleted")
        if kind == "statefulset":
            if name not in S["statefulsets"] or is_kruise(S["statefulsets"][name]):
                if "--ignore-not-found" in opts:
                    return ""
                fail(f'Error from server (NotFound): statefulsets.apps "{name}" not found')
            mutate(f"delete statefulset {name} {opts.get('--cascade', 'background')}")
            if opts.get("--cascade") == "orphan":
                sts = S["statefulsets"][name]
                if not terminating(sts):
                    sts["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
                    sts["metadata"]["finalizers"] = ["orphan"]
                    sts["polls_left"] = S["faults"].get("terminating_polls", 1)
                if S["faults"].get("kill_after_orphan_delete"):
                    S["faults"]["kill_after_orphan_delete"] = None
                    kill_now("kubectl delete statefulset, after the API server accepted it")
                if opts.get("--wait") == "true":
                    finalize_orphan(name)
                return f'statefulset.apps "{name}" deleted'
            del S["statefulsets"][name]
            for pod, p in list(S["pods"].items()):
                if p["owner"] == name:
                    del S["pods"][pod]
            return f'statefulset.apps "{name}" deleted'
        if kind == "pod":
            if name not in S["pods"]:
                fail(f'Error from server (NotFound): pods "{name}" not found')
            mutate(f"delete pod {name}")
            if S["pods"][name]["owner"] is None or S["pods"][name]["owner"] not in S["statefulsets"]:
                violation(f"pod {name} deleted without an owner")
            del S["pods"][name]
            reconcile()
            return f'pod "{name}" deleted'
    if verb == "scale":
        name = pos[2]
        if name not in S["statefulsets"] or is_kruise(S["statefulsets"][name]):
            fail(f'Error from server (NotFound): statefulsets.apps "{name}" not found')
        mutate(f"scale statefulset {name} {opts['--replicas']}")
        S["statefulsets"][name]["spec"]["replicas"] = int(opts["--replicas"])
        reconcile()
        return f"statefulset.apps/{name} scaled"
    if verb == "rollout":
        name = pos[2].split("/", 1)[1]
        sts = S["statefulsets"].get(name)
        if not sts or is_kruise(sts):
            fail(f'Error from server (NotFound): statefulsets.apps "{name}" not found')
        if sts["spec"].get("updateStrategy", {}).get("type") == "OnDelete":
            fail("error: rollout status is only available for RollingUpdate strategy type")
        for i in ordinals(sts):
            p = S["pods"].get(f"{name}-{i}")
            if not p or not p["ready"] or p["owner"] != name:
                fail(f"error: timed out waiting for the condition on statefulsets/{name}")
        return f"partitioned roll out complete: {sts['spec']['replicas']} new pods have been updated..."
    if verb == "exec":
        # `kubectl exec deployment/NAME`: one pod of that workload.
        named = [p for p in S["pods"].values() if p.get("workload") == pos[1]]
        pod = S["pods"].get(pos[1]) or (named[0] if named else None)
        if not pod:
            fail(f'Error from server (NotFound): pods "{pos[1]}" not found')
        cmd = pos[-1]
        if cmd[:2] != ["df", "-Pk"]:
            fail(f"sim: unexpected exec {cmd}")
        blocks = S["pvcs"][pod["pvc"]]["fs"] // 1024
        return f"Filesystem     1024-blocks  Used Available Capacity Mounted on\n/dev/sdb {blocks} 1024 {blocks - 1024} 1% {cmd[2]}"
    if verb == "create":
        with open(opts["-f"]) as f:
            obj = from_yaml(f.read())
        for bad in ("resourceVersion", "uid"):
            if bad in obj["metadata"]:
                fail("Error from server (BadRequest): error when creating: resourceVersion should not be set on objects to be created")
        name = obj["metadata"]["name"]
        if name in S["statefulsets"]:
            fail(f'Error from server (AlreadyExists): statefulsets.apps "{name}" already exists')
        mutate(f"create statefulset {name}")
        obj["metadata"]["uid"], obj["metadata"]["resourceVersion"] = next_uid(), "1"
        obj["status"] = {}
        S["statefulsets"][name] = obj
        reconcile()
        return f"statefulset.apps/{name} created"
    fail(f"sim: unexpected kubectl call {args}", 3)


KRUISE_RESOURCE = "statefulsets.apps.kruise.io"
KINDS = {"pvc": ("pvcs", pvc_obj, "persistentvolumeclaims"), "statefulset": ("statefulsets", sts_obj, "statefulsets.apps"),
         KRUISE_RESOURCE: ("statefulsets", sts_obj, KRUISE_RESOURCE),
         "pod": ("pods", pod_obj, "pods"), "storageclass": ("storageclasses", sc_obj, "storageclasses.storage.k8s.io"),
         "resourcequota": ("quotas", quota_obj, "resourcequotas"), "limitrange": ("limitranges", limitrange_obj, "limitranges"),
         "volumeattributesclass": ("attributes_classes", vac_obj, "volumeattributesclasses.storage.k8s.io"),
         "clickhouseinstallation": ("chis", lambda name: chi_obj(name), "clickhouseinstallations.clickhouse.altinity.com")}
CLUSTER_SCOPED = ("storageclass", "volumeattributesclass")


def event(pvc, reason, message):
    """An event about PVC `pvc` (core/v1, as the controllers record them)."""
    events = S.setdefault("events", [])
    n = len(events)
    events.append({"apiVersion": "v1", "kind": "Event", "type": "Normal", "reason": reason, "message": message,
                   "metadata": {"name": f"{pvc}.{n:04x}", "namespace": S["namespace"],
                                "creationTimestamp": f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z"},
                   "involvedObject": {"kind": "PersistentVolumeClaim", "name": pvc, "namespace": S["namespace"]}})


def get_events(ns, opts):
    """`kubectl get events --field-selector=involvedObject.kind=K,involvedObject.name=N
    --sort-by=.metadata.creationTimestamp -o jsonpath=...`: the namespace's events that match."""
    want = dict(f.split("=", 1) for f in opts.get("--field-selector", "").split(",") if f)
    if any(k not in ("involvedObject.kind", "involvedObject.name") for k in want):
        fail(f"sim: unexpected field selector {want}", 3)
    if opts.get("--sort-by") != ".metadata.creationTimestamp":
        fail(f"sim: unexpected sort {opts.get('--sort-by')}", 3)
    items = [e for e in S.get("events", []) if ns == S["namespace"] and
             all(e["involvedObject"][k.split(".")[1]] == v for k, v in want.items())]
    items.sort(key=lambda e: e["metadata"]["creationTimestamp"])
    out = opts.get("-o", "")
    if not out.startswith("jsonpath="):
        fail(f"sim: unexpected output {out}", 3)
    return jsonpath({"apiVersion": "v1", "kind": "List", "items": items}, out[len("jsonpath="):])


def get_list(kinds, ns, opts):
    """`kubectl get storageclass,pvc,statefulset -o yaml`: a List of every object of those kinds."""
    items = []
    for kind in kinds:
        if kind not in KINDS:
            fail(f'error: the server doesn\'t have a resource type "{kind}"')
        table, obj = KINDS[kind][:2]
        if kind in CLUSTER_SCOPED or ns == S["namespace"]:
            items.extend(obj(name) for name in sorted(S.get(table, {})) if of_resource(kind, S[table][name]))
    items = selected(items, opts.get("--selector"))
    if opts.get("-o", "").startswith("jsonpath="):
        return jsonpath({"apiVersion": "v1", "kind": "List", "items": items}, opts["-o"][len("jsonpath="):])
    if opts.get("-o") != "yaml":
        fail(f"sim: unexpected output {opts.get('-o')}", 3)
    return to_yaml({"apiVersion": "v1", "kind": "List", "items": items})


def selected(items, selector):
    """The items whose labels match `--selector=k=v[,k=v]` (equality only, as the plan writes it)."""
    if selector is None:
        return items
    want = dict(term.split("=", 1) for term in selector.split(",") if term)
    return [o for o in items if all(o["metadata"].get("labels", {}).get(k) == v for k, v in want.items())]


def get(kind, name, ns, opts):
    if kind == "namespace":
        if name not in S["namespaces"]:
            fail(f'Error from server (NotFound): namespaces "{name}" not found')
        obj = {"metadata": {"name": name}}
        plural = "namespaces"
    else:
        table = KINDS[kind]
        if ns != S["namespace"] and kind not in CLUSTER_SCOPED or name not in S.get(table[0], {}) or \
                not of_resource(kind, S[table[0]][name]):
            fail(f'Error from server (NotFound): {table[2]} "{name}" not found')
        obj = table[1](name)
        plural = table[2]
    out = opts.get("-o", "")
    if out == "name":
        if kind == KRUISE_RESOURCE:
            return f"statefulset.apps.kruise.io/{name}"
        return f"{plural.split('.')[0].rstrip('s') if kind != 'namespace' else 'namespace'}/{name}"
    if out == "yaml":
        return to_yaml(obj)
    if out.startswith("jsonpath="):
        return jsonpath(obj, out[len("jsonpath="):])
    fail(f"sim: unexpected output {out}", 3)


# --- helm -------------------------------------------------------------------------------------

def helm(args):
    ctx, ns, rest = global_flags("helm", args, "--kube-context")
    cmd = rest[0]
    if cmd == "template":
        real = subprocess.run([os.environ["SIM_REAL_HELM"]] + rest, capture_output=True, text=True)
        sys.stderr.write(real.stderr)
        if real.returncode:
            fail("", real.returncode)
        return real.stdout.rstrip("\n")
    if cmd == "show":
        opts, pos = split_flags(rest[2:])
        return show_chart(pos[0], opts.get("--version"))
    if ctx not in S["contexts"]:
        fail(f'Error: Kubernetes cluster unreachable: context "{ctx}" does not exist')
    if ctx != S["context"]:
        fail("Error: Kubernetes cluster unreachable: the server has asked for the client to provide credentials")
    reconcile()
    opts, pos = split_flags(rest[1:])
    rel = S["releases"].get(pos[0]) if pos else None
    if rel and rel["namespace"] != ns:
        rel = None
    if cmd == "list":
        for flag in opts:
            if flag not in ("--filter", "--deployed", "--failed", "--pending"):
                fail(f"Error: unknown flag: {flag}")  # Helm 4 has no --all
        want = re.compile(opts["--filter"])
        rows = [{"name": n, "namespace": r["namespace"], "revision": str(r["revision"]), "updated": "2026-11-26 10:00:00.0 +0000 UTC",
                 "status": r["status"], "chart": f"{r['chart']}-{r['version']}", "app_version": "1.43.0"}
                for n, r in S["releases"].items() if r["namespace"] == ns and want.search(n)]
        if S["faults"].get("list_indent"):
            return json.dumps(rows, indent=S["faults"]["list_indent"], separators=(", ", " : "))
        return json.dumps(rows, separators=(",", ":"))
    if cmd == "get":
        opts, pos = split_flags(rest[2:])
        rel = S["releases"].get(pos[0])
        if not rel or rel["namespace"] != ns:
            fail("Error: release: not found")
        if rest[1] == "manifest":
            return manifest(rel.get("size") or S["model"]["default_size"], rel.get("vac")).rstrip("\n")
        return rel["values"].rstrip("\n")
    if cmd == "upgrade":
        return upgrade(pos[0], pos[1], rel, opts)
    if cmd == "rollback":
        return rollback(pos[0], rel)
    fail(f"sim: unexpected helm call {args}", 3)


def split_flags(words, value_flags=("--filter", "--version", "--values"), nested=False):
    """(flags, positionals): `--k=v`, or a flag of `value_flags` and the next word; after `--`,
    the rest are positionals (one list if `nested`)."""
    opts, pos, j = {}, [], 0
    while j < len(words):
        a = words[j]
        if a == "--":
            if nested:
                pos.append(words[j + 1:])
            else:
                pos.extend(words[j + 1:])
            break
        if a in value_flags:
            opts[a], j = words[j + 1], j + 2
            continue
        if a.startswith("--"):
            k, _, v = a.partition("=")
            opts[k] = v
        else:
            pos.append(a)
        j += 1
    return opts, pos


def show_chart(ref, version):
    chart = S["charts"].get(ref)
    if chart is None:
        if "/" in ref and not ref.startswith((".", "/")):
            fail(f"Error: repo {ref.split('/')[0]} not found")
        fail(f'Error: path "{ref}" not found')
    if version not in chart["versions"]:
        fail(f'Error: chart "{chart["name"]}" version "{version}" not found in https://charts.example.invalid repository')
    return f"apiVersion: v2\nname: {chart['name']}\nversion: {version}\n"


VALUES_READ = {}


def values_size(path):
    """The size at the model's values path, as Helm reads the file (the real helm, a toJson chart)."""
    with open(path, "rb") as f:
        text = f.read()
    if text not in VALUES_READ:
        VALUES_READ[text] = read_values(path)
    v = VALUES_READ[text]
    for k in S["model"]["values_path"].split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return v or S["model"]["default_size"]


def values_class(path):
    """The VolumeAttributesClass at the model's class values path (None: the chart renders none)."""
    key = S["model"].get("class_values_path")
    if not key:
        return None
    values_size(path)  # reads the file once, as Helm reads it
    with open(path, "rb") as f:
        v = VALUES_READ[f.read()]
    for k in key.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return v or None


def read_values(path):
    reader = os.path.join(os.path.dirname(STATE), "values-reader")
    os.makedirs(os.path.join(reader, "templates"), exist_ok=True)
    with open(os.path.join(reader, "Chart.yaml"), "w") as f:
        f.write("apiVersion: v2\nname: values-reader\nversion: 0.0.0\n")
    with open(os.path.join(reader, "templates", "v.json"), "w") as f:
        f.write("{{ toJson .Values }}\n")
    real = subprocess.run([os.environ["SIM_REAL_HELM"], "template", "r", reader, "--values", path], capture_output=True, text=True)
    if real.returncode:
        fail(real.stderr)
    return json.loads([l for l in real.stdout.splitlines() if l.startswith("{")][0])


def upgrade(name, ref, rel, opts):
    dry = "--dry-run" in opts
    if rel is None:
        fail(f'Error: UPGRADE FAILED: "{name}" has no deployed releases')
    show_chart(ref, opts.get("--version"))
    values = opts["--values"]
    if not os.path.exists(values):
        fail(f"Error: open {values}: no such file or directory")
    size = values_size(values)
    vac = values_class(values)
    if rel["status"].startswith("pending-"):
        fail("Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress")
    if dry:
        # As Helm prints a dry run: the release, HOOKS:, MANIFEST: (the render), NOTES:.
        return (f'Release "{name}" has been upgraded. Happy Helming!\nNAME: {name}\nNAMESPACE: {rel["namespace"]}\n'
                f'STATUS: pending-upgrade\nREVISION: {rel["revision"] + 1}\nDESCRIPTION: Dry run complete\n'
                f'HOOKS:\nMANIFEST:\n{manifest(size, vac)}\nNOTES:\nThe chart\'s notes.')
    mutate(f"helm upgrade {name} {size}")
    rel["revision"] += 1
    rel["previous_size"], rel["size"] = rel.get("size"), size
    rel["previous_vac"], rel["vac"] = rel.get("vac"), vac
    # Helm stores the new revision (with its values) as pending-upgrade before it applies anything;
    # a failure marks it failed, and `helm get values` reads that latest revision. A helm killed
    # (SIGKILL, a hang-up) leaves it pending-upgrade for good.
    rel["previous_values"] = rel["values"]
    with open(values) as f:
        rel["values"] = f.read()
    rel["status"] = "pending-upgrade"
    if S["faults"].get("kill_in_upgrade") == "before":
        kill_now("helm upgrade, before it applied anything")
    if S["faults"].get("upgrade_fail"):
        rel["status"] = "failed"
        fail(f"Error: UPGRADE FAILED: {S['faults']['upgrade_fail']}")
    for sts_name, shape in S["model"]["statefulsets"].items():
        live = S["statefulsets"].get(sts_name)
        if is_kruise(shape):
            kruise_upgrade(rel, sts_name, shape, size)
            continue
        if live is None:
            obj = json.loads(json.dumps(shape))
            claim = next(t for t in obj["spec"]["volumeClaimTemplates"] if t["metadata"]["name"] == S["model"]["claim"])
            claim["spec"]["resources"]["requests"]["storage"] = size
            if vac:
                claim["spec"]["volumeAttributesClassName"] = vac
            obj["metadata"]["uid"], obj["metadata"]["resourceVersion"] = next_uid(), "1"
            if "StatefulSetUpdateVolumeClaimTemplate" not in S.get("gates", []):
                for field in KEP_4650_FIELDS:
                    obj["spec"].pop(field, None)
            S["statefulsets"][sts_name] = obj
        elif template_class(live) != vac:
            rel["status"] = "failed"
            fail(f'Error: UPGRADE FAILED: cannot patch "{sts_name}" with kind StatefulSet: StatefulSet.apps "{sts_name}" is invalid: {FORBIDDEN}')
        elif template_bytes(live) != to_bytes(size):
            if in_place(live) and to_bytes(size) > template_bytes(live):
                claim_of(live)["spec"]["resources"]["requests"]["storage"] = size
            else:
                rel["status"] = "failed"
                fail(f'Error: UPGRADE FAILED: cannot patch "{sts_name}" with kind StatefulSet: StatefulSet.apps "{sts_name}" is invalid: {FORBIDDEN}')
        if live is not None:
            limit = shape["spec"].get("revisionHistoryLimit", 10)
            if live["spec"].get("revisionHistoryLimit", 10) != limit:
                # Mutable from Kubernetes 1.35 (see src/k8s/versions.rs).
                if server_minor() < 35:
                    rel["status"] = "failed"
                    fail(f'Error: UPGRADE FAILED: cannot patch "{sts_name}" with kind StatefulSet: StatefulSet.apps "{sts_name}" is invalid: {FORBIDDEN}')
                live["spec"]["revisionHistoryLimit"] = limit
    for pvc_name in S["model"].get("plain", {}):
        plain_apply(rel, pvc_name, to_bytes(size))
    altinity_apply(size)
    reconcile()
    if S["faults"].get("kill_in_upgrade") == "after":
        kill_now("helm upgrade, after it applied the StatefulSets")
    if S["faults"].get("upgrade_fail_late"):
        # After the resources are applied (a post-upgrade hook, or a later resource, failed).
        rel["status"] = "failed"
        fail(f"Error: UPGRADE FAILED: {S['faults']['upgrade_fail_late']}")
    rel["status"] = "deployed"
    return f'Release "{name}" has been upgraded. Happy Helming!\nNAME: {name}\nNAMESPACE: {rel["namespace"]}\nSTATUS: deployed\nREVISION: {rel["revision"]}'


def plain_apply(rel, name, b):
    """A PVC the chart renders itself, as Helm's upgrade applies it: created at the render's size, or
    patched by the three-way merge (release manifest, render, live object), which sets the live
    request to the render's; a smaller one is refused by the API server and fails the upgrade."""
    live = S["pvcs"].get(name)
    if live is None:
        S["pvcs"][name] = new_pvc(S["model"]["class"], b)
        return
    if live["request"] == b:
        return
    if b < live["request"]:
        rel["status"] = "failed"
        fail(f'Error: UPGRADE FAILED: cannot patch "{name}" with kind PersistentVolumeClaim: PersistentVolumeClaim "{name}" is invalid: '
             'spec.resources.requests.storage: Forbidden: field can not be less than previous value')
    status, rel["status"] = rel["status"], "failed"  # a refusal below leaves the release failed
    request(name, b)
    rel["status"] = status


def manifest(size, vac=None):
    """The release's StatefulSets as the chart renders them with the claim template at `size` (and
    VolumeAttributesClass `vac`), and the PVCs it renders itself at `size`."""
    docs = []
    for pvc_name, m in S["model"].get("plain", {}).items():
        obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": pvc_name},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}
        docs.append(f"---\n# Source: {m['source']}\n{to_yaml(obj)}")
    for sts_name, shape in S["model"]["statefulsets"].items():
        obj = json.loads(json.dumps(shape))
        claim = next(t for t in obj["spec"]["volumeClaimTemplates"] if t["metadata"]["name"] == S["model"]["claim"])
        claim["spec"]["resources"]["requests"]["storage"] = size
        if vac:
            claim["spec"]["volumeAttributesClassName"] = vac
        docs.append(f"---\n# Source: {S['model'].get('source', 'chart/templates/statefulset.yaml')}\n{to_yaml(obj)}")
    docs.extend(altinity_manifest(size))
    return "\n".join(docs) + "\n"


def rollback(name, rel):
    """`helm rollback NAME`: a new revision with the previous one's manifest (the StatefulSets as the
    model has them, at the old size) and values; a missing StatefulSet is created, a live one with
    another claim template is refused (spec: Forbidden), which leaves the new revision failed."""
    if rel is None:
        fail(f"Error: release: not found")
    mutate(f"helm rollback {name}")
    rel["revision"] += 1
    rel["size"] = rel.get("previous_size")
    rel["vac"] = rel.get("previous_vac")
    rel["values"] = rel.get("previous_values", rel["values"])
    for sts_name, shape in S["model"]["statefulsets"].items():
        live = S["statefulsets"].get(sts_name)
        if is_kruise(shape):
            kruise_upgrade(rel, sts_name, shape, rel["size"] or S["model"]["default_size"], "Error: ")
            continue
        if live is None:
            obj = json.loads(json.dumps(shape))
            obj["metadata"]["uid"], obj["metadata"]["resourceVersion"] = next_uid(), "1"
            if "StatefulSetUpdateVolumeClaimTemplate" not in S.get("gates", []):
                for field in KEP_4650_FIELDS:
                    obj["spec"].pop(field, None)
            S["statefulsets"][sts_name] = obj
        elif template_bytes(live) != template_bytes(shape):
            rel["status"] = "failed"
            fail(f'Error: cannot patch "{sts_name}" with kind StatefulSet: StatefulSet.apps "{sts_name}" is invalid: {FORBIDDEN}')
    rel["status"] = "deployed"
    reconcile()
    return "Rollback was a success! Happy Helming!"


# --- OpenKruise's Advanced StatefulSet (openkruise/kruise at 07169cfac) -------------------------------

KRUISE_FORBIDDEN_1_3 = ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'template', "
                        "'reserveOrdinals', 'lifecycle', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
                        "and 'updateStrategy' are forbidden")


def is_kruise(sts):
    return sts.get("apiVersion", "").startswith("apps.kruise.io/")


def of_resource(kind, obj):
    """kubectl's `statefulset` is apps/v1's; `statefulsets.apps.kruise.io` is OpenKruise's."""
    if kind == "statefulset":
        return not is_kruise(obj)
    if kind == KRUISE_RESOURCE:
        return is_kruise(obj)
    return True


def kruise():
    return S.get("kruise", {})


def kruise_strategy(sts):
    return (sts["spec"].get("volumeClaimUpdateStrategy") or {}).get("type", "")


def kruise_admit(name, old, new):
    """The validating webhook vstatefulset.kb.io on an update (ValidateStatefulSetUpdate, then, with
    StatefulSetAutoResizePVCGate, ValidateVolumeClaimTemplateUpdate): the refusal's text, or None."""
    if kruise().get("no_strategy"):
        new["spec"].pop("volumeClaimUpdateStrategy", None)  # the API server prunes an unknown field
    deny = f'admission webhook "vstatefulset.kb.io" denied the request: '
    if kruise().get("frozen") and old["spec"]["volumeClaimTemplates"] != new["spec"]["volumeClaimTemplates"]:
        return deny + KRUISE_FORBIDDEN_1_3
    if not kruise().get("gate") or kruise_strategy(new) != "OnPodRollingUpdate":
        return None
    olds = {t["metadata"]["name"]: t for t in old["spec"]["volumeClaimTemplates"]}
    if len(olds) != len(new["spec"]["volumeClaimTemplates"]):
        return deny + "spec.volumeClaimTemplates: Invalid value: \"...\": volumeClaimTemplate can not be added or deleted when OnRollingUpdate"
    for t in new["spec"]["volumeClaimTemplates"]:
        tid = f"spec.volumeClaimTemplates[{t['metadata']['name']}]"
        o = olds.get(t["metadata"]["name"])
        if o is None:
            return deny + f"{tid}.name: Forbidden: volumeClaimTemplate name can not be modified"
        if o["spec"].get("accessModes") != t["spec"].get("accessModes") or \
                o["spec"].get("storageClassName") != t["spec"].get("storageClassName"):
            return deny + f"{tid}: Invalid value: \"...\": volumeClaimTemplate can not be modified when OnRollingUpdate"
        if o["spec"]["resources"] != t["spec"]["resources"]:
            sc = t["spec"].get("storageClassName") or S["model"]["class"]
            if not S["storageclasses"][sc]["allowVolumeExpansion"]:
                return deny + f"{tid}.spec.resources.requests.storage: Forbidden: storage class {sc} does not support volume expansion"
    return None


def kruise_patch(name, ns, opts):
    """`kubectl patch statefulsets.apps.kruise.io NAME --dry-run=server --type=json -p P`: the webhook's
    answer, nothing stored (the script makes no other patch of it)."""
    live = S["statefulsets"].get(name)
    if ns != S["namespace"] or live is None or not is_kruise(live):
        fail(f'Error from server (NotFound): {KRUISE_RESOURCE} "{name}" not found')
    if opts.get("--dry-run") != "server" or opts.get("--type") != "json":
        fail(f"sim: unexpected patch of an Advanced StatefulSet {opts}", 3)
    new = json.loads(json.dumps(live))
    for op in json.loads(opts["-p"]):
        keys = [int(k) if k.isdigit() else k for k in op["path"].strip("/").split("/")]
        parent = new
        for k in keys[:-1]:
            parent = parent[k]
        if op["op"] == "replace" and keys[-1] not in (parent if isinstance(parent, dict) else range(len(parent))):
            fail(f'The request is invalid: the server rejected our request due to an error in our request')
        parent[keys[-1]] = op["value"]
    refused = kruise_admit(name, live, new)
    if refused:
        fail(f"Error from server (Forbidden): {refused}")
    return f"statefulset.apps.kruise.io/{name} patched (server dry run)"


def kruise_upgrade(rel, name, shape, size, prefix="Error: UPGRADE FAILED: "):
    """Helm's patch of an Advanced StatefulSet: the claim template and the strategy change in place
    when the webhook admits it."""
    live = S["statefulsets"].get(name)
    new = json.loads(json.dumps(shape))
    next(t for t in new["spec"]["volumeClaimTemplates"] if t["metadata"]["name"] == S["model"]["claim"])[
        "spec"]["resources"]["requests"]["storage"] = size
    if live is None:
        new["metadata"]["uid"], new["metadata"]["resourceVersion"] = next_uid(), "1"
        S["statefulsets"][name] = new
        return
    refused = kruise_admit(name, live, new)
    if refused:
        rel["status"] = "failed"
        fail(f'{prefix}cannot patch "{name}" with kind StatefulSet: {refused}')
    for key in ("volumeClaimTemplates", "volumeClaimUpdateStrategy", "revisionHistoryLimit", "updateStrategy"):
        if key in new["spec"]:
            live["spec"][key] = new["spec"][key]
        else:
            live["spec"].pop(key, None)


def kruise_controller(name, sts):
    """rollingUpdateStatefulsetPods under OnPodRollingUpdate with StatefulSetAutoResizePVCGate: highest
    ordinal first, none below the partition, none when paused or under OnDelete; a pod whose PVC is
    below the template is patched (TryPatchPVC); a pod whose PVC has not reached its request
    (IsOwnedPVCsReady: capacity >= request; FileSystemResizePending is not) is unavailable, and with
    one unavailable (maxUnavailable 1) no other pod is handled."""
    update = sts["spec"].get("updateStrategy") or {}
    rolling = update.get("rollingUpdate") or {}
    if not kruise().get("gate") or kruise_strategy(sts) != "OnPodRollingUpdate" or \
            update.get("type") == "OnDelete" or rolling.get("paused"):
        return
    want, live = template_bytes(sts), list(ordinals(sts))
    pvc_of = lambda i: f"{S['model']['claim']}-{name}-{i}"

    def unready(i):
        p = S["pvcs"].get(pvc_of(i))
        pod = S["pods"].get(f"{name}-{i}")
        return pod is None or not pod["ready"] or (p is not None and (
            p["capacity"] < p["request"] or "FileSystemResizePending" in p["conditions"]))
    unavailable = [i for i in live if unready(i)]
    for n, i in sorted(enumerate(live), key=lambda x: -x[1]):
        p = S["pvcs"].get(pvc_of(i))
        if n < rolling.get("partition", 0) or p is None or p["request"] >= want:
            continue
        if unavailable and i not in unavailable:
            return
        try:
            request(pvc_of(i), want)
        except SystemExit:  # the API server refused it: the controller records an event and retries
            return
        S.setdefault("kruise_patched", []).append(pvc_of(i))
        return


# --- the Altinity ClickHouse operator ------------------------------------------------------------
# state["chis"]: name -> {"claim": template name, "storage": its size now, "ticks": calls before the
# operator reconciles}; model["chis"]: name -> {"claim", "source"} (the chart renders the CHI with
# the claim template at the values path's size). Its PVCs are labelled clickhouse.altinity.com/chi.

def altinity_apply(size):
    """Helm's upgrade applies the CHI: its claim template at the render's size. The operator
    reconciles it after faults.operator_ticks calls (default 1). Under faults.chi_not_applied the
    installations stay as they were."""
    if S["faults"].get("chi_not_applied"):
        return
    for name in S["model"].get("chis", {}):
        chi = S.setdefault("chis", {}).setdefault(name, {"claim": S["model"]["chis"][name]["claim"]})
        if chi.get("storage") != size:
            chi["storage"] = size
            chi["ticks"] = S["faults"].get("operator_ticks", 1)


def altinity_reconcile():
    """clickhouse-operator's reconcilePVC: each PVC of the installation (its label, named
    <template>-<pod>) gets the template's request when it differs (VolumeClaimTemplateApplyResourcesRequestsOnPVC);
    the API server's rules apply (not quotas here), and a refusal is only the operator's log line (the PVC
    keeps its request)."""
    for name, chi in S.get("chis", {}).items():
        if not chi.get("storage"):
            continue
        if str(chi.get("suspend", "")).lower() in ("true", "1", "yes", "on"):
            continue  # shouldEnqueue: a suspended installation is not reconciled
        if chi.get("ticks", 0) > 0:
            chi["ticks"] -= 1
            continue
        want = to_bytes(chi["storage"])
        for pvc, p in S["pvcs"].items():
            if p.get("labels", {}).get("clickhouse.altinity.com/chi") != name or not pvc.startswith(f"{chi['claim']}-chi-{name}-"):
                continue
            if p["request"] == want:
                continue
            if want < p["request"] or p["phase"] != "Bound" or not S["storageclasses"][p["class"]]["allowVolumeExpansion"]:
                chi["refused"] = f"Unable to reconcile PVC: {pvc}"
                continue
            p["request"] = want
            p["ticks"] = S["faults"].get("resize_ticks", {}).get(pvc, S["storageclasses"][p["class"]].get("delay", 1))
            p["conditions"] = ["Resizing"]
            event(pvc, "ExternalExpanding", "waiting for an external controller to expand this PVC")


def chi_obj(name):
    """The live ClickHouseInstallation as Helm last applied it (its claim template at its size)."""
    chi = S["chis"][name]
    return {"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation",
            "metadata": {"name": name, "namespace": S["namespace"]},
            "spec": {**({"suspend": chi["suspend"]} if "suspend" in chi else {}),
                     "templates": {"volumeClaimTemplates": [
                         {"name": chi["claim"], "spec": {"resources": {"requests": {"storage": chi["storage"]}}}}]}}}


def altinity_manifest(size):
    """The CHIs of the release's manifest, their claim template at `size`."""
    docs = []
    for name, m in S["model"].get("chis", {}).items():
        obj = {"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation", "metadata": {"name": name},
               "spec": {"templates": {"volumeClaimTemplates": [
                   {"name": m["claim"], "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}]}}}
        docs.append(f"---\n# Source: {m['source']}\n{to_yaml(obj)}")
    return docs


def kill_now(what):
    """The fault `kill_in_upgrade`: the client's process group dies in the middle of a call."""
    S["faults"]["kill_in_upgrade"] = None
    S["killed_in"] = what
    save()
    os.killpg(CLIENT_PGID[0], signal.SIGKILL)
    raise Killed()


# --- pvc-resize (the real one; a write to the values file is a change) ---------------------------

def pvc_resize(args):
    """A write to the values file is a change; then the client runs the real pvc-resize."""
    if "--write" in args and args[-1] == S["values_file"]:
        mutate("pvc-resize values --write")
    return "exec"


def answer(tool, args):
    """(exit code or "exec", stdout, stderr) of one call."""
    load()
    S["calls"].append(" ".join([tool] + args))
    kill = S["faults"].get("kill_at_call")
    if kill and kill["match"] in " ".join([tool] + args):
        kill["count"] -= 1
        if kill["count"] <= 0:
            S["faults"]["kill_at_call"] = None
            S["killed_in"] = " ".join([tool] + args)
            save()
            os.killpg(CLIENT_PGID[0], signal.SIGKILL)
            raise Killed()
    out, err, code = io.StringIO(), io.StringIO(), 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if tool == "pvc-resize":
                code = pvc_resize(args)
            else:
                text = kubectl(args) if tool == "kubectl" else helm(args)
                if text:
                    print(text)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    save()
    return code, out.getvalue(), err.getvalue()


def reply(path, code, out, err):
    deadline = time.time() + 10
    while True:  # the client opens its FIFO after sending the request
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            if e.errno not in (errno.ENXIO, errno.ENOENT) or time.time() > deadline:
                return
            time.sleep(0.001)
    os.set_blocking(fd, True)
    data = f"{code}\0{out}\0{err}\0".encode()
    while data:
        data = data[os.write(fd, data):]
    os.close(fd)


def serve():
    request = os.path.join(SIM_DIR, "request")
    if not os.path.exists(request):
        os.mkfifo(request)
    while True:
        with open(request, "rb") as f:
            data = f.read()
        if not data:
            continue
        tool, pid, cwd, back, *args = [w.decode() for w in data.split(b"\0")[:-1]]
        try:
            CLIENT_PGID[0] = os.getpgid(int(pid))
        except OSError:
            continue
        os.chdir(cwd)
        try:
            code, out, err = answer(tool, args)
        except Killed:
            continue
        except Exception as e:  # a bug of the simulation: say so, loudly
            code, out, err = 99, "", f"sim: internal error: {e!r}\n"
        reply(back, code, out, err)


if __name__ == "__main__":
    serve()
