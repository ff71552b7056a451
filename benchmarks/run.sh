#!/usr/bin/env bash
# One command for the benchmarks: builds (Release) and runs the forward-pass benchmark.
#   benchmarks/run.sh [--min-time SECONDS] [--json OUT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
./setup.sh build >/dev/null
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads"
"$BUILD_DIR/bin/forward_bench" "$@"
