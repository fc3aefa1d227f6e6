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

. scripts/bench-lib.sh
next_port() { bench_next_port; }

# start PEER CPUS WORKERS PORT [env...]: starts a server, sets SERVER
start() {
  local peer=$1 cpus=$2 workers=$3 port=$4
  shift 4
  case $peer in
    dynamo) bench_start "$peer" "$cpus" "$port" env "$@" "$HTTP_HELLO" "$port" "$workers" ;;
    nginx) bench_start "$peer" "$cpus" "$port" "$PEERS/nginx/start.sh" "$port" "$workers" ;;
    h2o) bench_start "$peer" "$cpus" "$port" "$PEERS/h2o/start.sh" "$port" "$workers" static ;;
  esac
}

stop() { bench_stop; }
emit() { bench_emit "$@"; }
wrk_run() { bench_wrk "$@"; }

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
bench_table dynamo dynamo-single nginx h2o
