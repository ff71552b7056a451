#!/usr/bin/env bash
# One command for the benchmarks: builds (Release) and runs the forward-pass benchmark, or with
# `bounds` the bound-propagation benchmark side by side with auto_LiRPA (bounds_compare.sh).
#   benchmarks/run.sh [--min-time SECONDS] [--json OUT.json]
#   benchmarks/run.sh bounds [--threads T] [--repeats N] [--models "mlp_relu cnn_small"] ...
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "bounds" ]; then
  shift
  exec benchmarks/bounds_compare.sh "$@"
fi
BUILD_DIR=${BUILD_DIR:-build}
./setup.sh build >/dev/null
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads"
"$BUILD_DIR/bin/forward_bench" "$@"
