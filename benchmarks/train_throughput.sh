#!/usr/bin/env bash
# Training throughput (examples/s) of nncert next to auto_LiRPA on this CPU: the same architecture
# (conv16-conv32-fc100-fc10), batch, eps, bound type and step (natural + robust loss, gradient,
# Adam). Prints one line per configuration with both numbers and the ratio, and writes the JSON
# lines to OUT (default build/bench/train_throughput.jsonl).
#
#   benchmarks/train_throughput.sh [--threads "1 2"] [--steps 40] [--batch 64] [--eps 0.1] [--out F]
#
# auto_LiRPA: ALIRPA=/path/to/auto_LiRPA (a checkout; default /tmp/alirpa), run with
# /usr/bin/python3 (Debian's python3-torch). Without it only nncert's numbers are printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
threads="1 2"
steps=40
batch=64
eps=0.1
out="$root/build/bench/train_throughput.jsonl"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --eps) eps="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench="$root/build/bin/train_bench"
if [ ! -x "$bench" ]; then
  cmake --build "$root/build" --target train_bench >/dev/null
fi
alirpa="${ALIRPA:-/tmp/alirpa}"
have_alirpa=0
if [ -d "$alirpa/auto_LiRPA" ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then
  have_alirpa=1
else
  echo "auto_LiRPA not found at $alirpa (set ALIRPA): nncert numbers only" >&2
fi
mkdir -p "$(dirname "$out")"
: >"$out"
printf '%-22s %7s %14s %14s %7s\n' bound threads "nncert ex/s" "auto_LiRPA" ratio
for t in $threads; do
  for cfg in "ibp" "crown-ibp" "crown-ibp --loss-fusion"; do
    set -- $cfg
    ours=$("$bench" --bound "$@" --threads "$t" --steps "$steps" --batch "$batch" --eps "$eps")
    echo "$ours" >>"$out"
    a=$(python3 -c 'import json,sys; print("%.0f" % json.loads(sys.argv[1])["examples_per_s"])' "$ours")
    b="-"
    r="-"
    if [ "$have_alirpa" = 1 ]; then
      theirs=$(PYTHONPATH="$alirpa" /usr/bin/python3 "$here/alirpa_train_bench.py" --bound "$@" \
        --threads "$t" --steps "$steps" --batch "$batch" --eps "$eps" 2>/dev/null | tail -1)
      echo "$theirs" >>"$out"
      b=$(python3 -c 'import json,sys; print("%.0f" % json.loads(sys.argv[1])["examples_per_s"])' "$theirs")
      r=$(python3 -c 'import sys; print("%.2fx" % (float(sys.argv[1]) / float(sys.argv[2])))' "$a" "$b")
    fi
    printf '%-22s %7s %14s %14s %7s\n' "$*" "$t" "$a" "$b" "$r"
  done
done
