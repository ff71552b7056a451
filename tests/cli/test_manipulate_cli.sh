#!/usr/bin/env bash
# verify-model manipulate through the real binary on the bundled MNIST model and digits: answers
# and guarantees, the report (JSON Schema docs/manipulation-report.schema.json + invariants), the
# exported PGM/PNG (the PNG decoded with Python's zlib and compared with the PGM; the exact
# counterexample re-executed with `verify-model run`), the grid-only fallback, the time limit,
# usage and I/O errors with their exit codes. A few seconds.
# Usage: test_manipulate_cli.sh VERIFY_MODEL REPO_ROOT
set -u
bin=$1
root=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-manipulate-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
py=/usr/bin/python3
[ -x "$py" ] || py=python3
model="$root/verifier/examples/mnist_a_adv.onnx"
data=(--dataset "$root/examples/data/mnist100-images-idx3-ubyte.gz"
  --labels "$root/examples/data/mnist100-labels-idx1-ubyte.gz")

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
# pyexpr REPORT EXPR DESCRIPTION: EXPR (python, `r` = the report, `c` = its first check) holds.
pyexpr() {
  if "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); c=r['checks'][0] if r['checks'] else {}; sys.exit(0 if ($2) else 1)" "$1"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $3: ($2) is false"
  fi
}
# The schema plus what it cannot say: summary counts, cell counts, guarantees.
valid_report() {
  if "$py" - "$root/docs/manipulation-report.schema.json" "$1" >"$tmp/chk" 2>&1 <<'PYEOF'; then
import json, sys
schema, r = (json.load(open(p)) for p in sys.argv[1:3])
errors = []
try:
    import jsonschema
    errors += [f"schema: {'/'.join(map(str, e.path))}: {e.message}"
               for e in jsonschema.Draft202012Validator(schema).iter_errors(r)]
except ImportError:
    pass
counts = {}
for c in r["checks"]:
    counts[c["answer"]] = counts.get(c["answer"], 0) + 1
    cells = c["cells"]
    if cells["certified"] + cells["grid_only"] + cells["open"] > cells["total"]:
        errors.append(f"check {c['id']}: more cells counted than exist")
    if c["answer"] == "verified-continuous" and cells["certified"] != cells["total"]:
        errors.append(f"check {c['id']}: continuous without every cell certified")
    if c["answer"] == "verified-grid-only" and (cells["grid_only"] == 0 or cells["open"]):
        errors.append(f"check {c['id']}: grid-only answer with bad cell counts")
    if c["answer"] == "falsified" and c["counterexample"]["predicted"] == c["label"] and \
            max(c["counterexample"]["output"]) > c["counterexample"]["output"][c["label"]]:
        errors.append(f"check {c['id']}: counterexample predicts the label")
for k in ("verified-continuous", "verified-grid-only", "falsified", "unknown", "error"):
    if r["summary"][k] != counts.get(k, 0):
        errors.append(f"summary.{k} = {r['summary'][k]}, checks say {counts.get(k, 0)}")
if r["summary"]["total"] != len(r["checks"]):
    errors.append("summary.total != number of checks")
print("\n".join(errors))
sys.exit(1 if errors else 0)
PYEOF
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $2: report invalid"
    head -10 "$tmp/chk" | sed 's/^/  /'
  fi
}

# ---- small ranges: certified over the whole continuous range
expect 0 "sample 1, all families" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 \
  --threads 1 --report "$tmp/ok.json"
valid_report "$tmp/ok.json" "verified report"
pyexpr "$tmp/ok.json" "[x['answer'] for x in r['checks']] == ['verified-continuous'] * 3" "all three certified"
pyexpr "$tmp/ok.json" "all(x['guarantee'] == 'continuous' for x in r['checks'])" "guarantee continuous"
pyexpr "$tmp/ok.json" "r['checks'][1]['cells']['total'] == 256 and len(r['checks'][1]['pixels']) == 4" "pixel-steps: 4 pixels, 4^4 cells"
pyexpr "$tmp/ok.json" "len(r['checks'][2]['line']) == 4" "scratch: the chosen line"
contains "$tmp/out" "brightness-contrast  1 checks: 1 verified-continuous" "summary line"

# ---- contrast down to 0 (a blank image): falsified, images exported
expect 0 "contrast 0..1 falsified" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 \
  --family brightness-contrast --contrast 0 1 --brightness 0 0.5 --threads 1 -q \
  --report "$tmp/bad.json" --export-dir "$tmp/img"
valid_report "$tmp/bad.json" "falsified report"
pyexpr "$tmp/bad.json" "c['answer'] == 'falsified' and c['guarantee'] == 'counterexample'" "falsified"
pyexpr "$tmp/bad.json" "c['counterexample']['predicted'] != c['label']" "the class changed"
if "$py" - "$tmp/bad.json" "$tmp" <<'PYEOF' >"$tmp/png.log" 2>&1; then
import json, struct, sys, zlib
r = json.load(open(sys.argv[1]))
ce = r["checks"][0]["counterexample"]
pgm = open(ce["files"]["pgm"], "rb").read()
assert pgm.startswith(b"P5\n28 28\n255\n"), pgm[:20]
pixels = pgm[len(b"P5\n28 28\n255\n"):]
assert len(pixels) == 784
png = open(ce["files"]["png"], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, types = 8, b"", []
while pos < len(png):
    n, = struct.unpack(">I", png[pos:pos + 4])
    t, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
    crc, = struct.unpack(">I", png[pos + 8 + n:pos + 12 + n])
    assert zlib.crc32(t + body) & 0xffffffff == crc, t
    types.append(t)
    if t == b"IHDR":
        assert struct.unpack(">IIBBBBB", body) == (28, 28, 8, 0, 0, 0, 0), body
    if t == b"IDAT":
        idat += body
    pos += 12 + n
assert types == [b"IHDR", b"IDAT", b"IEND"], types
raw = zlib.decompress(idat)
rows = [raw[i * 29:(i + 1) * 29] for i in range(28)]
assert all(row[0] == 0 for row in rows)
assert b"".join(row[1:] for row in rows) == pixels, "PNG and PGM differ"
# 8-bit values are the exact image rounded
x = ce["input"]
assert all(abs(p / 255 - v) <= 0.5 / 255 + 1e-12 for p, v in zip(pixels, x))
json.dump([x], open(sys.argv[2] + "/ce.json", "w"))
json.dump([[p / 255 for p in pixels]], open(sys.argv[2] + "/ce8.json", "w"))
PYEOF
  pass=$((pass + 1))
else
  fail=$((fail + 1))
  echo "FAIL: exported PGM/PNG"
  sed 's/^/  /' "$tmp/png.log" | head -10
fi
expect 0 "re-run the counterexample" -- "$bin" run "$model" --input "$tmp/ce.json" \
  --dtype float64 --output "$tmp/ce_out.json"
"$py" -c "import json,sys; o=json.load(open(sys.argv[1])); r=json.load(open(sys.argv[2])); sys.exit(0 if o['argmax'][0] == r['checks'][0]['counterexample']['predicted'] else 1)" \
  "$tmp/ce_out.json" "$tmp/bad.json" && pass=$((pass + 1)) || {
  fail=$((fail + 1))
  echo "FAIL: the re-executed counterexample has another class"
}
expect 0 "re-run the 8-bit image" -- "$bin" run "$model" --input "$tmp/ce8.json" \
  --dtype float64 --output "$tmp/ce8_out.json"
"$py" -c "import json,sys; o=json.load(open(sys.argv[1])); c=json.load(open(sys.argv[2]))['checks'][0]; sys.exit(0 if (o['argmax'][0] == c['counterexample']['quantized_predicted']) else 1)" \
  "$tmp/ce8_out.json" "$tmp/bad.json" && pass=$((pass + 1)) || {
  fail=$((fail + 1))
  echo "FAIL: quantized_predicted disagrees with running the PGM's pixels"
}

# ---- DLV itself (--method grid): every grid point, grid-only guarantee
expect 0 "method grid" -- "$bin" manipulate "$model" "${data[@]}" --samples 3 \
  --family brightness-contrast --contrast 0.9 1.1 --brightness -0.05 0.05 --grid 3 \
  --method grid -q --report "$tmp/grid.json"
valid_report "$tmp/grid.json" "grid report"
pyexpr "$tmp/grid.json" "c['answer'] == 'verified-grid-only' and c['guarantee'] == 'grid'" "grid-only answer"
pyexpr "$tmp/grid.json" "c['grid_points'] == {'total': 16, 'checked': 16} and c['cells']['grid_only'] == 9" "all 16 grid points"
# IBP over the per-pixel hull leaves cells open: they fall back to their corners.
expect 0 "ibp over the hull box" -- "$bin" manipulate "$model" "${data[@]}" --samples 3 \
  --family brightness-contrast --contrast 0.9 1.1 --brightness -0.05 0.05 --grid 3 \
  --method ibp --region box -q --report "$tmp/box.json"
pyexpr "$tmp/box.json" "c['answer'] == 'verified-grid-only' and c['cells']['grid_only'] > 0 and c['cells']['certified'] + c['cells']['grid_only'] == 9" "box: some cells grid-only"
# A per-feature list and a fixed scratch line.
expect 0 "pixel list and scratch line" -- "$bin" manipulate "$model" "${data[@]}" --samples 3 \
  --family pixel-steps,scratch --pixel-list 300,301 --steps 1 --scratch 2,3,2,10 --threads 1 \
  -q --report "$tmp/fixed.json"
pyexpr "$tmp/fixed.json" "r['checks'][0]['pixels'] == [300, 301] and r['checks'][0]['cells']['total'] == 4" "pixel list used"
pyexpr "$tmp/fixed.json" "r['checks'][1]['line'] == [2, 3, 2, 10] and len(r['checks'][1]['pixels']) == 8" "scratch line used"
# No time: unknown.
expect 0 "timeout" -- "$bin" manipulate "$model" "${data[@]}" --samples 3 \
  --family brightness-contrast --timeout 1e-9 -q --report "$tmp/to.json"
pyexpr "$tmp/to.json" "c['answer'] == 'unknown' and c['cells']['open'] > 0 and c['guarantee'] == 'none'" "unknown on timeout"

# ---- errors
expect 2 "unknown family" -- "$bin" manipulate "$model" "${data[@]}" --family rotate
contains "$tmp/err" "unknown family 'rotate'" "unknown family message"
expect 2 "no dataset" -- "$bin" manipulate "$model"
expect 2 "bad range" -- "$bin" manipulate "$model" "${data[@]}" --contrast 2 1
expect 2 "bad grid" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 --grid 2,x
expect 2 "grid of the wrong length" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 \
  --family brightness-contrast --grid 2,2,2 -q
expect 2 "scratch off the image" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 \
  --family scratch --scratch 0,0,40,0 -q
expect 3 "missing model" -- "$bin" manipulate "$tmp/nope.onnx" "${data[@]}" --samples 1
expect 3 "missing dataset" -- "$bin" manipulate "$model" --dataset "$tmp/nope.idx"
expect 3 "export dir not writable" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 \
  --export-dir /proc/nncert-cannot-exist
expect 6 "image shape that does not fit" -- "$bin" manipulate "$model" "${data[@]}" --samples 1 \
  --image-shape 1,10,10

echo "manipulate CLI: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
