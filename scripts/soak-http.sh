#!/usr/bin/env bash
# The hostile-client soak, long: tests/soak/http_soak.py against the AddressSanitizer+UBSan
# build of tests/bench/http_hello (built here if needed) for MINUTES minutes, with a fresh
# random seed (or SEED=N), going on after a failure (the server restarts) and checking a
# graceful stop (bounded, LeakSanitizer-clean) every 20 batches. Prints each failure with the
# command that plays it again, then a summary; exit status 1 if anything failed. The long named
# storms (max_connections, SIGTERM under load, ...: --long) are played first.
# With --dynamo first: the Dynamo-level soak instead (tests/soak/dynamo_soak.py against
# tests/soak/dynamo_soak_server: params, bodies, uploads, cookies, sessions, CSRF, static files).
#   usage: scripts/soak-http.sh [--dynamo] [MINUTES] [http_soak.py options...]
# e.g. SEED=42 scripts/soak-http.sh 30 --clients 100; scripts/soak-http.sh --dynamo 10
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK=tests/soak/http_soak.py SERVER=build/asan/tests/bench/http_hello NAME=soak-http
if [ "${1:-}" = --dynamo ]; then
  SOAK=tests/soak/dynamo_soak.py SERVER=build/asan/tests/soak/dynamo_soak_server NAME=soak-dynamo
  shift
fi
MINUTES=${1:-30}
shift || true
scripts/build.sh asan >/dev/null
LOG=build/$NAME.log
: > "$LOG"
echo "$NAME: $MINUTES min, server log in $LOG"
exec python3 "$SOAK" --server "$SERVER" \
  --duration $((MINUTES * 60)) --keep-going --stop-every 20 --long --log "$LOG" \
  ${SEED:+--seed "$SEED"} "$@"
