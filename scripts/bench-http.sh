#!/usr/bin/env bash
# HTTP benchmarks: tests/bench/http_hello beside nginx and h2o, in one run on this machine.
#   usage: scripts/bench-http.sh [SCENARIO...]   (default: pinned unpinned pipelined close idle)
# Scenarios (the peers' scripts in tests/bench/peers/http do the measuring):
#   pinned     server on CPU 1 (one scheduler / worker), wrk -t1 -c64 on CPU 0, GET / and
#              GET /users/42
#   unpinned   two schedulers / workers, wrk -t2 -c128 unpinned; ours twice: SO_REUSEPORT per
#              scheduler and a single acceptor dealing sockets out (HTTP_ACCEPT)
#   pipelined  as pinned, 16 requests per write (pipeline.lua)
#   idle       RSS per idle keep-alive connection, 10,000 connections (idle_conns.py)
#   close      a new connection per request ("Connection: close"), two schedulers / workers,
#              wrk -t2 -c64 unpinned: the cost of accepting and starting a connection
# Prints every JSON line to build/bench-http.jsonl and a table of ratios to each peer (> 1:
# we are better). Environment: PEERS_DIR (default tests/bench/peers), REPEAT (runs per figure,
# median reported; default 3), DURATION (s, default 10), BENCH_LOCK
# (a lock file shared with other benchmarks on the machine), HTTP_HELLO (the binary; default
# build/release/tests/bench/http_hello, built by this script).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS_DIR=${PEERS_DIR:-$ROOT/tests/bench/peers}
PEERS=$PEERS_DIR/http
[ -x "$PEERS/run.sh" ] || { echo "bench-http: no peers at $PEERS (set PEERS_DIR)" >&2; exit 1; }
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(pinned unpinned pipelined close idle)

scripts/setup.sh --bench
if [ -z "${HTTP_HELLO:-}" ]; then
  scripts/build.sh release >/dev/null
  HTTP_HELLO=$ROOT/build/release/tests/bench/http_hello
fi
mkdir -p build
OUT=$ROOT/build/bench-http.jsonl
: > "$OUT"
WORK=$(mktemp -d)
export PEERS_WORKDIR=$WORK/peers
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PORT=${PORT_BASE:-18480}
next_port() { PORT=$((PORT + 1)); } # a fresh port per server: no TIME_WAIT or late exit in the way

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench-http: nothing listens on $1" >&2
  return 1
}

# start PEER CPUS WORKERS PORT [env...]: starts a server, sets SERVER
start() {
  local peer=$1 cpus=$2 workers=$3 port=$4
  shift 4
  local pin=()
  [ "$cpus" != all ] && pin=(taskset -c "$cpus")
  case $peer in
    dynamo) env "$@" "${pin[@]}" "$HTTP_HELLO" "$port" "$workers" 2>/dev/null & ;;
    nginx) "${pin[@]}" "$PEERS/nginx/start.sh" "$port" "$workers" >/dev/null 2>&1 & ;;
    h2o) "${pin[@]}" "$PEERS/h2o/start.sh" "$port" "$workers" static >/dev/null 2>&1 & ;;
  esac
  SERVER=$!
  wait_port "$port"
}

stop() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  sleep 0.5
}

# emit PEER BENCH SCHED JSON: tags a run.sh/idle_conns.py line and appends it to $OUT
emit() {
  python3 -c '
import json, sys
d = json.loads(sys.argv[4])
d.update(peer=sys.argv[1], bench=sys.argv[2], schedulers=int(sys.argv[3]))
if d.get("requests") and d.get("server_cpu_s") is not None:
    d["server_cpu_us_per_req"] = round(d["server_cpu_s"] * 1e6 / d["requests"], 3)
print(json.dumps(d))' "$@" | tee -a "$OUT"
}

wrk_run() { # wrk_run PEER BENCH SCHED PORT PATH [env for run.sh...]
  local peer=$1 bench=$2 sched=$3 port=$4 path=$5
  shift 5
  local j
  j=$(env SERVER_PID="$SERVER" DURATION="$DURATION" WARMUP=2 "$@" "$PEERS/run.sh" "$port" "$path")
  emit "$peer" "$bench" "$sched" "$j"
}

for scenario in "${SCENARIOS[@]}"; do
  for _ in $(seq "$REPEAT"); do
    case $scenario in
      pinned)
        for peer in dynamo nginx h2o; do
          next_port
          port=$PORT
          start "$peer" 1 1 "$port"
          for path in / /users/42; do
            wrk_run "$peer" "pinned $path" 1 "$port" "$path" WRK_CPU=0 THREADS=1 CONNS=64
          done
          stop
        done
        ;;
      unpinned)
        for peer in dynamo dynamo-single nginx h2o; do
          next_port
          port=$PORT
          case $peer in
            dynamo) start dynamo all 2 "$port" HTTP_ACCEPT=reuseport ;;
            dynamo-single) start dynamo all 2 "$port" HTTP_ACCEPT=single ;;
            *) start "$peer" all 2 "$port" ;;
          esac
          for path in / /users/42; do
            wrk_run "$peer" "unpinned $path" 2 "$port" "$path" THREADS=2 CONNS=128
          done
          stop
        done
        ;;
      pipelined)
        for peer in dynamo nginx h2o; do
          next_port
          port=$PORT
          start "$peer" 1 1 "$port"
          wrk_run "$peer" "pipelined /" 1 "$port" / WRK_CPU=0 THREADS=1 CONNS=64 PIPE_DEPTH=16 \
                  PIPE_PATH=/ WRK_LUA="$PEERS/pipeline.lua"
          stop
        done
        ;;
      close)
        for peer in dynamo dynamo-single nginx h2o; do
          next_port
          port=$PORT
          case $peer in
            dynamo) start dynamo all 2 "$port" HTTP_ACCEPT=reuseport ;;
            dynamo-single) start dynamo all 2 "$port" HTTP_ACCEPT=single ;;
            *) start "$peer" all 2 "$port" ;;
          esac
          wrk_run "$peer" "close /" 2 "$port" / THREADS=2 CONNS=64 WRK_LUA="$PEERS/close.lua"
          stop
        done
        ;;
      idle)
        for peer in dynamo nginx h2o; do
          next_port
          port=$PORT
          start "$peer" 1 1 "$port"
          lock=()
          [ -n "${BENCH_LOCK:-}" ] && lock=(flock "$BENCH_LOCK")
          j=$("${lock[@]}" taskset -c 0 python3 "$PEERS/idle_conns.py" "$port" --server-pid "$SERVER")
          emit "$peer" "idle 10k" 1 "$j"
          stop
        done
        ;;
      *)
        echo "bench-http: unknown scenario $scenario" >&2
        exit 2
        ;;
    esac
  done
done

echo
python3 - "$OUT" <<'PY'
import json, os, platform, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cpus, {cpu}, {platform.platform()}")
# (metric, key, higher is better)
metrics = [("req/s", "rps", True), ("p50 us", "p50_us", False), ("p99 us", "p99_us", False),
           ("cpu us/req", "server_cpu_us_per_req", False), ("rss KiB", "rss_kb", False),
           ("bytes/conn", "rss_bytes_per_conn", False)]
benches = sorted({r["bench"] for r in rows})
peers = ["dynamo", "dynamo-single", "nginx", "h2o"]
def med(bench, peer, key):
    v = [r[key] for r in rows if r["bench"] == bench and r["peer"] == peer and r.get(key) is not None]
    return statistics.median(v) if v else None
print(f"{'bench':18} {'metric':11} " + " ".join(f"{p:>13}" for p in peers) + f" {'vs nginx':>9} {'vs h2o':>8}")
for b in benches:
    for name, key, hib in metrics:
        vals = {p: med(b, p, key) for p in peers}
        if vals["dynamo"] is None:
            continue
        def ratio(peer):
            o, t = vals["dynamo"], vals[peer]
            if o is None or t is None or o == 0 or t == 0:
                return "-"
            return f"{(o / t if hib else t / o):.2f}x"
        cells = " ".join(f"{vals[p]:>13.6g}" if vals[p] is not None else f"{'-':>13}" for p in peers)
        print(f"{b:18} {name:11} {cells} {ratio('nginx'):>9} {ratio('h2o'):>8}")
PY
