#!/usr/bin/env bash
# Throughput and latency of a tiny Node app: direct, through Slipway's router, and through
# nginx (upstream keepalive), all on 127.0.0.1 with the same wrk parameters.
# Prints a markdown table. Needs: node, wrk, nginx; run `npx tsc -p .` first.
#   WRK_ARGS="-t2 -c50 -d10s"  ROUNDS=3  NGINX_WORKERS=1  NGINX_HEADERS=same  bench/router/run.sh
# NGINX_HEADERS=same (default): nginx adds the request headers Slipway's router adds (a request
# id, X-Forwarded-For/Proto/Port, Via, X-Request-Start), so both proxies hand the app the
# same work; NGINX_HEADERS=minimal: X-Forwarded-For and X-Forwarded-Proto only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
wrk_args=(${WRK_ARGS:--t2 -c50 -d10s})
rounds="${ROUNDS:-3}" # the three setups take turns; each keeps its best round (the machine may be shared)
nginx_workers="${NGINX_WORKERS:-1}"
nginx_headers="${NGINX_HEADERS:-same}"
same_headers=""
case "$nginx_headers" in
  same) same_headers='proxy_set_header X-Request-Id $request_id;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header Via "1.1 nginx";
      proxy_set_header X-Request-Start $msec;' ;;
  minimal) ;;
  *) echo "run.sh: NGINX_HEADERS is same or minimal" >&2; exit 1 ;;
esac
host="bench.localhost"  # the app is named bench; Slipway routes <app>.localhost

for tool in node wrk nginx; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is not installed (apt-get install -y $tool)" >&2; exit 1; }
done
[[ -f "$root/dist/src/router/index.js" ]] || { echo "run.sh: build first: (cd $root && npx tsc -p .)" >&2; exit 1; }

tmp="$(mktemp -d /tmp/slipway-bench-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Starts a node script in the background (in this shell, so its pid is ours to stop) and
# sets $port to the port it prints.
start_node() { # name script args...
  local name="$1"; shift
  node "$@" >"$tmp/$name.port" 2>"$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    if [[ -s "$tmp/$name.port" ]]; then port="$(head -1 "$tmp/$name.port")"; return; fi
    sleep 0.05
  done
  echo "run.sh: $name did not start: $(cat "$tmp/$name.err")" >&2; exit 1
}

free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# The app runs as a real dyno of a real Slipway server: deploy a Procfile app whose web
# process is backend.mjs, then read the dyno's port from the app's log (backend.mjs prints it).
source "$here/../lib.sh"
trap 'cleanup; bench_cleanup' EXIT INT TERM
start_slipway
app_dir="$bench_tmp/bench-app"
mkdir -p "$app_dir"
cp "$here/backend.mjs" "$app_dir/backend.mjs"
echo 'web: node backend.mjs' >"$app_dir/Procfile"
git -C "$app_dir" init -q -b main && git -C "$app_dir" add -A
git -C "$app_dir" -c user.email=bench@slipway.local -c user.name=bench commit -qm bench
api POST /apps '{"name":"bench"}' >/dev/null
git -C "$app_dir" push -q "$(git_remote bench)" main 2>/dev/null
logplex="$(api POST /apps/bench/log-sessions '{"lines":200,"dyno":"web.1"}' | sed 's/.*"logplex_url":"\([^"]*\)".*/\1/')"
backend_port="$(curl -s "$logplex" | grep -o 'app\[web\.1\]: [0-9]*$' | tail -1 | awk '{print $2}')"
[[ -n "$backend_port" ]] || { echo "run.sh: could not find the dyno's port" >&2; exit 1; }
router_port="$SLIPWAY_PORT"
start_node module "$here/front.mjs" "$backend_port" "$host"; module_port="$port"

nginx_port="$(free_port)"
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes $nginx_workers;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream app { server 127.0.0.1:$backend_port; keepalive 256; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      $same_headers
    }
  }
}
CONF
nginx -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" -g 'daemon off;' 2>"$tmp/nginx.err" &
pids+=($!)
for _ in $(seq 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$nginx_port/" 2>/dev/null && break
  sleep 0.05
done

# Sanity: each path answers 200 before we measure it.
for url in "http://127.0.0.1:$backend_port/" "http://127.0.0.1:$router_port/" "http://127.0.0.1:$module_port/" "http://127.0.0.1:$nginx_port/"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host" "$url" || true)"
  [[ "$code" == 200 ]] || { echo "run.sh: $url answered $code" >&2; exit 1; }
done

# wrk prints "Requests/sec: N" and, with --latency, a "Latency avg stdev max" line and percentiles.
measure() { # label url
  local out rps avg p99 errs
  out="$(wrk "${wrk_args[@]}" --latency -H "Host: $host" "$2")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  avg="$(awk '$1 == "Latency" {print $2; exit}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errs="$(awk '/Non-2xx|Socket errors/ {sub(/^ +/, ""); printf "%s; ", $0}' <<<"$out")"
  echo "$1|$rps|$avg|$p99|${errs:-none}"
}

labels=("dyno, direct" "Slipway (full server) → dyno" "router module alone → dyno" "nginx ($nginx_workers worker) → dyno")
urls=("http://127.0.0.1:$backend_port/" "http://127.0.0.1:$router_port/" "http://127.0.0.1:$module_port/" "http://127.0.0.1:$nginx_port/")
n=${#urls[@]}
for ((i = 0; i < n; i++)); do wrk -t1 -c10 -d1s -H "Host: $host" "${urls[$i]}" >/dev/null; done # warm-up (JIT, pools)
rows=("" "" "" "")
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    row="$(measure "${labels[$i]}" "${urls[$i]}")"
    echo "round $r: $row" >&2
    best="$(cut -d'|' -f2 <<<"${rows[$i]}")"
    now="$(cut -d'|' -f2 <<<"$row")"
    if [[ -z "$best" ]] || awk -v a="$now" -v b="$best" 'BEGIN { exit !(a > b) }'; then rows[$i]="$row"; fi
  done
done

nginx_rps="$(cut -d'|' -f2 <<<"${rows[3]}")"
echo "wrk ${wrk_args[*]}, best of $rounds interleaved rounds, $(nproc) CPUs, $(node --version), $(nginx -v 2>&1 | sed 's/.*: //'), NGINX_HEADERS=$nginx_headers"
echo
echo "| setup | requests/s | latency avg | latency p99 | vs nginx | errors |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
for row in "${rows[@]}"; do
  IFS='|' read -r label rps avg p99 errs <<<"$row"
  ratio="$(awk -v a="$rps" -v b="$nginx_rps" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "-" }')"
  echo "| $label | $rps | $avg | $p99 | $ratio | $errs |"
done
