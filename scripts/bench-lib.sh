# Shared pieces of the HTTP benchmark scripts (bench-http.sh, bench-dynamo.sh): starting and
# stopping servers on fresh ports, one wrk measurement through the peers' run.sh, the JSON lines,
# and the table of ratios. Source it after setting ROOT, PEERS (tests/bench/peers/http), OUT
# (the .jsonl file) and DURATION.
#   bench_start PEER CPUS PORT CMD...   start CMD (pinned with taskset unless CPUS is "all"),
#                                       wait for PORT, set SERVER
#   bench_stop                          stop it
#   bench_wrk PEER BENCH SCHED PORT PATH [env for run.sh...]   measure, append to OUT
#   bench_emit PEER BENCH SCHED JSON    tag a JSON line and append it to OUT
#   bench_table MAIN PEER...            medians per bench and metric, MAIN's ratio to each PEER

SERVER=
PORT=${PORT_BASE:-18480}

bench_next_port() { PORT=$((PORT + 1)); } # a fresh port per server: no TIME_WAIT in the way

bench_wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on $1" >&2
  return 1
}

bench_start() {
  local cpus=$2 port=$3
  shift 3
  local pin=()
  [ "$cpus" != all ] && pin=(taskset -c "$cpus")
  "${pin[@]}" "$@" >/dev/null 2>&1 &
  SERVER=$!
  bench_wait_port "$port"
}

bench_stop() {
  [ -n "$SERVER" ] || return 0
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  SERVER=
  sleep 0.5
}

bench_emit() {
  python3 -c '
import json, sys
d = json.loads(sys.argv[4])
d.update(peer=sys.argv[1], bench=sys.argv[2], schedulers=int(sys.argv[3]))
if d.get("requests") and d.get("server_cpu_s") is not None:
    d["server_cpu_us_per_req"] = round(d["server_cpu_s"] * 1e6 / d["requests"], 3)
print(json.dumps(d))' "$@" | tee -a "$OUT"
}

bench_wrk() {
  local peer=$1 bench=$2 sched=$3 port=$4 path=$5
  shift 5
  local j
  j=$(env SERVER_PID="$SERVER" DURATION="$DURATION" WARMUP=2 "$@" "$PEERS/run.sh" "$port" "$path")
  bench_emit "$peer" "$bench" "$sched" "$j"
}

bench_table() {
  python3 - "$OUT" "$@" <<'PY'
import json, os, platform, statistics, sys
out, main, refs = sys.argv[1], sys.argv[2], sys.argv[3:]
rows = [json.loads(l) for l in open(out) if l.startswith("{")]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cpus, {cpu}, {platform.platform()}")
# (metric, key, higher is better)
metrics = [("req/s", "rps", True), ("p50 us", "p50_us", False), ("p99 us", "p99_us", False),
           ("cpu us/req", "server_cpu_us_per_req", False), ("rss KiB", "rss_kb", False),
           ("bytes/conn", "rss_bytes_per_conn", False)]
benches = sorted({r["bench"] for r in rows})
peers = [main] + [p for p in refs if p != main]
def med(bench, peer, key):
    v = [r[key] for r in rows if r["bench"] == bench and r["peer"] == peer and r.get(key) is not None]
    return statistics.median(v) if v else None
print(f"{'bench':18} {'metric':11} " + " ".join(f"{p:>13}" for p in peers) +
      "".join(f" {'vs ' + p:>14}" for p in refs))
for b in benches:
    for name, key, hib in metrics:
        vals = {p: med(b, p, key) for p in peers}
        if vals[main] is None:
            continue
        def ratio(peer):
            o, t = vals[main], vals[peer]
            if o is None or t is None or o == 0 or t == 0:
                return "-"
            return f"{(o / t if hib else t / o):.2f}x"
        cells = " ".join(f"{vals[p]:>13.6g}" if vals[p] is not None else f"{'-':>13}" for p in peers)
        print(f"{b:18} {name:11} {cells}" + "".join(f" {ratio(p):>14}" for p in refs))
PY
}
