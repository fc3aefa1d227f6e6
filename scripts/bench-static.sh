#!/usr/bin/env bash
# Static files: tests/bench/dynamo_bench (the static plug) beside nginx serving the same files,
# in one run on this machine, pinned: the server on CPU 1 (one scheduler / one worker), wrk
# -t1 -c64 on CPU 0.
#   usage: scripts/bench-static.sh
# Figures: GET /static/4k.bin (a 4 KiB file: requests/s) and GET /static/1m.bin (a 1 MiB file:
# bytes/s), each with the server's CPU per request. Prints every JSON line to
# build/bench-static.jsonl ({"peer","bench","metric","value","unit","schedulers"} beside
# run.sh's fields) and a table of ratios to nginx (> 1: we are better). Environment: PEERS_DIR
# (default tests/bench/peers), REPEAT (runs per figure, median reported; default 3), DURATION
# (s, default 10), BENCH_LOCK (a lock file shared with other benchmarks on the machine),
# DYNAMO_BENCH (the binary; default build/release/tests/bench/dynamo_bench, built here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS_DIR=${PEERS_DIR:-$ROOT/tests/bench/peers}
PEERS=$PEERS_DIR/http
[ -x "$PEERS/run.sh" ] || { echo "bench-static: no peers at $PEERS (set PEERS_DIR)" >&2; exit 1; }
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}

scripts/setup.sh --bench
if [ -z "${DYNAMO_BENCH:-}" ]; then
  scripts/build.sh release >/dev/null
  DYNAMO_BENCH=$ROOT/build/release/tests/bench/dynamo_bench
fi
mkdir -p build
OUT=$ROOT/build/bench-static.jsonl
: > "$OUT"
WORK=$(mktemp -d)
export PEERS_WORKDIR=$WORK/peers
FILES=$WORK/static
mkdir -p "$FILES"
head -c 4096 /dev/urandom > "$FILES/4k.bin"
head -c 1048576 /dev/urandom > "$FILES/1m.bin"
chmod 755 "$WORK" "$FILES" && chmod 644 "$FILES"/*  # nginx's workers run as another user
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PORT=${PORT_BASE:-18580}
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench-static: nothing listens on $1" >&2
  return 1
}

start() { # start PEER PORT: pinned on CPU 1, one scheduler / worker; sets SERVER
  case $1 in
    dynamo) DYN_BENCH_STATIC=$FILES taskset -c 1 "$DYNAMO_BENCH" "$2" 1 2>/dev/null & ;;
    nginx) taskset -c 1 "$PEERS/nginx/start.sh" "$2" 1 static "$FILES" >/dev/null 2>&1 & ;;
  esac
  SERVER=$!
  wait_port "$2"
  kill -0 "$SERVER" 2>/dev/null || { echo "bench-static: $1 did not start on $2" >&2; exit 1; }
  # The same bytes from both, or the comparison means nothing.
  for f in 4k.bin 1m.bin; do
    curl -sS -o "$WORK/got" "http://127.0.0.1:$2/static/$f"
    cmp -s "$FILES/$f" "$WORK/got" || { echo "bench-static: $1 serves $f wrong" >&2; exit 1; }
  done
}

stop() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  sleep 0.5
}

# emit PEER BENCH METRIC UNIT JSON: the run's line with the figure named
emit() {
  python3 -c '
import json, sys
peer, bench, metric, unit, line = sys.argv[1:6]
d = json.loads(line)
d.update(peer=peer, bench=bench, schedulers=1, metric=metric, unit=unit)
secs = d["duration_us"] / 1e6
d["value"] = round(d["rps"]) if metric == "requests_per_s" else round(d["bytes"] / secs)
if d.get("requests") and d.get("server_cpu_s") is not None:
    d["server_cpu_us_per_req"] = round(d["server_cpu_s"] * 1e6 / d["requests"], 3)
print(json.dumps(d))' "$@" | tee -a "$OUT"
}

for _ in $(seq "$REPEAT"); do
  for peer in dynamo nginx; do
    PORT=$((PORT + 1))
    start "$peer" "$PORT"
    j=$(env SERVER_PID="$SERVER" DURATION="$DURATION" WARMUP=2 WRK_CPU=0 THREADS=1 CONNS=64 \
          "$PEERS/run.sh" "$PORT" /static/4k.bin)
    emit "$peer" "static 4 KiB" requests_per_s "req/s" "$j"
    j=$(env SERVER_PID="$SERVER" DURATION="$DURATION" WARMUP=2 WRK_CPU=0 THREADS=1 CONNS=64 \
          "$PEERS/run.sh" "$PORT" /static/1m.bin)
    emit "$peer" "static 1 MiB" bytes_per_s "B/s" "$j"
    stop
  done
done

echo
python3 - "$OUT" <<'PY'
import json, os, platform, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cpus, {cpu}, {platform.platform()}")
def med(bench, peer, key):
    v = [r[key] for r in rows if r["bench"] == bench and r["peer"] == peer and r.get(key) is not None]
    return statistics.median(v) if v else None
print(f"{'bench':14} {'metric':16} {'dynamo':>14} {'nginx':>14} {'vs nginx':>9}")
for b in sorted({r["bench"] for r in rows}):
    unit = next(r["unit"] for r in rows if r["bench"] == b)
    for name, key, hib in [(unit, "value", True), ("cpu us/req", "server_cpu_us_per_req", False),
                           ("p99 us", "p99_us", False)]:
        o, t = med(b, "dynamo", key), med(b, "nginx", key)
        if o is None or t is None:
            continue
        r = (o / t if hib else t / o) if o and t else 0
        print(f"{b:14} {name:16} {o:>14.6g} {t:>14.6g} {r:>8.2f}x")
PY
