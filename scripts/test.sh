#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (warnings are errors), checks the
# formatting and runs every Criterion suite through ctest.
#   usage: scripts/test.sh [PRESET] [ctest args...]
# PRESET: release (default), debug, asan (AddressSanitizer+UBSan) or tsan (ThreadSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-release}
shift || true
scripts/build.sh "$PRESET"
if [ "$PRESET" = release ]; then
  scripts/format.sh --check
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}
ctest --preset "$PRESET" -j "$(nproc)" "$@"
