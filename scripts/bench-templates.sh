#!/usr/bin/env bash
# Template rendering beside Elixir's EEx, in one run on this machine: the fruits page of
# apps/fruits with ITEMS fruits (default 1000), rendered by tests/bench/template_bench (the
# compiled C template) and by tests/bench/peers/eex/fruits.exs (the same page compiled with
# EEx.function_from_string, values HTML-escaped as Phoenix does; both produce the same bytes).
#   usage: scripts/bench-templates.sh [ITEMS]
# Prints every JSON line to build/bench-templates.jsonl and the ratio (target: 10x or more).
# Environment: SECONDS_EACH (default 3), REPEAT (runs per side, alternating; median reported).
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-1000}
SECONDS_EACH=${SECONDS_EACH:-3}
REPEAT=${REPEAT:-3}
scripts/setup.sh --bench
cmake --preset release >/dev/null && cmake --build --preset release --target template_bench >/dev/null
OUT=build/bench-templates.jsonl
: > "$OUT"
for _ in $(seq "$REPEAT"); do
  build/release/tests/bench/template_bench "$ITEMS" "$SECONDS_EACH" | tee -a "$OUT"
  elixir tests/bench/peers/eex/fruits.exs "$ITEMS" "$SECONDS_EACH" | tee -a "$OUT"
done
echo
python3 - "$OUT" <<'PY'
import json, sys, statistics, platform, os
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"machine: {os.cpu_count()} cpus, {cpu}, {platform.platform()}")
def med(peer, metric):
    v = [r["value"] for r in rows if r["peer"] == peer and r["metric"] == metric]
    return statistics.median(v) if v else None
ours, eex = med("dynamo", "renders_per_s"), med("eex", "renders_per_s")
items = rows[0]["items"]
print(f"fruits page, {items} items: dynamo {ours:.0f} renders/s, EEx {eex:.0f} renders/s, "
      f"ratio {ours / eex:.1f}x (medians of {len([r for r in rows if r['metric'] == 'renders_per_s']) // 2})")
print(json.dumps({"peer": "dynamo/eex", "bench": "template_fruits", "items": items,
                  "metric": "renders_per_s_ratio", "value": round(ours / eex, 2), "unit": "x",
                  "schedulers": 1}))
PY
