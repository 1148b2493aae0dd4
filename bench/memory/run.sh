#!/usr/bin/env bash
# Slipway's own memory: idle RSS (no apps), then the memory cost of each running dyno,
# split into what Slipway itself holds per dyno and what the sandbox adds per dyno
# (bubblewrap's processes), next to the app process itself. Reads /proc/<pid>/status.
#   DYNOS=10 bench/memory/run.sh      (needs: node, git, curl; npx tsc -p . first)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
dynos="${DYNOS:-10}"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Sums RSS (kB) of processes whose environment names the app, grouped by command name.
app_rss() { # app → lines "comm kB count"
  for p in /proc/[0-9]*; do
    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "HEROKU_APP_NAME=$1" || continue
    echo "$(cat "$p/comm" 2>/dev/null) $(rss_kb "${p#/proc/}")"
  done | awk '{s[$1]+=$2; n[$1]++} END {for (k in s) print k, s[k], n[k]}'
}
settle() { sleep 3; }

start_slipway
settle
idle=$(rss_kb "$SLIPWAY_PID")
# Touch the API and the router once so lazily loaded code is counted as well.
api GET /account >/dev/null
settle
idle_warm=$(rss_kb "$SLIPWAY_PID")

api POST /apps '{"name":"bench-mem"}' >/dev/null
repo="$(example_repo node-app)"
git -C "$repo" push -q "$(git_remote bench-mem)" main 2>/dev/null
settle
one=$(rss_kb "$SLIPWAY_PID")
api PATCH /apps/bench-mem/formation "{\"updates\":[{\"type\":\"web\",\"quantity\":$((dynos + 1))}]}" >/dev/null
for _ in $(seq 600); do
  up=$(api GET /apps/bench-mem/dynos | grep -o '"state":"up"' | wc -l)
  [[ "$up" -ge $((dynos + 1)) ]] && break
  sleep 0.1
done
settle
many=$(rss_kb "$SLIPWAY_PID")
procs="$(app_rss bench-mem)"
bwrap_kb=$(echo "$procs" | awk '$1=="bwrap" {print $2}'); bwrap_kb=${bwrap_kb:-0}
app_kb=$(echo "$procs" | awk '$1=="node" {print $2}'); app_kb=${app_kb:-0}
count=$((dynos + 1))

mb() { awk -v k="$1" 'BEGIN {printf "%.1f MB", k/1024}'; }
echo "| measure | value |"
echo "|---|---|"
echo "| Slipway RSS, idle, no apps (3 s after start) | $(mb "$idle") |"
echo "| Slipway RSS, idle, after one API call | $(mb "$idle_warm") |"
echo "| Slipway RSS with 1 web dyno running | $(mb "$one") |"
echo "| Slipway RSS with $count web dynos running | $(mb "$many") |"
echo "| Slipway's own memory per extra dyno | $(mb $(( (many - one) / dynos ))) |"
echo "| sandbox (bubblewrap) processes per dyno | $(mb $(( bwrap_kb / count ))) |"
echo "| the app's own process per dyno (node server.js, for scale) | $(mb $(( app_kb / count ))) |"
