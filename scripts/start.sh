#!/usr/bin/env bash
# Installs what is missing, builds the release build and starts the example application,
# apps/hello (the Dynamo README's walk-through), on http://127.0.0.1:4000 until Ctrl-C.
#   usage: scripts/start.sh [ARGS...]     (ARGS go to hello: --port N, --env dev|test|prod)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release
exec build/release/apps/hello/hello "$@"
