#!/usr/bin/env bash
# Installs what is missing, builds the release build and starts the example application.
#   usage: scripts/start.sh [ARGS...]     (ARGS go to the example)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release
exec build/release/apps/ring/ring "$@"
