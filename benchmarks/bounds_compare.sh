#!/usr/bin/env bash
# Bound propagation side by side with auto_LiRPA: builds crown_bench if needed, writes the 32
# input boxes per model (benchmarks/make_boxes.py), runs nncert (crown_bench) and auto_LiRPA
# (alirpa_bench.py) on them and prints the table (bounds_compare.py).
#
#   benchmarks/bounds_compare.sh [--threads T] [--repeats N] [--min-repeats R] [--max-time S]
#                                [--methods ibp,crown,crown_dense,alpha_crown]
#                                [--models "mlp_relu cnn_small"]
#
# Each timing is the median of up to N repeats (11) after one warm-up run; a row stops early, after
# at least R (3) repeats, once it has spent S (20) seconds.
#
# Environment: BUILD_DIR (default build), ALIRPA_DIR (auto_LiRPA checkout, default /tmp/alirpa),
# PYTHON (default /usr/bin/python3: the Debian python with python3-torch and python3-onnx),
# OUT_DIR (default $BUILD_DIR/bench_bounds), CROWN_BENCH_ARGS (extra crown_bench arguments, e.g.
# --no-mallopt). The auto_LiRPA side is skipped, saying why, when the
# checkout, torch or onnx is missing; the nncert columns are printed anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ALIRPA_DIR=${ALIRPA_DIR:-/tmp/alirpa}
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench_bounds}
threads=1
repeats=11
max_time=20
min_repeats=3
methods=ibp,crown,crown_dense,alpha_crown
models="mlp_relu cnn_small"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --max-time) max_time=$2; shift 2 ;;
    --min-repeats) min_repeats=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    *) echo "usage: $0 [--threads T] [--repeats N] [--min-repeats R] [--max-time S] [--methods LIST] [--models LIST]" >&2; exit 2 ;;
  esac
done

if [ -f "$BUILD_DIR/build.ninja" ]; then
  cmake --build "$BUILD_DIR" --target crown_bench >/dev/null
else
  ./setup.sh build >/dev/null
fi
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.jsonl "$OUT_DIR"/*.bounds.json

alirpa_skip=""
if [ ! -d "$ALIRPA_DIR/auto_LiRPA" ]; then
  alirpa_skip="no auto_LiRPA checkout at ALIRPA_DIR=$ALIRPA_DIR"
elif ! "$PYTHON" -c "import torch" 2>/dev/null; then
  alirpa_skip="$PYTHON cannot import torch (Debian package python3-torch)"
elif ! "$PYTHON" -c "import onnx" 2>/dev/null; then
  alirpa_skip="$PYTHON cannot import onnx (Debian package python3-onnx)"
fi

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) threads;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); threads per tool: $threads"
for m in $models; do
  fixture=tests/data/fixtures/$m
  boxes=$OUT_DIR/boxes_$m.json
  "$PYTHON" benchmarks/make_boxes.py "$fixture" "$boxes"
  echo "== nncert $m" >&2
  # shellcheck disable=SC2086  # CROWN_BENCH_ARGS: several words
  "$BUILD_DIR/bin/crown_bench" --model "$fixture/model.onnx" --boxes "$boxes" --name "$m" \
    --threads "$threads" --repeats "$repeats" --min-repeats "$min_repeats" --max-time "$max_time" --methods "$methods" \
    --dump "$OUT_DIR/nncert_$m.bounds.json" ${CROWN_BENCH_ARGS:-} >"$OUT_DIR/nncert_$m.jsonl"
  if [ -z "$alirpa_skip" ]; then
    echo "== auto_LiRPA $m" >&2
    OMP_NUM_THREADS=$threads PYTHONPATH="$ALIRPA_DIR${PYTHONPATH:+:$PYTHONPATH}" \
      "$PYTHON" benchmarks/alirpa_bench.py --fixture "$fixture" --boxes "$boxes" --name "$m" \
      --threads "$threads" --repeats "$repeats" --min-repeats "$min_repeats" --max-time "$max_time" --methods "$methods" \
      --dump "$OUT_DIR/alirpa_$m.bounds.json" >"$OUT_DIR/alirpa_$m.jsonl" 2>"$OUT_DIR/alirpa_$m.log" ||
      echo "auto_LiRPA run failed for $m (see $OUT_DIR/alirpa_$m.log, $OUT_DIR/alirpa_$m.jsonl)" >&2
  fi
done
if [ -n "$alirpa_skip" ]; then
  echo "auto_LiRPA side skipped: $alirpa_skip"
fi
"$PYTHON" benchmarks/bounds_compare.py "$OUT_DIR"
