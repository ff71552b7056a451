#!/usr/bin/env bash
# verify-model export: every bundled model (.onnx and .nnet) is exported, passes the ONNX
# checker with full_check (shape and type inference, strict) and loads back in nncert.
# Exits 77 (ctest: skipped) when Debian's python3-onnx is not installed.
#   test_onnx_export.sh VERIFY_MODEL SOURCE_DIR
set -u
bin=$1
src=$2
py=${NNCERT_PYTHON:-/usr/bin/python3}  # Debian's Python, where python3-onnx installs
if ! "$py" -c "import onnx" 2>/dev/null; then
  echo "SKIP: $py cannot import onnx (apt-get install python3-onnx)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
models=("$src"/tests/data/fixtures/*/model.onnx "$src"/tests/data/models/torch_*.onnx
  "$src"/tests/data/models/dynamic_batch.onnx "$src"/verifier/examples/mnist_a_adv.onnx
  "$src"/tests/data/nnet/*.nnet)
for m in "${models[@]}"; do
  out="$tmp/$(basename "$(dirname "$m")")_$(basename "$m" | sed 's/\.[a-z]*$//').onnx"
  if ! "$bin" export "$m" "$out" >/dev/null; then
    echo "FAIL: export $m"; fail=1; continue
  fi
  if ! "$py" -c "import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)" \
    "$out"; then
    echo "FAIL: onnx.checker rejects the export of $m"; fail=1; continue
  fi
  if ! "$bin" info "$out" >/dev/null; then
    echo "FAIL: nncert cannot load the export of $m"; fail=1; continue
  fi
  echo "ok: $m"
done
# An unwritable destination is an I/O error (exit 3), not a crash.
"$bin" export "$src/tests/data/nnet/fc_2-2-3.nnet" /nonexistent-nncert-dir/x.onnx 2>"$tmp/err"
rc=$?
if [ "$rc" -ne 3 ] || ! grep -q "nonexistent-nncert-dir" "$tmp/err"; then
  echo "FAIL: unwritable output gave exit $rc: $(cat "$tmp/err")"; fail=1
fi
exit $fail
