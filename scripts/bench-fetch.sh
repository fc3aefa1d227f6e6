#!/usr/bin/env bash
# What fetching request data costs: each request measured against a route that fetches it and
# against a route that does not (the raw request cost), in one run on this machine
# (tests/bench/fetch_bench).
#   usage: scripts/bench-fetch.sh [SCENARIO...]   (default: wrk parse callgrind)
# Scenarios:
#   wrk        fetch_bench on CPU 1 (one scheduler), wrk -t1 on CPU 0: a 10-field form post
#              (-c64), a 1 MiB multipart upload (-c8), a GET with 7 cookies (-c64); each to the
#              fetching route and to its raw twin (body read and dropped, nothing parsed)
#   parse      the parsers alone, in process on CPU 1 (ns per operation), and JSON encoding of
#              an API response beside jansson
#   callgrind  the same loops' instructions per operation (valgrind --tool=callgrind), and
#              the whole server's instructions per request for each route (a server under
#              callgrind answering N1 then N2 requests of fetch_bench --client: the difference
#              over N2-N1), which hold still on a shared, noisy machine where wrk's do not
# Prints every JSON line to build/bench-fetch.jsonl and a table: req/s and CPU per request of
# each fetching route with its ratio to the raw one (> 1: fetching costs nothing; the CPU row's
# "vs raw" is raw/fetch), then the parse costs next to the raw request's CPU.
# Environment: REPEAT (runs per figure, median reported; default 3), DURATION (s, default 10),
# PEERS_DIR (default tests/bench/peers), BENCH_LOCK (a lock file shared with other benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS_DIR=${PEERS_DIR:-$ROOT/tests/bench/peers}
PEERS=$PEERS_DIR/http
[ -x "$PEERS/run.sh" ] || { echo "bench-fetch: no peers at $PEERS (set PEERS_DIR)" >&2; exit 1; }
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10}
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(wrk parse callgrind)

scripts/setup.sh --bench
scripts/build.sh release >/dev/null
BIN=$ROOT/build/release/tests/bench
LUA=$ROOT/tests/bench/fetch
mkdir -p build
OUT=$ROOT/build/bench-fetch.jsonl
: > "$OUT"
WORK=$(mktemp -d)
export PEERS_WORKDIR=$WORK/peers TMPDIR=$WORK
. scripts/bench-lib.sh
cleanup() {
  bench_stop
  rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
lock=()
[ -n "${BENCH_LOCK:-}" ] && lock=(flock "$BENCH_LOCK")

# bench name, path, wrk script, connections
PAIRS=("form10 /form form.lua 64" "upload_1MiB /upload upload.lua 8" "cookies7 /cookies cookies.lua 64")
PARSE_N=${PARSE_N:-100000}
CALLGRIND_N=${CALLGRIND_N:-2000}

# server_ir KIND N: the instructions of a fetch_bench server (one scheduler, under callgrind)
# from its start to its stop, having answered N requests of KIND from fetch_bench --client.
server_ir() {
  bench_next_port
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.server" "$BIN/fetch_bench" "$PORT" 1 \
    >/dev/null 2>"$WORK/cg.err" &
  SERVER=$!
  bench_wait_port "$PORT" || { cat "$WORK/cg.err" >&2; exit 1; }
  "$BIN/fetch_bench" --client "$PORT" "$1" "$2" >&2
  bench_stop
  awk '/Collected :/ { print $4 }' "$WORK/cg.err"
}

for scenario in "${SCENARIOS[@]}"; do
  for _ in $(seq "$REPEAT"); do
    case $scenario in
      wrk)
        bench_next_port
        bench_start fetch 1 "$PORT" "$BIN/fetch_bench" "$PORT" 1
        for pair in "${PAIRS[@]}"; do
          read -r name path script conns <<<"$pair"
          bench_wrk fetch "$name" 1 "$PORT" "$path" WRK_CPU=0 THREADS=1 CONNS="$conns" \
            WRK_LUA="$LUA/$script"
          bench_wrk raw "$name" 1 "$PORT" "$path/raw" WRK_CPU=0 THREADS=1 CONNS="$conns" \
            WRK_LUA="$LUA/$script"
        done
        bench_stop
        ;;
      parse)
        "${lock[@]}" taskset -c 1 "$BIN/fetch_bench" --parse "$PARSE_N" | tee -a "$OUT"
        ;;
      callgrind)
        command -v valgrind >/dev/null || { echo "bench-fetch: no valgrind" >&2; break; }
        for fn in form:parse_form10 multipart:parse_multipart_1MiB cookies:parse_cookies7 \
          json_dynamo:json_encode_20_users/dynamo json_jansson:json_encode_20_users/jansson \
          json_jansson_dump:json_encode_20_users/jansson-dump-only; do
          f=${fn%%:*} rest=${fn#*:}
          bench=${rest%%/*} peer=dynamo
          [ "$rest" != "$bench" ] && peer=${rest#*/}
          # The loops run N (form, cookies), N/100 (multipart) and N/10 (JSON) times, twice
          # (a warm-up, then the timed run): both are counted.
          case $f in
            multipart) ops=$((CALLGRIND_N / 100 * 2)) ;;
            json_*) ops=$((CALLGRIND_N / 10 * 2)) ;;
            *) ops=$((CALLGRIND_N * 2)) ;;
          esac
          ir=$(valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
            --toggle-collect="bench_$f" "$BIN/fetch_bench" --parse "$CALLGRIND_N" 2>&1 >/dev/null |
            awk '/Collected :/ { print $4 }')
          python3 -c 'import json,sys; print(json.dumps({"peer": sys.argv[1], "bench": sys.argv[2],
            "metric": "instructions_per_op", "value": round(int(sys.argv[3]) / int(sys.argv[4])),
            "unit": "instructions", "schedulers": 1, "tool": "callgrind"}))' \
            "$peer" "$bench" "$ir" "$ops" | tee -a "$OUT"
        done
        for pair in "${PAIRS[@]}"; do
          read -r name path _ _ <<<"$pair"
          n1=100 n2=1100
          [ "$name" = upload_1MiB ] && n1=10 n2=60
          for route in "$path" "$path/raw"; do
            peer=fetch
            [ "$route" != "$path" ] && peer=raw
            ir1=$(server_ir "${route#/}" "$n1")
            ir2=$(server_ir "${route#/}" "$n2")
            python3 -c 'import json,sys; print(json.dumps({"peer": sys.argv[1], "bench": sys.argv[2],
              "metric": "instructions_per_request", "value": round((int(sys.argv[4]) - int(sys.argv[3]))
              / int(sys.argv[5])), "unit": "instructions", "schedulers": 1, "tool": "callgrind"}))' \
              "$peer" "$name" "$ir1" "$ir2" "$((n2 - n1))" | tee -a "$OUT"
          done
        done
        ;;
      *)
        echo "bench-fetch: unknown scenario $scenario" >&2
        exit 2
        ;;
    esac
  done
done

echo
if grep -q '"rps"' "$OUT"; then
  bench_table fetch raw
  echo
fi
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(bench, peer, key, metric=None):
    v = [r[key] for r in rows if r.get("bench") == bench and r.get("peer") == peer
         and r.get(key) is not None and (metric is None or r.get("metric") == metric)]
    return statistics.median(v) if v else None
raw_cpu = {b: med(b, "raw", "server_cpu_us_per_req") for b in ("form10", "upload_1MiB", "cookies7")}
print(f"{'parse alone':28} {'ns/op':>12} {'kernel ns/op':>13} {'instr/op':>12} "
      f"{'raw request cpu ns':>19} {'parse/raw':>10}")
for bench, wrkb in (("parse_form10", "form10"), ("parse_multipart_1MiB", "upload_1MiB"),
                    ("parse_cookies7", "cookies7")):
    ns = med(bench, "dynamo", "value", "ns_per_op")
    sys_ns = med(bench, "dynamo", "system_ns_per_op", "ns_per_op")
    ir = med(bench, "dynamo", "value", "instructions_per_op")
    raw = raw_cpu.get(wrkb)
    raw_ns = raw * 1000 if raw else None
    ratio = f"{ns / raw_ns:.2f}" if ns and raw_ns else "-"
    print(f"{bench:28} {ns if ns else '-':>12} {sys_ns if sys_ns is not None else '-':>13} "
          f"{ir if ir else '-':>12} "
          f"{raw_ns if raw_ns else '-':>19} {ratio:>10}")
print()
print(f"{'whole request (callgrind)':28} {'fetch instr':>12} {'raw instr':>12} {'fetch/raw':>10}")
for b in ("form10", "upload_1MiB", "cookies7"):
    f = med(b, "fetch", "value", "instructions_per_request")
    r = med(b, "raw", "value", "instructions_per_request")
    print(f"{b:28} {f if f else '-':>12} {r if r else '-':>12} "
          f"{(f'{f / r:.2f}' if f and r else '-'):>10}")
print()
print(f"{'json_encode_20_users':28} {'ns/op':>12} {'instr/op':>12}")
for peer in ("dynamo", "jansson", "jansson-dump-only"):
    ns = med("json_encode_20_users", peer, "value", "ns_per_op")
    ir = med("json_encode_20_users", peer, "value", "instructions_per_op")
    print(f"{peer:28} {ns if ns else '-':>12} {ir if ir else '-':>12}")
PY
