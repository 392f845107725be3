#!/usr/bin/env python3
"""Benchmark: pvc-resize post-render side by side with `kubectl kustomize` + a JSON 6902 patch.

Prints wall time (process start included), throughput and peak RSS, for the real PostHog render
and for generated streams (copies of it with every name made unique). Usage:

    cargo build --release && python3 bench/bench.py [--quick]

Figures go to stdout as a Markdown table. Nothing here asserts a time: it measures.
"""
import os, resource, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.environ.get("PVC_RESIZE_SHARED_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
BIN = os.path.join(ROOT, "target", "release", "pvc-resize")
QUICK = "--quick" in sys.argv
# Every StatefulSet is parsed; the three with a `data` claim (all but redis) are grown.
EVERY = ["--statefulset", "*-kafka", "--statefulset", "*-zookeeper", "--statefulset", "*-postgresql"]
PATCH = '[{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"50Gi"}]'


def run(argv, stdin_path, cwd=None):
    """Runs once; returns (seconds, peak RSS of the child in MiB, stdout bytes)."""
    with open(stdin_path, "rb") as f:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        p = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed: {p.stderr.decode()[:2000]}")
    # ru_maxrss of children is the max over all children so far: run the largest input last.
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dt, rss, p.stdout


def best_of(n, argv, stdin_path, cwd=None):
    times = []
    out = b""
    for _ in range(n):
        dt, _, out = run(argv, stdin_path, cwd)
        times.append(dt)
    times.sort()
    return times[0], times[len(times) // 2], out


def generate(src, copies, path):
    with open(src) as f:
        base = f.read()
    with open(path, "w") as out:
        for i in range(copies):
            out.write(base.replace("posthog", f"p{i}x").replace("clickhouse-operator", f"clickhouse-operator-{i}"))


def kustomize(stream, target):
    d = tempfile.mkdtemp()
    shutil.copy(stream, os.path.join(d, "in.yaml"))
    with open(os.path.join(d, "kustomization.yaml"), "w") as f:
        f.write("resources: [in.yaml]\nsortOptions:\n  order: fifo\npatches:\n")
        f.write(f"  - target: {{kind: StatefulSet, name: {target}}}\n    patch: '{PATCH}'\n")
    return d


def main():
    render = os.path.join(FIXTURES, "posthog", "rendered-default.yaml")
    if not os.path.exists(BIN) or not os.path.exists(render):
        sys.exit("build first (cargo build --release) and have ../shared/fixtures")
    kubectl = shutil.which("kubectl")
    work = tempfile.mkdtemp()
    rows = []

    size = os.path.getsize(render)
    n = 5 if QUICK else 30
    b, m, _ = best_of(n, [BIN, "post-render", "--size", "50Gi"], render)
    rows.append(("pvc-resize post-render", "PostHog render", size, b, m))
    if kubectl:
        d = kustomize(render, "posthog-posthog-kafka")
        kb, km, _ = best_of(3 if QUICK else 10, [kubectl, "kustomize", d], render)
        rows.append(("kubectl kustomize + JSON 6902", "PostHog render", size, kb, km))
        print(f"PostHog render: pvc-resize is {km / m:.0f}x faster than kustomize (medians)\n")

    for copies in ([8] if QUICK else [8, 16, 32]):
        path = os.path.join(work, f"gen-{copies}.yaml")
        generate(render, copies, path)
        sz = os.path.getsize(path)
        b, m, _ = best_of(3, [BIN, "post-render", "--size", "50Gi", "--statefulset", "p1x-p1x-kafka"], path)
        rows.append(("pvc-resize post-render", f"{copies} copies", sz, b, m))
        if kubectl:
            d = kustomize(path, "p1x-p1x-kafka")
            kb, km, _ = best_of(1, [kubectl, "kustomize", d], path)
            rows.append(("kubectl kustomize + JSON 6902", f"{copies} copies", sz, kb, km))

    big = [40] if QUICK else [40, 200]
    for mb in big:
        copies = mb * 1024 * 1024 // size
        path = os.path.join(work, f"gen-{mb}.yaml")
        generate(render, copies, path)
        sz = os.path.getsize(path)
        for label, extra in [("one StatefulSet", ["--statefulset", "p1x-p1x-kafka"]),
                             ("every StatefulSet", EVERY),
                             ("every StatefulSet, --parse-all", EVERY + ["--parse-all"])]:
            b, m, _ = best_of(3, [BIN, "post-render", "--size", "50Ti"] + extra, path)
            rows.append((f"pvc-resize post-render ({label})", f"{sz / 1e6:.0f} MB generated", sz, b, m))
        os.remove(path)

    kv = shutil.which("kubernetes-validate")
    b, m, _ = best_of(n, [BIN, "validate", "--manifests", render], render)
    rows.append(("pvc-resize validate --manifests", "PostHog render", size, b, m))
    if kv:
        kb, km, _ = best_of(3 if QUICK else 5, [kv, "--strict", "-k", "1.32.0", "--quiet", render], render)
        rows.append(("kubernetes-validate --strict (PyPI)", "PostHog render", size, kb, km))

    print("| tool | input | size | best | median | MB/s (best) |")
    print("|---|---|---|---|---|---|")
    for tool, inp, sz, b, m in rows:
        print(f"| {tool} | {inp} | {sz / 1e6:.2f} MB | {b * 1000:.1f} ms | {m * 1000:.1f} ms | {sz / 1e6 / b:.1f} |")

    # Peak memory on the largest stream, measured alone (ru_maxrss is a running maximum).
    path = os.path.join(work, "gen-mem.yaml")
    copies = (40 if QUICK else 200) * 1024 * 1024 // size
    generate(render, copies, path)
    sz = os.path.getsize(path)
    out = subprocess.run(["/usr/bin/time", "-f", "%M", BIN, "post-render", "--size", "50Ti"] + EVERY,
                         stdin=open(path, "rb"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kib = int(out.stderr.decode().strip().splitlines()[-1])
    print(f"\npeak RSS, every StatefulSet of a {sz / 1e6:.0f} MB stream: {kib / 1024:.0f} MiB "
          f"({kib * 1024 / sz:.2f}x the input)")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
