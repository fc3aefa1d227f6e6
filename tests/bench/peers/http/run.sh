#!/usr/bin/env bash
# One wrk measurement against a running server; prints one JSON line on stdout.
#   usage: run.sh PORT [PATH]
# Environment (all optional):
#   THREADS=1 CONNS=64 DURATION=10   wrk -t/-c/-d (keep-alive, as wrk always is)
#   WRK_CPU=0        run wrk under `taskset -c WRK_CPU` (unset: unpinned)
#   WARMUP=0         seconds of an unrecorded wrk run (same settings) before the measured one
#   SERVER_PID=...   server's top PID: adds rss_kb (sum of VmRSS over it and all its
#                    descendants, read after the run) and server_cpu_s (their CPU time during the run)
#   BENCH_LOCK=FILE  hold `flock FILE` around the wrk run(s), so timed runs never overlap
#                    with other benchmarks that use the same lock file
#   LABEL=...        free text copied into the JSON
#   WRK_LOG=FILE     append wrk's own text output there
#   WRK_LUA=FILE     a wrk script (pipeline.lua, close.lua: request shaping) run in front of
#                    report.lua, which prints the JSON totals
# The JSON also carries wrk_cpu_s (wrk's CPU time), system_busy_cpu_s (whole machine, all
# cores, steal excluded) and steal_cpu_s: busy - server - wrk well above 0 means something
# else ran during the measurement.
set -euo pipefail
PORT=${1:?usage: run.sh PORT [PATH]}
URLPATH=${2:-/}
THREADS=${THREADS:-1}
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
URL="http://127.0.0.1:$PORT$URLPATH"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tree_pids() {  # PID and all its descendants
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { kids[$2] = kids[$2] " " $1 }
    END { q[0] = root; n = 1; for (i = 0; i < n; i++) { print q[i]; m = split(kids[q[i]], a, " ");
          for (j = 1; j <= m; j++) q[n++] = a[j] } }'
}
rss_kb() {
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    t=$(( t + ${v:-0} ))
  done
  echo "$t"
}
cpu_ticks() {  # utime+stime of the tree, in clock ticks
  local t=0 p v
  for p in $(tree_pids "$1"); do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
    t=$(( t + ${v:-0} ))
  done
  echo "$t"
}
busy_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8 }' /proc/stat; }   # user+nice+system+irq+softirq
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }

PIN=()
[ -n "${WRK_CPU:-}" ] && PIN=(taskset -c "$WRK_CPU")
LOCK=()
[ -n "${BENCH_LOCK:-}" ] && LOCK=(flock "$BENCH_LOCK")
OUT=$(mktemp)
trap 'rm -f "$OUT" "$OUT.lua"' EXIT
cat ${WRK_LUA:+"$WRK_LUA"} "$HERE/report.lua" > "$OUT.lua"

# Everything timed runs inside one locked shell: warm-up, counters, wrk, counters.
export URL THREADS CONNS DURATION WARMUP HERE OUT SERVER_PID
export -f tree_pids cpu_ticks busy_ticks steal_ticks
"${LOCK[@]}" bash -c '
  set -e
  PIN=("$@")
  if [ "$WARMUP" -gt 0 ]; then
    "${PIN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$URL" >/dev/null
  fi
  read -r l1 _ < /proc/loadavg
  b0=$(busy_ticks); s0=$(steal_ticks); c0=0; [ -n "${SERVER_PID:-}" ] && c0=$(cpu_ticks "$SERVER_PID")
  TIMEFORMAT="%U %S"
  { time "${PIN[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$OUT.lua" "$URL" > "$OUT.wrk"; } 2> "$OUT.time"
  b1=$(busy_ticks); s1=$(steal_ticks); c1=0; [ -n "${SERVER_PID:-}" ] && c1=$(cpu_ticks "$SERVER_PID")
  read -r wu ws < "$OUT.time"
  echo "$l1 $((b1 - b0)) $((c1 - c0)) $wu $ws $((s1 - s0))" > "$OUT"
' _ "${PIN[@]}"
read -r LOAD1 BUSY SCPU WU WS STEAL < "$OUT"
[ -n "${WRK_LOG:-}" ] && cat "$OUT.wrk" >> "$WRK_LOG"
J=$(grep '^{"requests"' "$OUT.wrk")
rm -f "$OUT.wrk" "$OUT.time"
HZ=$(getconf CLK_TCK)
RSS=null; SCPU_S=null
if [ -n "${SERVER_PID:-}" ]; then
  RSS=$(rss_kb "$SERVER_PID")
  SCPU_S=$(awk -v t="$SCPU" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }')
fi
echo "$J" | awk -v label="${LABEL:-}" -v url="$URL" -v th="$THREADS" -v c="$CONNS" -v d="$DURATION" \
  -v wcpu="${WRK_CPU:-}" -v rss="$RSS" -v scpu="$SCPU_S" -v busy="$BUSY" -v hz="$HZ" -v load="$LOAD1" -v wu="$WU" -v ws="$WS" '
  {
    s = $0
    req = s; sub(/.*"requests":/, "", req); sub(/,.*/, "", req)
    dur = s; sub(/.*"duration_us":/, "", dur); sub(/,.*/, "", dur)
    rps = (dur > 0) ? req / (dur / 1e6) : 0
    sub(/^\{/, "", s); sub(/\}$/, "", s)
    printf "{\"label\":\"%s\",\"url\":\"%s\",\"wrk\":\"-t%s -c%s -d%ss\",\"wrk_cpu\":\"%s\",\"rps\":%.0f,%s,\"rss_kb\":%s,\"server_cpu_s\":%s,\"wrk_cpu_s\":%.2f,\"system_busy_cpu_s\":%.2f,\"steal_cpu_s\":%.2f,\"loadavg1_before\":%s}\n",
      label, url, th, c, d, wcpu, rps, s, rss, scpu, wu + ws, busy / hz, steal / hz, load
  }'
