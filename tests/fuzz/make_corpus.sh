#!/usr/bin/env bash
# Fills seed corpora for the fuzz targets:
#   tests/fuzz/make_corpus.sh CORPUS_DIR
# creates CORPUS_DIR/onnx (the repository's fixture models) and CORPUS_DIR/nnet (the .nnet files
# of tests/data/nnet and, when present, ../shared/benchmarks/nnet), plus the regression inputs of
# tests/fuzz/regressions/ for each. Existing files in CORPUS_DIR are kept.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 CORPUS_DIR" >&2
  exit 2
fi
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$out/onnx" "$out/nnet"

n_onnx=0
for f in "$repo"/tests/data/fixtures/*/model.onnx; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/onnx/$(basename "$(dirname "$f")").onnx"
  n_onnx=$((n_onnx + 1))
done

n_nnet=0
for f in "$repo"/tests/data/nnet/*.nnet "$repo"/../shared/benchmarks/nnet/*.nnet; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/nnet/$(basename "$f")"
  n_nnet=$((n_nnet + 1))
done

for f in "$here"/regressions/onnx-*; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/onnx/"
  n_onnx=$((n_onnx + 1))
done
for f in "$here"/regressions/nnet-*; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/nnet/"
  n_nnet=$((n_nnet + 1))
done

echo "$out/onnx: $n_onnx seed(s); $out/nnet: $n_nnet seed(s)"
