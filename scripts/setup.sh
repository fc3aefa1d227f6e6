#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only those missing.
#   usage: scripts/setup.sh [--bench]
# --bench also installs what the benchmarks compare against (wrk, Erlang/OTP, nginx, h2o).
set -euo pipefail

PKGS=(build-essential cmake ninja-build pkg-config clang-format
      libuv1-dev libmimalloc-dev libcriterion-dev node-llhttp
      libssl-dev libjansson-dev zlib1g-dev curl python3)
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(wrk erlang-nox nginx-light h2o python3 util-linux)
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
