#!/usr/bin/env python3
"""Benchmark: `pvc-resize advise` on a fleet, 500 releases and 5,000 PVCs in one snapshot.

Each release (in 50 namespaces) has a Bitnami-Kafka-14-like layout: StatefulSet RELEASE-kafka
with 3 replicas and two claim templates (data, logs), RELEASE-zookeeper with 3 replicas, and one
PVC of the chart itself (Grafana-like): 10 PVCs a release, 1,000 StatefulSets. The snapshot is one
`kind: List` as `kubectl get pvc,sts,sc -A -o yaml` prints it; the metrics are 50 node files in
the kubelet's text format, each with two scrapes an hour apart (timestamps), so every volume has a
growth rate; the values are one file per release, `values/NAMESPACE/RELEASE/values.yaml`.

Usage:

    cargo build --release && python3 bench/advise-fleet.py [--runs N]

Prints the input sizes, wall time (best and median of N runs, process start included), CPU time
and peak RSS, as Markdown. Nothing here asserts a time: it measures.
"""
import os, resource, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PVC_RESIZE_BIN", os.path.join(ROOT, "target", "release", "pvc-resize"))
RUNS = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 7
RELEASES, NAMESPACES, NODES = 500, 50, 50
GI = 1 << 30
T0 = 1_796_601_600_000


def pvc(ns, name, size, lone_release=None):
    ann = ""
    if lone_release:
        ann = (f"      meta.helm.sh/release-name: {lone_release}\n"
               f"      meta.helm.sh/release-namespace: {ns}\n")
    return (f"- apiVersion: v1\n  kind: PersistentVolumeClaim\n  metadata:\n    annotations:\n{ann}"
            f"      pv.kubernetes.io/bind-completed: \"yes\"\n"
            f"      volume.kubernetes.io/selected-node: node-{hash(name) % NODES}\n"
            f"    creationTimestamp: \"2026-03-02T10:14:07Z\"\n    labels:\n      app.kubernetes.io/managed-by: Helm\n"
            f"    name: {name}\n    namespace: {ns}\n    uid: 00000000-0000-0000-0000-{abs(hash(name)) % 10**12:012d}\n"
            f"  spec:\n    accessModes:\n    - ReadWriteOnce\n    resources:\n      requests:\n        storage: {size}\n"
            f"    storageClassName: gp3\n    volumeMode: Filesystem\n    volumeName: pvc-{abs(hash(name)) % 10**12:012d}\n"
            f"  status:\n    accessModes:\n    - ReadWriteOnce\n    capacity:\n      storage: {size}\n    phase: Bound\n")


def sts(ns, release, name, claims):
    templates = "".join(
        f"    - apiVersion: v1\n      kind: PersistentVolumeClaim\n      metadata:\n        name: {c}\n"
        f"      spec:\n        accessModes:\n        - ReadWriteOnce\n        resources:\n          requests:\n"
        f"            storage: {s}\n        volumeMode: Filesystem\n" for c, s in claims)
    return (f"- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata:\n    annotations:\n"
            f"      meta.helm.sh/release-name: {release}\n      meta.helm.sh/release-namespace: {ns}\n"
            f"    labels:\n      app.kubernetes.io/instance: {release}\n      app.kubernetes.io/managed-by: Helm\n"
            f"    name: {name}\n    namespace: {ns}\n  spec:\n    podManagementPolicy: Parallel\n    replicas: 3\n"
            f"    selector:\n      matchLabels:\n        app.kubernetes.io/instance: {release}\n"
            f"    serviceName: {name}-headless\n    template:\n      metadata:\n        labels:\n"
            f"          app.kubernetes.io/instance: {release}\n      spec:\n        containers:\n"
            f"        - image: docker.io/bitnami/kafka:3.7.0\n          name: main\n"
            f"    updateStrategy:\n      type: RollingUpdate\n    volumeClaimTemplates:\n{templates}"
            f"  status:\n    replicas: 3\n")


def go_float(v):
    if v < 1e6:
        return str(int(v))
    s = "%.16e" % v
    mant, exp = s.split("e")
    mant = mant.rstrip("0").rstrip(".")
    return "%se+%02d" % (mant, int(exp))


def make(dir):
    items, volumes = [], []
    for r in range(RELEASES):
        ns, rel = f"team-{r % NAMESPACES}", f"rel{r}"
        for i in range(3):
            for claim, size in (("data", 20), ("logs", 8)):
                items.append(pvc(ns, f"{claim}-{rel}-kafka-{i}", f"{size}Gi"))
                volumes.append((ns, f"{claim}-{rel}-kafka-{i}", size * GI))
            items.append(pvc(ns, f"data-{rel}-zookeeper-{i}", "8Gi"))
            volumes.append((ns, f"data-{rel}-zookeeper-{i}", 8 * GI))
        items.append(pvc(ns, f"{rel}-grafana", "10Gi", lone_release=rel))
        volumes.append((ns, f"{rel}-grafana", 10 * GI))
        items.append(sts(ns, rel, f"{rel}-kafka", [("data", "20Gi"), ("logs", "8Gi")]))
        items.append(sts(ns, rel, f"{rel}-zookeeper", [("data", "8Gi")]))
        vdir = os.path.join(dir, "values", ns, rel)
        os.makedirs(vdir, exist_ok=True)
        with open(os.path.join(vdir, "values.yaml"), "w") as f:
            f.write("persistence:\n  size: 20Gi\nlogPersistence:\n  size: 8Gi\n"
                    "zookeeper:\n  persistence:\n    size: 8Gi\ngrafana:\n  persistence:\n    size: 10Gi\n")
    items.append("- allowVolumeExpansion: true\n  apiVersion: storage.k8s.io/v1\n  kind: StorageClass\n"
                 "  metadata:\n    name: gp3\n  provisioner: ebs.csi.aws.com\n")
    with open(os.path.join(dir, "cluster.yaml"), "w") as f:
        f.write("apiVersion: v1\nitems:\n" + "".join(items) + "kind: List\nmetadata:\n  resourceVersion: \"\"\n")
    by_node = {}
    for k, v in enumerate(volumes):
        by_node.setdefault(k % NODES, []).append((k, v))
    os.makedirs(os.path.join(dir, "metrics"))
    for node, vols in by_node.items():
        lines = ["# HELP go_goroutines Number of goroutines that currently exist.", "# TYPE go_goroutines gauge", "go_goroutines 412"]
        fams = ["available_bytes", "capacity_bytes", "inodes", "inodes_free", "inodes_used", "used_bytes"]
        for fam in fams:
            lines += [f"# HELP kubelet_volume_stats_{fam} [ALPHA] {fam}", f"# TYPE kubelet_volume_stats_{fam} gauge"]
            for scrape in (0, 1):
                for k, (ns, name, size) in vols:
                    cap = size - size // 50
                    used = size * (30 + k % 60) // 100 + scrape * (k % 7) * (1 << 24)
                    v = {"capacity_bytes": cap, "available_bytes": cap - used - size // 20, "used_bytes": used,
                         "inodes": 1310720, "inodes_used": 1000 + k % 5000 + scrape, "inodes_free": 1310720 - 1000 - k % 5000 - scrape}[fam]
                    lines.append(f'kubelet_volume_stats_{fam}{{namespace="{ns}",persistentvolumeclaim="{name}"}} {go_float(v)} {T0 + scrape * 3_600_000}')
        with open(os.path.join(dir, "metrics", f"node-{node}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return len(volumes)


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN}: build it first (cargo build --release)")
    with tempfile.TemporaryDirectory() as dir:
        n = make(dir)
        argv = [BIN, "advise", "--metrics", "metrics", "--cluster", "cluster.yaml", "--values", "values", "--format", "json"]
        walls, cpus, rss = [], [], 0
        for _ in range(RUNS):
            t = time.perf_counter()
            p = subprocess.Popen(argv, cwd=dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(p.pid, 0)
            walls.append(time.perf_counter() - t)
            cpus.append(usage.ru_utime + usage.ru_stime)
            rss = max(rss, usage.ru_maxrss)
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 1):
                sys.exit(f"advise exited {code}: {p.stderr.read().decode()}")
        print(f"| input | size |\n|---|---:|")
        print(f"| cluster.yaml ({n} PVCs, {2 * RELEASES} StatefulSets) | {size_of(os.path.join(dir, 'cluster.yaml')) / 1e6:.1f} MB |")
        print(f"| metrics ({NODES} node files, 2 scrapes) | {size_of(os.path.join(dir, 'metrics')) / 1e6:.1f} MB |")
        print(f"| values ({RELEASES} files) | {size_of(os.path.join(dir, 'values')) / 1e3:.0f} kB |")
        print()
        print(f"| advise, {RUNS} runs | best | median | CPU (best) | peak RSS |\n|---|---:|---:|---:|---:|")
        print(f"| 500 releases, {n} PVCs | {min(walls) * 1000:.0f} ms | {statistics.median(walls) * 1000:.0f} ms | "
              f"{min(cpus) * 1000:.0f} ms | {rss / 1024:.0f} MiB |")


if __name__ == "__main__":
    main()
