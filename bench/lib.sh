# Shared helpers for bench scripts: start a throw-away Slipway on free ports and stop it.
# Source it; call start_slipway; everything is stopped and removed on exit.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench_tmp="$(mktemp -d /tmp/slipway-bench-XXXXXX)"
bench_pids=()
bench_cleanup() {
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT INT TERM

# Starts Slipway in the background; sets SLIPWAY_URL, SLIPWAY_PORT, SLIPWAY_PID, API_KEY.
start_slipway() {
  [[ -f "$bench_root/dist/src/main.js" ]] || { echo "build first: (cd $bench_root && npx tsc -p .)" >&2; exit 1; }
  API_KEY="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  PORT=0 SLIPWAY_HTTPS_PORT=0 SLIPWAY_BIND=127.0.0.1 SLIPWAY_DATA="$bench_tmp/data" \
    SLIPWAY_BOOTSTRAP_API_KEY="$API_KEY" SLIPWAY_STOP_TIMEOUT_MS=3000 \
    node "$bench_root/dist/src/main.js" >"$bench_tmp/slipway.log" 2>&1 &
  SLIPWAY_PID=$!
  bench_pids+=("$SLIPWAY_PID")
  for _ in $(seq 300); do
    SLIPWAY_PORT="$(grep -o 'listening on http://[^ ]*' "$bench_tmp/slipway.log" 2>/dev/null | head -1 | sed 's/.*://' || true)"
    [[ -n "$SLIPWAY_PORT" ]] && break
    sleep 0.1
  done
  [[ -n "$SLIPWAY_PORT" ]] || { echo "Slipway did not start: $(cat "$bench_tmp/slipway.log")" >&2; exit 1; }
  SLIPWAY_URL="http://127.0.0.1:$SLIPWAY_PORT"
}

api() { # method path [json]
  curl -sf -X "$1" -H "Authorization: Bearer $API_KEY" -H 'Accept: application/vnd.heroku+json; version=3' \
    ${3:+-H 'Content-Type: application/json' -d "$3"} "$SLIPWAY_URL$2"
}

# A git repository of an example app with one commit, in the bench temp dir.
example_repo() { # example-name → prints the path
  local dir="$bench_tmp/repo-$1"
  cp -r "$bench_root/examples/$1" "$dir"
  git -C "$dir" init -q -b main
  git -C "$dir" add -A
  git -C "$dir" -c user.email=bench@slipway.local -c user.name=bench commit -qm "$1"
  echo "$dir"
}

git_remote() { echo "http://bench:$API_KEY@127.0.0.1:$SLIPWAY_PORT/$1.git"; }
