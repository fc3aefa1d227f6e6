#!/usr/bin/env bash
# Configures and builds one preset (release, debug, asan, tsan) after installing what is missing.
#   usage: scripts/build.sh [PRESET]
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-release}
scripts/setup.sh
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET" -j "$(nproc)"
