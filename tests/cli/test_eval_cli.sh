#!/usr/bin/env bash
# verify-model eval on the bundled MNIST model and digits: the JSON (schema nncert-eval/1, docs/
# cli.md) is consistent (fractions in [0, 1], verified <= PGD <= clean, per-sample entries agree
# with the counts), eps = 0 verifies every clean sample, results do not depend on --threads,
# the alpha-CROWN timeout is counted, Ctrl-C writes what it has (exit 10), and the exit codes of
# bad flags (2) and missing files (3).
# Usage: test_eval_cli.sh /path/to/verify-model /path/to/source-root
set -u
bin=$1
root=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-eval-cli.XXXXXX")
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

model=$root/verifier/examples/mnist_a_adv.onnx
data=(--dataset "$root/examples/data/mnist100-images-idx3-ubyte.gz"
  --labels "$root/examples/data/mnist100-labels-idx1-ubyte.gz")

# check_json FILE [eps0]: the schema (docs/eval.schema.json, when python3 has jsonschema) and
# the invariants of an eval JSON.
check_json() {
  python3 - "$root/docs/eval.schema.json" "$@" <<'PY'
import json, sys
j = json.load(open(sys.argv[2]))
eps0 = len(sys.argv) > 3
errs = []
try:
    import jsonschema
    schema = json.load(open(sys.argv[1]))
    errs += ["schema: %s: %s" % ("/".join(map(str, e.path)), e.message)
             for e in jsonschema.Draft202012Validator(schema).iter_errors(j)]
except ImportError:
    pass
def need(cond, what):
    if not cond:
        errs.append(what)
need(j["schema"] == "nncert-eval/1", "schema")
n = j["samples"]
need(n == len(j["per_sample"]) and n > 0, "samples = len(per_sample)")
need(j["norm"] == "inf", "norm")
fr = [j["clean_accuracy"], j["pgd_accuracy"], j["verified_accuracy"]] + list(j["verified"].values())
need(all(0 <= f <= 1 for f in fr), "fractions in [0, 1]")
need(j["verified_accuracy"] <= j["pgd_accuracy"] <= j["clean_accuracy"], "verified <= pgd <= clean")
for m, f in j["verified"].items():
    need(f <= j["verified_accuracy"] + 1e-12, m + " <= verified_accuracy")
if "crown" in j["verified"] and "alpha-crown" in j["verified"]:
    need(j["verified"]["crown"] <= j["verified"]["alpha-crown"], "crown <= alpha-crown")
ps = j["per_sample"]
clean = sum(s["prediction"] == s["label"] for s in ps)
pgd = sum(s["pgd_robust"] for s in ps)
ver = sum(s["verified_by"] is not None for s in ps)
c = j["counts"]
need(c["clean"] == clean and abs(j["clean_accuracy"] - clean / n) < 1e-12, "clean count")
need(c["pgd_robust"] == pgd and abs(j["pgd_accuracy"] - pgd / n) < 1e-12, "pgd count")
need(c["verified"] == ver and abs(j["verified_accuracy"] - ver / n) < 1e-12, "verified count")
for m in j["verified"]:
    need(abs(j["verified"][m] - c[m] / n) < 1e-12, m + " count")
    need(sum(s["verified_by"] == m for s in ps) <= c[m], m + " verified_by <= count")
for s in ps:
    need(not s["pgd_robust"] or s["prediction"] == s["label"], "pgd_robust implies clean")
    need(s["verified_by"] is None or s["pgd_robust"], "verified implies pgd_robust")
    need(s["verified_by"] in (None, "ibp", "crown", "alpha-crown"), "verified_by names a method")
need(all(k in j["seconds"] for k in ("clean", "pgd", "total")), "seconds")
need(j["timeouts"] >= 0 and j["complete"] and not j["interrupted"], "complete run")
if eps0:
    need(j["verified_accuracy"] == j["clean_accuracy"], "eps 0: verified == clean")
if errs:
    print("bad eval JSON:", ", ".join(errs))
    sys.exit(1)
PY
}

code 0 "eval runs" "$bin" eval "$model" "${data[@]}" --eps 0.02 --samples 0:30 --threads 2 \
  --out "$tmp/e.json"
check "summary on stdout" grep -q "verified accuracy" "$tmp/out"
check "eval JSON consistent" check_json "$tmp/e.json"
check "some samples verified, not all by ibp" python3 -c "
import json; j = json.load(open('$tmp/e.json'))
assert j['verified_accuracy'] > 0.5 and j['verified']['ibp'] < j['verified']['crown'], j['verified']"

code 0 "eval one thread" "$bin" eval "$model" "${data[@]}" --eps 0.02 --samples 0:30 --threads 1 \
  --out "$tmp/e1.json" --quiet
check "quiet prints nothing" test ! -s "$tmp/out"
check "same per-sample results on 1 and 2 threads" python3 -c "
import json; a = json.load(open('$tmp/e.json')); b = json.load(open('$tmp/e1.json'))
assert a['per_sample'] == b['per_sample']"

code 0 "eval eps 0" "$bin" eval "$model" "${data[@]}" --eps 0 --samples 0:40 --out "$tmp/e0.json" \
  --quiet
check "eps 0: verified accuracy = clean accuracy" check_json "$tmp/e0.json" eps0

code 0 "eval ibp only" "$bin" eval "$model" "${data[@]}" --eps 0.02 --samples 0:20 \
  --methods ibp --out "$tmp/ibp.json" --quiet
check "ibp only: one method" python3 -c "
import json; j = json.load(open('$tmp/ibp.json'))
assert list(j['verified']) == ['ibp'] and j['verified_accuracy'] == j['verified']['ibp']"
check "ibp-only JSON consistent" check_json "$tmp/ibp.json"

code 0 "alpha-crown with a tiny timeout" "$bin" eval "$model" "${data[@]}" --eps 0.05 \
  --samples 0:10 --methods alpha-crown --timeout 0.001 --out "$tmp/to.json" --quiet
check "timeouts counted, never verified" python3 -c "
import json; j = json.load(open('$tmp/to.json'))
t = [s for s in j['per_sample'] if s.get('timeout')]
assert j['timeouts'] == len(t) > 0 and all(s['verified_by'] is None for s in t), j['timeouts']"

# Ctrl-C during alpha-CROWN (many iterations): exit 10, the JSON says interrupted.
"$bin" eval "$model" "${data[@]}" --eps 0.05 --samples 0:100 --methods alpha-crown \
  --alpha-iterations 100000 --threads 1 --out "$tmp/int.json" >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 300); do
  grep -q "pgd:" "$tmp/int.err" 2>/dev/null && break
  sleep 0.1
done
sleep 0.3
kill -INT "$pid"
wait "$pid"
check "SIGINT exits 10" test $? -eq 10
check "interrupted JSON written" python3 -c "
import json; j = json.load(open('$tmp/int.json')); assert j['interrupted'] and not j['complete']"
check "interrupted JSON matches the schema" python3 -c "
import json, sys
try:
    import jsonschema
except ImportError:
    sys.exit(0)
s = json.load(open('$root/docs/eval.schema.json')); j = json.load(open('$tmp/int.json'))
jsonschema.validate(j, s, cls=jsonschema.Draft202012Validator)"

code 2 "unknown flag" "$bin" eval "$model" "${data[@]}" --eps 0.02 --bogus
code 2 "unknown method" "$bin" eval "$model" "${data[@]}" --eps 0.02 --methods ibp,lp
code 2 "missing --eps" "$bin" eval "$model" "${data[@]}"
code 2 "no --dataset" "$bin" eval "$model" --eps 0.02
code 3 "missing model" "$bin" eval "$tmp/none.onnx" "${data[@]}" --eps 0.02
code 3 "missing dataset" "$bin" eval "$model" --dataset "$tmp/none.idx" --eps 0.02
code 3 "unwritable --out" "$bin" eval "$model" "${data[@]}" --eps 0.02 --samples 0:2 \
  --methods ibp --out "$tmp/no/such/dir/e.json"
printf '1,0.5,0.5\n' >"$tmp/small.csv"
code 6 "sample size does not fit the model" "$bin" eval "$model" --dataset "$tmp/small.csv" \
  --eps 0.02 --samples 0:1

echo "eval cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
