#!/usr/bin/env bash
# Warm `git push` of examples/node-app (dependencies cached by an earlier push) until the new
# commit's first HTTP 200 through the router. Median of 10 runs, measured with hyperfine.
#   RUNS=10 bench/push/run.sh        (needs: node, git, curl, hyperfine; npx tsc -p . first)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install -y hyperfine)" >&2; exit 1; }
runs="${RUNS:-10}"

start_slipway
api POST /apps '{"name":"bench-push"}' >/dev/null
repo="$(example_repo node-app)"
remote="$(git_remote bench-push)"
git -C "$repo" push -q "$remote" main 2>/dev/null   # the cold push fills the build cache

# Each run: a new commit that changes what the app serves, the push, then polling the
# router until the new content answers 200.
cat >"$bench_tmp/commit.sh" <<SH
#!/usr/bin/env bash
set -e
date +%s%N > "$repo/deploy-marker.txt"
git -C "$repo" add -A
git -C "$repo" -c user.email=bench@slipway.local -c user.name=bench commit -qm "bench \$(cat $repo/deploy-marker.txt)"
SH
cat >"$bench_tmp/push.sh" <<SH
#!/usr/bin/env bash
set -e
git -C "$repo" push -q "$remote" main 2>/dev/null
want="v\$(curl -sf -H "Authorization: Bearer $API_KEY" -H "Range: version ..; order=desc,max=1" "$SLIPWAY_URL/apps/bench-push/releases" | grep -o '"version":[0-9]*' | cut -d: -f2)"
# The first 200 answered by a dyno of the new release.
until [ "\$(curl -sf -H "Host: bench-push.localhost" "http://127.0.0.1:$SLIPWAY_PORT/config/HEROKU_RELEASE_VERSION")" = "\$want" ]; do sleep 0.02; done
SH
chmod +x "$bench_tmp/commit.sh" "$bench_tmp/push.sh"

hyperfine --runs "$runs" --prepare "$bench_tmp/commit.sh" --export-json "$bench_tmp/push.json" "$bench_tmp/push.sh" >&2
node -e '
const r = require(process.argv[1]).results[0];
const f = (s) => s.toFixed(2) + " s";
console.log("| runs | median | mean | min | max |");
console.log("|---:|---:|---:|---:|---:|");
console.log(`| ${r.times.length} | ${f(r.median)} | ${f(r.mean)} | ${f(r.min)} | ${f(r.max)} |`);
' "$bench_tmp/push.json"
