#!/usr/bin/env bash
# The hostile-client soak, long: tests/soak/http_soak.py against the AddressSanitizer+UBSan
# build of tests/bench/http_hello (built here if needed) for MINUTES minutes, with a fresh
# random seed (or SEED=N), going on after a failure (the server restarts) and checking a
# graceful stop (bounded, LeakSanitizer-clean) every 20 batches. Prints each failure with the
# command that plays it again, then a summary; exit status 1 if anything failed.
#   usage: scripts/soak-http.sh [MINUTES] [http_soak.py options...]
# e.g. SEED=42 scripts/soak-http.sh 30 --clients 100
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
shift || true
scripts/build.sh asan >/dev/null
LOG=build/soak-http.log
: > "$LOG"
echo "soak-http: $MINUTES min, server log in $LOG"
exec python3 tests/soak/http_soak.py --server build/asan/tests/bench/http_hello \
  --duration $((MINUTES * 60)) --keep-going --stop-every 20 --log "$LOG" \
  ${SEED:+--seed "$SEED"} "$@"
