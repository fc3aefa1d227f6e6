#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, only those missing.
#   usage: scripts/setup.sh [--bench] [--fuzz]
# --bench also installs what the benchmarks compare against (wrk, Erlang/OTP, Elixir, nginx, h2o);
# --fuzz what the fuzz targets need (clang and its libFuzzer and sanitizer runtimes).
set -euo pipefail

# libdw-dev: the exception page's backtraces; nodejs and chromium-headless-shell: the e2e test
# that loads the exception page in a browser (tests/e2e/browser).
PKGS=(build-essential cmake ninja-build pkg-config clang-format
      libuv1-dev libck-dev libmimalloc-dev libcriterion-dev node-llhttp
      libssl-dev libsodium-dev libjansson-dev zlib1g-dev libdw-dev curl python3 nodejs chromium-headless-shell)
for arg in "$@"; do
  case $arg in
    --bench) PKGS+=(wrk erlang-nox elixir nginx-light h2o python3 util-linux valgrind) ;;
    --fuzz) PKGS+=(clang libclang-rt-14-dev) ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

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
