#!/usr/bin/env bash
# verify-model train: a run from a JSON config on a toy CSV set, the outputs, --resume continuing
# to the same weights as an uninterrupted run, and the exit codes of bad configs (docs/cli.md).
# Usage: test_train_cli.sh /path/to/verify-model
set -u
bin=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-train-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() {  # check DESCRIPTION COMMAND...
  local desc=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $desc"; fi
}
code() {  # code WANT DESCRIPTION COMMAND...
  local want=$1 desc=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1))
    echo "FAIL: $desc: exit $got, expected $want"
    head -5 "$tmp/out" "$tmp/err"
  fi
}

# 120 points: label 1 when x0 + x1 > 0 (a margin of 0.2 around the line).
for i in $(seq 0 119); do
  a=$(( (i * 37) % 41 - 20 )); b=$(( (i * 53) % 43 - 21 ))
  s=$((a + b))
  if [ $s -gt 1 ]; then echo "1,$a,$b"; elif [ $s -lt -1 ]; then echo "0,$a,$b"; fi
done >"$tmp/toy.csv"
cat >"$tmp/run.json" <<JSON
{"model": {"input": [2], "layers": [{"type": "linear", "out": 8}, {"type": "relu"},
                                    {"type": "linear", "out": 2}]},
 "data": {"path": "toy.csv", "scale": 0.05},
 "optimizer": {"type": "adam", "lr": 0.02}, "schedule": {"type": "cosine"},
 "loss": {"type": "natural"}, "epochs": 3, "batch": 16, "seed": 2, "threads": 1, "log_every": 2,
 "out": "full"}
JSON

code 0 "train runs" "$bin" train "$tmp/run.json" --quiet
check "model.onnx written" test -s "$tmp/full/model.onnx"
check "train.jsonl has epoch records" grep -q '"event":"epoch"' "$tmp/full/train.jsonl"
check "checkpoint written" grep -q '"format":"nncert-checkpoint"' "$tmp/full/checkpoint"
code 0 "the trained model loads" "$bin" info "$tmp/full/model.onnx"

code 0 "train stops at --max-steps" "$bin" train "$tmp/run.json" --quiet --out "$tmp/part" \
  --max-steps 5
check "stopped run says so" grep -q "stopped: max_steps" "$tmp/out"
code 0 "train --resume" "$bin" train "$tmp/run.json" --quiet --out "$tmp/part" --resume
check "resumed at step 5" grep -q "at step 5$" "$tmp/out"
check "resumed weights equal the uninterrupted run's" cmp -s "$tmp/full/model.onnx" "$tmp/part/model.onnx"

echo '{"model": {"input": [2], "layers": []}, "data": {"path": "toy.csv"}, "epoch": 3}' \
  >"$tmp/bad.json"
code 2 "unknown key" "$bin" train "$tmp/bad.json"
check "unknown key named" grep -q "'epoch'" "$tmp/err"
sed 's/"natural"/"ibp"/' "$tmp/run.json" >"$tmp/ibp.json"
code 5 "bound loss not available yet" "$bin" train "$tmp/ibp.json" --quiet
code 3 "missing config" "$bin" train "$tmp/none.yaml"

echo "train cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
