#!/usr/bin/env bash
# The certified-training recipe on Fashion-MNIST at eps = 0.1 (L-inf, pixels in [0, 1]), one
# command (docs/training.md, "Recipe: Fashion-MNIST"):
#
#   benchmarks/train_fashion_mnist.sh [--quick] [--loss crown-ibp|ibp|natural] [--threads N] \
#       [--samples N] --out DIR
#
# 1. trains a small CNN (conv16-BN-conv32-BN-fc100-fc10) with `verify-model train` (CROWN-IBP with
#    loss fusion by default; the config it used is DIR/config.yaml, the log DIR/train.jsonl);
# 2. exports DIR/model.onnx (the trainer writes it);
# 3. runs `verify-model verify DIR/model.onnx` on the first N (1000) test images at eps = 0.1
#    (attack, IBP, CROWN and, without --quick, alpha-CROWN; report DIR/verify.json), and
#    `verify-model eval` (IBP; also CROWN without --quick) for per-method numbers
#    (DIR/eval_methods.json);
# 4. writes DIR/eval.json: clean_accuracy, pgd_accuracy, verified_accuracy (fractions, from the
#    verify report: verified_accuracy = verified / N, pgd_accuracy = (N - falsified) / N),
#    train_seconds, verify_seconds, and the per-method fractions.
#
# --quick: 8 epochs (about 5 minutes of training on 2 cores); the full recipe trains 30 epochs.
# Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist; FASHION_MNIST=DIR
# overrides). Exit codes: 0 done, 2 usage, 3 data or binary missing, else the failing command's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
quick=0
loss=crown-ibp
threads=2
samples=1000
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --loss) loss="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "usage: $0 [--quick] [--loss crown-ibp|ibp|natural] --out DIR" >&2; exit 2; }
case "$loss" in crown-ibp|ibp|natural) ;; *) echo "--loss: crown-ibp, ibp or natural" >&2; exit 2 ;; esac
data="${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
  t10k-labels-idx1-ubyte.gz; do
  [ -f "$data/$f" ] || { echo "missing $data/$f (apt-get install dataset-fashion-mnist)" >&2; exit 3; }
done
vm="$root/build/bin/verify-model"
if [ ! -x "$vm" ]; then
  cmake --build "$root/build" --target verify-model >/dev/null || { echo "build verify-model first (./setup.sh build)" >&2; exit 3; }
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if [ "$quick" = 1 ]; then
  epochs=8; warmup=1; ramp=4; milestones="[6]"
  verify_methods=attack,ibp,crown; verify_timeout=5; eval_methods=ibp
else
  epochs=30; warmup=1; ramp=10; milestones="[20, 26]"
  verify_methods=attack,ibp,crown,alpha-crown; verify_timeout=10; eval_methods=ibp,crown
fi
if [ "$loss" = natural ]; then
  loss_block="  type: natural"
else
  loss_block="  type: $loss
  eps: 0.1              # final L-inf radius in pixel units
  warmup_epochs: $warmup      # natural training first
  ramp_epochs: $ramp        # eps 0 -> 0.1 (smoothed, auto_LiRPA's SmoothedScheduler)
  schedule: smoothed
  kappa_start: 1.0      # loss = kappa CE(natural) + (1 - kappa) CE(robust)
  kappa_end: 0.0"
  if [ "$loss" = crown-ibp ]; then
    loss_block="$loss_block
  beta_start: 1.0       # beta * CROWN-IBP + (1 - beta) * IBP, beta -> 0 as eps -> 0.1
  beta_end: 0.0
  loss_fusion: true     # bound the robust CE directly: one CROWN row instead of 10"
  fi
fi
cat >"$out/config.yaml" <<YAML
# Written by benchmarks/train_fashion_mnist.sh ($( [ "$quick" = 1 ] && echo quick || echo full ), loss $loss)
model:
  input: [1, 28, 28]
  init: ibp
  layers:
    - {type: conv, out: 16, kernel: 4, stride: 2, pad: 1}
    - {type: batchnorm}
    - {type: relu}
    - {type: conv, out: 32, kernel: 4, stride: 2, pad: 1}
    - {type: batchnorm}
    - {type: relu}
    - {type: flatten}
    - {type: linear, out: 100}
    - {type: relu}
    - {type: linear, out: 10}
data:
  dataset: fashion-mnist
  dir: $data
  split: train
  normalize: {mean: 0.2860, std: 0.3530}
optimizer: {type: adam, lr: 1.0e-3, clip_grad_norm: 10}
schedule: {type: step, milestones: $milestones, gamma: 0.2}
loss:
$loss_block
epochs: $epochs
batch: 128
seed: 1
threads: $threads
out: $out
YAML

echo "== train ($loss, $epochs epochs) -> $out" >&2
"$vm" train "$out/config.yaml" --quiet >"$out/train.txt"
cat "$out/train.txt" >&2
train_seconds=$(python3 - "$out/train.txt" <<'PY'
import re, sys
m = re.search(r" in ([0-9.]+) s", open(sys.argv[1]).read())
print(m.group(1) if m else "null")
PY
)

common=(--dataset "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz"
  --eps 0.1 --samples "0:$samples" --mean 0.2860 --std 0.3530 --clip 0 1 --threads "$threads")
echo "== verify-model verify: first $samples test images, eps 0.1" >&2
t0=$(date +%s.%N)
"$vm" verify "$out/model.onnx" "${common[@]}" --method "$verify_methods" \
  --timeout "$verify_timeout" --report "$out/verify.json" --quiet
t1=$(date +%s.%N)
echo "== verify-model eval: $eval_methods per method" >&2
"$vm" eval "$out/model.onnx" "${common[@]}" --methods "$eval_methods" --out "$out/eval_methods.json" \
  --quiet

python3 - "$out" "$train_seconds" "$t0" "$t1" "$loss" "$quick" <<'PY'
import json, sys
out, train_s, t0, t1, loss, quick = sys.argv[1:]
rep = json.load(open(f"{out}/verify.json"))
props = rep["properties"]
n = len(props)
verified = sum(p["verdict"] == "verified" for p in props)
falsified = sum(p["verdict"] == "falsified" for p in props)
misclassified = sum(bool(p.get("misclassified")) for p in props)
ev = json.load(open(f"{out}/eval_methods.json"))
res = {
    "dataset": "fashion-mnist test",
    "samples": n,
    "eps": 0.1,
    "norm": "inf",
    "loss": loss,
    "quick": quick == "1",
    "clean_accuracy": (n - misclassified) / n,
    "pgd_accuracy": (n - falsified) / n,
    "verified_accuracy": verified / n,
    "verified_by_method": ev["verified"],
    "verify_methods": rep["options"]["methods"],
    "undecided": n - verified - falsified,
    "train_seconds": None if train_s == "null" else float(train_s),
    "verify_seconds": float(t1) - float(t0),
    "model": f"{out}/model.onnx",
    "verify_report": f"{out}/verify.json",
}
json.dump(res, open(f"{out}/eval.json", "w"), indent=2)
print(json.dumps(res, indent=2))
PY
