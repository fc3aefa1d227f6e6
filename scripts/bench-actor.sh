#!/usr/bin/env bash
# Runtime benchmarks side by side with Erlang/OTP, in one run on this machine.
#   usage: scripts/bench-actor.sh [MODE...]      (default: every mode)
# Runs tests/bench/actor_bench and tests/bench/peers/actor/run.sh for each mode, with one
# scheduler and with one per core, alternating ours and Erlang's; prints every JSON line to
# bench-actor.jsonl (under build/) and a table of ratios (>1 means we are better).
# Environment: PEERS_DIR (default tests/bench/peers), REPEAT (runs per
# pair, default 1; the median is reported).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS_DIR=${PEERS_DIR:-$ROOT/tests/bench/peers}
[ -x "$PEERS_DIR/actor/run.sh" ] || { echo "bench-actor: no Erlang peer at $PEERS_DIR/actor (set PEERS_DIR)" >&2; exit 1; }
REPEAT=${REPEAT:-1}
scripts/setup.sh --bench
cmake --preset release >/dev/null && cmake --build --preset release --target actor_bench >/dev/null
BENCH=build/release/tests/bench/actor_bench
OUT=build/bench-actor.jsonl
: > "$OUT"
MODES=("$@")
[ ${#MODES[@]} -eq 0 ] && MODES=(spawn_exit spawn_idle ping_pong ring_1k ring_100k fan_in skynet sup_restart sup_restart_chunked)
CORES=$(nproc)
for mode in "${MODES[@]}"; do
  for s in 1 "$CORES"; do
    for _ in $(seq "$REPEAT"); do
      timeout 600 "$BENCH" "$mode" "$s" | tee -a "$OUT"
      timeout 600 "$PEERS_DIR/actor/run.sh" "$mode" "$s" | tee -a "$OUT"
    done
  done
done
# Our idle fiber cost has no Erlang counterpart; report it beside the rest.
timeout 600 "$BENCH" spawn_idle_fiber "$CORES" | tee -a "$OUT"
echo
python3 - "$OUT" <<'PY'
import json, sys, statistics, platform, os
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
higher_better = {"rate"}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cpus, {cpu}, {platform.platform()}")
print(f"{'bench':22} {'metric':16} {'sched':>5} {'dynamo':>14} {'erlang':>14} {'ratio':>7}")
keys = sorted({(r["bench"], r["metric"], r["schedulers"]) for r in rows})
for b, m, s in keys:
    ours = [r["value"] for r in rows if (r["bench"], r["metric"], r["schedulers"], r["peer"]) == (b, m, s, "dynamo")]
    theirs = [r["value"] for r in rows if (r["bench"], r["metric"], r["schedulers"], r["peer"]) == (b, m, s, "erlang")]
    if not ours:
        continue
    o = statistics.median(ours)
    if theirs:
        t = statistics.median(theirs)
        ratio = (o / t) if m in higher_better else (t / o if o else float("inf"))
        print(f"{b:22} {m:16} {s:>5} {o:>14.4g} {t:>14.4g} {ratio:>6.2f}x")
    else:
        print(f"{b:22} {m:16} {s:>5} {o:>14.4g} {'-':>14} {'-':>7}")
PY
