#!/usr/bin/env python3
"""Benchmark: pvc-resize side by side with `kubectl kustomize` + a JSON 6902 patch, in the same run.

Prints wall time (process start included; best and median of N runs), throughput, the ratio to
kustomize, and peak RSS, for the real PostHog render and values, and for generated streams:

- "PostHog copies": copies of the PostHog render (43 documents, 4 StatefulSets each) with every
  name made unique; 3 of the 4 StatefulSets have a `data` claim.
- "StatefulSets only": the PostHog Kafka StatefulSet (6.5 kB) again and again under new names:
  every document is parsed, resized and checked (the worst case).
- "small releases": many releases of a small chart (a Service, a ConfigMap and a StatefulSet
  of 1.2 kB with one claim template each): many small documents.

Then every command that reads a stream (post-render with every StatefulSet targeted, validate
--manifests, check on two renders, plan) on each of the three shapes: time, throughput and peak
memory above the process's own (the peak RSS of `--version`), against the input's size. The last
lines say, for each of issue 19's targets, the figure and whether it is met.

Usage:

    cargo build --release && python3 bench/bench.py [--quick]

The binary is $PVC_RESIZE_BIN, else $CARGO_TARGET_DIR/release/pvc-resize, else
target/release/pvc-resize.

Figures go to stdout as Markdown. Nothing here asserts a time: it measures. On a shared machine
take the best figures and the ratios (both tools run in the same minute), not the medians. With
valgrind installed, a second table counts the instructions of each command on the PostHog inputs
(callgrind), which other processes' load does not change.
"""
import os, re, resource, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.environ.get("PVC_RESIZE_SHARED_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))
BIN = os.environ.get("PVC_RESIZE_BIN") or os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "pvc-resize")
QUICK = "--quick" in sys.argv
# The three StatefulSets of a PostHog copy that have a `data` claim (redis has none).
EVERY = ["--statefulset", "*-kafka", "--statefulset", "*-zookeeper", "--statefulset", "*-postgresql"]
SAME = "pvc-resize post-render (the three StatefulSets with a data claim)"
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


SMALL_RELEASE = """---
# Source: app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: NAME-app
  labels:
    app.kubernetes.io/name: app
    app.kubernetes.io/instance: NAME
spec:
  clusterIP: None
  ports:
    - name: http
      port: 80
  selector:
    app.kubernetes.io/name: app
    app.kubernetes.io/instance: NAME
---
# Source: app/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME-app
  labels:
    app.kubernetes.io/instance: NAME
data:
  app.conf: |
    listen 80
    data /data
---
# Source: app/templates/statefulset.yaml
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: NAME-app
  labels:
    app.kubernetes.io/name: app
    app.kubernetes.io/instance: NAME
spec:
  replicas: 1
  serviceName: NAME-app
  selector:
    matchLabels:
      app.kubernetes.io/name: app
      app.kubernetes.io/instance: NAME
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app
        app.kubernetes.io/instance: NAME
    spec:
      containers:
        - name: app
          image: "busybox:1.36"
          args: ["httpd", "-f", "-p", "80", "-h", "/data"]
          ports:
            - name: http
              containerPort: 80
          volumeMounts:
            - name: data
              mountPath: /data
            - name: config
              mountPath: /etc/app
      volumes:
        - name: config
          configMap:
            name: NAME-app
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ "ReadWriteOnce" ]
        resources:
          requests:
            storage: "1Gi"
"""


def small_releases_stream(size, path):
    """Releases of a small chart (Service, ConfigMap, StatefulSet) until `size` bytes; returns the count."""
    n = written = 0
    with open(path, "w") as out:
        while written < size:
            piece = SMALL_RELEASE.replace("NAME", f"s{n}")
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
        ("pvc-resize check (two renders)", "PostHog renders", render,
         [BIN, "check", "--base-manifests", render, "--head-manifests",
          os.path.join(posthog, "rendered-resized.yaml")], (0, 1)),
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
    # post-render parsing as many StatefulSets as the commands that read them all: the three of
    # the render with a `data` claim (Redis's is `redis-data`, and one run takes one claim name).
    counted.append((SAME, mine + EVERY, (0,)))
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

    # 5. Every command that reads a stream, on every shape: time and peak memory.
    shapes_table, (memory, rates) = every_command(work, render)

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
    print()
    print(shapes_table)
    print()
    targets(rows, counts, memory, rates)
    shutil.rmtree(work)


def every_command(work, render):
    """Every command that reads a stream, on each shape: a Markdown table, and the memory rows
    (shape, command, peak above the process's own, input bytes)."""
    mb = 8 if QUICK else 20
    reps = 2 if QUICK else 3
    own = peak_rss([BIN, "--version"], render)
    lines = [f"Every command on each stream shape ({mb} MiB; peak memory above the process's own "
             f"{own / 2**20:.1f} MiB, against the input: both renders for check):", "",
             "| command | shape | input | best | CPU (least) | MB/s (best) | MB per CPU-s | peak above own | to the input |",
             "|---|---|---|---|---|---|---|---|---|"]
    memory, rates = [], []
    for shape in ["PostHog copies", "StatefulSets only", "small releases"]:
        path = os.path.join(work, "shape.yaml")
        if shape == "PostHog copies":
            copies_stream(render, mb * 1024 * 1024 // os.path.getsize(render), path)
            every, one, release = EVERY, "p1x-p1x-kafka", "p1x"
        elif shape == "StatefulSets only":
            statefulsets_stream(render, mb * 1024 * 1024, path)
            every, one, release = ["--statefulset", "*"], "r1-kafka", "r1"
        else:
            small_releases_stream(mb * 1024 * 1024, path)
            every, one, release = ["--statefulset", "*"], "s1-app", "s1"
        resized = os.path.join(work, "shape-resized.yaml")
        resize = [BIN, "post-render", "--size", "50Ti"] + every
        with open(path, "rb") as f, open(resized, "wb") as out:
            subprocess.run(resize, stdin=f, stdout=out, stderr=subprocess.DEVNULL, check=True)
        sz = os.path.getsize(path)
        commands = [
            ("post-render (every StatefulSet)", resize, sz, (0,)),
            ("validate --manifests", [BIN, "validate", "--manifests", path], sz, (0, 1)),
            ("check (two renders)", [BIN, "check", "--base-manifests", path, "--head-manifests", resized],
             sz + os.path.getsize(resized), (0, 1)),
            ("plan (one StatefulSet)", [BIN, "plan", "--release", release, "--namespace", "default",
                                        "--size", "50Ti", "--manifests", path, "--statefulset", one],
             sz, (0, 1)),
        ]
        for what, argv, input_size, ok in commands:
            b, _, c = best_of(reps, argv, path, ok=ok)
            peak = max(peak_rss(argv, path) - own, 0)
            memory.append((shape, what, peak, input_size))
            if what.startswith("post-render"):
                rates.append((f"{shape}, {input_size / 1e6:.0f} MB", input_size / 1e6 / b))
            lines.append(f"| {what} | {shape} | {input_size / 1e6:.1f} MB | {ms(b)} | {ms(c)} | "
                         f"{input_size / 1e6 / b:.1f} | {input_size / 1e6 / c:.0f} | "
                         f"{peak / 2**20:.1f} MiB | {peak / input_size:.2f}x |")
        os.remove(path)
        os.remove(resized)
    return "\n".join(lines), (memory, rates)


def same_work(counts):
    """The commands that read every StatefulSet, against post-render parsing as many (validate and
    plan read the render's four, check both renders' eight; post-render's default reads one)."""
    c = dict(counts)
    same = c[SAME]
    parts = [f"validate --manifests {c['pvc-resize validate --manifests'] / same:.2f}x",
             f"plan {c['pvc-resize plan'] / same:.2f}x",
             f"check on two renders {c['pvc-resize check (two renders)'] / (2 * same):.2f}x (against two runs)"]
    return ("against post-render reading the three StatefulSets with a data claim "
            f"({same / 1e6:.2f} M instructions): " + ", ".join(parts))


def targets(rows, counts, memory, rates):
    """Issue 19's targets, each with its figure."""
    def say(ok, text):
        print(f"- {'met' if ok else 'MISSED'}: {text}")

    print("Targets (issue 19, item 4):")
    worst = max(memory, key=lambda m: m[2] / m[3])
    say(worst[2] <= 2 * worst[3] + 8 * 2**20,
        f"peak memory at most 2x the input plus a constant (8 MiB): worst {worst[2] / worst[3]:.2f}x "
        f"({worst[1]}, {worst[0]})")
    pr = next(r for r in rows if r[0] == "pvc-resize post-render" and r[1] == "PostHog render")
    wall = [(r[0], r[3] / pr[3]) for r in rows
            if r[1] in ("PostHog render", "PostHog values", "PostHog render + values", "PostHog renders")
            and "post-render" not in r[0]
            and r[0].startswith("pvc-resize") and "--version" not in r[0]]
    if wall:
        name, ratio = max(wall, key=lambda w: w[1])
        say(ratio <= 1.5, f"every command within 1.5x of post-render on the PostHog inputs by best wall time: worst {ratio:.2f}x ({name})")
    if all(c for _, c in counts):
        base = counts[1][1]
        commands = [t for t in counts[2:] if t[0] != SAME]
        name, c = max(commands, key=lambda t: t[1])
        say(c / base <= 1.5, f"every command within 1.5x of post-render by instructions: worst {c / base:.2f}x ({name})")
        print(f"  (not a target, for the reason of the miss) {same_work(counts)}")
    every = [r for r in rows if "(every StatefulSet" in r[0] and "--parse-all" not in r[0]
             and "Kafka" not in r[0] and "one core" not in r[6]]
    rates = rates + [(r[1], r[2] / 1e6 / r[3]) for r in every]
    slowest = min(rates, key=lambda r: r[1])
    say(slowest[1] >= 60,
        f">= 60 MB/s with every StatefulSet targeted (post-render, best wall, all cores): slowest "
        f"{slowest[1]:.1f} MB/s ({slowest[0]})")
    k = next((r for r in rows if r[0].startswith("kubectl kustomize") and r[1] == "PostHog render"), None)
    if k:
        say(k[4] / pr[4] >= 50, f">= 50x kubectl kustomize on the PostHog render by the median: {k[4] / pr[4]:.0f}x")


if __name__ == "__main__":
    main()
