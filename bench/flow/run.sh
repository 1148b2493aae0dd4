#!/usr/bin/env bash
# Heroku Flow timings on a throw-away Slipway (free ports, temp data dir):
#   1. promotion shop-staging → shop-prod until production's router answers 200 from a dyno of
#      the new production release (median of 10; target ≤ 1.5 s);
#   2. review app creation from a merge request until the review app answers 200 through the
#      router (median of 5).
#   bench/flow/run.sh                       (needs: node, git, curl; npx tsc -p . first)
#   PROMOTE_RUNS=10 REVIEW_RUNS=5 ONLY=promote|review bench/flow/run.sh
# Prints Markdown tables; progress and per-run details go to stderr. KEEP_LOG=path copies
# Slipway's log there before the temp dir is removed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
start_slipway
trap 'if [[ -n "${KEEP_LOG:-}" ]]; then cp "$bench_tmp/slipway.log" "$KEEP_LOG" || true; fi; bench_cleanup' EXIT INT TERM
SLIPWAY_URL="$SLIPWAY_URL" SLIPWAY_PORT="$SLIPWAY_PORT" API_KEY="$API_KEY" BENCH_TMP="$bench_tmp" BENCH_ROOT="$bench_root" \
  node "$bench_root/bench/flow/bench.mjs"
