#!/usr/bin/env bash
# VNN-COMP harness entry point: prepare_instance.sh v1 BENCHMARK ONNX VNNLIB
# Stops leftover verify-model processes and checks that the model loads. Exit 0 = ready.
set -uo pipefail
if [ "${1:-}" != "v1" ] || [ $# -lt 4 ]; then
  echo "usage: prepare_instance.sh v1 BENCHMARK ONNX VNNLIB" >&2
  exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${NNCERT_BIN:-$root/build/bin/verify-model}"
onnx="$3"
# Leftovers of an earlier instance (only this binary's verify runs).
pkill -f "^$bin verify" 2>/dev/null || true
if [ ! -x "$bin" ]; then
  echo "prepare_instance.sh: $bin not found (run install_tool.sh v1)" >&2
  exit 1
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
case "$onnx" in
  *.gz) gunzip -c "$onnx" > "$tmp/model.onnx" && onnx="$tmp/model.onnx" ;;
esac
"$bin" info "$onnx" > /dev/null || echo "prepare_instance.sh: warning: '$3' did not load" >&2
exit 0
