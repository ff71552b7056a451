#!/usr/bin/env bash
# Command-line behaviour of verify-model: help, exit codes (docs/cli.md), messages, outputs.
# Usage: test_cli.sh /path/to/verify-model /path/to/tests/data
set -u
bin=$1
data=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks its exit code.
expect() {
  local want=$1 desc=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $desc: exit $got, expected $want"
    sed 's/^/  stdout: /' "$tmp/out" | head -5
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}
# contains FILE TEXT DESCRIPTION
contains() {
  if grep -qF -- "$2" "$1"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $3: '$2' not found in $(basename "$1")"
    head -5 "$1" | sed 's/^/  /'
  fi
}

fx=$data/fixtures
m=$data/models

expect 0 "top-level help" -- "$bin" --help
contains "$tmp/out" "info" "help lists info"
contains "$tmp/out" "run" "help lists run"
expect 0 "version" -- "$bin" --version
expect 0 "info help" -- "$bin" info --help
expect 0 "run help" -- "$bin" run --help
contains "$tmp/out" "--input" "run help lists --input"
expect 2 "no subcommand" -- "$bin"
expect 2 "unknown flag" -- "$bin" info --bogus "$fx/toy/model.onnx"
expect 2 "missing model argument" -- "$bin" info
expect 2 "bad dtype" -- "$bin" run "$fx/toy/model.onnx" --input x.json --dtype float16

# info
expect 0 "info on a CNN" -- "$bin" info "$fx/cnn_bn_pool/model.onnx"
contains "$tmp/out" "[1, 3, 16, 16]" "info shows the input shape"
contains "$tmp/out" "BatchNormalization" "info shows the op histogram"
contains "$tmp/out" "parameters: 3994" "info counts parameters"
contains "$tmp/out" "unsupported: none" "info says nothing is unsupported"
expect 0 "info --json" -- "$bin" info --json "$fx/mlp_relu/model.onnx"
contains "$tmp/out" '"parameters": 269322' "json parameter count"
contains "$tmp/out" '"Gemm": 3' "json op histogram"
expect 0 "info on .nnet" -- "$bin" info "$data/nnet/ACASXU_experimental_v2a_1_1.nnet"
contains "$tmp/out" "(nnet" "nnet format shown"
expect 5 "unsupported ops" -- "$bin" info "$m/unsupported_ops.onnx"
contains "$tmp/err" "3 unsupported node(s)" "all unsupported nodes counted"
contains "$tmp/err" "'nz_1' (NonZero)" "first unsupported node named"
contains "$tmp/err" "'ms_gelu' (com.microsoft::Gelu)" "custom-domain node named"
contains "$tmp/err" "'mod_1' (Mod)" "third unsupported node named"
contains "$tmp/out" "MatMul" "summary still printed"
expect 6 "cycle" -- "$bin" info "$m/cycle.onnx"
contains "$tmp/err" "cycle" "cycle message"
expect 6 "dangling input" -- "$bin" info "$m/dangling.onnx"
contains "$tmp/err" "'ghost'" "dangling value named"
expect 6 "shape mismatch" -- "$bin" info "$m/shape_mismatch.onnx"
contains "$tmp/err" "'bad_matmul' (MatMul)" "mismatching node named"
expect 0 "NaN weights load" -- "$bin" info "$m/nan_weights.onnx"
contains "$tmp/out" "'w_nan' holds NaN or Inf" "NaN warning"
expect 3 "missing model" -- "$bin" info "$tmp/nope.onnx"
head -c 3000 /dev/urandom >"$tmp/random.onnx"
expect 4 "random bytes" -- "$bin" info "$tmp/random.onnx"
head -c 1000 "$fx/mlp_relu/model.onnx" >"$tmp/truncated.onnx"
expect 4 "truncated model" -- "$bin" info "$tmp/truncated.onnx"
: >"$tmp/empty.onnx"
expect 4 "empty model" -- "$bin" info "$tmp/empty.onnx"
printf '2,2,3\nfoo\n' >"$tmp/bad.nnet"
expect 4 "malformed nnet" -- "$bin" info "$tmp/bad.nnet"
contains "$tmp/err" "line 2" "nnet error has a line number"

# run
echo '[[0.5, -1.0]]' >"$tmp/x.json"
expect 0 "run toy" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/x.json" --output "$tmp/y.json"
contains "$tmp/y.json" '"shape"' "output file has a shape"
contains "$tmp/y.json" '"output"' "output file has values"
echo '[0.5, -1.0]' >"$tmp/flat.json"
expect 0 "run flat input to stdout" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/flat.json"
contains "$tmp/out" '"output"' "stdout output"
expect 0 "run float64" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/flat.json" --dtype float64 --threads 1
echo '[[[1,2,3,4],[1,2,3,4],[1,2,3,4]],[[0,0,0,0],[0,0,0,0],[0,0,0,1]]]' >"$tmp/batch.json"
expect 0 "dynamic batch of 2" -- "$bin" run "$m/dynamic_batch.onnx" --input "$tmp/batch.json"
contains "$tmp/out" '2.2' "batch result"
echo '[0.1, -0.2, 0.3, 0.0, 0.4]' >"$tmp/acas.json"
expect 0 "run .nnet" -- "$bin" run "$data/nnet/ACASXU_experimental_v2a_1_1.nnet" --input "$tmp/acas.json" --no-normalization
expect 3 "missing input file" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/none.json"
echo '[1, 2' >"$tmp/broken.json"
expect 4 "malformed input JSON" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/broken.json"
echo '[1, "a"]' >"$tmp/strings.json"
expect 4 "non-numeric input" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/strings.json"
echo '[1, 2, 3]' >"$tmp/wrong.json"
expect 6 "wrong input size" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/wrong.json"
contains "$tmp/err" "per-sample input size 2" "input size message"
expect 3 "unwritable output" -- "$bin" run "$fx/toy/model.onnx" --input "$tmp/x.json" --output /nonexistent/dir/y.json
expect 5 "run unsupported model" -- "$bin" run "$m/unsupported_ops.onnx" --input "$tmp/x.json"

# bounds
python_free_box='{"lower": [-1, -2], "upper": [1, 2]}'
echo "$python_free_box" >"$tmp/box.json"
expect 0 "bounds ibp" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --output "$tmp/b.json"
contains "$tmp/b.json" '"method": "ibp"' "bounds output names the method"
contains "$tmp/b.json" '"lower"' "bounds output has lower bounds"
contains "$tmp/b.json" '"time_s"' "bounds output has the time"
echo '[[1.0], [-1.0]]' >"$tmp/C.json"
expect 0 "bounds with a spec matrix" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --spec-matrix "$tmp/C.json"
expect 0 "bounds crown" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method crown
contains "$tmp/out" '"method": "crown"' "crown output names the method"
echo '{"lower": [-1, -2], "upper": [2, 1]}' >"$tmp/toybox.json"
expect 0 "bounds alpha-crown" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/toybox.json" --method alpha-crown --output "$tmp/a.json"
contains "$tmp/a.json" '"method": "alpha-crown"' "alpha-crown output names the method"
contains "$tmp/a.json" '"iterations": 20' "alpha-crown output records its settings"
# the toy network's known alpha-CROWN upper bound is 2
if python3 -c "import json,sys; b=json.load(open(sys.argv[1])); sys.exit(0 if abs(b['upper'][0]-2)<1e-6 and abs(b['lower'][0]+3)<1e-9 else 1)" "$tmp/a.json"; then
  pass=$((pass + 1))
else
  echo "FAIL: toy alpha-crown is not [-3, 2]: $(cat "$tmp/a.json")"
  fail=$((fail + 1))
fi
expect 0 "bounds crown with dense intermediate bounds and IBP intersection" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method crown --intermediate dense --intersect-ibp
expect 2 "unknown intermediate mode" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method crown --intermediate some
expect 0 "bounds crown with safe rounding" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method crown --safe-rounding
contains "$tmp/out" '"safe_rounding": true' "the output records safe rounding"
expect 5 "safe rounding is refused for forward mode" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method forward --safe-rounding
expect 0 "bounds forward" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method forward
echo '{"center": [0, 0], "eps": 1.5, "norm": "2"}' >"$tmp/l2.json"
expect 0 "crown over an L2 ball" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/l2.json" --method crown
contains "$tmp/out" '"input_set": "L2"' "the output names the input set"
expect 0 "ibp over an L2 ball (its enclosing box)" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/l2.json"
echo '{"lower": [-1, -2], "upper": [1, 2], "constraints": {"G": [[1, 1]], "h": [0.5]}}' >"$tmp/cons.json"
expect 0 "crown with linear input constraints" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/cons.json" --method alpha-crown
echo '{"center": [0, 0], "eps": 1, "norm": "7"}' >"$tmp/badnorm.json"
expect 2 "unknown norm" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/badnorm.json"
contains "$tmp/err" "norm" "the bad key is named"
echo '{"center": [0, 0], "eps": -1}' >"$tmp/negeps.json"
expect 2 "negative eps" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/negeps.json"
zeros="$(printf '0,%.0s' $(seq 767))0"
echo "{\"lower\": [$zeros], \"upper\": [$zeros]}" >"$tmp/box768.json"
expect 0 "crown bounds a MaxPool model" -- "$bin" bounds "$fx/cnn_bn_pool/model.onnx" --box "$tmp/box768.json" --method crown
zeros20="$(printf '0,%.0s' $(seq 19))0"
echo "{\"lower\": [$zeros20], \"upper\": [$zeros20]}" >"$tmp/box20.json"
expect 0 "crown bounds a Sigmoid/Tanh model" -- "$bin" bounds "$fx/mlp_sigmoid_tanh/model.onnx" --box "$tmp/box20.json" --method crown
# (Refusal of a node without a relaxation, naming it, is covered by tests/unit/test_crown.cpp:
# every op of the fixtures has a relaxation now.)
expect 0 "ibp handles the same model" -- "$bin" bounds "$fx/cnn_bn_pool/model.onnx" --box "$tmp/box768.json"
expect 2 "unknown method" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --method magic
expect 3 "missing box" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/nobox.json"
echo '{"lower": [0]}' >"$tmp/badbox.json"
expect 4 "box without upper" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/badbox.json"
echo '{"lower": [0, 0, 0], "upper": [1, 1, 1]}' >"$tmp/bigbox.json"
expect 6 "box of the wrong size" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/bigbox.json"
echo '{"lower": [1, 0], "upper": [0, 1]}' >"$tmp/invbox.json"
expect 2 "lower above upper" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/invbox.json"
echo '[[1.0, 2.0]]' >"$tmp/badC.json"
expect 6 "spec matrix of the wrong width" -- "$bin" bounds "$fx/toy/model.onnx" --box "$tmp/box.json" --spec-matrix "$tmp/badC.json"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
