#!/usr/bin/env bash
# Installs what is missing, builds the framework (the release build) and starts the example
# application, apps/hello (the Dynamo README's walk-through), with dynctl: it builds the app in
# apps/hello/_build/dev and serves it on http://127.0.0.1:4000 in the foreground until Ctrl-C,
# reloading web/ as it changes.
#   usage: scripts/start.sh [ARGS...]     (ARGS go to `dynctl start`: --port N, --env prod,
#                                          --daemon...; see build/release/dynamo/dynctl help start)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release
exec build/release/dynamo/dynctl start apps/hello "$@"
