#!/usr/bin/env bash
# Runs `verify-model verify` (the incomplete pipeline: attack, IBP, CROWN, alpha-CROWN) on the
# VNN-COMP instances under ../shared/benchmarks/vnncomp with their own timeouts, then compares
# with the known answers (vnncomp_compare.py): decided counts per benchmark and contradictions.
#
#   benchmarks/vnncomp_run.sh [BENCHMARK ...]     (default: every benchmark folder)
# Environment: NNCERT_BIN (default build/bin/verify-model), SHARED (default ../shared),
# OUT (default build/vnncomp), THREADS (default 1), EXTRA (more verify flags).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${NNCERT_BIN:-$root/build/bin/verify-model}"
shared="${SHARED:-$root/../shared}/benchmarks/vnncomp"
out="${OUT:-$root/build/vnncomp}"
mkdir -p "$out"
if [ ! -d "$shared" ]; then
  echo "vnncomp_run.sh: $shared not found" >&2
  exit 2
fi
benches=("$@")
if [ ${#benches[@]} -eq 0 ]; then
  for d in "$shared"/*/; do [ -f "$d/instances.csv" ] && benches+=("$(basename "$d")"); done
fi
reports=()
for b in "${benches[@]}"; do
  echo "== $b"
  set +e
  # shellcheck disable=SC2086
  "$bin" verify --instances "$shared/$b/instances.csv" --threads "${THREADS:-1}" \
    --report "$out/$b.json" ${EXTRA:-}
  rc=$?
  set -e
  echo "   exit $rc"
  reports+=("$out/$b.json")
done
/usr/bin/python3 "$root/benchmarks/vnncomp_compare.py" "$shared" "${reports[@]}"
