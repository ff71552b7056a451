#!/usr/bin/env bash
# A sample of the public VNN-COMP instances under ../shared/benchmarks/vnncomp (every benchmark,
# a few instances each): `verify-model verify --instances` must never contradict a known answer,
# and must decide the small `test` benchmark completely. Skips cleanly when ../shared is absent.
# The full run with the instances' own timeouts: benchmarks/vnncomp_run.sh.
# Usage: test_vnncomp_shared.sh VERIFY_MODEL REPO_ROOT
set -u
bin=$1
root=$2
shared="${NNCERT_SHARED_DIR:-$root/../shared}/benchmarks/vnncomp"
if [ ! -d "$shared" ]; then
  echo "SKIP: $shared not found"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nncert-vnncomp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Every row of `test`, and rows spread over each other benchmark (absolute paths).
for d in "$shared"/*/; do
  b=$(basename "$d")
  [ -f "$d/instances.csv" ] || continue
  n=$(grep -c . "$d/instances.csv")
  step=$(( n > 4 ? n / 4 : 1 ))
  [ "$b" = test ] && step=1
  awk -F, -v dir="$d" -v step="$step" 'NF >= 2 && (NR - 1) % step == 0 {
      printf "%s%s,%s%s,%s\n", dir, $1, dir, $2, $3 }' "$d/instances.csv" >>"$tmp/instances.csv"
done
echo "instances: $(wc -l <"$tmp/instances.csv")"
"$bin" verify --instances "$tmp/instances.csv" --timeout 5 --threads 2 -q --report "$tmp/report.json"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 9 ]; then
  echo "FAIL: verify exited $rc"
  exit 1
fi
/usr/bin/python3 "$root/benchmarks/vnncomp_compare.py" "$shared" "$tmp/report.json" || exit 1
/usr/bin/python3 - "$tmp/report.json" <<'PYEOF' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
test = [p for p in r["properties"] if "/test/" in p["source"]["path"]]
bad = [p["name"] for p in test if p["verdict"] not in ("verified", "falsified")]
if len(test) != 5 or bad:
    print("FAIL: the test benchmark is not decided completely:", len(test), bad)
    sys.exit(1)
errors = [(p["name"], p.get("message")) for p in r["properties"] if p["verdict"] == "error"]
if errors:
    print("FAIL: errors:", errors[:5])
    sys.exit(1)
PYEOF
echo "shared VNN-COMP sample: no contradiction"
