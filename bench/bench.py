#!/usr/bin/env python3
"""Benchmark: pvc-resize side by side with `kubectl kustomize` + a JSON 6902 patch, in the same run.

Prints wall time (process start included; best and median of N runs), throughput, the ratio to
kustomize, and peak RSS, for the real PostHog render and values, and for generated streams:

- "PostHog copies": copies of the PostHog render (43 documents, 4 StatefulSets each) with every
  name made unique; 3 of the 4 StatefulSets have a `data` claim.
- "StatefulSets only": the PostHog Kafka StatefulSet (6.5 kB) again and again under new names:
  every document is parsed, resized and checked (the worst case).

Usage:

    cargo build --release && python3 bench/bench.py [--quick]

Figures go to stdout as Markdown. Nothing here asserts a time: it measures. On a shared machine
take the best figures and the ratios (both tools run in the same minute), not the medians. With
valgrind installed, a second table counts the instructions of each command on the PostHog inputs
(callgrind), which other processes' load does not change.
"""
import os, re, resource, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.environ.get("PVC_RESIZE_SHARED_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
BIN = os.path.join(ROOT, "target", "release", "pvc-resize")
QUICK = "--quick" in sys.argv
# The three StatefulSets of a PostHog copy that have a `data` claim (redis has none).
EVERY = ["--statefulset", "*-kafka", "--statefulset", "*-zookeeper", "--statefulset", "*-postgresql"]
PATCH = '[{"op":"replace","path":"/spec/volumeClaimTemplates/0/spec/resources/requests/storage","value":"50Gi"}]'


CPU = {}  # argv -> the least CPU time (user + sys) of its runs


def run(argv, stdin_path, cwd=None, ok=(0,)):
    """Runs once, stdout to /dev/null; returns (wall seconds, CPU seconds)."""
    with open(stdin_path, "rb") as f, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdin=f, stdout=subprocess.DEVNULL, stderr=err, cwd=cwd)
        _, status, usage = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            sys.exit(f"{' '.join(argv)} failed ({code}): {err.read().decode()[:2000]}")
    return dt, usage.ru_utime + usage.ru_stime


def best_of(n, argv, stdin_path, cwd=None, ok=(0,)):
    """(best wall, median wall, least CPU) of n runs."""
    times, cpus = [], []
    for _ in range(n):
        dt, cpu = run(argv, stdin_path, cwd, ok)
        times.append(dt)
        cpus.append(cpu)
    times.sort()
    return times[0], times[len(times) // 2], min(cpus)


def instructions(argv, stdin_path, ok=(0,)):
    """Instructions executed by one run (valgrind's callgrind), or None without valgrind."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None
    with open(stdin_path, "rb") as f:
        p = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"] + argv,
                           stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        sys.exit(f"valgrind {' '.join(argv)} failed ({p.returncode})")
    m = re.search(r"Collected : (\d+)", p.stderr.decode())
    return int(m.group(1)) if m else None


def peak_rss(argv, stdin_path):
    """Peak RSS in bytes of one run, by GNU time."""
    with open(stdin_path, "rb") as f:
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdin=f,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return int(p.stderr.decode().strip().splitlines()[-1]) * 1024


def copies_stream(src, copies, path):
    with open(src) as f:
        base = f.read()
    with open(path, "w") as out:
        for i in range(copies):
            out.write(base.replace("posthog", f"p{i}x").replace("clickhouse-operator", f"clickhouse-operator-{i}"))


def statefulsets_stream(src, size, path):
    """The PostHog Kafka StatefulSet under new names until `size` bytes; returns the count."""
    with open(src) as f:
        text = f.read()
    doc = next(d for d in re.split(r"\n(?=---\n)", text) if "charts/kafka/templates/statefulset.yaml" in d)
    doc = doc.rstrip("\n") + "\n"
    n = 0
    written = 0
    with open(path, "w") as out:
        while written < size:
            piece = doc.replace("posthog-posthog-kafka", f"r{n}-kafka").replace("posthog", f"r{n}")
            out.write(piece)
            written += len(piece)
            n += 1
    return n


def kustomize(stream, target):
    d = tempfile.mkdtemp()
    shutil.copy(stream, os.path.join(d, "in.yaml"))
    with open(os.path.join(d, "kustomization.yaml"), "w") as f:
        f.write("resources: [in.yaml]\nsortOptions:\n  order: fifo\npatches:\n")
        f.write(f"  - target: {{kind: StatefulSet, name: {target}}}\n    patch: '{PATCH}'\n")
    return d


def ms(s):
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


def main():
    posthog = os.path.join(FIXTURES, "posthog")
    render = os.path.join(posthog, "rendered-default.yaml")
    if not os.path.exists(BIN) or not os.path.exists(render):
        sys.exit("build first (cargo build --release) and have ../shared/fixtures")
    kubectl = shutil.which("kubectl")
    work = tempfile.mkdtemp()
    rows = []
    notes = []
    n = 10 if QUICK else 40
    size = os.path.getsize(render)

    # 1. The PostHog render, both tools interleaved so that they see the same machine load.
    mine = [BIN, "post-render", "--size", "50Gi"]
    pr_best, pr_med, pr_cpu = best_of(n, mine, render)
    floor_best, floor_med, floor_cpu = best_of(n, [BIN, "--version"], render)
    if kubectl:
        d = kustomize(render, "posthog-posthog-kafka")
        kb, km, kcpu = best_of(5 if QUICK else 15, [kubectl, "kustomize", d], render)
        pr_best2, pr_med2, pr_cpu2 = best_of(n, mine, render)
        pr_best, pr_med, pr_cpu = min(pr_best, pr_best2), (pr_med + pr_med2) / 2, min(pr_cpu, pr_cpu2)
    rows.append(("pvc-resize post-render", "PostHog render", size, pr_best, pr_med, pr_cpu, ""))
    rows.append(("pvc-resize --version (process start)", "-", 0, floor_best, floor_med, floor_cpu, ""))
    if kubectl:
        rows.append(("kubectl kustomize + JSON 6902", "PostHog render", size, kb, km, kcpu,
                     f"pvc-resize {kb / pr_best:.0f}x faster (best), {km / pr_med:.0f}x (median)"))

    # 2. The other commands on the PostHog inputs, against the post-render figure.
    values = os.path.join(posthog, "values-default.yaml")
    resized = os.path.join(posthog, "values-resized.yaml")
    others = [
        ("pvc-resize values", "PostHog values", values, [BIN, "values", values, "--size", "50Gi"], (0,)),
        ("pvc-resize validate --manifests", "PostHog render", render, [BIN, "validate", "--manifests", render], (0,)),
        ("pvc-resize validate --values", "PostHog values", values, [BIN, "validate", "--values", values], (0,)),
        ("pvc-resize check", "PostHog values", values, [BIN, "check", "--base", values, "--head", resized], (0, 1)),
        ("pvc-resize plan", "PostHog render + values", render,
         [BIN, "plan", "--release", "posthog", "--namespace", "posthog", "--size", "50Gi",
          "--manifests", render, "--values", values], (0, 1)),
    ]
    for tool, inp, path, argv, ok in others:
        b, m, c = best_of(n, argv, render, ok=ok)
        rows.append((tool, inp, os.path.getsize(path), b, m, c, f"{b / pr_best:.2f}x post-render (best wall), {c / pr_cpu:.2f}x (CPU)"))
    counted = [("pvc-resize --version (process start)", [BIN, "--version"], (0,)),
               ("pvc-resize post-render", mine, (0,))]
    counted += [(tool, argv, ok) for tool, _, _, argv, ok in others]
    counts = [(tool, instructions(argv, render, ok)) for tool, argv, ok in counted]

    kv = shutil.which("kubernetes-validate")
    if kv:
        kb, km, kc = best_of(3 if QUICK else 5, [kv, "--strict", "-k", "1.32.0", "--quiet", render], render)
        rows.append(("kubernetes-validate --strict (PyPI)", "PostHog render", size, kb, km, kc, ""))

    # 3. Small streams, where kustomize still finishes.
    for copies in ([8] if QUICK else [8, 32]):
        path = os.path.join(work, f"gen-{copies}.yaml")
        copies_stream(render, copies, path)
        sz = os.path.getsize(path)
        argv = [BIN, "post-render", "--size", "50Gi", "--statefulset", "p1x-p1x-kafka"]
        b, m, c = best_of(5, argv, path)
        rows.append(("pvc-resize post-render (one StatefulSet)", f"PostHog copies x{copies}", sz, b, m, c, ""))
        if kubectl:
            d = kustomize(path, "p1x-p1x-kafka")
            kb, km, kc = best_of(1, [kubectl, "kustomize", d], path)
            rows.append(("kubectl kustomize + JSON 6902", f"PostHog copies x{copies}", sz, kb, km, kc,
                         f"pvc-resize {kb / b:.0f}x faster (best)"))

    # 4. Large streams: throughput, linearity, and one core against all of them.
    sizes = [40] if QUICK else [40, 100, 200]
    reps = 2 if QUICK else 3
    for mb in sizes:
        path = os.path.join(work, f"copies-{mb}.yaml")
        copies_stream(render, mb * 1024 * 1024 // size, path)
        sz = os.path.getsize(path)
        label = f"PostHog copies, {sz / 1e6:.0f} MB"
        cases = [("one StatefulSet", ["--statefulset", "p1x-p1x-kafka"]),
                 ("every Kafka StatefulSet", ["--statefulset", "*-kafka"]),
                 ("every StatefulSet with a data claim", EVERY)]
        if mb == sizes[0]:
            cases.append(("every StatefulSet with a data claim, --parse-all", EVERY + ["--parse-all"]))
        for what, extra in cases:
            b, m, c = best_of(reps, [BIN, "post-render", "--size", "50Ti"] + extra, path)
            rows.append((f"pvc-resize post-render ({what})", label, sz, b, m, c, ""))
        if mb == sizes[-1]:
            rss = peak_rss([BIN, "post-render", "--size", "50Ti"] + EVERY, path)
            notes.append(f"peak RSS, every StatefulSet with a data claim, {label}: "
                         f"{rss / 2**20:.0f} MiB = {rss / sz:.2f}x the input")
        os.remove(path)

        path = os.path.join(work, f"sts-{mb}.yaml")
        count = statefulsets_stream(render, mb * 1024 * 1024, path)
        sz = os.path.getsize(path)
        label = f"StatefulSets only ({count}), {sz / 1e6:.0f} MB"
        argv = [BIN, "post-render", "--size", "50Ti", "--statefulset", "*"]
        b, m, c = best_of(reps, argv, path)
        rows.append(("pvc-resize post-render (every StatefulSet)", label, sz, b, m, c, "all cores"))
        if mb == sizes[0] and shutil.which("taskset"):
            b1, m1, c1 = best_of(reps, ["taskset", "-c", "0"] + argv, path)
            rows.append(("pvc-resize post-render (every StatefulSet)", label, sz, b1, m1, c1,
                         f"one core; all cores are {b1 / b:.2f}x faster"))
        if mb == sizes[-1]:
            for what, mem_argv, mem_path in [("every StatefulSet", argv, path)]:
                rss = peak_rss(mem_argv, mem_path)
                notes.append(f"peak RSS, {what}, {label}: {rss / 2**20:.0f} MiB = {rss / sz:.2f}x the input")
        os.remove(path)

    print("| tool | input | size | best | median | MB/s (best) | CPU (least) | MB per CPU-s | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tool, inp, sz, b, m, c, note in rows:
        rate = f"{sz / 1e6 / b:.1f}" if sz else "-"
        per_cpu = f"{sz / 1e6 / c:.0f}" if sz and c else "-"
        print(f"| {tool} | {inp} | {sz / 1e6:.2f} MB | {ms(b)} | {ms(m)} | {rate} | {ms(c)} | {per_cpu} | {note} |")
    print()
    for line in notes:
        print(f"- {line}")
    if all(c for _, c in counts):
        base = counts[1][1]
        print()
        print("| tool (PostHog inputs) | instructions (callgrind) | to post-render |")
        print("|---|---|---|")
        for tool, c in counts:
            print(f"| {tool} | {c / 1e6:.2f} M | {c / base:.2f}x |")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
