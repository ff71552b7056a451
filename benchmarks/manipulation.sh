#!/usr/bin/env bash
# The manipulation check (verify-model manipulate, docs/manipulation.md) on the bundled MNIST
# model and digits: per configuration and family, the answers (verified-continuous,
# verified-grid-only, falsified, unknown), class changes off the grid (DLV's grid misses them),
# bound calls and time. Configurations:
#   default   the default ranges, `--method auto`, bounds over theta
#   wide      wider ranges: contrast 0.7..1.3, brightness -0.2..0.2; 8 pixels, 3 steps of 0.2
#             (7^8 = 5764801 grid points for DLV); scratch lines of 20 pixels
#   wide-dlv  the same with --method grid (DLV: every grid point, no bounds; pixel-steps skipped
#             unless DLV_PIXELS=1, it evaluates 5764801 points per sample)
#   wide-box  the same with cells bounded over the per-pixel hull box (--region box; exact for
#             pixel-steps)
# Environment: SAMPLES (default 0:20), CONFIGS (default "default wide wide-dlv wide-box"),
# THREADS (default 1), BUILD_DIR (default build), OUT_DIR (default $BUILD_DIR/bench_manipulation).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench_manipulation}
SAMPLES=${SAMPLES:-0:20}
THREADS=${THREADS:-1}
CONFIGS=${CONFIGS:-default wide wide-dlv wide-box}
bin="$BUILD_DIR/bin/verify-model"
mkdir -p "$OUT_DIR"
common=(verifier/examples/mnist_a_adv.onnx --dataset examples/data/mnist100-images-idx3-ubyte.gz
  --labels examples/data/mnist100-labels-idx1-ubyte.gz --samples "$SAMPLES" --threads "$THREADS"
  --cell-timeout 2 --timeout 30 -q)
wide=(--contrast 0.7 1.3 --brightness -0.2 0.2 --pixels 8 --steps 3 --step-size 0.2
  --scratch-length 20)
for c in $CONFIGS; do
  case "$c" in
    default) args=() ;;
    wide) args=("${wide[@]}") ;;
    wide-dlv)
      args=("${wide[@]}" --method grid)
      [ "${DLV_PIXELS:-0}" = 1 ] || args+=(--family brightness-contrast,scratch)
      ;;
    wide-box) args=("${wide[@]}" --region box) ;;
    *) echo "unknown configuration $c" >&2; exit 2 ;;
  esac
  "$bin" manipulate "${common[@]}" "${args[@]}" --report "$OUT_DIR/$c.json" || true
done
/usr/bin/python3 - "$OUT_DIR" $CONFIGS <<'PYEOF'
import json, sys
out = sys.argv[1]
print(f"{'config':9} {'family':20} {'cont':>4} {'grid':>4} {'fals':>4} {'unk':>4} {'err':>4} "
      f"{'offgrid':>7} {'calls':>6} {'points':>7} {'time_s':>7}")
for c in sys.argv[2:]:
    r = json.load(open(f"{out}/{c}.json"))
    fams = {}
    for k in r["checks"]:
        fams.setdefault(k["family"], []).append(k)
    for f, ks in fams.items():
        n = lambda a: sum(k["answer"] == a for k in ks)
        off = sum(1 for k in ks if k.get("counterexample") and not k["counterexample"]["on_grid"]
                  and k["counterexample"]["found_by"] != "clean")
        print(f"{c:9} {f:20} {n('verified-continuous'):4} {n('verified-grid-only'):4} "
              f"{n('falsified'):4} {n('unknown'):4} {n('error'):4} {off:7} "
              f"{sum(k['bound_calls'] for k in ks):6} "
              f"{sum(k['grid_points']['checked'] for k in ks):7} "
              f"{sum(k['time_s'] for k in ks):7.2f}")
PYEOF
