#!/usr/bin/env bash
# VNN-COMP harness entry point: install_tool.sh v1
# Installs nncert's Debian dependencies and builds verify-model (build/bin/verify-model).
set -euo pipefail
if [ "${1:-}" != "v1" ]; then
  echo "install_tool.sh: expected version string v1, got '${1:-}'" >&2
  exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
NNCERT_CMAKE_ARGS="${NNCERT_CMAKE_ARGS:-} -DNNCERT_BUILD_TESTS=OFF -DNNCERT_BUILD_BENCHMARKS=OFF" \
  ./setup.sh build
"$root/build/bin/verify-model" --version
