#!/usr/bin/env bash
# verify-model verify / gate and the VNN-COMP scripts through the real binaries: verdicts, exit
# codes, reports (JSON Schema + invariants), VNN-COMP result files, interruption, global timeout,
# instances.csv, the gate examples (exit 0 / 1) and their JUnit XML (schema-validated).
# Usage: test_verify_cli.sh VERIFY_MODEL PERTURB_ONNX REPO_ROOT
set -u
bin=$1
perturb=$2
root=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-verify-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
py=/usr/bin/python3
[ -x "$py" ] || py=python3
schema="$root/docs/report.schema.json"

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
    sed 's/^/  stdout: /' "$tmp/out" | head -8
    sed 's/^/  stderr: /' "$tmp/err" | head -8
  fi
}
contains() {
  if grep -qF -- "$2" "$1"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $3: '$2' not found in $(basename "$1")"
    head -5 "$1" | sed 's/^/  /'
  fi
}
valid_report() {
  if "$py" "$root/tests/cli/check_report.py" "$schema" "$1" >"$tmp/chk" 2>&1; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $2: report invalid"
    head -10 "$tmp/chk" | sed 's/^/  /'
  fi
}
# pyexpr REPORT EXPR DESCRIPTION: EXPR (python, `r` = the report) must be true.
pyexpr() {
  if "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $3: ($2) is false"
  fi
}

model="$root/verifier/examples/mnist_a_adv.onnx"
prop="$root/examples/gate/digit7_linf01.vnnlib"
toy="$root/tests/data/fixtures/toy/model.onnx"
imgs="$root/examples/data/mnist100-images-idx3-ubyte.gz"
labs="$root/examples/data/mnist100-labels-idx1-ubyte.gz"

# ---- toy network (IBP [-6, 4], CROWN [-3, 3], alpha-CROWN [-3, 2] on this box)
"$py" - "$root/tests/data/fixtures/toy/cases.json" "$tmp" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["cases"][0]
lo, hi = c["x_lower"], c["x_upper"]
head = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
head += "".join(f"(assert (>= X_{i} {lo[i]!r}))\n(assert (<= X_{i} {hi[i]!r}))\n" for i in range(2))
for name, body in {"crown": "(assert (>= Y_0 3.5))", "alpha": "(assert (>= Y_0 2.5))",
                   "sat": "(assert (<= Y_0 -1000000.0))", "sat2": "(assert (>= Y_0 -1000000.0))"}.items():
    open(f"{sys.argv[2]}/toy_{name}.vnnlib", "w").write(head + body + "\n")
PYEOF
expect 0 "toy: CROWN verifies y >= 3.5 unreachable" -- "$bin" verify "$toy" "$tmp/toy_crown.vnnlib" --report "$tmp/t1.json"
contains "$tmp/out" "verified (by crown)" "toy: decided by crown"
valid_report "$tmp/t1.json" "toy report"
expect 0 "toy: alpha-CROWN needed" -- "$bin" verify "$toy" "$tmp/toy_alpha.vnnlib" -q --report "$tmp/t2.json"
pyexpr "$tmp/t2.json" "r['properties'][0]['method'] == 'alpha-crown'" "toy: decided by alpha-crown"
expect 0 "toy: --method crown leaves it unknown" -- "$bin" verify "$toy" "$tmp/toy_alpha.vnnlib" --method crown -q --report "$tmp/t3.json"
pyexpr "$tmp/t3.json" "r['properties'][0]['verdict'] == 'unknown'" "toy: unknown with crown only"
expect 0 "toy: reachable property is falsified" -- "$bin" verify "$toy" "$tmp/toy_sat2.vnnlib" --vnncomp-result "$tmp/res" --report "$tmp/t4.json"
contains "$tmp/res" "sat" "vnncomp result says sat"
contains "$tmp/res" "(X_0 " "vnncomp result has the counterexample input"
contains "$tmp/res" "(Y_0 " "vnncomp result has the counterexample output"
valid_report "$tmp/t4.json" "falsified report"
expect 0 "toy: unsat result file" -- "$bin" verify "$toy" "$tmp/toy_crown.vnnlib" -q --vnncomp-result "$tmp/res2"
if [ "$(head -1 "$tmp/res2")" = "unsat" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: unsat result file: $(head -1 "$tmp/res2")"; fi
expect 0 "toy: several properties in one run" -- "$bin" verify "$toy" "$tmp/toy_crown.vnnlib" "$tmp/toy_alpha.vnnlib" "$tmp/toy_sat2.vnnlib" -q --report "$tmp/t5.json"
pyexpr "$tmp/t5.json" "[p['verdict'] for p in r['properties']] == ['verified','verified','falsified']" "three verdicts"
valid_report "$tmp/t5.json" "multi-property report"

# ---- errors: malformed VNNLIB (line:column, non-zero exit, report still written), usage
printf '(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1.0)\n' >"$tmp/bad.vnnlib"
expect 4 "malformed vnnlib exits 4" -- "$bin" verify "$toy" "$tmp/bad.vnnlib" --report "$tmp/bad.json"
contains "$tmp/err" "bad.vnnlib:" "error names the file"
pyexpr "$tmp/bad.json" "r['properties'][0]['verdict'] == 'error' and ':' in r['properties'][0]['message']" "error verdict in the report"
valid_report "$tmp/bad.json" "error report"
expect 6 "property of the wrong size exits 6" -- "$bin" verify "$model" "$tmp/toy_crown.vnnlib" -q
expect 3 "missing vnnlib exits 3" -- "$bin" verify "$toy" "$tmp/nope.vnnlib" -q
expect 2 "no property" -- "$bin" verify "$toy"
expect 2 "bad method" -- "$bin" verify "$toy" "$tmp/toy_crown.vnnlib" --method magic
expect 2 "vnncomp result needs one property" -- "$bin" verify "$toy" "$tmp/toy_crown.vnnlib" "$tmp/toy_alpha.vnnlib" --vnncomp-result "$tmp/r"

# ---- instances.csv (VNN-COMP layout, paths relative to the csv)
mkdir -p "$tmp/bench/onnx" "$tmp/bench/vnnlib"
cp "$toy" "$tmp/bench/onnx/toy.onnx"
cp "$tmp/toy_crown.vnnlib" "$tmp/toy_sat2.vnnlib" "$tmp/bench/vnnlib/"
printf 'onnx/toy.onnx,vnnlib/toy_crown.vnnlib,30\nonnx/toy.onnx,vnnlib/toy_sat2.vnnlib,30\n' >"$tmp/bench/instances.csv"
expect 0 "instances.csv" -- "$bin" verify --instances "$tmp/bench/instances.csv" -q --report "$tmp/inst.json"
pyexpr "$tmp/inst.json" "[p['verdict'] for p in r['properties']] == ['verified','falsified'] and len(r['models']) == 1" "instances verdicts, one model"
pyexpr "$tmp/inst.json" "r['properties'][0]['timeout_s'] == 30" "instances timeout"

# ---- dataset: 100 bundled digits; verified accuracy = count of verified entries
expect 0 "dataset run over 100 samples" -- "$bin" verify "$model" --dataset "$imgs" --labels "$labs" --eps 0.02 --samples 0:100 -q --report "$tmp/ds.json"
valid_report "$tmp/ds.json" "dataset report"
pyexpr "$tmp/ds.json" "r['summary']['dataset_samples'] == 100 and r['summary']['verified_accuracy'] == sum(p['verdict']=='verified' for p in r['properties'])/100" "verified accuracy = verified count / 100"
pyexpr "$tmp/ds.json" "r['summary']['verified'] >= 80 and all(p['verdict'] != 'verified' for p in r['properties'] if p.get('misclassified'))" "most digits verified; misclassified ones are not"
pyexpr "$tmp/ds.json" "all(min(x for x in p['regions'][0]['margins']) > 0 for p in r['properties'] if p['verdict']=='verified')" "verified samples have positive margins"

# ---- interruption half-way and a global timeout leave valid reports
"$bin" verify "$model" --dataset "$imgs" --labels "$labs" --eps 0.02 --samples 0:100 -q --report "$tmp/int.json" >/dev/null 2>&1 &
pid=$!
sleep 2
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 10 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: SIGINT exit $rc, expected 10"; fi
valid_report "$tmp/int.json" "interrupted report"
pyexpr "$tmp/int.json" "r['summary']['interrupted'] and not r['summary']['complete'] and r['summary']['not_run'] > 0 and r['summary']['total'] == 100" "interrupted report marks the rest not run"
expect 9 "global timeout exits 9" -- "$bin" verify "$model" --dataset "$imgs" --labels "$labs" --eps 0.02 --samples 0:100 -q --global-timeout 1 --report "$tmp/gt.json"
valid_report "$tmp/gt.json" "global-timeout report"
pyexpr "$tmp/gt.json" "r['summary']['global_timeout'] and r['summary']['not_run'] > 0" "global timeout: rest not run"

# ---- the validator itself rejects a broken report
"$py" -c "import json,sys; r=json.load(open(sys.argv[1])); r['summary']['verified'] += 1; json.dump(r, open(sys.argv[2],'w'))" "$tmp/t5.json" "$tmp/broken.json"
if "$py" "$root/tests/cli/check_report.py" "$schema" "$tmp/broken.json" >/dev/null 2>&1; then
  fail=$((fail + 1)); echo "FAIL: check_report accepted a broken report"
else pass=$((pass + 1)); fi

# ---- gate: the worked examples from the repository root, and a regressed model built here
cd "$root" || exit 1
expect 0 "gate pass.yaml exits 0" -- "$bin" gate examples/gate/pass.yaml --junit "$tmp/pass.xml" --markdown "$tmp/pass.md" --report "$tmp/gate_pass.json" -q
contains "$tmp/out" "PASSED" "gate prints PASSED"
valid_report "$tmp/gate_pass.json" "gate report"
pyexpr "$tmp/gate_pass.json" "r['gate']['passed'] is True" "gate section passed"
expect 1 "gate fail.yaml exits 1" -- "$bin" gate examples/gate/fail.yaml --junit "$tmp/fail.xml" --markdown "$tmp/fail.md" -q
contains "$tmp/out" "FAILED" "gate prints FAILED"
contains "$tmp/fail.md" "❌" "markdown marks the failure"
if command -v xmllint >/dev/null; then
  for x in "$tmp/pass.xml" "$tmp/fail.xml"; do
    if xmllint --noout --schema "$root/tests/data/junit/junit.xsd" "$x" 2>"$tmp/xerr"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $x does not validate"; cat "$tmp/xerr"; fi
  done
else
  echo "note: xmllint missing (libxml2-utils): JUnit schema checks skipped"
fi
contains "$tmp/fail.xml" "<failure" "JUnit has failures"
# A regressed model made here (noise on the weights), against the good model's report.
"$perturb" "$model" "$tmp/regressed.onnx" 0.5 3 >/dev/null
sed -e "s#^baseline: baseline.json#baseline: $tmp/gate_pass.json#" \
    -e "s#\.\./\.\./verifier/examples/mnist_a_adv.onnx#$tmp/regressed.onnx#" \
    -e "s#\.\./data/#$root/examples/data/#" -e "s#digit7_linf01.vnnlib#$prop#" \
    examples/gate/pass.yaml >"$tmp/regressed.yaml"
expect 1 "gate on a freshly regressed model exits 1" -- "$bin" gate "$tmp/regressed.yaml" -q
printf 'checks:\n  - name: a\n    model: %s\n    properties: [%s]\n    require: {verified_acuracy: 0.5}\n' "$toy" "$tmp/toy_crown.vnnlib" >"$tmp/typo.yaml"
expect 4 "gate config typo exits 4" -- "$bin" gate "$tmp/typo.yaml"
contains "$tmp/err" "checks[0].require.verified_acuracy" "error names the key"
printf '{"checks": [{"name": "a", "model": "%s", "properties": ["%s"]}]}\n' "$toy" "$tmp/toy_crown.vnnlib" >"$tmp/g.json"
expect 0 "gate JSON config" -- "$bin" gate "$tmp/g.json" -q
printf 'checks:\n  - name: a\n    model: %s/missing.onnx\n    properties: [%s]\n' "$tmp" "$tmp/toy_crown.vnnlib" >"$tmp/missing.yaml"
expect 3 "gate with a missing model exits 3, not 1" -- "$bin" gate "$tmp/missing.yaml"

# ---- VNN-COMP scripts
export NNCERT_BIN="$bin" NNCERT_VNNCOMP_PIDFILE="$tmp/vnncomp.pid"
expect 0 "run_instance.sh unsat" -- "$root/vnncomp/run_instance.sh" v1 test "$toy" "$tmp/toy_crown.vnnlib" "$tmp/vr1" 30
if [ "$(head -1 "$tmp/vr1")" = "unsat" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: run_instance unsat: $(cat "$tmp/vr1")"; fi
expect 0 "run_instance.sh sat" -- "$root/vnncomp/run_instance.sh" v1 test "$toy" "$tmp/toy_sat2.vnnlib" "$tmp/vr2" 30
if [ "$(head -1 "$tmp/vr2")" = "sat" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: run_instance sat: $(cat "$tmp/vr2")"; fi
gzip -c "$tmp/toy_sat2.vnnlib" >"$tmp/toy_sat2.vnnlib.gz"
expect 0 "run_instance.sh gzipped property" -- "$root/vnncomp/run_instance.sh" v1 test "$toy" "$tmp/toy_sat2.vnnlib.gz" "$tmp/vr3" 30
contains "$tmp/vr3" "sat" "gzipped property decided"
expect 0 "run_instance.sh broken model still writes a result" -- "$root/vnncomp/run_instance.sh" v1 test "$tmp/missing.onnx" "$tmp/toy_sat2.vnnlib" "$tmp/vr4" 30
if [ "$(cat "$tmp/vr4")" = "error" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: run_instance error: $(cat "$tmp/vr4")"; fi
expect 0 "prepare_instance.sh" -- "$root/vnncomp/prepare_instance.sh" v1 test "$toy" "$tmp/toy_sat2.vnnlib"

echo "verify/gate CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
