#!/usr/bin/env bash
# VNN-COMP harness entry point:
#   run_instance.sh v1 BENCHMARK ONNX VNNLIB RESULT_FILE TIMEOUT
# Verifies one instance and writes RESULT_FILE: sat (+ counterexample), unsat, unknown, timeout
# or error. Uses $NNCERT_BIN when set, else build/bin/verify-model under the repository root.
# Always leaves a result file: "error" alone when anything broke.
set -uo pipefail
result="${5:-}"
fail() {
  echo "run_instance.sh: $*" >&2
  if [ -n "$result" ]; then echo error > "$result"; fi
  exit 0
}
if [ "${1:-}" != "v1" ] || [ $# -lt 6 ]; then
  fail "usage: run_instance.sh v1 BENCHMARK ONNX VNNLIB RESULT_FILE TIMEOUT"
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${NNCERT_BIN:-$root/build/bin/verify-model}"
onnx="$3"
vnnlib="$4"
timeout_s="$6"
[ -x "$bin" ] || fail "verify-model not found at $bin (run install_tool.sh v1 or set NNCERT_BIN)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
case "$onnx" in
  *.gz) gunzip -c "$onnx" > "$tmp/model.onnx" || fail "cannot unpack $onnx"; onnx="$tmp/model.onnx" ;;
esac
case "$vnnlib" in
  *.gz) gunzip -c "$vnnlib" > "$tmp/prop.vnnlib" || fail "cannot unpack $vnnlib"; vnnlib="$tmp/prop.vnnlib" ;;
esac
# The tool's own limit is slightly under the harness's; `timeout` is the last resort.
inner=$(awk -v t="$timeout_s" 'BEGIN { v = t - 1; if (v < 1) v = t; print v }')
rm -f "$result"
# prepare_instance.sh stops a leftover run through this pid file.
pidfile="${NNCERT_VNNCOMP_PIDFILE:-${TMPDIR:-/tmp}/nncert-vnncomp-$(id -u).pid}"
timeout --signal=TERM --kill-after=5 "$(awk -v t="$timeout_s" 'BEGIN { print t + 5 }')" \
  "$bin" verify "$onnx" "$vnnlib" --timeout "$inner" --global-timeout "$inner" \
  --vnncomp-result "$result" --quiet &
child=$!
echo "$child" > "$pidfile" 2>/dev/null || true
wait "$child"
rc=$?
rm -f "$pidfile"
if [ ! -s "$result" ]; then
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo timeout > "$result"; else echo error > "$result"; fi
fi
exit 0
