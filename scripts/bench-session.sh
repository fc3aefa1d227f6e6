#!/usr/bin/env bash
# The CPU cost of a cookie-store session fetch and update per request, two ways:
# - through the server: tests/bench/dynamo_bench with DYN_BENCH_SESSION=1 (the session plug in
#   its endpoint), pinned on CPU 1 with one scheduler, wrk -t1 -c64 on CPU 0 sending a session
#   cookie with every request, GET /session (fetch, read a counter, write it back: a new
#   Set-Cookie each time) against GET / (the same plugs, no fetch): the difference of the
#   server's CPU per request is what the session costs;
# - without it: tests/bench/session_bench, the same work in a loop on one thread.
#   usage: scripts/bench-session.sh
# Prints JSON lines to build/bench-session.jsonl and a summary. Environment: PEERS_DIR, REPEAT
# (default 3, median), DURATION (s, default 10), BENCH_LOCK, as scripts/bench-static.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${PEERS_DIR:-$ROOT/tests/bench/peers}/http
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}
scripts/setup.sh --bench
scripts/build.sh release >/dev/null
BIN=$ROOT/build/release/tests/bench
mkdir -p build
OUT=$ROOT/build/bench-session.jsonl
: > "$OUT"
PORT=${PORT_BASE:-18680}
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null; true; }
trap cleanup EXIT

DYN_BENCH_SESSION=1 taskset -c 1 "$BIN/dynamo_bench" "$PORT" 1 2>/dev/null &
SERVER=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
COOKIE=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/session" |
         sed -n 's/^[Ss]et-[Cc]ookie: \(_bench_session=[^;]*\);.*/\1/p')
[ -n "$COOKIE" ] || { echo "bench-session: no session cookie from dynamo_bench" >&2; exit 1; }

emit() { # emit BENCH JSON
  python3 -c '
import json, sys
d = json.loads(sys.argv[2])
d.update(peer="dynamo", bench=sys.argv[1], schedulers=1, metric="server_cpu_us_per_req", unit="us")
d["value"] = round(d["server_cpu_s"] * 1e6 / d["requests"], 3)
print(json.dumps(d))' "$@" | tee -a "$OUT"
}
for _ in $(seq "$REPEAT"); do
  for path in / /session; do
    j=$(env SERVER_PID="$SERVER" DURATION="$DURATION" WARMUP=2 WRK_CPU=0 THREADS=1 CONNS=64 \
          WRK_COOKIE="$COOKIE" WRK_LUA="$PEERS/cookie.lua" "$PEERS/run.sh" "$PORT" "$path")
    emit "session $path" "$j"
  done
  taskset -c 1 "$BIN/session_bench" 200000 2>/dev/null | tee -a "$OUT"
done

echo
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(bench):
    v = [r["value"] for r in rows if r["bench"] == bench]
    return statistics.median(v) if v else None
raw, sess = med("session /"), med("session /session")
loop = med("session cookie fetch+update")
print(f"server CPU per request: GET / {raw:.2f} us, GET /session {sess:.2f} us: "
      f"the session fetch+update costs {sess - raw:.2f} us")
print(f"the same work in a loop (session_bench): {loop:.2f} us per fetch+update")
PY
