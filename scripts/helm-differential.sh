#!/usr/bin/env bash
# The differential suite at scale: generated values files judged by the real Helm 3 and Helm 4
# (tests/helm_judge.rs). Usage: scripts/helm-differential.sh [CASES] [SEED]
# CASES defaults to 100000 per Helm, SEED to 1 (a failing case prints its seed; rerun with
# PVC_RESIZE_SEED=<seed> PVC_RESIZE_CASES=1 to see it alone).
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
seed="${2:-1}"
export PVC_RESIZE_CASES="$cases" PVC_RESIZE_SEED="$seed"
exec cargo test --test helm_judge generated_values_files -- --nocapture
