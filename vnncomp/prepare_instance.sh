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
# A leftover run of an earlier instance: run_instance.sh records its pid in this file.
pidfile="${NNCERT_VNNCOMP_PIDFILE:-${TMPDIR:-/tmp}/nncert-vnncomp-$(id -u).pid}"
if [ -f "$pidfile" ]; then
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
fi
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
