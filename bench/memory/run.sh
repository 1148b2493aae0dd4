#!/usr/bin/env bash
# Slipway's own memory: idle RSS (no apps), then the memory cost of each running dyno,
# split into what Slipway itself holds per dyno and what the sandbox adds per dyno
# (bubblewrap's processes), next to the app process itself. Reads /proc/<pid>/status.
#   DYNOS=10 bench/memory/run.sh      (needs: node, git, curl; npx tsc -p . first)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
dynos="${DYNOS:-10}"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# RSS (kB) of the app's processes and of the bubblewrap processes above them, by command name.
app_rss() { # app → lines "comm kB count"
  node -e '
    const fs = require("fs");
    const read = (p) => { try { return fs.readFileSync(p, "utf8"); } catch { return ""; } };
    const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`))?.[1] ?? 0);
    const ppid = (pid) => Number(read(`/proc/${pid}/stat`).split(") ")[1]?.split(" ")[1] ?? 0);
    const comm = (pid) => read(`/proc/${pid}/comm`).trim();
    const seen = new Map();
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      if (!read(`/proc/${pid}/environ`).split("\0").includes(`HEROKU_APP_NAME=${process.argv[1]}`)) continue;
      seen.set(pid, comm(pid));
      for (let up = ppid(pid); up > 1 && comm(up) === "bwrap"; up = ppid(up)) seen.set(String(up), "bwrap");
    }
    const sums = {};
    for (const [pid, name] of seen) { sums[name] ??= [0, 0]; sums[name][0] += rss(pid); sums[name][1]++; }
    for (const [name, [kb, n]] of Object.entries(sums)) console.log(name, kb, n);
  ' "$1"
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
