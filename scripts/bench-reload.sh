#!/usr/bin/env bash
# Save-to-response time of code reloading in dev: a copy of apps/hello (in a temporary
# directory, never the tree) is built on its own against build/<PRESET> (release by default)
# in its dev build, started, and edited EDITS times each way: a route (the body of
# /hello/world) and a template (the about page). Each edit is a plain save; the time is from
# the save to the first response carrying the new text (curl asks every 5 ms). Prints JSON
# lines, one per edit and the medians, to build/bench-reload.jsonl.
#   usage: scripts/bench-reload.sh [EDITS]     (default 10)
# Target: a median of 1 s or less on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
EDITS=${1:-10}
PRESET=${PRESET:-release}
scripts/setup.sh
cmake --preset "$PRESET" >/dev/null && cmake --build --preset "$PRESET" >/dev/null
BUILD=$ROOT/build/$PRESET
OUT=$ROOT/build/bench-reload.jsonl
TMP=$(mktemp -d /tmp/dyn-bench-reload.XXXXXX)
NODE=
cleanup() {
  [ -n "$NODE" ] && kill "$NODE" 2>/dev/null && wait "$NODE" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
cp -r apps/hello "$TMP/hello"
APP=$TMP/hello
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
cmake -S "$APP" -B "$APP/build" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -Ddynamo_DIR="$BUILD" -DDYNAMO_ENV=dev >/dev/null
cmake --build "$APP/build" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$APP/build/hello" --port "$PORT" >"$TMP/node.out" 2>"$TMP/node.err" &
NODE=$!
for _ in $(seq 200); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/hello/world" && break
  sleep 0.05
done

now_ms() { date +%s%3N; }
# measure FILE FROM TO URL WANT: saves FILE with FROM replaced by TO, then waits until URL
# shows WANT; prints the milliseconds between.
measure() {
  local file=$1 from=$2 to=$3 url=$4 want=$5
  local text
  text=$(<"$file")
  local t0 t1
  t0=$(now_ms)
  printf '%s\n' "${text/"$from"/"$to"}" > "$file"
  for _ in $(seq 2000); do
    if curl -s "http://127.0.0.1:$PORT$url" | grep -qF -- "$want"; then
      t1=$(now_ms)
      echo $((t1 - t0))
      return
    fi
    sleep 0.005
  done
  echo "bench-reload: $url never showed $want" >&2
  exit 1
}
: > "$OUT"
SCHED=$(nproc)
route_prev="Hello world"
tpl_prev="Dynamo in C"
for i in $(seq "$EDITS"); do
  route_next="Hello world, edit $i"
  ms=$(measure "$APP/web/routers/application_router.c" "dyn_resp(conn, 200, \"$route_prev\")" \
    "dyn_resp(conn, 200, \"$route_next\")" /hello/world "$route_next")
  route_prev=$route_next
  echo "{\"peer\":\"dynamo\",\"bench\":\"reload_route_edit\",\"edit\":$i,\"metric\":\"save_to_response\",\"value\":$ms,\"unit\":\"ms\",\"schedulers\":$SCHED}" | tee -a "$OUT"
  tpl_next="Dynamo in C, edit $i"
  ms=$(measure "$APP/web/templates/about.html.eex" "$tpl_prev" "$tpl_next" /section/about "$tpl_next")
  tpl_prev=$tpl_next
  echo "{\"peer\":\"dynamo\",\"bench\":\"reload_template_edit\",\"edit\":$i,\"metric\":\"save_to_response\",\"value\":$ms,\"unit\":\"ms\",\"schedulers\":$SCHED}" | tee -a "$OUT"
done
python3 - "$OUT" "$PRESET" <<'PY'
import json, sys, statistics, platform, os
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cpus, {cpu}, {platform.platform()}; framework build: {sys.argv[2]}")
out = []
for bench in ("reload_route_edit", "reload_template_edit"):
    v = [r["value"] for r in rows if r["bench"] == bench]
    line = {"peer": "dynamo", "bench": bench, "metric": "save_to_response_median",
            "value": statistics.median(v), "unit": "ms", "edits": len(v),
            "min": min(v), "max": max(v), "schedulers": rows[0]["schedulers"]}
    print(json.dumps(line))
    out.append(line)
with open(sys.argv[1], "a") as f:
    for line in out:
        f.write(json.dumps(line) + "\n")
PY
grep -F "[reload]" "$TMP/node.err" | tail -3 >&2
