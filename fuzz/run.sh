#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) on the nightly toolchain, seeded from the
# project's fixtures and, when present, the real renders in ../shared/fixtures. Prints the
# executions and findings per target; exits non-zero on the first crash.
#   bash fuzz/run.sh            # about a minute each (what .ci/run does, with a shorter time)
#   bash fuzz/run.sh 3600       # an hour each
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shared="${PVC_RESIZE_SHARED_FIXTURES:-../../shared/fixtures}"
seed() {
  local target="$1"; shift
  mkdir -p "corpus/$target"
  for f in "$@"; do
    [ -f "$f" ] || continue
    # libFuzzer's default max_len is 4096 bytes: keep seeds small.
    head -c 4000 "$f" > "corpus/$target/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
  done
}
seed quantity
printf '%s' 20Gi > corpus/quantity/a; printf '%s' 1.5Gi > corpus/quantity/b; printf '%s' 2e10 > corpus/quantity/c
printf '%s' 3.001n > corpus/quantity/d; printf '%s' 9Ei > corpus/quantity/e; printf '%s' -1.5Gi > corpus/quantity/f
seed stream_split ../fixtures/rendered-kafka.yaml "$shared"/posthog/rendered-default.yaml
seed post_render ../fixtures/rendered-kafka.yaml "$shared"/bitnami-kafka-14/rendered-default.yaml
seed values_edit ../fixtures/posthog-values.yaml "$shared"/posthog/values-logpersistence.yaml "$shared"/bitnami-kafka-32/values-split.yaml
# Tabs after a flow collection's bracket: the parser is retried with them as spaces.
printf 'kafka: {\n\tpersistence: {\n\t\tsize: 1Gi},\n\tx: [\n\t1]}\n' > corpus/values_edit/flow-tabs
seed patch_file ../fixtures/patches.yaml
status=0
for target in quantity stream_split values_edit post_render patch_file; do
  log="artifacts/$target.log"
  mkdir -p artifacts
  if cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH; status=1
  fi
  # libFuzzer's own count: "Done N runs" at the end, else the last status line ("#N ...").
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
  [ -n "$runs" ] || runs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  echo "fuzz $target: ${seconds}s, ${runs:-0} executions, $result"
  if [ "$result" = CRASH ]; then tail -n 40 "$log"; fi
done
exit "$status"
