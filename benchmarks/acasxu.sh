#!/usr/bin/env bash
# ACAS Xu in one command: runs `verify-model verify --instances` on the 186 VNN-COMP ACAS Xu
# instances (each with its own timeout, 116 s), then prints the decided counts against the known
# answers (vnncomp_compare.py; wrong answers must be 0), the total and median time per instance,
# the deciding methods and the branch-and-bound domains.
#
#   benchmarks/acasxu.sh
# Environment: CAP (seconds: every instance's timeout becomes CAP, e.g. CAP=30 for a quick run;
# default: the instances' own), LIMIT (run only the first LIMIT instances), EVERY (run every
# EVERY-th instance: a sample across the properties), THREADS (default 2),
# NNCERT_BIN (default build/bin/verify-model), SHARED (default ../shared), OUT (default
# build/acasxu), EXTRA (more verify flags). Exit status 1 when an answer contradicts the known one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${NNCERT_BIN:-$root/build/bin/verify-model}"
bench="${SHARED:-$root/../shared}/benchmarks/vnncomp/acasxu"
out="${OUT:-$root/build/acasxu}"
mkdir -p "$out"
if [ ! -f "$bench/instances.csv" ]; then
  echo "acasxu.sh: $bench/instances.csv not found" >&2
  exit 2
fi
csv="$bench/instances.csv"
if [ -n "${LIMIT:-}${EVERY:-}" ]; then
  # A copy inside the benchmark's own folder is not allowed (shared, read-only): absolute paths.
  csv="$out/instances.csv"
  awk -v k="${EVERY:-1}" '(NR - 1) % k == 0' "$bench/instances.csv" | head -n "${LIMIT:-1000000}" |
    awk -F, -v d="$bench" '{ printf "%s/%s,%s/%s,%s\n", d, $1, d, $2, $3 }' >"$csv"
fi
args=(verify --instances "$csv" --threads "${THREADS:-2}" --report "$out/acasxu.json" --quiet)
if [ -n "${CAP:-}" ]; then
  args+=(--timeout "$CAP")
fi
start=$(date +%s)
set +e
# shellcheck disable=SC2086
"$bin" "${args[@]}" ${EXTRA:-}
rc=$?
set -e
echo "verify exit $rc, wall $(($(date +%s) - start)) s"
set +e
/usr/bin/python3 "$root/benchmarks/vnncomp_compare.py" "$(dirname "$bench")" "$out/acasxu.json"
cmp=$?
set -e
/usr/bin/python3 - "$out/acasxu.json" <<'EOF'
import collections, json, statistics, sys
r = json.load(open(sys.argv[1]))
ps = r["properties"]
times = [p["time_s"] for p in ps]
decided = [p for p in ps if p["verdict"] in ("verified", "falsified")
           and (p["timeout_s"] == 0 or p["time_s"] <= p["timeout_s"])]
print(f"acasxu: decided {len(decided)}/{len(ps)}; time total {sum(times):.1f} s, "
      f"median {statistics.median(times) if times else 0:.2f} s; "
      f"decided instances: total {sum(p['time_s'] for p in decided):.1f} s, median "
      f"{statistics.median([p['time_s'] for p in decided]) if decided else 0:.2f} s")
by = collections.Counter(f"{p['verdict']}/{p.get('method')}" for p in ps)
print("by verdict/method: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
doms = [p.get("domains", 0) for p in ps]
print(f"BaB domains: total {sum(doms)}, max {max(doms) if doms else 0}")
EOF
exit $cmp
