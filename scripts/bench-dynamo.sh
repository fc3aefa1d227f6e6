#!/usr/bin/env bash
# The whole Dynamo path (tests/bench/dynamo_bench: request id, head and method override plugs,
# a 50-route router tree with forwards) beside the raw HTTP server it runs on
# (tests/bench/http_hello: the same answers, no framework) and nginx, in one run on this machine.
#   usage: scripts/bench-dynamo.sh [SCENARIO...]   (default: pinned unpinned routes)
# Scenarios:
#   pinned     each server on CPU 1 (one scheduler / worker), wrk -t1 -c64 on CPU 0,
#              GET / and GET /users/42
#   unpinned   two schedulers / workers, wrk -t2 -c128 unpinned
#   routes     the route matcher alone at 10, 100 and 1,000 routes (tests/bench/route_bench)
#   callgrind  user-space instructions per request of the Dynamo and of the raw server, each
#              under callgrind with one scheduler: counters zeroed after a warm-up, then 5 s of
#              wrk -t1 -c16, divided by the requests wrk counted (steady on a busy machine)
# Prints every JSON line to build/bench-dynamo.jsonl and a table with the Dynamo's ratio to
# the raw server and to nginx (> 1: the Dynamo is better; the targets: req/s >= 0.85x raw and
# CPU per request within 1.2x of raw, i.e. a "vs raw" of at least 0.83 on that row).
# Environment: REPEAT (runs per figure, median reported; default 3), DURATION (s, default 10),
# PEERS_DIR (default tests/bench/peers), BENCH_LOCK (a lock file shared with other benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS_DIR=${PEERS_DIR:-$ROOT/tests/bench/peers}
PEERS=$PEERS_DIR/http
[ -x "$PEERS/run.sh" ] || { echo "bench-dynamo: no peers at $PEERS (set PEERS_DIR)" >&2; exit 1; }
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(pinned unpinned routes callgrind)

scripts/setup.sh --bench
scripts/build.sh release >/dev/null
BIN=$ROOT/build/release/tests/bench
mkdir -p build
OUT=$ROOT/build/bench-dynamo.jsonl
: > "$OUT"
WORK=$(mktemp -d)
export PEERS_WORKDIR=$WORK/peers
. scripts/bench-lib.sh
cleanup() {
  bench_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# start PEER CPUS WORKERS PORT
start() {
  case $1 in
    dynamo) bench_start "$1" "$2" "$4" "$BIN/dynamo_bench" "$4" "$3" ;;
    raw) bench_start "$1" "$2" "$4" "$BIN/http_hello" "$4" "$3" ;;
    nginx) bench_start "$1" "$2" "$4" "$PEERS/nginx/start.sh" "$4" "$3" ;;
  esac
}

for scenario in "${SCENARIOS[@]}"; do
  for _ in $(seq "$REPEAT"); do
    case $scenario in
      pinned | unpinned)
        for peer in dynamo raw nginx; do
          bench_next_port
          if [ "$scenario" = pinned ]; then
            start "$peer" 1 1 "$PORT"
            for path in / /users/42; do
              bench_wrk "$peer" "pinned $path" 1 "$PORT" "$path" WRK_CPU=0 THREADS=1 CONNS=64
            done
          else
            start "$peer" all 2 "$PORT"
            for path in / /users/42; do
              bench_wrk "$peer" "unpinned $path" 2 "$PORT" "$path" THREADS=2 CONNS=128
            done
          fi
          bench_stop
        done
        ;;
      callgrind)
        for peer in dynamo raw; do
          bin=$BIN/dynamo_bench
          [ "$peer" = raw ] && bin=$BIN/http_hello
          for path in / /users/42; do
            bench_next_port
            valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$bin" "$PORT" 1 \
              >/dev/null 2>"$WORK/cg.err" &
            SERVER=$!
            for _ in $(seq 400); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
            wrk -t1 -c16 -d2s "http://127.0.0.1:$PORT$path" >/dev/null
            callgrind_control --zero "$SERVER" >/dev/null
            n=$(wrk -t1 -c16 -d5s "http://127.0.0.1:$PORT$path" | awk '/requests in/ {print $1}')
            callgrind_control --dump "$SERVER" >/dev/null
            ir=$(callgrind_annotate "$WORK/cg.$SERVER.1" 2>/dev/null |
                 awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
            bench_stop
            rm -f "$WORK"/cg.*
            echo "{\"peer\":\"$peer\",\"bench\":\"callgrind $path\",\"metric\":\"instructions_per_req\",\"value\":$((ir / n)),\"unit\":\"instructions\",\"schedulers\":1}" |
              tee -a "$OUT"
          done
        done
        ;;
      routes)
        lock=()
        [ -n "${BENCH_LOCK:-}" ] && lock=(flock "$BENCH_LOCK")
        "${lock[@]}" taskset -c 1 "$BIN/route_bench" | tee -a "$OUT"
        ;;
      *)
        echo "bench-dynamo: unknown scenario $scenario" >&2
        exit 2
        ;;
    esac
  done
done

echo
bench_table dynamo raw nginx
if grep -q route_match "$OUT"; then
  echo
  python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"route_match' in l]
print(f"{'route matcher (ns per match)':42} {'dynamo':>9} {'linear scan':>12}")
for b in dict.fromkeys(r["bench"] for r in rows):
    v = {p: statistics.median([r["value"] for r in rows if r["bench"] == b and r["peer"] == p])
         for p in ("dynamo", "linear-scan")}
    print(f"{b:42} {v['dynamo']:>9.1f} {v['linear-scan']:>12.1f}")
PY
fi
if grep -q instructions_per_req "$OUT"; then
  echo
  python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"instructions_per_req"' in l]
print(f"{'instructions per request (callgrind)':42} {'dynamo':>9} {'raw':>9} {'added':>9}")
for b in dict.fromkeys(r["bench"] for r in rows):
    v = {p: statistics.median([r["value"] for r in rows if r["bench"] == b and r["peer"] == p])
         for p in ("dynamo", "raw")}
    print(f"{b:42} {v['dynamo']:>9.0f} {v['raw']:>9.0f} {v['dynamo'] - v['raw']:>9.0f}")
PY
fi
