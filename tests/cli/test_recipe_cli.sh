#!/usr/bin/env bash
# The certified-training recipe benchmarks/train_fashion_mnist.sh end to end, shrunk: 1 epoch of
# IBP training on 1,000 Fashion-MNIST images, verify-model verify and eval on 20 test images;
# DIR/model.onnx, DIR/config.yaml, DIR/verify.json and DIR/eval.json exist and eval.json holds
# consistent fractions (verified <= PGD <= clean) and train_seconds. Bad options exit 2. Skips
# (77) without Debian's dataset-fashion-mnist.
# Usage: test_recipe_cli.sh /path/to/verify-model /path/to/source-root
set -u
bin=$1
root=$2
data="${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
if [ ! -f "$data/t10k-images-idx3-ubyte.gz" ]; then
  echo "SKIP: no Fashion-MNIST in $data"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-recipe-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
script="$root/benchmarks/train_fashion_mnist.sh"
if ! VERIFY_MODEL="$bin" RECIPE_EPOCHS=1 RECIPE_TRAIN_RANGE='"0:1000"' \
  bash "$script" --quick --samples 20 --threads 2 --out "$tmp/run" >"$tmp/out" 2>"$tmp/err"; then
  echo "FAIL: the recipe did not finish"
  tail -20 "$tmp/out" "$tmp/err"
  exit 1
fi
for f in model.onnx config.yaml train.jsonl verify.json eval_methods.json eval.json; do
  [ -s "$tmp/run/$f" ] || { echo "FAIL: missing $f"; fail=1; }
done
python3 - "$tmp/run/eval.json" <<'PY' || fail=1
import json, sys
e = json.load(open(sys.argv[1]))
for k in ("clean_accuracy", "pgd_accuracy", "verified_accuracy"):
    assert 0 <= e[k] <= 1, (k, e[k])
assert e["verified_accuracy"] <= e["pgd_accuracy"] <= e["clean_accuracy"], e
assert e["samples"] == 20 and e["eps"] == 0.1 and e["loss"] == "ibp", e
assert e["train_seconds"] is not None and e["train_seconds"] > 0, e
assert e["clean_accuracy"] > 0.3, e  # 1 epoch on 1,000 images already beats chance (0.1)
PY
grep -q "type: ibp" "$tmp/run/config.yaml" || { echo "FAIL: --quick should train with IBP"; fail=1; }
VERIFY_MODEL="$bin" bash "$script" --out "$tmp/x" --loss foo >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: a bad --loss must exit 2"; fail=1; }
VERIFY_MODEL="$bin" bash "$script" >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: a missing --out must exit 2"; fail=1; }
[ $fail -eq 0 ] && echo "recipe smoke test passed"
exit $fail
