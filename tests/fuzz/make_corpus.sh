#!/usr/bin/env bash
# Fills seed corpora for the fuzz targets:
#   tests/fuzz/make_corpus.sh CORPUS_DIR
# creates CORPUS_DIR/onnx (the repository's fixture models, plus one tiny model per supported op
# written by make_onnx_seeds when the fuzz build has it: $NNCERT_FUZZ_BUILD, default
# build-fuzz) and CORPUS_DIR/nnet (the .nnet files of tests/data/nnet and, when present,
# ../shared/benchmarks/nnet) and CORPUS_DIR/vnnlib (the .vnnlib files of
# ../shared/benchmarks/vnncomp), plus the regression inputs of tests/fuzz/regressions/ for each.
# Existing files in CORPUS_DIR are kept.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 CORPUS_DIR" >&2
  exit 2
fi
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mkdir -p "$out/onnx" "$out/nnet" "$out/vnnlib"

for f in "$repo"/tests/data/fixtures/*/model.onnx; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/onnx/$(basename "$(dirname "$f")").onnx"
done

seeds_tool=${NNCERT_FUZZ_BUILD:-$repo/build-fuzz}/bin/make_onnx_seeds
if [[ -x $seeds_tool ]]; then
  "$seeds_tool" "$out/onnx"
else
  echo "note: $seeds_tool not built; only the fixtures seed the ONNX corpus" >&2
fi

for f in "$repo"/tests/data/nnet/*.nnet "$repo"/../shared/benchmarks/nnet/*.nnet; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/nnet/$(basename "$f")"
done

# Benchmarks reuse file names (prop_1.vnnlib, ...): the seed is named by its relative path.
vnncomp=$repo/../shared/benchmarks/vnncomp
if [[ -d $vnncomp ]]; then
  while IFS= read -r rel; do
    install -m 0644 "$vnncomp/$rel" "$out/vnnlib/${rel//\//-}"
  done < <(cd "$vnncomp" && find . -name '*.vnnlib' -type f | sed 's|^\./||')
fi

for f in "$here"/regressions/onnx-*; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/onnx/"
done
for f in "$here"/regressions/nnet-*; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/nnet/"
done
for f in "$here"/regressions/vnnlib-*; do
  [[ -f $f ]] || continue
  install -m 0644 "$f" "$out/vnnlib/"
done

echo "$out/onnx: $(find "$out/onnx" -type f | wc -l) file(s); $out/nnet: $(find "$out/nnet" -type f | wc -l) file(s);" \
  "$out/vnnlib: $(find "$out/vnnlib" -type f | wc -l) file(s)"
